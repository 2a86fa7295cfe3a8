"""A segment's vector from its own time: the mean of its own patch columns.

A manifest row with ``start_s``/``end_s`` asks for one part of a file (an action in a
video, an event in a recording). AST's [CLS] and distillation tokens (``pooling="cls"``,
``"dist"``, ``"mean"``) summarise the whole 10.24 s window they come from, so they can
never be a segment's own: two segments of a clip up to 10.24 s long would get the same
window, hence the same vector. A segment's vector is therefore built from **its own
patch columns**:

1. the file is cut into windows on the grid :func:`asttools.timestamp_embeddings` uses
   (:data:`SEGMENT_HOP_S`, 5.1 s, anchored at the file's first audio sample), so every
   step sees at least 2.56 s of real context on each side (less only at the file's ends);
2. each 0.1 s step (one patch column, averaged over frequency) is taken from the window
   in which it is most central (:func:`asttools.run.steps.stitch`), and only the windows
   that own a step of the segment run;
3. the segment's vector is the mean of the steps whose centre lies in
   ``[start_s, end_s)`` — for ``pooling="patches"`` exactly the mean of the segment's
   patch tokens. It equals :func:`asttools.timestamp_embeddings`' steps over the same
   span, averaged (tested).

Only ``pooling="patches"`` is accepted for runs with segments (:func:`check_segment_pooling`):
its whole-clip vectors are the mean of all patch tokens of a window, the same kind of
vector, so clips and segments of one run compare. A segment's probabilities are those of
the windows its steps come from, averaged over its steps (logits weighted by step count):
AST's classifier reads the [CLS]/distillation tokens, so they describe the context too.

A segment whose span holds no step of audio (a segment of a video's 2-5 s when its audio
track ends at 1.9 s) has no vector: it is recorded with status ``no_audio_stream`` (no
audio in its time; ``has_audio`` False downstream), never filled with other times' audio.
A segment that extends past the audio (50-120 s of a 60 s file) is cut to the audio,
warned about, and its row's ``start_s``/``end_s`` give the span its vector covers while
``segment_start_s``/``segment_end_s`` keep the span asked for.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..audio.sources import InputMedia, context
from ..constants import SAMPLE_RATE
from ..errors import ASTToolsWarning, ParameterError
from .steps import DEFAULT_HOP_S, geometry, stitch

__all__ = [
    "SEGMENT_HOP_S",
    "SEGMENT_POOLINGS",
    "SEGMENT_RULE",
    "SegmentPlan",
    "check_segment_pooling",
    "plan_segment",
    "pool_segment",
    "segment_windows",
]

#: Seconds between the windows a segment's steps come from: the grid of
#: :func:`asttools.timestamp_embeddings` (:data:`asttools.run.steps.DEFAULT_HOP_S`).
SEGMENT_HOP_S = DEFAULT_HOP_S
#: The poolings a run with segments may use: the mean of patch tokens, which a segment
#: can have of its own time.
SEGMENT_POOLINGS = ("patches",)
#: How segments are computed, recorded in a store's settings (and so its key) when a run
#: has segments: rows computed by an earlier rule (a window centred on the segment) are
#: never served for them.
SEGMENT_RULE = "mean of own steps, windows every 5.1 s from the file's start (v2)"


def check_segment_pooling(pooling: str, n_segments: int) -> None:
    """Refuse a pooling a segment cannot have of its own.

    Parameters
    ----------
    pooling : str
        The run's pooling.
    n_segments : int
        How many of the run's inputs are segments (0: anything goes).

    Raises
    ------
    ParameterError
        ``n_segments > 0`` and ``pooling`` is not in :data:`SEGMENT_POOLINGS`.

    Examples
    --------
    >>> check_segment_pooling("cls", 0)
    >>> check_segment_pooling("cls", 2)
    Traceback (most recent call last):
    ...
    asttools.errors.ParameterError: pooling='cls' with 2 segment(s): the [CLS]/distillation tokens summarise a whole 10.24 s window, never a segment's own time, so segments of one short clip would get one vector. A segment's vector is the mean of its own patch columns: use pooling='patches' (whole clips then get the mean of all their patch tokens, the same kind of vector), or timestamp_embeddings for its 0.1 s steps
    """  # noqa: E501
    if n_segments and pooling not in SEGMENT_POOLINGS:
        raise ParameterError(
            f"pooling={pooling!r} with {n_segments} segment(s): the [CLS]/distillation "
            "tokens summarise a whole 10.24 s window, never a segment's own time, so "
            "segments of one short clip would get one vector. A segment's vector is the "
            "mean of its own patch columns: use pooling='patches' (whole clips then get "
            "the mean of all their patch tokens, the same kind of vector), or "
            "timestamp_embeddings for its 0.1 s steps")


@dataclass
class SegmentPlan:
    """The windows one segment runs and the span its vector covers.

    Attributes
    ----------
    bounds : list of (int, int)
        The windows to run, in samples of the decoded excerpt.
    starts_s, ends_s : ndarray, float64, shape (n_windows,)
        The same windows in seconds from the file's first audio sample (on the column
        grid), for :func:`asttools.run.steps.stitch`.
    lo_s, hi_s : float
        The segment in seconds from the file's first audio sample: steps whose centre
        lies in ``[lo_s, hi_s)`` are its own.
    covered : (float, float)
        The part of the asked span that has audio, on the clip's clock (offset added).
    clipped : bool
        The asked span extends past the audio (``covered`` is shorter).
    """

    bounds: list[tuple[int, int]]
    starts_s: np.ndarray
    ends_s: np.ndarray
    lo_s: float
    hi_s: float
    covered: tuple[float, float]
    clipped: bool


def plan_segment(segment: tuple[float, float], offset_s: float, first: int, n: int, *,
                 file_ended: bool, config=None) -> SegmentPlan | None:
    """The windows whose steps make a segment's vector, or None when it holds no step.

    Parameters
    ----------
    segment : (float, float)
        ``(start_s, end_s)`` on the clip's clock (a video's: the audio's offset included).
    offset_s : float
        Where the file's audio starts on that clock.
    first, n : int
        The decoded excerpt: its first sample's number in the file (16 kHz) and length.
    file_ended : bool
        The excerpt reaches the end of the file's audio (decoding stopped short of what
        was asked), so the last window on the grid ends there.
    config : transformers.ASTConfig, optional
        The model's config; default AST's geometry.

    Returns
    -------
    SegmentPlan or None
        None when no step's centre lies in the segment (no audio in its time).
    """
    tstride, _, length, n_cols = geometry(config)
    step = tstride * 160
    hop = round(SEGMENT_HOP_S * SAMPLE_RATE)
    win = length * 160
    end = first + n  # one past the excerpt's last sample, in file samples
    # windows on the file's grid that lie inside the excerpt
    k_first = -(-first // hop)
    k_last = (max(end - win, 0) + hop - 1) // hop if file_ended else (end - win) // hop
    ks = np.arange(k_first, max(k_last, k_first - 1) + 1)
    starts = ks * hop
    stops = np.minimum(starts + win, end)
    keep = stops > starts
    starts, stops = starts[keep], stops[keep]
    lo, hi = segment[0] - offset_s, segment[1] - offset_s
    audio_end = end / SAMPLE_RATE if file_ended else np.inf
    covered = (max(lo, 0.0) + offset_s, min(hi, audio_end) + offset_s)
    clipped = lo < -0.5 * step / SAMPLE_RATE or hi > audio_end + 0.5 * step / SAMPLE_RATE
    if not len(starts):
        return None
    dummy = np.zeros((len(starts), n_cols, 1), np.float32)
    steps = stitch(dummy, starts / SAMPLE_RATE, ends_s=stops / SAMPLE_RATE, config=config)
    own = (steps.times >= lo) & (steps.times < hi)
    if not own.any():
        return None
    w = steps.windows[own]
    k0, k1 = int(w.min()), int(w.max()) + 1
    starts, stops = starts[k0:k1], stops[k0:k1]
    return SegmentPlan([(int(a - first), int(b - first)) for a, b in zip(starts, stops,
                                                                        strict=True)],
                       starts / SAMPLE_RATE, stops / SAMPLE_RATE, float(lo), float(hi),
                       covered, bool(clipped))


def pool_segment(columns: np.ndarray, logits: np.ndarray, plan: SegmentPlan, *,
                 config=None) -> tuple[np.ndarray, np.ndarray, int]:
    """A segment's vector and logits from its windows' patch columns.

    Parameters
    ----------
    columns : ndarray, shape (n_windows, n_columns, d)
        ``pooling="time"`` of each window of ``plan.bounds``.
    logits : ndarray, shape (n_windows, n_labels)
    plan : SegmentPlan
    config : transformers.ASTConfig, optional

    Returns
    -------
    vector : ndarray, float32, shape (d,)
        The mean of the steps whose centre lies in ``[lo_s, hi_s)``.
    logits : ndarray, float32, shape (n_labels,)
        The windows' logits, weighted by how many of the segment's steps each gave.
    n_steps : int
    """
    steps = stitch(columns, plan.starts_s, ends_s=plan.ends_s, config=config)
    own = (steps.times >= plan.lo_s) & (steps.times < plan.hi_s)
    weights = np.bincount(steps.windows[own], minlength=len(columns)).astype(np.float64)
    vector = steps.embeddings[own].astype(np.float64).mean(axis=0)
    mixed = (weights[:, None] * logits.astype(np.float64)).sum(axis=0) / weights.sum()
    return vector.astype(np.float32), mixed.astype(np.float32), int(own.sum())


def segment_windows(segment: tuple[float, float], name: str, media: InputMedia,
                    first: int, n: int, win: int, *, config=None) -> SegmentPlan | None:
    """The windows of a segment of a decoded excerpt (:func:`plan_segment`), checked
    against the clip.

    Parameters
    ----------
    segment : (float, float)
        ``(start_s, end_s)`` on the clip's clock.
    name : str
        The file, for messages.
    media : InputMedia
        What its headers say (``audio_offset_s``, ``video_duration_s``).
    first, n : int
        The excerpt :func:`asttools.audio.sources.load_file` decoded for it: its first sample's
        number in the file and its length (16 kHz).
    win : int
        Samples per window.
    config : transformers.ASTConfig, optional

    Returns
    -------
    SegmentPlan or None
        None when no step of audio lies in the segment (no audio in its time).

    Raises
    ------
    ParameterError
        The segment starts at or after the clip's end (the video's, else the audio's).

    Warns
    -----
    ASTToolsWarning
        The segment extends past the audio: its vector covers ``plan.covered``.
    """
    offset = media.audio_offset_s or 0.0
    ended = first + n < context(segment, offset, win)[1]  # decoding stopped short
    plan = plan_segment(segment, offset, first, n, file_ended=ended, config=config)
    video = media.video_duration_s
    clip_end = video if video else (offset + (first + n) / SAMPLE_RATE if ended else None)
    if clip_end is not None and segment[0] >= clip_end:
        raise ParameterError(
            f"the segment {segment[0]:g}-{segment[1]:g} s lies outside the clip "
            f"(0-{clip_end:g} s on its clock): fix start_s/end_s in the manifest")
    if plan is not None and plan.clipped:
        warnings.warn(
            f"{name}: the segment {segment[0]:g}-{segment[1]:g} s extends past its audio; "
            f"its vector covers {plan.covered[0]:g}-{plan.covered[1]:g} s (the row's "
            "start_s/end_s; segment_start_s/segment_end_s keep the span asked for)",
            ASTToolsWarning, stacklevel=2)
    return plan
