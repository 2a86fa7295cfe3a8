from . import features, precision, video_model
from ._load import (
    DEVICES as DEVICES,
    is_cached as is_cached,
    load_model as load_model,
    model_info as model_info,
    resolve_device as resolve_device,
    tiny_random_model as tiny_random_model,
)
