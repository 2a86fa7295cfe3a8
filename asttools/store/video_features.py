"""Video features in the embedding store, on the audio's clock, joined with the audio.

:func:`extract_video` computes a video model's vectors (:mod:`asttools.model.video_model`) for
every input and keeps them in the same store as the audio (:func:`asttools.extract`),
under their own settings key::

    STORE/_video/<settings key>/settings.json         model, sampling, versions
    STORE/_video/<settings key>/vectors-000001.parquet one row per vector
    STORE/_video/<settings key>/inputs-000001.parquet  one row per input: id, status

Names that start with ``_`` are skipped by pyarrow, so ``pd.read_parquet(STORE)`` still
reads the audio rows only. A vector row holds ``content_hash`` (sha256 of the file's
bytes), ``vector`` (its index in the video), ``start_s``, ``end_s``, ``time_s`` (seconds
on the video's clock, the clock of the audio's ``audio_offset_s`` and of
:func:`asttools.timestamps.timestamp_embeddings`), ``n_padded`` and ``embedding``. An input
row holds ``id``, ``path``, ``content_hash``, ``video_status`` (:data:`VIDEO_STATUSES`),
``reason``, ``n_vectors``, ``frame_rate``, ``variable_frame_rate``, ``video_duration_s``
and ``warning`` (a damaged stream). The cache is by content: a file whose bytes were done
with these settings is not decoded again (a renamed copy neither); a run that is killed
keeps every flushed part and the next run goes on from there. The store's folder must be
local (or a mounted file system).

:func:`video_matrix` gives one vector per clip id, the ``(ids, X)`` that
:func:`asttools.aligned_embeddings` and ``robustness_curve`` take as video features;
:func:`join_timeline` puts per id the audio steps and the video vectors on one grid.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from .._version import __version__
from ..errors import ASTToolsWarning, ParameterError, StoreError, VideoError
from ..audio.frames import FrameBatch, iter_frame_batches
from ..run.inputs import list_inputs
from ..timestamps import pool_to_times
from ..model.video_model import (
    VideoModel,
    describe_video_model,
    load_video_model,
    video_embeddings,
    video_meta,
)

__all__ = [
    "VIDEO_STATUSES",
    "VideoFeatures",
    "extract_video",
    "join_timeline",
    "read_video_features",
    "video_matrix",
    "video_settings_key",
]

#: What became of an input's video: ``"ok"`` (vectors computed; a damaged stream gives
#: the vectors before the damage and a ``warning``), ``"no_video_stream"`` (an audio file,
#: say), ``"unreadable"``, ``"decode_error"`` (no frame could be decoded).
VIDEO_STATUSES = ("ok", "no_video_stream", "unreadable", "decode_error")
#: The folder of the store that holds video features.
VIDEO_DIR = "_video"
_INPUT_COLUMNS = ("id", "path", "content_hash", "video_status", "reason", "n_vectors",
                  "frame_rate", "variable_frame_rate", "video_duration_s", "warning")
_VECTOR_COLUMNS = ("content_hash", "vector", "start_s", "end_s", "time_s", "n_padded")
_SEGMENT = ("segment_start_s", "segment_end_s")
_ID_COLUMNS = ("id", "path", "content_hash", *_SEGMENT)
#: The pooling choices of :func:`video_matrix`.
CLIP_POOLINGS = ("mean", "max")


@dataclass
class VideoFeatures:
    """Video vectors of many inputs, each at its time on the video's clock.

    Attributes
    ----------
    table : DataFrame
        One row per vector: ``id``, ``path``, ``vector``, ``start_s``, ``end_s``,
        ``time_s``, ``n_padded``; in input order, then time.
    embeddings : ndarray, float32, shape (len(table), d)
    inputs : DataFrame
        One row per input (``id``, ``path``, ``content_hash``, ``video_status``,
        ``reason``, ``n_vectors``, ``frame_rate``, ``variable_frame_rate``,
        ``video_duration_s``, ``warning``).
    meta : dict
        The settings (model, sampling, precision), ``random_weights``, ``settings_key``.
    """

    table: pd.DataFrame
    embeddings: np.ndarray
    inputs: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def random_weights(self) -> bool:
        return bool(self.meta.get("random_weights"))

    def get(self, id: str) -> tuple[np.ndarray, np.ndarray]:
        """``(time_s (n,), embeddings (n, d))`` of one id."""
        rows = (self.table["id"] == id).to_numpy()
        if not rows.any() and id not in set(self.inputs["id"]):
            raise ParameterError(f"id {id!r} is not among the video features' inputs")
        return self.table["time_s"].to_numpy()[rows], self.embeddings[rows]

    def __repr__(self) -> str:
        random = ", RANDOM weights" if self.random_weights else ""
        ok = int((self.inputs["video_status"] == "ok").sum())
        return (f"VideoFeatures({len(self.inputs)} inputs ({ok} ok), {len(self.table)} "
                f"vectors x {self.embeddings.shape[1]}{random})")


def video_settings_key(settings: dict[str, Any]) -> str:
    """The store's key of a settings dict: 16 hex digits of its canonical JSON's sha256."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def extract_video(
    inputs: str | os.PathLike | Iterable[str | os.PathLike] | pd.DataFrame,
    store: str | os.PathLike,
    *,
    model: VideoModel | str | os.PathLike | None = None,
    fps: float | None = None,
    snippet: int | None = None,
    stride: int | None = None,
    batch_size: int = 8,
    workers: int = 0,
    precision: str = "fp32",
    device: str = "auto",
    id_column: str | None = None,
    flush_items: int = 64,
    progress: bool = False,
) -> VideoFeatures:
    """Compute video features of every input into the store; cached, resumable.

    Parameters
    ----------
    inputs : path, list of paths, or DataFrame
        As :func:`asttools.run.inputs.list_inputs` (folders, manifests with ``id``), so the ids
        are the audio store's ids. A manifest's segments (``start_s``/``end_s``) get the
        vectors of their file that overlap them (the file is computed once for all its
        segments).
    store : path
        The embedding store's folder (created if missing).
    model : VideoModel or str, optional
        A loaded :class:`~asttools.model.video_model.VideoModel`, or a name for
        :func:`~asttools.model.video_model.load_video_model` (default its default). Loaded only
        when something needs computing.
    fps : float, optional
        Sample frames at this rate (the frame on screen at ``k / fps``); default every
        frame. VideoMAE's Kinetics checkpoint saw 16 frames sampled every 4th frame of
        30 fps video: ``fps=7.5`` is close.
    snippet : int, optional
        Frames per vector; default the model's (16 for VideoMAE, 1 for an image encoder).
    stride : int, optional
        Frames between snippet starts; default ``snippet``.
    batch_size : int, default 8
        Vectors per forward pass and per decoded batch.
    workers : int, default 0
        Decoding threads (:func:`asttools.audio.frames.iter_frame_batches`).
    precision : str, default "fp32"
    device : str, default "auto"
    id_column : str, optional
    flush_items : int, default 64
        Inputs per part file.
    progress : bool, default False

    Returns
    -------
    VideoFeatures
        Every input of this call, from the store (computed now or before).

    Raises
    ------
    ParameterError
        A bad sampling (see :func:`asttools.audio.frames.sample_frames`), a snippet length a
        snippet model cannot take.
    StoreError
        The store cannot be written.
    """
    table = list_inputs(inputs, id_column=id_column)
    if isinstance(model, VideoModel):
        vm: VideoModel | None = model
        name, kind, frames = model.name, model.kind, model.frames_per_vector
    else:
        vm = None
        name, kind, frames = describe_video_model(model)
    n = frames if snippet is None else snippet
    if kind == "snippet" and n != frames:
        raise ParameterError(f"snippet={n}: {name} takes snippets of {frames} frames")
    settings = {"video_model": name, "fps": fps, "snippet": n,
                "stride": n if stride is None else stride, "precision": precision}
    key = video_settings_key(settings)
    folder = Path(store) / VIDEO_DIR / key
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot create {folder}: {e}") from e
    done = _read_inputs(folder)
    settled = set(done.loc[done["video_status"].isin(["ok", "no_video_stream"]),
                           "content_hash"])
    rows, todo = [], {}
    segs = table[list(_SEGMENT)].to_numpy(float) if set(_SEGMENT) <= set(table.columns) \
        else np.full((len(table), 2), np.nan)
    for r, (a, b) in zip(table.itertuples(index=False), segs, strict=True):
        path = str(r.path)
        try:
            digest = _sha256(path)
        except OSError as e:
            rows.append(_input_row(r.id, path, None, "unreadable", str(e)))
            rows[-1].update(dict(zip(_SEGMENT, (a, b), strict=True)))
            continue
        rows.append({"id": r.id, "path": path, "content_hash": digest,
                     **dict(zip(_SEGMENT, (a, b), strict=True))})
        if digest not in settled:
            todo.setdefault(digest, path)
    meta_file = folder / "settings.json"
    if todo:
        if vm is None:
            vm = load_video_model(model, device=device)
        meta = {**settings, **video_meta(vm, precision), "settings_key": key,
                "asttools_version": __version__}
        _write_json(meta_file, meta)
        _compute(todo, folder, vm, fps=fps, snippet=n, stride=stride, batch_size=batch_size,
                 workers=workers, precision=precision, flush_items=flush_items,
                 progress=progress)
    status_rows = [r for r in rows if "video_status" in r]
    if status_rows:
        _publish(folder, "inputs", pd.DataFrame(status_rows, columns=_INPUT_COLUMNS))
    wanted = pd.DataFrame([{c: r[c] for c in _ID_COLUMNS} for r in rows],
                          columns=list(_ID_COLUMNS))
    seen = set(_read_ids(folder).fillna(-1.0).fillna("").itertuples(index=False))
    if any(tuple(r) not in seen
           for r in wanted.fillna(-1.0).fillna("").itertuples(index=False)):
        # which id is which file (and segment), for read_video_features
        _publish(folder, "ids", wanted)
    return _assemble(folder, wanted)


