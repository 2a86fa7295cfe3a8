"""Shared fixtures: the session-scoped tiny model, generated audio, figure hygiene."""

from __future__ import annotations

import os
import warnings

os.environ["MPLBACKEND"] = "Agg"  # tests only: never open windows (conftest runs first)

import numpy as np
import pytest

SR = 16000


@pytest.fixture(scope="session")
def tiny_model():
    """The built-in random AST (real 1024x128 geometry, hidden 64, 2 layers), built once."""
    import asttools

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)
        return asttools.load_model("tiny-random", device="cpu")


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_model, tmp_path_factory):
    """The tiny model written with save_pretrained, as a local checkpoint directory."""
    path = tmp_path_factory.mktemp("tiny-ast")
    tiny_model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def video_data_script():
    """scripts/make_video_data.py as a module: the bundled clips' generator (each clip's
    soundtrack, its mp4 writer: H.264 + AAC, an audio stream that may start late)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "make_video_data.py"
    spec = importlib.util.spec_from_file_location("make_video_data", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture
def forbid_model(monkeypatch):
    """A function that makes any model work fail from then on: loading a model (as
    extract does) or running a forward pass. For runs that must be fully cached; pass
    another MonkeyPatch (``with monkeypatch.context() as m``) to undo it sooner."""
    import asttools.run._pass
    import asttools.store._compute

    def forbid(patch: pytest.MonkeyPatch | None = None) -> None:
        def boom(*args, **kwargs):
            raise AssertionError("the model was used, but everything was cached")

        patch = monkeypatch if patch is None else patch
        patch.setattr(asttools.store._compute, "load_model", boom)
        patch.setattr(asttools.run._pass, "forward", boom)

    return forbid


@pytest.fixture
def tiny_env(monkeypatch):
    """``$ASTTOOLS_MODEL=tiny-random``: the command line's runs use the random tiny model."""
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def clusters(rng):
    """60 points in 3 separated groups of 20, 96-D (above pca_components=50)."""
    centres = rng.normal(scale=6.0, size=(3, 96))
    x = np.concatenate([c + rng.normal(size=(20, 96)) for c in centres]).astype(np.float32)
    labels = ["Sine wave"] * 20 + ["White noise"] * 20 + ["Siren"] * 20
    return x, labels


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
