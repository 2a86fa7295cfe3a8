"""AST's input features: Kaldi-compatible log-mel filter banks, in torch, batched.

This reproduces what AST was trained on (``torchaudio.compliance.kaldi.fbank`` with a
Hanning window, as used by the original AST code and by transformers'
``ASTFeatureExtractor``) and works on whatever device the waveforms are on:

1. frames of 25 ms (400 samples) every 10 ms (160 samples), no padding at the edges
   (Kaldi's ``snip_edges``), so ``n_frames = 1 + (n_samples - 400) // 160``;
2. per frame: DC offset removed, pre-emphasis ``x[t] - 0.97 x[t-1]`` (the first sample
   uses itself), a symmetric Hanning window, zero-padded to 512 and a power spectrum;
3. 128 triangular filters equally spaced on Kaldi's mel scale ``1127 ln(1 + f / 700)``
   from 20 Hz to 8 kHz, then ``log(max(energy, float32 eps))``;
4. frames padded with zeros (or truncated) to ``max_length`` (1024 frames, 10.24 s);
5. normalised with AudioSet's statistics as ``(x - mean) / (2 std)``. Padding happens
   before normalisation, exactly as in transformers, so a padded frame holds
   ``-mean / (2 std) ≈ 0.467``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .errors import ParameterError

__all__ = [
    "AUDIOSET_MEAN",
    "AUDIOSET_STD",
    "FRAME_LENGTH",
    "FRAME_SHIFT",
    "MAX_LENGTH",
    "NUM_MEL_BINS",
    "fbank",
    "n_frames",
    "window_bounds",
]

SAMPLE_RATE = 16000
#: Samples per analysis frame (25 ms at 16 kHz).
FRAME_LENGTH = 400
#: Samples between frames (10 ms at 16 kHz).
FRAME_SHIFT = 160
N_FFT = 512
#: Mel bins of AST's input.
NUM_MEL_BINS = 128
#: Frames of AST's input (10.24 s).
MAX_LENGTH = 1024
#: AudioSet normalisation statistics used by the AST checkpoints.
AUDIOSET_MEAN = -4.2677393
AUDIOSET_STD = 4.5689974
LOW_FREQ = 20.0
PREEMPHASIS = 0.97
_EPS = float(np.finfo(np.float32).eps)


def n_frames(n_samples: int) -> int:
    """Number of Kaldi frames (``snip_edges``) in ``n_samples`` samples at 16 kHz.

    Parameters
    ----------
    n_samples : int

    Returns
    -------
    int
        ``1 + (n_samples - 400) // 160``, or 0 when shorter than one frame.
    """
    if n_samples < FRAME_LENGTH:
        return 0
    return 1 + (n_samples - FRAME_LENGTH) // FRAME_SHIFT


def _mel(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(freq / 700.0)


def _mel_banks(num_bins: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Kaldi's triangular mel filters, shape (N_FFT // 2 + 1, num_bins); Nyquist row zero."""
    n_fft_bins = N_FFT // 2
    mel_low = _mel(torch.tensor(LOW_FREQ, dtype=torch.float64))
    mel_high = _mel(torch.tensor(SAMPLE_RATE / 2, dtype=torch.float64))
    delta = (mel_high - mel_low) / (num_bins + 1)
    b = torch.arange(num_bins, dtype=torch.float64).unsqueeze(1)
    left, center, right = mel_low + b * delta, mel_low + (b + 1) * delta, mel_low + (b + 2) * delta
    mel = _mel(SAMPLE_RATE / N_FFT * torch.arange(n_fft_bins, dtype=torch.float64)).unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)  # (num_bins, 256)
    banks = torch.nn.functional.pad(banks, (0, 1))  # the Nyquist bin gets no weight
    return banks.T.contiguous().to(dtype=dtype, device=device)


