"""One colour per label, the same in every figure (see :func:`label_colors`)."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable
from functools import lru_cache

import numpy as np
from matplotlib.colors import to_hex, to_rgb

from ..errors import ParameterError
from ..labels import audioset_labels

LABEL_PALETTE = (
    "#0072b2", "#e69f00", "#960000", "#4bc3a5", "#d296ff",
    "#870f69", "#ff3c69", "#78782d", "#005a3c", "#0000f0",
)  # fmt: skip
"""The 10 colours :func:`label_colors` draws from, apart for every reader.

Okabe and Ito's blue and orange, then colours chosen greedily (lightness 30-72, chroma at
least 30: visible on white, not grey) for the largest CIEDE2000 distance to those before
them, taken as the smallest over normal vision and Machado et al.'s (2009) simulations of
protanopia, deuteranopia and tritanopia (:func:`simulate_cvd`). Every pair is at least 24
apart in normal vision and 12 apart under each simulation (``tests/test_figure_check.py``
measures it). No palette keeps more colours apart under all three: beyond 10 labels,
:func:`label_styles` adds a marker shape or line style.
"""

PINNED_LABELS = (
    # the classes of the bundled data (data/example, data/samples), the ones most often
    # plotted together: the first 10 take the 10 colours with the first style, the next
    # 10 the 10 colours with the second style, and so on ...
    "Speech", "Music", "Siren", "Sine wave", "Chirp tone", "Beep, bleep", "Silence",
    "White noise", "Pink noise", "Clicking",
    "Bird", "Orchestra", "Female speech, woman speaking", "Narration, monologue", "Jazz",
    "Bowed string instrument", "Classical music", "Bird vocalization, bird call, bird song",
    "Chirp, tweet", "Male speech, man speaking",
    # ... then some of AudioSet's most common classes.
    "Child speech, kid speaking", "Conversation", "Singing", "Musical instrument", "Guitar",
    "Vehicle", "Car", "Animal", "Dog", "Cat", "Inside, small room", "Noise",
)  # fmt: skip
"""AudioSet classes with a look of their own: ``PINNED_LABELS[i]`` has colour
``LABEL_PALETTE[i % 10]`` and style ``i // 10`` (see :func:`label_styles`)."""

CVD_KINDS = ("protanopia", "deuteranopia", "tritanopia")
"""Colour vision deficiencies :func:`simulate_cvd` simulates (severity 1, Machado 2009)."""

_MACHADO = {  # Machado, Oliveira & Fernandes (2009), severity 1.0, on linear sRGB
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}  # fmt: skip

MIN_CVD_DISTANCE = 10.0
"""CIEDE2000 distance two category colours keep under each simulated colour-vision
deficiency (:data:`CVD_KINDS`); the red and green of a default matplotlib figure are 4.6
apart for a deuteranope, the colours of :data:`LABEL_PALETTE` at least 12."""

MIN_GREY_DISTANCE = 10.0
"""Difference in CIELAB lightness two lines of one style keep, to stay apart in greyscale."""

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Marker shapes of styles 0, 1, 2, ...: the second cue of points beyond 10 labels."""

LINE_STYLES = ("-", "--", ":", "-.", (0, (6, 2, 1, 2, 1, 2)), (0, (12, 3)), (0, (1, 4)),
               (0, (12, 3, 3, 3)))  # fmt: skip
"""Dash patterns of styles 0, 1, 2, ...: the second cue of lines (and of greyscale)."""


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _gamma(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate_cvd(colors, kind: str) -> np.ndarray:
    """How colours look to a reader with a colour-vision deficiency (Machado et al. 2009).

    Parameters
    ----------
    colors : colour, sequence of colours, or ndarray, shape (..., 3)
        Anything :func:`matplotlib.colors.to_rgb` reads, or sRGB triples in [0, 1].
    kind : {"protanopia", "deuteranopia", "tritanopia"}
        The deficiency, at full severity.

    Returns
    -------
    ndarray, shape (..., 3)
        The simulated sRGB colours in [0, 1].

    Raises
    ------
    ParameterError
        Unknown ``kind``.

    Examples
    --------
    >>> simulate_cvd("#ff0000", "deuteranopia").round(3).tolist()
    [[0.64, 0.566, 0.0]]
    """
    if kind not in _MACHADO:
        raise ParameterError(f"kind must be one of {CVD_KINDS}, given kind={kind!r}")
    rgb = _as_rgb(colors)
    return _gamma(_linear(rgb) @ np.array(_MACHADO[kind]).T)


def _as_rgb(colors) -> np.ndarray:
    if isinstance(colors, str):
        colors = [colors]
    arr = np.asarray(colors)
    if arr.dtype.kind not in "fiu":
        arr = np.array([to_rgb(c) for c in colors])
    return np.asarray(arr, dtype=float)[..., :3]


@lru_cache(maxsize=1)
def _audioset_index() -> dict[str, int]:
    """Map each AudioSet display name and mid to its class index (0..526)."""
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


def _look_number(label: Hashable) -> int:
    """A label's stable number: its :data:`PINNED_LABELS` position, AudioSet class index
    (+ 32), or the SHA-1 of its name; colour ``n % 10``, style ``n // 10``."""
    name = str(label)
    i = _audioset_index().get(name)
    if i is None:
        return int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:8], "big")
    pinned = _pinned_slots().get(i)
    return pinned if pinned is not None else len(PINNED_LABELS) + i


