"""The embedding store: extract once, resume after a crash, never pay twice.

An embedding store is a directory of Parquet files that pandas opens in one line::

    STORE/
      part-000000-schema.parquet    zero rows: every column any part has (see below)
      part-000001-1f3a9c2e.parquet  window rows, one file per flush (every 256 inputs
      part-000002-8b0d41aa.parquet  or 2 minutes), written to a temporary name and
      ...                           renamed into place, so a file is never half-written
      _errors/part-000003-....parquet  inputs that failed: path, content_hash, reason
      _meta.json                    settings of each run, the latest run's settings key

``pd.read_parquet(STORE)`` reads every window row ever written (pyarrow skips names that
start with ``_`` or ``.``). A row is one analysis window of one file: ``path`` (absolute),
``window``, ``start_s``, ``end_s``, ``clip_duration_s``, ``content_hash`` (sha256 of the
file's bytes), ``settings_key`` (hash of model, pooling, layer, window, hop, channel),
``file_size``, ``file_mtime_ns``, the columns carried from a manifest, ``top1_label``,
``top1_prob`` … ``top3_prob``, and two FixedSizeList<float32> vectors: ``embedding``
(hidden wide) and ``probs`` (one per label). Every part file's schema metadata holds the
run's settings, versions, ``random_weights`` and label names (``asttools.meta``).

A store can hold several settings (another pooling, layer or window) of one model, and
rows superseded by a later run (a file whose content changed). :func:`read_store` returns
the current view: for one settings key (default: the latest run's), for each path, the
rows of the newest part that wrote that path — unless a newer error for that path
supersedes them. :func:`extract` fills a store and returns that view for its inputs:

- inputs already in the store with the same content hash and settings are skipped
  (a file whose size and modification time are unchanged is not even re-read);
- a file whose content changed, or a run with other settings, is recomputed;
- a file whose content is already in the store under another name (a duplicate, a
  renamed or moved file) gets its own rows copied from the stored ones, no model run;
  within a run, duplicates are computed once;
- failed inputs are recorded in ``_errors``; a re-run retries those that could not be
  read (missing, no permission) or whose content changed (a fixed file, a completed
  download), and reports the others from the store without decoding them again
  (``retry_failed=True`` retries them all);
- the model is loaded only if something needs computing.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import stat
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .audio import MEDIA_EXTENSIONS, SAMPLE_RATE
from .embed import (
    POOLINGS,
    WINDOW_S,
    EmbeddingResult,
    ItemError,
    ItemResult,
    _check_pooling,
    _Item,
    _sigmoid,
    iter_embed,
    run_meta,
)
from .errors import ASTToolsWarning, ParameterError, StoreError
from .features import window_bounds
from .model import load_model, model_info, resolve_model_name

__all__ = [
    "FLUSH_ITEMS",
    "FLUSH_SECONDS",
    "STORE_POOLINGS",
    "compact_store",
    "extract",
    "list_inputs",
    "read_store",
    "settings_key",
]

#: Version of the on-disk layout, recorded in every settings key and in ``_meta.json``.
STORE_FORMAT_VERSION = 1
#: Poolings a store accepts: ``"grid"`` (12 x 101 x hidden floats per window, 3.7 MB for
#: the full model) would make a 10,000-clip store tens of gigabytes.
STORE_POOLINGS = tuple(p for p in POOLINGS if p != "grid")
#: Default number of finished inputs per part file.
FLUSH_ITEMS = 256
#: Default longest time in seconds between flushes (the most work a crash can lose).
FLUSH_SECONDS = 120.0
#: How many of the most probable labels each stored row names (``top1_label`` ...).
TOP_LABELS = 3
META_FILE = "_meta.json"
ERRORS_DIR = "_errors"
SCHEMA_PART = "part-000000-schema.parquet"
_META_KEY = b"asttools.meta"
_KEY_KEY = b"asttools.settings_key"
_HASH_BLOCK = 1 << 20
#: Columns of a stored window row before the carried manifest columns.
ROW_COLUMNS = (
    "path", "window", "start_s", "end_s", "clip_duration_s",
    "content_hash", "settings_key", "file_size", "file_mtime_ns",
)  # fmt: skip
_TOP_COLUMNS = tuple(f"top{i}_{w}" for i in range(1, TOP_LABELS + 1) for w in ("label", "prob"))
_VECTOR_COLUMNS = ("embedding", "probs")
#: Names a manifest column cannot have (the store's own columns).
RESERVED_COLUMNS = frozenset(ROW_COLUMNS + _TOP_COLUMNS + _VECTOR_COLUMNS + ("item", "reason"))
_ERROR_COLUMNS = ("path", "content_hash", "settings_key", "reason")


# --------------------------------------------------------------------------- inputs


def list_inputs(
    inputs: str | os.PathLike | Iterable[str | os.PathLike] | pd.DataFrame,
    *,
    extensions: Iterable[str] = MEDIA_EXTENSIONS,
) -> pd.DataFrame:
    """Expand files, directories and manifest CSVs into a table of input files.

    Parameters
    ----------
    inputs : path, list of paths, or DataFrame
        Each path is a file (taken as is, whatever its extension), a directory (walked
        recursively for files whose suffix, in any case, is in ``extensions``; names
        starting with ``.`` are skipped; sorted), or a manifest ``.csv`` with a ``path``
        column (relative paths are resolved against the CSV's folder; its other columns,
        labels or folds, are carried to every row of that file). A DataFrame is read
        like a manifest, with relative paths resolved against the working directory.
    extensions : iterable of str, default :data:`asttools.audio.MEDIA_EXTENSIONS`
        Suffixes, with the dot, that directory walks pick up.

    Returns
    -------
    DataFrame
        ``path`` (absolute, symlinks resolved, each once, first occurrence kept) and the
        carried columns, in input order.

    Raises
    ------
    ParameterError
        A path that does not exist, a manifest without a ``path`` column or with an empty
        path, or a manifest column named like one of the store's own columns.

    Examples
    --------
    >>> import asttools.store as s, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "b.WAV").write_bytes(b""); _ = (d / "a.flac").write_bytes(b"")
    >>> [pathlib.Path(p).name for p in s.list_inputs(d)["path"]]
    ['a.flac', 'b.WAV']
    """
    exts = frozenset(e.lower() for e in extensions)
    if isinstance(inputs, pd.DataFrame):
        frames = [_from_frame(inputs, base=Path.cwd(), what="the input DataFrame")]
    else:
        if isinstance(inputs, (str, os.PathLike)):
            inputs = [inputs]
        frames = []
        for p in inputs:
            path = Path(p).expanduser()
            if path.is_dir():
                frames.append(pd.DataFrame({"path": _walk(path, exts)}, dtype=object))
            elif path.suffix.lower() == ".csv" and path.is_file():
                frames.append(_read_manifest(path))
            elif path.exists() or path.is_symlink():
                frames.append(pd.DataFrame({"path": [str(path.resolve())]}, dtype=object))
            else:
                raise ParameterError(f"{os.fspath(p)}: no such file or directory")
    frames = [f for f in frames if len(f)] or [pd.DataFrame({"path": []}, dtype=object)]
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates("path", keep="first").reset_index(drop=True)


def _walk(root: Path, exts: frozenset[str]) -> list[str]:
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop, or a folder linked twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                found.append(str(Path(folder, name).resolve()))
    return sorted(found)


def _read_manifest(csv: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(csv)
    except (OSError, ValueError) as err:
        raise ParameterError(f"{csv}: cannot be read as a manifest CSV ({err})") from err
    return _from_frame(table, base=csv.resolve().parent, what=str(csv))


def _from_frame(table: pd.DataFrame, *, base: Path, what: str) -> pd.DataFrame:
    if "path" not in table.columns:
        raise ParameterError(
            f"{what} has no 'path' column (its columns: {list(table.columns)}); add one "
            "with the audio file of each row, relative to the CSV's folder or absolute"
        )
    reserved = sorted(RESERVED_COLUMNS.intersection(map(str, table.columns)) - {"path"})
    if reserved:
        raise ParameterError(
            f"{what} has columns named like the store's own ({reserved}); rename them"
        )
    table = table.copy()
    table.columns = [str(c) for c in table.columns]
    missing = table["path"].isna() | (table["path"].astype(str).str.strip() == "")
    if missing.any():
        rows = list(np.flatnonzero(missing.to_numpy())[:5])
        raise ParameterError(f"{what} has rows with an empty path (rows {rows})")
    table["path"] = [str((base / Path(str(p)).expanduser()).resolve()) for p in table["path"]]
    table["path"] = table["path"].astype(object)
    return table[["path", *[c for c in table.columns if c != "path"]]]


def _extras(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "path"}


# --------------------------------------------------------------------------- settings


def _model_name(model) -> str:
    if model is None or isinstance(model, (str, os.PathLike)):
        name = resolve_model_name(model)
    else:
        name = str(model_info(model)["model"])
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def _settings(model, *, pooling, layer, window_s, hop_s, channel) -> dict[str, Any]:
    return {
        "model": _model_name(model),
        "pooling": pooling,
        "layer": int(layer),
        "window_s": round(float(window_s), 6),
        "hop_s": round(float(window_s if hop_s is None else hop_s), 6),
        "channel": None if channel is None else int(channel),
        "sample_rate": SAMPLE_RATE,
        "store_format": STORE_FORMAT_VERSION,
    }


def settings_key(settings: dict[str, Any]) -> str:
    """The 16-hex-digit key of a set of settings (model, pooling, layer, window, hop, ...).

    Parameters
    ----------
    settings : dict
        As recorded in ``result.meta["settings"]``.

    Returns
    -------
    str
    """
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- on disk


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def _file_reason(err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return "file not found"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, IsADirectoryError):
        return "is a directory, not an audio file"
    return f"cannot be read ({err.strerror or err})"


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        pq.write_table(table, tmp, compression="none")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_json_atomic(data: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _part_seq(name: str) -> int | None:
    parts = name.split("-")
    if len(parts) == 3 and parts[0] == "part" and name.endswith(".parquet"):
        try:
            return int(parts[1])
        except ValueError:
            return None
    return None


def _to_arrow(values: pd.Series) -> pa.Array:
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = pa.array(values.astype(str).astype(object))
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _vectors(column: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(arr) == 0:
        return np.zeros((0, width), np.float32)
    return arr.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, width)


def _fixed(matrix: np.ndarray) -> pa.FixedSizeListArray:
    flat = np.ascontiguousarray(matrix, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat), int(matrix.shape[1]))


@dataclass
class _Event:
    """The newest thing a store says about one path for one settings key."""

    seq: int
    kind: str  # "rows" or "error"
    content_hash: str | None = None
    file_size: int | None = None
    mtime_ns: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


class _Store:
    """Reads and writes the files of one store directory."""

    def __init__(self, root: str | os.PathLike, *, create: bool):
        self.root = Path(root).expanduser().absolute()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: is a file, not an embedding store directory")
        if not self.root.exists():
            if not create:
                raise StoreError(f"{self.root}: no such embedding store")
            self.root.mkdir(parents=True)
        self._footer: dict[Path, tuple[str | None, dict | None]] = {}

    # ---- listing
    def _parts(self, folder: Path) -> list[tuple[int, Path]]:
        if not folder.is_dir():
            return []
        found = []
        for name in os.listdir(folder):
            seq = _part_seq(name)
            if seq is not None and seq > 0:
                found.append((seq, folder / name))
        return sorted(found)

    def window_parts(self) -> list[tuple[int, Path]]:
        return self._parts(self.root)

    def error_parts(self) -> list[tuple[int, Path]]:
        return self._parts(self.root / ERRORS_DIR)

    def next_seq(self) -> int:
        seqs = [s for s, _ in self.window_parts() + self.error_parts()]
        return max(seqs, default=0) + 1

    def footer(self, path: Path) -> tuple[str | None, dict | None]:
        if path not in self._footer:
            try:
                md = pq.read_schema(path).metadata or {}
            except (OSError, pa.ArrowInvalid) as err:
                raise StoreError(f"{path}: not a readable Parquet part ({err})") from err
            key = md.get(_KEY_KEY, b"").decode() or None
            meta = json.loads(md[_META_KEY]) if _META_KEY in md else None
            self._footer[path] = (key, meta)
        return self._footer[path]

    def parts_for(self, key: str, *, errors: bool) -> list[tuple[int, Path]]:
        parts = self.error_parts() if errors else self.window_parts()
        return [(s, p) for s, p in parts if self.footer(p)[0] == key]

    # ---- metadata
    def read_meta_file(self) -> dict:
        path = self.root / META_FILE
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # rebuilt from the part files' footers

    def record(self, key: str, meta: dict | None) -> None:
        """Note ``key`` as the latest run's settings (and its meta, when known)."""
        data = self.read_meta_file()
        data.setdefault("format", "asttools embedding store")
        data["format_version"] = STORE_FORMAT_VERSION
        data.setdefault("settings", {})
        if meta is not None:
            data["settings"][key] = meta
        data["latest_settings_key"] = key
        _write_json_atomic(data, self.root / META_FILE)

    def all_settings(self) -> dict[str, dict]:
        """Every settings key with rows or errors in the store, and its meta."""
        found: dict[str, dict] = {}
        for _, p in self.window_parts() + self.error_parts():
            key, meta = self.footer(p)
            if key is not None and meta is not None:
                found[key] = meta
        return found

    def latest_key(self) -> str | None:
        key = self.read_meta_file().get("latest_settings_key")
        held = self.all_settings()
        if key in held:
            return key
        newest = None
        for _, p in self.window_parts() + self.error_parts():
            k = self.footer(p)[0]
            if k in held:
                newest = k  # sorted by seq: the last one wins
        return newest

    def schema(self) -> pa.Schema | None:
        path = self.root / SCHEMA_PART
        if path.is_file():
            return pq.read_schema(path)
        parts = self.window_parts()
        return pq.read_schema(parts[0][1]) if parts else None

    def widen_schema(self, schema: pa.Schema) -> None:
        """Keep the zero-row schema part the union of every part's columns."""
        current = self.schema() if (self.root / SCHEMA_PART).is_file() else None
        if current is not None and all(n in current.names for n in schema.names):
            return
        fields = list(current) if current is not None else []
        names = {f.name for f in fields}
        fields += [f for f in schema if f.name not in names]
        vectors = [f for f in fields if f.name in _VECTOR_COLUMNS]
        ordered = [f for f in fields if f.name not in _VECTOR_COLUMNS] + vectors
        _write_atomic(pa.schema(ordered).empty_table(), self.root / SCHEMA_PART)

    # ---- reading
    def index(self, key: str) -> tuple[dict[str, _Event], dict[str, tuple[Path, str]]]:
        """Newest event per path, and where rows of each content hash lie."""
        latest: dict[str, _Event] = {}
        by_hash: dict[str, tuple[Path, str]] = {}
        events = []
        for seq, p in self.parts_for(key, errors=False):
            names = pq.read_schema(p).names
            cols = [c for c in names if c not in _VECTOR_COLUMNS and c not in _TOP_COLUMNS]
            t = pq.read_table(p, columns=cols).to_pandas()
            first = t[t["window"] == 0] if "window" in t else t
            for row in first.to_dict("records"):
                extras = {k: v for k, v in row.items() if k not in ROW_COLUMNS}
                events.append((seq, row["path"], _Event(
                    seq, "rows", row["content_hash"], _int(row.get("file_size")),
                    _int(row.get("file_mtime_ns")), extras)))
                by_hash[row["content_hash"]] = (p, row["path"])
        for seq, p in self.parts_for(key, errors=True):
            t = pq.read_table(p, columns=["path", "content_hash", "reason"]).to_pandas()
            events.extend((seq, row["path"], _Event(seq, "error", _str(row["content_hash"]),
                                                    reason=row["reason"]))
                          for row in t.to_dict("records"))
        for _, path, ev in sorted(events, key=lambda e: e[0]):
            latest[path] = ev
        return latest, by_hash

    def read(self, key: str, *, paths: set[str] | None = None):
        """Current rows (table, embeddings, probs) and errors of ``key``."""
        tables, embs, probs = [], [], []
        width = n_labels = None
        for seq, p in self.parts_for(key, errors=False):
            t = pq.read_table(p)
            if paths is not None:
                t = t.filter(pc.is_in(t["path"], value_set=pa.array(sorted(paths), pa.string())))
            width = t.schema.field("embedding").type.list_size
            n_labels = t.schema.field("probs").type.list_size
            if not len(t):
                continue
            embs.append(_vectors(t["embedding"], width))
            probs.append(_vectors(t["probs"], n_labels))
            df = t.drop_columns(list(_VECTOR_COLUMNS)).to_pandas()
            df["_seq"] = seq
            tables.append(df)
        err_tables = []
        for seq, p in self.parts_for(key, errors=True):
            df = pq.read_table(p).to_pandas()
            if paths is not None:
                df = df[df["path"].isin(paths)]
            df["_seq"] = seq
            err_tables.append(df)
        errors = (pd.concat(err_tables, ignore_index=True) if err_tables
                  else pd.DataFrame({c: [] for c in (*_ERROR_COLUMNS, "_seq")}))
        last_error = (errors.groupby("path")["_seq"].max() if len(errors)
                      else pd.Series(dtype=float))
        if tables:
            table = pd.concat(tables, ignore_index=True)
            emb = np.concatenate(embs)
            prob = np.concatenate(probs)
            newest = table.groupby("path")["_seq"].transform("max")
            err_seq = table["path"].map(last_error).fillna(-1)
            keep = (table["_seq"] == newest) & (table["_seq"] > err_seq)
            keep &= ~table.duplicated(["path", "window"], keep="last")
            table = table[keep.to_numpy()]
            order = np.lexsort((table["window"].to_numpy(), table["path"].to_numpy()))
            idx = table.index.to_numpy()[order]
            table, emb, prob = table.loc[idx], emb[idx], prob[idx]
            table = table.drop(columns="_seq").reset_index(drop=True)
            current = set(table["path"])
        else:
            table = pd.DataFrame({c: [] for c in ROW_COLUMNS})
            emb = np.zeros((0, width or 0), np.float32)
            prob = np.zeros((0, n_labels or 0), np.float32)
            current = set()
        if len(errors):
            errors = errors.sort_values("_seq").drop_duplicates("path", keep="last")
            errors = errors[~errors["path"].isin(current)]
            errors = errors.sort_values("path").drop(columns="_seq").reset_index(drop=True)
        else:
            errors = errors.drop(columns="_seq")
        return table, emb, prob, errors


