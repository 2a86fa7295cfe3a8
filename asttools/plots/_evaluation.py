"""Figures of evaluation results: AP per class, a confusion matrix, PR curves."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from ..errors import ASTToolsWarning, ParameterError
from ..analysis.metrics import pr_curves
from ._check import MIN_FONT_PT
from ._check_reader import contrast_ratio
from ._theme import FIGURE_HEIGHT_MAX, FIGURE_WIDTHS, random_weights_title
from ._util import (
    DEFAULT_WIDTH,
    MAX_HEIGHT,
    as_array,
    colors_for,
    first_cycle_color,
    fit_name,
    label_looks,
    legend_below,
    legend_columns,
    legend_outside,
    new_axes,
    require_columns,
    set_title,
    short_name,
    wrap,
    wrap_title,
)

PER_CLASS_MAX_ROWS = 40
"""The most classes :func:`plot_per_class_ap` lists one by one; beyond, the best
``PER_CLASS_MAX_ROWS - 1`` and one "rest" row."""

MIN_RELIABLE_POSITIVES = 3
"""Fewer positive clips than this and a class's AP is drawn hollow: it is mostly noise."""


def plot_per_class_ap(
    per_class: pd.DataFrame,
    *,
    ax=None,
    top: int | None = None,
    title: str | None = None,
    meta: Mapping | None = None,
    color=None,
    colors: Mapping | None = None,
):
    """Plot average precision per class as dots with intervals, best first.

    One dot per class at its AP; a line over its confidence interval when the table has
    ``ci_low`` and ``ci_high`` (or ``ap_ci_low`` and ``ap_ci_high``) columns; a grey tick
    at its prevalence (positives / clips: the AP of a guess) when it has ``n_positives``
    and ``n_negatives``. A class with fewer than :data:`MIN_RELIABLE_POSITIVES` positives
    is drawn hollow (its AP rests on one or two clips), and the number of positives of each
    class stands in a column on the right. A dashed line marks the mean AP over every class
    with an AP (not only those shown; only rows whose ``evaluated`` is true when that
    column exists, as in ``per_class_metrics``); classes whose AP is NaN are left out.
    Beyond :data:`PER_CLASS_MAX_ROWS` classes, the best are listed and the others summed
    up in one "rest" row (their mean AP, a line over their range). Names
    shared by two classes are numbered, so no two rows read alike.

    Parameters
    ----------
    per_class : DataFrame
        Columns ``label`` and ``ap`` (``asttools.analysis.metrics.per_class_metrics``), optionally
        ``evaluated``, ``n_positives``, ``n_negatives``, ``ci_low``/``ci_high``; other
        columns are ignored.
    ax : matplotlib Axes, optional
        Where to draw; a new figure (6.3 in wide, 0.17 in per row, at most the page's
        text block) when None.
    top : int, optional
        List only the ``top`` classes with the highest AP (the mAP line still averages
        every class).
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    color : matplotlib colour, optional
        The dots' colour; the first colour of the cycle when None.
    colors : mapping, optional
        Label -> colour, to colour the dots by something meaningful (e.g. the class's
        AudioSet branch); overrides ``color``.

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
    keep = min(top or len(rows), len(rows), PER_CLASS_MAX_ROWS)
    if keep < len(rows) and top is None:
        keep -= 1  # room for the "rest" row
    rest = rows.iloc[keep:] if top is None else rows.iloc[:0]  # top=: those rows alone
    rows = rows.iloc[:keep]
    labels = _distinct([str(x) for x in rows["label"]])
    ap = rows["ap"].to_numpy(dtype=float)
    base = color if color is not None else first_cycle_color()
    palette = colors_for(labels, colors) if colors is not None else dict.fromkeys(labels, base)
    n_rows = len(labels) + (1 if len(rest) else 0)
    ax = new_axes(ax, (DEFAULT_WIDTH, min(1.6 + 0.17 * n_rows, MAX_HEIGHT)))
    y = np.arange(len(labels))
    ci = next(((lo, hi) for lo, hi in (("ci_low", "ci_high"), ("ap_ci_low", "ap_ci_high"))
               if lo in rows.columns and hi in rows.columns), None)
    if ci is not None:
        lows, highs = rows[ci[0]].to_numpy(dtype=float), rows[ci[1]].to_numpy(dtype=float)
        ax.hlines(y, lows, highs, color="0.55", linewidth=1.0, zorder=2)
        ax.plot([], [], color="0.55", linewidth=1.0, label="confidence interval")
    if {"n_positives", "n_negatives"} <= set(rows.columns):
        prevalence = rows["n_positives"].to_numpy(dtype=float) / (
            rows["n_positives"].to_numpy(dtype=float) + rows["n_negatives"].to_numpy(dtype=float))
        ax.plot(prevalence, y, linestyle="none", marker="|", markersize=7, color="0.35",
                zorder=2, label="prevalence (chance)")
    few = (rows["n_positives"].to_numpy() < MIN_RELIABLE_POSITIVES
           if "n_positives" in rows.columns else np.zeros(len(rows), dtype=bool))
    dot_colors = [palette[label] for label in labels]
    for hollow in (False, True):
        mask = few == hollow
        if not mask.any():
            continue
        ax.scatter(ap[mask], y[mask], s=22, zorder=3,
                   facecolors="white" if hollow else [c for c, m in zip(dot_colors, mask,
                                                                         strict=True) if m],
                   edgecolors=[c for c, m in zip(dot_colors, mask, strict=True) if m],
                   linewidths=1.2,
                   label=f"fewer than {MIN_RELIABLE_POSITIVES} positives" if hollow else "_ap")
    ticks = list(labels)
    if len(rest):
        r = rest["ap"].to_numpy(dtype=float)
        ax.hlines(len(labels), r.min(), r.max(), color="0.55", linewidth=1.0, zorder=2)
        ax.plot([r.mean()], [len(labels)], marker="D", markersize=4.5, color="0.35",
                linestyle="none", zorder=3, label="_rest")
        ticks.append(f"the other {len(rest)} classes (mean, range)")
    ax.axvline(mean_ap, color="0.25", linestyle="--", linewidth=1.0, label=f"mAP {mean_ap:.3f}",
               zorder=1)
    handles, names = ax.get_legend_handles_labels()  # mAP first
    order = sorted(range(len(names)), key=lambda i: not names[i].startswith("mAP"))
    ax.set_yticks(np.arange(len(ticks)), ticks, fontsize="x-small" if n_rows > 12 else None)
    ax.set_ylim(len(ticks) - 0.5, -0.5)
    ax.set_xlim(-0.02, 1.02)  # a dot at 0 or 1 whole
    ax.set_xlabel("Average precision")
    ax.grid(False, axis="y")
    if "n_positives" in rows.columns:  # the positives, a column on the right
        right = ax.secondary_yaxis("right")
        right.set_yticks(y, [str(int(n)) for n in rows["n_positives"]],
                         fontsize="x-small" if n_rows > 12 else None)
        right.tick_params(length=0)
        right.set_ylabel("positive clips")
    legend_below(ax, handles=[handles[i] for i in order], labels=[names[i] for i in order],
                 ncol=legend_columns(names, 0.8 * ax.figure.get_figwidth()), frameon=False,
                 fontsize="x-small")
    set_title(ax, title, meta)
    return ax


def _distinct(names: list[str]) -> list[str]:
    """Names, a repeated one numbered ("Siren", "Siren (2)"): no two rows read alike."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _layer_name(layer) -> str:
    """ "layer 6", "last layer" for -1, "" when unknown."""
    if layer is None or isinstance(layer, bool):
        return ""
    return "last layer" if layer == -1 else f"layer {layer}"


