"""Time-aligned embeddings: AST's patch columns, stitched into one sequence of 0.1 s steps.

AST cuts a 10.24 s window into 101 patch columns, one every 10 fbank frames (0.1 s).
Averaged over frequency (``pooling="time"``), each column is one vector at a known time;
:func:`timestamp_embeddings` runs the streaming pass (:func:`asttools.run.iter_embed`,
one forward pass per window) over windows that overlap, keeps each step from the window in
which it is most central (:func:`stitch`), and can pool the steps onto the times a video
model needs (:func:`pool_to_times`): one vector per video frame, per snippet of frames, or
at explicit times.

The geometry (where each column lies, :func:`column_times`) and :func:`stitch` live in
:mod:`asttools.run.steps` and are re-exported here.

Times are seconds on the input's own timeline, measured from its first audio sample,
shifted by the input's ``offset_s`` (the start of the audio stream in a video container)
so that they land on the video's clock.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ..audio import check_waveform, is_silent, load_audio, resample
from ..constants import (
    BATCH_SIZE,
    FRAME_SHIFT,
    MAX_FRAME_RATE,
    SAMPLE_RATE,
)
from ..errors import ASTToolsError, ASTToolsWarning, AudioError, ParameterError, VideoError
from ..model.features import window_bounds
from ..audio.frames import real_frame_spans
from ..run import ON_ERROR, ItemError, as_items, iter_embed, media_of, run_meta
from ..run.inputs import Item, absolute_path, printable_path
from ..model import load_model
from ..settings import check_precision, fill_value_of, renamed_keyword
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

__all__ = [
    "Padded",
    "Pooled",
    "TimestampResult",
    "check_frame_rate",
    "pool_to_times",
    "read_timestamps",
    "timestamp_embeddings",
]


# --------------------------------------------------------------------------- pooling


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
    and at most :data:`~asttools.constants.MAX_FRAME_RATE` (or ``"video"`` where
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


# --------------------------------------------------------------------------- results


class Padded(NamedTuple):
    """Every input's rows in one array (:meth:`TimestampResult.padded`)."""

    #: float32, shape (n_inputs, T, d): rows of input ``i`` first, then ``fill_value``.
    embeddings: np.ndarray
    #: bool, shape (n_inputs, T): True where a row is real.
    mask: np.ndarray
    #: float64, shape (n_inputs, T): seconds, NaN where padded.
    times: np.ndarray


