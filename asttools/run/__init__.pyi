from ._defaults import BATCH_SIZE as BATCH_SIZE
from ._defaults import ON_ERROR as ON_ERROR
from ._driver import (
    ItemError as ItemError,
)
from ._driver import (
    ItemResult as ItemResult,
)
from ._driver import (
    RunLog as RunLog,
)
from ._driver import (
    check_run as check_run,
)
from ._driver import (
    failure_warning as failure_warning,
)
from ._embed import (
    embed as embed,
)
from ._embed import (
    silence_embedding as silence_embedding,
)
from ._forward import (
    check_layer as check_layer,
)
from ._forward import (
    forward as forward,
)
from ._forward import (
    sigmoid as sigmoid,
)
from ._items import (
    as_items as as_items,
)
from ._items import (
    media_of as media_of,
)
from ._pass import (
    iter_embed as iter_embed,
)
from ._pass import (
    run_meta as run_meta,
)
from ._windows import (
    Cut as Cut,
)
from ._windows import (
    Window as Window,
)
from ._windows import (
    iter_windows as iter_windows,
)
