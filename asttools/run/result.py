"""The result of an embedding run: one row per window, numpy and pandas at the edges.

:class:`EmbeddingResult` holds the table (one row per analysis window), the embeddings
and the probabilities of a set of inputs, with their failures and provenance;
:func:`top_k` turns probabilities into a tidy table of label names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..columns import INPUT_COLUMNS
from ..errors import WITH_AUDIO, ASTToolsError, ParameterError
from ..settings import renamed_keyword
from .inputs import printable_path
from ..labels import audioset_labels, short_label

__all__ = [
    "AGGREGATIONS",
    "FAILED",
    "STATUS_COLUMNS",
    "META_KEY",
    "TABLE_COLUMNS",
    "EmbeddingResult",
    "prediction_table",
    "top_k",
    "write_table",
]

#: How window probabilities are aggregated to a clip.
AGGREGATIONS = ("mean", "max")
#: The Parquet metadata key of a result's provenance (``meta``), in stores and tables.
META_KEY = b"asttools.meta"
#: The columns every result table starts with.
TABLE_COLUMNS = ["item", "id", "path", "window", "start_s", "end_s", "clip_duration_s"]
#: The columns every status table starts with (then the media columns, carried columns).
STATUS_COLUMNS = ["item", "id", "path", "audio_status", "has_audio", "reason"]
#: Statuses that make an input a failure (``no_audio_stream`` too when audio is required).
FAILED = ("decode_error", "unreadable", "error")


@dataclass
class EmbeddingResult:
    """Embeddings and label probabilities of a set of inputs, one row per window.

    Attributes
    ----------
    table : DataFrame, shape (n_rows, ...)
        ``item`` (input number, in input order), ``id`` (the input's stable name, see
        :func:`asttools.run.inputs.list_inputs`), ``path`` (the file, or ``"<array i>"``),
        ``window`` (window number within the clip), ``start_s``, ``end_s`` (on the
        video's timeline for a video whose audio starts late), ``clip_duration_s``, and
        any columns carried from a manifest.
    embeddings : ndarray, float32, shape (n_rows, hidden)
        The pooled embedding (768 wide for the full model); (n_rows, 101, hidden), one
        per patch column, for ``pooling="time"``; (n_rows, 12, 101, hidden), the patch
        grid, for ``pooling="grid"``.
    probs : ndarray, float32, shape (n_rows, n_labels)
        Sigmoid of the classifier's logits (527 AudioSet classes for AudioSet models).
    errors : DataFrame
        One row per input that failed (``audio_status`` ``decode_error``, ``unreadable``
        or ``error``, and ``no_audio_stream`` when audio was required): ``item``, ``id``,
        ``path``, ``audio_status``, ``reason``.
    meta : dict
        How it was computed: ``model``, ``revision``, ``random_weights``, ``pooling``,
        ``layer``, ``window_s``, ``hop_s``, ``labels`` (class names in output order),
        versions. ``layer`` is always the resolved index, ``0..num_layers`` (``-1``
        becomes ``num_layers``, e.g. 12), from :func:`asttools.embed`,
        :func:`asttools.extract` and :func:`asttools.read_store` alike; a store's
        ``meta["settings"]["layer"]`` keeps the layer as asked (part of its settings
        key), and ``read_store(settings={"layer": ...})`` accepts either.
    status : DataFrame, shape (n_inputs, ...)
        One row per input, whatever became of it: ``item``, ``id``, ``path``,
        ``audio_status`` (one of :data:`asttools.errors.AUDIO_STATUSES`),
        ``has_audio`` (it has embeddings: ``ok`` or ``silent``), ``reason`` (why not),
        the media columns (``audio_offset_s``, ``audio_duration_s``, ``video_duration_s``,
        ``frame_rate``, ``av_warning``) when known, and the carried columns. Built from
        ``table`` and ``errors`` when not given.
    """

    table: pd.DataFrame
    embeddings: np.ndarray
    probs: np.ndarray
    errors: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"item": [], "path": [], "reason": []})
    )
    meta: dict[str, Any] = field(default_factory=dict)
    status: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if "id" not in self.table.columns and "path" in self.table.columns:
            self.table.insert(min(1, len(self.table.columns)), "id",
                              self.table["path"].astype(object))
        if "id" not in self.errors.columns and "path" in self.errors.columns:
            self.errors.insert(min(1, len(self.errors.columns)), "id",
                               self.errors["path"].astype(object))
        if self.status is None:
            self.status = _status_from(self.table, self.errors)

    @classmethod
    def from_rows(cls, table: pd.DataFrame, embeddings: np.ndarray, probs: np.ndarray,
                  failed: pd.DataFrame, meta: dict) -> EmbeddingResult:
        """A result from window rows and the inputs without rows (failed or no audio).

        ``failed`` has one row per input without rows: ``item``, ``id``, ``path``,
        ``audio_status``, ``reason``, media and carried columns. Those whose status is a
        failure (see :data:`FAILED`; ``no_audio_stream`` too with
        ``meta["require_audio"]``) become ``errors``; every input is in ``status``.
        """
        failing = set(FAILED) | ({"no_audio_stream"} if meta.get("require_audio") else set())
        statuses = failed.get("audio_status", pd.Series([], dtype=object))
        is_error = np.asarray([(s or "decode_error") in failing for s in statuses], bool)
        table, failed = _typed(table), _typed(failed)
        errors = failed.loc[is_error].reset_index(drop=True)
        return cls(table, embeddings, probs, errors, meta,
                   _status_from(table, failed.reset_index(drop=True)))

    def __len__(self) -> int:
        return len(self.table)

    @property
    def labels(self) -> list[str]:
        """Class names in the model's output order."""
        return list(self.meta.get("labels", []))

    @property
    def random_weights(self) -> bool:
        """True when the model that computed this had random weights."""
        return bool(self.meta.get("random_weights", False))

    @property
    def ids(self) -> list[str]:
        """Every input's id, in input order (``item``), with audio or not."""
        return self.status.sort_values("item", kind="stable")["id"].tolist()

    def __repr__(self) -> str:
        warn = "  [RANDOM WEIGHTS: outputs are meaningless]" if self.random_weights else ""
        return (
            f"EmbeddingResult({len(self.table)} rows from {self._input_counts()}, "
            f"embeddings {self.embeddings.shape}, probs {self.probs.shape}, "
            f"model={self.meta.get('model')!r}, pooling={self.meta.get('pooling')!r}, "
            f"layer={self.meta.get('layer')}){warn}"
        )

    def _input_counts(self) -> str:
        """"N inputs (a with audio, s of them silent, w without an audio stream, f failed)":
        each input counted once, by its status."""
        statuses = self.status["audio_status"].fillna("decode_error")
        n_audio = int(self.status["has_audio"].astype(bool).sum())
        silent = int((statuses == "silent").sum())
        without = int((statuses == "no_audio_stream").sum())
        failed = len(self.status) - n_audio - without
        parts = [f"{n_audio} with audio" + (f", {silent} of them silent" if silent else "")]
        if without:
            parts.append(f"{without} without an audio stream"
                         + (" (errors: audio required)" if self.meta.get("require_audio")
                            else ""))
        parts.append(f"{failed} failed")
        return f"{len(self.status)} inputs ({', '.join(parts)})"

    def select(self, ids: Sequence[str] | None = None, *, paths: Sequence[str] | None = None,
               items: Sequence[int] | None = None,
               longest: int | None = None) -> EmbeddingResult:
        """The rows of some inputs, in the order asked for (to line up with other arrays).

        Parameters
        ----------
        ids : sequence of str, optional
            Inputs by ``id`` (e.g. the clip ids of a video model's feature array).
        paths : sequence of str, optional
            Inputs by ``path``.
        items : sequence of int, optional
            Inputs by ``item`` number.
        longest : int, optional
            The ``longest`` inputs with the most windows, longest first (ties in input
            order): ``res.select(longest=1)`` is the clip to draw a label timeline of.

        Returns
        -------
        EmbeddingResult
            Every row (window) of each input asked for, inputs in the order given and
            renumbered ``item`` 0, 1, ... in that order; ``errors`` and ``status`` of
            those inputs only. An input without rows (failed, no audio) has no rows
            here: see :func:`asttools.aligned_embeddings` for one vector per id.

        Raises
        ------
        ParameterError
            Not exactly one of the three given, or an input the result does not hold.
        """
        if longest is not None:
            if not isinstance(longest, (int, np.integer)) or longest < 1:
                raise ParameterError(f"longest must be an integer >= 1, got {longest!r}")
            if ids is not None or paths is not None or items is not None:
                raise ParameterError("give exactly one of ids, paths=, items= and longest=")
            if not len(self.table):
                raise ParameterError("this result has no rows (no input with audio) to pick "
                                     "the longest from")
            counts = self.table["item"].value_counts(sort=False)
            order = sorted(counts.index, key=lambda item: (-counts[item], item))
            items = order[:int(longest)]
        given = [(n, v) for n, v in (("id", ids), ("path", paths), ("item", items))
                 if v is not None]
        if len(given) != 1:
            raise ParameterError("give exactly one of ids, paths=, items= and longest=")
        column, wanted = given[0][0], list(given[0][1])
        held = set(self.status[column])
        missing = [w for w in wanted if w not in held]
        if missing:
            raise ParameterError(f"{len(missing)} of the {column}s asked for are not in this "
                                 f"result, e.g. {printable_path(str(missing[0]))!r}")
        order = {w: i for i, w in enumerate(dict.fromkeys(wanted))}

        def pick(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
            rank = np.asarray([order.get(v, -1) for v in frame[column]], dtype=np.int64)
            take = np.flatnonzero(rank >= 0)
            take = take[np.argsort(rank[take], kind="stable")]
            out = frame.iloc[take].reset_index(drop=True)
            out["item"] = rank[take]
            return out, take

        table, take = pick(self.table)
        errors, _ = pick(self.errors)
        status, _ = pick(self.status)
        return EmbeddingResult(table, self.embeddings[take], self.probs[take], errors,
                               dict(self.meta), status)

    def to_frame(self) -> pd.DataFrame:
        """The table with two more columns, ``embedding`` and ``probs`` (one array a row).

        For pandas users who want one object: ``res.to_frame().groupby("id")``.
        """
        out = self.table.copy()
        out["embedding"] = list(self.embeddings)
        out["probs"] = list(self.probs)
        return out

    def clips(self, *, aggregate: str = "mean", probs: str | None = None) -> EmbeddingResult:
        """Aggregate windows to one row per input clip.

        Parameters
        ----------
        aggregate : {"mean", "max"}, default "mean"
            How window probabilities combine: the mean, or the max (a sound event
            anywhere in the clip counts). Embeddings are always averaged.
            ``meta["aggregate"]`` records it.
        probs : {"mean", "max"}, optional
            The old name of ``aggregate`` (a DeprecationWarning; goes in the next release):
            ``probs`` names an array of probabilities everywhere else.

        Returns
        -------
        EmbeddingResult
            One row per item; ``table`` gains ``n_windows`` and spans ``start_s`` to
            ``end_s`` of the whole clip.
        """
        aggregate = renamed_keyword(aggregate, probs, new="aggregate", old="probs",
                                where="EmbeddingResult.clips", default="mean",
                                why="'probs' names an array of probabilities")
        if aggregate not in AGGREGATIONS:
            raise ParameterError(f"aggregate={aggregate!r} is not one of {AGGREGATIONS}")
        if not len(self.table):
            return EmbeddingResult(self.table.copy(), self.embeddings, self.probs,
                                   self.errors.copy(), {**self.meta, "aggregate": aggregate},
                                   self.status.copy())
        codes, uniques = pd.factorize(self.table["item"], sort=False)
        n = len(uniques)
        counts = np.bincount(codes, minlength=n).astype(np.float64)
        emb = np.zeros((n, *self.embeddings.shape[1:]), dtype=np.float64)
        np.add.at(emb, codes, self.embeddings)
        emb /= counts.reshape(-1, *([1] * (emb.ndim - 1)))
        if aggregate == "mean":
            p = np.zeros((n, self.probs.shape[1]), dtype=np.float64)
            np.add.at(p, codes, self.probs)
            p /= counts[:, None]
        else:
            p = np.full((n, self.probs.shape[1]), -np.inf)
            np.maximum.at(p, codes, self.probs)
        grouped = self.table.groupby(codes, sort=True)
        table = grouped.first()
        table["start_s"] = grouped["start_s"].min()
        table["end_s"] = grouped["end_s"].max()
        table["n_windows"] = counts.astype(int)
        table = table.drop(columns=["window"]).reset_index(drop=True)
        return EmbeddingResult(
            table, emb.astype(np.float32), p.astype(np.float32), self.errors.copy(),
            {**self.meta, "aggregate": aggregate}, self.status.copy(),
        )


#: An input's own columns that hold seconds or a rate: float, NaN where unknown.
_FLOAT_COLUMNS = tuple(c for c in INPUT_COLUMNS if c.endswith("_s") or c == "frame_rate")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The input's own columns with one type each: floats (NaN where unknown) for times
    and rates, None (not NaN) for a missing ``av_warning``."""
    frame = frame.copy()
    for c in _FLOAT_COLUMNS:
        if c in frame.columns:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(np.float64)
    if "av_warning" in frame.columns:
        frame["av_warning"] = pd.Series(
            [v if isinstance(v, str) else None for v in frame["av_warning"]],
            index=frame.index, dtype=object)
    return frame


def _status_from(table: pd.DataFrame, failed: pd.DataFrame) -> pd.DataFrame:
    """One row per input: the first window row of each input with rows, then the rest."""
    carried = [c for c in table.columns if c not in _WINDOW_ONLY]
    if len(table):
        first = table.drop_duplicates("item", keep="first")[carried].copy()
        if "audio_status" not in first.columns:
            first["audio_status"] = "ok"
        first["audio_status"] = first["audio_status"].fillna("ok")
        first["reason"] = None
    else:
        first = pd.DataFrame({c: [] for c in ("item", "id", "path", "audio_status", "reason")})
    rest = failed.copy()
    if "audio_status" not in rest.columns:
        rest["audio_status"] = "decode_error"
    frames = [f for f in (first, rest) if len(f)]
    status = (pd.concat(frames, ignore_index=True) if frames
              else pd.DataFrame({c: [] for c in STATUS_COLUMNS}))
    for c in STATUS_COLUMNS:
        if c not in status.columns:
            status[c] = pd.Series([None] * len(status), dtype=object)
    status["has_audio"] = status["audio_status"].isin(WITH_AUDIO).astype(bool)
    status["item"] = status["item"].astype(np.int64)
    status = _typed(status.sort_values("item", kind="stable").reset_index(drop=True))
    return status[STATUS_COLUMNS + [c for c in status.columns if c not in STATUS_COLUMNS]]


#: Window columns that do not describe the input as a whole (left out of the status table).
_WINDOW_ONLY = frozenset({"window", "start_s", "end_s", "top1_label", "top1_prob",
                          "top2_label", "top2_prob", "top3_label", "top3_prob",
                          "settings_key"})


def top_k(
    result: EmbeddingResult | np.ndarray,
    *,
    k: int = 5,
    labels: Sequence[str] | None = None,
    short: bool = False,
) -> pd.DataFrame:
    """The ``k`` most probable labels of each row, as a tidy table.

    Parameters
    ----------
    result : EmbeddingResult or ndarray, shape (n_rows, n_labels)
        A result (per window, or per clip via ``result.clips()``) or a probability matrix.
    k : int, default 5
        How many of the most probable labels each row lists.
    labels : sequence of str, optional
        Class names for a bare matrix (default: the 527 AudioSet names).
    short : bool, default False
        Show short names in ``label``: each name cut at its first comma ("Bird
        vocalization, bird call, bird song" -> "Bird vocalization"), except where
        AudioSet names share that head ("Inside, small room" stays whole); see
        :func:`asttools.labels.short_label`. ``mid`` still identifies the class.

    Returns
    -------
    DataFrame, shape (n_rows * k, ...)
        ``item`` (the row's input number; the row number for a bare matrix), the
        result's ``path``, ``window``, ``start_s``, ``end_s`` when known, then ``rank``
        (1 = most probable), ``label``, ``mid`` (AudioSet id, or missing) and
        ``probability``. For a result, ``attrs["random_weights"]`` and ``attrs["model"]``
        say where the probabilities came from.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.run.result import top_k
    >>> p = np.zeros((1, 527), np.float32); p[0, 0] = 0.9
    >>> top_k(p, k=1)[["rank", "label", "probability"]].values.tolist()
    [[1, 'Speech', 0.8999999761581421]]
    >>> p[0, 1] = 0.95  # "Male speech, man speaking"
    >>> top_k(p, k=1, short=True)["label"].tolist()
    ['Male speech']
    """
    if isinstance(result, EmbeddingResult):
        probs = result.probs
        names = list(labels) if labels is not None else result.labels
        front = result.table[[c for c in ("item", "path", "window", "start_s", "end_s")
                              if c in result.table.columns]].reset_index(drop=True)
    else:
        probs = np.asarray(result, dtype=np.float32)
        if probs.ndim == 1:
            probs = probs[None, :]
        front = pd.DataFrame({"item": np.arange(len(probs))})
        names = list(labels) if labels is not None else None
    audioset = audioset_labels()
    if names is None or len(names) == 0:
        names = audioset["display_name"].tolist()
    if probs.ndim != 2 or probs.shape[1] != len(names):
        raise ParameterError(
            f"probabilities of shape {probs.shape} do not match {len(names)} label names"
        )
    if not 1 <= k:
        raise ParameterError(f"k must be >= 1, got {k!r}")
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    mid_of = dict(zip(audioset["display_name"], audioset["mid"], strict=True))
    rows = np.repeat(np.arange(len(probs)), k)
    flat = order.reshape(-1)
    out = front.iloc[rows].reset_index(drop=True)
    out["rank"] = np.tile(np.arange(1, k + 1), len(probs))
    out["label"] = [short_label(names[j]) if short else names[j] for j in flat]
    out["mid"] = pd.array([mid_of.get(names[j]) for j in flat], dtype="string")
    out["probability"] = probs[rows, flat].astype(np.float64)
    if isinstance(result, EmbeddingResult):
        out.attrs["random_weights"] = result.random_weights
        out.attrs["model"] = result.meta.get("model")
    return out


def prediction_table(
    result: EmbeddingResult,
    *,
    k: int = 5,
    inputs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ``k`` most probable labels of each clip, and of each window of longer clips.

    What ``asttools predict --out`` writes: one tidy table for a spreadsheet or pandas.

    Parameters
    ----------
    result : EmbeddingResult
        Per-window results (:func:`asttools.embed`).
    k : int, default 5
        How many of the most probable labels each row and clip lists.
    inputs : DataFrame, optional
        The input table (:func:`asttools.run.inputs.list_inputs`), in the order of ``item``;
        its columns besides ``path`` (labels, folds) are carried to every row, and one
        named like a column here gets a ``manifest_`` prefix.

    Returns
    -------
    DataFrame
        ``model``, ``random_weights`` (in every row: where the numbers come from),
        ``path``, ``scope`` (``"clip"``: probabilities averaged over the clip's windows;
        ``"window"``: one window, listed only for clips of several windows), ``window``
        (nullable int; missing for clip rows), ``start_s``, ``end_s``, ``rank``,
        ``label``, ``mid``, ``probability``, ``item``, ``audio_status``, ``reason``,
        then the carried columns. Sorted by item, clip rows first. An input without
        audio (or that failed) has one clip row without labels: its ``audio_status``
        and ``reason`` say why.
    """
    clips = top_k(result.clips(aggregate="mean"), k=k).assign(scope="clip", window=pd.NA)
    windows = top_k(result, k=k).assign(scope="window")
    n_windows = result.table["item"].value_counts()  # by number: odd names group badly
    windows = windows[windows["item"].map(n_windows).to_numpy() > 1]
    without = result.status[~result.status["item"].isin(n_windows.index)]
    lone = pd.DataFrame({"item": without["item"].to_numpy(), "path": without["path"],
                         "scope": "clip", "window": pd.NA,
                         "reason": without["reason"].to_numpy()})  # no audio, or failed
    table = pd.concat([t for t in (clips, windows, lone) if len(t)], ignore_index=True)
    table["window"] = table["window"].astype("Int64")
    table = table.sort_values(["item", "scope", "window", "rank"], kind="stable",
                              na_position="first")
    status = result.status.set_index("item")["audio_status"]
    table["audio_status"] = table["item"].map(status).to_numpy()
    cols = ["path", "scope", "window", "start_s", "end_s", "rank", "label", "mid",
            "probability", "item", "audio_status", "reason"]
    for c in cols:
        if c not in table.columns:
            table[c] = None
    table = table[cols].reset_index(drop=True)
    table["rank"] = table["rank"].astype("Int64")
    table.insert(0, "model", result.meta.get("model"))
    table.insert(1, "random_weights", result.random_weights)
    if inputs is not None and len(inputs.columns) > 1:
        carried = inputs.drop(columns="path").rename(
            columns={c: f"manifest_{c}" for c in inputs.columns if c in table.columns})
        carried.insert(0, "item", np.arange(len(inputs)))
        table = table.merge(carried, on="item", how="left")
    return table


def write_table(table: pd.DataFrame, path: str | os.PathLike, *,
                meta: dict | None = None) -> Path:
    """Write a result table to ``.csv`` or ``.parquet``, file names as text it can hold.

    Parameters
    ----------
    table : DataFrame
        With a ``path`` column of file names (a name that is not UTF-8 is written with
        its odd bytes as ``\\xNN``, see :func:`asttools.run.inputs.printable_path`).
    path : str or PathLike
        Ends in ``.csv`` or ``.parquet``; its folder is created.
    meta : dict, optional
        Provenance (``result.meta``), stored as JSON under the Parquet key
        ``asttools.meta``.

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        Another suffix.
    ASTToolsError
        The file cannot be written (the message says why).
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ParameterError(f"{out}: use a .csv or .parquet file name")
    table = table.copy()
    if "path" in table.columns:
        table["path"] = [printable_path(p) for p in table["path"]]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            table.to_csv(out, index=False)
        else:
            t = pa.Table.from_pandas(table, preserve_index=False)
            md = dict(t.schema.metadata or {})
            md[META_KEY] = json.dumps(meta or {}, default=str).encode()
            with open(out, "wb") as f:
                pq.write_table(t.replace_schema_metadata(md), f)
    except OSError as err:
        raise ASTToolsError(f"{printable_path(out)}: cannot write it "
                            f"({err.strerror or err})") from err
    return out