CONFUSION_MAX_CLASSES = 40
"""The most classes :func:`plot_confusion_matrix` draws: beyond, those most often confused."""

NORMALIZE_CHOICES = (False, None, "true", "pred", "all")
"""Values of :func:`plot_confusion_matrix`'s ``normalize`` (True means "true")."""

_NORMALIZE_LABELS = {None: "Count", "true": "Fraction of true class",
                     "pred": "Fraction of predicted class", "all": "Fraction of all items"}


def plot_confusion_matrix(
    matrix,
    labels: Sequence[str] | None = None,
    *,
    normalize: bool | str | None = "true",
    ax=None,
    title: str | None = None,
    meta: Mapping | None = None,
    cmap: str = "Blues",
    annotate: bool | None = None,
):
    """Plot a confusion matrix as an annotated heatmap (rows true, columns predicted).

    Row-normalised by default (each row sums to 1: the diagonal is each class's recall).
    With counts (integers), the x label gives the accuracy and the three most confused
    pairs (true -> predicted, count). Zeros are left blank; each value is written in black
    or white, whichever stands out on its cell. Beyond 12 classes names are shortened
    (:func:`asttools.labels.short_label`) and set smaller; the figure stays within the
    page's text width and height.

    The title names the embeddings' pooling and layer when ``meta`` holds them
    (``result.meta``), e.g. "probe (cls pooling, layer 12)".

    Parameters
    ----------
    matrix : ndarray or DataFrame, shape (n, n)
        Counts, ``matrix[i, j]`` = items of true class i predicted as j (the layout of
        ``sklearn.metrics.confusion_matrix``).
    labels : sequence of str, length n, optional
        Class names; a DataFrame's index when None, else 0..n-1.
    normalize : {"true", False, None, True, "pred", "all"}
        Default ``"true"``. As scikit-learn's ``confusion_matrix``: ``"true"`` (or True)
        divides each row by its total, showing recall per class on the diagonal; ``"pred"``
        each column (precision on the diagonal); ``"all"`` the whole matrix; False or None
        draws counts. Rows or columns without items stay 0.
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
    raw_labels = list(labels)
    if len(labels) != n:
        raise ParameterError(f"labels has {len(labels)} names but matrix is {n} x {n}")
    if normalize is True:
        normalize = "true"
    if normalize not in NORMALIZE_CHOICES:
        raise ParameterError(
            f"normalize must be one of {NORMALIZE_CHOICES}, given normalize={normalize!r}"
        )
    integer = np.allclose(values, np.round(values))
    counts = values.copy()
    total = float(counts.sum())
    accuracy = np.trace(counts) / total if total > 0 else float("nan")
    if normalize:
        totals = {"true": values.sum(axis=1, keepdims=True),
                  "pred": values.sum(axis=0, keepdims=True),
                  "all": np.full((1, 1), values.sum())}[normalize]  # fmt: skip
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals != 0)
        fmt = ".2f"
    else:
        fmt = "d" if integer else ".2f"
        if integer:
            values = np.round(values).astype(int)
    dropped = 0
    if n > CONFUSION_MAX_CLASSES:  # the classes most often confused, in their order
        off = counts.copy()
        np.fill_diagonal(off, 0)
        errors = off.sum(axis=0) + off.sum(axis=1)
        keep = np.sort(np.argsort(-errors, kind="stable")[:CONFUSION_MAX_CLASSES])
        dropped = n - len(keep)
        values, counts = values[np.ix_(keep, keep)], counts[np.ix_(keep, keep)]
        labels = [labels[i] for i in keep]
        raw_labels = [raw_labels[i] for i in keep]
        n = len(keep)
    if annotate is None:
        annotate = n <= 10
    many = n > 8
    crowded = n > 24
    labels = [fit_name(label, 16 if crowded else 20) if many else wrap(label)
              for label in labels]
    longest = max(len(line) for label in labels for line in label.split("\n"))
    tick_size = MIN_FONT_PT if crowded else "x-small" if many else None
    size_pt = FontProperties(size=tick_size or mpl.rcParams["ytick.labelsize"])
    size_pt = size_pt.get_size_in_points()
    char = 0.6 * size_pt / 72
    lines = max(label.count("\n") + 1 for label in labels)
    per_cell = max(0.42, 2.2 * lines * char * 1.2 / 0.6) if not many else size_pt * 1.35 / 72
    names = 0.3 + char * longest  # inches a tick label takes
    cells = min(max(2.0, per_cell * n), DEFAULT_WIDTH - names - 1.0,
                MAX_HEIGHT - names - 1.9)
    ax = new_axes(ax, (DEFAULT_WIDTH, min(cells + names + 1.9, MAX_HEIGHT)))
    cmap_obj = mpl.colormaps[cmap]
    vmax = 1.0 if normalize else max(float(values.max()), 1.0)
    sns.heatmap(
        values, annot=False, cmap=cmap_obj, square=True, ax=ax,
        xticklabels=labels, yticklabels=labels, vmin=0.0, vmax=vmax,
        cbar_kws={"label": _NORMALIZE_LABELS[normalize or None], "shrink": 0.8},
    )  # fmt: skip
    if annotate:  # zeros left blank; text black or white, whichever stands out on its cell
        for i in range(n):
            for j in range(n):
                if values[i, j] == 0:
                    continue
                cell = cmap_obj(float(values[i, j]) / vmax)
                ink = max(("0.1", "white"), key=lambda c: contrast_ratio(c, cell))
                text = format(values[i, j], fmt)
                ax.text(j + 0.5, i + 0.5, text,
                        ha="center", va="center", color=ink, fontsize="x-small")
    if many:
        ax.tick_params(labelsize=tick_size)
    if not normalize and integer and ax.collections:
        bar = ax.collections[0].colorbar
        if bar is not None:
            bar.locator = MaxNLocator(integer=True)
            bar.update_ticks()
    xlabel = "Predicted"
    if integer and total > 0:  # counts: accuracy and the most confused pairs
        xlabel += f"\naccuracy {accuracy:.2f} ({int(total)} items)"
        off = counts.copy()
        np.fill_diagonal(off, 0)
        pairs = [(off[i, j], i, j) for i, j in zip(*np.nonzero(off), strict=True)]
        pairs = sorted(pairs, key=lambda p: -p[0])[:3]
        if pairs:
            short = [fit_name(x, 20) for x in raw_labels]
            xlabel += "; most confused: " + ", ".join(
                f"{short[i]} \u2192 {short[j]} ({int(c)})" for c, i, j in pairs)
    if dropped:
        xlabel += f"; {n} most confused of {n + dropped} classes shown"
    ax.set_xlabel(wrap_title(ax, xlabel, share=0.75))
    ax.set_ylabel("True")
    ax.tick_params(axis="x", labelrotation=90 if crowded else 45)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("center" if crowded else "right")
        tick.set_rotation_mode("default" if crowded else "anchor")
    ax.tick_params(axis="y", labelrotation=0)
    provenance = [f"{meta['pooling']} pooling" if (meta or {}).get("pooling") else "",
                  _layer_name((meta or {}).get("layer"))]
    provenance = ", ".join(p for p in provenance if p)
    if provenance:
        title = f"{title}\n({provenance})" if title else provenance.capitalize()
    set_title(ax, title, meta)
    return ax


_PR_MAX_CLASSES = 10


def _choose(y_true, scores, labels, classes, max_classes):
    """The columns to draw, the names, the positives per column and how many have any."""
    if y_true.shape != scores.shape:
        raise ParameterError(
            f"y_true and scores must have the same shape, given {y_true.shape} and {scores.shape}"
        )
    c = y_true.shape[1]
    if len(labels) != c:
        raise ParameterError(f"labels has {len(labels)} names but y_true has {c} columns")
    positives = (y_true > 0).sum(axis=0)
    names = [str(x) for x in labels]
    n_with = int((positives > 0).sum())
    if classes is None:
        columns = [j for j in np.argsort(-positives, kind="stable") if positives[j] > 0]
        if len(columns) > max_classes:
            warnings.warn(
                f"{len(columns)} classes have positives; drawing the {max_classes} with "
                "the most (pass classes= to choose)",
                ASTToolsWarning,
                stacklevel=3,
            )
            columns = columns[:max_classes]
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
                f"skipping classes with no positives: {empty}", ASTToolsWarning, stacklevel=3
            )
        columns = [j for j in columns if positives[j] > 0]
    if not columns:
        raise ParameterError("no chosen class has a positive in y_true; nothing to draw")
    return columns, names, positives, n_with


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
    """Plot precision-recall curves per class, each class's AP and positives in the legend.

    A dotted line in each class's colour marks its prevalence (positives / clips): the
    precision, and the AP, of a classifier that guesses.

    The curves and APs are those of :func:`asttools.analysis.metrics.pr_curves` (the AP of
    :func:`asttools.analysis.metrics.evaluate`); this helper chooses the classes and draws.

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
        Where to draw; a new 6.3 x 3.4 in figure when None.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    colors : mapping, optional
        Label -> colour; :func:`figure_colors` (distinct within the figure) when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on; the legend, beside the Axes, lists the classes by AP, best first,
        with their positive clips, then the prevalence line.

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
    columns, names, positives, _ = _choose(y_true, scores, labels, classes, _PR_MAX_CLASSES)
    chosen = [names[j] for j in columns]
    looks = label_looks(chosen, colors, lines=True)
    ax = new_axes(ax, (DEFAULT_WIDTH, 3.4))
    n_clips = y_true.shape[0]
    narrow = ax.figure.get_figwidth() < 4.5  # one-line names: the legend fits under the Axes
    for ap, name, recall, precision in _curves(y_true, scores, columns, chosen):
        color, _, linestyle = looks[name]
        n_pos = int(positives[names.index(name)])
        ax.plot(recall, precision, drawstyle="steps-post", color=color, linestyle=linestyle,
                label=f"{fit_name(name) if narrow else name} (AP {ap:.2f}, {n_pos} pos.)",
                gid=name)  # fmt: skip
        # chance, a short mark on the right edge: ten full lines would bury the curves
        ax.plot([1.0], [n_pos / n_clips], marker=(2, 0, 90), markersize=9, color=color,
                clip_on=False, linestyle="none", label="_prevalence")  # fmt: skip
    ax.plot([], [], color="0.35", marker=(2, 0, 90), markersize=9, linestyle="none",
            label=f"Prevalence (chance), {n_clips} clips")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    entries = len(chosen) + 1
    below = entries > 4 or ax.figure.get_figwidth() < 4.5  # beside, it squeezes the Axes
    ncol = legend_columns([f"{fit_name(n) if narrow else n} (AP 0.00, 00 pos.)"
                           for n in chosen],
                          ax.figure.get_figwidth()) if below else 1
    if below:  # in columns under the Axes
        legend_below(ax, ncol=ncol, frameon=False, fontsize="x-small")
    else:
        legend_outside(ax, frameon=False)
    set_title(ax, title, meta)
    return ax


