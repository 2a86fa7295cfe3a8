"""A bounded thread prefetch: work on the next items while the caller uses this one.

Decoding, resampling and hashing release the GIL (libsndfile, FFmpeg, soxr, hashlib), so
a few threads keep the model fed. :func:`prefetch` is the one place asttools runs such a
pool: results come back in input order, at most ``ahead`` items are in flight (memory
stays bounded whatever the input size), and the input may be a lazy iterator.

Warnings a worker raises go straight to the warnings machinery, which is process-wide in
Python 3.11: the caller's filters and ``catch_warnings`` apply to them as to its own. The
workers never use ``catch_warnings`` themselves: it swaps process-wide state, and two
threads entering and leaving it out of order left a recorder installed for good (seen as a
notebook cell that re-issued its own recorded warnings forever).
"""

from __future__ import annotations

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

    depth = max(ahead if ahead is not None else 2 * workers, 2)
    source = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        window = deque((it, pool.submit(func, it)) for it in islice(source, depth))
        while window:
            it, future = window.popleft()
            for nxt in islice(source, 1):
                window.append((nxt, pool.submit(func, nxt)))
            value = future.result()
            del future  # nothing keeps a finished result alive but the caller
            yield it, value
