"""The extraction runner: what to compute, the streaming pass, what to write."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections import Counter
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..audio import check_audio_stream
from ..columns import INPUT_COLUMNS
from ..concurrency import prefetch, resolve_workers
from ..constants import SAMPLE_RATE, WINDOW_S
from ..errors import ParameterError, StoreError
from ..run import BATCH_SIZE, RunLog, check_run
from ..run.inputs import Item, item_of, list_inputs, plain, printable_path
from ..run.result import EmbeddingResult
from ..run.segments import SEGMENT_RULE, check_segment_pooling
from ..settings import check_precision, resolve_model_name
from ._columns import _exact_paths, _fit, _natural, _unify, _vectors
from ._layout import (
    STORE_FORMAT_VERSION,
    _Event,
    _file_reason,
    _frames,
    _ids,
    _sha256,
    _Vanished,
    _WriteError,
    unit_key,
)
from ._objects import open_store
from ._options import ENGINES, FLUSH_ITEMS, FLUSH_SECONDS, STORE_POOLINGS
from ._writer import _Claims, _Input, _Rows, _Writer


def _torch_side():
    """The part of the run that needs torch (store/_compute.py), imported on first use.

    Only when something must be computed, or when a setting can only be resolved on the
    device: a fully cached run with the default settings never imports torch.
    """
    from . import _compute
    return _compute


def _is_name(model) -> bool:
    return model is None or isinstance(model, (str, os.PathLike))


def _model_name(model) -> str:
    name = resolve_model_name(model) if _is_name(model) else _torch_side().model_name(model)
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def _settings(model, *, pooling, layer, window_s, hop_s, channel, precision="fp32",
              device="auto") -> dict[str, Any]:
    check_precision(precision)
    if (_is_name(model) and precision in ("fp32", "bf16", "int8")
            and (device is None or (isinstance(device, str) and device in ("auto", "cpu")))):
        prec = precision  # the same on every device: nothing to ask torch
    else:  # "auto" made concrete, fp16 refused on a CPU, the device checked
        prec = _torch_side().resolved_precision(precision, None if _is_name(model) else model,
                                                device)
    return {
        "model": _model_name(model),
        "pooling": pooling,
        "layer": int(layer),
        "window_s": round(float(window_s), 6),
        "hop_s": round(float(window_s if hop_s is None else hop_s), 6),
        "channel": None if channel is None else int(channel),
        "precision": prec,  # as run: "auto" made concrete
        "sample_rate": SAMPLE_RATE,
        "store_format": STORE_FORMAT_VERSION,
    }


def settings_key(settings: dict[str, Any]) -> str:
    """The 16-hex-digit key of a set of settings (model, pooling, layer, window, hop, ...).

    ``precision`` is part of the key, except that ``"fp32"`` (the default) leaves it out,
    so fp32 settings keep the key they had before precisions existed and stores written
    then stay valid; every other precision gets a key of its own.

    Parameters
    ----------
    settings : dict
        As recorded in ``result.meta["settings"]``.

    Returns
    -------
    str
    """
    if settings.get("precision", "fp32") == "fp32":
        settings = {k: v for k, v in settings.items() if k != "precision"}
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]






def extract(
    inputs,
    store: str | os.PathLike | tuple,
    *,
    model=None,
    device: str = "auto",
    pooling: str = "cls",
    layer: int = -1,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    channel: int | None = None,
    audio_stream: int | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | str = 1,
    rehash: bool = False,
    retry_failed: bool = False,
    flush_items: int = FLUSH_ITEMS,
    flush_seconds: float = FLUSH_SECONDS,
    progress: bool = True,
    read_back: bool = True,
    id_column: str | None = None,
    require_audio: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
    ray_actors: int = 1,
    ray_actor_cpus: float | None = None,
    ray_actor_gpus: float | None = None,
    precision: str = "fp32",
) -> EmbeddingResult:
    """Embed audio files into an on-disk store, computing only what it does not hold yet.

    Re-running the same call is instant: inputs already stored with the same content and
    settings are read back, not recomputed, and the model is not even loaded (torch and
    transformers are not imported, unless a setting needs the device to resolve:
    ``precision="auto"`` or ``"fp16"``, a device other than ``"auto"``/``"cpu"``,
    ``workers="auto"``). An interrupted run (Ctrl-C, a crash, a killed job) keeps
    everything flushed so far; running it again finishes the rest.

    Parameters
    ----------
    inputs : path, list of paths, or DataFrame
        Files, directories and manifest CSVs, expanded by :func:`list_inputs`; or a
        DataFrame with a ``path`` column (other columns are carried into the rows).
    store : str, PathLike or (pyarrow.fs.FileSystem, str)
        The store directory; created when missing (see the module's documentation). Or a
        store on object storage: a URI (``"s3://bucket/prefix"``, anything
        :func:`pyarrow.fs.FileSystem.from_uri` opens) or a ``(FileSystem, path)`` pair;
        one writer at a time there (see "Object storage" in :mod:`asttools.store`).
    model : str, PathLike or transformers.ASTForAudioClassification, optional
        A loaded model, or a name for :func:`asttools.load_model` (default
        ``$ASTTOOLS_MODEL`` or the AudioSet AST), loaded only if something needs
        computing.
    device : str, default "auto"
        Where a model given by name is loaded (with ``engine="ray"``: this process's copy,
        on the CPU by default; the actors' device follows ``ray_actor_gpus``).
    pooling : {"cls", "dist", "mean", "patches"}, default "cls"
        See :func:`asttools.embed`; ``"time"`` and ``"grid"`` are too large to store.
    layer : int, default -1
    window_s, hop_s : float, default 10.24 and ``window_s``
    channel : int, optional
        Use this channel of multi-channel files instead of their mean.
    audio_stream : int, optional
        Which audio stream of files with several (see :func:`asttools.embed`); default
        the first. ``n_audio_streams`` is stored for every input. Part of the settings
        (and so of the key) when given.
    batch_size : int, default 8
        Windows per forward pass.
    workers : int or "auto", default 1
        Threads that hash, and worker processes that decode and resample, ahead of the
        model (a decoder that crashes its process costs that file alone; ``0`` decodes in
        this process, without that isolation). ``"auto"``: as many as the CPUs left over
        by the model (:func:`asttools.concurrency.auto_workers`: on a GPU machine all
        usable CPUs but one, at most 32; on a CPU-only machine usually 1).
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
        ``errors``, ``status`` and ``meta`` (an empty ``table``), for runs too large to
        hold in memory; read them later with :func:`read_store`.
    id_column : str, optional
        The manifest column that names each input; default its ``id`` column, else the
        path relative to the folder or manifest (see :func:`list_inputs`). The store
        knows inputs by id: moving the dataset and running again is fully cached.
    require_audio : bool, default False
        Count a video without an audio stream as a failure. By default it is an expected
        outcome for a video dataset: recorded with ``audio_status="no_audio_stream"``
        (and its manifest columns) in ``status``, counted apart (``meta["run"]
        ["no_audio"]``), not an error.
    engine : {"local", "ray"}, default "local"
        ``"ray"`` decodes in Ray tasks and runs the model in Ray actors, on the cluster
        at ``ray_address`` (needs ``pip install -e ".[ray]"``; see docs/cluster.md). The
        store, its cache and what is returned are the same; ``workers`` then only sets
        the threads that hash files on this machine.
    ray_address : str, optional
        The cluster (``ray start --head`` prints its address; ``"auto"``: the one on this
        node). Default: the one this process is connected to, else what ``ray.init()``
        finds (``$RAY_ADDRESS``, a cluster started on this node with ``ray start``), else
        a local cluster started for this call and stopped after it.
    ray_actors : int, default 1
        Model actors, each with its own copy of the model (one per GPU, say).
    ray_actor_cpus, ray_actor_gpus : float, optional
        Each actor's resources. Default: one GPU (and one CPU) per actor when the cluster
        has GPUs; otherwise at most one CPU per actor, leaving one CPU for decoding.
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}, default "fp32"
        The arithmetic of the forward pass, as in :func:`asttools.embed`. It is part of
        the settings (``"auto"`` as it resolves on this machine), so rows of different
        precisions never mix and each is cached apart; ``meta["precision"]`` records it.

    Returns
    -------
    EmbeddingResult
        The stored rows of exactly these inputs, in input order (``item`` numbers the
        inputs), read back from the store: ``table`` (the store's columns but the
        vectors; ``path`` is where each file is now), ``embeddings`` (float32,
        (n_rows, hidden)), ``probs`` (float32, (n_rows, n_labels)), ``errors`` (inputs
        that failed: ``item``, ``id``, ``path``, ``audio_status``, ``reason``), ``status``
        (every input, with its ``audio_status``) and ``meta`` (the run's settings and
        versions, ``settings_key``, ``store``, and ``run``: counts of ``computed``,
        ``cached``, ``copied``, ``no_audio`` and ``failed`` inputs (``failed_before``: of
        those, how many failed in an earlier run and were not retried), ``windows``
        computed, ``seconds``).

    Raises
    ------
    ParameterError
        A bad pooling (``"time"`` and ``"grid"`` included), layer, window, batch size,
        precision or input path.
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
    if pooling in ("grid", "time"):
        size = "12 x 101" if pooling == "grid" else "101"
        raise ParameterError(
            f"pooling={pooling!r} cannot go into a store as window rows: {size} x hidden "
            f"floats per window. Use one of {STORE_POOLINGS}, or "
            f"asttools.embed(..., pooling={pooling!r}) in memory for a few clips"
            + (", or asttools.timestamp_embeddings for time-aligned steps"
               if pooling == "time" else "")
        )
    workers = check_run(pooling=pooling, precision=precision, window_s=window_s, hop_s=hop_s,
                        batch_size=batch_size, workers=workers, layer=layer)["workers"]
    if not isinstance(flush_items, (int, np.integer)) or flush_items < 1:
        raise ParameterError(f"flush_items must be an integer >= 1, got {flush_items!r}")
    if engine not in ENGINES:
        raise ParameterError(f"engine={engine!r} is not one of {ENGINES}")
    if engine == "ray" and precision != "fp32":
        raise ParameterError(f"engine='ray' runs in fp32 only, for now; got "
                             f"precision={precision!r}: run it with engine='local'")
    if isinstance(ray_actors, bool) or not isinstance(ray_actors, (int, np.integer)) \
            or ray_actors < 1:
        raise ParameterError(f"ray_actors must be an integer >= 1, got {ray_actors!r}")
    table_in = list_inputs(inputs, id_column=id_column)
    n_segments = int(table_in["segment_start_s"].notna().sum()) \
        if "segment_start_s" in table_in else 0
    check_segment_pooling(pooling, n_segments)
    if n_segments and engine == "ray":
        raise ParameterError(f"{n_segments} input(s) are segments, which engine='ray' does "
                             "not run yet: run them with engine='local'")
    settings = _settings(model, pooling=pooling, layer=layer, window_s=window_s,
                         hop_s=hop_s, channel=channel, precision=precision, device=device)
    if n_segments:  # a segment's vector is its own steps' mean (asttools.run.segments)
        settings["segments"] = SEGMENT_RULE
    if check_audio_stream(audio_stream) is not None:  # the default keeps earlier keys
        if engine == "ray":
            raise ParameterError("audio_stream= runs with engine='local' only, for now")
        settings["audio_stream"] = int(audio_stream)
    if engine == "ray" and device == "auto":
        device = "cpu"  # this process's copy only makes the run's metadata; actors use GPUs
    run = _Extraction(
        table_in, open_store(store, create=True), settings, model=model, device=device,
        batch_size=int(batch_size), workers=workers, rehash=rehash,
        retry_failed=retry_failed, require_audio=bool(require_audio),
        flush_items=int(flush_items), flush_seconds=float(flush_seconds), progress=progress,
        engine=None if engine == "local" else dict(
            address=ray_address, actors=int(ray_actors), actor_cpus=ray_actor_cpus,
            actor_gpus=ray_actor_gpus),
    )
    return run.run(read_back=read_back)


class _Extraction:
    """The state of one :func:`extract` call."""

    def __init__(self, table_in, store, settings, *, model, device, batch_size, workers,
                 rehash, retry_failed, require_audio, flush_items, flush_seconds, progress,
                 engine=None):
        self.table_in = table_in
        self.ray_options = engine  # None: the local engine
        self.ray = None  # the Ray engine, once started
        self.model_given = not (model is None or isinstance(model, (str, os.PathLike)))
        self.store = store
        self.settings = settings
        self.key = settings_key(settings)
        self.model = None if model is None or isinstance(model, (str, os.PathLike)) else model
        self.device = device
        self.batch_size = batch_size
        self.workers = workers
        self.rehash = rehash
        self.retry_failed = retry_failed
        self.require_audio = require_audio
        self.progress = progress
        self.stats = Counter(computed=0, cached=0, copied=0, no_audio=0, failed=0,
                             failed_before=0, windows=0)
        self.log: RunLog | None = None  # inputs without rows, with their status; progress
        self.latest, self.by_hash = store.index(self.key)
        self.schema = store.schema()
        self.stored_meta = store.all_settings().get(self.key)
        self.writer = _Writer(store, self.key, flush_items=flush_items,
                              flush_seconds=flush_seconds)
        self.writer.meta = self.stored_meta
        self.writer.on_flush = self._flushed
        self.claims = _Claims(store, self.key)
        self.deferred: list[tuple[Item, dict]] = []  # inputs another writer computes
        self.inflight: dict[str, list[tuple[Item, dict]]] = {}
        self.info: dict[int, dict] = {}
        self.bar = None

    # ---- the run
    def run(self, *, read_back: bool) -> EmbeddingResult:
        t0 = time.perf_counter()
        items = [item_of(i, row) for i, row in enumerate(self.table_in.to_dict("records"))]
        self.store.record(self.key, self.stored_meta)
        self.log = RunLog(len(items), progress=self.progress, desc="extract",
                          counts=self._is_failure)
        self.bar = self.log.bar
        try:
            # first everything this writer can claim; then what other writers were
            # computing, once this writer has published its own work (holding no claims)
            for plan in (self._plan(items), self._plan_deferred()):
                first = next(plan, None)
                if first is not None:
                    self._ensure_model()
                    for r in self._stream(chain([first], plan)):
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
            if self.ray is not None:
                self.ray.close()
        self.stats["seconds"] = round(time.perf_counter() - t0, 3)
        self.log.warn(note="; recorded in the store", stacklevel=3)
        return self._result(read_back=read_back)

    def _stream(self, items: Iterator[Item]) -> Iterator:
        """The model's results (``ItemResult`` or ``ItemError``) for ``items``, from this
        process or from Ray."""
        side = _torch_side()
        if self.ray_options is not None and self.ray is None:
            self.ray = side.RayEngine(**self.ray_options)
        return side.results(items, model=self.model, settings=self.settings,
                            batch_size=self.batch_size, workers=self.workers, ray=self.ray,
                            name=None if self.model_given else self.settings["model"])

    def _is_failure(self, status: str | None) -> bool:
        return status != "no_audio_stream" or self.require_audio

    def _ensure_model(self) -> None:
        side = _torch_side()
        if self.model is None:
            self.model = side.load_model(self.settings["model"], device=self.device)
        meta = side.run_facts(self.model, self.settings, self.key, self.stored_meta)
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
        elif "silence_embedding" not in old:  # a store from before it was kept: keep it now
            self.stored_meta = {**old, "silence_embedding": meta["silence_embedding"]}
            self.store.record(self.key, self.stored_meta)
        self.writer.meta = self.stored_meta

    # ---- what to compute
    def _hashed(self, items: list[Item]) -> Iterator[tuple[Item, dict | str]]:
        def job(item: Item):
            prev = self.latest.get(item.id)
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

        threads = max(self._hash_threads(), 1)
        yield from prefetch(job, items, workers=threads, ahead=max(4 * threads, 4),
                            name="asttools-hash")

    def _hash_threads(self) -> int:
        """Threads that hash files: ``workers``, or for ``"auto"`` as many as decoding
        would get (hashlib releases the GIL, so threads do)."""
        if self.workers != "auto":
            return self.workers
        if self.model is None and self.device == "cpu":
            device = "cpu"  # nothing to ask torch
        else:  # "auto": where the model would go (this imports torch)
            device = _torch_side().resolved_device(self.model, self.device)
        return resolve_workers("auto", device=device)[0]

    def _plan(self, items: list[Item]) -> Iterator[Item]:
        for item, info in self._hashed(items):
            if self._claimed(item, info, wait=False):
                yield item

    def _plan_deferred(self) -> Iterator[Item]:
        deferred, self.deferred = self.deferred, []
        if deferred:
            self.bar.set_description("extract (waiting for another writer)")
        for item, info in deferred:
            if self._claimed(item, info, wait=True):
                yield item

    def _claimed(self, item: Item, info: dict | str, *, wait: bool) -> bool:
        """Whether this writer computes ``item``; settles it (stored, failed, copied,
        being computed here or by another writer) otherwise."""
        if isinstance(info, str):
            self._fail(item, None, info, "unreadable")
            return False
        if self._settled(item, info):
            return False
        unit = unit_key(info["content_hash"], item.segment)
        try:
            if not self.claims.take(unit, wait=wait):
                self.deferred.append((item, info))  # another writer computes it
                return False
        except _WriteError as err:
            raise _WriteError(f"{err}. {printable_path(item.name)} is not in the store yet, "
                              "and nothing was computed", err.errno) from err
        if self.store.changed():  # another writer published since this one looked
            self._refresh()
            if self._settled(item, info):
                self.claims.release([unit])
                return False
        self.inflight[unit] = []
        self.info[item.index] = info
        return True

    def _settled(self, item: Item, info: dict) -> bool:
        h = info["content_hash"]
        unit = unit_key(h, item.segment)
        prev = self.latest.get(item.id)
        same = (prev is not None and prev.content_hash == h and prev.segment == item.segment)
        if (same and prev.kind == "rows"
                and (not item.extra or self._same_extras(prev.extras, item.extra))):
            self.stats["cached"] += 1
            self._advance()
            return True
        if same and prev.kind == "error" and not self.retry_failed:
            # the same bytes failed before (or have no audio): not decoded again
            status = prev.status or "decode_error"
            self._count(status, before=True)
            self.log.fail(item, prev.reason, status)
            self._advance()
            return True
        if unit in self.inflight:
            self.inflight[unit].append((item, info))
            return True
        source = self.writer.by_hash.get(unit)
        if source is None and unit in self.by_hash:
            source = self._stored_rows(*self.by_hash[unit])
        if source is not None:
            self._store_rows(item, info, source, copied=True)
            return True
        return False

    def _same_extras(self, stored: dict[str, Any], extra: dict[str, Any]) -> bool:
        """Whether the carried values of an input are the stored ones, once stored."""
        for name in set(stored) | set(extra):
            have = plain(stored.get(name))
            if name not in extra:
                if have is not None:
                    return False
                continue
            kind = (self.schema.field(name).type
                    if self.schema is not None and name in self.schema.names else None)
            value = plain(extra[name])
            try:
                value = _fit([value], _unify(kind, _natural([value])[0].type)).to_pylist()[0]
            except (pa.ArrowException, TypeError, ValueError):
                pass
            if have != value:
                return False
        return True

    def _stored_rows(self, part: Path, input_id: str) -> _Rows | None:
        try:
            t = self.store.read_part(part)
        except _Vanished:
            return None
        if t is None:
            return None
        paths = _exact_paths(t)
        keep = [i for i, k in enumerate(_ids(t, paths)) if k == input_id]
        if not keep:
            return None
        t = t.take(pa.array(keep, pa.int64()))
        own = {c: t.column(c)[0].as_py() for c in INPUT_COLUMNS if c in t.column_names}
        stored = _Input(input_id, paths[keep[0]], t.column("content_hash")[0].as_py(),
                        audio_status=own.get("audio_status") or "ok",
                        media={c: own.get(c) for c in INPUT_COLUMNS[2:]})
        return _Rows(stored, t.column("window").to_numpy(), t.column("start_s").to_numpy(),
                     t.column("end_s").to_numpy(), t.column("clip_duration_s").to_numpy(),
                     _vectors(t.column("embedding"), t.schema.field("embedding").type.list_size),
                     _vectors(t.column("probs"), t.schema.field("probs").type.list_size))

    def _refresh(self) -> None:
        self.store.update(self.key, self.latest, self.by_hash)
        self.schema = self.store.schema()

    # ---- results
    def _finished(self, r) -> None:
        info = self.info.pop(r.item.index)
        h = info["content_hash"]
        unit = unit_key(h, r.item.segment)
        side = _torch_side()
        changed = _changed(r.item.name, info)
        if changed is not None:  # what was decoded is not what was hashed: store nothing
            self.claims.release([unit])
            self._fail(r.item, None, changed, "error", getattr(r, "media", None))
            for item, _ in self.inflight.pop(unit, []):
                self._fail(item, None, f"its rows were to be copied from "
                           f"{printable_path(r.item.name)}, which {changed}", "error")
        elif isinstance(r, side.ItemError):
            self._fail(r.item, h, r.reason, r.status, r.media)
            for item, _ in self.inflight.pop(unit, []):
                self._fail(item, h, r.reason, r.status, r.media)
        else:
            t = r.table
            media = {c: r.status.get(c) for c in INPUT_COLUMNS[2:]}
            rows = _Rows(_Input(r.item.id, r.item.name, h, info["file_size"],
                                info["file_mtime_ns"], r.status.get("audio_status", "ok"),
                                media, dict(r.item.extra)),
                         t["window"].to_numpy(np.int64), t["start_s"].to_numpy(np.float64),
                         t["end_s"].to_numpy(np.float64),
                         t["clip_duration_s"].to_numpy(np.float64), r.embeddings,
                         side.sigmoid(r.logits))
            self.stats["computed"] += 1
            self.stats["windows"] += len(t)
            self.writer.add_rows(rows, unit)
            self._advance()
            for item, dup_info in self.inflight.pop(unit, []):
                self._store_rows(item, dup_info, rows, copied=True)
        if self.writer.due():
            self.writer.flush()

    def _store_rows(self, item: Item, info: dict, source: _Rows, *,
                    copied: bool = False) -> None:
        src = source.input
        self.writer.add_rows(_Rows(
            _Input(item.id, item.name, info["content_hash"], int(info["file_size"]),
                   int(info["file_mtime_ns"]), src.audio_status, dict(src.media),
                   dict(item.extra)),
            source.window, source.start_s, source.end_s, source.clip_duration_s,
            source.embeddings, source.probs), unit_key(info["content_hash"], item.segment))
        if copied:
            self.stats["copied"] += 1
        self._advance()

    def _count(self, status: str, *, before: bool = False) -> None:
        if self._is_failure(status):
            self.stats["failed"] += 1
            self.stats["failed_before"] += before
        else:
            self.stats["no_audio"] += 1

    def _fail(self, item: Item, content_hash: str | None, reason: str, status: str,
              media: dict | None = None) -> None:
        self._count(status)
        self.log.fail(item, reason, status, media)
        prev = self.latest.get(item.id)
        unit = None if content_hash is None else unit_key(content_hash, item.segment)
        if (prev is not None and prev.kind == "error" and prev.content_hash == content_hash
                and prev.segment == item.segment and prev.reason == reason
                and prev.status == status):  # recorded already: nothing new to write
            if unit is not None:
                self.claims.release([unit])
        else:
            media = {**(media or {}), **_segment_columns(item)}
            self.writer.add_error(_Input(item.id, item.name, content_hash,
                                         audio_status=status, media=media,
                                         extras=dict(item.extra), reason=reason))
        self._advance()

    def _flushed(self, rows_part: tuple[int, Path] | None, rows: list[_Rows],
                 errors_seq: int | None, errors: list[_Input]) -> None:
        units = []
        if rows_part is not None:
            seq, part = rows_part
            for r in rows:
                rec = r.input
                segment = _segment(rec.media)
                self.latest[rec.id] = _Event(seq, "rows", rec.content_hash, rec.file_size,
                                             rec.file_mtime_ns, dict(rec.extras),
                                             segment=segment, status=rec.audio_status,
                                             path=rec.path)
                unit = unit_key(rec.content_hash, segment)
                self.by_hash[unit] = (part, rec.id)
                units.append(unit)
            self.schema = self.store.schema()
        for rec in errors:
            segment = _segment(rec.media)
            self.latest[rec.id] = _Event(errors_seq, "error", rec.content_hash,
                                         reason=rec.reason, segment=segment,
                                         status=rec.audio_status, path=rec.path)
            if rec.content_hash is not None:
                units.append(unit_key(rec.content_hash, segment))
        self.claims.release(units)

    def _advance(self) -> None:
        self.bar.update(1)
        s = self.stats
        self.bar.set_postfix(windows=s["windows"], cached=s["cached"] + s["copied"],
                             failed=s["failed"], refresh=False)

    def _result(self, *, read_back: bool) -> EmbeddingResult:
        ids = list(self.table_in["id"]) if read_back else []
        table, emb, probs, _ = _frames(self.store.read(self.key, ids=set(ids)))
        where: dict[str, list[int]] = {}
        for i, k in enumerate(table["id"]):
            where.setdefault(k, []).append(i)
        take, item = [], []
        for i, k in enumerate(ids):
            rows = where.get(k, [])
            take.extend(rows)
            item.extend([i] * len(rows))
        take = np.asarray(take, dtype=np.int64)
        table = table.iloc[take].reset_index(drop=True)
        table.insert(0, "item", np.asarray(item, dtype=np.int64))
        now = dict(zip(self.table_in["id"], self.table_in["path"], strict=True))
        table["path"] = pd.Series([now[k] for k in table["id"]], dtype=object)  # where it is now
        meta = dict(self.stored_meta or {"settings": self.settings, "settings_key": self.key})
        meta.update(store=self.store.location, settings_key=self.key, run=dict(self.stats),
                    require_audio=self.require_audio)
        meta.setdefault("precision", self.settings["precision"])  # stores from before it
        failed = self.log.errors()
        if len(failed):
            carried = self.table_in.drop(columns=["path", "id"])
            carried.insert(0, "item", np.arange(len(self.table_in)))
            failed = failed.merge(carried, on="item", how="left")
            failed["path"] = failed["path"].astype(object)
        return EmbeddingResult.from_rows(table, emb[take], probs[take], failed, meta)


def _segment_columns(item: Item) -> dict[str, float]:
    if item.segment is None:
        return {}
    return {"segment_start_s": item.segment[0], "segment_end_s": item.segment[1]}


def _segment(media: dict[str, Any]) -> tuple[float, float] | None:
    a, b = media.get("segment_start_s"), media.get("segment_end_s")
    return None if a is None or b is None else (float(a), float(b))


def _changed(path: str, info: dict) -> str | None:
    """How a file changed since it was hashed (size and modification time, taken before),
    now that it has been decoded; None when it did not. Its hash then names other bytes
    than were decoded, so nothing may be stored under it."""
    try:
        st = os.stat(path)
    except OSError as err:
        return (f"disappeared while it was read ({err.strerror or err}); nothing was stored "
                "for it")
    if (int(st.st_size), int(st.st_mtime_ns)) == (info["file_size"], info["file_mtime_ns"]):
        return None
    size = ("" if st.st_size == info["file_size"]
            else f"{info['file_size']} bytes, then {st.st_size}; ")
    return (f"changed while it was read ({size}modified at {st.st_mtime_ns / 1e9:.3f}, not "
            f"{info['file_mtime_ns'] / 1e9:.3f}); nothing was stored for it: run again once "
            "the file is complete")
