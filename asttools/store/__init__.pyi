from . import video_features
from ._extract import extract as extract, settings_key as settings_key
from ._options import (
    ENGINES as ENGINES,
    FLUSH_ITEMS as FLUSH_ITEMS,
    FLUSH_SECONDS as FLUSH_SECONDS,
    STORE_POOLINGS as STORE_POOLINGS,
)
from ._read import compact_store as compact_store, read_store as read_store