def _str(value) -> str | None:
    return None if value is None or value is pd.NA or (
        isinstance(value, float) and math.isnan(value)) else str(value)


def _int(value) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def norm(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return None
        return v.item() if isinstance(v, np.generic) else v

    return set(a) == set(b) and all(norm(a[k]) == norm(b[k]) for k in a)


# --------------------------------------------------------------------------- writing


class _Writer:
    """Buffers finished inputs and writes them as part files (atomically)."""

    def __init__(self, store: _Store, key: str, *, flush_items: int, flush_seconds: float):
        self.store = store
        self.key = key
        self.meta: dict | None = None
        self.flush_items = flush_items
        self.flush_seconds = flush_seconds
        self.rows: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]] = []
        self.errors: list[dict[str, Any]] = []
        self.by_hash: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray]] = {}
        self.since = time.monotonic()
        self.parts_written = 0
        self.on_flush = None  # callback(seq, path, rows) to update an index

    def add_rows(self, table: pd.DataFrame, emb: np.ndarray, probs: np.ndarray) -> None:
        self.rows.append((table, emb, probs))
        self.by_hash[str(table["content_hash"].iloc[0])] = (table, emb, probs)

    def add_error(self, path: str, content_hash: str | None, reason: str) -> None:
        self.errors.append({"path": path, "content_hash": content_hash,
                            "settings_key": self.key, "reason": reason})

    def due(self) -> bool:
        n = len(self.rows) + len(self.errors)
        return n >= self.flush_items or (
            n > 0 and time.monotonic() - self.since >= self.flush_seconds)

    def _metadata(self) -> dict[bytes, bytes]:
        return {_KEY_KEY: self.key.encode(),
                _META_KEY: json.dumps(self.meta, default=str).encode()}

    def flush(self) -> None:
        self.since = time.monotonic()
        if self.rows:
            table = self._rows_table()
            seq = self.store.next_seq()
            path = self.store.root / f"part-{seq:06d}-{secrets.token_hex(4)}.parquet"
            self.store.widen_schema(table.schema.remove_metadata())
            _write_atomic(table, path)
            self.parts_written += 1
            if self.on_flush is not None:
                self.on_flush(seq, path, [t for t, _, _ in self.rows])
            self.rows.clear()
            self.by_hash.clear()
        if self.errors:
            folder = self.store.root / ERRORS_DIR
            folder.mkdir(exist_ok=True)
            df = pd.DataFrame(self.errors, columns=list(_ERROR_COLUMNS))
            table = pa.table({c: pa.array(df[c].tolist(), pa.string()) for c in df.columns})
            seq = self.store.next_seq()
            if self.meta is not None:
                table = table.replace_schema_metadata(self._metadata())
            else:
                table = table.replace_schema_metadata({_KEY_KEY: self.key.encode()})
            _write_atomic(table, folder / f"part-{seq:06d}-{secrets.token_hex(4)}.parquet")
            self.errors.clear()

    def _rows_table(self) -> pa.Table:
        df = pd.concat([t for t, _, _ in self.rows], ignore_index=True)
        emb = np.concatenate([e for _, e, _ in self.rows])
        probs = np.concatenate([p for _, _, p in self.rows])
        labels = np.asarray(self.meta["labels"], dtype=object)
        k = min(TOP_LABELS, probs.shape[1])
        top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        arrays = {c: _to_arrow(df[c]) for c in df.columns}
        for i in range(k):
            arrays[f"top{i + 1}_label"] = pa.array(labels[top[:, i]].tolist(), pa.string())
            arrays[f"top{i + 1}_prob"] = pa.array(probs[np.arange(len(probs)), top[:, i]])
        arrays["embedding"] = _fixed(emb)
        arrays["probs"] = _fixed(probs)
        return pa.table(arrays).replace_schema_metadata(self._metadata())


