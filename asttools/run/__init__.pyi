from . import fidelity, inputs, result, segments, steps
from ._defaults import BATCH_SIZE as BATCH_SIZE, ON_ERROR as ON_ERROR
from ._driver import (
    ItemError as ItemError,
    ItemResult as ItemResult,
    RunLog as RunLog,
    check_run as check_run,
    failure_warning as failure_warning,
)
from ._embed import (
    embed as embed,
    silence_embedding as silence_embedding,
)
from ._forward import (
    check_layer as check_layer,
    forward as forward,
    sigmoid as sigmoid,
)
from ._items import (
    as_items as as_items,
    media_of as media_of,
)
from ._pass import (
    iter_embed as iter_embed,
    run_meta as run_meta,
)
from ._windows import (
    Cut as Cut,
    Window as Window,
    iter_windows as iter_windows,
)
