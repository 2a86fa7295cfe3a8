"""Video frames at their real presentation times, on the audio's clock.

The clock is the one :func:`asttools.audio.probe_media` and :mod:`asttools.timestamps` use:
0 s is the video stream's start (its first frame's presentation time), and audio sample
``k`` lies at ``audio_offset_s + k / sr``. A frame's time is its packet's presentation
timestamp, ``pts * time_base``, less the video stream's start; a variable-frame-rate
video keeps its real times (the nominal ``frames / duration`` grid can miss them by a
large part of a frame).

Three steps, each usable alone:

1. :func:`frame_times` scans the video's packets (no decoding) for every frame's time
   and duration, the nominal rate, and whether the rate varies.
2. :func:`sample_frames` turns those times into a plan: which frames make each vector
   (every frame, frames at a rate, snippets of ``n`` frames with a stride, or the frames
   shown at given times), and each vector's span on the clock. Pure arithmetic.
3. :func:`read_frames` decodes the planned frames in batches of vectors (memory bounded
   by one batch, not by the video's length), as RGB ``uint8`` arrays;
   :func:`iter_frame_batches` does so for many videos in the worker pool of
   :func:`asttools.concurrency.prefetch`, a video in chunks that each seek to their
   first frame.

A file without a video stream raises :class:`~asttools.errors.VideoError` with status
``"no_video_stream"`` (a status row, like a clip without audio). A stream that is
damaged part way gives the frames decoded before the damage, with a warning.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np

from ..concurrency import prefetch
from ..errors import ASTToolsWarning, AudioError, ParameterError, VideoError
from ._probe import probe_media

__all__ = [
    "VFR_TOLERANCE",
    "FrameBatch",
    "FramePlan",
    "FrameTimes",
    "frame_times",
    "iter_frame_batches",
    "load_frames",
    "read_frames",
    "real_frame_spans",
    "sample_frames",
]

#: A video's frame rate counts as variable when its frames' durations differ by more than
#: this fraction of the median duration, and by more than two ticks of the stream's time
#: base (container time bases round a constant rate's durations: 33/34 ms at 30 fps,
#: 8/9 ms at 120 fps in Matroska's 1 ms).
VFR_TOLERANCE = 0.1

_AV_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError)


# --------------------------------------------------------------------------- frame times


@dataclass(frozen=True)
class FrameTimes:
    """Every frame of a video stream with its presentation time, from its packets.

    Attributes
    ----------
    path : str
    times_s : ndarray, float64, shape (n,)
        Each frame's presentation time in seconds on the video's clock (0 = the stream's
        start), increasing.
    durations_s : ndarray, float64, shape (n,)
        How long each frame is shown: the gap to the next frame; for the last, its
        packet's duration, else the median gap (else ``1 / nominal_rate``).
    pts : ndarray, int64, shape (n,)
        The frames' presentation timestamps in ``time_base`` units.
    time_base : Fraction
    start_s : float
        The video stream's start on the container's clock (subtracted from every time).
    nominal_rate : float or None
        The stream's average frame rate as its header gives it.
    variable_frame_rate : bool
        The durations differ by more than :data:`VFR_TOLERANCE` of their median.
    max_grid_error_s : float
        The largest distance between a frame's real time and frame ``i`` of the nominal
        constant-rate grid, ``i / nominal_rate`` (0.0 without a nominal rate).
    width, height : int
        The picture's size in pixels.
    """

    path: str
    times_s: np.ndarray
    durations_s: np.ndarray
    pts: np.ndarray
    time_base: Fraction
    start_s: float
    nominal_rate: float | None
    variable_frame_rate: bool
    max_grid_error_s: float
    width: int
    height: int

    @property
    def n_frames(self) -> int:
        return len(self.times_s)

    @property
    def end_s(self) -> float:
        """Where the last frame stops being shown."""
        return float(self.times_s[-1] + self.durations_s[-1]) if self.n_frames else 0.0


def frame_times(path: str | os.PathLike) -> FrameTimes:
    """Every frame's presentation time in a video, read from its packets without decoding.

    Parameters
    ----------
    path : str or PathLike
        A video file (any container PyAV opens).

    Returns
    -------
    FrameTimes
        Times on the video's clock (the clock of :func:`asttools.audio.probe_media`), the
        nominal rate and whether the rate varies.

    Raises
    ------
    VideoError
        The file cannot be opened (status ``"unreadable"`` or ``"decode_error"``), has no
        video stream (``"no_video_stream"``), or its video stream has no timed packet.

    Notes
    -----
    The scan reads the whole file (packets, not pictures): about as fast as copying it.
    Packets without a presentation time are skipped. The stream's start is its header's
    ``start_time``, as in :func:`~asttools.audio.probe_media`, else its first frame's time.

    Examples
    --------
    >>> ft = frame_times("data/video/hammering_04.mp4")
    >>> ft.n_frames, ft.nominal_rate, ft.variable_frame_rate
    (75, 25.0, False)
    """
    name = os.fspath(path)
    container = _open(name)
    with container:
        stream = _video_stream(container, name)
        tb = stream.time_base
        pts, durs = [], []
        try:
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                pts.append(int(packet.pts))
                durs.append(int(packet.duration or 0))
        except _AV_ERRORS as e:
            warnings.warn(f"{name}: the video's packets stop at {len(pts)} frames ({e}); "
                          "the frames before are used", ASTToolsWarning, stacklevel=2)
        rate = float(stream.average_rate) if stream.average_rate else None
        start = stream.start_time
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    if not pts:
        raise VideoError(name, "the video stream has no timed packet", status="decode_error")
    order = np.argsort(pts, kind="stable")
    p = np.asarray(pts, np.int64)[order]
    keep = np.concatenate([[True], np.diff(p) > 0])  # a repeated timestamp is one frame
    p, last_dur = p[keep], np.asarray(durs, np.int64)[order][keep][-1]
    zero = int(start) if start is not None else int(p[0])
    times = (p - zero).astype(np.float64) * float(tb)
    gaps = np.diff(times)
    median = float(np.median(gaps)) if len(gaps) else (1 / rate if rate else 0.0)
    last = float(last_dur * tb) if last_dur > 0 else median
    durations = np.append(gaps, last)
    # a constant rate in a coarse time base (1 ms in Matroska) rounds its gaps by a tick
    slack = max(VFR_TOLERANCE * median, 2.0 * float(tb))
    variable = bool(len(gaps) > 1 and gaps.max() - gaps.min() > slack)
    grid_error = float(np.abs(times - times[0] - np.arange(len(times)) / rate).max()) \
        if rate else 0.0
    out = FrameTimes(name, times, durations, p, Fraction(tb), float(zero * tb), rate,
                     variable, grid_error, width, height)
    try:
        header = probe_media(name).video_duration_s
    except AudioError:
        header = None
    if header is not None and header - out.end_s > 2 * median:
        warnings.warn(f"{name}: the video's frames end at {out.end_s:.3f} s but its header "
                      f"says {header:.3f} s (the stream is truncated or damaged); the "
                      f"{out.n_frames} frames before are used", ASTToolsWarning, stacklevel=2)
    return out


def real_frame_spans(
    path: str | os.PathLike, *, frames_per_vector: int = 1
) -> tuple[np.ndarray, bool, float]:
    """The ``[start, end)`` spans of a video's frames (or groups of frames) on its clock.

    What :mod:`asttools.timestamps` pools onto for ``frame_rate="video"`` when the frame
    rate varies.

    Parameters
    ----------
    path : str or PathLike
    frames_per_vector : int, default 1
        Consecutive frames per span (a trailing group with fewer frames is kept).

    Returns
    -------
    spans : ndarray, float64, shape (m, 2)
    variable_frame_rate : bool
    max_grid_error_s : float
        How far the nominal grid misses the real frame times.
    """
    ft = frame_times(path)
    n = _positive_int(frames_per_vector, "frames_per_vector")
    first = np.arange(0, ft.n_frames, n)
    last = np.minimum(first + n, ft.n_frames) - 1
    spans = np.stack([ft.times_s[first], ft.times_s[last] + ft.durations_s[last]], axis=1)
    return spans, ft.variable_frame_rate, ft.max_grid_error_s


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class FramePlan:
    """Which frames make each vector, and where each vector lies on the clock.

    Attributes
    ----------
    frame_index : ndarray, int64, shape (m, n_frames)
        Indices into the video's frames (:class:`FrameTimes`), one row per vector;
        ``n_frames`` is 1 for per-frame sampling, the snippet length for snippets.
    start_s, end_s, time_s : ndarray, float64, shape (m,)
        A vector's span: from its first frame's time to where its last frame stops being
        shown; ``time_s`` is the span's centre.
    n_padded : ndarray, int64, shape (m,)
        Frames repeated to fill a snippet of a video shorter than one snippet.
    """

    frame_index: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    time_s: np.ndarray
    n_padded: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_index)

    def take(self, rows: slice | np.ndarray) -> FramePlan:
        return FramePlan(self.frame_index[rows], self.start_s[rows], self.end_s[rows],
                         self.time_s[rows], self.n_padded[rows])


def sample_frames(
    times: FrameTimes,
    *,
    fps: float | None = None,
    snippet: int = 1,
    stride: int | None = None,
    at: Sequence[float] | np.ndarray | None = None,
) -> FramePlan:
    """Plan which frames make each vector: every frame, a rate, snippets, or given times.

    Parameters
    ----------
    times : FrameTimes
        From :func:`frame_times`.
    fps : float, optional
        Sample at this rate: at ``k / fps`` (k = 0, 1, ...) while before the video's end,
        the frame on screen then (the last one whose time is at or before it). Default:
        every frame, at its own time.
    snippet : int, default 1
        Sampled frames per vector (16 for VideoMAE, 64 for I3D stacks).
    stride : int, optional
        Sampled frames between the starts of consecutive snippets; default ``snippet``
        (no overlap). Trailing frames that do not fill a snippet are not used.
    at : sequence of float, optional
        Instead of a rate: the times (seconds on the video's clock) to take the frame on
        screen at; with ``snippet > 1``, each snippet starts at that frame and goes on
        through the next ``snippet - 1`` frames (of the ``fps`` sampling if given, else
        of the video's own frames).

    Returns
    -------
    FramePlan

    Raises
    ------
    ParameterError
        ``fps`` not positive and finite; ``snippet``/``stride`` not positive integers;
        both ``fps`` grid and ``at`` conflicting (``at`` outside ``[0, end)`` of the
        video).

    Warns
    -----
    ASTToolsWarning
        The video is shorter than one snippet: its one snippet is padded by repeating
        the last frame (``n_padded`` says how many), as VideoMAE's own sampling does;
        ``fps`` above the video's own rate (frames repeat).
    """
    n = _positive_int(snippet, "snippet")
    step = n if stride is None else _positive_int(stride, "stride")
    t, end = times.times_s, times.end_s
    if fps is not None:
        rate = _positive_float(fps, "fps")
        grid = np.arange(int(np.ceil(end * rate - 1e-9))) / rate
        seq = _on_screen(t, grid)
        if times.nominal_rate and rate > times.nominal_rate * (1 + 1e-6):
            warnings.warn(f"{times.path}: fps={rate:g} is above the video's own rate "
                          f"({times.nominal_rate:g}); frames repeat", ASTToolsWarning,
                          stacklevel=2)
    else:
        seq = np.arange(len(t))
    if at is not None:
        at = np.asarray(at, dtype=np.float64).reshape(-1)
        bad = at[~np.isfinite(at) | (at < 0) | (at >= end)]
        if len(bad):
            raise ParameterError(f"at={bad[0]:g} is outside the video {times.path} "
                                 f"(frames from 0 to {end:g} s)")
        shown = _on_screen(t, at)
        first = np.searchsorted(seq, shown, side="right") - 1 if fps is not None \
            else shown
        starts = np.maximum(first, 0)
    else:
        starts = np.arange(0, max(len(seq) - n + 1, 1), step)
    idx = starts[:, None] + np.arange(n)[None, :]
    padded = (idx > len(seq) - 1).sum(axis=1)
    if padded.any() and at is None:
        warnings.warn(f"{times.path}: {len(seq)} frames are fewer than one snippet of {n}; "
                      f"the snippet repeats the last frame {int(padded.max())} times",
                      ASTToolsWarning, stacklevel=2)
    frames = seq[np.minimum(idx, len(seq) - 1)].astype(np.int64)
    start = t[frames[:, 0]]
    stop = t[frames[:, -1]] + times.durations_s[frames[:, -1]]
    return FramePlan(frames, start, stop, (start + stop) / 2, padded.astype(np.int64))


def _on_screen(t: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Index of the frame shown at each time: the last one at or before it (the first
    frame for a time before it). The 1 us slack absorbs rounding of ``k / fps``."""
    return np.maximum(np.searchsorted(t, when + 1e-6, side="right") - 1, 0)


# --------------------------------------------------------------------------- decoding


@dataclass
class FrameBatch:
    """A batch of vectors' frames, decoded.

    Attributes
    ----------
    path : str
    pixels : ndarray, uint8, shape (m, n_frames, height, width, 3)
        RGB frames; ``n_frames`` is 1 for per-frame sampling.
    frame_index : ndarray, int64, shape (m, n_frames)
    frame_times_s : ndarray, float64, shape (m, n_frames)
        Each frame's real presentation time.
    start_s, end_s, time_s : ndarray, float64, shape (m,)
        Each vector's span and centre (see :class:`FramePlan`).
    n_padded : ndarray, int64, shape (m,)
    warnings : list of str
        What went wrong decoding (a damaged stream), already issued as warnings.
    times : FrameTimes or None
        The video's frame times the batch was planned from.
    """

    path: str
    pixels: np.ndarray
    frame_index: np.ndarray
    frame_times_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    time_s: np.ndarray
    n_padded: np.ndarray
    warnings: list[str] = field(default_factory=list)
    times: FrameTimes | None = None

    def __len__(self) -> int:
        return len(self.pixels)


def read_frames(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    snippet: int = 1,
    stride: int | None = None,
    at: Sequence[float] | np.ndarray | None = None,
    size: tuple[int, int] | None = None,
    batch_size: int = 32,
    times: FrameTimes | None = None,
) -> Iterator[FrameBatch]:
    """Decode a video's frames at their real times, ``batch_size`` vectors at a time.

    Parameters
    ----------
    path : str or PathLike
    fps, snippet, stride, at
        The sampling, as :func:`sample_frames`.
    size : (height, width), optional
        Scale every frame to this size while decoding (FFmpeg's scaler); default the
        video's own size. A model's processor resizes anyway; scaling early saves memory.
    batch_size : int, default 32
        Vectors per batch: at most ``batch_size * snippet`` frames are held at once (plus
        the frames an overlapping next snippet shares).
    times : FrameTimes, optional
        From :func:`frame_times`, if already scanned.

    Yields
    ------
    FrameBatch
        In time order.

    Raises
    ------
    VideoError
        As :func:`frame_times`.

    Warns
    -----
    ASTToolsWarning
        Decoding fails part way (a damaged stream): the vectors whose frames were decoded
        before the damage are yielded, the rest dropped, and the warning says where.

    Examples
    --------
    >>> for batch in read_frames("data/video/talking_01.mp4", snippet=16, stride=8):
    ...     batch.pixels.shape, batch.time_s        # doctest: +SKIP
    """
    ft = times if times is not None else frame_times(path)
    plan = sample_frames(ft, fps=fps, snippet=snippet, stride=stride, at=at)
    bs = _positive_int(batch_size, "batch_size")
    for lo in range(0, len(plan), bs):
        batch = _decode(ft, plan.take(slice(lo, lo + bs)), size=size)
        for message in batch.warnings:
            warnings.warn(message, ASTToolsWarning, stacklevel=2)
        if len(batch):
            yield batch
        if batch.warnings:  # damaged: nothing after it decodes either
            return


def load_frames(path: str | os.PathLike, **kwargs) -> FrameBatch:
    """All of a video's sampled frames in one :class:`FrameBatch` (for short clips).

    Takes :func:`read_frames`' keyword arguments.
    """
    batches = list(read_frames(path, **kwargs))
    if not batches:
        ft = kwargs.get("times") or frame_times(path)
        empty = np.zeros((0, 1), np.int64)
        return FrameBatch(ft.path, np.zeros((0, 1, ft.height, ft.width, 3), np.uint8),
                          empty, empty.astype(float), *(np.zeros(0),) * 3,
                          np.zeros(0, np.int64))
    return FrameBatch(
        batches[0].path, *(np.concatenate([getattr(b, f) for b in batches])
                           for f in ("pixels", "frame_index", "frame_times_s", "start_s",
                                     "end_s", "time_s", "n_padded")))


def iter_frame_batches(
    paths: Iterable[str | os.PathLike],
    *,
    fps: float | None = None,
    snippet: int = 1,
    stride: int | None = None,
    size: tuple[int, int] | None = None,
    batch_size: int = 32,
    workers: int = 0,
) -> Iterator[tuple[str, FrameBatch | VideoError]]:
    """Decode many videos' frames in the worker pool, in chunks of ``batch_size`` vectors.

    Each chunk is decoded by one worker thread (seeking to its first frame), up to
    ``2 * workers`` chunks ahead (:func:`asttools.concurrency.prefetch`), so memory is
    bounded by a few batches whatever the videos' lengths.

    Parameters
    ----------
    paths : iterable of path
    fps, snippet, stride, size, batch_size
        As :func:`read_frames`.
    workers : int, default 0
        Decoding threads; 0 decodes in the caller's thread.

    Yields
    ------
    (path, FrameBatch or VideoError)
        In input order, a video's chunks in time order. A video that cannot be read
        gives one ``VideoError`` (its ``status`` says why: ``"no_video_stream"`` for a
        file without video). A damaged video's last chunk carries the warning in
        ``FrameBatch.warnings`` (issued again in the caller) and later chunks are empty.
    """
    bs = _positive_int(batch_size, "batch_size")

    def chunks() -> Iterator[tuple[str, FrameTimes | VideoError, FramePlan | None]]:
        for p in paths:
            name = os.fspath(p)
            try:
                ft = frame_times(name)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    plan = sample_frames(ft, fps=fps, snippet=snippet, stride=stride)
                for w in caught:
                    warnings.warn(w.message, w.category, stacklevel=3)
            except VideoError as e:
                yield name, e, None
                continue
            for lo in range(0, len(plan), bs):
                yield name, ft, plan.take(slice(lo, lo + bs))

    def work(chunk):
        name, ft, plan = chunk
        if isinstance(ft, VideoError):
            return ft
        return _decode(ft, plan, size=size)

    damaged: set[str] = set()
    for (name, _, _), out in prefetch(work, chunks(), workers=workers, name="frames"):
        if name in damaged:
            continue
        if isinstance(out, FrameBatch) and out.warnings:
            damaged.add(name)
            for message in out.warnings:
                warnings.warn(message, ASTToolsWarning, stacklevel=2)
        yield name, out


def _decode(ft: FrameTimes, plan: FramePlan, *, size: tuple[int, int] | None) -> FrameBatch:
    """Decode the frames ``plan`` needs (seeking to the first), in presentation order."""
    need = np.unique(plan.frame_index)
    got: dict[int, np.ndarray] = {}
    problems: list[str] = []
    if len(need):
        by_pts = {int(p): i for i, p in enumerate(ft.pts)}
        first, last = int(need[0]), int(need[-1])
        wanted = set(need.tolist())
        container = _open(ft.path)
        with container:
            stream = _video_stream(container, ft.path)
            stream.thread_type = "AUTO"
            if first > 0:
                container.seek(int(ft.pts[first]), stream=stream, backward=True)
            count = first - 1
            try:
                for frame in container.decode(stream):
                    i = by_pts.get(frame.pts) if frame.pts is not None else None
                    count = i if i is not None else count + 1
                    if count < first:
                        continue
                    if count in wanted:
                        got[count] = _pixels(frame, size)
                    if count >= last:
                        break
            except _AV_ERRORS as e:
                at = ft.times_s[min(count + 1, ft.n_frames - 1)] if count >= 0 else 0.0
                problems.append(f"{ft.path}: the video stream is damaged near {at:.3f} s "
                                f"({e}); the frames before it are used")
        if len(got) < len(wanted) and not problems:
            missing = min(wanted - set(got))
            problems.append(f"{ft.path}: decoding stopped before frame {missing} "
                            f"({ft.times_s[missing]:.3f} s) of {ft.n_frames}; the frames "
                            "before it are used")
    ok = np.array([all(int(i) in got for i in row) for row in plan.frame_index], bool)
    keep = plan.take(ok) if len(plan) else plan
    h, w = size if size is not None else (ft.height, ft.width)
    pixels = np.zeros((len(keep), keep.frame_index.shape[1] if len(keep) else 1, h, w, 3),
                      np.uint8)
    for r, row in enumerate(keep.frame_index):
        for c, i in enumerate(row):
            pixels[r, c] = got[int(i)]
    return FrameBatch(ft.path, pixels, keep.frame_index, ft.times_s[keep.frame_index],
                      keep.start_s, keep.end_s, keep.time_s, keep.n_padded, problems, ft)


def _pixels(frame, size: tuple[int, int] | None) -> np.ndarray:
    if size is None:
        return frame.to_ndarray(format="rgb24")
    h, w = size
    return frame.reformat(width=int(w), height=int(h), format="rgb24").to_ndarray()


# --------------------------------------------------------------------------- helpers


def _open(name: str):
    if not os.path.exists(name):
        raise VideoError(name, "file not found", status="unreadable")
    try:
        return av.open(name)
    except _AV_ERRORS as e:
        raise VideoError(name, f"not a readable video ({e})", status="decode_error") from None


def _video_stream(container, name: str):
    streams = [s for s in container.streams.video
               if not _attached_picture(s)]
    if not streams:
        found = ", ".join(sorted({s.type for s in container.streams})) or "none"
        raise VideoError(name, f"no video stream (streams found: {found})",
                         status="no_video_stream")
    return streams[0]


def _attached_picture(stream) -> bool:
    disposition = getattr(stream, "disposition", 0) or 0  # an int, or a Flag (PyAV 15-17)
    return bool(int(getattr(disposition, "value", disposition)) & 0x0400)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name}={value!r} must be a positive integer")
    return int(value)


def _positive_float(value: object, name: str) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = np.nan
    if not np.isfinite(v) or v <= 0:
        raise ParameterError(f"{name}={value!r} must be a positive, finite number")
    return v
