"""Writing parts: buffered rows and errors, published under a lock; input claims."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ..columns import INPUT_COLUMNS, PATH_BYTES, TOP_LABELS
from ..errors import ASTToolsWarning
from ..run.inputs import printable_path
from ._columns import _carried, _fixed, _path_arrays
from ._layout import (
    _KEY_KEY,
    _META_KEY,
    CLAIMS_FILE,
    _Store,
    _unwritable,
    _write_failed,
    _WriteError,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks (see "Concurrent writers")
    fcntl = None


# --------------------------------------------------------------------------- writing


@dataclass
class _Input:
    """What the store records about one input besides its windows (rows or a failure)."""

    id: str
    path: str
    content_hash: str | None
    file_size: int | None = None
    file_mtime_ns: int | None = None
    audio_status: str = "ok"
    media: dict[str, Any] = field(default_factory=dict)  # the other INPUT_COLUMNS
    extras: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why it failed; None for rows

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> _Input:
        """A failure as :func:`~asttools.store._layout._frames` reads it back."""
        own = {"path", PATH_BYTES, "content_hash", "settings_key", "reason", "file_size",
               "file_mtime_ns", *INPUT_COLUMNS}
        return cls(rec["id"], rec["path"], rec.get("content_hash"),
                   audio_status=rec.get("audio_status") or "decode_error",
                   media={c: rec.get(c) for c in INPUT_COLUMNS[2:]},
                   extras={c: v for c, v in rec.items() if c not in own},
                   reason=rec.get("reason"))

    def values(self) -> dict[str, Any]:
        """Its own columns (:data:`~asttools.columns.INPUT_COLUMNS`), by name."""
        return {"id": self.id, "audio_status": self.audio_status,
                **{c: self.media.get(c) for c in INPUT_COLUMNS[2:]}}


@dataclass
class _Rows:
    """The windows of one input, waiting to be written."""

    input: _Input
    window: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    clip_duration_s: np.ndarray
    embeddings: np.ndarray
    probs: np.ndarray


#: The type of each of an input's own columns.
_INPUT_TYPES = {"id": pa.string(), "audio_status": pa.string(), "av_warning": pa.string(),
                "n_audio_streams": pa.int64(),
                **{c: pa.float64() for c in INPUT_COLUMNS if c.endswith("_s") or
                   c == "frame_rate"}}


def _input_arrays(inputs: list[_Input], counts: list[int] | None = None) -> dict[str, pa.Array]:
    """``path`` (and ``path_bytes``), then each input's own columns, repeated ``counts``."""
    n = counts or [1] * len(inputs)

    def each(values: list) -> list:
        return [v for v, k in zip(values, n, strict=True) for _ in range(k)]

    arrays = _path_arrays(each([r.path for r in inputs]))
    own = [r.values() for r in inputs]
    for c in INPUT_COLUMNS:
        arrays[c] = pa.array(each([o[c] for o in own]), _INPUT_TYPES[c])
    return arrays


def _error_table(errors: list[_Input], key: str) -> pa.Table:
    arrays = _input_arrays(errors)
    raw = arrays.pop(PATH_BYTES, None)
    arrays["content_hash"] = pa.array([e.content_hash for e in errors], pa.string())
    arrays["settings_key"] = pa.array([key] * len(errors), pa.string())
    arrays["reason"] = pa.array([printable_path(e.reason or "") for e in errors], pa.string())
    if raw is not None:
        arrays[PATH_BYTES] = raw
    for name in dict.fromkeys(c for e in errors for c in e.extras):
        arrays[name], _ = _carried(name, [e.extras.get(name) for e in errors], None)
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
        self.errors: list[_Input] = []
        self.by_hash: dict[str, _Rows] = {}
        self.since = time.monotonic()
        #: callback(rows part (seq, path) or None, rows, errors part seq or None, errors)
        self.on_flush: Callable[..., None] | None = None
        self._noted: set[str] = set()

    def add_rows(self, rows: _Rows, unit: str) -> None:
        """Buffer an input's windows; ``unit`` (content hash and segment) finds them."""
        self.rows.append(rows)
        self.by_hash[unit] = rows

    def add_error(self, failed: _Input) -> None:
        self.errors.append(failed)

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
        if errors:
            table = _error_table(errors, self.key).replace_schema_metadata(self._metadata())
            try:
                errors_seq, _ = self.store.publish(table, errors=True)
            except _WriteError as err:
                if not _unwritable(err):
                    raise _WriteError(f"{err} ({len(errors)} failures are not recorded)",
                                      err.errno) from err
                first = errors[0]
                warnings.warn(
                    f"{self.store.name}: the store is not writable, so {len(errors)} failed "
                    f"inputs are not recorded in it (they are in result.errors), e.g. "
                    f"{printable_path(first.path)}: {first.reason}", ASTToolsWarning,
                    stacklevel=3)
                errors = []
        self.rows, self.errors, self.by_hash = [], [], {}
        if self.on_flush is not None:
            self.on_flush(rows_part, rows, errors_seq, errors)

    def _rows_table(self, schema: pa.Schema | None) -> pa.Table:
        """The buffered inputs as one table; carried columns take the store's types."""
        recs = self.rows
        counts = [len(r.window) for r in recs]
        inputs = [r.input for r in recs]

        def each(values: list) -> list:
            return [v for v, n in zip(values, counts, strict=True) for _ in range(n)]

        own = _input_arrays(inputs, counts)
        raw = own.pop(PATH_BYTES, None)
        arrays = {"path": own.pop("path")}
        arrays["window"] = pa.array(np.concatenate([r.window for r in recs]).astype(np.int64))
        for name in ("start_s", "end_s", "clip_duration_s"):
            arrays[name] = pa.array(np.concatenate(
                [np.asarray(getattr(r, name), dtype=np.float64) for r in recs]))
        arrays["content_hash"] = pa.array(each([r.content_hash for r in inputs]), pa.string())
        arrays["settings_key"] = pa.array([self.key] * sum(counts), pa.string())
        arrays["file_size"] = pa.array(each([r.file_size for r in inputs]), pa.int64())
        arrays["file_mtime_ns"] = pa.array(each([r.file_mtime_ns for r in inputs]), pa.int64())
        arrays.update(own)
        if raw is not None:
            arrays[PATH_BYTES] = raw
        for name in dict.fromkeys(c for r in inputs for c in r.extras):
            stored = schema.field(name).type if schema is not None and name in schema.names \
                else None
            arrays[name], note = _carried(name, each([r.extras.get(name) for r in inputs]),
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
        """Claim an input; False when another process holds it (``wait``: wait for it).

        Always True on a store that cannot be locked (object storage): one writer at a
        time there (see "Object storage" in the module documentation)."""
        if not self.store.lockable:
            return True
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