def read_video_features(
    store: str | os.PathLike, *, settings_key: str | None = None
) -> VideoFeatures:
    """Every input's video features in a store (the latest settings unless named).

    Parameters
    ----------
    store : path
    settings_key : str, optional
        One of the keys under ``STORE/_video/``; default the most recently written.

    Returns
    -------
    VideoFeatures
        One row per id in ``inputs`` (the latest status of each id).

    Raises
    ------
    StoreError
        No video features in the store, or not with that key.
    """
    root = Path(store) / VIDEO_DIR
    keys = sorted(root.glob("*/settings.json"), key=lambda p: p.stat().st_mtime)
    if not keys:
        raise StoreError(f"{store}: no video features (run asttools.extract_video or "
                         "`asttools video-features`)")
    folder = root / settings_key if settings_key else keys[-1].parent
    if not (folder / "settings.json").is_file():
        raise StoreError(f"{store}: no video features with settings key {settings_key!r}; "
                         f"it holds {[p.parent.name for p in keys]}")
    wanted = _read_ids(folder).drop_duplicates("id", keep="last")
    return _assemble(folder, wanted.reset_index(drop=True))


def video_matrix(
    features: VideoFeatures | str | os.PathLike,
    *,
    ids: Iterable[str] | None = None,
    pooling: str = "mean",
) -> tuple[np.ndarray, np.ndarray]:
    """One video vector per clip: the ``(ids, X)`` pair that ``aligned_embeddings`` and
    ``robustness_curve`` take as video features.

    Parameters
    ----------
    features : VideoFeatures or store path
    ids : iterable of str, optional
        The clips wanted, in this order; default every id with ``video_status == "ok"``.
    pooling : {"mean", "max"}, default "mean"
        Over each clip's vectors.

    Returns
    -------
    ids : ndarray of str, shape (n,)
    X : ndarray, float32, shape (n, d)

    Raises
    ------
    ParameterError
        An unknown pooling, or ids without video vectors (the message lists them and
        their status).
    """
    vf = features if isinstance(features, VideoFeatures) else read_video_features(features)
    if pooling not in CLIP_POOLINGS:
        raise ParameterError(f"pooling={pooling!r} is not one of {CLIP_POOLINGS}")
    have = set(vf.table["id"])
    order = [str(i) for i in ids] if ids is not None else \
        [i for i in vf.inputs.loc[vf.inputs["video_status"] == "ok", "id"] if i in have]
    missing = [i for i in order if i not in have]
    if missing:
        status = dict(zip(vf.inputs["id"], vf.inputs["video_status"], strict=True))
        said = ", ".join(f"{i} ({status.get(i, 'not in the store')})" for i in missing[:5])
        raise ParameterError(f"{len(missing)} id(s) have no video vectors: {said}")
    groups = pd.Series(np.arange(len(vf.table))).groupby(vf.table["id"].to_numpy())
    index = groups.indices
    reduce = np.mean if pooling == "mean" else np.max
    X = np.stack([reduce(vf.embeddings[index[i]], axis=0) for i in order]) if order else \
        np.zeros((0, vf.embeddings.shape[1]), np.float32)
    return np.asarray(order, dtype=str), X.astype(np.float32)


