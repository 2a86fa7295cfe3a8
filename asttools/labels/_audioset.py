"""AudioSet labels: the 527 output classes and the ontology they come from.

Both tables ship with the package (``asttools/data/``, credits in ``CREDITS.md``): the
527-class list in the output order of AudioSet-trained AST checkpoints, and the AudioSet
ontology (632 classes, v1, Google, CC BY-SA 4.0), which also holds abstract and
blacklisted classes that matter when walking the hierarchy.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from importlib import resources

import pandas as pd

from ..errors import ParameterError

__all__ = [
    "audioset_labels",
    "audioset_ontology",
    "descendants",
    "ancestors",
    "lookup_label",
    "short_label",
]



def _data_text(name: str) -> str:
    return resources.files("asttools").joinpath("data").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _labels() -> pd.DataFrame:

    table = pd.read_csv(io.StringIO(_data_text("class_labels_indices.csv")))
    return table.astype({"index": "int64", "mid": "string", "display_name": "string"})


@lru_cache(maxsize=1)
def _ontology() -> pd.DataFrame:
    entries = json.loads(_data_text("ontology.json"))
    parents: dict[str, list[str]] = {e["id"]: [] for e in entries}
    for e in entries:
        for child in e["child_ids"]:
            parents.setdefault(child, []).append(e["id"])
    index_of = dict(zip(_labels()["mid"], _labels()["index"], strict=True))
    rows = [
        {
            "mid": e["id"],
            "name": e["name"],
            "description": e["description"],
            "parents": tuple(parents[e["id"]]),
            "children": tuple(e["child_ids"]),
            "abstract": "abstract" in e.get("restrictions", []),
            "blacklist": "blacklist" in e.get("restrictions", []),
            "index": int(index_of.get(e["id"], -1)),
        }
        for e in entries
    ]
    return pd.DataFrame(rows).set_index("mid")


def audioset_labels() -> pd.DataFrame:
    """The 527 AudioSet classes in model output order.

    Returns
    -------
    DataFrame, shape (527, 3)
        Columns ``index`` (the output unit), ``mid`` (the ontology id, e.g. ``"/m/09x0r"``)
        and ``display_name`` (e.g. ``"Speech"``). A fresh copy: change it freely.

    Examples
    --------
    >>> from asttools.labels import audioset_labels
    >>> audioset_labels().loc[0, "display_name"]
    'Speech'
    """
    return _labels().copy()


def audioset_ontology() -> pd.DataFrame:
    """The AudioSet ontology, one row per class (632 rows), indexed by mid.

    Returns
    -------
    DataFrame, shape (632, 7)
        Index ``mid``; columns ``name``, ``description``, ``parents`` and ``children``
        (tuples of mids), ``abstract`` and ``blacklist`` (bool, the ontology's
        restrictions) and ``index`` (the model output unit, or -1 for the 105 classes
        that are not among the 527 outputs).
    """
    return _ontology().copy()


@lru_cache(maxsize=1)
def _shared_heads() -> frozenset[str]:
    """Heads (text before the first comma) that several AudioSet names share ("Inside")."""
    heads = pd.Series([n.split(",")[0].strip() for n in _labels()["display_name"]])
    return frozenset(heads[heads.duplicated()])


def short_label(name: str) -> str:
    """A label name cut at its first comma, for figures and tables read by eye.

    AudioSet names list synonyms after a comma ("Bird vocalization, bird call, bird
    song"); the first is the name. A name whose head several AudioSet names share
    ("Inside, small room", "Inside, public space") is kept whole, so short names stay
    distinct among the 527 classes.

    Parameters
    ----------
    name : str

    Returns
    -------
    str

    Examples
    --------
    >>> from asttools.labels import short_label
    >>> short_label("Bird vocalization, bird call, bird song"), short_label("Speech")
    ('Bird vocalization', 'Speech')
    >>> short_label("Inside, small room")
    'Inside, small room'
    """
    head = str(name).split(",")[0].strip()
    return str(name) if head in _shared_heads() or not head else head


def _resolve(name_or_mid: str) -> str:
    """Return the mid for a display name (case-insensitive) or a mid."""
    onto = _ontology()
    key = str(name_or_mid).strip()
    if key in onto.index:
        return key
    matches = onto.index[onto["name"].str.casefold() == key.casefold()]
    if len(matches):
        return str(matches[0])
    raise ParameterError(
        f"{name_or_mid!r} is neither an AudioSet mid nor a class name; "
        "see asttools.labels.audioset_ontology() for the 632 names "
        "(or asttools.map_labels for fuzzy matching of dataset labels)"
    )


def lookup_label(name_or_mid: str) -> pd.Series:
    """Look an AudioSet class up by display name (case-insensitive) or mid.

    Parameters
    ----------
    name_or_mid : str
        ``"Dog"``, ``"dog"`` or ``"/m/0bt9lr"``.

    Returns
    -------
    Series
        The class's ontology row plus its ``mid``: ``mid, name, description, parents,
        children, abstract, blacklist, index`` (``index`` is -1 when the class is not a
        model output).

    Raises
    ------
    ParameterError
        When nothing matches.

    Examples
    --------
    >>> from asttools.labels import lookup_label
    >>> int(lookup_label("Dog")["index"])
    74
    """
    mid = _resolve(name_or_mid)
    row = _ontology().loc[mid].copy()
    row["mid"] = mid
    return row


def _walk(mid: str, edge: str) -> list[str]:
    onto = _ontology()
    seen: dict[str, None] = {}
    stack = list(onto.at[mid, edge])
    while stack:
        nxt = stack.pop(0)
        if nxt in seen or nxt not in onto.index:
            continue
        seen[nxt] = None
        stack.extend(onto.at[nxt, edge])
    return list(seen)


def descendants(name_or_mid: str, *, include_self: bool = False) -> list[str]:
    """Mids of every class below a class in the ontology (children, grandchildren, ...).

    Parameters
    ----------
    name_or_mid : str
        A display name or mid.
    include_self : bool, default False
        Put the class itself first.

    Returns
    -------
    list of str
        Mids in breadth-first order, each once (the ontology is a DAG: a class may have
        several parents).

    Examples
    --------
    >>> from asttools.labels import descendants, lookup_label
    >>> "Bark" in [lookup_label(m)["name"] for m in descendants("Dog")]
    True
    """
    mid = _resolve(name_or_mid)
    return ([mid] if include_self else []) + _walk(mid, "children")


def ancestors(name_or_mid: str, *, include_self: bool = False) -> list[str]:
    """Mids of every class above a class in the ontology, nearest first.

    Parameters
    ----------
    name_or_mid : str
        A display name or mid.
    include_self : bool, default False
        Put the class itself first.

    Returns
    -------
    list of str
    """
    mid = _resolve(name_or_mid)
    return ([mid] if include_self else []) + _walk(mid, "parents")
