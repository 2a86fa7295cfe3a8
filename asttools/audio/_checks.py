"""Checks shared by the audio functions: sample rates, seconds, stream numbers, files, arrays.

Each raises :class:`~asttools.errors.ParameterError` for a bad argument or
:class:`~asttools.errors.AudioError` (with its ``status``) for a bad file or waveform,
naming it and the reason; :func:`check_waveform` gives an in-memory waveform the checks
and warnings :func:`~asttools.audio.load_audio` gives a decoded file.
"""

from __future__ import annotations

import math
import numbers
import os
import stat

import numpy as np

from ..errors import AudioError, ParameterError
from ._levels import _peak_and_rms, _warn_if_unusual

__all__ = [
    "check_audio_stream",
    "check_sample_rate",
    "check_waveform",
]


def check_sample_rate(sr: object, *, name: str = "sr") -> int:
    """Check that a sample rate is a positive integer, as every function here needs.

    A rate is never rounded or truncated: 44100.5 is refused, not read as 44100 (a
    truncated rate makes audio play at the wrong speed, silently).

    Parameters
    ----------
    sr : int
        A rate in Hz: a Python or numpy integer.
    name : str, default "sr"
        How the message names it, e.g. ``"input 3: sr"``.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        ``sr`` is not an integer (a float, even 16000.0, a bool, None) or is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.audio import check_sample_rate
    >>> check_sample_rate(np.int64(44100))
    44100
    """
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or sr <= 0:
        hint = ""
        if isinstance(sr, numbers.Real) and not isinstance(sr, bool) and math.isfinite(sr) \
                and sr > 0:
            hint = (f"; pass it as an int ({int(sr)})" if float(sr).is_integer() else
                    "; sample rates are never rounded: give the exact rate of the samples "
                    "in whole Hz")
        raise ParameterError(f"{name} must be a positive integer (Hz), got {sr!r}{hint}")
    return int(sr)

def _check_seconds(value: object, what: str, *, allow_zero: bool) -> float:
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{what} must be a finite number of seconds {bound}, got {value!r}")
    return float(value)


def _check_file(path: str | os.PathLike) -> tuple[str, bytes]:
    """Return the path as str and its first bytes, or raise AudioError saying why not."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise ParameterError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    name = os.fsdecode(path)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise AudioError(name, "file not found", status="unreadable") from None
    except ValueError as e:  # an embedded NUL byte
        raise AudioError(name, f"is not a valid path ({e})", status="unreadable") from None
    except PermissionError:
        raise AudioError(name, "permission denied", status="unreadable") from None
    except OSError as e:
        raise AudioError(name, f"cannot be read ({e.strerror or e})",
                         status="unreadable") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError(name, "is a directory, not an audio file", status="unreadable")
    if not stat.S_ISREG(st.st_mode):
        raise AudioError(name, "is not a regular file (a pipe, socket or device?)",
                         status="unreadable")
    if st.st_size == 0:
        raise AudioError(name, "file is empty (0 bytes)", status="decode_error")
    try:
        with open(name, "rb") as f:
            head = f.read(16)
    except PermissionError:
        raise AudioError(name, "permission denied", status="unreadable") from None
    except OSError as e:
        raise AudioError(name, f"cannot be read ({e.strerror or e})",
                         status="unreadable") from None
    return name, head


def check_audio_stream(audio_stream: object, *, name: str = "audio_stream") -> int | None:
    """``audio_stream`` checked: None, or an integer >= 0.

    Examples
    --------
    >>> check_audio_stream(None), check_audio_stream(1)
    (None, 1)
    """
    if audio_stream is None:
        return None
    if isinstance(audio_stream, bool) or not isinstance(audio_stream, numbers.Integral) \
            or audio_stream < 0:
        raise ParameterError(f"{name} must be None or an integer >= 0 (an audio stream's "
                             f"number, from 0), got {audio_stream!r}")
    return int(audio_stream)


def _pick_stream(name: str, audio: list, index: int | None):
    """The audio stream asked for (the first by default), or an AudioError naming the file
    and how many it has."""
    i = 0 if index is None else index
    if i >= len(audio):
        n = len(audio)
        raise AudioError(name, f"audio_stream={i} asked for, but the file has {n} audio "
                         f"stream{'s' if n != 1 else ''} (0 to {n - 1})", status="error")
    return audio[i]


def check_waveform(wav: np.ndarray, sr: int, *, name: str = "<array>") -> np.ndarray:
    """Validate an in-memory waveform and downmix it to mono float32.

    The checks are those :func:`load_audio` applies to a decoded file.

    Parameters
    ----------
    wav : array_like, shape (n_samples,) or (n_channels, n_samples)
        Floating-point samples, nominally in [-1, 1]. A 2-D array is averaged over its
        channels (the first axis).
    sr : int
        Its sample rate in Hz.
    name : str, default "<array>"
        How messages name this input, e.g. ``"<array 3>"``.

    Returns
    -------
    numpy.ndarray, float32, shape (n_samples,)
        The mono waveform, still at ``sr`` (see :func:`resample`).

    Raises
    ------
    AudioError
        The array is empty, not 1-D or 2-D, has more channels than samples (likely
        ``(n_samples, n_channels)``: pass ``wav.T``), is not floating point, or holds
        NaN or Inf.
    ParameterError
        ``sr`` is not a positive integer.

    Warns
    -----
    ASTToolsWarning
        The waveform is silent or shorter than one AST patch (0.175 s).

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.audio import check_waveform
    >>> stereo = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 16000))
    >>> check_waveform(stereo, 16000).shape
    (16000,)
    """
    sr = check_sample_rate(sr, name="sr")
    arr = np.asarray(wav)
    if arr.dtype.kind in "iu":
        raise AudioError(
            name,
            f"has integer samples ({arr.dtype}); convert them to float in [-1, 1] first, "
            f"e.g. wav / {2 ** (8 * arr.dtype.itemsize - 1)}",
            status="error",
        )
    if arr.dtype.kind != "f":
        raise AudioError(name, f"is not an array of real samples (dtype {arr.dtype})",
                         status="error")
    if arr.ndim not in (1, 2):
        raise AudioError(
            name, f"must be 1-D (samples,) or 2-D (channels, samples), got shape {arr.shape}",
            status="error",
        )
    if arr.size == 0:
        raise AudioError(name, "contains no audio samples", status="decode_error")
    if arr.ndim == 2:
        if arr.shape[0] > arr.shape[1]:
            raise AudioError(
                name,
                f"has shape {arr.shape}: more channels than samples; asttools expects "
                "(channels, samples), so pass wav.T if it is (samples, channels)",
                status="error",
            )
        arr = arr.mean(axis=0, dtype=np.float64 if arr.dtype == np.float64 else np.float32)
    if not np.isfinite(arr).all():
        raise AudioError(name, "contains NaN or Inf samples", status="decode_error")
    out = np.ascontiguousarray(arr, dtype=np.float32)
    _warn_if_unusual(name, sr, *_peak_and_rms(out), n_samples=out.shape[-1], stacklevel=3)
    return out
