"""The embedding store: extract once, resume after a crash, never pay twice.

An embedding store is a directory of Parquet files that pandas opens in one line::

    STORE/
      part-000000-schema.parquet    zero rows: every column any part has, with its type
      part-000001-1f3a9c2e.parquet  window rows, one file per flush (every 256 inputs
      part-000002-8b0d41aa.parquet  or 2 minutes), written to a temporary name and
      ...                           renamed into place, so a file is never half-written
      _errors/part-000003-....parquet  inputs that failed: path, content_hash, reason
      _meta.json                    settings of each run, the latest run's settings key
      _lock, _claims                empty files that concurrent writers lock
      _corrupt/                     damaged part files, moved aside (see "Faults")

``pd.read_parquet(STORE)`` reads every window row ever written (pyarrow skips names that
start with ``_`` or ``.``). A row is one analysis window of one file: ``path`` (absolute),
``window``, ``start_s``, ``end_s``, ``clip_duration_s``, ``content_hash`` (sha256 of the
file's bytes), ``settings_key`` (hash of model, pooling, layer, window, hop, channel),
``file_size``, ``file_mtime_ns``, the columns carried from a manifest, ``top1_label``,
``top1_prob`` … ``top3_prob``, and two FixedSizeList<float32> vectors: ``embedding``
(hidden wide) and ``probs`` (one per label). Every part file's schema metadata holds the
run's settings, versions, ``random_weights`` and label names (``asttools.meta``).

**One type per column.** The schema part is the first file pyarrow opens, so its types
are the ones ``pd.read_parquet`` reads every part as; writers keep it the union of all
parts' columns. Columns are built from Python values with explicit types (missing values
— None, NaN, ``pd.NA`` — are nulls). A carried column keeps the type it was first stored
with; values of another type in a later run are converted, with a warning naming the
column: ints and floats make it float64, a scalar in a list column becomes a one-element
list, and anything else makes the column text (earlier parts are then read as text too;
lists are written as JSON).

**File names.** ``path`` is text, while a file name on Linux is bytes that need not be
UTF-8 (Python gives such a name with surrogate escapes, ``os.fsdecode``). Such a name is
stored losslessly in two columns: ``path`` holds it readable, with each byte that is not
UTF-8 written ``\\xNN`` (:func:`printable_path`), and ``path_bytes`` holds its exact
bytes (null for every name that is UTF-8; the column exists once a store holds such a
name). :func:`read_store` and :func:`extract` return the exact name, which opens the file.

**Manifest rows.** A file listed on several rows is one input. The columns whose values
differ between its rows hold a tuple of the rows' values, in row order, for every file of
that listing (a multi-label CSV with one label per row gives ``label=("dog", "bark")``,
and ``("cat",)`` for a file listed once); :func:`list_inputs` warns when it merges.

**Concurrent writers.** Several processes may extract into one store at once (a job
array on a cluster). Each part is published under an exclusive ``flock`` on ``_lock``:
part numbers are unique and increasing, and the schema part and ``_meta.json`` are
updated from what is on disk at that moment. While a writer computes an input it holds a
lock on one byte of ``_claims`` (chosen by settings and content hash); another writer
skips that input, does the rest, then waits for that lock and finds the input's rows in
the store, so each input is computed once. The kernel releases a killed writer's locks.
Writers share the published parts and nothing else: each keeps its own unpublished
results (what it loses if killed), its progress and the rows it returns.
:func:`compact_store` holds the lock for its whole run. Where the file system has no
locks (some network file systems) writers warn and go on: parts never overwrite each
other, but an input may be computed twice; run one writer at a time there.

**Faults.** Nothing is written when nothing needs writing, so a run whose inputs are all
stored works on a read-only store (a shared store on a cluster). On a read-only store a
run that needs to compute raises :class:`~asttools.errors.StoreError` before loading the
model, and failures it cannot record are only reported (with a warning). A write that
fails (a full disk, a read-only store) raises ``StoreError`` naming the file; everything
published before is kept. A damaged part (truncated, not Parquet) is skipped with a
warning naming it and, when the store is writable, moved into ``_corrupt/`` (which
pyarrow skips, so ``pd.read_parquet(STORE)`` works again); the next :func:`extract`
computes its inputs again. A damaged schema part is rebuilt from the parts, and an
unreadable ``_meta.json`` is ignored (what it holds is also in the parts' metadata).
``pd.read_parquet`` alone cannot skip a damaged file: opening the store once with
:func:`read_store`, :func:`extract` or :func:`compact_store` repairs it.

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
  (``retry_failed=True`` retries them all); a failure already recorded is not recorded
  again;
- the model is loaded only if something needs computing.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import secrets
import stat
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .audio import MEDIA_EXTENSIONS, SAMPLE_RATE
from .embed import (
    POOLINGS,
    WINDOW_S,
    EmbeddingResult,
    ItemError,
    ItemResult,
    _absolute,
    _check_pooling,
    _Item,
    _sigmoid,
    iter_embed,
    run_meta,
)
from .errors import ASTToolsWarning, ParameterError, StoreError
from .features import window_bounds
from .model import load_model, model_info, resolve_model_name

try:
    import fcntl
except ImportError:  # Windows: no advisory locks (see "Concurrent writers" above)
    fcntl = None

__all__ = [
    "FLUSH_ITEMS",
    "FLUSH_SECONDS",
    "STORE_POOLINGS",
    "compact_store",
    "extract",
    "list_inputs",
    "printable_path",
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
CORRUPT_DIR = "_corrupt"
LOCK_FILE = "_lock"
CLAIMS_FILE = "_claims"
SCHEMA_PART = "part-000000-schema.parquet"
#: The column holding the exact bytes of a file name that is not UTF-8.
PATH_BYTES = "path_bytes"
_META_KEY = b"asttools.meta"
_KEY_KEY = b"asttools.settings_key"
_HASH_BLOCK = 1 << 20
#: How often a read starts again when part files vanish under it (a concurrent compact).
_RETRIES = 5
#: Columns of a stored window row before the carried manifest columns.
ROW_COLUMNS = (
    "path", "window", "start_s", "end_s", "clip_duration_s",
    "content_hash", "settings_key", "file_size", "file_mtime_ns",
)  # fmt: skip
_TOP_COLUMNS = tuple(f"top{i}_{w}" for i in range(1, TOP_LABELS + 1) for w in ("label", "prob"))
_VECTOR_COLUMNS = ("embedding", "probs")
#: Names a manifest column cannot have (the store's own columns).
RESERVED_COLUMNS = frozenset(
    ROW_COLUMNS + _TOP_COLUMNS + _VECTOR_COLUMNS + ("item", "reason", PATH_BYTES))
_ERROR_COLUMNS = ("path", "content_hash", "settings_key", "reason")
#: errno values of a write refused because the store is not writable, or the disk full.
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


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
        Each path (str, bytes or PathLike) is a file (taken as is, whatever its
        extension), a directory (walked recursively for files whose suffix, in any case,
        is in ``extensions``; names starting with ``.`` are skipped; sorted), or a
        manifest ``.csv`` with a ``path`` column (relative paths are resolved against the
        CSV's folder; its other columns, labels or folds, are carried to every row of
        that file). A DataFrame is read like a manifest, with relative paths resolved
        against the working directory.
    extensions : iterable of str, default :data:`asttools.audio.MEDIA_EXTENSIONS`
        Suffixes, with the dot, that directory walks pick up.

    Returns
    -------
    DataFrame
        ``path`` (absolute, symlinks resolved, each once, in input order) and the carried
        columns. A symlink that cannot be followed (dangling, or in a loop) stays the link,
        so that its failure names it. A file listed on several manifest rows with different
        values is one row, whose differing columns hold tuples (see the module
        documentation).

    Raises
    ------
    ParameterError
        A path that does not exist, a manifest without a ``path`` column, with an empty
        path or without rows, or a manifest column named like one of the store's own
        columns.

    Warns
    -----
    ASTToolsWarning
        When files listed on several rows with different values are merged.

    Examples
    --------
    >>> import asttools.store as s, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "b.WAV").write_bytes(b""); _ = (d / "a.flac").write_bytes(b"")
    >>> [pathlib.Path(p).name for p in s.list_inputs(d)["path"]]
    ['a.flac', 'b.WAV']
    """
    exts = frozenset(e.lower() for e in extensions)
    listed: list[str] = []
    rows: dict[str, list[dict[str, Any]]] = {}  # manifest rows per path
    if isinstance(inputs, pd.DataFrame):
        _add(_from_frame(inputs, base=Path.cwd(), what="the input DataFrame"), listed, rows)
    else:
        if isinstance(inputs, (str, bytes, os.PathLike)):
            inputs = [inputs]
        for p in inputs:
            name = os.fsdecode(p)
            path = Path(name).expanduser()
            if path.is_dir():
                listed.extend(_walk(path, exts))
            elif path.suffix.lower() == ".csv" and path.is_file():
                _add(_read_manifest(path), listed, rows)
            elif path.exists() or path.is_symlink():
                listed.append(_absolute(path))
            else:
                raise ParameterError(f"{printable_path(name)}: no such file or directory")
    return _merge_rows(listed, rows)