def _curves(y_true, scores, columns, chosen):
    """(AP, name, recall, precision) of each chosen class, best AP first."""
    # labelled by position ("0", "1", ...): classes= may name one class twice
    table = pr_curves(y_true[:, columns] > 0, scores[:, columns])
    curves = []
    for k, name in enumerate(chosen):
        curve = table[table["label"] == str(k)]
        curves.append((float(curve["ap"].iloc[0]), name, curve["recall"].to_numpy(),
                       curve["precision"].to_numpy()))
    return sorted(curves, key=lambda c: -c[0])


def plot_pr_grid(
    y_true,
    scores,
    *,
    labels: Sequence[str],
    classes: Sequence[str | int] | None = None,
    max_classes: int = 12,
    ncols: int = 4,
    width: float | str = DEFAULT_WIDTH,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
):
    """Precision-recall curves as small multiples: one panel per class, best AP first.

    Where :func:`plot_pr_curves` piles ten curves into one Axes, this gives each class a
    panel of its own: its curve in its colour (:func:`label_colors`), its prevalence (the
    precision and AP of a guess) as a dashed grey line, its AP and positives in the panel's
    title. Classes are those with the most positives, as in :func:`plot_pr_curves`.

    Parameters
    ----------
    y_true, scores, labels, classes, meta, colors
        As in :func:`plot_pr_curves`.
    max_classes : int
        With ``classes=None``, the most classes drawn (those with the most positives; the
        figure's title says how many of how many).
    ncols : int
        Panels per row.
    width : float or {"full", "half", "column", "double"}
        Figure width in inches (or a named width); panels are square-ish and the figure
        as tall as its rows, at most the tallest page figure.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its Axes are ``fig.axes``, one per class.

    Raises
    ------
    ParameterError
        As :func:`plot_pr_curves`, or ``max_classes``/``ncols`` below 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random((60, 6)) < 0.3
    >>> fig = plot_pr_grid(y, y + rng.random((60, 6)), labels=list("ABCDEF"))
    >>> len(fig.axes)
    6
    """
    if max_classes < 1 or ncols < 1:
        raise ParameterError(f"max_classes and ncols must be at least 1, given {max_classes}, "
                             f"{ncols}")
    width = FIGURE_WIDTHS[width] if isinstance(width, str) and width in FIGURE_WIDTHS else width
    if not isinstance(width, (int, float)) or width <= 0:
        raise ParameterError(f"width must be inches or one of {tuple(FIGURE_WIDTHS)}, "
                             f"given width={width!r}")
    y_true = as_array(y_true, "y_true", ndim=2)
    scores = as_array(scores, "scores", ndim=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        columns, names, positives, n_with = _choose(y_true, scores, labels, classes,
                                                    max_classes)
    chosen = [names[j] for j in columns]
    looks = label_looks(chosen, colors, lines=True)
    ncols = min(ncols, len(chosen))
    nrows = -(-len(chosen) // ncols)
    panel = float(width) / ncols
    height = min(0.6 + nrows * (panel * 0.8 + 0.35), FIGURE_HEIGHT_MAX)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained",
                             sharex=True, sharey=True, squeeze=False)
    n_clips = y_true.shape[0]
    for ax, (ap, name, recall, precision) in zip(axes.flat,
                                                  _curves(y_true, scores, columns, chosen),
                                                  strict=False):
        color, _, _ = looks[name]
        n_pos = int(positives[names.index(name)])
        ax.axhline(n_pos / n_clips, color="0.45", linestyle="--", linewidth=0.8)
        ax.plot(recall, precision, drawstyle="steps-post", color=color, linewidth=1.4,
                gid=name)
        ax.set_title(f"{short_name(name, panel)}\nAP {ap:.2f}, {n_pos} pos.",
                     fontsize="x-small")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.02)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
    for ax in axes.flat[len(chosen):]:
        ax.remove()  # fig.axes: one per class
    fig.supxlabel("Recall", fontsize="small")
    fig.supylabel("Precision", fontsize="small")
    heading = title or ""
    if classes is None and n_with > len(chosen):
        heading = f"{heading} ({len(chosen)} of {n_with} classes, most positives)".strip()
    note = f"dashed: prevalence (chance), {n_clips} clips"
    heading = f"{heading}\n{note}" if heading else note
    fig.suptitle(random_weights_title(heading, random_weights=bool(
        (meta or {}).get("random_weights"))), fontsize="small")
    return fig


