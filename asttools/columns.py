"""The names of the columns asttools writes: result tables, status tables, stored rows.

One place for them, imported by the modules that write and read them (:mod:`asttools.run`,
:mod:`asttools.run.result`, :mod:`asttools.store`) and by :mod:`asttools.run.inputs`, which refuses
a manifest column of a reserved name. This module imports nothing, so anything may use it.
"""

from __future__ import annotations

__all__ = [
    "INPUT_COLUMNS",
    "PATH_BYTES",
    "RESERVED_COLUMNS",
    "ROW_COLUMNS",
    "TOP_COLUMNS",
    "TOP_LABELS",
    "VECTOR_COLUMNS",
]

#: What the store and the status table say about each input besides its windows: its id,
#: what became of its audio (:data:`~asttools.errors.AUDIO_STATUSES`), and its place on
#: the video's clock.
INPUT_COLUMNS = (
    "id", "audio_status", "audio_offset_s", "audio_duration_s", "video_duration_s",
    "frame_rate", "av_warning", "segment_start_s", "segment_end_s", "n_audio_streams",
)  # fmt: skip
#: Columns of a stored window row before the columns carried from a manifest.
ROW_COLUMNS = (
    "path", "window", "start_s", "end_s", "clip_duration_s",
    "content_hash", "settings_key", "file_size", "file_mtime_ns", *INPUT_COLUMNS,
)  # fmt: skip
#: How many of the most probable labels each stored row names (``top1_label`` ...).
TOP_LABELS = 3
#: The stored columns naming them: ``top1_label``, ``top1_prob``, ...
TOP_COLUMNS = tuple(f"top{i}_{w}" for i in range(1, TOP_LABELS + 1) for w in ("label", "prob"))
#: The stored vector columns (FixedSizeList<float32>).
VECTOR_COLUMNS = ("embedding", "probs")
#: The column holding the exact bytes of a file name that is not UTF-8.
PATH_BYTES = "path_bytes"
#: Names a manifest column cannot have: asttools writes columns of these names into every
#: result table and stored row.
RESERVED_COLUMNS = frozenset(
    ROW_COLUMNS + TOP_COLUMNS + VECTOR_COLUMNS + ("item", "reason", "has_audio", PATH_BYTES))
