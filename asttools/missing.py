"""Clips without audio: one audio vector per clip id, a mask, and how a probe copes.

A video model gives one feature vector per clip id; fusing audio with it needs the audio
embeddings in the same order, and something in the rows of clips that have no audio
(a video without an audio track, a file that failed, audio dropped on purpose to test
robustness). :func:`aligned_embeddings` returns that matrix and a ``has_audio`` mask, the
missing rows filled by a named strategy (:data:`FILL_STRATEGIES`):

``"zeros"``
    A row of zeros. Simple; after standardisation it is not "nothing" any more.
``"mean"``
    The mean embedding of the clips that have audio **among the training ids you give**
    (never fitted on test clips).
``"silence"``
    The model's own embedding of 10.24 s of digital silence (stored with the run's
    settings as ``meta["silence_embedding"]``, or computed by :func:`silence_embedding`):
    what the audio branch would see if the track were present but silent.
``"nan"``
    NaN, for code that handles missing values itself (a masked model, an imputer).

:func:`robustness_curve` measures what the research question asks: a linear probe's
accuracy as the fraction of test clips whose audio is dropped rises from 0 to 1, one
curve per fill strategy, on audio alone and with video features beside it, with
bootstrap confidence intervals over clips.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .constants import WITH_AUDIO
from .errors import ParameterError
from .inference import silence_embedding
from .metrics import bootstrap_ci
from .result import EmbeddingResult

__all__ = [
    "FILL_STRATEGIES",
    "aligned_embeddings",
    "drop_audio",
    "robustness_curve",
    "silence_embedding",
]

#: How :func:`aligned_embeddings` fills the rows of clips without audio.
FILL_STRATEGIES = ("zeros", "mean", "silence", "nan")


def aligned_embeddings(
    result: EmbeddingResult,
    ids: Sequence[str],
    *,
    fill: str = "zeros",
    train_ids: Sequence[str] | None = None,
    silence: np.ndarray | None = None,
    silent_as_missing: bool = False,
    unknown: str = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    """One audio embedding per id, in the order given, and a mask of which have audio.

    Parameters
    ----------
    result : EmbeddingResult
        From :func:`asttools.extract`, :func:`asttools.read_store` or
        :func:`asttools.embed`; windows are averaged per input (``result.clips()``).
    ids : sequence of str
        The order to return, e.g. the clip ids of a video model's feature array.
    fill : {"zeros", "mean", "silence", "nan"}, default "zeros"
        What goes in the rows of ids without audio (see the module documentation).
    train_ids : sequence of str, optional
        For ``fill="mean"`` (required then): the ids whose audio embeddings the mean is
        taken over — your training split, so that no test clip leaks into the fill.
    silence : ndarray, shape (hidden,), optional
        For ``fill="silence"``: the model's embedding of silence; default
        ``result.meta["silence_embedding"]`` (recorded by extract and embed).
    silent_as_missing : bool, default False
        Treat clips whose track is silent (``audio_status="silent"``) as missing too.
    unknown : {"raise", "missing"}, default "raise"
        An id the result has never seen: an error (a typo, another dataset), or a clip
        without audio.

    Returns
    -------
    embeddings : ndarray, float32, shape (len(ids), hidden)
    has_audio : ndarray, bool, shape (len(ids),)
        True where the row is the clip's own audio embedding.

    Raises
    ------
    ParameterError
        An unknown strategy; ``"mean"`` without ``train_ids`` (or with no audio among
        them); ``"silence"`` with no silence embedding; ids the result does not hold
        (with ``unknown="raise"``); a result without embeddings of one vector per window.

    Examples
    --------
    >>> import asttools  # doctest: +SKIP
    >>> res = asttools.extract("data/video/manifest.csv", "emb",
    ...                        id_column="clip_id")  # doctest: +SKIP
    >>> x, has_audio = asttools.aligned_embeddings(res, video_ids, fill="mean",
    ...                                            train_ids=train)  # doctest: +SKIP
    """
    if fill not in FILL_STRATEGIES:
        raise ParameterError(f"fill={fill!r} is not one of {FILL_STRATEGIES}")
    if unknown not in ("raise", "missing"):
        raise ParameterError(f"unknown={unknown!r} is not one of ('raise', 'missing')")
    if result.embeddings.ndim != 2:
        raise ParameterError(
            f"aligned_embeddings needs one vector per window; this result has embeddings of "
            f"shape {result.embeddings.shape} (pooling={result.meta.get('pooling')!r})")
    ids = [str(i) for i in ids]
    status = dict(zip(result.status["id"].astype(str), result.status["audio_status"],
                      strict=True))
    strange = [i for i in ids if i not in status]
    if strange and unknown == "raise":
        raise ParameterError(
            f"{len(strange)} of {len(ids)} ids are not in this result, e.g. {strange[0]!r}; "
            "check the id column (extract(..., id_column=...)), or pass unknown='missing'")
    present = set(WITH_AUDIO) - ({"silent"} if silent_as_missing else set())
    clips = result.clips()
    row = {str(k): i for i, k in enumerate(clips.table["id"])}
    hidden = clips.embeddings.shape[1] if clips.embeddings.size else result.embeddings.shape[1]
    has_audio = np.asarray([status.get(i) in present and i in row for i in ids], dtype=bool)
    out = np.empty((len(ids), hidden), np.float32)
    for n, i in enumerate(ids):
        if has_audio[n]:
            out[n] = clips.embeddings[row[i]]
    out[~has_audio] = _fill_vector(fill, clips, row, status, present, hidden,
                                   train_ids=train_ids, silence=silence, meta=result.meta)
    return out, has_audio


def _fill_vector(fill, clips, row, status, present, hidden, *, train_ids, silence, meta):
    if fill == "zeros":
        return np.zeros(hidden, np.float32)
    if fill == "nan":
        return np.full(hidden, np.nan, np.float32)
    if fill == "mean":
        if train_ids is None:
            raise ParameterError(
                "fill='mean' needs train_ids=...: the ids the mean is taken over (your "
                "training split, so that no test clip leaks into the fill)")
        rows = [row[str(i)] for i in train_ids
                if status.get(str(i)) in present and str(i) in row]
        if not rows:
            raise ParameterError("fill='mean': none of the train_ids has audio to take a "
                                 "mean of")
        return clips.embeddings[rows].mean(axis=0).astype(np.float32)
    vector = silence if silence is not None else meta.get("silence_embedding")
    if vector is None:
        raise ParameterError(
            "fill='silence' needs the model's embedding of silence: this result does not "
            "record one (meta['silence_embedding']); pass silence=asttools.silence_embedding("
            "model, pooling=..., layer=...) with the settings of the result")
    vector = np.asarray(vector, np.float32).reshape(-1)
    if vector.shape != (hidden,):
        raise ParameterError(f"silence has shape {vector.shape}; the embeddings are "
                             f"{hidden} wide")
    return vector


def drop_audio(has_audio: np.ndarray, fraction: float, *, rng: np.random.Generator,
               among: np.ndarray | None = None) -> np.ndarray:
    """A copy of ``has_audio`` with ``fraction`` of the clips that have audio set to False.

    Parameters
    ----------
    has_audio : ndarray, bool, shape (n,)
    fraction : float in [0, 1]
        Of the clips with audio (within ``among``), the share to drop, rounded to a whole
        number of clips.
    rng : numpy.random.Generator
    among : ndarray, bool, shape (n,), optional
        Drop only within these clips (e.g. a test fold).

    Returns
    -------
    ndarray, bool, shape (n,)

    Examples
    --------
    >>> mask = drop_audio(np.ones(10, bool), 0.3, rng=np.random.default_rng(0))
    >>> int(mask.sum())
    7
    """
    if not 0.0 <= fraction <= 1.0:
        raise ParameterError(f"fraction={fraction!r} must lie in [0, 1]")
    mask = np.asarray(has_audio, dtype=bool).copy()
    pool = np.flatnonzero(mask & (True if among is None else np.asarray(among, bool)))
    chosen = rng.choice(pool, size=int(round(fraction * len(pool))), replace=False)
    mask[chosen] = False
    return mask


def robustness_curve(
    labels: Sequence,
    embeddings: np.ndarray,
    *,
    has_audio: np.ndarray,
    folds: Sequence,
    video: np.ndarray | None = None,
    silence: np.ndarray | None = None,
    fractions: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    fills: Sequence[str] = ("zeros", "mean", "silence"),
    n_repeats: int = 10,
    C: float = 1.0,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """A linear probe's accuracy as more test clips lose their audio.

    For each held-out fold, a logistic-regression probe (standardised features, as in
    :func:`asttools.linear_probe`) is trained on the other folds with the audio they have
    (their missing rows filled), then tested with ``fraction`` of the test clips that have
    audio made audio-less on purpose (chosen at random, ``n_repeats`` times; the same
    choice for every fill strategy), their rows filled by each strategy. Accuracy is the
    mean over repeats and clips; its confidence interval is a percentile bootstrap over
    clips of each clip's mean correctness (:func:`asttools.metrics.bootstrap_ci`).

    Parameters
    ----------
    labels : sequence, length n
        One class per clip (the truth comes first, as in :func:`asttools.evaluate` and
        :func:`asttools.linear_probe`).
    embeddings : ndarray, shape (n, hidden)
        Audio embeddings in clip order; rows without audio are ignored (see
        :func:`aligned_embeddings`, e.g. with ``fill="nan"``).
    has_audio : ndarray, bool, shape (n,)
        Which clips have their own audio.
    folds : sequence, length n
        Fold of each clip; each fold is held out once.
    video : ndarray, shape (n, k), optional
        Video features (or any other modality) of the same clips: adds rows with
        ``features="audio+video"`` (concatenated, standardised) and a ``"video"`` baseline
        that no audio drop affects.
    silence : ndarray, shape (hidden,), optional
        The model's embedding of silence, for ``"silence"`` in ``fills``.
    fractions : sequence of float, default (0, 0.25, 0.5, 0.75, 1)
        Shares of the test clips with audio whose audio is dropped.
    fills : sequence of str, default ("zeros", "mean", "silence")
        Strategies to compare (``"mean"`` is fitted on the training folds only).
    n_repeats : int, default 10
        Random draws of the dropped clips per fraction (one when the fraction is 0 or 1).
    C : float, default 1.0
        Inverse L2 regularisation of the probe.
    n_boot : int, default 1000
    ci : float, default 0.95
    seed : int, default 0

    Returns
    -------
    DataFrame
        One row per (``features``, ``fill``, ``fraction``): ``accuracy``, ``ci_low``,
        ``ci_high``, ``n_clips``, ``n_repeats``; ``fill`` is ``"-"`` for the video
        baseline.

    Raises
    ------
    ParameterError
        Called the old way round (embeddings first), mismatched lengths, an unknown or
        unusable fill ("nan"; "silence" without ``silence``), a fraction outside [0, 1],
        or a training split with one class.
    """
    if np.ndim(labels) == 2:
        raise ParameterError("robustness_curve takes the truth first, as evaluate does: call "
                             "robustness_curve(labels, embeddings, has_audio=..., folds=...)")
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels)
    folds = np.asarray(folds)
    mask = np.asarray(has_audio, dtype=bool)
    n = len(y)
    if not (len(x) == len(folds) == len(mask) == n) or (video is not None and len(video) != n):
        raise ParameterError("embeddings, labels, has_audio, folds (and video) must have one "
                             f"row per clip; got {len(x)}, {n}, {len(mask)}, {len(folds)}"
                             + ("" if video is None else f", {len(video)}"))
    for f in fills:
        if f not in FILL_STRATEGIES or f == "nan":
            raise ParameterError(f"fill {f!r} cannot feed a probe; use some of "
                                 f"{tuple(s for s in FILL_STRATEGIES if s != 'nan')}")
        if f == "silence" and silence is None:
            raise ParameterError("fills include 'silence': pass silence=... (the model's "
                                 "embedding of silence, asttools.silence_embedding)")
    for p in fractions:
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"fraction {p!r} must lie in [0, 1]")
    rng = np.random.default_rng(seed)
    feature_sets = ["audio"] + (["audio+video"] if video is not None else [])
    correct = {}  # (features, fill, fraction) -> (n_repeats, n) correctness
    with threadpool_limits(limits=1):  # many small fits: 15x faster than BLAS threads fighting
        _run_probes(correct, x, y, folds, mask, fills, feature_sets, fractions, n_repeats,
                    silence, video, C, rng)
    rows = []
    for (features, fill, p), hits in correct.items():
        per_clip = np.mean(hits, axis=0)
        low, high, *_ = bootstrap_ci(np.mean, per_clip, n_boot=n_boot, ci=ci, seed=seed)
        rows.append({"features": features, "fill": fill, "fraction": float(p),
                     "accuracy": float(per_clip.mean()), "ci_low": low, "ci_high": high,
                     "n_clips": n, "n_repeats": len(hits)})
    out = pd.DataFrame(rows)
    out.attrs.update(ci=ci, n_boot=n_boot, n_repeats=n_repeats, C=C, seed=seed)
    return out


def _run_probes(correct, x, y, folds, mask, fills, feature_sets, fractions, n_repeats,
                silence, video, C, rng) -> None:
    """Fill ``correct`` ((features, fill, fraction) -> list of per-clip hits)."""
    for p in fractions:
        repeats = 1 if p in (0.0, 1.0) else n_repeats
        for _ in range(repeats):
            dropped = mask.copy()
            for fold in np.unique(folds):
                test = folds == fold
                dropped &= ~test | drop_audio(mask, p, rng=rng, among=test)
            for fill in fills:
                for features in feature_sets:
                    hits = _probe(x, y, folds, mask, dropped, fill, silence,
                                  video if features == "audio+video" else None, C)
                    correct.setdefault((features, fill, p), []).append(hits)
    if video is not None:
        base = _probe(None, y, folds, mask, mask, None, None, video, C)
        for p in fractions:
            correct[("video", "-", p)] = [base]


def _probe(x, y, folds, has_audio, test_audio, fill, silence, video, C) -> np.ndarray:
    """Correctness (0/1) of each clip's out-of-fold prediction."""
    hits = np.zeros(len(y))
    for fold in np.unique(folds):
        test = folds == fold
        train = ~test
        if len(np.unique(y[train])) < 2:
            raise ParameterError(f"holding out fold {fold!r} leaves one class to train on")
        parts_train, parts_test = [], []
        if x is not None:
            filled = _filled(x, has_audio & train, fill, silence, train)
            parts_train.append(filled[train])
            parts_test.append(_filled(x, test_audio, fill, silence, train)[test])
        if video is not None:
            parts_train.append(np.asarray(video, np.float64)[train])
            parts_test.append(np.asarray(video, np.float64)[test])
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
        probe.fit(np.hstack(parts_train), y[train])
        hits[test] = probe.predict(np.hstack(parts_test)) == y[test]
    return hits


def _filled(x, present, fill, silence, train) -> np.ndarray:
    """``x`` with the rows not ``present`` filled; "mean" is over the training clips with
    audio (the same whether the rows filled are training or test rows)."""
    out = x.copy()
    if fill == "zeros":
        value = 0.0
    elif fill == "silence":
        value = np.asarray(silence, np.float64)
    else:
        rows = present & train
        value = x[rows].mean(axis=0) if rows.any() else 0.0
    out[~present] = value
    return out