# --------------------------------------------------------------------------- extract


def extract(
    inputs,
    store: str | os.PathLike,
    *,
    model=None,
    device: str = "auto",
    pooling: str = "cls",
    layer: int = -1,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    channel: int | None = None,
    batch_size: int = 8,
    workers: int = 1,
    rehash: bool = False,
    retry_failed: bool = False,
    flush_items: int = FLUSH_ITEMS,
    flush_seconds: float = FLUSH_SECONDS,
    progress: bool = True,
    read_back: bool = True,
) -> EmbeddingResult:
    """Embed audio files into an on-disk store, computing only what it does not hold yet.

    Re-running the same call is instant: inputs already stored with the same content and
    settings are read back, not recomputed, and the model is not even loaded. An
    interrupted run (Ctrl-C, a crash, a killed job) keeps everything flushed so far;
    running it again finishes the rest.

    Parameters
    ----------
    inputs : path, list of paths, or DataFrame
        Files, directories and manifest CSVs, expanded by :func:`list_inputs`; or a
        DataFrame with a ``path`` column (other columns are carried into the rows).
    store : str or PathLike
        The store directory; created when missing (see the module's documentation).
    model : str, PathLike or transformers.ASTForAudioClassification, optional
        A loaded model, or a name for :func:`asttools.load_model` (default
        ``$ASTTOOLS_MODEL`` or the AudioSet AST), loaded only if something needs
        computing.
    device : str, default "auto"
        Where a model given by name is loaded.
    pooling : {"cls", "dist", "mean", "patches"}, default "cls"
        See :func:`asttools.embed`; ``"grid"`` is too large to store.
    layer : int, default -1
    window_s, hop_s : float, default 10.24 and ``window_s``
    channel : int, optional
        Use this channel of multi-channel files instead of their mean.
    batch_size : int, default 8
        Windows per forward pass.
    workers : int, default 1
        Background threads that hash, decode and resample ahead of the model.
    rehash : bool, default False
        Re-read and hash every file; by default a file whose size and modification time
        match the stored row is taken to be unchanged.
    retry_failed : bool, default False
        Try again the inputs whose identical bytes failed in an earlier run (decoding is
        deterministic, so by default they are reported from the store, not retried).
        Files that could not be read (missing, no permission) or whose content changed
        are always retried.
    flush_items : int, default 256
        Write a part file after this many finished inputs...
    flush_seconds : float, default 120
        ...or after this many seconds, whichever comes first.
    progress : bool, default True
        Show a progress bar (files; windows, cached and failed counts; rate; ETA).
    read_back : bool, default True
        Read the rows of these inputs back from the store. ``False`` returns only
        ``errors`` and ``meta`` (an empty ``table``), for runs too large to hold in
        memory; read them later with :func:`read_store`.

    Returns
    -------
    EmbeddingResult
        The stored rows of exactly these inputs, in input order (``item`` numbers the
        inputs), read back from the store: ``table`` (the store's columns but the
        vectors), ``embeddings`` (float32, (n_rows, hidden)), ``probs`` (float32,
        (n_rows, n_labels)), ``errors`` (inputs that failed in this run: ``item``,
        ``path``, ``reason``) and ``meta`` (the run's settings and versions,
        ``settings_key``, ``store``, and ``run``: counts of ``computed``, ``cached``,
        ``copied`` and ``failed`` inputs (``failed_before``: of those, how many failed in
        an earlier run and were not retried), ``windows`` computed, ``seconds``).

    Raises
    ------
    ParameterError
        A bad pooling (``"grid"`` included), layer, window, batch size or input path.
    ModelLoadError
        The model is needed but cannot be loaded (finished work is kept).
    StoreError
        The store holds embeddings of another width or revision for these settings.
    KeyboardInterrupt
        Re-raised after the finished inputs are written.

    Warns
    -----
    ASTToolsWarning
        Once, when some inputs failed (each is in ``errors`` and in the store).

    Examples
    --------
    >>> import asttools
    >>> out = asttools.extract("data/samples", "emb", model="tiny-random")  # doctest: +SKIP
    >>> again = asttools.extract("data/samples", "emb", model="tiny-random")  # doctest: +SKIP
    >>> again.meta["run"]["computed"]  # doctest: +SKIP
    0
    """
    if pooling == "grid":
        raise ParameterError(
            f"pooling='grid' cannot go into a store: 12 x 101 x hidden floats per window "
            f"(3.7 MB for the full model). Use one of {STORE_POOLINGS}, or "
            "asttools.embed(..., pooling='grid') in memory for a few clips"
        )
    _check_pooling(pooling)
    window_bounds(1, window_s=window_s, hop_s=hop_s)  # validates the window and hop
    for name, value in (("batch_size", batch_size), ("flush_items", flush_items)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ParameterError(f"{name} must be an integer >= 1, got {value!r}")
    if not isinstance(workers, (int, np.integer)) or workers < 0:
        raise ParameterError(f"workers must be an integer >= 0, got {workers!r}")
    if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool):
        raise ParameterError(f"layer must be an integer, got {layer!r}")
    table_in = list_inputs(inputs)
    settings = _settings(model, pooling=pooling, layer=layer, window_s=window_s,
                         hop_s=hop_s, channel=channel)
    run = _Extraction(
        table_in, _Store(store, create=True), settings, model=model, device=device,
        batch_size=int(batch_size), workers=int(workers), rehash=rehash,
        retry_failed=retry_failed,
        flush_items=int(flush_items), flush_seconds=float(flush_seconds), progress=progress,
    )
    return run.run(read_back=read_back)


