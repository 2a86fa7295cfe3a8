"""Figures of what the model sees: waveform, filterbank, patch grid, position similarity."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Rectangle
from matplotlib.ticker import ScalarFormatter
from scipy.ndimage import uniform_filter

from ..constants import (
    FRAME_SHIFT_S,
    FREQUENCY_STRIDE,
    PATCH_SIZE,
    SAMPLE_RATE,
    TIME_STRIDE,
    grid_size,
)
from ..errors import ParameterError
from ._util import DEFAULT_WIDTH, as_array, new_axes, set_title

_WAVEFORM_MAX_POINTS = 8000


def plot_waveform(wav, *, sr: int = SAMPLE_RATE, ax=None, title: str | None = None, color=None):
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
    wav = as_array(wav, "wav", ndim=1)
    if sr <= 0:
        raise ParameterError(f"sr must be positive, given sr={sr}")
    ax = new_axes(ax, (DEFAULT_WIDTH, 1.8))
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
    _mel_axis_in_hz(ax, n_mel)
    return image


def _mel_axis_in_hz(ax, n_mel: int, sample_rate: int = SAMPLE_RATE) -> None:
    """Label the mel-bin axis in Hz: ticks at round frequencies, placed at their bin (the
    Kaldi/HTK mel scale of the AST filterbank, 20 Hz to Nyquist)."""
    def mel(f):
        return 1127.0 * np.log1p(np.asarray(f, dtype=float) / 700.0)

    lo, hi = mel(20.0), mel(sample_rate / 2)
    # ticks at least ~20 bins apart: legible down to a 1.5 in tall spectrogram
    freqs = [f for f in (250, 1000, 2000, 4000, 6000) if 20 < f <= sample_rate / 2]
    # bin k is centred at mel lo + (k + 1) * (hi - lo) / (n_mel + 1)
    bins = (mel(freqs) - lo) / (hi - lo) * (n_mel + 1) - 1
    inside = (bins >= -0.5) & (bins <= n_mel - 0.5)
    ax.set_yticks(bins[inside], [f"{f / 1000:g}k" if f >= 1000 else str(f)
                                 for f, keep in zip(freqs, inside, strict=True) if keep])
    ax.set_ylabel("Frequency (Hz, mel scale)")


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
    frame_shift_s: float = FRAME_SHIFT_S,
    ax=None,
    title: str | None = None,
    cmap: str = "magma",
    colorbar: bool = True,
):
    """Plot a log-mel filterbank (the AST input) as an image.

    Parameters
    ----------
    fbank : ndarray, shape (n_frames, n_mel)
        One item's filterbank, e.g. ``(1024, 128)`` from ``asttools.model.features.fbank(...)[0]``.
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
        the bottom), its ticks labelled in Hz at the bins of round frequencies.

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
    ax = new_axes(ax, (DEFAULT_WIDTH, 2.6))
    image = _draw_fbank(ax, fbank, frame_shift_s=frame_shift_s, cmap=cmap)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="Log mel energy", pad=0.01)
    if title:
        ax.set_title(title)
    return ax


