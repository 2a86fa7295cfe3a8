"""Video datasets (issue 10): stable ids, an audio status for every clip, segments, and
audio vectors aligned to a video model's clip order, with clips that have no audio."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from audio_fixtures import sine, write_av, write_tone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import asttools
from asttools.analysis.fills import FILL_STRATEGIES
from asttools.analysis.missing import aligned_embeddings, drop_audio
from asttools.analysis.robustness import robustness_curve
from asttools.apps.cli import EXIT_OK, EXIT_SOME_FAILED, main
from asttools.errors import ParameterError
from asttools.run.inputs import list_inputs
from asttools.store import extract, read_store

SR = 16000
VIDEO = Path(__file__).resolve().parents[1] / "data" / "video"
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


def _dataset(root: Path) -> Path:
    """Four audio clips and two videos (one with an AAC track, one without), a manifest."""
    for i in range(4):
        write_tone(root / "audio" / f"c{i}.wav", 0.5 + 0.25 * i, 300.0 + 100 * i)
    (root / "video").mkdir(parents=True, exist_ok=True)
    write_av(root / "video" / "with_track.mp4", audio=sine(660, 48000, 1.0)[None])
    write_av(root / "video" / "no_track.mp4", audio=None)
    rows = [("audio/c0.wav", "a0", "bird", 1), ("audio/c1.wav", "a1", "car", 1),
            ("audio/c2.wav", "a2", "bird", 2), ("audio/c3.wav", "a3", "car", 2),
            ("video/with_track.mp4", "v0", "bird", 1), ("video/no_track.mp4", "v1", "car", 2)]
    pd.DataFrame(rows, columns=["path", "clip_id", "action", "fold"]).to_csv(
        root / "manifest.csv", index=False)
    return root / "manifest.csv"


# --------------------------------------------------------------------------- ids


def test_ids_come_from_the_manifest_or_the_path_relative_to_where_it_was_listed(tmp_path,
                                                                                 monkeypatch):
    manifest = _dataset(tmp_path / "data")
    assert list_inputs(manifest)["id"].tolist()[:2] == ["audio/c0.wav", "audio/c1.wav"]
    assert list_inputs(manifest, id_column="clip_id")["id"].tolist() == \
        ["a0", "a1", "a2", "a3", "v0", "v1"]
    assert list_inputs(tmp_path / "data" / "audio")["id"].tolist() == \
        ["c0.wav", "c1.wav", "c2.wav", "c3.wav"]
    monkeypatch.chdir(tmp_path / "data")  # a file on its own: relative to the working dir
    assert list_inputs("audio/c2.wav")["id"].tolist() == ["audio/c2.wav"]
    with pytest.raises(ParameterError, match="has no id column 'clip'"):
        list_inputs(manifest, id_column="clip")
    # two different files with one id
    (tmp_path / "dup.csv").write_text("path,id\ndata/audio/c0.wav,x\ndata/audio/c1.wav,x\n")
    with pytest.raises(ParameterError, match=r"two inputs have the id 'x'"):
        list_inputs(tmp_path / "dup.csv")


def test_moving_the_dataset_is_fully_cached_and_keeps_the_ids(tmp_path, tiny_model,
                                                              monkeypatch):
    manifest = _dataset(tmp_path / "here")
    first = extract(manifest, tmp_path / "S", model=tiny_model, progress=False,
                    id_column="clip_id")
    shutil.copytree(tmp_path / "here", tmp_path / "there")
    shutil.rmtree(tmp_path / "here")
    again = extract(tmp_path / "there" / "manifest.csv", tmp_path / "S", model=tiny_model,
                    progress=False, id_column="clip_id")
    run = again.meta["run"]
    assert run["computed"] == run["copied"] == 0 and run["cached"] == 5
    assert again.status["id"].tolist() == first.status["id"].tolist()
    pd.testing.assert_frame_equal(again.table.drop(columns="path"),
                                  first.table.drop(columns="path"))
    np.testing.assert_array_equal(again.embeddings, first.embeddings)
    assert all(p.startswith(str(tmp_path / "there")) for p in again.table["path"])
    assert sorted(read_store(tmp_path / "S").status["id"]) == ["a0", "a1", "a2", "a3", "v0",
                                                                "v1"]


def test_items_keep_the_input_order_and_select_reorders_by_id(tmp_path, tiny_model):
    manifest = _dataset(tmp_path / "data")
    res = extract(manifest, tmp_path / "S", model=tiny_model, progress=False,
                  id_column="clip_id")
    assert res.status["item"].tolist() == list(range(6))
    assert res.status["id"].tolist() == ["a0", "a1", "a2", "a3", "v0", "v1"]
    picked = res.select(["v0", "a2", "v1"])
    assert picked.status["id"].tolist() == ["v0", "a2", "v1"]
    assert picked.table["id"].tolist() == ["v0", "a2"]  # v1 has no audio: no rows
    np.testing.assert_array_equal(picked.embeddings[1], res.embeddings[2])
    with pytest.raises(ParameterError, match=r"1 of the ids asked for are not in this result, "
                                             r"e.g. 'nope'"):
        res.select(["a0", "nope"])


# --------------------------------------------------------------------------- statuses


def test_a_video_without_audio_is_a_status_not_an_error(tmp_path, tiny_model):
    manifest = _dataset(tmp_path / "data")
    res = extract(manifest, tmp_path / "S", model=tiny_model, progress=False,
                  id_column="clip_id")
    status = res.status.set_index("id")
    assert status.loc["v1", "audio_status"] == "no_audio_stream"
    assert not status.loc["v1", "has_audio"] and status.loc["v0", "has_audio"]
    assert status.loc["v1", "action"] == "car" and status.loc["v1", "fold"] == 2
    assert len(res.errors) == 0 and res.meta["run"]["no_audio"] == 1
    assert res.meta["run"]["failed"] == 0
    required = extract(manifest, tmp_path / "S2", model=tiny_model, progress=False,
                       id_column="clip_id", require_audio=True)
    assert required.errors["id"].tolist() == ["v1"] and required.meta["run"]["failed"] == 1
    stored = read_store(tmp_path / "S").status.set_index("id")
    assert stored.loc["v1", "audio_status"] == "no_audio_stream"


@pytest.mark.slow  # 5.0 s on the loaded 2-core machine (issue 19)
def test_command_line_counts_clips_without_audio_apart(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    manifest = _dataset(tmp_path / "data")
    args = ["extract", str(manifest), "--out", str(tmp_path / "S"), "--id-column", "clip_id",
            "-q"]
    assert main(args) == EXIT_OK
    assert "1 without audio" in capsys.readouterr().out
    assert main([*args, "--require-audio"]) == EXIT_SOME_FAILED
    assert "no_track.mp4" in capsys.readouterr().err
    table = tmp_path / "p.csv"
    assert main(["predict", str(manifest), "--out", str(table), "-q"]) == EXIT_OK
    rows = pd.read_csv(table)
    lone = rows[rows["path"].str.endswith("no_track.mp4")]
    assert len(lone) == 1 and lone["audio_status"].iloc[0] == "no_audio_stream"
    assert pd.isna(lone["label"].iloc[0])


@pytest.mark.slow  # over 15 s on the loaded 2-core machine (about 5 s quiet)
def test_the_bundled_clips_say_where_their_audio_lies_on_the_video_clock(tmp_path, tiny_model):
    """Each clip's media columns come from its headers (probe_media), checked against the
    values the clips were generated with (the manifest's true_* columns)."""
    manifest = list_inputs(VIDEO / "manifest.csv", id_column="clip_id")
    truth = pd.read_csv(VIDEO / "manifest.csv").set_index("clip_id")
    out = extract(manifest, tmp_path / "S", model=tiny_model, progress=False)
    for result in (out, read_store(tmp_path / "S")):
        status = result.status.set_index("id").loc[truth.index]
        np.testing.assert_allclose(status["video_duration_s"], truth["true_video_duration_s"])
        np.testing.assert_allclose(status["frame_rate"], truth["true_frame_rate"])
        with_track = truth["audio"] != "none"
        assert (status["audio_status"] == "no_audio_stream").tolist() == (~with_track).tolist()
        assert status.loc[~with_track, "audio_offset_s"].isna().all()
        np.testing.assert_allclose(status.loc[with_track, "audio_offset_s"],
                                   truth.loc[with_track, "true_audio_offset_s"], atol=1e-3)
        assert status.loc[truth.index[truth["audio"] == "silent"], "audio_status"].eq(
            "silent").all()
        # the audio ends with the video but where it is shorter: that clip alone says so
        warned = status.index[status["av_warning"].notna()].tolist()
        assert warned == truth.index[truth["audio"] == "short"].tolist() == ["playing_music_07"]
        assert "the video at 3.000 s" in status.loc["playing_music_07", "av_warning"]
        rows = result.table.set_index("id")
        # window times are on the video's clock: the late track's window starts at 0.976 s
        assert rows.loc["hammering_04", "start_s"] == pytest.approx(0.976, abs=1e-3)
        assert rows.loc["hammering_04", "end_s"] == pytest.approx(3.0, abs=0.05)
        assert rows.loc["hammering_04", "clip_duration_s"] == pytest.approx(3.0)


def test_a_silent_track_is_stored_as_silent_with_its_embeddings(tmp_path, tiny_model):
    sf.write(tmp_path / "quiet.wav", np.full(SR, 1e-6, np.float32), SR)  # -120 dBFS
    write_tone(tmp_path / "tone.wav", 1.0)
    res = extract(tmp_path, tmp_path / "S", model=tiny_model, progress=False)
    status = res.status.set_index("id")
    assert status.loc["quiet.wav", "audio_status"] == "silent"
    assert status.loc["quiet.wav", "has_audio"]
    assert (res.table["id"] == "quiet.wav").sum() == 1


# --------------------------------------------------------------------------- segments


# segments from their own time: tests/test_segments.py


def test_a_segment_outside_the_audio_fails_alone(tmp_path, tiny_model):
    write_tone(tmp_path / "short.wav", 2.0)
    pd.DataFrame({"path": ["short.wav", "short.wav"], "start_s": [0.5, 5.0],
                  "end_s": [1.5, 6.0]}).to_csv(tmp_path / "m.csv", index=False)
    res = extract(tmp_path / "m.csv", tmp_path / "S", model=tiny_model, pooling="patches",
                  progress=False)
    assert res.errors["id"].tolist() == ["short.wav#5-6"]
    assert "lies outside the clip (0-2 s" in res.errors["reason"].iloc[0]
    (tmp_path / "bad.csv").write_text("path,start_s,end_s\nshort.wav,2,1\n")
    with pytest.raises(ParameterError, match=r"row 0 has start_s=2, end_s=1"):
        list_inputs(tmp_path / "bad.csv")


# --------------------------------------------------------------------------- missing audio


@pytest.fixture(scope="module")
def with_missing(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("missing")
    manifest = _dataset(root / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract(manifest, root / "S", model=tiny_model, progress=False,
                       id_column="clip_id")


def test_aligned_embeddings_follow_the_ids_and_fill_what_is_missing(with_missing, tiny_model):
    res = with_missing
    ids = ["v1", "a3", "v0", "a0"]
    by_id = dict(zip(res.table["id"], res.embeddings, strict=False))  # one window each
    x, has = aligned_embeddings(res, ids, fill="zeros")
    assert x.dtype == np.float32 and x.shape == (4, 64)
    assert has.tolist() == [False, True, True, True]
    np.testing.assert_array_equal(x[1], by_id["a3"])
    assert not x[0].any()
    x, _ = aligned_embeddings(res, ids, fill="nan")
    assert np.isnan(x[0]).all() and np.isfinite(x[1:]).all()
    x, _ = aligned_embeddings(res, ids, fill="mean", train_ids=["a0", "a1", "v1"])
    np.testing.assert_allclose(x[0], (by_id["a0"] + by_id["a1"]) / 2, rtol=1e-6)
    x, _ = aligned_embeddings(res, ids, fill="silence")
    silence = asttools.silence_embedding(tiny_model)
    np.testing.assert_allclose(x[0], silence, atol=1e-6)
    np.testing.assert_allclose(res.meta["silence_embedding"], silence, atol=1e-6)
    with pytest.raises(ParameterError, match=r"fill='mean' needs train_ids"):
        aligned_embeddings(res, ids, fill="mean")
    with pytest.raises(ParameterError, match=r"fill='median' is not one of"):
        aligned_embeddings(res, ids, fill="median")
    with pytest.raises(ParameterError, match=r"1 of 2 ids are not in this result, e.g. 'zz'"):
        aligned_embeddings(res, ["a0", "zz"])
    x, has = aligned_embeddings(res, ["a0", "zz"], unknown="missing")
    assert has.tolist() == [True, False]
    assert set(FILL_STRATEGIES) == {"zeros", "mean", "silence", "nan"}


def test_drop_audio_drops_the_asked_share_within_a_subset():
    mask = np.array([True, True, True, True, False, True])
    out = drop_audio(mask, 0.5, rng=np.random.default_rng(0), among=np.arange(6) < 4)
    assert out[4:].tolist() == [False, True] and out[:4].sum() == 2
    assert drop_audio(mask, 1.0, rng=np.random.default_rng(0)).sum() == 0
    with pytest.raises(ParameterError, match="fraction=1.5 must lie in"):
        drop_audio(mask, 1.5, rng=np.random.default_rng(0))


def test_robustness_curve_at_no_drop_equals_a_plain_probe(rng):
    n, d = 40, 8
    labels = np.repeat(["x", "y"], n // 2)
    x = rng.normal(size=(n, d)) + (labels == "x")[:, None] * 1.5
    has = rng.random(n) > 0.2
    folds = np.tile([1, 2, 3, 4], n // 4)
    video = rng.normal(size=(n, 3)) + (labels == "y")[:, None]
    curve = robustness_curve(labels, x, has_audio=has, folds=folds, video=video,
                             silence=np.zeros(d), fractions=(0.0, 0.5, 1.0),
                             fills=("zeros", "mean"), n_repeats=3, n_boot=100)
    assert set(curve["features"]) == {"audio", "audio+video", "video"}
    # reference: the same probe by hand, at fraction 0 with the mean fill
    filled = x.copy()
    hits = np.zeros(n)
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        filled = x.copy()
        filled[~has] = x[has & train].mean(axis=0)
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        probe.fit(filled[train], labels[train])
        hits[test] = probe.predict(filled[test]) == labels[test]
    row = curve[(curve["features"] == "audio") & (curve["fill"] == "mean")
                & (curve["fraction"] == 0.0)].iloc[0]
    assert row["accuracy"] == pytest.approx(hits.mean())
    assert row["ci_low"] <= row["accuracy"] <= row["ci_high"]
    # the video baseline does not move; with all audio gone, audio alone predicts one class
    base = curve[curve["features"] == "video"]["accuracy"]
    assert base.nunique() == 1 and len(base) == 3
    gone = curve[(curve["features"] == "audio") & (curve["fraction"] == 1.0)]
    assert (gone["accuracy"] <= 0.5 + 1e-9).all()
    with pytest.raises(ParameterError, match="'silence'"):
        robustness_curve(labels, x, has_audio=has, folds=folds, fills=("silence",))
    with pytest.raises(ParameterError, match=r"truth first.*robustness_curve\(labels, "):
        robustness_curve(x, labels, has_audio=has, folds=folds)


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize("late_s", [0.0, 0.976])
def test_timestamps_of_a_video_line_up_with_its_frames(tmp_path, tiny_model, video_data_script,
                                                       late_s):
    """A click at 3.5 s of video time, in an AAC track that starts late_s after the
    video: the step and the 25 fps frame that change most lie within one step (0.1 s) of
    it, read from the file's own headers (no offset given)."""
    m = video_data_script
    n_frames, click_s = 150, 3.5  # 6 s of video
    frames = np.zeros((n_frames, m.HEIGHT, m.WIDTH, 3), np.uint8)
    rng = np.random.default_rng(0)
    quiet = (0.01 * rng.standard_normal(n_frames * m.SR // m.FPS)).astype(np.float32)
    clicked = quiet.copy()
    at = round(click_s * m.SR)
    clicked[at: at + 32] += 0.9
    pts = round(late_s * m.SR) + (m.AAC_PRIMING if late_s else 0)  # as the generator does
    paths = []
    for name, track in (("quiet", quiet), ("clicked", clicked)):
        paths.append(tmp_path / f"{name}.mp4")
        m.write_mp4(paths[-1], frames, (track[pts:], pts))
    res = asttools.timestamp_embeddings([str(p) for p in paths], model=tiny_model, layer=0)
    assert res.inputs["offset_s"].tolist() == pytest.approx([pts / m.SR - (
        m.AAC_PRIMING / m.SR if late_s else 0.0)] * 2, abs=1e-3)
    assert res.inputs["frame_rate"].tolist() == [25.0, 25.0]
    t, quiet_steps = res.get(0)
    _, click_steps = res.get(1)
    assert t[0] == pytest.approx(res.inputs["offset_s"].iloc[0] + 0.0875, abs=1e-6)
    change = np.linalg.norm(click_steps - quiet_steps, axis=1)
    assert abs(t[np.argmax(change)] - click_s) <= 0.1
    frames_out = res.pool(frame_rate=25)
    ft, f0 = frames_out.get(str(paths[0]))  # by path (a list of paths: the id is the path)
    _, f1 = frames_out.get(1)
    assert len(ft) == n_frames  # every frame of the video, the audio's first ones too
    assert abs(ft[np.argmax(np.linalg.norm(f1 - f0, axis=1))] - click_s) <= 0.1
    has_audio = frames_out.table.loc[frames_out.table["item"] == 0, "has_audio"]
    assert not has_audio.iloc[: int(late_s * 25)].any() and has_audio.iloc[25:].all()


@pytest.mark.slow  # 7.2 s on the loaded 2-core machine (issue 19)
def test_timestamps_of_the_bundled_clips_keep_ids_statuses_and_empty_frames(tiny_model):
    inputs = list_inputs(VIDEO / "manifest.csv", id_column="clip_id")
    truth = pd.read_csv(VIDEO / "manifest.csv").set_index("clip_id")
    res = asttools.timestamp_embeddings(inputs, model=tiny_model)
    assert res.inputs["id"].tolist() == truth.index.tolist() and len(res.errors) == 0
    status = res.inputs.set_index("id")["audio_status"]
    assert (status == "no_audio_stream").tolist() == (truth["audio"] == "none").tolist()
    assert status.loc[truth.index[truth["audio"] == "silent"]].eq("silent").all()
    pooled = res.pool(frame_rate=25)
    per_clip = pooled.table.groupby("id", sort=False).size()
    # one vector per video frame for every clip, those without audio too (NaN, no audio)
    np.testing.assert_array_equal(per_clip.loc[truth.index],
                                  np.round(truth["true_video_duration_s"] * 25))
    none = pooled.table["id"].isin(truth.index[truth["audio"] == "none"]).to_numpy()
    assert np.isnan(pooled.embeddings[none]).all() and not pooled.table["has_audio"][none].any()
    assert np.isfinite(pooled.embeddings[~none]).all()
    padded = res.padded()
    assert padded.mask[(truth["audio"] == "none").to_numpy()].sum() == 0


def test_timestamps_save_and_read_back_float32_and_float16(tmp_path, tiny_model):
    inputs = list_inputs(VIDEO / "manifest.csv", id_column="clip_id").iloc[:8]
    res = asttools.timestamp_embeddings(inputs, model=tiny_model)
    for float16, tol in ((False, 0.0), (True, 2.0 ** -11)):
        path = res.save(tmp_path / f"ts{float16:d}.parquet", float16=float16)
        back = asttools.read_timestamps(path)
        pd.testing.assert_frame_equal(back.table, res.table)
        pd.testing.assert_frame_equal(back.inputs, res.inputs)
        assert back.embeddings.dtype == np.float32
        np.testing.assert_allclose(back.embeddings, res.embeddings, rtol=tol, atol=1e-7)
        assert back.random_weights and back.meta["hop_s"] == res.meta["hop_s"]
        assert pd.read_parquet(path).shape[0] == len(res)  # the pandas one-liner
    sizes = [(tmp_path / f"ts{i}.parquet").stat().st_size for i in (0, 1)]
    assert sizes[1] < 0.75 * sizes[0]
    pooled = res.pool(frame_rate="video", frames_per_vector=16)
    back = asttools.read_timestamps(pooled.save(tmp_path / "pooled.parquet"))
    pd.testing.assert_frame_equal(back.table, pooled.table)
    np.testing.assert_array_equal(back.embeddings, pooled.embeddings)  # NaN rows too
    with pytest.raises(asttools.ASTToolsError, match="not a file of timestamp embeddings"):
        asttools.read_timestamps(asttools.run.result.write_table(
            pd.DataFrame({"path": ["a"]}), tmp_path / "other.parquet"))
    with pytest.raises(ParameterError, match="use a .parquet file name"):
        res.save(tmp_path / "ts.csv")


@pytest.mark.slow  # 5.6 s on the loaded 2-core machine (issue 19)
def test_timestamps_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    out = tmp_path / "ts.parquet"
    args = ["timestamps", str(VIDEO / "manifest.csv"), "--id-column", "clip_id",
            "--out", str(out), "--frame-rate", "video", "--frames-per-vector", "16", "-q"]
    assert main(args) == EXIT_OK
    said = capsys.readouterr().out
    assert "6 without audio" in said and "0 failed" in said and "read_timestamps" in said
    back = asttools.read_timestamps(out)
    truth = pd.read_csv(VIDEO / "manifest.csv")
    assert back.inputs["id"].tolist() == truth["clip_id"].tolist()
    per_clip = back.table.groupby("id", sort=False).size().loc[truth["clip_id"]]
    np.testing.assert_array_equal(per_clip, np.ceil(truth["true_video_duration_s"] * 25 / 16))
    # audio files have no frame rate: refused before any work, naming the option
    wav = write_tone(tmp_path / "a.wav", 1.0)
    assert main(["timestamps", str(wav), "--out", str(out), "--frame-rate", "video"]) == 2
    assert "no video frame rate" in capsys.readouterr().err


@pytest.mark.slow  # 5.1 s on the loaded 2-core machine (issue 19)
def test_evaluate_names_the_clips_without_audio_it_cannot_score(tiny_model):
    inputs = list_inputs(VIDEO / "manifest.csv", id_column="clip_id")
    result = asttools.embed(inputs, model=tiny_model)
    truth = asttools.read_ground_truth(VIDEO / "manifest.csv", label_column="action")
    mapping = {"hammering": "Hammer", "alarm": "Alarm", "talking": "Speech",
               "playing_music": "Music"}
    with pytest.warns(asttools.ASTToolsWarning,
                      match=r"6 clips of the truth table have no audio \(6 no_audio_stream\)"):
        table = asttools.evaluate(truth, result, mapping=mapping, n_boot=10)
    assert (table["n"] == 26).all()  # the 26 clips with audio are scored
