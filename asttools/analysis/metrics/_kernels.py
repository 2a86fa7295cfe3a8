"""Metric kernels: d′, the bootstrap, AP and ROC AUC of every class at once, PR curves.

Everything here works on aligned arrays (truth and scores, one row per clip); joining a
truth table to predictions is :mod:`asttools.analysis.metrics._align`'s job. The definitions are
stated in :mod:`asttools.analysis.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ...errors import ParameterError

# ---------------------------------------------------------------------------------------
# small public helpers


def dprime(auc: float | np.ndarray) -> np.ndarray:
    """Sensitivity index d′ = √2·Φ⁻¹(AUC), Φ⁻¹ the standard normal quantile function.

    Parameters
    ----------
    auc : float or ndarray, any shape
        ROC AUC values in [0, 1].

    Returns
    -------
    ndarray, float64, same shape
        +inf for AUC 1, -inf for AUC 0, NaN for NaN.

    Examples
    --------
    >>> from asttools.analysis.metrics import dprime
    >>> round(float(dprime(0.9)), 4)
    1.8124
    """

    return np.sqrt(2.0) * ndtri(np.asarray(auc, dtype=np.float64))


class BootstrapCI(NamedTuple):
    """A percentile bootstrap interval: bounds, resamples used and resamples skipped."""

    low: float
    high: float
    n_used: int
    n_skipped: int


def _percentile_ci(values: np.ndarray, ci: float) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan
    alpha = (1.0 - ci) / 2.0
    # Linear interpolation between an infinite and a finite value is undefined (d' of an
    # AUC of 1); fall back to the nearest order statistic then.
    method = "linear" if np.isfinite(values).all() else "nearest"
    low, high = np.quantile(values, [alpha, 1.0 - alpha], method=method)
    return float(low), float(high)


def _check_boot(n_boot: int, ci: float) -> None:
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ParameterError(f"n_boot must be an integer >= 0 (0: no intervals), given {n_boot!r}")
    if not 0.0 < ci < 1.0:
        raise ParameterError(f"ci must be between 0 and 1 (e.g. 0.95), given {ci!r}")


def bootstrap_ci(
    metric: Callable[..., float],
    *arrays: np.ndarray,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile bootstrap confidence interval of any metric over clips.

    Rows (clips) are resampled with replacement ``n_boot`` times with
    ``numpy.random.default_rng(seed)``; ``metric`` is called on the resampled rows of every
    array. A resample where the metric is NaN or raises ``ValueError`` (scikit-learn's way
    of saying "undefined", e.g. an AUC with one class) is skipped and counted.

    Parameters
    ----------
    metric : callable
        ``metric(*resampled_arrays) -> float``, e.g. ``sklearn.metrics.roc_auc_score``.
    *arrays : ndarray, each with n rows
        Resampled together, row by row.
    n_boot : int, default 1000
        Number of resamples.
    ci : float, default 0.95
        Coverage; the bounds are the ``(1 - ci) / 2`` and ``(1 + ci) / 2`` quantiles.
    seed : int, default 0

    Returns
    -------
    BootstrapCI
        ``low``, ``high``, ``n_used`` and ``n_skipped``.

    Raises
    ------
    ParameterError
        When no arrays are given, their lengths differ, or ``n_boot``/``ci`` are invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.analysis.metrics import bootstrap_ci
    >>> x = np.arange(100.0)
    >>> low, high, used, skipped = bootstrap_ci(np.mean, x, n_boot=200, seed=0)
    >>> bool(low < 49.5 < high), used, skipped
    (True, 200, 0)
    """
    _check_boot(n_boot, ci)
    if not arrays:
        raise ParameterError("bootstrap_ci needs at least one array to resample")
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ParameterError(
            f"arrays to resample have different lengths: {[len(a) for a in arrays]}"
        )
    if n == 0:
        raise ParameterError("cannot bootstrap zero rows")
    rng = np.random.default_rng(seed)
    values = np.full(n_boot, np.nan)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            values[b] = float(metric(*(a[idx] for a in arrays)))
        except ValueError:
            values[b] = np.nan
    low, high = _percentile_ci(values, ci)
    skipped = int(np.isnan(values).sum())
    return BootstrapCI(low, high, n_boot - skipped, skipped)


