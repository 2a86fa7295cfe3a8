"""A store on object storage (S3, GCS, ...): the store's files through a pyarrow file system.

:func:`open_store` decides where a store lives. A local path, a ``file://`` URI and a
``(pyarrow.fs.LocalFileSystem(), path)`` pair are a local directory (:class:`_Store`:
locks, atomic renames); any other URI that :func:`pyarrow.fs.FileSystem.from_uri`
accepts (``s3://bucket/prefix``, ``gs://...``, ``hdfs://...``) and any other
``(pyarrow.fs.FileSystem, path)`` pair is an :class:`_ObjectStore`.

Object storage has no renames and no locks, so:

- a Parquet file is serialized in memory and written with one upload (a single PUT, or
  a multipart upload that appears only once complete): a reader sees all of it or
  nothing, and a writer that fails mid-way leaves nothing behind;
- parts are named ``part-SEQ-RANDOM.parquet``; without a lock two writers may pick the
  same ``SEQ``, but never the same name, and reading resolves what they both wrote as it
  resolves a repeated input (one row per input and window);
- there are no claims, and a writer does not look for other writers' parts while it
  runs (that would cost a listing per input): two writers on one store may both compute
  an input (the rows agree, and reading returns them once). Run one writer per store;
  see the module documentation of :mod:`asttools.store`;
- reading some columns (the index a run starts with) uses ranged reads, not whole
  downloads; the last part read whole is kept (parts never change once written);
- a damaged part is moved into ``_corrupt/`` by the file system's move (a copy then a
  delete on S3). An error while downloading a part is a :class:`StoreError`, not damage:
  a part is set aside only when its bytes, downloaded whole, are not Parquet.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import PurePath, PurePosixPath

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import ParameterError, StoreError
from ._layout import (
    META_FILE,
    _Damaged,
    _dictionary_columns,
    _part_seq,
    _Store,
    _Vanished,
    _WriteError,
)

#: ``scheme://`` at the start of a store: a URI for pyarrow (two letters at least, so
#: that a Windows drive letter stays a path).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def open_store(store, *, create: bool) -> _Store:
    """The store at ``store``: a path, a URI, or a ``(pyarrow.fs.FileSystem, path)`` pair.

    Raises
    ------
    ParameterError
        ``store`` is none of these, or a URI that pyarrow does not know.
    StoreError
        The store does not exist (and ``create`` is False), is a file, or cannot be
        reached or made.
    """
    if isinstance(store, (tuple, list)):
        if len(store) != 2 or not isinstance(store[0], pafs.FileSystem) \
                or not isinstance(store[1], str):
            raise ParameterError(
                "a store given as a pair must be (pyarrow.fs.FileSystem, path str), got "
                f"({', '.join(type(x).__name__ for x in store)})")
        fs, path = store
        if isinstance(fs, pafs.LocalFileSystem):
            return _Store(path, create=create)
        return _ObjectStore(fs, path, fs.type_name, create=create)
    if isinstance(store, str) and _URI.match(store):
        try:
            fs, path = pafs.FileSystem.from_uri(store)
        except (ValueError, pa.ArrowException) as err:
            raise ParameterError(f"store {store!r}: not a URI pyarrow can open ({err}); give a "
                                 "local path or e.g. s3://bucket/prefix") from err
        except OSError as err:
            raise StoreError(f"store {_without_secrets(store)}: cannot open its file system "
                             f"({err})") from err
        if isinstance(fs, pafs.LocalFileSystem):
            return _Store(path, create=create)
        return _ObjectStore(fs, path, store.split(":", 1)[0].lower(), create=create)
    if not isinstance(store, (str, bytes, os.PathLike)):
        raise ParameterError(f"store must be a path, a URI (s3://bucket/prefix) or a "
                             f"(pyarrow.fs.FileSystem, path) pair, got {type(store).__name__}")
    return _Store(store, create=create)


def _without_secrets(uri: str) -> str:
    """A URI without its query (which may hold keys) and user info."""
    head, _, rest = uri.partition("://")
    rest = rest.split("?", 1)[0]
    return f"{head}://{rest.rsplit('@', 1)[-1]}"


def _errno(err: OSError) -> int | None:
    """The errno of a refused write: pyarrow's S3 and GCS errors carry none."""
    if err.errno is not None:
        return err.errno
    text = str(err).upper()
    if "ACCESS_DENIED" in text or "ACCESSDENIED" in text or "FORBIDDEN" in text:
        return errno.EACCES
    return None


