"""Thesis figures: Axes-level helpers, one theme, one colour per label.

Every ``plot_*`` helper takes numpy arrays or pandas tables first, keyword-only options
after, draws on ``ax`` (or on a new figure when ``ax`` is None) and returns the Axes it drew
on. Nothing here calls ``show()`` or ``savefig()``; :func:`save_figure` is the one helper that
writes files. Helpers never draw on pyplot's "current" Axes: without ``ax`` they open a new
figure with ``plt.subplots`` (so Jupyter displays it), sized for a thesis text width.

Theme
-----
Importing this module changes nothing. Call :func:`set_theme` once at the top of a notebook
to apply the shared seaborn theme (white grid, colour-blind-safe palette, paper-sized fonts,
TrueType fonts in PDF) to every later figure, or scope it with
``matplotlib.rc_context(theme_rc())``. The helpers draw with whatever rcParams are in force,
so figures made with and without the theme stay consistent within one notebook.

Colours
-------
:func:`label_colors` gives each label the same colour in every figure, whichever other
labels share the figure: a colour of :data:`LABEL_PALETTE` (10 colours at least 12
CIEDE2000 apart under simulated protanopia, deuteranopia and tritanopia, :func:`simulate_cvd`)
chosen from the label's name (:data:`PINNED_LABELS` first, then the AudioSet class index,
then a SHA-1 hash). Ten colours cannot tell apart more labels, so labels that share a colour
in one figure take a second cue from :func:`label_styles`: a marker shape
(:data:`MARKERS`), a line style (:data:`LINE_STYLES`; lines of one lightness also differ, so
the figure reads in greyscale) or a hatch; never two labels one look. Pass ``colors=`` (a
label -> colour mapping) to a helper to choose colours yourself.

Random weights
--------------
Figures computed with random weights (``meta["random_weights"]``) must say so: pass their
titles through :func:`random_weights_title`. With ``title=False`` (caption mode: the
thesis caption carries the title) a helper writes a small "random weights" stamp instead.

Sizes
-----
:data:`FIGURE_WIDTHS` names the widths a thesis or paper needs ("full" 6.3 in, "half",
"column" 3.5 in, "double" 7.16 in); helpers size new figures to their content, at most
:data:`FIGURE_HEIGHT_MAX` tall; :func:`save_figure` writes exactly the size asked.

Layout
------
The modules behind this one are private; import from ``asttools.plots``. ``_theme``
(theme, thesis widths, titles), ``_colors`` (one colour per label), ``_audio`` (waveform,
filterbank, patch grid, position similarity), ``_predictions`` (top-k, label timeline),
``_embeddings`` (embedding map, explained variance), ``_evaluation`` (AP per class,
confusion matrix, PR curves), ``_missing`` (clips without audio: the robustness curve,
time-aligned embeddings on the video's clock), ``_saving`` (:func:`save_figure`) and
``_util`` (helpers they share). The helpers draw what other modules compute: the embedding
map comes from :func:`asttools.analysis.reduce.embedding_map`, the PR curves and their AP from
:func:`asttools.analysis.metrics.pr_curves`, the robustness curve from
:func:`asttools.analysis.robustness.robustness_curve`, time-aligned embeddings from
:func:`asttools.timestamp_embeddings`.
"""

from __future__ import annotations

from ._audio import (
    patch_grid_shape,
    plot_fbank,
    plot_patch_grid,
    plot_position_similarity,
    plot_waveform,
)
from ._check import MIN_FONT_PT, assert_figure_ok, check_figure
from ._colors import (
    CVD_KINDS,
    LABEL_PALETTE,
    LINE_STYLES,
    MARKERS,
    MIN_COLOR_DISTANCE,
    MIN_CVD_DISTANCE,
    PINNED_LABELS,
    delta_e,
    figure_colors,
    label_colors,
    label_styles,
    simulate_cvd,
    srgb_to_lab,
)
from ._embeddings import (
    MARKER_SHAPES,
    plot_embedding_grid,
    plot_embedding_map,
    plot_explained_variance,
)
from ._evaluation import (
    NORMALIZE_CHOICES,
    plot_confusion_matrix,
    plot_metrics,
    plot_per_class_ap,
    plot_pr_curves,
    plot_pr_grid,
)
from ._missing import (
    FILL_COLORS,
    FILL_MARKERS,
    ROBUSTNESS_FEATURES,
    plot_robustness,
    plot_timestamp_embeddings,
)
from ._predictions import TIMELINE_KINDS, plot_label_timeline, plot_top_k, plot_top_k_grid
from ._saving import save_figure
from ._theme import (
    FIGURE_HEIGHT_MAX,
    FIGURE_WIDTHS,
    THESIS_FONTS,
    label_panels,
    random_weights_title,
    set_theme,
    theme_rc,
)

__all__ = [
    "THESIS_FONTS",
    "label_panels",
    "FIGURE_HEIGHT_MAX",
    "plot_pr_grid",
    "simulate_cvd",
    "label_styles",
    "MIN_CVD_DISTANCE",
    "MARKERS",
    "LINE_STYLES",
    "CVD_KINDS",
    "FIGURE_WIDTHS",
    "FILL_COLORS",
    "FILL_MARKERS",
    "LABEL_PALETTE",
    "MARKER_SHAPES",
    "MIN_COLOR_DISTANCE",
    "MIN_FONT_PT",
    "NORMALIZE_CHOICES",
    "PINNED_LABELS",
    "ROBUSTNESS_FEATURES",
    "TIMELINE_KINDS",
    "assert_figure_ok",
    "check_figure",
    "delta_e",
    "figure_colors",
    "label_colors",
    "patch_grid_shape",
    "plot_confusion_matrix",
    "plot_embedding_grid",
    "plot_embedding_map",
    "plot_explained_variance",
    "plot_fbank",
    "plot_metrics",
    "plot_label_timeline",
    "plot_patch_grid",
    "plot_per_class_ap",
    "plot_position_similarity",
    "plot_pr_curves",
    "plot_robustness",
    "plot_timestamp_embeddings",
    "plot_top_k",
    "plot_top_k_grid",
    "plot_waveform",
    "random_weights_title",
    "save_figure",
    "set_theme",
    "srgb_to_lab",
    "theme_rc",
]
