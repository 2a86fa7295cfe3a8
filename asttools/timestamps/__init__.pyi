from ._timestamps import (
    Padded as Padded,
    Pooled as Pooled,
    TimestampResult as TimestampResult,
    check_frame_rate as check_frame_rate,
    pool_to_times as pool_to_times,
    read_timestamps as read_timestamps,
    timestamp_embeddings as timestamp_embeddings,
)
