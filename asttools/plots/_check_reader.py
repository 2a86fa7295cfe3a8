"""The checks of :func:`check_figure` that look at data, colour and layout as a reader does.

Each function takes a drawn figure (and its renderer) and returns sentences, each naming
what is wrong and the fix. :mod:`._check` calls them; nothing else does.
"""

from __future__ import annotations

import itertools

import numpy as np
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from matplotlib.text import Text

from ._colors import CVD_KINDS, MIN_GREY_DISTANCE, delta_e, simulate_cvd, srgb_to_lab
from ._theme import FIGURE_HEIGHT_MAX

MIN_AXES_IN = 0.5
"""Smallest width and height, in inches, of an Axes that shows data."""

MIN_TEXT_CONTRAST = 3.0
"""Smallest WCAG contrast ratio of text against what lies under it (3:1, large text)."""

MIN_LINE_CONTRAST = 1.5
"""Smallest contrast ratio of a line against the Axes' background; 3:1 under 0.5 pt."""

RAINBOW_CMAPS = frozenset({"jet", "rainbow", "hsv", "gist_rainbow", "nipy_spectral", "gist_ncar",
                           "turbo", "gist_stern", "prism", "flag", "terrain", "brg", "CMRmap"})
"""Colour maps whose lightness is not monotonic: they invent edges, and fail in greyscale
and for colour-blind readers."""


def _describe(text: Text) -> str:
    words = " ".join(text.get_text().split())
    return repr(words if len(words) <= 40 else words[:37] + "...")


def _luminance(rgb) -> float:
    rgb = np.asarray(rgb, dtype=float)[:3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a, b) -> float:
    """WCAG 2 contrast ratio of two colours (1 for equal, 21 for black on white)."""
    la, lb = sorted((_luminance(to_rgba(a)), _luminance(to_rgba(b))))
    return (lb + 0.05) / (la + 0.05)


def _over(color, background) -> np.ndarray:
    """An RGBA colour composited over an opaque background."""
    c = np.asarray(to_rgba(color), dtype=float)
    bg = np.asarray(to_rgba(background), dtype=float)[:3]
    return c[:3] * c[3] + bg * (1 - c[3])


# --------------------------------------------------------------------------- colour vision


def cvd_collisions(groups: list[list[tuple[str, str]]], min_distance: float) -> list[str]:
    """Pairs of categories told apart by colour alone that a colour-blind reader confuses.

    ``groups``: lists of (name, colour) of categories drawn alike but for their colour.
    """
    out = []
    for items in groups:
        if len(items) < 2:
            continue
        rgb = np.array([to_rgba(c)[:3] for _, c in items])
        for kind in CVD_KINDS:
            lab = srgb_to_lab(simulate_cvd(rgb, kind))
            for i, j in itertools.combinations(range(len(items)), 2):
                if items[i][1] == items[j][1]:
                    continue  # the same colour: reported as drawn alike
                d = float(delta_e(lab[i], lab[j]))
                if d < min_distance:
                    out.append(
                        f"the colours of {items[i][0]!r} ({items[i][1]}) and {items[j][0]!r} "
                        f"({items[j][1]}) are {d:.1f} apart for a reader with {kind} "
                        f"(CIEDE2000 < {min_distance:g}): use label_colors() / LABEL_PALETTE, "
                        "or add a marker shape or line style (label_styles())")
    return out


def grey_collisions(items: list[tuple[str, str]]) -> list[str]:
    """Lines of one style whose colours have the same lightness: one line in greyscale."""
    out = []
    if len(items) < 2:
        return out
    lightness = srgb_to_lab(np.array([to_rgba(c)[:3] for _, c in items]))[:, 0]
    for i, j in itertools.combinations(range(len(items)), 2):
        if items[i][1] != items[j][1] and abs(lightness[i] - lightness[j]) < MIN_GREY_DISTANCE:
            out.append(f"the lines {items[i][0]!r} and {items[j][0]!r} are one grey in "
                       f"greyscale (lightness {lightness[i]:.0f} and {lightness[j]:.0f}): give "
                       "them different line styles (label_styles(lines=True))")
    return out


