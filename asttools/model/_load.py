"""Loading AST: a Hugging Face id, a local directory, or the built-in ``tiny-random``.

The model is loaded once and passed in (``embed(..., model=model)``). The environment
variable ``ASTTOOLS_MODEL``, read at call time, replaces the default model everywhere —
library, command line and notebooks — so ``ASTTOOLS_MODEL=tiny-random`` switches a whole
run to the small random test model and ``ASTTOOLS_MODEL=/path/to/copy`` to a local copy.

Weights are never replaced silently: when they cannot be had, :func:`load_model` raises
:class:`~asttools.errors.ModelLoadError` saying how to get them. A model with random
weights carries that fact in its config (``asttools_random_weights``), which survives
``save_pretrained``, and every result computed with it says so.

Running a loaded model in another precision (bf16/fp16 copies, a torchao int8 copy) is
:mod:`asttools.model.precision`'s job (:func:`asttools.model.precision.prepare_model`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import try_to_load_from_cache
from transformers import ASTConfig, ASTForAudioClassification

from ..constants import patch_grid
from ..errors import ASTToolsWarning, ModelLoadError, ParameterError
from ..labels import audioset_labels
from ..settings import DEFAULT_MODEL, TINY_RANDOM, resolve_model_name

__all__ = [
    "DEVICES",
    "is_cached",
    "load_model",
    "model_info",
    "resolve_device",
    "tiny_random_model",
]

#: Accepted ``device`` names besides explicit ``"cuda:N"``.
DEVICES = ("auto", "cpu", "cuda", "mps")

_HOW_TO_GET_WEIGHTS = (
    "Ways to get the weights: (1) on a machine with internet, run "
    "`asttools.load_model({name!r})` once (it fills the Hugging Face cache, "
    "~/.cache/huggingface or $HF_HOME) or save a copy with "
    "`model.save_pretrained(DIR)` and pass DIR (or set ASTTOOLS_MODEL=DIR); "
    "(2) copy that cache directory to this machine and set HF_HUB_OFFLINE=1 so nothing "
    "is looked up online. For tests and offline smoke runs, "
    "`load_model('tiny-random')` (or ASTTOOLS_MODEL=tiny-random) builds a small model "
    "with random weights locally — its outputs are meaningless and are marked as such."
)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``"auto"`` (CUDA, else Apple MPS, else CPU) or a name into a torch device.

    Parameters
    ----------
    device : str or torch.device, default "auto"

    Returns
    -------
    torch.device

    Raises
    ------
    ParameterError
        For an unknown name, ``"cuda"`` on a machine without CUDA, or ``"mps"`` on one
        without MPS.
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ParameterError(f"device={device!r} is not a device; use one of {DEVICES}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} asked for CUDA, but torch sees no CUDA device")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ParameterError(f"device={device!r} asked for MPS (Apple silicon), but torch "
                                 "has no MPS device here; use 'cpu', 'cuda' or 'auto'")
    return dev


def _audioset_id2label() -> dict[int, str]:
    table = audioset_labels()
    return {int(i): str(n) for i, n in zip(table["index"], table["display_name"], strict=True)}


def tiny_random_model(*, seed: int = 0, hidden_size: int = 64, num_layers: int = 2):
    """A small, seeded, randomly initialised ``ASTForAudioClassification``; no download.

    It has AST's real input geometry — 1024 frames × 128 mel bins, 16×16 patches with
    strides 10×10, so 12 × 101 = 1212 patches — and the 527 AudioSet labels, but a
    hidden size of 64 and 2 layers, so a forward pass takes milliseconds. Its outputs are
    meaningless: it exists for tests, CI and offline smoke runs, and its config says
    ``asttools_random_weights = True``.

    Parameters
    ----------
    seed : int, default 0
        The same seed gives the same weights (the global RNG is left untouched).
    hidden_size : int, default 64
    num_layers : int, default 2

    Returns
    -------
    transformers.ASTForAudioClassification
        In ``eval()`` mode, on the CPU.
    """
    id2label = _audioset_id2label()
    config = ASTConfig(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden_size,
        patch_size=16,
        frequency_stride=10,
        time_stride=10,
        max_length=1024,
        num_mel_bins=128,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    config.asttools_random_weights = True
    config.asttools_source = TINY_RANDOM
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ASTForAudioClassification(config)
        # transformers zero-initialises the [CLS]/distillation tokens and positions;
        # give them values so the random model is not degenerate in tests.
        emb = model.audio_spectrogram_transformer.embeddings
        for p in (emb.cls_token, emb.distillation_token, emb.position_embeddings):
            p.data.normal_(0.0, 0.02)
    return model.eval()


def load_model(
    name_or_path: str | os.PathLike | None = None,
    *,
    device: str | torch.device | None = "auto",
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    seed: int = 0,
):
    """Load AST with its AudioSet classification head, ready for :func:`asttools.embed`.

    Parameters
    ----------
    name_or_path : str or PathLike, optional
        A Hugging Face model id (default ``$ASTTOOLS_MODEL`` or
        ``"MIT/ast-finetuned-audioset-10-10-0.4593"``), a local directory written by
        ``save_pretrained``, or ``"tiny-random"`` (see :func:`tiny_random_model`).
    device : str or torch.device, default "auto"
        ``"auto"`` uses CUDA (or Apple MPS) when present, else the CPU.
    revision : str, optional
        A branch, tag or commit of a hub model.
    cache_dir : str or PathLike, optional
        The Hugging Face cache to use (default: ``$HF_HOME`` / ``~/.cache/huggingface``).
    local_files_only : bool, optional
        Never look online; default True when ``HF_HUB_OFFLINE=1``.
    seed : int, default 0
        Seed of ``"tiny-random"``.

    Returns
    -------
    transformers.ASTForAudioClassification
        In ``eval()`` mode on the chosen device.

    Raises
    ------
    ModelLoadError
        When the weights cannot be had (offline and not cached, a directory without a
        model); the message says how to get them and that ``tiny-random`` exists.

    Examples
    --------
    >>> import asttools
    >>> model = asttools.load_model("tiny-random")
    >>> asttools.model_info(model)["random_weights"]
    True
    """
    name = resolve_model_name(name_or_path)
    dev = resolve_device(device)
    if name == TINY_RANDOM:
        model = tiny_random_model(seed=seed)
    else:
        model = _from_pretrained(
            name, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
        )
    if getattr(model.config, "asttools_random_weights", False):
        warnings.warn(
            f"model {name!r} has RANDOM weights: embeddings and labels computed with it are "
            "meaningless (fine for tests and smoke runs)",
            ASTToolsWarning,
            stacklevel=2,
        )
    model.config.asttools_loaded_from = name
    return model.to(dev).eval()


def _from_pretrained(name: str, *, revision, cache_dir, local_files_only):
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"model directory {str(path)!r} has no config.json: it was not written by "
                "save_pretrained. " + _HOW_TO_GET_WEIGHTS.format(name=DEFAULT_MODEL)
            )
        name = str(path)
    elif name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ModelLoadError(
            f"model {name!r} is neither an existing directory nor a Hugging Face id "
            f"('organisation/name'), nor {TINY_RANDOM!r}. "
            + _HOW_TO_GET_WEIGHTS.format(name=DEFAULT_MODEL)
        )
    try:
        return ASTForAudioClassification.from_pretrained(
            name,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=bool(local_files_only),
        )
    except OSError as err:
        raise ModelLoadError(
            f"cannot load AST weights {name!r}: {str(err).splitlines()[0]} "
            + _HOW_TO_GET_WEIGHTS.format(name=name)
        ) from err


def is_cached(
    name_or_path: str | None = None, *, cache_dir: str | os.PathLike | None = None
) -> bool:
    """Whether a hub model's config and weights are in the local Hugging Face cache.

    Local directories count as cached when they exist; ``tiny-random`` always does.
    """
    name = resolve_model_name(name_or_path)
    if name == TINY_RANDOM:
        return True
    if Path(name).expanduser().is_dir():
        return True
    config = try_to_load_from_cache(name, "config.json", cache_dir=cache_dir)
    if not isinstance(config, str):
        return False
    return any(
        isinstance(try_to_load_from_cache(name, f, cache_dir=cache_dir), str)
        for f in ("model.safetensors", "pytorch_model.bin")
    )


def model_info(model) -> dict[str, Any]:
    """What a result should record about the model that produced it.

    Parameters
    ----------
    model : transformers.ASTForAudioClassification

    Returns
    -------
    dict
        ``model`` (where it was loaded from), ``revision`` (the hub commit, when known),
        ``random_weights`` (bool), ``hidden_size``, ``num_layers``, ``num_labels``,
        ``patch_grid`` ((frequency, time) patches), ``max_length``, ``num_mel_bins``,
        ``device`` and ``dtype``.
    """
    cfg = model.config
    param = next(model.parameters())
    return {
        "model": getattr(cfg, "asttools_loaded_from", None)
        or getattr(cfg, "asttools_source", None)
        or getattr(cfg, "_name_or_path", None)
        or "unknown",
        "revision": getattr(cfg, "_commit_hash", None),
        "random_weights": bool(getattr(cfg, "asttools_random_weights", False)),
        "hidden_size": int(cfg.hidden_size),
        "num_layers": int(cfg.num_hidden_layers),
        "num_labels": int(cfg.num_labels),
        "patch_grid": patch_grid(cfg),
        "max_length": int(cfg.max_length),
        "num_mel_bins": int(cfg.num_mel_bins),
        "device": str(param.device),
        "dtype": str(param.dtype).replace("torch.", ""),
    }
