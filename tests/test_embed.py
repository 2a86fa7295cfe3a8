"""embed(): parity with transformers' own AST classes, poolings, layers, windows, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from audio_fixtures import sine
from transformers import ASTFeatureExtractor, ASTForAudioClassification, ASTModel

import asttools
from asttools.errors import ASTToolsWarning, AudioError, ParameterError
from asttools.run import forward


def tone(seconds: float, *, freq: float = 440.0, sr: int = 16000) -> np.ndarray:
    return sine(freq, sr, seconds)

TOL = 1e-5


@pytest.fixture(scope="module")
def reference_models(tiny_model_dir):
    """transformers' own classes, loaded from the same saved weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = ASTModel.from_pretrained(tiny_model_dir).eval()
        clf = ASTForAudioClassification.from_pretrained(tiny_model_dir).eval()
    return base, clf, ASTFeatureExtractor()


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(1)
    return [
        tone(3.0, freq=440),
        (0.2 * rng.standard_normal(16000 * 7)).astype(np.float32),
        tone(10.24, freq=1000) + (0.05 * rng.standard_normal(163840)).astype(np.float32),
    ]


def _reference(reference_models, wav):
    base, clf, fe = reference_models
    x = fe(wav, sampling_rate=16000, return_tensors="pt")["input_values"]
    with torch.no_grad():
        out = base(x, output_hidden_states=True)
        logits = clf(x).logits
    return out, logits


@pytest.mark.parametrize("pooling", ["cls", "dist", "mean", "patches", "grid"])
def test_embeddings_match_transformers_astmodel(tiny_model, reference_models, clips, pooling):
    out = asttools.embed([(c, 16000) for c in clips], model=tiny_model, pooling=pooling)
    for i, wav in enumerate(clips):
        ref, _ = _reference(reference_models, wav)
        h = ref.last_hidden_state[0]
        expected = {
            "cls": h[0],
            "dist": h[1],
            "mean": ref.pooler_output[0],
            "patches": h[2:].mean(0),
            "grid": h[2:].reshape(12, 101, -1),
        }[pooling].numpy()
        np.testing.assert_allclose(out.embeddings[i], expected, atol=TOL, rtol=0)


@pytest.mark.slow  # 9.4 s on the loaded 2-core machine (issue 19)
def test_probabilities_are_sigmoid_of_transformers_logits(tiny_model, reference_models, clips):
    out = asttools.embed([(c, 16000) for c in clips], model=tiny_model)
    for i, wav in enumerate(clips):
        _, logits = _reference(reference_models, wav)
        np.testing.assert_allclose(out.probs[i], torch.sigmoid(logits[0]).numpy(), atol=TOL)
        _, ours = forward(tiny_model, wav[None, :])
        np.testing.assert_allclose(ours[0], logits[0].numpy(), atol=TOL)
    # multi-label: rows do not sum to one
    assert not np.allclose(out.probs.sum(axis=1), 1.0)


@pytest.mark.parametrize("layer", [0, 1, -2])
def test_hidden_layers_match_transformers(tiny_model, reference_models, clips, layer):
    wav = clips[0]
    out = asttools.embed(wav, sr=16000, model=tiny_model, layer=layer, pooling="cls")
    ref, _ = _reference(reference_models, wav)
    np.testing.assert_allclose(out.embeddings[0], ref.hidden_states[layer][0, 0].numpy(), atol=TOL)
    assert out.meta["layer"] == layer % 3


def test_final_layer_is_last_hidden_state(tiny_model, clips):
    a = asttools.embed(clips[0], sr=16000, model=tiny_model, layer=-1)
    b = asttools.embed(clips[0], sr=16000, model=tiny_model, layer=2)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)


def test_batch_equals_items_one_by_one_and_repeat_runs_agree(tiny_model, clips):
    inputs = [(c, 16000) for c in clips]
    batched = asttools.embed(inputs, model=tiny_model, batch_size=8)
    again = asttools.embed(inputs, model=tiny_model, batch_size=8)
    np.testing.assert_array_equal(batched.embeddings, again.embeddings)
    for i, c in enumerate(clips):
        single = asttools.embed(c, sr=16000, model=tiny_model, batch_size=1)
        np.testing.assert_allclose(single.embeddings[0], batched.embeddings[i], atol=TOL)
        np.testing.assert_allclose(single.probs[0], batched.probs[i], atol=TOL)


@pytest.mark.parametrize(
    "pooling, shape", [("cls", (64,)), ("dist", (64,)), ("mean", (64,)), ("patches", (64,)),
                       ("grid", (12, 101, 64))],
)
def test_exact_shapes_and_dtypes(tiny_model, pooling, shape):
    out = asttools.embed([tone(2.0), tone(1.0)], sr=16000, model=tiny_model, pooling=pooling)
    assert out.embeddings.shape == (2, *shape)
    assert out.probs.shape == (2, 527)
    assert out.embeddings.dtype == out.probs.dtype == np.float32
    assert list(out.table.columns[:7]) == ["item", "id", "path", "window", "start_s",
                                          "end_s", "clip_duration_s"]
    assert ((out.probs > 0) & (out.probs < 1)).all()


