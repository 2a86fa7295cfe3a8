"""The files of a store directory: names, atomic writes, damage, the current view."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..columns import PATH_BYTES, ROW_COLUMNS, TOP_COLUMNS, VECTOR_COLUMNS
from ..errors import ASTToolsWarning, StoreError
from ..run.inputs import printable_path
from ..run.result import META_KEY
from ._columns import _conform, _exact_paths, _merge_schemas, _vectors

try:
    import fcntl
except ImportError:  # Windows: no advisory locks (see "Concurrent writers")
    fcntl = None


STORE_FORMAT_VERSION = 2  # 2: inputs known by id; audio statuses; media columns
META_FILE = "_meta.json"
ERRORS_DIR = "_errors"
CORRUPT_DIR = "_corrupt"
LOCK_FILE = "_lock"
CLAIMS_FILE = "_claims"
SCHEMA_PART = "part-000000-schema.parquet"
_META_KEY = META_KEY  # the key results use too
_KEY_KEY = b"asttools.settings_key"
_HASH_BLOCK = 1 << 20
#: How often a read starts again when part files vanish under it (a concurrent compact).
_RETRIES = 5
#: The columns of a failure as :func:`_frames` returns them (carried columns follow).
_ERROR_COLUMNS = ("path", "id", "content_hash", "settings_key", "audio_status", "reason")
#: errno values of a write refused because the store is not writable, or the disk full.
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


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


def _dictionary_columns(table: pa.Table) -> list[str]:
    """Columns worth dictionary-encoding: all but the vectors (a dictionary of float
    values only grows the file, about 25 % for float32 embeddings)."""
    return [f.name for f in table.schema if not pa.types.is_fixed_size_list(f.type)]


def _write_atomic(table: pa.Table, path: Path, *, what: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f, compression="none", use_dictionary=_dictionary_columns(table),
                           write_page_checksum=True)
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
            return pq.read_schema(f) if schema_only else pq.read_table(
                f, columns=columns, page_checksum_verification=True)
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
    """The newest thing a store says about one input (by id) for one settings key."""

    seq: int
    kind: str  # "rows" or "error"
    content_hash: str | None = None
    file_size: int | None = None
    mtime_ns: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    segment: tuple[float, float] | None = None
    status: str | None = None
    path: str | None = None


def unit_key(content_hash: str, segment: tuple[float, float] | None) -> str:
    """What is computed once and may be copied: a file's bytes, and which part of them."""
    return content_hash if segment is None else f"{content_hash}@{segment[0]:.6f}-{segment[1]:.6f}"


def _segment_of(values: dict[str, list], i: int) -> tuple[float, float] | None:
    a = values.get("segment_start_s", [None] * (i + 1))[i]
    b = values.get("segment_end_s", [None] * (i + 1))[i]
    return None if a is None or b is None or a != a or b != b else (float(a), float(b))


def _ids(t: pa.Table, paths: list[str]) -> list[str]:
    """Each row's input id; a store written before ids (format 1) is keyed by path."""
    if "id" not in t.column_names:
        return list(paths)
    return [p if i is None else i for i, p in zip(t.column("id").to_pylist(), paths,
                                                   strict=True)]


@dataclass
class _Part:
    """One part file and what its footer says."""

    seq: int
    path: PurePath  # a Path on a local file system
    key: str | None
    meta: dict | None
    schema: pa.Schema  # without metadata


@dataclass
class _Current:
    """The current rows and errors of one settings key (see :meth:`_Store.read`)."""

    rows: pa.Table | None  # every column, vectors too, by id then window; None: no parts
    paths: list[str]  # the exact path of each row
    errors: list[dict[str, Any]]  # one per failed input: its columns, exact path


