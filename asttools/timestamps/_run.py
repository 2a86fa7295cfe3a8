"""The timestamp run: overlapping windows, one forward pass each, stitched into 0.1 s steps.

AST cuts a 10.24 s window into 101 patch columns, one every 10 fbank frames (0.1 s).
Averaged over frequency (``pooling="time"``), each column is one vector at a known time;
:func:`timestamp_embeddings` runs the streaming pass (:func:`asttools.run.iter_embed`,
one forward pass per window) over windows that overlap, keeps each step from the window in
which it is most central (:func:`asttools.run.steps.stitch`), and can pool the steps onto
the times a video model needs (:func:`~asttools.timestamps.pool_to_times`).

Times are seconds on the input's own timeline, measured from its first audio sample,
shifted by the input's ``offset_s`` (the start of the audio stream in a video container)
so that they land on the video's clock.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..concurrency import resolve_workers
from ..constants import FRAME_SHIFT, SAMPLE_RATE
from ..errors import ASTToolsError, ASTToolsWarning, AudioError, ParameterError
from ..model import load_model
from ..model.features import window_bounds
from ..run import BATCH_SIZE, ON_ERROR, ItemError, as_items, iter_embed, media_of, run_meta
from ..run.inputs import Item, printable_path
from ..run.steps import (
    DEFAULT_HOP_S,
    FIRST_STEP_S,
    assign_steps,
    audio_columns,
    check_hop,
    column_times,
    geometry,
    step_seconds,
    stitch,
)
from ..settings import check_precision
from ._load import LoadFailure, decoded_ranges
from ._pool import _check_frames_per_vector, _check_video_rates, check_frame_rate
from ._result import INPUT_TABLE_COLUMNS, TimestampResult

__all__ = ["timestamp_embeddings"]


def _per_input(value, n: int, name: str, *, optional: bool) -> list[float | None]:
    """A scalar for every input, or one value per input; checked finite."""
    values = list(value) if isinstance(value, (Sequence, np.ndarray)) \
        and not isinstance(value, str) else [value] * n
    if len(values) != n:
        raise ParameterError(f"{name} has {len(values)} values for {n} inputs: give one "
                             "number for all, or one per input")
    out: list[float | None] = []
    for i, v in enumerate(values):
        if v is None and optional:
            out.append(None)
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ParameterError(f"{name} of input {i} must be a finite number of seconds, "
                                 f"got {v!r}")
        out.append(float(v))
    return out


def _float(value: object, default: float = np.nan) -> float:
    """A number, or ``default`` for None and NaN."""
    return default if value is None or value != value else float(value)


@dataclass
class _Plan:
    """How one input runs: its whole clip, or the windows a sub-range needs."""

    item: Item
    offset_s: float | None  # None: from the file's headers (0 for arrays)
    start_s: float | None
    end_s: float | None
    first_window: int = 0  # the first window run, on the input's hop grid
    n_samples: int | None = None  # the whole clip, when known before the run
    media: dict[str, Any] = field(default_factory=dict)  # video duration, frame rate


def _header_media(media: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Where a file's audio starts on its video's clock (0.0 for arrays and files the
    probe cannot read), the video's duration and frame rate, and how many audio streams
    it has, from what its headers say (:func:`asttools.audio.sources.file_media`)."""
    return media.get("audio_offset_s") or 0.0, {
        k: media[k] for k in ("video_duration_s", "frame_rate", "n_audio_streams")
        if k in media}


def _header_offset(item: Item,
                   audio_stream: int | None = None) -> tuple[float, dict[str, Any]]:
    """:func:`_header_media` of an input, probed here (:func:`media_of`)."""
    return _header_media(media_of(item, audio_stream)[0])


def _in_range(times_own: np.ndarray, plan: _Plan) -> np.ndarray:
    t = times_own + (plan.offset_s or 0.0)
    keep = np.ones(len(t), dtype=bool)
    if plan.start_s is not None:
        keep &= t >= plan.start_s
    if plan.end_s is not None:
        keep &= t < plan.end_s
    return keep


