"""One colour per label, the same in every figure (see :func:`label_colors`)."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable
from functools import lru_cache

from ..labels import audioset_labels

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