def fbank(
    waveforms: torch.Tensor | np.ndarray,
    *,
    lengths: torch.Tensor | np.ndarray | list[int] | None = None,
    num_mel_bins: int = NUM_MEL_BINS,
    max_length: int = MAX_LENGTH,
    normalize: bool = True,
    mean: float = AUDIOSET_MEAN,
    std: float = AUDIOSET_STD,
) -> torch.Tensor:
    """AST's input: normalised Kaldi log-mel filter banks of 16 kHz waveforms.

    Agrees with transformers' ``ASTFeatureExtractor`` to about 1e-5 (the test suite
    checks 1e-4), computed in float64 internally and returned as float32.

    Parameters
    ----------
    waveforms : Tensor or ndarray, shape (batch, n_samples) or (n_samples,)
        Mono audio at 16 kHz, float in [-1, 1]. Items of different lengths are passed
        zero-padded on the right together with ``lengths``.
    lengths : sequence of int, shape (batch,), optional
        Valid samples of each item; frames past an item's end are treated as padding
        (zeros before normalisation), as transformers pads short clips. Default: all
        ``n_samples``.
    num_mel_bins : int, default 128
    max_length : int, default 1024
        Frames to pad or truncate to.
    normalize : bool, default True
        Apply ``(x - mean) / (2 * std)``.
    mean, std : float
        Normalisation statistics (AudioSet's by default).

    Returns
    -------
    Tensor, shape (batch, max_length, num_mel_bins), float32
        On the device of ``waveforms``. A 1-D input gives a batch of one.

    Raises
    ------
    ParameterError
        For input that is not 1-D or 2-D, or a length outside ``[0, n_samples]``.

    Examples
    --------
    >>> import torch
    >>> from asttools.features import fbank
    >>> fbank(torch.zeros(2, 16000)).shape
    torch.Size([2, 1024, 128])
    """
    x = torch.as_tensor(waveforms)
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2:
        raise ParameterError(
            f"waveforms must have shape (batch, n_samples) or (n_samples,), got {tuple(x.shape)}"
        )
    batch, n_samples = x.shape
    if lengths is None:
        lens = torch.full((batch,), n_samples, dtype=torch.long)
    else:
        lens = torch.as_tensor(lengths, dtype=torch.long).reshape(-1).cpu()
        if lens.numel() != batch or bool((lens < 0).any()) or bool((lens > n_samples).any()):
            raise ParameterError(
                f"lengths must hold {batch} values in [0, {n_samples}], got {lens.tolist()}"
            )
    device = x.device
    x = x.to(torch.float64)
    if n_samples < FRAME_LENGTH:  # Kaldi needs one whole frame; pad, then mark as short
        x = torch.nn.functional.pad(x, (0, FRAME_LENGTH - n_samples))
    frames = x.unfold(-1, FRAME_LENGTH, FRAME_SHIFT)  # (batch, n_frames, 400)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    frames = frames - PREEMPHASIS * previous
    window = torch.hann_window(FRAME_LENGTH, periodic=False, dtype=torch.float64, device=device)
    spectrum = torch.fft.rfft(frames * window, n=N_FFT).abs().pow(2)  # (batch, n_frames, 257)
    banks = _mel_banks(num_mel_bins, dtype=torch.float64, device=device)
    feats = torch.log(torch.clamp(spectrum @ banks, min=_EPS))

    valid = torch.tensor([max(n_frames(int(n)), 1) for n in lens], device=device)
    frame_idx = torch.arange(feats.shape[1], device=device)
    feats = feats * (frame_idx[None, :] < valid[:, None]).unsqueeze(-1)
    if feats.shape[1] >= max_length:
        feats = feats[:, :max_length]
    else:
        feats = torch.nn.functional.pad(feats, (0, 0, 0, max_length - feats.shape[1]))
    if normalize:
        feats = (feats - mean) / (2.0 * std)
    return feats.to(torch.float32)


def window_bounds(
    n_samples: int, *, sr: int = SAMPLE_RATE, window_s: float = 10.24, hop_s: float | None = None
) -> list[tuple[int, int]]:
    """Start and end samples of the analysis windows that cover a clip.

    A clip no longer than one window is one window (padded by :func:`fbank` as AST was
    trained). A longer clip is cut into windows every ``hop_s`` seconds until the whole
    clip is covered; the last window may be shorter and is padded. Nothing is dropped.

    Parameters
    ----------
    n_samples : int
        Length of the clip.
    sr : int, default 16000
    window_s : float, default 10.24
        Window length in seconds (10.24 s is AST's 1024 frames).
    hop_s : float, optional
        Seconds between window starts; default ``window_s`` (no overlap).

    Returns
    -------
    list of (int, int)
        ``(start, end)`` sample indices, ``end <= n_samples``.

    Examples
    --------
    >>> from asttools.features import window_bounds
    >>> len(window_bounds(30 * 16000))
    3
    """
    hop_s = window_s if hop_s is None else hop_s
    if not window_s > 0:
        raise ParameterError(f"window_s must be > 0 seconds, got {window_s!r}")
    if not 0 < hop_s:
        raise ParameterError(f"hop_s must be > 0 seconds, got {hop_s!r}")
    win = int(round(window_s * sr))
    hop = int(round(hop_s * sr))
    if n_samples <= win:
        return [(0, n_samples)]
    count = math.ceil((n_samples - win) / hop) + 1
    return [(i * hop, min(i * hop + win, n_samples)) for i in range(count)]
