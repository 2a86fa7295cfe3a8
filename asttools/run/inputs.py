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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..audio import MEDIA_EXTENSIONS
from ..columns import RESERVED_COLUMNS
from ..errors import ASTToolsWarning, ParameterError

__all__ = ["Item", "absolute_path", "item_of", "list_inputs", "plain", "printable_path",
           "read_csv"]


def list_inputs(
    inputs: str | os.PathLike | Iterable[str | os.PathLike] | pd.DataFrame,
    *,
    extensions: Iterable[str] = MEDIA_EXTENSIONS,
    id_column: str | None = None,
) -> pd.DataFrame:
    """Expand files, directories and manifest CSVs into a table of inputs, each with an id.

    Parameters
    ----------
    inputs : path, list of paths, or DataFrame
        Each path (str, bytes or PathLike) is a file (taken as is, whatever its
        extension), a directory (walked recursively for files whose suffix, in any case,
        is in ``extensions``; names starting with ``.`` are skipped; sorted), or a
        manifest ``.csv`` with a ``path`` column (relative paths are resolved against the
        CSV's folder; its other columns, labels or folds, are carried to every row of
        that file). A DataFrame is read like a manifest, with relative paths resolved
        against the working directory. A manifest with ``start_s`` and ``end_s`` columns
        lists segments: each row is its own input, that part of its file (see
        :func:`asttools.extract` and :mod:`asttools.run.segments`); a row whose
        ``start_s`` and ``end_s`` are both blank is the whole file.
    extensions : iterable of str, default :data:`asttools.audio.MEDIA_EXTENSIONS`
        Suffixes, with the dot, that directory walks pick up.
    id_column : str, optional
        The manifest column that names each input (a dataset's clip id); default: the
        ``id`` column when there is one.

    Returns
    -------
    DataFrame
        ``path`` (absolute, symlinks resolved), ``id``, ``segment_start_s`` and
        ``segment_end_s`` (NaN for whole files; only when some input is a segment), then
        the carried columns, one row per input in input order. The **id** is stable when
        the data moves: the manifest's id column, else the path relative to the folder
        or manifest it came from (a file given on its own: relative to the working
        directory when under it, else its name), with ``/`` separators and any byte that
        is not UTF-8 as ``\\xNN``; a segment's default id adds ``#start-end``. A symlink
        that cannot be followed (dangling, or in a loop) stays the link, so that its
        failure names it. Rows of one file with one id (and segment) are one input, whose
        differing columns hold tuples (see the module documentation).

    Raises
    ------
    ParameterError
        A path that does not exist; a manifest without a ``path`` column (or the
        ``id_column`` asked for), with an empty path or id, without rows, or with a
        column named like one asttools writes (:data:`asttools.columns.RESERVED_COLUMNS`);
        a segment with one of ``start_s``/``end_s`` blank, or not ``0 <= start < end``
        (reversed);
        two different inputs with the same id.

    Warns
    -----
    ASTToolsWarning
        When files listed on several rows with different values are merged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "b.WAV").write_bytes(b""); (d / "sub").mkdir()
    >>> _ = (d / "sub" / "a.flac").write_bytes(b"")
    >>> list_inputs(d)["id"].tolist()
    ['b.WAV', 'sub/a.flac']
    """
    exts = frozenset(e.lower() for e in extensions)
    entries: list[_Entry] = []
    if isinstance(inputs, pd.DataFrame):
        entries += _from_frame(inputs, base=Path.cwd(), what="the input DataFrame",
                               id_column=id_column)
    else:
        if isinstance(inputs, (str, bytes, os.PathLike)):
            inputs = [inputs]
        for p in inputs:
            name = os.fsdecode(p)
            path = Path(name).expanduser()
            if path.is_dir():
                entries += _walk(path, exts)
            elif path.suffix.lower() == ".csv" and path.is_file():
                entries += _read_manifest(path, id_column=id_column)
            elif path.exists() or path.is_symlink():
                entries.append(_Entry(absolute_path(path), _file_id(path)))
            else:
                raise ParameterError(f"{printable_path(name)}: no such file or directory")
    return _merged(entries)


@dataclass
class _Entry:
    """One listed input before rows of the same file are merged."""

    path: str
    id: str
    extras: dict[str, Any] | None = None  # None: listed by a folder walk or on its own
    segment: tuple[float, float] | None = None

    @property
    def key(self) -> tuple:
        return (self.path, self.id, self.segment)


def _text_id(relative: str) -> str:
    """An id from a relative path: ``/`` separators, odd bytes as ``\\xNN``."""
    return printable_path(Path(relative).as_posix())


def _file_id(path: Path) -> str:
    """A file given on its own: relative to the working directory, else its name."""
    full = Path(os.path.abspath(path))
    try:
        return _text_id(str(full.relative_to(Path.cwd())))
    except ValueError:
        return _text_id(full.name)


