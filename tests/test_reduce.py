"""Tests of asttools.analysis.reduce: PCA fitted on embeddings, saved, loaded, reused."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

import asttools
from asttools import plots
from asttools.analysis import reduce
from asttools.errors import ASTToolsWarning, ParameterError
from asttools.analysis.reduce import (
    embedding_map,
    explained_variance,
    fit_pca,
    load_reducer,
    save_reducer,
)


@pytest.fixture
def emb(rng):
    """200 embeddings of width 96 with decaying variance (a few strong directions)."""
    scale = np.linspace(3.0, 0.05, 96)
    return (rng.normal(size=(200, 96)) * scale).astype(np.float32)


def test_shapes_and_info(emb):
    pca = fit_pca(emb, n_components=16)
    out = pca.transform(emb)
    assert out.shape == (200, 16)
    assert pca.n_components_ == 16
    info = pca.asttools_info_
    assert info["n_samples"] == 200 and info["n_features"] == 96
    assert info["n_components_requested"] == 16 and info["n_components"] == 16
    assert info["asttools_version"] == asttools.__version__
    assert info["explained_variance"] == pytest.approx(pca.explained_variance_ratio_.sum())


def test_default_is_128(rng):
    x = rng.normal(size=(300, 200))
    assert fit_pca(x).n_components_ == 128


def test_explained_variance_matches_sklearn(emb):
    ours = fit_pca(emb, n_components=20, seed=3)
    ref = PCA(n_components=20, random_state=3).fit(emb)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_,
                               rtol=1e-5)
    np.testing.assert_allclose(np.abs(ours.transform(emb)), np.abs(ref.transform(emb)),
                               rtol=1e-4, atol=1e-4)
    table = explained_variance(ours)
    assert list(table.columns) == ["component", "explained_variance_ratio", "cumulative"]
    assert table["component"].tolist() == list(range(1, 21))
    np.testing.assert_allclose(table["explained_variance_ratio"], ref.explained_variance_ratio_,
                               rtol=1e-5)
    np.testing.assert_allclose(table["cumulative"], np.cumsum(ref.explained_variance_ratio_),
                               rtol=1e-5)
    assert table["cumulative"].is_monotonic_increasing


def test_clips_components_with_a_warning(rng):
    x = rng.normal(size=(28, 64))  # the example data with the tiny model: 28 clips, 64 dims
    with pytest.warns(ASTToolsWarning, match=r"n_components=128 .* min\(n_samples=28, "
                      r"n_features=64\) = 28: fitting 28 components"):
        pca = fit_pca(x, n_components=128)
    assert pca.n_components_ == 28
    assert pca.transform(x).shape == (28, 28)
    assert pca.asttools_info_["n_components_requested"] == 128
    assert pca.asttools_info_["n_components"] == 28
    assert pca.asttools_info_["explained_variance"] == pytest.approx(1.0)
    wide = rng.normal(size=(500, 32))
    with pytest.warns(ASTToolsWarning, match="= 32: fitting 32"):
        assert fit_pca(wide, n_components=128).n_components_ == 32


def test_no_warning_when_it_fits(emb):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_pca(emb, n_components=96)


def test_fraction_of_variance(emb):
    pca = fit_pca(emb, n_components=0.9)
    ratio = pca.explained_variance_ratio_
    assert ratio.sum() >= 0.9 and ratio[:-1].sum() < 0.9


def test_deterministic_and_seeded(emb):
    a, b = fit_pca(emb, n_components=8, seed=0), fit_pca(emb, n_components=8, seed=0)
    np.testing.assert_array_equal(a.transform(emb), b.transform(emb))


def test_whiten(emb):
    out = fit_pca(emb, n_components=10, whiten=True).transform(emb)
    np.testing.assert_allclose(out.std(axis=0, ddof=1), 1.0, rtol=1e-3)


def test_takes_an_embedding_result(emb):
    table = pd.DataFrame({"item": range(len(emb))})
    res = asttools.EmbeddingResult(table, emb, np.zeros((len(emb), 3), np.float32))
    np.testing.assert_array_equal(fit_pca(res, n_components=4).components_,
                                  fit_pca(emb, n_components=4).components_)


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        (np.zeros((5, 2, 3)), {}, r"2-dimensional .* given shape \(5, 2, 3\)"),
        (np.zeros((4, 12, 101, 8)), {}, "pooling='patches'"),
        (np.zeros((1, 8)), {}, "at least 2 rows"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), {}, "1 NaN or infinite"),
        (np.ones((10, 4)), {"n_components": 0}, "at least 1"),
        (np.ones((10, 4)), {"n_components": 1.5}, r"in \(0, 1\)"),
        (np.ones((10, 4)), {"n_components": "all"}, "positive int"),
    ],
)
def test_bad_input(x, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        fit_pca(x, **kwargs)


def test_save_load_round_trip(emb, tmp_path):
    pca = fit_pca(emb[:150], n_components=12, whiten=True)
    path = save_reducer(pca, tmp_path / "sub" / "pca12.joblib")
    assert path == tmp_path / "sub" / "pca12.joblib" and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["pca12.joblib"]  # no temp file left
    loaded = load_reducer(path)
    new = emb[150:]  # clips the reducer never saw
    np.testing.assert_array_equal(loaded.transform(new), pca.transform(new))
    np.testing.assert_array_equal(loaded.inverse_transform(loaded.transform(new)),
                                  pca.inverse_transform(pca.transform(new)))
    info = loaded.asttools_info_
    assert info["n_samples"] == 150 and info["n_features"] == 96
    assert info["n_components"] == 12 and info["whiten"] is True
    assert info["saved_with_asttools"] == asttools.__version__
    import sklearn

    assert info["saved_with_sklearn"] == sklearn.__version__


def test_save_accepts_a_plain_sklearn_pca(emb, tmp_path):
    pca = PCA(n_components=5).fit(emb)
    loaded = load_reducer(save_reducer(pca, tmp_path / "plain.joblib"))
    assert loaded.asttools_info_["n_features"] == 96
    assert loaded.asttools_info_["n_components"] == 5
    np.testing.assert_array_equal(loaded.transform(emb), pca.transform(emb))


def test_save_refuses_unfitted(tmp_path):
    with pytest.raises(ParameterError, match="fitted transformer"):
        save_reducer(PCA(n_components=2), tmp_path / "x.joblib")
    with pytest.raises(ParameterError, match="fitted transformer"):
        save_reducer(np.eye(3), tmp_path / "x.joblib")


def test_load_errors(tmp_path):
    import joblib

    with pytest.raises(FileNotFoundError, match="no reducer file"):
        load_reducer(tmp_path / "missing.joblib")
    joblib.dump({"something": "else"}, tmp_path / "other.joblib")
    with pytest.raises(ParameterError, match="not a reducer saved by"):
        load_reducer(tmp_path / "other.joblib")
    (tmp_path / "text.joblib").write_text("not a pickle")
    with pytest.raises(ParameterError, match="not a reducer saved by"):
        load_reducer(tmp_path / "text.joblib")


def test_load_warns_on_another_sklearn_version(emb, tmp_path):
    import joblib

    path = save_reducer(fit_pca(emb, n_components=3), tmp_path / "p.joblib")
    payload = joblib.load(path)
    payload["info"]["saved_with_sklearn"] = "0.0.1"
    joblib.dump(payload, path)
    with pytest.warns(ASTToolsWarning, match="saved with scikit-learn 0.0.1"):
        load_reducer(path)


def test_explained_variance_needs_a_pca():
    with pytest.raises(ParameterError, match="fitted PCA"):
        explained_variance(object())


# --------------------------------------------------------------------------- embedding maps
# (embedding_map computes, so it lives here; asttools.plots draws it and is not its door)


def test_embedding_map_has_one_door():
    assert reduce.EMBEDDING_MAP_METHODS == ("tsne", "pca", "umap")
    assert not hasattr(plots, "embedding_map") and not hasattr(plots, "EMBEDDING_MAP_METHODS")


def test_embedding_map_reproducible(clusters):
    x, _ = clusters
    a = embedding_map(x, perplexity=10.0, seed=3)
    b = embedding_map(x, perplexity=10.0, seed=3)
    assert a.shape == (60, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, embedding_map(x, perplexity=10.0, seed=4))


def test_embedding_map_pca(clusters):
    x, _ = clusters
    xy = embedding_map(x, method="pca")
    assert xy.shape == (60, 2)
    np.testing.assert_array_equal(xy, embedding_map(x, method="pca"))
    # the first axis separates the groups more than noise would
    assert np.var(xy[:, 0]) > np.var(xy[:, 1]) > 0


def test_embedding_map_pca_before_tsne_is_used(clusters, monkeypatch):
    import asttools.analysis.reduce as reduce_mod

    seen = []
    real = reduce_mod.PCA

    class Spy(real):
        def fit_transform(self, X, y=None):
            seen.append((X.shape, self.n_components))
            return super().fit_transform(X, y)

    monkeypatch.setattr(reduce_mod, "PCA", Spy)
    x, _ = clusters
    embedding_map(x, perplexity=10.0, pca_components=20)
    assert seen == [((60, 96), 20)]
    seen.clear()
    embedding_map(x, perplexity=10.0, pca_components=None)
    assert seen == []


def test_embedding_map_clips_perplexity(clusters):
    x, _ = clusters
    with pytest.warns(ASTToolsWarning, match=r"perplexity=30.0 is too large for 10 points"):
        xy = embedding_map(x[:10], perplexity=30.0)
    assert xy.shape == (10, 2)


def test_embedding_map_errors(clusters, monkeypatch):
    x, _ = clusters
    with pytest.raises(ParameterError, match=r"one of \('tsne', 'pca', 'umap'\)"):
        embedding_map(x, method="mds")
    with pytest.raises(ParameterError, match="must be 2-D"):
        embedding_map(x[None])
    with pytest.raises(ParameterError, match="NaN"):
        embedding_map(np.full((10, 4), np.nan))
    with pytest.raises(ParameterError, match="needs at least 4 points"):
        embedding_map(x[:3])
    import sys

    monkeypatch.setitem(sys.modules, "umap", None)  # import umap -> ImportError
    with pytest.raises(ParameterError, match="pip install umap-learn"):
        embedding_map(x, method="umap")


@pytest.mark.slow  # over 15 s on the loaded 2-core machine (about 5 s quiet)
def test_embedding_map_sklearn_fallback(clusters, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openTSNE", None)
    x, _ = clusters
    a = embedding_map(x[:30], perplexity=5.0, seed=1)
    b = embedding_map(x[:30], perplexity=5.0, seed=1)
    assert a.shape == (30, 2)
    np.testing.assert_array_equal(a, b)


def test_embedding_map_warns_at_the_callers_line(clusters):
    x, _ = clusters
    with pytest.warns(ASTToolsWarning, match="perplexity=30.0 is too large") as caught:
        embedding_map(x[:10], perplexity=30.0)
    assert [w.filename for w in caught] == [__file__]
