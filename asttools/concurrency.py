"""A bounded prefetch: work on the next items while the caller uses this one.

:func:`prefetch` is the one place asttools runs a pool: results come back in input order,
at most ``ahead`` items are in flight (memory stays bounded whatever the input size), and
the input may be a lazy iterator. The pool is threads, or worker processes.

Threads or processes. Hashing, libsndfile, soxr and FFmpeg's codec calls release the
GIL, but decoding an mp4 with PyAV does not wholly: each decoded frame (1024 samples of
AAC) becomes a Python object and a numpy array while holding it. Sampled with ``py-spy
--gil`` (``benchmarks/bench_decode.py --gil``), ``load_audio`` held the GIL 35-44% of its
time on 10 s stereo AAC mp4 files and 6-14% on WAV files (three runs), so threads can speed
mp4 decoding up 2.3-2.9 times at most, however many cores there are; processes scale with
the cores. ``workers="auto"`` (:func:`resolve_workers`) therefore decodes in processes when
it picks more than one worker; an integer asks for that many threads. Worker processes
import the caller's main script again, as every ``multiprocessing`` worker does: a script
should keep its work under ``if __name__ == "__main__":``, and pays its top-level imports
once per worker.

Warnings a thread raises go straight to the warnings machinery, which is process-wide in
Python 3.11: the caller's filters and ``catch_warnings`` apply to them as to its own. The
threads never use ``catch_warnings`` themselves: it swaps process-wide state, and two
threads entering and leaving it out of order left a recorder installed for good (seen as a
notebook cell that re-issued its own recorded warnings forever). A worker process runs one
job at a time in its main thread, so there it records them, and the caller issues them
again when that item's turn comes.
"""

from __future__ import annotations

import multiprocessing
import numbers
import os
import signal
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, TypeVar

from .errors import ParameterError

__all__ = [
    "MAX_AUTO_WORKERS",
    "WORKERS_AUTO",
    "auto_workers",
    "check_workers",
    "crash_reason",
    "prefetch",
    "resolve_workers",
    "usable_cpus",
]

WORKERS_AUTO = "auto"
"""The ``workers`` value that lets asttools choose (:func:`auto_workers`)."""

MAX_AUTO_WORKERS = 32
"""The most decode workers ``workers="auto"`` starts, whatever the core count: each
process holds its own numpy, PyAV and soxr (about 60 MB) and up to two decoded files, and
32 processes decode on the order of a thousand 10 s mp4 clips per second (see
``benchmarks/bench_decode.py``), more than one GPU embeds."""

