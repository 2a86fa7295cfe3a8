"""The robustness curve against a probe built by hand, the field's protocol, its metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from asttools.analysis.fills import as_fill
from asttools.analysis.missing import aligned_embeddings
from asttools.analysis.robustness import (
    TRAINING_CONDITIONS,
    robustness_curve,
    robustness_drops,
    robustness_summary,
)
from asttools.errors import ParameterError
from asttools.run.result import EmbeddingResult


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
    if not len(keep):  # as a store without a single vector reads back: (0, 0)
        emb = np.zeros((0, 0), np.float32)
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


@pytest.mark.slow  # 7.6 s on the loaded 2-core machine (issue 19)
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


def test_at_half_drop_the_curve_uses_the_drops_robustness_drops_draws(clips):
    labels, x, has, folds, silence, video = clips
    curve = robustness_curve(labels, x, has_audio=has, folds=folds, video=video,
                             fractions=(0.5,), fills=("mean",), n_repeats=2, n_boot=50,
                             seed=3)
    hits = []
    for r in range(2):
        per = np.zeros(len(labels), bool)
        for f in np.unique(folds):
            train, test = folds != f, folds == f
            kept = robustness_drops(has, test, 0.5, seed=3, repeat=r)
            assert (has & test).sum() - (kept & test).sum() == round(0.5 * (has & test).sum())
            filled = x.copy()
            filled[~(kept & test | has & train)] = x[has & train].mean(axis=0)
            per[test] = _hand_probe(np.hstack([filled, video]), labels, train, test)
        hits.append(per)
    row = curve[(curve["features"] == "audio+video")].iloc[0]
    assert row["accuracy"] == pytest.approx(np.mean(hits), abs=1e-12)
    assert row["n_repeats"] == 2 and row["n_clips"] == len(labels)


def test_a_fixed_split_trains_on_train_and_tests_on_test(clips):
    labels, x, has, folds, silence, video = clips
    split = np.array(["train", "val", "test", "train"])[folds - 1]
    curve = robustness_curve(labels, x, has_audio=has, split=split, fractions=(0.0, 1.0),
                             fills=("zeros",), n_repeats=1, n_boot=50)
    train, test = split == "train", split == "test"
    filled = np.where(has[:, None], x, 0.0)
    ref = _hand_probe(filled, labels, train, test).mean()
    row = curve[curve["fraction"] == 0.0].iloc[0]
    assert row["accuracy"] == pytest.approx(ref) and row["n_clips"] == test.sum()
    with pytest.raises(ParameterError, match="split has no 'test' rows"):
        robustness_curve(labels, x, has_audio=has, split=np.where(test, "val", split))
    with pytest.raises(ParameterError, match="split has 'dev'"):
        robustness_curve(labels, x, has_audio=has, split=np.where(test, "dev", split))
    with pytest.raises(ParameterError, match="give folds=... .* or split=..."):
        robustness_curve(labels, x, has_audio=has, split=split, folds=folds)


@pytest.mark.slow  # 5.5 s on the loaded 2-core machine (issue 19)
def test_training_conditions_and_the_robustness_columns(clips):
    labels, x, has, folds, silence, video = clips
    curve = robustness_curve(labels, x, has_audio=has, folds=folds, video=video,
                             fills=("zeros", "mean"), training=TRAINING_CONDITIONS,
                             fractions=(0.0, 0.5, 1.0), n_repeats=2, n_boot=100)
    key = ["features", "fill", "training", "fraction"]
    assert not curve.duplicated(key).any()
    assert len(curve) == 2 * 2 * 3 * 3 + 3  # + the video baseline at each rate
    c = curve.set_index(key)["accuracy"]
    # same-rate at rate 0 trains on what complete trains on
    for fill in ("zeros", "mean"):
        assert c[("audio", fill, "same-rate", 0.0)] == c[("audio", fill, "complete", 0.0)]
    # same-rate at rate 1: every clip filled, by hand (a warm-started fit: the same
    # optimum up to lbfgs' tolerance)
    hits = np.zeros(len(labels), bool)
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        hits[test] = _hand_probe(np.hstack([np.zeros_like(x), video]), labels, train, test)
    assert c[("audio+video", "zeros", "same-rate", 1.0)] == pytest.approx(hits.mean(),
                                                                          abs=2 / len(labels))
    # relative robustness: accuracy over accuracy at rate 0
    for (features, fill, training, p), row in curve.set_index(key).iterrows():
        assert row["relative_robustness"] == pytest.approx(
            row["accuracy"] / c[(features, fill, training, 0.0)])
        assert row["ci_low"] <= row["accuracy"] <= row["ci_high"]
        if features != "video":  # effective: against complete training with zeros
            base = c[(features, "zeros", "complete", p)] - c[(features, "zeros", "complete",
                                                              0.0)]
            assert row["effective_robustness"] == pytest.approx(
                row["accuracy"] - c[(features, fill, training, 0.0)] - base)
    summary = robustness_summary(curve)
    one = summary[(summary["features"] == "audio") & (summary["fill"] == "mean")
                  & (summary["training"] == "dropout")].iloc[0]
    acc = [c[("audio", "mean", "dropout", p)] for p in (0.0, 0.5, 1.0)]
    assert one["relative_robustness"] == pytest.approx(np.trapezoid(acc, [0.0, 0.5, 1.0]))
    assert one["clean_accuracy"] == acc[0]
    again = robustness_curve(labels, x, has_audio=has, folds=folds, video=video,
                             fills=("zeros", "mean"), training=TRAINING_CONDITIONS,
                             fractions=(0.0, 0.5, 1.0), n_repeats=2, n_boot=100, n_jobs=2)
    pd.testing.assert_frame_equal(again, curve)  # folds in threads: the same table
    with pytest.raises(ParameterError, match="training=\\['fine-tune'\\]"):
        robustness_curve(labels, x, has_audio=has, folds=folds, training=("fine-tune",))


def test_a_learned_fill_keeps_the_probe_where_audio_follows_video(rng):
    n = 120
    labels = np.repeat([0, 1, 2], n // 3)
    video = rng.normal(size=(n, 6)) + np.eye(3, 6)[labels] * 1.5
    audio = video @ rng.normal(size=(6, 10))  # the audio says what the video says
    has = np.ones(n, bool)
    curve = robustness_curve(labels, audio, has_audio=has, folds=np.arange(n) % 4,
                             video=video, fills=("zeros", "ridge", "nearest"),
                             fractions=(0.0, 1.0), n_repeats=1, n_boot=50)
    c = curve[curve["features"] == "audio"].set_index(["fill", "fraction"])["accuracy"]
    assert c[("ridge", 1.0)] > 0.7 and c[("zeros", 1.0)] < 0.45
    assert c[("nearest", 1.0)] > c[("zeros", 1.0)] + 0.2
    with pytest.raises(ParameterError, match="cannot be fitted: none of the"):
        robustness_curve(labels, audio, has_audio=np.arange(n) % 4 == 0,
                         folds=np.arange(n) % 4, fills=("mean",), n_repeats=1)


def test_a_training_clip_whose_audio_a_condition_drops_never_gets_its_own_back(rng):
    from asttools.analysis.robustness import _cross_filled  # noqa: PLC2701 - the step under test

    video = rng.normal(size=(40, 50))  # more dimensions than clips: ridge interpolates
    audio = rng.normal(size=(40, 6))
    has = np.ones(40, bool)
    for fill in ("ridge", "nearest"):
        own = as_fill(fill).fit(audio, video, has).transform(audio, video, ~has)
        crossed = _cross_filled(as_fill(fill), audio, video, has, seed=0)
        assert np.allclose(own, audio, atol=1e-3) or fill == "ridge"  # nearest: itself
        assert not np.isclose(crossed, audio, atol=1e-3).all(axis=1).any(), fill


def test_effective_robustness_without_complete_training_uses_the_first_condition(clips):
    labels, x, has, folds, silence, video = clips
    curve = robustness_curve(labels, x, has_audio=has, folds=folds, fills=("zeros", "mean"),
                             training=("dropout",), fractions=(0.0, 1.0), n_repeats=1,
                             n_boot=20)
    assert curve["effective_robustness"].notna().all()
    np.testing.assert_allclose(curve[curve["fill"] == "zeros"]["effective_robustness"], 0.0,
                               atol=1e-12)
    with pytest.raises(ParameterError, match=r"baseline=\('complete', 'zeros'\) is not among"):
        robustness_curve(labels, x, has_audio=has, folds=folds, fills=("zeros",),
                         training=("dropout",), baseline=("complete", "zeros"), n_repeats=1)
