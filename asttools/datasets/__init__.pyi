from . import action
from ._ground_truth import (
    AUDIOSET_PATTERN as AUDIOSET_PATTERN,
    FORMATS as FORMATS,
    label_matrix as label_matrix,
    primary_labels as primary_labels,
    read_audioset_segments as read_audioset_segments,
    read_class_folders as read_class_folders,
    read_esc50 as read_esc50,
    read_ground_truth as read_ground_truth,
    read_manifest as read_manifest,
)
from ._missing import MISSING as MISSING
