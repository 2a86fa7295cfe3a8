"""A check of a finished figure: what a thesis reader would see as a defect.

:func:`check_figure` draws the figure once and lists its problems as sentences;
:func:`assert_figure_ok` raises ``AssertionError`` with that list, for tests.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex, to_rgba
from matplotlib.container import BarContainer
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from ..errors import ParameterError
from ._check_reader import (
    ambiguous_lines,
    axes_layout,
    covering,
    cvd_collisions,
    data_outside,
    grey_collisions,
    low_contrast,
    rainbow_maps,
    too_tall,
)
from ._colors import MIN_COLOR_DISTANCE, MIN_CVD_DISTANCE, delta_e, srgb_to_lab
from ._theme import FIGURE_WIDTHS

MIN_FONT_PT = 6.0
"""Smallest legible text in points, at the size the figure is printed (thesis guides ask 6-8)."""

OVERLAP_TOLERANCE_PT = 0.5
"""Text boxes may touch by this much (points) before they count as overlapping."""


def check_figure(
    fig,
    *,
    min_font_pt: float = MIN_FONT_PT,
    min_color_distance: float = MIN_COLOR_DISTANCE,
    min_cvd_distance: float = MIN_CVD_DISTANCE,
    width: str | float | None = None,
    overlap_tolerance_pt: float = OVERLAP_TOLERANCE_PT,
) -> list[str]:
    """List what a reader would see as a defect in a figure.

    The figure is drawn once (``fig.canvas.draw()``) and its text and artists are measured
    where the renderer put them (a second time without the Axes' texts, to see what lies
    under them). The checks, each finding a sentence that names the fix:

    - **overlapping text**: two visible, non-empty text elements (tick labels that are drawn,
      titles, axis labels, legend entries and titles, annotations, colour-bar labels) whose
      boxes, rotated with the text, overlap by more than ``overlap_tolerance_pt``;
    - **clipped**: text, an Axes or a legend that reaches outside the canvas;
    - **colours too alike**: categories drawn in different colours that are closer than
      ``min_color_distance`` (CIEDE2000, see :data:`~asttools.plots.MIN_COLOR_DISTANCE`),
      or two legend entries drawn exactly alike. Categories are legend entries, bars of one
      chart when the bars have several colours, and labelled scatter groups; a category is
      its kind (line, patch, marker), colour, line style and marker shape, so two
      categories of close colours but different markers pass (marker shapes are the
      redundancy the check asks for);
    - **small text**: text under ``min_font_pt`` at the printed width;
    - **colour blindness and greyscale**: categories told apart by colour alone that are
      closer than ``min_cvd_distance`` under simulated protanopia, deuteranopia or
      tritanopia (:func:`~asttools.plots.simulate_cvd`), and legend lines of one style
      whose lightness differs by less than 10 (one grey when printed in black and white);
    - **contrast**: text under 3:1 (WCAG) against what lies under it (a cell, a bar, the
      background), lines under 1.5:1 against the background (3:1 under 0.5 pt);
    - **layout**: Axes holding data narrower or lower than 0.5 in at the printed width, a
      collapsed constrained layout, Axes overlapping one another (insets and twins
      aside), a figure taller than :data:`~asttools.plots.FIGURE_HEIGHT_MAX`;
    - **data**: points or line vertices outside the Axes' limits (cut off), a legend over
      any data point or an Axes text over data (a boxed one over any, a plain one over 3);
    - **ambiguity**: two or more unlabelled data lines drawn alike in an Axes with no legend
      or direct labels, and rainbow colour maps (jet, hsv, ...).

    Parameters
    ----------
    fig : matplotlib Figure or Axes
        The figure (an Axes stands for its figure).
    min_font_pt : float
        Smallest font size in points, at the printed width.
    min_color_distance : float
        Smallest CIEDE2000 distance between the colours of two categories.
    min_cvd_distance : float
        Smallest CIEDE2000 distance between them under each simulated colour-vision
        deficiency (:data:`~asttools.plots.MIN_CVD_DISTANCE`).
    width : {"full", "half"} or float, optional
        The width in inches at which the figure is printed; text scales with it. None:
        the figure's own width (as :func:`save_figure` writes it).
    overlap_tolerance_pt : float
        How far two text boxes may overlap, in points.

    Returns
    -------
    list of str
        One sentence per problem, naming the text or colours; empty for a clean figure.

    Raises
    ------
    ParameterError
        ``width`` is not "full", "half" or a positive number.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    >>> _ = ax.plot([0, 1], [0, 1], label="a line")
    >>> _ = ax.legend()
    >>> check_figure(fig)
    []
    """
    fig = fig.figure if isinstance(fig, Axes) else fig
    fig_width = fig.get_figwidth()
    if width is None:
        printed = fig_width
    elif isinstance(width, str) and width in FIGURE_WIDTHS:
        printed = FIGURE_WIDTHS[width]
    elif isinstance(width, (int, float)) and not isinstance(width, bool) and width > 0:
        printed = float(width)
    else:
        raise ParameterError(
            f"width must be one of {tuple(FIGURE_WIDTHS)} or inches > 0, given {width!r}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = _visible_texts(fig)
    problems = []
    if any("collapsed" in str(w.message) for w in caught):
        problems.append("the layout collapsed (constrained layout found no room for the Axes): "
                        "the legend or labels take its room; move the legend below, shorten "
                        "the names, or draw the figure wider")
    problems += _small_text(texts, min_font_pt, printed / fig_width)
    problems += _clipped(fig, texts, renderer)
    problems += _overlaps(texts, renderer, overlap_tolerance_pt * fig.dpi / 72)
    problems += _close_colors(fig, min_color_distance, min_cvd_distance)
    scale = printed / fig_width
    problems += axes_layout(fig, renderer, scale)
    problems += too_tall(fig, scale)
    problems += data_outside(fig)
    problems += covering(fig, renderer)
    problems += ambiguous_lines(fig)
    problems += rainbow_maps(fig)
    problems += low_contrast(fig, renderer, texts, scale)
    return problems


def assert_figure_ok(fig, **options) -> None:
    """Raise ``AssertionError`` listing the problems :func:`check_figure` finds.

    Parameters
    ----------
    fig : matplotlib Figure or Axes
        The figure.
    **options
        Passed to :func:`check_figure`.

    Raises
    ------
    AssertionError
        The figure has problems; the message lists each.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    >>> assert_figure_ok(fig)
    """
    problems = check_figure(fig, **options)
    if problems:
        raise AssertionError(
            f"the figure has {len(problems)} problem(s):\n- " + "\n- ".join(problems)
        )


# --------------------------------------------------------------------------- text


def _drawn_tick_labels(ax: Axes) -> tuple[set[int], set[int]]:
    """ids of tick labels drawn (their tick lies in the view) and of every tick label."""
    drawn, every = set(), set()
    for axis in (ax.xaxis, ax.yaxis):
        lo, hi = sorted(axis.get_view_interval())
        eps = 1e-9 * max(abs(hi - lo), 1e-300)
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            labels = (tick.label1, tick.label2)
            every.update(id(t) for t in labels)
            if tick.get_visible() and lo - eps <= tick.get_loc() <= hi + eps:
                drawn.update(id(t) for t in labels)
    return drawn, every


def _visible_texts(fig) -> list[Text]:
    """Every text element of the figure that the renderer draws with some characters."""
    drawn, every = set(), set()
    for ax in fig.axes:
        d, e = _drawn_tick_labels(ax)
        drawn |= d
        every |= e
    hidden = set()  # the texts of hidden legends
    for legend in fig.findobj(match=Legend):
        if not legend.get_visible():
            hidden.update(id(t) for t in legend.findobj(match=Text))
    out, seen = [], set()
    for text in fig.findobj(match=Text):
        if id(text) in seen:
            continue
        seen.add(id(text))
        if not text.get_text().strip() or not _shown(text, hidden):
            continue
        if id(text) in every and id(text) not in drawn:
            continue
        out.append(text)
    return out


def _shown(text: Text, hidden: set[int]) -> bool:
    """Whether a text, its Axes and any legend it belongs to are visible."""
    if not text.get_visible() or text.get_alpha() == 0 or id(text) in hidden:
        return False
    return text.axes is None or text.axes.get_visible()


def _describe(text: Text) -> str:
    words = " ".join(text.get_text().split())
    return repr(words if len(words) <= 40 else words[:37] + "...")


def _small_text(texts: list[Text], min_pt: float, scale: float) -> list[str]:
    out = []
    for text in texts:
        size = text.get_fontsize() * scale
        if size < min_pt - 1e-9:
            out.append(f"text {_describe(text)} is {size:.1f} pt at the printed width "
                       f"(at least {min_pt:g} pt is legible)")
    return out


def _clipped(fig, texts: list[Text], renderer) -> list[str]:
    canvas = fig.bbox
    tol = 1.0  # px

    def outside(bbox) -> bool:
        return (bbox.x0 < canvas.x0 - tol or bbox.y0 < canvas.y0 - tol
                or bbox.x1 > canvas.x1 + tol or bbox.y1 > canvas.y1 + tol)

    out = []
    for text in texts:
        if outside(text.get_window_extent(renderer)):
            out.append(f"text {_describe(text)} reaches outside the canvas (clipped)")
    for ax in fig.axes:
        if ax.get_visible() and outside(ax.get_window_extent(renderer)):
            out.append(f"an Axes ({_describe(ax.title) if ax.get_title() else 'untitled'}) "
                       "reaches outside the canvas (clipped)")
        legend = ax.get_legend()
        if legend is not None and legend.get_visible() and outside(
            legend.get_window_extent(renderer)
        ):
            out.append("a legend reaches outside the canvas (clipped)")
    for legend in fig.legends:
        if legend.get_visible() and outside(legend.get_window_extent(renderer)):
            out.append("a figure legend reaches outside the canvas (clipped)")
    return out


def _corners(text: Text, renderer) -> np.ndarray:
    """The text's box, rotated with it, as 4 corners in display pixels."""
    box = text.get_window_extent(renderer)
    angle = np.radians(text.get_rotation() % 180)
    if np.isclose(np.sin(angle), 0.0) or np.isclose(np.cos(angle), 0.0):
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    rotation = text.get_rotation()
    text.set_rotation(0)  # the unrotated size; the centre of the box stays where it is
    flat = text.get_window_extent(renderer)
    text.set_rotation(rotation)
    w, h = flat.width, flat.height
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    return half @ rot.T + centre