def _label_color(label: Hashable) -> str:
    return LABEL_PALETTE[_look_number(label) % len(LABEL_PALETTE)]


def label_colors(labels: Iterable[Hashable]) -> dict[Hashable, str]:
    """Give each label the colour it has in every asttools figure.

    A label's colour comes from its name alone: the classes of :data:`PINNED_LABELS` (by
    display name or mid) take ``LABEL_PALETTE[i % 10]`` in their order (the 10 classes of
    the bundled example data take the 10 colours); any other AudioSet class
    ``LABEL_PALETTE[(32 + class_index) % 10]`` (neighbours in the AudioSet table, often
    related and seen together, get different colours); any other label a colour chosen by
    the SHA-1 of ``str(label)``, the same in every Python process. The colour of a label
    never depends on the other labels, so Siren has one colour in the t-SNE, the PR curves,
    the top-k bars and the timeline.

    Ten colours cannot tell apart more than ten labels: labels that share a colour in a
    figure are told apart by :func:`label_styles` (a marker shape or line style; never two
    labels one look).

    Parameters
    ----------
    labels : iterable of hashable
        Labels, repeats allowed (e.g. one per row of a table).

    Returns
    -------
    dict
        ``{label: "#rrggbb"}`` for each distinct label, in order of first appearance;
        usable as seaborn's ``palette=``.

    Examples
    --------
    >>> colors = label_colors(["Speech", "Music", "my own class"])
    >>> colors["Speech"], colors["Music"]
    ('#0072b2', '#e69f00')
    >>> label_colors(["Music"])["Music"] == colors["Music"]
    True
    """
    return {label: _label_color(label) for label in dict.fromkeys(labels)}


def label_styles(
    labels: Iterable[Hashable], *, lines: bool = False
) -> dict[Hashable, tuple[str, int]]:
    """Give each label of one figure its colour and a style index, never two alike.

    The colour is :func:`label_colors`' (the same in every figure). The style index picks
    a marker shape (:data:`MARKERS`) for points and a dash pattern (:data:`LINE_STYLES`)
    for lines. A label keeps its stable style (0 for the first ten pinned classes) unless
    another label of the figure already has that colour and style; then it takes the next
    free style. With ``lines=True`` two lines whose colours are less than
    :data:`MIN_GREY_DISTANCE` apart in lightness also take different styles, so the figure
    reads in greyscale.

    Parameters
    ----------
    labels : iterable of hashable
        The labels of one figure, repeats allowed; earlier labels keep their style first.
    lines : bool
        Whether the labels are drawn as lines (adds the greyscale rule).

    Returns
    -------
    dict
        ``{label: ("#rrggbb", style)}`` in order of first appearance.

    Examples
    --------
    >>> styles = label_styles(["Speech", "Bird"])
    >>> styles["Speech"][0] == styles["Bird"][0], styles["Speech"][1] != styles["Bird"][1]
    (True, True)
    """
    order = list(dict.fromkeys(labels))
    out: dict[Hashable, tuple[str, int]] = {}
    taken: list[tuple[str, int, float]] = []  # colour, style, lightness
    n_styles = min(len(MARKERS), len(LINE_STYLES))
    for label in order:
        number = _look_number(label)
        color = LABEL_PALETTE[number % len(LABEL_PALETTE)]
        lightness = float(srgb_to_lab(color)[0])
        want = (number // len(LABEL_PALETTE)) % n_styles
        for step in range(n_styles * 2):
            style = (want + step) % n_styles
            clash = any(
                s == style and (c == color or (lines and abs(lt - lightness) < MIN_GREY_DISTANCE))
                for c, s, lt in taken
            )
            if not clash or step >= n_styles:
                break
        taken.append((color, style, lightness))
        out[label] = (color, style)
    return out


MIN_COLOR_DISTANCE = 20.0
"""CIEDE2000 distance below which two category colours count as too alike.

A just-noticeable difference is about 1-2 for large patches side by side; categories drawn
as small marks (points, thin lines, legend swatches) and looked up in a legend need far more.
Seaborn's colour-blind palette has pairs at 15-17 (its two pinks, its two oranges) that a
thesis reader mistakes for one another in a scatter plot; 20 separates them, and the 10
colours of :data:`LABEL_PALETTE` are pairwise at least 24 apart.
"""

_XYZ_FROM_LINEAR_SRGB = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])  # fmt: skip
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(colors) -> np.ndarray:
    """Convert matplotlib colours (or sRGB values in [0, 1]) to CIELAB (D65).

    Parameters
    ----------
    colors : colour, sequence of colours, or ndarray, shape (..., 3)
        Anything :func:`matplotlib.colors.to_rgb` reads, or an array of sRGB triples.

    Returns
    -------
    ndarray, shape (..., 3)
        ``L*`` (0-100), ``a*``, ``b*``.

    Examples
    --------
    >>> srgb_to_lab("#0173b2").round(1).tolist()
    [46.3, -3.3, -40.9]
    """
    if isinstance(colors, str) or (
        isinstance(colors, tuple) and len(colors) in (3, 4) and not isinstance(colors[0], str)
        and np.ndim(colors) == 1
    ):
        colors = [colors]
        single = True
    else:
        single = False
    arr = np.asarray(colors)
    if arr.dtype.kind not in "fiu":
        arr = np.array([to_rgb(c) for c in colors])
    rgb = np.asarray(arr, dtype=float)[..., :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _XYZ_FROM_LINEAR_SRGB.T / _D65_WHITE
    d = 6 / 29
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    lab = np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )
    return lab[0] if single else lab


