"""Model loading: tiny-random, local directories, ASTTOOLS_MODEL, clear errors offline."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from audio_fixtures import sine

import asttools
from asttools.apps.cli import EXIT_USAGE, main
from asttools.errors import ASTToolsWarning, ModelLoadError, ParameterError
from asttools.model import is_cached, resolve_device
from asttools.settings import DEFAULT_MODEL, resolve_model_name

SR = 16000


def test_default_model_is_the_audioset_checkpoint(monkeypatch):
    monkeypatch.delenv("ASTTOOLS_MODEL", raising=False)
    assert resolve_model_name() == DEFAULT_MODEL == "MIT/ast-finetuned-audioset-10-10-0.4593"


def test_env_var_replaces_the_default_but_not_an_explicit_name(monkeypatch):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    assert resolve_model_name() == "tiny-random"
    assert resolve_model_name("some/other") == "some/other"
    with pytest.warns(ASTToolsWarning, match="RANDOM weights"):
        model = asttools.load_model()
    assert asttools.model_info(model)["random_weights"] is True


def test_tiny_random_has_the_real_geometry(tiny_model):
    info = asttools.model_info(tiny_model)
    assert info["patch_grid"] == (12, 101)
    assert (info["max_length"], info["num_mel_bins"], info["num_labels"]) == (1024, 128, 527)
    assert info["random_weights"] is True and info["model"] == "tiny-random"
    assert not tiny_model.training
    assert tiny_model.config.id2label[0] == "Speech"
    n_patches = tiny_model.audio_spectrogram_transformer.embeddings.position_embeddings.shape[1]
    assert n_patches == 12 * 101 + 2


def test_tiny_random_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    with pytest.warns(ASTToolsWarning):
        a = asttools.load_model("tiny-random")
        b = asttools.load_model("tiny-random")
        c = asttools.load_model("tiny-random", seed=1)
    assert torch.equal(torch.rand(1), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_local_directory_round_trip_keeps_random_flag(tiny_model, tiny_model_dir):
    with pytest.warns(ASTToolsWarning, match="RANDOM"):
        loaded = asttools.load_model(tiny_model_dir)
    info = asttools.model_info(loaded)
    assert info["random_weights"] is True
    assert info["model"] == str(tiny_model_dir)
    ref = tiny_model.state_dict()
    assert all(torch.equal(ref[k], v) for k, v in loaded.state_dict().items())
    assert is_cached(str(tiny_model_dir))


def test_offline_and_not_cached_raises_helpful_error(tmp_path):
    with pytest.raises(ModelLoadError, match="tiny-random") as err:
        asttools.load_model(DEFAULT_MODEL, local_files_only=True, cache_dir=tmp_path)
    msg = str(err.value)
    assert DEFAULT_MODEL in msg and "HF_HUB_OFFLINE" in msg and "save_pretrained" in msg
    assert not is_cached(DEFAULT_MODEL, cache_dir=tmp_path)


def test_bad_directory_and_bad_names(tmp_path):
    with pytest.raises(ModelLoadError, match="has no config.json"):
        asttools.load_model(tmp_path)
    with pytest.raises(ModelLoadError, match="neither an existing directory"):
        asttools.load_model(tmp_path / "missing")


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ParameterError, match="is not a device"):
        resolve_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="no CUDA device"):
            resolve_device("cuda")


def test_model_follows_requested_device(tiny_model):
    assert asttools.model_info(tiny_model)["device"] == "cpu"
    assert np.dtype(asttools.model_info(tiny_model)["dtype"]) == np.float32


def test_mps_where_there_is_none_is_a_clean_usage_error(tmp_path, capsys):
    import torch

    from asttools.model import resolve_device

    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(ParameterError, match="asked for MPS .* has no MPS device here"):
        resolve_device("mps")
    path = tmp_path / "a.wav"
    sf.write(path, sine(440, SR, 0.5), SR)
    code = main(["predict", str(path), "--model", "tiny-random", "--device", "mps"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "Traceback" not in err and "no MPS device" in err
