"""Audio figures: waveform, fbank and its mel axis, the patch grid with an overlay,
position similarity."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from figure_fixtures import own_ax
from matplotlib.axes import Axes

from asttools import plots
from asttools.errors import ParameterError


@pytest.fixture
def fbank(rng):
    return rng.normal(size=(1024, 128)).astype(np.float32)


@pytest.mark.parametrize("n", [8000, 16000 * 30])
def test_plot_waveform(rng, n):
    wav = rng.normal(scale=0.1, size=n).astype(np.float32)
    ax = plots.plot_waveform(wav, sr=16000, title="clip")
    assert isinstance(ax, Axes)
    assert ax.get_xlim() == pytest.approx((0.0, n / 16000))
    assert ax.get_xlabel() == "Time (s)"
    own = own_ax()
    assert plots.plot_waveform(wav, ax=own) is own


def test_plot_waveform_rejects_2d(rng):
    with pytest.raises(
        ParameterError, match=r"wav must be 1-dimensional, given wav.shape=\(2, 5\)"
    ):
        plots.plot_waveform(np.zeros((2, 5)))


def test_plot_fbank(fbank):
    ax = plots.plot_fbank(fbank, title="fbank")
    assert isinstance(ax, Axes)
    assert ax.get_xlim() == pytest.approx((0.0, 10.24))
    assert ax.get_ylim() == pytest.approx((-0.5, 127.5))
    own = own_ax()
    assert plots.plot_fbank(fbank, ax=own, colorbar=False) is own
    with pytest.raises(ParameterError, match="fbank must be 2-D"):
        plots.plot_fbank(fbank[None])


def test_patch_grid_shape():
    assert plots.patch_grid_shape(1024, 128) == (12, 101)
    assert plots.patch_grid_shape(1024, 128, patch=16, fstride=16, tstride=16) == (8, 64)
    with pytest.raises(ParameterError, match="smaller than one 16 x 16 patch"):
        plots.patch_grid_shape(10, 128)


def test_plot_patch_grid(fbank, rng):
    ax = plots.plot_patch_grid(fbank)
    assert isinstance(ax, Axes)
    values = rng.random((12, 101))
    own = own_ax()
    assert plots.plot_patch_grid(fbank, values=values, ax=own) is own
    # the overlay spans the patch centres: first centre 8 frames in, cells one stride wide
    overlay = own.get_images()[-1]
    left, right, bottom, top = overlay.get_extent()
    assert left == pytest.approx(0.03) and right == pytest.approx(10.13)
    assert bottom == pytest.approx(2.5) and top == pytest.approx(122.5)
    flat = plots.plot_patch_grid(fbank, values=values.ravel())
    # issue 21: drawn relative to the uniform 1/N (share of the sum x N); raw with
    # relative=False
    np.testing.assert_allclose(flat.get_images()[-1].get_array(),
                               values / values.sum() * values.size)
    raw = plots.plot_patch_grid(fbank, values=values.ravel(), relative=False)
    np.testing.assert_array_equal(raw.get_images()[-1].get_array(), values)
    with pytest.raises(ParameterError, match=r"shape \(12, 101\) or \(1212,\)"):
        plots.plot_patch_grid(fbank, values=np.zeros((101, 12)))


def test_mel_axis_ticks_sit_at_the_filter_of_their_frequency():
    """Against the filterbank asttools computes: the tick for f Hz lies between the two
    filters whose peaks bracket f."""
    import torch

    from asttools.model.features import _mel_banks

    ax = plots.plot_fbank(np.zeros((100, 128)))
    assert "Hz" in ax.get_ylabel()
    banks = _mel_banks(128, dtype=torch.float64, device=torch.device("cpu")).numpy().T
    peaks = banks.argmax(axis=1) * 16000 / 2 / (banks.shape[1] - 1)  # Hz of each filter
    for pos, text in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True):
        label = text.get_text()
        hz = float(label[:-1]) * 1000 if label.endswith("k") else float(label)
        lo, hi = int(np.floor(pos)), min(int(np.ceil(pos)), len(peaks) - 1)
        assert peaks[lo] - 35 <= hz <= peaks[hi] + 35, (label, pos, peaks[lo], peaks[hi])


def test_attention_overlay_is_relative_to_uniform_and_opaque():
    rng = np.random.default_rng(0)
    values = rng.random((12, 101))
    values /= values.sum()
    ax = plots.plot_patch_grid(rng.normal(size=(1024, 128)), values=values)
    image = ax.images[-1]
    assert image.get_alpha() in (None, 1.0)
    np.testing.assert_allclose(image.get_array(), values * values.size)
    assert image.norm.vcenter == 1.0  # the uniform 1/N at the centre of the map
    # attention rollout gives part of [CLS]'s attention to the [CLS] and distillation
    # tokens: the patches' values sum to less than 1. Shown as each patch's share of the
    # patches' total, their mean is exactly 1 (uniform), not 0.8
    ax = plots.plot_patch_grid(rng.normal(size=(1024, 128)), values=0.8 * values)
    shown = np.asarray(ax.images[-1].get_array())
    assert shown.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(shown, values * values.size)
    # only the patches' cells show: no strip of the spectrogram at the uncovered edges
    left, right, bottom, top = ax.images[-1].get_extent()
    assert ax.get_xlim() == pytest.approx((left, right))
    assert ax.get_ylim() == pytest.approx((bottom, top))
    with pytest.raises(ParameterError, match="relative=False"):
        plots.plot_patch_grid(rng.normal(size=(1024, 128)), values=-values)


# --- position similarity --------------------------------------------------------------------


@pytest.fixture
def sim(rng):
    pos = rng.normal(size=(12 * 101, 16))
    pos /= np.linalg.norm(pos, axis=1, keepdims=True)
    return (pos @ pos.T).reshape(12, 101, 12, 101).astype(np.float32)


def _image(ax):
    (image,) = ax.get_images()
    return np.ma.filled(image.get_array().astype(float), np.nan)


def test_position_similarity_default_patches(sim):
    ax = plots.plot_position_similarity(sim, title="pos")
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["(11, 0)", "(11, 50)", "(11, 100)", "(6, 0)", "(6, 50)", "(6, 100)",
                      "(0, 0)", "(0, 50)", "(0, 100)"]
    assert ax.get_title() == "pos"
    assert len(ax.figure.axes) == 2  # the colour bar
    image = _image(ax)
    assert image.shape == (9 * 12 + 8 * 3, 101)  # nine strips with 3-row gaps


def test_position_similarity_strip_content(sim):
    ax = plots.plot_position_similarity(sim, patches=[(2, 7), 5 * 101 + 40], colorbar=False)
    image = _image(ax)
    assert len(ax.figure.axes) == 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["(2, 7)", "(5, 40)"]
    # first strip: patch (2, 7)'s map, highest frequency on top; then a gap of NaN
    np.testing.assert_allclose(image[:12], sim[2, 7][::-1], rtol=1e-6)
    assert np.isnan(image[12:15]).all()
    np.testing.assert_allclose(image[15:27], sim[5, 40][::-1], rtol=1e-6)
    # the self-similarity pixel (1.0) is where the circle is
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets, [[7, 11 - 2], [40, 15 + 11 - 5]])
    for (x, y) in offsets:
        assert image[int(y), int(x)] == pytest.approx(1.0, abs=1e-5)


def test_position_similarity_single_pair_and_torch(sim):
    import torch

    ax = plots.plot_position_similarity(torch.from_numpy(sim), patches=(0, 0))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["(0, 0)"]
    assert _image(ax).shape == (12, 101)


def test_position_similarity_draws_on_given_axes(sim):
    fig, axes = plt.subplots(1, 2)
    out = plots.plot_position_similarity(sim, patches=[3], ax=axes[1])
    assert out is axes[1]
    assert not axes[0].get_images()


def test_position_similarity_other_grid(rng):
    sim = rng.uniform(-1, 1, size=(4, 9, 4, 9))
    ax = plots.plot_position_similarity(sim)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "(3, 0)"
    assert ax.get_xlim() == (-0.5, 8.5)


@pytest.mark.parametrize(
    ("patches", "match"),
    [
        ([(12, 0)], r"patch \(12, 0\) is outside the 12 x 101 grid"),
        ([(0, 101)], "outside"),
        ([1212], r"patch index 1212 is outside .* \(0 to 1211\)"),
        ([], "empty"),
        (["ab"], "pairs or flat patch indices"),
    ],
)
def test_position_similarity_bad_patches(sim, patches, match):
    with pytest.raises(ParameterError, match=match):
        plots.plot_position_similarity(sim, patches=patches)


def test_position_similarity_bad_shape(sim):
    with pytest.raises(ParameterError, match="4-dimensional"):
        plots.plot_position_similarity(sim.reshape(1212, 1212))
    with pytest.raises(ParameterError, match=r"shape \(f, t, f, t\)"):
        plots.plot_position_similarity(sim[:, :, :6])
