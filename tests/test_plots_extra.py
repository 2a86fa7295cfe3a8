"""Tests of the plot helpers added for the notebooks: position similarity, explained variance."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
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
    from asttools.analysis.reduce import fit_pca

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


# ------------------------------------------------------------ issue 21: typography


def test_caption_mode_drops_the_title_and_stamps_random_weights():
    table = pd.DataFrame({"label": ["Speech", "Music"], "probability": [0.9, 0.2]})
    ax = plots.plot_top_k(table, title=False, meta={"random_weights": True})
    assert ax.get_title() == ""
    stamps = [t for t in ax.texts if t.get_text() == "random weights"]
    assert len(stamps) == 1 and stamps[0].get_gid() == "random-weights-stamp"
    plots.assert_figure_ok(ax)
    ax = plots.plot_top_k(table, title=False, meta={"random_weights": False})
    assert ax.get_title() == "" and not [t for t in ax.texts if "random" in t.get_text()]


def test_thesis_preset_uses_fonts_bundled_with_matplotlib():
    import matplotlib
    from matplotlib import font_manager

    rc = plots.theme_rc(thesis=True)
    assert rc["font.family"] == "serif" and rc["font.serif"][0] == "STIXGeneral"
    with matplotlib.rc_context(rc):
        path = font_manager.findfont(font_manager.FontProperties(family=["serif"]))
    assert "mpl-data" in path and "STIXGeneral" in path  # the same file on every machine
    with matplotlib.rc_context(plots.theme_rc()):
        path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert "mpl-data" in path and "DejaVuSans" in path


def test_panel_letters():
    fig, axes = plt.subplots(2, 2, layout="constrained")
    axes[1, 1].set_visible(False)
    letters = plots.label_panels(fig)
    assert [t.get_text() for t in letters] == ["(a)", "(b)", "(c)"]
    plots.assert_figure_ok(fig)
    fig, axes = plt.subplots(1, 2, layout="constrained")
    assert [t.get_text() for t in plots.label_panels(axes, template="{}.")] == ["a.", "b."]


def test_metric_names_read_as_words():
    from asttools.plots._evaluation import metric_name

    assert metric_name("precision_macro") == "Precision (macro)"
    assert metric_name("f1_micro") == "F1 (micro)"
    assert metric_name("mAUC") == "mean ROC AUC"
    assert metric_name("dprime_ast") == "d\u2032 (AST)"
    table = pd.DataFrame({"metric": ["mAP", "recall_macro"], "value": [0.4, 0.5],
                          "ci_low": [0.3, 0.4], "ci_high": [0.5, 0.6], "n": 10})
    ax = plots.plot_metrics(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mAP", "Recall (macro)"]


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