def _add(entries: list[tuple[str, dict[str, Any]]], listed: list[str],
         rows: dict[str, list[dict[str, Any]]]) -> None:
    for path, extra in entries:
        listed.append(path)
        rows.setdefault(path, []).append(extra)


def _walk(root: Path, exts: frozenset[str]) -> list[str]:
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop, or a folder linked twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:  # a file symlink in a loop is listed here; its failure names it
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                found.append(_absolute(Path(folder, name)))
    return sorted(found)


def _read_manifest(csv: Path) -> list[tuple[str, dict[str, Any]]]:
    try:  # a path that is not UTF-8 comes in as os.fsdecode gives it
        table = pd.read_csv(csv, dtype={"path": object}, encoding_errors="surrogateescape")
    except UnicodeError as err:  # another column holds bytes that are not UTF-8
        raise ParameterError(_not_utf8(csv)) from err
    except (OSError, ValueError) as err:
        raise ParameterError(
            f"{printable_path(csv)}: cannot be read as a manifest CSV ({err})") from err
    entries = _from_frame(table, base=csv.resolve().parent, what=printable_path(csv))
    if not entries:
        raise ParameterError(f"{printable_path(csv)}: the manifest has no rows, only a "
                             "header; add one row per audio file")
    return entries


def _not_utf8(csv: Path) -> str:
    """Say which cell of a manifest outside its ``path`` column is not UTF-8 text."""
    table = pd.read_csv(csv, dtype=object, encoding_errors="surrogateescape")
    for column in table.columns:
        if column == "path":
            continue
        for row, value in enumerate(table[column]):
            if isinstance(value, str) and value != value.encode("utf-8", "replace").decode():
                return (f"{printable_path(csv)}: column {column!r} is not UTF-8 text (row "
                        f"{row + 1}: '{printable_path(value)}'); save the manifest as UTF-8. "
                        "Only the path column may hold file names in other encodings")
    return f"{printable_path(csv)}: is not UTF-8 text; save the manifest as UTF-8"


def _from_frame(table: pd.DataFrame, *, base: Path,
                what: str) -> list[tuple[str, dict[str, Any]]]:
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
    columns = {str(c): table[c].tolist() for c in table.columns}
    raw = columns.pop("path")
    names = [os.fsdecode(p) if isinstance(p, (str, bytes, os.PathLike)) else str(p)
             for p in raw]
    empty = [i for i, (p, n) in enumerate(zip(raw, names, strict=True))
             if _plain(p) is None or not n.strip()]
    if empty:
        raise ParameterError(f"{what} has rows with an empty path (rows {empty[:5]})")
    return [(_absolute(base / Path(n).expanduser()), {c: v[i] for c, v in columns.items()})
            for i, n in enumerate(names)]


def _merge_rows(listed: list[str], rows: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """One row per path, in first-listed order; a path's differing rows merged to tuples."""
    paths = list(dict.fromkeys(listed))
    columns = list(dict.fromkeys(c for entries in rows.values() for r in entries for c in r))
    distinct: dict[str, list[dict[str, Any]]] = {}
    for path, entries in rows.items():
        kept: list[dict[str, Any]] = []
        for r in entries:  # identical rows (a file listed twice the same way) are one
            if not any(all(_plain(r.get(c)) == _plain(k.get(c)) for c in columns)
                       for k in kept):
                kept.append(r)
        distinct[path] = kept
    repeated = [p for p in paths if len(distinct.get(p, ())) > 1]
    varying = [c for c in columns
               if any(len({json.dumps(_plain(r.get(c)), default=str) for r in distinct[p]}) > 1
                      for p in repeated)]
    data = {"path": pd.Series(paths, dtype=object)}
    for c in columns:
        values = []
        for p in paths:
            entries = distinct.get(p)
            if not entries:
                values.append(None)
            elif c in varying:
                values.append(tuple(None if _plain(r.get(c)) is None else r.get(c)
                                    for r in entries))
            else:
                values.append(entries[0].get(c))
        try:
            data[c] = pd.Series(values)
        except UnicodeError:  # text that is not UTF-8: pandas 3 keeps text as UTF-8
            data[c] = pd.Series(values, dtype=object)
    if repeated:
        head = ", ".join(printable_path(p) for p in repeated[:3])
        warnings.warn(
            f"{len(repeated)} files are listed on several rows with different values "
            f"({head}{', ...' if len(repeated) > 3 else ''}): each is one input, whose "
            f"column(s) {varying} hold a tuple of its rows' values in row order (a "
            "one-element tuple for a file listed once). asttools.read_ground_truth wants "
            "each file on one row, its labels joined by ';'", ASTToolsWarning, stacklevel=3)
    return pd.DataFrame(data)


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


def _file_reason(err: OSError, path: str) -> str:
    if os.path.islink(path):  # name the link, and where it points
        try:
            target = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
        except OSError:
            target = "?"
        if err.errno == errno.ELOOP:
            return (f"is a symbolic link in a loop (it points to {printable_path(target)}); "
                    "fix or remove the link")
        if isinstance(err, FileNotFoundError):
            return f"is a symbolic link to a missing file ({printable_path(target)})"
    if isinstance(err, FileNotFoundError):
        return "file not found"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, IsADirectoryError):
        return "is a directory, not an audio file"
    return f"cannot be read ({err.strerror or err})"


