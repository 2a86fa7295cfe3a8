"""Aligned arrays for training a fusion model, in memory, on disk, or as a torch Dataset.

A fusion model (video + audio) trains on one array per clip: the audio's steps or frames
``(T, d)``, which of them hold audio, whether the clip has audio at all, its label and
fold. :func:`training_arrays` lays a result out so:

- ``x`` (float32, ``(n_clips, T, d)``): from a :class:`~asttools.timestamps.TimestampResult`
  its 0.1 s steps, or the frames it was pooled onto; from an
  :class:`~asttools.run.result.EmbeddingResult` (``embed``, ``read_store``) its windows;
  ``T`` is the most any clip has, shorter clips are padded with ``fill_value``;
- ``step_mask`` (bool, ``(n_clips, T)``): the position holds audio (False where padded,
  and for pooled frames outside the audio, ``has_audio`` False);
- ``has_audio`` (bool, ``(n_clips,)``): any position holds audio (a clip without an
  audio stream, or one that failed, has none: its row is all ``fill_value``);
- ``times`` (float64, ``(n_clips, T)``): seconds on the clip's clock, NaN where padded;
- ``labels``, ``folds``: what you pass, in the same order; ``ids``: the clip order.

With ``path=``, the arrays are written to a folder as ``.npy`` files, ``x`` through a
memory map (:func:`numpy.lib.format.open_memmap`) one clip at a time, so the padded
array never has to fit in memory; :func:`load_training_arrays` maps them back, and
:class:`TrainingDataset` serves them to a ``torch.utils.data.DataLoader`` (worker
processes each open the maps themselves; nothing is copied into them).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..errors import ParameterError
from ..settings import fill_value_of

__all__ = [
    "EXPORT_FILES",
    "TrainingArrays",
    "TrainingDataset",
    "load_training_arrays",
    "training_arrays",
]

#: The files of an export folder: ``.npy`` arrays and ``meta.json`` (ids, what the
#: arrays hold).
EXPORT_FILES = ("x.npy", "step_mask.npy", "times.npy", "has_audio.npy", "labels.npy",
                "folds.npy", "meta.json")


@dataclass
class TrainingArrays:
    """Per-clip arrays in one order, for training (see the module documentation).

    Attributes
    ----------
    ids : list of str, length n_clips
    x : ndarray, float32, shape (n_clips, T, d)
    step_mask : ndarray, bool, shape (n_clips, T)
    times : ndarray, float64, shape (n_clips, T)
    has_audio : ndarray, bool, shape (n_clips,)
    labels, folds : ndarray, shape (n_clips,), or None
    meta : dict
        What the rows are (``kind``: ``"steps"``, ``"frames"`` or ``"windows"``), the
        fill, and the source result's settings.
    """

    ids: list[str]
    x: np.ndarray
    step_mask: np.ndarray
    times: np.ndarray
    has_audio: np.ndarray
    labels: np.ndarray | None = None
    folds: np.ndarray | None = None
    meta: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.ids)


def _rows_of(source) -> tuple[pd.DataFrame, np.ndarray, str, list[str], dict]:
    """(table with id and time_s and has_audio, embeddings, kind, all ids, meta)."""
    table, emb = source.table, np.asarray(source.embeddings)
    meta = dict(getattr(source, "meta", {}) or {})
    if emb.ndim != 2:
        raise ParameterError(f"the result's embeddings are {emb.shape}: export takes one "
                             "vector per row (not pooling='time' or 'grid' of embed; use "
                             "timestamp_embeddings for steps)")
    if hasattr(source, "inputs"):  # a TimestampResult: steps, or pooled frames
        kind = "frames" if meta.get("pooled") else "steps"
        has = table["has_audio"].to_numpy(bool) if "has_audio" in table.columns else \
            np.ones(len(table), bool)
        has = has & np.isfinite(emb).all(axis=1)
        out = pd.DataFrame({"id": table["id"].astype(str), "time_s": table["time_s"],
                            "has_audio": has})
        known = pd.concat([source.inputs[["item", "id"]], source.errors[["item", "id"]]])
        ids = known.sort_values("item", kind="stable")["id"].astype(str).tolist()
        return out, emb, kind, ids, meta
    if not {"id", "start_s", "end_s"} <= set(table.columns):
        raise ParameterError("training_arrays takes a TimestampResult or an EmbeddingResult "
                             f"(embed, read_store); got {type(source).__name__}")
    out = pd.DataFrame({"id": table["id"].astype(str),
                        "time_s": (table["start_s"] + table["end_s"]) / 2,
                        "has_audio": np.isfinite(emb).all(axis=1)})
    status = getattr(source, "status", None)
    errors = getattr(source, "errors", None)
    ids = list(dict.fromkeys(
        (status["id"].astype(str).tolist() if status is not None and "id" in status else [])
        + out["id"].tolist()
        + (errors["id"].astype(str).tolist() if errors is not None and "id" in errors
           else [])))
    return out, emb, "windows", ids, meta


def _per_clip(values, ids: list[str], name: str) -> np.ndarray | None:
    """``labels``/``folds`` in the order of ``ids``: aligned values, or a mapping by id."""
    if values is None:
        return None
    if isinstance(values, (dict, pd.Series)):
        lookup = dict(values)
        absent = [i for i in ids if i not in lookup]
        if absent:
            raise ParameterError(f"{name} has no value for {len(absent)} of {len(ids)} "
                                 f"clips, e.g. {absent[:3]}: give one per clip id")
        return np.asarray([lookup[i] for i in ids])
    if isinstance(values, str):
        raise ParameterError(f"{name}={values!r}: give the values (one per clip, in the "
                             "order of ids) or a mapping from id to value, not a name")
    arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) != len(ids):
        raise ParameterError(f"{name} has shape {arr.shape} for {len(ids)} clips: give one "
                             "value per clip, in the order of ids")
    return arr


def training_arrays(
    source,
    ids=None,
    *,
    labels=None,
    folds=None,
    fill_value: float = 0.0,
    path: str | os.PathLike | None = None,
    fill: float | None = None,
) -> TrainingArrays:
    """Lay a result out as ``(n_clips, T, d)`` arrays with masks, labels and folds.

    Parameters
    ----------
    source : TimestampResult or EmbeddingResult
        :func:`asttools.timestamp_embeddings` (steps, or pooled onto frames) or
        :func:`asttools.embed` / :func:`asttools.read_store` (one row per window; a
        segment is one row).
    ids : sequence of str, optional
        The clips, in the order the arrays should have (a video model's clip order).
        Default: every input of the result, in input order, those that failed or have no
        audio included (rows of ``fill_value``).
    labels, folds : array-like (n_clips,) or mapping id -> value, optional
        Carried into the arrays in the order of ``ids``.
    fill_value : float, default 0.0
        The value of positions without audio (padding, frames outside the audio, clips
        without audio). ``np.nan`` marks them unmistakably.
    path : str or os.PathLike, optional
        Write the arrays into this folder (:data:`EXPORT_FILES`), ``x`` through a memory
        map, one clip at a time; the returned ``x`` is then that map (read-only).
    fill : float, optional
        The old name of ``fill_value`` (a DeprecationWarning; goes in the next release).

    Returns
    -------
    TrainingArrays

    Raises
    ------
    ParameterError
        ``ids`` names clips the result does not hold (the message lists some), or repeats
        one; labels/folds of the wrong length or missing ids; a result with more than one
        vector per row; ``path`` exists and is not an empty folder.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from asttools.run.result import EmbeddingResult
    >>> table = pd.DataFrame({"item": [0, 0, 1], "id": ["a", "a", "b"], "path": "x",
    ...                       "window": [0, 1, 0], "start_s": [0.0, 10.24, 0.0],
    ...                       "end_s": [10.24, 15.0, 3.0], "clip_duration_s": 15.0})
    >>> res = EmbeddingResult.from_rows(table, np.ones((3, 4), np.float32),
    ...                                 np.zeros((3, 2), np.float32), pd.DataFrame(), {})
    >>> out = training_arrays(res, ["b", "a", "c"], labels=[1, 0, 1], fill_value=np.nan)
    Traceback (most recent call last):
    ...
    asttools.errors.ParameterError: 1 of 3 ids are not in this result, e.g. ['c']: give ids of its inputs (result.table['id'])
    >>> out = training_arrays(res, ["b", "a"], labels=[1, 0])
    >>> out.x.shape, out.step_mask.tolist(), out.has_audio.tolist()
    ((2, 2, 4), [[True, False], [True, True]], [True, True])
    """  # noqa: E501
    fill_value = fill_value_of(fill_value, fill, where="training_arrays")
    table, emb, kind, known, meta = _rows_of(source)
    if ids is None:
        ids = known
    elif isinstance(ids, (str, bytes)):
        raise ParameterError(f"ids={ids!r} is one string: give a list of clip ids")
    ids = [str(i) for i in ids]
    dup = pd.Series(ids)[pd.Series(ids).duplicated()].tolist()
    if dup:
        raise ParameterError(f"ids lists {dup[:3]} more than once: give each clip once")
    absent = [i for i in ids if i not in set(known)]
    if absent:
        raise ParameterError(f"{len(absent)} of {len(ids)} ids are not in this result, e.g. "
                             f"{absent[:3]}: give ids of its inputs (result.table['id'])")
    rows = {k: v for k, v in table.groupby("id", sort=False).indices.items()}
    t_max = max((len(rows.get(i, ())) for i in ids), default=0)
    n, d = len(ids), emb.shape[1]
    labels_arr = _per_clip(labels, ids, "labels")
    folds_arr = _per_clip(folds, ids, "folds")
    if path is not None:
        folder = Path(path)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ParameterError(f"{folder}: export needs a new or empty folder")
        folder.mkdir(parents=True, exist_ok=True)
        x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.float32,
                                      shape=(n, t_max, d))
    else:
        x = np.empty((n, t_max, d), np.float32)
    mask = np.zeros((n, t_max), bool)
    times = np.full((n, t_max), np.nan)
    times_all = table["time_s"].to_numpy(np.float64)
    has_all = table["has_audio"].to_numpy(bool)
    for c, i in enumerate(ids):  # clip by clip: x need not fit in memory
        r = rows.get(i, np.zeros(0, np.intp))
        r = r[np.argsort(times_all[r], kind="stable")]
        block = np.full((t_max, d), fill_value, np.float32)
        block[: len(r)] = emb[r]
        ok = has_all[r]
        block[: len(r)][~ok] = fill_value
        x[c] = block
        mask[c, : len(r)] = ok
        times[c, : len(r)] = times_all[r]
    out_meta = {"kind": kind, "fill": None if np.isnan(fill_value) else float(fill_value),
                "model": meta.get("model"), "layer": meta.get("layer"),
                "pooling": meta.get("pooling"), "pooled": meta.get("pooled"),
                "random_weights": bool(meta.get("random_weights", False))}
    result = TrainingArrays(ids, x, mask, times, mask.any(axis=1), labels_arr, folds_arr,
                            out_meta)
    if path is None:
        return result
    x.flush()
    del x
    folder = Path(path)
    np.save(folder / "step_mask.npy", result.step_mask)
    np.save(folder / "times.npy", result.times)
    np.save(folder / "has_audio.npy", result.has_audio)
    for name, arr in (("labels", labels_arr), ("folds", folds_arr)):
        if arr is not None:
            if arr.dtype.kind == "O":
                arr = arr.astype(str)
            np.save(folder / f"{name}.npy", arr, allow_pickle=False)
    (folder / "meta.json").write_text(json.dumps({"ids": ids, **out_meta}, default=str))
    return load_training_arrays(folder)


def load_training_arrays(path: str | os.PathLike, *, mmap: bool = True) -> TrainingArrays:
    """Read an export folder written by :func:`training_arrays` (``path=``).

    Parameters
    ----------
    path : str or os.PathLike
    mmap : bool, default True
        Map ``x`` read-only instead of reading it into memory.

    Returns
    -------
    TrainingArrays

    Raises
    ------
    ParameterError
        The folder lacks the files an export writes.
    """
    folder = Path(path)
    need = [f for f in EXPORT_FILES[:4] + ("meta.json",) if not (folder / f).is_file()]
    if need:
        raise ParameterError(f"{folder}: not an export folder of training_arrays (no "
                             f"{', '.join(need)})")
    meta = json.loads((folder / "meta.json").read_text())
    ids = [str(i) for i in meta.pop("ids")]

    def opt(name: str) -> np.ndarray | None:
        f = folder / f"{name}.npy"
        return np.load(f, allow_pickle=False) if f.is_file() else None

    return TrainingArrays(
        ids, np.load(folder / "x.npy", mmap_mode="r" if mmap else None),
        np.load(folder / "step_mask.npy"), np.load(folder / "times.npy"),
        np.load(folder / "has_audio.npy"), opt("labels"), opt("folds"), meta)


class TrainingDataset(Dataset):
    """A ``torch.utils.data.Dataset`` over exported arrays: one clip per item.

    Parameters
    ----------
    source : str, os.PathLike, TrainingArrays, TimestampResult or EmbeddingResult
        An export folder (read through memory maps, opened in each worker process on its
        first item, so nothing is copied into the workers), arrays in memory, or a result
        (laid out by :func:`training_arrays` with its defaults: every input, fill 0).
    indices : sequence of int, optional
        Only these clips (e.g. a fold's: ``np.flatnonzero(arrays.folds != k)``).

    Items are dicts of tensors: ``audio`` (float32, ``(T, d)``), ``mask`` (bool,
    ``(T,)``), ``has_audio`` (bool), ``index`` (int64, the clip's row), and ``label`` and
    ``fold`` when exported (tensors when numeric, else as stored).
    """

    def __init__(self, source, *, indices=None):
        if hasattr(source, "embeddings") and hasattr(source, "table"):  # a result
            source = training_arrays(source)
        if isinstance(source, TrainingArrays):
            self._path, self._arrays = None, source
            n = len(source)
        else:
            self._path, self._arrays = Path(source), None
            n = len(load_training_arrays(self._path).ids)
        self._indices = np.arange(n) if indices is None else np.asarray(indices, np.int64)
        if len(self._indices) and (self._indices.min() < 0 or self._indices.max() >= n):
            raise ParameterError(f"indices must lie in 0..{n - 1}")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self._path is not None:
            state["_arrays"] = None  # each worker maps the files itself
        return state

    def _open(self) -> TrainingArrays:
        if self._arrays is None:
            self._arrays = load_training_arrays(self._path)
        return self._arrays

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, k: int) -> dict[str, Any]:
        a = self._open()
        i = int(self._indices[k])
        item = {"audio": torch.from_numpy(np.array(a.x[i], np.float32)),
                "mask": torch.from_numpy(np.array(a.step_mask[i])),
                "has_audio": torch.tensor(bool(a.has_audio[i])),
                "index": torch.tensor(i, dtype=torch.int64)}
        for name, arr in (("label", a.labels), ("fold", a.folds)):
            if arr is not None:
                v = arr[i]
                item[name] = torch.tensor(v) if np.asarray(v).dtype.kind in "biuf" else v
        return item
