"""Video features in the store on the audio's clock (issue 20 item 3)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import soundfile as sf
from video_fixtures import vfr_times, write_flashes

import asttools.store.video_features as vfmod
from asttools.audio.frames import frame_times
from asttools.errors import ASTToolsWarning, ParameterError, StoreError
from asttools.store.video_features import (
    extract_video,
    join_timeline,
    read_video_features,
    video_matrix,
)
from asttools.timestamps import pool_to_times

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:asttools.ASTToolsWarning",
                                        "ignore:.*random weights:asttools.ASTToolsWarning")
FLASHES = {5, 20, 41}


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "clips"
    root.mkdir()
    audio = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    write_flashes(root / "cfr.mkv", np.arange(60) / 25, FLASHES, audio=audio,
                  audio_start_s=0.5)
    write_flashes(root / "vfr.mp4", vfr_times(60), FLASHES)
    sf.write(root / "sound.wav", audio, 16000)
    (root / "junk.mp4").write_bytes(b"not a video" * 50)
    return root


@pytest.mark.slow
def test_statuses_ids_and_vectors_at_the_flash_times(folder, tmp_path):
    out = extract_video(folder, tmp_path / "store", model="tiny-random-image")
    status = dict(zip(out.inputs["id"], out.inputs["video_status"], strict=True))
    assert status == {"cfr.mkv": "ok", "junk.mp4": "decode_error",
                      "sound.wav": "no_video_stream", "vfr.mp4": "ok"}
    assert out.random_weights and out.meta["video_model"] == "tiny-random-image"
    vfr = out.inputs.set_index("id")["variable_frame_rate"]
    assert vfr["vfr.mp4"] == True and vfr["cfr.mkv"] == False  # noqa: E712
    for clip in ("cfr.mkv", "vfr.mp4"):
        times = frame_times(folder / clip).times_s
        t, e = out.get(clip)
        assert len(t) == 60
        rows = out.table[out.table["id"] == clip]
        np.testing.assert_allclose(rows["start_s"], times)  # one vector per real frame
        # black frames all give one vector; the flashes give another
        lit = np.abs(e - np.median(e, axis=0)).max(axis=1) > 1e-4
        np.testing.assert_allclose(rows["start_s"].to_numpy()[lit], times[sorted(FLASHES)])


@pytest.mark.slow
def test_the_store_resumes_and_caches_by_content(folder, tmp_path, monkeypatch):
    store = tmp_path / "store"
    first = extract_video(folder, store, model="tiny-random-image", fps=10)
    calls = []
    real = vfmod.video_embeddings
    monkeypatch.setattr(vfmod, "video_embeddings",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    again = extract_video(folder, store, model="tiny-random-image", fps=10)
    assert calls == []  # nothing decoded or embedded again
    np.testing.assert_array_equal(again.embeddings, first.embeddings)
    shutil.copy(folder / "cfr.mkv", folder / "renamed.mkv")  # same bytes, new id
    third = extract_video(folder, store, model="tiny-random-image", fps=10)
    assert calls == []
    np.testing.assert_array_equal(third.get("renamed.mkv")[1], first.get("cfr.mkv")[1])
    # other settings: their own key, computed
    other = extract_video(folder / "cfr.mkv", store, model="tiny-random-image", fps=5)
    assert calls and other.meta["settings_key"] != first.meta["settings_key"]
    back = read_video_features(store, settings_key=first.meta["settings_key"])
    assert set(back.inputs["id"]) == {"cfr.mkv", "junk.mp4", "sound.wav", "vfr.mp4",
                                      "renamed.mkv"}
    with pytest.raises(StoreError, match="no video features with settings key 'nope'"):
        read_video_features(store, settings_key="nope")


def test_snippets_of_videomae_in_the_store(folder, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        out = extract_video([folder / "cfr.mkv"], tmp_path / "s", model="tiny-random",
                            stride=8)
    rows = out.table
    assert len(rows) == 6 and out.embeddings.shape == (6, 32)
    np.testing.assert_allclose(rows["start_s"], np.arange(0, 41, 8) / 25)
    np.testing.assert_allclose(rows["end_s"], (np.arange(0, 41, 8) + 16) / 25)
    with pytest.raises(ParameterError, match="takes snippets of 16 frames"):
        extract_video([folder / "cfr.mkv"], tmp_path / "s", model="tiny-random", snippet=8)


def test_video_matrix_is_the_mean_per_clip(folder, tmp_path):
    out = extract_video(folder, tmp_path / "store", model="tiny-random-image", fps=5)
    ids, X = video_matrix(tmp_path / "store")
    assert ids.tolist() == ["cfr.mkv", "vfr.mp4"] and X.dtype == np.float32
    np.testing.assert_allclose(X[1], out.get("vfr.mp4")[1].mean(axis=0), rtol=1e-6)
    ids, X = video_matrix(out, ids=["vfr.mp4"], pooling="max")
    np.testing.assert_allclose(X[0], out.get("vfr.mp4")[1].max(axis=0))
    with pytest.raises(ParameterError, match=r"sound.wav \(no_video_stream\)"):
        video_matrix(out, ids=["cfr.mkv", "sound.wav"])


@pytest.mark.slow
def test_join_puts_audio_steps_and_video_vectors_on_one_grid(folder, tmp_path, tiny_model):
    from asttools.timestamps import timestamp_embeddings

    video = extract_video(folder, tmp_path / "store", model="tiny-random-image")
    audio = timestamp_embeddings(list(folder.glob("*.mkv")), model=tiny_model)
    table, A, V = join_timeline(audio, video)
    cfr = (table["id"] == "cfr.mkv").to_numpy()
    assert cfr.sum() == 60 and len(table) == 120 and A.shape[0] == V.shape[0] == 120
    t, e = audio.get(0)
    spans = table.loc[cfr, ["start_s", "end_s"]].to_numpy()
    by_hand = pool_to_times(t, e, times=spans).embeddings
    has = table.loc[cfr, "has_audio"].to_numpy()
    # the audio starts at 0.5 s on the video's clock: the first frames have none
    np.testing.assert_array_equal(has, spans[:, 1] > 0.5)
    np.testing.assert_allclose(A[cfr][has], by_hand[has], atol=1e-6)
    assert np.isnan(A[cfr][~has]).all()
    np.testing.assert_array_equal(V[cfr], video.get("cfr.mkv")[1])
    assert np.isnan(A[~cfr]).all()  # vfr.mp4 has no audio
    table_a, A2, V2 = join_timeline(audio, video, on="audio")
    assert (table_a["id"] == "cfr.mkv").sum() == len(t)


def test_the_command_line(folder, tmp_path, capsys):
    from asttools.apps.cli import EXIT_SOME_FAILED, main

    code = main(["video-features", str(folder), "--out", str(tmp_path / "store"),
                 "--video-model", "tiny-random-image", "--fps", "5", "-q"])
    text = capsys.readouterr()
    assert code == EXIT_SOME_FAILED  # junk.mp4 cannot be decoded
    assert "RANDOM WEIGHTS" in text.out and "ok 2" in text.out
    assert "junk.mp4: decode_error" in text.err
    back = read_video_features(tmp_path / "store")
    expected = {c: int(np.ceil(frame_times(folder / c).end_s * 5 - 1e-9))
                for c in ("cfr.mkv", "vfr.mp4")}  # k / 5 s before each video's end
    assert expected["cfr.mkv"] == 12
    assert back.table.groupby("id").size().to_dict() == expected


@pytest.mark.slow
def test_robustness_curve_runs_on_video_features_computed_by_asttools(tmp_path, tiny_model):
    """The bundled clips: audio and video features from one store, joined by id."""
    from pathlib import Path

    import pandas as pd

    from asttools.analysis.missing import aligned_embeddings
    from asttools.analysis.robustness import robustness_curve
    from asttools.store import extract

    manifest = Path(__file__).resolve().parents[1] / "data" / "video" / "manifest.csv"
    store = tmp_path / "emb"
    audio = extract(manifest, store, model=tiny_model, id_column="clip_id")
    extract_video(manifest, store, model="tiny-random-image", fps=2, id_column="clip_id")
    ids, X = video_matrix(store)
    truth = pd.read_csv(manifest).set_index("clip_id").loc[ids]
    assert len(ids) == 32 and X.shape == (32, 32)
    emb, has_audio = aligned_embeddings(audio, ids, fill="nan")
    assert has_audio.sum() == (truth["audio"] != "none").sum()
    curve = robustness_curve(truth["action"].tolist(), emb, has_audio=has_audio,
                             folds=truth["fold"].tolist(), video=X, n_repeats=2, n_boot=50,
                             fills=("zeros",))
    assert len(curve) and curve["accuracy"].between(0, 1).all()


def test_segments_get_the_vectors_that_overlap_them(folder, tmp_path):
    import pandas as pd

    manifest = tmp_path / "segments.csv"
    pd.DataFrame({"path": [str(folder / "cfr.mkv")] * 2, "id": ["s0", "s1"],
                  "start_s": [0.0, 1.0], "end_s": [0.5, 2.0]}).to_csv(manifest, index=False)
    out = extract_video(manifest, tmp_path / "store", model="tiny-random-image")
    assert out.inputs["id"].tolist() == ["s0", "s1"]
    assert out.table.groupby("id").size().to_dict() == {"s0": 13, "s1": 25}  # 40 ms frames
    s1 = out.table[out.table["id"] == "s1"]
    assert s1["start_s"].min() == pytest.approx(1.0) and s1["end_s"].max() == pytest.approx(2.0)
    back = read_video_features(tmp_path / "store")
    assert back.table.groupby("id").size().to_dict() == {"s0": 13, "s1": 25}


@pytest.mark.slow  # 47.3 s on the loaded 2-core machine (issue 19)
def test_a_folder_model_by_name_or_loaded_shares_one_settings_key(folder, tmp_path,
                                                                 monkeypatch):
    from asttools.errors import ModelLoadError
    from asttools.model.video_model import load_video_model, tiny_random_video_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vm = tiny_random_video_model("frame")
    vm.model.save_pretrained(tmp_path / "m")
    vm.processor.save_pretrained(tmp_path / "m")
    a = extract_video([folder / "cfr.mkv"], tmp_path / "s", model=tmp_path / "m", fps=2)
    b = extract_video([folder / "cfr.mkv"], tmp_path / "s",
                      model=load_video_model(tmp_path / "m", device="cpu"), fps=2)
    assert a.meta["settings_key"] == b.meta["settings_key"]
    assert a.meta["video_model"] == str((tmp_path / "m").resolve())
    with pytest.raises(ModelLoadError, match="cannot load video model 'nobody/none'"):
        extract_video([folder / "cfr.mkv"], tmp_path / "s", model="nobody/none")


def test_a_run_killed_part_way_resumes_where_it_stopped(folder, tmp_path, monkeypatch):
    store = tmp_path / "store"
    real = vfmod.video_embeddings
    calls = []

    def dies_on_the_second_video(pixels, **kw):
        calls.append(len(pixels))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the run is killed while embedding the second video
        return real(pixels, **kw)

    monkeypatch.setattr(vfmod, "video_embeddings", dies_on_the_second_video)
    with pytest.raises(KeyboardInterrupt):  # batch_size 64: one call per video
        extract_video(folder, store, model="tiny-random-image", fps=2, batch_size=64,
                      flush_items=1)
    calls.clear()
    monkeypatch.setattr(vfmod, "video_embeddings", lambda p, **kw: calls.append(1) or
                        real(p, **kw))
    out = extract_video(folder, store, model="tiny-random-image", fps=2, batch_size=64)
    assert len(calls) == 1  # only the video that was not finished
    fresh = extract_video(folder, tmp_path / "fresh", model="tiny-random-image", fps=2,
                          batch_size=64)
    np.testing.assert_array_equal(out.embeddings, fresh.embeddings)
    assert out.inputs["video_status"].tolist() == fresh.inputs["video_status"].tolist()
