"""asttools: the Audio Spectrogram Transformer (AST) for research notebooks.

A session in a notebook::

    import asttools
    model = asttools.load_model()                  # MIT/ast-finetuned-audioset-10-10-0.4593
    wav, sr = asttools.load_audio("clip.mp4")      # 16 kHz mono float32, resampled
    out = asttools.embed(["a.wav", "b.flac"], model=model, pooling="cls")
    out.table, out.embeddings, out.probs           # one row per 10.24 s window
    asttools.top_k(out, k=5)                       # tidy table with AudioSet names
    res = asttools.extract("data/example", "emb.parquet")  # resumable store, cached
    asttools.evaluate(asttools.read_ground_truth("data/example/manifest.csv"), res)

Figures: ``asttools.plots`` (Axes-level helpers, ``save_figure``); attention:
``asttools.attention``.

Set ``ASTTOOLS_MODEL=tiny-random`` to run anything offline with a small random model
(its outputs are marked as random everywhere).
"""

from . import attention, demo, plots
from .audio import load_audio
from .datasets import read_ground_truth
from .embed import POOLINGS, EmbeddingResult, embed, top_k
from .errors import (
    ASTToolsError,
    ASTToolsWarning,
    AudioError,
    ModelLoadError,
    ParameterError,
    StoreError,
)
from .features import fbank
from .labels import audioset_labels, audioset_ontology, descendants, lookup_label
from .mapping import map_labels
from .metrics import evaluate, linear_probe, per_class_metrics
from .model import DEFAULT_MODEL, TINY_RANDOM, load_model, model_info
from .plots import save_figure
from .reduce import fit_pca, load_reducer, save_reducer
from .store import extract, read_store

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "POOLINGS",
    "TINY_RANDOM",
    "ASTToolsError",
    "ASTToolsWarning",
    "AudioError",
    "EmbeddingResult",
    "ModelLoadError",
    "ParameterError",
    "StoreError",
    "attention",
    "demo",
    "audioset_labels",
    "audioset_ontology",
    "descendants",
    "embed",
    "evaluate",
    "extract",
    "fbank",
    "fit_pca",
    "linear_probe",
    "load_audio",
    "load_model",
    "load_reducer",
    "lookup_label",
    "map_labels",
    "model_info",
    "per_class_metrics",
    "plots",
    "read_ground_truth",
    "read_store",
    "save_figure",
    "save_reducer",
    "top_k",
]
