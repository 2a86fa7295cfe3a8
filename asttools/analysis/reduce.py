"""Fewer dimensions, done properly: a PCA fitted on your embeddings, saved and reused; 2-D maps.

The tutorial many AST users start from shrinks the 768-d [CLS] embedding to 128 numbers
with ``torch.nn.Linear(768, 128)`` and never trains it. An untrained linear layer is a
*random* projection: its weights are drawn at random when it is created, so its output is
not a learned feature, changes with every run unless the weights are saved, and keeps no
particular property of your data. A principal component analysis fitted on the
embeddings is the honest replacement: deterministic, the directions of largest variance in
*your* data, with a stated fraction of the variance kept, and saved so that new clips are
projected exactly like the old ones.

>>> import numpy as np
>>> from asttools.analysis.reduce import fit_pca, explained_variance
>>> x = np.random.default_rng(0).normal(size=(200, 64)).astype(np.float32)
>>> pca = fit_pca(x, n_components=16)
>>> pca.transform(x).shape
(200, 16)
>>> explained_variance(pca).columns.tolist()
['component', 'explained_variance_ratio', 'cumulative']

:func:`fit_pca` returns a fitted scikit-learn :class:`~sklearn.decomposition.PCA` (use
``transform`` and ``inverse_transform`` as usual) carrying ``asttools_info_``: the shape
of the data it was fitted on, the requested and fitted number of components, the variance
kept, and the asttools and scikit-learn versions. :func:`save_reducer` and
:func:`load_reducer` write and read it with joblib, that information included.

:func:`embedding_map` projects embeddings to two dimensions for a picture (t-SNE, PCA or
UMAP); :func:`asttools.plots.plot_embedding_map` draws it. A map is for looking at, not for
features: t-SNE and UMAP coordinates cannot be applied to new clips.

Fit on the data you train on. Fitting the PCA on every clip, test clips included, and then
scoring a classifier on the reduced test clips lets the test data shape the features (a
mild, unsupervised leak); for a strict evaluation fit it on the training split only.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from .._version import __version__
from ..errors import ASTToolsWarning, ParameterError

__all__ = [
    "EMBEDDING_MAP_METHODS",
    "capped_perplexity",
    "embedding_map",
    "explained_variance",
    "fit_pca",
    "load_reducer",
    "save_reducer",
]

#: Written into every saved reducer; :func:`load_reducer` checks it.
REDUCER_FORMAT = "asttools-reducer"
REDUCER_FORMAT_VERSION = 1


def _embeddings(embeddings: Any) -> np.ndarray:
    """An (n, d) float array from an array, a tensor or an EmbeddingResult."""
    x = getattr(embeddings, "embeddings", embeddings)  # an EmbeddingResult
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 2:
        raise ParameterError(
            f"embeddings must be 2-dimensional (n_samples, n_features), given shape {x.shape}"
            + ("; pool the patch grid first (pooling='patches')" if x.ndim == 4 else "")
        )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ParameterError(
            f"embeddings hold {int((~np.isfinite(x)).sum())} NaN or infinite values"
        )
    return x


def fit_pca(
    embeddings: Any,
    *,
    n_components: int | float = 128,
    whiten: bool = False,
    seed: int = 0,
):
    """Fit a PCA that reduces embeddings to ``n_components`` dimensions.

    Parameters
    ----------
    embeddings : ndarray, shape (n_samples, n_features), or an EmbeddingResult
        The embeddings to fit on, e.g. ``result.embeddings`` (one row per window) or
        ``result.clips().embeddings`` (one per clip). A result stands for its
        ``embeddings``.
    n_components : int or float, default 128
        Dimensions to keep. An int larger than ``min(n_samples, n_features)`` (a PCA
        cannot find more components than that) is lowered to it with an
        :class:`~asttools.errors.ASTToolsWarning`. A float between 0 and 1 keeps the fewest
        components that explain at least that fraction of the variance.
    whiten : bool, default False
        Scale each component to unit variance. Useful before methods that assume
        isotropic features; it also magnifies the low-variance (noisier) components.
    seed : int, default 0
        ``random_state`` of scikit-learn's randomized solver (used on large inputs), so a
        refit gives the same components.

    Returns
    -------
    sklearn.decomposition.PCA
        Fitted. ``transform(x)`` maps ``(n, n_features)`` to ``(n, n_components_)``;
        ``explained_variance_ratio_`` holds the fraction of variance of each component
        (see :func:`explained_variance`). ``asttools_info_`` (dict) records
        ``n_samples``, ``n_features``, ``n_components_requested``, ``n_components``,
        ``whiten``, ``seed``, ``explained_variance`` (the total fraction kept),
        ``asttools_version`` and ``sklearn_version``.

    Raises
    ------
    ParameterError
        ``embeddings`` is not 2-D, holds NaN or inf, has fewer than two rows, or
        ``n_components`` is not a positive int or a float in (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(30, 64))
    >>> pca = fit_pca(x, n_components=8)
    >>> pca.n_components_, pca.asttools_info_["n_samples"]
    (8, 30)
    """

    x = _embeddings(embeddings)
    n_samples, n_features = x.shape
    if n_samples < 2:
        raise ParameterError(f"a PCA needs at least 2 rows of embeddings, given {n_samples}")
    limit = min(n_samples, n_features)
    if isinstance(n_components, (bool, np.bool_)) or not isinstance(
        n_components, (int, np.integer, float, np.floating)
    ):
        raise ParameterError(
            f"n_components must be a positive int or a float in (0, 1), given {n_components!r}"
        )
    if isinstance(n_components, (float, np.floating)):
        if not 0.0 < n_components < 1.0:
            raise ParameterError(
                "n_components as a float is the fraction of variance to keep and must lie "
                f"in (0, 1), given {n_components!r}"
            )
        k: int | float = float(n_components)
    else:
        if n_components < 1:
            raise ParameterError(f"n_components must be at least 1, given {n_components!r}")
        k = int(n_components)
        if k > limit:
            warnings.warn(
                f"n_components={k} is more than min(n_samples={n_samples}, "
                f"n_features={n_features}) = {limit}: fitting {limit} components instead",
                ASTToolsWarning,
                stacklevel=2,
            )
            k = limit
    pca = PCA(n_components=k, whiten=whiten, random_state=seed).fit(x)
    pca.asttools_info_ = {
        "n_samples": int(n_samples),
        "n_features": int(n_features),
        "n_components_requested": n_components if isinstance(k, float) else int(n_components),
        "n_components": int(pca.n_components_),
        "whiten": bool(whiten),
        "seed": int(seed),
        "explained_variance": float(np.sum(pca.explained_variance_ratio_)),
        "asttools_version": __version__,
        "sklearn_version": sklearn.__version__,
    }
    return pca


def explained_variance(reducer) -> pd.DataFrame:
    """How much of the variance each component of a fitted PCA keeps.

    Parameters
    ----------
    reducer : fitted sklearn.decomposition.PCA
        From :func:`fit_pca` or :func:`load_reducer` (anything with
        ``explained_variance_ratio_``).

    Returns
    -------
    DataFrame, one row per component
        ``component`` (1-based), ``explained_variance_ratio`` (its fraction of the total
        variance of the data it was fitted on) and ``cumulative`` (the fraction kept by
        the first ``component`` components).

    Raises
    ------
    ParameterError
        ``reducer`` has no ``explained_variance_ratio_`` (not a fitted PCA).
    """
    ratio = getattr(reducer, "explained_variance_ratio_", None)
    if ratio is None:
        raise ParameterError(
            f"reducer must be a fitted PCA with explained_variance_ratio_, given "
            f"{type(reducer).__name__}"
        )
    ratio = np.asarray(ratio, dtype=np.float64)
    return pd.DataFrame(
        {
            "component": np.arange(1, len(ratio) + 1),
            "explained_variance_ratio": ratio,
            "cumulative": np.cumsum(ratio),
        }
    )


# ---------------------------------------------------------------------------------------
# 2-D maps

EMBEDDING_MAP_METHODS = ("tsne", "pca", "umap")
"""Methods :func:`embedding_map` knows."""

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # asttools/


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside asttools.

    For warnings raised in the function that calls this: :func:`embedding_map` is called
    by the user or through :func:`asttools.plots.plot_embedding_map`, and its warning should
    name the user's line either way.
    """
    frame, level = sys._getframe(2), 2  # 1: the function that warns
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def embedding_map(
    embeddings,
    *,
    method: str = "tsne",
    perplexity: float = 30.0,
    pca_components: int | None = 50,
    seed: int = 0,
) -> np.ndarray:
    """Project embeddings to 2-D for a map: t-SNE, PCA or UMAP.

    :func:`asttools.plots.plot_embedding_map` draws what this returns.

    For ``"tsne"`` and ``"umap"``, embeddings with more than ``pca_components`` dimensions
    are first reduced by PCA (when there are more than ``pca_components`` points). t-SNE is
    openTSNE's when installed (about 1.8x faster here), else scikit-learn's. Every method
    is seeded: the same input and seed give the same map.

    Parameters
    ----------
    embeddings : ndarray, shape (n, d)
        One embedding per row, e.g. ``result.embeddings`` with ``pooling="cls"``.
    method : {"tsne", "pca", "umap"}
        ``"umap"`` needs ``umap-learn`` (``pip install umap-learn``).
    perplexity : float
        t-SNE perplexity; lowered to ``(n - 1) / 3`` with a warning when ``n`` is too small
        for it.
    pca_components : int or None
        Dimensions kept by the PCA before t-SNE / UMAP; None skips that PCA.
    seed : int
        Random seed.

    Returns
    -------
    ndarray, shape (n, 2), float32
        The map coordinates.

    Raises
    ------
    ParameterError
        Unknown ``method`` (the message lists :data:`EMBEDDING_MAP_METHODS`),
        ``embeddings`` not 2-D, non-finite, or too few rows (t-SNE needs 4, PCA 2, UMAP 3),
        or ``method="umap"`` without umap-learn installed.

    Warns
    -----
    ASTToolsWarning
        ``perplexity`` was lowered.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(40, 768)).astype("float32")
    >>> xy = embedding_map(x, method="pca")
    >>> xy.shape
    (40, 2)
    """
    if method not in EMBEDDING_MAP_METHODS:
        raise ParameterError(
            f"method must be one of {EMBEDDING_MAP_METHODS}, given method={method!r}"
        )
    x = np.asarray(
        embeddings.detach().cpu().numpy() if hasattr(embeddings, "detach") else embeddings
    )
    if x.ndim != 2:
        raise ParameterError(
            f"embeddings must be 2-D (n, d), given embeddings.shape={x.shape}; pool grid "
            "embeddings first (e.g. .mean(axis=(1, 2)))"
        )
    x = x.astype(np.float64 if method == "pca" else np.float32, copy=False)
    n, d = x.shape
    minimum = {"tsne": 4, "pca": 2, "umap": 3}[method]
    if n < minimum:
        hint = " (method='pca' draws from 2)" if method != "pca" and n >= 2 else ""
        raise ParameterError(
            f"method={method!r} needs at least {minimum} points, given {n}{hint}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("embeddings contain NaN or infinite values")
    if pca_components is not None and pca_components < 2:
        raise ParameterError(f"pca_components must be at least 2 or None, given {pca_components}")


    if method == "pca":
        return PCA(n_components=2, svd_solver="full").fit_transform(x).astype(np.float32)

    if pca_components is not None and d > pca_components and n > pca_components:
        x = PCA(n_components=pca_components, svd_solver="full").fit_transform(x)
        x = x.astype(np.float32)

    if method == "umap":
        try:
            import umap
        except ImportError as exc:
            raise ParameterError(
                "method='umap' needs umap-learn, which is not installed: "
                "pip install umap-learn (or asttools[umap]); method='tsne' needs nothing more"
            ) from exc
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)

    max_perplexity = (n - 1) / 3
    if perplexity > max_perplexity:
        warnings.warn(
            f"perplexity={perplexity} is too large for {n} points; using "
            f"{max_perplexity:.3g} ((n - 1) / 3)",
            ASTToolsWarning,
            stacklevel=_user_stacklevel(),
        )
        perplexity = max_perplexity
    if perplexity <= 0:
        raise ParameterError(f"perplexity must be positive, given perplexity={perplexity}")
    try:
        from openTSNE import TSNE as OpenTSNE
    except ImportError:

        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(x).astype(np.float32)
    tsne = OpenTSNE(n_components=2, perplexity=perplexity, random_state=seed, n_jobs=1)
    return np.asarray(tsne.fit(x), dtype=np.float32)


