"""Aligning truth to predictions: what every metric of :mod:`asttools.analysis.metrics` scores.

:func:`_prepare` turns the inputs the public functions accept (a truth table or arrays;
an ``EmbeddingResult`` or a score matrix) into a :class:`_Problem`: the truth and one
score column per evaluated class, row by row. The steps, in order:

1. :func:`_read_predictions` -- scores per clip (windows averaged), which kind of outputs
   they are (the 527 AudioSet classes, a model's own named labels, or plain aligned
   columns) and the paths to join on.
2. A truth table (:func:`_from_table`): join on ``path`` (:func:`_join`), read each clip's
   label keys (:func:`_truth_keys`), choose the classes (:func:`_table_classes`) and the
   task (:func:`_resolve_task`), map each class to the model outputs that score it
   (:func:`_table_units`), take the max over those outputs (:func:`_pool`) and build the
   targets (:func:`_table_targets`).
3. Truth arrays (:func:`_from_arrays`): map the columns to AudioSet outputs when the
   scores are AudioSet's (:func:`_audioset_columns`) and check the 0/1 matrix or class
   vector (:func:`_array_targets`).

Warnings point at the user's call: each helper that warns takes the ``stacklevel`` of its
own frame, counted from the public function's caller.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...constants import N_CLASSES
from ...errors import ASTToolsWarning, ParameterError
from ...labels import audioset_labels, audioset_ontology, lookup_label
from ...labels.mapping import map_labels, normalize_label, output_units

#: Tasks :func:`evaluate` knows. ``"auto"``: single-label (multiclass) when every clip has
#: exactly one label (or the truth is an integer vector), else multi-label.
TASKS: tuple[str, ...] = ("auto", "multilabel", "multiclass")

_ROLL_UP_NEEDS_AUDIOSET = f"roll_up=True needs predictions over the {N_CLASSES} AudioSet classes"


@dataclass
class _Problem:
    task: str
    y: np.ndarray  # (n, c) uint8 for multilabel, (n,) int for multiclass
    s: np.ndarray  # (n, c) float64
    classes: list[str]
    mids: list[Any]
    match: list[Any]
    paths: list[str] | None
    notes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    random_weights: bool = False


@dataclass
class _Predictions:
    scores: np.ndarray  # (n, c) float64, one row per clip
    kind: str  # "audioset", "named" (meta["labels"]) or "aligned" (a bare matrix)
    paths: list[str] | None = None  # to join a truth table on; None for a bare matrix
    names: list[str] = field(default_factory=list)  # meta["labels"]
    random_weights: bool = False
    without_audio: dict[str, str] = field(default_factory=dict)  # path -> audio_status


# ---------------------------------------------------------------------------------------
# the prediction side


def _is_result(obj: object) -> bool:
    return hasattr(obj, "probs") and hasattr(obj, "table")


def _clip_level(result: Any) -> Any:
    table = result.table
    if "item" in table.columns and table["item"].duplicated().any():
        if not hasattr(result, "clips"):
            raise ParameterError(
                "predictions have several rows per item (windows) and no .clips() to "
                "aggregate them; pass one row per clip"
            )
        return result.clips(aggregate="mean")
    return result


def _validate_scores(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 2:
        raise ParameterError(f"scores must be 2-D (n_clips, n_classes), given shape {s.shape}")
    if np.isnan(s).any():
        raise ParameterError(f"scores contain {int(np.isnan(s).sum())} NaN values")
    return s


def _read_predictions(predictions: Any) -> _Predictions:
    """Scores per clip and what their columns are, from a result or a score matrix."""
    if not _is_result(predictions):
        return _Predictions(_validate_scores(predictions), "aligned")
    predictions = _clip_level(predictions)
    meta = getattr(predictions, "meta", {}) or {}
    scores = _validate_scores(predictions.probs)
    names = [str(n) for n in meta.get("labels", [])]
    if scores.shape[1] == N_CLASSES:
        kind = "audioset"
    elif len(names) == scores.shape[1]:
        kind = "named"
    else:
        raise ParameterError(
            f"predictions have {scores.shape[1]} columns, neither the {N_CLASSES} "
            "AudioSet classes nor as many as meta['labels'] names"
        )
    out = _Predictions(scores, kind, _keys(predictions.table), names,
                        bool(meta.get("random_weights", False)))
    out.without_audio = _absent(getattr(predictions, "status", None))
    return out


# ---------------------------------------------------------------------------------------
# joining on path


def _norm_path(p: object) -> str:
    p = str(p)
    if p.startswith("<"):
        return p
    return str(Path(os.path.expanduser(p)).resolve())


def _key(path: object, start: object = None, end: object = None) -> str:
    """What joins a clip: its path, and for a segment ``#start-end`` (seconds)."""
    p = _norm_path(path)
    if start is None or end is None or start != start or end != end:
        return p
    return f"{p}#{float(start):g}-{float(end):g}"