class _Store:
    """Reads and writes the files of one store directory.

    Every file it touches goes through a few methods (``_listed``, ``_read_file``,
    ``_write_table``, ``_write_json``, ``read_meta_file``, ``open_input``, ``remove``,
    ``_make_dir``, ``_move_aside``, ``locked``): this class gives them for a local (POSIX)
    directory, with locks and atomic renames; ``_objects._ObjectStore`` for a pyarrow file
    system (object storage), without either.
    """

    #: Whether writers can lock the store (``flock`` on ``_lock``, claims in ``_claims``).
    lockable = True

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
        self._open()

    def _open(self) -> None:
        """The state every store starts with; repairs a damaged schema part."""
        self._parts: dict[PurePath, _Part | None] = {}
        self._seen: frozenset[str] = frozenset()
        self._lock_depth = 0
        self._schema_damage: str | None = None
        self._warned_locks = False
        self._repair_schema()

    # ---- the files (a subclass gives them for another file system)
    @property
    def location(self) -> str:
        """The store as ``meta["store"]`` records it."""
        return str(self.root)

    def show(self, path: PurePath) -> str:
        """A file of the store, for a message."""
        return printable_path(path)

    def _read_file(self, path: PurePath, *, columns: list[str] | None = None,
                   schema_only: bool = False) -> pa.Table | pa.Schema:
        """A Parquet file's rows or schema; raises _Vanished, _Damaged or StoreError."""
        return _read_parquet(path, columns=columns, schema_only=schema_only)

    def _write_table(self, table: pa.Table, path: PurePath, *, what: str) -> None:
        """Write a Parquet file that no reader sees half-written."""
        _write_atomic(table, path, what=what)

    def _write_json(self, data: dict, path: PurePath) -> None:
        _write_json_atomic(data, path)

    def open_input(self, path: PurePath):
        """A file of the store, open for reading (binary)."""
        return open(path, "rb")  # noqa: SIM115 - the caller closes it

    def remove(self, path: PurePath) -> None:
        """Delete a file of the store (nothing when it is gone already)."""
        path.unlink(missing_ok=True)

    def remove_temporaries(self) -> None:
        """Delete what writers killed mid-write left behind (``.*.tmp``)."""
        for folder in (self.root, self.root / ERRORS_DIR):
            if folder.is_dir():
                for name in os.listdir(folder):
                    if name.startswith(".") and name.endswith(".tmp"):
                        (folder / name).unlink(missing_ok=True)

    def _make_dir(self, folder: PurePath, what: str) -> None:
        try:
            folder.mkdir(exist_ok=True)
        except OSError as err:
            raise _write_failed(folder, err, what) from err

    def _move_aside(self, path: PurePath, dest: PurePath) -> None:
        """Move a damaged part to ``dest``; FileNotFoundError when it is gone, another
        OSError when the store is not writable."""
        dest.parent.mkdir(exist_ok=True)
        os.replace(path, dest)

    # ---- listing
    def _listed(self, folder: PurePath) -> list[tuple[int, PurePath]]:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        except OSError as err:
            raise StoreError(f"{printable_path(folder)}: cannot list it "
                             f"({err.strerror or err}); make the store readable for you"
                             ) from err
        return sorted((seq, folder / n) for n in names if (seq := _part_seq(n)) is not None)

    def _part(self, seq: int, path: PurePath) -> _Part | None:
        if path not in self._parts:
            try:
                schema = self._read_file(path, schema_only=True)
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

    def _in(self, folder: PurePath) -> list[_Part]:
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

    def _set_aside(self, path: PurePath, err: BaseException) -> None:
        """Warn about a damaged part; move it into _corrupt/ when the store is writable."""
        errors = path.parent.name == ERRORS_DIR
        dest = self.root / CORRUPT_DIR / (f"errors-{path.name}" if errors else path.name)
        try:
            self._move_aside(path, dest)
        except FileNotFoundError:
            return  # gone meanwhile
        except OSError:
            fate = "left it in place (the store is not writable)"
            if not errors:
                fate += ("; pd.read_parquet(STORE) fails until it is moved away (e.g. into "
                         f"{CORRUPT_DIR}/) or deleted")
        else:
            fate = f"moved it to {self.show(dest)} (delete it once you are sure)"
        lost = ("the failures it recorded are forgotten: extract tries those inputs again"
                if errors else "the inputs it held are no longer in the store: extract "
                "computes them again")
        warnings.warn(f"{self.show(path)}: damaged part file ({err}); skipped it and "
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
            return self._read_file(self.root / SCHEMA_PART, schema_only=True).remove_metadata()
        except _Vanished:
            pass
        except _Damaged as err:
            self._schema_damage = str(err) or "damaged"
        return _merge_schemas(p.schema for p in self.window_parts())

    def write_schema(self, schema: pa.Schema) -> None:
        self._write_table(schema.empty_table(), self.root / SCHEMA_PART, what="the schema part")
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
                        self.remove(path)
                        self._schema_damage = None
                    else:
                        self.write_schema(schema)
            fate = "rebuilt it from the part files"
        except (_WriteError, OSError) as err:
            fate = (f"could not rebuild it ({err}); pd.read_parquet(STORE) fails until it is "
                    "rebuilt where the store is writable (open it with asttools.read_store)")
        warnings.warn(f"{self.show(path)}: damaged schema part ({damage}); {fate}",
                      ASTToolsWarning, stacklevel=3)

    def publish(self, table: pa.Table, *, errors: bool = False) -> tuple[int, PurePath]:
        """Write ``table`` (its columns fitted to :meth:`schema`) as the next part, under
        the lock; the schema part is widened first."""
        with self.locked():
            folder = self.root / ERRORS_DIR if errors else self.root
            if errors:
                self._make_dir(folder, "the errors folder")
            else:
                current = self.schema()
                wider = _merge_schemas([current, table.schema.remove_metadata()])
                if current is None or self._schema_damage or not wider.equals(current):
                    self.write_schema(wider)
            seq = self.next_seq()
            path = folder / f"part-{seq:06d}-{secrets.token_hex(4)}.parquet"
            self._write_table(table, path, what="a part file")
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
                self._write_json(data, path)
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
    def read_part(self, part: _Part | PurePath, columns: list[str] | None = None
                  ) -> pa.Table | None:
        """A part's rows; None, with a warning, when it is damaged (or gone)."""
        path = part.path if isinstance(part, _Part) else part
        try:
            return self._read_file(path, columns=columns)
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

    def index(self, key: str) -> tuple[dict[str, _Event], dict[str, tuple[PurePath, str]]]:
        """Newest event per path, and where rows of each content hash lie."""

        def full():
            self._seen = self._names()
            return self._index(key)

        return self._retried(full)

    def update(self, key: str, latest: dict[str, _Event],
               by_hash: dict[str, tuple[PurePath, str]]) -> None:
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
        by_hash: dict[str, tuple[PurePath, str]] = {}
        for part in parts:
            cols = [c for c in part.schema.names if c not in VECTOR_COLUMNS + TOP_COLUMNS]
            t = self.read_part(part, cols)
            if t is None:
                continue
            t = _conform(t, pa.schema([schema.field(c) for c in cols]))
            paths = _exact_paths(t)
            ids = _ids(t, paths)
            values = {c: t.column(c).to_pylist() for c in cols if c not in ("path", PATH_BYTES)}
            carried = [c for c in values if c not in ROW_COLUMNS]
            seen = set()
            for i, (path, input_id) in enumerate(zip(paths, ids, strict=True)):
                if input_id in seen:
                    continue
                seen.add(input_id)
                h = values["content_hash"][i]
                segment = _segment_of(values, i)
                events.append((part.seq, input_id, _Event(
                    part.seq, "rows", h, values["file_size"][i], values["file_mtime_ns"][i],
                    {c: values[c][i] for c in carried}, segment=segment,
                    status=values.get("audio_status", ["ok"] * (i + 1))[i] or "ok",
                    path=path)))
                by_hash[unit_key(h, segment)] = (part.path, input_id)
        for part in self.parts_for(key, errors=True):
            if only is not None and str(part.path) not in only:
                continue
            t = self.read_part(part)
            if t is None:
                continue
            paths = _exact_paths(t)
            values = {c: t.column(c).to_pylist() for c in t.column_names}
            for i, (path, input_id) in enumerate(zip(paths, _ids(t, paths), strict=True)):
                events.append((part.seq, input_id, _Event(
                    part.seq, "error", values["content_hash"][i], reason=values["reason"][i],
                    segment=_segment_of(values, i), path=path,
                    status=(values.get("audio_status") or [None] * (i + 1))[i])))
        latest: dict[str, _Event] = {}
        for _, input_id, ev in sorted(events, key=lambda e: e[0]):
            latest[input_id] = ev
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

    def read(self, key: str, *, ids: set[str] | None = None) -> _Current:
        """The current rows and errors of ``key`` (of the inputs ``ids`` only, when given)."""
        return self._retried(lambda: self._read(key, ids))

    def _read(self, key: str, wanted: set[str] | None) -> _Current:
        parts = self.parts_for(key, errors=False)
        schema = self._schema_of(parts)
        if wanted is not None and not wanted:
            return _Current(None if schema is None else schema.empty_table(), [], [])
        pieces, seqs, row_paths, row_ids = [], [], [], []
        for part in parts:
            t = self.read_part(part)
            if t is None:
                continue
            exact = _exact_paths(t)
            ids = _ids(t, exact)
            if wanted is not None:
                keep = [i for i, k in enumerate(ids) if k in wanted]
                t = t.take(pa.array(keep, pa.int64()))
                exact, ids = [exact[i] for i in keep], [ids[i] for i in keep]
            pieces.append(_conform(t, schema))
            seqs += [part.seq] * len(exact)
            row_paths += exact
            row_ids += ids
        failed = []
        for part in self.parts_for(key, errors=True):
            t = self.read_part(part)
            if t is None:
                continue
            exact = _exact_paths(t)
            records = t.drop_columns([c for c in ("path", PATH_BYTES)
                                      if c in t.column_names]).to_pylist()
            for rec, path, input_id in zip(records, exact, _ids(t, exact), strict=True):
                if wanted is None or input_id in wanted:
                    failed.append((part.seq, input_id, {**rec, "path": path, "id": input_id}))
        last_error: dict[str, int] = {}
        for seq, k, _ in failed:
            last_error[k] = max(seq, last_error.get(k, -1))
        newest: dict[str, int] = {}
        for k, seq in zip(row_ids, seqs, strict=True):
            newest[k] = max(seq, newest.get(k, -1))
        rows = pa.concat_tables(pieces) if pieces else (
            None if schema is None else schema.empty_table())
        windows = [] if rows is None else rows.column("window").to_pylist()
        chosen: dict[tuple[str, int], int] = {}
        for i, (k, seq) in enumerate(zip(row_ids, seqs, strict=True)):
            if seq == newest[k] and seq > last_error.get(k, -1):
                chosen[(k, windows[i])] = i  # a repeated (id, window): the later row wins
        order = sorted(chosen.values(), key=lambda i: (row_ids[i], windows[i]))
        if rows is not None:
            rows = rows.take(pa.array(order, pa.int64()))
        current = {row_ids[i] for i in order}
        last: dict[str, dict[str, Any]] = {}
        for _, k, rec in sorted(failed, key=lambda e: e[0]):
            last[k] = rec
        errors = [last[k] for k in sorted(last) if k not in current]
        return _Current(rows, [row_paths[i] for i in order], errors)


def _frames(cur: _Current) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame]:
    """``_Current`` as pandas and numpy: table (exact paths), embeddings, probs, errors
    (the failed inputs: ``_ERROR_COLUMNS``, their media columns, carried columns)."""
    if cur.rows is None:
        table = pd.DataFrame({c: [] for c in ROW_COLUMNS})
        emb = probs = np.zeros((0, 0), np.float32)
    else:
        emb = _vectors(cur.rows.column("embedding"),
                       cur.rows.schema.field("embedding").type.list_size)
        probs = _vectors(cur.rows.column("probs"),
                         cur.rows.schema.field("probs").type.list_size)
        drop = [c for c in (*VECTOR_COLUMNS, "path", PATH_BYTES) if c in cur.rows.column_names]
        table = cur.rows.drop_columns(drop).to_pandas()
        table.insert(0, "path", pd.Series(cur.paths, dtype=object))  # any name, even not UTF-8
        if "id" not in table.columns:  # a store written before ids: the path names it
            table.insert(1, "id", pd.Series(cur.paths, dtype=object))
    names = list(dict.fromkeys([*_ERROR_COLUMNS, *(c for e in cur.errors for c in e)]))
    errors = pd.DataFrame({c: pd.Series([e.get(c) for e in cur.errors], dtype=object)
                           for c in names})
    return table, emb, probs, errors