def printable_path(path: str | bytes | os.PathLike) -> str:
    r"""A file name as text that can be printed and written to CSV or Parquet.

    A name that is valid UTF-8 comes back unchanged. On Linux a name is bytes that need
    not be UTF-8; Python gives such a name with surrogate escapes (``os.fsdecode``), which
    cannot be printed or stored as text. Here each of those bytes is written ``\xNN``.

    Parameters
    ----------
    path : str, bytes or PathLike

    Returns
    -------
    str
        Readable text; it opens the file only when it is the name unchanged.

    Examples
    --------
    >>> printable_path(b"caf\xe9.wav")
    'caf\\xe9.wav'
    >>> printable_path("ñandú.wav")
    'ñandú.wav'
    """
    text = os.fsdecode(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that no file system made
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _name_bytes(name: str) -> bytes | None:
    """The exact bytes of a name that is not UTF-8; None for every other name."""
    try:
        name.encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


def _path_arrays(paths: list[str]) -> dict[str, pa.Array]:
    """``path`` (readable text) and, when a name is not UTF-8, ``path_bytes`` (exact)."""
    raw = [_name_bytes(p) for p in paths]
    arrays = {"path": pa.array([p if b is None else printable_path(p)
                                for p, b in zip(paths, raw, strict=True)], pa.string())}
    if any(b is not None for b in raw):
        arrays[PATH_BYTES] = pa.array(raw, pa.binary())
    return arrays


def _exact_paths(table: pa.Table) -> list[str]:
    """The name of each row's file, exactly as Python gives it (see :func:`_path_arrays`)."""
    text = table.column("path").to_pylist()
    if PATH_BYTES not in table.column_names:
        return text
    raw = table.column(PATH_BYTES).to_pylist()
    return [t if b is None else os.fsdecode(b) for t, b in zip(text, raw, strict=True)]


# ---- one Arrow type per column


def _plain(value: Any) -> Any:
    """A value as Arrow takes it: None for every kind of missing, lists for tuples and
    arrays, Python scalars for numpy's."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    """A plain value as text: as Arrow casts it (the way pyarrow reads old parts as
    text), JSON for a list."""
    if value is None:
        return None
    if isinstance(value, str):
        return printable_path(value)
    if isinstance(value, list):
        return printable_path(json.dumps(value, default=str, ensure_ascii=False))
    try:
        return pa.scalar(value).cast(pa.string()).as_py()
    except (pa.ArrowException, TypeError, ValueError):
        return printable_path(str(value))


def _natural(values: list) -> tuple[pa.Array, str | None]:
    """Plain values as the Arrow array they make, or as text with the reason why."""
    try:
        arr = pa.array(values)
    except UnicodeError:
        return pa.array([_text(v) for v in values], pa.string()), "text that is not UTF-8"
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([_text(v) for v in values], pa.string()), "values of mixed types"
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr, None


def _numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def _is_list(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind)


def _unify(stored: pa.DataType | None, new: pa.DataType) -> pa.DataType:
    """The one type a column keeps when values of type ``new`` meet its ``stored`` type."""
    if stored is None or pa.types.is_null(stored):
        return new
    if pa.types.is_null(new) or new == stored:
        return stored
    if _numeric(stored) and _numeric(new):
        ints = pa.types.is_integer(stored) and pa.types.is_integer(new)
        return pa.int64() if ints else pa.float64()
    if _is_list(stored):  # a scalar joins a list column as a one-element list
        return pa.list_(_unify(stored.value_type, new.value_type if _is_list(new) else new))
    return pa.string()


def _castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether pyarrow reads a column stored as ``source`` as ``target`` (it casts)."""
    if source == target:
        return True
    try:
        pa.array([None], source).cast(target)
    except (pa.ArrowException, TypeError, ValueError):
        return False
    return True


def _fit(values: list, target: pa.DataType) -> pa.Array:
    """Plain values as an array of ``target`` (a type :func:`_unify` chose for them)."""
    if pa.types.is_string(target):
        return pa.array([_text(v) for v in values], pa.string())
    if _is_list(target):
        lists = [v if v is None or isinstance(v, list) else [v] for v in values]
        flat = _fit([x for v in lists if v is not None for x in v], target.value_type)
        offsets = np.cumsum([0] + [0 if v is None else len(v) for v in lists])
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), flat,
                                        type=pa.list_(target.value_type),
                                        mask=pa.array([v is None for v in lists]))
    return pa.array(values, target)


def _kind(kind: pa.DataType) -> str:
    return "text" if pa.types.is_string(kind) else str(kind)


def _carried(name: str, values: list, stored: pa.DataType | None) -> tuple[pa.Array, str | None]:
    """A carried column as one array of the type the store keeps for it, and a note to
    warn with when values or the column change type."""
    plain = [_plain(v) for v in values]
    natural, why = _natural(plain)
    target = _unify(stored, natural.type)
    if stored is not None and not _castable(stored, target):
        raise ParameterError(
            f"column {name!r} holds {stored} in the store and these inputs give "
            f"{natural.type}; no one type holds both: rename the column, or write to "
            "another store")
    array = natural if natural.type == target else _fit(plain, target)
    given = why or _kind(natural.type)
    example = next((v for v in plain if v is not None
                    and _unify(stored, _natural([v])[0].type) != stored), None)

    def widened(a: pa.DataType, b: pa.DataType) -> bool:
        return _numeric(a) and pa.types.is_floating(b)

    if (stored is not None and not pa.types.is_null(stored) and target != stored
            and not widened(stored, target)):
        return array, (f"column {name!r} was stored as {_kind(stored)} and these inputs give "
                       f"{given} (e.g. {example!r}): it is {_kind(target)} from now on, "
                       "and its earlier values are read as that too")
    if why or (not pa.types.is_null(natural.type) and natural.type != target
               and not widened(natural.type, target)):
        return array, (f"column {name!r} is stored as {_kind(target)} and these inputs give "
                       f"{given} (e.g. {example!r}): they are stored as {_kind(target)}")
    return array, None


def _merge_schemas(schemas: Iterable[pa.Schema | None]) -> pa.Schema | None:
    """Every column of ``schemas`` with the type :func:`_unify` keeps; vectors last."""
    fields: dict[str, pa.DataType] = {}
    for schema in schemas:
        for f in schema or ():
            fields[f.name] = _unify(fields[f.name], f.type) if f.name in fields else f.type
    if not fields:
        return None
    names = ([n for n in fields if n not in _VECTOR_COLUMNS]
             + [n for n in fields if n in _VECTOR_COLUMNS])
    return pa.schema([pa.field(n, fields[n]) for n in names])


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns and types (missing ones null): a part
    read the way pyarrow's dataset reads it for ``pd.read_parquet``."""
    columns = []
    for f in schema:
        if f.name not in table.column_names:
            columns.append(pa.chunked_array([pa.nulls(len(table), f.type)], f.type))
            continue
        col = table.column(f.name)
        if col.type != f.type:
            try:
                col = col.cast(f.type)
            except (pa.ArrowException, ValueError):
                col = pa.chunked_array([_fit([_plain(v) for v in col.to_pylist()], f.type)],
                                       f.type)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def _vectors(column: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(arr) == 0:
        return np.zeros((0, width), np.float32)
    return arr.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, width)


def _fixed(matrix: np.ndarray) -> pa.FixedSizeListArray:
    flat = np.ascontiguousarray(matrix, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat), int(matrix.shape[1]))


# ---- reading and writing files


class _WriteError(StoreError):
    """A file of the store could not be written; ``errno`` says why."""

    def __init__(self, message: str, code: int | None):
        super().__init__(message)
        self.errno = code


def _write_failed(path: Path, err: OSError, what: str) -> _WriteError:
    if err.errno in _FULL:
        advice = ("the disk is full: free space (or extract into a store on another disk), "
                  "then run the same command again; everything written before is kept")
    elif err.errno in _READ_ONLY:
        advice = ("the store is not writable: extract into a store you can write, e.g. a "
                  "copy of this one (cp -r STORE MINE)")
    else:
        advice = ("check the disk, then run the same command again; everything written "
                  "before is kept")
    return _WriteError(f"{printable_path(path)}: cannot write {what} "
                       f"({err.strerror or err}); {advice}", err.errno)


def _unwritable(err: BaseException) -> bool:
    """Whether ``err`` is a write the store refused because it is read-only."""
    return isinstance(err, _WriteError) and err.errno in _READ_ONLY


def _write_atomic(table: pa.Table, path: Path, *, what: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f, compression="none")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise _write_failed(path, err, what) from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _write_json_atomic(data: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=1, default=str))
        os.replace(tmp, path)
    except OSError as err:
        raise _write_failed(path, err, "the settings file") from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


class _Damaged(Exception):
    """A part file that pyarrow cannot read (truncated, not Parquet)."""


class _Vanished(Exception):
    """A part file removed since it was listed (a compaction by another process)."""


