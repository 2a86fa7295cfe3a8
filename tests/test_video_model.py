"""The video model beside AST (issue 20 item 2): VideoMAE on snippets and CLIP vision on
frames give what transformers' own processor + model give, to 1e-5."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import transformers as tf
from video_fixtures import write_flashes

from asttools.errors import ASTToolsWarning, ModelLoadError, ParameterError
from asttools.audio.frames import load_frames
from asttools.model.video_model import load_video_model, tiny_random_video_model, video_embeddings


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Tiny random VideoMAE and CLIP vision models built from configs, saved to folders."""
    root = tmp_path_factory.mktemp("video_models")
    out = {}
    for kind in ("snippet", "frame"):
        vm = tiny_random_video_model(kind, seed=3)
        vm.model.save_pretrained(root / kind)
        vm.processor.save_pretrained(root / kind)
        out[kind] = root / kind
    return out


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    rng = np.random.default_rng(0)
    write_flashes(path, np.arange(40) / 25, set(rng.choice(40, 12, replace=False).tolist()),
                  size=48)
    return path


def _load(folder):
    with pytest.warns(ASTToolsWarning, match="RANDOM weights"):
        return load_video_model(folder, device="cpu")


@pytest.mark.slow
def test_videomae_equals_transformers_processor_and_model(saved, frames):
    vm = _load(saved["snippet"])
    assert vm.kind == "snippet" and vm.frames_per_vector == 16 and vm.random_weights
    batch = load_frames(frames, snippet=16, stride=8)
    assert batch.pixels.shape[:2] == (4, 16)  # starts 0, 8, 16, 24
    ours = video_embeddings(batch.pixels, model=vm, batch_size=2)
    proc = tf.AutoImageProcessor.from_pretrained(saved["snippet"])
    model = tf.VideoMAEModel.from_pretrained(saved["snippet"]).eval()
    with torch.no_grad():
        ref = torch.cat([
            model(**proc([list(v)], return_tensors="pt")).last_hidden_state.mean(1)
            for v in batch.pixels]).numpy()
    assert ours.shape == (4, 32) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)
    assert np.abs(ours[0] - ours[1]).max() > 1e-3  # different snippets, different vectors


@pytest.mark.slow
def test_clip_vision_equals_transformers_processor_and_model(saved, frames):
    vm = _load(saved["frame"])
    assert vm.kind == "frame" and vm.frames_per_vector == 1
    batch = load_frames(frames, fps=5)
    ours = video_embeddings(batch.pixels, model=vm, batch_size=3)
    proc = tf.AutoImageProcessor.from_pretrained(saved["frame"])
    model = tf.CLIPVisionModel.from_pretrained(saved["frame"]).eval()
    with torch.no_grad():
        ref = model(**proc(list(batch.pixels[:, 0]), return_tensors="pt")).pooler_output
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-5, rtol=0)
    # snippets through an image encoder: the mean of their frames' vectors
    pairs = batch.pixels[: len(batch) // 2 * 2].reshape(-1, 2, *batch.pixels.shape[2:])
    np.testing.assert_allclose(video_embeddings(pairs, model=vm),
                               ref.numpy()[: len(pairs) * 2].reshape(-1, 2, 32).mean(1),
                               atol=1e-5)


def test_tiny_random_has_the_real_geometry_and_is_marked():
    with pytest.warns(ASTToolsWarning, match="RANDOM"):
        vm = load_video_model("tiny-random", device="cpu")
    info = vm.info()
    assert info["random_weights"] is True and info["image_size"] == 224
    assert vm.model.config.num_frames == 16 and vm.model.config.tubelet_size == 2
    assert vm.model.embeddings.patch_embeddings.num_patches == 8 * 14 * 14
    assert "RANDOM" in repr(vm)


def test_a_checkpoint_that_cannot_be_had_is_an_error_never_a_random_model(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="cannot load video model 'nobody/no-such'"):
        load_video_model("nobody/no-such", local_files_only=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="has no config.json"):
        load_video_model(tmp_path / "empty")
    with pytest.raises(ModelLoadError, match="neither an existing directory"):
        load_video_model("no-such-thing")


def test_bad_pixels_and_snippet_lengths_are_refused(saved):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        vm = load_video_model(saved["snippet"])
    with pytest.raises(ParameterError, match="takes snippets of 16 frames, given 8"):
        video_embeddings(np.zeros((1, 8, 32, 32, 3), np.uint8), model=vm)
    with pytest.raises(ParameterError, match="must be uint8"):
        video_embeddings(np.zeros((1, 16, 32, 32, 3), np.float32), model=vm)


@pytest.mark.slow
def test_bf16_is_close_to_fp32(saved, frames):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        vm = load_video_model(saved["frame"])
        px = load_frames(frames, fps=5).pixels[:4]
        a = video_embeddings(px, model=vm)
        b = video_embeddings(px, model=vm, precision="bf16")
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.99


@pytest.mark.parametrize("arch", ["dinov2", "siglip"])
def test_dinov2_and_siglip_vision_equal_transformers(tmp_path, frames, arch):
    small = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 64, "image_size": 224}
    torch.manual_seed(0)
    if arch == "dinov2":
        model = tf.Dinov2Model(tf.Dinov2Config(patch_size=14, **small))
        proc = getattr(tf, "BitImageProcessorPil", tf.BitImageProcessor)()
        cls = tf.Dinov2Model
    else:
        model = tf.SiglipVisionModel(tf.SiglipVisionConfig(patch_size=32, **small))
        proc = getattr(tf, "SiglipImageProcessorPil", tf.SiglipImageProcessor)()
        cls = tf.SiglipVisionModel
    model.save_pretrained(tmp_path / arch)
    proc.save_pretrained(tmp_path / arch)
    vm = load_video_model(tmp_path / arch, device="cpu")
    assert vm.kind == "frame" and not vm.random_weights  # a folder's weights are its own
    px = load_frames(frames, fps=5).pixels[:5]
    ours = video_embeddings(px, model=vm, batch_size=2)
    ref_proc = tf.AutoImageProcessor.from_pretrained(tmp_path / arch)
    ref_model = cls.from_pretrained(tmp_path / arch).eval()
    with torch.no_grad():
        ref = ref_model(**ref_proc(list(px[:, 0]), return_tensors="pt")).pooler_output
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-5, rtol=0)
