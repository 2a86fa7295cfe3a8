"""Attention maps, [CLS] attention over the patch grid, rollout, position similarity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from audio_fixtures import sine

from asttools.analysis.attention import (
    attention_maps,
    attention_rollout,
    cls_attention,
    position_similarity,
)
from asttools.errors import ParameterError


@pytest.fixture(scope="module")
def attn(tiny_model):
    return attention_maps(tiny_model, sine(440, 16000, 3.0), sr=16000)


def test_attention_is_returned_despite_sdpa_and_the_model_is_restored(tiny_model, attn):
    assert attn.shape == (2, 1214, 1214)
    np.testing.assert_allclose(attn.sum(-1), 1.0, atol=1e-4)  # softmax rows
    assert tiny_model.config._attn_implementation != "eager"


def test_attention_matches_eager_transformers_per_head(tiny_model, tiny_model_dir):
    from transformers import ASTModel

    from asttools.model.features import fbank

    wav = sine(1000, 16000, 2.0)
    ours = attention_maps(tiny_model, wav, sr=16000, heads=None)
    ref_model = ASTModel.from_pretrained(tiny_model_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        ref = ref_model(fbank(wav), output_attentions=True).attentions
    assert ours.shape == (2, 4, 1214, 1214)
    for layer, a in enumerate(ref):
        np.testing.assert_allclose(ours[layer], a[0].numpy(), atol=1e-5)


def test_cls_attention_and_rollout_shapes(attn):
    per_layer = cls_attention(attn)
    assert per_layer.shape == (2, 12, 101)
    np.testing.assert_allclose(per_layer[1].ravel(), attn[1, 0, 2:])
    roll = attention_rollout(attn)
    assert roll.shape == (12, 101) and np.isfinite(roll).all() and (roll > 0).all()


def test_rollout_of_identity_attention_stays_on_cls():
    n = 12 * 101 + 2
    eye = np.stack([np.eye(n)] * 3)
    assert np.allclose(attention_rollout(eye), 0.0)


def test_bad_shapes_and_options(tiny_model):
    with pytest.raises(ParameterError, match="attn must have shape"):
        cls_attention(np.zeros((2, 10, 10)))
    with pytest.raises(ParameterError, match="heads='sum' is not one of"):
        attention_maps(tiny_model, sine(440, 16000, 1.0), sr=16000, heads="sum")
    with pytest.raises(ParameterError, match="start_s=20"):
        attention_maps(tiny_model, sine(440, 16000, 1.0), sr=16000, start_s=20)


def test_position_similarity(tiny_model):
    sim = position_similarity(tiny_model)
    assert sim.shape == (12, 101, 12, 101)
    assert np.allclose(sim[3, 50, 3, 50], 1.0, atol=1e-5)
    assert np.allclose(sim.reshape(1212, 1212), sim.reshape(1212, 1212).T, atol=1e-6)
