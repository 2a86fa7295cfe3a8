"""The torch fbank against transformers' ASTFeatureExtractor, and the window arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import ASTFeatureExtractor

from asttools.constants import AUDIOSET_MEAN, AUDIOSET_STD
from asttools.errors import ParameterError
from asttools.model.features import fbank, n_frames, window_bounds

TOL = 1e-4


@pytest.fixture(scope="module")
def extractor():
    return ASTFeatureExtractor()  # AudioSet defaults; numpy Kaldi fbank (no torchaudio)


def reference(extractor, wav: np.ndarray) -> np.ndarray:
    return extractor(wav, sampling_rate=16000, return_tensors="np")["input_values"][0]


@pytest.mark.parametrize(
    "kind, seconds",
    [("noise", 3.0), ("tone", 5.0), ("noise", 10.24), ("noise", 12.0), ("chirp", 0.5)],
)
def test_matches_ast_feature_extractor(extractor, rng, kind, seconds):
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    if kind == "noise":
        wav = 0.1 * rng.standard_normal(n)
    elif kind == "tone":
        wav = 0.5 * np.sin(2 * np.pi * 440 * t)
    else:
        wav = 0.3 * np.sin(2 * np.pi * (200 + 3000 * t) * t)
    wav = wav.astype(np.float32)
    ref = reference(extractor, wav)  # transformers cuts a longer clip to its first 1024 frames
    if n_frames(n) > 1024:  # asttools refuses to; compare on the part transformers keeps
        with pytest.raises(ParameterError, match="does not truncate"):
            fbank(wav)
        wav = wav[: 400 + 1023 * 160]
    ours = fbank(torch.from_numpy(wav))[0].numpy()
    assert ours.shape == ref.shape == (1024, 128)
    assert np.abs(ours - ref).max() <= TOL


def test_real_clip_matches(extractor):
    import asttools

    wav, _ = asttools.load_audio("data/samples/speech_librispeech_198-209-0000.ogg")
    ref = reference(extractor, wav)
    if n_frames(len(wav)) > 1024:  # transformers truncates silently, asttools refuses
        with pytest.raises(ParameterError, match="does not truncate"):
            fbank(wav)
        wav = wav[: 400 + 1023 * 160]
    ours = fbank(wav)[0].numpy()
    assert np.abs(ours - ref).max() <= TOL


def test_batch_with_lengths_equals_items(extractor, rng):
    a = (0.1 * rng.standard_normal(3 * 16000)).astype(np.float32)
    b = (0.1 * rng.standard_normal(7 * 16000)).astype(np.float32)
    batch = np.zeros((2, len(b)), np.float32)
    batch[0, : len(a)], batch[1] = a, b
    out = fbank(batch, lengths=[len(a), len(b)]).numpy()
    assert out.shape == (2, 1024, 128)
    for row, wav in zip(out, (a, b), strict=True):
        assert np.abs(row - reference(extractor, wav)).max() <= TOL


def test_padding_value_is_normalised_zero(rng):
    wav = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    out = fbank(wav)[0].numpy()
    valid = n_frames(16000)
    assert valid == 98
    np.testing.assert_allclose(out[valid:], -AUDIOSET_MEAN / (2 * AUDIOSET_STD), rtol=1e-6)
    assert not np.allclose(out[valid - 1], out[valid])


def test_unnormalised_and_float64_input(rng):
    wav = 0.1 * rng.standard_normal(16000)  # float64
    raw = fbank(wav, normalize=False)
    norm = fbank(wav)
    assert raw.dtype == norm.dtype == torch.float32
    torch.testing.assert_close(norm, (raw - AUDIOSET_MEAN) / (2 * AUDIOSET_STD))


def test_follows_input_device_and_shape_errors(rng):
    x = torch.zeros(2, 8000, device="cpu")
    assert fbank(x).device == x.device
    with pytest.raises(ParameterError, match=r"shape \(batch, n_samples\)"):
        fbank(torch.zeros(1, 2, 3))
    with pytest.raises(ParameterError, match="lengths must hold 2 values"):
        fbank(torch.zeros(2, 800), lengths=[800])


def test_shorter_than_one_frame_is_padded_not_crashing():
    out = fbank(np.full(100, 0.1, np.float32))
    assert out.shape == (1, 1024, 128)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "seconds, window, hop, expected",
    [(30.0, 10.24, None, 3), (10.24, 10.24, None, 1), (5.0, 10.24, None, 1),
     (10.25, 10.24, None, 2), (30.0, 10.0, 5.0, 5), (600.0, 10.24, None, 59)],
)
def test_window_bounds(seconds, window, hop, expected):
    n = int(round(seconds * 16000))
    bounds = window_bounds(n, window_s=window, hop_s=hop)
    assert len(bounds) == expected
    assert bounds[0][0] == 0 and bounds[-1][1] == n  # the whole clip, nothing dropped
    win = int(round(window * 16000))
    assert all(e - s <= win for s, e in bounds)


def test_window_bounds_rejects_bad_values():
    with pytest.raises(ParameterError, match="window_s must be > 0"):
        window_bounds(100, window_s=0)
    with pytest.raises(ParameterError, match="hop_s must be > 0"):
        window_bounds(100, window_s=1.0, hop_s=-1)