def _walk(root: Path, exts: frozenset[str]) -> list[_Entry]:
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
                walked = os.path.join(folder, name)
                found.append(_Entry(absolute_path(walked),
                                    _text_id(os.path.relpath(walked, root))))
    return sorted(found, key=lambda e: e.path)


def _read_manifest(csv: Path, *, id_column: str | None) -> list[_Entry]:
    table = read_csv(csv, what="manifest", dtype={"path": object},
                     text_columns=("id",) if id_column is None else ("id", id_column))
    entries = _from_frame(table, base=csv.resolve().parent, what=printable_path(csv),
                          id_column=id_column)
    if not entries:
        raise ParameterError(f"{printable_path(csv)}: the manifest has no rows, only a "
                             "header; add one row per audio file")
    return entries


def read_csv(path: str | os.PathLike, *, what: str = "manifest",
             path_column: str = "path", text_columns: tuple[str, ...] = (),
             **kwargs) -> pd.DataFrame:
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
    text_columns : tuple of str, optional
        Columns read as the text they hold, cell for cell: ids (``007`` stays ``007``,
        ``1e3`` stays ``1e3``, ``NA`` and ``null`` are ids); an empty cell is ``""``.
        Other columns are read as pandas reads them.
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
        if text_columns:
            kwargs = _as_text(path, text_columns, kwargs)
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


#: What pandas.read_csv reads as missing by default (its ``STR_NA_VALUES``).
_PANDAS_NA = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def _as_text(path, text_columns: tuple[str, ...], kwargs: dict) -> dict:
    """``read_csv`` options that read ``text_columns`` verbatim, the rest as pandas does
    (its NA markers in them only: ``keep_default_na`` is per file, ``na_values`` per
    column)."""
    header = [str(c) for c in pd.read_csv(path, nrows=0,
                                          encoding_errors="surrogateescape").columns]
    text = [c for c in header if c.strip() in text_columns]
    if not text:
        return kwargs
    dtype = kwargs.get("dtype")
    dtype = {**({} if not isinstance(dtype, dict) else dtype), **dict.fromkeys(text, str)}
    return {**kwargs, "dtype": dtype, "keep_default_na": False,
            "na_values": {c: list(_PANDAS_NA) for c in header if c not in text}}


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


def _from_frame(table: pd.DataFrame, *, base: Path, what: str,
                id_column: str | None) -> list[_Entry]:
    table = table.rename(columns=str)
    if "path" not in table.columns:
        raise ParameterError(
            f"{what} has no 'path' column (its columns: {list(table.columns)}); add one "
            "with the audio file of each row, relative to the CSV's folder or absolute"
        )
    # segments: a manifest's start_s/end_s, or list_inputs' own output read again
    bounds_columns = next((pair for pair in (("start_s", "end_s"),
                                             ("segment_start_s", "segment_end_s"))
                           if set(pair) <= set(table.columns)), None)
    segments = bounds_columns is not None
    own = {"path", "id", *(bounds_columns or ())}
    reserved = sorted(RESERVED_COLUMNS.intersection(table.columns) - own)
    if reserved:
        raise ParameterError(
            f"{what} has columns named like the store's own ({reserved}); rename them"
        )
    if id_column is not None and id_column not in table.columns:
        raise ParameterError(f"{what} has no id column {id_column!r} (its columns: "
                             f"{list(table.columns)}); pass the column that names the clips")
    id_column = id_column or ("id" if "id" in table.columns else None)
    columns = {c: table[c].tolist() for c in table.columns}
    raw = columns.pop("path")
    names = [os.fsdecode(p) if isinstance(p, (str, bytes, os.PathLike)) else str(p)
             for p in raw]
    empty = [i for i, (p, n) in enumerate(zip(raw, names, strict=True))
             if plain(p) is None or not n.strip()]
    if empty:
        raise ParameterError(f"{what} has rows with an empty path (rows {empty[:5]})")
    if id_column is not None:
        ids = [plain(v) for v in (columns.pop("id") if id_column == "id"
                                  else columns[id_column])]
        bad = [i for i, v in enumerate(ids) if v is None or not str(v).strip()]
        if bad:
            raise ParameterError(f"{what}: column {id_column!r} is empty in rows {bad[:5]}; "
                                 "every input needs an id")
        ids = [str(v) for v in ids]
    else:
        ids = [_text_id(os.path.relpath(absolute_path(n, base=base), base))
               if not os.path.isabs(n) else _text_id(n) for n in names]
    bounds = None
    if segments:
        starts, ends = (columns.pop(c) for c in bounds_columns)
        bounds = [None if plain(starts[i]) is None and plain(ends[i]) is None  # both blank:
                  else _segment(starts[i], ends[i], what, i)  # the whole file
                  for i in range(len(names))]
        if id_column is None:
            ids = [i if b is None else f"{i}#{b[0]:g}-{b[1]:g}"
                   for i, b in zip(ids, bounds, strict=True)]
    return [_Entry(absolute_path(n, base=base), ids[i],
                   {c: v[i] for c, v in columns.items()},
                   None if bounds is None else bounds[i])
            for i, n in enumerate(names)]


