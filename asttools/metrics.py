"""Evaluation: the numbers a thesis table needs, each with its definition.

The field's tools disagree on details that change the third digit (which classes count
towards a macro mean, whether d′ comes from the mean AUC or is averaged over classes), so
every metric here states its definition, and :func:`evaluate` reports how many classes
each one averages over and how many were skipped.

Definitions used throughout
---------------------------
- **AP** of a class: scikit-learn's ``average_precision_score`` (step-wise area under the
  precision-recall curve, tied scores form one step). Only defined for a class with at
  least one positive clip.
- **mAP**: the unweighted mean of per-class AP over the classes with at least one
  positive; classes without positives are *excluded* (scikit-learn would score them 0
  with a warning) and counted in ``n_classes_skipped``.
- **AUC** of a class: ROC AUC (ties count one half, as in ``roc_auc_score``); defined
  when the class has both positive and negative clips. **mAUC**: their unweighted mean.
- **d′**: √2·Φ⁻¹(AUC). ``dprime_ast`` is the original AST code's number, d′ *of the mean
  AUC*: √2·Φ⁻¹(mAUC). ``dprime_hear`` is HEAR's, the mean over classes of √2·Φ⁻¹(AUC_c).
  They differ; report the one your comparison uses. An AUC of 1 gives d′ = +inf.
- **Thresholded precision, recall, F1** (multi-label): a class is predicted when its score
  is ``>= threshold``. *Macro*: the mean of per-class values over the classes with at
  least one positive (precision 0 for a class never predicted). *Micro*: from true
  positives, false positives and false negatives pooled over all evaluated classes.
- **Accuracy** (single-label): the true class has the highest score (ties go to the class
  listed first). **Top-k accuracy**: the true class is among the k highest (a stable sort,
  ties again to the class listed first). **Macro F1** (single-label): mean over classes with
  at least one clip of the per-class F1 of the arg-max predictions.
- **Confidence intervals**: percentile bootstrap over clips (resampled with replacement,
  ``n_boot`` times, seeded). Each resample recomputes the metric from scratch, including
  which classes have positives; resamples where a metric is undefined are skipped and the
  ``note`` says how many.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .errors import ASTToolsWarning, ParameterError

__all__ = [
    "MULTILABEL_POLICIES",
    "TASKS",
    "BootstrapCI",
    "aligned_scores",
    "bootstrap_ci",
    "confusion_matrix",
    "dprime",
    "evaluate",
    "linear_probe",
    "per_class_metrics",
]

#: Tasks :func:`evaluate` knows. ``"auto"``: single-label (multiclass) when every clip has
#: exactly one label (or the truth is an integer vector), else multi-label.
TASKS: tuple[str, ...] = ("auto", "multilabel", "multiclass")

_N_AUDIOSET = 527


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
    >>> from asttools.metrics import dprime
    >>> round(float(dprime(0.9)), 4)
    1.8124
    """
    from scipy.special import ndtri

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
    >>> from asttools.metrics import bootstrap_ci
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
# inputs: join the truth table to the predictions, map labels to output units


@dataclass
class _Problem:
    task: str
    y: np.ndarray  # (n, c) uint8 for multilabel, (n,) int for multiclass
    s: np.ndarray  # (n, c) float64
    classes: list[str]
    mids: list[Any]
    match: list[Any]
    paths: list[str] | None
    notes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    random_weights: bool = False


def _is_result(obj: object) -> bool:
    return hasattr(obj, "probs") and hasattr(obj, "table")


def _clip_level(result: Any) -> Any:
    table = result.table
    if "item" in table.columns and table["item"].duplicated().any():
        if not hasattr(result, "clips"):
            raise ParameterError(
                "predictions have several rows per item (windows) and no .clips() to "
                "aggregate them; pass one row per clip"
            )
        return result.clips(probs="mean")
    return result


def _norm_path(p: object) -> str:
    p = str(p)
    if p.startswith("<"):
        return p
    return str(Path(os.path.expanduser(p)).resolve())


def _join(truth: pd.DataFrame, pred_paths: Sequence[str], what: str
          ) -> tuple[np.ndarray, np.ndarray]:
    """Positions in truth and in predictions of the clips both have, in truth order."""
    if "path" not in truth.columns:
        raise ParameterError(
            f"the truth table has no 'path' column to join {what} on (columns: "
            f"{', '.join(map(str, truth.columns))})"
        )
    pred = [_norm_path(p) for p in pred_paths]
    if pred and all(p.startswith("<array") for p in pred):
        raise ParameterError(
            f"{what} were computed from in-memory arrays (paths like {pred[0]!r}) and "
            "cannot be joined to a truth table by path; pass aligned arrays instead"
        )
    where: dict[str, int] = {}
    for i, p in enumerate(pred):
        if p in where:
            warnings.warn(f"{p} appears twice in the {what}; the first row is used",
                          ASTToolsWarning, stacklevel=4)
            continue
        where[p] = i
    truth_paths = [_norm_path(p) for p in truth["path"]]
    ti = [i for i, p in enumerate(truth_paths) if p in where]
    pi = [where[truth_paths[i]] for i in ti]
    n_extra_pred = len(where) - len(set(pi))
    n_extra_truth = len(truth_paths) - len(ti)
    if not ti:
        raise ParameterError(
            f"no clip of the {what} is in the truth table: no path matches (e.g. "
            f"predictions {pred[:1]} vs truth {truth_paths[:1]}); both sides must name "
            "the same files"
        )
    if n_extra_pred:
        warnings.warn(f"{n_extra_pred} clips in the {what} have no ground truth and are "
                      "ignored", ASTToolsWarning, stacklevel=4)
    if n_extra_truth:
        warnings.warn(f"{n_extra_truth} clips of the truth table have no {what} and are "
                      "ignored", ASTToolsWarning, stacklevel=4)
    return np.asarray(ti, dtype=np.intp), np.asarray(pi, dtype=np.intp)