def join_timeline(audio, video: VideoFeatures, *, on: str = "video") -> tuple[
        pd.DataFrame, np.ndarray, np.ndarray]:
    """Audio steps and video vectors of each id on one time grid.

    Parameters
    ----------
    audio : TimestampResult
        Steps from :func:`asttools.timestamp_embeddings` (not pooled); matched by ``id``,
        else by the file's path.
    video : VideoFeatures
    on : {"video", "audio"}, default "video"
        ``"video"``: the grid is each video vector's span, and the audio steps inside it
        are pooled onto it (:func:`~asttools.timestamps.pool_to_times`, spans); ``"audio"``:
        the grid is the audio steps' times, and the video vectors are pooled onto them
        (the vector whose span holds the time, interpolated between vector centres).

    Returns
    -------
    table : DataFrame
        One row per grid point: ``id``, ``time_s``, ``start_s``, ``end_s``, ``has_audio``
        (the point lies within the audio's ``[offset_s, offset_s + duration_s)``).
    audio_emb : ndarray, float32, shape (len(table), d_audio)
        NaN where the id has no audio.
    video_emb : ndarray, float32, shape (len(table), d_video)
    """
    if on not in ("video", "audio"):
        raise ParameterError(f"on={on!r} is not one of ('video', 'audio')")
    if audio.meta.get("pooled"):
        raise ParameterError("join_timeline takes the audio steps, not a pooled result")
    d_a, d_v = audio.embeddings.shape[1], video.embeddings.shape[1]
    a_items = {row.id: row for row in audio.inputs.itertuples(index=False)}
    a_paths = {os.path.realpath(str(row.path)): row
               for row in audio.inputs.itertuples(index=False)}
    v_paths = dict(zip(video.inputs["id"], video.inputs["path"], strict=True))
    tables, A, V = [], [], []
    for vid in dict.fromkeys(video.table["id"]):
        rows = (video.table["id"] == vid).to_numpy()
        vt = video.table[rows]
        ve = video.embeddings[rows]
        spans = vt[["start_s", "end_s"]].to_numpy()
        a_row = a_items.get(vid) or a_paths.get(os.path.realpath(str(v_paths[vid])))
        t, e = audio._steps(a_row.item) if a_row is not None else (np.zeros(0), None)
        if on == "video" or not len(t):
            if len(t):
                p = pool_to_times(t, e, times=spans)
                aemb = p.embeddings
            else:
                aemb = np.full((len(vt), d_a), np.nan, np.float32)
            grid = vt[["time_s", "start_s", "end_s"]].reset_index(drop=True)
            vemb = ve
        else:
            aemb = e
            p = pool_to_times(vt["time_s"].to_numpy(), ve, times=t)
            vemb = p.embeddings
            grid = pd.DataFrame({"time_s": t, "start_s": t, "end_s": t})
        if a_row is not None and np.isfinite(a_row.offset_s):
            lo, hi = a_row.offset_s, a_row.offset_s + a_row.duration_s
            has = ((grid["end_s"] > lo) & (grid["start_s"] < hi)) | \
                ((grid["start_s"] >= lo) & (grid["start_s"] < hi))
        else:
            has = pd.Series(False, index=grid.index)
        grid.insert(0, "id", vid)
        grid["has_audio"] = has.to_numpy()
        aemb = np.where(grid["has_audio"].to_numpy()[:, None], aemb, np.nan)
        tables.append(grid)
        A.append(aemb.astype(np.float32))
        V.append(vemb.astype(np.float32))
    if not tables:
        return (pd.DataFrame(columns=["id", "time_s", "start_s", "end_s", "has_audio"]),
                np.zeros((0, d_a), np.float32), np.zeros((0, d_v), np.float32))
    return pd.concat(tables, ignore_index=True), np.concatenate(A), np.concatenate(V)


