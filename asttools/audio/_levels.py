"""Signal levels and the warnings about bad-but-usable audio: silence, short clips, low rates.

Silence has one definition, :func:`is_silent` (peak below :data:`SILENCE_PEAK_DBFS` or RMS
below :data:`SILENCE_RMS_DBFS`), behind the "is silent" warning of every decoding and
checking function of :mod:`asttools.audio` and behind the ``"silent"`` audio status; the
same warnings name clips shorter than one AST patch (:data:`MIN_SAMPLES`) and files whose
own rate is below :data:`LOW_RATE_HZ`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..constants import FRAME_LENGTH, FRAME_SHIFT, PATCH_SIZE, SAMPLE_RATE
from ..errors import ASTToolsWarning, ParameterError

__all__ = [
    "LOW_RATE_HZ",
    "MIN_SAMPLES",
    "SILENCE_PEAK_DBFS",
    "SILENCE_RMS_DBFS",
    "audio_level",
    "is_silent",
]

MIN_SAMPLES = FRAME_LENGTH + (PATCH_SIZE - 1) * FRAME_SHIFT
"""Samples at 16 kHz in one AST patch along time (16 fbank frames of 25 ms every 10 ms):
2800 samples, 0.175 s. Shorter clips are padded by the feature extractor and warn here."""

SILENCE_PEAK_DBFS = -80.0
"""A waveform whose peak is below this many dBFS is silent (:func:`is_silent`).

dBFS here is ``20 * log10(level)`` with full scale 1.0. -80 dBFS is an amplitude of 1e-4,
about 3 LSB of 16-bit PCM (1 LSB = 2**-15 = -90.3 dBFS): a track whose loudest sample is
within a few quantisation steps of zero holds only dither or rounding noise, whatever its
format. It replaces asttools' earlier threshold, a peak of 1e-6 (-120 dBFS), which is 30 dB
below 16-bit PCM's smallest step, so dithered 16-bit silence passed as sound. For
comparison, the bundled video clips with an ordinary track peak at -22 to -3 dBFS (RMS -32
to -19 dBFS).
"""

SILENCE_RMS_DBFS = -90.0
"""A waveform whose RMS is below this many dBFS is silent (:func:`is_silent`).