def _read_parquet(path: Path, *, columns: list[str] | None = None,
                  schema_only: bool = False) -> pa.Table | pa.Schema:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below; Python's errors name the cause
    except FileNotFoundError as err:
        raise _Vanished(path) from err
    except OSError as err:
        raise StoreError(f"{printable_path(path)}: cannot read it ({err.strerror or err}); "
                         "make the store readable for you") from err
    with f:
        try:
            return pq.read_schema(f) if schema_only else pq.read_table(f, columns=columns)
        except (OSError, ValueError, pa.ArrowException) as err:
            raise _Damaged(str(err)) from err


def _part_seq(name: str) -> int | None:
    parts = name.split("-")
    if len(parts) == 3 and parts[0] == "part" and name.endswith(".parquet"):
        try:
            return int(parts[1])
        except ValueError:
            return None
    return None


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


@dataclass
class _Part:
    """One part file and what its footer says."""

    seq: int
    path: Path
    key: str | None
    meta: dict | None
    schema: pa.Schema  # without metadata


@dataclass
class _Current:
    """The current rows and errors of one settings key (see :meth:`_Store.read`)."""

    rows: pa.Table | None  # every column, vectors too, by path then window; None: no parts
    paths: list[str]  # the exact path of each row
    errors: list[tuple[str, str | None, str, str]]  # path, content_hash, settings_key, reason