def _penetration(a: np.ndarray, b: np.ndarray) -> float:
    """How deep two convex polygons overlap (0 when apart): separating-axis theorem."""
    depth = np.inf
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        for ex, ey in edges:
            normal = np.array([-ey, ex])
            norm = np.hypot(*normal)
            if norm == 0:
                continue
            normal /= norm
            pa, pb = a @ normal, b @ normal
            overlap = min(pa.max(), pb.max()) - max(pa.min(), pb.min())
            if overlap <= 0:
                return 0.0
            depth = min(depth, overlap)
    return float(depth)


def _overlaps(texts: list[Text], renderer, tol_px: float) -> list[str]:
    boxes = [t.get_window_extent(renderer) for t in texts]
    polys = {}
    out = []
    for i, j in itertools.combinations(range(len(texts)), 2):
        a, b = boxes[i], boxes[j]
        if a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0:
            continue
        for k in (i, j):
            if k not in polys:
                polys[k] = _corners(texts[k], renderer)
        depth = _penetration(polys[i], polys[j])
        if depth > tol_px:
            out.append(f"text {_describe(texts[i])} overlaps text {_describe(texts[j])}")
    return out


# --------------------------------------------------------------------------- colours


def _path_key(collection: PathCollection) -> tuple:
    paths = collection.get_paths()
    if not paths:
        return ()
    return tuple(np.round(paths[0].vertices, 2).ravel().tolist())