# --------------------------------------------------------------------------- the run


def _compute(todo: dict[str, str], folder: Path, vm: VideoModel, *, fps, snippet, stride,
             batch_size, workers, precision, flush_items, progress) -> None:
    by_path = {p: h for h, p in todo.items()}
    vec_rows: list[dict] = []
    vec_emb: list[np.ndarray] = []
    in_rows: list[dict] = []
    current: dict[str, Any] = {}
    bar = None
    if progress:
        bar = tqdm(total=len(todo), unit="video", desc="video features")

    def finish() -> None:
        if not current:
            return
        n_vec = current["n"]
        status = "ok" if n_vec else "decode_error"
        reason = None if n_vec else "no frame could be decoded"
        ft = current.get("times")
        in_rows.append(_input_row(
            None, current["path"], by_path[current["path"]], status, reason, n_vectors=n_vec,
            frame_rate=ft.nominal_rate if ft else None,
            variable_frame_rate=ft.variable_frame_rate if ft else None,
            video_duration_s=ft.end_s if ft else None,
            warning="; ".join(current["warnings"]) or None))
        current.clear()
        if bar is not None:
            bar.update(1)
        if len(in_rows) >= flush_items:
            flush()

    def flush() -> None:
        if vec_rows:
            frame = pd.DataFrame(vec_rows, columns=_VECTOR_COLUMNS)
            _publish(folder, "vectors", frame, np.concatenate(vec_emb))
        if in_rows:  # after the vectors: an input is settled once its vectors are on disk
            _publish(folder, "inputs", pd.DataFrame(in_rows, columns=_INPUT_COLUMNS))
        vec_rows.clear()
        vec_emb.clear()
        in_rows.clear()

    stream = iter_frame_batches(list(todo.values()), fps=fps, snippet=snippet, stride=stride,
                                batch_size=batch_size, workers=workers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)  # recorded per input instead
        for path, out in stream:
            if current and current["path"] != path:
                finish()
            if isinstance(out, VideoError):
                in_rows.append(_input_row(None, path, by_path[path], out.status, out.reason))
                if bar is not None:
                    bar.update(1)
                continue
            if not current:
                current.update(path=path, n=0, warnings=[], times=out.times)
            batch: FrameBatch = out
            current["warnings"].extend(batch.warnings)
            if len(batch):
                emb = video_embeddings(batch.pixels, model=vm, batch_size=batch_size,
                                       precision=precision)
                for j in range(len(batch)):
                    vec_rows.append({"content_hash": by_path[path],
                                     "vector": current["n"] + j,
                                     "start_s": batch.start_s[j], "end_s": batch.end_s[j],
                                     "time_s": batch.time_s[j],
                                     "n_padded": int(batch.n_padded[j])})
                vec_emb.append(emb)
                current["n"] += len(batch)
        finish()
        flush()
    if bar is not None:
        bar.close()


