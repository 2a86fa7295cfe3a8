"""AST's patch columns as time steps: where each column lies, and one sequence of steps
stitched from overlapping windows.

AST cuts a 10.24 s window into 101 patch columns, one every 10 fbank frames (0.1 s).
Averaged over frequency (``pooling="time"``), each column is one vector at a known time.
This module holds that geometry, derived from :mod:`asttools.constants`, and
:func:`stitch`, which keeps each step from the window in which it is most central. Both
:mod:`asttools.timestamps` (time-aligned embeddings) and :mod:`asttools.run.segments` (a
segment's vector from its own steps) build on it; it needs no model.

- fbank frame ``i`` covers samples ``[160 i, 160 i + 400)``, so its centre lies at
  ``0.01 i + 0.0125`` s;
- patch column ``t`` covers frames ``10 t`` … ``10 t + 15``, i.e. samples
  ``[1600 t, 1600 t + 2800)``, so its centre lies at ``0.1 t + 0.0875`` s from the start
  of its window (:data:`STEP_S`, :data:`FIRST_STEP_S`);
- the 101 columns end at frame 1015 (10.175 s); the last 8 frames of a 10.24 s window
  belong to no column.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..constants import (
    FRAME_LENGTH,
    FRAME_SHIFT,
    MAX_LENGTH,
    PATCH_SIZE,
    SAMPLE_RATE,
    TIME_STRIDE,
    patch_grid,
)
from ..errors import ParameterError
from ..settings import check_windows

__all__ = [
    "DEFAULT_HOP_S",
    "FIRST_STEP_S",
    "STEP_S",
    "Steps",
    "assign_steps",
    "audio_columns",
    "check_hop",
    "column_samples",
    "column_spans",
    "column_times",
    "geometry",
    "step_seconds",
    "stitch",
]


# --------------------------------------------------------------------------- geometry


def geometry(config=None) -> tuple[int, int, int, int]:
    """(time stride, patch size, max_length, columns) of AST, or of a model's config."""
    if config is None:
        tstride, patch, length = TIME_STRIDE, PATCH_SIZE, MAX_LENGTH
    else:
        tstride, patch, length = config.time_stride, config.patch_size, config.max_length
    return int(tstride), int(patch), int(length), patch_grid(config)[1]


def column_samples(config=None) -> tuple[np.ndarray, np.ndarray]:
    """First sample and one-past-last sample of each patch column within a window."""
    tstride, patch, _, n_cols = geometry(config)
    first_frame = np.arange(n_cols, dtype=np.int64) * tstride
    last_frame = first_frame + patch - 1
    return first_frame * FRAME_SHIFT, last_frame * FRAME_SHIFT + FRAME_LENGTH


def step_seconds(config=None) -> float:
    """Seconds between patch columns: ``time_stride`` frames of 10 ms, 0.1 s for AST.

    Examples
    --------
    >>> step_seconds()
    0.1
    """
    return geometry(config)[0] * FRAME_SHIFT / SAMPLE_RATE


def column_spans(config=None) -> np.ndarray:
    """The audio each patch column of a window covers, in seconds from the window's start.

    Parameters
    ----------
    config : transformers.ASTConfig, optional
        A model's config; default AST's geometry (:mod:`asttools.constants`).

    Returns
    -------
    ndarray, float64, shape (n_columns, 2)
        ``[start, end)`` of the samples of the column's fbank frames: column ``t`` spans
        frames ``10 t`` … ``10 t + 15``, samples ``[1600 t, 1600 t + 2800)``.

    Examples
    --------
    >>> column_spans()[[0, 100]].round(4).tolist()
    [[0.0, 0.175], [10.0, 10.175]]
    """
    start, end = column_samples(config)
    return np.stack([start, end], axis=1) / SAMPLE_RATE


