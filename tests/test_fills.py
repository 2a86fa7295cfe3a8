"""Fills as objects: fitted on training clips, clip and frame level, learned from video,
scored against the real audio they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import asttools
from asttools.errors import ParameterError
from asttools.analysis.fill_quality import audioset_head, score_fills
from asttools.analysis.fills import (
    CallableFill,
    MeanFill,
    NearestNeighbourFill,
    RidgeFill,
    SilenceFill,
    ZerosFill,
    as_fill,
    fill_frames,
)
from asttools.analysis.missing import aligned_embeddings
from asttools.analysis.robustness import robustness_curve
from tests.test_robustness import result_of


def _paired(rng, n=200, k=8, d=12, *, follows=True):
    """Video features and audio that is a linear function of them (or independent)."""
    video = rng.normal(size=(n, k))
    audio = video @ rng.normal(size=(k, d)) + 0.1 * rng.normal(size=(n, d)) if follows \
        else rng.normal(size=(n, d))
    return video, audio + 2.0  # off the origin, so zeros are not the mean


def test_named_fills_fill_only_the_rows_without_audio(rng):
    a = rng.normal(size=(6, 3)) + 1
    has = np.array([1, 1, 0, 1, 0, 1], bool)
    for name in ("zeros", "nan", "mean"):
        out = as_fill(name).fit(a, None, has).transform(a, None, has)
        np.testing.assert_array_equal(out[has], a[has].astype(np.float32))
    out = MeanFill().fit(a, None, has).transform(a, None, has)
    np.testing.assert_allclose(out[2], a[has].mean(axis=0), rtol=1e-6)
    assert not ZerosFill().fit(a, None, has).transform(a, None, has)[4].any()
    out = SilenceFill(np.arange(3.0)).fit_transform(a, None, has)
    assert out[2].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ParameterError, match="silence embedding is 2 wide but the audio "
                                             "embeddings are 3 wide"):
        SilenceFill(np.zeros(2)).fit_transform(a, None, has)
    with pytest.raises(ParameterError, match="fill 'mean' cannot be fitted: none of the 6"):
        MeanFill().fit(a, None, np.zeros(6, bool))
    with pytest.raises(ParameterError, match="fill 'mean' is not fitted"):
        MeanFill().transform(a, None, has)
    bad = a.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ParameterError, match=r"1 rows marked as having audio hold NaN.*row 0"):
        MeanFill().fit(bad, None, has)
    with pytest.raises(ParameterError, match="learns from the video features: pass video"):
        RidgeFill().fit(a, None, has)
    with pytest.raises(ParameterError, match=r"fill='median' is not one of"):
        as_fill("median")


def test_ridge_recovers_a_linear_map_and_nearest_lends_the_closest_clips_audio(rng):
    video, audio = _paired(rng)
    has = np.ones(len(audio), bool)
    ridge = RidgeFill(alpha=1e-6).fit(audio[:150], video[:150], has[:150])
    out = ridge.transform(audio[150:], video[150:], np.zeros(50, bool))
    # the least-squares solution, by numpy
    design = np.hstack([video[:150], np.ones((150, 1))])
    coef = np.linalg.lstsq(design, audio[:150], rcond=None)[0]
    np.testing.assert_allclose(out, np.hstack([video[150:], np.ones((50, 1))]) @ coef,
                               atol=1e-4)
    nn = NearestNeighbourFill().fit(audio[:150], video[:150], has[:150])
    out = nn.transform(audio[150:], video[150:], np.zeros(50, bool))
    sims = (video[150:] / np.linalg.norm(video[150:], axis=1, keepdims=True)) @ \
        (video[:150] / np.linalg.norm(video[:150], axis=1, keepdims=True)).T
    np.testing.assert_allclose(out, audio[:150][sims.argmax(axis=1)], rtol=1e-6)
    # a training clip that has no audio lends nothing
    has_train = np.ones(150, bool)
    has_train[sims.argmax(axis=1)[0]] = False
    out = NearestNeighbourFill().fit(audio[:150], video[:150], has_train).transform(
        audio[150:151], video[150:151], np.zeros(1, bool))
    assert not np.allclose(out[0], audio[:150][sims.argmax(axis=1)[0]])


def test_frame_level_fills_work_per_frame(rng):
    n, t, k, d = 10, 7, 3, 4
    video = rng.normal(size=(n, t, k))
    w = rng.normal(size=(k, d))
    audio = video @ w
    has = np.ones((n, t), bool)
    has[8:] = False  # two clips without audio
    has[2, 3:] = False  # one whose audio ends early
    audio[~has] = np.nan
    train = np.arange(n) < 8
    out = fill_frames(audio, has, fill=RidgeFill(alpha=1e-8), train=train, video=video)
    assert out.shape == (n, t, d) and np.isfinite(out).all()
    np.testing.assert_allclose(out[~has], (video @ w)[~has], atol=1e-4)
    np.testing.assert_array_equal(out[has], audio[has].astype(np.float32))
    whole = np.where(np.arange(n)[:, None, None] < 8, video @ w, np.nan)
    mean = fill_frames(whole, has[:, 0], fill="mean", train=train)  # one mask per clip
    np.testing.assert_allclose(mean[9, 0], whole[:8].mean(axis=(0, 1)), rtol=1e-5)
    with pytest.raises(ParameterError, match="4 rows marked as having audio hold NaN"):
        fill_frames(audio, has[:, 0], fill="mean", train=train)


def test_a_callable_and_a_torch_module_plug_in_as_fills(rng):
    video, audio = _paired(rng, n=20, k=3, d=4)
    has = np.arange(20) < 15
    module = torch.nn.Linear(3, 4)
    out = aligned_fill = CallableFill(module, name="linear").fit_transform(audio, video, has)
    with torch.no_grad():
        ref = module(torch.as_tensor(video[~has], dtype=torch.float32)).numpy()
    np.testing.assert_allclose(aligned_fill[~has], ref, rtol=1e-5)
    out = as_fill(lambda v: np.zeros((len(v), 4))).fit_transform(audio, video, has)
    assert not out[~has].any()
    with pytest.raises(ParameterError, match=r"returned shape \(5, 2\) for 5 rows"):
        as_fill(lambda v: np.zeros((len(v), 2))).fit_transform(audio, video, has)


def test_aligned_embeddings_take_fill_objects_and_learn_from_video(rng):
    video, audio = _paired(rng, n=30, k=3, d=5)
    has = np.ones(30, bool)
    has[[3, 7, 20]] = False
    res, ids = result_of(audio, has)
    train = ids[:20]
    x, mask = aligned_embeddings(res, ids, fill="ridge", train_ids=train, video=video)
    ref = RidgeFill().fit(audio[:20], video[:20], has[:20]).transform(audio, video, has)
    np.testing.assert_allclose(x, ref, rtol=1e-5)
    assert mask.tolist() == has.tolist()
    x, _ = aligned_embeddings(res, ids, fill=NearestNeighbourFill(n_neighbors=2), train_ids=train,
                              video=video)
    assert np.isfinite(x).all()
    with pytest.raises(ParameterError, match="learns from the video features: pass video"):
        aligned_embeddings(res, ids, fill="ridge", train_ids=train)
    with pytest.raises(ParameterError, match="needs train_ids"):
        aligned_embeddings(res, ids, fill="nearest", video=video)
    with pytest.raises(ParameterError, match=r"1 train_ids are not among ids \(e.g. 'c000'\)"):
        aligned_embeddings(res, ids[1:], fill="ridge", train_ids=train, video=video[1:])
    with pytest.raises(ParameterError, match="video has 29 rows; it needs one per id"):
        aligned_embeddings(res, ids, fill="ridge", train_ids=train, video=video[1:])


# --------------------------------------------------------------------------- issue 18


def test_aligned_embeddings_with_no_audio_anywhere_has_the_models_width(rng):
    res, ids = result_of(rng.normal(size=(2, 5)), np.zeros(2, bool), silence=np.ones(5))
    x, has = aligned_embeddings(res, ids)
    assert x.shape == (2, 5) and not has.any() and not x.any()
    x, _ = aligned_embeddings(res, ids, fill="silence")
    assert x.tolist() == [[1.0] * 5] * 2
    bare, ids = result_of(rng.normal(size=(2, 5)), np.zeros(2, bool))
    with pytest.raises(ParameterError, match="no clip of this result has audio, and nothing "
                                             "records how wide"):
        aligned_embeddings(bare, ids)
    with pytest.raises(ParameterError, match="no clip of this result has audio"):
        aligned_embeddings(bare, ids, fill="silence")  # was: "the embeddings are 0 wide"
    with pytest.raises(ParameterError, match="needs the model's embedding of silence"):
        SilenceFill().fit_transform(np.zeros((2, 5)), None, np.zeros(2, bool))
    bare.meta["hidden_size"] = 5
    assert aligned_embeddings(bare, ids)[0].shape == (2, 5)


def test_aligned_embeddings_refuse_one_string_for_ids(rng):
    res, ids = result_of(rng.normal(size=(3, 4)), np.ones(3, bool))
    with pytest.raises(ParameterError, match=r"given the single string 'a.mkv'; pass "
                                             r"\['a.mkv'\]"):
        aligned_embeddings(res, "a.mkv")


def test_robustness_curve_refuses_zero_repeats_and_nan_in_rows_with_audio(rng):
    y = np.repeat([0, 1], 10)
    x = rng.normal(size=(20, 3))
    folds = np.arange(20) % 2
    with pytest.raises(ParameterError, match="n_repeats=0 must be an int >= 1"):
        robustness_curve(y, x, has_audio=np.ones(20, bool), folds=folds, fills=("zeros",),
                         n_repeats=0)
    x[4, 1] = np.nan
    with pytest.raises(ParameterError, match="rows marked as having audio hold NaN"):
        robustness_curve(y, x, has_audio=np.ones(20, bool), folds=folds, fills=("zeros",),
                         n_repeats=1, n_boot=10)


# --------------------------------------------------------------------------- scoring


@pytest.mark.parametrize("follows", [True, False])
def test_learned_fills_score_far_above_zeros_and_mean_only_where_audio_follows_video(
        rng, follows):
    video, audio = _paired(rng, n=300, follows=follows)
    labels = (audio[:, 0] > np.median(audio[:, 0])).astype(int)  # classes the audio carries
    has = np.ones(300, bool)
    has[rng.choice(300, 30, replace=False)] = False
    train = np.arange(300) < 200
    head = lambda e: e[:, :6] @ np.eye(6, 10)  # noqa: E731 - a head reading six dims
    s = score_fills(audio, has, fills=["zeros", "mean", "ridge", "nearest"], video=video,
                    train=train, labels=labels, head=head, k=2).set_index("fill")
    assert (s["n_clips"] == (has & ~train).sum()).all()
    # by hand for one fill: the mean's cosine to each held-out clip
    held = np.flatnonzero(has & ~train)
    m = audio[train & has].mean(axis=0)
    cos = audio[held] @ m / np.linalg.norm(audio[held], axis=1) / np.linalg.norm(m)
    assert s.loc["mean", "cosine"] == pytest.approx(cos.mean())
    assert s.loc["mean", "mse"] == pytest.approx(np.mean((audio[held] - m) ** 2))
    assert s.loc["zeros", "cosine"] == 0.0
    # top-k agreement by hand for the mean: the share of each held-out clip's top 2 head
    # outputs (real audio) that the mean's top 2 also holds, averaged over clips
    real_top = [set(np.argsort(-row)[:2]) for row in head(audio[held])]
    mean_top = set(np.argsort(-head(m[None])[0])[:2])
    assert s.loc["mean", "top_k_agreement"] == pytest.approx(
        np.mean([len(t & mean_top) / 2 for t in real_top]))
    if follows:
        assert s.loc["ridge", "cosine"] > 0.95 and s.loc["nearest", "cosine"] > 0.6
        assert s.loc["ridge", "mse"] < s.loc["mean", "mse"] / 10
        assert s.loc["ridge", "probe_accuracy"] > 0.85 > s.loc["mean", "probe_accuracy"]
        assert s.loc["ridge", "top_k_agreement"] > s.loc["mean", "top_k_agreement"] + 0.3
    else:
        assert s.loc["ridge", "mse"] >= s.loc["mean", "mse"] * 0.98
        assert abs(s.loc["ridge", "probe_accuracy"] - 0.5) < 0.2
        assert s.loc["nearest", "mse"] > s.loc["mean", "mse"]
    assert s["probe_accuracy_real"].nunique() == 1 and s["probe_accuracy_real"].iloc[0] > 0.9


def test_the_audioset_head_gives_the_models_own_probabilities(tiny_model, rng):
    wav = rng.normal(0, 0.1, 16000 * 2).astype(np.float32)
    out = asttools.embed((wav, 16000), model=tiny_model, pooling="mean")
    head = audioset_head(tiny_model, meta=out.meta)
    np.testing.assert_allclose(1 / (1 + np.exp(-head(out.embeddings))), out.probs, atol=1e-5)
    with pytest.raises(ParameterError, match="reads pooling='mean' embeddings"):
        audioset_head(tiny_model, meta={"pooling": "cls", "layer": 2})
    res, _ = result_of(out.embeddings.repeat(3, 0), np.ones(3, bool))
    assert isinstance(res, asttools.EmbeddingResult) and pd.notna(res.embeddings).all()


# --------------------------------------------------------------------------- notebook helpers


def test_example_clips_are_picked_by_status_not_by_name():
    from asttools.analysis.missing import example_clips

    status = pd.DataFrame({
        "id": ["x1", "x2", "x3", "x4", "x5"],
        "audio_status": ["ok", "ok", "no_audio_stream", "ok", "silent"],
        "audio_offset_s": [0.0, 0.5, np.nan, 0.0, 0.0],
        "audio_duration_s": [3.0, 2.5, np.nan, 1.2, 3.0],
        "video_duration_s": [3.0, 3.0, 3.0, 3.0, 3.0]})
    assert example_clips(status) == {"late_audio": "x2", "short_audio": "x4",
                                     "no_audio": "x3"}
    plain = status.assign(audio_offset_s=0.0, audio_duration_s=3.0)
    assert example_clips(plain, kinds=["late_audio", "silent"]) == {
        "late_audio (none: ok)": "x1", "silent": "x5"}
    assert example_clips(plain, kinds=["late_audio"], fallback=False) == {}
    with pytest.raises(ParameterError, match="kinds has 'loud'"):
        example_clips(status, kinds=["loud"])


def test_video_features_load_in_the_order_asked_and_explain_object_ids(tmp_path):
    from asttools.analysis.missing import load_video_features

    good = tmp_path / "v.npz"
    np.savez(good, clip_id=np.asarray(["b", "a", "c"], dtype=str), features=np.eye(3))
    ids, f = load_video_features(good, ["c", "a"])
    assert ids == ["c", "a"] and f.tolist() == [[0, 0, 1], [0, 1, 0]] and f.dtype == np.float32
    with pytest.raises(ParameterError, match=r"1 of 2 ids have no video features, e.g. 'z'"):
        load_video_features(good, ["a", "z"])
    bad = tmp_path / "object.npz"
    np.savez(bad, clip_id=np.array(["a", "b"], dtype=object), features=np.eye(2))
    with pytest.raises(ParameterError, match=r"object array.*np.asarray\(ids, dtype=str\)"):
        load_video_features(bad)
    with pytest.raises(ParameterError, match="has no array 'clip_id'"):
        np.savez(tmp_path / "w.npz", ids=np.asarray(["a"]), features=np.eye(1))
        load_video_features(tmp_path / "w.npz")