class _Store:
    """Reads and writes the files of one store directory."""

    def __init__(self, root: str | bytes | os.PathLike, *, create: bool):
        self.root = Path(os.fsdecode(root)).expanduser().absolute()
        self.name = printable_path(self.root)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.name}: is a file, not an embedding store directory")
        if not self.root.exists():
            if not create:
                raise StoreError(f"{self.name}: no such embedding store")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise _write_failed(self.root, err, "the store directory") from err
        self._parts: dict[Path, _Part | None] = {}
        self._seen: frozenset[str] = frozenset()
        self._lock_depth = 0
        self._schema_damage: str | None = None
        self._warned_locks = False
        self._repair_schema()

    # ---- listing
    def _listed(self, folder: Path) -> list[tuple[int, Path]]:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        except OSError as err:
            raise StoreError(f"{printable_path(folder)}: cannot list it "
                             f"({err.strerror or err}); make the store readable for you"
                             ) from err
        return sorted((seq, folder / n) for n in names if (seq := _part_seq(n)) is not None)

    def _part(self, seq: int, path: Path) -> _Part | None:
        if path not in self._parts:
            try:
                schema = _read_parquet(path, schema_only=True)
                md = schema.metadata or {}
                key = md.get(_KEY_KEY, b"").decode() or None
                meta = json.loads(md[_META_KEY]) if _META_KEY in md else None
            except _Vanished:
                return None
            except (_Damaged, ValueError) as err:
                self._parts[path] = None
                self._set_aside(path, err)
                return None
            self._parts[path] = _Part(seq, path, key, meta, schema.remove_metadata())
        return self._parts[path]

    def _in(self, folder: Path) -> list[_Part]:
        return [p for seq, path in self._listed(folder)
                if seq > 0 and (p := self._part(seq, path)) is not None]

    def window_parts(self) -> list[_Part]:
        return self._in(self.root)

    def error_parts(self) -> list[_Part]:
        return self._in(self.root / ERRORS_DIR)

    def parts_for(self, key: str, *, errors: bool) -> list[_Part]:
        return [p for p in (self.error_parts() if errors else self.window_parts())
                if p.key == key]

    def _names(self) -> frozenset[str]:
        return frozenset(str(p) for _, p in self._listed(self.root)
                         + self._listed(self.root / ERRORS_DIR))

    def changed(self) -> bool:
        """Whether part files came or went since the last :meth:`index`."""
        return self._names() != self._seen

    def next_seq(self) -> int:
        seqs = [s for s, _ in self._listed(self.root) + self._listed(self.root / ERRORS_DIR)]
        return max(seqs, default=0) + 1

    def _set_aside(self, path: Path, err: BaseException) -> None:
        """Warn about a damaged part; move it into _corrupt/ when the store is writable."""
        errors = path.parent.name == ERRORS_DIR
        dest = self.root / CORRUPT_DIR / (f"errors-{path.name}" if errors else path.name)
        try:
            dest.parent.mkdir(exist_ok=True)
            os.replace(path, dest)
        except FileNotFoundError:
            return  # gone meanwhile
        except OSError:
            fate = "left it in place (the store is not writable)"
            if not errors:
                fate += ("; pd.read_parquet(STORE) fails until it is moved away (e.g. into "
                         f"{CORRUPT_DIR}/) or deleted")
        else:
            fate = f"moved it to {printable_path(dest)} (delete it once you are sure)"
        lost = ("the failures it recorded are forgotten: extract tries those inputs again"
                if errors else "the inputs it held are no longer in the store: extract "
                "computes them again")
        warnings.warn(f"{printable_path(path)}: damaged part file ({err}); skipped it and "
                      f"{fate}. {lost[0].upper()}{lost[1:]}", ASTToolsWarning, stacklevel=4)

    # ---- locking
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (re-entrant): publishing, compacting, repairing.

        Raises a StoreError when the store is not writable (the lock file cannot be made).
        """
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        path = self.root / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise _write_failed(path, err, "the lock file") from err
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except OSError as err:
                    self.no_locks(err)
            self._lock_depth = 1
            yield
        finally:
            self._lock_depth = 0
            os.close(fd)

    def no_locks(self, err: OSError) -> None:
        if not self._warned_locks:
            self._warned_locks = True
            warnings.warn(
                f"{self.name}: this file system does not lock files ({err.strerror or err}): "
                "concurrent writers may compute an input twice; run one writer at a time "
                "on this store", ASTToolsWarning, stacklevel=4)

    # ---- schema
    def schema(self) -> pa.Schema | None:
        """Every column of the store with its type: the schema part's, or (missing or
        damaged) the union of the parts'."""
        try:
            return _read_parquet(self.root / SCHEMA_PART, schema_only=True).remove_metadata()
        except _Vanished:
            pass
        except _Damaged as err:
            self._schema_damage = str(err) or "damaged"
        return _merge_schemas(p.schema for p in self.window_parts())

    def write_schema(self, schema: pa.Schema) -> None:
        _write_atomic(schema.empty_table(), self.root / SCHEMA_PART, what="the schema part")
        self._schema_damage = None

    def _repair_schema(self) -> None:
        self.schema()
        damage = self._schema_damage
        if damage is None:
            return
        path = self.root / SCHEMA_PART
        try:
            with self.locked():
                self._schema_damage = None
                schema = self.schema()  # again, under the lock
                if self._schema_damage is not None:
                    if schema is None:
                        path.unlink(missing_ok=True)
                        self._schema_damage = None
                    else:
                        self.write_schema(schema)
            fate = "rebuilt it from the part files"
        except (_WriteError, OSError) as err:
            fate = (f"could not rebuild it ({err}); pd.read_parquet(STORE) fails until it is "
                    "rebuilt where the store is writable (open it with asttools.read_store)")
        warnings.warn(f"{printable_path(path)}: damaged schema part ({damage}); {fate}",
                      ASTToolsWarning, stacklevel=3)

    def publish(self, table: pa.Table, *, errors: bool = False) -> tuple[int, Path]:
        """Write ``table`` (its columns fitted to :meth:`schema`) as the next part, under
        the lock; the schema part is widened first."""
        with self.locked():
            folder = self.root / ERRORS_DIR if errors else self.root
            if errors:
                try:
                    folder.mkdir(exist_ok=True)
                except OSError as err:
                    raise _write_failed(folder, err, "the errors folder") from err
            else:
                current = self.schema()
                wider = _merge_schemas([current, table.schema.remove_metadata()])
                if current is None or self._schema_damage or not wider.equals(current):
                    self.write_schema(wider)
            seq = self.next_seq()
            path = folder / f"part-{seq:06d}-{secrets.token_hex(4)}.parquet"
            _write_atomic(table, path, what="a part file")
            self._seen |= {str(path)}  # known to the writer: not another writer's news
            return seq, path

    # ---- metadata
    def read_meta_file(self) -> dict:
        try:
            data = json.loads((self.root / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # rebuilt from the part files' footers
        return data if isinstance(data, dict) else {}

    def record(self, key: str, meta: dict | None) -> None:
        """Note ``key`` as the latest run's settings (and its meta). Writes only when that
        changes, and never fails a run: ``_meta.json`` is a hint the parts can replace."""
        path = self.root / META_FILE
        want = None if meta is None else json.loads(json.dumps(meta, default=str))

        def current(data: dict) -> bool:
            held = data.get("settings")
            return (data.get("latest_settings_key") == key
                    and data.get("format_version") == STORE_FORMAT_VERSION
                    and (want is None or (isinstance(held, dict) and held.get(key) == want)))

        if current(self.read_meta_file()):
            return
        try:
            with self.locked():
                data = self.read_meta_file()
                data.setdefault("format", "asttools embedding store")
                data["format_version"] = STORE_FORMAT_VERSION
                if not isinstance(data.get("settings"), dict):
                    data["settings"] = {}
                if want is not None:
                    data["settings"][key] = want
                data["latest_settings_key"] = key
                _write_json_atomic(data, path)
        except _WriteError as err:
            if not _unwritable(err):
                warnings.warn(f"{err}; read_store's default settings may be an earlier "
                              "run's", ASTToolsWarning, stacklevel=3)

    def all_settings(self) -> dict[str, dict]:
        """Every settings key with rows or errors in the store, and its meta."""
        return {k: m for k, m in self.keys().items() if m is not None}

    def keys(self) -> dict[str, dict | None]:
        """Every settings key in the store, and its meta when a part records it."""
        found: dict[str, dict | None] = {}
        for p in self.window_parts() + self.error_parts():
            if p.key is not None:
                found[p.key] = p.meta if p.meta is not None else found.get(p.key)
        return found

    def latest_key(self) -> str | None:
        key = self.read_meta_file().get("latest_settings_key")
        held = self.all_settings()
        if key in held:
            return key
        newest = None
        for p in sorted(self.window_parts() + self.error_parts(), key=lambda p: p.seq):
            if p.key in held:
                newest = p.key  # the last one wins
        return newest

    # ---- reading
    def read_part(self, part: _Part | Path, columns: list[str] | None = None) -> pa.Table | None:
        """A part's rows; None, with a warning, when it is damaged (or gone)."""
        path = part.path if isinstance(part, _Part) else part
        try:
            return _read_parquet(path, columns=columns)
        except _Damaged as err:
            self._parts[path] = None
            self._set_aside(path, err)
            return None

    def _retried(self, read: Callable[[], Any]) -> Any:
        for _ in range(_RETRIES):
            try:
                return read()
            except _Vanished:
                continue  # compacted meanwhile: list the parts again
        raise StoreError(f"{self.name}: its part files keep changing while being read "
                         "(another process compacting it?); try again")

    def index(self, key: str) -> tuple[dict[str, _Event], dict[str, tuple[Path, str]]]:
        """Newest event per path, and where rows of each content hash lie."""

        def full():
            self._seen = self._names()
            return self._index(key)

        return self._retried(full)

    def update(self, key: str, latest: dict[str, _Event],
               by_hash: dict[str, tuple[Path, str]]) -> None:
        """Add to an :meth:`index` what the parts published since say (another writer's);
        index everything again when parts went (a compaction)."""

        def run() -> None:
            names = self._names()
            if not self._seen <= names:
                new_latest, new_by_hash = self._index(key)
                latest.clear()
                by_hash.clear()
            else:
                new_latest, new_by_hash = self._index(key, only=names - self._seen)
            for path, ev in new_latest.items():
                if path not in latest or ev.seq >= latest[path].seq:
                    latest[path] = ev
            by_hash.update(new_by_hash)
            self._seen = names

        self._retried(run)

    def _index(self, key: str, only: frozenset[str] | None = None):
        parts = self.parts_for(key, errors=False)
        schema = self._schema_of(parts)
        if only is not None:
            parts = [p for p in parts if str(p.path) in only]
        events = []
        by_hash: dict[str, tuple[Path, str]] = {}
        for part in parts:
            cols = [c for c in part.schema.names if c not in _VECTOR_COLUMNS + _TOP_COLUMNS]
            t = self.read_part(part, cols)
            if t is None:
                continue
            t = _conform(t, pa.schema([schema.field(c) for c in cols]))
            paths = _exact_paths(t)
            values = {c: t.column(c).to_pylist() for c in cols if c not in ("path", PATH_BYTES)}
            carried = [c for c in values if c not in ROW_COLUMNS]
            seen = set()
            for i, path in enumerate(paths):
                if path in seen:
                    continue
                seen.add(path)
                h = values["content_hash"][i]
                events.append((part.seq, path, _Event(
                    part.seq, "rows", h, values["file_size"][i], values["file_mtime_ns"][i],
                    {c: values[c][i] for c in carried})))
                by_hash[h] = (part.path, path)
        for part in self.parts_for(key, errors=True):
            if only is not None and str(part.path) not in only:
                continue
            t = self.read_part(part)
            if t is None:
                continue
            events.extend(
                (part.seq, path, _Event(part.seq, "error", h, reason=reason))
                for path, h, reason in zip(_exact_paths(t), t.column("content_hash").to_pylist(),
                                           t.column("reason").to_pylist(), strict=True))
        latest: dict[str, _Event] = {}
        for _, path, ev in sorted(events, key=lambda e: e[0]):
            latest[path] = ev
        return latest, by_hash

    def _schema_of(self, parts: list[_Part]) -> pa.Schema | None:
        """The columns of these parts, with the store's type for each."""
        own = _merge_schemas(p.schema for p in parts)
        if own is None:
            return None
        store = self.schema()
        if store is None:
            return own
        return pa.schema([store.field(n) if n in store.names else own.field(n)
                          for n in own.names])

    def read(self, key: str, *, paths: set[str] | None = None) -> _Current:
        """The current rows and errors of ``key`` (of ``paths`` only, when given)."""
        return self._retried(lambda: self._read(key, paths))

    def _read(self, key: str, paths: set[str] | None) -> _Current:
        parts = self.parts_for(key, errors=False)
        schema = self._schema_of(parts)
        if paths is not None and not paths:
            return _Current(None if schema is None else schema.empty_table(), [], [])
        pieces, seqs, row_paths = [], [], []
        for part in parts:
            t = self.read_part(part)
            if t is None:
                continue
            exact = _exact_paths(t)
            if paths is not None:
                keep = [i for i, p in enumerate(exact) if p in paths]
                t, exact = t.take(pa.array(keep, pa.int64())), [exact[i] for i in keep]
            pieces.append(_conform(t, schema))
            seqs += [part.seq] * len(exact)
            row_paths += exact
        failed = []
        for part in self.parts_for(key, errors=True):
            t = self.read_part(part)
            if t is None:
                continue
            failed.extend(
                (part.seq, p, h, k, r) for p, h, k, r in zip(
                    _exact_paths(t), t.column("content_hash").to_pylist(),
                    t.column("settings_key").to_pylist(), t.column("reason").to_pylist(),
                    strict=True)
                if paths is None or p in paths)
        last_error: dict[str, int] = {}
        for seq, p, *_ in failed:
            last_error[p] = max(seq, last_error.get(p, -1))
        newest: dict[str, int] = {}
        for p, seq in zip(row_paths, seqs, strict=True):
            newest[p] = max(seq, newest.get(p, -1))
        rows = pa.concat_tables(pieces) if pieces else (
            None if schema is None else schema.empty_table())
        windows = [] if rows is None else rows.column("window").to_pylist()
        chosen: dict[tuple[str, int], int] = {}
        for i, (p, seq) in enumerate(zip(row_paths, seqs, strict=True)):
            if seq == newest[p] and seq > last_error.get(p, -1):
                chosen[(p, windows[i])] = i  # a repeated (path, window): the later row wins
        order = sorted(chosen.values(), key=lambda i: (row_paths[i], windows[i]))
        if rows is not None:
            rows = rows.take(pa.array(order, pa.int64()))
        current = {row_paths[i] for i in order}
        last: dict[str, tuple[str, str | None, str, str]] = {}
        for _, p, h, k, r in sorted(failed, key=lambda e: e[0]):
            last[p] = (p, h, k, r)
        errors = [last[p] for p in sorted(last) if p not in current]
        return _Current(rows, [row_paths[i] for i in order], errors)


def _frames(cur: _Current) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame]:
    """``_Current`` as pandas and numpy: table (exact paths), embeddings, probs, errors."""
    if cur.rows is None:
        table = pd.DataFrame({c: [] for c in ROW_COLUMNS})
        emb = probs = np.zeros((0, 0), np.float32)
    else:
        emb = _vectors(cur.rows.column("embedding"),
                       cur.rows.schema.field("embedding").type.list_size)
        probs = _vectors(cur.rows.column("probs"),
                         cur.rows.schema.field("probs").type.list_size)
        drop = [c for c in (*_VECTOR_COLUMNS, "path", PATH_BYTES) if c in cur.rows.column_names]
        table = cur.rows.drop_columns(drop).to_pandas()
        table.insert(0, "path", pd.Series(cur.paths, dtype=object))  # any name, even not UTF-8
    errors = pd.DataFrame({c: pd.Series([e[i] for e in cur.errors], dtype=object)
                           for i, c in enumerate(_ERROR_COLUMNS)})
    return table, emb, probs, errors


# --------------------------------------------------------------------------- writing


@dataclass
class _Rows:
    """The windows of one input, waiting to be written."""

    path: str
    content_hash: str
    file_size: int
    file_mtime_ns: int
    window: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    clip_duration_s: np.ndarray
    embeddings: np.ndarray
    probs: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)


