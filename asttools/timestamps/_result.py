"""A timestamp run's result: one row per step or pooled vector, saved to and read from Parquet.

:class:`TimestampResult` holds the long table of steps (or pooled vectors), the inputs
that ran and those that failed; ``.get``, ``.pool``, ``.padded`` and ``.save`` read it;
:func:`read_timestamps` reads a saved file back.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ASTToolsError, ParameterError
from ..run.inputs import absolute_path, printable_path
from ..settings import fill_value_of
from ._pool import _check_video_rates, _real_frames, pool_to_times

__all__ = ["INPUT_TABLE_COLUMNS", "TIMESTAMPS_KEY", "Padded", "TimestampResult",
           "read_timestamps"]

#: The columns of :attr:`TimestampResult.inputs`, one row per input that did not fail.
INPUT_TABLE_COLUMNS = ("item", "id", "path", "audio_status", "offset_s", "duration_s",
                       "video_duration_s", "frame_rate", "start_s", "end_s", "n_windows",
                       "n_rows", "n_audio_streams")

#: The Parquet metadata key under which :meth:`TimestampResult.save` keeps the inputs,
#: errors and settings.
TIMESTAMPS_KEY = b"asttools.timestamps"

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