def _validate_scores(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 2:
        raise ParameterError(f"scores must be 2-D (n_clips, n_classes), given shape {s.shape}")
    if np.isnan(s).any():
        raise ParameterError(f"scores contain {int(np.isnan(s).sum())} NaN values")
    return s


def _truth_keys(truth: pd.DataFrame, *, use_mids: bool = True) -> tuple[list[tuple], bool]:
    """Per clip label keys: AudioSet mids when the table gives them for every clip.

    ``use_mids=False`` (a user mapping was given, and it must win) keys by label name.
    """
    if "labels" not in truth.columns:
        raise ParameterError(
            f"the truth table has no 'labels' column (columns: "
            f"{', '.join(map(str, truth.columns))}); read it with "
            "asttools.datasets.read_ground_truth"
        )
    labels = [tuple(v) if not isinstance(v, str) else (v,) for v in truth["labels"]]
    if use_mids and "mids" in truth.columns:
        mids = [tuple(v) if not isinstance(v, str) else (v,) for v in truth["mids"]]
        if any(mids) and all(len(m) == len(lb) for m, lb in zip(mids, labels, strict=True)):
            return mids, True
    return labels, False


def _columns_for(classes: list[str], native: bool, predictions_kind: str, names: list[str],
                 *, mapping, dataset, roll_up) -> tuple[list, list, list, list[str]]:
    """Output units, mids and match kinds per class; and which classes stay unmapped."""
    from .labels import audioset_ontology
    from .mapping import _normalize, _units, map_labels

    if predictions_kind == "audioset":
        if native:
            onto = audioset_ontology()
            units = [_units(m, roll_up=roll_up) if m in onto.index else () for m in classes]
            mids = list(classes)
            match = ["mid"] * len(classes)
        else:
            table = map_labels(classes, mapping=mapping, dataset=dataset, roll_up=roll_up)
            units = list(table["units"])
            mids = [None if pd.isna(m) else str(m) for m in table["mid"]]
            match = [str(m) for m in table["match"]]
    else:  # the model's own label names
        exact = {n: i for i, n in enumerate(names)}
        loose = {}
        for i, n in enumerate(names):
            loose.setdefault(_normalize(n), i)
        units, match = [], []
        for c in classes:
            mp = (mapping or {}).get(c, c)
            if mp in exact:
                units.append((exact[mp],))
                match.append("user" if c in (mapping or {}) else "exact")
            elif _normalize(str(mp)) in loose:
                units.append((loose[_normalize(str(mp))],))
                match.append("normalized")
            else:
                units.append(())
                match.append("unmapped")
        mids = [None] * len(classes)
    unmapped = [c for c, u in zip(classes, units, strict=True) if not u]
    return units, mids, match, unmapped


def _prepare(truth: Any, predictions: Any, *, task: str, classes: Sequence[str] | None,
             roll_up: bool, mapping: Mapping | None, dataset: str | None) -> _Problem:
    if task not in TASKS:
        raise ParameterError(f"task={task!r} is not one of {TASKS}")
    notes: list[str] = []
    random_weights = False
    pred_paths = None
    names: list[str] = []
    if _is_result(predictions):
        predictions = _clip_level(predictions)
        meta = getattr(predictions, "meta", {}) or {}
        random_weights = bool(meta.get("random_weights", False))
        scores = _validate_scores(predictions.probs)
        pred_paths = list(predictions.table["path"])
        names = [str(n) for n in meta.get("labels", [])]
        if scores.shape[1] == _N_AUDIOSET:
            kind = "audioset"
        elif len(names) == scores.shape[1]:
            kind = "named"
        else:
            raise ParameterError(
                f"predictions have {scores.shape[1]} columns, neither the {_N_AUDIOSET} "
                "AudioSet classes nor as many as meta['labels'] names"
            )
    else:
        scores = _validate_scores(predictions)
        kind = "aligned"

    if isinstance(truth, pd.DataFrame):
        if pred_paths is not None:
            ti, pi = _join(truth, pred_paths, "predictions")
            truth, scores = truth.iloc[ti].reset_index(drop=True), scores[pi]
        elif len(truth) != len(scores):
            raise ParameterError(
                f"the truth table has {len(truth)} rows but the score matrix "
                f"{scores.shape[0]}; without paths they must be aligned row by row"
            )
        keys, native = _truth_keys(truth, use_mids=not mapping)
        if kind == "aligned" and scores.shape[1] == _N_AUDIOSET and (
            classes is None or len(classes) != _N_AUDIOSET
        ):
            kind = "audioset"
        if classes is None:
            cls = sorted({k for r in keys for k in r})
            if native:
                from .labels import audioset_ontology

                index = audioset_ontology()["index"]
                cls.sort(key=lambda m: (index.get(m, -1) < 0, index.get(m, 0), m))
        elif native:
            from .labels import lookup_label

            cls = [str(lookup_label(c)["mid"]) for c in classes]
        else:
            cls = [str(c) for c in classes]
        if len(set(cls)) != len(cls):
            raise ParameterError("classes lists a class more than once")
        n_labels = np.array([len(r) for r in keys])
        if task == "auto":
            task = "multiclass" if (n_labels == 1).all() else "multilabel"
        if task == "multiclass" and not (n_labels == 1).all():
            bad = int((n_labels != 1).sum())
            raise ParameterError(
                f"task='multiclass' needs exactly one label per clip; {bad} clips have "
                "none or several (use task='multilabel')"
            )
        paths = [str(p) for p in truth["path"]] if "path" in truth.columns else None

        if kind == "aligned":
            if scores.shape[1] != len(cls):
                raise ParameterError(
                    f"scores have {scores.shape[1]} columns but there are {len(cls)} classes "
                    f"({', '.join(cls[:5])}{', ...' if len(cls) > 5 else ''}); pass "
                    "classes= naming the score columns in order"
                )
            if roll_up:
                raise ParameterError("roll_up=True needs predictions over the 527 AudioSet "
                                     "classes")
            units = [(j,) for j in range(len(cls))]
            mids, match, unmapped = [None] * len(cls), ["aligned"] * len(cls), []
        else:
            if roll_up and kind != "audioset":
                raise ParameterError("roll_up=True needs predictions over the 527 AudioSet "
                                     "classes")
            units, mids, match, unmapped = _columns_for(
                cls, native, kind, names, mapping=mapping, dataset=dataset, roll_up=roll_up
            )
        if unmapped:
            msg = (f"{len(unmapped)} of {len(cls)} classes map to no model output and are "
                   f"not evaluated: {', '.join(map(repr, unmapped[:10]))}"
                   f"{', ...' if len(unmapped) > 10 else ''}")
            warnings.warn(msg, ASTToolsWarning, stacklevel=3)
            notes.append(msg)
        keep = [j for j, u in enumerate(units) if u]
        if not keep:
            raise ParameterError("no class of the ground truth maps to a model output; pass "
                                 "mapping={label: AudioSet display name or mid}")
        cls_k = [cls[j] for j in keep]
        units_k = [units[j] for j in keep]
        _warn_overlaps(cls_k, units_k, roll_up)
        s = np.stack([scores[:, list(u)].max(axis=1) for u in units_k], axis=1)
        display = _display(cls_k, native)
        if task == "multiclass":
            col = {c: j for j, c in enumerate(cls_k)}
            target = np.array([col.get(r[0], -1) for r in keys])
            ok = target >= 0
            if not ok.all():
                msg = (f"{int((~ok).sum())} clips whose class is not evaluated "
                       "(unmapped or not in classes) are left out")
                warnings.warn(msg, ASTToolsWarning, stacklevel=3)
                notes.append(msg)
            if not ok.any():
                raise ParameterError("no clip has an evaluated class")
            y: np.ndarray = target[ok]
            s = s[ok]
            paths = [p for p, o in zip(paths, ok, strict=True) if o] if paths else None
        else:
            col = {c: j for j, c in enumerate(cls_k)}
            y = np.zeros((len(keys), len(cls_k)), dtype=np.uint8)
            for i, r in enumerate(keys):
                for k in r:
                    if k in col:
                        y[i, col[k]] = 1
        return _Problem(task, y, s, display, [mids[j] for j in keep],
                        [match[j] for j in keep], paths, notes, unmapped, random_weights)

    # ---- truth given as an array -------------------------------------------------------
    y = np.asarray(truth)
    if y.ndim not in (1, 2):
        raise ParameterError(f"truth must be a table, a 0/1 matrix (n, c) or a class vector "
                             f"(n,), given shape {y.shape}")
    if len(y) != len(scores):
        raise ParameterError(
            f"truth has {len(y)} rows but the predictions {len(scores)}; arrays must be "
            "aligned row by row (or pass the truth table to join on path)"
        )
    n_cols = y.shape[1] if y.ndim == 2 else (
        len(classes) if classes is not None else scores.shape[1])
    mids: list[Any] = [None] * n_cols
    match: list[Any] = ["aligned"] * n_cols
    if kind != "aligned" or (scores.shape[1] == _N_AUDIOSET and n_cols != _N_AUDIOSET):
        from .labels import audioset_labels, lookup_label
        from .mapping import _units

        if classes is None and n_cols == _N_AUDIOSET:
            classes = list(audioset_labels()["display_name"])
        if classes is None or len(classes) != n_cols:
            raise ParameterError(
                f"truth has {n_cols} classes and the predictions are the {_N_AUDIOSET} "
                "AudioSet outputs: pass classes= naming the AudioSet class (display name or "
                "mid) of each truth column"
            )
        mids = [str(lookup_label(c)["mid"]) for c in classes]
        units = [_units(m, roll_up=roll_up) for m in mids]
        if not all(units):
            bad = [c for c, u in zip(classes, units, strict=True) if not u]
            raise ParameterError(f"classes {bad[:5]} are not model outputs; use roll_up=True "
                                 "or leave them out")
        _warn_overlaps(list(classes), units, roll_up)
        scores = np.stack([scores[:, list(u)].max(axis=1) for u in units], axis=1)
        match = ["mid"] * n_cols
    elif roll_up:
        raise ParameterError("roll_up=True needs predictions over the 527 AudioSet classes")
    if scores.shape[1] != n_cols:
        raise ParameterError(f"truth has {n_cols} classes but the scores {scores.shape[1]} "
                             "columns")
    display = [str(c) for c in classes] if classes is not None else [
        str(j) for j in range(n_cols)]
    if len(display) != n_cols:
        raise ParameterError(f"classes names {len(display)} classes but the truth has "
                             f"{n_cols}")
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            raise ParameterError(f"a class vector must hold integers 0..{n_cols - 1}, given "
                                 f"dtype {y.dtype}")
        if len(y) and (y.min() < 0 or y.max() >= n_cols):
            raise ParameterError(f"class vector values must lie in 0..{n_cols - 1}, given "
                                 f"{int(y.min())}..{int(y.max())}")
        if task == "multilabel":
            onehot = np.zeros((len(y), n_cols), dtype=np.uint8)
            onehot[np.arange(len(y)), y] = 1
            y, task_ = onehot, "multilabel"
        else:
            task_ = "multiclass"
    else:
        if not np.isin(y, (0, 1)).all():
            raise ParameterError("a truth matrix must hold only 0 and 1 (or False/True)")
        y = y.astype(np.uint8)
        if task == "multiclass":
            if not (y.sum(axis=1) == 1).all():
                raise ParameterError("task='multiclass' needs exactly one 1 per truth row")
            y, task_ = y.argmax(axis=1), "multiclass"
        else:
            task_ = "multilabel"
    return _Problem(task_, y, scores, display, mids, match, None, notes, [], random_weights)


def _display(keys: list[str], native: bool) -> list[str]:
    if not native:
        return list(keys)
    from .labels import audioset_ontology

    names = audioset_ontology()["name"]
    return [str(names.get(k, k)) for k in keys]


def _warn_overlaps(classes: Sequence[str], units: Sequence[tuple], roll_up: bool) -> None:
    sets = [frozenset(u) for u in units]
    seen: dict[frozenset, str] = {}
    for c, u in zip(classes, sets, strict=True):
        if u in seen:
            warnings.warn(f"classes {seen[u]!r} and {c!r} are scored by the same model "
                          "outputs and cannot be told apart", ASTToolsWarning, stacklevel=4)
        seen.setdefault(u, c)
    if roll_up:
        nested = [(a, b) for a, ua in zip(classes, sets, strict=True)
                  for b, ub in zip(classes, sets, strict=True) if a != b and ua < ub]
        if nested:
            pairs = ", ".join(f"{b!r} ⊃ {a!r}" for a, b in nested[:5])
            warnings.warn(f"with roll_up=True some classes contain others, so their scores "
                          f"include the others' ({pairs})", ASTToolsWarning, stacklevel=4)


# ---------------------------------------------------------------------------------------
# evaluate


def _evaluator(problem: _Problem, threshold: float, k: int):
    if problem.task == "multiclass":
        return _Multiclass(problem.y, problem.s, k)
    return _Multilabel(problem.y, problem.s, threshold)


_MULTILABEL_NOTES = {
    "mAP": "macro mean of per-class AP over classes with >=1 positive",
    "mAUC": "mean of per-class ROC AUC over classes with positives and negatives",
    "dprime_ast": "sqrt(2)*ppf(mean AUC), as the AST code computes it",
    "dprime_hear": "mean over classes of sqrt(2)*ppf(AUC_c), as HEAR computes it",
    "precision_macro": "score >= {t}; mean over classes with >=1 positive",
    "recall_macro": "score >= {t}; mean over classes with >=1 positive",
    "f1_macro": "score >= {t}; mean over classes with >=1 positive",
    "precision_micro": "score >= {t}; pooled over all {c} classes",
    "recall_micro": "score >= {t}; pooled over all {c} classes",
    "f1_micro": "score >= {t}; pooled over all {c} classes",
}
_MULTICLASS_NOTES = {
    "accuracy": "arg-max over the {c} evaluated classes is the true class",
    "topk": "true class among the {k} highest of {c} (stable sort)",
    "f1_macro": "arg-max predictions; mean F1 over classes with >=1 clip",
    "mAP": "one-vs-rest AP, mean over classes with >=1 clip",
    "mAUC": "one-vs-rest ROC AUC, mean over classes with >=1 clip",
}


def evaluate(
    truth: pd.DataFrame | np.ndarray,
    predictions: Any,
    *,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    threshold: float = 0.5,
    k: int = 5,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    roll_up: bool = False,
    mapping: Mapping[str, str | None] | None = None,
    dataset: str | None = "auto",
) -> pd.DataFrame:
    """Score predictions against ground truth: one row per metric, with bootstrap CIs.

    Parameters
    ----------
    truth : DataFrame, or ndarray (n, c) of 0/1, or ndarray (n,) of int
        The tidy ground-truth table (:func:`asttools.datasets.read_ground_truth`), joined to
        the predictions on ``path`` (clips on one side only are ignored with a warning); or
        a 0/1 matrix or an integer class vector aligned row by row with the predictions.
    predictions : EmbeddingResult or ndarray (n, c)
        A result of :func:`asttools.embed.embed` or :func:`asttools.store.read_store`
        (windows are averaged to clips with ``.clips(probs="mean")`` when an item has
        several rows); or a score matrix aligned with ``truth``. With the 527 AudioSet
        outputs, the truth's label names are mapped to AudioSet classes with
        :func:`asttools.mapping.map_labels` (or its ``mids`` column is used, as for
        AudioSet segment files — unless ``mapping`` is given: a user mapping always
        wins, and then the label names are mapped); classes that map to no output are
        left out with a warning and counted in ``n_classes_unmapped``. A model with its
        own label set (``meta["labels"]``) is matched by name.
    task : {"auto", "multilabel", "multiclass"}, default "auto"
        ``"auto"``: multiclass when every clip has exactly one label (ESC-50), else
        multi-label. See the module docstring for each task's metrics.
    classes : sequence of str, optional
        The classes to evaluate, in order (truth label names; AudioSet names or mids for
        AudioSet ground truth or an array truth over AudioSet outputs). Defaults to every
        label in the truth. Classes listed but absent from the truth count as skipped,
        and still compete in the arg-max: evaluate a subset of ESC-50 with
        ``classes=ESC50_CATEGORIES`` so that accuracy is over all 50 classes.
    threshold : float, default 0.5
        Multi-label decision threshold (predicted when score >= threshold).
    k : int, default 5
        For top-k accuracy (multiclass).
    n_boot : int, default 1000
        Bootstrap resamples of clips for the intervals; 0 skips them. A resample costs a
        few passes over the (n, c) scores, no re-sorting: measured on 2 CPU cores, about
        0.1 s for 20,000 clips x 527 classes (plus ~3 s once), and 1000 resamples of an
        ESC-50-sized task (2,000 x 50) in under a second.
    ci : float, default 0.95
        Interval coverage (percentile bootstrap).
    seed : int, default 0
        Seed of the resampling; the same seed gives the same intervals.
    roll_up : bool, default False
        Score each AudioSet class by the max over itself and its descendants
        (:func:`asttools.mapping.roll_up_scores`); warns when evaluated classes nest.
    mapping, dataset
        Passed to :func:`asttools.mapping.map_labels`.

    Returns
    -------
    DataFrame
        Columns ``metric``, ``value``, ``ci_low``, ``ci_high``, ``n`` (clips), ``n_classes``
        (classes the metric averages over) and ``note`` (definition, skipped resamples,
        random weights). Multi-label rows: ``mAP, mAUC, dprime_ast, dprime_hear,
        precision_macro, recall_macro, f1_macro, precision_micro, recall_micro, f1_micro``;
        multiclass rows: ``accuracy, top{k}_accuracy, f1_macro, mAP, mAUC``; then the counts
        ``n_classes_evaluated`` (classes with >=1 positive), ``n_classes_skipped`` (no
        positives) and ``n_classes_unmapped``. ``attrs`` holds ``task``, ``classes``,
        ``skipped_classes``, ``unmapped``, ``notes``, ``random_weights``, ``n_boot``, ``ci``
        and ``seed``.

    Raises
    ------
    ParameterError
        For an unknown task, shapes that do not line up, a join with no common clip, no
        mappable class, or NaN scores.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.metrics import evaluate
    >>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> s = np.array([[0.9, 0.2], [0.1, 0.8], [0.7, 0.6], [0.3, 0.1]])
    >>> table = evaluate(y, s, n_boot=0)
    >>> float(table.set_index("metric").loc["mAP", "value"])
    1.0
    """
    _check_boot(n_boot, ci)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k must be a positive integer, given {k!r}")
    problem = _prepare(truth, predictions, task=task, classes=classes, roll_up=roll_up,
                       mapping=mapping, dataset=dataset)
    if problem.random_weights:
        warnings.warn("the predictions come from a model with random weights: these "
                      "numbers are meaningless", ASTToolsWarning, stacklevel=2)
    ev = _evaluator(problem, threshold, k)
    n, c = len(problem.y), problem.s.shape[1]
    w = np.ones(n)
    point = ev.headline(w)
    pc = ev.per_class(w)

    boot = {m: np.full(n_boot, np.nan) for m in point}
    rng = np.random.default_rng(seed)
    for b in range(n_boot):
        wb = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        for m, v in ev.headline(wb).items():
            boot[m][b] = v

    has_pos = pc["n_positives"] > 0
    has_both = has_pos & (pc["n_negatives"] > 0)
    n_classes = {
        "mAP": int(has_pos.sum()), "mAUC": int(has_both.sum()),
        "dprime_ast": int(has_both.sum()), "dprime_hear": int(has_both.sum()),
        "precision_macro": int(has_pos.sum()), "recall_macro": int(has_pos.sum()),
        "f1_macro": int(has_pos.sum()),
    }
    notes_for = _MULTICLASS_NOTES if problem.task == "multiclass" else _MULTILABEL_NOTES
    prefix = "RANDOM WEIGHTS; " if problem.random_weights else ""
    rows = []
    for metric, value in point.items():
        key = "topk" if metric.startswith("top") else metric
        note = notes_for[key].format(t=threshold, c=c, k=k)
        if metric in ("mAP", "mAUC", "dprime_ast", "dprime_hear") and c - n_classes[metric]:
            note += f"; {c - n_classes[metric]} classes skipped (undefined)"
        if key == "topk" and k >= c:
            note += f"; k >= number of classes ({c}): trivially 1"
        if np.isinf(value):
            note += "; infinite: a perfect AUC gives d' = inf"
        if n_boot:
            low, high = _percentile_ci(boot[metric], ci)
            skipped = int(np.isnan(boot[metric]).sum())
            if skipped:
                note += f"; CI from {n_boot - skipped} of {n_boot} resamples ({skipped} " \
                        "undefined)"
        else:
            low = high = math.nan
        rows.append((metric, value, low, high, n, n_classes.get(metric, c), prefix + note))
    skipped_names = [problem.classes[j] for j in np.flatnonzero(~has_pos)]
    listing = ", ".join(skipped_names[:10]) + (", ..." if len(skipped_names) > 10 else "")
    rows.append(("n_classes_evaluated", float(has_pos.sum()), math.nan, math.nan, n, c,
                 prefix + "classes with >=1 positive clip"))
    rows.append(("n_classes_skipped", float((~has_pos).sum()), math.nan, math.nan, n, c,
                 prefix + ("no positive clip: " + listing if skipped_names
                           else "no positive clip")))
    rows.append(("n_classes_unmapped", float(len(problem.unmapped)), math.nan, math.nan, n,
                 c + len(problem.unmapped),
                 prefix + ("map to no model output: " + ", ".join(problem.unmapped[:10])
                           if problem.unmapped else "map to no model output")))
    table = pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high", "n",
                                        "n_classes", "note"])
    table = table.astype({"value": "float64", "ci_low": "float64", "ci_high": "float64",
                          "n": "int64", "n_classes": "int64"})
    table.attrs.update(
        task=problem.task, classes=list(problem.classes), skipped_classes=skipped_names,
        unmapped=list(problem.unmapped), notes=list(problem.notes),
        random_weights=problem.random_weights, n_boot=n_boot, ci=ci, seed=seed,
        threshold=threshold, k=k, roll_up=roll_up,
    )
    return table


