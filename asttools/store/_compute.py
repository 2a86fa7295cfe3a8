"""The part of :func:`asttools.extract` that needs torch: the model, its metadata, its run.

``store/_extract.py`` plans a run (lists and hashes the inputs, finds what the store
holds) without torch, and imports this module only once something must be computed, or
when a setting can only be resolved on the device (``precision="auto"`` or ``"fp16"``,
a device other than ``"auto"``/``"cpu"``, ``workers="auto"``): a fully cached run never
loads torch or transformers (tests/test_store.py checks).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from ..run import (
    ItemError,
    ItemResult,
    iter_embed,
    run_meta,
    sigmoid,
    silence_embedding,
)
from ..run.inputs import Item
from ..model import load_model, model_info, resolve_device
from ..model.precision import resolve_precision
from ._ray import RayEngine

__all__ = [  # the torch side's door for _extract, which imports this module only to compute
    "ItemError",
    "RayEngine",
    "load_model",
    "model_name",
    "resolved_device",
    "resolved_precision",
    "results",
    "run_facts",
    "sigmoid",
]


def model_name(model) -> str:
    """The name a loaded model records (``model_info``'s ``"model"``)."""
    return str(model_info(model)["model"])


def resolved_device(model, device) -> torch.device:
    """Where the run's model is: a loaded model's device, else ``device`` resolved."""
    if model is not None:
        return next(model.parameters()).device
    return resolve_device(device)


def resolved_precision(precision: str, model, device) -> str:
    """``precision`` as it runs on the model's device (``"auto"`` made concrete)."""
    return resolve_precision(precision, resolved_device(model, device))


def run_facts(model, settings: dict[str, Any], key: str,
              stored: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata a store records for these settings, with the silence embedding.

    The silence embedding (one forward pass of 10.24 s of zeros: what a clip without
    audio is filled with) is computed once per model and settings and kept in the
    store's metadata: a run that finds it there (``stored``, for the same settings key)
    reuses it rather than running the extra window again.

    Parameters
    ----------
    model : transformers.ASTForAudioClassification
    settings : dict
        The run's settings (``settings_key``'s input).
    key : str
        Their key.
    stored : dict, optional
        What the store holds for ``key`` already, if anything.

    Returns
    -------
    dict
    """
    meta = run_meta(model, pooling=settings["pooling"], layer=settings["layer"],
                    window_s=settings["window_s"], hop_s=settings["hop_s"],
                    precision=settings["precision"])
    meta.update(settings=settings, settings_key=key)
    kept = (stored or {}).get("silence_embedding")
    if kept is not None:  # the same settings, so the same model and its revision
        meta["silence_embedding"] = list(kept)
    else:
        meta["silence_embedding"] = silence_embedding(  # a fill for clips without audio
            model, pooling=settings["pooling"], layer=settings["layer"],
            precision=settings["precision"]).tolist()
    return meta


def results(items: Iterator[Item], *, model, settings: dict[str, Any], batch_size: int,
            workers, ray: RayEngine | None, name: str | None
            ) -> Iterator[ItemResult | ItemError]:
    """The model's results for ``items``, from this process or (``ray``) from Ray actors.

    ``name``: the model Ray's actors load (None: ``model``'s copy is sent to them).
    """
    opts = dict(pooling=settings["pooling"], layer=settings["layer"],
                window_s=settings["window_s"], hop_s=settings["hop_s"],
                channel=settings["channel"], batch_size=batch_size)
    if ray is None:
        return iter_embed(items, model=model, workers=workers,
                          precision=settings["precision"],
                          audio_stream=settings.get("audio_stream"), **opts)
    return ray.stream(items, model=model, name=name, **opts)
