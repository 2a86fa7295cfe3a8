"""Figures of embeddings: a 2-D map of them, the variance a PCA keeps.

The map's coordinates are computed by :func:`asttools.analysis.reduce.embedding_map`; this module
only draws them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..analysis.reduce import capped_perplexity, embedding_map
from ._colors import MARKERS
from ._theme import random_weights_title
from ._util import (
    DEFAULT_WIDTH,
    MAX_HEIGHT,
    as_array,
    fit_name,
    label_looks,
    legend_below,
    legend_columns,
    legend_outside,
    new_axes,
    set_title,
    wrap,
)

_LEGEND_BESIDE = 6
"""Up to this many labels the legend stands beside the map; beyond, in columns below it."""

MAP_MAX_LABELS = 40
"""The most labels :func:`plot_embedding_map` tells apart (10 colours x 4 shapes); beyond,
the 39 most numerous keep theirs and the others are small grey dots, "other (n classes)"."""

_AXIS_NAMES = {"tsne": "t-SNE", "pca": "PC", "umap": "UMAP"}


def plot_embedding_map(
    embeddings,
    labels: Sequence[Hashable],
    *,
    method: str = "tsne",
    perplexity: float = 30.0,
    pca_components: int | None = 50,
    seed: int = 0,
    ax=None,
    title: str | None = None,
    settings_in_title: bool = True,
    meta: Mapping | None = None,
    legend: bool = True,
    colors: Mapping | None = None,
):
    """Plot a 2-D map of embeddings, one colour per label (and one marker beyond 8 labels).

    Each label has its own colour, the same in every figure (:func:`label_colors`), and
    labels that share a colour take different marker shapes (:func:`label_styles`): no two
    labels look alike. Up to 12 labels the legend stands beside the map; beyond, in columns
    below it (the figure grows, up to the tallest page figure). The most numerous label is
    drawn first, so small classes stay visible. The title names the method's settings
    (t-SNE: perplexity and seed; UMAP: seed), the perplexity as used.

    Computes :func:`asttools.analysis.reduce.embedding_map` and scatters it. To draw one map several
    ways, compute it once (``xy = asttools.analysis.reduce.embedding_map(...)``) and plot it with e.g.
    ``seaborn.scatterplot(x=xy[:, 0], y=xy[:, 1], hue=labels, palette=label_colors(labels))``.

    Parameters
    ----------
    embeddings : ndarray, shape (n, d)
        One embedding per row.
    labels : sequence, length n
        The label of each row (e.g. the primary class); colours by :func:`label_colors`.
    method, perplexity, pca_components, seed
        As in :func:`asttools.analysis.reduce.embedding_map`.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 4.2 in figure when None.
    title : str, optional
        Axes title.
    settings_in_title : bool, default True
        Append the method's settings to the title, e.g. "(perplexity 5, seed 0)"; False
        for the panels of a grid whose common title says them once.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    legend : bool
        Draw a legend (to the right of the Axes).
    colors : mapping, optional
        Label -> colour; :func:`label_colors` when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on. t-SNE and UMAP axes carry no ticks (their coordinates have no
        meaning of their own).

    Raises
    ------
    ParameterError
        ``labels`` does not have one entry per row, or as
        :func:`asttools.analysis.reduce.embedding_map`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(40, 16))
    >>> ax = plot_embedding_map(x, ["a"] * 20 + ["b"] * 20, method="pca")
    """
    labels = list(labels)
    n = np.shape(embeddings)[0] if np.ndim(embeddings) else 0
    if len(labels) != n:
        raise ParameterError(f"labels has {len(labels)} entries but embeddings has {n} rows")
    xy = embedding_map(
        embeddings, method=method, perplexity=perplexity, pca_components=pca_components,
        seed=seed,
    )  # fmt: skip
    counts = pd.Series([str(x) for x in labels]).value_counts(sort=True)
    if len(counts) > MAP_MAX_LABELS and colors is None:  # the most numerous + "other"
        keep = set(counts.index[: MAP_MAX_LABELS - 1])
        other = f"other ({len(counts) - len(keep)} classes)"
        labels = [label if str(label) in keep else other for label in labels]
    else:
        other = None
    looks = label_looks([label for label in labels if label != other], colors)
    if other is not None:
        looks[other] = ("0.72", ".", "-")
    n_labels = len(looks)
    ncol = (legend_columns([_legend_name(label, n_labels) for label in looks])
            if n_labels > _LEGEND_BESIDE else 1)
    legend_rows = -(-n_labels // ncol) if legend and n_labels > _LEGEND_BESIDE else 0
    ax = new_axes(ax, (DEFAULT_WIDTH, min(4.2 + 0.16 * legend_rows, MAX_HEIGHT)))
    label_array = np.array([str(label) for label in labels], dtype=object)
    size = 28 if n <= 100 else 14 if n <= 2000 else 5  # marker area, pt^2
    # the most numerous label first, so that the points of small classes stay on top
    order = sorted(looks, key=lambda label: -int((label_array == str(label)).sum()))
    for z, label in enumerate(order):
        color, marker, _ = looks[label]
        mask = label_array == str(label)
        ax.scatter(
            xy[mask, 0], xy[mask, 1], s=size, color=color,
            label=_legend_name(label, n_labels), marker=marker, gid=str(label),
            linewidths=0.4, edgecolors="white", alpha=0.8, zorder=2 + z / max(1, n_labels),
        )  # fmt: skip
    name = _AXIS_NAMES[method]
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    if method != "pca":  # t-SNE / UMAP coordinates mean nothing on their own
        ax.set_xticks([])
        ax.set_yticks([])
    if legend:
        handles, names = ax.get_legend_handles_labels()
        by_name = dict(zip(names, handles, strict=True))
        shown = [_legend_name(label, n_labels) for label in looks]
        handles = [by_name[name] for name in shown]
        if n_labels > _LEGEND_BESIDE:  # many labels: in columns below the map
            legend_below(ax, handles=handles, labels=shown, ncol=ncol, fontsize="x-small",
                         markerscale=1.2, handletextpad=0.1, columnspacing=0.8)
        else:
            legend_outside(ax, handles=handles, labels=shown, markerscale=1.5,
                           handletextpad=0.2)
    about = _settings(n, {"method": method, "perplexity": perplexity, "seed": seed})
    settings = ", ".join(_SETTING_TEXT[k](about[k]) for k in ("perplexity", "seed")
                         if k in about)
    if settings and settings_in_title and not (
            title and ("seed" in title or "perplexity" in title)):  # said already: kept
        title = f"{title} ({settings})" if title else f"{_AXIS_NAMES[method]} ({settings})"
    set_title(ax, title, meta)
    return ax


def _legend_name(label, n_labels: int) -> str:
    """A label as the legend shows it: wrapped beside the map, on one line below it."""
    if str(label).startswith("other ("):
        return str(label)
    return wrap(str(label)) if n_labels <= _LEGEND_BESIDE else fit_name(str(label))


def plot_embedding_grid(
    embeddings,
    labels: Sequence[Hashable],
    *,
    panels: Mapping[str, Mapping] | Sequence[Mapping] | None = None,
    ncols: int | None = None,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
    **options,
):
    """Several embedding maps in one figure, with one shared legend and one colour per label.

    For the comparisons a thesis makes: settings of one map (a perplexity and seed sweep,
    PCA beside t-SNE), or several embeddings (poolings, layers, models) mapped the same way.
    Each label has the same colour and marker in every panel. Settings that differ between
    panels are named in each panel's title; those they share, once in the figure's title.

    Parameters
    ----------
    embeddings : ndarray, shape (n, d), or mapping of str to ndarray or EmbeddingResult
        One array that every panel maps, or ``{name: embeddings}``: one panel each (a
        result is taken per clip, ``result.clips().embeddings``), titled by its name.
    labels : sequence, length n
        The label of each row, the same for every panel.
    panels : mapping of str to mapping, or sequence of mappings, optional
        One panel each: options of :func:`plot_embedding_map` for that panel (``method``,
        ``perplexity``, ``seed``, ``pca_components``), and, with a mapping of embeddings,
        ``"embeddings"``: the name of the one to draw. Keyed by the panel's title, or a
        list whose panels are titled by their settings alone. Default: one panel per entry
        of ``embeddings``.
    ncols : int, optional
        Panels per row; default up to 3.
    title : str, optional
        The figure's title; the settings every panel shares are appended.
    meta : mapping, optional
        Provenance (``result.meta``): with ``random_weights`` true, or when a result given
        says so, the figure's title says "(random weights)".
    colors : mapping, optional
        Label -> colour; :func:`figure_colors` when None.
    **options
        Options of :func:`plot_embedding_map` for every panel (a panel's own win).

    Returns
    -------
    matplotlib.figure.Figure
        A new constrained-layout figure at the thesis text width; its Axes in ``fig.axes``
        (panels first, row by row).

    Raises
    ------
    ParameterError
        No panels, a panel names an embedding that is not given, an unknown option, or a
        panel's embeddings do not have one row per label.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(30, 8))
    >>> y = ["a"] * 15 + ["b"] * 15
    >>> fig = plot_embedding_grid(x, y, panels=[{"seed": 0}, {"seed": 1}], perplexity=5)
    >>> [ax.get_title() for ax in fig.axes]
    ['seed 0', 'seed 1']
    """
    named = isinstance(embeddings, Mapping)
    arrays = {}
    random = bool((meta or {}).get("random_weights"))
    if named:
        for name, value in embeddings.items():
            if hasattr(value, "clips") and hasattr(value, "embeddings"):  # a result
                random = random or bool(getattr(value, "random_weights", False))
                value = value.clips().embeddings
            arrays[str(name)] = value
    if panels is None:
        if not named:
            raise ParameterError("give panels= (one mapping of options per panel), or a "
                                 "mapping of embeddings with one panel each")
        panels = {name: {"embeddings": name} for name in arrays}
    if isinstance(panels, Mapping):
        items = [(str(key), dict(value)) for key, value in panels.items()]
    else:
        items = [("", dict(value)) for value in panels]
    if not items:
        raise ParameterError("panels is empty: nothing to draw")
    known = {"method", "perplexity", "pca_components", "seed"}
    for where, given, allowed in [("options", options, known),
                                  *[(f"panel {key!r}", panel, known | {"embeddings"})
                                    for key, panel in items]]:
        unknown = sorted(set(given) - allowed)
        if unknown:
            raise ParameterError(f"{where} has unknown options {unknown}; known: "
                                 f"{sorted(allowed)}")
    labels = list(labels)
    drawn = []
    for key, panel in items:
        settings = {"method": "tsne", "perplexity": 30.0, "pca_components": 50, "seed": 0,
                    **options, **panel}
        source = settings.pop("embeddings", None)
        if named:
            source = source if source is not None else (key if key in arrays else None)
            if source not in arrays:
                raise ParameterError(f"panel {key!r} names embeddings {source!r}; given: "
                                     f"{sorted(arrays)}")
            data = arrays[source]
        else:
            data = embeddings
        drawn.append((key, data, settings))
    described = [_settings(len(labels), s) for _, _, s in drawn]
    varying = [k for k in ("method", "perplexity", "seed")
               if len({d.get(k) for d in described}) > 1]
    shared = [k for k in ("perplexity", "seed")
              if k not in varying and all(k in d for d in described)]
    ncols = int(ncols or min(3, len(drawn)))
    nrows = -(-len(drawn) // ncols)
    panel_w = DEFAULT_WIDTH * 0.8 / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(DEFAULT_WIDTH, panel_w * 0.9 * nrows + 0.7),
                             layout="constrained", squeeze=False)
    looks = label_looks(labels, colors)
    palette = None if colors is None else {label: look[0] for label, look in looks.items()}
    for ax, (key, data, settings), about in zip(axes.flat, drawn, described, strict=False):
        extra = ", ".join(_SETTING_TEXT[k](about[k]) for k in varying
                          if k in about and not (key and k == "method"))  # key names it
        text = f"{key} ({extra})" if key and extra else key or extra
        plot_embedding_map(data, labels, ax=ax, legend=False, colors=palette, title=text,
                           settings_in_title=False, **settings)
    for ax in axes.flat[len(drawn):]:
        ax.set_visible(False)
    shown = len(drawn)
    for i, ax in enumerate(axes.flat[:shown]):  # an axis name said by its neighbour: once
        below = i + ncols
        if below < shown and axes.flat[below].get_xlabel() == ax.get_xlabel():
            ax.set_xlabel("")
    for i in reversed(range(shown)):  # right to left: the left neighbour still has its name
        ax = axes.flat[i]
        if i % ncols and axes.flat[i - 1].get_ylabel() == ax.get_ylabel():
            ax.set_ylabel("")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right center", fontsize="small", frameon=False)
    common = ", ".join(_SETTING_TEXT[k](described[0][k]) for k in shared)
    heading = f"{title} ({common})" if title and common else title or common
    if heading or random:
        fig.suptitle(random_weights_title(heading or "", random_weights=random))
    return fig


_SETTING_TEXT = {
    "method": lambda m: _AXIS_NAMES[m] if m != "pca" else "PCA",
    "perplexity": lambda p: f"perplexity {p:.3g}",
    "seed": lambda s: f"seed {s}",
}


def _settings(n: int, settings: Mapping) -> dict:
    """What a panel's map depends on: the method and, where they matter, the perplexity
    (as used: capped for small n) and the seed."""
    method = settings["method"]
    out = {"method": method}
    if method == "tsne":
        out["perplexity"] = capped_perplexity(n, settings["perplexity"])
    if method in ("tsne", "umap"):
        out["seed"] = settings["seed"]
    return out


MARKER_SHAPES = MARKERS
"""Marker shapes of :func:`plot_embedding_map`: a label's second cue (:func:`label_styles`)."""


def plot_explained_variance(
    ratio,
    *,
    thresholds: Sequence[float] = (0.9,),
    ax=None,
    title: str | None = None,
    meta: Mapping | None = None,
    color=None,
):
    """Plot the variance each principal component keeps, and the running total.

    Bars show each component's fraction of the variance, the line the cumulative
    fraction; a dotted line and a marker show each of ``thresholds``, and the legend says
    how many components reach it.

    Parameters
    ----------
    ratio : ndarray, shape (n_components,), or a fitted PCA
        Explained variance ratios, e.g. ``pca.explained_variance_ratio_`` from
        :func:`asttools.analysis.reduce.fit_pca` (a PCA stands for that attribute).
    thresholds : sequence of float
        Cumulative fractions to mark (each in (0, 1]); one the components do not reach
        is not drawn.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 2.6 in figure when None.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
    color : matplotlib colour, optional
        Colour of the bars and line (default: the first colour of the cycle).

    Returns
    -------
    matplotlib.axes.Axes
        x is the component number (from 1), y the fraction of variance (0 to 1).

    Raises
    ------
    ParameterError
        ``ratio`` is not 1-D, is empty, has negative values, sums to more than 1, or a
        threshold is outside (0, 1].

    Examples
    --------
    >>> ax = plot_explained_variance([0.5, 0.25, 0.125, 0.0625], thresholds=(0.8,))
    """
    ratio = as_array(getattr(ratio, "explained_variance_ratio_", ratio), "ratio", ndim=1)
    if ratio.size == 0:
        raise ParameterError("ratio is empty: fit the PCA first")
    if (ratio < 0).any() or not np.isfinite(ratio).all() or ratio.sum() > 1.0 + 1e-6:
        raise ParameterError(
            "ratio must hold explained variance fractions (finite, >= 0, summing to at most "
            f"1), given values from {ratio.min():.3g} to {ratio.max():.3g} summing to "
            f"{ratio.sum():.3g}"
        )
    for thr in thresholds:
        if not 0.0 < thr <= 1.0:
            raise ParameterError(f"thresholds must lie in (0, 1], given {thr!r}")
    ax = new_axes(ax, (DEFAULT_WIDTH, 2.6))
    if color is None:

        color = mpl.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])[0]
    k = np.arange(1, ratio.size + 1)
    cumulative = np.cumsum(ratio)
    ax.bar(k, ratio, width=0.8 if ratio.size <= 64 else 1.0, color=color, alpha=0.45,
           linewidth=0, label="Per component")
    ax.plot(k, cumulative, color=color, linewidth=1.5, label="Cumulative")
    markers = ("o", "s", "D", "^", "v")
    for m, thr in enumerate(sorted(thresholds)):
        reached = np.flatnonzero(cumulative >= thr - 1e-12)
        if not reached.size:
            continue
        n = int(reached[0]) + 1
        ax.axhline(thr, color="0.4", linestyle=":", linewidth=0.8)
        ax.plot([n], [cumulative[n - 1]], linestyle="none", marker=markers[m % len(markers)],
                color=color, markersize=5, markeredgecolor="white", markeredgewidth=0.6,
                label=f"{thr:.0%} of the variance: {n} component{'s' if n > 1 else ''}")
    ax.set_xlim(0.5, ratio.size + 0.5)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("Principal component")
    ax.set_ylabel("Fraction of variance")
    ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none", fontsize="small")
    set_title(ax, title, meta)
    return ax