# ---------------------------------------------------------------------------------------
# rank statistics: AP and AUC for all classes at once, with clip weights
#
# Scores are sorted once per class; a bootstrap resample is then a vector of clip
# multiplicities (weights), and AP/AUC of the resample follow from weighted cumulative
# sums in the presorted order. Duplicated clips have tied scores, so this equals
# recomputing on the resampled rows (checked against scikit-learn in the tests).


class _Ranked:
    """AP and ROC AUC of every class from one sort, for any clip weights.

    Only positives contribute to either sum: AP = Σ_pos w·precision(at the end of the
    positive's tie group) / P and AUC = Σ_pos w·(negatives below + ½ tied negatives) / PN.
    The sort, the tie groups and the positives are found once; a resample then costs one
    gather and one cumulative sum over the (n, c) scores plus work on the positives.
    """

    def __init__(self, y: np.ndarray, s: np.ndarray):
        n, c = s.shape
        self.n, self.c = n, c
        order = np.argsort(-s, axis=0, kind="stable")
        ss = np.take_along_axis(s, order, 0)
        ys = np.take_along_axis(y, order, 0).astype(bool)
        rows = np.arange(n)[:, None]
        is_end = np.ones(ss.shape, dtype=bool)
        is_end[:-1] = ss[:-1] != ss[1:]
        is_start = np.ones(ss.shape, dtype=bool)
        is_start[1:] = ss[1:] != ss[:-1]
        end = np.minimum.accumulate(np.where(is_end, rows, n - 1)[::-1], axis=0)[::-1]
        start = np.maximum.accumulate(np.where(is_start, rows, 0), axis=0)
        del ss, is_end, is_start
        # positives, column by column, in sorted order within a column
        col, pos = np.nonzero(ys.T)
        self.order = order.astype(np.int32 if n < 2**31 else np.int64)
        self.col = col
        self.row = order[pos, col]  # the clip of each positive
        self.end = end[pos, col]
        self.start = start[pos, col]
        m = len(col)
        k = np.arange(m)
        new_col = np.ones(m, dtype=bool)
        new_col[1:] = col[1:] != col[:-1]
        self.col_first = np.maximum.accumulate(np.where(new_col, k, 0)) if m else k
        new_group = new_col.copy()
        new_group[1:] |= self.start[1:] != self.start[:-1]
        self.group_first = np.maximum.accumulate(np.where(new_group, k, 0)) if m else k
        last = np.ones(m, dtype=bool)
        last[:-1] = new_group[1:]
        self.group_last = (np.minimum.accumulate(np.where(last, k, m - 1)[::-1])[::-1]
                           if m else k)
        # float32 prefix sums of integer weights are exact below 2**24 clips
        self.dtype = np.float32 if n < 2**24 else np.float64

    def stats(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-class (ap, auc, positives, negatives); NaN where undefined."""
        c = self.c
        wp = w[self.row]
        cs = np.concatenate(([0.0], np.cumsum(wp)))
        base = cs[self.col_first]
        tp_end = cs[self.group_last + 1] - base
        tp_before = cs[self.group_first] - base
        npos = np.bincount(self.col, weights=wp, minlength=c)
        nneg = w.sum() - npos
        cum = np.cumsum(w.astype(self.dtype)[self.order], axis=0)
        w_end = cum[self.end, self.col].astype(np.float64)
        w_before = np.where(self.start > 0, cum[self.start - 1, self.col], 0.0)
        fp_end = w_end - tp_end
        fp_before = w_before - tp_before
        prec = np.divide(tp_end, w_end, out=np.zeros_like(w_end), where=w_end > 0)
        below = (nneg[self.col] - fp_end) + 0.5 * (fp_end - fp_before)
        with np.errstate(invalid="ignore", divide="ignore"):
            ap = np.bincount(self.col, weights=wp * prec, minlength=c) / npos
            auc = np.bincount(self.col, weights=wp * below, minlength=c) / (npos * nneg)
        ap = np.where(npos > 0, ap, np.nan)
        auc = np.where((npos > 0) & (nneg > 0), auc, np.nan)
        return ap, auc, npos, nneg


def _mean(x: np.ndarray) -> float:
    """Mean of the defined values; NaN when none (or when +inf and -inf meet)."""
    x = x[~np.isnan(x)]
    if not len(x):
        return math.nan
    with np.errstate(invalid="ignore"):
        return float(x.mean())


def _ratio(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a * b), where=b > 0)


class _Multilabel:
    """Multi-label metrics of y (n, c) 0/1 against scores s (n, c), for any clip weights."""

    def __init__(self, y: np.ndarray, s: np.ndarray, threshold: float):
        self.ranked = _Ranked(y, s)
        pred = s >= threshold
        yb = y.astype(bool)
        self.tp_m = (yb & pred).astype(np.float32)
        self.fp_m = (~yb & pred).astype(np.float32)
        self.fn_m = (yb & ~pred).astype(np.float32)

    def per_class(self, w: np.ndarray) -> dict[str, np.ndarray]:
        ap, auc, npos, nneg = self.ranked.stats(w)
        w32 = w.astype(np.float32)
        tp = (w32 @ self.tp_m).astype(np.float64)
        fp = (w32 @ self.fp_m).astype(np.float64)
        fn = (w32 @ self.fn_m).astype(np.float64)
        return {"ap": ap, "auc": auc, "n_positives": npos, "n_negatives": nneg,
                "tp": tp, "fp": fp, "fn": fn,
                "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
                "f1": _ratio(2 * tp, 2 * tp + fp + fn)}

    def headline(self, w: np.ndarray) -> dict[str, float]:
        pc = self.per_class(w)
        has_pos = pc["n_positives"] > 0
        mauc = _mean(pc["auc"])
        tp, fp, fn = pc["tp"].sum(), pc["fp"].sum(), pc["fn"].sum()
        if has_pos.any():
            macro = {m: float(pc[m][has_pos].mean()) for m in ("precision", "recall", "f1")}
        else:
            macro = dict.fromkeys(("precision", "recall", "f1"), math.nan)
        return {
            "mAP": _mean(pc["ap"]),
            "mAUC": mauc,
            "dprime_ast": float(dprime(mauc)),
            "dprime_hear": _mean(dprime(pc["auc"])),
            "precision_macro": macro["precision"],
            "recall_macro": macro["recall"],
            "f1_macro": macro["f1"],
            "precision_micro": float(_ratio(tp, tp + fp)),
            "recall_micro": float(_ratio(tp, tp + fn)) if tp + fn > 0 else math.nan,
            "f1_micro": float(_ratio(2 * tp, 2 * tp + fp + fn)) if tp + fn > 0 else math.nan,
        }


def _stable_rank(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank (0 = best) of the true class per row, and the arg-max prediction."""
    order = np.argsort(-s, axis=1, kind="stable")
    rank = np.argmax(order == y[:, None], axis=1)
    return rank, order[:, 0]


class _Multiclass:
    """Single-label metrics of integer classes y (n,) against scores s (n, c)."""

    def __init__(self, y: np.ndarray, s: np.ndarray, k: int):
        self.y, self.c, self.k = y, s.shape[1], k
        self.rank, self.pred = _stable_rank(y, s)
        onehot = np.zeros(s.shape, dtype=np.uint8)
        onehot[np.arange(len(y)), y] = 1
        self.ranked = _Ranked(onehot, s)

    def per_class(self, w: np.ndarray) -> dict[str, np.ndarray]:
        ap, auc, npos, nneg = self.ranked.stats(w)
        hit = self.rank == 0
        tp = np.bincount(self.y[hit], weights=w[hit], minlength=self.c)
        predicted = np.bincount(self.pred, weights=w, minlength=self.c)
        fp, fn = predicted - tp, npos - tp
        return {"ap": ap, "auc": auc, "n_positives": npos, "n_negatives": nneg,
                "tp": tp, "fp": fp, "fn": fn,
                "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
                "f1": _ratio(2 * tp, 2 * tp + fp + fn)}

    def headline(self, w: np.ndarray) -> dict[str, float]:
        pc = self.per_class(w)
        total = w.sum()
        has_pos = pc["n_positives"] > 0
        return {
            "accuracy": float((w * (self.rank == 0)).sum() / total),
            f"top{self.k}_accuracy": float((w * (self.rank < self.k)).sum() / total),
            "f1_macro": float(pc["f1"][has_pos].mean()),
            "mAP": _mean(pc["ap"]),
            "mAUC": _mean(pc["auc"]),
        }



# ---------------------------------------------------------------------------------------
# precision-recall curves


def _pr_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and thresholds of one class, as ``sklearn.metrics.precision_recall_curve``.

    One point per distinct score (tied scores form one step), in order of increasing
    threshold, then the point (recall 0, precision 1) that has no threshold. Recall is NaN
    throughout for a class without positives.
    """
    order = np.argsort(-s, kind="stable")
    ss, ys = s[order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(ss)), len(ss) - 1]  # the last clip of each tie group
    tps = np.cumsum(ys, dtype=np.float64)[ends]
    fps = 1.0 + ends - tps
    precision = tps / (tps + fps)
    if tps[-1] > 0:
        recall = np.r_[tps[::-1] / tps[-1], 0.0]
    else:
        recall = np.full(len(tps) + 1, np.nan)
    return np.r_[precision[::-1], 1.0], recall, ss[ends][::-1]


def pr_curves(y_true, scores, *, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Precision-recall curve of every class, with the class's AP.

    The curve is scikit-learn's ``precision_recall_curve`` (one point per distinct score,
    tied scores form one step, then recall 0 at precision 1); ``ap`` is the AP of
    :func:`~asttools.analysis.metrics.evaluate` and :func:`~asttools.analysis.metrics.per_class_metrics`
    (scikit-learn's ``average_precision_score``), the area under that curve drawn as
    steps.

    Parameters
    ----------
    y_true : array-like, shape (n, c)
        1 (or True) where clip i has class j, else 0, e.g. from
        :func:`~asttools.analysis.metrics.aligned_scores`.
    scores : array-like, shape (n, c)
        Scores or probabilities, same layout.
    labels : sequence of str, length c, optional
        Class names in column order; ``"0"``, ``"1"``, ... when None.

    Returns
    -------
    DataFrame
        One row per point of each curve, tidy for seaborn (``x="recall",
        y="precision", hue="label"``): ``label``, ``recall``, ``precision``,
        ``threshold`` (the score at or above which a clip is predicted; NaN for the last
        point, recall 0 and precision 1) and ``ap``. Classes in column order, each curve's
        points in order of increasing threshold (decreasing recall). A class without
        positives has ``recall`` and ``ap`` NaN throughout.

    Raises
    ------
    ParameterError
        Shapes disagree or are not 2-D, there are no rows, ``y_true`` holds values other
        than 0 and 1, ``scores`` hold NaN, or ``labels`` has the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.analysis.metrics import pr_curves
    >>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> s = np.array([[0.9, 0.2], [0.1, 0.8], [0.7, 0.6], [0.3, 0.1]])
    >>> curves = pr_curves(y, s, labels=["a", "b"])
    >>> curves.groupby("label")["ap"].first().tolist()
    [1.0, 1.0]
    >>> curves[curves["label"] == "a"][["recall", "precision"]].values.tolist()
    [[1.0, 0.5], [1.0, 0.6666666666666666], [1.0, 1.0], [0.5, 1.0], [0.0, 1.0]]
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 2 or y.shape != s.shape:
        raise ParameterError(
            f"y_true and scores must be 2-D (n_clips, n_classes) of the same shape, given "
            f"{y.shape} and {s.shape}"
        )
    n, c = s.shape
    if n == 0:
        raise ParameterError("y_true and scores have no rows (clips)")
    if not np.isin(y, (0, 1)).all():
        raise ParameterError("y_true must hold only 0 and 1 (or False/True)")
    if np.isnan(s).any():
        raise ParameterError(f"scores contain {int(np.isnan(s).sum())} NaN values")
    names = [str(j) for j in range(c)] if labels is None else [str(x) for x in labels]
    if len(names) != c:
        raise ParameterError(f"labels has {len(names)} names but y_true has {c} columns")
    y = y.astype(bool)
    ap = _Ranked(y, s).stats(np.ones(n))[0]
    curves = [_pr_curve(y[:, j], s[:, j]) for j in range(c)]
    sizes = [len(precision) for precision, _, _ in curves]
    table = pd.DataFrame({
        "label": np.repeat(np.asarray(names, dtype=object), sizes),
        "recall": np.concatenate([r for _, r, _ in curves]) if c else np.empty(0),
        "precision": np.concatenate([p for p, _, _ in curves]) if c else np.empty(0),
        "threshold": np.concatenate([np.r_[t, np.nan] for _, _, t in curves]) if c
        else np.empty(0),
        "ap": np.repeat(ap, sizes),
    })
    return table
