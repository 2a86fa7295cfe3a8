"""What this installation runs with: versions, device, and where the weights come from.

:func:`info` is what ``asttools info`` prints, and what a thesis's methods section (or a
bug report) needs: every library that changes the numbers, the device, the model a run
would use, whether its weights are in the local cache — and where that cache is — and
whether the Hugging Face hub would be asked at all. It never downloads anything.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import av
import huggingface_hub
import soundfile
import soxr
import torch
import transformers
from huggingface_hub import constants as hf_constants
from huggingface_hub import try_to_load_from_cache

from .._version import __version__
from ..model import is_cached, resolve_device
from ..settings import ENV_VAR, TINY_RANDOM, resolve_model_name

__all__ = ["info", "random_weights"]


def info(model: str | os.PathLike | None = None, *, device: str = "auto") -> dict[str, Any]:
    """Versions, device and model source of this installation; downloads nothing.

    Parameters
    ----------
    model : str or PathLike, optional
        The model to describe (default: ``$ASTTOOLS_MODEL``, else the AudioSet AST).
    device : str, default "auto"

    Returns
    -------
    dict
        ``asttools``, ``python``, ``torch``, ``transformers``, ``pyav``, ``ffmpeg``
        (libavcodec's version), ``soundfile``, ``libsndfile``, ``soxr``; ``device`` and
        ``cuda_available``; ``model``, ``model_source`` (``"argument"``, ``$ASTTOOLS_MODEL``
        or ``"default"``), ``model_cached``, ``random_weights`` (None when unknown: not
        cached); ``weights_cache`` (the Hugging Face hub cache folder) and ``offline``
        (``HF_HUB_OFFLINE`` is set: nothing is looked up online).
    """
    if model is not None and str(model) != "":
        source = "argument"
    elif os.environ.get(ENV_VAR):
        source = f"${ENV_VAR}"
    else:
        source = "default"
    name = resolve_model_name(model)
    cached = is_cached(name)
    libavcodec = av.library_versions.get("libavcodec", ())
    return {
        "asttools": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "huggingface_hub": huggingface_hub.__version__,
        "pyav": av.__version__,
        "ffmpeg": "libavcodec " + ".".join(map(str, libavcodec)),
        "soundfile": soundfile.__version__,
        "libsndfile": soundfile.__libsndfile_version__,
        "soxr": soxr.__version__,
        "device": str(resolve_device(device)),
        "cuda_available": torch.cuda.is_available(),
        "model": name,
        "model_source": source,
        "model_cached": cached,
        "random_weights": random_weights(name) if cached else None,
        "weights_cache": str(hf_constants.HF_HUB_CACHE),
        "offline": bool(hf_constants.HF_HUB_OFFLINE),
    }


def random_weights(name: str) -> bool | None:
    """Whether a local or cached model's config says its weights are random.

    Reads ``config.json`` only (``tiny-random`` is always random).

    Returns
    -------
    bool or None
        None when the config is neither a local directory's nor in the cache.
    """
    if name == TINY_RANDOM:
        return True
    path = Path(name).expanduser()
    if path.is_dir():
        config = path / "config.json"
    else:
        found = try_to_load_from_cache(name, "config.json")
        if not isinstance(found, str):
            return None
        config = Path(found)
    try:
        return bool(json.loads(config.read_text()).get("asttools_random_weights", False))
    except (OSError, ValueError):
        return None
