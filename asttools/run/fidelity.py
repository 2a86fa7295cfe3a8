"""How faithful each precision is: time and agreement with fp32 on your own model and data.

:func:`fidelity` runs the same windows through the model in fp32 and in each reduced
precision (:mod:`asttools.model.precision` says what each means and makes the copies that run
them) and compares them window by window; ``asttools fidelity`` on the command line is its
front end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..constants import FRAME_SHIFT
from ..errors import ParameterError
from ..model import load_model, model_info
from ..model.precision import cpu_flags, prepare_model, resolve_precision
from ..settings import check_precision
from ._defaults import BATCH_SIZE
from ._driver import RunLog
from ._forward import forward, sigmoid
from ._items import as_items
from ._windows import Cut, Window, iter_windows

__all__ = ["fidelity"]


def fidelity(
    inputs,
    *,
    model=None,
    precisions: Sequence[str] = ("fp32", "bf16", "int8"),
    sr: int | None = None,
    batch_size: int = BATCH_SIZE,
    k: int = 5,
    repeats: int = 1,
    max_windows: int | None = None,
) -> pd.DataFrame:
    """Time and faithfulness of each precision against fp32, on the same inputs.

    Runs every window of ``inputs`` through ``model`` once in fp32 and once in each
    precision (after one untimed warm-up batch each) and compares them window by
    window. Quantization error depends on the weights: run this on your own model and
    data before trusting a reduced precision.

    Parameters
    ----------
    inputs : path, ndarray, list of these, or DataFrame
        As :func:`asttools.embed` takes them; cut into 10.24 s windows.
    model : transformers.ASTForAudioClassification or str, optional
        As in :func:`asttools.embed`.
    precisions : sequence of str, default ("fp32", "bf16", "int8")
        Precisions to measure; fp32 is always run, as the reference. A precision that
        cannot run here (fp16 on a CPU, int8 without torchao) gets a row with its
        ``error`` and no numbers.
    sr : int, optional
        Sample rate of array inputs.
    batch_size : int, default 8
    k : int, default 5
        Top-k agreement is over the ``k`` most probable labels.
    repeats : int, default 1
        Time each precision this many times; the fastest run counts.
    max_windows : int, optional
        Use only the first this many windows (a full-size model takes seconds per
        window on a CPU).

    Returns
    -------
    DataFrame
        One row per precision: ``precision`` (as run), ``requested``, ``windows``,
        ``seconds_per_window``, ``speedup`` (fp32's time / its time, same run),
        ``cosine_min``, ``cosine_mean`` (embedding cosine similarity to fp32 per
        window), ``max_abs_prob_diff`` (largest probability difference over all windows
        and labels), ``topk_agreement`` (mean over windows of the share of fp32's top-k
        labels that are also in its top-k), ``topk_exact`` (share of windows whose
        top-k set is the same), ``random_weights``, ``error``.
        ``df.attrs`` holds ``k``, ``cpu_flags`` (the relevant ones), ``device`` and
        ``errors``: the inputs that failed to load (``item``, ``id``, ``path``,
        ``audio_status``, ``reason``, as :func:`asttools.embed`'s ``errors``), each
        named once in a warning.

    Examples
    --------
    >>> import numpy as np, asttools
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(32000) / 16000).astype(np.float32)
    >>> df = asttools.run.fidelity.fidelity(tone, sr=16000, model="tiny-random",
    ...                                  precisions=("fp32",))  # doctest: +SKIP
    >>> float(df.loc[0, "cosine_min"])  # doctest: +SKIP
    1.0
    """
    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k must be an integer >= 1, got {k!r}")
    if not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ParameterError(f"repeats must be an integer >= 1, got {repeats!r}")
    if max_windows is not None and (not isinstance(max_windows, (int, np.integer))
                                    or max_windows < 1):
        raise ParameterError(f"max_windows must be an integer >= 1, got {max_windows!r}")
    wanted = ["fp32", *(check_precision(p) for p in precisions if p != "fp32")]
    device = next(model.parameters()).device

    batch, lengths, errors = _windows(inputs, sr=sr, max_windows=max_windows,
                              max_length=model.config.max_length)

    def run(prec: str) -> tuple[np.ndarray, np.ndarray, float]:
        prepared = prepare_model(model, prec)
        forward(prepared, batch[:1], lengths=lengths[:1])  # warm-up
        best, embs, logits = np.inf, [], []
        for _ in range(repeats):
            embs, logits = [], []
            t0 = time.perf_counter()
            for s in range(0, len(batch), batch_size):
                e, lg = forward(prepared, batch[s:s + batch_size],
                                lengths=lengths[s:s + batch_size])
                embs.append(e)
                logits.append(lg)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - t0)
        return np.concatenate(embs), sigmoid(np.concatenate(logits)), best / len(batch)

    random_weights = bool(model_info(model)["random_weights"])
    rows, ref = [], None
    for p in wanted:
        row = {"precision": p, "requested": p, "windows": len(batch), "error": None,
               "random_weights": random_weights}
        try:
            row["precision"] = resolve_precision(p, device)
            emb, probs, spw = run(p)
        except (ParameterError, RuntimeError, NotImplementedError) as err:
            row["error"] = f"{type(err).__name__}: {err}"
            rows.append(row)
            continue
        if ref is None:
            ref = (emb, probs, spw)
        cos = _cosine(emb.reshape(len(emb), -1), ref[0].reshape(len(emb), -1))
        kk = min(k, probs.shape[1])
        top = np.argsort(-probs, axis=1)[:, :kk]
        top_ref = np.argsort(-ref[1], axis=1)[:, :kk]
        overlap = np.array([len(set(a) & set(b)) / kk for a, b in zip(top, top_ref,
                                                                       strict=True)])
        row.update(seconds_per_window=spw, speedup=ref[2] / spw,
                   cosine_min=float(cos.min()), cosine_mean=float(cos.mean()),
                   max_abs_prob_diff=float(np.abs(probs - ref[1]).max()),
                   topk_agreement=float(overlap.mean()),
                   topk_exact=float((overlap == 1.0).mean()))
        rows.append(row)
    columns = ["precision", "requested", "windows", "seconds_per_window", "speedup",
               "cosine_min", "cosine_mean", "max_abs_prob_diff", "topk_agreement",
               "topk_exact", "random_weights", "error"]
    df = pd.DataFrame(rows).reindex(columns=columns)
    df["error"] = pd.Series([r["error"] for r in rows], dtype=object)  # None, not NaN
    df.attrs.update(k=int(k), device=str(device), errors=errors,
                    cpu_flags=sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16",
                                                    "avx512_vnni", "avx_vnni", "amx_tile",
                                                    "amx_bf16", "amx_int8"}))
    return df


def _windows(inputs, *, sr, max_windows, max_length,
             ) -> tuple[np.ndarray, list[int], pd.DataFrame]:
    """The 16 kHz windows of ``inputs`` (as :func:`asttools.embed` cuts them, decoded by
    the same loading path: :func:`asttools.run.iter_windows`), zero-padded into one
    (n_windows, samples) array, and their valid lengths. Failures go through the run
    driver (:class:`~asttools.run.RunLog`): one warning, their table in ``log``."""
    items = as_items(inputs, sr)
    log = RunLog(len(items), desc="fidelity")
    windows: list[np.ndarray] = []
    own: dict[int, list[np.ndarray]] = {}  # an input's windows, kept once all are cut
    events = iter_windows(items, max_length=max_length)  # the decode pool, as embed
    try:
        for event in events:
            if isinstance(event, Window):
                own.setdefault(event.item.index, []).append(event.samples)
            elif isinstance(event, Cut):
                windows.extend(own.pop(event.item.index, []))
                if max_windows is not None and len(windows) >= max_windows:
                    windows = windows[:max_windows]
                    break
            else:  # an ItemError: its windows, if any, are void
                own.pop(event.item.index, None)
                log.fail(event.item, event.reason, event.status, event.media)
    finally:
        events.close()
        log.close()
    log.warn(stacklevel=3, see="the attrs['errors'] of fidelity's table", prefix="fidelity: ")
    if not windows:
        raise ParameterError("fidelity: the inputs gave no windows (all failed to load)")
    width = max(max(len(w) for w in windows), max_length * FRAME_SHIFT)
    batch = np.zeros((len(windows), width), np.float32)
    for i, w in enumerate(windows):
        batch[i, : len(w)] = w
    return batch, [len(w) for w in windows], log.errors()


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    num = (a64 * b64).sum(axis=1)
    den = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return np.clip(cos, -1.0, 1.0)
