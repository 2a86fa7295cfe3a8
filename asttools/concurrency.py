"""A bounded thread prefetch: work on the next items while the caller uses this one.

Decoding, resampling and hashing release the GIL (libsndfile, FFmpeg, soxr, hashlib), so
a few threads keep the model fed. :func:`prefetch` is the one place asttools runs such a
pool: results come back in input order, at most ``ahead`` items are in flight (memory
stays bounded whatever the input size), the input may be a lazy iterator, and warnings
raised in a worker reach the caller's thread, where filters and ``catch_warnings`` apply.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
R = TypeVar("R")


def prefetch(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    ahead: int | None = None,
    name: str = "asttools",
) -> Iterator[tuple[T, R]]:
    """Yield ``(item, func(item))`` in input order, computing up to ``ahead`` items early.

    Parameters
    ----------
    func : callable
        Called once per item, in a worker thread. Exceptions it raises are re-raised in the
        caller when that item's turn comes; return errors as values to keep going.
    items : iterable
        Consumed lazily, at most ``ahead`` items beyond the one being yielded.
    workers : int
        Threads; ``0`` calls ``func`` in the caller's thread, one item at a time.
    ahead : int, optional
        Items in flight; default ``2 * workers`` (at least 2).
    name : str, default "asttools"
        Prefix of the threads' names (seen in a debugger or ``py-spy``).

    Yields
    ------
    (item, result)

    Examples
    --------
    >>> [r for _, r in prefetch(lambda x: x * x, range(5), workers=2)]
    [0, 1, 4, 9, 16]
    """
    if workers <= 0:
        for item in items:
            yield item, func(item)
        return

    def job(item):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return func(item), caught

    depth = max(ahead if ahead is not None else 2 * workers, 2)
    source = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        window = deque((it, pool.submit(job, it)) for it in islice(source, depth))
        while window:
            it, future = window.popleft()
            for nxt in islice(source, 1):
                window.append((nxt, pool.submit(job, nxt)))
            value, caught = future.result()
            del future  # nothing keeps a finished result alive but the caller
            for w in caught:  # re-issue the worker's warnings in the caller's thread
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            yield it, value
