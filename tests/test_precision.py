"""precision= on embed/extract/timestamp_embeddings, and the fidelity check, on the tiny model.

Timings live in benchmarks/bench_precision.py; here only what the numbers mean: fp32
against itself is exact, bf16 is close and labelled, the store keeps precisions apart,
the model passed in is never changed, int8 works (torchao) or says what to install.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from audio_fixtures import sine

import asttools
import asttools.model.precision as precision_mod
from asttools.apps.cli import EXIT_OK, EXIT_USAGE, main
from asttools.errors import ParameterError
from asttools.model import tiny_random_model
from asttools.model.precision import prepare_model, resolve_precision
from asttools.run.fidelity import fidelity
from asttools.store import read_store, settings_key

SR = 16000
HAS_TORCHAO = importlib.util.find_spec("torchao") is not None
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


@pytest.fixture(scope="module")
def clips():
    """Two 12 s inputs (two windows each): a chord and noise."""
    rng = np.random.default_rng(0)
    t = np.arange(12 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (440, 660, 990)) / 3
    return [0.3 * chord.astype(np.float32),
            (0.1 * rng.standard_normal(12 * SR)).astype(np.float32)]


def _cosine(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_fp32_against_itself_is_exact(clips, tiny_model):
    df = fidelity(clips, sr=SR, model=tiny_model, precisions=("fp32",))
    assert list(df["precision"]) == ["fp32"]
    row = df.iloc[0]
    assert row["windows"] == 4 and row["error"] is None and bool(row["random_weights"])
    assert row["cosine_min"] == pytest.approx(1.0, abs=1e-9)
    assert row["cosine_mean"] == pytest.approx(1.0, abs=1e-9)
    assert row["max_abs_prob_diff"] == 0.0
    assert row["topk_agreement"] == 1.0 and row["topk_exact"] == 1.0
    assert row["speedup"] == 1.0 and row["seconds_per_window"] > 0
    assert df.attrs["k"] == 5 and df.attrs["device"] == "cpu"


@pytest.mark.slow  # 8.8 s on the loaded 2-core machine (issue 19)
def test_bf16_is_close_labelled_and_leaves_the_model_alone(clips, tiny_model):
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    df = fidelity(clips, sr=SR, model=tiny_model, precisions=("fp32", "bf16", "fp16"))
    bf16 = df.set_index("requested").loc["bf16"]
    assert bf16["precision"] == "bf16" and bf16["error"] is None
    assert 0.995 < bf16["cosine_min"] <= bf16["cosine_mean"] <= 1.0
    assert bf16["max_abs_prob_diff"] < 0.02
    # fp16 cannot run on a CPU: a row that says why, no numbers
    fp16 = df.set_index("requested").loc["fp16"]
    assert "GPU" in fp16["error"] and np.isnan(fp16["cosine_min"])
    # the model passed in is unchanged: still float32, same weights
    assert next(tiny_model.parameters()).dtype == torch.float32
    after = tiny_model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)

    out32 = asttools.embed(clips, sr=SR, model=tiny_model)
    out16 = asttools.embed(clips, sr=SR, model=tiny_model, precision="bf16")
    assert out32.meta["precision"] == "fp32" and out32.meta["dtype"] == "float32"
    assert out16.meta["precision"] == "bf16" and out16.meta["dtype"] == "bfloat16"
    assert out16.meta["precision_requested"] == "bf16"
    assert out16.embeddings.dtype == np.float32 and out16.probs.dtype == np.float32
    assert _cosine(out16.embeddings, out32.embeddings).min() > 0.995


def test_prepared_copies_are_made_once_per_precision(tiny_model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = prepare_model(tiny_model, "bf16")
        b = prepare_model(tiny_model, "bf16")
    assert a is b and a is not tiny_model
    assert next(a.parameters()).dtype == torch.bfloat16
    assert prepare_model(tiny_model, "fp32") is tiny_model
    assert prepare_model(a, "bf16") is a


def test_a_changed_model_gets_a_new_copy():
    model = tiny_random_model(seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = prepare_model(model, "bf16")
        with torch.no_grad():  # an optimizer step, in place
            model.classifier.dense.bias.add_(1.0)
        b = prepare_model(model, "bf16")
    assert b is not a
    assert torch.equal(b.classifier.dense.bias.float(),
                       model.classifier.dense.bias.to(torch.bfloat16).float())


def test_precision_names_and_auto(monkeypatch):
    with pytest.raises(ParameterError, match=r"precision='fp64' is not one of \('fp32'"):
        resolve_precision("fp64")
    with pytest.raises(ParameterError, match="fp16.*GPUs"):
        resolve_precision("fp16", "cpu")
    monkeypatch.setattr(precision_mod, "cpu_flags", lambda: frozenset({"avx2"}))
    assert resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(precision_mod, "cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))
    assert resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(precision_mod, "cpu_flags", lambda: frozenset({"amx_tile", "amx_bf16"}))
    assert resolve_precision("auto", "cpu") == "bf16"  # never int8


def test_embed_refuses_bad_precision_before_work(tiny_model):
    with pytest.raises(ParameterError, match="precision='half'"):
        asttools.embed(np.zeros(SR, np.float32), sr=SR, model=tiny_model, precision="half")
    with pytest.raises(ParameterError, match="GPUs"):
        asttools.embed(np.zeros(SR, np.float32), sr=SR, model=tiny_model, precision="fp16")


@pytest.mark.skipif(not HAS_TORCHAO, reason="torchao not installed")
def test_int8_with_torchao(clips, tiny_model):
    out32 = asttools.embed(clips[:1], sr=SR, model=tiny_model)
    out8 = asttools.embed(clips[:1], sr=SR, model=tiny_model, precision="int8")
    assert out8.meta["precision"] == "int8"
    assert "Int8DynamicActivationInt8WeightConfig" in out8.meta["quantization"]
    assert out8.embeddings.dtype == np.float32
    assert _cosine(out8.embeddings, out32.embeddings).min() > 0.99
    assert type(tiny_model.classifier.dense.weight) is torch.nn.Parameter  # not quantized


def test_int8_without_torchao_says_what_to_install(monkeypatch):
    model = tiny_random_model(seed=3)  # a model without cached copies
    monkeypatch.setitem(sys.modules, "torchao", None)
    monkeypatch.setitem(sys.modules, "torchao.quantization", None)
    with pytest.raises(ParameterError, match=r"needs torchao.*pip install torchao"):
        asttools.embed(np.zeros(SR, np.float32), sr=SR, model=model, precision="int8")


@pytest.mark.slow  # 8.2 s on the loaded 2-core machine (issue 19)
def test_store_keeps_precisions_apart(tmp_path, tiny_model):
    for name, freq in (("a.wav", 440.0), ("b.wav", 880.0)):
        sf.write(tmp_path / name, sine(freq, SR, 1.0), SR)
    store = tmp_path / "emb"
    r32 = asttools.extract(tmp_path, store, model=tiny_model, progress=False)
    r16 = asttools.extract(tmp_path, store, model=tiny_model, progress=False,
                           precision="bf16")
    assert r32.meta["settings_key"] != r16.meta["settings_key"]
    assert r32.meta["settings"]["precision"] == "fp32" and r32.meta["precision"] == "fp32"
    assert r16.meta["settings"]["precision"] == "bf16" and r16.meta["precision"] == "bf16"
    assert r16.meta["run"]["computed"] == 2  # not read back from the fp32 rows
    # fp32 keeps the key it had before precision was a setting: old stores stay valid
    old = {k: v for k, v in r32.meta["settings"].items() if k != "precision"}
    assert settings_key(old) == r32.meta["settings_key"]
    again = asttools.extract(tmp_path, store, model=tiny_model, progress=False,
                             precision="bf16")
    assert again.meta["run"]["computed"] == 0 and again.meta["precision"] == "bf16"
    back = read_store(store, settings={"precision": "bf16"})
    assert back.meta["precision"] == "bf16"
    np.testing.assert_array_equal(back.embeddings, r16.embeddings)
    assert read_store(store, settings={"precision": "fp32"}).meta["precision"] == "fp32"
    assert _cosine(r16.embeddings, r32.embeddings).min() > 0.995


def test_timestamp_embeddings_record_precision(clips, tiny_model):
    res = asttools.timestamp_embeddings(clips[:1], sr=SR, model=tiny_model, precision="bf16")
    assert res.meta["precision"] == "bf16"
    assert res.embeddings.dtype == np.float32


@pytest.mark.slow  # 8.0 s on the loaded 2-core machine (issue 19)
def test_cli_fidelity_and_precision(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    sf.write(tmp_path / "a.wav", sine(440.0, SR, 2.0), SR)
    out = tmp_path / "fid.csv"
    assert main(["fidelity", str(tmp_path / "a.wav"), "--precisions", "fp32,bf16",
                 "--out", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "fidelity against fp32" in text and "bf16" in text and "RANDOM WEIGHTS" in text
    table = pd.read_csv(out)
    assert list(table["precision"]) == ["fp32", "bf16"]
    assert main(["fidelity", str(tmp_path / "a.wav"), "--precisions", "fp8"]) == EXIT_USAGE
    assert "not one of" in capsys.readouterr().err
    assert main(["extract", str(tmp_path), "--out", str(tmp_path / "emb"), "-q",
                 "--precision", "bf16"]) == EXIT_OK
    assert "precision bf16" in capsys.readouterr().out
    assert read_store(tmp_path / "emb").meta["precision"] == "bf16"
    assert main(["predict", str(tmp_path / "a.wav"), "--precision", "fp16"]) == EXIT_USAGE
    assert "GPUs" in capsys.readouterr().err
