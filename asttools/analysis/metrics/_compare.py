"""Tables that set predictions beside the truth, and probes beside each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ParameterError
from ...labels import short_label
from ...labels.mapping import map_labels
from ...run.result import top_k
from ._align import _absent, _clip_level, _is_result, _join, _keys
from ._probe import linear_probe


def top_k_table(
    truth: pd.DataFrame,
    predictions: Any,
    *,
    k: int = 3,
    short: bool = False,
    mapping: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Each clip's ``k`` most probable labels beside its true labels, one row per clip.

    The table to glance at before any metric: does the model hear what the clip holds?
    Clips are joined on ``path`` as in :func:`evaluate` (windows averaged per clip unless
    the predictions are per clip already, e.g. ``res.clips(aggregate="max")``).

    Parameters
    ----------
    truth : DataFrame
        The tidy truth table (:func:`asttools.datasets.read_ground_truth`): ``path`` and
        ``labels`` (a list per clip).
    predictions : EmbeddingResult
        Per window or per clip, over the 527 AudioSet classes (or a model's own labels).
    k : int, default 3
        Labels listed per clip.
    short : bool, default False
        Short AudioSet names in the ``top`` columns (see :func:`asttools.top_k`); the
        ``hits`` count compares full names either way.
    mapping : mapping, optional
        Your label -> AudioSet class (name or mid), as in :func:`asttools.map_labels`, to
        count hits for labels that are not AudioSet names.

    Returns
    -------
    DataFrame, shape (n_clips, k + 2)
        Indexed by ``clip`` (the input's id), in truth order: ``truth`` (the labels joined
        by "; "), ``top 1`` ... ``top k`` and ``hits`` (Int64: how many of the clip's
        true labels are among its top k; missing when none of them maps to an AudioSet
        class). ``attrs["random_weights"]`` says where the probabilities came from.

    Raises
    ------
    ParameterError
        ``k`` < 1, ``predictions`` is not a result, or no clip joins the truth.

    Examples
    --------
    >>> import asttools
    >>> truth = asttools.read_ground_truth("data/example/manifest.csv")  # doctest: +SKIP
    >>> res = asttools.extract(truth["path"].tolist(), "emb.parquet")   # doctest: +SKIP
    >>> asttools.analysis.metrics.top_k_table(truth, res, k=3)                   # doctest: +SKIP
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k must be an integer >= 1, got {k!r}")
    if not _is_result(predictions):
        raise ParameterError(
            "predictions must be an EmbeddingResult (asttools.embed / extract), got "
            f"{type(predictions).__name__}")
    if "labels" not in truth.columns:
        raise ParameterError("the truth table has no 'labels' column; read it with "
                             "asttools.read_ground_truth")
    clips = _clip_level(predictions)
    ti, pi = _join(truth, _keys(clips.table), "predictions", stacklevel=3,
                   without_audio=_absent(getattr(clips, "status", None)))
    top = top_k(clips, k=k)
    names = top["label"].to_numpy().reshape(len(clips.table), -1)
    shown = np.vectorize(short_label, otypes=[object])(names) if short else names
    true = [list(v) if not isinstance(v, str) else [v] for v in truth["labels"].iloc[ti]]
    vocabulary = sorted({str(label) for labels in true for label in labels})
    display = {}
    if vocabulary:
        mapped = map_labels(vocabulary, mapping=mapping)
        display = {str(name): shown_name for name, shown_name in
                   zip(mapped["name"], mapped["display_name"], strict=True)
                   if isinstance(shown_name, str)}
    hits = []
    for labels, row in zip(true, pi, strict=True):
        wanted = {display[str(label)] for label in labels if str(label) in display}
        hits.append(len(wanted & set(names[row])) if wanted else pd.NA)
    ids = clips.table["id"] if "id" in clips.table.columns else clips.table["path"]
    out = pd.DataFrame({"truth": ["; ".join(map(str, labels)) for labels in true]},
                       index=pd.Index(ids.iloc[pi].astype(str).tolist(), name="clip"))
    for rank in range(names.shape[1]):
        out[f"top {rank + 1}"] = shown[pi, rank]
    out["hits"] = pd.array(hits, dtype="Int64")
    out.attrs["random_weights"] = bool(getattr(clips, "random_weights", False))
    return out


def compare_probes(
    truth: Any,
    embeddings: Mapping[str, Any],
    **options: Any,
) -> pd.DataFrame:
    """The same linear probe on several embeddings (poolings, layers, models), side by side.

    Parameters
    ----------
    truth : DataFrame or array-like
        As for :func:`linear_probe`.
    embeddings : mapping of str to EmbeddingResult or ndarray
        Setting name -> its embeddings, compared in the mapping's order.
    **options
        Passed to :func:`linear_probe` for every setting (``folds``, ``multilabel``,
        ``C``, ``seed`` ...), so every setting uses the same folds and classifier.

    Returns
    -------
    DataFrame, one row per setting and metric
        ``setting`` (categorical, in the order given), then :attr:`ProbeResult.summary`'s
        columns: ``metric``, ``mean``,
        ``std`` (across folds), ``min``, ``max``, ``n_folds``. For a wide table:
        ``.pivot(index="setting", columns="metric", values="mean")``.
        ``attrs["protocol"]`` says how the folds were made; ``attrs["random_weights"]``
        is true when any result came from random weights.

    Raises
    ------
    ParameterError
        ``embeddings`` is empty, or as :func:`linear_probe`.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.analysis.metrics import compare_probes
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["a", "b"], 20)
    >>> good = rng.normal(size=(40, 8)) + (y == "a")[:, None] * 3
    >>> table = compare_probes(y, {"good": good, "noise": rng.normal(size=(40, 8))})
    >>> accuracy = table.pivot(index="setting", columns="metric", values="mean")["accuracy"]
    >>> bool(accuracy["good"] > 0.9 and accuracy["noise"] < 0.7)
    True
    """
    embeddings = dict(embeddings)
    if not embeddings:
        raise ParameterError("embeddings is empty: pass {setting name: embeddings}")
    frames, protocols, random = [], [], False
    for name, emb in embeddings.items():
        probe = linear_probe(truth, emb, **options)
        frames.append(probe.summary.assign(setting=str(name)))
        protocols.append(probe.protocol)
        random = random or bool(getattr(emb, "random_weights", False))
    out = pd.concat(frames, ignore_index=True)
    out["setting"] = pd.Categorical(out["setting"], categories=[str(n) for n in embeddings],
                                    ordered=True)  # a pivot keeps the order given
    out = out[["setting", *[c for c in out.columns if c != "setting"]]]
    out.attrs["protocol"] = protocols[0]
    out.attrs["random_weights"] = random
    return out