def per_class_metrics(
    truth: pd.DataFrame | np.ndarray,
    predictions: Any,
    *,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    threshold: float = 0.5,
    roll_up: bool = False,
    mapping: Mapping[str, str | None] | None = None,
    dataset: str | None = "auto",
) -> pd.DataFrame:
    """One row per evaluated class: positives, AP, AUC, d′ and thresholded P/R/F1.

    Takes the same inputs as :func:`evaluate`. For a multiclass task the precision, recall
    and F1 are those of the arg-max predictions and AP/AUC are one-vs-rest.

    Returns
    -------
    DataFrame, shape (n_classes, 12)
        ``label``, ``mid`` (AudioSet, when mapped), ``match`` (how the label was mapped),
        ``n_positives``, ``n_negatives``, ``ap`` (NaN without positives), ``auc`` and
        ``dprime`` (NaN without positives or without negatives), ``precision``,
        ``recall``, ``f1`` (0 when undefined, as scikit-learn's ``zero_division=0``) and
        ``evaluated`` (True when the class counts towards mAP). ``attrs`` as in
        :func:`evaluate`.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.metrics import per_class_metrics
    >>> y = np.array([[1, 0], [0, 0], [1, 0]])
    >>> s = np.array([[0.9, 0.2], [0.1, 0.8], [0.7, 0.6]])
    >>> per_class_metrics(y, s, classes=["a", "b"])[["label", "ap", "evaluated"]].values.tolist()
    [['a', 1.0, True], ['b', nan, False]]
    """
    problem = _prepare(truth, predictions, task=task, classes=classes, roll_up=roll_up,
                       mapping=mapping, dataset=dataset)
    ev = _evaluator(problem, threshold, 1)
    pc = ev.per_class(np.ones(len(problem.y)))
    table = pd.DataFrame({
        "label": problem.classes,
        "mid": pd.array(problem.mids, dtype="string"),
        "match": problem.match,
        "n_positives": pc["n_positives"].astype(np.int64),
        "n_negatives": pc["n_negatives"].astype(np.int64),
        "ap": pc["ap"],
        "auc": pc["auc"],
        "dprime": dprime(pc["auc"]),
        "precision": pc["precision"],
        "recall": pc["recall"],
        "f1": pc["f1"],
        "evaluated": pc["n_positives"] > 0,
    })
    table.attrs.update(task=problem.task, unmapped=list(problem.unmapped),
                       notes=list(problem.notes), random_weights=problem.random_weights,
                       threshold=threshold, roll_up=roll_up)
    return table