def _keys(table: pd.DataFrame, columns: tuple[str, str] = ("segment_start_s",
                                                           "segment_end_s")) -> list[str]:
    """The join key of each row: path, plus the segment where the row is one (a result's
    ``segment_start_s``/``segment_end_s``; a truth table's ``start_s``/``end_s``)."""
    a, b = columns
    if a in table.columns and b in table.columns:
        return [_key(p, s, e) for p, s, e in zip(table["path"], table[a], table[b],
                                                  strict=True)]
    return [_key(p) for p in table["path"]]


def _truth_join_keys(truth: pd.DataFrame) -> list[str]:
    for cols in (("start_s", "end_s"), ("segment_start_s", "segment_end_s")):
        if set(cols) <= set(truth.columns):
            return _keys(truth, cols)
    return _keys(truth)


def _absent(status: pd.DataFrame | None) -> dict[str, str]:
    """Key -> audio status of a result's inputs that have no rows for want of audio."""
    if status is None or not len(status) or "has_audio" not in status.columns:
        return {}
    missing = status[~status["has_audio"].astype(bool)]
    return dict(zip(_keys(missing), missing["audio_status"].astype(str), strict=True))


def _join(truth: pd.DataFrame, pred_paths: Sequence[str], what: str, *, stacklevel: int,
          without_audio: Mapping[str, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions in truth and in predictions of the clips both have, in truth order.

    ``pred_paths`` are the predictions' join keys (:func:`_keys`: a path, ``#start-end``
    added for a segment), matched to the truth table's (its ``start_s``/``end_s`` name
    a segment), so segments of one file are clips of their own, with their own labels.
    ``without_audio`` (key -> audio status) names the result's inputs that have no rows
    because they have no audio, so a warning can count them apart."""
    if "path" not in truth.columns:
        raise ParameterError(
            f"the truth table has no 'path' column to join {what} on (columns: "
            f"{', '.join(map(str, truth.columns))})"
        )
    pred = [_norm_path(p) for p in pred_paths]
    if pred and all(p.startswith("<array") for p in pred):
        raise ParameterError(
            f"{what} were computed from in-memory arrays (paths like {pred[0]!r}) and "
            "cannot be joined to a truth table by path; pass aligned arrays instead"
        )
    where: dict[str, int] = {}
    for i, p in enumerate(pred):
        if p in where:
            warnings.warn(f"{p} appears twice in the {what}; the first row is used",
                          ASTToolsWarning, stacklevel=stacklevel)
            continue
        where[p] = i
    truth_paths = _truth_join_keys(truth)
    ti = [i for i, p in enumerate(truth_paths) if p in where]
    pi = [where[truth_paths[i]] for i in ti]
    n_extra_pred = len(where) - len(set(pi))
    n_extra_truth = len(truth_paths) - len(ti)
    if not ti:
        raise ParameterError(
            f"no clip of the {what} is in the truth table: no path matches (e.g. "
            f"predictions {pred[:1]} vs truth {truth_paths[:1]}); both sides must name "
            "the same files"
        )
    if n_extra_pred:
        warnings.warn(f"{n_extra_pred} clips in the {what} have no ground truth and are "
                      "ignored", ASTToolsWarning, stacklevel=stacklevel)
    if n_extra_truth:
        absent = {_norm_path(p): s for p, s in (without_audio or {}).items()}
        lost = [absent[p] for i, p in enumerate(truth_paths) if p not in where and p in absent]
        if lost:
            kinds = ", ".join(f"{n} {s}" for s, n in
                              pd.Series(lost).value_counts(sort=True).items())
            warnings.warn(f"{len(lost)} clips of the truth table have no audio ({kinds}) and "
                          f"are not scored; to score every clip, fill them "
                          "(asttools.aligned_embeddings) and pass aligned arrays",
                          ASTToolsWarning, stacklevel=stacklevel)
        if n_extra_truth - len(lost):
            warnings.warn(f"{n_extra_truth - len(lost)} clips of the truth table have no "
                          f"{what} and are ignored", ASTToolsWarning, stacklevel=stacklevel)
    return np.asarray(ti, dtype=np.intp), np.asarray(pi, dtype=np.intp)


# ---------------------------------------------------------------------------------------
# classes of a truth table, and the model outputs that score them


def _truth_keys(truth: pd.DataFrame, *, use_mids: bool = True) -> tuple[list[tuple], bool]:
    """Per clip label keys: AudioSet mids when the table gives them for every clip.

    ``use_mids=False`` (a user mapping was given, and it must win) keys by label name.
    """
    if "labels" not in truth.columns:
        raise ParameterError(
            f"the truth table has no 'labels' column (columns: "
            f"{', '.join(map(str, truth.columns))}); read it with "
            "asttools.datasets.read_ground_truth"
        )
    labels = [tuple(v) if not isinstance(v, str) else (v,) for v in truth["labels"]]
    if use_mids and "mids" in truth.columns:
        mids = [tuple(v) if not isinstance(v, str) else (v,) for v in truth["mids"]]
        if any(mids) and all(len(m) == len(lb) for m, lb in zip(mids, labels, strict=True)):
            return mids, True
    return labels, False


def _table_classes(keys: list[tuple], native: bool, classes: Sequence[str] | None) -> list[str]:
    """The classes to evaluate: ``classes`` (as mids when native), else every truth label."""
    if classes is None:
        cls = sorted({k for r in keys for k in r})
        if native:  # AudioSet output order, classes that are no output last
            index = audioset_ontology()["index"]
            cls.sort(key=lambda m: (index.get(m, -1) < 0, index.get(m, 0), m))
    elif native:
        cls = [str(lookup_label(c)["mid"]) for c in classes]
    else:
        cls = [str(c) for c in classes]
    if len(set(cls)) != len(cls):
        raise ParameterError("classes lists a class more than once")
    return cls


def _resolve_task(task: str, keys: list[tuple]) -> str:
    """``"auto"`` made concrete; multiclass checked to have one label per clip."""
    n_labels = np.array([len(r) for r in keys])
    if task == "auto":
        task = "multiclass" if (n_labels == 1).all() else "multilabel"
    if task == "multiclass" and not (n_labels == 1).all():
        bad = int((n_labels != 1).sum())
        raise ParameterError(
            f"task='multiclass' needs exactly one label per clip; {bad} clips have "
            "none or several (use task='multilabel')"
        )
    return task


def _match_names(classes: list[str], names: list[str], mapping: Mapping | None
                 ) -> tuple[list[tuple], list[str]]:
    """Output units and match kinds of classes against a model's own label names."""
    mapping = mapping or {}
    exact = {n: i for i, n in enumerate(names)}
    loose: dict[str, int] = {}
    for i, n in enumerate(names):
        loose.setdefault(normalize_label(n), i)
    units, match = [], []
    for c in classes:
        mp = mapping.get(c, c)
        if mp in exact:
            units.append((exact[mp],))
            match.append("user" if c in mapping else "exact")
        elif normalize_label(str(mp)) in loose:
            units.append((loose[normalize_label(str(mp))],))
            match.append("normalized")
        else:
            units.append(())
            match.append("unmapped")
    return units, match


