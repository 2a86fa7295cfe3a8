"""The asttools theme (seaborn style, paper context, colour-blind cycle), thesis widths, titles."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import numpy as np
import seaborn as sns
from cycler import cycler
from matplotlib.transforms import ScaledTranslation

from ._colors import LABEL_PALETTE

FIGURE_WIDTHS = {"full": 6.3, "half": 3.1, "column": 3.5, "double": 7.16}
"""Widths in inches: ``"full"`` the text width of an A4 / Letter thesis, ``"half"`` half of
it (two figures side by side), ``"column"`` and ``"double"`` one and two columns of a
two-column paper (IEEE, ACM, Interspeech)."""

FIGURE_HEIGHT_MAX = 8.5
"""Tallest figure in inches: the text block of A4 (9.7 in with 2.5 cm margins) or Letter
(9 in with 1 in margins), less room for the caption."""

_RANDOM_WEIGHTS_SUFFIX = " (random weights)"


THESIS_FONTS = ("STIXGeneral", "DejaVu Serif")
"""Serif fonts of :func:`theme_rc`'s ``thesis=True``: STIX (Times-like, matching LaTeX's
``mathptmx``/``newtx`` and STIX text) and DejaVu Serif, both shipped inside matplotlib
(``matplotlib/mpl-data/fonts/ttf``; STIX under the SIL Open Font License, DejaVu under the
Bitstream Vera licence), so a figure looks the same on every machine."""

SANS_FONTS = ("DejaVu Sans",)
"""Sans-serif font of the default theme: shipped inside matplotlib, the same everywhere
(not Arial on one machine and DejaVu on another)."""


def theme_rc(
    *, context: str = "paper", font_scale: float = 1.0, style: str = "whitegrid",
    thesis: bool = False,
) -> dict[str, Any]:
    """Return the rcParams of the asttools theme, without applying them.

    Parameters
    ----------
    context : {"paper", "notebook", "talk", "poster"}
        seaborn plotting context: sets font sizes and line widths. ``"paper"`` gives
        9-10 pt text, right for figures printed at thesis text width.
    font_scale : float
        Multiplies every font size of the context.
    style : {"whitegrid", "ticks", "white", "darkgrid", "dark"}
        seaborn axes style.
    thesis : bool
        The thesis preset: serif text in STIX (:data:`THESIS_FONTS`, bundled with
        matplotlib) with STIX mathematics, to match a LaTeX document set in Times-like type,
        and the "ticks" style (no grid behind the data).

    Returns
    -------
    dict
        rcParams: the seaborn style and context, the colour-blind palette as the colour
        cycle, TrueType (Type 42) fonts in PDF/PS, 300-dpi saving.

    Examples
    --------
    >>> import matplotlib
    >>> with matplotlib.rc_context(theme_rc(context="talk")):
    ...     pass  # figures made here use the theme
    """

    rc: dict[str, Any] = {}
    rc.update(sns.axes_style(style))
    rc.update(sns.plotting_context(context, font_scale=font_scale))
    rc.update(
        {
            "axes.prop_cycle": cycler(color=list(LABEL_PALETTE[:10])),
            "image.cmap": "magma",
            "legend.frameon": False,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "savefig.dpi": 300,
            "font.family": "sans-serif",
            "font.sans-serif": list(SANS_FONTS),
            "mathtext.fontset": "dejavusans",
        }
    )
    if thesis:
        rc.update(sns.axes_style("ticks"))
        rc.update({"font.family": "serif", "font.serif": list(THESIS_FONTS),
                   "mathtext.fontset": "stix", "axes.spines.top": False,
                   "axes.spines.right": False})
    return rc


def set_theme(*, context: str = "paper", font_scale: float = 1.0, style: str = "whitegrid",
              thesis: bool = False) -> None:
    """Apply the asttools theme to every figure made afterwards.

    Call it once at the top of a notebook; nothing in asttools calls it for you. It
    updates ``matplotlib.rcParams`` (as ``seaborn.set_theme`` does); use
    ``matplotlib.rc_context(theme_rc())`` to scope the theme instead.

    Parameters
    ----------
    context : {"paper", "notebook", "talk", "poster"}
        seaborn plotting context (font sizes, line widths).
    font_scale : float
        Multiplies every font size.
    style : {"whitegrid", "ticks", "white", "darkgrid", "dark"}
        seaborn axes style.
    thesis : bool
        The serif thesis preset (see :func:`theme_rc`).

    Examples
    --------
    >>> from asttools import plots
    >>> plots.set_theme(context="paper")
    """

    mpl.rcParams.update(theme_rc(context=context, font_scale=font_scale, style=style,
                                 thesis=thesis))


def random_weights_title(title: str | None, *, random_weights: bool) -> str:
    """Mark a figure title as computed with random weights.

    Parameters
    ----------
    title : str or None
        The title.
    random_weights : bool
        Whether the numbers in the figure came from a model with random weights (for an
        :class:`EmbeddingResult`, ``result.meta["random_weights"]``).

    Returns
    -------
    str
        ``title + " (random weights)"`` when ``random_weights`` is true (``"Random
        weights"`` for an empty title; never appended twice; a title that already ends in
        parentheses takes ``"; random weights"`` inside them), else ``title`` unchanged
        (``""`` for None).

    Examples
    --------
    >>> random_weights_title("Top 5 labels", random_weights=True)
    'Top 5 labels (random weights)'
    >>> random_weights_title("t-SNE (perplexity 10)", random_weights=True)
    't-SNE (perplexity 10; random weights)'
    >>> random_weights_title("Top 5 labels", random_weights=False)
    'Top 5 labels'
    """
    title = title or ""
    if not random_weights:
        return title
    if not title:
        return "Random weights"
    if title.endswith(_RANDOM_WEIGHTS_SUFFIX) or title.endswith("; random weights)"):
        return title
    if title.endswith(")") and "(" in title.rsplit("\n", 1)[-1]:
        return title[:-1] + "; random weights)"
    return title + _RANDOM_WEIGHTS_SUFFIX



def label_panels(axes, *, start: str = "a", template: str = "({})", **text_kw) -> list:
    """Write panel letters, (a), (b), ..., at the upper left of each Axes, outside it.

    Parameters
    ----------
    axes : Figure, Axes or sequence of Axes
        The panels in reading order (a figure: its Axes that are not colour bars).
    start : str
        The first letter.
    template : str
        How a letter is written, e.g. ``"({})"`` or ``"{}."``.
    **text_kw
        Passed to ``Axes.text`` (default: bold, the title's size).

    Returns
    -------
    list of matplotlib.text.Text
        The letters.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, axes = plt.subplots(1, 2, layout="constrained")
    >>> [t.get_text() for t in label_panels(axes)]
    ['(a)', '(b)']
    """
    if hasattr(axes, "axes") and not hasattr(axes, "transAxes"):  # a figure
        axes = [ax for ax in axes.axes if ax.get_label() != "<colorbar>"
                and getattr(ax, "_colorbar", None) is None and ax.get_visible()]
    elif hasattr(axes, "transAxes"):
        axes = [axes]
    else:
        axes = [ax for ax in np.ravel(axes) if ax.get_visible()]
    kw = {"fontweight": "bold", "fontsize": mpl.rcParams["axes.titlesize"], "ha": "left",
          "va": "bottom", **text_kw}
    out = []
    for i, ax in enumerate(axes):  # above the top left corner, clear of the tick labels
        above = ScaledTranslation(0.0, 5 / 72, ax.figure.dpi_scale_trans)
        out.append(ax.text(0.0, 1.0, template.format(chr(ord(start) + i)),
                           transform=ax.transAxes + above, **kw))
    return out
