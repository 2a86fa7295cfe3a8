"""The Ray engine of :func:`asttools.extract`: decoding in CPU tasks, the model in actors.

The driver keeps everything that decides what to compute and where it goes (listing,
hashing, the cache, claims, the store writer); Ray Data runs the heavy part. The inputs
still to compute become a Dataset (``from_items``); ``flat_map`` decodes, resamples and
cuts each file into windows (:func:`asttools.run.iter_windows`, the code the local
engine runs) in CPU tasks, one row per window, or one status row for a file that fails
(every exception is caught: a bad file never fails the job); ``map_batches`` runs
:func:`asttools.run.forward` in a pool of actors that load the model once each.
The driver streams the results back (``iter_batches``), regroups them per file into the
same :class:`~asttools.run.ItemResult` / :class:`~asttools.run.ItemError`
that :func:`~asttools.run.iter_embed` yields, and the store writer writes them, so
the store is the one the local engine writes.

Ray restarts killed actors and retries killed decode tasks. A decode task that dies
every time (a file that crashes the decoder) is given up after ``DECODE_RETRIES``; its
inputs are then run again one per task, so that only the culprit fails (a status row).

Ray is imported here, and only when this engine runs: it is an optional extra.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from ..audio.sources import InputMedia
from ..constants import SAMPLE_RATE, TIME_STRIDE
from ..errors import ASTToolsError, ASTToolsWarning
from ..model import load_model
from ..run import Cut, ItemError, ItemResult, Window, forward, iter_windows
from ..run.inputs import Item

#: Inputs per Ray Dataset: the driver hashes and claims one chunk while the last runs.
CHUNK_ITEMS = 4096
#: Retries of a decode task whose worker process died (a crash in a decoder).
DECODE_RETRIES = 2
#: What the driver says of an input whose decode task died every time.
CRASHED = ("its decoding crashed the Ray worker process every time "
           f"({DECODE_RETRIES + 1} tries)")


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise ASTToolsError(
            "engine='ray' needs Ray Data, which is not installed: "
            'pip install -e ".[ray]" (or pip install "ray[data]")'
        ) from err
    return ray


def _shippable(model):
    """A CPU copy of ``model`` that pickles: without the forward hooks transformers installs
    to capture hidden states and attentions once they were asked for (their closures hold
    a ContextVar, which cannot be pickled). The actor's model installs them again when it
    needs them."""
    out = copy.deepcopy(model).cpu()
    for module in out.modules():
        for hooks in (module._forward_hooks, module._forward_pre_hooks):
            for key, hook in list(hooks.items()):
                if "output_capturing" in getattr(hook, "__qualname__", ""):
                    del hooks[key]
        if getattr(module, "_output_capturing_hooks_installed", False):
            module._output_capturing_hooks_installed = False
    return out


class RayEngine:
    """A connection to a Ray cluster for one :func:`extract` call.

    Parameters
    ----------
    address : str, optional
        A running cluster (``ray start --head`` prints it; ``"auto"`` finds one on this
        node). Default: the cluster this process is connected to already, else what
        ``ray.init()`` finds (``$RAY_ADDRESS``, a cluster started on this node with
        ``ray start``), else a local one started for this call and stopped after it.
    actors : int
        Model actors (one model each).
    actor_cpus, actor_gpus : float, optional
        Resources of each actor. Default: one GPU and one CPU per actor when the cluster
        has GPUs; otherwise CPUs only, at most one per actor, leaving one CPU of the
        cluster for decoding.
    """

    def __init__(self, *, address: str | None, actors: int, actor_cpus: float | None,
                 actor_gpus: float | None):
        self.ray = _import_ray()
        # connected here: disconnected after the run (which stops a cluster that ray.init
        # started for it, and leaves one started with `ray start` running)
        self.started = not self.ray.is_initialized()
        if self.started:
            self.ray.init(address=address, logging_level="WARNING")
        res = self.ray.cluster_resources()
        cpus, gpus = float(res.get("CPU", 1)), float(res.get("GPU", 0))
        if actor_gpus is None:
            actor_gpus = 1.0 if gpus >= 1 else 0.0
        if actor_cpus is None:
            actor_cpus = 1.0 if actor_gpus else max(min(1.0, (cpus - 1) / actors), 0.25)
        elif not actor_gpus and actors * actor_cpus > cpus - 1:
            warnings.warn(
                f"{actors} actors of {actor_cpus:g} CPUs leave less than one of the cluster's "
                f"{cpus:g} CPUs for decoding: the run may stall until Ray's no-progress "
                "timeout", ASTToolsWarning, stacklevel=3)
        self.actors, self.actor_cpus, self.actor_gpus = actors, actor_cpus, actor_gpus
        self.cpus = cpus

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()

    def stream(self, items: Iterable[Item], *, model, name: str | None, pooling: str,
               layer: int, window_s: float, hop_s: float | None, channel: int | None,
               batch_size: int) -> Iterator[ItemResult | ItemError]:
        """Like :func:`asttools.run.iter_embed`, in completion order.

        ``model`` is the driver's loaded model (its geometry cuts the windows); each actor
        loads ``name``, or, when ``name`` is None, gets ``model`` through the object store.
        """
        cfg = model.config
        decode = dict(window_s=window_s, hop_s=hop_s, channel=channel,
                      max_length=int(cfg.max_length),
                      time_stride=int(getattr(cfg, "time_stride", TIME_STRIDE)))
        shipped = name
        if name is None:  # in a list: Ray Data passes it on unresolved
            shipped = [self.ray.put(_shippable(model))]
        actor = dict(model=shipped, pooling=pooling, layer=layer,
                     device="cuda" if self.actor_gpus else "cpu",
                     threads=max(1, int(self.actor_cpus)))
        chunk: list[Item] = []
        for item in items:
            chunk.append(item)
            if len(chunk) == CHUNK_ITEMS:
                yield from self._chunk(chunk, decode, actor, batch_size)
                chunk = []
        if chunk:
            yield from self._chunk(chunk, decode, actor, batch_size)

    def _chunk(self, items: list[Item], decode: dict, actor: dict,
               batch_size: int) -> Iterator[ItemResult | ItemError]:
        blocks = min(len(items), max(1, int(2 * self.cpus)))
        missing = yield from self._run(items, decode, actor, batch_size, blocks)
        if missing and blocks < len(items):  # again, one input per task: only the culprit
            missing = yield from self._run(missing, decode, actor, batch_size, len(missing))
        for item in missing:
            yield ItemError(item, CRASHED, "error")

    def _run(self, items: list[Item], decode: dict, actor: dict, batch_size: int,
             blocks: int):
        ray = self.ray
        by_index = {it.index: it for it in items}
        rows = [{"item": it.index, "path": it.name, "id": it.id,
                 "segment": json.dumps(it.segment)} for it in items]
        ctx = ray.data.DataContext.get_current()
        saved = {k: getattr(ctx, k) for k in ("max_errored_blocks", "enable_progress_bars",
                                              "print_on_execution_start")}
        # a decode task or batch that fails for good drops its rows, not the run: the
        # driver sees which inputs are missing
        ctx.max_errored_blocks = -1
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        done: set[int] = set()
        try:
            ds = ray.data.from_items(rows, override_num_blocks=blocks)
            ds = ds.flat_map(_decode_rows, fn_kwargs=decode, num_cpus=1,
                             ray_remote_args_fn=_decode_task_args)
            ds = ds.map_batches(
                _EmbedActor, fn_constructor_kwargs=actor, batch_size=batch_size,
                batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=self.actors),
                num_cpus=self.actor_cpus, num_gpus=self.actor_gpus)
            for result in _regroup(ds.iter_batches(batch_size=None, batch_format="numpy",
                                                   prefetch_batches=1), by_index):
                done.add(result.item.index)
                yield result
        finally:
            for k, v in saved.items():
                setattr(ctx, k, v)
        return [it for it in items if it.index not in done]


# --------------------------------------------------------------------------- in workers


def _decode_task_args() -> dict[str, Any]:
    return {"max_retries": DECODE_RETRIES}


def _decode_rows(row: dict[str, Any], **kw) -> Iterator[dict[str, Any]]:
    """Ray Data ``flat_map``: one input -> one row per window (the last one carries the
    input's :class:`Cut`), or one status row. Never raises."""
    segment = json.loads(row["segment"])
    item = Item(int(row["item"]), row["path"], None, row["path"], id=row["id"],
                segment=None if segment is None else tuple(segment))
    win = round(kw["window_s"] * SAMPLE_RATE)
    held = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for event in iter_windows([item], workers=0, **kw):
                if isinstance(event, Window):
                    if held is not None:
                        yield held
                    held = _row(item.index, "window", event.k, event.samples, win)
                elif isinstance(event, Cut):
                    held["kind"] = "last"
                    held["info"] = json.dumps({
                        "bounds": event.bounds, "n_samples": int(event.n_samples),
                        "first": int(event.first), "media": asdict(event.media)},
                        default=_plain)
                    held["notes"] = _notes(caught)
                    yield held
                    held = None
                else:
                    held = None
                    yield _error(event.item.index, event.reason, event.status,
                                 event.media, win, caught)
        except Exception as err:  # noqa: BLE001 - a decoder's crash is a status row too
            yield _error(item.index, f"{type(err).__name__}: {err}", "error", InputMedia(), win,
                         caught)


def _row(index: int, kind: str, k: int, samples: np.ndarray, win: int) -> dict[str, Any]:
    buf = np.zeros(win, np.float32)
    buf[: len(samples)] = samples
    return {"item": index, "kind": kind, "window": k, "length": len(samples),
            "samples": buf, "info": "", "notes": ""}


def _error(index: int, reason: str, status: str, media: InputMedia, win: int,
           caught: list) -> dict[str, Any]:
    row = _row(index, "error", -1, np.zeros(0, np.float32), win)
    row["info"] = json.dumps({"reason": reason, "status": status, "media": asdict(media)},
                             default=_plain)
    row["notes"] = _notes(caught)
    return row


def _notes(caught: list) -> str:
    notes = [str(w.message) for w in caught]
    caught.clear()
    return json.dumps(notes)


def _plain(x):
    return x.item() if isinstance(x, np.generic) else str(x)


class _EmbedActor:
    """Ray Data ``map_batches`` class: the model, loaded once per actor."""

    def __init__(self, *, model, pooling: str, layer: int, device: str, threads: int):
        torch.set_num_threads(threads)  # Ray sets OMP_NUM_THREADS=1 in its workers
        if isinstance(model, list):  # a loaded model, sent through the object store
            import ray

            self.model = ray.get(model[0]).to(device)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = load_model(model, device=device)
        self.pooling, self.layer = pooling, layer

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cfg = self.model.config
        ok = batch["kind"] != "error"
        n = len(ok)
        emb = np.zeros((n, cfg.hidden_size), np.float32)
        logits = np.zeros((n, cfg.num_labels), np.float32)
        if ok.any():
            e, lg = forward(self.model, np.ascontiguousarray(batch["samples"][ok]),
                            lengths=[int(x) for x in batch["length"][ok]],
                            pooling=self.pooling, layer=self.layer)
            emb[ok], logits[ok] = e, lg
        out = {k: v for k, v in batch.items() if k not in ("samples", "length")}
        out["embedding"], out["logits"] = emb, logits
        return out


# --------------------------------------------------------------------------- driver


def _regroup(batches: Iterable[dict[str, np.ndarray]],
             by_index: dict[int, Item]) -> Iterator[ItemResult | ItemError]:
    """Windows back into inputs, whatever order they arrive in."""
    pending: dict[int, dict[str, Any]] = {}
    done: set[int] = set()
    for b in batches:
        for r in range(len(b["item"])):
            idx = int(b["item"][r])
            if idx in done:
                continue
            item = by_index[idx]
            for note in json.loads(b["notes"][r] or "[]"):
                warnings.warn(note, ASTToolsWarning, stacklevel=4)
            kind = str(b["kind"][r])
            if kind == "error":
                info = json.loads(b["info"][r])
                pending.pop(idx, None)
                done.add(idx)
                yield ItemError(item, info["reason"], info["status"],
                                media=InputMedia(**info["media"]))
                continue
            entry = pending.setdefault(idx, {"rows": {}, "cut": None})
            entry["rows"][int(b["window"][r])] = (b["embedding"][r].copy(),
                                                  b["logits"][r].copy())
            if kind == "last":
                info = json.loads(b["info"][r])
                entry["cut"] = Cut(item, [tuple(x) for x in info["bounds"]],
                                   info["n_samples"], info["first"],
                                   InputMedia(**info["media"]))
            cut = entry["cut"]
            if cut is not None and len(entry["rows"]) == len(cut.bounds):
                del pending[idx]
                done.add(idx)
                ks = sorted(entry["rows"])
                yield ItemResult(item, cut.table(),
                                 np.stack([entry["rows"][k][0] for k in ks]),
                                 np.stack([entry["rows"][k][1] for k in ks]),
                                 status=cut.status())
