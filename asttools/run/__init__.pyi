from . import fidelity, inputs, result, segments, steps
from ._inference import (
    ON_ERROR as ON_ERROR,
    Cut as Cut,
    ItemError as ItemError,
    ItemResult as ItemResult,
    as_items as as_items,
    check_layer as check_layer,
    Window as Window,
    embed as embed,
    forward as forward,
    media_of as media_of,
    iter_embed as iter_embed,
    iter_windows as iter_windows,
    run_meta as run_meta,
    sigmoid as sigmoid,
    silence_embedding as silence_embedding,
)
