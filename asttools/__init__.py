"""asttools: the Audio Spectrogram Transformer (AST) for research notebooks.

A session in a notebook::

    import asttools
    model = asttools.load_model()                  # MIT/ast-finetuned-audioset-10-10-0.4593
    wav, sr = asttools.load_audio("clip.mp4")      # 16 kHz mono float32, resampled
    out = asttools.embed(["a.wav", "b.flac"], model=model, pooling="cls")
    out.table, out.embeddings, out.probs           # one row per 10.24 s window
    asttools.top_k(out, k=5)                       # tidy table with AudioSet names
    res = asttools.extract("data/example", "emb")  # resumable Parquet store, cached
    asttools.evaluate(asttools.read_ground_truth("data/example/manifest.csv"), res)

Figures: ``asttools.plots`` (Axes-level helpers, ``save_figure``); an interactive map to
hover, hear and share as one HTML file: ``asttools.explore``; attention maps:
``asttools.attention``; reduced precision (``precision=`` on ``embed``/``extract``):
``asttools.precision``, and its measured cost: ``asttools.fidelity``.
``ASTTOOLS_MODEL=tiny-random`` runs anything offline with a small random model (its
outputs are marked as random everywhere).

Importing asttools is cheap: each name below is imported from its module on first use,
so ``asttools --version`` and ``asttools --help`` do not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__
from .errors import (
    ASTToolsError,
    ASTToolsWarning,
    AudioError,
    ModelLoadError,
    ParameterError,
    StoreError,
)

#: Public name -> the module that defines it (imported on first use).
_LAZY = {
    # audio in, model, one pass
    "load_audio": "audio",
    "fbank": "features",
    "load_model": "model",
    "model_info": "model",
    "embed": "inference",
    "timestamp_embeddings": "timestamps",
    "read_timestamps": "timestamps",
    "EmbeddingResult": "result",
    "top_k": "result",
    # clips without audio
    "aligned_embeddings": "missing",
    "silence_embedding": "inference",
    "training_arrays": "export",
    # whole datasets
    "extract": "store",
    "read_store": "store",
    # labels and ground truth
    "audioset_labels": "labels",
    "audioset_ontology": "labels",
    "lookup_label": "labels",
    "descendants": "labels",
    "map_labels": "mapping",
    "read_ground_truth": "datasets",
    # evaluation and reduction
    "evaluate": "metrics",
    "per_class_metrics": "metrics",
    "linear_probe": "metrics",
    "fit_pca": "reduce",
    "save_reducer": "reduce",
    "load_reducer": "reduce",
    # figures
    "save_figure": "plots",
    "explore": "explorer",
    # constants
    "DEFAULT_MODEL": "constants",
    "POOLINGS": "constants",
    "PRECISIONS": "constants",
    "TINY_RANDOM": "constants",
}
#: Submodules, reachable as attributes (``asttools.plots.plot_top_k``), imported on use.
_SUBMODULES = frozenset({
    "action_datasets", "attention", "audio", "cli", "columns", "concurrency", "constants",
    "datasets", "demo", "environment", "explorer", "export", "features", "fidelity",
    "fill_quality", "fills", "frames", "inference", "inputs", "labels", "mapping", "metrics",
    "missing", "model", "plots",
    "precision", "reduce", "result", "robustness", "segments", "settings", "sources", "steps",
    "store", "video_features", "video_model",
})  # fmt: skip

__all__ = [
    "DEFAULT_MODEL",
    "POOLINGS",
    "PRECISIONS",
    "TINY_RANDOM",
    "ASTToolsError",
    "ASTToolsWarning",
    "AudioError",
    "EmbeddingResult",
    "ModelLoadError",
    "ParameterError",
    "StoreError",
    "__version__",
    "aligned_embeddings",
    "attention",
    "audioset_labels",
    "audioset_ontology",
    "demo",
    "descendants",
    "embed",
    "evaluate",
    "explore",
    "explorer",
    "extract",
    "fbank",
    "fit_pca",
    "linear_probe",
    "load_audio",
    "load_model",
    "load_reducer",
    "lookup_label",
    "map_labels",
    "metrics",
    "model_info",
    "per_class_metrics",
    "plots",
    "precision",
    "read_ground_truth",
    "read_store",
    "read_timestamps",
    "save_figure",
    "save_reducer",
    "silence_embedding",
    "store",
    "timestamp_embeddings",
    "top_k",
    "training_arrays",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'asttools' has no attribute {name!r}")
    globals()[name] = value  # the next access does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from . import attention, demo, explorer, metrics, plots, precision, store
    from .audio import load_audio
    from .constants import DEFAULT_MODEL, POOLINGS, PRECISIONS, TINY_RANDOM
    from .datasets import read_ground_truth
    from .explorer import explore
    from .export import training_arrays
    from .features import fbank
    from .inference import embed, silence_embedding
    from .labels import audioset_labels, audioset_ontology, descendants, lookup_label
    from .mapping import map_labels
    from .metrics import evaluate, linear_probe, per_class_metrics
    from .missing import aligned_embeddings
    from .model import load_model, model_info
    from .plots import save_figure
    from .reduce import fit_pca, load_reducer, save_reducer
    from .result import EmbeddingResult, top_k
    from .store import extract, read_store
    from .timestamps import read_timestamps, timestamp_embeddings