def column_times(config=None) -> np.ndarray:
    """The time of each patch column within a window: the centre of its audio, in seconds.

    Frame ``i`` covers samples ``[160 i, 160 i + 400)`` (centre ``0.01 i + 0.0125`` s);
    column ``t`` covers frames ``10 t`` … ``10 t + 15``, so its centre is the midpoint of
    those frames' centres, ``0.1 t + 0.0875`` s. Derived from
    :mod:`asttools.constants` (or ``config``), not written in.

    Parameters
    ----------
    config : transformers.ASTConfig, optional
        A model's config; default AST's geometry.

    Returns
    -------
    ndarray, float64, shape (n_columns,)
        101 times for AST, 0.0875 s to 10.0875 s.

    Examples
    --------
    >>> t = column_times()
    >>> len(t), round(float(t[0]), 4), round(float(t[1] - t[0]), 4), round(float(t[-1]), 4)
    (101, 0.0875, 0.1, 10.0875)
    """
    start, end = column_samples(config)
    return (start + end) / (2 * SAMPLE_RATE)


def audio_columns(n_samples: int, config=None) -> int:
    """How many leading columns of a window of ``n_samples`` samples hold audio.

    A column holds audio when its centre lies before the end of the audio; the columns
    after it see only the padding AST adds to a short (last) window and are dropped.

    Parameters
    ----------
    n_samples : int
        Samples (16 kHz) of the window's audio.
    config : transformers.ASTConfig, optional

    Returns
    -------
    int
        From 0 (less than 0.0875 s of audio) to 101.

    Examples
    --------
    >>> audio_columns(16000), audio_columns(163840), audio_columns(1000)
    (10, 101, 0)
    """
    start, end = column_samples(config)
    return int(np.count_nonzero(start + end < 2 * int(n_samples)))


#: Seconds between steps: one patch column, ``TIME_STRIDE`` frames of 10 ms (0.1 s).
STEP_S = step_seconds()
#: Time of column 0 within its window, the centre of frames 0 … 15 (0.0875 s).
FIRST_STEP_S = float(column_times()[0])
#: Default hop between windows of :func:`timestamp_embeddings`, in seconds: 51 columns.
#: Each step is then taken from columns 25 … 75 of its window, at least 2.5875 s from
#: the window's start and 2.6525 s from its end; 5.1 s is the longest hop on the 0.1 s
#: column grid for which every step away from the clip's ends has at least a quarter
#: window (2.56 s) of context on each side. It costs about twice the windows of plain
#: extraction (one window per 10.24 s): ``ceil((D - 10.24) / 5.1) + 1`` windows for a
#: clip of ``D`` > 10.24 s, 2.0x for long clips, 1x for clips up to 10.24 s.
DEFAULT_HOP_S = 5.1


