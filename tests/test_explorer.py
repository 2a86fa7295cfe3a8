"""asttools.explore without a browser: the points, their labels and spans, the audio, errors.

The page in a browser: tests/test_explorer_browser.py.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from audio_fixtures import dominant_frequency, sine

import asttools
from asttools.analysis.reduce import EMBEDDING_MAP_METHODS
from asttools.errors import ParameterError
from asttools.explorer import AUDIO_MODES, explore
from asttools.explorer._audio import page_audio
from asttools.run.result import EmbeddingResult, top_k
from asttools.run.steps import STEP_S
from asttools.timestamps import TimestampResult

SR = 16000


@pytest.fixture
def result(tmp_path):
    """Three clips: a (two windows, 440 then 880 Hz), b (660 Hz), c (audio starting 0.5 s
    into the video, 1000 Hz); random probabilities with a seeded rng."""
    sf.write(tmp_path / "a.wav",
             np.concatenate([sine(440, SR, 2.0, amp=0.3), sine(880, SR, 2.0, amp=0.3)]), SR)
    sf.write(tmp_path / "b.wav", sine(660, SR, 1.0, amp=0.3), SR)
    sf.write(tmp_path / "c.wav", sine(1000, SR, 1.0, amp=0.3), SR)
    table = pd.DataFrame({
        "item": [0, 0, 1, 2], "path": [str(tmp_path / f"{s}.wav") for s in "aabc"],
        "id": ["a.wav", "a.wav", "b.wav", "c.wav"], "window": [0, 1, 0, 0],
        "start_s": [0.0, 2.0, 0.0, 0.5], "end_s": [2.0, 4.0, 1.0, 1.5],
        "audio_offset_s": [0.0, 0.0, 0.0, 0.5], "audio_status": ["ok"] * 4,
        "label": ["low", "high", "mid", "top"], "fold": [1, 1, 2, 2]})
    rng = np.random.default_rng(0)
    probs = rng.random((4, 527)).astype(np.float32)
    emb = rng.normal(size=(4, 16)).astype(np.float32)
    return EmbeddingResult(table, emb, probs, meta={"model": "m", "pooling": "cls", "layer": 12})


def test_points_carry_the_top5_labels_and_truth(result):
    ex = explore(result, method="pca")
    pts = ex.points
    assert pts["point"].tolist() == ["a.wav [0.00-2.00 s]", "a.wav [2.00-4.00 s]", "b.wav",
                                     "c.wav"]
    assert pts["truth"].tolist() == ["low", "high", "mid", "top"]
    ref = top_k(result, k=5)  # the library's own ranking
    for i in range(4):
        rows = ref[ref.index // 5 == i]
        lines = pts["top5"][i].split("<br>")
        assert [re.sub(r"^\d\. ", "", x).rsplit(" ", 1)[0] for x in lines] == \
            rows["label"].tolist()
        assert [float(x.rsplit(" ", 1)[1]) for x in lines] == pytest.approx(
            rows["probability"].tolist(), abs=5e-4)
        assert pts["p_predicted"][i] == pytest.approx(result.probs[i].max())
    assert ex.options == ["truth", "predicted", "audio_status", "fold"]
    xy = asttools.analysis.reduce.embedding_map(result.embeddings, method="pca")
    np.testing.assert_allclose(pts[["x", "y"]].to_numpy(), xy, rtol=1e-5, atol=1e-5)


def test_bad_colour_truth_and_arguments_are_named(result):
    with pytest.raises(ParameterError, match=r"cannot colour by 'nope'.*available: .*fold"):
        explore(result, method="pca", color="nope")
    with pytest.raises(ParameterError, match=r"truth='species' is not a column.*label"):
        explore(result, method="pca", truth="species")
    with pytest.raises(ParameterError, match=r"per must be one of"):
        explore(result, per="frame")
    with pytest.raises(ParameterError, match=r"xy must have shape \(4, 2\)"):
        explore(result, xy=np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="EmbeddingResult, a TimestampResult or a store"):
        explore(np.zeros((4, 16)))


def test_each_point_plays_its_own_span(result):
    ex = explore(result, method="pca")
    audio = page_audio(ex.points, mode="embed")
    assert len(audio.sources) == 3  # one per file, windows share theirs
    np.testing.assert_array_equal(audio.index, [0, 0, 1, 2])
    np.testing.assert_allclose(audio.start, [0.0, 2.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(audio.end, [2.0, 4.0, 1.0, 1.0], atol=1e-6)  # c: video clock
    wav, sr = sf.read(io.BytesIO(base64.b64decode(audio.sources[0].split(",", 1)[1])))
    assert sr == SR and len(wav) == 4 * SR
    assert abs(dominant_frequency(wav[int(2.1 * SR): int(3.9 * SR)], SR) - 880) < 3
    assert abs(dominant_frequency(wav[int(0.1 * SR): int(1.9 * SR)], SR) - 440) < 3


@pytest.mark.slow  # 42.7 s on the loaded 2-core machine (issue 19)
def test_a_long_recording_is_encoded_without_crashing_the_process():
    # a 200 s file in one libsndfile Vorbis write is a segmentation fault (soundfile 0.13);
    # the explorer encodes block by block. Run in a child process, so that a regression
    # fails this test instead of killing the test run.
    code = (
        "import numpy as np, io, soundfile as sf\n"
        "from asttools.explorer._audio import _ogg\n"
        "wav = (0.1 * np.random.default_rng(0).standard_normal(16000 * 200)).astype('f4')\n"
        "back, sr = sf.read(io.BytesIO(_ogg(wav, 16000)))\n"
        "print(len(back), sr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.split() == [str(16000 * 200), "16000"]


def test_missing_files_are_marked_and_the_page_still_opens(result, tmp_path):
    (tmp_path / "b.wav").unlink()
    ex = explore(result, method="pca")
    audio = page_audio(ex.points, mode="embed")
    assert audio.index[2] == -1 and audio.note[2].startswith("audio file missing")
    assert str(tmp_path / "b.wav") in audio.note[2]
    page = ex.html()
    assert "audio files are missing (moved or deleted)" in page
    assert "audio file missing" in page


def test_embedded_audio_limit_suggests_files(result, tmp_path):
    ex = explore(result, method="pca")
    with pytest.raises(ParameterError, match=r"4 points with audio are more than.*"
                                             r"max_points=3.*audio='files'"):
        ex.save(tmp_path / "map.html", max_points=3)
    with pytest.raises(ParameterError, match=r"MB compressed.*audio='files'"):
        ex.save(tmp_path / "map.html", max_bytes=1000)
    path = ex.save(tmp_path / "site" / "map.html", audio="files", max_points=3)
    files = sorted((tmp_path / "site" / "map_audio").iterdir())
    assert [f.name for f in files] == ["0000.ogg", "0001.ogg", "0002.ogg"]
    text = path.read_text()
    assert '"map_audio/0001.ogg"' in text and "data:audio/ogg" not in text
    wav, sr = sf.read(files[1])
    assert abs(dominant_frequency(wav, SR) - 660) < 3 and abs(len(wav) / sr - 1.0) < 1e-3
    with pytest.raises(ParameterError, match=r"audio must be one of"):
        ex.save(tmp_path / "x.html", audio="mp3")


def test_page_is_self_contained_and_states_its_settings(result, tmp_path):
    result.meta["random_weights"] = True
    ex = explore(result, method="tsne", perplexity=30)
    page = ex.save(tmp_path / "map.html").read_text()
    assert "<script src=" not in page and "cdn.bokeh.org" not in page  # BokehJS inline
    assert "RANDOM WEIGHTS" in page and "perplexity 1" in page  # capped: (4 - 1) / 3
    assert page.count("data:audio/ogg;base64,") == 3
    frame = ex._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "RANDOM WEIGHTS" in frame


def test_timestamp_results_map_each_step(tmp_path):
    sf.write(tmp_path / "t.wav", sine(500, SR, 1.0, amp=0.3), SR)
    times = np.arange(6) * STEP_S + 0.1
    table = pd.DataFrame({"item": 0, "path": str(tmp_path / "t.wav"), "time_s": times,
                          "window": 0})
    inputs = pd.DataFrame({"item": [0], "path": [str(tmp_path / "t.wav")], "id": ["t.wav"],
                           "offset_s": [0.0], "duration_s": [1.0]})
    res = TimestampResult(table, np.random.default_rng(1).normal(size=(6, 8)).astype(
        np.float32), inputs, meta={"model": "m", "layer": 4})
    ex = explore(res, method="pca")
    np.testing.assert_allclose(ex.points["start_s"], np.maximum(times - STEP_S / 2, 0))
    np.testing.assert_allclose(ex.points["end_s"], times + STEP_S / 2)
    assert ex.color == "audio_status" and "predicted" not in ex.points
    audio = page_audio(ex.points, mode="embed")
    assert (audio.index == 0).all()
    np.testing.assert_allclose(audio.end - audio.start, STEP_S, atol=1e-6)


def test_cli_choices_agree_with_the_library():
    from asttools.apps.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices["explore"]
    actions = {a.dest: a for a in sub._actions}
    assert tuple(actions["method"].choices) == EMBEDDING_MAP_METHODS
    assert tuple(actions["audio"].choices) == AUDIO_MODES


@pytest.mark.slow
def test_cli_writes_the_page_and_names_a_bad_column(tmp_path, capsys):
    from asttools.apps.cli import EXIT_OK, EXIT_USAGE, main

    for name, hz in (("x", 300), ("y", 600), ("z", 900)):
        sf.write(tmp_path / f"{name}.wav", sine(hz, SR, 1.0, amp=0.3), SR)
    store = tmp_path / "emb"
    asttools.extract(sorted(tmp_path.glob("*.wav")), store, model="tiny-random",
                     progress=False)
    out = tmp_path / "site" / "map.html"
    assert main(["explore", str(store), "--out", str(out), "--method", "pca"]) == EXIT_OK
    page = out.read_text()
    assert page.count("data:audio/ogg;base64,") == 3 and "RANDOM WEIGHTS" in page
    assert "explore: 3 points" in capsys.readouterr().out
    assert main(["explore", str(store), "--out", str(out), "--color", "nope"]) == EXIT_USAGE
    assert "cannot colour by 'nope'" in capsys.readouterr().err
