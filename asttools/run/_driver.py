"""The run driver: what every model run shares, said once: its options checked, its
failures collected into one table, worded in one warning or raised, and its progress.

:func:`asttools.embed`, :func:`asttools.timestamp_embeddings`, :func:`asttools.extract`,
:func:`asttools.run.fidelity.fidelity` and the Ray engine are front ends: each says what
it collects from the model pass (:func:`asttools.run.iter_embed`, or Ray's copy of it)
and leaves the rest to this module. It imports no torch, so that a fully cached
``extract`` checks and reports through it without loading the model.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..audio import check_audio_stream
from ..concurrency import check_workers
from ..errors import ASTToolsWarning, AudioError, NoAudioStreamError, ParameterError
from ..settings import check_pooling, check_precision, check_windows
from ._defaults import ON_ERROR
from .inputs import Item, printable_path

__all__ = [
    "ItemError",
    "ItemResult",
    "RunLog",
    "check_batch_size",
    "check_run",
    "failure_warning",
    "recorded",
]

#: The failures a warning names one by one; the rest are counted (all are in the table).
LISTED_FAILURES = 20
#: The columns an error row has first; then what is known of the input's media.
ERROR_COLUMNS = ("item", "id", "path", "audio_status", "reason")
#: The media facts an error row keeps (:data:`asttools.columns.INPUT_COLUMNS`' own).
ERROR_MEDIA = ("audio_offset_s", "audio_duration_s", "video_duration_s", "frame_rate",
               "av_warning", "n_audio_streams")

_UNSET = object()


@dataclass
class ItemResult:
    """The rows of one input, yielded by :func:`iter_embed` when all its windows ran.

    Attributes
    ----------
    item : Item
    table : DataFrame, shape (n_windows, ...)
    embeddings : ndarray, float32, shape (n_windows, hidden) or (n_windows, f, t, hidden)
    logits : ndarray, float32, shape (n_windows, n_labels)
    """

    item: Item
    table: pd.DataFrame
    embeddings: np.ndarray
    logits: np.ndarray
    status: dict[str, Any] = field(default_factory=lambda: {"audio_status": "ok"})
    """``audio_status`` (``ok`` or ``silent``) and the media columns of
    :data:`asttools.columns.INPUT_COLUMNS` (``audio_offset_s``, ...) when known."""


@dataclass
class ItemError:
    """An input without rows, yielded by :func:`iter_embed`: why, in words; its
    ``status`` (one of :data:`asttools.errors.AUDIO_STATUSES`: ``no_audio_stream``
    for a video without audio, else a failure); and what is known of its media
    (``video_duration_s``, ``frame_rate``, ...)."""

    item: Item
    reason: str
    status: str = "decode_error"
    media: dict[str, Any] = field(default_factory=dict)


def check_batch_size(batch_size: object) -> int:
    """``batch_size`` as an int, if it is an integer >= 1; else a ParameterError.

    Examples
    --------
    >>> check_batch_size(8)
    8
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return int(batch_size)


def check_run(*, on_error: object = _UNSET, pooling: object = _UNSET,
              precision: object = _UNSET, batch_size: object = _UNSET,
              layer: object = _UNSET, window_s: object = _UNSET, hop_s: object = None,
              max_length: int | None = None, workers: object = _UNSET,
              audio_stream: object = _UNSET) -> dict[str, Any]:
    """Check a run's options before anything runs; every entry point calls this.

    Only the options given are checked, in this order (so the first wrong one is named):
    ``on_error``, ``pooling``, ``precision``, ``batch_size``, ``layer`` (an integer; its
    range needs the model, :func:`asttools.run.check_layer`), ``window_s``/``hop_s``
    (:func:`asttools.settings.check_windows`, against ``max_length`` when given),
    ``workers``, ``audio_stream``.

    Returns
    -------
    dict
        The options given, as the run uses them (``batch_size`` an int, ``workers`` an
        int or ``"auto"``, ``audio_stream`` None or an int).

    Raises
    ------
    ParameterError
        Naming the option, its value and what it may be.
    """
    out: dict[str, Any] = {}
    if on_error is not _UNSET:
        if on_error not in ON_ERROR:
            raise ParameterError(f"on_error={on_error!r} is not one of {ON_ERROR}")
        out["on_error"] = on_error
    if pooling is not _UNSET:
        check_pooling(pooling)
        out["pooling"] = pooling
    if precision is not _UNSET:
        check_precision(precision)
        out["precision"] = precision
    if batch_size is not _UNSET:
        out["batch_size"] = check_batch_size(batch_size)
    if layer is not _UNSET:
        if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool):
            raise ParameterError(f"layer must be an integer, got {layer!r}")
        out["layer"] = int(layer)
    if window_s is not _UNSET:
        kw = {} if max_length is None else {"max_length": max_length}
        check_windows(window_s, hop_s, warn=False, **kw)
        out.update(window_s=window_s, hop_s=hop_s)
    if workers is not _UNSET:
        out["workers"] = check_workers(workers)
    if audio_stream is not _UNSET:
        out["audio_stream"] = check_audio_stream(audio_stream)
    return out