def test_thirty_second_clip_gives_three_windows_and_clip_aggregates(tiny_model, tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, tone(30.0, freq=300), 16000)
    out = asttools.embed(path, model=tiny_model)
    assert len(out) == 3
    assert out.table["start_s"].tolist() == pytest.approx([0.0, 10.24, 20.48])
    assert out.table["end_s"].tolist() == pytest.approx([10.24, 20.48, 30.0])
    assert out.table["path"].iloc[0] == str(path.resolve())
    mean = out.clips(aggregate="mean")
    peak = out.clips(aggregate="max")
    assert len(mean) == len(peak) == 1
    np.testing.assert_allclose(mean.embeddings[0], out.embeddings.mean(0), atol=1e-6)
    np.testing.assert_allclose(mean.probs[0], out.probs.mean(0), atol=1e-6)
    np.testing.assert_allclose(peak.probs[0], out.probs.max(0), atol=0)
    assert mean.table.loc[0, "n_windows"] == 3
    assert (mean.table.loc[0, "start_s"], mean.table.loc[0, "end_s"]) == (0.0, 30.0)
    with pytest.raises(ParameterError, match="aggregate='median' is not one of"):
        out.clips(aggregate="median")


def test_window_and_hop_are_configurable(tiny_model):
    out = asttools.embed(tone(12.0), sr=16000, model=tiny_model, window_s=4.0, hop_s=2.0)
    assert out.table["start_s"].tolist() == pytest.approx([0, 2, 4, 6, 8])
    assert out.meta["window_s"] == 4.0 and out.meta["hop_s"] == 2.0


def test_arrays_are_resampled_and_downmixed(tiny_model):
    stereo44 = np.stack([tone(2.0, sr=44100), tone(2.0, sr=44100, freq=880)])
    out = asttools.embed(stereo44, sr=44100, model=tiny_model)
    assert out.table.loc[0, "clip_duration_s"] == pytest.approx(2.0, abs=1e-3)
    with pytest.raises(ParameterError, match="give its sample rate"):
        asttools.embed(tone(1.0), model=tiny_model)


def test_meta_marks_random_weights(tiny_model):
    out = asttools.embed(tone(1.0), sr=16000, model=tiny_model)
    assert out.meta["random_weights"] is True and out.random_weights
    assert "RANDOM WEIGHTS" in repr(out)
    for key in ("model", "pooling", "layer", "window_s", "hop_s", "transformers_version",
                "asttools_version", "labels"):
        assert key in out.meta
    assert len(out.labels) == 527


def test_bad_inputs_are_collected_and_good_ones_kept(tiny_model, tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, tone(1.0), 16000)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.warns(ASTToolsWarning, match="2 of 3 inputs failed"):
        out = asttools.embed([good, tmp_path / "missing.wav", empty], model=tiny_model)
    assert out.table["path"].tolist() == [str(good.resolve())]
    assert out.errors["path"].tolist() == [str((tmp_path / "missing.wav").resolve()),
                                           str(empty.resolve())]
    assert out.errors["reason"].str.contains("not found").iloc[0]
    with pytest.raises(AudioError, match="missing.wav"):
        asttools.embed([good, tmp_path / "missing.wav"], model=tiny_model, on_error="raise")


def test_bad_options(tiny_model):
    with pytest.raises(ParameterError, match=r"pooling='max' is not one of \('cls'"):
        asttools.embed(tone(1.0), sr=16000, model=tiny_model, pooling="max")
    with pytest.raises(ParameterError, match="layer=7 is out of range"):
        asttools.embed(tone(1.0), sr=16000, model=tiny_model, layer=7)
    with pytest.raises(ParameterError, match="on_error='skip'"):
        asttools.embed(tone(1.0), sr=16000, model=tiny_model, on_error="skip")


def test_top_k_is_tidy_with_audioset_names(tiny_model):
    out = asttools.embed([tone(1.0), tone(12.0)], sr=16000, model=tiny_model)
    table = asttools.top_k(out, k=3)
    assert list(table.columns) == ["item", "path", "window", "start_s", "end_s", "rank",
                                   "label", "mid", "probability"]
    assert len(table) == 3 * len(out)
    first = table[table["item"] == 0].sort_values("rank")
    assert first["probability"].is_monotonic_decreasing
    best = int(np.argmax(out.probs[0]))
    assert first["label"].iloc[0] == out.labels[best]
    assert first["mid"].iloc[0] == asttools.audioset_labels().loc[best, "mid"]
    assert table.attrs["random_weights"] is True
    clip_level = asttools.top_k(out.clips(aggregate="max"), k=2)
    assert sorted(clip_level["item"].unique()) == [0, 1]


def test_top_k_on_a_matrix():
    p = np.zeros((2, 527), np.float32)
    p[0, 74], p[1, 0] = 0.9, 0.8
    table = asttools.top_k(p, k=1)
    assert table["label"].tolist() == ["Dog", "Speech"]
    assert table["mid"].tolist() == ["/m/0bt9lr", "/m/09x0r"]
    with pytest.raises(ParameterError, match="do not match 527 label names"):
        asttools.top_k(np.zeros((1, 10)))
    assert isinstance(table, pd.DataFrame)