class _Extraction:
    """The state of one :func:`extract` call."""

    def __init__(self, table_in, store, settings, *, model, device, batch_size, workers,
                 rehash, retry_failed, flush_items, flush_seconds, progress):
        self.table_in = table_in
        self.store = store
        self.settings = settings
        self.key = settings_key(settings)
        self.model = None if model is None or isinstance(model, (str, os.PathLike)) else model
        self.device = device
        self.batch_size = batch_size
        self.workers = workers
        self.rehash = rehash
        self.retry_failed = retry_failed
        self.progress = progress
        self.stats = Counter(computed=0, cached=0, copied=0, failed=0, failed_before=0,
                             windows=0)
        self.errors: list[dict[str, Any]] = []
        self.latest, self.by_hash = store.index(self.key)
        self.stored_meta = store.all_settings().get(self.key)
        self.writer = _Writer(store, self.key, flush_items=flush_items,
                              flush_seconds=flush_seconds)
        self.writer.meta = self.stored_meta
        self.writer.on_flush = self._flushed
        self.inflight: dict[str, list[tuple[_Item, dict]]] = {}
        self.info: dict[int, dict] = {}
        self.bar = None

    # ---- the run
    def run(self, *, read_back: bool) -> EmbeddingResult:
        from tqdm.auto import tqdm

        t0 = time.perf_counter()
        items = [
            _Item(i, row["path"], None, row["path"], _extras(row))
            for i, row in enumerate(self.table_in.to_dict("records"))
        ]
        self.store.record(self.key, self.stored_meta)
        self.bar = tqdm(total=len(items), unit="file", desc="extract", disable=not self.progress,
                        dynamic_ncols=True)
        try:
            plan = self._plan(items)
            first = next(plan, None)
            if first is not None:
                self._ensure_model()
                for r in iter_embed(chain([first], plan), model=self.model,
                                    pooling=self.settings["pooling"],
                                    layer=self.settings["layer"],
                                    window_s=self.settings["window_s"],
                                    hop_s=self.settings["hop_s"],
                                    batch_size=self.batch_size, workers=self.workers,
                                    channel=self.settings["channel"]):
                    self._finished(r)
        except BaseException:
            self.writer.flush()  # keep what is done: Ctrl-C, a crash, a model error
            self.bar.close()
            raise
        self.writer.flush()
        self.bar.close()
        self.stats["seconds"] = round(time.perf_counter() - t0, 3)
        if self.errors:
            first = self.errors[0]
            warnings.warn(
                f"{len(self.errors)} of {len(items)} inputs failed and have no rows (see "
                f"result.errors; recorded in the store), e.g. {first['path']}: "
                f"{first['reason']}", ASTToolsWarning, stacklevel=3)
        return self._result(read_back=read_back)

    def _ensure_model(self) -> None:
        if self.model is None:
            self.model = load_model(self.settings["model"], device=self.device)
        meta = run_meta(self.model, pooling=self.settings["pooling"],
                        layer=self.settings["layer"], window_s=self.settings["window_s"],
                        hop_s=self.settings["hop_s"])
        meta.update(settings=self.settings, settings_key=self.key)
        schema = self.store.schema()
        if schema is not None and "embedding" in schema.names:
            width = schema.field("embedding").type.list_size
            n_labels = schema.field("probs").type.list_size
            if (width, n_labels) != (meta["hidden_size"], meta["num_labels"]):
                raise StoreError(
                    f"{self.store.root}: holds {width}-wide embeddings and {n_labels} "
                    f"labels; model {meta['model']!r} makes {meta['hidden_size']}-wide ones "
                    f"and {meta['num_labels']} labels. Write them to another store"
                )
        old = self.stored_meta
        if old is not None and old.get("revision") != meta.get("revision"):
            raise StoreError(
                f"{self.store.root}: rows for these settings come from revision "
                f"{old.get('revision')!r} of {meta['model']!r}, the loaded model is revision "
                f"{meta.get('revision')!r}. Write them to another store"
            )
        if old is None:
            self.stored_meta = meta
            self.store.record(self.key, meta)
        self.writer.meta = self.stored_meta

    # ---- what to compute
    def _hashed(self, items: list[_Item]) -> Iterator[tuple[_Item, dict | str]]:
        def job(item: _Item, prev: _Event | None):
            try:
                st = os.stat(item.name)
                if stat.S_ISDIR(st.st_mode):
                    return "is a directory, not an audio file"
                info = {"file_size": int(st.st_size), "file_mtime_ns": int(st.st_mtime_ns)}
                if (not self.rehash and prev is not None and prev.kind == "rows"
                        and prev.file_size == info["file_size"]
                        and prev.mtime_ns == info["file_mtime_ns"]):
                    info["content_hash"] = prev.content_hash
                else:
                    info["content_hash"] = _sha256(item.name)
                return info
            except OSError as err:
                return _file_reason(err)

        ahead = max(4 * self.workers, 4)
        source = iter(items)
        with ThreadPoolExecutor(max(self.workers, 1), thread_name_prefix="asttools-hash") as pool:
            window = deque((it, pool.submit(job, it, self.latest.get(it.name)))
                           for it in islice(source, ahead))
            while window:
                it, future = window.popleft()
                for nxt in islice(source, 1):
                    window.append((nxt, pool.submit(job, nxt, self.latest.get(nxt.name))))
                yield it, future.result()

    def _plan(self, items: list[_Item]) -> Iterator[_Item]:
        for item, info in self._hashed(items):
            if isinstance(info, str):
                self._fail(item, None, info)
                continue
            h = info["content_hash"]
            prev = self.latest.get(item.name)
            if (prev is not None and prev.kind == "rows" and prev.content_hash == h
                    and (not item.extra or _same(prev.extras, item.extra))):
                self.stats["cached"] += 1
                self._advance()
                continue
            if (prev is not None and prev.kind == "error" and prev.content_hash == h
                    and not self.retry_failed):
                self.stats["failed"] += 1  # the same bytes failed before: not retried
                self.stats["failed_before"] += 1
                self.errors.append({"item": item.index, "path": item.name,
                                    "reason": prev.reason})
                self._advance()
                continue
            if h in self.inflight:
                self.inflight[h].append((item, info))
                continue
            source = self.writer.by_hash.get(h)
            if source is None and h in self.by_hash:
                source = self._read_rows(*self.by_hash[h])
            if source is not None:
                self._store_rows(item, info, *source, copied=True)
                continue
            self.inflight[h] = []
            self.info[item.index] = info
            yield item

    def _read_rows(self, part: Path, path: str):
        t = pq.read_table(part)
        t = t.filter(pc.equal(t["path"], path))
        emb = _vectors(t["embedding"], t.schema.field("embedding").type.list_size)
        probs = _vectors(t["probs"], t.schema.field("probs").type.list_size)
        keep = [c for c in t.column_names if c not in _VECTOR_COLUMNS + _TOP_COLUMNS]
        return t.select(keep).to_pandas(), emb, probs

    # ---- results
    def _finished(self, r: ItemResult | ItemError) -> None:
        info = self.info.pop(r.item.index)
        h = info["content_hash"]
        if isinstance(r, ItemError):
            self._fail(r.item, h, r.reason)
            for item, _ in self.inflight.pop(h, []):
                self._fail(item, h, r.reason)
        else:
            table = r.table.drop(columns=["item"])
            self.stats["computed"] += 1
            self.stats["windows"] += len(table)
            self._store_rows(r.item, info, table, r.embeddings, _sigmoid(r.logits))
            for item, dup_info in self.inflight.pop(h, []):
                self._store_rows(item, dup_info, table, r.embeddings, _sigmoid(r.logits),
                                 copied=True)
        if self.writer.due():
            self.writer.flush()

    def _store_rows(self, item: _Item, info: dict, table: pd.DataFrame, emb: np.ndarray,
                    probs: np.ndarray, *, copied: bool = False) -> None:
        rows = pd.DataFrame({
            "path": item.name,
            "window": table["window"].to_numpy(),
            "start_s": table["start_s"].to_numpy(),
            "end_s": table["end_s"].to_numpy(),
            "clip_duration_s": table["clip_duration_s"].to_numpy(),
            "content_hash": info["content_hash"],
            "settings_key": self.key,
            "file_size": np.int64(info["file_size"]),
            "file_mtime_ns": np.int64(info["file_mtime_ns"]),
        })
        for k, v in item.extra.items():  # one value per window, even a tuple or list
            rows[k] = pd.Series([v] * len(rows), index=rows.index, dtype=object)
        self.writer.add_rows(rows, emb, probs)
        if copied:
            self.stats["copied"] += 1
        self._advance()

    def _fail(self, item: _Item, content_hash: str | None, reason: str) -> None:
        self.stats["failed"] += 1
        self.errors.append({"item": item.index, "path": item.name, "reason": reason})
        self.writer.add_error(item.name, content_hash, reason)
        self._advance()

    def _flushed(self, seq: int, part: Path, tables: list[pd.DataFrame]) -> None:
        for t in tables:
            first = t.iloc[0]
            extras = {k: first[k] for k in t.columns if k not in ROW_COLUMNS}
            self.latest[first["path"]] = _Event(
                seq, "rows", first["content_hash"], int(first["file_size"]),
                int(first["file_mtime_ns"]), extras)
            self.by_hash[first["content_hash"]] = (part, first["path"])

    def _advance(self) -> None:
        self.bar.update(1)
        s = self.stats
        self.bar.set_postfix(windows=s["windows"], cached=s["cached"] + s["copied"],
                             failed=s["failed"], refresh=False)

    def _result(self, *, read_back: bool) -> EmbeddingResult:
        paths = list(self.table_in["path"]) if read_back else []
        table, emb, probs, _ = self.store.read(self.key, paths=set(paths))
        where: dict[str, list[int]] = {}
        for i, p in enumerate(table["path"]):
            where.setdefault(p, []).append(i)
        take, item = [], []
        for i, p in enumerate(paths):
            rows = where.get(p, [])
            take.extend(rows)
            item.extend([i] * len(rows))
        take = np.asarray(take, dtype=np.int64)
        table = table.iloc[take].reset_index(drop=True)
        table.insert(0, "item", np.asarray(item, dtype=np.int64))
        meta = dict(self.stored_meta or {"settings": self.settings, "settings_key": self.key})
        meta.update(store=str(self.store.root), settings_key=self.key, run=dict(self.stats))
        errors = pd.DataFrame(self.errors, columns=["item", "path", "reason"])
        return EmbeddingResult(table, emb[take], probs[take], errors, meta)


