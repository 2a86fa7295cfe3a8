"""Helpers the plot modules share: a new Axes, checked inputs, colours, wrapped labels.

Private to :mod:`asttools.plots`: its modules import these names, nothing else does.
"""

from __future__ import annotations

import textwrap
from collections.abc import Hashable, Iterable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import ScaledTranslation

from ..errors import ParameterError
from ..labels import short_label
from ._colors import LINE_STYLES, MARKERS, figure_colors, label_styles
from ._theme import FIGURE_HEIGHT_MAX, FIGURE_WIDTHS, random_weights_title

DEFAULT_WIDTH = FIGURE_WIDTHS["full"]
"""Width in inches of a helper's new figure unless it sizes its own: the thesis text width."""

MAX_HEIGHT = FIGURE_HEIGHT_MAX
"""Tallest figure a helper draws, in inches: an A4/Letter text block less a caption."""

WRAP_WIDTH = 28
"""Characters per line of a wrapped class name (tick labels, legends)."""


def colors_for(labels: Iterable[Hashable], colors: Mapping | None) -> dict:
    """``figure_colors(labels)``, or the user's ``colors`` for the same labels (all needed)."""
    out = figure_colors(labels)
    if colors is not None:
        missing = [label for label in out if label not in colors]
        if missing:
            raise ParameterError(f"colors has no colour for the labels {missing[:5]}")
        out = {label: colors[label] for label in out}
    return out


def label_looks(labels: Iterable[Hashable], colors: Mapping | None = None, *,
                lines: bool = False) -> dict:
    """``{label: (colour, marker, linestyle)}``: each label's own colour (the same in every
    figure, :func:`label_colors`) and a second cue that tells apart labels of one colour
    (:func:`label_styles`). With the user's ``colors``, those colours and the first style,
    unless two labels would look alike."""
    styles = label_styles(labels, lines=lines)
    if colors is not None:
        missing = [label for label in styles if label not in colors]
        if missing:
            raise ParameterError(f"colors has no colour for the labels {missing[:5]}")
        seen: dict = {}
        for label in styles:
            color = colors[label]
            style = seen.get(color, -1) + 1
            seen[color] = style
            styles[label] = (color, style)
    return {label: (color, MARKERS[style % len(MARKERS)], LINE_STYLES[style % len(LINE_STYLES)])
            for label, (color, style) in styles.items()}


def first_cycle_color():
    """The first colour of the colour cycle in force (the theme's blue)."""
    return mpl.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])[0]


def new_axes(ax, figsize: tuple[float, float]):
    """Return ``ax``, or the Axes of a new constrained-layout figure when ``ax`` is None."""
    if ax is not None:
        return ax

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def as_array(x, name: str, *, ndim: int, dtype=np.float64) -> np.ndarray:
    """``np.asarray`` (torch tensors included) with a dimension check naming ``name``."""
    if hasattr(x, "detach"):  # a torch tensor: no torch import needed here
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim != ndim:
        raise ParameterError(f"{name} must be {ndim}-dimensional, given {name}.shape={arr.shape}")
    return arr