def _input_row(id_, path, digest, status, reason=None, **extra) -> dict[str, Any]:
    row = dict.fromkeys(_INPUT_COLUMNS)
    row.update({"id": id_, "path": path, "content_hash": digest, "video_status": status,
                "reason": reason, "n_vectors": 0, **extra})
    return row


def _assemble(folder: Path, wanted: pd.DataFrame) -> VideoFeatures:
    """The features of ``wanted`` (id, path, content_hash) from the store's parts."""
    meta = json.loads((folder / "settings.json").read_text()) \
        if (folder / "settings.json").is_file() else {}
    done = _read_inputs(folder)
    by_hash = done.dropna(subset=["content_hash"]).drop_duplicates("content_hash",
                                                                  keep="last")
    by_hash = by_hash.set_index("content_hash")
    by_path = done.drop_duplicates("path", keep="last").set_index("path")
    inputs = []
    for r in wanted.itertuples(index=False):
        if isinstance(r.content_hash, str) and r.content_hash in by_hash.index:
            row = by_hash.loc[r.content_hash].to_dict()
        else:
            row = by_path.loc[r.path].to_dict() if r.path in by_path.index else \
                _input_row(None, r.path, None, "unreadable", "not computed")
        row.update(id=r.id, path=r.path, content_hash=r.content_hash,
                   segment_start_s=r.segment_start_s, segment_end_s=r.segment_end_s)
        inputs.append(row)
    inputs = pd.DataFrame(inputs, columns=[*_INPUT_COLUMNS, *_SEGMENT])
    if inputs[list(_SEGMENT)].isna().all().all():
        inputs = inputs.drop(columns=list(_SEGMENT))
    vec, emb = _read_vectors(folder)
    tables, embs = [], []
    for r in wanted.assign(video_status=inputs["video_status"].to_numpy()).itertuples(
            index=False):
        if r.video_status != "ok":
            continue
        rows = (vec["content_hash"] == r.content_hash).to_numpy().copy()
        if np.isfinite(r.segment_start_s):  # a segment: the vectors that overlap it
            rows &= (vec["end_s"] > r.segment_start_s).to_numpy() & \
                (vec["start_s"] < r.segment_end_s).to_numpy()
        t = vec[rows].drop_duplicates("vector", keep="first")
        order = t.sort_values("vector").index.to_numpy()
        t = vec.loc[order].drop(columns="content_hash")
        t.insert(0, "path", r.path)
        t.insert(0, "id", r.id)
        tables.append(t)
        embs.append(emb[order])
    d = emb.shape[1] if emb.ndim == 2 and emb.shape[1] else int(meta.get("hidden_size", 0))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["id", "path", "vector", "start_s", "end_s", "time_s", "n_padded"])
    return VideoFeatures(table, np.concatenate(embs) if embs else np.zeros((0, d), np.float32),
                         inputs, meta)


