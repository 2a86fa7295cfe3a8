"""AST as a HEAR module: ``load_model``, ``get_scene_embeddings``, ``get_timestamp_embeddings``.

The common API of the HEAR benchmark (Turian et al., 2022), so that the HEAR evaluation
kit, or anything written for it, can run asttools as a module::

    import asttools.apps.hear as module
    model = module.load_model("MIT/ast-finetuned-audioset-10-10-0.4593")
    scene = module.get_scene_embeddings(audio, model)          # (n, 768)
    emb, ts = module.get_timestamp_embeddings(audio, model)     # (n, T, 768), (n, T) ms

``audio`` is a float32 ``(n, samples)`` tensor at 16 kHz. The embeddings come from
asttools' own pass (:func:`asttools.embed`, :func:`asttools.timestamp_embeddings`), on
the model's device, and are returned float32 on the device of ``audio``.

- **Scene embeddings**: the mean over 10.24 s windows (hop = window, as plain extraction)
  of the mean of the [CLS] and distillation tokens of the final layer
  (``pooling="mean"``, transformers' ``pooler_output``). That is the vector AST's
  AudioSet classifier reads: fine-tuning made it linearly separable for 527 sound
  classes, which is what HEAR's shallow probes on frozen scene embeddings exploit; the
  per-time view of the patch tokens is what the timestamp embeddings give.
- **Timestamp embeddings**: the stitched patch columns of :func:`asttools.timestamp_embeddings`
  (windows every 5.1 s, each step from the window in which it is most central): one
  vector every 100 ms from 87.5 ms, AST's own time resolution. HEAR's validator suggests
  at most 50 ms between timestamps (music transcription's tolerance) and warns above it;
  interpolating to 50 ms would add no information, so asttools does not.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from ..constants import SAMPLE_RATE
from ..errors import ParameterError
from ..run import check_layer, embed
from ..model import load_model as load_ast
from ..run.steps import DEFAULT_HOP_S, check_hop, column_times
from ..timestamps import timestamp_embeddings

__all__ = [
    "HEARModel",
    "get_scene_embeddings",
    "get_timestamp_embeddings",
    "load_model",
]


class HEARModel(torch.nn.Module):
    """An AST wrapped with the attributes HEAR reads.

    Parameters
    ----------
    ast : transformers.ASTForAudioClassification
        From :func:`asttools.load_model`; registered as a submodule, so ``.to(device)``
        moves it.
    layer : int, default -1
        Hidden layer of the timestamp embeddings (-1: the final output).
    hop_s : float, default 5.1
        Seconds between the windows the timestamp embeddings are stitched from
        (:func:`asttools.run.steps.check_hop`).

    Attributes
    ----------
    sample_rate : int
        16000.
    scene_embedding_size, timestamp_embedding_size : int
        The model's hidden size (768 for the AudioSet AST, 64 for ``"tiny-random"``).
    """

    sample_rate: int = SAMPLE_RATE

    def __init__(self, ast, *, layer: int = -1, hop_s: float = DEFAULT_HOP_S):
        super().__init__()
        self.ast = ast
        self.layer = check_layer(layer, ast.config.num_hidden_layers)
        check_hop(hop_s, ast.config)
        self.hop_s = float(hop_s)
        self.scene_embedding_size = int(ast.config.hidden_size)
        self.timestamp_embedding_size = int(ast.config.hidden_size)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The timestamp embeddings (:func:`get_timestamp_embeddings`)."""
        return get_timestamp_embeddings(audio, self)


def load_model(model_file_path: str | os.PathLike = "") -> HEARModel:
    """Load AST for HEAR.

    Parameters
    ----------
    model_file_path : str or PathLike, default ""
        A Hugging Face model id, a local ``save_pretrained`` directory, or
        ``"tiny-random"``; ``""`` loads the default model (``$ASTTOOLS_MODEL`` or the
        AudioSet AST, :data:`asttools.DEFAULT_MODEL`).

    Returns
    -------
    HEARModel
        A ``torch.nn.Module`` with ``sample_rate``, ``scene_embedding_size`` and
        ``timestamp_embedding_size``, on the device :func:`asttools.load_model` chose.

    Raises
    ------
    ModelLoadError
        The weights cannot be had.
    """
    name = os.fsdecode(model_file_path) if model_file_path else None
    return HEARModel(load_ast(name))


