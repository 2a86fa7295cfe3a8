from ._pool import Pooled as Pooled
from ._pool import check_frame_rate as check_frame_rate
from ._pool import pool_to_times as pool_to_times
from ._result import Padded as Padded
from ._result import TimestampResult as TimestampResult
from ._result import read_timestamps as read_timestamps
from ._run import timestamp_embeddings as timestamp_embeddings