def rainbow_maps(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        for artist in list(ax.images) + list(ax.collections):
            cmap = getattr(artist, "get_cmap", lambda: None)()
            if isinstance(artist, (AxesImage, QuadMesh)) or (
                    isinstance(artist, PathCollection) and artist.get_array() is not None):
                name = getattr(cmap, "name", "").removesuffix("_r")
                if name in RAINBOW_CMAPS:
                    out.append(f"the colour map {name!r} is a rainbow: its lightness jumps, "
                               "inventing edges, and it fails in greyscale and for colour-blind "
                               "readers; use 'viridis', 'magma' or 'cividis'")
                    break
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------- layout


def _data_axes(fig):
    """Visible Axes that hold data (not colour bars, not empty)."""
    out = []
    for ax in fig.axes:
        if not ax.get_visible() or getattr(ax, "_colorbar", None) is not None:
            continue
        if ax.get_label() == "<colorbar>":
            continue
        if ax.lines or ax.collections or ax.images or ax.patches or ax.texts:
            out.append(ax)
    return out


def axes_layout(fig, renderer, printed_scale: float) -> list[str]:
    out = []
    axes = _data_axes(fig)
    dpi = fig.dpi
    boxes = {id(ax): ax.get_window_extent(renderer) for ax in axes}
    for ax in axes:
        box = boxes[id(ax)]
        w, h = box.width / dpi * printed_scale, box.height / dpi * printed_scale
        if w < MIN_AXES_IN or h < MIN_AXES_IN:
            out.append(f"an Axes ({_name(ax)}) is collapsed to {w:.2f} x {h:.2f} in (at least "
                       f"{MIN_AXES_IN:g} in each way is legible): the legend or labels take its "
                       "room; move the legend below, shorten the names, or draw the figure wider")
    for a, b in itertools.combinations(axes, 2):
        if a in b.child_axes or b in a.child_axes:
            continue  # an inset
        ba, bb = boxes[id(a)], boxes[id(b)]
        dx = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        dy = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if dx > 2 and dy > 2:
            out.append(f"the Axes {_name(a)} and {_name(b)} overlap: use a layout engine "
                       "(layout='constrained') or subplots instead of hand-placed Axes")
    return out


def _name(ax) -> str:
    title = ax.get_title() or ax.get_ylabel() or ax.get_xlabel()
    words = " ".join(title.split())
    return repr(words[:37] + "..." if len(words) > 40 else words) if words else "untitled"


def too_tall(fig, printed_scale: float, max_height: float = FIGURE_HEIGHT_MAX) -> list[str]:
    h = fig.get_figheight() * printed_scale
    if h > max_height + 1e-6:
        return [f"the figure is {h:.1f} in tall, more than a page's text block holds "
                f"({max_height:g} in): show the top N (top=) or split it into panels"]
    return []


# --------------------------------------------------------------------------- data


def _data_lines(ax):
    """Lines drawn in data coordinates with at least 3 points (not reference lines)."""
    for line in ax.lines:
        if not line.get_visible() or line.get_transform() != ax.transData:
            continue
        x, y = line.get_xdata(orig=False), line.get_ydata(orig=False)
        if np.size(x) >= 3:
            yield line, np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _points_px(ax) -> np.ndarray:
    """Display coordinates of the data points and line vertices of an Axes (lines densified
    so that a text over a line's segment counts)."""
    pts = []
    for _line, x, y in _data_lines(ax):
        xy = ax.transData.transform(np.column_stack([x, y]))
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) > 1:
            steps = np.linspace(0, 1, 6)[:-1]
            seg = xy[:-1, None, :] + (xy[1:, None, :] - xy[:-1, None, :]) * steps[None, :, None]
            xy = np.concatenate([seg.reshape(-1, 2), xy[-1:]])
        pts.append(xy)
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and coll.get_visible():
            offsets = np.asarray(coll.get_offsets(), dtype=float)
            if len(offsets) and coll.get_offset_transform() == ax.transData:
                pts.append(ax.transData.transform(offsets))
    if not pts:
        return np.zeros((0, 2))
    out = np.concatenate(pts)
    return out[np.isfinite(out).all(axis=1)]


def data_outside(fig) -> list[str]:
    out = []
    for ax in _data_axes(fig):
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        cut = 0
        total = 0
        for line, x, y in _data_lines(ax):
            if not line.get_clip_on():
                continue
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
            total += len(x)
            cut += int(((x < x0) | (x > x1) | (y < y0) | (y > y1)).sum())
        for coll in ax.collections:
            if not isinstance(coll, PathCollection) or coll.get_offset_transform() != ax.transData:
                continue
            xy = np.asarray(coll.get_offsets(), dtype=float)
            if not len(xy) or not coll.get_clip_on():
                continue
            xy = xy[np.isfinite(xy).all(axis=1)]
            total += len(xy)
            cut += int(((xy[:, 0] < x0) | (xy[:, 0] > x1) | (xy[:, 1] < y0)
                        | (xy[:, 1] > y1)).sum())
        if cut:
            out.append(f"{cut} of {total} data points of the Axes {_name(ax)} lie outside its "
                       "limits and are cut off: widen set_xlim/set_ylim, or say in the caption "
                       "what is left out")
    return out


