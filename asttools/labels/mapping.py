"""Map a dataset's label names onto the AudioSet classes an AST predicts.

A dataset rarely names its classes the way AudioSet does (ESC-50 says ``"car_horn"``,
AudioSet ``"Vehicle horn, car horn, honking"``). :func:`map_labels` matches names in a fixed
order and says for every name how it matched, so that a thesis can state exactly which
output unit stood for which class:

1. ``"user"`` -- an explicit ``mapping`` entry (a display name or a mid). Always wins.
2. ``"esc50"`` -- the curated ESC-50 table shipped with the package
   (``asttools/data/esc50_to_audioset.csv``, see :func:`esc50_mapping`).
3. ``"exact"`` -- the name is an AudioSet display name (same case) or a mid.
4. ``"normalized"`` -- equal to a display name after case folding and turning punctuation,
   ``_`` and ``-`` into spaces (``"vehicle_horn-car horn,honking"``).
5. ``"synonym"`` -- equal to a display name or to one comma-separated part of one
   (``"car horn"`` → ``"Vehicle horn, car horn, honking"``), allowing simple plural and
   ``-ing`` forms and any word order (``"crying_baby"`` → ``"Baby cry, infant cry"``,
   ``"dogs"`` → ``"Dog"``).
6. ``"unmapped"`` -- nothing matched; the row stays, with ``mid`` missing.

Matching runs over the whole AudioSet ontology (632 classes); a class that is not among the
527 outputs gets ``index`` -1 and can only be scored with ``roll_up=True`` (through its
descendants that are outputs).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ..constants import N_CLASSES
from ..errors import ParameterError
from ._audioset import audioset_ontology, descendants, lookup_label

__all__ = [
    "DATASETS",
    "ESC50_CATEGORIES",
    "MATCHES",
    "esc50_mapping",
    "map_labels",
    "normalize_label",
    "output_units",
    "roll_up_scores",
]

#: The 50 ESC-50 categories in ``target`` order (0..49).
ESC50_CATEGORIES: tuple[str, ...] = (
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops",
    "wind", "pouring_water", "toilet_flush", "thunderstorm", "crying_baby", "sneezing",
    "clapping", "breathing", "coughing", "footsteps", "laughing", "brushing_teeth",
    "snoring", "drinking_sipping", "door_wood_knock", "mouse_click", "keyboard_typing",
    "door_wood_creaks", "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm",
    "clock_tick", "glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine",
    "train", "church_bells", "airplane", "fireworks", "hand_saw",
)  # fmt: skip

#: Curated tables :func:`map_labels` can use (``dataset=``); ``"auto"`` picks one when every
#: name belongs to it, ``None`` uses none.
DATASETS: tuple[str, ...] = ("auto", "esc50")

#: The values of the ``match`` column, in the order they are tried.
MATCHES: tuple[str, ...] = ("user", "esc50", "exact", "normalized", "synonym", "unmapped")

_COLUMNS = ["name", "mid", "display_name", "index", "match", "units", "note"]


# ---------------------------------------------------------------------------------------
# text normalisation


def normalize_label(text: str) -> str:
    """A label name in the form the ``"normalized"`` match compares.

    Case-folds, drops accents and apostrophes, turns other punctuation, ``_`` and ``-``
    into spaces and collapses runs of spaces. Two names that are equal after this match
    with ``match="normalized"`` in :func:`map_labels`, and
    :func:`asttools.analysis.metrics.evaluate` uses the same rule to match a model's own label
    names.

    Parameters
    ----------
    text : str
        A label name (anything else is converted with ``str``).

    Returns
    -------
    str

    Examples
    --------
    >>> from asttools.labels.mapping import normalize_label
    >>> normalize_label("Vehicle_horn-car horn,honking")
    'vehicle horn car horn honking'
    >>> normalize_label("Children's  Café")
    'childrens cafe'
    """
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("'", "").replace("\u2019", "")
    text = re.sub(r"[\W_]+", " ", text)
    return " ".join(text.split())


def _stem(word: str) -> str:
    """A deliberately small stemmer: plural ``-s/-es/-ies``, ``-ing`` and a final ``-e``."""
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
        if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "aeiouls":
            word = word[:-1]  # clapping -> clap, but not "fall" -> "fal"
    elif word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("ches", "shes", "sses", "xes", "zes")) and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _stem_key(text: str) -> tuple[str, ...]:
    """Order-free key of a normalised text: its stemmed words, sorted."""
    return tuple(sorted(_stem(w) for w in normalize_label(text).split()))


def _parts(display_name: str) -> list[str]:
    """Comma-separated parts of a display name, ignoring commas inside parentheses.

    Each part is also offered without its parenthesised qualifier
    (``"Zipper (clothing)"`` → ``"Zipper"``).
    """
    parts, depth, current = [], 0, []
    for ch in display_name:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    out: list[str] = []
    for part in parts:
        part = part.strip()
        bare = re.sub(r"\([^)]*\)", "", part).strip()
        for p in (part, bare):
            if p and p.casefold() not in ("etc", "etc.") and p not in out:
                out.append(p)
    return out


# ---------------------------------------------------------------------------------------
# lookup tables, built once on first use (never at import)


@lru_cache(maxsize=1)
def _tables() -> dict:
    onto = audioset_ontology()
    # Model outputs first, in output order, then the rest in ontology order: the first
    # candidate in this order wins a tie.
    idx = onto["index"].to_numpy()
    order = np.lexsort((np.arange(len(idx)), idx, idx < 0))
    mids = [onto.index[i] for i in order]
    names = dict(zip(onto.index, onto["name"], strict=True))
    index = {m: int(i) for m, i in zip(onto.index, onto["index"], strict=True)}
    exact: dict[str, str] = {}
    normalized: dict[str, list[str]] = {}
    whole_stem: dict[tuple, list[str]] = {}
    part_norm: dict[str, list[str]] = {}
    part_stem: dict[tuple, list[str]] = {}
    for mid in mids:
        name = names[mid]
        exact.setdefault(name, mid)
        normalized.setdefault(normalize_label(name), []).append(mid)
        whole_stem.setdefault(_stem_key(name), []).append(mid)
        for part in _parts(name):
            part_norm.setdefault(normalize_label(part), []).append(mid)
            part_stem.setdefault(_stem_key(part), []).append(mid)
    return {
        "names": names,
        "index": index,
        "exact": exact,
        "normalized": normalized,
        "synonym": [whole_stem, part_norm, part_stem],
    }


def esc50_mapping() -> pd.DataFrame:
    """The curated ESC-50 → AudioSet table shipped with the package.

    Each of the 50 categories was matched by hand against the 527 AudioSet output classes;
    ``note`` explains judgement calls (ESC-50 classes with no AudioSet counterpart, such as
    ``washing_machine``, ``can_opening`` and ``drinking_sipping``, get the nearest output
    and a note saying so) and which targets nest in the ontology (``insects`` ⊃
    ``crickets``, ``breathing`` ⊃ ``snoring``, ``engine`` ⊃ ``chainsaw``,
    ``washing_machine`` ⊃ ``clock_tick``), which matters with ``roll_up=True``.

    Returns
    -------
    DataFrame, shape (50, 5)
        Columns ``category`` (ESC-50 name, in ``target`` order), ``mid``,
        ``display_name``, ``index`` (the output unit, always >= 0) and ``note``
        (empty string where the match is direct).

    Examples
    --------
    >>> from asttools.labels.mapping import esc50_mapping
    >>> esc50_mapping().set_index("category").loc["car_horn", "display_name"]
    'Vehicle horn, car horn, honking'
    """
    return _esc50().copy()


@lru_cache(maxsize=1)
def _esc50() -> pd.DataFrame:
    text = (
        resources.files("asttools").joinpath("data").joinpath("esc50_to_audioset.csv")
        .read_text(encoding="utf-8")
    )
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    index = _tables()["index"]
    table["index"] = [index.get(m, -1) for m in table["mid"]]
    return table[["category", "mid", "display_name", "index", "note"]]


# ---------------------------------------------------------------------------------------
# matching


def output_units(mid: str, *, roll_up: bool = False) -> tuple[int, ...]:
    """The model output units (columns of ``probs``) that score an AudioSet class.

    Parameters
    ----------
    mid : str
        The class's AudioSet mid (see :func:`asttools.labels.lookup_label` for a display
        name).
    roll_up : bool, default False
        Also the units of every descendant (the class's score is then their maximum, see
        :func:`roll_up_scores`).

    Returns
    -------
    tuple of int, sorted
        The class's own index when it is one of the 527 outputs and, with ``roll_up``,
        those of its descendants that are. Empty when nothing scores the class: without
        ``roll_up`` a class that is no output (or an unknown mid); with ``roll_up`` a
        class with no output among itself and its descendants.

    Raises
    ------
    ParameterError
        With ``roll_up=True``, ``mid`` is not an AudioSet class.

    Examples
    --------
    >>> from asttools.labels import lookup_label
    >>> from asttools.labels.mapping import output_units
    >>> dog = str(lookup_label("Dog")["mid"])
    >>> output_units(dog) == (int(lookup_label("Dog")["index"]),)
    True
    >>> len(output_units(dog, roll_up=True)) > 1
    True
    """
    index = _tables()["index"]
    mids = descendants(mid, include_self=True) if roll_up else [mid]
    return tuple(sorted({index[m] for m in mids if index.get(m, -1) >= 0}))


def _resolve_user(name: str, target: object) -> str:
    try:
        return str(lookup_label(str(target))["mid"])
    except ParameterError as err:
        raise ParameterError(
            f"mapping[{name!r}] = {target!r} is neither an AudioSet mid nor a display name; "
            f"see asttools.labels.audioset_labels() for the {N_CLASSES} output classes"
        ) from err


def _match_one(name: str) -> tuple[str | None, str, str]:
    """Return (mid, match, note) for one name by the automatic rules 3-5."""
    t = _tables()
    if name in t["exact"]:
        return t["exact"][name], "exact", ""
    if name.strip() in t["index"]:  # a mid
        return name.strip(), "exact", ""
    norm = normalize_label(name)
    if norm and norm in t["normalized"]:
        return t["normalized"][norm][0], "normalized", ""
    key = _stem_key(name)
    for table, probe in zip(t["synonym"], (key, norm, key), strict=True):
        found = table.get(probe) if probe else None
        if found:
            unique = list(dict.fromkeys(found))
            note = ""
            if len(unique) > 1:
                others = ", ".join(repr(t["names"][m]) for m in unique[1:4])
                note = f"also matched {others}"
            return unique[0], "synonym", note
    return None, "unmapped", "no AudioSet class matched; pass mapping={name: display name}"


def map_labels(
    names: Iterable[str],
    *,
    mapping: Mapping[str, str | None] | None = None,
    dataset: str | None = "auto",
    roll_up: bool = False,
) -> pd.DataFrame:
    """Match dataset label names to AudioSet classes, saying how each one matched.

    Parameters
    ----------
    names : iterable of str, length n
        The dataset's label names, e.g. ``["dog", "car_horn"]``. Duplicates are kept.
    mapping : mapping of str to str or None, optional
        Explicit choices, name → AudioSet display name (case-insensitive) or mid. They
        always win (``match="user"``). ``None`` as a value marks a name as deliberately
        unmapped.
    dataset : {"auto", "esc50"} or None, default "auto"
        A curated table to use for names it covers (``match="esc50"``). ``"auto"`` uses the
        ESC-50 table when every name not in ``mapping`` is an ESC-50 category (in any case,
        ``_`` or space form); ``None`` never uses it.
    roll_up : bool, default False
        If True, ``units`` lists the output units of the class *and all its descendants*
        (their maximum is the class's score, see :func:`roll_up_scores`), so that a class
        that is not itself a model output (``index == -1``) can still be scored.

    Returns
    -------
    DataFrame, shape (n, 7)
        One row per name, in the given order, never dropped: ``name`` (as given), ``mid``
        (NA when unmapped), ``display_name`` (AudioSet), ``index`` (the model output unit,
        or -1 when the class is not among the 527 outputs or unmapped), ``match`` (one of
        :data:`MATCHES`), ``units`` (tuple of output units that score the class; empty
        when it cannot be scored) and ``note`` (ambiguities, curated notes, reasons).

    Raises
    ------
    ParameterError
        For an unknown ``dataset``, a ``mapping`` target that is not an AudioSet class, or
        a name that is not a string.

    Examples
    --------
    >>> from asttools.labels.mapping import map_labels
    >>> table = map_labels(["Dog", "car horn", "crying_baby", "xylophone solo"], dataset=None)
    >>> table[["name", "display_name", "match"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Dog', 'Dog', 'exact'],
     ['car horn', 'Vehicle horn, car horn, honking', 'synonym'],
     ['crying_baby', 'Baby cry, infant cry', 'synonym'],
     ['xylophone solo', <NA>, 'unmapped']]
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    for n in names:
        if not isinstance(n, str):
            raise ParameterError(f"label names must be strings, got {n!r} ({type(n).__name__})")
    if dataset not in (*DATASETS, None):
        raise ParameterError(f"dataset={dataset!r} is not one of {(*DATASETS, None)}")
    mapping = dict(mapping or {})
    t = _tables()

    esc = {normalize_label(c): row for c, row in _esc50().set_index("category").iterrows()}
    free = [n for n in names if n not in mapping]
    use_esc = dataset == "esc50" or (
        dataset == "auto" and free and all(normalize_label(n) in esc for n in free)
    )

    rows = []
    for name in names:
        note = ""
        if name in mapping:
            target = mapping[name]
            if target is None:
                mid, match, note = None, "unmapped", "mapped to None by the user"
            else:
                mid, match = _resolve_user(name, target), "user"
        elif use_esc and normalize_label(name) in esc:
            entry = esc[normalize_label(name)]
            mid, match, note = entry["mid"], "esc50", entry["note"]
        else:
            mid, match, note = _match_one(name)
        if mid is None:
            rows.append((name, pd.NA, pd.NA, -1, match, (), note))
            continue
        units = output_units(mid, roll_up=roll_up)
        if t["index"][mid] < 0 and not roll_up:
            note = "; ".join(filter(None, [note, f"not one of the {N_CLASSES} outputs: "
                                           "use roll_up=True to score it by its descendants"]))
        elif not units:
            note = "; ".join(filter(None, [note, "not a model output and has no output "
                                           "descendants: cannot be scored"]))
        rows.append((name, mid, t["names"][mid], t["index"][mid], match, units, note))

    table = pd.DataFrame(rows, columns=_COLUMNS)
    return table.astype({"mid": "string", "display_name": "string", "index": "int64",
                         "match": "string", "note": "string"})


# ---------------------------------------------------------------------------------------
# roll-up


def roll_up_scores(probs: np.ndarray, targets_mids: Iterable[str]) -> np.ndarray:
    """Score AudioSet classes by the maximum over themselves and their descendants.

    A prediction of a descendant counts for its ancestor: the score of ``"Dog"`` becomes
    the max of the outputs for Dog, Bark, Yip, Howl, Bow-wow, Growling and Whimper (dog).
    Classes that are not outputs themselves (``index == -1``, e.g. abstract classes such as
    ``"Domestic sounds, home sounds"``) are scored by their descendants alone.

    Parameters
    ----------
    probs : ndarray, shape (n, 527), or an object with ``.probs``
        Probabilities (or logits: the max commutes with the sigmoid) in AudioSet output
        order.
    targets_mids : iterable of str, length t
        The classes to score, as mids or display names.

    Returns
    -------
    ndarray, float32, shape (n, t)

    Raises
    ------
    ParameterError
        When ``probs`` does not have 527 columns, or a target (with its descendants) has
        no output unit.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.labels import lookup_label
    >>> from asttools.labels.mapping import roll_up_scores
    >>> p = np.zeros((1, 527), dtype=np.float32)
    >>> p[0, int(lookup_label("Bark")["index"])] = 0.5
    >>> roll_up_scores(p, ["Dog", "Cat"]).tolist()
    [[0.5, 0.0]]
    """
    probs = np.asarray(getattr(probs, "probs", probs))
    if probs.ndim != 2 or probs.shape[1] != N_CLASSES:
        raise ParameterError(
            f"probs must have shape (n, {N_CLASSES}) in AudioSet output order, "
            f"given probs.shape={probs.shape}"
        )
    targets = list(targets_mids)
    out = np.empty((probs.shape[0], len(targets)), dtype=np.float32)
    for j, target in enumerate(targets):
        mid = str(lookup_label(target)["mid"])
        units = output_units(mid, roll_up=True)
        if not units:
            raise ParameterError(
                f"{target!r} is not a model output and has no descendant that is: "
                "it cannot be scored"
            )
        out[:, j] = probs[:, list(units)].max(axis=1)
    return out