# --------------------------------------------------------------------------- reading


def _resolve_key(st: _Store, settings) -> str:
    held = st.all_settings()
    if not held:
        raise StoreError(f"{st.root}: holds no embeddings yet (no part files with settings)")
    if settings is None:
        return st.latest_key()
    if isinstance(settings, str):
        if settings in held:
            return settings
        raise StoreError(f"{st.root}: no settings key {settings!r}; it holds "
                         f"{_describe(held)}")
    if isinstance(settings, dict):
        wanted = dict(settings)
        if "hop_s" not in wanted and "window_s" in wanted:
            wanted["hop_s"] = wanted["window_s"]
        if "model" in wanted:
            wanted["model"] = _model_name(wanted["model"])
        match = [k for k, m in held.items()
                 if all(_close(m.get("settings", {}).get(f), v) for f, v in wanted.items())]
        if len(match) == 1:
            return match[0]
        what = "no settings match" if not match else f"{len(match)} settings match"
        raise StoreError(f"{st.root}: {what} {settings}; it holds {_describe(held)}")
    raise ParameterError(
        f"settings must be None, a settings key (str) or a dict, got {type(settings).__name__}")


def _close(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-6
    return a == b


def _describe(held: dict[str, dict]) -> str:
    return "; ".join(
        f"{k}: " + ", ".join(f"{f}={m.get('settings', {}).get(f)!r}"
                            for f in ("model", "pooling", "layer", "window_s", "hop_s"))
        for k, m in held.items())


def read_store(store: str | os.PathLike, *, settings: str | dict | None = None) -> EmbeddingResult:
    """Read the current rows of an embedding store.

    Parameters
    ----------
    store : str or PathLike
        A directory written by :func:`extract` (or ``asttools extract``).
    settings : str or dict, optional
        Which settings to read when the store holds several: a settings key
        (``meta["settings_key"]``), or a dict of some of ``model``, ``pooling``,
        ``layer``, ``window_s``, ``hop_s``, ``channel`` that matches exactly one of them.
        Default: the settings of the latest :func:`extract` run on the store.

    Returns
    -------
    EmbeddingResult
        One row per window, sorted by ``path`` then ``window``, for each path the rows
        of its newest computation (older rows of a changed file are left out, and so is
        a path whose newest attempt failed): ``table`` (``item`` numbers the paths, then
        the stored columns but the vectors), ``embeddings`` (float32, (n_rows, hidden)),
        ``probs`` (float32, (n_rows, n_labels)), ``errors`` (``item``, ``path``,
        ``content_hash``, ``settings_key``, ``reason`` of the paths whose newest attempt
        failed) and ``meta`` (settings, versions, ``random_weights``, ``labels``,
        ``settings_key``, ``store``).

    Raises
    ------
    StoreError
        The directory does not exist, holds nothing, or ``settings`` match none or more
        than one of the settings it holds (the message lists them).

    Examples
    --------
    >>> import asttools
    >>> emb = asttools.read_store("emb")  # doctest: +SKIP
    >>> emb.table.head(), emb.embeddings.shape  # doctest: +SKIP
    """
    st = _Store(store, create=False)
    key = _resolve_key(st, settings)
    table, emb, probs, errors = st.read(key)
    paths = sorted(set(table["path"]) | set(errors["path"]))
    number = {p: i for i, p in enumerate(paths)}
    table.insert(0, "item", table["path"].map(number).astype(np.int64))
    errors.insert(0, "item", errors["path"].map(number).astype(np.int64))
    meta = dict(st.all_settings()[key])
    meta.update(store=str(st.root), settings_key=key)
    return EmbeddingResult(table, emb, probs, errors, meta)


def compact_store(store: str | os.PathLike) -> dict[str, int]:
    """Rewrite a store as one part per settings, dropping superseded rows and errors.

    What :func:`read_store` returns does not change. New parts are written first and the
    old ones removed after, so a crash in between leaves a valid store (with the old
    rows still there for ``pd.read_parquet``, but superseded in :func:`read_store`).

    Parameters
    ----------
    store : str or PathLike

    Returns
    -------
    dict
        ``parts_before``, ``parts_after``, ``rows_before``, ``rows_after``.
    """
    st = _Store(store, create=False)
    old = st.window_parts() + st.error_parts()
    rows_before = sum(pq.read_metadata(p).num_rows for _, p in st.window_parts())
    held = st.all_settings()
    latest = st.latest_key()
    rows_after = 0
    for key, meta in held.items():
        table, emb, probs, errors = st.read(key)
        writer = _Writer(st, key, flush_items=1, flush_seconds=0.0)
        writer.meta = meta
        if len(table):
            writer.rows.append((table, emb, probs))
            rows_after += len(table)
        for row in errors.to_dict("records"):
            writer.add_error(row["path"], row["content_hash"], row["reason"])
        writer.flush()
    for _, p in old:
        p.unlink(missing_ok=True)
    for folder in (st.root, st.root / ERRORS_DIR):
        if folder.is_dir():
            for name in os.listdir(folder):
                if name.startswith(".") and name.endswith(".tmp"):
                    (folder / name).unlink(missing_ok=True)
    (st.root / SCHEMA_PART).unlink(missing_ok=True)
    for _, p in st.window_parts():
        st.widen_schema(pq.read_schema(p).remove_metadata())
    if latest is not None:
        st.record(latest, held[latest])
    return {"parts_before": len(old), "parts_after": len(st.window_parts() + st.error_parts()),
            "rows_before": rows_before, "rows_after": rows_after}
