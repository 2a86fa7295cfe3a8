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

from .errors import ASTToolsError, ParameterError
from .inputs import printable_path
from .labels import audioset_labels

__all__ = [
    "AGGREGATIONS",
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
TABLE_COLUMNS = ["item", "path", "window", "start_s", "end_s", "clip_duration_s"]


@dataclass
class EmbeddingResult:
    """Embeddings and label probabilities of a set of inputs, one row per window.

    Attributes
    ----------
    table : DataFrame, shape (n_rows, ...)
        ``item`` (input number), ``path`` (absolute path, or ``"<array i>"``), ``window``
        (window number within the clip), ``start_s``, ``end_s``, ``clip_duration_s``,
        and any columns carried from a manifest.
    embeddings : ndarray, float32, shape (n_rows, hidden) or (n_rows, 12, 101, hidden)
        The pooled embedding (768 wide for the full model); the patch grid for
        ``pooling="grid"``.
    probs : ndarray, float32, shape (n_rows, n_labels)
        Sigmoid of the classifier's logits (527 AudioSet classes for AudioSet models).
    errors : DataFrame
        One row per input that failed: ``item``, ``path``, ``reason``.
    meta : dict
        How it was computed: ``model``, ``revision``, ``random_weights``, ``pooling``,
        ``layer``, ``window_s``, ``hop_s``, ``labels`` (class names in output order),
        versions.
    """

    table: pd.DataFrame
    embeddings: np.ndarray
    probs: np.ndarray
    errors: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"item": [], "path": [], "reason": []})
    )
    meta: dict[str, Any] = field(default_factory=dict)

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

    def __repr__(self) -> str:
        warn = "  [RANDOM WEIGHTS: outputs are meaningless]" if self.random_weights else ""
        n_items = self.table["item"].nunique() if len(self.table) else 0
        return (
            f"EmbeddingResult({len(self.table)} rows from {n_items} inputs, "
            f"embeddings {self.embeddings.shape}, probs {self.probs.shape}, "
            f"{len(self.errors)} errors, model={self.meta.get('model')!r}, "
            f"pooling={self.meta.get('pooling')!r}, layer={self.meta.get('layer')}){warn}"
        )

    def select(self, *, paths: Sequence[str] | None = None,
               items: Sequence[int] | None = None) -> EmbeddingResult:
        """The rows of some inputs, in the order asked for.

        Parameters
        ----------
        paths : sequence of str, optional
            Inputs by ``path``.
        items : sequence of int, optional
            Inputs by ``item`` number.

        Returns
        -------
        EmbeddingResult
            Every row (window) of each input asked for, inputs in the order given;
            ``errors`` of those inputs only.

        Raises
        ------
        ParameterError
            Neither or both given, or an input the result does not hold (its failures
            count as held: they have no rows).
        """
        if (paths is None) == (items is None):
            raise ParameterError("give exactly one of paths= and items=")
        column, wanted = ("path", list(paths)) if paths is not None else ("item", list(items))
        held = set(self.table[column]) | set(self.errors.get(column, []))
        missing = [w for w in wanted if w not in held]
        if missing:
            raise ParameterError(f"{len(missing)} of the {column}s asked for are not in this "
                                 f"result, e.g. {printable_path(str(missing[0]))!r}")
        where: dict[Any, list[int]] = {}
        for i, v in enumerate(self.table[column]):
            where.setdefault(v, []).append(i)
        take = np.asarray([i for w in wanted for i in where.get(w, [])], dtype=np.int64)
        errors = self.errors[self.errors[column].isin(wanted)] if len(self.errors) \
            else self.errors
        return EmbeddingResult(self.table.iloc[take].reset_index(drop=True),
                               self.embeddings[take], self.probs[take],
                               errors.reset_index(drop=True), dict(self.meta))

    def clips(self, *, probs: str = "mean") -> EmbeddingResult:
        """Aggregate windows to one row per input clip.

        Parameters
        ----------
        probs : {"mean", "max"}, default "mean"
            How window probabilities combine: the mean, or the max (a sound event
            anywhere in the clip counts). Embeddings are always averaged.

        Returns
        -------
        EmbeddingResult
            One row per item; ``table`` gains ``n_windows`` and spans ``start_s`` to
            ``end_s`` of the whole clip.
        """
        if probs not in AGGREGATIONS:
            raise ParameterError(f"probs={probs!r} is not one of {AGGREGATIONS}")
        if not len(self.table):
            return EmbeddingResult(self.table.copy(), self.embeddings, self.probs,
                                   self.errors.copy(), {**self.meta, "aggregate": probs})
        codes, uniques = pd.factorize(self.table["item"], sort=False)
        n = len(uniques)
        counts = np.bincount(codes, minlength=n).astype(np.float64)
        emb = np.zeros((n, *self.embeddings.shape[1:]), dtype=np.float64)
        np.add.at(emb, codes, self.embeddings)
        emb /= counts.reshape(-1, *([1] * (emb.ndim - 1)))
        if probs == "mean":
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
            {**self.meta, "aggregate": probs},
        )


def top_k(
    result: EmbeddingResult | np.ndarray,
    *,
    k: int = 5,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``k`` most probable labels of each row, as a tidy table.

    Parameters
    ----------
    result : EmbeddingResult or ndarray, shape (n_rows, n_labels)
        A result (per window, or per clip via ``result.clips()``) or a probability matrix.
    k : int, default 5
    labels : sequence of str, optional
        Class names for a bare matrix (default: the 527 AudioSet names).

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
    >>> from asttools.result import top_k
    >>> p = np.zeros((1, 527), np.float32); p[0, 0] = 0.9
    >>> top_k(p, k=1)[["rank", "label", "probability"]].values.tolist()
    [[1, 'Speech', 0.8999999761581421]]
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
    out["label"] = [names[j] for j in flat]
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
    inputs : DataFrame, optional
        The input table (:func:`asttools.store.list_inputs`), in the order of ``item``;
        its columns besides ``path`` (labels, folds) are carried to every row, and one
        named like a column here gets a ``manifest_`` prefix.

    Returns
    -------
    DataFrame
        ``model``, ``random_weights`` (in every row: where the numbers come from),
        ``path``, ``scope`` (``"clip"``: probabilities averaged over the clip's windows;
        ``"window"``: one window, listed only for clips of several windows), ``window``
        (nullable int; missing for clip rows), ``start_s``, ``end_s``, ``rank``,
        ``label``, ``mid``, ``probability``, ``item``, then the carried columns. Sorted
        by item, clip rows first.
    """
    clips = top_k(result.clips(probs="mean"), k=k).assign(scope="clip", window=pd.NA)
    windows = top_k(result, k=k).assign(scope="window")
    n_windows = result.table["item"].value_counts()  # by number: odd names group badly
    windows = windows[windows["item"].map(n_windows).to_numpy() > 1]
    table = pd.concat([clips, windows], ignore_index=True)
    table["window"] = table["window"].astype("Int64")
    table = table.sort_values(["item", "scope", "window", "rank"], kind="stable",
                              na_position="first")
    cols = ["path", "scope", "window", "start_s", "end_s", "rank", "label", "mid",
            "probability", "item"]
    table = table[cols].reset_index(drop=True)
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
        its odd bytes as ``\\xNN``, see :func:`asttools.store.printable_path`).
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