_METRIC_NAMES = {
    "mAP": "mAP", "mAUC": "mean ROC AUC", "map": "mAP", "auc": "ROC AUC", "ap": "AP",
    "dprime": "d\u2032", "dprime_ast": "d\u2032 (AST)", "f1": "F1", "accuracy": "Accuracy",
    "top1": "Top-1 accuracy", "top5": "Top-5 accuracy", "n_classes_evaluated":
    "Classes evaluated", "n_classes_skipped": "Classes skipped", "n_classes_unmapped":
    "Classes unmapped",
}  # fmt: skip


def metric_name(metric: str) -> str:
    """A metric as a reader names it: ``"precision_macro"`` -> ``"Precision (macro)"``,
    ``"mAUC"`` -> ``"mean ROC AUC"``, ``"f1_micro"`` -> ``"F1 (micro)"``."""
    metric = str(metric)
    if metric in _METRIC_NAMES:
        return _METRIC_NAMES[metric]
    head, _, tail = metric.rpartition("_")
    if head and tail in ("macro", "micro", "weighted", "samples"):
        return f"{metric_name(head)} ({tail})"
    words = metric.replace("_", " ")
    return _METRIC_NAMES.get(metric.lower(), words[:1].upper() + words[1:])


_COUNT_METRICS = ("n_classes_evaluated", "n_classes_skipped", "n_classes_unmapped")