def timestamp_embeddings(
    inputs,
    *,
    model=None,
    sr: int | None = None,
    layer: int = -1,
    hop_s: float = DEFAULT_HOP_S,
    offset_s: float | Sequence[float] | None = None,
    start_s: float | Sequence[float | None] | None = None,
    end_s: float | Sequence[float | None] | None = None,
    frame_rate: float | str | None = None,
    frames_per_vector: int = 1,
    times: np.ndarray | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | str = 1,
    channel: int | None = None,
    audio_stream: int | None = None,
    on_error: str = "warn",
    progress: bool = False,
    precision: str = "fp32",
) -> TimestampResult:
    """Embeddings every 0.1 s with their times, from one forward pass per window.

    Each input is cut into 10.24 s windows every ``hop_s`` seconds, anchored at its first
    sample (window ``k`` starts at ``k * hop_s``); each window runs once through AST
    (windows of different inputs share batches) and yields its 101 patch columns averaged
    over frequency (``pooling="time"``); :func:`stitch` keeps each step from the window
    in which it is most central. Steps lie every 0.1 s from 0.0875 s; steps whose centre
    lies past the clip's end are dropped. Optionally the steps are pooled onto video
    frames (:meth:`TimestampResult.pool`).

    A step is one column of one forward pass, and AST attends over its whole 10.24 s
    window: a step's embedding depends on the audio around it, up to its window's
    edges (not only at ``layer=0``, the patch and position embeddings, which are local).
    Because windows sit on a grid fixed by the input's timeline, a step's value does not
    depend on which part of the input was asked for (``start_s``/``end_s``), and the
    steps taken from window ``k`` depend only on the audio inside window ``k``.

    Parameters
    ----------
    inputs : path, ndarray, (ndarray, sr), a list of these, or a DataFrame
        Audio or video files, or waveforms (arrays need ``sr``); or a table of inputs as
        :func:`asttools.run.inputs.list_inputs` returns it, whose ids the result keeps and
        whose segments (``start_s``/``end_s`` in a manifest) become the ranges asked for.
    model : transformers.ASTForAudioClassification or str, optional
        From :func:`asttools.load_model`, or what it takes; the default model when omitted.
    sr : int, optional
        Sample rate of array inputs.
    layer : int, default -1
        Hidden layer: 0 = patch + position embeddings, -1 = the final output.
    hop_s : float, default 5.1
        Seconds between window starts: a multiple of 0.1 s, at most 10.1 s
        (:func:`check_hop`). The default (:data:`DEFAULT_HOP_S`) takes every step from
        columns 25 … 75 of its window, so each step away from the clip's ends has at least
        2.5875 s of context before and 2.6525 s after it (a quarter window, 2.56 s, on
        each side); it costs about 2x the forward passes of plain extraction (one window
        per 10.24 s) on long clips, and nothing extra on clips up to 10.24 s. ``10.1``
        (no overlap) costs about as much as plain extraction, but steps near window
        edges then see context on one side only.
    offset_s : float or sequence of float, optional
        Added to every time of an input (one value for all, or one per input), so the
        times land on the video's clock. Default: where the file's audio stream starts
        in its container, from its headers (:func:`asttools.audio.probe_media`; 0.0 for
        audio files and arrays). Give it to override the headers.
    start_s, end_s : float or sequence of float or None, optional
        Only the steps whose time (on the clock ``offset_s`` sets) lies in
        ``[start_s, end_s)``; only the windows those steps come from are run, reading the
        audio around the range as their context. The values equal those of the whole
        clip (see above). Such a file is decoded whole in the decode pool (``workers``),
        as every file is; one long enough to stream (over 10 minutes,
        :data:`asttools.audio.sources.STREAM_S`) is read block by block and only the
        audio within a window's length of the range is kept.
    frame_rate : float or "video", optional
        Pool the steps onto video frames of this rate (see :func:`pool_to_times`):
        one vector per ``frames_per_vector`` frames, frame 0 at time 0; ``"video"``: each
        file's own frame rate (every input must be a video; checked from the headers
        before anything runs). See :meth:`TimestampResult.pool`.
    frames_per_vector : int, default 1
        Frames per vector (16 for 16-frame snippets).
    times : ndarray, shape (m,) or (m, 2), optional
        Pool onto these points or spans instead (the same for every input).
    batch_size : int, default 8
        Windows per forward pass.
    workers : int or "auto", default 1
        Threads that decode ahead of the model; ``"auto"`` as in :func:`asttools.embed`.
    channel : int, optional
        Use this channel of multi-channel files instead of the mean of channels.
    audio_stream : int, optional
        Which audio stream of files with several, as in :func:`asttools.embed` (default
        the first; ``inputs["n_audio_streams"]`` records each file's count).
    on_error : {"warn", "raise", "ignore"}, default "warn"
        An input that fails is recorded in ``errors``; ``"warn"`` also warns,
        ``"raise"`` raises its :class:`~asttools.errors.AudioError`.
    progress : bool, default False
        Show a progress bar.
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}, default "fp32"
        The arithmetic of the forward pass, as in :func:`asttools.embed`;
        ``meta["precision"]`` records what ran.

    Returns
    -------
    TimestampResult
        ``table`` (one row per step: ``item``, ``path``, ``time_s``, ``window``),
        ``embeddings`` (float32, (n_steps_total, d)), ``inputs``, ``errors``, ``meta``;
        ``.get(i_or_path)``, ``.pool(frame_rate=...)``, ``.padded()``. With
        ``frame_rate`` or ``times``, the pooled result (one row per target).

    Raises
    ------
    ParameterError
        A hop off the 0.1 s grid or longer than 10.1 s, a bad layer, offset, range or
        pooling setting, an input of another type.
    AudioError
        Only with ``on_error="raise"``.

    Warns
    -----
    ASTToolsWarning
        An input (or its range) holds no step (less than 0.0875 s of audio); inputs that
        failed, with ``on_error="warn"``.

    Examples
    --------
    >>> import numpy as np, asttools
    >>> model = asttools.load_model("tiny-random")  # doctest: +SKIP
    >>> noise = np.random.default_rng(0).uniform(-0.1, 0.1, 20 * 16000).astype(np.float32)
    >>> out = asttools.timestamp_embeddings(noise, sr=16000, model=model)  # doctest: +SKIP
    >>> out.embeddings.shape, out.table["time_s"].iloc[:2].round(4).tolist()  # doctest: +SKIP
    ((200, 64), [0.0875, 0.1875])
    >>> out.pool(frame_rate=25).embeddings.shape  # doctest: +SKIP
    (500, 64)
    """
    if on_error not in ON_ERROR:
        raise ParameterError(f"on_error={on_error!r} is not one of {ON_ERROR}")
    check_precision(precision)
    if times is not None and frame_rate is not None:
        raise ParameterError("give at most one of frame_rate= and times=")
    if frame_rate is not None:  # before any work: the pooling at the end takes them
        check_frame_rate(frame_rate, allow_video=True)
        _check_frames_per_vector(frames_per_vector)
    items = as_items(inputs, sr)
    n = len(items)
    offsets = _per_input(offset_s, n, "offset_s", optional=True)
    starts = _per_input(start_s, n, "start_s", optional=True)
    ends = _per_input(end_s, n, "end_s", optional=True)
    for i, it in enumerate(items):  # a manifest's segment is the range asked for
        if it.segment is not None:
            if starts[i] is None and ends[i] is None:
                starts[i], ends[i] = it.segment
            it.segment = None
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if a is not None and b is not None and b <= a:
            raise ParameterError(f"input {i}: end_s={b:g} must be after start_s={a:g}")
    if frame_rate == "video":  # before any model work: every input must have a frame rate
        _check_video_rates([it.name for it in items],
                           [_header_offset(it)[1].get("frame_rate") or np.nan
                            if it.sr is None else np.nan for it in items])
    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    cfg = model.config
    hop_cols = check_hop(hop_s, cfg)
    step = geometry(cfg)[0] * FRAME_SHIFT
    hop = hop_cols * step
    window_s = cfg.max_length * FRAME_SHIFT / SAMPLE_RATE
    meta = run_meta(model, pooling="time", layer=layer, window_s=window_s, hop_s=hop_s,
                    precision=precision)
    meta.update({
        "step_s": step_seconds(cfg), "first_step_s": float(column_times(cfg)[0]),
        "stitch": "each step from the window in which it is most central; no averaging",
        "n_inputs": n, "pooled": None,
    })
    plans = {it.index: _Plan(it, o, a, b)
             for it, o, a, b in zip(items, offsets, starts, ends, strict=True)}
    ranges = {i: (p.start_s, p.end_s, p.offset_s) for i, p in plans.items()
              if p.start_s is not None or p.end_s is not None}
    n_workers, _ = resolve_workers(workers, device=next(model.parameters()).device)
    errors: list[dict[str, Any]] = []
    rows: list[pd.DataFrame] = []
    embs: list[np.ndarray] = []
    done: list[dict[str, Any]] = []
    bar = tqdm(total=n, unit="file", desc="timestamps") if progress else None

    def fail(it: Item, reason: str, status: str, media: dict[str, Any]) -> None:
        if status == "no_audio_stream":  # expected in a video dataset: an input without steps
            plan = plans[it.index]
            plan.media = {**media, "audio_status": status}
            record(plan, None, 0, np.zeros(0), np.zeros((0, cfg.hidden_size), np.float32),
                   np.zeros(0, np.int64), warn=False)
            return
        if on_error == "raise":
            raise AudioError(it.name, reason, status=status)
        errors.append({"item": it.index, "id": it.id, "path": it.name,
                       "audio_status": status, "reason": reason})

    def record(plan: _Plan, n_samples: int | None, n_windows: int, times_own: np.ndarray,
               emb: np.ndarray, windows: np.ndarray, *, warn: bool = True) -> None:
        it = plan.item
        offset = plan.offset_s or 0.0
        if not len(times_own) and warn:
            what = "its range" if plan.start_s is not None or plan.end_s is not None else \
                "it"
            warnings.warn(f"{printable_path(it.name)}: {what} holds no time step (a step "
                          f"needs {FIRST_STEP_S:g} s of audio)", ASTToolsWarning,
                          stacklevel=3)
        rows.append(pd.DataFrame({
            "item": it.index,
            "id": pd.Series([it.id] * len(times_own), dtype=object),
            "path": pd.Series([it.name] * len(times_own), dtype=object),
            "time_s": times_own + offset,
            "window": windows.astype(np.int64),
        }))
        embs.append(emb)
        media = plan.media
        done.append({"item": it.index, "id": it.id, "path": it.name,
                     "audio_status": media.get("audio_status", "ok"),
                     "offset_s": np.nan if n_samples is None else offset,
                     "duration_s": np.nan if n_samples is None else n_samples / SAMPLE_RATE,
                     "video_duration_s": _float(media.get("video_duration_s")),
                     "frame_rate": _float(media.get("frame_rate")),
                     "n_audio_streams": _float(media.get("n_audio_streams")),
                     "start_s": np.nan if plan.start_s is None else plan.start_s,
                     "end_s": np.nan if plan.end_s is None else plan.end_s,
                     "n_windows": n_windows, "n_rows": len(times_own)})

    def planned() -> Iterator[Item]:
        """Items for iter_embed: whole clips as given; for a range, the audio of the
        windows its steps come from, as a 16 kHz array (decoded in the decode pool,
        :func:`decoded_ranges`)."""
        for it, got in decoded_ranges(items, ranges, win=round(window_s * SAMPLE_RATE),
                                      channel=channel, audio_stream=audio_stream,
                                      workers=n_workers):
            if got is None:  # the whole clip: iter_embed decodes it
                yield it
                continue
            plan = plans[it.index]
            header_offset, plan.media = _header_media(got.media)
            if plan.offset_s is None:
                plan.offset_s = header_offset
            if isinstance(got, LoadFailure):
                fail(it, got.reason, got.status, plan.media)
                if bar is not None:
                    bar.update(1)
                continue
            if plan.media and got.silent:
                plan.media["audio_status"] = "silent"
            bounds = window_bounds(got.n_samples, window_s=window_s, hop_s=hop / SAMPLE_RATE,
                                   max_length=cfg.max_length)
            first = np.array([s // step for s, _ in bounds], np.int64)
            n_valid = np.array([audio_columns(e - s, cfg) for s, e in bounds], np.int64)
            j, k, _ = assign_steps(first, n_valid, cfg)
            own = j * step / SAMPLE_RATE + float(column_times(cfg)[0])
            k = k[_in_range(own, plan)]
            if not len(k):
                record(plan, got.n_samples, 0, np.zeros(0),
                       np.zeros((0, cfg.hidden_size), np.float32), np.zeros(0, np.int64))
                if bar is not None:
                    bar.update(1)
                continue
            k0, k1 = int(k.min()), int(k.max())
            plan.first_window, plan.n_samples = k0, got.n_samples
            a, b = bounds[k0][0] - got.first, bounds[k1][1] - got.first
            if a < 0 or b > len(got.samples):  # never: the stream kept every window near
                raise ASTToolsError(f"{printable_path(it.name)}: windows {k0}-{k1} lie "
                                    "outside the decoded samples (a bug: please report it)")
            yield Item(it.index, got.samples[a:b], SAMPLE_RATE, it.name, dict(it.extra),
                       id=it.id)

    try:
        stream = iter_embed(planned(), model=model, pooling="time", layer=layer,
                            window_s=window_s, hop_s=hop / SAMPLE_RATE,
                            batch_size=batch_size, workers=workers, channel=channel,
                            audio_stream=audio_stream,
                            progress=bar, precision=precision)
        for r in stream:
            if isinstance(r, ItemError):
                fail(r.item, r.reason, r.status, r.media)
                continue
            plan = plans[r.item.index]
            tab = r.table
            if plan.n_samples is None:  # a whole file: iter_embed read its headers
                plan.media = {k: r.status.get(k) for k in
                              ("audio_status", "video_duration_s", "frame_rate",
                               "n_audio_streams")}
                header_offset = _float(r.status.get("audio_offset_s"), 0.0)
                if plan.offset_s is None:
                    plan.offset_s = header_offset
            else:  # a range: an array, whose times start at its first window
                header_offset = 0.0
            origin = plan.first_window * hop / SAMPLE_RATE - header_offset  # own clock
            steps = stitch(r.embeddings, tab["start_s"].to_numpy() + origin,
                           ends_s=tab["end_s"].to_numpy() + origin, config=cfg)
            n_samples = plan.n_samples if plan.n_samples is not None else \
                round(float(r.status.get("audio_duration_s") or
                            tab["end_s"].max() - header_offset) * SAMPLE_RATE)
            keep = _in_range(steps.times, plan)
            windows = steps.windows[keep] + plan.first_window
            record(plan, n_samples, len(tab), steps.times[keep], steps.embeddings[keep],
                   windows)
    finally:
        if bar is not None:
            bar.close()
    d = int(cfg.hidden_size)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        {"item": pd.Series([], dtype=np.int64), "id": pd.Series([], dtype=object),
         "path": pd.Series([], dtype=object), "time_s": pd.Series([], dtype=np.float64),
         "window": pd.Series([], dtype=np.int64)})
    inputs_table = pd.DataFrame(done, columns=list(INPUT_TABLE_COLUMNS))
    inputs_table = inputs_table.sort_values("item", kind="stable").reset_index(drop=True)
    for c in ("id", "path", "audio_status"):  # text as objects, under pandas 2 and 3 alike
        inputs_table[c] = inputs_table[c].astype(object)
    errors.sort(key=lambda e: e["item"])
    result = TimestampResult(
        table=table,
        embeddings=np.concatenate(embs) if embs else np.zeros((0, d), np.float32),
        inputs=inputs_table,
        errors=pd.DataFrame({
            "item": pd.Series([e["item"] for e in errors], dtype=np.int64),
            **{c: pd.Series([e[c] for e in errors], dtype=object)
               for c in ("id", "path", "audio_status", "reason")},
        }),
        meta=meta,
    )
    if on_error == "warn" and len(result.errors):
        lines = "; ".join(f"{printable_path(p)}: {r}" for p, r in
                          zip(result.errors["path"], result.errors["reason"], strict=True))
        warnings.warn(f"{len(result.errors)} of {n} inputs failed and were skipped (see "
                      f"result.errors): {lines}", ASTToolsWarning, stacklevel=2)
    if frame_rate is not None or times is not None:
        return result.pool(frame_rate=frame_rate, frames_per_vector=frames_per_vector,
                           times=times)
    return result