def check_hop(hop_s: float, config=None, *, name: str = "hop_s") -> int:
    """Check a hop for stitching: on the column grid and leaving no step uncovered.

    Overlapping windows' columns coincide only when windows start a whole number of
    columns apart: the hop must be a multiple of the column spacing (0.1 s, 1600
    samples), and at most the columns of one window (101, 10.1 s) so that no step falls
    between two windows.

    Parameters
    ----------
    hop_s : float
        Seconds between window starts.
    config : transformers.ASTConfig, optional
    name : str, default "hop_s"
        How messages name the setting.

    Returns
    -------
    int
        The hop in columns (51 for 5.1 s).

    Raises
    ------
    ParameterError
        ``hop_s`` is not a positive number, not a multiple of 0.1 s (to the nearest
        sample), or longer than 10.1 s.

    Examples
    --------
    >>> check_hop(5.1)
    51
    >>> check_hop(5.12)
    Traceback (most recent call last):
    ...
    asttools.errors.ParameterError: hop_s=5.12 s is not a multiple of the 0.1 s between AST's patch columns: the columns of overlapping windows would not coincide, so steps could not be stitched. Use a multiple of 0.1 s, e.g. hop_s=5.1 (the default)
    """  # noqa: E501
    tstride, _, length, n_cols = geometry(config)
    if isinstance(hop_s, bool) or not isinstance(hop_s, numbers.Real) \
            or not math.isfinite(hop_s) or hop_s <= 0:
        raise ParameterError(f"{name} must be a positive number of seconds, got {hop_s!r}")
    step = tstride * FRAME_SHIFT
    step_s = step / SAMPLE_RATE
    hop = round(hop_s * SAMPLE_RATE)
    if hop % step:
        near = max(step, (hop // step) * step) / SAMPLE_RATE
        raise ParameterError(
            f"{name}={hop_s:g} s is not a multiple of the {step_s:g} s between AST's patch "
            "columns: the columns of overlapping windows would not coincide, so steps could "
            f"not be stitched. Use a multiple of {step_s:g} s, e.g. {name}={near:g}"
            + (" (the default)" if math.isclose(near, DEFAULT_HOP_S) else "")
        )
    if hop // step > n_cols:
        raise ParameterError(
            f"{name}={hop_s:g} s is longer than the {n_cols} columns of one window "
            f"({n_cols * step_s:g} s): the steps between windows would belong to no "
            f"window. Use {name} <= {n_cols * step_s:g} (no overlap) or less"
        )
    check_windows(length * FRAME_SHIFT / SAMPLE_RATE, hop_s, max_length=length,
                  time_stride=tstride, names=("window_s", name), warn=False)
    return hop // step


# --------------------------------------------------------------------------- stitching


class Steps(NamedTuple):
    """One sequence of steps for a clip, stitched from its windows (:func:`stitch`)."""

    #: float64, shape (n_steps,): seconds from the first sample of the windows' timeline.
    times: np.ndarray
    #: float32, shape (n_steps, d).
    embeddings: np.ndarray
    #: int64, shape (n_steps,): the window each step was taken from (index into the input).
    windows: np.ndarray
    #: int64, shape (n_steps,): its column within that window.
    columns: np.ndarray


def assign_steps(first: np.ndarray, n_valid: np.ndarray,
            config=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global step, source window and column of each step, from window geometry alone.

    ``first[k]`` is window k's start in columns, ``n_valid[k]`` how many of its leading
    columns hold audio. Every step goes to the window in which its column is nearest the
    window's middle; ties (not possible on the 0.1 s grid with AST's geometry) go to the
    earlier window.
    """
    _, _, length, n_cols = geometry(config)
    start, end = column_samples(config)
    # distance of each column's centre to the window's middle, in half samples (exact)
    dist = np.abs(start + end - length * FRAME_SHIFT)
    cols = np.arange(n_cols)
    valid = cols[None, :] < n_valid[:, None]
    k, t = np.nonzero(valid)
    j = first[k] + t
    order = np.lexsort((k, dist[t], j))
    j, k, t = j[order], k[order], t[order]
    keep = np.ones(len(j), dtype=bool)
    keep[1:] = j[1:] != j[:-1]
    return j[keep], k[keep], t[keep]


def stitch(
    columns: np.ndarray,
    starts_s: Sequence[float] | np.ndarray,
    *,
    ends_s: Sequence[float] | np.ndarray | None = None,
    config=None,
) -> Steps:
    """One sequence of steps from the patch columns of overlapping windows.

    Each step is taken whole from **the window in which it is most central** — whose
    column for it lies nearest the middle of the window (5.12 s from its start) — and
    from no other: nothing is averaged across windows, so a step is exactly one column
    of one forward pass. Columns of different windows at the same time coincide because
    windows start on the column grid (multiples of 0.1 s). A column whose centre lies
    past the end of its window's audio (the padded tail of a clip's last window) is not
    a step.

    Parameters
    ----------
    columns : ndarray, shape (n_windows, n_columns, d)
        Per window, the patch tokens averaged over frequency (``pooling="time"`` of
        :func:`asttools.embed`): 101 columns for AST.
    starts_s : sequence of float, shape (n_windows,)
        Start of each window, in seconds on the input's timeline; each a multiple of the
        column spacing (0.1 s).
    ends_s : sequence of float, shape (n_windows,), optional
        End of each window's audio in seconds (the clip's end for its last window);
        default ``start + 10.24``.
    config : transformers.ASTConfig, optional
        The model's config; default AST's geometry.

    Returns
    -------
    Steps
        ``times`` (float64, seconds, every 0.1 s from a start's first column at
        ``start + 0.0875``), ``embeddings`` (float32, ``(n_steps, d)``), ``windows`` and
        ``columns`` (int64, where each step came from).

    Raises
    ------
    ParameterError
        ``columns`` is not ``(n_windows, n_columns, d)`` with the model's number of
        columns, the lengths differ, a start is not on the 0.1 s column grid, or the
        windows leave steps that no window covers.

    Examples
    --------
    >>> import numpy as np
    >>> cols = np.zeros((3, 101, 2), np.float32)
    >>> cols[1] = 1.0                                  # mark the middle window
    >>> s = stitch(cols, [0.0, 5.1, 10.2], ends_s=[10.24, 15.34, 20.0])  # a 20 s clip
    >>> len(s.times), round(float(s.times[0]), 4), round(float(s.times[-1]), 4)
    (200, 0.0875, 19.9875)
    >>> np.bincount(s.windows).tolist()                # steps taken from each window
    [76, 51, 73]
    >>> s.columns[s.windows == 1][[0, -1]].tolist()    # the middle window's columns used
    [25, 75]
    """
    _, _, length, n_cols = geometry(config)
    cols = np.asarray(columns)
    if cols.ndim != 3 or cols.shape[1] != n_cols:
        raise ParameterError(
            f"columns must have shape (n_windows, {n_cols}, d) (pooling='time' of each "
            f"window), got {cols.shape}"
        )
    starts = np.asarray(starts_s, dtype=np.float64).reshape(-1)
    window_s = length * FRAME_SHIFT / SAMPLE_RATE
    ends = starts + window_s if ends_s is None else \
        np.asarray(ends_s, dtype=np.float64).reshape(-1)
    if not len(starts) == len(ends) == len(cols):
        raise ParameterError(
            f"columns hold {len(cols)} windows but starts_s has {len(starts)} and ends_s "
            f"{len(ends)} values: give one start (and end) per window"
        )
    if not (np.isfinite(starts).all() and np.isfinite(ends).all()):
        raise ParameterError("starts_s and ends_s must be finite seconds")
    step = geometry(config)[0] * FRAME_SHIFT
    start_samples = np.round(starts * SAMPLE_RATE).astype(np.int64)
    off = np.flatnonzero(start_samples % step)
    if len(off):
        k = int(off[0])
        raise ParameterError(
            f"window {k} starts at {starts[k]:g} s, not a multiple of the "
            f"{step / SAMPLE_RATE:g} s between AST's patch columns: overlapping windows' "
            "columns would not coincide. Cut windows with a hop that is a multiple of "
            f"{step / SAMPLE_RATE:g} s (e.g. hop_s={DEFAULT_HOP_S:g})"
        )
    end_samples = np.round(ends * SAMPLE_RATE).astype(np.int64)
    n_valid = np.array([audio_columns(max(e - s, 0), config)
                        for s, e in zip(start_samples, end_samples, strict=True)], np.int64)
    j, k, t = assign_steps(start_samples // step, n_valid, config)
    if len(j) and (np.diff(j) != 1).any():
        gap = int(np.flatnonzero(np.diff(j) != 1)[0])
        centre0 = float(column_times(config)[0])
        a, b = ((j[gap] + 1) * step / SAMPLE_RATE + centre0,
                (j[gap + 1] - 1) * step / SAMPLE_RATE + centre0)
        raise ParameterError(
            f"no window covers the steps from {a:g} s to {b:g} s: windows must overlap or "
            f"meet (a hop of at most {n_cols * step / SAMPLE_RATE:g} s)"
        )
    times = (j * step) / SAMPLE_RATE + float(column_times(config)[0])
    emb = np.ascontiguousarray(cols[k, t], dtype=np.float32)
    return Steps(times, emb.reshape(len(j), cols.shape[2]), k.astype(np.int64),
                 t.astype(np.int64))