def _error_table(errors: list[tuple[str, str | None, str]], key: str) -> pa.Table:
    arrays = _path_arrays([p for p, _, _ in errors])
    raw = arrays.pop(PATH_BYTES, None)
    arrays["content_hash"] = pa.array([h for _, h, _ in errors], pa.string())
    arrays["settings_key"] = pa.array([key] * len(errors), pa.string())
    arrays["reason"] = pa.array([printable_path(r) for _, _, r in errors], pa.string())
    if raw is not None:
        arrays[PATH_BYTES] = raw
    return pa.table(arrays)


class _Writer:
    """Buffers finished inputs and publishes them as part files."""

    def __init__(self, store: _Store, key: str, *, flush_items: int, flush_seconds: float):
        self.store = store
        self.key = key
        self.meta: dict | None = None
        self.flush_items = flush_items
        self.flush_seconds = flush_seconds
        self.rows: list[_Rows] = []
        self.errors: list[tuple[str, str | None, str]] = []  # path, content_hash, reason
        self.by_hash: dict[str, _Rows] = {}
        self.since = time.monotonic()
        self.parts_written = 0
        #: callback(rows part (seq, path) or None, rows, errors part seq or None, errors)
        self.on_flush: Callable[..., None] | None = None
        self._noted: set[str] = set()

    def add_rows(self, rows: _Rows) -> None:
        self.rows.append(rows)
        self.by_hash[rows.content_hash] = rows

    def add_error(self, path: str, content_hash: str | None, reason: str) -> None:
        self.errors.append((path, content_hash, reason))

    def due(self) -> bool:
        n = len(self.rows) + len(self.errors)
        return n >= self.flush_items or (
            n > 0 and time.monotonic() - self.since >= self.flush_seconds)

    def _metadata(self) -> dict[bytes, bytes]:
        md = {_KEY_KEY: self.key.encode()}
        if self.meta is not None:
            md[_META_KEY] = json.dumps(self.meta, default=str).encode()
        return md

    def flush(self) -> None:
        self.since = time.monotonic()
        rows, errors = self.rows, self.errors
        rows_part = errors_seq = None
        if rows:
            try:
                with self.store.locked():  # the schema read here decides the columns' types
                    rows_part = self.store.publish(self._rows_table(self.store.schema()))
            except _WriteError as err:
                raise _WriteError(f"{err} ({len(rows) + len(errors)} inputs finished since "
                                  "the last part are not saved)", err.errno) from err
            self.parts_written += 1
        if errors:
            table = _error_table(errors, self.key).replace_schema_metadata(self._metadata())
            try:
                errors_seq, _ = self.store.publish(table, errors=True)
            except _WriteError as err:
                if not _unwritable(err):
                    raise _WriteError(f"{err} ({len(errors)} failures are not recorded)",
                                      err.errno) from err
                path, _, reason = errors[0]
                warnings.warn(
                    f"{self.store.name}: the store is not writable, so {len(errors)} failed "
                    f"inputs are not recorded in it (they are in result.errors), e.g. "
                    f"{printable_path(path)}: {reason}", ASTToolsWarning, stacklevel=3)
                errors = []
        self.rows, self.errors, self.by_hash = [], [], {}
        if self.on_flush is not None:
            self.on_flush(rows_part, rows, errors_seq, errors)

    def _rows_table(self, schema: pa.Schema | None) -> pa.Table:
        """The buffered inputs as one table; carried columns take the store's types."""
        recs = self.rows
        counts = [len(r.window) for r in recs]

        def each(values: list) -> list:
            return [v for v, n in zip(values, counts, strict=True) for _ in range(n)]

        arrays = _path_arrays(each([r.path for r in recs]))
        raw = arrays.pop(PATH_BYTES, None)
        arrays["window"] = pa.array(np.concatenate([r.window for r in recs]).astype(np.int64))
        for name in ("start_s", "end_s", "clip_duration_s"):
            arrays[name] = pa.array(np.concatenate(
                [np.asarray(getattr(r, name), dtype=np.float64) for r in recs]))
        arrays["content_hash"] = pa.array(each([r.content_hash for r in recs]), pa.string())
        arrays["settings_key"] = pa.array([self.key] * sum(counts), pa.string())
        arrays["file_size"] = pa.array(each([r.file_size for r in recs]), pa.int64())
        arrays["file_mtime_ns"] = pa.array(each([r.file_mtime_ns for r in recs]), pa.int64())
        if raw is not None:
            arrays[PATH_BYTES] = raw
        for name in dict.fromkeys(c for r in recs for c in r.extras):
            stored = schema.field(name).type if schema is not None and name in schema.names \
                else None
            arrays[name], note = _carried(name, each([r.extras.get(name) for r in recs]),
                                          stored)
            if note is not None and name not in self._noted:
                self._noted.add(name)
                warnings.warn(f"{self.store.name}: {note}", ASTToolsWarning, stacklevel=4)
        emb = np.concatenate([r.embeddings for r in recs])
        probs = np.concatenate([r.probs for r in recs])
        labels = np.asarray(self.meta["labels"], dtype=object)
        k = min(TOP_LABELS, probs.shape[1])
        top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        for i in range(k):
            arrays[f"top{i + 1}_label"] = pa.array(labels[top[:, i]].tolist(), pa.string())
            arrays[f"top{i + 1}_prob"] = pa.array(probs[np.arange(len(probs)), top[:, i]])
        arrays["embedding"] = _fixed(emb)
        arrays["probs"] = _fixed(probs)
        return pa.table(arrays).replace_schema_metadata(self._metadata())


