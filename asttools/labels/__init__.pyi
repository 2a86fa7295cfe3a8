from . import mapping
from ._audioset import (
    audioset_labels as audioset_labels,
    audioset_ontology as audioset_ontology,
    descendants as descendants,
    ancestors as ancestors,
    lookup_label as lookup_label,
    short_label as short_label,
)
