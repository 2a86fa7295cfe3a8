"""Reading a store back: one settings key's current rows; compacting."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow.parquet as pq

from ..errors import ParameterError, StoreError
from ..run.result import EmbeddingResult
from ._columns import _merge_schemas
from ._extract import _model_name
from ._layout import _KEY_KEY, _META_KEY, SCHEMA_PART, _frames, _Store, _write_failed
from ._objects import open_store
from ._writer import _error_table, _Input

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
                 if all(_close(_setting(m, f), v)
                        or (f == "layer" and _close(m.get("settings", {}).get(f), v))
                        for f, v in wanted.items())]
        if len(match) == 1:
            return match[0]
        what = "no settings match" if not match else f"{len(match)} settings match"
        raise StoreError(f"{st.name}: {what} {settings}; it holds {_describe(held)}")
    raise ParameterError(
        f"settings must be None, a settings key (str) or a dict, got {type(settings).__name__}")


def _setting(meta: dict, name: str):
    """A stored setting as results report it: ``layer`` resolved (12, not -1) when known;
    ``precision`` fp32 for stores written before it existed."""
    if name == "layer" and meta.get("layer") is not None:
        return meta["layer"]
    default = "fp32" if name == "precision" else None
    return meta.get("settings", {}).get(name, default)


def _close(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-6
    return a == b


def _describe(held: dict[str, dict]) -> str:
    return "; ".join(
        f"{k}: " + ", ".join(f"{f}={_setting(m, f)!r}"
                            for f in ("model", "pooling", "layer", "window_s", "hop_s",
                                      "precision"))
        for k, m in held.items())


def read_store(store: str | os.PathLike | tuple, *,
               settings: str | dict | None = None) -> EmbeddingResult:
    """Read the current rows of an embedding store.

    Parameters
    ----------
    store : str, PathLike or (pyarrow.fs.FileSystem, str)
        A directory written by :func:`extract` (or ``asttools extract``), or a store on
        object storage: a URI (``"s3://bucket/prefix"``) or a ``(FileSystem, path)`` pair.
    settings : str or dict, optional
        Which settings to read when the store holds several: a settings key
        (``meta["settings_key"]``), or a dict of some of ``model``, ``pooling``,
        ``layer``, ``window_s``, ``hop_s``, ``channel``, ``precision`` that matches
        exactly one of them (``layer`` as asked, e.g. -1, or as resolved, e.g. 12: both
        name the same rows).
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
        ``store``: the directory, or ``scheme://path`` without a URI's query).

    Raises
    ------
    StoreError
        The directory does not exist, cannot be read (or downloaded), holds nothing, or
        ``settings`` match none or more than one of the settings it holds (the message
        lists them).
    ParameterError
        ``store`` is neither a path, a URI pyarrow opens, nor a ``(FileSystem, path)``
        pair.

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
    st = open_store(store, create=False)
    key = _resolve_key(st, settings)
    table, emb, probs, failed = _frames(st.read(key))
    number = {k: i for i, k in enumerate(sorted(set(table["id"]) | set(failed["id"])))}
    table.insert(0, "item", np.asarray([number[k] for k in table["id"]], dtype=np.int64))
    failed.insert(0, "item", np.asarray([number[k] for k in failed["id"]], dtype=np.int64))
    meta = dict(st.all_settings()[key])
    meta.update(store=st.location, settings_key=key)
    meta.setdefault("precision", _setting(meta, "precision"))
    return EmbeddingResult.from_rows(table, emb, probs, failed, meta)


def compact_store(store: str | os.PathLike | tuple) -> dict[str, int]:
    """Rewrite a store as one part per settings, dropping superseded rows and errors.

    What :func:`read_store` returns does not change. New parts are written first and the
    old ones removed after, so a crash in between leaves a valid store (with the old
    rows still there for ``pd.read_parquet``, but superseded in :func:`read_store`).
    The store's lock is held throughout: concurrent writers wait to publish. Damaged
    parts are moved into ``_corrupt/`` (with a warning), not removed. Object storage has
    no lock: compact a store there only while nothing writes to it.

    Parameters
    ----------
    store : str, PathLike or (pyarrow.fs.FileSystem, str)
        As for :func:`read_store`.

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
    st = open_store(store, create=False)
    with st.locked():
        old = st.window_parts() + st.error_parts()
        rows_before = 0
        for part in st.window_parts():
            with st.open_input(part.path) as f:
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
                st.publish(_error_table([_Input.from_record(e) for e in cur.errors], key)
                           .replace_schema_metadata(md), errors=True)
        try:
            for part in old:
                st.remove(part.path)
            st.remove_temporaries()
        except OSError as err:
            raise _write_failed(st.root, err, "(removing the compacted parts)") from err
        schema = _merge_schemas(p.schema for p in st.window_parts())
        if schema is not None:
            st.write_schema(schema)
        else:
            st.remove(st.root / SCHEMA_PART)
        if latest is not None:
            st.record(latest, keys[latest])
    return {"parts_before": len(old), "parts_after": len(st.window_parts() + st.error_parts()),
            "rows_before": rows_before, "rows_after": rows_after}