def plot_metrics(
    tables,
    *,
    metrics: Sequence[str] | None = None,
    ax=None,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
):
    """Plot :func:`asttools.analysis.metrics.evaluate`'s metrics with their confidence intervals.

    A forest plot: one row per metric, a point at its value and a line over its bootstrap
    interval (``ci_low`` to ``ci_high``); several tables (models, layers, poolings) are drawn
    side by side within each row, one colour and marker each, named in the legend with
    their number of clips.

    Parameters
    ----------
    tables : DataFrame, or mapping of str to DataFrame
        One output of ``evaluate`` (columns ``metric``, ``value``, ``ci_low``, ``ci_high``,
        ``n``), or ``{name: table}`` for several, drawn in the mapping's order.
    metrics : sequence of str, optional
        The metrics to draw, top to bottom. Default: every metric of the first table except
        the class counts and the d' rows (d' is not on the 0-1 scale of the others).
    ax : matplotlib Axes, optional
        Where to draw; a new figure 6.3 in wide, 0.3 in per metric and table, when None.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance (``result.meta``): with ``random_weights`` true, or when a table's
        ``attrs`` say so, the title says "(random weights)".
    colors : mapping, optional
        Table name -> colour; :func:`figure_colors` when None.

    Returns
    -------
    matplotlib.axes.Axes
        x is the metric's value; a table without intervals (``n_boot=0``) shows points only.

    Raises
    ------
    ParameterError
        A table lacks a column, ``tables`` is empty, or a metric is in no table.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"metric": ["mAP", "mAUC"], "value": [0.41, 0.83],
    ...                       "ci_low": [0.35, 0.80], "ci_high": [0.47, 0.86], "n": 200})
    >>> ax = plot_metrics({"layer 12": table, "layer 6": table.assign(value=[0.3, 0.7])})
    """
    if isinstance(tables, pd.DataFrame):
        tables = {"": tables}
    tables = dict(tables)
    if not tables:
        raise ParameterError("tables is empty: pass evaluate()'s table or {name: table}")
    for name, table in tables.items():
        require_columns(table, ("metric", "value", "ci_low", "ci_high"),
                        f"tables[{name!r}]" if name else "table")
    if metrics is None:
        first = next(iter(tables.values()))
        metrics = [m for m in dict.fromkeys(map(str, first["metric"]))
                   if m not in _COUNT_METRICS and not m.startswith("dprime")]
    metrics = [str(m) for m in metrics]
    known = {str(m) for table in tables.values() for m in table["metric"]}
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise ParameterError(f"metrics {unknown} are in no table; they have {sorted(known)}")
    names = list(tables)
    palette = colors_for(names, colors) if len(names) > 1 or names[0] else {"": "0.2"}
    markers = ("o", "s", "D", "^", "v", "P", "X")
    k = len(names)
    ax = new_axes(ax, (DEFAULT_WIDTH, 0.7 + max(0.22, 0.12 * k) * len(metrics) + 0.1 * k))
    step = 0.7 / k
    drawn: list[float] = []
    for t, name in enumerate(names):
        rows = tables[name].assign(metric=tables[name]["metric"].astype(str)).set_index("metric")
        offset = (t - (k - 1) / 2) * step
        ys, xs, lows, highs = [], [], [], []
        for i, metric in enumerate(metrics):
            if metric not in rows.index:
                continue
            row = rows.loc[metric]
            ys.append(i + offset)
            xs.append(float(row["value"]))
            lows.append(float(row["ci_low"]))
            highs.append(float(row["ci_high"]))
        drawn += xs + lows + highs
        xs, lows, highs = np.array(xs), np.array(lows), np.array(highs)
        has_ci = np.isfinite(lows) & np.isfinite(highs)
        ax.hlines(np.array(ys)[has_ci], lows[has_ci], highs[has_ci], color=palette[name],
                  linewidth=1.4)  # fmt: skip
        n = tables[name]["n"].iloc[0] if "n" in tables[name].columns and len(tables[name]) else None
        label = name + (f" (n = {int(n)})" if n is not None and name else "")
        ax.plot(xs, ys, linestyle="none", marker=markers[t % len(markers)], markersize=5,
                color=palette[name], markeredgecolor="white", markeredgewidth=0.5,
                label=label or "_single")  # fmt: skip
    ax.set_yticks(np.arange(len(metrics)), [metric_name(m) for m in metrics])
    ax.set_ylim(len(metrics) - 0.5, -0.5)
    ax.grid(False, axis="y")
    values = np.array(drawn)
    if np.nanmin(values) >= 0 and np.nanmax(values) <= 1:
        ax.set_xlim(0.0, 1.0)
    ci = next((t.attrs.get("ci") for t in tables.values() if t.attrs.get("ci")), None)
    ax.set_xlabel("Value" + (f" ({ci:.0%} bootstrap interval)" if ci else
                             " (line: confidence interval)"))
    if len(names) > 1 or names[0]:
        legend_outside(ax, frameon=False)
    random = bool((meta or {}).get("random_weights")) or any(
        t.attrs.get("random_weights") for t in tables.values())
    set_title(ax, title, {"random_weights": random})
    return ax