def _columns_for(classes: list[str], native: bool, predictions_kind: str, names: list[str],
                 *, mapping, dataset, roll_up) -> tuple[list, list, list, list[str]]:
    """Output units, mids and match kinds per class; and which classes stay unmapped."""
    if predictions_kind == "audioset":
        if native:
            onto = audioset_ontology()
            units = [output_units(m, roll_up=roll_up) if m in onto.index else ()
                     for m in classes]
            mids = list(classes)
            match = ["mid"] * len(classes)
        else:
            table = map_labels(classes, mapping=mapping, dataset=dataset, roll_up=roll_up)
            units = list(table["units"])
            mids = [None if pd.isna(m) else str(m) for m in table["mid"]]
            match = [str(m) for m in table["match"]]
    else:  # the model's own label names
        units, match = _match_names(classes, names, mapping)
        mids = [None] * len(classes)
    unmapped = [c for c, u in zip(classes, units, strict=True) if not u]
    return units, mids, match, unmapped


def _table_units(cls: list[str], native: bool, kind: str, n_columns: int, names: list[str],
                 *, roll_up: bool, mapping, dataset) -> tuple[list, list, list, list[str]]:
    """Output units, mids and match kinds per class, and the unmapped classes."""
    if kind == "aligned":
        if n_columns != len(cls):
            raise ParameterError(
                f"scores have {n_columns} columns but there are {len(cls)} classes "
                f"({', '.join(cls[:5])}{', ...' if len(cls) > 5 else ''}); pass "
                "classes= naming the score columns in order"
            )
        if roll_up:
            raise ParameterError(_ROLL_UP_NEEDS_AUDIOSET)
        return [(j,) for j in range(len(cls))], [None] * len(cls), ["aligned"] * len(cls), []
    if roll_up and kind != "audioset":
        raise ParameterError(_ROLL_UP_NEEDS_AUDIOSET)
    return _columns_for(cls, native, kind, names, mapping=mapping, dataset=dataset,
                        roll_up=roll_up)