def covering(fig, renderer) -> list[str]:
    """Legends and boxed texts drawn over data points."""
    out = []
    for ax in _data_axes(fig):
        pts = _points_px(ax)
        if not len(pts):
            continue
        legend = ax.get_legend()
        covers = []
        if legend is not None and legend.get_visible():
            covers.append(("the legend", legend.get_window_extent(renderer), 1))
        for text in ax.texts:
            if not text.get_visible() or not text.get_text().strip():
                continue
            boxed = text.get_bbox_patch() is not None
            covers.append((f"the text {_describe(text)}", text.get_window_extent(renderer),
                           1 if boxed else 3))
        for what, box, allowed in covers:
            inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1)
                      & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)).sum()
            if inside >= allowed:
                out.append(f"{what} lies over {int(inside)} data points of the Axes {_name(ax)}: "
                           "move it outside the Axes (below or beside) or to an empty corner")
    return out


def ambiguous_lines(fig) -> list[str]:
    """Several data lines of one look in one Axes with no legend entry to tell them apart."""
    out = []
    for ax in _data_axes(fig):
        looks: dict[tuple, int] = {}
        for line, _, _ in _data_lines(ax):
            if not str(line.get_label()).startswith("_"):
                continue  # a labelled line: the legend check covers it
            key = (to_rgba(line.get_color()), str(line.get_linestyle()), str(line.get_marker()))
            looks[key] = looks.get(key, 0) + 1
        has_names = ax.get_legend() is not None or bool(ax.texts)
        for _, count in looks.items():
            if count > 1 and not has_names:
                out.append(f"{count} lines of the Axes {_name(ax)} are drawn alike and named "
                           "nowhere: give each a label (legend or direct label) and a colour or "
                           "line style of its own")
    return out


# --------------------------------------------------------------------------- contrast


def low_contrast(fig, renderer, texts: list[Text], printed_scale: float) -> list[str]:
    """Text too close in luminance to what lies under it; lines too pale for the background."""
    out = []
    inside = [t for t in texts if t.axes is not None and t in t.axes.texts]
    background = _background_without(fig, inside) if inside else None
    for text in texts:
        color = text.get_color()
        if text.get_bbox_patch() is not None and text.get_bbox_patch().get_visible():
            under = _over(text.get_bbox_patch().get_facecolor(), _facecolor(text, fig))
        elif background is not None and text in inside:
            under = _median_under(background, text.get_window_extent(renderer), fig)
        else:
            under = _over(fig.get_facecolor(), "white")
        if under is None:
            continue
        ratio = contrast_ratio(_over(color, under), under)
        if ratio < MIN_TEXT_CONTRAST:
            out.append(f"text {_describe(text)} has contrast {ratio:.1f}:1 with what lies under "
                       f"it (at least {MIN_TEXT_CONTRAST:g}:1): choose its colour by the "
                       "background (white on dark cells, black on light)")
    for ax in _data_axes(fig):
        face = _over(ax.get_facecolor(), fig.get_facecolor())
        for line, _, _ in _data_lines(ax):
            if line.get_linestyle() in ("None", "", " ") and line.get_marker() in ("None", ""):
                continue
            width = line.get_linewidth() * printed_scale
            need = 3.0 if width < 0.5 else MIN_LINE_CONTRAST
            ratio = contrast_ratio(_over(line.get_color(), face), face)
            if ratio < need:
                name = str(line.get_label())
                name = "unlabelled" if name.startswith("_") else repr(name)
                out.append(f"a line ({name}, {width:.2g} pt) has contrast {ratio:.2f}:1 with the "
                           f"background (at least {need:g}:1): draw it darker or wider")
    return list(dict.fromkeys(out))


def _facecolor(text: Text, fig):
    return text.axes.get_facecolor() if text.axes is not None else fig.get_facecolor()


def _background_without(fig, texts: list[Text]) -> np.ndarray:
    """The figure rendered without ``texts``: RGB array, rows top to bottom."""
    shown = [t.get_visible() for t in texts]
    try:
        for t in texts:
            t.set_visible(False)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float) / 255
    finally:
        for t, v in zip(texts, shown, strict=True):
            t.set_visible(v)
        fig.canvas.draw()


def _median_under(image: np.ndarray, box, fig):
    height, width = image.shape[:2]
    x0, x1 = int(max(0, box.x0)), int(min(width, box.x1))
    y0, y1 = int(max(0, height - box.y1)), int(min(height, height - box.y0))
    if x1 <= x0 or y1 <= y0:
        return None
    return np.median(image[y0:y1, x0:x1].reshape(-1, 3), axis=0)
