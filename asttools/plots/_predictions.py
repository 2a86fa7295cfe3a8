"""Figures of label predictions: one clip's top-k labels, labels along a long clip."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.font_manager import FontProperties

from ..errors import ASTToolsWarning, ParameterError
from ._check_reader import contrast_ratio
from ._theme import random_weights_title
from ._util import (
    DEFAULT_WIDTH,
    MAX_HEIGHT,
    as_array,
    colors_for,
    fit_name,
    is_bottom,
    label_looks,
    legend_outside,
    new_axes,
    require_columns,
    set_title,
    wrap,
    wrap_title,
)

TIMELINE_KINDS = ("lines", "heatmap")
"""Kinds :func:`plot_label_timeline` draws."""


def plot_top_k(
    table: pd.DataFrame, *, ax=None, title: str | None = None, colors: Mapping | None = None,
    meta: Mapping | None = None, truth: Iterable[str] | None = None,
    compact: bool | None = None, hatches: Mapping | None = None,
):
    """Plot one clip's top-k labels as horizontal bars, the most probable on top.

    Each bar takes its label's colour (:func:`label_colors`; a hatch for a second label of
    one colour). Without ``title`` the clip's file name (``path`` column) is the title. In a
    grid of panels only the bottom row carries the x label.

    Parameters
    ----------
    table : DataFrame
        Columns ``label`` and ``probability``, one row per label: the output of
        ``asttools.top_k`` for one item (``top[top["item"] == 0]``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure (6.3 in wide, 0.3 in per bar) when None.
    title : str, optional
        Axes title; the file name of the table's ``path`` when None.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    colors : mapping, optional
        Label -> colour; :func:`label_colors` when None.
    truth : iterable of str, optional
        The clip's ground-truth labels: their bars are outlined and their names marked
        with a check mark; true labels outside the top k are named under the x axis.
    compact : bool, optional
        One-line names (cut at the first comma, an ellipsis past 24 characters) and
        0.17 in rows; by default beyond 12 rows. At most 40 bars are drawn (a page).
    hatches : mapping, optional
        Label -> hatch number (0: none), to keep one look per label across panels; by
        default the second bar of a colour takes hatch 1, the third hatch 2, ...

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on; x is the probability, 0 to 1, each bar labelled with its value.

    Raises
    ------
    ParameterError
        A column is missing, the table is empty, or it holds several items or windows
        (a label repeats).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"label": ["Speech", "Music"], "probability": [0.9, 0.2]})
    >>> ax = plot_top_k(table, title="clip.wav")
    """
    require_columns(table, ("label", "probability"), "table")
    if "item" in table.columns and table["item"].nunique() > 1:
        raise ParameterError(
            f"table holds {table['item'].nunique()} items; plot one at a time, "
            "e.g. table[table['item'] == 0]"
        )
    if table.empty:
        raise ParameterError("table is empty: there are no labels to plot")
    if table["label"].duplicated().any():
        raise ParameterError(
            "table repeats labels; plot one item and one window at a time (e.g. "
            "table[table['window'] == 0]), or the clip-level top_k of result.clips()"
        )
    rows = table.sort_values("probability", ascending=False, kind="stable")
    hidden = max(0, len(rows) - TOP_K_MAX_ROWS)
    rows = rows.head(TOP_K_MAX_ROWS)  # a page holds this many
    labels = [str(x) for x in rows["label"]]
    probs = rows["probability"].to_numpy(dtype=float)
    looks = label_looks(labels, colors)
    many = compact if compact is not None else len(labels) > _FEW_ROWS
    true = [str(x) for x in truth] if truth is not None else []
    ax = new_axes(ax, (DEFAULT_WIDTH, 0.75 + (0.3 if truth is not None else 0.0)
                       + _bars_height(labels, compact=compact)))
    y = np.arange(len(labels))
    bars = ax.barh(y, probs, color=[looks[label][0] for label in labels], height=0.7)
    repeats: dict[str, int] = {}
    for bar, label in zip(bars, labels, strict=True):
        bar.set_gid(label)  # the label it stands for, for tests and tools reading the figure
        if hatches is not None:
            style = int(hatches.get(label, 0))
        else:
            style = repeats.get(looks[label][0], 0)  # the n-th bar of this colour here
            repeats[looks[label][0]] = style + 1
        if style:  # a second label of this colour: hatched
            bar.set_hatch(HATCHES[style % len(HATCHES)])
            rgb = np.asarray(to_rgb(looks[label][0]))
            bar.set_edgecolor(0.55 * rgb + 0.45)  # lighter than the bar, sparse: text reads
        if label in true:
            bar.set_edgecolor("black")
            bar.set_linewidth(1.2)
    for yi, p, label in zip(y, probs, labels, strict=True):
        inside = p > 0.85
        # on the bar: black or white, whichever stands out on the bar's colour
        ink = max(("0.1", "white"), key=lambda c: contrast_ratio(c, looks[label][0]))
        ax.text(
            p - 0.01 if inside else p + 0.01,
            yi,
            f"{p:.2f}",
            va="center",
            ha="right" if inside else "left",
            color=ink if inside else "0.2",
            fontsize="x-small" if many else "small",
        )
    ticks = [("\u2713 " if label in true else "") + (fit_name(label) if many else wrap(label))
             for label in labels]
    ax.set_yticks(y, ticks, fontsize="x-small" if many else None)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    missed = [label for label in dict.fromkeys(true) if label not in labels]
    if is_bottom(ax) or truth is not None:
        xlabel = "Probability" if is_bottom(ax) else ""
        if truth is not None:
            marked = any(label in true for label in labels)  # a check mark to explain
            parts = (["\u2713 ground truth"] if marked else []) + (
                [f"{'also true' if marked else 'true'}: {', '.join(missed)}"] if missed else [])
            note = "; ".join(parts) or "no true label given"
            if hidden:
                note += f"; {hidden} more labels not shown"
            xlabel = f"{xlabel}\n{note}" if xlabel else note
        ax.set_xlabel(wrap_title(ax, xlabel))  # a long "also true" list wraps
    if hidden and truth is None and is_bottom(ax):
        ax.set_xlabel(f"Probability ({hidden} more labels not shown)")
    ax.grid(False, axis="y")
    if title is None and "path" in table.columns and table["path"].nunique() == 1:
        title = Path(str(table["path"].iloc[0])).name
    set_title(ax, title, meta)
    return ax


TOP_K_MAX_ROWS = 40
"""The most bars :func:`plot_top_k` draws (a page holds 40 rows); the x label says how many
more the table had."""

_FEW_ROWS = 12
"""Up to this many rows, names wrap onto lines; beyond, they are shortened to one line."""


def _bars_height(labels: Sequence[str], *, compact: bool | None = None) -> float:
    """Inches the bars of ``labels`` need: a wrapped name takes a line of text per line; at
    least half an inch, so one bar is not a sliver."""
    if compact or (compact is None and len(labels) > _FEW_ROWS):
        return 0.17 * len(labels)
    line_in = 1.3 * FontProperties(size=mpl.rcParams["ytick.labelsize"]).get_size_in_points() / 72
    return max(0.6, sum(max(0.3, (wrap(label).count("\n") + 1) * line_in + 0.08)
                        for label in labels))


def plot_top_k_grid(
    table: pd.DataFrame,
    *,
    truth: pd.DataFrame | None = None,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
):
    """Several clips' top-k labels, one panel each, stacked, each panel as tall as its names.

    Every label has its own colour (:func:`label_colors`, the same in every figure; two
    labels of one colour in a panel are told apart by a hatch, and by their names), each panel
    is titled by its file name, only the bottom panel names the axis, and a panel whose
    class names wrap onto several lines gets the height they need.

    Parameters
    ----------
    table : DataFrame
        :func:`asttools.top_k` rows of the clips to show (``item``, ``path``, ``label``,
        ``probability``), e.g. ``top[top["path"].isin(paths)]``; panels in order of
        ``item``.
    truth : DataFrame, optional
        The truth table (``path``, ``labels``): each clip's true labels are marked as in
        :func:`plot_top_k`.
    title : str, optional
        The figure's title.
    meta : mapping, optional
        Provenance (``result.meta``); ``table.attrs["random_weights"]`` counts too: the
        title then says "(random weights)".
    colors : mapping, optional
        Label -> colour; :func:`label_colors` when None.

    Returns
    -------
    matplotlib.figure.Figure
        A new constrained-layout figure at the thesis text width.

    Raises
    ------
    ParameterError
        A column is missing or the table is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> top = pd.DataFrame({"item": [0, 0, 1, 1], "path": ["a.wav"] * 2 + ["b.wav"] * 2,
    ...                     "label": ["Speech", "Music", "Dog", "Bark"],
    ...                     "probability": [0.9, 0.2, 0.7, 0.6]})
    >>> fig = plot_top_k_grid(top, title="top 2")
    >>> [ax.get_title() for ax in fig.axes]
    ['a.wav', 'b.wav']
    """
    require_columns(table, ("item", "path", "label", "probability"), "table")
    if table.empty:
        raise ParameterError("table is empty: there are no labels to plot")
    if truth is not None:
        require_columns(truth, ("path", "labels"), "truth")
        true_of = {str(p): [v] if isinstance(v, str) else list(v)
                   for p, v in zip(truth["path"], truth["labels"], strict=True)}
    groups = [group for _, group in table.groupby("item", sort=True)]
    names = table["label"].astype(str)
    palette = None if colors is None else colors_for(names, colors)
    extra = 0.3 if truth is not None else 0.0
    def heights_of(compact):
        return [0.45 + extra + _bars_height([str(x) for x in g["label"]], compact=compact)
                + (0.2 * _missed_lines(true_of.get(str(g["path"].iloc[0])), g["label"])
                   if truth is not None else 0.0)
                for g in groups]

    compact = False
    heights = heights_of(False)
    if sum(heights) + 0.6 > MAX_HEIGHT:  # one-line names, tighter rows
        compact, heights = True, heights_of(True)
    shown = len(groups)
    while shown > 1 and sum(heights[:shown]) + 0.6 > MAX_HEIGHT:
        shown -= 1
    if shown < len(groups):
        warnings.warn(f"plot_top_k_grid: {len(groups)} clips do not fit on a page; drawing the "
                      f"first {shown} (pass fewer clips, e.g. table[table['item'] < {shown}])",
                      ASTToolsWarning, stacklevel=2)
    groups, heights = groups[:shown], heights[:shown]
    fig, axes = plt.subplots(len(groups), 1, figsize=(DEFAULT_WIDTH, sum(heights) + 0.6),
                             layout="constrained", height_ratios=heights, squeeze=False)
    # one look per label in the whole figure: the n-th label of a colour takes hatch n
    looks = label_looks(dict.fromkeys(names), palette)
    count: dict[str, int] = {}
    hatch_of = {}
    for label, (color, _, _) in looks.items():
        hatch_of[label] = count.get(color, 0)
        count[color] = hatch_of[label] + 1
    for ax, group in zip(axes[:, 0], groups, strict=True):
        path = str(group["path"].iloc[0])
        plot_top_k(group, ax=ax, colors=palette, compact=compact, hatches=hatch_of,
                   truth=true_of.get(path) if truth is not None else None)  # None: no row
    random = bool((meta or {}).get("random_weights") or table.attrs.get("random_weights"))
    if shown < table["item"].nunique():
        title = f"{title or ''} (first {shown} of {table['item'].nunique()} clips)".strip()
    if title or random:
        fig.suptitle(random_weights_title(title or "", random_weights=random))
    return fig


def _missed_lines(true, shown) -> int:
    """Lines the "also true: ..." note under a panel takes (about 60 characters a line)."""
    missed = [label for label in (true or []) if label not in set(map(str, shown))]
    return -(-len(", ".join(missed)) // 60) if missed else 0


def plot_label_timeline(
    probs,
    starts=None,
    *,
    labels: Sequence[str] | None = None,
    k: int = 5,
    ends=None,
    kind: str = "lines",
    ax=None,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
):
    """Plot label probabilities window by window along a long clip.

    The ``k`` classes with the highest probability in any window are shown, as one line
    each (``kind="lines"``) or as rows of a heatmap (``kind="heatmap"``).

    Parameters
    ----------
    probs : EmbeddingResult of one input, or ndarray, shape (n_windows, n_classes)
        A result holding the windows of one input (``res.select(longest=1)``,
        ``res.select(ids=["clip_07"])``): its probabilities, window times, class names and
        provenance are used, and the input's name is the default title. Or the
        probabilities per window, with ``starts`` (and ``ends``) and ``labels``.
    starts : ndarray, shape (n_windows,)
        Window start times in seconds (``result.table["start_s"]``); not with a result.
    labels : sequence of str, length n_classes
        Class names, in column order of ``probs``; not with a result.
    k : int
        How many classes to show (at most n_classes).
    ends : ndarray, shape (n_windows,), optional
        Window end times in seconds; when given, each window is placed at its centre, a
        heatmap cell spans its window's true extent (a short last window is drawn short)
        and a line marks windows shorter than the others with hollow markers.
    kind : {"lines", "heatmap"}
        Lines coloured by :func:`label_colors`, or a heatmap (rows in order of peak
        probability).
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 2.4 in figure when None.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    colors : mapping, optional
        Label -> colour for ``kind="lines"``; :func:`label_colors` when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ParameterError
        Shapes disagree, ``k`` is not positive, or ``kind`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> probs = rng.random((6, 4))
    >>> ax = plot_label_timeline(probs, np.arange(6) * 5.0, labels=["A", "B", "C", "D"], k=2)
    """
    if hasattr(probs, "probs") and hasattr(probs, "table"):  # an EmbeddingResult
        probs, starts, ends, labels, meta, title = _one_input(probs, starts, ends, labels,
                                                              meta, title)
    elif starts is None or labels is None:
        raise ParameterError("give starts= and labels= with a probability matrix, or pass "
                             "a result of one input (res.select(longest=1))")
    if kind not in TIMELINE_KINDS:
        raise ParameterError(f"kind must be one of {TIMELINE_KINDS}, given kind={kind!r}")
    probs = as_array(probs, "probs", ndim=2)
    starts = as_array(starts, "starts", ndim=1)
    n_windows, n_classes = probs.shape
    if starts.shape[0] != n_windows:
        raise ParameterError(
            f"starts has {starts.shape[0]} values but probs has {n_windows} windows (rows)"
        )
    if len(labels) != n_classes:
        raise ParameterError(
            f"labels has {len(labels)} names but probs has {n_classes} classes (columns)"
        )
    if n_windows == 0:
        raise ParameterError("probs has no windows (rows)")
    if k < 1:
        raise ParameterError(f"k must be at least 1, given k={k}")
    if ends is not None:
        ends = as_array(ends, "ends", ndim=1)
        if ends.shape[0] != n_windows:
            raise ParameterError(
                f"ends has {ends.shape[0]} values but probs has {n_windows} windows (rows)"
            )
        x = (starts + ends) / 2
        xlabel = "Time (s), window centre"
    else:
        x = starts
        xlabel = "Window start (s)"
    peak = probs.max(axis=0)
    order = np.argsort(-peak, kind="stable")[: min(k, n_classes)]
    names = [str(labels[i]) for i in order]
    span = float((ends if ends is not None else starts).max() - starts.min()) if n_windows else 0.0
    if span > _MINUTES_FROM_S:  # a long recording: time in minutes
        starts, x = starts / 60.0, x / 60.0
        ends = ends / 60.0 if ends is not None else None
        xlabel = xlabel.replace("(s)", "(min)")
    rows = len(order)
    height = 2.4 if kind == "lines" else min(1.0 + 0.17 * max(rows, 6), MAX_HEIGHT)
    row_names = [fit_name(name) if rows > 6 else wrap(name) for name in names]
    ax = new_axes(ax, (DEFAULT_WIDTH, height))
    short = np.zeros(n_windows, dtype=bool)
    if ends is not None and n_windows > 1:
        lengths = ends - starts
        short = lengths < np.median(lengths) - 1e-6
    if kind == "lines":
        looks = label_looks(names, colors, lines=True)
        palette = {name: look[0] for name, look in looks.items()}
        few = n_windows <= 30  # markers at the windows, their shape a second cue
        for z, (i, name) in enumerate(zip(order, names, strict=True)):
            ax.plot(
                x, probs[:, i], color=palette[name], label=wrap(name),
                marker=looks[name][1] if few else None,
                markersize=3, linestyle=looks[name][2], zorder=2 + (len(names) - z) / 100,
                gid=name,
            )
            if short.any():
                ax.plot(x[short], probs[short, i], linestyle="none", marker="o", markersize=4,
                        markerfacecolor="white", markeredgecolor=palette[name], zorder=3)
        if short.any():
            ax.plot([], [], linestyle="none", marker="o", markersize=4, markerfacecolor="white",
                    markeredgecolor="0.3", label="short window")
        if ends is not None:  # the whole clip; room for a marker at the last centre
            span = ends.max() - starts.min()
            ax.set_xlim(starts.min(), max(ends.max(), x.max() + 0.02 * span))
        ax.set_ylim(0.0, 1.0)
        ax.set_ylabel("Probability")
        legend_outside(ax)
    elif ends is not None:
        for w in range(n_windows):  # each window over its own extent
            right = min(ends[w], starts[w + 1]) if w + 1 < n_windows else ends[w]
            mesh = ax.pcolormesh(
                [starts[w], right], np.arange(len(order) + 1) - 0.5, probs[w : w + 1, order].T,
                cmap="viridis", vmin=0.0, vmax=1.0,
            )  # fmt: skip
        ax.set_xlim(starts.min(), ends.max())
        xlabel = "Time (min)" if span > _MINUTES_FROM_S else "Time (s)"
        ax.set_yticks(np.arange(len(order)), row_names, fontsize="x-small" if rows > 6 else None)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.grid(False)
        ax.figure.colorbar(mesh, ax=ax, label="Probability", pad=0.01)
    else:
        if n_windows > 1:
            mids = (x[:-1] + x[1:]) / 2
            edges = np.concatenate([[x[0] - (mids[0] - x[0])], mids, [x[-1] + (x[-1] - mids[-1])]])
        else:
            edges = np.array([x[0] - 0.5, x[0] + 0.5])
        mesh = ax.pcolormesh(
            edges, np.arange(len(order) + 1) - 0.5, probs[:, order].T,
            cmap="viridis", vmin=0.0, vmax=1.0,
        )  # fmt: skip
        ax.set_yticks(np.arange(len(order)), row_names, fontsize="x-small" if rows > 6 else None)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.grid(False)
        ax.figure.colorbar(mesh, ax=ax, label="Probability", pad=0.01)
    ax.set_xlabel(xlabel)
    set_title(ax, title, meta)
    return ax



_MINUTES_FROM_S = 600.0
"""From this span on (10 minutes) the timeline's time axis is in minutes."""

HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
"""Hatches of bars of styles 0, 1, ...: the second cue of bars that share a colour."""


def _one_input(result, starts, ends, labels, meta, title):
    """Probabilities, window times, class names, provenance and a title from a result
    that holds the windows of exactly one input."""
    if starts is not None or ends is not None or labels is not None:
        raise ParameterError("a result carries its own window times and class names: do not "
                             "pass starts=, ends= or labels= with it")
    table = result.table
    held = pd.unique(table["item"]) if len(table) else []
    if len(held) != 1:
        raise ParameterError(
            f"the result holds the windows of {len(held)} inputs; a timeline shows one: "
            "pass res.select(longest=1) or res.select(ids=[...])")
    name = str(table["id"].iat[0]) if "id" in table.columns else str(table["path"].iat[0])
    if title is None:
        title = f"{Path(name).name}: labels over time"
    order = np.argsort(table["start_s"].to_numpy(), kind="stable")
    return (np.asarray(result.probs)[order], table["start_s"].to_numpy()[order],
            table["end_s"].to_numpy()[order], list(result.labels),
            meta if meta is not None else result.meta, title)
