"""The robustness curve against a probe built by hand, the field's protocol, its metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from asttools.errors import ParameterError
from asttools.missing import aligned_embeddings, robustness_curve
from asttools.result import EmbeddingResult


def result_of(embeddings, has_audio, ids=None, *, silence=None):
    """An EmbeddingResult of one window per clip that has audio; the others no_audio_stream."""
    n = len(has_audio)
    ids = [f"c{i:03d}" for i in range(n)] if ids is None else list(ids)
    keep = np.flatnonzero(has_audio)
    table = pd.DataFrame({"item": keep, "id": [ids[i] for i in keep],
                          "path": [f"{ids[i]}.mp4" for i in keep], "window": 0,
                          "start_s": 0.0, "end_s": 3.0, "clip_duration_s": 3.0})
    rest = np.flatnonzero(~np.asarray(has_audio))
    failed = pd.DataFrame({"item": rest, "id": [ids[i] for i in rest],
                           "path": [f"{ids[i]}.mp4" for i in rest],
                           "audio_status": "no_audio_stream", "reason": "no audio stream"})
    emb = np.asarray(embeddings, np.float32)[keep]
    meta = {"pooling": "cls"}
    if silence is not None:
        meta["silence_embedding"] = np.asarray(silence, np.float32)
    return EmbeddingResult.from_rows(table, emb, np.zeros((len(keep), 3), np.float32),
                                     failed, meta), ids


def _hand_probe(x, labels, train, test):
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    probe.fit(x[train], labels[train])
    return probe.predict(x[test]) == labels[test]


@pytest.fixture()
def clips(rng):
    """48 clips, 3 classes, audio that says the class, 6 clips without audio, 4 folds."""
    n, d = 48, 6
    labels = np.repeat(["a", "b", "c"], n // 3)
    centres = rng.normal(0, 2.0, size=(3, d)) + 3.0  # far from the origin: zeros != mean
    x = centres[np.searchsorted(["a", "b", "c"], labels)] + rng.normal(0, 1.0, size=(n, d))
    has = np.ones(n, bool)
    has[rng.choice(n, 6, replace=False)] = False
    folds = np.tile([1, 2, 3, 4], n // 4)
    silence = rng.normal(size=d)
    video = (np.searchsorted(["a", "b", "c"], labels)[:, None] == np.arange(3)) * 0.8 \
        + rng.normal(0, 1.0, size=(n, 3))
    return labels, x, has, folds, silence, video


@pytest.mark.parametrize("fill", ["zeros", "mean", "silence"])
def test_robustness_curve_equals_a_probe_built_by_hand_from_aligned_embeddings(clips, fill):
    """Item 1 of issue 17: the fill is fitted on the training clips' real audio; at 100 %
    drop the test rows of the mean fill are the training clips' real mean."""
    labels, x, has, folds, silence, video = clips
    res, ids = result_of(x, has, silence=silence)
    ids = np.asarray(ids)
    curve = robustness_curve(labels, np.where(has[:, None], x, np.nan), has_audio=has,
                             folds=folds, video=video, silence=silence, fractions=(0.0, 1.0),
                             fills=(fill,), n_repeats=1, n_boot=50)
    for p, features in [(p, f) for p in (0.0, 1.0) for f in ("audio", "audio+video")]:
        hits = np.zeros(len(labels), bool)
        for f in np.unique(folds):
            train, test = folds != f, folds == f
            train_x, train_has = aligned_embeddings(res, ids[train], fill=fill,
                                                    train_ids=ids[train])
            test_ids = ids[test]
            if p == 1.0:  # every test clip loses its audio: all test rows are the fill
                test_x, _ = aligned_embeddings(res, test_ids, fill=fill,
                                               train_ids=ids[train], unknown="missing")
                test_x[:] = aligned_embeddings(res, ["nobody"], fill=fill,
                                               train_ids=ids[train], unknown="missing")[0]
            else:
                test_x, _ = aligned_embeddings(res, test_ids, fill=fill,
                                               train_ids=ids[train])
            if fill == "mean" and p == 1.0:  # the training clips' real mean, by hand
                np.testing.assert_allclose(test_x[0], x[train & has].mean(axis=0),
                                           rtol=1e-5)
            both = np.zeros((len(labels), x.shape[1]))
            both[train], both[test] = train_x, test_x
            if features == "audio+video":
                both = np.hstack([both, video])
            hits[test] = _hand_probe(both, labels, train, test)
        row = curve[(curve["features"] == features) & (curve["fill"] == fill)
                    & (curve["fraction"] == p)]
        assert len(row) == 1
        assert row["accuracy"].iloc[0] == pytest.approx(hits.mean(), abs=1e-12), \
            (fill, p, features)
