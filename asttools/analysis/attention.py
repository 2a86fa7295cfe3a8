"""What AST attends to: attention maps, [CLS] attention over the patch grid, rollout.

transformers runs AST with PyTorch's fused SDPA attention by default, which returns no
attention weights. :func:`attention_maps` switches the model to the eager implementation
for the one call that needs the weights and switches it back afterwards.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import torch

from ..audio import check_waveform, load_audio, resample
from ..constants import FRAME_SHIFT, PATCH_GRID, SAMPLE_RATE, patch_grid
from ..errors import ParameterError
from ..model.features import fbank

__all__ = ["attention_maps", "attention_rollout", "cls_attention", "position_similarity"]

HEAD_REDUCTIONS = ("mean", "max", None)


@contextmanager
def _eager_attention(model):
    previous = getattr(model.config, "_attn_implementation", None) or "sdpa"
    setter = getattr(model, "set_attn_implementation", None)
    try:
        if setter is not None:
            setter("eager")
        else:  # older transformers
            model.config._attn_implementation = "eager"
        yield
    finally:
        if setter is not None:
            setter(previous)
        else:
            model.config._attn_implementation = previous


def attention_maps(
    model,
    audio: str | os.PathLike | np.ndarray,
    *,
    sr: int | None = None,
    start_s: float = 0.0,
    heads: str | None = "mean",
) -> np.ndarray:
    """Self-attention weights of every layer for one 10.24 s window.

    Parameters
    ----------
    model : transformers.ASTForAudioClassification
    audio : path or ndarray
        A file (loaded with :func:`asttools.load_audio`) or a waveform with ``sr``.
    sr : int, optional
        Sample rate of an array input.
    start_s : float, default 0.0
        Where the window starts in the clip.
    heads : {"mean", "max", None}, default "mean"
        Combine the heads of each layer, or keep them (``None``; 12 × 12 × 1214² floats
        for the full model, about 850 MB).

    Returns
    -------
    ndarray, float32, shape (layers, tokens, tokens) or (layers, heads, tokens, tokens)
        Row ``i`` is how token ``i`` attends to every token; token 0 is [CLS], token 1
        the distillation token, tokens 2.. the patches in frequency-major order
        (``2 + f * n_time + t``).
    """
    if heads not in HEAD_REDUCTIONS:
        raise ParameterError(f"heads={heads!r} is not one of {HEAD_REDUCTIONS}")
    if isinstance(audio, (str, os.PathLike)):
        wav, _ = load_audio(audio, sr=SAMPLE_RATE)
    else:
        if sr is None:
            raise ParameterError("audio is an array: give its sample rate with sr=...")
        wav = resample(check_waveform(audio, sr), int(sr), SAMPLE_RATE)
    start = int(round(start_s * SAMPLE_RATE))
    if not 0 <= start < max(len(wav), 1):
        raise ParameterError(
            f"start_s={start_s!r} is outside the clip (0 to {len(wav) / SAMPLE_RATE:.2f} s)"
        )
    window = wav[start : start + model.config.max_length * FRAME_SHIFT]
    param = next(model.parameters())
    x = fbank(torch.from_numpy(np.ascontiguousarray(window)).to(param.device),
              num_mel_bins=model.config.num_mel_bins, max_length=model.config.max_length)
    model.eval()
    with _eager_attention(model), torch.inference_mode():
        out = model.audio_spectrogram_transformer(x.to(param.dtype), output_attentions=True)
    attn = torch.stack([a[0].float() for a in out.attentions])  # (layers, heads, T, T)
    if heads == "mean":
        attn = attn.mean(dim=1)
    elif heads == "max":
        attn = attn.amax(dim=1)
    return attn.cpu().numpy()


def cls_attention(attn: np.ndarray, *, grid: tuple[int, int] = PATCH_GRID) -> np.ndarray:
    """How [CLS] attends to the patches, per layer, on the (frequency, time) grid.

    Parameters
    ----------
    attn : ndarray, shape (layers, tokens, tokens)
        From :func:`attention_maps` with heads combined.
    grid : (int, int), default (12, 101)
        Patches along frequency and time.

    Returns
    -------
    ndarray, float32, shape (layers, grid[0], grid[1])
        Row 0 of each layer's attention without the two special tokens. Rows do not
        sum to one: the rest went to [CLS] and the distillation token.
    """
    attn = np.asarray(attn)
    n = grid[0] * grid[1] + 2
    if attn.ndim != 3 or attn.shape[1:] != (n, n):
        raise ParameterError(
            f"attn must have shape (layers, {grid[0] * grid[1] + 2}, {grid[0] * grid[1] + 2}) "
            f"for a {grid} patch grid, got {attn.shape}"
        )
    return attn[:, 0, 2:].reshape(attn.shape[0], *grid).astype(np.float32)


def attention_rollout(
    attn: np.ndarray, *, grid: tuple[int, int] = (12, 101), residual: float = 0.5
) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020): [CLS]'s attention through all layers.

    Each layer's head-averaged attention ``A`` is mixed with the identity for the
    residual connection, ``Â = residual · I + (1 - residual) · A``, rows renormalised,
    and the layers multiplied from the first to the last; the [CLS] row of the product,
    over the patches, is returned.

    Parameters
    ----------
    attn : ndarray, shape (layers, tokens, tokens)
    grid : (int, int), default (12, 101)
    residual : float, default 0.5

    Returns
    -------
    ndarray, float32, shape (grid[0], grid[1])
    """
    attn = np.asarray(attn, dtype=np.float64)
    cls_attention(attn[:1], grid=grid)  # validates the shape
    n = attn.shape[-1]
    rollout = np.eye(n)
    for layer in attn:
        mixed = residual * np.eye(n) + (1.0 - residual) * layer
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout[0, 2:].reshape(grid).astype(np.float32)


def position_similarity(model) -> np.ndarray:
    """Cosine similarity between the learned position embeddings of the patches.

    As in the ViT paper's figure: for each patch, how similar its position embedding
    is to every other patch's.

    Parameters
    ----------
    model : transformers.ASTForAudioClassification

    Returns
    -------
    ndarray, float32, shape (f, t, f, t)
        ``sim[i, j]`` is the (f, t) map of patch (i, j)'s similarity to all patches.
    """
    f, t = patch_grid(model.config)
    emb = model.audio_spectrogram_transformer.embeddings.position_embeddings
    pos = emb.detach()[0, 2:].float().cpu()
    pos = torch.nn.functional.normalize(pos, dim=-1)
    sim = (pos @ pos.T).numpy()
    return sim.reshape(f, t, f, t).astype(np.float32)