@dataclass
class TimestampResult:
    """Time-aligned embeddings of a set of inputs: a long table, one row per step.

    Attributes
    ----------
    table : DataFrame, shape (n_rows, ...)
        One row per step: ``item`` (input number), ``path`` (absolute path or
        ``"<array i>"``), ``time_s`` (seconds on the input's clock, ``offset_s``
        included), ``window`` (the window the step was taken from, counted on the input's
        hop grid from its first sample). After pooling (:meth:`pool`), one row per
        target: ``item``, ``path``, ``time_s`` (span centre), ``start_s``, ``end_s``,
        ``n_steps`` (steps averaged, 0 where interpolated) and ``has_audio`` (the span
        overlaps the input's audio).
    embeddings : ndarray, float32, shape (n_rows, d)
    inputs : DataFrame
        One row per input that ran: ``item``, ``path``, ``offset_s``, ``duration_s``
        (audio length), ``start_s`` and ``end_s`` (the range asked for, NaN when the whole
        clip), ``n_windows`` (forward passes), ``n_rows``.
    errors : DataFrame
        One row per input that failed: ``item``, ``path``, ``reason``.
    meta : dict
        The model and settings (``layer``, ``hop_s``, ``window_s``, ``step_s``,
        ``first_step_s``, ``stitch``, ``n_inputs``, ``pooled``), versions.
    """

    table: pd.DataFrame
    embeddings: np.ndarray
    inputs: pd.DataFrame
    errors: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"item": [], "path": [], "reason": []}))
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def random_weights(self) -> bool:
        """True when the model that computed this had random weights."""
        return bool(self.meta.get("random_weights", False))

    def __repr__(self) -> str:
        warn = "  [RANDOM WEIGHTS: outputs are meaningless]" if self.random_weights else ""
        kind = "pooled vectors" if self.meta.get("pooled") else "steps"
        return (f"TimestampResult({len(self.table)} {kind} from {len(self.inputs)} inputs, "
                f"embeddings {self.embeddings.shape}, {len(self.errors)} errors, "
                f"model={self.meta.get('model')!r}, layer={self.meta.get('layer')}, "
                f"hop_s={self.meta.get('hop_s')}){warn}")

    def _item_of(self, key) -> int:
        if isinstance(key, (numbers.Integral, np.integer)) and not isinstance(key, bool):
            item = int(key)
            held = set(self.inputs["item"].tolist())
            failed = dict(zip(self.errors["item"].tolist(), self.errors["reason"], strict=True))
        elif isinstance(key, (str, bytes, os.PathLike)):
            name = os.fsdecode(key)
            ids = dict(zip(self.inputs["id"], self.inputs["item"], strict=True))
            if isinstance(key, str) and key in ids:
                return int(ids[key])
            failed_ids = dict(zip(self.errors["id"], self.errors["reason"], strict=True))
            if isinstance(key, str) and key in failed_ids:
                raise ParameterError(f"{key!r} failed: {failed_ids[key]}")
            paths = dict(zip(self.inputs["path"], self.inputs["item"], strict=True))
            if name not in paths and not name.startswith("<"):
                name = absolute_path(name)
            failed_paths = dict(zip(self.errors["path"], self.errors["reason"], strict=True))
            if name in failed_paths:
                raise ParameterError(f"{printable_path(name)} failed: {failed_paths[name]}")
            if name not in paths:
                raise ParameterError(f"{printable_path(name)!r} is not an input of this result")
            return int(paths[name])
        else:
            raise ParameterError(f"give an input number or a path, got {type(key).__name__}")
        if item in failed:
            raise ParameterError(f"input {item} failed: {failed[item]}")
        if item not in held:
            raise ParameterError(f"input {item} is not in this result (inputs "
                                 f"{sorted(held)[:5]}...)")
        return item

    def _rows(self, item: int) -> np.ndarray:
        return np.flatnonzero(self.table["item"].to_numpy() == item)

    def _steps(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows(item)
        return self.table["time_s"].to_numpy()[rows], self.embeddings[rows]

    def get(self, key: int | str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
        """The times and embeddings of one input.

        Parameters
        ----------
        key : int or str or path
            The input's number (``item``), its ``id``, or its path.

        Returns
        -------
        times : ndarray, float64, shape (T,)
            Seconds on the input's clock (``time_s``).
        embeddings : ndarray, float32, shape (T, d)

        Raises
        ------
        ParameterError
            The input is not in the result, or failed (the message says why).
        """
        rows = self._rows(self._item_of(key))
        return self.table["time_s"].to_numpy()[rows], self.embeddings[rows]

    def save(self, path: str | os.PathLike, *, float16: bool = False) -> Path:
        """Write the result to one Parquet file: one row per step (or pooled vector).

        The file holds :attr:`table`'s columns and an ``embedding`` column (a fixed-size
        list per row); :attr:`inputs`, :attr:`errors` and :attr:`meta` travel in the
        file's metadata, so :func:`read_timestamps` gives the same result back.
        ``pd.read_parquet`` reads the rows.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.parquet`` file; its folder is created; written whole, then renamed into
            place.
        float16 : bool, default False
            Store the embeddings as float16: half the size (see the README for measured
            sizes); values round to about 3 significant digits (relative error below
            ``2**-11``); read back as float32.

        Returns
        -------
        Path

        Raises
        ------
        ParameterError
            ``path`` does not end in ``.parquet``.
        ASTToolsError
            The file cannot be written (the message names it and says why).
        """
        out = Path(path)
        if out.suffix.lower() != ".parquet":
            raise ParameterError(f"{printable_path(out)}: use a .parquet file name")
        dtype = np.float16 if float16 else np.float32
        table = self.table.copy()
        table["path"] = [printable_path(p) for p in table["path"]]
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        emb = np.ascontiguousarray(self.embeddings, dtype=dtype)
        d = emb.shape[1] if emb.ndim == 2 else 0
        values = pa.array(emb.reshape(-1), type=pa.float16() if float16 else pa.float32())
        arrow = arrow.append_column("embedding", pa.FixedSizeListArray.from_arrays(values, d))

        def records(frame: pd.DataFrame) -> list[dict]:
            frame = frame.copy()
            if "path" in frame.columns:
                frame["path"] = [printable_path(p) for p in frame["path"]]
            return json.loads(frame.to_json(orient="records"))

        md = dict(arrow.schema.metadata or {})
        md[TIMESTAMPS_KEY] = json.dumps(
            {"meta": self.meta, "inputs": records(self.inputs), "errors": records(self.errors),
             "embedding_dtype": np.dtype(dtype).name, "format": 1}, default=str).encode()
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(arrow.replace_schema_metadata(md), tmp,  # no dictionary of floats
                           use_dictionary=[c for c in arrow.column_names if c != "embedding"])
            os.replace(tmp, out)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise ASTToolsError(f"{printable_path(out)}: cannot write it "
                                f"({err.strerror or err})") from err
        return out

    def padded(self, *, fill_value: float = 0.0, fill: float | None = None) -> Padded:
        """All inputs in one ``(n_inputs, T, d)`` array with a mask, in input order.

        Inputs that failed (and inputs without steps) are rows of ``fill_value`` with an
        all-False mask, so row ``i`` is always input ``i`` — the order of the inputs
        given, which lines up with a video model's batch.

        Parameters
        ----------
        fill_value : float, default 0.0
            The value of padded positions.
        fill : float, optional
            The old name of ``fill_value`` (a DeprecationWarning; goes in the next
            release).

        Returns
        -------
        Padded
            ``embeddings`` (float32, (n_inputs, T, d)), ``mask`` (bool, (n_inputs, T)),
            ``times`` (float64, (n_inputs, T), NaN where padded); ``T`` is the most rows
            of any input.
        """
        fill_value = fill_value_of(fill_value, fill, where="TimestampResult.padded")
        n = int(self.meta.get("n_inputs", len(self.inputs)))
        items = self.table["item"].to_numpy()
        counts = np.bincount(items, minlength=n) if len(items) else np.zeros(n, np.int64)
        t_max = int(counts.max()) if n else 0
        d = self.embeddings.shape[1]
        emb = np.full((n, t_max, d), fill_value, dtype=np.float32)
        mask = np.zeros((n, t_max), dtype=bool)
        times = np.full((n, t_max), np.nan)
        order = np.argsort(items, kind="stable")
        pos = np.arange(len(items)) - np.repeat(np.cumsum(counts) - counts, counts)
        sorted_items = items[order]
        emb[sorted_items, pos] = self.embeddings[order]
        mask[sorted_items, pos] = True
        times[sorted_items, pos] = self.table["time_s"].to_numpy()[order]
        return Padded(emb, mask, times)

    def pool(
        self,
        *,
        frame_rate: float | str | None = None,
        frames_per_vector: int = 1,
        times: np.ndarray | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> TimestampResult:
        """Pool each input's steps onto video frames, snippets or explicit times.

        The rule is :func:`pool_to_times`'s: the mean of the steps inside each span,
        linear interpolation at the span's centre where it holds none.

        Parameters
        ----------
        frame_rate : float or "video", optional
            Video frames per second; frame 0 starts at time 0 of the input's clock.
            ``"video"``: each input's own frame rate (``inputs["frame_rate"]``, from its
            headers). An input without audio but with a known video duration gets one
            row per frame too, with NaN embeddings and ``has_audio`` False. A video whose
            frame rate varies (its packets' times, :func:`asttools.audio.frames.frame_times`,
            which reads the file's packets) is pooled onto its real frames' spans instead,
            with a warning; ``inputs["variable_frame_rate"]`` says which.
        frames_per_vector : int, default 1
            Frames per vector (16 for 16-frame snippets).
        times : ndarray, shape (m,) or (m, 2), optional
            Explicit targets, the same for every input (seconds on the input's clock).
        start_s, end_s : float, optional
            With ``frame_rate``: the frames that overlap ``[start_s, end_s)``. Default:
            the range the steps were computed for, else from 0.0 (the video's first
            frame) to the end of the audio, ``offset_s + duration_s``.

        Returns
        -------
        TimestampResult
            One row per target: ``item``, ``path``, ``time_s`` (centre), ``start_s``,
            ``end_s``, ``n_steps``, ``has_audio`` (the span, or point, lies at least
            partly within ``[offset_s, offset_s + duration_s)``); float32 embeddings.
            Inputs without steps get no rows.

        Raises
        ------
        ParameterError
            As :func:`pool_to_times`, or this result is pooled already.
        """
        if self.meta.get("pooled"):
            raise ParameterError("this result is pooled already: pool the steps (the result "
                                 "of timestamp_embeddings without frame_rate= or times=)")
        if times is not None and (start_s is not None or end_s is not None):
            raise ParameterError("start_s and end_s choose frames of frame_rate=; with "
                                 "times= give exactly the times you want")
        if frame_rate == "video":
            _check_video_rates(self.inputs["path"], self.inputs["frame_rate"])
        requested = frame_rate
        real = _real_frames(self.inputs["path"], frames_per_vector) \
            if requested == "video" else {}
        tables, embs = [], []
        d = self.embeddings.shape[1]
        for row in self.inputs.itertuples(index=False):
            frame_rate = row.frame_rate if requested == "video" else requested
            t, e = self._steps(row.item)
            video_end = row.video_duration_s if np.isfinite(row.video_duration_s) else None
            if row.path in real:  # variable frame rate: the real frames' spans
                spans = real[row.path]
                lo = start_s if start_s is not None else \
                    (row.start_s if np.isfinite(row.start_s) else 0.0)
                hi = end_s if end_s is not None else \
                    (row.end_s if np.isfinite(row.end_s) else np.inf)
                frame_rate, times_row = None, spans[(spans[:, 1] > lo) & (spans[:, 0] < hi)]
            else:
                times_row = times
            if not len(t):
                if row.path in real:
                    a, b = times_row[:, 0], times_row[:, 1]
                elif frame_rate is None or video_end is None:
                    continue  # no steps and no clock to put empty frames on
                else:  # a video without audio (or a range of it without audio): its
                    # frames, each without audio (NaN vectors); a range only its own frames
                    lo = start_s if start_s is not None else \
                        (row.start_s if np.isfinite(row.start_s) else 0.0)
                    hi = end_s if end_s is not None else \
                        (row.end_s if np.isfinite(row.end_s) else video_end)
                    first = int(np.floor(lo * frame_rate / frames_per_vector))
                    last = int(np.ceil(hi * frame_rate / frames_per_vector))
                    span = frames_per_vector / frame_rate
                    a = np.arange(first, last) * span
                    b = a + span
                tables.append(pd.DataFrame({
                    "item": row.item, "id": pd.Series([row.id] * len(a), dtype=object),
                    "path": pd.Series([row.path] * len(a), dtype=object),
                    "time_s": (a + b) / 2, "start_s": a, "end_s": b,
                    "n_steps": np.zeros(len(a), np.int64), "has_audio": False}))
                embs.append(np.full((len(a), d), np.nan, np.float32))
                continue
            lo = start_s if start_s is not None else \
                (row.start_s if np.isfinite(row.start_s) else 0.0)
            hi = end_s if end_s is not None else \
                (row.end_s if np.isfinite(row.end_s) else
                 video_end or row.offset_s + row.duration_s)
            if frame_rate is not None:
                p = pool_to_times(t, e, frame_rate=frame_rate,
                                  frames_per_vector=frames_per_vector,
                                  start_s=float(lo), end_s=float(hi))
            else:
                p = pool_to_times(t, e, times=times_row)
            a0, a1 = row.offset_s, row.offset_s + row.duration_s
            has_audio = (p.spans[:, 1] > a0) & (p.spans[:, 0] < a1)
            point = p.spans[:, 0] == p.spans[:, 1]
            has_audio[point] = (p.spans[point, 0] >= a0) & (p.spans[point, 0] < a1)
            tables.append(pd.DataFrame({
                "item": row.item,
                "id": pd.Series([row.id] * len(p.times), dtype=object),
                "path": pd.Series([row.path] * len(p.times), dtype=object),
                "time_s": p.times, "start_s": p.spans[:, 0], "end_s": p.spans[:, 1],
                "n_steps": p.n_steps, "has_audio": has_audio,
            }))
            embs.append(p.embeddings)
        table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
            {c: [] for c in ("item", "id", "path", "time_s", "start_s", "end_s", "n_steps",
                             "has_audio")})
        counts = table.groupby("item").size() if len(table) else pd.Series(dtype=np.int64)
        inputs = self.inputs.copy()
        inputs["n_rows"] = inputs["item"].map(counts).fillna(0).astype(np.int64)
        if requested == "video":
            inputs["variable_frame_rate"] = inputs["path"].isin(list(real))
        pooled = {"frame_rate": requested, "frames_per_vector": frames_per_vector,
                  "times": None if times is None else np.asarray(times).tolist(),
                  "rule": "mean of the steps inside each span; linear interpolation at "
                          "the span's centre where it holds none"}
        return TimestampResult(
            table, np.concatenate(embs) if embs else np.zeros((0, d), np.float32), inputs,
            self.errors.copy(), {**self.meta, "pooled": pooled})


# --------------------------------------------------------------------------- the run


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


#: The columns of :attr:`TimestampResult.inputs`, one row per input that did not fail.
INPUT_TABLE_COLUMNS = ("item", "id", "path", "audio_status", "offset_s", "duration_s",
                       "video_duration_s", "frame_rate", "start_s", "end_s", "n_windows",
                       "n_rows", "n_audio_streams")


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


def _header_offset(item: Item,
                   audio_stream: int | None = None) -> tuple[float, dict[str, Any]]:
    """Where a file's audio starts on its video's clock (0.0 for arrays and files the
    probe cannot read), the video's duration and frame rate, and how many audio streams
    it has (:func:`media_of`)."""
    media, _ = media_of(item, audio_stream)
    return media.get("audio_offset_s") or 0.0, {
        k: media[k] for k in ("video_duration_s", "frame_rate", "n_audio_streams")
        if k in media}


def _waveform(item: Item, channel: int | None,
              audio_stream: int | None = None) -> np.ndarray:
    """The 16 kHz mono waveform of an input, decoded and resampled whole, as
    :func:`~asttools.run.iter_embed` does for clips up to 10 minutes."""
    if item.sr is None:
        return load_audio(item.source, sr=SAMPLE_RATE, channel=channel,
                          audio_stream=audio_stream)[0]
    return resample(check_waveform(item.source, item.sr, name=item.name), item.sr, SAMPLE_RATE)


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
        clip (see above). The whole audio of such an input is decoded.
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
        windows its steps come from, as a 16 kHz array."""
        for it in items:
            plan = plans[it.index]
            if plan.start_s is None and plan.end_s is None:
                yield it
                continue
            header_offset, plan.media = _header_offset(it, audio_stream)
            if plan.offset_s is None:
                plan.offset_s = header_offset
            try:
                wav = _waveform(it, channel, audio_stream)
            except AudioError as err:
                fail(it, err.reason, err.status, plan.media)
                if bar is not None:
                    bar.update(1)
                continue
            if plan.media and is_silent(wav):
                plan.media["audio_status"] = "silent"
            bounds = window_bounds(len(wav), window_s=window_s, hop_s=hop / SAMPLE_RATE,
                                   max_length=cfg.max_length)
            first = np.array([s // step for s, _ in bounds], np.int64)
            n_valid = np.array([audio_columns(e - s, cfg) for s, e in bounds], np.int64)
            j, k, _ = assign_steps(first, n_valid, cfg)
            own = j * step / SAMPLE_RATE + float(column_times(cfg)[0])
            k = k[_in_range(own, plan)]
            if not len(k):
                record(plan, len(wav), 0, np.zeros(0), np.zeros((0, cfg.hidden_size),
                                                                 np.float32),
                       np.zeros(0, np.int64))
                if bar is not None:
                    bar.update(1)
                continue
            k0, k1 = int(k.min()), int(k.max())
            plan.first_window, plan.n_samples = k0, len(wav)
            a, b = bounds[k0][0], bounds[k1][1]
            yield Item(it.index, wav[a:b], SAMPLE_RATE, it.name, dict(it.extra), id=it.id)

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


#: The Parquet metadata key under which :meth:`TimestampResult.save` keeps the inputs,
#: errors and settings.
TIMESTAMPS_KEY = b"asttools.timestamps"


def read_timestamps(path: str | os.PathLike) -> TimestampResult:
    """Read a file written by :meth:`TimestampResult.save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    TimestampResult
        As saved; embeddings float32 (float16 files widened).

    Raises
    ------
    ASTToolsError
        The file cannot be read, is not Parquet, or was not written by
        :meth:`TimestampResult.save` (the message says which).
    """
    name = printable_path(path)
    if not os.path.exists(path):
        raise ASTToolsError(f"{name}: no such file")
    try:
        arrow = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        raise ASTToolsError(f"{name}: cannot read it as Parquet ({err})") from err
    raw = (arrow.schema.metadata or {}).get(TIMESTAMPS_KEY)
    if raw is None or "embedding" not in arrow.column_names:
        raise ASTToolsError(f"{name}: not a file of timestamp embeddings (write one with "
                            "TimestampResult.save)")
    info = json.loads(raw)
    column = arrow.column("embedding").combine_chunks()
    d = column.type.list_size
    emb = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, d)
    table = arrow.drop_columns(["embedding"]).to_pandas()
    for c in ("id", "path"):
        if c in table.columns:
            table[c] = table[c].astype(object)

    def frame(records: list[dict], columns: Sequence[str]) -> pd.DataFrame:
        out = pd.DataFrame(records, columns=list(records[0]) if records else list(columns))
        for c in out.columns:
            if c in ("item", "n_windows", "n_rows"):
                out[c] = out[c].astype(np.int64)
            elif c in ("id", "path", "audio_status", "reason"):
                out[c] = out[c].astype(object)
            else:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(np.float64)
        return out

    return TimestampResult(table, emb, frame(info["inputs"], INPUT_TABLE_COLUMNS),
                           frame(info["errors"], ("item", "id", "path", "audio_status",
                                                  "reason")), info["meta"])