class _Claims:
    """The inputs this writer computes, as locks that writers in other processes see.

    One byte of ``_claims`` per (settings key, content hash), locked with ``lockf``; the
    kernel releases them when the process ends, however it ends.
    """

    def __init__(self, store: _Store, key: str):
        self.store = store
        self.key = key
        self.fd: int | None = None
        self.held: set[str] = set()
        self.working = fcntl is not None

    def _offset(self, content_hash: str) -> int:
        return int(hashlib.sha256(f"{self.key}:{content_hash}".encode()).hexdigest()[:15], 16)

    def take(self, content_hash: str, *, wait: bool = False) -> bool:
        """Claim an input; False when another process holds it (``wait``: wait for it)."""
        if self.fd is None:
            path = self.store.root / CLAIMS_FILE
            try:
                self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as err:
                raise _write_failed(path, err, "the claims file") from err
        if not self.working:
            return True
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.lockf(self.fd, flags, 1, self._offset(content_hash))
        except OSError as err:
            if err.errno in (errno.EACCES, errno.EAGAIN) and not wait:
                return False
            if err.errno != errno.EDEADLK:  # a cycle of waiting writers: compute it here
                self.working = False
                self.store.no_locks(err)
            return True
        self.held.add(content_hash)
        return True

    def release(self, hashes: Iterable[str]) -> None:
        for h in set(hashes) & self.held:
            self.held.discard(h)
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, self._offset(h))

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases every claim
            self.fd = None
        self.held.clear()


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
        The store holds embeddings of another width or revision for these settings;
        inputs need computing but the store is not writable (raised before the model is
        loaded); a part cannot be written (a full disk: the message names the file, and
        everything published before is kept).
    KeyboardInterrupt
        Re-raised after the finished inputs are written.

    Warns
    -----
    ASTToolsWarning
        Once, when some inputs failed (each is in ``errors`` and in the store); when a
        carried column changes type (see the module documentation); for a damaged part
        file (skipped, and moved into ``_corrupt/``); when failures cannot be recorded
        because the store is not writable.

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
        self.schema = store.schema()
        self.stored_meta = store.all_settings().get(self.key)
        self.writer = _Writer(store, self.key, flush_items=flush_items,
                              flush_seconds=flush_seconds)
        self.writer.meta = self.stored_meta
        self.writer.on_flush = self._flushed
        self.claims = _Claims(store, self.key)
        self.deferred: list[tuple[_Item, dict]] = []  # inputs another writer computes
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
            # first everything this writer can claim; then what other writers were
            # computing, once this writer has published its own work (holding no claims)
            for plan in (self._plan(items), self._plan_deferred()):
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
                self.writer.flush()
        except BaseException as err:
            if not isinstance(err, _WriteError):  # a failed write is not tried again
                try:
                    self.writer.flush()  # keep what is done: Ctrl-C, a crash, a model error
                except _WriteError as lost:
                    raise lost from err
            raise
        finally:
            self.claims.close()
            self.bar.close()
        self.stats["seconds"] = round(time.perf_counter() - t0, 3)
        if self.errors:
            first = self.errors[0]
            warnings.warn(
                f"{len(self.errors)} of {len(items)} inputs failed and have no rows (see "
                f"result.errors; recorded in the store), e.g. {printable_path(first['path'])}: "
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
                    f"{self.store.name}: holds {width}-wide embeddings and {n_labels} "
                    f"labels; model {meta['model']!r} makes {meta['hidden_size']}-wide ones "
                    f"and {meta['num_labels']} labels. Write them to another store"
                )
        old = self.stored_meta
        if old is not None and old.get("revision") != meta.get("revision"):
            raise StoreError(
                f"{self.store.name}: rows for these settings come from revision "
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
                if not stat.S_ISREG(st.st_mode):  # reading a named pipe would block forever
                    return "is not a regular file (a pipe, socket or device?)"
                info = {"file_size": int(st.st_size), "file_mtime_ns": int(st.st_mtime_ns)}
                if (not self.rehash and prev is not None and prev.kind == "rows"
                        and prev.file_size == info["file_size"]
                        and prev.mtime_ns == info["file_mtime_ns"]):
                    info["content_hash"] = prev.content_hash
                else:
                    info["content_hash"] = _sha256(item.name)
                return info
            except OSError as err:
                return _file_reason(err, item.name)

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
            if self._claimed(item, info, wait=False):
                yield item

    def _plan_deferred(self) -> Iterator[_Item]:
        deferred, self.deferred = self.deferred, []
        if deferred:
            self.bar.set_description("extract (waiting for another writer)")
        for item, info in deferred:
            if self._claimed(item, info, wait=True):
                yield item

    def _claimed(self, item: _Item, info: dict | str, *, wait: bool) -> bool:
        """Whether this writer computes ``item``; settles it (stored, failed, copied,
        being computed here or by another writer) otherwise."""
        if isinstance(info, str):
            self._fail(item, None, info)
            return False
        if self._settled(item, info):
            return False
        h = info["content_hash"]
        try:
            if not self.claims.take(h, wait=wait):
                self.deferred.append((item, info))  # another writer computes it
                return False
        except _WriteError as err:
            raise _WriteError(f"{err}. {printable_path(item.name)} is not in the store yet, "
                              "and nothing was computed", err.errno) from err
        if self.store.changed():  # another writer published since this one looked
            self._refresh()
            if self._settled(item, info):
                self.claims.release([h])
                return False
        self.inflight[h] = []
        self.info[item.index] = info
        return True

    def _settled(self, item: _Item, info: dict) -> bool:
        h = info["content_hash"]
        prev = self.latest.get(item.name)
        if (prev is not None and prev.kind == "rows" and prev.content_hash == h
                and (not item.extra or self._same_extras(prev.extras, item.extra))):
            self.stats["cached"] += 1
            self._advance()
            return True
        if (prev is not None and prev.kind == "error" and prev.content_hash == h
                and not self.retry_failed):
            self.stats["failed"] += 1  # the same bytes failed before: not retried
            self.stats["failed_before"] += 1
            self.errors.append({"item": item.index, "path": item.name, "reason": prev.reason})
            self._advance()
            return True
        if h in self.inflight:
            self.inflight[h].append((item, info))
            return True
        source = self.writer.by_hash.get(h)
        if source is None and h in self.by_hash:
            source = self._stored_rows(*self.by_hash[h])
        if source is not None:
            self._store_rows(item, info, source, copied=True)
            return True
        return False

    def _same_extras(self, stored: dict[str, Any], extra: dict[str, Any]) -> bool:
        """Whether the carried values of an input are the stored ones, once stored."""
        for name in set(stored) | set(extra):
            have = _plain(stored.get(name))
            if name not in extra:
                if have is not None:
                    return False
                continue
            kind = (self.schema.field(name).type
                    if self.schema is not None and name in self.schema.names else None)
            value = _plain(extra[name])
            try:
                value = _fit([value], _unify(kind, _natural([value])[0].type)).to_pylist()[0]
            except (pa.ArrowException, TypeError, ValueError):
                pass
            if have != value:
                return False
        return True

    def _stored_rows(self, part: Path, path: str) -> _Rows | None:
        try:
            t = self.store.read_part(part)
        except _Vanished:
            return None
        if t is None:
            return None
        keep = [i for i, p in enumerate(_exact_paths(t)) if p == path]
        if not keep:
            return None
        t = t.take(pa.array(keep, pa.int64()))
        return _Rows(path, t.column("content_hash")[0].as_py(), 0, 0,
                     t.column("window").to_numpy(), t.column("start_s").to_numpy(),
                     t.column("end_s").to_numpy(), t.column("clip_duration_s").to_numpy(),
                     _vectors(t.column("embedding"), t.schema.field("embedding").type.list_size),
                     _vectors(t.column("probs"), t.schema.field("probs").type.list_size))

    def _refresh(self) -> None:
        self.store.update(self.key, self.latest, self.by_hash)
        self.schema = self.store.schema()

    # ---- results
    def _finished(self, r: ItemResult | ItemError) -> None:
        info = self.info.pop(r.item.index)
        h = info["content_hash"]
        if isinstance(r, ItemError):
            self._fail(r.item, h, r.reason)
            for item, _ in self.inflight.pop(h, []):
                self._fail(item, h, r.reason)
        else:
            t = r.table
            rows = _Rows(r.item.name, h, info["file_size"], info["file_mtime_ns"],
                         t["window"].to_numpy(np.int64), t["start_s"].to_numpy(np.float64),
                         t["end_s"].to_numpy(np.float64),
                         t["clip_duration_s"].to_numpy(np.float64), r.embeddings,
                         _sigmoid(r.logits), dict(r.item.extra))
            self.stats["computed"] += 1
            self.stats["windows"] += len(t)
            self.writer.add_rows(rows)
            self._advance()
            for item, dup_info in self.inflight.pop(h, []):
                self._store_rows(item, dup_info, rows, copied=True)
        if self.writer.due():
            self.writer.flush()

    def _store_rows(self, item: _Item, info: dict, source: _Rows, *,
                    copied: bool = False) -> None:
        self.writer.add_rows(_Rows(
            item.name, info["content_hash"], int(info["file_size"]),
            int(info["file_mtime_ns"]), source.window, source.start_s, source.end_s,
            source.clip_duration_s, source.embeddings, source.probs, dict(item.extra)))
        if copied:
            self.stats["copied"] += 1
        self._advance()

    def _fail(self, item: _Item, content_hash: str | None, reason: str) -> None:
        self.stats["failed"] += 1
        self.errors.append({"item": item.index, "path": item.name, "reason": reason})
        prev = self.latest.get(item.name)
        if (prev is not None and prev.kind == "error" and prev.content_hash == content_hash
                and prev.reason == reason):  # recorded already: nothing new to write
            if content_hash is not None:
                self.claims.release([content_hash])
        else:
            self.writer.add_error(item.name, content_hash, reason)
        self._advance()

    def _flushed(self, rows_part: tuple[int, Path] | None, rows: list[_Rows],
                 errors_seq: int | None, errors: list[tuple[str, str | None, str]]) -> None:
        if rows_part is not None:
            seq, part = rows_part
            for r in rows:
                self.latest[r.path] = _Event(seq, "rows", r.content_hash, r.file_size,
                                             r.file_mtime_ns, dict(r.extras))
                self.by_hash[r.content_hash] = (part, r.path)
            self.schema = self.store.schema()
        for path, h, reason in errors:
            self.latest[path] = _Event(errors_seq, "error", h, reason=reason)
        self.claims.release([r.content_hash for r in rows]
                            + [h for _, h, _ in errors if h is not None])

    def _advance(self) -> None:
        self.bar.update(1)
        s = self.stats
        self.bar.set_postfix(windows=s["windows"], cached=s["cached"] + s["copied"],
                             failed=s["failed"], refresh=False)

    def _result(self, *, read_back: bool) -> EmbeddingResult:
        paths = list(self.table_in["path"]) if read_back else []
        table, emb, probs, _ = _frames(self.store.read(self.key, paths=set(paths)))
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
        errors = pd.DataFrame({
            "item": pd.Series([e["item"] for e in self.errors], dtype=np.int64),
            "path": pd.Series([e["path"] for e in self.errors], dtype=object),
            "reason": pd.Series([e["reason"] for e in self.errors], dtype=object),
        })
        return EmbeddingResult(table, emb[take], probs[take], errors, meta)


# --------------------------------------------------------------------------- reading


def _resolve_key(st: _Store, settings) -> str:
    held = st.all_settings()
    if not held:
        raise StoreError(f"{st.name}: holds no embeddings yet (no part files with settings)")
    if settings is None:
        return st.latest_key()
    if isinstance(settings, str):
        if settings in held:
            return settings
        raise StoreError(f"{st.name}: no settings key {settings!r}; it holds "
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
        raise StoreError(f"{st.name}: {what} {settings}; it holds {_describe(held)}")
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
        the stored columns but the vectors; ``path`` is the exact file name, see the
        module documentation), ``embeddings`` (float32, (n_rows, hidden)), ``probs``
        (float32, (n_rows, n_labels)), ``errors`` (``item``, ``path``, ``content_hash``,
        ``settings_key``, ``reason`` of the paths whose newest attempt failed) and
        ``meta`` (settings, versions, ``random_weights``, ``labels``, ``settings_key``,
        ``store``).

    Raises
    ------
    StoreError
        The directory does not exist, cannot be read, holds nothing, or ``settings``
        match none or more than one of the settings it holds (the message lists them).

    Warns
    -----
    ASTToolsWarning
        For each damaged part file, which is skipped (and moved into ``_corrupt/`` when
        the store is writable), and for a damaged schema part (rebuilt when writable).

    Examples
    --------
    >>> import asttools
    >>> emb = asttools.read_store("emb")  # doctest: +SKIP
    >>> emb.table.head(), emb.embeddings.shape  # doctest: +SKIP
    """
    st = _Store(store, create=False)
    key = _resolve_key(st, settings)
    table, emb, probs, errors = _frames(st.read(key))
    number = {p: i for i, p in enumerate(sorted(set(table["path"]) | set(errors["path"])))}
    table.insert(0, "item", np.asarray([number[p] for p in table["path"]], dtype=np.int64))
    errors.insert(0, "item", np.asarray([number[p] for p in errors["path"]], dtype=np.int64))
    meta = dict(st.all_settings()[key])
    meta.update(store=str(st.root), settings_key=key)
    return EmbeddingResult(table, emb, probs, errors, meta)


def compact_store(store: str | os.PathLike) -> dict[str, int]:
    """Rewrite a store as one part per settings, dropping superseded rows and errors.

    What :func:`read_store` returns does not change. New parts are written first and the
    old ones removed after, so a crash in between leaves a valid store (with the old
    rows still there for ``pd.read_parquet``, but superseded in :func:`read_store`).
    The store's lock is held throughout: concurrent writers wait to publish. Damaged
    parts are moved into ``_corrupt/`` (with a warning), not removed.

    Parameters
    ----------
    store : str or PathLike

    Returns
    -------
    dict
        ``parts_before``, ``parts_after``, ``rows_before``, ``rows_after``.

    Raises
    ------
    StoreError
        The store does not exist, cannot be read, or cannot be written (read-only, a
        full disk: the message says which; the store stays valid).
    """
    st = _Store(store, create=False)
    with st.locked():
        old = st.window_parts() + st.error_parts()
        rows_before = 0
        for part in st.window_parts():
            with open(part.path, "rb") as f:
                rows_before += pq.read_metadata(f).num_rows
        keys = st.keys()
        latest = st.latest_key()
        rows_after = 0
        for key, meta in keys.items():
            cur = st.read(key)
            md = {_KEY_KEY: key.encode()}
            if meta is not None:
                md[_META_KEY] = json.dumps(meta, default=str).encode()
            if cur.rows is not None and cur.rows.num_rows:
                st.publish(cur.rows.replace_schema_metadata(md))
                rows_after += cur.rows.num_rows
            if cur.errors:
                errors = [(p, h, r) for p, h, _, r in cur.errors]
                st.publish(_error_table(errors, key).replace_schema_metadata(md), errors=True)
        try:
            for part in old:
                part.path.unlink(missing_ok=True)
            for folder in (st.root, st.root / ERRORS_DIR):
                if folder.is_dir():
                    for name in os.listdir(folder):
                        if name.startswith(".") and name.endswith(".tmp"):
                            (folder / name).unlink(missing_ok=True)
        except OSError as err:
            raise _write_failed(st.root, err, "(removing the compacted parts)") from err
        schema = _merge_schemas(p.schema for p in st.window_parts())
        if schema is not None:
            st.write_schema(schema)
        else:
            (st.root / SCHEMA_PART).unlink(missing_ok=True)
        if latest is not None:
            st.record(latest, keys[latest])
    return {"parts_before": len(old), "parts_after": len(st.window_parts() + st.error_parts()),
            "rows_before": rows_before, "rows_after": rows_after}
