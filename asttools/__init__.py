"""asttools: the Audio Spectrogram Transformer for research notebooks."""

from .errors import (
    ASTToolsError,
    ASTToolsWarning,
    AudioError,
    ModelLoadError,
    ParameterError,
    StoreError,
)
from .labels import audioset_labels, audioset_ontology, descendants, lookup_label

__version__ = "0.1.0"