def _pool(scores: np.ndarray, units: Sequence[tuple]) -> np.ndarray:
    """One score column per class: the max over the model outputs that score it."""
    return np.stack([scores[:, list(u)].max(axis=1) for u in units], axis=1)


def _display(keys: list[str], native: bool) -> list[str]:
    if not native:
        return list(keys)
    names = audioset_ontology()["name"]
    return [str(names.get(k, k)) for k in keys]


def _warn_overlaps(classes: Sequence[str], units: Sequence[tuple], roll_up: bool, *,
                   stacklevel: int) -> None:
    sets = [frozenset(u) for u in units]
    seen: dict[frozenset, str] = {}
    for c, u in zip(classes, sets, strict=True):
        if u in seen:
            warnings.warn(f"classes {seen[u]!r} and {c!r} are scored by the same model "
                          "outputs and cannot be told apart", ASTToolsWarning,
                          stacklevel=stacklevel)
        seen.setdefault(u, c)
    if roll_up:
        nested = [(a, b) for a, ua in zip(classes, sets, strict=True)
                  for b, ub in zip(classes, sets, strict=True) if a != b and ua < ub]
        if nested:
            pairs = ", ".join(f"{b!r} ⊃ {a!r}" for a, b in nested[:5])
            warnings.warn(f"with roll_up=True some classes contain others, so their scores "
                          f"include the others' ({pairs})", ASTToolsWarning,
                          stacklevel=stacklevel)


def _table_targets(keys: list[tuple], classes: list[str], task: str, s: np.ndarray,
                   paths: list[str] | None, notes: list[str], *, stacklevel: int
                   ) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """The truth per clip (class index, or 0/1 per class); clips left out go from s, paths."""
    col = {c: j for j, c in enumerate(classes)}
    if task != "multiclass":
        y = np.zeros((len(keys), len(classes)), dtype=np.uint8)
        for i, r in enumerate(keys):
            for k in r:
                if k in col:
                    y[i, col[k]] = 1
        return y, s, paths
    target = np.array([col.get(r[0], -1) for r in keys])
    ok = target >= 0
    if not ok.all():
        msg = (f"{int((~ok).sum())} clips whose class is not evaluated "
               "(unmapped or not in classes) are left out")
        warnings.warn(msg, ASTToolsWarning, stacklevel=stacklevel)
        notes.append(msg)
    if not ok.any():
        raise ParameterError("no clip has an evaluated class")
    paths = [p for p, o in zip(paths, ok, strict=True) if o] if paths else None
    return target[ok], s[ok], paths


