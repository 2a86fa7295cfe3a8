"""How good is a generated audio feature: fills scored against the real audio they replace.

:func:`score_fills` hides the audio of held-out clips that have it, lets each fill
(fitted on the training clips) generate it, and compares: cosine similarity and mean
squared error per clip; where the embedding is what the model's AudioSet head reads
(``pooling="mean"``, the last layer), the agreement of the head's top-k labels on the real
and the generated vector (:func:`audioset_head`); and the accuracy of a probe trained on
real training audio when it reads the generated vectors instead of the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ..errors import ParameterError
from .fills import as_fill, fill_name, fresh_fill

__all__ = ["audioset_head", "score_fills"]


def audioset_head(model, *, meta: Mapping | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """The model's classifier as a function from embeddings to logits.

    AST's AudioSet head (``model.classifier``: layer norm, then a linear layer) reads the
    mean of the [CLS] and distillation tokens of the last layer, which is what
    ``pooling="mean"`` at the last layer stores; on any other embedding its labels mean
    nothing.

    Parameters
    ----------
    model : ASTForAudioClassification
        From :func:`asttools.load_model` (``"tiny-random"`` in tests).
    meta : mapping, optional
        ``result.meta`` of the embeddings to score: checked for ``pooling="mean"`` and the
        last layer.

    Returns
    -------
    callable
        ndarray ``(m, hidden)`` -> logits, ndarray float32 ``(m, n_labels)``.

    Raises
    ------
    ParameterError
        ``meta`` says another pooling or layer.
    """
    if meta is not None:
        layers = model.config.num_hidden_layers
        if meta.get("pooling") != "mean" or meta.get("layer", layers) not in (layers, -1):
            raise ParameterError(
                f"the AudioSet head reads pooling='mean' embeddings of the last layer; these "
                f"are pooling={meta.get('pooling')!r}, layer={meta.get('layer')!r}: extract "
                "with pooling='mean' to score top-k agreement")
    param = next(model.parameters())

    def head(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            t = torch.as_tensor(np.asarray(x, np.float32), device=param.device,
                                dtype=param.dtype)
            return model.classifier(t).float().cpu().numpy()

    return head


def score_fills(
    audio: np.ndarray,
    has_audio: np.ndarray,
    *,
    fills: Sequence | Mapping,
    train: np.ndarray,
    video: np.ndarray | None = None,
    labels: Sequence | None = None,
    head: Callable[[np.ndarray], np.ndarray] | None = None,
    k: int = 5,
    silence: np.ndarray | None = None,
    C: float = 1.0,
    per_clip: bool = False,
) -> pd.DataFrame:
    """Score each fill against the real audio of held-out clips that have it.

    Each fill is fitted on the training clips (their real audio, and video); the audio of
    every held-out clip that has audio is hidden from it and generated; the generated
    vector is compared with the real one.

    Parameters
    ----------
    audio : ndarray, shape (n, d)
        Audio embeddings in clip order (rows without audio may be NaN).
    has_audio : ndarray of bool, shape (n,)
    fills : sequence or mapping
        Names, fill objects or generators (:func:`asttools.analysis.fills.as_fill`); a mapping
        names them.
    train : ndarray of bool, shape (n,)
        The training clips; the others with audio are scored.
    video : ndarray, shape (n, k), optional
        For fills learned from video.
    labels : sequence, length n, optional
        Classes: adds ``probe_accuracy`` (a probe, standardised logistic regression,
        trained on the training clips' real audio, tested on the generated vectors) and
        ``probe_accuracy_real`` (the same probe on the real vectors).
    head : callable, optional
        Embeddings -> logits, e.g. :func:`audioset_head`: adds ``top_k_agreement``, the
        share of the head's top ``k`` labels on the real vector that are among its top
        ``k`` on the generated one.
    k : int, default 5
        How many of the head's top labels ``top_k_agreement`` compares.
    silence : ndarray, shape (d,), optional
        For ``"silence"``.
    C : float, default 1.0
        Of the probe.
    per_clip : bool, default False
        Return one row per (fill, clip) instead of one per fill.

    Returns
    -------
    DataFrame
        Per fill: ``fill``, ``n_clips``, ``cosine`` (mean over clips of the cosine
        similarity of generated and real; 0 where a vector is all zeros), ``mse`` (mean
        over clips of the mean squared difference per dimension), ``top_k_agreement``,
        ``probe_accuracy``, ``probe_accuracy_real`` (NaN when not asked for). With
        ``per_clip``: ``fill``, ``clip`` (row number in ``audio``), ``cosine``, ``mse``,
        ``top_k_agreement``, ``correct``.

    Raises
    ------
    ParameterError
        Shapes disagree; no held-out clip has audio; a fill cannot be fitted.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> v = rng.normal(size=(60, 3)); a = v @ rng.normal(size=(3, 4))
    >>> s = score_fills(a, np.ones(60, bool), fills=["mean", "ridge"], video=v,
    ...                 train=np.arange(60) < 40)
    >>> s.set_index("fill")["cosine"].round(2).to_dict()
    {'mean': -0.09, 'ridge': 1.0}
    """
    a = np.asarray(audio, np.float64)
    mask = np.asarray(has_audio, bool)
    train = np.asarray(train, bool)
    n = len(a)
    if a.ndim != 2 or mask.shape != (n,) or train.shape != (n,) \
            or (video is not None and len(video) != n) or (labels is not None
                                                           and len(labels) != n):
        raise ParameterError(f"audio (n, d), has_audio, train (and video, labels) need one "
                             f"row per clip; given audio {a.shape}, has_audio {mask.shape}, "
                             f"train {train.shape}")
    held = np.flatnonzero(~train & mask)
    if not len(held):
        raise ParameterError("no held-out clip (train=False) has audio: there is nothing to "
                             "compare a fill with")
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ParameterError(f"k={k!r} must be an int >= 1")
    items = fills.items() if isinstance(fills, Mapping) else [(fill_name(f), f) for f in fills]
    v = None if video is None else np.asarray(video, np.float64)
    real = a[held]
    real_top = None if head is None else _top(head(real), k)
    probe = None
    if labels is not None:
        y = np.asarray(labels)
        fit_rows = train & mask
        with threadpool_limits(limits=1):
            probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
            probe.fit(a[fit_rows], y[fit_rows])
        real_correct = probe.predict(real) == y[held]
    rows = []
    for name, f in items:
        filler = fresh_fill(as_fill(f, silence=silence))
        filler.fit(a[train], None if v is None else v[train], mask[train])
        generated = np.asarray(filler.transform(
            real, None if v is None else v[held], np.zeros(len(held), bool)), np.float64)
        per = pd.DataFrame({"fill": str(name), "clip": held,
                            "cosine": _cosine(generated, real),
                            "mse": np.mean((generated - real) ** 2, axis=1)})
        per["top_k_agreement"] = np.nan if head is None else \
            _agreement(real_top, _top(head(generated), k))
        per["correct"] = np.nan if probe is None else \
            (probe.predict(generated) == y[held]).astype(float)
        rows.append(per)
    table = pd.concat(rows, ignore_index=True)
    if per_clip:
        return table
    out = table.groupby("fill", sort=False).agg(
        n_clips=("clip", "size"), cosine=("cosine", "mean"), mse=("mse", "mean"),
        top_k_agreement=("top_k_agreement", "mean"),
        probe_accuracy=("correct", "mean")).reset_index()
    out["probe_accuracy_real"] = np.nan if probe is None else float(real_correct.mean())
    out.attrs.update(k=k, C=C)
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.sum(a * b, axis=1) / (na * nb)
    return np.where((na > 0) & (nb > 0), c, 0.0)


def _top(logits: Any, k: int) -> np.ndarray:
    logits = np.asarray(logits)
    k = min(k, logits.shape[1])
    return np.argsort(-logits, axis=1, kind="stable")[:, :k]


def _agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)])
