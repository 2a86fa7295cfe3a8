"""Scoring what ``_align`` aligns: evaluate, per_class_metrics, aligned_scores, confusion_matrix."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ASTToolsWarning, ParameterError
from ._align import _is_result, _prepare, _Problem
from ._kernels import _check_boot, _Multiclass, _Multilabel, _percentile_ci, _stable_rank, dprime


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
        A result of :func:`asttools.embed` or :func:`asttools.store.read_store`
        (windows are averaged to clips with ``.clips(aggregate="mean")`` when an item has
        several rows); or a score matrix aligned with ``truth``. With the 527 AudioSet
        outputs, the truth's label names are mapped to AudioSet classes with
        :func:`asttools.labels.mapping.map_labels` (or its ``mids`` column is used, as for
        AudioSet segment files — unless ``mapping`` is given: a user mapping always
        wins, and then the label names are mapped); classes that map to no output are
        left out with a warning and counted in ``attrs["counts"]["n_classes_unmapped"]``.
        A model with its own label set (``meta["labels"]``) is matched by name.
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
        (:func:`asttools.labels.mapping.roll_up_scores`); warns when evaluated classes nest.
    mapping, dataset
        Passed to :func:`asttools.labels.mapping.map_labels`.

    Returns
    -------
    DataFrame
        Columns ``metric``, ``value``, ``ci_low``, ``ci_high``, ``n`` (clips), ``n_classes``
        (classes the metric averages over) and ``note`` (definition, skipped resamples,
        random weights). Multi-label rows: ``mAP, mAUC, dprime_ast, dprime_hear,
        precision_macro, recall_macro, f1_macro, precision_micro, recall_micro, f1_micro``;
        multiclass rows: ``accuracy, top{k}_accuracy, f1_macro, mAP, mAUC``. Every row is a
        metric (``value`` and the CI float64; ``n`` and ``n_classes`` int64); the counts
        are not rows but integers in ``attrs["counts"]``: ``n_clips``, ``n_classes``
        (evaluated columns), ``n_classes_evaluated`` (classes with >=1 positive),
        ``n_classes_skipped`` (no positives, listed in ``attrs["skipped_classes"]``) and
        ``n_classes_unmapped`` (listed in ``attrs["unmapped"]``). ``attrs`` also holds
        ``task``, ``classes``, ``notes``, ``random_weights``, ``n_boot``, ``ci`` and
        ``seed``.

    Raises
    ------
    ParameterError
        For an unknown task, shapes that do not line up, a join with no common clip, no
        mappable class, or NaN scores.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.analysis.metrics import evaluate
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
    table = pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high", "n",
                                        "n_classes", "note"])
    table = table.astype({"value": "float64", "ci_low": "float64", "ci_high": "float64",
                          "n": "int64", "n_classes": "int64"})
    table.attrs.update(
        task=problem.task, classes=list(problem.classes), skipped_classes=skipped_names,
        unmapped=list(problem.unmapped), notes=list(problem.notes),
        random_weights=problem.random_weights, n_boot=n_boot, ci=ci, seed=seed,
        threshold=threshold, k=k, roll_up=roll_up,
        counts={"n_clips": int(n), "n_classes": int(c),
                "n_classes_evaluated": int(has_pos.sum()),
                "n_classes_skipped": int((~has_pos).sum()),
                "n_classes_unmapped": int(len(problem.unmapped))},
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
    >>> from asttools.analysis.metrics import per_class_metrics
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
    >>> from asttools.analysis.metrics import aligned_scores
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
    >>> from asttools.analysis.metrics import confusion_matrix
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

