"""Pooling time steps onto the times a video model needs: frames, snippets or explicit times.

:func:`pool_to_times` averages the 0.1 s steps inside each target span (linear
interpolation where a span holds none); :func:`check_frame_rate` checks a rate to pool
onto; for ``frame_rate="video"``, :func:`_check_video_rates` refuses inputs without a
frame rate and :func:`_real_frames` reads the real frame spans of videos whose rate varies.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..audio.frames import real_frame_spans
from ..errors import ASTToolsWarning, ParameterError, VideoError
from ..run.inputs import printable_path
from ..settings import MAX_FRAME_RATE, renamed_keyword

__all__ = ["Pooled", "check_frame_rate", "pool_to_times"]


class Pooled(NamedTuple):
    """Steps pooled onto target times (:func:`pool_to_times`)."""

    #: float64, shape (m,): the centre of each target span (or the target point), seconds.
    times: np.ndarray
    #: float64, shape (m, 2): ``[start, end)`` of each span (start == end for a point).
    spans: np.ndarray
    #: float32, shape (m, d).
    embeddings: np.ndarray
    #: int64, shape (m,): steps averaged into each vector; 0 where it was interpolated.
    n_steps: np.ndarray


def check_frame_rate(frame_rate: object, *, allow_video: bool = False,
                     video: bool | None = None) -> float | str:
    """A frame rate to pool onto, checked: a finite number of frames per second above 0
    and at most :data:`~asttools.settings.MAX_FRAME_RATE` (or ``"video"`` where
    ``allow_video`` allows it).

    Parameters
    ----------
    frame_rate : float or "video"
        Frames per second.
    allow_video : bool, default False
        Accept ``"video"`` (each input's own video frame rate) too.
    video : bool, optional
        The old name of ``allow_video`` (a DeprecationWarning; goes in the next release):
        ``video`` names video features everywhere else.

    Returns
    -------
    float or "video"

    Raises
    ------
    ParameterError
        Naming the value, e.g. ``frame_rate must be a number of frames per second above 0
        and at most 1000, got 1000000000.0``.

    Examples
    --------
    >>> check_frame_rate(25)
    25.0
    >>> check_frame_rate(1e9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asttools.errors.ParameterError: frame_rate must be ... at most 1000, got 1000000000.0
    """
    allow_video = renamed_keyword(allow_video, video, new="allow_video", old="video",
                                  where="check_frame_rate", default=False,
                                  why="'video' names video features elsewhere")
    if allow_video and isinstance(frame_rate, str) and frame_rate == "video":
        return frame_rate
    if isinstance(frame_rate, bool) or not isinstance(frame_rate, numbers.Real) \
            or not math.isfinite(frame_rate) or not 0 < frame_rate <= MAX_FRAME_RATE:
        also = " (or 'video')" if allow_video else ""
        raise ParameterError(
            f"frame_rate must be a number of frames per second above 0 and at most "
            f"{MAX_FRAME_RATE:g}{also}, got {frame_rate!r}")
    return float(frame_rate)


def _check_frames_per_vector(frames_per_vector: object) -> None:
    if isinstance(frames_per_vector, bool) or \
            not isinstance(frames_per_vector, numbers.Integral) or frames_per_vector < 1:
        raise ParameterError(f"frames_per_vector must be an integer >= 1, got "
                             f"{frames_per_vector!r}")


def _frame_spans(frame_rate: float, frames_per_vector: int, start_s: float,
                 end_s: float) -> np.ndarray:
    """Spans of the vectors ``i`` (``i * F / fps`` … ``(i + 1) * F / fps``) that overlap
    ``[start_s, end_s)``, on a grid whose vector 0 starts at time 0."""
    span = frames_per_vector / frame_rate
    first = math.floor(start_s / span + 1e-9)
    last = math.ceil(end_s / span - 1e-9)  # exclusive
    i = np.arange(first, max(last, first), dtype=np.float64)
    return np.stack([i * frames_per_vector / frame_rate,
                     (i + 1) * frames_per_vector / frame_rate], axis=1)


def pool_to_times(
    step_times: np.ndarray,
    embeddings: np.ndarray,
    *,
    frame_rate: float | None = None,
    frames_per_vector: int = 1,
    times: np.ndarray | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> Pooled:
    """Pool steps onto the times a video model needs: frames, snippets or explicit times.

    The rule: a target **span** ``[a, b)`` gets the **mean of the steps whose time lies
    in it**; a span that holds no step (a 40 ms video frame between two 0.1 s steps) and
    a target **point** get the **linear interpolation** of the two steps around its
    centre. Before the first step and after the last, interpolation holds the nearest
    step's value (check ``times`` against the audio's extent, or use the ``has_audio``
    column of :meth:`TimestampResult.pool`).

    Parameters
    ----------
    step_times : ndarray, shape (n_steps,)
        Times of the steps in seconds, strictly increasing (e.g. ``result.get(0)[0]``).
    embeddings : ndarray, shape (n_steps, d)
    frame_rate : float, optional
        Video frames per second: vector ``i`` spans frames ``i * F`` … ``(i + 1) * F - 1``,
        i.e. ``[i F / fps, (i + 1) F / fps)`` with ``F = frames_per_vector``, on a grid
        whose frame 0 starts at time 0 (the clock of ``step_times``).
    frames_per_vector : int, default 1
        Frames per vector: 1 for one vector per frame, 16 for 16-frame snippets.
    times : ndarray, shape (m,) or (m, 2), optional
        Explicit targets instead of a frame grid: points (interpolated) or
        ``[start, end)`` spans (seconds). Give either ``frame_rate`` or ``times``.
    start_s, end_s : float, optional
        With ``frame_rate``: the vectors whose span overlaps ``[start_s, end_s)``.
        Default from 0.0 to the end of what the steps stand for (the last step plus half
        the step spacing), and at least up to the vector holding the last step.

    Returns
    -------
    Pooled
        ``times`` (float64, (m,), span centres), ``spans`` (float64, (m, 2)),
        ``embeddings`` (float32, (m, d)) and ``n_steps`` (int64, (m,), 0 where
        interpolated).

    Raises
    ------
    ParameterError
        Neither or both of ``frame_rate`` and ``times``; a rate that is not positive,
        ``frames_per_vector`` not an integer >= 1, targets that are not (m,) or (m, 2) or
        have a span that ends before it starts, ``end_s <= start_s``, no steps, step
        times not strictly increasing, or lengths that differ.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.0875, 0.1875, 0.2875])
    >>> e = np.array([[0.0], [1.0], [2.0]], np.float32)
    >>> p = pool_to_times(t, e, frame_rate=25, end_s=0.2)  # five 40 ms frames
    >>> p.n_steps.tolist()                                 # 0: interpolated at the centre
    [0, 0, 1, 0, 1]
    >>> [round(float(x), 3) for x in p.embeddings[:, 0]]   # before step 0: its value
    [0.0, 0.0, 0.0, 0.525, 1.0]
    >>> pool_to_times(t, e, times=[[0.0, 0.3]]).embeddings[:, 0].tolist()
    [1.0]
    """
    st = np.asarray(step_times, dtype=np.float64)
    emb = np.asarray(embeddings)
    if st.ndim != 1 or emb.ndim != 2 or len(st) != len(emb):
        raise ParameterError(
            f"step_times must be (n_steps,) and embeddings (n_steps, d), got shapes "
            f"{st.shape} and {emb.shape}"
        )
    if len(st) == 0:
        raise ParameterError("there are no steps to pool (an input with no audio step)")
    if not np.isfinite(st).all() or (np.diff(st) <= 0).any():
        raise ParameterError("step_times must be finite and strictly increasing")
    if (frame_rate is None) == (times is None):
        raise ParameterError("give exactly one of frame_rate= (with frames_per_vector=) "
                             "and times=")
    if times is not None:
        if start_s != 0.0 or end_s is not None:
            raise ParameterError("start_s and end_s choose frames of frame_rate=; with "
                                 "times= give exactly the times you want")
        tt = np.asarray(times, dtype=np.float64)
        if tt.ndim == 1:
            spans = np.stack([tt, tt], axis=1)
        elif tt.ndim == 2 and tt.shape[1] == 2:
            spans = tt
        else:
            raise ParameterError(
                f"times must be points, shape (m,), or [start, end) spans, shape (m, 2); "
                f"got shape {tt.shape}"
            )
        if not np.isfinite(spans).all():
            raise ParameterError("times must be finite seconds")
        if (spans[:, 1] < spans[:, 0]).any():
            i = int(np.flatnonzero(spans[:, 1] < spans[:, 0])[0])
            raise ParameterError(f"times span {i}, [{spans[i, 0]:g}, {spans[i, 1]:g}), "
                                 "ends before it starts: give [start, end) with end >= start")
    else:
        rate = check_frame_rate(frame_rate)
        _check_frames_per_vector(frames_per_vector)
        if isinstance(start_s, bool) or not isinstance(start_s, numbers.Real) \
                or not math.isfinite(start_s):
            raise ParameterError(f"start_s must be a finite number of seconds, got {start_s!r}")
        if end_s is None:
            half = float(np.median(np.diff(st))) / 2 if len(st) > 1 else 0.0
            end = float(st[-1]) + half
            span = frames_per_vector / rate
            end = max(end, (math.floor(st[-1] / span + 1e-9) + 1) * span)
        else:
            if isinstance(end_s, bool) or not isinstance(end_s, numbers.Real) \
                    or not math.isfinite(end_s):
                raise ParameterError(f"end_s must be a finite number of seconds, got {end_s!r}")
            if end_s <= start_s:
                raise ParameterError(f"end_s={end_s:g} must be after start_s={start_s:g}")
            end = float(end_s)
        spans = _frame_spans(rate, int(frames_per_vector), float(start_s), end)
    lo = np.searchsorted(st, spans[:, 0], side="left")
    hi = np.searchsorted(st, spans[:, 1], side="left")
    count = np.maximum(hi - lo, 0)
    csum = np.concatenate([np.zeros((1, emb.shape[1])),
                           np.cumsum(emb, axis=0, dtype=np.float64)])
    out = np.empty((len(spans), emb.shape[1]), dtype=np.float64)
    full = count > 0
    out[full] = (csum[hi[full]] - csum[lo[full]]) / count[full, None]
    centre = spans.mean(axis=1)
    empty = ~full
    if empty.any():
        c = centre[empty]
        right = np.clip(np.searchsorted(st, c, side="right"), 1, max(len(st) - 1, 1))
        left = right - 1
        if len(st) == 1:
            left = right = np.zeros_like(right)
        gap = st[right] - st[left]
        w = np.divide(c - st[left], gap, out=np.zeros_like(c), where=gap > 0)
        w = np.clip(w, 0.0, 1.0)[:, None]
        out[empty] = (1 - w) * emb[left] + w * emb[right]
    return Pooled(centre, spans, out.astype(np.float32), count.astype(np.int64))


def _real_frames(paths: Sequence[str], frames_per_vector: int) -> dict[str, np.ndarray]:
    """The real frame spans of the inputs whose frame rate varies (warned once)."""
    out, worst = {}, 0.0
    for path in dict.fromkeys(paths):
        try:
            spans, variable, error = real_frame_spans(path, frames_per_vector=frames_per_vector)
        except VideoError:
            continue
        if variable:
            out[path], worst = spans, max(worst, error)
    if out:
        warnings.warn(f"{len(out)} input(s) have a variable frame rate (e.g. {next(iter(out))}"
                      f"): pooled onto their real frame times, which the nominal rate's grid "
                      f"misses by up to {worst * 1000:.0f} ms (inputs['variable_frame_rate'])",
                      ASTToolsWarning, stacklevel=3)
    return out


def _check_video_rates(paths: Sequence[str], rates: Sequence[float]) -> None:
    """Refuse ``frame_rate="video"`` for inputs whose frame rate is unknown."""
    bad = [printable_path(p) for p, r in zip(paths, rates, strict=True)
           if r is None or not np.isfinite(r)]
    if bad:
        raise ParameterError(
            f"frame_rate='video', but {len(bad)} input(s) have no video frame rate (no "
            f"video stream, or an array): {', '.join(bad[:5])}"
            f"{' ...' if len(bad) > 5 else ''}; give a number of frames per second")

