"""asttools.apps.hear: HEAR's API (load_model, get_scene_embeddings, get_timestamp_embeddings)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from asttools.apps import hear
from asttools.errors import ASTToolsWarning, ParameterError


@pytest.fixture(scope="module")
def model(tiny_model):
    return hear.HEARModel(tiny_model)


@pytest.fixture(scope="module")
def audio():
    g = torch.Generator().manual_seed(0)
    return torch.rand((3, 32000), generator=g) * 0.2 - 0.1  # 2 s of noise each


def test_the_model_has_hears_attributes(model, tiny_model):
    assert isinstance(model, torch.nn.Module)
    assert model.sample_rate == 16000
    for size in (model.scene_embedding_size, model.timestamp_embedding_size):
        assert isinstance(size, int) and size == tiny_model.config.hidden_size


def test_load_model_by_name_and_from_a_directory(tiny_model_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)  # random weights
        for source in ("tiny-random", tiny_model_dir):
            m = hear.load_model(source)
            assert isinstance(m, hear.HEARModel) and m.timestamp_embedding_size == 64


def test_timestamp_embeddings_shapes_dtypes_and_regular_timestamps(model, audio):
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert emb.dtype == torch.float32 and ts.dtype == torch.float32
    assert emb.shape == (3, 20, 64) and ts.shape == (3, 20)  # 2 s: steps 87.5 ... 1987.5 ms
    assert emb.device == audio.device and ts.device == audio.device
    np.testing.assert_allclose(ts[:, 0].numpy(), 87.5)
    np.testing.assert_allclose(torch.diff(ts).numpy(), 100.0, atol=1e-3)  # milliseconds
    assert float(ts.max()) < 2000.0


def test_scene_embeddings_shapes_and_dtypes(model):
    audio = torch.rand((2, int(3.74 * 16000))) * 2 - 1  # as HEAR's validator
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.dtype == torch.float32 and scene.shape == (2, 64)
    assert scene.device == audio.device


@pytest.mark.slow  # 21.7 s on the loaded 2-core machine (issue 19)
def test_a_batch_equals_its_items_one_by_one(model):
    g = torch.Generator().manual_seed(1)
    audio = torch.rand((3, 12 * 16000), generator=g) * 0.2 - 0.1  # 12 s: two windows each
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    scene = hear.get_scene_embeddings(audio, model)
    for i in range(3):
        e1, t1 = hear.get_timestamp_embeddings(audio[i: i + 1], model)
        torch.testing.assert_close(e1[0], emb[i], atol=1e-5, rtol=0)
        torch.testing.assert_close(t1[0], ts[i])
        s1 = hear.get_scene_embeddings(audio[i: i + 1], model)
        torch.testing.assert_close(s1[0], scene[i], atol=1e-5, rtol=0)
    assert not torch.allclose(emb[0], emb[1])  # different audio, different embeddings


def test_bad_audio_is_refused(model):
    with pytest.raises(ParameterError, match=r"shape \(n_sounds, n_samples\).*got \(16000,\)"):
        hear.get_timestamp_embeddings(torch.zeros(16000), model)
    with pytest.raises(ParameterError, match="shape"):
        hear.get_scene_embeddings(np.zeros((1, 16000), np.float32), model)
    with pytest.raises(ParameterError, match="asttools.apps.hear.load_model"):
        hear.get_scene_embeddings(torch.zeros((1, 16000)), object())


def _hear_model():
    from asttools.apps import hear

    return hear, hear.load_model("tiny-random")


@pytest.mark.parametrize("dtype, match", [
    ("int16", "got torch.int16; divide by 32768 first"),
    ("bool", "got torch.bool"),
    ("complex64", "got torch.complex64"),
])
def test_hear_refuses_samples_that_are_not_float(dtype, match):
    import torch

    hear, model = _hear_model()
    audio = torch.zeros((1, 16000), dtype=getattr(torch, dtype))
    for fn in (hear.get_scene_embeddings, hear.get_timestamp_embeddings):
        with pytest.raises(ParameterError, match=match):
            fn(audio, model)


def test_hear_timestamps_need_one_step_of_audio():
    import torch

    hear, model = _hear_model()
    for n in (1, 100, 1400):
        with pytest.raises(ParameterError, match=f"has {n} samples per sound; .* at least "
                                                 "1401"):
            hear.get_timestamp_embeddings(torch.zeros((2, n)), model)
    emb, ms = hear.get_timestamp_embeddings(torch.full((2, 1401), 0.1), model)
    assert emb.shape == (2, 1, model.timestamp_embedding_size)
    assert ms.tolist() == [[87.5], [87.5]]
