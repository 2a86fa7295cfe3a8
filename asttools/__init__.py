"""asttools: the Audio Spectrogram Transformer (AST) for research notebooks.

>>> import asttools
>>> model = asttools.load_model()                  # MIT/ast-finetuned-audioset-10-10-0.4593
>>> wav, sr = asttools.load_audio("clip.mp4")      # 16 kHz mono float32, resampled
>>> out = asttools.embed(["a.wav", "b.flac"], model=model, pooling="cls")
>>> out.table, out.embeddings, out.probs           # one row per 10.24 s window
>>> asttools.top_k(out, k=5)                       # tidy table with AudioSet names

Set ``ASTTOOLS_MODEL=tiny-random`` to run anything offline with a small random model
(its outputs are marked as random everywhere).
"""

from .audio import load_audio
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
from .model import DEFAULT_MODEL, TINY_RANDOM, load_model, model_info

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
    "audioset_labels",
    "audioset_ontology",
    "descendants",
    "embed",
    "fbank",
    "load_audio",
    "load_model",
    "lookup_label",
    "model_info",
    "top_k",
]
