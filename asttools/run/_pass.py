"""The model pass: windows batched through the model, one result per input, in order.

:func:`iter_embed` streams :class:`ItemResult` / :class:`ItemError` records (what every
front end of :mod:`asttools.run._driver` collects); :func:`run_meta` is what every run
records; :func:`collect` gathers a stream into an :class:`EmbeddingResult`.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch
import transformers

from .._version import __version__
from ..audio import check_audio_stream
from ..constants import SAMPLE_RATE, TIME_STRIDE, WINDOW_S
from ..model import model_info
from ..model.precision import precision_meta, prepare_model
from ..settings import check_windows
from ._defaults import BATCH_SIZE
from ._driver import ItemError, ItemResult, RunLog, check_run, recorded
from ._forward import _Rows, check_layer, forward, sigmoid
from ._windows import Cut, Window, iter_windows
from .inputs import Item
from .result import TABLE_COLUMNS, EmbeddingResult
from .segments import check_segment_pooling, pool_segment

__all__ = [
    "collect",
    "iter_embed",
    "run_meta",
]


def iter_embed(
    items: Iterable[Item],
    *,
    model,
    pooling: str = "cls",
    layer: int = -1,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | str = 1,
    channel: int | None = None,
    progress=None,
    precision: str = "fp32",
    audio_stream: int | None = None,
) -> Iterator[ItemResult | ItemError]:
    """Stream results input by input; windows of different inputs share batches.

    The streaming pass under :func:`embed` and :func:`asttools.extract`: inputs are
    decoded ahead of the model in ``workers`` worker processes (files; arrays here),
    cut into windows, batched across
    inputs, and each input is yielded as soon as its last window has run, in input order.

    Parameters
    ----------
    items : iterable of Item
        The inputs; may be a lazy generator (pulled at most ``2 * workers`` ahead).
    model : transformers.ASTForAudioClassification
    pooling, layer, window_s, hop_s, batch_size, workers, channel, precision, audio_stream
        As in :func:`embed` (``precision``: the model's numeric precision, \"fp32\" ...).
    progress : tqdm, optional
        A progress bar advanced once per input.

    Yields
    ------
    ItemResult or ItemError
        One per input: its window table (``item``, ``path``, ``window``, ``start_s``,
        ``end_s``, ``clip_duration_s`` and its ``extra`` columns), embeddings (float32,
        ``(n_windows, hidden)``, ``(n_windows, t, hidden)`` for ``"time"`` or
        ``(n_windows, f, t, hidden)`` for ``"grid"``) and
        logits (float32, ``(n_windows, n_labels)``); or the reason it failed.

    Raises
    ------
    ParameterError
        A bad pooling, layer, batch size or window setting (before anything runs).

    Notes
    -----
    What is held at any time, and so the memory used beyond the model:

    - at most ``batch_size`` windows waiting for the model, and one forward pass's
      activations (the arrays :func:`forward` returns are copies, not views into them);
    - per input whose windows are not all done, its results only: one embedding and one
      row of logits per window, e.g. (768 + 527) float32 = 5.2 kB per window of the
      full model, 1.8 MB per hour of audio at the default hop (``pooling="grid"``: 3.7 MB
      per window); at most :data:`asttools.model.features.MAX_WINDOWS_PER_CLIP` windows;
    - the decoded 16 kHz mono waveform of the input being windowed and of at most
      ``2 * workers`` inputs decoded ahead, each no longer than ``STREAM_S`` (10 min,
      38 MB; decoding needs a few times that briefly, at the file's rate and channels,
      at most ``asttools.audio.sources.STREAM_BYTES``, 230 MB, of float32 samples). A file
      whose header says it is longer or larger, or says no length at all (a live
      recording's Matroska, a chained Ogg), is not decoded whole: it is read block by
      block (:func:`asttools.audio.stream_audio`, 30 s at a time) as its windows are
      cut, so a 10-hour recording takes the memory of a short one. Array inputs are
      held whole (they are in memory already). ``benchmarks/bench_memory.py`` measures
      peak memory against recording length.

    ``items`` may be a lazy iterable (a generator): it is pulled at most ``2 * workers``
    items ahead. ``progress`` is an optional tqdm bar, advanced once per input. Window
    settings are checked once, against the model's input length, by
    :func:`asttools.settings.check_windows`; an input that would make more than
    ``MAX_WINDOWS_PER_CLIP`` windows is yielded as an :class:`ItemError`.
    """
    model = prepare_model(model, precision)  # once: a cached copy unless fp32
    cfg = model.config
    check_run(pooling=pooling)
    check_layer(layer, cfg.num_hidden_layers)
    check_run(batch_size=batch_size)
    win, hop = check_windows(window_s, hop_s, max_length=cfg.max_length,
                             time_stride=getattr(cfg, "time_stride", TIME_STRIDE))
    device = next(model.parameters()).device
    check_run(workers=workers)

    # item index -> {"item", "table" (set once its windows are all cut), "rows": _Rows}
    pending: dict[int, dict[str, Any]] = {}
    queue: list[tuple[int, int, np.ndarray]] = []  # (item index, window, samples)

    def run_queue() -> None:
        # a segment's windows give their patch columns (asttools.run.segments), others `pooling`
        kinds = ["time" if pending[q[0]]["item"].segment is not None else pooling
                 for q in queue]
        for how in dict.fromkeys(kinds):
            part = [q for q, kind in zip(queue, kinds, strict=True) if kind == how]
            width = max(win, max(len(w) for _, _, w in part))
            batch = np.zeros((len(part), width), dtype=np.float32)
            for r, (_, _, w) in enumerate(part):
                batch[r, : len(w)] = w
            emb, logits = forward(model, batch, lengths=[len(w) for _, _, w in part],
                                  pooling=how, layer=layer)
            for r, (idx, k, _) in enumerate(part):
                pending[idx]["rows"].put(k, emb[r], logits[r])
        queue.clear()

    def finished() -> Iterator[ItemResult]:
        for idx in list(pending):
            entry = pending[idx]
            if not entry["rows"].complete:
                break  # items finish in input order
            del pending[idx]
            if progress is not None:
                progress.update(1)
            emb, logits = entry["rows"].arrays()
            if entry["plan"] is not None:  # a segment: the mean of its own steps
                vector, mixed, _ = pool_segment(emb, logits, entry["plan"], config=cfg)
                emb, logits = vector[None], mixed[None]
            yield ItemResult(entry["item"], entry["table"], emb, logits,
                             status=entry["status"])

    def entry_of(it: Item, expected: int | None) -> dict[str, Any]:
        if it.index not in pending:
            pending[it.index] = {"item": it, "table": None, "rows": _Rows(expected),
                                 "plan": None}
        return pending[it.index]

    def checked(items: Iterable[Item]) -> Iterator[Item]:
        for it in items:  # embed and extract check all segments first; a lazy stream here
            if it.segment is not None:
                check_segment_pooling(pooling, 1)
            yield it

    for event in iter_windows(checked(items), window_s=window_s, hop_s=hop_s,
                              channel=channel, workers=workers, max_length=cfg.max_length,
                              time_stride=getattr(cfg, "time_stride", TIME_STRIDE),
                              device=device, config=cfg,
                              audio_stream=check_audio_stream(audio_stream)):
        if isinstance(event, Window):
            entry_of(event.item, event.expected)
            queue.append((event.item.index, event.k, event.samples))
            if len(queue) == batch_size:
                run_queue()
                yield from finished()
        elif isinstance(event, Cut):
            entry = entry_of(event.item, len(event.bounds))
            entry["table"] = event.table()
            entry["status"] = event.status()
            entry["plan"] = event.plan
            entry["rows"].n = len(event.bounds)
            yield from finished()  # its windows may all be done already
        else:  # it failed, possibly part way: forget its windows and results
            queue[:] = [q for q in queue if q[0] != event.item.index]
            pending.pop(event.item.index, None)
            if progress is not None:
                progress.update(1)
            yield event
    if queue:
        run_queue()
    yield from finished()


def run_meta(model, *, pooling: str, layer: int, window_s: float, hop_s: float | None,
             precision: str = "fp32") -> dict:
    """The settings and versions a result records (``EmbeddingResult.meta``).

    ``precision`` is recorded as run (``"auto"`` made concrete), with
    ``precision_requested`` and, for int8, ``quantization``; ``dtype`` is the dtype the
    model ran in (int8 models keep float32 activations between their Linear layers).
    """
    info = model_info(model)
    prec = precision_meta(model, precision)
    if prec["precision"] in ("bf16", "fp16"):
        info["dtype"] = {"bf16": "bfloat16", "fp16": "float16"}[prec["precision"]]
    cfg = model.config
    labels = [str(cfg.id2label[i]) for i in range(cfg.num_labels)]
    return {
        **info,
        "pooling": pooling,
        "layer": check_layer(layer, cfg.num_hidden_layers),
        "window_s": float(window_s),
        "hop_s": float(window_s if hop_s is None else hop_s),
        "sample_rate": SAMPLE_RATE,
        **prec,
        "labels": labels,
        "asttools_version": __version__,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }


def collect(results: Iterable[ItemResult | ItemError], log: RunLog, meta: dict,
            pooling: str) -> EmbeddingResult:
    """An :class:`EmbeddingResult` from a stream of :func:`iter_embed`'s records: the rows
    of those that succeeded, in order; each failure recorded in ``log`` (raised there with
    ``on_error="raise"``), its table the result's ``errors``."""
    tables, embs, logits = [], [], []
    for r in recorded(results, log):
        tables.append(r.table)
        embs.append(r.embeddings)
        logits.append(r.logits)
    grid = {"grid": tuple(meta["patch_grid"]), "time": (meta["patch_grid"][1],)}.get(pooling)
    hidden = int(meta["hidden_size"])
    n_labels = len(meta["labels"])
    shape = (0, *grid, hidden) if grid else (0, hidden)
    table = (pd.concat(tables, ignore_index=True) if tables
             else pd.DataFrame({c: [] for c in TABLE_COLUMNS}))
    return EmbeddingResult.from_rows(
        table,
        np.concatenate(embs) if embs else np.zeros(shape, np.float32),
        sigmoid(np.concatenate(logits)) if logits else np.zeros((0, n_labels), np.float32),
        log.errors(), meta)