def require_columns(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise a ParameterError naming ``name`` unless ``table`` is a DataFrame with ``columns``."""
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"{name} must be a pandas DataFrame, given {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError(f"{name} lacks the columns {missing}; it has {list(table.columns)}")


def wrap(label: str) -> str:
    """Break a long class name (``"Bird vocalization, bird call, bird song"``) into lines."""
    return textwrap.fill(label, WRAP_WIDTH, break_long_words=False)


FIT_CHARS = 24
"""Characters of a class name on one line where many rows share a figure."""


def fit_name(name: str, chars: int = FIT_CHARS) -> str:
    """A class name on one line: cut at its first comma (:func:`asttools.labels.short_label`)
    and, past ``chars`` characters, ended with an ellipsis."""
    short = short_label(name)
    return short if len(short) <= chars else short[: chars - 1].rstrip() + "\u2026"


def short_name(name: str, width: float) -> str:
    """A class name for a panel ``width`` inches wide: cut at its first comma
    (:func:`asttools.labels.short_label`), then wrapped to two lines, with an ellipsis
    past them."""
    size = FontProperties(size="x-small").get_size_in_points()
    chars = max(8, int(width * 72 / (0.55 * size)))
    lines = textwrap.wrap(short_label(name), chars, break_long_words=True)
    if len(lines) > 2:
        lines = [lines[0], lines[1][: max(1, chars - 1)].rstrip() + "\u2026"]
    return "\n".join(lines) or str(name)


def legend_columns(names: Sequence[str], width: float = DEFAULT_WIDTH) -> int:
    """How many legend columns of these names fit across ``width`` inches (x-small text)."""
    size = FontProperties(size="x-small").get_size_in_points()
    longest = max((len(name) for name in names), default=1)
    column = (longest * 0.52 * size + 18) / 72  # text, handle and spacing, inches
    return max(1, min(len(names), int(width * 0.95 // column)))


def legend_below(ax, **kwargs):
    """A legend under the Axes, below its tick labels and x label (constrained layout makes
    room): for many entries, in columns, where a legend beside would squeeze the Axes."""
    rc = mpl.rcParams
    size = FontProperties(size=rc["xtick.labelsize"]).get_size_in_points()
    label = FontProperties(size=rc["axes.labelsize"]).get_size_in_points()
    shown = bool(ax.get_xticklabels()) and any(t.get_text() for t in ax.get_xticklabels())
    drop = (1.25 * size + rc["xtick.major.pad"] + rc["xtick.major.size"] if shown else 0.0)
    drop += (1.25 * label + rc["axes.labelpad"] if ax.get_xlabel() else 0.0) + 3.0
    offset = ScaledTranslation(0.0, -drop / 72, ax.figure.dpi_scale_trans)
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0),
                     bbox_transform=ax.transAxes + offset, borderaxespad=0.0, **kwargs)


def legend_outside(ax, **kwargs):
    """A legend to the right of the Axes (constrained layout and tight bbox make room)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def is_bottom(ax) -> bool:
    """Whether ``ax`` is in the bottom row of its grid (or in no grid): it carries the x label."""
    spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
    return spec is None or spec.is_last_row()


def set_title(ax, title: str | None, meta: Mapping | None = None) -> None:
    """Title an Axes, saying "(random weights)" when ``meta`` says the weights were random.

    For figures whose content depends on the model's weights; a waveform or a filterbank
    does not, so those helpers take no ``meta``.
    """
    random = bool((meta or {}).get("random_weights"))
    if title is False:  # caption mode: the caption carries the title
        if random:
            stamp_random_weights(ax)
        return
    text = random_weights_title(title, random_weights=random)
    if text:
        ax.set_title(wrap_title(ax, text))


def stamp_random_weights(ax) -> None:
    """A small "random weights" stamp above the Axes' right corner (caption mode)."""
    ax.text(1.0, 1.01, "random weights", transform=ax.transAxes, ha="right", va="bottom",
            fontsize="x-small", fontstyle="italic", color="0.3", gid="random-weights-stamp")


def wrap_title(ax, text: str, *, share: float = 0.6) -> str:
    """Break a title into lines that fit over the Axes.

    ``share``: the part of the figure's width the title may take (0.6 leaves room for a
    legend or colour bar beside the Axes, which the layout adds later). A line too long
    for it breaks before a
    parenthesis where both parts fit ("t-SNE of [cls] embeddings" / "(perplexity 9, seed
    0; random weights)"), else into lines of similar length.
    """
    size = FontProperties(size=mpl.rcParams["axes.titlesize"]).get_size_in_points()
    width = share * ax.figure.get_figwidth() * 72 / (0.55 * size)  # characters
    return "\n".join(_balanced(line, max(20, int(width))) for line in text.split("\n"))


def _balanced(line: str, width: int) -> str:
    """``line`` in as few lines of at most ``width`` characters as fit: broken before a
    parenthesis when that gives two lines that fit, else lines of similar lengths (no lone
    last word: "... (28 clips; random" / "weights)")."""
    if len(line) <= width:
        return line
    cut = line.find(" (")
    if 0 < cut and cut <= width and len(line) - cut - 1 <= width:
        return line[:cut] + "\n" + line[cut + 1:]
    lines = textwrap.wrap(line, width, break_long_words=False)
    if len(lines) <= 1:
        return line
    for narrower in range(-(-len(line) // len(lines)), width + 1):
        balanced = textwrap.wrap(line, narrower, break_long_words=False)
        if len(balanced) == len(lines):
            return "\n".join(balanced)
    return "\n".join(lines)
