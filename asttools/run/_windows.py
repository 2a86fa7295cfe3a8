"""Windows: decoded inputs cut into analysis windows, files too long to hold read as
streams; :func:`iter_windows` (the part of a run that needs no model), :class:`Window`
and :class:`Cut`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..audio import AudioStream, is_silent
from ..audio.sources import Source
from ..columns import INPUT_COLUMNS
from ..concurrency import resolve_workers
from ..constants import SAMPLE_RATE, TIME_STRIDE, WINDOW_S
from ..errors import ASTToolsWarning, AudioError, ParameterError
from ..model import features
from ..model.features import window_bounds
from ..settings import check_windows
from ._driver import ItemError
from ._items import _finish_media, _loaded
from .inputs import Item
from .segments import SegmentPlan, segment_windows

__all__ = [
    "Cut",
    "Window",
    "iter_windows",
]


def _stream_windows(stream: AudioStream, win: int, hop: int,
                    bounds_of) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, samples)`` of the windows ``bounds_of(n)`` gives, cut from a stream.

    Holds at most one window and one block of samples: a window is cut as soon as the
    stream has reached its end, and what no later window needs is dropped. The last,
    shorter windows follow once the stream's length ``n`` is known.
    """
    buf, first, k = np.zeros(0, np.float32), 0, 0  # buf[0] is sample number `first`
    limit = features.MAX_WINDOWS_PER_CLIP
    for block in stream:
        buf = np.concatenate([buf, block])
        while k * hop + win <= first + len(buf):
            start = k * hop
            yield start, buf[start - first: start - first + win].copy()
            k += 1
            if k > limit:
                bounds_of(first + len(buf))  # raises: too many windows for one clip
        cut = k * hop - first
        if cut > 0:
            buf, first = buf[cut:], first + cut
    n = stream.n_samples
    for start, end in bounds_of(n)[k:]:
        yield start, buf[start - first: end - first].copy()


def _status(it: Item, media: dict[str, Any]) -> dict[str, Any]:
    """The input's own columns (:data:`~asttools.columns.INPUT_COLUMNS` but ``id``)."""
    out = {"audio_status": media.get("audio_status", "ok")}
    out.update({c: media.get(c) for c in INPUT_COLUMNS[2:7]})
    if "n_audio_streams" in media:
        out["n_audio_streams"] = media["n_audio_streams"]
    if it.segment is not None:
        out.update(segment_start_s=it.segment[0], segment_end_s=it.segment[1])
    return out


def _window_table(it: Item, bounds: list[tuple[int, int]], n_samples: int, *,
                  first: int = 0, media: dict | None = None) -> pd.DataFrame:
    """One row per window; times in seconds on the clip's clock (a video's: the audio
    stream's offset added), the clip's duration the video's when there is one."""
    media = media or {}
    offset = media.get("audio_offset_s") or 0.0
    duration = media.get("video_duration_s") or media.get("audio_duration_s")
    n = len(bounds)
    index = pd.RangeIndex(n)

    def same(value) -> pd.Series:  # one object per window, even a tuple, list or bytes
        col = np.empty(n, dtype=object)
        col.fill(value)
        return pd.Series(col, index=index, dtype=object, copy=False)

    spans = np.asarray(bounds, dtype=np.float64).reshape(n, 2)
    columns = {
        "item": np.full(n, it.index, dtype=np.int64),
        "id": same(it.id),
        "path": same(it.name),  # even not UTF-8
        "window": np.arange(n),
        "start_s": offset + (first + spans[:, 0]) / SAMPLE_RATE,
        "end_s": offset + (first + spans[:, 1]) / SAMPLE_RATE,
        "clip_duration_s": np.full(n, np.nan if duration is None else float(duration)),
    }
    for key, value in _status(it, media).items():  # the input's own columns, per window
        columns[key] = same(value)
    for key, value in it.extra.items():  # carried columns, after (and over) the others
        columns[key] = same(value)
    # one constructor call: adding columns one by one cost ~3 ms per input, the main
    # thread's largest per-file cost when a GPU embeds hundreds of files a second
    return pd.DataFrame(columns, index=index, copy=False)


@dataclass
class Window:
    """One analysis window of an input, yielded by :func:`iter_windows`.

    Attributes
    ----------
    item : Item
    k : int
        Its number within the input (0, 1, ...).
    samples : ndarray, float32, shape (n,)
        16 kHz mono samples, ``n <= window_s * 16000`` (the last window may be shorter).
    expected : int or None
        How many windows the input has, when known before its end (None for a file read
        as a stream).
    """

    item: Item
    k: int
    samples: np.ndarray
    expected: int | None = None


@dataclass
class Cut:
    """An input whose windows are all cut (yielded by :func:`iter_windows` after them):
    where its windows lie and what decoding found, enough to build its rows."""

    item: Item
    bounds: list[tuple[int, int]]
    n_samples: int
    first: int = 0
    media: dict[str, Any] = field(default_factory=dict)
    plan: SegmentPlan | None = None
    """A segment's plan: its windows run with ``pooling="time"`` and make one row."""

    def table(self) -> pd.DataFrame:
        """One row per window: ``item``, ``id``, ``path``, ``window``, ``start_s``,
        ``end_s``, ``clip_duration_s``, the input's status columns and its carried ones.
        A segment has one row, whose ``start_s``/``end_s`` are the span its vector
        covers."""
        if self.plan is not None:
            table = _window_table(self.item, self.bounds[:1], self.n_samples,
                                  first=self.first, media=self.media)
            table["start_s"], table["end_s"] = self.plan.covered
            return table
        return _window_table(self.item, self.bounds, self.n_samples, first=self.first,
                             media=self.media)

    def status(self) -> dict[str, Any]:
        """``audio_status`` and the media columns of the input."""
        return _status(self.item, self.media)


