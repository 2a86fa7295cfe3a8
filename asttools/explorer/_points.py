"""The explorer's points: one row per clip, window, segment or time step, with its map position.

Compute apart from drawing: this module turns an :class:`~asttools.run.result.EmbeddingResult`,
a store or a :class:`~asttools.timestamps.TimestampResult` into a table of points (id, span,
truth, top-5 labels, audio status, map coordinates) and the colour options; ``_page`` draws
it and ``_audio`` finds each point's audio.
"""

from __future__ import annotations

import html
import os
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ASTToolsWarning, ParameterError
from ..labels import audioset_labels, short_label
from ..analysis.reduce import EMBEDDING_MAP_METHODS, capped_perplexity, embedding_map
from ..run.result import EmbeddingResult
from ..run.steps import STEP_S
from ..store import read_store
from ..timestamps import TimestampResult

#: How the points of a result are taken: its rows as given, one per clip, one per window.
PER = ("rows", "clip", "window")
#: Colour options every map has (``truth`` only when the truth is known).
SPECIAL_COLORS = ("truth", "predicted", "audio_status")
#: Labels shown on hover.
TOP_K = 5
#: A carried column becomes a colour option by default when it has this many values at most.
MAX_AUTO_CATEGORIES = 20
#: Columns of the store and result tables that are bookkeeping, never colour options.
_INTERNAL = frozenset({
    "item", "id", "path", "window", "start_s", "end_s", "clip_duration_s", "content_hash",
    "settings_key", "file_size", "file_mtime_ns", "audio_offset_s", "audio_duration_s",
    "video_duration_s", "frame_rate", "av_warning", "segment_start_s", "segment_end_s",
    "n_windows", "time_s", "n_steps", "has_audio", "note", "reason",
})  # fmt: skip


def as_result(data: Any, *, per: str | None, settings: str | dict | None):
    """The result behind ``data`` (a store is read), and how its rows become points."""
    if per is not None and per not in PER:
        raise ParameterError(f"per must be one of {PER} or None, given per={per!r}")
    if isinstance(data, (str, os.PathLike, tuple)):
        data = read_store(data, settings=settings)
        per = per or "clip"
    elif settings is not None:
        raise ParameterError("settings= chooses among a store's settings; given a result, "
                             "select the result instead")
    if isinstance(data, TimestampResult):
        if per not in (None, "rows"):
            raise ParameterError(f"per={per!r} does not apply to a TimestampResult: each of "
                                 "its rows (a step, or a pooled span) is one point")
        return data
    if not isinstance(data, EmbeddingResult):
        raise ParameterError(
            "explore needs an EmbeddingResult, a TimestampResult or a store path, given "
            f"{type(data).__name__}")
    if per == "clip":
        return data.clips()
    return data


def _ids(table: pd.DataFrame) -> pd.Series:
    return (table["id"] if "id" in table.columns else table["path"]).astype(str)


def _point_names(ids: pd.Series, start: np.ndarray, end: np.ndarray) -> list[str]:
    """A point's name: its id, with its span when the id has several points."""
    several = ids.duplicated(keep=False).to_numpy()
    return [f"{i} [{s:.2f}-{e:.2f} s]" if dup else i
            for i, s, e, dup in zip(ids, start, end, several, strict=True)]