-90 dBFS is an RMS of 3.2e-5, about 1 LSB of 16-bit PCM; TPDF dither alone measures about
-96 dBFS. It catches what the peak misses: a dead track with a stray click or a single
non-zero sample. RMS is taken as ``sqrt(mean(x**2))`` over all samples (and channels), so a
full-scale sine measures -3.01 dBFS (AES17 would call it 0).
"""

#: Below this native sample rate (Hz) a file gets a warning naming its rate: telephone
#: speech is 8 kHz; a rate of a few Hz is a broken or mislabelled header.
LOW_RATE_HZ = 4000

_MIN_SECONDS = MIN_SAMPLES / SAMPLE_RATE
_SILENCE_PEAK = 10.0 ** (SILENCE_PEAK_DBFS / 20.0)
_SILENCE_RMS = 10.0 ** (SILENCE_RMS_DBFS / 20.0)
# Samples squared and summed at a time in float64 (bounded memory for long waveforms).
_LEVEL_CHUNK = 1 << 18


def audio_level(wav: np.ndarray) -> tuple[float, float]:
    """Peak and RMS level of a waveform in dBFS (full scale 1.0).

    Parameters
    ----------
    wav : array_like, float, shape (n_samples,) or (n_channels, n_samples)
        Samples nominally in [-1, 1]; every channel counts.

    Returns
    -------
    peak_dbfs : float
        ``20 * log10(max |x|)``; ``-inf`` for digital silence (all zeros) or no samples.
    rms_dbfs : float
        ``20 * log10(sqrt(mean(x**2)))`` over all samples and channels; ``-inf`` likewise.
        A full-scale sine measures -3.01 dBFS.

    Raises
    ------
    ParameterError
        ``wav`` does not hold floating-point samples (integer PCM has no agreed full
        scale here: divide by it first).

    See Also
    --------
    is_silent : the thresholds applied to these two numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.audio import audio_level
    >>> t = np.arange(16000) / 16000
    >>> [round(v, 2) for v in audio_level(0.1 * np.sin(2 * np.pi * 440 * t))]
    [-20.0, -23.01]
    >>> audio_level(np.zeros(16000, np.float32))
    (-inf, -inf)
    """
    arr = np.asarray(wav)
    if arr.dtype.kind != "f":
        raise ParameterError(
            f"wav must hold float samples in [-1, 1], got dtype {arr.dtype}"
            + (f"; divide by {2 ** (8 * arr.dtype.itemsize - 1)} first"
               if arr.dtype.kind in "iu" else "")
        )
    peak, rms = _peak_and_rms(arr)
    return _dbfs(peak), _dbfs(rms)


def is_silent(wav: np.ndarray) -> bool:
    """Whether a waveform is silent: its peak or its RMS below the silence thresholds.

    The definition behind the "is silent" warning of :func:`load_audio`,
    :func:`check_waveform` and :func:`stream_audio`, and behind the ``"silent"`` audio
    status (:data:`~asttools.errors.AUDIO_STATUSES`).

    Parameters
    ----------
    wav : array_like, float, shape (n_samples,) or (n_channels, n_samples)
        Samples nominally in [-1, 1].

    Returns
    -------
    bool
        True when the peak is below :data:`SILENCE_PEAK_DBFS` (-80 dBFS) or the RMS below
        :data:`SILENCE_RMS_DBFS` (-90 dBFS), as :func:`audio_level` measures them; True for
        digital zeros and for no samples.

    Raises
    ------
    ParameterError
        ``wav`` does not hold floating-point samples.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.audio import is_silent
    >>> noise = np.random.default_rng(0).standard_normal(16000)
    >>> is_silent(1e-5 * noise), is_silent(1e-3 * noise)  # RMS -100 and -60 dBFS
    (True, False)
    """
    peak_dbfs, rms_dbfs = audio_level(wav)
    return bool(peak_dbfs < SILENCE_PEAK_DBFS or rms_dbfs < SILENCE_RMS_DBFS)

# ----------------------------------------------------------------------------------------
# Levels and warnings shared by files, streams and arrays


def _peak_and_sumsq(wav: np.ndarray) -> tuple[float, float]:
    """The largest absolute sample and the sum of squared samples (float64), over all
    channels, without an ``|wav|`` or ``wav**2`` copy of the whole array."""
    flat = wav.reshape(-1)
    if flat.size == 0:
        return 0.0, 0.0
    peak = float(max(np.max(flat), -np.min(flat)))
    sumsq = 0.0
    for i in range(0, flat.size, _LEVEL_CHUNK):
        chunk = flat[i : i + _LEVEL_CHUNK].astype(np.float64)
        sumsq += float(np.dot(chunk, chunk))
    return peak, sumsq


def _peak_and_rms(wav: np.ndarray) -> tuple[float, float]:
    """The largest absolute sample and the RMS over all samples and channels (linear)."""
    peak, sumsq = _peak_and_sumsq(wav)
    return peak, math.sqrt(sumsq / wav.size) if wav.size else 0.0


def _dbfs(level: float) -> float:
    return 20.0 * math.log10(level) if level > 0 else -math.inf


def _warn_if_low_rate(name: str, rate: int, *, stacklevel: int) -> None:
    """Warn that a file's own sample rate is below :data:`LOW_RATE_HZ`: its samples are
    taken at their stated rate, however unlikely (a 1 Hz WAV of 1000 samples is 1000 s)."""
    if rate < LOW_RATE_HZ:
        warnings.warn(
            f"{name}: its sample rate is {rate} Hz, far below {LOW_RATE_HZ} Hz (AST hears "
            f"16 kHz audio): its samples are taken as "
            f"{rate} per second and resampled; check the file's header if that is wrong",
            ASTToolsWarning, stacklevel=stacklevel + 1)


def _warn_if_unusual(name: str, sr: int, peak: float, rms: float, *, n_samples: int,
                     stacklevel: int) -> None:
    """Warn about silence (:func:`is_silent`'s definition: linear ``peak`` and ``rms``) and
    clips shorter than a patch (``n_samples`` at ``sr``)."""
    if peak < _SILENCE_PEAK or rms < _SILENCE_RMS:
        warnings.warn(
            f"{name}: is silent (peak {_dbfs(peak):.1f} dBFS, RMS {_dbfs(rms):.1f} dBFS; "
            f"silent below {SILENCE_PEAK_DBFS:g} dBFS peak or {SILENCE_RMS_DBFS:g} dBFS RMS)",
            ASTToolsWarning,
            stacklevel=stacklevel,
        )
    seconds = n_samples / sr
    if seconds < _MIN_SECONDS:
        warnings.warn(
            f"{name}: is {seconds:.3f} s long, shorter than one AST patch "
            f"({_MIN_SECONDS:.3f} s); it will be padded",
            ASTToolsWarning,
            stacklevel=stacklevel,
        )
