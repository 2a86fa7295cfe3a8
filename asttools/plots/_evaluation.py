"""Figures of evaluation results: AP per class, a confusion matrix, PR curves."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from ..errors import ASTToolsWarning, ParameterError
from ..metrics import pr_curves
from ._util import (
    DEFAULT_WIDTH,
    as_array,
    colors_for,
    legend_outside,
    new_axes,
    require_columns,
    set_title,
    wrap,
)


def plot_per_class_ap(
    per_class: pd.DataFrame,
    *,
    ax=None,
    top: int | None = None,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
):
    """Plot average precision per class as horizontal bars, best first.

    A dashed line marks the mean AP over every class with an AP (not only the ``top``
    shown; only rows whose ``evaluated`` is true when that column exists, as in
    ``per_class_metrics``); classes whose AP is NaN (no positives) are left out.

    Parameters
    ----------
    per_class : DataFrame
        Columns ``label`` and ``ap`` (``asttools.metrics.per_class_metrics``), optionally
        ``evaluated``; other columns are ignored.
    ax : matplotlib Axes, optional
        Where to draw; a new figure (6.3 in wide, 0.22 in per bar) when None.
    top : int, optional
        Show only the ``top`` classes with the highest AP.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    colors : mapping, optional
        Label -> colour; :func:`label_colors` when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ParameterError
        A column is missing, ``top`` is not positive, or no class has an AP.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"label": ["Speech", "Music", "Dog"], "ap": [0.9, 0.7, 0.4]})
    >>> ax = plot_per_class_ap(table, top=2)
    """
    require_columns(per_class, ("label", "ap"), "per_class")
    if top is not None and top < 1:
        raise ParameterError(f"top must be at least 1 or None, given top={top}")
    rows = per_class.dropna(subset=["ap"])
    if rows.empty:
        raise ParameterError("per_class has no class with an AP (all NaN or empty)")
    counted = rows[rows["evaluated"].astype(bool)] if "evaluated" in rows.columns else rows
    mean_ap = float(counted["ap"].mean()) if len(counted) else float("nan")
    rows = rows.sort_values("ap", ascending=False, kind="stable")
    if top is not None:
        rows = rows.head(top)
    labels = [str(x) for x in rows["label"]]
    ap = rows["ap"].to_numpy(dtype=float)
    palette = colors_for(labels, colors)
    ax = new_axes(ax, (DEFAULT_WIDTH, 0.7 + 0.22 * len(labels)))
    y = np.arange(len(labels))
    ax.barh(y, ap, color=[palette[label] for label in labels], height=0.75)
    ax.axvline(mean_ap, color="0.25", linestyle="--", linewidth=1.0, label=f"mAP {mean_ap:.3f}")
    ax.set_yticks(y, [wrap(label) for label in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("Average precision")
    ax.grid(False, axis="y")
    ax.legend(loc="lower right")
    set_title(ax, title, meta)
    return ax


def plot_confusion_matrix(
    matrix,
    labels: Sequence[str] | None = None,
    *,
    normalize: bool = False,
    ax=None,
    title: str | None = None,
    meta: Mapping | None = None,
    cmap: str = "Blues",
    annotate: bool | None = None,
):
    """Plot a confusion matrix as an annotated heatmap (rows true, columns predicted).

    Parameters
    ----------
    matrix : ndarray or DataFrame, shape (n, n)
        Counts, ``matrix[i, j]`` = items of true class i predicted as j (the layout of
        ``sklearn.metrics.confusion_matrix``).
    labels : sequence of str, length n, optional
        Class names; a DataFrame's index when None, else 0..n-1.
    normalize : bool
        Divide each row by its total (rows without items stay 0), showing recall per class
        on the diagonal.
    ax : matplotlib Axes, optional
        Where to draw; a new square-ish figure sized for n when None.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    cmap : str
        Colour map.
    annotate : bool, optional
        Write each cell's value; by default only when n <= 25.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ParameterError
        ``matrix`` is not square or ``labels`` has the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_confusion_matrix(np.array([[5, 1], [2, 7]]), ["Speech", "Music"])
    """

    if labels is None and isinstance(matrix, pd.DataFrame):
        labels = [str(x) for x in matrix.index]
    values = as_array(matrix, "matrix", ndim=2)
    n = values.shape[0]
    if values.shape != (n, n):
        raise ParameterError(f"matrix must be square (n, n), given matrix.shape={values.shape}")
    labels = [str(x) for x in (range(n) if labels is None else labels)]
    if len(labels) != n:
        raise ParameterError(f"labels has {len(labels)} names but matrix is {n} x {n}")
    integer = np.allclose(values, np.round(values))
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals != 0)
        fmt = ".2f"
    else:
        fmt = "d" if integer else ".2f"
        if integer:
            values = np.round(values).astype(int)
    if annotate is None:
        annotate = n <= 25
    size = min(max(2.8, 0.8 + 0.4 * n), 9.0)
    ax = new_axes(ax, (size + 1.0, size))
    sns.heatmap(
        values, annot=annotate, fmt=fmt, cmap=cmap, square=True, ax=ax,
        xticklabels=labels, yticklabels=labels, vmin=0.0, vmax=1.0 if normalize else None,
        cbar_kws={"label": "Fraction of true class" if normalize else "Count"},
        annot_kws={"fontsize": "small"},
    )  # fmt: skip
    if not normalize and integer and ax.collections:

        bar = ax.collections[0].colorbar
        if bar is not None:
            bar.locator = MaxNLocator(integer=True)
            bar.update_ticks()
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.tick_params(axis="x", labelrotation=45)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
        tick.set_rotation_mode("anchor")
    ax.tick_params(axis="y", labelrotation=0)
    set_title(ax, title, meta)
    return ax


_PR_MAX_CLASSES = 10


def plot_pr_curves(
    y_true,
    scores,
    *,
    labels: Sequence[str],
    classes: Sequence[str | int] | None = None,
    ax=None,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
):
    """Plot precision-recall curves per class, with each class's AP in the legend.

    The curves and APs are those of :func:`asttools.metrics.pr_curves` (the AP of
    :func:`asttools.metrics.evaluate`); this helper chooses the classes and draws.

    Parameters
    ----------
    y_true : ndarray, shape (n, c)
        1 where item i has class j, else 0.
    scores : ndarray, shape (n, c)
        Scores or probabilities, same layout.
    labels : sequence of str, length c
        Class names, in column order.
    classes : sequence of str or int, optional
        The classes to draw, by name or column index. When None: every class with a
        positive, at most 10 of them (those with the most positives; a warning says when
        some were left out).
    ax : matplotlib Axes, optional
        Where to draw; a new 4.2 x 3.4 in figure when None.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    colors : mapping, optional
        Label -> colour; :func:`label_colors` when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on; the legend, beside the Axes, lists the classes by AP, best first.

    Raises
    ------
    ParameterError
        Shapes disagree, a class is unknown, or no chosen class has a positive.

    Warns
    -----
    ASTToolsWarning
        Classes without positives were skipped, or the default choice was cut to 10.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random((50, 3)) < 0.3
    >>> ax = plot_pr_curves(y, y + rng.random((50, 3)), labels=["A", "B", "C"])
    """
    y_true = as_array(y_true, "y_true", ndim=2)
    scores = as_array(scores, "scores", ndim=2)
    if y_true.shape != scores.shape:
        raise ParameterError(
            f"y_true and scores must have the same shape, given {y_true.shape} and {scores.shape}"
        )
    c = y_true.shape[1]
    if len(labels) != c:
        raise ParameterError(f"labels has {len(labels)} names but y_true has {c} columns")
    positives = (y_true > 0).sum(axis=0)
    names = [str(x) for x in labels]
    if classes is None:
        columns = [j for j in np.argsort(-positives, kind="stable") if positives[j] > 0]
        if len(columns) > _PR_MAX_CLASSES:
            warnings.warn(
                f"{len(columns)} classes have positives; drawing the {_PR_MAX_CLASSES} with "
                "the most (pass classes= to choose)",
                ASTToolsWarning,
                stacklevel=2,
            )
            columns = columns[:_PR_MAX_CLASSES]
    else:
        columns = []
        for cls in classes:
            if isinstance(cls, (int, np.integer)) and not isinstance(cls, bool):
                if not 0 <= cls < c:
                    raise ParameterError(f"class index {cls} is out of range 0..{c - 1}")
                columns.append(int(cls))
            elif str(cls) in names:
                columns.append(names.index(str(cls)))
            else:
                raise ParameterError(f"class {cls!r} is not one of labels")
        empty = [names[j] for j in columns if positives[j] == 0]
        if empty:
            warnings.warn(
                f"skipping classes with no positives: {empty}", ASTToolsWarning, stacklevel=2
            )
        columns = [j for j in columns if positives[j] > 0]
    if not columns:
        raise ParameterError("no chosen class has a positive in y_true; nothing to draw")
    chosen = [names[j] for j in columns]
    palette = colors_for(chosen, colors)
    ax = new_axes(ax, (4.2, 3.4))
    # labelled by position ("0", "1", ...): classes= may name one class twice
    table = pr_curves(y_true[:, columns] > 0, scores[:, columns])
    curves = []
    for k, name in enumerate(chosen):
        curve = table[table["label"] == str(k)]
        curves.append((float(curve["ap"].iloc[0]), name, curve["recall"].to_numpy(),
                       curve["precision"].to_numpy()))
    for ap, name, recall, precision in sorted(curves, key=lambda c: -c[0]):
        ax.plot(recall, precision, drawstyle="steps-post", color=palette[name],
                label=f"{wrap(name)} (AP {ap:.2f})")  # fmt: skip
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    legend_outside(ax, frameon=False)
    set_title(ax, title, meta)
    return ax

