"""One API shape (issue 11): truth first, integer counts, results that say what they hold."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import asttools
from asttools.apps.cli import EXIT_OK, main
from asttools.errors import ASTToolsWarning, ParameterError
from asttools.labels import short_label
from asttools.analysis.metrics import ProbeResult, evaluate, linear_probe
from asttools.run.result import EmbeddingResult, top_k

SR = 16000


def _wav(path, seconds=1.0, freq=440.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


# --- evaluate and linear_probe -------------------------------------------------------------


def test_evaluate_rows_are_metrics_and_counts_are_integers(rng):
    y = rng.integers(0, 2, (40, 4))
    y[:, 3] = 0  # a class without positives: skipped
    table = evaluate(y, rng.random((40, 4)), n_boot=0)
    assert not table["metric"].str.startswith("n_classes").any()
    assert table["value"].dtype == np.float64
    assert table["n"].dtype == np.int64 and table["n_classes"].dtype == np.int64
    counts = table.attrs["counts"]
    assert counts == {"n_clips": 40, "n_classes": 4, "n_classes_evaluated": 3,
                      "n_classes_skipped": 1, "n_classes_unmapped": 0}
    assert all(type(v) is int for v in counts.values())


def test_linear_probe_takes_truth_first_like_evaluate(clusters):
    x, labels = clusters
    probe = linear_probe(labels, x, n_splits=3)
    assert isinstance(probe, ProbeResult)
    assert probe.folds["fold"].tolist() == [1, 2, 3]  # fold ids stay numbers
    assert pd.api.types.is_integer_dtype(probe.folds["fold"])
    assert set(probe.summary["metric"]) == {"accuracy", "macro_f1"}
    assert probe.summary["n_folds"].tolist() == [3, 3]
    assert len(probe.predictions) == len(x)
    assert probe.classes == sorted(set(labels))
    with pytest.raises(ParameterError, match=r"takes the truth first, as evaluate does: call "
                                             r"linear_probe\(truth, embeddings\)"):
        linear_probe(x, labels)


def test_linear_probe_keeps_text_fold_ids(clusters):
    x, labels = clusters
    folds = np.array(["a", "b", "c"] * 20)
    probe = linear_probe(labels, x, folds=folds)
    assert probe.folds["fold"].tolist() == ["a", "b", "c"]
    assert probe.predictions["fold"].tolist() == folds.tolist()


# --- EmbeddingResult ------------------------------------------------------------------------


def _result(require_audio=False):
    """Two inputs with audio (one silent, two windows), one without a stream, one failed."""
    table = pd.DataFrame({
        "item": [0, 0, 1], "id": ["a", "a", "b"], "path": ["a.wav", "a.wav", "b.wav"],
        "window": [0, 1, 0], "start_s": [0.0, 10.0, 0.0], "end_s": [10.24, 12.0, 1.0],
        "clip_duration_s": [12.0, 12.0, 1.0], "audio_status": ["ok", "ok", "silent"]})
    failed = pd.DataFrame({
        "item": [2, 3], "id": ["c", "d"], "path": ["c.mp4", "d.wav"],
        "audio_status": ["no_audio_stream", "decode_error"],
        "reason": ["the video has no audio stream", "not audio"]})
    emb = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    return EmbeddingResult.from_rows(table, emb, np.zeros((3, 527), np.float32), failed,
                                     {"model": "m", "pooling": "cls", "layer": 12,
                                      "require_audio": require_audio})


def test_repr_counts_each_input_once():
    text = repr(_result())
    assert ("3 rows from 4 inputs (2 with audio, 1 of them silent, 1 without an audio "
            "stream, 1 failed)") in text
    strict = _result(require_audio=True)
    assert len(strict.errors) == 2  # the video without audio is an error too ...
    assert ("4 inputs (2 with audio, 1 of them silent, 1 without an audio stream (errors: "
            "audio required), 1 failed)") in repr(strict)  # ... but is counted once


def test_select_by_path_id_or_item_and_to_frame():
    res = _result()
    by_path = res.select(paths=["b.wav", "a.wav"])
    by_id = res.select(["b", "a"])
    by_item = res.select(items=[1, 0])
    for picked in (by_path, by_id, by_item):
        assert picked.table["path"].tolist() == ["b.wav", "a.wav", "a.wav"]
        np.testing.assert_array_equal(picked.embeddings, res.embeddings[[2, 0, 1]])
    assert res.select(["c"]).status["audio_status"].tolist() == ["no_audio_stream"]
    with pytest.raises(ParameterError, match="not in this result"):
        res.select(paths=["nope.wav"])
    with pytest.raises(ParameterError, match="exactly one of"):
        res.select(["a"], paths=["a.wav"])
    frame = res.to_frame()
    assert len(frame) == len(res) and {"embedding", "probs"} <= set(frame.columns)
    np.testing.assert_array_equal(frame["embedding"].iloc[2], res.embeddings[2])


def test_meta_layer_is_the_same_resolved_number_in_memory_and_in_the_store(
        tmp_path, tiny_model):
    paths = [str(_wav(tmp_path / "a.wav")), str(_wav(tmp_path / "b.wav", freq=880.0))]
    n_layers = tiny_model.config.num_hidden_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        out = asttools.embed(paths, model=tiny_model)
        stored = asttools.extract(paths, tmp_path / "emb", model=tiny_model, progress=False)
        back = asttools.read_store(tmp_path / "emb")
    assert out.meta["layer"] == stored.meta["layer"] == back.meta["layer"] == n_layers
    assert back.meta["settings"]["layer"] == -1  # as asked: part of the settings key
    assert f"layer={n_layers}" in repr(back)
    # either spelling names the same stored rows
    for layer in (-1, n_layers):
        again = asttools.read_store(tmp_path / "emb", settings={"layer": layer})
        assert again.meta["settings_key"] == back.meta["settings_key"]


# --- top_k short names ----------------------------------------------------------------------


def test_short_label_cuts_at_the_first_comma_unless_that_is_ambiguous():
    assert short_label("Bird vocalization, bird call, bird song") == "Bird vocalization"
    assert short_label("Female speech, woman speaking") == "Female speech"
    assert short_label("Speech") == "Speech"
    assert short_label("Inside, small room") == "Inside, small room"  # Inside, ... x3
    names = asttools.audioset_labels()["display_name"].tolist()
    shorts = [short_label(n) for n in names]
    assert len(set(shorts)) == len(names)  # still one name per class


def test_top_k_short_names():
    p = np.zeros((1, 527), np.float32)
    idx = {n: i for i, n in enumerate(asttools.audioset_labels()["display_name"])}
    p[0, idx["Bird vocalization, bird call, bird song"]] = 0.9
    p[0, idx["Inside, small room"]] = 0.8
    full = top_k(p, k=2)
    short = top_k(p, k=2, short=True)
    assert full["label"].tolist() == ["Bird vocalization, bird call, bird song",
                                      "Inside, small room"]
    assert short["label"].tolist() == ["Bird vocalization", "Inside, small room"]
    assert short["mid"].tolist() == full["mid"].tolist()


# --- command line ---------------------------------------------------------------------------


def test_each_command_help_shows_its_own_examples(capsys):
    helps = {}
    for cmd in ("predict", "extract", "timestamps", "fidelity", "info", "compact", "demo"):
        assert main([cmd, "--help"]) == EXIT_OK
        helps[cmd] = capsys.readouterr().out
        assert "examples:" in helps[cmd], cmd
        example_lines = [ln.strip() for ln in helps[cmd].split("examples:")[1].splitlines()
                         if "asttools " in ln]
        assert example_lines, cmd
        assert all(f"asttools {cmd}" in ln for ln in example_lines), (cmd, example_lines)
    assert "asttools predict" not in helps["extract"]
    assert "--label-column" in helps["demo"]


def test_info_shows_cache_offline_and_decoders(monkeypatch, capsys):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    assert main(["info", "--json"]) == EXIT_OK
    info = json.loads(capsys.readouterr().out)
    for key in ("weights_cache", "offline", "pyav", "ffmpeg", "soxr"):
        assert info.get(key) not in (None, ""), key
    assert info["ffmpeg"].startswith("libavcodec ")
    assert isinstance(info["offline"], bool)
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("weights_cache:", "offline:", "pyav:", "ffmpeg:", "soxr:"):
        assert text in out, text


# --- the demo on a tiny dataset -------------------------------------------------------------


@pytest.mark.slow  # over 15 s on the loaded 2-core machine (about 5 s quiet)
def test_demo_on_two_clips_of_one_class_skips_the_probe_with_a_note(tmp_path, tiny_model):
    data = tmp_path / "clips.csv"
    for i in range(2):
        _wav(tmp_path / f"c{i}.wav", seconds=1.0, freq=440.0 * (i + 1))
    pd.DataFrame({"path": ["c0.wav", "c1.wav"], "category": ["dog", "dog"]}).to_csv(
        data, index=False)
    lines: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        report = asttools.apps.demo.run_demo(tmp_path / "out", data=data, model=tiny_model,
                                        label_column="category", progress=False,
                                        report=lines.append)
    assert report.n_clips == 2
    assert any("linear probe skipped" in n and "two classes" in n for n in report.notes)
    assert any(line.startswith("note: linear probe skipped") for line in lines)
    stems = {p.stem for p in report.tables}
    assert "linear_probe" not in stems and "metrics" in stems
    assert "08_probe_confusion" not in {p.stem for p in report.figures}
    assert "01_waveform_fbank" in {p.stem for p in report.figures}
