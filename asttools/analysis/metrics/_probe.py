"""The linear probe: cross-validated logistic regression on frozen embeddings."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ...errors import ASTToolsWarning, ParameterError
from ._align import _absent, _is_result, _join, _keys
from ._kernels import _stable_rank

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


@dataclass(repr=False)
class ProbeResult:
    """What :func:`linear_probe` returns: the folds, their summary and the predictions apart.

    Attributes
    ----------
    folds : DataFrame, one row per fold
        ``fold`` (the fold id as given: the truth table's values, or 1..n_splits for the
        stratified split), ``n_train``, ``n_test`` (int64), ``accuracy``, ``macro_f1``
        (mean F1 over the classes present in the test fold) and, with >= 5 classes,
        ``top5_accuracy`` (float64).
    summary : DataFrame, one row per metric
        ``metric``, ``mean``, ``std`` (across folds, ddof=1; NaN with one fold),
        ``min``, ``max`` (float64) and ``n_folds`` (int64).
    predictions : DataFrame, one row per clip
        Each clip exactly once, predicted by the model that did not train on its fold:
        ``row`` (position in the input), ``path`` (when known), ``fold``, ``label``,
        ``predicted``.
    protocol : str
        How the folds were made.
    classes : list of str
        The classes, sorted.
    """

    folds: pd.DataFrame
    summary: pd.DataFrame
    predictions: pd.DataFrame
    protocol: str
    classes: list[str] = field(default_factory=list)

    @property
    def mean(self) -> pd.Series:
        """The mean over folds of each metric (``summary``'s ``mean`` by ``metric``)."""
        return self.summary.set_index("metric")["mean"]

    def __repr__(self) -> str:
        means = ", ".join(f"{m}={v:.3f}" for m, v in self.mean.items())
        return (f"ProbeResult({len(self.folds)} folds, {len(self.predictions)} clips, "
                f"{len(self.classes)} classes; mean {means}; {self.protocol})")


def _old_order(truth: Any, embeddings: Any) -> bool:
    """True for the old call ``linear_probe(embeddings, labels)``."""
    if isinstance(truth, pd.DataFrame):
        return False
    return _is_result(truth) or np.ndim(truth) == 2


def linear_probe(
    truth: Any,
    embeddings: Any,
    *,
    folds: Iterable | str | None = None,
    n_splits: int = 5,
    C: float = 1.0,
    seed: int = 0,
    standardize: bool = True,
    max_iter: int = 5000,
    multilabel: str = "error",
    return_predictions: None = None,
) -> ProbeResult:
    """Cross-validated logistic-regression probe on frozen embeddings.

    The truth comes first, as in :func:`evaluate`. A scikit-learn ``Pipeline`` of
    ``StandardScaler`` (when ``standardize``) and ``LogisticRegression(C=C,
    max_iter=max_iter)`` (multinomial, L2, lbfgs) is fit on the training folds and scored
    on the held-out fold.

    Parameters
    ----------
    truth : DataFrame, or array-like (n,)
        The tidy truth table (:func:`asttools.datasets.read_ground_truth`; each clip
        must have exactly one label, see ``multilabel``), or one class per clip (strings
        or ints) aligned row by row with ``embeddings``.
    embeddings : EmbeddingResult, or ndarray (n, d)
        Clip embeddings. A result is joined to the truth table on ``path`` after
        aggregating windows with ``.clips()`` (embeddings averaged).
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
    return_predictions : None
        No longer used: the predictions are always in ``result.predictions``.

    Returns
    -------
    ProbeResult
        ``folds`` (one row per fold, ``fold`` keeps the fold ids' type), ``summary`` (one
        row per metric: ``mean``, ``std``, ``min``, ``max``, ``n_folds``),
        ``predictions`` (one row per clip), ``protocol`` and ``classes``; ``.mean`` is
        the mean of each metric as a Series.

    Raises
    ------
    ParameterError
        When called the old way round (embeddings first), shapes disagree, fewer than
        two classes or folds remain, a clip has several labels, or the stratified split
        cannot be made (a class with fewer clips than ``n_splits``).

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.analysis.metrics import linear_probe
    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(0, 1, (20, 4)), rng.normal(5, 1, (20, 4))]
    >>> y = ["a"] * 20 + ["b"] * 20
    >>> probe = linear_probe(y, x)
    >>> probe.folds["fold"].tolist(), float(probe.mean["accuracy"])
    ([1, 2, 3, 4, 5], 1.0)
    """
    if return_predictions is not None:
        raise ParameterError("return_predictions is gone: linear_probe returns a "
                             "ProbeResult whose .predictions always holds them "
                             "(probe = linear_probe(truth, embeddings); probe.predictions)")
    if _old_order(truth, embeddings):
        raise ParameterError(
            "linear_probe takes the truth first, as evaluate does: call "
            "linear_probe(truth, embeddings) (a truth table or one label per clip, then an "
            "EmbeddingResult or an (n, d) array); given "
            f"{type(truth).__name__} then {type(embeddings).__name__}")
    labels = truth
    if multilabel not in MULTILABEL_POLICIES:
        raise ParameterError(f"multilabel={multilabel!r} is not one of {MULTILABEL_POLICIES}")
    truth = labels if isinstance(labels, pd.DataFrame) else None
    paths = None
    if _is_result(embeddings):
        if truth is None:
            raise ParameterError("with an EmbeddingResult, the truth must be the truth "
                                 "table (joined on path)")
        result = embeddings
        if hasattr(result, "clips") and result.table["item"].duplicated().any():
            result = result.clips()
        ti, pi = _join(truth, _keys(result.table), "embeddings", stacklevel=3,
                       without_audio=_absent(getattr(result, "status", None)))
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
            raise ParameterError("the truth is required: one class per clip, or a truth "
                                 "table")
        y = np.asarray(labels)
        if y.ndim != 1:
            raise ParameterError(f"the truth must be a truth table or 1-D (one class per "
                                 f"clip), given shape {y.shape}")
    if len(y) != len(x):
        raise ParameterError(f"embeddings have {len(x)} rows but the truth {len(y)} labels")
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
        try:
            names = sorted(set(fold_ids.tolist()))
        except TypeError:  # mixed types: order by text
            names = sorted(set(fold_ids.tolist()), key=str)
        if len(names) < 2:
            raise ParameterError(f"the probe needs at least two folds, given {names}")
        splits = [(_plain(f), np.flatnonzero(fold_ids != f), np.flatnonzero(fold_ids == f))
                  for f in names]
    else:
        try:
            skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            splits = [(i + 1, tr, te) for i, (tr, te) in enumerate(skf.split(x, yi))]
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
        with threadpool_limits(limits=1):  # small fits: BLAS threads only fight (and, beside
            model.fit(x[train], yi[train])  # torch's OpenMP pool, have been seen to hang)
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
    table = pd.DataFrame(rows).astype({"n_train": "int64", "n_test": "int64"})
    metric_cols = [c for c in table.columns if c not in ("fold", "n_train", "n_test")]
    summary = pd.DataFrame({
        "metric": metric_cols,
        "mean": table[metric_cols].mean().to_numpy(np.float64),
        "std": table[metric_cols].std(ddof=1).to_numpy(np.float64),
        "min": table[metric_cols].min().to_numpy(np.float64),
        "max": table[metric_cols].max().to_numpy(np.float64),
        "n_folds": np.full(len(metric_cols), len(table), dtype=np.int64),
    })
    preds = pd.concat(out_pred, ignore_index=True).sort_values("row").reset_index(drop=True)
    if paths is not None:
        preds.insert(1, "path", [paths[i] for i in preds["row"]])
    class_names = list(map(str, classes))
    for frame in (table, summary, preds):
        frame.attrs.update(protocol=protocol, classes=class_names, C=C,
                           standardize=standardize, n_clips=len(x))
    return ProbeResult(table, summary, preds, protocol, class_names)


def _plain(value: Any) -> Any:
    """A fold id as a plain Python value (numpy scalars unwrapped)."""
    return value.item() if isinstance(value, np.generic) else value