def _segment(start: Any, end: Any, what: str, row: int) -> tuple[float, float]:
    a, b = plain(start), plain(end)
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        a = b = math.nan
    if not (math.isfinite(a) and math.isfinite(b) and 0 <= a < b):
        raise ParameterError(f"{what}: row {row} has start_s={start!r}, end_s={end!r}; a "
                             "segment needs numbers with 0 <= start_s < end_s (seconds), "
                             "or both left blank for the whole file")
    return a, b


def _merged(entries: list[_Entry]) -> pd.DataFrame:
    """One row per input (file, id, segment), in first-listed order; an input's differing
    rows merged to tuples; ids checked to be unique."""
    groups: dict[tuple, list[_Entry]] = {}
    for e in entries:
        groups.setdefault(e.key, []).append(e)
    owner: dict[str, tuple] = {}
    for key in groups:
        other = owner.setdefault(key[1], key)
        if other != key:
            where = [printable_path(k[0]) + ("" if k[2] is None else f" {k[2]}")
                     for k in (other, key)]
            raise ParameterError(
                f"two inputs have the id {key[1]!r} ({where[0]} and {where[1]}); ids name "
                "inputs, so they must be unique: give the manifest an id column (or "
                "--id-column), or list the files from one folder")
    columns = list(dict.fromkeys(c for e in entries for c in (e.extras or ())))
    distinct: dict[tuple, list[dict[str, Any]]] = {}
    for key, group in groups.items():
        kept: list[dict[str, Any]] = []
        for e in group:  # identical rows (a file listed twice the same way) are one; a
            if e.extras is None:  # folder's listing adds no row to a manifest's
                continue
            if not any(all(plain(e.extras.get(c)) == plain(k.get(c)) for c in columns)
                       for k in kept):
                kept.append(e.extras)
        distinct[key] = kept
    repeated = [k for k in groups if len(distinct[k]) > 1]
    varying = [c for c in columns
               if any(len({json.dumps(plain(r.get(c)), default=str) for r in distinct[k]}) > 1
                      for k in repeated)]
    keys = list(groups)
    data = {"path": pd.Series([k[0] for k in keys], dtype=object),
            "id": pd.Series([k[1] for k in keys], dtype=object)}
    if any(k[2] is not None for k in keys):
        data["segment_start_s"] = pd.Series([np.nan if k[2] is None else k[2][0] for k in keys],
                                            dtype=np.float64)
        data["segment_end_s"] = pd.Series([np.nan if k[2] is None else k[2][1] for k in keys],
                                          dtype=np.float64)
    for c in columns:
        values = []
        for k in keys:
            rows = distinct[k]
            if not rows:
                values.append(None)
            elif c in varying:
                values.append(tuple(None if plain(r.get(c)) is None else r.get(c)
                                    for r in rows))
            else:
                values.append(rows[0].get(c))
        try:
            data[c] = pd.Series(values)
        except UnicodeError:  # text that is not UTF-8: pandas 3 keeps text as UTF-8
            data[c] = pd.Series(values, dtype=object)
    if repeated:
        head = ", ".join(printable_path(k[0]) for k in repeated[:3])
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


# --------------------------------------------------------------------------- items


@dataclass
class Item:
    """One input of :func:`iter_embed`: a file or an array, and what to carry with it.

    Attributes
    ----------
    index : int
        Its number in the input order (``item`` in result tables).
    source : str or ndarray
        A path (decoded with :func:`asttools.load_audio`), or a waveform at ``sr``.
    sr : int or None
        The rate of an array; None for a path.
    name : str
        How rows and messages name it: the absolute path, or ``"<array i>"``.
    extra : dict
        Columns (a manifest's labels, folds) copied onto each of its rows.
    id : str, optional
        Its stable name (``id`` in result tables); default ``name``.
    segment : (float, float), optional
        Only this part of the file, ``(start_s, end_s)`` (see :func:`asttools.extract`).
    """

    index: int
    source: Any  # a path, or an ndarray
    sr: int | None
    name: str
    extra: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    segment: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.id is None:
            self.id = self.name


def item_of(index: int, row: dict[str, Any]) -> Item:
    """An input from a row of :func:`asttools.run.inputs.list_inputs`."""
    a, b = row.get("segment_start_s"), row.get("segment_end_s")
    segment = None if a is None or b is None or a != a or b != b else (float(a), float(b))
    extra = {k: v for k, v in row.items()
             if k not in ("path", "id", "segment_start_s", "segment_end_s")}
    return Item(index, row["path"], None, row["path"], extra, id=str(row["id"]),
                segment=segment)