# --------------------------------------------------------------------------- files


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _parts(folder: Path, prefix: str) -> list[Path]:
    return sorted(folder.glob(f"{prefix}-*.parquet"))


def _read_inputs(folder: Path) -> pd.DataFrame:
    frames = []
    for p in _parts(folder, "inputs"):
        try:
            frames.append(pd.read_parquet(p))
        except (OSError, pa.ArrowException) as e:
            warnings.warn(f"{p}: unreadable part skipped ({e})", ASTToolsWarning, stacklevel=3)
    if not frames:
        return pd.DataFrame(columns=_INPUT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _read_ids(folder: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in _parts(folder, "ids")]
    out = pd.concat(frames, ignore_index=True) if frames else \
        pd.DataFrame(columns=list(_ID_COLUMNS))
    return out.astype({c: float for c in _SEGMENT})


def _read_vectors(folder: Path) -> tuple[pd.DataFrame, np.ndarray]:
    frames, embs = [], []
    for p in _parts(folder, "vectors"):
        try:
            t = pq.read_table(p)
        except (OSError, pa.ArrowException) as e:
            warnings.warn(f"{p}: unreadable part skipped ({e})", ASTToolsWarning, stacklevel=3)
            continue
        col = t.column("embedding").combine_chunks()
        width = col.type.list_size
        embs.append(col.flatten().to_numpy().reshape(-1, width).astype(np.float32))
        frames.append(t.drop(["embedding"]).to_pandas())
    if not frames:
        return pd.DataFrame(columns=_VECTOR_COLUMNS), np.zeros((0, 0), np.float32)
    return pd.concat(frames, ignore_index=True), np.concatenate(embs)


def _publish(folder: Path, prefix: str, frame: pd.DataFrame,
             emb: np.ndarray | None = None) -> Path:
    """Write one part under a temporary name, then rename it into place."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if emb is not None:
        emb = np.ascontiguousarray(emb, np.float32)
        values = pa.array(emb.reshape(-1), pa.float32())
        table = table.append_column(
            "embedding", pa.FixedSizeListArray.from_arrays(values, emb.shape[1]))
    seq = len(list(folder.glob("*-*.parquet"))) + 1
    path = folder / f"{prefix}-{seq:06d}-{os.getpid()}-{time.time_ns() % 10**9:09d}.parquet"
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise StoreError(f"cannot write {path}: {e}") from e
    return path


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str))
        os.replace(tmp, path)
    except OSError as e:
        raise StoreError(f"cannot write {path}: {e}") from e
