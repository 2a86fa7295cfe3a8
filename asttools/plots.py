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
labels share the figure. The 32 AudioSet classes in :data:`PINNED_LABELS` (those of the
bundled example data and some of the most common) have 32 distinct colours; any other
AudioSet class takes the colour at its class index modulo 32 in :data:`LABEL_PALETTE`, and
any other label a colour chosen by a SHA-1 hash of its name. Stable colours cannot also be
unique: outside the pinned classes, two labels share a colour with probability about 1/32.
Pass ``colors=`` (a label -> colour mapping) to a helper when one figure needs
guaranteed-distinct colours.

Random weights
--------------
Figures computed with random weights (``meta["random_weights"]``) must say so: pass their
titles through :func:`random_weights_title`.
"""

from __future__ import annotations

import hashlib
import textwrap
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ASTToolsWarning, ParameterError

__all__ = [
    "EMBEDDING_MAP_METHODS",
    "FIGURE_WIDTHS",
    "LABEL_PALETTE",
    "PINNED_LABELS",
    "TIMELINE_KINDS",
    "embedding_map",
    "label_colors",
    "patch_grid_shape",
    "plot_confusion_matrix",
    "plot_embedding_map",
    "plot_explained_variance",
    "plot_fbank",
    "plot_label_timeline",
    "plot_patch_grid",
    "plot_per_class_ap",
    "plot_position_similarity",
    "plot_pr_curves",
    "plot_top_k",
    "plot_waveform",
    "random_weights_title",
    "save_figure",
    "set_theme",
    "theme_rc",
]

EMBEDDING_MAP_METHODS = ("tsne", "pca", "umap")
"""Methods :func:`embedding_map` knows."""

TIMELINE_KINDS = ("lines", "heatmap")
"""Kinds :func:`plot_label_timeline` draws."""

FIGURE_WIDTHS = {"full": 6.3, "half": 3.1}
"""Thesis widths in inches: the text width of an A4 / letter thesis, and half of it."""

LABEL_PALETTE = (
    # seaborn's "colorblind" palette without its yellow (hard to see on white) ...
    "#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
    "#ca9161", "#fbafe4", "#949494", "#56b4e9",
    # ... then colours chosen greedily for the largest CIELAB distance to those before them
    # (lightness 32-72, chroma 20-65: visible on white, not neon), and the yellow last.
    "#a60037", "#647a00", "#59379b", "#644364", "#005959", "#594e21", "#7a90ff",
    "#ff8590", "#90006f", "#85370b", "#9bb17a", "#64bc59", "#005916", "#59bcbc",
    "#9b5959", "#de4385", "#bca637", "#9b90c8", "#906400", "#de6f4e", "#d390ff",
    "#597a59", "#ece133",
)  # fmt: skip
"""The 32 colours :func:`label_colors` draws from; the first 9 are colour-blind safe."""

PINNED_LABELS = (
    # the classes of the bundled data (data/example, data/samples), the ones most often
    # plotted together first, so that they take the most distinct colours ...
    "Speech", "Music", "Bird", "Siren", "Sine wave", "Chirp tone", "Beep, bleep", "Silence",
    "White noise", "Pink noise", "Clicking",
    "Female speech, woman speaking", "Narration, monologue", "Jazz", "Orchestra",
    "Bowed string instrument", "Classical music", "Bird vocalization, bird call, bird song",
    "Chirp, tweet",
    # ... then some of AudioSet's most common classes.
    "Male speech, man speaking", "Child speech, kid speaking", "Conversation", "Singing",
    "Musical instrument", "Guitar", "Vehicle", "Car", "Animal", "Dog", "Cat",
    "Inside, small room", "Noise",
)  # fmt: skip
"""AudioSet classes with a colour of their own: ``PINNED_LABELS[i]`` is ``LABEL_PALETTE[i]``."""

_RANDOM_WEIGHTS_SUFFIX = " (random weights)"
_DEFAULT_WIDTH = FIGURE_WIDTHS["full"]


# --------------------------------------------------------------------------- theme


def theme_rc(
    *, context: str = "paper", font_scale: float = 1.0, style: str = "whitegrid"
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
    import seaborn as sns
    from cycler import cycler

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
        }
    )
    return rc


def set_theme(*, context: str = "paper", font_scale: float = 1.0, style: str = "whitegrid") -> None:
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

    Examples
    --------
    >>> from asttools import plots
    >>> plots.set_theme(context="paper")
    """
    import matplotlib as mpl

    mpl.rcParams.update(theme_rc(context=context, font_scale=font_scale, style=style))


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
        weights"`` for an empty title; never appended twice), else ``title`` unchanged
        (``""`` for None).

    Examples
    --------
    >>> random_weights_title("Top 5 labels", random_weights=True)
    'Top 5 labels (random weights)'
    >>> random_weights_title("Top 5 labels", random_weights=False)
    'Top 5 labels'
    """
    title = title or ""
    if not random_weights:
        return title
    if not title:
        return "Random weights"
    if title.endswith(_RANDOM_WEIGHTS_SUFFIX):
        return title
    return title + _RANDOM_WEIGHTS_SUFFIX


# --------------------------------------------------------------------------- colours


@lru_cache(maxsize=1)
def _audioset_index() -> dict[str, int]:
    """Map each AudioSet display name and mid to its class index (0..526)."""
    from .labels import audioset_labels

    table = audioset_labels()
    index = [int(i) for i in table["index"]]
    return {
        **dict(zip(map(str, table["display_name"]), index, strict=True)),
        **dict(zip(map(str, table["mid"]), index, strict=True)),
    }


@lru_cache(maxsize=1)
def _pinned_slots() -> dict[int, int]:
    """AudioSet class index -> palette slot, for :data:`PINNED_LABELS`."""
    index = _audioset_index()
    return {index[name]: slot for slot, name in enumerate(PINNED_LABELS)}


def _label_color(label: Hashable) -> str:
    name = str(label)
    i = _audioset_index().get(name)
    if i is None:
        i = int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:8], "big")
    elif i in _pinned_slots():
        return LABEL_PALETTE[_pinned_slots()[i]]
    return LABEL_PALETTE[i % len(LABEL_PALETTE)]


def label_colors(labels: Iterable[Hashable]) -> dict[Hashable, str]:
    """Give each label the colour it has in every asttools figure.

    The classes of :data:`PINNED_LABELS` (by display name or mid) take 32 distinct colours;
    any other AudioSet class takes ``LABEL_PALETTE[class_index % 32]`` (classes next to
    each other in the AudioSet table, often related and seen together, get different
    colours); any other label takes a colour chosen by the SHA-1 of ``str(label)``, the
    same in every Python process. The colour of a label never depends on the other labels.

    Parameters
    ----------
    labels : iterable of hashable
        Labels, repeats allowed (e.g. one per row of a table).

    Returns
    -------
    dict
        ``{label: "#rrggbb"}`` for each distinct label, in order of first appearance;
        usable as seaborn's ``palette=``.

    Notes
    -----
    Outside the pinned classes, two labels share a colour with probability about 1/32
    (a pinned class can share its colour with an unpinned one). When one figure needs distinct
    colours, build the mapping yourself (e.g.
    ``dict(zip(names, seaborn.color_palette("colorblind")))``) and pass it as ``colors=``.

    Examples
    --------
    >>> colors = label_colors(["Speech", "Music", "my own class"])
    >>> colors["Speech"], colors["Music"]
    ('#0173b2', '#de8f05')
    >>> label_colors(["Music"])["Music"] == colors["Music"]
    True
    """
    return {label: _label_color(label) for label in dict.fromkeys(labels)}


def _colors_for(labels: Iterable[Hashable], colors: Mapping | None) -> dict:
    out = label_colors(labels)
    if colors is not None:
        missing = [label for label in out if label not in colors]
        if missing:
            raise ParameterError(f"colors has no colour for the labels {missing[:5]}")
        out = {label: colors[label] for label in out}
    return out


# --------------------------------------------------------------------------- helpers


def _new_axes(ax, figsize: tuple[float, float]):
    """Return ``ax``, or the Axes of a new constrained-layout figure when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _array(x, name: str, *, ndim: int, dtype=np.float64) -> np.ndarray:
    """``np.asarray`` (torch tensors included) with a dimension check naming ``name``."""
    if hasattr(x, "detach"):  # a torch tensor: no torch import needed here
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim != ndim:
        raise ParameterError(f"{name} must be {ndim}-dimensional, given {name}.shape={arr.shape}")
    return arr