def patch_grid_shape(
    n_frames: int, n_mel: int, *, patch: int = PATCH_SIZE, fstride: int = FREQUENCY_STRIDE,
    tstride: int = TIME_STRIDE,
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
    return grid_size(n_mel, n_frames, patch=patch, fstride=fstride, tstride=tstride)


def plot_patch_grid(
    fbank,
    *,
    patch: int = PATCH_SIZE,
    fstride: int = FREQUENCY_STRIDE,
    tstride: int = TIME_STRIDE,
    frame_shift_s: float = FRAME_SHIFT_S,
    ax=None,
    values=None,
    alpha: float = 1.0,
    relative: bool = True,
    title: str | None = None,
    meta: Mapping | None = None,
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
    attention of [CLS] to each patch) each patch's value is drawn, opaque, as a cell
    centred on the patch centre, one stride wide, with the spectrogram as contour lines over
    it (a see-through overlay would blend colours that are not on the colour bar). By
    default the values are shown relative to the uniform 1/N (N patches): each value's
    share of the values' sum times N, on a diverging map centred at 1, so "more than
    uniform" and "less than uniform" read at a glance, whatever the scale (for attention
    rollout: the share of [CLS]'s attention *to patches* that each patch gets; what goes to
    the [CLS] and distillation tokens is left out). At 10.24 s the 101 patch
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
        Opacity of the values when ``relative`` is False (1: opaque).
    relative : bool, default True
        Show ``values / values.sum() * N`` on a diverging map centred at 1 (the uniform
        1/N); False shows the raw values on ``values_cmap``.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
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
    ax = new_axes(ax, (DEFAULT_WIDTH, 2.6))
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
        extent = (half_t * dt, (half_t + t * tstride) * dt, half_f - 0.5,
                  half_f + f * fstride - 0.5)
        spec.set_visible(False)  # under the values: the spectrogram only as contour lines
        if relative:  # each patch's share as a multiple of the uniform 1/N: 1 = no preference
            n_patches = int(np.isfinite(values).sum())
            total = float(np.nansum(values))
            if not np.isfinite(total) or total <= 0:
                raise ParameterError(
                    f"relative=True needs positive values (shares of a whole), but they sum "
                    f"to {total:g}: pass relative=False to draw them as they are")
            shown = values / total * n_patches
            lo, hi = float(np.nanmin(shown)), float(np.nanmax(shown))
            # symmetric in ratio: 1/2 and 2 the same distance from the centre
            low, high = min(lo, 1 / max(hi, 1e-12), 0.999), max(hi, 1 / max(lo, 1e-12), 1.001)
            norm = TwoSlopeNorm(vcenter=1.0, vmin=low, vmax=high)
            cmap_name = values_cmap if values_cmap != "viridis" else "PuOr_r"
        else:
            shown, norm, cmap_name = values, None, values_cmap
        # opaque: every colour on the map is a colour of the colour bar
        mappable = ax.imshow(shown, origin="lower", aspect="auto", cmap=cmap_name, norm=norm,
                             alpha=alpha if not relative else None, interpolation="nearest",
                             extent=extent)
        # the spectrogram as contour lines over it: its structure, without blending colours
        smooth = uniform_filter(np.nan_to_num(fbank), size=(15, 3))  # outlines, not speckle
        levels = np.nanpercentile(smooth, [75, 92])
        if np.all(np.diff(levels) > 0):
            frames = (np.arange(n_frames) + 0.5) * dt
            middle = np.nanmedian(np.ma.filled(mappable.norm(shown), np.nan))  # ink for the cells
            ink = "white" if abs(middle - 0.5) > 0.3 else "0.1"
            ax.contour(frames, np.arange(n_mel), smooth.T, levels=levels, colors=ink,
                       linewidths=(0.3, 0.6), alpha=0.7)
        label = (f"{values_label} \u00d7 {int(np.isfinite(values).sum())}\n(1 = uniform)"
                 if relative else values_label)
        ax.set_xlim(extent[0], extent[1])  # the patches' cells; no uncovered edge shows
        ax.set_ylim(extent[2], extent[3])
    if colorbar:
        bar = ax.figure.colorbar(mappable, ax=ax, label=label, pad=0.01)
        if values is not None and not relative:
            formatter = ScalarFormatter(useMathText=True, useOffset=False)
            formatter.set_powerlimits((-2, 3))
            bar.formatter = formatter
            bar.update_ticks()
    set_title(ax, title, meta if values is not None else None)
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
    meta: Mapping | None = None,
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
        From :func:`asttools.analysis.attention.position_similarity`: ``sim[i, j]`` is patch
        ``(i, j)``'s similarity map, (12, 101, 12, 101) for AST.
    patches : sequence of (int, int) or int, optional
        The patches to show, as (frequency index, time index) pairs or flat indices in the
        model's token order (``i * t + j``). Default: nine patches, the top, middle and
        bottom frequency row at the first, middle and last time column.
    ax : matplotlib Axes, optional
        Where to draw; a new figure 6.3 in wide and about 0.45 in per strip when None.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta``): with ``random_weights`` true the
        title says "(random weights)".
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
    sim = as_array(sim, "sim", ndim=4)
    f, t = sim.shape[:2]
    if sim.shape[2:] != (f, t):
        raise ParameterError(
            f"sim must have shape (f, t, f, t) as from asttools.analysis.attention.position_similarity, "
            f"given sim.shape={sim.shape}"
        )
    chosen = _position_patches(patches, f, t)
    gap = max(1, f // 4)
    height = len(chosen) * (f + gap) - gap
    image = np.full((height, t), np.nan)
    for k, (i, j) in enumerate(chosen):
        top = k * (f + gap)
        image[top : top + f] = sim[i, j][::-1]  # highest frequency on top
    ax = new_axes(ax, (DEFAULT_WIDTH, 0.45 * len(chosen) + 0.9))

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
    set_title(ax, title, meta)
    return ax