def failure_warning(failures: list[dict[str, Any]], n_inputs: int, *,
                    see: str = "result.errors", note: str = "", prefix: str = "") -> str:
    """The one wording of "N of M inputs failed": each failure's file and reason (the
    first :data:`LISTED_FAILURES`, then how many more).

    Examples
    --------
    >>> failure_warning([{"path": "a.wav", "reason": "not audio"}], 2)
    '1 of 2 inputs failed and were skipped (see result.errors): a.wav: not audio'
    """
    shown = "; ".join(f"{printable_path(f['path'])}: {f['reason']}"
                      for f in failures[:LISTED_FAILURES])
    more = len(failures) - LISTED_FAILURES
    if more > 0:
        shown += f"; and {more} more"
    return (f"{prefix}{len(failures)} of {n_inputs} inputs failed and were skipped "
            f"(see {see}{note}): {shown}")


def _raised(item: Item, reason: str, status: str) -> AudioError:
    cls = NoAudioStreamError if status == "no_audio_stream" else AudioError
    return cls(item.name, reason, status=status)


class RunLog:
    """One run's bookkeeping: its failures (one row each), their warning, ``on_error``,
    and its progress bar.

    Parameters
    ----------
    n_inputs : int
        The inputs of the run (the "M" of "N of M inputs failed").
    on_error : {"warn", "raise", "ignore"}, default "warn"
        ``"raise"``: :meth:`fail` raises the :class:`~asttools.errors.AudioError` (a
        :class:`~asttools.errors.NoAudioStreamError` for a video without audio) at once.
    progress : bool, default False
        Show a progress bar of ``n_inputs`` files, labelled ``desc``.
    desc : str, default "embed"
    counts : callable, optional
        ``counts(status)``: whether a failure of this status counts as one in the warning
        (default all; ``extract`` leaves out a video without audio unless
        ``require_audio``). Every failure is in :meth:`errors` either way.
    """

    def __init__(self, n_inputs: int, *, on_error: str = "warn", progress: bool = False,
                 desc: str = "embed", counts=None):
        check_run(on_error=on_error)
        self.n_inputs = int(n_inputs)
        self.on_error = on_error
        self.failures: list[dict[str, Any]] = []
        self.counts = counts or (lambda status: True)
        self.bar = tqdm(total=self.n_inputs, unit="file", desc=desc, disable=not progress,
                        dynamic_ncols=True)

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the progress bar."""
        self.bar.close()

    def fail(self, item: Item, reason: str, status: str = "decode_error",
             media: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record that ``item`` has no rows, and why; raise instead with
        ``on_error="raise"``. Returns the error row."""
        if self.on_error == "raise":
            raise _raised(item, reason, status)
        row = {"item": item.index, "id": item.id, "path": item.name, "audio_status": status,
               "reason": reason,
               **{c: v for c, v in (media or {}).items() if c in ERROR_MEDIA}}
        self.failures.append(row)
        return row

    def failed(self) -> list[dict[str, Any]]:
        """The failures that count (see ``counts``)."""
        return [f for f in self.failures if self.counts(f["audio_status"])]

    def errors(self, *, media: bool = True) -> pd.DataFrame:
        """One row per failure: ``item`` (int64), ``id``, ``path``, ``audio_status``,
        ``reason`` (objects), then (``media``) what is known of its media."""
        extra = [c for f in self.failures for c in f] if media else []
        columns = list(dict.fromkeys([*ERROR_COLUMNS, *extra]))
        return pd.DataFrame({c: pd.Series([f.get(c) for f in self.failures],  # any name
                                          dtype=np.int64 if c == "item" else object)
                             for c in columns})

    def warn(self, *, stacklevel: int = 2, **wording) -> None:
        """Issue the run's one warning when some inputs failed (``on_error="warn"``);
        ``wording``: :func:`failure_warning`'s ``see``, ``note``, ``prefix``.
        ``stacklevel`` counts from the caller, as :func:`warnings.warn`'s would there."""
        failed = self.failed()
        if self.on_error == "warn" and failed:
            warnings.warn(failure_warning(failed, self.n_inputs, **wording), ASTToolsWarning,
                          stacklevel=stacklevel + 1)

    def advance(self, n: int = 1) -> None:
        """One more input done."""
        self.bar.update(n)


def recorded(results: Iterable, log: RunLog) -> Iterator:
    """``results`` with each failure recorded in ``log`` (raised there with
    ``on_error="raise"``); what succeeded passes on."""
    for r in results:
        if isinstance(r, ItemError):
            log.fail(r.item, r.reason, r.status, r.media)
            continue
        yield r
