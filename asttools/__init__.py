"""asttools: the Audio Spectrogram Transformer (AST) for research notebooks.

A session in a notebook::

    import asttools
    model = asttools.load_model()                  # MIT/ast-finetuned-audioset-10-10-0.4593
    wav, sr = asttools.load_audio("clip.mp4")      # 16 kHz mono float32, resampled
    out = asttools.embed(["a.wav", "b.flac"], model=model, pooling="cls")
    out.table, out.embeddings, out.probs           # one row per 10.24 s window
    asttools.top_k(out, k=5)                       # tidy table with AudioSet names
    res = asttools.extract("data/example", "emb")  # resumable Parquet store, cached
    asttools.evaluate(asttools.read_ground_truth("data/example/manifest.csv"), res)

Figures: ``asttools.plots`` (Axes-level helpers, ``save_figure``); an interactive map to
hover, hear and share as one HTML file: ``asttools.explore``; attention maps:
``asttools.analysis.attention``; reduced precision (``precision=`` on ``embed``/``extract``):
``asttools.model.precision``, and its measured cost: ``asttools.run.fidelity``.
``ASTTOOLS_MODEL=tiny-random`` runs anything offline with a small random model (its
outputs are marked as random everywhere).

Importing asttools is cheap: each public name is imported from its module on first use,
so ``asttools --version`` and ``asttools --help`` do not load torch. The names, and the
modules they come from, are listed once, in ``asttools/__init__.pyi``.

The package, by job (every import points down this list)::

    errors, constants, columns, settings, concurrency   the base every layer uses
    audio/       decode any file to 16 kHz mono, media facts, the video's clock
    labels/      AudioSet's classes and ontology, a dataset's labels mapped onto them
    model/       loading AST, its fbank, precision, video models
    run/         inputs, windows, the forward pass, the driver, EmbeddingResult
    timestamps/  0.1 s steps stitched from AST's patch columns
    datasets/    ground truth in the forms datasets come in
    analysis/    metrics, reduction, attention, the missing-audio harness
    store/       the resumable Parquet store, video features
    plots/, explorer/   figures and the interactive map
    apps/        the command line, the demo, the HEAR module
"""

from __future__ import annotations

import lazy_loader as _lazy

from ._version import __version__
from .errors import (
    ASTToolsError,
    ASTToolsWarning,
    AudioError,
    ModelLoadError,
    ParameterError,
    StoreError,
)

_lazy_getattr, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)

#: Modules that moved when the package was laid out by job (issue 19), old name under
#: ``asttools`` -> where its names live now. Used only to word the error for an old name:
#: ``asttools.inference`` still raises (no second door). ``import asttools.inference``
#: raises Python's own ModuleNotFoundError; CHANGELOG.md lists the same moves.
_MOVED = {
    "_links": "audio._links",
    "action_datasets": "datasets.action",
    "attention": "analysis.attention",
    "cli": "apps.cli",
    "demo": "apps.demo",
    "environment": "apps.environment",
    "export": "analysis.export",
    "features": "model.features",
    "fidelity": "run.fidelity",
    "fill_quality": "analysis.fill_quality",
    "fills": "analysis.fills",
    "frames": "audio.frames",
    "hear": "apps.hear",
    "inference": "run",
    "inputs": "run.inputs",
    "mapping": "labels.mapping",
    "metrics": "analysis.metrics",
    "missing": "analysis.missing",
    "notebook": "apps.notebook",
    "precision": "model.precision",
    "reduce": "analysis.reduce",
    "result": "run.result",
    "robustness": "analysis.robustness",
    "segments": "run.segments",
    "sources": "audio.sources",
    "steps": "run.steps",
    "video_features": "store.video_features",
    "video_model": "model.video_model",
}


def __getattr__(name: str):
    """A public name, imported from its module on first use (lazy_loader); a moved
    module's old name raises an AttributeError that says where it went."""
    try:
        return _lazy_getattr(name)
    except AttributeError:
        if name not in _MOVED:
            raise
        raise AttributeError(
            f"module 'asttools' has no attribute {name!r}: asttools.{name} moved to "
            f"asttools.{_MOVED[name]} after 0.1.0 (issue 19; CHANGELOG.md lists every moved "
            "module)") from None
