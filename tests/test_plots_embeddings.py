"""Embedding figures: a map, a grid of maps, the explained variance of a PCA."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from figure_fixtures import own_ax
from matplotlib.axes import Axes

from asttools import plots
from asttools.errors import ASTToolsWarning, ParameterError
from asttools.plots import (
    check_figure,
    plot_embedding_grid,
    plot_embedding_map,
)


def test_plot_embedding_map(clusters):
    x, labels = clusters
    ax = plots.plot_embedding_map(x, labels, perplexity=10.0, title="map")
    assert isinstance(ax, Axes)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Sine wave", "White noise", "Siren"]
    colors = plots.label_colors(labels)
    for coll, label in zip(ax.collections, legend, strict=True):
        assert matplotlib.colors.to_hex(coll.get_facecolor()[0]) == colors[label]
    own = own_ax()
    assert plots.plot_embedding_map(x, labels, method="pca", ax=own, legend=False) is own
    assert own.get_legend() is None
    with pytest.raises(ParameterError, match="labels has 3 entries but embeddings has 60 rows"):
        plots.plot_embedding_map(x, labels[:3])


def test_plot_embedding_map_warns_at_the_callers_line(clusters):
    x, labels = clusters
    with pytest.warns(ASTToolsWarning, match="perplexity=30.0 is too large") as caught:
        plots.plot_embedding_map(x[:10], labels[:10])
    assert [w.filename for w in caught] == [__file__]


# --- a grid of embedding maps ---------------------------------------------------------------


@pytest.mark.slow  # 5.4 s on the loaded 2-core machine (issue 19)
def test_embedding_grid_names_varied_settings_per_panel_and_shared_ones_once(clusters):
    x, labels = clusters
    fig = plot_embedding_grid(
        x, labels, ncols=2, pca_components=None, meta={"random_weights": True},
        panels=[{"perplexity": p, "seed": s} for s in (0, 1) for p in (3, 5)],
        title="t-SNE sweep")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["perplexity 3, seed 0", "perplexity 5, seed 0",
                      "perplexity 3, seed 1", "perplexity 5, seed 1"]
    assert fig.get_suptitle() == "t-SNE sweep (random weights)"
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == sorted(set(labels),
                                                                        key=labels.index)
    assert not check_figure(fig)
    fig = plot_embedding_grid(x, labels, seed=3, perplexity=5,
                              panels={"PCA (linear)": {"method": "pca"}, "t-SNE": {}})
    assert [ax.get_title() for ax in fig.axes] == ["PCA (linear)", "t-SNE (perplexity 5, seed 3)"]


def test_embedding_grid_panels_match_single_maps_and_share_colours(clusters, rng):
    x, labels = clusters
    other = rng.normal(size=x.shape)
    fig = plot_embedding_grid({"first": x, "second": other}, labels, perplexity=5, seed=2,
                              pca_components=None, title="two embeddings")
    assert fig.get_suptitle() == "two embeddings (perplexity 5, seed 2)"
    for ax, emb in zip(fig.axes, (x, other), strict=True):
        alone = plot_embedding_map(emb, labels, perplexity=5, seed=2, pca_components=None)
        mine = [c.get_offsets().tolist() for c in ax.collections]
        assert mine == [c.get_offsets().tolist() for c in alone.collections]
    colors = [[tuple(c.get_facecolor()[0]) for c in ax.collections] for ax in fig.axes]
    assert colors[0] == colors[1]


def test_embedding_grid_refuses_what_it_cannot_draw(clusters):
    x, labels = clusters
    with pytest.raises(ParameterError, match="give panels="):
        plot_embedding_grid(x, labels)
    with pytest.raises(ParameterError, match=r"unknown options \['perplexty'\]"):
        plot_embedding_grid(x, labels, panels=[{"perplexty": 5}])
    with pytest.raises(ParameterError, match="names embeddings 'third'"):
        plot_embedding_grid({"first": x}, labels, panels={"a": {"embeddings": "third"}})
    with pytest.raises(ParameterError, match="labels has"):
        plot_embedding_grid({"first": x}, labels[:-1])


def test_embedding_grid_names_each_axis_once_per_row_and_column(clusters):
    x, labels = clusters
    fig = plot_embedding_grid(x, labels, ncols=2, pca_components=None, perplexity=5,
                              panels=[{"seed": s} for s in range(3)])
    names = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes[:3]]
    # top-left has a panel below it; top-right has none (the third panel is bottom-left)
    assert names == [("", "t-SNE 2"), ("t-SNE 1", ""), ("t-SNE 1", "t-SNE 2")]
    fig = plot_embedding_grid(x, labels, pca_components=None, perplexity=5,
                              panels={"PCA": {"method": "pca"}, "t-SNE": {}})
    assert [ax.get_ylabel() for ax in fig.axes] == ["PC 2", "t-SNE 2"]  # different: both


# --- explained variance ---------------------------------------------------------------------


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
