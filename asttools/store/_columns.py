"""Store columns: exact file names, one Arrow type per column, vectors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from ..columns import PATH_BYTES, VECTOR_COLUMNS
from ..errors import ParameterError
from ..run.inputs import plain, printable_path


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
    flat = [plain(v) for v in values]
    natural, why = _natural(flat)
    target = _unify(stored, natural.type)
    if stored is not None and not _castable(stored, target):
        raise ParameterError(
            f"column {name!r} holds {stored} in the store and these inputs give "
            f"{natural.type}; no one type holds both: rename the column, or write to "
            "another store")
    array = natural if natural.type == target else _fit(flat, target)
    given = why or _kind(natural.type)
    example = next((v for v in flat if v is not None
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
    names = ([n for n in fields if n not in VECTOR_COLUMNS]
             + [n for n in fields if n in VECTOR_COLUMNS])
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
                col = pa.chunked_array([_fit([plain(v) for v in col.to_pylist()], f.type)],
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