T = TypeVar("T")
R = TypeVar("R")


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask (``taskset``, a container's or a
    batch scheduler's CPU set) where the OS has one, else the machine's count.

    Examples
    --------
    >>> usable_cpus() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def check_workers(workers: int | str) -> int | str:
    """``workers`` as given if it is an integer >= 0 or ``"auto"``; else a ParameterError.

    Raises
    ------
    ParameterError
        Naming the value, e.g. ``workers must be an integer >= 0 or 'auto', got -1``.
    """
    if isinstance(workers, str) and workers == WORKERS_AUTO:
        return workers
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 0:
        raise ParameterError(
            f"workers must be an integer >= 0 or {WORKERS_AUTO!r}, got {workers!r}")
    return int(workers)


def auto_workers(device: Any = "cpu") -> int:
    """How many decode workers ``workers="auto"`` starts for a model on ``device``.

    The rule: the CPUs this process may use (:func:`usable_cpus`), minus what the model
    needs, at least 1 and at most :data:`MAX_AUTO_WORKERS`. A model on an accelerator
    (CUDA, MPS) needs one CPU, for the thread that batches windows and drives the device;
    a model on the CPU needs its intra-op threads (``torch.get_num_threads()``, by default
    one per core), so on a CPU-only machine this is usually 1: there the model is about a
    hundred times slower per window than decoding (full-size AST: 2-7 s per 10 s window on
    2 cores; decoding 10 s of stereo AAC: about 30 ms of one core), and more decoders would
    only take cores from it.

    Parameters
    ----------
    device : str or torch.device, default "cpu"
        Where the model runs.

    Returns
    -------
    int, at least 1

    Examples
    --------
    >>> 1 <= auto_workers("cuda") <= MAX_AUTO_WORKERS
    True
    """
    kind = str(getattr(device, "type", device)).split(":")[0]
    if kind == "cpu":  # torch's intra-op threads; never imported here (workers stay light)
        torch = sys.modules.get("torch")
        needed = torch.get_num_threads() if torch is not None else usable_cpus()
    else:
        needed = 1
    return max(1, min(usable_cpus() - needed, MAX_AUTO_WORKERS))


def resolve_workers(workers: int | str, *, device: Any = "cpu") -> tuple[int, bool]:
    """The pool a ``workers`` setting asks for: ``(count, processes)``.

    An integer ``n`` is ``n`` threads (``0``: the caller's thread), as it always was.
    ``"auto"`` is :func:`auto_workers` of ``device``: worker processes when that is more
    than one (threads stop scaling at about 3 for mp4 files, see the module's notes), one
    thread when it is one.

    Raises
    ------
    ParameterError
        ``workers`` is neither an integer >= 0 nor ``"auto"``.

    Examples
    --------
    >>> resolve_workers(4)
    (4, False)
    >>> n, processes = resolve_workers("auto", device="cuda")
    >>> processes == (n > 1)
    True
    """
    workers = check_workers(workers)
    if workers == WORKERS_AUTO:
        n = auto_workers(device)
        return n, n > 1
    return workers, False


def prefetch(
    func: Callable[[Any], R],
    items: Iterable[T],
    *,
    workers: int,
    ahead: int | None = None,
    name: str = "asttools",
    processes: bool = False,
    argument: Callable[[T], Any] | None = None,
    crashed: Callable[[int | None], R] | None = None,
) -> Iterator[tuple[T, R]]:
    """Yield ``(item, func(item))`` in input order, computing up to ``ahead`` items early.

    Parameters
    ----------
    func : callable
        Called once per item, in a worker thread (or process). Exceptions it raises are
        re-raised in the caller when that item's turn comes; return errors as values to
        keep going.
    items : iterable
        Consumed lazily, at most ``ahead`` items beyond the one being yielded.
    workers : int
        Threads (or processes); ``0`` calls ``func`` in the caller's thread, one item at a
        time.
    ahead : int, optional
        Items in flight; default ``2 * workers`` (at least 2).
    name : str, default "asttools"
        Prefix of the threads' names (seen in a debugger or ``py-spy``).
    processes : bool, default False
        Run ``func`` in ``workers`` worker processes (started with ``forkserver`` where
        there is one, else ``spawn``; they ignore Ctrl-C, which the caller handles).
        ``func`` must be a module-level function, and what it takes and returns must
        pickle. Warnings it raises are recorded in the worker and issued again in the
        caller, through the caller's filters, when the item's turn comes.
    argument : callable, optional
        What ``func`` is called with for an item (default: the item itself); with
        ``processes``, send only what the worker needs, or None for an item the workers
        have nothing to do for (its result is then None, and no process starts for it).
    crashed : callable, optional
        With ``processes``: a worker process that dies (a crash in native code: a
        segfault, an abort) breaks the pool, and every item then in flight runs again
        alone in a fresh process, in input order; an item whose process dies there gets
        ``crashed(exitcode)`` as its result (see :func:`crash_reason`), and the pool
        starts again for the items after it. Without ``crashed``, the pool's
        ``BrokenProcessPool`` is raised.

    Yields
    ------
    (item, result)

    Examples
    --------
    >>> [r for _, r in prefetch(lambda x: x * x, range(5), workers=2)]
    [0, 1, 4, 9, 16]
    """
    arg = argument if argument is not None else (lambda it: it)
    if workers <= 0:
        for item in items:
            yield item, func(arg(item))
        return
    if processes:
        yield from _prefetch_processes(func, items, workers=workers, ahead=ahead, arg=arg,
                                       crashed=crashed)
        return

    depth = max(ahead if ahead is not None else 2 * workers, 2)
    source = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        window = deque((it, pool.submit(func, arg(it))) for it in islice(source, depth))
        while window:
            it, future = window.popleft()
            for nxt in islice(source, 1):
                window.append((nxt, pool.submit(func, arg(nxt))))
            value = future.result()
            del future  # nothing keeps a finished result alive but the caller
            yield it, value


def _prefetch_processes(func, items, *, workers: int, ahead: int | None, arg, crashed):
    depth = max(ahead if ahead is not None else 2 * workers, 2)
    source = iter(items)
    pool, solo = _Pool(workers), _Solo()
    window: deque = deque()

    def submit(it) -> None:
        a = arg(it)
        window.append((it, a, _done((None, [])) if a is None else pool.submit(func, a)))

    try:
        for it in islice(source, depth):
            submit(it)
        while window:
            it, a, future = window.popleft()
            try:
                value, caught = future.result()
            except BrokenProcessPool:
                if crashed is None:
                    raise
                # A worker died (a crash in native code): every job in flight died with
                # the pool. Each runs again alone, in a fresh process, in input order:
                # the one that crashes there is the culprit and gets crashed(exitcode).
                pool.reset()
                value, caught = solo.run(func, a, crashed)
                window = deque((i, b, f if _succeeded(f) else _done(solo.run(func, b, crashed)))
                               for i, b, f in window)
            del future
            for nxt in islice(source, 1):
                submit(nxt)
            for message, category, filename, lineno, module in caught:
                _reissue(message, category, filename, lineno, module)
            yield it, value
    finally:  # also when the caller stops early: drop what has not started
        pool.reset()
        solo.close()


class _Pool:
    """A process pool started at its first job, and started again after a crash."""

    def __init__(self, workers: int):
        self.workers, self.pool = workers, None

    def submit(self, func, argument) -> Future:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.workers,
                                            mp_context=_process_context(),
                                            initializer=_ignore_sigint)
        try:
            return self.pool.submit(_recording, func, argument)
        except BrokenProcessPool as e:  # a job in flight crashed it: this one reruns
            future = Future()
            future.set_exception(e)
            return future

    def reset(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _done(value) -> Future:
    future = Future()
    future.set_result(value)
    return future


def _succeeded(future: Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class _Solo:
    """One worker process, jobs one at a time, started again after it dies: where the
    jobs in flight when a pool broke run again, so that a crash is pinned on its job."""

    def __init__(self):
        self.process = self.conn = None

    def run(self, func, argument, crashed):
        """``_recording(func, argument)`` in the worker: its value, the exception ``func``
        raised (raised here), or ``(crashed(exitcode), [])`` if the process died."""
        if self.process is None:
            ctx = _process_context()
            self.conn, child = ctx.Pipe()
            self.process = ctx.Process(target=_solo_main, args=(child,), daemon=True)
            self.process.start()
            child.close()
        try:
            self.conn.send((func, argument))
            outcome = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):  # it died on this job
            self.process.join()
            code = self.process.exitcode
            self.close()
            return crashed(code), []
        ok, payload = outcome
        if not ok:
            raise payload
        return payload

    def close(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
            self.conn.close()
            self.process = self.conn = None


def _solo_main(conn) -> None:
    _ignore_sigint()
    while True:
        try:
            func, argument = conn.recv()
        except EOFError:
            return
        try:
            outcome = (True, _recording(func, argument))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            outcome = (False, e)
        conn.send(outcome)


def crash_reason(exitcode: int | None) -> str:
    """How a worker process ended that died without an answer, in words: ``"killed by
    SIGSEGV"`` for a negative exit code (a signal), else ``"exit code N"``.

    Examples
    --------
    >>> crash_reason(-11)
    'killed by SIGSEGV'
    >>> crash_reason(3)
    'exit code 3'
    """
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _reissue(message: str, category, filename: str, lineno: int, module: str | None) -> None:
    """Issue a worker's warning here as ``warnings.warn`` would have issued it there: same
    text, category, place and module, and the module's registry (so "default" and
    "module" filters show it once, not once per file)."""
    mod = sys.modules.get(module) if module else None
    registry = mod.__dict__.setdefault("__warningregistry__", {}) if mod is not None else None
    warnings.warn_explicit(message, category, filename, lineno, module=module,
                           registry=registry)


def _process_context():
    methods = multiprocessing.get_all_start_methods()
    # not fork: the caller has torch's thread pools (and maybe CUDA) running
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _recording(func, argument):
    """Run ``func(argument)`` in a worker process, recording the warnings it raises:
    ``(result, [(message, category, filename, lineno, module), ...])``. A worker runs one
    job at a time, in its main thread, so ``catch_warnings`` is safe here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the caller's filters decide, when re-issued
        value = func(argument)
    return value, [(str(w.message), w.category, w.filename, w.lineno,
                    _module_of(w.filename)) for w in caught]


def _module_of(filename: str) -> str | None:
    """The name of the loaded module defined in ``filename`` (what ``warnings.warn`` puts
    in a warning's ``module``, which ``filterwarnings(module=...)`` matches)."""
    for mod_name, mod in list(sys.modules.items()):
        if getattr(mod, "__file__", None) == filename:
            return mod_name
    return None