class _ObjectStore(_Store):
    """A store's files through a pyarrow file system, without renames or locks."""

    lockable = False

    def __init__(self, fs: pafs.FileSystem, path: str, scheme: str, *, create: bool):
        self.fs = fs
        self.scheme = scheme
        self.root = PurePosixPath(path.rstrip("/") or "/")
        self.name = self.show(self.root)
        self._last: tuple[PurePath, pa.Table] | None = None  # the last part read whole
        try:
            info = fs.get_file_info(str(self.root))
        except OSError as err:
            raise StoreError(f"{self.name}: cannot reach it ({err}); check the address and "
                             "your credentials (for S3: AWS_ACCESS_KEY_ID, "
                             "AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials)") from err
        if info.type == pafs.FileType.File:
            raise StoreError(f"{self.name}: is a file, not an embedding store directory")
        if info.type == pafs.FileType.NotFound:
            if not create:
                raise StoreError(f"{self.name}: no such embedding store")
            self._make_dir(self.root, "the store directory", recursive=True)
        self._open()

    # ---- the files
    @property
    def location(self) -> str:
        return self.name

    def show(self, path: PurePath) -> str:
        return f"{self.scheme}://{str(path).lstrip('/')}"

    def _failed(self, path: PurePath, err: OSError, what: str) -> _WriteError:
        code = _errno(err)
        if code in (errno.EACCES, errno.EPERM, errno.EROFS):
            advice = "you may not write there: extract into a store you can write"
        else:
            advice = ("check the address, your credentials and the connection, then run "
                      "the same command again; everything written before is kept")
        return _WriteError(f"{self.show(path)}: cannot write {what} ({err}); {advice}", code)

    def _gone(self, path: PurePath) -> bool:
        """Whether ``path`` is known not to exist (False when that cannot be told)."""
        try:
            return self.fs.get_file_info(str(path)).type == pafs.FileType.NotFound
        except OSError:
            return False

    def _fetch(self, path: PurePath) -> pa.Buffer:
        """A whole file, downloaded."""
        try:
            with self.fs.open_input_stream(str(path)) as f:
                return f.read_buffer()
        except FileNotFoundError as err:
            raise _Vanished(path) from err
        except OSError as err:
            if self._gone(path):
                raise _Vanished(path) from err
            raise StoreError(f"{self.show(path)}: cannot read it ({err}); check your "
                             "credentials and the connection, then try again") from err

    def _read_file(self, path: PurePath, *, columns: list[str] | None = None,
                   schema_only: bool = False) -> pa.Table | pa.Schema:
        if schema_only or columns is not None:
            # the footer, or some columns: ranged reads (the index leaves the vectors)
            try:
                with self.fs.open_input_file(str(path)) as f:
                    return pq.read_schema(f) if schema_only else pq.read_table(
                        f, columns=columns, page_checksum_verification=True)
            except FileNotFoundError as err:
                raise _Vanished(path) from err
            except (OSError, ValueError, pa.ArrowException):
                pass  # damage, or a failed download: the whole file tells them apart
        elif self._last is not None and self._last[0] == path:
            return self._last[1]  # parts never change: copies of one part's inputs
        data = pa.BufferReader(self._fetch(path))
        try:
            if schema_only:
                return pq.read_schema(data)
            table = pq.read_table(data, columns=columns, page_checksum_verification=True)
        except (OSError, ValueError, pa.ArrowException) as err:
            raise _Damaged(str(err)) from err
        if columns is None:
            self._last = (path, table)
        return table

    def _upload(self, data: pa.Buffer | bytes, path: PurePath, what: str) -> None:
        """One upload of a whole file: it appears complete or not at all."""
        try:
            with self.fs.open_output_stream(str(path)) as out:
                out.write(data)
        except OSError as err:
            raise self._failed(path, err, what) from err

    def _write_table(self, table: pa.Table, path: PurePath, *, what: str) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="none",
                       use_dictionary=_dictionary_columns(table), write_page_checksum=True)
        self._upload(sink.getvalue(), path, what)

    def _write_json(self, data: dict, path: PurePath) -> None:
        self._upload(json.dumps(data, indent=1, default=str).encode(), path,
                     "the settings file")

    def read_meta_file(self) -> dict:
        try:
            with self.fs.open_input_stream(str(self.root / META_FILE)) as f:
                data = json.loads(f.read())
        except (OSError, ValueError):
            return {}  # rebuilt from the part files' footers
        return data if isinstance(data, dict) else {}

    def open_input(self, path: PurePath):
        return self.fs.open_input_file(str(path))

    def remove(self, path: PurePath) -> None:
        try:
            self.fs.delete_file(str(path))
        except FileNotFoundError:
            pass
        except OSError:
            if not self._gone(path):
                raise

    def remove_temporaries(self) -> None:
        pass  # nothing is written under a temporary name here

    def _make_dir(self, folder: PurePath, what: str, *, recursive: bool = False) -> None:
        try:
            self.fs.create_dir(str(folder), recursive=recursive)
        except OSError as err:
            raise self._failed(folder, err, what) from err

    def _move_aside(self, path: PurePath, dest: PurePath) -> None:
        try:
            self.fs.create_dir(str(dest.parent), recursive=True)
            self.fs.move(str(path), str(dest))  # on S3: a copy, then a delete
        except OSError:
            if self._gone(path):
                raise FileNotFoundError(str(path)) from None
            raise

    def changed(self) -> bool:
        """False: writers on object storage do not follow each other's parts (that would
        cost a listing per input to compute; one writer per store)."""
        return False

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """No lock: object storage has none (one writer per store; see :mod:`asttools.store`)."""
        yield

    # ---- listing
    def _listed(self, folder: PurePath) -> list[tuple[int, PurePath]]:
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(str(folder), allow_not_found=True))
        except OSError as err:
            raise StoreError(f"{self.show(folder)}: cannot list it ({err}); check your "
                             "credentials and the connection") from err
        return sorted((seq, folder / i.base_name) for i in infos
                      if i.type == pafs.FileType.File
                      and (seq := _part_seq(i.base_name)) is not None)

