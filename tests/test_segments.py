"""Segments from their own time (issue 17, item 5): a segment's vector is the mean of its
own 0.1 s steps, computed in windows with real context around it."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from audio_fixtures import sine, write_av

import asttools
from asttools.apps.cli import EXIT_OK, EXIT_USAGE, main
from asttools.errors import ParameterError
from asttools.run.inputs import list_inputs
from asttools.run.segments import SEGMENT_HOP_S, plan_segment
from asttools.store import extract

SR = 16000


@pytest.fixture(scope="module")
def talk_pause_talk(tmp_path_factory):
    """A 10 s clip: noise 0.5-3 s, a 440 Hz tone 3-4 s, a 2 kHz chirp-like tone 4-9.5 s."""
    root = tmp_path_factory.mktemp("seg")
    rng = np.random.default_rng(0)
    wav = np.zeros(10 * SR, np.float32)
    wav[round(0.5 * SR): 3 * SR] = rng.normal(0, 0.2, round(2.5 * SR))
    wav[3 * SR: 4 * SR] = sine(440, SR, 1.0)
    wav[4 * SR: round(9.5 * SR)] = sine(2000, SR, 5.5, amp=0.3)
    sf.write(root / "clip.wav", wav, SR, subtype="FLOAT")
    spans = [(0.5, 3.0), (3.0, 4.0), (4.0, 9.5)]
    pd.DataFrame({"path": ["clip.wav"] * 3, "start_s": [a for a, _ in spans],
                  "end_s": [b for _, b in spans], "label": ["talk", "pause", "talk"]}
                 ).to_csv(root / "m.csv", index=False)
    return root, wav, spans


def _steps_mean(ts, lo, hi):
    t, e = ts.get(0)
    own = (t >= lo) & (t < hi)
    return e[own].mean(axis=0), int(own.sum())


def test_three_segments_give_three_vectors_each_its_own_steps(talk_pause_talk, tiny_model):
    root, wav, spans = talk_pause_talk
    out = asttools.embed(list_inputs(root / "m.csv"), model=tiny_model, pooling="patches")
    assert out.embeddings.shape == (3, tiny_model.config.hidden_size)
    e = out.embeddings
    for i in range(3):  # pairwise different, by far more than float noise
        for j in range(i + 1, 3):
            assert np.abs(e[i] - e[j]).max() > 1e-2
    # each equals the timestamp steps of the whole clip pooled over its span
    ts = asttools.timestamp_embeddings((wav, SR), model=tiny_model, hop_s=SEGMENT_HOP_S)
    for row, (lo, hi) in enumerate(spans):
        ref, n = _steps_mean(ts, lo, hi)
        assert n == round((hi - lo) / 0.1)
        np.testing.assert_allclose(e[row], ref, atol=1e-5)
    assert out.table["start_s"].tolist() == [0.5, 3.0, 4.0]
    assert out.table["end_s"].tolist() == [3.0, 4.0, 9.5]
    assert out.table["label"].tolist() == ["talk", "pause", "talk"]


@pytest.mark.slow  # 11.5 s on the loaded 2-core machine (issue 19)
def test_a_segment_of_a_long_file_uses_windows_on_the_file_grid(tmp_path, tiny_model):
    rng = np.random.default_rng(1)
    wav = rng.normal(0, 0.1, 40 * SR).astype(np.float32)
    sf.write(tmp_path / "long.wav", wav, SR, subtype="FLOAT")
    spans = [(1.0, 3.0), (21.3, 22.0), (5.0, 33.0), (36.0, 40.0)]
    pd.DataFrame({"path": ["long.wav"] * 4, "start_s": [a for a, _ in spans],
                  "end_s": [b for _, b in spans]}).to_csv(tmp_path / "m.csv", index=False)
    res = extract(tmp_path / "m.csv", tmp_path / "S", model=tiny_model, pooling="patches",
                  progress=False)
    ts = asttools.timestamp_embeddings((wav, SR), model=tiny_model)
    table = res.table.reset_index(drop=True)
    for lo, hi in spans:
        row = table.index[table["id"] == f"long.wav#{lo:g}-{hi:g}"][0]
        np.testing.assert_allclose(res.embeddings[row], _steps_mean(ts, lo, hi)[0],
                                   atol=1e-5)
    assert res.meta["settings"]["segments"].startswith("mean of own steps")
    again = extract(tmp_path / "m.csv", tmp_path / "S", model=tiny_model, pooling="patches",
                    progress=False)
    assert again.meta["run"]["cached"] == 4


def test_cls_cannot_be_a_segments_own(talk_pause_talk, tiny_model, tmp_path):
    root, _, _ = talk_pause_talk
    for pooling in ("cls", "dist", "mean", "time", "grid"):
        with pytest.raises(ParameterError, match=f"pooling='{pooling}' with 3 segment"):
            asttools.embed(list_inputs(root / "m.csv"), model=tiny_model, pooling=pooling)
    with pytest.raises(ParameterError, match="use pooling='patches'"):
        extract(root / "m.csv", tmp_path / "S", model=tiny_model, progress=False)
    # whole files only: cls as ever
    assert asttools.embed(root / "clip.wav", model=tiny_model).embeddings.shape[0] == 1


@pytest.mark.slow  # 7.0 s on the loaded 2-core machine (issue 19)
def test_blank_start_and_end_mean_the_whole_clip(talk_pause_talk, tiny_model, tmp_path):
    root, _, _ = talk_pause_talk
    shutil.copy(root / "clip.wav", tmp_path / "clip.wav")
    (tmp_path / "m.csv").write_text("path,start_s,end_s\nclip.wav,,\nclip.wav,3,4\n")
    table = list_inputs(tmp_path / "m.csv")
    assert table["id"].tolist() == ["clip.wav", "clip.wav#3-4"]
    assert np.isnan(table["segment_start_s"].iloc[0])
    out = asttools.embed(table, model=tiny_model, pooling="patches")
    whole = asttools.embed(root / "clip.wav", model=tiny_model, pooling="patches")
    np.testing.assert_allclose(out.embeddings[0], whole.embeddings[0], atol=1e-6)
    (tmp_path / "half.csv").write_text("path,start_s,end_s\nclip.wav,3,\n")
    with pytest.raises(ParameterError, match="row 0 has start_s=3, end_s=nan.*both left "
                                             "blank for the whole file"):
        list_inputs(tmp_path / "half.csv")
    (tmp_path / "rev.csv").write_text("path,start_s,end_s\nclip.wav,4,3\n")
    with pytest.raises(ParameterError, match="row 0 has start_s=4, end_s=3"):
        list_inputs(tmp_path / "rev.csv")


@pytest.mark.slow  # 6.1 s on the loaded 2-core machine (issue 19)
def test_a_segment_past_the_end_is_cut_warned_and_recorded(tmp_path, tiny_model):
    sf.write(tmp_path / "a.wav", np.random.default_rng(2).normal(0, 0.1, 6 * SR), SR)
    pd.DataFrame({"path": ["a.wav"], "start_s": [5.0], "end_s": [12.0]}).to_csv(
        tmp_path / "m.csv", index=False)
    with pytest.warns(asttools.ASTToolsWarning, match=r"5-12 s extends past its audio; its "
                                                      r"vector covers 5-6 s"):
        out = asttools.embed(list_inputs(tmp_path / "m.csv"), model=tiny_model,
                             pooling="patches")
    row = out.table.iloc[0]
    assert (row["start_s"], row["end_s"]) == (5.0, 6.0)
    assert (row["segment_start_s"], row["segment_end_s"]) == (5.0, 12.0)
    # outside the clip altogether: a clear error, for that input alone
    pd.DataFrame({"path": ["a.wav", "a.wav"], "start_s": [7.0, 1.0], "end_s": [8.0, 2.0]}
                 ).to_csv(tmp_path / "out.csv", index=False)
    res = extract(tmp_path / "out.csv", tmp_path / "S", model=tiny_model, pooling="patches",
                  progress=False)
    assert res.errors["id"].tolist() == ["a.wav#7-8"]
    assert "lies outside the clip (0-6 s" in res.errors["reason"].iloc[0]


@pytest.mark.slow  # 5.1 s on the loaded 2-core machine (issue 19)
def test_a_segment_without_audio_is_not_filled_with_other_times(tmp_path, tiny_model):
    """A 4 s video whose audio track ends at 1 s: its 2-3.5 s segment has no audio."""
    write_av(tmp_path / "late.mp4", audio=sine(440, 48000, 1.0)[None], seconds=4.0)
    pd.DataFrame({"path": ["late.mp4", "late.mp4"], "start_s": [0.1, 2.0],
                  "end_s": [0.9, 3.5]}).to_csv(tmp_path / "m.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)
        res = extract(tmp_path / "m.csv", tmp_path / "S", model=tiny_model,
                      pooling="patches", progress=False)
    status = res.status.set_index("id")
    assert status.loc["late.mp4#2-3.5", "audio_status"] == "no_audio_stream"
    assert not status.loc["late.mp4#2-3.5", "has_audio"]
    assert status.loc["late.mp4#0.1-0.9", "has_audio"]
    x, has = asttools.aligned_embeddings(res, ["late.mp4#0.1-0.9", "late.mp4#2-3.5"],
                                         fill="nan")
    assert has.tolist() == [True, False] and np.isnan(x[1]).all()
    # timestamps: the range's own frames only, each without audio
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)
        ts = asttools.timestamp_embeddings(list_inputs(tmp_path / "m.csv"), model=tiny_model,
                                           frame_rate=10)
    late = ts.table[ts.table["id"] == "late.mp4#2-3.5"]
    assert len(late) == 15 and late["start_s"].min() == pytest.approx(2.0)
    assert not late["has_audio"].any()
    assert np.isnan(ts.embeddings[late.index]).all()
    early = ts.table[ts.table["id"] == "late.mp4#0.1-0.9"]
    assert len(early) == 8 and early["has_audio"].all()


def test_plan_segment_runs_only_the_windows_that_own_its_steps():
    # a 60 s file decoded whole: a 1 s segment at 30 s comes from one window
    plan = plan_segment((30.0, 31.0), 0.0, 0, 60 * SR, file_ended=True)
    assert len(plan.bounds) == 1 and not plan.clipped
    a, b = plan.bounds[0]
    assert a % round(SEGMENT_HOP_S * SR) == 0 and a / SR <= 30 - 2.5 and b / SR >= 31 + 2.5
    # nothing of it in the audio
    assert plan_segment((61.0, 62.0), 0.0, 0, 60 * SR, file_ended=True) is None


@pytest.mark.slow  # 7.0 s on the loaded 2-core machine (issue 19)
def test_segments_are_evaluated_with_their_own_labels(tmp_path, tiny_model):
    """Two files, four segments each (noise, tone, noise, tone): the truth table lists a
    file once per segment and evaluate/linear_probe join each segment to its own row."""
    rng = np.random.default_rng(3)
    rows = []
    for f in range(2):
        wav = np.zeros(8 * SR, np.float32)
        for s in range(4):
            part = slice(2 * s * SR, 2 * (s + 1) * SR)
            wav[part] = rng.normal(0, 0.2, 2 * SR) if s % 2 == 0 else \
                sine(300 + 200 * f + 100 * s, SR, 2.0)
            rows.append((f"f{f}.wav", 2.0 * s, 2.0 * (s + 1),
                         "noise" if s % 2 == 0 else "tone", f))
        sf.write(tmp_path / f"f{f}.wav", wav, SR, subtype="FLOAT")
    pd.DataFrame(rows, columns=["path", "start_s", "end_s", "label", "fold"]).to_csv(
        tmp_path / "m.csv", index=False)
    truth = asttools.read_ground_truth(tmp_path / "m.csv")
    assert len(truth) == 8
    res = extract(tmp_path / "m.csv", tmp_path / "S", model=tiny_model, pooling="patches",
                  progress=False)
    truth_shuffled = truth.sample(frac=1.0, random_state=0).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", asttools.ASTToolsWarning)  # nothing dropped
        probe = asttools.linear_probe(truth_shuffled, res, folds="fold")
    pred = probe.predictions
    assert len(pred) == 8
    # each segment is its own row with its own label, in truth order; joined by path
    # alone, every segment of a file would get one vector and noise/tone could not split
    assert pred["label"].tolist() == [lb[0] for lb in truth_shuffled["labels"]]
    assert (pred["label"] == pred["predicted"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)  # random weights
        scored = asttools.evaluate(truth_shuffled, res, task="multiclass",
                                   mapping={"noise": "Speech", "tone": "Sine wave"})
    assert scored.set_index("metric").loc["accuracy", "n"] == 8
    # accuracy by hand: each segment's own probabilities, arg-max over the two classes
    names = res.meta["labels"]
    cols = [names.index("Speech"), names.index("Sine wave")]
    row_of = {(p, a): k for k, (p, a) in enumerate(zip(res.table["path"],
                                                       res.table["segment_start_s"],
                                                       strict=True))}
    rows = [row_of[(p, a)] for p, a in zip(truth_shuffled["path"],
                                           truth_shuffled["start_s"], strict=True)]
    guess = np.where(res.probs[rows][:, cols].argmax(axis=1) == 0, "noise", "tone")
    truth_labels = np.array([lb[0] for lb in truth_shuffled["labels"]])
    assert scored.set_index("metric").loc["accuracy", "value"] == pytest.approx(
        (guess == truth_labels).mean())


def test_the_command_line_says_which_pooling_segments_take(talk_pause_talk, tmp_path,
                                                           capsys):
    root, _, _ = talk_pause_talk
    rc = main(["extract", str(root / "m.csv"), "--out", str(tmp_path / "S"), "--model",
               "tiny-random", "--quiet"])
    assert rc == EXIT_USAGE
    assert "use --pooling 'patches'" in capsys.readouterr().err
    rc = main(["extract", str(root / "m.csv"), "--out", str(tmp_path / "S"), "--model",
               "tiny-random", "--pooling", "patches", "--quiet"])
    assert rc == EXIT_OK
    assert len(asttools.read_store(tmp_path / "S").table) == 3
