# The public names of asttools, each from the one module that defines it: the single list
# that asttools/__init__.py loads lazily (lazy_loader.attach_stub) and type checkers read.
from . import (
    analysis,
    apps,
    audio,
    columns,
    concurrency,
    constants,
    datasets,
    errors,
    explorer,
    labels,
    model,
    plots,
    run,
    settings,
    store,
    timestamps,
)
from ._version import __version__ as __version__
from .analysis.export import training_arrays as training_arrays
from .analysis.metrics import (
    evaluate as evaluate,
    linear_probe as linear_probe,
    per_class_metrics as per_class_metrics,
)
from .analysis.missing import aligned_embeddings as aligned_embeddings
from .analysis.reduce import (
    fit_pca as fit_pca,
    load_reducer as load_reducer,
    save_reducer as save_reducer,
)
from .audio import load_audio as load_audio
from .datasets import read_ground_truth as read_ground_truth
from .errors import (
    ASTToolsError as ASTToolsError,
    ASTToolsWarning as ASTToolsWarning,
    AudioError as AudioError,
    ModelLoadError as ModelLoadError,
    ParameterError as ParameterError,
    StoreError as StoreError,
)
from .explorer import explore as explore
from .labels import (
    audioset_labels as audioset_labels,
    audioset_ontology as audioset_ontology,
    descendants as descendants,
    lookup_label as lookup_label,
)
from .labels.mapping import map_labels as map_labels
from .model import load_model as load_model, model_info as model_info
from .model.features import fbank as fbank
from .plots import save_figure as save_figure
from .run import embed as embed, silence_embedding as silence_embedding
from .run.result import EmbeddingResult as EmbeddingResult, top_k as top_k
from .settings import (
    DEFAULT_MODEL as DEFAULT_MODEL,
    POOLINGS as POOLINGS,
    PRECISIONS as PRECISIONS,
    TINY_RANDOM as TINY_RANDOM,
)
from .store import extract as extract, read_store as read_store
from .timestamps import (
    read_timestamps as read_timestamps,
    timestamp_embeddings as timestamp_embeddings,
)