def _require_columns(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"{name} must be a pandas DataFrame, given {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError(f"{name} lacks the columns {missing}; it has {list(table.columns)}")


_WRAP_WIDTH = 28


def _wrap(label: str) -> str:
    """Break a long class name (``"Bird vocalization, bird call, bird song"``) into lines."""
    return textwrap.fill(label, _WRAP_WIDTH, break_long_words=False)


def _legend_outside(ax, **kwargs):
    """A legend to the right of the Axes (constrained layout and tight bbox make room)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


# --------------------------------------------------------------------------- audio


_WAVEFORM_MAX_POINTS = 8000


def plot_waveform(wav, *, sr: int = 16000, ax=None, title: str | None = None, color=None):
    """Plot a mono waveform against time in seconds.

    Long clips are drawn as their per-pixel-column minimum/maximum envelope (at most 4000
    columns), which looks the same as every sample drawn and keeps a PDF small.

    Parameters
    ----------
    wav : ndarray, shape (n_samples,)
        The waveform (e.g. from ``asttools.load_audio``); a CPU torch tensor also works.
    sr : int
        Sample rate in Hz.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 1.8 in figure when None.
    title : str, optional
        Axes title.
    color : matplotlib colour, optional
        Line colour; the first colour of the colour cycle ("C0") when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ParameterError
        ``wav`` is not 1-D or ``sr`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> ax = plot_waveform(np.sin(2 * np.pi * 440 * t), sr=16000)
    """
    wav = _array(wav, "wav", ndim=1)
    if sr <= 0:
        raise ParameterError(f"sr must be positive, given sr={sr}")
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 1.8))
    n = wav.shape[0]
    duration = n / sr
    if color is None:
        color = "C0"
    if n > _WAVEFORM_MAX_POINTS:
        n_cols = _WAVEFORM_MAX_POINTS // 2
        edges = np.linspace(0, n, n_cols + 1).astype(int)
        lo = np.minimum.reduceat(wav, edges[:-1])
        hi = np.maximum.reduceat(wav, edges[:-1])
        t = (edges[:-1] + edges[1:]) / 2 / sr
        ax.fill_between(t, lo, hi, color=color, linewidth=0.3, edgecolor=color)
    else:
        ax.plot(np.arange(n) / sr, wav, color=color, linewidth=0.6)
    ax.set_xlim(0, duration if n else 1.0)
    peak = float(np.max(np.abs(wav))) if n else 0.0
    lim = 1.05 * peak if peak > 0 else 1.0
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Amplitude")
    if title:
        ax.set_title(title)
    return ax


def _draw_fbank(ax, fbank: np.ndarray, *, frame_shift_s: float, cmap: str):
    n_frames, n_mel = fbank.shape
    image = ax.imshow(
        fbank.T,
        origin="lower",
        aspect="auto",
        cmap=cmap,
        interpolation="nearest",
        extent=(0.0, n_frames * frame_shift_s, -0.5, n_mel - 0.5),
    )
    ax.grid(False)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Mel bin")
    return image


def _check_fbank(fbank, frame_shift_s: float) -> np.ndarray:
    if hasattr(fbank, "detach"):
        fbank = fbank.detach().cpu().numpy()
    fbank = np.asarray(fbank, dtype=np.float64)
    if fbank.ndim != 2:
        raise ParameterError(
            f"fbank must be 2-D (n_frames, n_mel), given fbank.shape={fbank.shape}; "
            "for a batch pass one item, e.g. fbank[0]"
        )
    if frame_shift_s <= 0:
        raise ParameterError(f"frame_shift_s must be positive, given {frame_shift_s}")
    return fbank


def plot_fbank(
    fbank,
    *,
    frame_shift_s: float = 0.01,
    ax=None,
    title: str | None = None,
    cmap: str = "magma",
    colorbar: bool = True,
):
    """Plot a log-mel filterbank (the AST input) as an image.

    Parameters
    ----------
    fbank : ndarray, shape (n_frames, n_mel)
        One item's filterbank, e.g. ``(1024, 128)`` from ``asttools.features.fbank(...)[0]``.
    frame_shift_s : float
        Seconds between frames (AST: 10 ms).
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 2.6 in figure when None.
    title : str, optional
        Axes title.
    cmap : str
        Colour map.
    colorbar : bool
        Add a colour bar (taking room from ``ax``).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: x is time in seconds, y the mel bin index (low frequencies at
        the bottom).

    Raises
    ------
    ParameterError
        ``fbank`` is not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_fbank(np.random.default_rng(0).normal(size=(1024, 128)))
    """
    fbank = _check_fbank(fbank, frame_shift_s)
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 2.6))
    image = _draw_fbank(ax, fbank, frame_shift_s=frame_shift_s, cmap=cmap)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="Log mel energy", pad=0.01)
    if title:
        ax.set_title(title)
    return ax


def patch_grid_shape(
    n_frames: int, n_mel: int, *, patch: int = 16, fstride: int = 10, tstride: int = 10
) -> tuple[int, int]:
    """Count the AST patches along frequency and time.

    Parameters
    ----------
    n_frames, n_mel : int
        Filterbank size (AST: 1024 frames x 128 mel bins).
    patch : int
        Patch side in frames and bins (AST: 16).
    fstride, tstride : int
        Patch strides along frequency and time (AST: 10 and 10).

    Returns
    -------
    (f, t) : tuple of int
        ``f = (n_mel - patch) // fstride + 1``, ``t = (n_frames - patch) // tstride + 1``;
        (12, 101) for AST, 1212 patches in all.

    Raises
    ------
    ParameterError
        A size is smaller than one patch, or a stride is not positive.

    Examples
    --------
    >>> patch_grid_shape(1024, 128)
    (12, 101)
    """
    if patch <= 0 or fstride <= 0 or tstride <= 0:
        raise ParameterError(
            f"patch and strides must be positive, given patch={patch}, "
            f"fstride={fstride}, tstride={tstride}"
        )
    if n_frames < patch or n_mel < patch:
        raise ParameterError(
            f"a {n_frames} x {n_mel} filterbank is smaller than one {patch} x {patch} patch"
        )
    return (n_mel - patch) // fstride + 1, (n_frames - patch) // tstride + 1


def plot_patch_grid(
    fbank,
    *,
    patch: int = 16,
    fstride: int = 10,
    tstride: int = 10,
    frame_shift_s: float = 0.01,
    ax=None,
    values=None,
    alpha: float = 0.5,
    title: str | None = None,
    cmap: str = "magma",
    values_cmap: str = "viridis",
    values_label: str = "Patch value",
    colorbar: bool = True,
):
    """Plot a filterbank with the AST patch grid, or per-patch values, over it.

    Without ``values`` the grid lines mark where patches start (every ``tstride`` frames,
    every ``fstride`` mel bins; patches are ``patch`` wide, so neighbours overlap by
    ``patch - stride``) and the first patch is outlined at full size; the uncovered
    edge (frames or bins past the last patch) is shaded. With ``values`` (e.g. the
    attention of [CLS] to each patch) each patch's value is drawn as a cell centred on the
    patch centre, one stride wide, over a grey spectrogram. At 10.24 s the 101 patch
    columns are dense; ``ax.set_xlim(0, 1)`` on the returned Axes shows single patches.

    Parameters
    ----------
    fbank : ndarray, shape (n_frames, n_mel)
        One item's filterbank, e.g. ``(1024, 128)``.
    patch : int
        Patch side (AST: 16).
    fstride, tstride : int
        Patch strides along frequency and time (AST: 10, 10).
    frame_shift_s : float
        Seconds between frames.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 2.6 in figure when None.
    values : ndarray, shape (f, t) or (f * t,), optional
        One value per patch, ``(f, t) = patch_grid_shape(n_frames, n_mel, ...)``, e.g.
        (12, 101). A flat array is read in the model's token order (frequency-major:
        token ``i * t + j`` is patch ``(i, j)``).
    alpha : float
        Opacity of the values overlay.
    title : str, optional
        Axes title.
    cmap : str
        Colour map of the spectrogram when ``values`` is None (grey under ``values``).
    values_cmap : str
        Colour map of ``values``.
    values_label : str, default "Patch value"
        Colour-bar label of ``values`` (e.g. "Attention weight").
    colorbar : bool
        Add a colour bar (for ``values`` when given, else for the spectrogram).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ParameterError
        ``fbank`` is not 2-D or ``values`` does not have one value per patch.

    Examples
    --------
    >>> import numpy as np
    >>> fb = np.random.default_rng(0).normal(size=(1024, 128))
    >>> ax = plot_patch_grid(fb)
    >>> ax = plot_patch_grid(fb, values=np.random.default_rng(1).random((12, 101)))
    """
    from matplotlib.patches import Rectangle

    fbank = _check_fbank(fbank, frame_shift_s)
    n_frames, n_mel = fbank.shape
    f, t = patch_grid_shape(n_frames, n_mel, patch=patch, fstride=fstride, tstride=tstride)
    if values is not None:
        values = np.asarray(
            values.detach().cpu().numpy() if hasattr(values, "detach") else values, dtype=float
        )
        if values.shape == (f * t,):
            values = values.reshape(f, t)
        if values.shape != (f, t):
            raise ParameterError(
                f"values must have one value per patch, shape ({f}, {t}) or ({f * t},) for a "
                f"{n_frames} x {n_mel} filterbank, given values.shape={values.shape}"
            )
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 2.6))
    dt = frame_shift_s
    spec = _draw_fbank(ax, fbank, frame_shift_s=dt, cmap="Greys_r" if values is not None else cmap)
    t_end = (t - 1) * tstride + patch  # first frame no patch covers
    f_end = (f - 1) * fstride + patch  # first mel bin no patch covers
    if values is None:
        line = {"color": "white", "linewidth": 0.4, "alpha": 0.5}
        for j in range(t):
            ax.axvline(j * tstride * dt, **line)
        ax.axvline(t_end * dt, **line)
        for i in range(f):
            ax.axhline(i * fstride - 0.5, **line)
        ax.axhline(f_end - 0.5, **line)
        ax.add_patch(
            Rectangle(
                (0.0, -0.5), patch * dt, patch, fill=False, edgecolor="#56b4e9", linewidth=1.5
            )
        )
        shade = {"color": "white", "alpha": 0.35, "linewidth": 0}
        if t_end < n_frames:
            ax.axvspan(t_end * dt, n_frames * dt, **shade)
        if f_end < n_mel:
            ax.axhspan(f_end - 0.5, n_mel - 0.5, **shade)
        mappable = spec
        label = "Log mel energy"
    else:
        half_t, half_f = patch / 2 - tstride / 2, patch / 2 - fstride / 2
        mappable = ax.imshow(
            values,
            origin="lower",
            aspect="auto",
            cmap=values_cmap,
            alpha=alpha,
            interpolation="nearest",
            extent=(
                half_t * dt,
                (half_t + t * tstride) * dt,
                half_f - 0.5,
                half_f + f * fstride - 0.5,
            ),
        )
        label = values_label
        ax.set_xlim(0.0, n_frames * dt)
        ax.set_ylim(-0.5, n_mel - 0.5)
    if colorbar:
        bar = ax.figure.colorbar(mappable, ax=ax, label=label, pad=0.01)
        if values is not None:
            bar.solids.set_alpha(1.0)
    if title:
        ax.set_title(title)
    return ax


def _position_patches(patches, f: int, t: int) -> list[tuple[int, int]]:
    """Normalise ``patches`` (pairs or flat token-order indices) to (i, j) pairs."""
    if patches is None:
        return [(i, j) for i in (f - 1, f // 2, 0) for j in (0, t // 2, t - 1)]
    if isinstance(patches, (int, np.integer)) or (
        isinstance(patches, tuple)
        and len(patches) == 2
        and all(isinstance(v, (int, np.integer)) for v in patches)
    ):
        patches = [patches]
    out = []
    for p in patches:
        if isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_)):
            if not 0 <= p < f * t:
                raise ParameterError(
                    f"patch index {p} is outside the {f} x {t} grid (0 to {f * t - 1})"
                )
            out.append((int(p) // t, int(p) % t))
            continue
        try:
            i, j = (int(v) for v in p)
        except (TypeError, ValueError):
            raise ParameterError(
                f"patches must be (frequency, time) pairs or flat patch indices, given {p!r}"
            ) from None
        if not (0 <= i < f and 0 <= j < t):
            raise ParameterError(
                f"patch ({i}, {j}) is outside the {f} x {t} grid (frequency 0 to {f - 1}, "
                f"time 0 to {t - 1})"
            )
        out.append((i, j))
    if not out:
        raise ParameterError("patches is empty: name at least one patch")
    return out


def plot_position_similarity(
    sim,
    *,
    patches=None,
    ax=None,
    title: str | None = None,
    cmap: str = "RdBu_r",
    vmin: float = -1.0,
    vmax: float = 1.0,
    colorbar: bool = True,
):
    """Plot how similar chosen patches' position embeddings are to every other patch's.

    The figure of the ViT paper (Dosovitskiy et al., 2021, Fig. 7) for AST's wide patch
    grid: each chosen patch gets one strip, the (frequency x time) map of the cosine
    similarity between its learned position embedding and those of all patches, with the
    patch itself circled. Strips are stacked top to bottom in the order of ``patches``;
    within a strip low frequencies are at the bottom, as in a spectrogram. Position
    embeddings that encode the layout show a bright neighbourhood around the circle that
    fades with distance along both axes; random ones show only the circled pixel.

    Parameters
    ----------
    sim : ndarray, shape (f, t, f, t)
        From :func:`asttools.attention.position_similarity`: ``sim[i, j]`` is patch
        ``(i, j)``'s similarity map, (12, 101, 12, 101) for AST.
    patches : sequence of (int, int) or int, optional
        The patches to show, as (frequency index, time index) pairs or flat indices in the
        model's token order (``i * t + j``). Default: nine patches, the top, middle and
        bottom frequency row at the first, middle and last time column.
    ax : matplotlib Axes, optional
        Where to draw; a new figure 6.3 in wide and about 0.45 in per strip when None.
    title : str, optional
        Axes title.
    cmap : str
        A diverging colour map, centred on 0 with the default limits.
    vmin, vmax : float
        Colour limits (cosine similarity lies in [-1, 1]).
    colorbar : bool
        Add a colour bar.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: x is the time patch index, each strip's y tick names its
        patch as ``(frequency, time)``.

    Raises
    ------
    ParameterError
        ``sim`` is not (f, t, f, t), or a patch is outside the grid.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.random.default_rng(0).normal(size=(12 * 101, 8))
    >>> pos /= np.linalg.norm(pos, axis=1, keepdims=True)
    >>> sim = (pos @ pos.T).reshape(12, 101, 12, 101)
    >>> ax = plot_position_similarity(sim, patches=[(0, 0), (11, 100)])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['(0, 0)', '(11, 100)']
    """
    sim = _array(sim, "sim", ndim=4)
    f, t = sim.shape[:2]
    if sim.shape[2:] != (f, t):
        raise ParameterError(
            f"sim must have shape (f, t, f, t) as from asttools.attention.position_similarity, "
            f"given sim.shape={sim.shape}"
        )
    chosen = _position_patches(patches, f, t)
    gap = max(1, f // 4)
    height = len(chosen) * (f + gap) - gap
    image = np.full((height, t), np.nan)
    for k, (i, j) in enumerate(chosen):
        top = k * (f + gap)
        image[top : top + f] = sim[i, j][::-1]  # highest frequency on top
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 0.45 * len(chosen) + 0.9))
    import matplotlib as mpl

    colormap = mpl.colormaps[cmap].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))  # gaps: clear
    mappable = ax.imshow(
        image,
        origin="upper",
        aspect="auto",
        cmap=colormap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        extent=(-0.5, t - 0.5, height - 0.5, -0.5),
    )
    rows = [k * (f + gap) + (f - 1 - i) for k, (i, _) in enumerate(chosen)]
    ax.scatter(
        [j for _, j in chosen], rows, s=28, facecolors="none", edgecolors="black",
        linewidths=1.0, zorder=3, clip_on=False,
    )
    ax.set_yticks([k * (f + gap) + (f - 1) / 2 for k in range(len(chosen))])
    ax.set_yticklabels([f"({i}, {j})" for i, j in chosen])
    ax.set_ylabel("Patch (frequency, time)")
    ax.set_xlabel("Time patch")
    ax.set_xlim(-0.5, t - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.grid(False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if colorbar:
        ax.figure.colorbar(mappable, ax=ax, label="Cosine similarity", pad=0.01)
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- labels


def plot_top_k(
    table: pd.DataFrame, *, ax=None, title: str | None = None, colors: Mapping | None = None
):
    """Plot one clip's top-k labels as horizontal bars, the most probable on top.

    Parameters
    ----------
    table : DataFrame
        Columns ``label`` and ``probability``, one row per label: the output of
        ``asttools.top_k`` for one item (``top[top["item"] == 0]``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure (6.3 in wide, 0.3 in per bar) when None.
    title : str, optional
        Axes title.
    colors : mapping, optional
        Label -> colour; :func:`label_colors` when None.

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
    _require_columns(table, ("label", "probability"), "table")
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
    labels = [str(x) for x in rows["label"]]
    probs = rows["probability"].to_numpy(dtype=float)
    palette = _colors_for(labels, colors)
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 0.6 + 0.3 * len(labels)))
    y = np.arange(len(labels))
    ax.barh(y, probs, color=[palette[label] for label in labels], height=0.7)
    for yi, p in zip(y, probs, strict=True):
        inside = p > 0.85
        ax.text(
            p - 0.01 if inside else p + 0.01,
            yi,
            f"{p:.2f}",
            va="center",
            ha="right" if inside else "left",
            color="white" if inside else "0.2",
            fontsize="small",
        )
    ax.set_yticks(y, [_wrap(label) for label in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("Probability")
    ax.grid(False, axis="y")
    if title:
        ax.set_title(title)
    return ax


def plot_label_timeline(
    probs,
    starts,
    *,
    labels: Sequence[str],
    k: int = 5,
    ends=None,
    kind: str = "lines",
    ax=None,
    title: str | None = None,
    colors: Mapping | None = None,
):
    """Plot label probabilities window by window along a long clip.

    The ``k`` classes with the highest probability in any window are shown, as one line
    each (``kind="lines"``) or as rows of a heatmap (``kind="heatmap"``).

    Parameters
    ----------
    probs : ndarray, shape (n_windows, n_classes)
        Probabilities per window, e.g. ``result.probs`` for the rows of one item.
    starts : ndarray, shape (n_windows,)
        Window start times in seconds (``result.table["start_s"]``).
    labels : sequence of str, length n_classes
        Class names, in column order of ``probs``.
    k : int
        How many classes to show (at most n_classes).
    ends : ndarray, shape (n_windows,), optional
        Window end times in seconds; when given, each window is placed at its centre.
    kind : {"lines", "heatmap"}
        Lines coloured by :func:`label_colors`, or a heatmap (rows in order of peak
        probability).
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 2.4 in figure when None.
    title : str, optional
        Axes title.
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
    if kind not in TIMELINE_KINDS:
        raise ParameterError(f"kind must be one of {TIMELINE_KINDS}, given kind={kind!r}")
    probs = _array(probs, "probs", ndim=2)
    starts = _array(starts, "starts", ndim=1)
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
        ends = _array(ends, "ends", ndim=1)
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
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 2.4))
    if kind == "lines":
        palette = _colors_for(names, colors)
        marker = "o" if n_windows <= 30 else None
        for i, name in zip(order, names, strict=True):
            ax.plot(
                x, probs[:, i], color=palette[name], label=_wrap(name), marker=marker, markersize=3
            )
        ax.set_ylim(0.0, 1.0)
        ax.set_ylabel("Probability")
        _legend_outside(ax)
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
        ax.set_yticks(np.arange(len(order)), [_wrap(name) for name in names])
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.grid(False)
        ax.figure.colorbar(mesh, ax=ax, label="Probability", pad=0.01)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- embeddings


def embedding_map(
    embeddings,
    *,
    method: str = "tsne",
    perplexity: float = 30.0,
    pca_components: int | None = 50,
    seed: int = 0,
) -> np.ndarray:
    """Project embeddings to 2-D for a map: t-SNE, PCA or UMAP.

    For ``"tsne"`` and ``"umap"``, embeddings with more than ``pca_components`` dimensions
    are first reduced by PCA (when there are more than ``pca_components`` points). t-SNE is
    openTSNE's when installed (about 1.8x faster here), else scikit-learn's. Every method
    is seeded: the same input and seed give the same map.

    Parameters
    ----------
    embeddings : ndarray, shape (n, d)
        One embedding per row, e.g. ``result.embeddings`` with ``pooling="cls"``.
    method : {"tsne", "pca", "umap"}
        ``"umap"`` needs ``umap-learn`` (``pip install umap-learn``).
    perplexity : float
        t-SNE perplexity; lowered to ``(n - 1) / 3`` with a warning when ``n`` is too small
        for it.
    pca_components : int or None
        Dimensions kept by the PCA before t-SNE / UMAP; None skips that PCA.
    seed : int
        Random seed.

    Returns
    -------
    ndarray, shape (n, 2), float32
        The map coordinates.

    Raises
    ------
    ParameterError
        Unknown ``method`` (the message lists :data:`EMBEDDING_MAP_METHODS`),
        ``embeddings`` not 2-D, non-finite, or too few rows (t-SNE needs 4, PCA 2, UMAP 3),
        or ``method="umap"`` without umap-learn installed.

    Warns
    -----
    ASTToolsWarning
        ``perplexity`` was lowered.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(40, 768)).astype("float32")
    >>> xy = embedding_map(x, method="pca")
    >>> xy.shape
    (40, 2)
    """
    return _embedding_map(
        embeddings, method=method, perplexity=perplexity, pca_components=pca_components,
        seed=seed, stacklevel=3,
    )  # fmt: skip


def _embedding_map(
    embeddings, *, method: str, perplexity: float, pca_components: int | None, seed: int,
    stacklevel: int,
) -> np.ndarray:  # fmt: skip
    """:func:`embedding_map`, warning ``stacklevel`` frames up (at the user's call)."""
    if method not in EMBEDDING_MAP_METHODS:
        raise ParameterError(
            f"method must be one of {EMBEDDING_MAP_METHODS}, given method={method!r}"
        )
    x = np.asarray(
        embeddings.detach().cpu().numpy() if hasattr(embeddings, "detach") else embeddings
    )
    if x.ndim != 2:
        raise ParameterError(
            f"embeddings must be 2-D (n, d), given embeddings.shape={x.shape}; pool grid "
            "embeddings first (e.g. .mean(axis=(1, 2)))"
        )
    x = x.astype(np.float64 if method == "pca" else np.float32, copy=False)
    n, d = x.shape
    minimum = {"tsne": 4, "pca": 2, "umap": 3}[method]
    if n < minimum:
        raise ParameterError(f"method={method!r} needs at least {minimum} points, given {n}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("embeddings contain NaN or infinite values")
    if pca_components is not None and pca_components < 2:
        raise ParameterError(f"pca_components must be at least 2 or None, given {pca_components}")

    from sklearn.decomposition import PCA

    if method == "pca":
        return PCA(n_components=2, svd_solver="full").fit_transform(x).astype(np.float32)

    if pca_components is not None and d > pca_components and n > pca_components:
        x = PCA(n_components=pca_components, svd_solver="full").fit_transform(x)
        x = x.astype(np.float32)

    if method == "umap":
        try:
            import umap
        except ImportError as exc:
            raise ParameterError(
                "method='umap' needs umap-learn, which is not installed: "
                "pip install umap-learn (or asttools[umap]); method='tsne' needs nothing more"
            ) from exc
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)

    max_perplexity = (n - 1) / 3
    if perplexity > max_perplexity:
        warnings.warn(
            f"perplexity={perplexity} is too large for {n} points; using "
            f"{max_perplexity:.3g} ((n - 1) / 3)",
            ASTToolsWarning,
            stacklevel=stacklevel,
        )
        perplexity = max_perplexity
    if perplexity <= 0:
        raise ParameterError(f"perplexity must be positive, given perplexity={perplexity}")
    try:
        from openTSNE import TSNE as OpenTSNE
    except ImportError:
        from sklearn.manifold import TSNE

        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(x).astype(np.float32)
    tsne = OpenTSNE(n_components=2, perplexity=perplexity, random_state=seed, n_jobs=1)
    return np.asarray(tsne.fit(x), dtype=np.float32)


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
    legend: bool = True,
    colors: Mapping | None = None,
):
    """Plot a 2-D map of embeddings, one colour per label.

    Computes :func:`embedding_map` and scatters it. To draw one map several ways, compute
    it once (``xy = embedding_map(...)``) and plot it with e.g.
    ``seaborn.scatterplot(x=xy[:, 0], y=xy[:, 1], hue=labels, palette=label_colors(labels))``.

    Parameters
    ----------
    embeddings : ndarray, shape (n, d)
        One embedding per row.
    labels : sequence, length n
        The label of each row (e.g. the primary class); colours by :func:`label_colors`.
    method, perplexity, pca_components, seed
        As in :func:`embedding_map`.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 4.2 in figure when None.
    title : str, optional
        Axes title.
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
        ``labels`` does not have one entry per row, or as :func:`embedding_map`.

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
    xy = _embedding_map(
        embeddings, method=method, perplexity=perplexity, pca_components=pca_components,
        seed=seed, stacklevel=3,
    )  # fmt: skip
    palette = _colors_for(labels, colors)
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 4.2))
    label_array = np.array([str(label) for label in labels], dtype=object)
    size = 28 if n <= 100 else 14 if n <= 2000 else 5  # marker area, pt^2
    for label, color in palette.items():
        mask = label_array == str(label)
        ax.scatter(
            xy[mask, 0], xy[mask, 1], s=size, color=color, label=_wrap(str(label)),
            linewidths=0.3, edgecolors="white", alpha=0.9,
        )  # fmt: skip
    name = _AXIS_NAMES[method]
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    if method != "pca":  # t-SNE / UMAP coordinates mean nothing on their own
        ax.set_xticks([])
        ax.set_yticks([])
    if legend:
        _legend_outside(ax, markerscale=1.5, handletextpad=0.2)
    if title:
        ax.set_title(title)
    return ax


def plot_explained_variance(
    ratio,
    *,
    thresholds: Sequence[float] = (0.9,),
    ax=None,
    title: str | None = None,
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
        :func:`asttools.reduce.fit_pca` (a PCA stands for that attribute).
    thresholds : sequence of float
        Cumulative fractions to mark (each in (0, 1]); one the components do not reach
        is not drawn.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 2.6 in figure when None.
    title : str, optional
        Axes title.
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
    ratio = _array(getattr(ratio, "explained_variance_ratio_", ratio), "ratio", ndim=1)
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
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 2.6))
    if color is None:
        import matplotlib as mpl

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
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- evaluation


def plot_per_class_ap(
    per_class: pd.DataFrame,
    *,
    ax=None,
    top: int | None = None,
    title: str | None = None,
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
    _require_columns(per_class, ("label", "ap"), "per_class")
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
    palette = _colors_for(labels, colors)
    ax = _new_axes(ax, (_DEFAULT_WIDTH, 0.7 + 0.22 * len(labels)))
    y = np.arange(len(labels))
    ax.barh(y, ap, color=[palette[label] for label in labels], height=0.75)
    ax.axvline(mean_ap, color="0.25", linestyle="--", linewidth=1.0, label=f"mAP {mean_ap:.3f}")
    ax.set_yticks(y, [_wrap(label) for label in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("Average precision")
    ax.grid(False, axis="y")
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def plot_confusion_matrix(
    matrix,
    labels: Sequence[str] | None = None,
    *,
    normalize: bool = False,
    ax=None,
    title: str | None = None,
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
    import seaborn as sns

    if labels is None and isinstance(matrix, pd.DataFrame):
        labels = [str(x) for x in matrix.index]
    values = _array(matrix, "matrix", ndim=2)
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
    ax = _new_axes(ax, (size + 1.0, size))
    sns.heatmap(
        values, annot=annotate, fmt=fmt, cmap=cmap, square=True, ax=ax,
        xticklabels=labels, yticklabels=labels, vmin=0.0, vmax=1.0 if normalize else None,
        cbar_kws={"label": "Fraction of true class" if normalize else "Count"},
        annot_kws={"fontsize": "small"},
    )  # fmt: skip
    if not normalize and integer and ax.collections:
        from matplotlib.ticker import MaxNLocator

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
    if title:
        ax.set_title(title)
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
    colors: Mapping | None = None,
):
    """Plot precision-recall curves per class, with each class's AP in the legend.

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
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y_true = _array(y_true, "y_true", ndim=2)
    scores = _array(scores, "scores", ndim=2)
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
    palette = _colors_for(chosen, colors)
    ax = _new_axes(ax, (4.2, 3.4))
    curves = []
    for j, name in zip(columns, chosen, strict=True):
        truth = y_true[:, j] > 0
        precision, recall, _ = precision_recall_curve(truth, scores[:, j])
        curves.append((average_precision_score(truth, scores[:, j]), name, recall, precision))
    for ap, name, recall, precision in sorted(curves, key=lambda c: -c[0]):
        ax.plot(recall, precision, drawstyle="steps-post", color=palette[name],
                label=f"{_wrap(name)} (AP {ap:.2f})")  # fmt: skip
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    _legend_outside(ax, frameon=False)
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- saving


def save_figure(
    fig,
    path_stem: str | Path,
    *,
    width: str | float | None = None,
    height: float | None = None,
    formats: Sequence[str] = ("pdf", "png"),
    dpi: int = 300,
) -> list[Path]:
    """Write a figure as vector PDF and 300-dpi PNG for a thesis.

    Fonts are embedded as TrueType (``pdf.fonttype`` 42, editable in Illustrator/Inkscape),
    the bounding box is tight, and the PDF carries no creation date, so an unchanged figure
    rewrites to the same bytes. Resizing applies to the files only: the figure returns to
    its size afterwards.

    Parameters
    ----------
    fig : matplotlib Figure or Axes
        The figure (an Axes stands for its figure, so a helper's return value can be
        passed directly).
    path_stem : str or Path
        Path without suffix, e.g. ``"figures/top_k"``; missing folders are created. A
        suffix naming one of ``formats`` (``"top_k.pdf"``) is dropped.
    width : {"full", "half"} or float, optional
        Resize to the thesis text width (6.3 in), half of it (3.1 in) or a width in
        inches; None keeps the width. The height stays (the helpers size it to their
        content, e.g. 0.3 in per bar) unless ``height`` is given.
    height : float, optional
        Height in inches; None keeps the height.
    formats : sequence of str
        File formats, each one matplotlib can write (pdf, png, svg, eps, ...).
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    list of Path
        The files written, one per format, in the order of ``formats``.

    Raises
    ------
    ParameterError
        Unknown ``width`` or format.

    Examples
    --------
    >>> ax = plot_waveform(np.zeros(16000))
    >>> paths = save_figure(ax, "/tmp/asttools-doc/waveform", width="half")
    >>> [p.suffix for p in paths]
    ['.pdf', '.png']
    """
    import matplotlib as mpl

    if hasattr(fig, "get_figure") and not hasattr(fig, "savefig"):
        fig = fig.get_figure()
    if not hasattr(fig, "savefig"):
        raise ParameterError(f"fig must be a matplotlib Figure or Axes, given {type(fig).__name__}")
    while getattr(fig, "figure", fig) is not fig:  # a SubFigure: save its root figure
        fig = fig.figure
    supported = fig.canvas.get_supported_filetypes()
    formats = [str(fmt).lower().lstrip(".") for fmt in formats]
    unknown = [fmt for fmt in formats if fmt not in supported]
    if unknown or not formats:
        raise ParameterError(
            f"cannot write the formats {unknown or formats}; choose from {sorted(supported)}"
        )
    if isinstance(width, str):
        if width not in FIGURE_WIDTHS:
            raise ParameterError(
                f"width must be one of {tuple(FIGURE_WIDTHS)} or inches, given width={width!r}"
            )
        width = FIGURE_WIDTHS[width]
    if width is not None and not (isinstance(width, (int, float)) and width > 0):
        raise ParameterError(f"width must be positive, given width={width!r}")
    if height is not None and not height > 0:
        raise ParameterError(f"height must be positive, given height={height!r}")

    stem = Path(path_stem)
    if stem.suffix.lower().lstrip(".") in formats:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)

    old_size = tuple(fig.get_size_inches())
    new_w = float(width) if width is not None else old_size[0]
    if height is not None:
        new_h = float(height)
    else:
        new_h = old_size[1]
    rc = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}
    paths = []
    try:
        if (new_w, new_h) != old_size:
            fig.set_size_inches(new_w, new_h)
        with mpl.rc_context(rc):
            for fmt in formats:
                path = Path(f"{stem}.{fmt}")
                metadata = {"CreationDate": None} if fmt == "pdf" else None
                fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)
                paths.append(path)
    finally:
        if tuple(fig.get_size_inches()) != old_size:
            fig.set_size_inches(*old_size)
    return paths
