"""What to run on: files, folders and manifest CSVs expanded into one table of inputs.

:func:`list_inputs` turns paths, folders (walked for audio and video files) and manifest
CSVs (a ``path`` column, other columns carried along) into one row per file, each file
named once by its absolute path (:func:`absolute_path`). :func:`read_csv` reads a manifest
robustly for both :func:`list_inputs` and :mod:`asttools.datasets`, so that the store and
the ground truth name every file the same way and their tables join.

**File names.** A file name on Linux is bytes that need not be UTF-8; Python gives such a
name with surrogate escapes (``os.fsdecode``), which opens the file but cannot be printed
or stored as text. Such names are kept exactly (bytes paths are accepted everywhere, a
manifest may hold them) and :func:`printable_path` writes them readably, each byte that is
not UTF-8 as ``\\xNN``.

**Manifest rows.** A file listed on several rows is one input. The columns whose values
differ between its rows hold a tuple of the rows' values, in row order, for every file of
that listing (a multi-label CSV with one label per row gives ``label=("dog", "bark")``,
and ``("cat",)`` for a file listed once); :func:`list_inputs` warns when it merges.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .audio import MEDIA_EXTENSIONS
from .constants import RESERVED_COLUMNS
from .errors import ASTToolsWarning, ParameterError

__all__ = ["absolute_path", "list_inputs", "plain", "printable_path", "read_csv"]


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
        path or without rows, or a column named like one asttools writes
        (:data:`asttools.constants.RESERVED_COLUMNS`).

    Warns
    -----
    ASTToolsWarning
        When files listed on several rows with different values are merged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "b.WAV").write_bytes(b""); _ = (d / "a.flac").write_bytes(b"")
    >>> [pathlib.Path(p).name for p in list_inputs(d)["path"]]
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
                listed.append(absolute_path(path))
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
                found.append(absolute_path(Path(folder, name)))
    return sorted(found)


def _read_manifest(csv: Path) -> list[tuple[str, dict[str, Any]]]:
    table = read_csv(csv, what="manifest", dtype={"path": object})
    entries = _from_frame(table, base=csv.resolve().parent, what=printable_path(csv))
    if not entries:
        raise ParameterError(f"{printable_path(csv)}: the manifest has no rows, only a "
                             "header; add one row per audio file")
    return entries


def read_csv(path: str | os.PathLike, *, what: str = "manifest",
             path_column: str = "path", **kwargs) -> pd.DataFrame:
    """Read a manifest CSV as pandas does, with file names in any encoding.

    The ``path_column`` may hold file names that are not UTF-8 (read with surrogate
    escapes, so they open the files); every other column must be UTF-8 text.

    Parameters
    ----------
    path : str or PathLike
    what : str, default "manifest"
        How messages call the file ("ESC-50 metadata", ...).
    path_column : str, default "path"
        The column of file names.
    **kwargs
        Passed to :func:`pandas.read_csv` (``dtype``, ``keep_default_na``, ...).

    Returns
    -------
    DataFrame
        The CSV as pandas reads it, column names stripped of spaces. Paths are not yet
        resolved: see :func:`absolute_path`.

    Raises
    ------
    ParameterError
        The file is empty, cannot be parsed as CSV, or a column other than the path
        column is not UTF-8 text (the message names the column and row).
    """
    name = printable_path(path)
    try:  # a path that is not UTF-8 comes in as os.fsdecode gives it
        table = pd.read_csv(path, encoding_errors="surrogateescape", **kwargs)
    except pd.errors.EmptyDataError as err:
        raise ParameterError(f"{name}: {what} is empty") from err
    except UnicodeError as err:  # pandas 3: another column holds bytes that are not UTF-8
        table = pd.read_csv(path, dtype=object, encoding_errors="surrogateescape")
        raise ParameterError(_not_utf8(table, name, what, path_column) or
                             f"{name}: is not UTF-8 text; save the {what} as UTF-8") from err
    except (OSError, ValueError) as err:  # pandas' ParserError is a ValueError
        raise ParameterError(f"{name}: {what} cannot be parsed as CSV ({err})") from err
    table.columns = [str(c).strip() for c in table.columns]
    problem = _not_utf8(table, name, what, path_column)  # pandas 2 reads them as objects
    if problem:
        raise ParameterError(problem)
    return table


def _not_utf8(table: pd.DataFrame, name: str, what: str, path_column: str) -> str | None:
    """Say which cell of a CSV outside its path column is not UTF-8 text, if one is."""
    for column in table.columns:
        if column == path_column or table[column].dtype != object:
            continue
        for row, value in enumerate(table[column]):
            if isinstance(value, str) and value != value.encode("utf-8", "replace").decode():
                return (f"{name}: column {column!r} is not UTF-8 text (row {row + 1}: "
                        f"'{printable_path(value)}'); save the {what} as UTF-8. Only the "
                        "path column may hold file names in other encodings")
    return None


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
             if plain(p) is None or not n.strip()]
    if empty:
        raise ParameterError(f"{what} has rows with an empty path (rows {empty[:5]})")
    return [(absolute_path(n, base=base), {c: v[i] for c, v in columns.items()})
            for i, n in enumerate(names)]


def _merge_rows(listed: list[str], rows: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """One row per path, in first-listed order; a path's differing rows merged to tuples."""
    paths = list(dict.fromkeys(listed))
    columns = list(dict.fromkeys(c for entries in rows.values() for r in entries for c in r))
    distinct: dict[str, list[dict[str, Any]]] = {}
    for path, entries in rows.items():
        kept: list[dict[str, Any]] = []
        for r in entries:  # identical rows (a file listed twice the same way) are one
            if not any(all(plain(r.get(c)) == plain(k.get(c)) for c in columns)
                       for k in kept):
                kept.append(r)
        distinct[path] = kept
    repeated = [p for p in paths if len(distinct.get(p, ())) > 1]
    varying = [c for c in columns
               if any(len({json.dumps(plain(r.get(c)), default=str) for r in distinct[p]}) > 1
                      for p in repeated)]
    data = {"path": pd.Series(paths, dtype=object)}
    for c in columns:
        values = []
        for p in paths:
            entries = distinct.get(p)
            if not entries:
                values.append(None)
            elif c in varying:
                values.append(tuple(None if plain(r.get(c)) is None else r.get(c)
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


def absolute_path(path: str | bytes | os.PathLike, *, base: str | os.PathLike | None = None) -> str:
    """The absolute path of a file with symlinks resolved: one name per file.

    A symlink that cannot be followed (dangling, or in a loop) stays the link itself, so
    that the error about it names the link.

    Parameters
    ----------
    path : str, bytes or PathLike
        ``~`` is expanded; a relative path is taken relative to ``base``.
    base : str or PathLike, optional
        Folder of relative paths (a manifest's folder); default: the working directory.

    Returns
    -------
    str
        The ``os.fsdecode`` form of the name: it opens the file even when not UTF-8.
    """
    p = Path(os.fsdecode(path)).expanduser()
    if base is not None and not p.is_absolute():
        p = Path(os.fsdecode(base)) / p
    try:
        real = p.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        real = None
    if real is not None and (real.exists() or not p.is_symlink()):
        return str(real)
    try:
        return str(p.parent.resolve() / p.name)
    except (OSError, RuntimeError):
        return os.path.abspath(p)


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


def plain(value: Any) -> Any:
    """A value as Arrow takes it: None for every kind of missing, lists for tuples and
    arrays, Python scalars for numpy's."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (tuple, list, np.ndarray)):
        return [plain(v) for v in value]
    return value