# ---------------------------------------------------------------------------------------
# the two kinds of truth


def _from_table(truth: pd.DataFrame, pred: _Predictions, *, task: str,
                classes: Sequence[str] | None, roll_up: bool, mapping: Mapping | None,
                dataset: str | None, stacklevel: int) -> _Problem:
    """A truth table joined to (or aligned with) the predictions."""
    scores, kind, notes = pred.scores, pred.kind, []
    if pred.paths is not None:
        ti, pi = _join(truth, pred.paths, "predictions", stacklevel=stacklevel + 1,
                       without_audio=pred.without_audio)
        truth, scores = truth.iloc[ti].reset_index(drop=True), scores[pi]
    elif len(truth) != len(scores):
        raise ParameterError(
            f"the truth table has {len(truth)} rows but the score matrix "
            f"{scores.shape[0]}; without paths they must be aligned row by row"
        )
    keys, native = _truth_keys(truth, use_mids=not mapping)
    if kind == "aligned" and scores.shape[1] == N_CLASSES and (
        classes is None or len(classes) != N_CLASSES
    ):
        kind = "audioset"
    cls = _table_classes(keys, native, classes)
    task = _resolve_task(task, keys)
    paths = [str(p) for p in truth["path"]] if "path" in truth.columns else None
    units, mids, match, unmapped = _table_units(
        cls, native, kind, scores.shape[1], pred.names, roll_up=roll_up, mapping=mapping,
        dataset=dataset,
    )
    if unmapped:
        msg = (f"{len(unmapped)} of {len(cls)} classes map to no model output and are "
               f"not evaluated: {', '.join(map(repr, unmapped[:10]))}"
               f"{', ...' if len(unmapped) > 10 else ''}")
        warnings.warn(msg, ASTToolsWarning, stacklevel=stacklevel)
        notes.append(msg)
    keep = [j for j, u in enumerate(units) if u]
    if not keep:
        raise ParameterError("no class of the ground truth maps to a model output; pass "
                             "mapping={label: AudioSet display name or mid}")
    cls_k = [cls[j] for j in keep]
    units_k = [units[j] for j in keep]
    _warn_overlaps(cls_k, units_k, roll_up, stacklevel=stacklevel + 1)
    y, s, paths = _table_targets(keys, cls_k, task, _pool(scores, units_k), paths, notes,
                                 stacklevel=stacklevel + 1)
    return _Problem(task, y, s, _display(cls_k, native), [mids[j] for j in keep],
                    [match[j] for j in keep], paths, notes, unmapped, pred.random_weights)


def _audioset_columns(scores: np.ndarray, classes: Sequence[str] | None, n_cols: int, *,
                      roll_up: bool, stacklevel: int
                      ) -> tuple[np.ndarray, Sequence[str], list[Any]]:
    """The score column of each truth column naming an AudioSet class; classes, mids."""
    if classes is None and n_cols == N_CLASSES:
        classes = list(audioset_labels()["display_name"])
    if classes is None or len(classes) != n_cols:
        raise ParameterError(
            f"truth has {n_cols} classes and the predictions are the {N_CLASSES} "
            "AudioSet outputs: pass classes= naming the AudioSet class (display name or "
            "mid) of each truth column"
        )
    mids = [str(lookup_label(c)["mid"]) for c in classes]
    units = [output_units(m, roll_up=roll_up) for m in mids]
    if not all(units):
        bad = [c for c, u in zip(classes, units, strict=True) if not u]
        raise ParameterError(f"classes {bad[:5]} are not model outputs; use roll_up=True "
                             "or leave them out")
    _warn_overlaps(list(classes), units, roll_up, stacklevel=stacklevel + 1)
    return _pool(scores, units), classes, mids


