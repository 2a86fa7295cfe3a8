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
4. frames padded with zeros to ``max_length`` (1024 frames, 10.24 s). Audio longer than
   that is refused, never cut: transformers' extractor truncates it silently, asttools
   cuts long clips into windows first (:func:`window_bounds`);
5. normalised with AudioSet's statistics as ``(x - mean) / (2 std)``. Padding happens
   before normalisation, exactly as in transformers, so a padded frame holds
   ``-mean / (2 std) ≈ 0.467``.

Window settings are checked in one place, :func:`check_windows`: a window no longer than
the model's input (``max_length`` frames of 10 ms), at least one fbank frame long, a hop
from one frame step (10 ms) up to the window (no gaps), and at most
:data:`MAX_WINDOWS_PER_CLIP` windows per clip.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..constants import (
    AUDIOSET_MEAN,
    AUDIOSET_STD,
    FRAME_LENGTH,
    FRAME_SHIFT,
    MAX_LENGTH,
    NUM_MEL_BINS,
    SAMPLE_RATE,
    WINDOW_S,
)
from ..errors import ParameterError
from ..settings import check_windows

__all__ = [
    "MAX_WINDOWS_PER_CLIP",
    "fbank",
    "n_frames",
    "window_bounds",
]

#: Most windows one clip may be cut into: 284 h of audio at the default hop, 1,000 s at the
#: 10 ms minimum; about 0.5 GB of results (768 + 527 float32 per window) held for that clip
#: until its last window is done. A clip that would need more fails, alone, with a reason.
MAX_WINDOWS_PER_CLIP = 100_000
N_FFT = 512
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
    checks 1e-4), computed in float64 internally and returned as float32. Unlike that
    extractor it never truncates: audio longer than ``max_length`` frames is refused (cut
    it into windows with :func:`window_bounds` first, as :func:`asttools.embed` does).

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
        Frames to pad to. Padding frames beyond it are dropped; audio frames never are.
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
        For input that is not 1-D or 2-D, a length outside ``[0, n_samples]``, or an item
        whose valid samples make more than ``max_length`` frames (more than 10.24 s for
        the default; ``1 + (n - 400) // 160`` frames for ``n`` samples).

    Examples
    --------
    >>> import torch
    >>> from asttools.model.features import fbank
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
    valid_frames = [max(n_frames(int(n)), 1) for n in lens]
    longest = max(valid_frames, default=0)
    if longest > max_length:
        seconds = int(lens.max()) / SAMPLE_RATE
        raise ParameterError(
            f"waveforms hold up to {longest} frames ({seconds:.2f} s of audio), more than "
            f"max_length={max_length} ({max_length * FRAME_SHIFT / SAMPLE_RATE:g} s): fbank "
            "does not truncate. Cut the audio into windows of at most that length first "
            "(asttools.model.features.window_bounds, as asttools.embed does), or slice the part "
            "you want"
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

    valid = torch.tensor(valid_frames, device=device)
    frame_idx = torch.arange(feats.shape[1], device=device)
    feats = feats * (frame_idx[None, :] < valid[:, None]).unsqueeze(-1)
    if feats.shape[1] >= max_length:  # only padding lies past max_length (checked above)
        feats = feats[:, :max_length]
    else:
        feats = torch.nn.functional.pad(feats, (0, 0, 0, max_length - feats.shape[1]))
    if normalize:
        feats = (feats - mean) / (2.0 * std)
    return feats.to(torch.float32)


# --------------------------------------------------------------------------- windows


def window_bounds(
    n_samples: int,
    *,
    sr: int = SAMPLE_RATE,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    max_length: int = MAX_LENGTH,
    max_windows: int | None = None,
) -> list[tuple[int, int]]:
    """Start and end samples of the analysis windows that cover a clip.

    A clip no longer than one window is one window (padded by :func:`fbank` as AST was
    trained). A longer clip is cut into windows every ``hop_s`` seconds until the whole
    clip is covered; the last window may be shorter and is padded. Nothing is dropped:
    the settings are checked by :func:`check_windows` (no window longer than the model's
    input, no hop longer than the window).

    Parameters
    ----------
    n_samples : int
        Length of the clip.
    sr : int, default 16000
    window_s : float, default 10.24
        Window length in seconds (10.24 s is AST's 1024 frames, and the longest allowed).
    hop_s : float, optional
        Seconds between window starts; default ``window_s`` (no overlap).
    max_length : int, default 1024
        Frames of the model's input.
    max_windows : int, optional
        Most windows the clip may make; default :data:`MAX_WINDOWS_PER_CLIP` (100,000).

    Returns
    -------
    list of (int, int)
        ``(start, end)`` sample indices, ``end <= n_samples``.

    Raises
    ------
    ParameterError
        Settings :func:`check_windows` refuses, or a clip that would make more than
        ``max_windows`` windows.

    Examples
    --------
    >>> from asttools.model.features import window_bounds
    >>> len(window_bounds(30 * 16000))
    3
    """
    win, hop = check_windows(window_s, hop_s, max_length=max_length, sr=sr, warn=False)
    if n_samples <= win:
        return [(0, n_samples)]
    count = math.ceil((n_samples - win) / hop) + 1
    limit = MAX_WINDOWS_PER_CLIP if max_windows is None else max_windows
    if count > limit:
        raise ParameterError(
            f"{n_samples / sr:,.1f} s of audio in windows of {window_s:g} s every "
            f"{hop / sr:g} s makes {count:,} windows, more than the limit of {limit:,} per "
            "clip (asttools.model.features.MAX_WINDOWS_PER_CLIP): use a larger hop (hop_s; --hop "
            "on the command line) or split the recording"
        )
    return [(i * hop, min(i * hop + win, n_samples)) for i in range(count)]