def iter_windows(
    items: Iterable[Item],
    *,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    channel: int | None = None,
    workers: int | str = 1,
    max_length: int | None = None,
    time_stride: int = TIME_STRIDE,
    device: Any = "cpu",
    config=None,
    audio_stream: int | None = None,
) -> Iterator[Window | Cut | ItemError]:
    """Decode, resample and cut inputs into windows: the part of :func:`iter_embed` that
    needs no model (the Ray engine runs it in CPU tasks).

    Parameters
    ----------
    items : iterable of Item
    window_s, hop_s, channel, workers
        As in :func:`iter_embed`.
    max_length : int, optional
        The model's input length in frames (``config.max_length``); default AST's.
    time_stride : int, default TIME_STRIDE
    device : str or torch.device, default "cpu"
        Where the model that takes the windows runs; sizes ``workers="auto"``
        (:func:`asttools.concurrency.auto_workers`).
    config : transformers.ASTConfig, optional
        The model's config, for a segment's column geometry; default AST's.
    audio_stream : int, optional
        As in :func:`embed`.

    Yields
    ------
    Window, Cut or ItemError
        For each input in order, its windows and then its :class:`Cut`; or an
        :class:`ItemError`, possibly after some of its windows (a stream that fails part
        way): its windows are then void.
    """
    kw = {} if max_length is None else {"max_length": max_length}
    win, hop = check_windows(window_s, hop_s, time_stride=time_stride, warn=False, **kw)
    n_workers, _ = resolve_workers(workers, device=device)

    def bounds_of(n_samples: int) -> list[tuple[int, int]]:
        return window_bounds(n_samples, window_s=window_s, hop_s=hop_s, **kw)

    warned_streams = False
    for it, source in _loaded(items, channel, n_workers, win, audio_stream=audio_stream):
        media = source.media if isinstance(source, Source) else source.media
        if not warned_streams and (media.get("n_audio_streams") or 0) > 1:
            warned_streams = True  # once per run; n_audio_streams is recorded per input
            how = ("the first, the default" if audio_stream is None
                   else f"audio_stream={audio_stream}")
            warnings.warn(
                f"{it.name} has {media['n_audio_streams']} audio streams: using stream "
                f"{audio_stream or 0} ({how}; choose with audio_stream= or --audio-stream). "
                "Said once per run; n_audio_streams records each input's count",
                ASTToolsWarning, stacklevel=2)
        if isinstance(source, ItemError):
            yield source
            continue
        src = source.audio
        streamed = isinstance(src, AudioStream)
        plan = None
        try:  # too many windows for this clip (by its header, for a stream): it alone fails
            if streamed:
                if src.duration_s is not None:
                    bounds_of(round(src.duration_s * SAMPLE_RATE))
                windows = _stream_windows(src, win, hop, bounds_of)
            else:
                if it.segment is not None:  # its own steps, on the timestamps' grid
                    plan = segment_windows(it.segment, it.name, source.media,
                                           source.first, len(src), win, config=config)
                    if plan is None:
                        yield ItemError(it, f"the segment {it.segment[0]:g}-"
                                        f"{it.segment[1]:g} s holds no audio (no 0.1 s step "
                                        "of the file's audio track lies in it)",
                                        "no_audio_stream", media=source.media)
                        continue
                    bounds = plan.bounds
                else:
                    bounds = bounds_of(len(src))
                windows = ((s, src[s:e]) for s, e in bounds)
        except ParameterError as err:
            if streamed:
                src.close()
            yield ItemError(it, str(err), "error", media=source.media)
            continue
        expected = None if streamed else len(bounds)
        k, error, status = 0, None, "error"
        while True:
            try:
                window = next(windows, None)
            except AudioError as err:  # a stream that fails part way
                error = err.reason
                status = getattr(err, "status", "decode_error")
            except ParameterError as err:  # a stream longer than its header said
                error = str(err)
            if error is not None or window is None:
                break
            yield Window(it, k, window[1], expected)
            k += 1
        if error is not None:
            yield ItemError(it, error, status, media=source.media)
            continue
        n_samples = src.n_samples if streamed else len(src)
        bounds = bounds_of(n_samples) if streamed else bounds
        silent = (bool(src.silent) if streamed else source.silent if source.silent is not None
                  else is_silent(src))
        if plan is not None:  # a segment is silent when its own span is
            lo = max(round(plan.lo_s * SAMPLE_RATE) - source.first, 0)
            hi = min(round(plan.hi_s * SAMPLE_RATE) - source.first, len(src))
            silent = bool(is_silent(src[lo:hi])) if hi > lo else silent
        _finish_media(source, it, n_samples, silent)
        yield Cut(it, bounds, n_samples, source.first, source.media, plan)