def _top_html(probs: np.ndarray, names: list[str]) -> tuple[list[str], list[float], list[str]]:
    """Top-1 label (short name), its probability, and the top-k as HTML lines, per row."""
    k = min(TOP_K, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    top1, p1, lines = [], [], []
    for row, idx in zip(probs, order, strict=True):
        top1.append(short_label(names[idx[0]]))
        p1.append(float(row[idx[0]]))
        lines.append("<br>".join(f"{r + 1}. {html.escape(names[j])} {row[j]:.3f}"
                                 for r, j in enumerate(idx)))
    return top1, p1, lines


def _truth(table: pd.DataFrame, truth: Any) -> list[str] | None:
    """The truth label of each row: a column of the table, or a read_ground_truth table."""
    if truth is None:
        return table["label"].astype(str).tolist() if "label" in table.columns else None
    if isinstance(truth, str):
        if truth not in table.columns:
            raise ParameterError(
                f"truth={truth!r} is not a column of the result's table; its columns: "
                f"{', '.join(map(str, table.columns))}")
        return table[truth].astype(str).tolist()
    if isinstance(truth, pd.DataFrame) and {"path", "labels"} <= set(truth.columns):
        first = {p: labels[0] for p, labels in zip(truth["path"], truth["labels"], strict=True)
                 if isinstance(labels, (tuple, list)) and labels}
        return [first.get(p, "?") for p in table["path"].astype(str)]
    raise ParameterError(
        "truth must be None, a column name, or a DataFrame from read_ground_truth (columns "
        f"'path' and 'labels'), given {type(truth).__name__}")


def points_table(result, *, truth: Any = None) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per point and the embeddings to map, shape (n_points, d).

    The table holds ``point`` (name shown), ``id``, ``path``, ``start_s``, ``end_s`` (the
    point's span on the input's clock, a video's clock for videos), ``audio_offset_s``
    (where the file's decoded audio starts on that clock), ``audio_status``, ``truth``
    (when known), ``predicted`` (top-1 label), ``p_predicted``, ``top5`` (HTML), and the
    carried columns.
    """
    table = result.table.reset_index(drop=True).copy()
    if not len(table):
        raise ParameterError("the result has no rows to map (no input had audio)")
    emb = np.asarray(result.embeddings)
    if emb.ndim > 2:  # pooling="time" or "grid": one vector per row
        emb = emb.reshape(len(emb), -1, emb.shape[-1]).mean(axis=1)
    if isinstance(result, TimestampResult):
        offsets = dict(zip(result.inputs["item"], result.inputs["offset_s"], strict=True))
        if "start_s" not in table.columns:  # steps: half a step either side of the column
            table["start_s"] = table["time_s"] - STEP_S / 2
            table["end_s"] = table["time_s"] + STEP_S / 2
        table["start_s"] = table["start_s"].clip(lower=0.0)
        table["audio_offset_s"] = table["item"].map(offsets).astype(float)
        ids = dict(zip(result.inputs["item"], result.inputs.get("id", result.inputs["path"]),
                       strict=True))
        table["id"] = table["item"].map(ids)
        if "has_audio" in table.columns:
            table["audio_status"] = np.where(table["has_audio"], "ok", "no audio in span")
    start = table["start_s"].to_numpy(float)
    end = table["end_s"].to_numpy(float)
    ids = _ids(table)
    out = pd.DataFrame({
        "point": _point_names(ids, start, end),
        "id": ids,
        "path": table["path"].astype(str),
        "start_s": start,
        "end_s": end,
        "audio_offset_s": (table["audio_offset_s"].fillna(0.0).to_numpy(float)
                           if "audio_offset_s" in table.columns else np.zeros(len(table))),
        "audio_status": (table["audio_status"].fillna("ok").astype(str)
                         if "audio_status" in table.columns else "ok"),
    })
    labels = _truth(table, truth)
    if labels is not None:
        out["truth"] = labels
    probs = getattr(result, "probs", None)
    if probs is not None and len(probs):
        names = list(getattr(result, "labels", None) or
                     audioset_labels()["display_name"].tolist())
        out["predicted"], out["p_predicted"], out["top5"] = _top_html(np.asarray(probs), names)
    else:
        out["top5"] = "(no label probabilities)"
    for column in table.columns:
        if column not in _INTERNAL and column not in out.columns and not (
                column.startswith("top") and column[3:4].isdigit()):
            out[column] = table[column].to_numpy()
    return out, emb


def color_options(points: pd.DataFrame, *, color: str, columns: list[str] | None) -> list[str]:
    """The colour options of the page: the special ones, then the chosen or found columns."""
    specials = [c for c in SPECIAL_COLORS if c in points.columns]
    if columns is None:
        columns = [c for c in points.columns
                   if c not in specials and c not in ("point", "id", "path", "top5")
                   and points[c].dtype.kind in "OUSib"
                   and 2 <= points[c].nunique(dropna=False) <= MAX_AUTO_CATEGORIES
                   and not ("truth" in points.columns  # the truth's own column
                            and points[c].astype(str).equals(points["truth"]))]
    options = specials + [c for c in columns if c not in specials]
    if color not in options:
        options.append(color)
    available = [c for c in points.columns if c not in ("top5",)]
    missing = [c for c in options if c not in points.columns]
    if missing:
        raise ParameterError(
            f"cannot colour by {', '.join(map(repr, missing))}: not a column of the points; "
            f"available: {', '.join(available)}")
    return options


def map_coordinates(emb: np.ndarray, *, method: str, perplexity: float,
                    pca_components: int | None, seed: int) -> tuple[np.ndarray, dict]:
    """2-D coordinates from :func:`asttools.analysis.reduce.embedding_map`, and the settings used."""
    if method not in EMBEDDING_MAP_METHODS:
        raise ParameterError(
            f"method must be one of {EMBEDDING_MAP_METHODS}, given method={method!r}")
    used = {"method": method, "seed": seed, "pca_components": pca_components}
    if method == "tsne":
        used["perplexity"] = capped_perplexity(len(emb), perplexity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)  # the capped perplexity is stated
        xy = embedding_map(emb, method=method, perplexity=used.get("perplexity", perplexity),
                           pca_components=pca_components, seed=seed)
    return xy, used


def reducer_text(used: dict, n: int) -> str:
    """The reducer's settings in words, for the page."""
    method = used["method"]
    if method == "given":
        return "coordinates given (xy=)"
    pca = used.get("pca_components")
    first = f", PCA to {pca} dimensions first" if method != "pca" and pca and pca < n else ""
    if method == "tsne":
        return f"t-SNE (openTSNE/scikit-learn), perplexity {used['perplexity']:.3g}{first}, " \
               f"seed {used['seed']}"
    if method == "umap":
        return f"UMAP, {min(15, n - 1)} neighbours{first}, seed {used['seed']}"
    return "PCA (2 components)"
