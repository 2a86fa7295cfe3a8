"""Tests of the plot helpers added for the notebooks: position similarity, explained variance."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

from asttools import plots
from asttools.errors import ParameterError


@pytest.fixture
def sim(rng):
    pos = rng.normal(size=(12 * 101, 16))
    pos /= np.linalg.norm(pos, axis=1, keepdims=True)
    return (pos @ pos.T).reshape(12, 101, 12, 101).astype(np.float32)


def _image(ax):
    (image,) = ax.get_images()
    return np.ma.filled(image.get_array().astype(float), np.nan)


# --------------------------------------------------------------------------- position similarity


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


# --------------------------------------------------------------------------- explained variance


def test_explained_variance_plot():
    ratio = np.array([0.5, 0.25, 0.125, 0.0625])
    ax = plots.plot_explained_variance(ratio, thresholds=(0.7, 0.9, 0.99), title="pca")
    assert isinstance(ax, Axes)
    assert ax.get_title() == "pca"
    bars = ax.containers[0]
    np.testing.assert_allclose([b.get_height() for b in bars], ratio)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), np.cumsum(ratio))
    np.testing.assert_allclose(line.get_xdata(), [1, 2, 3, 4])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Cumulative", "70% of the variance: 2 components",
                      "90% of the variance: 4 components", "Per component"]  # 99%: never
    markers = [line for line in ax.get_lines() if line.get_label().startswith(("70%", "90%"))]
    assert [(line.get_xdata()[0], line.get_ydata()[0]) for line in markers] == [
        (2, 0.75), (4, 0.9375)]


def test_explained_variance_plot_takes_a_pca(rng):
    from asttools.reduce import fit_pca

    pca = fit_pca(rng.normal(size=(50, 10)), n_components=10)
    ax = plots.plot_explained_variance(pca)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata()[-1], 1.0)
    assert any(t.get_text().startswith("90% of the variance: ")
               for t in ax.get_legend().get_texts())


@pytest.mark.parametrize(
    ("ratio", "kwargs", "match"),
    [
        (np.zeros((2, 2)), {}, "1-dimensional"),
        (np.array([]), {}, "empty"),
        (np.array([0.7, 0.6]), {}, "summing to 1.3"),
        (np.array([0.5, -0.1]), {}, "explained variance fractions"),
        (np.array([0.5, 0.1]), {"thresholds": (1.5,)}, r"thresholds must lie in \(0, 1\]"),
    ],
)
def test_explained_variance_plot_bad_input(ratio, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        plots.plot_explained_variance(ratio, **kwargs)