def _categories(fig) -> list[tuple[str, tuple, str]]:
    """(name, (kind, colour, style...), colour) of each colour-coded category in the figure."""
    out = []
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    for legend in legends:
        if legend is None or not legend.get_visible():
            continue
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=False):
            name = " ".join(text.get_text().split())
            if handle is None or not name:
                continue
            if isinstance(handle, Line2D):
                color = to_hex(handle.get_color())
                marker = handle.get_marker() if handle.get_marker() not in (None, "None", "") \
                    else ""
                style = handle.get_linestyle() if handle.get_linestyle() not in ("None", "") \
                    else ""
                # get_linestyle() says "--" for every custom dash pattern: compare patterns
                dashes = getattr(handle, "_unscaled_dash_pattern", None)
                if style and style != "-" and dashes is not None:
                    style = f"{style}{dashes[1]}"
                key = ("line", color, str(style), str(marker))
            elif isinstance(handle, Patch):
                color = to_hex(handle.get_facecolor())
                key = ("patch", color, str(handle.get_hatch()))
            elif isinstance(handle, PathCollection) and len(handle.get_facecolor()):
                color = to_hex(handle.get_facecolor()[0])
                key = ("marker", color, _path_key(handle))
            else:
                continue
            out.append((name, key, color))
    for ax in fig.axes:
        for container in ax.containers:
            if not isinstance(container, BarContainer):
                continue
            colors = [to_hex(p.get_facecolor()) for p in container.patches]
            if len(set(colors)) < 2 and len({p.get_hatch() for p in container.patches}) < 2:
                # one colour for every bar: colour encodes nothing
                continue
            names = _bar_names(ax, container)
            hatches = [str(p.get_hatch() or "") for p in container.patches]
            for name, color, hatch in zip(names, colors, hatches, strict=True):
                out.append((name, ("bar", color, hatch), color))
        for coll in ax.collections:
            label = str(coll.get_label())
            if not isinstance(coll, PathCollection) or label.startswith("_") or not label:
                continue
            faces = coll.get_facecolor()
            if len(faces) != 1:
                continue
            color = to_hex(faces[0])
            out.append((" ".join(label.split()), ("scatter", color, _path_key(coll)), color))
    return out