def _rows(audio, model: HEARModel) -> list[tuple[np.ndarray, int]]:
    if not isinstance(model, HEARModel):
        raise ParameterError(f"model must come from asttools.apps.hear.load_model, got "
                             f"{type(model).__name__}")
    if not isinstance(audio, torch.Tensor) or audio.ndim != 2:
        shape = tuple(audio.shape) if hasattr(audio, "shape") else type(audio).__name__
        raise ParameterError(f"audio must be a torch tensor of shape (n_sounds, n_samples) "
                             f"at {SAMPLE_RATE} Hz, got {shape}")
    if not audio.is_floating_point():  # HEAR's audio is float in [-1, 1]
        hint = (f"; divide by {2 ** (audio.element_size() * 8 - 1)} first"
                if audio.dtype in (torch.int16, torch.int32, torch.int64) else "")
        raise ParameterError(f"audio must be a floating-point tensor of samples in [-1, 1] "
                             f"(HEAR's API), got {audio.dtype}{hint}")
    x = audio.detach().to("cpu", torch.float32).numpy()
    return [(row, SAMPLE_RATE) for row in x]


def get_scene_embeddings(audio: torch.Tensor, model: HEARModel) -> torch.Tensor:
    """One embedding per sound: the mean over its windows of AST's pooled output.

    Parameters
    ----------
    audio : Tensor, float32, shape (n_sounds, n_samples)
        16 kHz audio in [-1, 1], on any device.
    model : HEARModel

    Returns
    -------
    Tensor, float32, shape (n_sounds, scene_embedding_size)
        On the device of ``audio``.

    Raises
    ------
    ParameterError
        ``audio`` is not a 2-D floating-point tensor (int16, bool or complex samples are
        refused, not reinterpreted), or ``model`` not a :class:`HEARModel`.
    """
    rows = _rows(audio, model)
    if not rows:
        return torch.zeros((0, model.scene_embedding_size), device=audio.device)
    out = embed(rows, model=model.ast, pooling="mean", on_error="raise").clips()
    return torch.from_numpy(out.embeddings).to(audio.device)


def get_timestamp_embeddings(audio: torch.Tensor,
                             model: HEARModel) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings every 100 ms with their timestamps in milliseconds.

    Parameters
    ----------
    audio : Tensor, float32, shape (n_sounds, n_samples)
        16 kHz audio in [-1, 1], on any device.
    model : HEARModel

    Returns
    -------
    embeddings : Tensor, float32, shape (n_sounds, T, timestamp_embedding_size)
        The stitched patch columns (:func:`asttools.timestamp_embeddings`).
    timestamps : Tensor, float32, shape (n_sounds, T)
        Centres of the steps in milliseconds: 87.5, 187.5, …; the last lies before the
        end of the audio. Both on the device of ``audio``.

    Raises
    ------
    ParameterError
        ``audio`` is not a 2-D floating-point tensor, or shorter than one step (1401
        samples: T would be 0), or ``model`` not a :class:`HEARModel`.
    """
    rows = _rows(audio, model)
    d = model.timestamp_embedding_size
    first = float(column_times(model.ast.config)[0])  # 0.0875 s for AST
    least = math.floor(first * SAMPLE_RATE) + 1  # a step's centre inside the audio
    if rows and audio.shape[1] < least:
        raise ParameterError(
            f"audio has {audio.shape[1]} samples per sound; a timestamp embedding needs at "
            f"least {least} (more than {first * 1000:g} ms at {SAMPLE_RATE} Hz, the centre "
            "of the first step): pad the sounds")
    if not rows:
        return (torch.zeros((0, 0, d), device=audio.device),
                torch.zeros((0, 0), device=audio.device))
    res = timestamp_embeddings(rows, model=model.ast, layer=model.layer, hop_s=model.hop_s,
                               on_error="raise")
    padded = res.padded()
    ms = torch.from_numpy(np.nan_to_num(padded.times * 1000.0).astype(np.float32))
    return torch.from_numpy(padded.embeddings).to(audio.device), ms.to(audio.device)