def aligned_scores(
    truth: pd.DataFrame | np.ndarray,
    predictions: Any,
    *,
    classes: Sequence[str] | None = None,
    roll_up: bool = False,
    mapping: Mapping[str, str | None] | None = None,
    dataset: str | None = "auto",
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The 0/1 truth and the matching score columns that :func:`evaluate` scores.

    The same joining (on ``path``, windows averaged per clip), label mapping and roll-up
    as :func:`evaluate`, for figures such as :func:`asttools.plots.plot_pr_curves`.

    Parameters
    ----------
    truth, predictions, classes, roll_up, mapping, dataset
        As for :func:`evaluate`.

    Returns
    -------
    y_true : ndarray, uint8, shape (n_clips, n_classes)
    scores : ndarray, float64, shape (n_clips, n_classes)
    labels : list of str
        The class names, in column order (AudioSet display names when mapped).

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.metrics import aligned_scores
    >>> y, s, labels = aligned_scores(np.array([[1, 0], [0, 1]]), np.eye(2), classes=["a", "b"])
    >>> y.shape, s.shape, labels
    ((2, 2), (2, 2), ['a', 'b'])
    """
    problem = _prepare(truth, predictions, task="multilabel", classes=classes,
                       roll_up=roll_up, mapping=mapping, dataset=dataset)
    return problem.y.astype(np.uint8), problem.s, list(problem.classes)


# ---------------------------------------------------------------------------------------
# confusion matrix


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence | None = None,
    normalize: str | None = None,
    roll_up: bool = False,
    mapping: Mapping[str, str | None] | None = None,
    dataset: str | None = "auto",
) -> pd.DataFrame:
    """Confusion matrix with labelled rows (true class) and columns (predicted class).

    Parameters
    ----------
    y_true : array-like (n,) of labels, or a truth table / class vector
        True classes. With a truth table (or scores as ``y_pred``) the inputs are read as
        in :func:`evaluate` with ``task="multiclass"``.
    y_pred : array-like (n,) of labels, or scores (n, c), or an EmbeddingResult
        Predicted classes; scores become their arg-max over the evaluated classes.
    labels : sequence, optional
        Row and column order (and, with scores, the class names of the columns). Defaults
        to the sorted union of true and predicted labels.
    normalize : {None, "true", "pred", "all"}, default None
        As scikit-learn: divide by row sums, column sums or the total.
    roll_up, mapping, dataset
        As in :func:`evaluate`, for AudioSet predictions.

    Returns
    -------
    DataFrame, shape (n_labels, n_labels)
        Counts (int64), or fractions when normalised; index named ``"true"``, columns
        named ``"predicted"``.

    Examples
    --------
    >>> from asttools.metrics import confusion_matrix
    >>> confusion_matrix(["cat", "dog", "dog"], ["cat", "cat", "dog"]).values.tolist()
    [[1, 0], [1, 1]]
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ParameterError(f"normalize={normalize!r} is not one of (None, 'true', 'pred', "
                             "'all')")
    scores_given = _is_result(y_pred) or np.ndim(y_pred) == 2
    if isinstance(y_true, pd.DataFrame) or scores_given:
        problem = _prepare(y_true, y_pred, task="multiclass", classes=labels, roll_up=roll_up,
                           mapping=mapping, dataset=dataset)
        _, pred = _stable_rank(problem.y, problem.s)
        names = list(problem.classes)
        t = np.asarray(problem.y)
        order = names
    else:
        t_raw, p_raw = np.asarray(y_true), np.asarray(y_pred)
        if t_raw.shape != p_raw.shape or t_raw.ndim != 1:
            raise ParameterError(f"y_true and y_pred must be 1-D and of equal length, given "
                                 f"shapes {t_raw.shape} and {p_raw.shape}")
        order = list(labels) if labels is not None else sorted(
            set(t_raw.tolist()) | set(p_raw.tolist()))
        col = {v: j for j, v in enumerate(order)}
        keep = np.array([a in col and b in col for a, b in zip(t_raw.tolist(),
                                                              p_raw.tolist(), strict=True)],
                        dtype=bool)
        t = np.array([col[a] for a in t_raw[keep].tolist()], dtype=np.intp)
        pred = np.array([col[b] for b in p_raw[keep].tolist()], dtype=np.intp)
    m = len(order)
    counts = np.bincount(t * m + pred, minlength=m * m).reshape(m, m).astype(np.int64)
    values: np.ndarray = counts
    if normalize is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            if normalize == "true":
                values = counts / counts.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                values = counts / counts.sum(axis=0, keepdims=True)
            else:
                values = counts / counts.sum()
        values = np.nan_to_num(values)
    return pd.DataFrame(values, index=pd.Index(order, name="true"),
                        columns=pd.Index(order, name="predicted"))


# ---------------------------------------------------------------------------------------
# linear probe


#: What :func:`linear_probe` does with a clip that has no label or several: raise, take
#: its first label (the manifest's order), or leave it out with a warning.
MULTILABEL_POLICIES: tuple[str, ...] = ("error", "first", "drop")


def _single_labels(truth: pd.DataFrame, policy: str) -> tuple[np.ndarray, np.ndarray]:
    """One label per clip, and which clips keep one."""
    if "labels" not in truth.columns:
        raise ParameterError("the truth table has no 'labels' column")
    out, keep = [], []
    for i, v in enumerate(truth["labels"]):
        v = (v,) if isinstance(v, str) else tuple(v)
        if len(v) == 1 or (policy == "first" and v):
            out.append(str(v[0]))
            keep.append(True)
            continue
        if policy == "error":
            where = (f"clip {truth['path'].iat[i]!r}" if "path" in truth.columns
                     else f"row {i}")
            raise ParameterError(
                f"the linear probe is single-label, but {where} has {len(v)} labels {v}; "
                f"pass multilabel='first' or 'drop' (one of {MULTILABEL_POLICIES})"
            )
        out.append("")
        keep.append(False)
    return np.asarray(out, dtype=object), np.asarray(keep, dtype=bool)


def linear_probe(
    embeddings: Any,
    labels: Any = None,
    *,
    folds: Iterable | str | None = None,
    n_splits: int = 5,
    C: float = 1.0,
    seed: int = 0,
    standardize: bool = True,
    max_iter: int = 5000,
    multilabel: str = "error",
    return_predictions: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-validated logistic-regression probe on frozen embeddings.

    A scikit-learn ``Pipeline`` of ``StandardScaler`` (when ``standardize``) and
    ``LogisticRegression(C=C, max_iter=max_iter)`` (multinomial, L2, lbfgs) is fit on the
    training folds and scored on the held-out fold.

    Parameters
    ----------
    embeddings : ndarray (n, d), or an EmbeddingResult
        Clip embeddings. A result is joined to the truth table ``labels`` on ``path``
        after aggregating windows with ``.clips()`` (embeddings averaged).
    labels : array-like (n,) or DataFrame
        One class per clip (strings or ints), or the tidy truth table (each clip must have
        exactly one label).
    folds : array-like (n,), str or None, default None
        Fold id per clip: each fold is held out once (leave-one-fold-out, e.g. ESC-50's
        five). A string names a column of the truth table. ``None``: the truth table's
        ``fold`` column when there is one, else ``StratifiedKFold(n_splits, shuffle=True,
        random_state=seed)``.
    n_splits : int, default 5
        Folds of the stratified split when no folds are given.
    C : float, default 1.0
        Inverse L2 regularisation strength.
    seed : int, default 0
        Seed of the stratified split.
    standardize : bool, default True
        Standardise features on the training fold first.
    max_iter : int, default 5000
        lbfgs iterations.
    multilabel : {"error", "first", "drop"}, default "error"
        For a truth table: what to do with a clip that has several labels (or none):
        raise, use its first label (the manifest's order, e.g. the primary class), or
        leave the clip out with a warning. Except with "error", clips without any label
        are left out with a warning.
    return_predictions : bool, default False
        Also return the out-of-fold predictions.

    Returns
    -------
    DataFrame
        One row per fold: ``fold`` (str), ``n_train``, ``n_test``, ``accuracy``,
        ``macro_f1`` (mean F1 over the classes present in the test fold) and, with >= 5
        classes, ``top5_accuracy``; then a ``"mean"`` and a ``"std"`` row (standard
        deviation across folds, ddof=1) with the counts left NA. ``attrs["protocol"]``
        says how the folds were made.
    predictions : DataFrame, only with ``return_predictions=True``
        One row per clip, each exactly once: ``row`` (position in the input), ``path``
        (when known), ``fold``, ``label``, ``predicted``.

    Raises
    ------
    ParameterError
        When shapes disagree, fewer than two classes or folds remain, a clip has several
        labels, or the stratified split cannot be made (a class with fewer clips than
        ``n_splits``).

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.metrics import linear_probe
    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(0, 1, (20, 4)), rng.normal(5, 1, (20, 4))]
    >>> y = ["a"] * 20 + ["b"] * 20
    >>> float(linear_probe(x, y).set_index("fold").loc["mean", "accuracy"])
    1.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if multilabel not in MULTILABEL_POLICIES:
        raise ParameterError(f"multilabel={multilabel!r} is not one of {MULTILABEL_POLICIES}")
    truth = labels if isinstance(labels, pd.DataFrame) else None
    paths = None
    if _is_result(embeddings):
        if truth is None:
            raise ParameterError("with an EmbeddingResult, labels must be the truth table "
                                 "(joined on path)")
        result = embeddings
        if hasattr(result, "clips") and result.table["item"].duplicated().any():
            result = result.clips()
        ti, pi = _join(truth, list(result.table["path"]), "embeddings")
        truth = truth.iloc[ti].reset_index(drop=True)
        x = np.asarray(result.embeddings)[pi]
    else:
        x = np.asarray(embeddings)
    if x.ndim != 2:
        raise ParameterError(f"embeddings must be 2-D (n_clips, dim), given shape {x.shape}; "
                             "pool grid embeddings first")
    if truth is not None:
        if len(truth) != len(x):
            raise ParameterError(f"embeddings have {len(x)} rows but the truth table "
                                 f"{len(truth)}")
        y, keep = _single_labels(truth, multilabel)
        if not keep.all():
            warnings.warn(f"{int((~keep).sum())} clips without exactly one label are left "
                          "out of the probe", ASTToolsWarning, stacklevel=2)
            truth, x, y = truth[keep].reset_index(drop=True), x[keep], y[keep]
        paths = list(truth["path"]) if "path" in truth.columns else None
    else:
        if labels is None:
            raise ParameterError("labels are required: one class per clip, or a truth table")
        y = np.asarray(labels)
        if y.ndim != 1:
            raise ParameterError(f"labels must be 1-D (one class per clip), given shape "
                                 f"{y.shape}")
    if len(y) != len(x):
        raise ParameterError(f"embeddings have {len(x)} rows but labels {len(y)}")
    classes = sorted(set(y.tolist()), key=str)
    if len(classes) < 2:
        raise ParameterError(f"the probe needs at least two classes, given {classes}")
    col = {c: j for j, c in enumerate(classes)}
    yi = np.array([col[v] for v in y.tolist()], dtype=np.intp)

    if isinstance(folds, str):
        if truth is None or folds not in truth.columns:
            raise ParameterError(f"folds={folds!r} names no column of the truth table")
        fold_ids = truth[folds].to_numpy()
        protocol = f"leave-one-fold-out over the truth table's {folds!r} column"
    elif folds is None and truth is not None and "fold" in truth.columns:
        fold_ids = truth["fold"].to_numpy()
        protocol = "leave-one-fold-out over the truth table's 'fold' column"
    elif folds is not None:
        fold_ids = np.asarray(list(folds))
        protocol = "leave-one-fold-out over the given folds"
    else:
        fold_ids = None
        protocol = f"StratifiedKFold(n_splits={n_splits}, shuffle=True, random_state={seed})"

    if fold_ids is not None:
        if len(fold_ids) != len(x):
            raise ParameterError(f"folds has {len(fold_ids)} entries but there are {len(x)} "
                                 "clips")
        names = sorted(set(fold_ids.tolist()), key=str)
        if len(names) < 2:
            raise ParameterError(f"the probe needs at least two folds, given {names}")
        splits = [(str(f), np.flatnonzero(fold_ids != f), np.flatnonzero(fold_ids == f))
                  for f in names]
    else:
        try:
            skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            splits = [(str(i + 1), tr, te) for i, (tr, te) in enumerate(skf.split(x, yi))]
        except ValueError as err:
            raise ParameterError(f"cannot make {n_splits} stratified folds: {err}") from err

    rows, out_pred = [], []
    n_classes = len(classes)
    for name, train, test in splits:
        if len(np.unique(yi[train])) < 2:
            raise ParameterError(
                f"holding out fold {name!r} leaves one class ({classes[yi[train][0]]!r}) "
                "to train on; every training split needs at least two classes"
            )
        steps = [StandardScaler()] if standardize else []
        model = make_pipeline(*steps, LogisticRegression(C=C, max_iter=max_iter))
        model.fit(x[train], yi[train])
        proba = np.full((len(test), n_classes), -np.inf)
        proba[:, model.classes_] = model.predict_proba(x[test])
        rank, pred = _stable_rank(yi[test], proba)
        row = {
            "fold": name, "n_train": len(train), "n_test": len(test),
            "accuracy": float((rank == 0).mean()),
            "macro_f1": float(f1_score(yi[test], pred, labels=np.unique(yi[test]),
                                       average="macro", zero_division=0)),
        }
        if n_classes >= 5:
            row["top5_accuracy"] = float((rank < 5).mean())
        rows.append(row)
        out_pred.append(pd.DataFrame({
            "row": test, "fold": name,
            "label": [classes[j] for j in yi[test]], "predicted": [classes[j] for j in pred],
        }))
    table = pd.DataFrame(rows)
    metric_cols = [c for c in table.columns if c not in ("fold", "n_train", "n_test")]
    summary = pd.DataFrame([
        {"fold": "mean", **table[metric_cols].mean().to_dict()},
        {"fold": "std", **table[metric_cols].std(ddof=1).to_dict()},
    ])
    table = pd.concat([table, summary], ignore_index=True)
    table = table.astype({"n_train": "Int64", "n_test": "Int64"})
    table.attrs.update(protocol=protocol, classes=list(map(str, classes)), C=C,
                       standardize=standardize, n_clips=len(x))
    if not return_predictions:
        return table
    preds = pd.concat(out_pred, ignore_index=True).sort_values("row").reset_index(drop=True)
    if paths is not None:
        preds.insert(1, "path", [paths[i] for i in preds["row"]])
    return table, preds