def _bar_names(ax: Axes, container: BarContainer) -> list[str]:
    """Each bar's category: its tick label when bars sit on ticks, else its index."""
    horizontal = container.orientation == "horizontal"
    axis = ax.yaxis if horizontal else ax.xaxis
    ticks = {round(float(loc), 6): " ".join(t.get_text().split()).removeprefix("\u2713 ")
             for loc, t in zip(axis.get_ticklocs(), axis.get_ticklabels(), strict=False)}
    # (plot_top_k marks a true label with a check mark: the same category either way)
    names = []
    for k, patch in enumerate(container.patches):
        centre = patch.get_y() + patch.get_height() / 2 if horizontal \
            else patch.get_x() + patch.get_width() / 2
        names.append(ticks.get(round(float(centre), 6)) or f"bar {k}")
    return names


def _close_colors(fig, min_distance: float, min_cvd_distance: float) -> list[str]:
    cats = _categories(fig)
    out = []
    seen: dict[tuple, str] = {}
    for name, key, _ in cats:  # two categories drawn exactly alike
        first = seen.setdefault(key, name)
        if first != name:
            out.append(f"{first!r} and {name!r} are drawn alike (colour {key[1]})")
    groups: dict[tuple, dict[str, str]] = {}
    for name, key, color in cats:
        # same kind and same style: only the colour tells them apart
        groups.setdefault((key[0],) + key[2:], {}).setdefault(color, name)
    for colors in groups.values():
        items = list(colors.items())
        if len(items) < 2:
            continue
        lab = srgb_to_lab(np.array([to_rgba(c)[:3] for c, _ in items]))
        for (ci, ni), (cj, nj), li, lj in (
            (items[i], items[j], lab[i], lab[j])
            for i, j in itertools.combinations(range(len(items)), 2)
        ):
            d = float(delta_e(li, lj))
            if d < min_distance:
                out.append(f"the colours of {ni!r} ({ci}) and {nj!r} ({cj}) are too alike "
                           f"(CIEDE2000 {d:.1f} < {min_distance:g})")
    out += cvd_collisions([[(n, c) for c, n in colors.items()]
                                  for colors in groups.values()], min_cvd_distance)
    for group, colors in groups.items():
        if group[0] == "line" and group[1] not in ("", "None"):
            out += grey_collisions([(n, c) for c, n in colors.items()])
    return list(dict.fromkeys(out))