def delta_e(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours (broadcasting).

    Sharma, Wu and Dalal (2005), whose test pairs it reproduces.

    Parameters
    ----------
    lab1, lab2 : ndarray, shape (..., 3)
        CIELAB colours, e.g. from :func:`srgb_to_lab`.

    Returns
    -------
    ndarray, shape (...)
        The differences, 0 for equal colours.

    Examples
    --------
    >>> round(float(delta_e([50, 2.6772, -79.7751], [50, 0, -82.7485])), 4)
    2.0425
    """
    lab1, lab2 = np.asarray(lab1, dtype=float), np.asarray(lab2, dtype=float)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1 = np.degrees(np.arctan2(b1, a1p)) % 360
    h2 = np.degrees(np.arctan2(b2, a2p)) % 360
    chroma0 = c1p * c2p == 0
    dh = h2 - h1
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(chroma0, 0.0, dh)
    d_l, d_c = L2 - L1, c2p - c1p
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (L1 + L2) / 2, (c1p + c2p) / 2
    h_sum = h1 + h2
    h_mean = np.where(
        chroma0, h_sum,
        np.where(np.abs(h1 - h2) <= 180, h_sum / 2,
                 np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )  # fmt: skip
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    d_theta = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2
                   + r_t * (d_c / s_c) * (d_h / s_h))


@lru_cache(maxsize=1)
def _palette_lab() -> np.ndarray:
    return srgb_to_lab(list(LABEL_PALETTE))


def figure_colors(
    labels: Iterable[Hashable], *, min_distance: float = MIN_COLOR_DISTANCE
) -> dict[Hashable, str]:
    """Give the labels of one figure colours that are distinct within it.

    For categories that are not class labels (models, fills, poolings: a handful named in one
    figure); class labels take :func:`label_colors` and :func:`label_styles`, the same in every
    figure. Distinct first, stable second: the classes of :data:`PINNED_LABELS` keep the colour
    :func:`label_colors` gives them in every figure, unless it is within ``min_distance``
    (CIEDE2000) of a pinned colour taken earlier in this figure; every other label, in order of
    first appearance, takes the first colour of :data:`LABEL_PALETTE` at least ``min_distance``
    from every colour taken so far. When none is left (more labels than distinct colours, 10 at
    most) a label takes the unused palette colour farthest from those taken, then colours
    repeat: draw marker shapes or line styles as well (:data:`MARKERS`, :data:`LINE_STYLES`).

    Parameters
    ----------
    labels : iterable of hashable
        The labels of one figure, repeats allowed.
    min_distance : float
        Smallest CIEDE2000 distance between two colours (see :data:`MIN_COLOR_DISTANCE`).

    Returns
    -------
    dict
        ``{label: "#rrggbb"}`` for each distinct label, in order of first appearance.

    Examples
    --------
    >>> colors = figure_colors(["Speech", "A capella", "Printer"])
    >>> colors["Speech"] == label_colors(["Speech"])["Speech"]
    True
    >>> len(set(colors.values()))
    3
    """
    order = list(dict.fromkeys(labels))
    palette = _palette_lab()
    pinned = _pinned_slots()
    index = _audioset_index()
    taken: list[int] = []
    out: dict[Hashable, str] = {}

    def far_enough(slot: int) -> bool:
        return not taken or bool(delta_e(palette[slot], palette[taken]).min() >= min_distance)

    for label in order:  # pinned classes first, so that they keep their colour when they can
        slot = pinned.get(index.get(str(label), -1))
        slot = None if slot is None else slot % len(LABEL_PALETTE)
        if slot is not None and slot not in taken and far_enough(slot):
            taken.append(slot)
            out[label] = LABEL_PALETTE[slot]
    for label in order:
        if label in out:
            continue
        free = [s for s in range(len(LABEL_PALETTE)) if s not in taken]
        good = [s for s in free if far_enough(s)]
        if good:
            slot = good[0]
        elif free:
            slot = max(free, key=lambda s: float(delta_e(palette[s], palette[taken]).min()))
        else:
            slot = len(out) % len(LABEL_PALETTE)
        taken.append(slot)
        out[label] = LABEL_PALETTE[slot]
    return {label: to_hex(out[label]) for label in order}
