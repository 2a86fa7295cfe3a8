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
from typing import Any

import numpy as np

from .constants import WITH_AUDIO
from .errors import ParameterError
from .fills import FILL_STRATEGIES, MeanFill, as_fill
from .inference import silence_embedding
from .result import EmbeddingResult
from .robustness import robustness_curve

__all__ = [
    "FILL_STRATEGIES",
    "aligned_embeddings",
    "drop_audio",
    "robustness_curve",
    "silence_embedding",
]

def aligned_embeddings(
    result: EmbeddingResult,
    ids: Sequence[str],
    *,
    fill: Any = "zeros",
    train_ids: Sequence[str] | None = None,
    video: np.ndarray | None = None,
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
        The order to return, e.g. the clip ids of a video model's feature array (a list,
        not one string).
    fill : str, fill object or callable, default "zeros"
        What goes in the rows of ids without audio: a name of
        :data:`asttools.fills.FILL_NAMES` (``"zeros"``, ``"mean"``, ``"silence"``,
        ``"nan"``, ``"ridge"``, ``"nearest"``), a fill object (``fit``/``transform``, see
        :mod:`asttools.fills`) or a generator from video features to audio. A fill that
        learns is fitted on the ``train_ids`` that have audio.
    train_ids : sequence of str, optional
        For fills that learn (``"mean"``, ``"ridge"``, ``"nearest"``, a fill object with
        ``needs_fit``), required then: the ids the fill is fitted on — your training
        split, so that no test clip leaks into the fill. For ``"mean"`` they may include
        ids outside ``ids``; for fills learned from video they must be among ``ids``.
    video : ndarray, shape (len(ids), k), optional
        Video features of ``ids``, in the same order: for fills learned from video.
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
        ``ids`` given as one string; an unknown fill; a learning fill without
        ``train_ids`` (or with no audio among them, or a learned fill without ``video``);
        ``"silence"`` with no silence embedding; ids the result does not hold (with
        ``unknown="raise"``); no clip with audio and nothing that tells the embedding's
        width; a result without embeddings of one vector per window.

    Examples
    --------
    >>> import asttools  # doctest: +SKIP
    >>> res = asttools.extract("data/video/manifest.csv", "emb",
    ...                        id_column="clip_id")  # doctest: +SKIP
    >>> x, has_audio = asttools.aligned_embeddings(res, video_ids, fill="mean",
    ...                                            train_ids=train)  # doctest: +SKIP
    >>> x, has_audio = asttools.aligned_embeddings(res, video_ids, fill="ridge",
    ...                                            train_ids=train,
    ...                                            video=video)  # doctest: +SKIP
    """
    if isinstance(ids, (str, bytes)):
        raise ParameterError(f"ids must be a sequence of ids, given the single string "
                             f"{ids!r}; pass [{ids!r}] for one clip")
    silence = silence if silence is not None else result.meta.get("silence_embedding")
    filler = as_fill(fill, silence=silence)
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
    hidden = _width(clips, result, silence)
    has_audio = np.asarray([status.get(i) in present and i in row for i in ids], dtype=bool)
    out = np.full((len(ids), hidden), np.nan, np.float32)
    for n, i in enumerate(ids):
        if has_audio[n]:
            out[n] = clips.embeddings[row[i]]
    v = None if video is None else np.asarray(video)
    if v is not None and len(v) != len(ids):
        raise ParameterError(f"video has {len(v)} rows; it needs one per id ({len(ids)}), "
                             "in the order of ids")
    if getattr(filler, "needs_fit", True):
        filler = _fitted(filler, fill, clips, row, status, present, ids, v, train_ids)
    else:
        filler.fit(out[has_audio][:0], None if v is None else v[:0], has_audio[:0])
    return filler.transform(out, v, has_audio), has_audio


def _width(clips, result, silence) -> int:
    """The embedding width, also when no clip has audio."""
    if clips.embeddings.ndim == 2 and clips.embeddings.shape[1]:
        return clips.embeddings.shape[1]
    if silence is not None:
        return int(np.asarray(silence).size)
    if result.meta.get("hidden_size"):
        return int(result.meta["hidden_size"])
    raise ParameterError(
        "no clip of this result has audio, and nothing records how wide its embeddings "
        "are: pass silence=asttools.silence_embedding(model, ...) (its width is the "
        "model's), or embed clips with audio")


def _fitted(filler, fill, clips, row, status, present, ids, v, train_ids):
    """``filler`` fitted on the training ids that have audio."""
    name = fill if isinstance(fill, str) else getattr(filler, "name", type(filler).__name__)
    if train_ids is None:
        raise ParameterError(
            f"fill={name!r} needs train_ids=...: the ids it is fitted on (your training "
            "split, so that no test clip leaks into the fill)")
    train_ids = [str(i) for i in train_ids]
    if isinstance(filler, MeanFill) or not getattr(filler, "needs_video", True):
        rows = [row[i] for i in train_ids if status.get(i) in present and i in row]
        audio = clips.embeddings[rows] if rows else np.zeros((0, clips.embeddings.shape[1]))
        if not rows:
            raise ParameterError(f"fill={name!r} cannot be fitted: none of the "
                                 f"{len(train_ids)} train_ids has audio")
        return filler.fit(audio, None, np.ones(len(rows), bool))
    if v is None:
        raise ParameterError(f"fill={name!r} learns from the video features: pass "
                             "video=... (one row per id, in the order of ids)")
    position = {i: n for n, i in enumerate(ids)}
    outside = [i for i in train_ids if i not in position]
    if outside:
        raise ParameterError(
            f"{len(outside)} train_ids are not among ids (e.g. {outside[0]!r}), so their "
            f"video features are unknown: fill={name!r} learns from video; put the training "
            "clips in ids (and video)")
    take = [position[i] for i in train_ids]
    keep = [n for n in take if status.get(ids[n]) in present and ids[n] in row]
    if not keep:
        raise ParameterError(f"fill={name!r} cannot be fitted: none of the "
                             f"{len(train_ids)} train_ids has audio")
    audio = clips.embeddings[[row[ids[n]] for n in keep]]
    return filler.fit(audio, v[keep], np.ones(len(keep), bool))


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