def _info(reducer) -> dict[str, Any]:

    info = dict(getattr(reducer, "asttools_info_", {}) or {})
    info.setdefault("n_features", int(getattr(reducer, "n_features_in_", -1)))
    if hasattr(reducer, "n_components_"):
        info.setdefault("n_components", int(reducer.n_components_))
    info["saved_with_asttools"] = __version__
    info["saved_with_sklearn"] = sklearn.__version__
    return info


def save_reducer(reducer, path: str | os.PathLike) -> Path:
    """Write a fitted reducer (and what it was fitted on) to a joblib file.

    Parameters
    ----------
    reducer : fitted scikit-learn transformer
        Usually from :func:`fit_pca`; anything fitted with a ``transform`` method.
    path : str or PathLike
        The file, e.g. ``"outputs/pca128.joblib"``; missing folders are created. The file
        is written under a temporary name and renamed, so it is never half-written.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ParameterError
        ``reducer`` has no ``transform`` or is not fitted.
    """

    if not hasattr(reducer, "transform") or not hasattr(reducer, "n_features_in_"):
        raise ParameterError(
            f"reducer must be a fitted transformer (fit it first, e.g. with fit_pca), given "
            f"{type(reducer).__name__}"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": REDUCER_FORMAT,
        "format_version": REDUCER_FORMAT_VERSION,
        "info": _info(reducer),
        "reducer": reducer,
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        joblib.dump(payload, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_reducer(path: str | os.PathLike):
    """Read a reducer written by :func:`save_reducer`.

    joblib files are pickles: load only files you (or your lab) wrote.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    fitted scikit-learn transformer
        With ``asttools_info_`` (dict): what it was fitted on and the asttools and
        scikit-learn versions that saved it. ``transform`` gives exactly what it gave
        before saving.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ParameterError
        The file is not a reducer saved by :func:`save_reducer`.

    Warns
    -----
    ASTToolsWarning
        The file was saved with another scikit-learn version (its numbers may differ).
    """

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no reducer file at {path}")
    try:
        payload = joblib.load(path)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not ours"
        raise ParameterError(
            f"{path} is not a reducer saved by asttools.analysis.reduce.save_reducer ({err})"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != REDUCER_FORMAT:
        raise ParameterError(
            f"{path} is not a reducer saved by asttools.analysis.reduce.save_reducer "
            f"(no {REDUCER_FORMAT!r} header)"
        )
    info = dict(payload.get("info", {}))
    saved = info.get("saved_with_sklearn")
    if saved and saved != sklearn.__version__:
        warnings.warn(
            f"{path} was saved with scikit-learn {saved}, this is {sklearn.__version__}: "
            "refit the reducer if its output matters",
            ASTToolsWarning,
            stacklevel=2,
        )
    reducer = payload["reducer"]
    reducer.asttools_info_ = info
    return reducer


def capped_perplexity(n_points: int, perplexity: float = 30.0) -> float:
    """A t-SNE perplexity that ``n_points`` can support: at most ``(n_points - 1) / 3``.

    t-SNE needs more than three neighbours per unit of perplexity; openTSNE and
    scikit-learn refuse (or degrade) above that. Use the returned value in the figure's
    title, so a reader sees what was used.

    Examples
    --------
    >>> capped_perplexity(28, 30.0), capped_perplexity(1000, 30.0)
    (9.0, 30.0)
    """
    return float(min(perplexity, max(1.0, (n_points - 1) / 3)))
