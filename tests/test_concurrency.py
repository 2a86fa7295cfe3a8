"""asttools.concurrency.prefetch: order, bounds, errors, and warnings from workers."""

from __future__ import annotations

import random
import threading
import time
import warnings

import pytest

from asttools.concurrency import prefetch


def test_results_in_input_order_and_errors_reach_the_caller():
    assert [r for _, r in prefetch(lambda x: x * 2, range(20), workers=3)] == \
        list(range(0, 40, 2))

    def boom(x):
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three"):
        list(prefetch(boom, range(6), workers=2))


def test_nested_pools_that_warn_leave_the_warnings_machinery_as_it_was():
    """Two pools, one feeding the other (as extract's hashing feeds decoding), each warning
    on every item: the caller sees the warnings, and afterwards warnings.showwarning and
    the filters are the ones it had (a worker's catch_warnings once left a recorder
    installed, and the caller then looped forever re-issuing into it; with this test's
    timings, the old code lost 99 of the 100 warnings)."""
    before = (warnings.showwarning, list(warnings.filters))
    rng = random.Random(0)

    def hash_item(x):
        time.sleep(rng.random() * 0.002)  # workers overlap and finish out of order
        warnings.warn(f"hash {x}", UserWarning, stacklevel=1)
        return x

    def decode_item(x):
        time.sleep(rng.random() * 0.002)
        warnings.warn(f"decode {x}", UserWarning, stacklevel=1)
        return x

    def hashed():
        for x, _ in prefetch(hash_item, range(50), workers=2, name="hash"):
            yield x

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = [r for _, r in prefetch(decode_item, hashed(), workers=2, name="decode")]
    assert out == list(range(50))
    messages = {str(w.message) for w in seen}
    assert {f"hash {i}" for i in range(50)} <= messages
    assert {f"decode {i}" for i in range(50)} <= messages
    assert (warnings.showwarning, list(warnings.filters)) == before
    assert not [t for t in threading.enumerate() if t.name.startswith(("hash", "decode"))]
