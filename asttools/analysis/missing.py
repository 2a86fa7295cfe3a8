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
import pandas as pd

from ..errors import WITH_AUDIO, ParameterError
from .fills import MeanFill, as_fill
from ..run.result import EmbeddingResult

__all__ = [
    "EXAMPLE_KINDS",
    "aligned_embeddings",
    "drop_audio",
    "example_clips",
    "load_video_features",
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
        :data:`asttools.analysis.fills.FILL_NAMES` (``"zeros"``, ``"mean"``, ``"silence"``,
        ``"nan"``, ``"ridge"``, ``"nearest"``), a fill object (``fit``/``transform``, see
        :mod:`asttools.analysis.fills`) or a generator from video features to audio. A fill that
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


#: The kinds of example clip :func:`example_clips` looks for, in its order.
EXAMPLE_KINDS = ("late_audio", "short_audio", "no_audio", "silent", "ok")


def example_clips(status, *, kinds: Sequence[str] = ("late_audio", "short_audio", "no_audio"),
                  fallback: bool = True) -> dict[str, str]:
    """One clip id per kind of audio situation, picked from a status table.

    For a notebook or figure that shows "a clip whose audio starts late, one whose audio
    ends early, one without audio" on any dataset, without hard-coded ids.

    Parameters
    ----------
    status : DataFrame or EmbeddingResult
        ``result.status`` (or a result): ``id``, ``audio_status`` and, for the first two
        kinds, ``audio_offset_s``, ``audio_duration_s``, ``video_duration_s``.
    kinds : sequence of str, default ("late_audio", "short_audio", "no_audio")
        Some of :data:`EXAMPLE_KINDS`: ``late_audio`` (the audio stream starts after the
        video, ``audio_offset_s > 0``; the latest first), ``short_audio`` (the audio ends
        at least 0.1 s before the video; the shortest first), ``no_audio`` (no audio
        stream), ``silent``, ``ok`` (an ordinary clip).
    fallback : bool, default True
        A kind that no clip shows takes an ordinary clip not picked yet (its key then
        says ``"<kind> (none: ok)"``); without ``fallback`` it is left out.

    Returns
    -------
    dict
        kind -> clip id, in the order of ``kinds``; a clip is picked once.

    Raises
    ------
    ParameterError
        An unknown kind, or a table without ``id`` and ``audio_status``.

    Examples
    --------
    >>> import pandas as pd
    >>> status = pd.DataFrame({"id": ["a", "b"], "audio_status": ["ok", "no_audio_stream"]})
    >>> example_clips(status, kinds=["no_audio"])
    {'no_audio': 'b'}
    """
    frame = status.status if isinstance(status, EmbeddingResult) else status
    unknown = [k for k in kinds if k not in EXAMPLE_KINDS]
    if unknown:
        raise ParameterError(f"kinds has {unknown[0]!r}; choose from {EXAMPLE_KINDS}")
    if not {"id", "audio_status"} <= set(frame.columns):
        raise ParameterError("status needs the columns 'id' and 'audio_status' "
                             "(result.status)")
    t = frame.reset_index(drop=True)
    num = {c: pd.to_numeric(t[c], errors="coerce") if c in t.columns
           else pd.Series(np.nan, index=t.index)
           for c in ("audio_offset_s", "audio_duration_s", "video_duration_s")}
    audio_end = num["audio_offset_s"].fillna(0.0) + num["audio_duration_s"]
    gap = num["video_duration_s"] - audio_end
    has = t["audio_status"].isin(WITH_AUDIO)
    candidates = {
        "late_audio": t.index[has & (num["audio_offset_s"] > 0)][
            np.argsort(-num["audio_offset_s"][has & (num["audio_offset_s"] > 0)].to_numpy(),
                       kind="stable")],
        "short_audio": t.index[has & (gap >= 0.1)][
            np.argsort(-gap[has & (gap >= 0.1)].to_numpy(), kind="stable")],
        "no_audio": t.index[t["audio_status"] == "no_audio_stream"],
        "silent": t.index[t["audio_status"] == "silent"],
        "ok": t.index[t["audio_status"] == "ok"],
    }
    out: dict[str, str] = {}
    taken: set = set()
    for kind in kinds:
        pick = next((i for i in candidates[kind] if i not in taken), None)
        key = kind
        if pick is None and fallback:
            pick = next((i for i in candidates["ok"] if i not in taken), None)
            key = f"{kind} (none: ok)"
        if pick is not None:
            taken.add(pick)
            out[key] = str(t.at[pick, "id"])
    return out


def load_video_features(path, ids: Sequence[str] | None = None, *, id_key: str = "clip_id",
                        features_key: str = "features") -> tuple[list[str], np.ndarray]:
    """Read a video model's per-clip features from an ``.npz``, in the order of ``ids``.

    The file holds two arrays: ``clip_id``, shape (n,), the clip ids **as a string
    array** (``np.asarray(ids, dtype=str)``, dtype ``<U…``), and ``features``, shape
    (n, k), float. Ids saved as an object array (``np.array(ids, dtype=object)``, what a
    pandas column gives) need pickle to load, which this function refuses (a pickle can
    run code): save them as ``str``.

    Parameters
    ----------
    path : str or Path
    ids : sequence of str, optional
        The clips wanted, e.g. ``result.status["id"]``: the features are returned in this
        order. None: all, in the file's order.
    id_key, features_key : str
        The names of the two arrays.

    Returns
    -------
    ids : list of str
    features : ndarray, float32, shape (len(ids), k)

    Raises
    ------
    ParameterError
        The file lacks an array, holds object-dtype ids, has repeated ids, or lacks some
        of ``ids`` (named, with how many).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "v.npz")
    >>> np.savez(path, clip_id=np.asarray(["b", "a"], dtype=str), features=np.eye(2))
    >>> load_video_features(path, ["a", "b"])[1].tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    if isinstance(ids, (str, bytes)):
        raise ParameterError(f"ids must be a sequence of ids, given the single string {ids!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in (id_key, features_key) if k not in data.files]
            if missing:
                raise ParameterError(f"{path}: has no array {missing[0]!r} (it has "
                                     f"{data.files}); pass id_key= / features_key=")
            have = [str(i) for i in data[id_key].tolist()]
            features = np.asarray(data[features_key], np.float32)
    except ValueError as e:
        if isinstance(e, ParameterError) or "allow_pickle" not in str(e):
            raise
        raise ParameterError(
            f"{path}: the ids are an object array, which only pickle can read (refused: a "
            "pickle can run code); save them as strings: np.savez(path, clip_id=np.asarray("
            "ids, dtype=str), features=features)") from None
    if features.ndim != 2 or len(features) != len(have):
        raise ParameterError(f"{path}: {features_key} has shape {features.shape}; it needs "
                             f"one row per id ({len(have)})")
    if len(set(have)) != len(have):
        raise ParameterError(f"{path}: the ids repeat, e.g. "
                             f"{pd.Series(have)[pd.Series(have).duplicated()].iloc[0]!r}")
    if ids is None:
        return have, features
    ids = [str(i) for i in ids]
    row = {i: n for n, i in enumerate(have)}
    absent = [i for i in ids if i not in row]
    if absent:
        raise ParameterError(f"{path}: {len(absent)} of {len(ids)} ids have no video "
                             f"features, e.g. {absent[0]!r}; compute them, or leave those "
                             "clips out")
    return ids, features[[row[i] for i in ids]]