def _array_targets(y: np.ndarray, task: str, n_cols: int) -> tuple[np.ndarray, str]:
    """Check a 0/1 matrix or class vector and shape it for ``task``; the concrete task."""
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            raise ParameterError(f"a class vector must hold integers 0..{n_cols - 1}, given "
                                 f"dtype {y.dtype}")
        if len(y) and (y.min() < 0 or y.max() >= n_cols):
            raise ParameterError(f"class vector values must lie in 0..{n_cols - 1}, given "
                                 f"{int(y.min())}..{int(y.max())}")
        if task == "multilabel":
            onehot = np.zeros((len(y), n_cols), dtype=np.uint8)
            onehot[np.arange(len(y)), y] = 1
            return onehot, "multilabel"
        return y, "multiclass"
    if not np.isin(y, (0, 1)).all():
        raise ParameterError("a truth matrix must hold only 0 and 1 (or False/True)")
    y = y.astype(np.uint8)
    if task == "multiclass":
        if not (y.sum(axis=1) == 1).all():
            raise ParameterError("task='multiclass' needs exactly one 1 per truth row")
        return y.argmax(axis=1), "multiclass"
    return y, "multilabel"


def _from_arrays(y: np.ndarray, pred: _Predictions, *, task: str,
                 classes: Sequence[str] | None, roll_up: bool, stacklevel: int) -> _Problem:
    """A 0/1 matrix or class vector aligned row by row with the predictions."""
    scores, kind = pred.scores, pred.kind
    if y.ndim not in (1, 2):
        raise ParameterError(f"truth must be a table, a 0/1 matrix (n, c) or a class vector "
                             f"(n,), given shape {y.shape}")
    if len(y) != len(scores):
        raise ParameterError(
            f"truth has {len(y)} rows but the predictions {len(scores)}; arrays must be "
            "aligned row by row (or pass the truth table to join on path)"
        )
    n_cols = y.shape[1] if y.ndim == 2 else (
        len(classes) if classes is not None else scores.shape[1])
    mids: list[Any] = [None] * n_cols
    match: list[Any] = ["aligned"] * n_cols
    if kind != "aligned" or (scores.shape[1] == N_CLASSES and n_cols != N_CLASSES):
        scores, classes, mids = _audioset_columns(scores, classes, n_cols, roll_up=roll_up,
                                                  stacklevel=stacklevel + 1)
        match = ["mid"] * n_cols
    elif roll_up:
        raise ParameterError(_ROLL_UP_NEEDS_AUDIOSET)
    if scores.shape[1] != n_cols:
        raise ParameterError(f"truth has {n_cols} classes but the scores {scores.shape[1]} "
                             "columns")
    display = [str(c) for c in classes] if classes is not None else [
        str(j) for j in range(n_cols)]
    if len(display) != n_cols:
        raise ParameterError(f"classes names {len(display)} classes but the truth has "
                             f"{n_cols}")
    y, task = _array_targets(y, task, n_cols)
    return _Problem(task, y, scores, display, mids, match, None, [], [], pred.random_weights)


def _prepare(truth: Any, predictions: Any, *, task: str, classes: Sequence[str] | None,
             roll_up: bool, mapping: Mapping | None, dataset: str | None) -> _Problem:
    """Truth and one score column per evaluated class; called by the public functions."""
    if task not in TASKS:
        raise ParameterError(f"task={task!r} is not one of {TASKS}")
    pred = _read_predictions(predictions)
    # a warning in _from_table / _from_arrays: that frame, this one, the public function,
    # and then the user's call
    level = 4
    if isinstance(truth, pd.DataFrame):
        return _from_table(truth, pred, task=task, classes=classes, roll_up=roll_up,
                           mapping=mapping, dataset=dataset, stacklevel=level)
    return _from_arrays(np.asarray(truth), pred, task=task, classes=classes,
                        roll_up=roll_up, stacklevel=level)
