"""The forward pass: one batch of 16 kHz windows through AST, embeddings and logits out.

:func:`forward` runs one batch (any pooling, any layer); :func:`check_layer` maps a layer
number; :func:`sigmoid` turns logits into probabilities; ``_Rows`` holds one input's
results, one row per window, until all its windows have run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..constants import patch_grid
from ..errors import ParameterError
from ..model.features import fbank
from ..model.precision import prepare_model
from ..settings import check_pooling

__all__ = [
    "check_layer",
    "forward",
    "sigmoid",
]


def check_layer(layer: int, n_layers: int) -> int:
    """Map ``layer`` (negative counts from the end) to ``0..n_layers``.

    Parameters
    ----------
    layer : int
        ``0`` is the patch + position embeddings, ``i`` the output of block ``i``, ``-1``
        (or ``n_layers``) the final output after the last LayerNorm.
    n_layers : int
        The model's ``num_hidden_layers``.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        ``layer`` is not an integer in ``-(n_layers + 1)..n_layers``.

    Examples
    --------
    >>> check_layer(-1, 12), check_layer(0, 12), check_layer(-13, 12)
    (12, 0, 0)
    """
    if not isinstance(layer, (int, np.integer)) or not -(n_layers + 1) <= layer <= n_layers:
        raise ParameterError(
            f"layer={layer!r} is out of range for a model with {n_layers} layers: use "
            f"0..{n_layers} (0 = patch + position embeddings, {n_layers} or -1 = final output)"
        )
    return int(layer) % (n_layers + 1)


def forward(
    model,
    waveforms: torch.Tensor | np.ndarray,
    *,
    lengths: Sequence[int] | None = None,
    pooling: str = "cls",
    layer: int = -1,
    precision: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run AST once on a batch of 16 kHz windows: embeddings and logits from one pass.

    Parameters
    ----------
    model : transformers.ASTForAudioClassification
    waveforms : Tensor or ndarray, shape (batch, n_samples)
        16 kHz mono windows, zero-padded on the right to a common length.
    lengths : sequence of int, shape (batch,), optional
        Valid samples per window (see :func:`asttools.model.features.fbank`).
    pooling : {"cls", "dist", "mean", "patches", "time", "grid"}, default "cls"
    layer : int, default -1
        ``0`` is the patch + position embeddings, ``i`` the output of block ``i``, and
        the last layer (``-1``) the encoder's final output after its LayerNorm — the
        tensor transformers returns as ``last_hidden_state``.
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}, optional
        Run a copy of the model in this precision (:func:`asttools.model.precision.prepare_model`,
        made once per model and precision); default: the model as it is. The fbank is
        computed in float32 and cast to the model's dtype; the outputs are float32.

    Returns
    -------
    embeddings : ndarray, float32, shape (batch, hidden) or (batch, f, t, hidden)
    logits : ndarray, float32, shape (batch, n_labels)
        The classifier's logits on the pooled final output; ``1 / (1 + exp(-logits))``
        are the probabilities.

    Both arrays own their memory (``.base is None``): they are copies, not views into the
    encoder's hidden states, so keeping a (batch, hidden) embedding keeps only its own
    bytes alive, not the (batch, 1214, hidden) tensor it was pooled from.
    """
    check_pooling(pooling)
    if precision is not None:
        model = prepare_model(model, precision)
    cfg = model.config
    layer = check_layer(layer, cfg.num_hidden_layers)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(waveforms).to(device)
    feats = fbank(x, lengths=lengths, num_mel_bins=cfg.num_mel_bins, max_length=cfg.max_length)
    model.eval()
    with torch.inference_mode():
        out = model.audio_spectrogram_transformer(
            feats.to(dtype), output_hidden_states=layer != cfg.num_hidden_layers
        )
        logits = model.classifier(out.pooler_output)
        h = out.last_hidden_state if layer == cfg.num_hidden_layers else out.hidden_states[layer]
        if pooling == "cls":
            emb = h[:, 0]
        elif pooling == "dist":
            emb = h[:, 1]
        elif pooling == "mean":
            emb = (h[:, 0] + h[:, 1]) / 2
        elif pooling == "patches":
            emb = h[:, 2:].mean(dim=1)
        else:
            emb = h[:, 2:].reshape(h.shape[0], *patch_grid(cfg), h.shape[-1])
            if pooling == "time":  # the mean over frequency: one vector per patch column
                emb = emb.mean(dim=1)
    return _owned(emb), _owned(logits)


def _owned(t: torch.Tensor) -> np.ndarray:
    """A float32 C-contiguous numpy copy of ``t`` that shares no memory with torch."""
    return np.array(t.detach().float().cpu().numpy(), dtype=np.float32, order="C", copy=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Probabilities from logits, ``1 / (1 + exp(-x))``, computed in float64, float32 out.

    Examples
    --------
    >>> sigmoid(np.array([0.0, 2.0, -2.0])).round(4)
    array([0.5   , 0.8808, 0.1192], dtype=float32)
    """
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


class _Rows:
    """One input's results, one row per window, in arrays that own their memory.

    Allocated at the first result for ``capacity`` windows (all of them when known), grown
    by doubling when a streamed file, whose windows are counted at its end, has more.
    Complete once ``n``, the number of windows, is set and that many rows have arrived.
    """

    def __init__(self, capacity: int | None):
        self.capacity = capacity or 64
        self.n: int | None = None
        self.done = 0
        self.emb: np.ndarray | None = None
        self.logits: np.ndarray | None = None

    def put(self, k: int, emb: np.ndarray, logits: np.ndarray) -> None:
        if self.emb is None:
            self.emb = np.empty((self.capacity, *emb.shape), np.float32)
            self.logits = np.empty((self.capacity, *logits.shape), np.float32)
        if k >= len(self.emb):
            self.emb, self.logits = (_grown(a, max(2 * len(a), k + 1))
                                     for a in (self.emb, self.logits))
        self.emb[k] = emb  # a copy: nothing keeps the batch's arrays alive
        self.logits[k] = logits
        self.done += 1

    @property
    def complete(self) -> bool:
        return self.n is not None and self.done == self.n

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self.emb) != self.n:
            return self.emb[: self.n].copy(), self.logits[: self.n].copy()
        return self.emb, self.logits


def _grown(a: np.ndarray, rows: int) -> np.ndarray:
    out = np.empty((rows, *a.shape[1:]), a.dtype)
    out[: len(a)] = a
    return out
