"""The audio front end: decode a file, downmix it, resample it to 16 kHz.

Every waveform asttools hands to the feature extractor comes through here, so that all
formats are downmixed and resampled the same way:

- soundfile (libsndfile) decodes WAV, FLAC, OGG/Vorbis, OGG/Opus, AIFF and AU;
- PyAV (FFmpeg) decodes MP3, m4a/AAC, the audio track of video containers (mp4, mkv,
  webm, avi, mov), and anything with an audio extension that soundfile cannot open.
  MP3 goes to PyAV because libsndfile 1.2 takes an MP3's length from its header and
  stops there: a VBR file without a Xing header came back at a fifth of its length;
- channels are averaged (or one is picked) explicitly, and the rate is changed with soxr at
  its "HQ" quality, never by passing a wrong rate along.

Bad input raises :class:`~asttools.errors.AudioError` naming the file and the reason, with
a ``status`` saying what kind of failure it is (:data:`~asttools.errors.AUDIO_STATUSES`:
``unreadable``, ``decode_error``, ``no_audio_stream`` — a
:class:`~asttools.errors.NoAudioStreamError` — or ``error``); bad-but-usable input
(silence as :func:`is_silent` defines it, a clip shorter than one AST patch) warns with
:class:`~asttools.errors.ASTToolsWarning`.

:func:`probe_media` reads a file's streams from its headers and puts the audio on the
video's clock: decoded sample ``k`` lies at ``audio_offset_s + k / sr`` on the video's
timeline; :func:`av_mismatch` says when audio and video end too far apart.
"""

from __future__ import annotations

import errno
import math
import numbers
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
import soundfile as sf
import soxr

from ._links import count_links
from ..constants import FRAME_LENGTH, FRAME_SHIFT, PATCH_SIZE, SAMPLE_RATE
from ..errors import ASTToolsWarning, AudioError, NoAudioStreamError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS",
    "AV_SYNC_TOLERANCE_S",
    "LOW_RATE_HZ",
    "BLOCK_BYTES",
    "BLOCK_S",
    "MEDIA_EXTENSIONS",
    "MIN_SAMPLES",
    "SILENCE_PEAK_DBFS",
    "SILENCE_RMS_DBFS",
    "VIDEO_EXTENSIONS",
    "AudioStream",
    "MediaInfo",
    "audio_level",
    "av_mismatch",
    "check_audio_stream",
    "check_sample_rate",
    "check_waveform",
    "is_silent",
    "length_mismatch",
    "load_audio",
    "probe_media",
    "resample",
    "stream_audio",
]

AUDIO_EXTENSIONS = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3",
    ".aiff", ".aif", ".au", ".m4a", ".aac", ".mka",
)  # fmt: skip
"""File extensions (lower case) of the audio formats :func:`load_audio` reads."""

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")
"""File extensions (lower case) of the video containers whose audio track is read."""

MEDIA_EXTENSIONS = AUDIO_EXTENSIONS + VIDEO_EXTENSIONS
"""Every extension :func:`load_audio` accepts: audio and video."""

MIN_SAMPLES = FRAME_LENGTH + (PATCH_SIZE - 1) * FRAME_SHIFT
"""Samples at 16 kHz in one AST patch along time (16 fbank frames of 25 ms every 10 ms):
2800 samples, 0.175 s. Shorter clips are padded by the feature extractor and warn here."""

BLOCK_S = 30.0
"""Seconds of audio :func:`stream_audio` decodes at a time (at the file's own rate)."""

BLOCK_BYTES = 30 * 48000 * 2 * 4
"""... and at most this many bytes of float32 samples at the file's own rate and channels
(30 s of 48 kHz stereo, 11.5 MB): fewer seconds at a time for more channels or a higher
rate (1.9 s of 192 kHz x 8 channels)."""

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

AV_SYNC_TOLERANCE_S = 0.1
"""The least difference, in seconds, between where the audio ends and where the video ends
on the video's timeline that :func:`av_mismatch` reports.

0.1 s is one AST time step (one patch column), so a smaller mismatch cannot move a
timestamp embedding to another step; it is also 2.5 frames at 25 fps. Compressed audio
legitimately runs over by whole codec frames, so :func:`av_mismatch` allows
``max(AV_SYNC_TOLERANCE_S, 3 * 1024 / audio_sample_rate)``: one 1024-sample AAC frame of
priming where no edit list trims it (Matroska, or an mp4 stream that starts late, such as
the bundled ``hammering_04``), one of end padding (AAC decodes whole frames: the bundled
clips gain 0 to 576 samples, up to 36 ms at 16 kHz) and one for the muxer's rounding of
the last video frame. That is 0.192 s for 16 kHz audio, 0.1 s for 44.1 and 48 kHz.
"""

_MIN_SECONDS = MIN_SAMPLES / SAMPLE_RATE
_SILENCE_PEAK = 10.0 ** (SILENCE_PEAK_DBFS / 20.0)
_SILENCE_RMS = 10.0 ** (SILENCE_RMS_DBFS / 20.0)
# Samples in one codec frame allowed for, three times over, by av_mismatch (AAC's 1024).
_CODEC_FRAME = 1024
# Samples squared and summed at a time in float64 (bounded memory for long waveforms).
_LEVEL_CHUNK = 1 << 18
# Formats that go straight to PyAV: libsndfile cannot read them, or not to the end (MP3).
_AV_EXTENSIONS = frozenset(VIDEO_EXTENSIONS + (".m4a", ".aac", ".mp3", ".mka"))
_FORMAT_NAMES = {"OGG": "Ogg", "FLAC": "FLAC"}  # as said in warnings

# Extensions libsndfile should read; PyAV decoding one of them is a fallback worth a warning.
_SOUNDFILE_EXTENSIONS = frozenset(AUDIO_EXTENSIONS) - _AV_EXTENSIONS
# How the files start that soundfile or PyAV would recognise; used only to choose between
# "not audio at all" and "truncated or corrupt" when both decoders fail.
_MAGIC_PREFIXES = (
    b"RIFF", b"RF64", b"FORM", b"fLaC", b"OggS", b"ID3", b".snd", b"\x1aE\xdf\xa3",
    b"caff", b"wvpk", b"MAC ", b"#!AMR",
)  # fmt: skip
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
# libsndfile's log line for a WAV, AIFF or AU whose audio data is shorter than its header says.
_SHORT_DATA_LOG = re.compile(
    r"^\s*(?:data|SSND|Data Size)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE
)
# AV_DISPOSITION_ATTACHED_PIC: a "video" stream that is an audio file's cover art.
_ATTACHED_PIC = 0x0400
# A Matroska/WebM stream's DURATION tag, "HH:MM:SS.nnnnnnnnn".
_DURATION_TAG = re.compile(r"^\s*(\d+):([0-5]?\d):([0-5]?\d(?:\.\d*)?)\s*$")
# PyAV sample formats (packed or planar) and the scale that maps them onto [-1, 1].
_DATA_POINTERS = 8  # FFmpeg's AV_NUM_DATA_POINTERS: the planes an AVFrame holds inline
_INT_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31, np.dtype(np.int64): 2.0**63}


class _DecodeFailure(Exception):
    """One decoder could not read the file; ``recognised`` says whether it knew the format."""

    def __init__(self, decoder: str, message: str, *, recognised: bool):
        super().__init__(f"{decoder}: {message}")
        self.recognised = recognised


class _NoAudioStream(Exception):
    """A container opened fine but holds no audio stream; the message lists what it holds."""


# ----------------------------------------------------------------------------------------
# Public functions


def load_audio(
    path: str | os.PathLike,
    *,
    sr: int | None = SAMPLE_RATE,
    mono: bool = True,
    channel: int | None = None,
    offset: float = 0.0,
    duration: float | None = None,
    audio_stream: int | None = None,
) -> tuple[np.ndarray, int]:
    """Decode an audio file, or the audio track of a video, into a float32 waveform.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file (see :data:`AUDIO_EXTENSIONS`) or a video container
        (:data:`VIDEO_EXTENSIONS`). Files with other extensions are tried too.
    sr : int or None, default 16000
        Rate to resample to, in Hz, with soxr at "HQ" quality. ``None`` keeps the file's
        own rate.
    mono : bool, default True
        Average the channels into one. ``False`` keeps every channel.
    channel : int or None, default None
        Return this one channel (counting from 0) instead of the average; overrides
        ``mono``.
    offset : float, default 0.0
        Start reading this many seconds into the file (rounded to the nearest sample at
        the file's own rate, before resampling).
    duration : float or None, default None
        Read at most this many seconds; ``None`` reads to the end. A clip that ends
        earlier comes back shorter, without an error.
    audio_stream : int or None, default None
        Which audio stream of a container with several (counting audio streams from 0,
        in the container's order; :attr:`MediaInfo.n_audio_streams` says how many).
        ``None``: the first, as FFmpeg lists them. One that does not exist is an
        :class:`AudioError` (status ``"error"``) naming the file and the count.

    Returns
    -------
    wav : numpy.ndarray, float32, shape (n_samples,) or (n_channels, n_samples)
        Samples in [-1, 1] (integer PCM is scaled by its full range). 1-D when ``mono`` is
        true or a ``channel`` is chosen, else ``(n_channels, n_samples)``.
    sr : int
        The rate of ``wav``: ``sr`` as asked, or the file's rate when ``sr`` is None.

    Raises
    ------
    AudioError
        The file is missing, a directory, unreadable, empty, not audio or video,
        truncated or corrupt, has no audio stream, decodes to no samples, holds NaN or
        Inf samples, has fewer channels than ``channel`` asks for, or ``offset`` lies at
        or beyond its end. The message is ``"{path}: {reason}"``; its ``status`` says
        which kind: ``"unreadable"`` (missing, a directory, not a regular file,
        permission denied, an I/O error), ``"no_audio_stream"`` (a video without an
        audio track: a :class:`~asttools.errors.NoAudioStreamError`), ``"decode_error"``
        (empty, not audio or video, truncated or corrupt, no samples, NaN or Inf) or
        ``"error"`` (a ``channel`` or ``offset`` the file does not have).
    ParameterError
        ``path`` is not a str or os.PathLike, ``sr`` is not a positive integer,
        ``offset`` is negative, ``duration`` is not positive, or ``channel`` is not a
        non-negative integer.

    Warns
    -----
    ASTToolsWarning
        The clip is silent (:func:`is_silent`: peak below -80 dBFS or RMS below -90
        dBFS) or shorter than one AST patch
        (0.175 s, see :data:`MIN_SAMPLES`), or the file is truncated and only the part
        present was decoded (see Notes).

    Notes
    -----
    Damaged files are handled as far as the decoders allow, no further:

    - A WAV, AIFF or AU file cut short, and an Ogg (Vorbis or Opus) file cut after its
      first complete audio page, decode without error up to where the bytes end; the
      result comes with a warning that says the file is truncated.
    - An MP3 cut short also decodes up to where its bytes end, but without a warning:
      its header gives no reliable length to compare with.
    - A FLAC cut short or with damaged frames, an Ogg file cut inside its first audio
      page, and any file whose header is cut or garbled raise ``AudioError``
      ("truncated or corrupt", with what each decoder said).
    - Random bytes after a valid PCM WAV header cannot be told from noise and decode as
      such.

    When soundfile cannot open a file with an audio extension, PyAV is tried next; if
    PyAV decodes it, the result comes with a warning, because FFmpeg may stop quietly at
    the first damaged packet.

    MP3 is decoded with PyAV, which reads to the end of the stream, rather than with
    soundfile, whose frame count (taken from the header) can be short. So is a chained
    Ogg or a concatenated FLAC (several streams one after another, found from the bytes),
    of which soundfile reads only the first: it is decoded whole, as FFmpeg does, with a
    warning naming the number of streams. With PyAV the first audio stream is decoded
    from the start and trimmed to ``offset`` and ``duration``.

    ``offset`` counts from the audio stream's first sample, not from the start of a
    video: in a video whose audio starts late, sample ``k`` of the result lies at
    ``probe_media(path).audio_offset_s + (offset + k / sr)`` on the video's timeline (see
    :func:`probe_media`).

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, pathlib
    >>> from asttools.audio import load_audio
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "tones.wav"
    >>> t = np.arange(44100) / 44100  # 1 s at 44.1 kHz, 440 Hz left and 880 Hz right
    >>> stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 880 * t)], axis=1)
    >>> sf.write(path, 0.5 * stereo, 44100)
    >>> wav, sr = load_audio(path)
    >>> wav.shape, wav.dtype, sr
    ((16000,), dtype('float32'), 16000)
    >>> load_audio(path, mono=False, sr=None)[0].shape
    (2, 44100)
    >>> load_audio(path, channel=1, offset=0.25, duration=0.5)[0].shape
    (8000,)
    >>> tmp.cleanup()
    """
    if sr is not None:
        sr = check_sample_rate(sr, name="sr")
    offset = _check_seconds(offset, "offset", allow_zero=True)
    if duration is not None:
        duration = _check_seconds(duration, "duration", allow_zero=False)
    if channel is not None and (
        isinstance(channel, bool) or not isinstance(channel, numbers.Integral) or channel < 0
    ):
        raise ParameterError(f"channel must be None or an integer >= 0, got {channel!r}")

    audio_stream = check_audio_stream(audio_stream)
    name, head = _check_file(path)
    data, native_sr, n_total = _decode(name, head, offset=offset, duration=duration,
                                       audio_stream=audio_stream)
    _warn_if_low_rate(name, native_sr, stacklevel=3)

    if data.shape[1] == 0:
        if n_total and offset > 0:
            raise AudioError(
                name,
                f"offset {offset:g} s is at or beyond the end of the file "
                f"({n_total / native_sr:.3f} s long)",
                status="error",
            )
        raise AudioError(name, "contains no audio samples", status="decode_error")
    if not np.isfinite(data).all():
        raise AudioError(name, "contains NaN or Inf samples", status="decode_error")

    if channel is not None:
        if channel >= data.shape[0]:
            raise AudioError(
                name,
                f"channel {channel} asked for, but the file has {data.shape[0]} "
                f"channel{'s' if data.shape[0] != 1 else ''} (0 to {data.shape[0] - 1})",
                status="error",
            )
        data = data[channel]
    elif mono:
        data = data.mean(axis=0, dtype=np.float32)

    out_sr = native_sr if sr is None else sr
    wav = resample(data, native_sr, out_sr)
    if wav.shape[-1] == 0:
        raise AudioError(
            name,
            f"contains no audio samples at {out_sr} Hz ({data.shape[-1]} at {native_sr} Hz "
            "round to none)",
            status="decode_error",
        )
    _warn_if_unusual(name, out_sr, *_peak_and_rms(wav), n_samples=wav.shape[-1], stacklevel=3)
    return wav, out_sr


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


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Change the sample rate with soxr at "HQ" quality (band-limited, anti-aliased).

    Parameters
    ----------
    wav : array_like, shape (n_samples,) or (n_channels, n_samples)
        Samples at ``orig_sr``.
    orig_sr, target_sr : int
        Rates in Hz.

    Returns
    -------
    numpy.ndarray, float32, shape (round(n_samples * target_sr / orig_sr),) or
    (n_channels, that many)
        The resampled waveform; ``wav`` itself, as float32, when the rates are equal.

    Raises
    ------
    ParameterError
        A rate is not a positive integer, or ``wav`` is not 1-D or 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.audio import resample
    >>> resample(np.zeros(44100, np.float32), 44100, 16000).shape
    (16000,)
    """
    orig_sr = check_sample_rate(orig_sr, name="orig_sr")
    target_sr = check_sample_rate(target_sr, name="target_sr")
    arr = np.asarray(wav, dtype=np.float32)
    if arr.ndim not in (1, 2):
        raise ParameterError(
            f"wav must be 1-D (samples,) or 2-D (channels, samples), got shape {arr.shape}"
        )
    if orig_sr == target_sr:
        return np.ascontiguousarray(arr)
    if arr.shape[-1] == 0:
        return np.zeros(arr.shape[:-1] + (0,), dtype=np.float32)
    # soxr wants (frames, channels); ours is (channels, frames).
    out = soxr.resample(np.ascontiguousarray(arr.T), orig_sr, target_sr, quality="HQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)


def stream_audio(
    path: str | os.PathLike,
    *,
    sr: int = SAMPLE_RATE,
    channel: int | None = None,
    block_s: float | None = None,
    audio_stream: int | None = None,
) -> AudioStream:
    """Open an audio or video file to decode it block by block, in bounded memory.

    What :func:`load_audio` returns for the whole file, in pieces: the blocks, joined,
    are the same samples (downmixed the same way, resampled with soxr "HQ" as one
    continuous stream, which gives the same output as resampling the whole file). Only
    one block is held at a time, so a 10-hour recording needs no more memory than a
    minute of it (:func:`load_audio` needs the whole decoded file, several times over
    while it decodes at the file's own rate and channels).

    Parameters
    ----------
    path : str or os.PathLike
    sr : int, default 16000
        Rate of the blocks, in Hz.
    channel : int, optional
        This one channel instead of the mean of all.
    block_s : float, optional
        Seconds decoded at a time, at the file's own rate; default :data:`BLOCK_S` (30 s),
        or fewer for a file whose 30 s hold more than :data:`BLOCK_BYTES` of float32
        samples at its own rate and channels (30 s of 48 kHz stereo, 11.5 MB: a block of
        192 kHz x 8 channels is 1.9 s).

    Returns
    -------
    AudioStream
        Iterate over it for the blocks: float32 ndarrays, shape (n,), at ``sr``. Its
        ``duration_s`` is the length the file's header states (``None`` when it states
        none); ``n_samples`` counts the samples yielded so far.

    Raises
    ------
    AudioError
        When opening: the file is missing, empty, unreadable, has no audio stream, or
        neither soundfile nor PyAV opens it; ``channel`` is beyond its channels. While
        iterating: a decoding error ("truncated or corrupt at ... s"), NaN or Inf
        samples, or no samples at all. Its ``status`` is that of :func:`load_audio`'s
        error for the same cause; a video without audio raises
        :class:`~asttools.errors.NoAudioStreamError` with the same message.
    ParameterError
        ``sr`` is not a positive integer, ``channel`` not an integer >= 0, or ``block_s``
        not a positive number of seconds.

    Warns
    -----
    ASTToolsWarning
        At the end of the iteration, as :func:`load_audio` would: a file shorter than
        its header says, a silent clip, a clip shorter than one AST patch.

    Notes
    -----
    Damaged files are handled less forgivingly than by :func:`load_audio`, which, when
    soundfile fails part way, decodes the whole file again with PyAV: a stream cannot take
    back the blocks it already gave, so a decoding error part way is an ``AudioError``
    naming the time it happened at. Formats go to the same decoder as in
    :func:`load_audio` (soundfile, or PyAV for MP3, AAC/m4a and video), and a file that
    decoder cannot open raises at once, so that a caller can fall back to
    :func:`load_audio`.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, pathlib
    >>> from asttools.audio import load_audio, stream_audio
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "noise.wav"
    >>> sf.write(path, np.random.default_rng(0).uniform(-0.5, 0.5, 44100 * 5), 44100)
    >>> with stream_audio(path, block_s=2.0) as blocks:
    ...     whole = np.concatenate(list(blocks))
    >>> whole.shape, bool(np.array_equal(whole, load_audio(path)[0]))
    ((80000,), True)
    >>> tmp.cleanup()
    """
    sr = check_sample_rate(sr, name="sr")
    if channel is not None and (
        isinstance(channel, bool) or not isinstance(channel, numbers.Integral) or channel < 0
    ):
        raise ParameterError(f"channel must be None or an integer >= 0, got {channel!r}")
    chosen = block_s is not None
    block_s = _check_seconds(BLOCK_S if block_s is None else block_s, "block_s",
                             allow_zero=False)
    audio_stream = check_audio_stream(audio_stream)
    name, _ = _check_file(path)
    opened = AudioStream(name, sr=sr, channel=channel, block_s=block_s,
                         audio_stream=audio_stream)
    if not chosen and opened.native_rate:  # bounded in bytes too, at the file's own rate
        per_second = opened.native_rate * opened.channels * 4
        opened._block_s = min(block_s, max(0.1, BLOCK_BYTES / per_second))
    return opened


class AudioStream:
    """An open audio file, decoded block by block: see :func:`stream_audio`.

    Attributes
    ----------
    name : str
        The file.
    sr : int
        Rate of the blocks.
    duration_s : float or None
        Length the file's header states, in seconds; None when unknown (a live
        recording's Matroska, a chained Ogg).
    native_rate : int or None
        The file's own sample rate, as its header states (None when it states none).
    channels : int
        The file's number of channels. ``duration_s * native_rate * channels * 4`` is what
        decoding it whole takes, in bytes of float32 samples.
    n_samples : int
        Samples (at ``sr``) yielded so far; the whole length once iteration ended.
    silent : bool or None
        Whether the whole stream is silent by :func:`is_silent`'s definition; None until
        iteration ended.
    """

    def __init__(self, name: str, *, sr: int, channel: int | None, block_s: float,
                 audio_stream: int | None = None):
        self.name, self.sr, self.n_samples = name, sr, 0
        self.silent: bool | None = None
        self._channel, self._block_s = channel, block_s
        self._sf: sf.SoundFile | None = None
        self._av = None
        self._started = False
        self._note: str | None = None  # how a soundfile file is truncated, if it is
        self._chain: str | None = None  # that soundfile would read only its first link
        ext = os.path.splitext(name)[1].lower()
        if ext not in _AV_EXTENSIONS:
            try:
                f = sf.SoundFile(os.fsencode(name))  # bytes: names need not be UTF-8
            except (sf.SoundFileError, RuntimeError, ValueError, OSError) as e:
                message = getattr(e, "error_string", None) or str(e)
                raise AudioError(name, f"soundfile cannot open it ({message.strip()})",
                                 status=_open_status(e)) from None
            self._chain = _chain_note(f, name) if f.format != "MP3" else None
            if f.format == "MP3" or self._chain:  # as load_audio: these go to PyAV
                f.close()
            else:
                if audio_stream:
                    f.close()
                    _pick_stream(name, [None], audio_stream)  # raises: one stream
                self._sf = f
                self.duration_s = f.frames / f.samplerate if f.frames else None
                self.native_rate = int(f.samplerate)
                channels = f.channels
                self._note = _truncation_note(f, name)
        if self._sf is None:
            try:
                container = av.open(name)
            except (av.FFmpegError, OSError, ValueError, EOFError) as e:
                message = getattr(e, "strerror", None) or str(e)
                raise AudioError(name, f"PyAV cannot open it ({message})",
                                 status=_open_status(e)) from None
            audio = [st for st in container.streams if st.type == "audio"]
            if not audio:
                found = _stream_types(container.streams)
                container.close()
                raise NoAudioStreamError(name, f"no audio stream (streams found: {found})")
            try:
                st = _pick_stream(name, audio, audio_stream)
            except AudioError:
                container.close()
                raise
            self._av = (container, st)
            if self._chain:  # the headers give the first link's length alone
                self.duration_s = None
            elif st.duration is not None and st.time_base is not None:
                self.duration_s = float(st.duration * st.time_base)
            elif container.duration is not None:
                self.duration_s = container.duration / av.time_base
            else:
                self.duration_s = None
            channels = getattr(st.codec_context.layout, "nb_channels", 0) or 1
            self.native_rate = int(st.codec_context.sample_rate or 0) or None
        self.channels = int(channels)
        if channel is not None and channel >= channels:
            self.close()
            raise AudioError(
                name,
                f"channel {channel} asked for, but the file has {channels} "
                f"channel{'s' if channels != 1 else ''} (0 to {channels - 1})",
                status="error",
            )

    def __repr__(self) -> str:
        return f"AudioStream({self.name!r}, sr={self.sr}, duration_s={self.duration_s})"

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (iteration closes it too, at its end or on an error)."""
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av[0].close()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._started:
            raise AudioError(self.name, "a stream can be iterated once; open it again",
                             status="error")
        self._started = True
        return self._blocks()

    def _native(self) -> Iterator[tuple[np.ndarray, int]]:
        """(channels, n) float32 blocks at the file's rate, and that rate."""
        at = 0.0
        if self._sf is not None:
            f = self._sf
            frames = max(1, round(self._block_s * f.samplerate))
            while True:
                try:
                    data = f.read(frames, dtype="float32", always_2d=True)
                except (sf.SoundFileError, RuntimeError, ValueError, OSError) as e:
                    message = getattr(e, "error_string", None) or str(e)
                    raise AudioError(self.name, f"truncated or corrupt at {at:.1f} s "
                                                f"(soundfile: {message.strip()})",
                                     status="decode_error") from None
                if not len(data):
                    return
                at += len(data) / f.samplerate
                yield np.ascontiguousarray(data.T), int(f.samplerate)
            return
        container, st = self._av
        chunks: list[np.ndarray] = []
        rate = layout = None
        held = 0
        try:
            for frame in container.decode(st):
                if rate is None:
                    rate, layout = frame.sample_rate, frame.layout.nb_channels
                elif (frame.sample_rate, frame.layout.nb_channels) != (rate, layout):
                    raise AudioError(
                        self.name,
                        f"the stream changes from {layout} channels at {rate} Hz to "
                        f"{frame.layout.nb_channels} at {frame.sample_rate} Hz at {at:.1f} s",
                        status="decode_error",
                    )
                chunks.append(_frame_to_float(frame))
                held += frame.samples
                if held >= self._block_s * rate:
                    at += held / rate
                    yield np.concatenate(chunks, axis=1), int(rate)
                    chunks, held = [], 0
        except (av.FFmpegError, OSError, ValueError, EOFError) as e:
            message = getattr(e, "strerror", None) or str(e)
            raise AudioError(self.name, f"truncated or corrupt at {at:.1f} s (PyAV: "
                                        f"{message})", status="decode_error") from None
        if chunks:
            yield np.concatenate(chunks, axis=1), int(rate)

    def _blocks(self) -> Iterator[np.ndarray]:
        resampler = None
        peak = sumsq = 0.0
        try:
            for data, rate in self._native():
                if not np.isfinite(data).all():
                    raise AudioError(self.name, f"contains NaN or Inf samples (after "
                                                f"{self.n_samples / self.sr:.1f} s)",
                                     status="decode_error")
                if self.n_samples == 0 and resampler is None:
                    _warn_if_low_rate(self.name, rate, stacklevel=4)
                mono = (data[self._channel] if self._channel is not None
                        else data.mean(axis=0, dtype=np.float32))
                if rate != self.sr and resampler is None:
                    resampler = soxr.ResampleStream(rate, self.sr, 1, dtype="float32",
                                                    quality="HQ")
                out = mono if resampler is None else resampler.resample_chunk(mono)
                if out.size:
                    block_peak, block_sumsq = _peak_and_sumsq(out)
                    peak, sumsq = max(peak, block_peak), sumsq + block_sumsq
                    self.n_samples += out.size
                    yield np.ascontiguousarray(out, dtype=np.float32)
            if resampler is not None:
                out = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
                if out.size:
                    block_peak, block_sumsq = _peak_and_sumsq(out)
                    peak, sumsq = max(peak, block_peak), sumsq + block_sumsq
                    self.n_samples += out.size
                    yield np.ascontiguousarray(out, dtype=np.float32)
        finally:
            self.close()
        if self.n_samples == 0:
            raise AudioError(self.name, "contains no audio samples", status="decode_error")
        if self._chain:
            warnings.warn(f"{self.name}: {self._chain}; decoded all of them with PyAV "
                          f"({self.n_samples / self.sr:.3f} s)", ASTToolsWarning, stacklevel=3)
        if self._note:
            warnings.warn(f"{self.name}: truncated: {self._note}; decoded the "
                          f"{self.n_samples / self.sr:.3f} s present", ASTToolsWarning,
                          stacklevel=3)
        rms = math.sqrt(sumsq / self.n_samples)
        self.silent = bool(peak < _SILENCE_PEAK or rms < _SILENCE_RMS)
        _warn_if_unusual(self.name, self.sr, peak, rms, n_samples=self.n_samples,
                         stacklevel=3)


# ----------------------------------------------------------------------------------------
# Silence


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
# Media: audio and video on one clock


@dataclass(frozen=True)
class MediaInfo:
    """What a media file's headers say about its streams: see :func:`probe_media`.

    Times are in seconds on the video's timeline: 0 is the first video frame's
    presentation time (or the container's start when there is no video).

    Attributes
    ----------
    path : str
        The file.
    has_audio : bool
        It has an audio stream (:func:`load_audio` decodes the first one).
    has_video : bool
        It has a video stream (cover art attached to an audio file does not count).
    audio_offset_s : float or None
        Where the first audio sample lies on the video's timeline: the audio stream's
        start time minus the video stream's (or, without video, the container's). 0.0 for
        plain audio files; None without audio. Decoded sample ``k`` (at rate ``sr``) lies
        at ``audio_offset_s + k / sr``.
    audio_duration_s : float or None
        The audio stream's length as the header states it (for AAC the encoded length,
        without the padding the decoder adds; see Notes of :func:`probe_media`); None when
        the header does not say or there is no audio.
    video_duration_s : float or None
        The video stream's length; None when unknown or without video.
    frame_rate : float or None
        The video stream's average frame rate in frames per second; None without video.
    n_video_frames : int or None
        Frames in the video stream as the header counts them; None when unknown.
    audio_sample_rate : int or None
        The audio stream's own rate in Hz (before any resampling).
    audio_channels : int or None
        The audio stream's channels.
    n_audio_streams : int
        How many audio streams the file has (0 without audio; 1 for plain audio files).
        The other audio fields describe the one :func:`probe_media` was asked for
        (``audio_stream``, default the first).
    """

    path: str
    has_audio: bool
    has_video: bool
    audio_offset_s: float | None = None
    audio_duration_s: float | None = None
    video_duration_s: float | None = None
    frame_rate: float | None = None
    n_video_frames: int | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    n_audio_streams: int = 0


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


def probe_media(path: str | os.PathLike, *, audio_stream: int | None = None) -> MediaInfo:
    """Read a media file's stream layout and timing from its headers, without decoding it.

    Opens the file once: with soundfile for the formats :func:`load_audio` gives to
    soundfile (WAV, FLAC, Ogg, AIFF, AU), else with PyAV (video containers, m4a/AAC, MP3,
    and whatever soundfile cannot open).

    Parameters
    ----------
    path : str or os.PathLike
        An audio file or a video container.
    audio_stream : int, optional
        Describe this audio stream (counting audio streams from 0); default the first.

    Returns
    -------
    MediaInfo
        Whether there is audio and video, where the audio starts on the video's timeline
        (``audio_offset_s``), the streams' durations, the frame rate and frame count, the
        audio's rate and channels. A video without an audio stream is not an error:
        ``has_audio`` is False.

    Raises
    ------
    AudioError
        With ``status="unreadable"``: the file is missing, a directory, not a regular
        file, or cannot be read. With ``status="decode_error"``: it is empty, or neither
        soundfile nor PyAV opens it (the messages are those of :func:`load_audio`).
    ParameterError
        ``path`` is not a str or os.PathLike.

    See Also
    --------
    av_mismatch : compare the audio's end with the video's.

    Notes
    -----
    ``audio_offset_s`` is ``stream.start_time * stream.time_base`` of the first audio
    stream minus the same of the first video stream (FFmpeg's start times already apply
    the container's edit lists). When the audio stream states no start time, its first
    packet's is used. :func:`load_audio` and :func:`stream_audio` return the audio
    stream's samples from its first one on, so sample ``k`` belongs at
    ``audio_offset_s + k / sr`` on the video's timeline. Checked on the bundled
    ``data/video/hammering_04.mp4``, whose AAC stream starts 0.976 s after the video:
    ``audio_offset_s`` is 0.976, as is the first decoded frame's ``.time``, and the
    samples placed so match the soundtrack the clip was made from at lag 0 (normalised
    correlation 0.99 from 1.040 s on, 0.76 one sample either side). Its first 1024 samples
    are the encoder's priming (near silence, peak 0.0025): the mp4 muxer writes an empty
    edit for a late stream instead of an edit that skips the priming, so FFmpeg decodes
    it, and it sits where it belongs, at 0.976-1.040 s.

    AAC decodes whole 1024-sample frames, so the decoded track can be up to a frame longer
    than ``audio_duration_s`` (the bundled clips: 0 to 36 ms at 16 kHz), and a priming
    frame longer where no edit list trims it; :data:`AV_SYNC_TOLERANCE_S` allows for both.

    Durations come from the stream headers: an mp4's ``duration``; a Matroska/WebM
    stream's ``DURATION`` tag (where the stream ends) less its start time; else the
    container's duration when the stream is its only audio or video stream (and for
    video, the frame count over the rate). An MP3's length is the demuxer's estimate,
    which for a VBR file without a Xing header can be far off. A file that probes
    cleanly can still fail to decode (a truncated FLAC, a damaged packet): only decoding
    tells.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, pathlib
    >>> from asttools.audio import probe_media
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "tone.wav"
    >>> sf.write(path, np.zeros((22050, 2), np.float32), 44100)
    >>> info = probe_media(path)
    >>> info.has_audio, info.has_video, info.audio_offset_s, info.audio_duration_s
    (True, False, 0.0, 0.5)
    >>> info.audio_sample_rate, info.audio_channels, info.frame_rate
    (44100, 2, None)
    >>> tmp.cleanup()

    On the bundled ``data/video/hammering_04.mp4``: ``has_audio=True``,
    ``audio_offset_s=0.976``, ``audio_duration_s=2.024``, ``video_duration_s=3.0``,
    ``frame_rate=25.0``, ``n_video_frames=75``.
    """
    audio_stream = check_audio_stream(audio_stream)
    name, head = _check_file(path)
    ext = os.path.splitext(name)[1].lower()
    failures: list[_DecodeFailure] = []
    if ext not in _AV_EXTENSIONS:
        try:
            info = _probe_soundfile(name)
        except _DecodeFailure as e:
            failures.append(e)
        else:
            if info is not None:
                if audio_stream:
                    _pick_stream(name, [None], audio_stream)  # raises: one stream
                return info
    try:
        return _probe_av(name, audio_stream)
    except _DecodeFailure as e:
        failures.append(e)
    raise _undecodable(name, head, failures)


def av_mismatch(
    info: MediaInfo,
    audio_duration_s: float | None = None,
    *,
    tolerance_s: float | None = None,
) -> str | None:
    """Say whether the audio ends where the video ends, on the video's timeline.

    Parameters
    ----------
    info : MediaInfo
        What :func:`probe_media` read.
    audio_duration_s : float, optional
        The audio's length in seconds, e.g. the decoded samples over their rate; default
        ``info.audio_duration_s`` (the header's).
    tolerance_s : float, optional
        The largest difference that is not a mismatch; default
        ``max(AV_SYNC_TOLERANCE_S, 3 * 1024 / info.audio_sample_rate)``, which allows
        for codec priming and padding (see :data:`AV_SYNC_TOLERANCE_S`).

    Returns
    -------
    str or None
        A warning text when ``audio_offset_s + audio_duration_s`` and
        ``video_duration_s`` differ by more than the tolerance, naming both ends and the
        tolerance (not the file: prefix ``info.path`` when warning); None when they agree,
        and for files without video or audio or without a known duration.

    Raises
    ------
    ParameterError
        ``audio_duration_s`` or ``tolerance_s`` is not a finite number >= 0.

    Examples
    --------
    >>> info = MediaInfo("clip.mp4", has_audio=True, has_video=True, audio_offset_s=0.0,
    ...                  audio_duration_s=1.5, video_duration_s=3.0, frame_rate=25.0,
    ...                  audio_sample_rate=16000)
    >>> print(av_mismatch(info))  # doctest: +NORMALIZE_WHITESPACE
    audio and video durations differ by -1.500 s: the audio ends at 1.500 s on the
    video's timeline (offset 0.000 s + 1.500 s of audio), the video at 3.000 s;
    tolerance 0.192 s
    >>> av_mismatch(info, 3.008) is None  # AAC padding: within the tolerance
    True
    """
    if audio_duration_s is not None:
        audio_duration_s = _check_seconds(audio_duration_s, "audio_duration_s",
                                          allow_zero=True)
    if tolerance_s is not None:
        tolerance_s = _check_seconds(tolerance_s, "tolerance_s", allow_zero=True)
    duration = info.audio_duration_s if audio_duration_s is None else audio_duration_s
    if (not (info.has_audio and info.has_video) or duration is None
            or info.video_duration_s is None or info.audio_offset_s is None):
        return None
    if tolerance_s is None:
        frames = 3 * _CODEC_FRAME / info.audio_sample_rate if info.audio_sample_rate else 0.0
        tolerance_s = max(AV_SYNC_TOLERANCE_S, frames)
    end = info.audio_offset_s + duration
    diff = end - info.video_duration_s
    if abs(diff) <= tolerance_s:
        return None
    return (
        f"audio and video durations differ by {diff:+.3f} s: the audio ends at {end:.3f} s "
        f"on the video's timeline (offset {info.audio_offset_s:.3f} s + {duration:.3f} s "
        f"of audio), the video at {info.video_duration_s:.3f} s; tolerance "
        f"{tolerance_s:.3f} s"
    )


def length_mismatch(info: MediaInfo, decoded_s: float) -> str | None:
    """Say how the decoded length of a file's audio differs from what its headers declare
    (``info.audio_duration_s``), beyond 0.1 s or three codec frames; None when it does
    not, or nothing is declared.

    Shorter is a truncated file (a cut download, a copy still being written); longer is a
    chained Ogg or concatenated stream whose header describes its first part.

    Examples
    --------
    >>> info = MediaInfo(path="a.webm", has_audio=True, has_video=False, audio_offset_s=0.0,
    ...                  audio_duration_s=20.0, audio_sample_rate=48000)
    >>> length_mismatch(info, 9.85)
    'truncated: the header declares 20.000 s of audio, 9.850 s were decoded'
    >>> length_mismatch(info, 19.98) is None
    True
    """
    declared = info.audio_duration_s
    if declared is None or not math.isfinite(declared) or declared <= 0:
        return None
    frames = 3 * _CODEC_FRAME / info.audio_sample_rate if info.audio_sample_rate else 0.0
    if abs(decoded_s - declared) <= max(AV_SYNC_TOLERANCE_S, frames):
        return None
    if decoded_s < declared:
        return (f"truncated: the header declares {declared:.3f} s of audio, {decoded_s:.3f} s "
                "were decoded")
    return (f"longer than declared: the header declares {declared:.3f} s of audio, "
            f"{decoded_s:.3f} s were decoded (a chained or concatenated stream?)")


# ----------------------------------------------------------------------------------------
# Argument and file checks


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


def _looks_like_media(head: bytes) -> bool:
    """Whether the first bytes are those of a container or codec the decoders know."""
    if head.startswith(_MAGIC_PREFIXES) or head[4:8] in _MP4_BOXES:
        return True
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # MPEG/ADTS sync


# ----------------------------------------------------------------------------------------
# Decoding


def _decode(
    name: str, head: bytes, *, offset: float, duration: float | None,
    audio_stream: int | None = None,
) -> tuple[np.ndarray, int, int | None]:
    """Decode with soundfile or PyAV (or soundfile, then PyAV).

    Returns the (channels, samples) float32 excerpt at the native rate, that rate, and the
    file's total number of frames when known.
    """
    ext = os.path.splitext(name)[1].lower()
    failures: list[_DecodeFailure] = []
    if ext not in _AV_EXTENSIONS:
        try:
            result = _decode_soundfile(name, offset=offset, duration=duration)
        except _DecodeFailure as e:
            failures.append(e)
        else:
            if result is not None:
                if audio_stream:
                    _pick_stream(name, [None], audio_stream)  # raises: one stream
                return result
    try:
        result = _decode_av(name, offset=offset, duration=duration,
                            audio_stream=audio_stream)
    except _DecodeFailure as e:
        failures.append(e)
    except _NoAudioStream as e:
        raise NoAudioStreamError(name, f"no audio stream (streams found: {e})") from None
    else:
        if not failures:
            return result
        if result[2] != 0:  # PyAV read what soundfile could not
            if ext in _SOUNDFILE_EXTENSIONS:
                warnings.warn(
                    f"{name}: soundfile could not decode it ({failures[0]}); decoded it "
                    "with PyAV instead, which may recover only part of a damaged file",
                    ASTToolsWarning,
                    stacklevel=3,
                )
            return result
        failures.append(_DecodeFailure("PyAV", "decoded no samples", recognised=True))

    raise _undecodable(name, head, failures)


def _undecodable(name: str, head: bytes, failures: list[_DecodeFailure]) -> AudioError:
    """The error for a file no decoder could read: corrupt media, or not media at all."""
    said = "; ".join(str(f) for f in failures)
    if _looks_like_media(head) or any(f.recognised for f in failures):
        return AudioError(name, f"truncated or corrupt ({said})", status="decode_error")
    return AudioError(name, f"not a recognised audio or video format ({said})",
                      status="decode_error")


def _sample_span(offset: float, duration: float | None, rate: int) -> tuple[int, int | None]:
    start = round(offset * rate)
    return start, None if duration is None else max(1, round(duration * rate))


def _open_soundfile(name: str) -> sf.SoundFile:
    """Open a file with soundfile, or raise the failure load_audio reports for it."""
    try:
        return sf.SoundFile(os.fsencode(name))  # bytes: names need not be UTF-8
    except (sf.SoundFileError, RuntimeError, ValueError, OSError) as e:
        message = getattr(e, "error_string", None) or str(e)
        raise _DecodeFailure("soundfile", message.strip(), recognised=False) from None


def _decode_soundfile(
    name: str, *, offset: float, duration: float | None
) -> tuple[np.ndarray, int, int] | None:
    """Decode with soundfile; None for an MP3 (under another extension), left to PyAV."""
    f = _open_soundfile(name)
    with f:
        if f.format == "MP3":
            return None
        chained = _chain_note(f, name)
        if chained:  # libsndfile reads the first link alone; FFmpeg reads them all
            warnings.warn(f"{name}: {chained}; decoded all of them with PyAV", ASTToolsWarning,
                          stacklevel=4)
            return None
        rate = int(f.samplerate)
        start, count = _sample_span(offset, duration, rate)
        n_total = f.frames
        if start >= n_total:
            return np.zeros((f.channels, 0), np.float32), rate, n_total
        try:
            if start:
                f.seek(start)
            data = f.read(-1 if count is None else count, dtype="float32", always_2d=True).T
        except (sf.SoundFileError, RuntimeError, ValueError, OSError) as e:
            message = getattr(e, "error_string", None) or str(e)
            raise _DecodeFailure("soundfile", message.strip(), recognised=True) from None
        note = _truncation_note(f, name)
    if note:
        warnings.warn(
            f"{name}: truncated: {note}; decoded the {n_total / rate:.3f} s present",
            ASTToolsWarning,
            stacklevel=4,
        )
    return np.ascontiguousarray(data), rate, n_total


def _chain_note(f: sf.SoundFile, name: str) -> str | None:
    """Say that an Ogg or FLAC file holds several streams one after another (a chained
    Ogg, concatenated FLAC files), of which soundfile decodes only the first; None when
    it holds one."""
    links = count_links(os.fsencode(name), f.format)
    if links <= 1:
        return None
    return (f"{links} concatenated {_FORMAT_NAMES[f.format]} streams (a chained file): "
            f"soundfile reads only the first ({f.frames / f.samplerate:.3f} s, the length its "
            "header declares)")


def _truncation_note(f: sf.SoundFile, name: str) -> str | None:
    """Say how a file soundfile decoded without error was nonetheless cut short, if it was.

    Two signs are checked: libsndfile's log of a WAV, AIFF or AU file whose audio data is
    shorter than its header declares, and an Ogg stream whose last page lacks the
    end-of-stream flag.
    """
    match = _SHORT_DATA_LOG.search(f.extra_info)
    if match:
        declared, present = int(match.group(1)), int(match.group(2))
        if present < declared < 0x7FFFFFFF:  # larger values are "unknown length" placeholders
            return f"the header declares {declared} bytes of audio but the file holds {present}"
    if f.format == "OGG":
        try:
            with open(name, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 65536))
                tail = fh.read()
        except OSError:
            return None
        last_page = tail.rfind(b"OggS")
        if last_page >= 0 and len(tail) > last_page + 5 and not tail[last_page + 5] & 0x04:
            return "the Ogg stream ends without its end-of-stream page"
    return None


def _decode_av(
    name: str, *, offset: float, duration: float | None, audio_stream: int | None = None
) -> tuple[np.ndarray, int, int | None]:
    try:
        container = av.open(name)
    except (av.FFmpegError, OSError, ValueError, EOFError) as e:
        message = getattr(e, "strerror", None) or str(e)
        raise _DecodeFailure("PyAV", message, recognised=False) from None
    with container:
        streams = list(container.streams)
        audio = [s for s in streams if s.type == "audio"]
        if not audio:
            raise _NoAudioStream(_stream_types(streams))
        audio = [_pick_stream(name, audio, audio_stream)]
        found, index = _stream_types(streams), audio[0].index  # not after closing: a segfault
        chunks: list[np.ndarray] = []
        rate = layout = None
        got = 0
        stop = None
        reached_end = True
        try:
            for frame in container.decode(audio[0]):
                if rate is None:
                    rate, layout = frame.sample_rate, frame.layout.nb_channels
                    start, count = _sample_span(offset, duration, rate)
                    stop = None if count is None else start + count
                elif (frame.sample_rate, frame.layout.nb_channels) != (rate, layout):
                    raise _DecodeFailure(
                        "PyAV",
                        f"the stream changes from {layout} channels at {rate} Hz to "
                        f"{frame.layout.nb_channels} at {frame.sample_rate} Hz",
                        recognised=True,
                    )
                chunks.append(_frame_to_float(frame))
                got += frame.samples
                if stop is not None and got >= stop:
                    reached_end = False
                    break
        except (av.FFmpegError, OSError, ValueError, EOFError) as e:
            message = getattr(e, "strerror", None) or str(e)
            raise _DecodeFailure("PyAV", message, recognised=True) from None
    if rate is None and offset == 0 and not _has_packets(name, index):
        # an audio track without a single packet (Matroska keeps one; MP4 drops it)
        raise _NoAudioStream(f"{found}; its audio track holds no packets")
    if rate is None:  # no frames at all
        rate = audio[0].codec_context.sample_rate or SAMPLE_RATE
        channels = getattr(audio[0].codec_context.layout, "nb_channels", 0) or 1
        return np.zeros((channels, 0), np.float32), int(rate), 0
    data = np.concatenate(chunks, axis=1)
    start, count = _sample_span(offset, duration, rate)
    n_total = data.shape[1] if reached_end else None
    data = data[:, start : None if count is None else start + count]
    return np.ascontiguousarray(data), int(rate), n_total


def _has_packets(name: str, index: int) -> bool:
    """Whether stream ``index`` of a file holds any packet with data."""
    try:
        with av.open(name) as container:
            stream = next(st for st in container.streams if st.index == index)
            return any(packet.size for packet in container.demux(stream))
    except (av.FFmpegError, OSError, ValueError, EOFError, StopIteration):
        return True  # unreadable: leave it to the decode error


def _frame_to_float(frame: av.AudioFrame) -> np.ndarray:
    """One decoded PyAV frame as float32 in [-1, 1], shape (channels, samples)."""
    if frame.format.is_planar and frame.layout.nb_channels >= _DATA_POINTERS:
        return np.concatenate([_frame_to_float(f) for f in _packed(frame)], axis=1)
    a = frame.to_ndarray()
    if not frame.format.is_planar:  # packed: one row of interleaved samples
        a = a.reshape(-1, frame.layout.nb_channels).T
    if a.dtype == np.uint8:
        return (a.astype(np.float32) - 128.0) / 128.0
    if a.dtype in _INT_SCALE:
        return (a.astype(np.float64) / _INT_SCALE[a.dtype]).astype(np.float32)
    return a.astype(np.float32, copy=False)


def _packed(frame: av.AudioFrame) -> list[av.AudioFrame]:
    """A planar frame of 8 or more channels as packed frames (one plane), same samples.

    PyAV (18.1) counts the planes of a frame by the data pointers FFmpeg fills, and an
    8-channel planar frame fills all :data:`_DATA_POINTERS` of them, so it counts a ninth
    past their end and ``to_ndarray()`` reads through a stray pointer: a segfault (8-channel
    AAC or Opus). FFmpeg's own resampler reads every channel correctly; converting only the
    sample format leaves the values as they are (packed is the same numbers, interleaved).
    """
    resampler = av.AudioResampler(format=frame.format.packed.name, layout=frame.layout,
                                  rate=frame.sample_rate)
    return list(resampler.resample(frame)) + list(resampler.resample(None))


# ----------------------------------------------------------------------------------------
# Probing


def _probe_soundfile(name: str) -> MediaInfo | None:
    """Probe with soundfile; None for an MP3 (under another extension), left to PyAV."""
    f = _open_soundfile(name)
    with f:
        if f.format == "MP3":
            return None
        return MediaInfo(
            path=name, has_audio=True, has_video=False, audio_offset_s=0.0,
            audio_duration_s=f.frames / f.samplerate, audio_sample_rate=int(f.samplerate),
            audio_channels=int(f.channels), n_audio_streams=1,
        )  # fmt: skip


def _probe_av(name: str, audio_stream: int | None = None) -> MediaInfo:
    try:
        container = av.open(name)
    except (av.FFmpegError, OSError, ValueError, EOFError) as e:
        message = getattr(e, "strerror", None) or str(e)
        raise _DecodeFailure("PyAV", message, recognised=False) from None
    with container:
        streams = list(container.streams)
        audios = [st for st in streams if st.type == "audio"]
        audio = _pick_stream(name, audios, audio_stream) if audios else None
        videos = [st for st in streams if st.type == "video" and not _is_cover_art(st)]
        video = videos[0] if videos else None
        n_av = sum(st.type == "audio" for st in streams) + len(videos)
        container_s = (None if container.duration is None
                       else container.duration / av.time_base)
        container_start = (None if container.start_time is None
                           else container.start_time / av.time_base)
        info: dict = {"path": name, "has_audio": audio is not None,
                      "has_video": video is not None, "n_audio_streams": len(audios)}
        if video is not None:
            rate = video.average_rate
            frames = int(video.frames or 0) or None
            duration = _stream_seconds(video, container_s if n_av == 1 else None)
            if duration is None and frames and rate:
                duration = frames / float(rate)
            info.update(video_duration_s=duration, n_video_frames=frames,
                        frame_rate=float(rate) if rate else None)
            start = _seconds(video.start_time, video.time_base)
            zero = start if start is not None else container_start or 0.0
        else:
            zero = container_start
        if audio is not None:
            start = _seconds(audio.start_time, audio.time_base)
            if start is None:
                start = _first_packet_seconds(container, audio)
            offset = 0.0 if zero is None or start is None else start - zero
            if abs(offset) <= 1 / av.time_base:  # the container's start is rounded to 1 us
                offset = 0.0
            cc = audio.codec_context
            channels = getattr(cc.layout, "nb_channels", 0) or getattr(cc, "channels", 0)
            info.update(
                audio_offset_s=round(offset, 9) + 0.0,  # 0.976, not 0.9760000000000001
                audio_duration_s=_stream_seconds(audio, container_s if n_av == 1 else None),
                audio_sample_rate=int(cc.sample_rate) or None,
                audio_channels=int(channels) or None,
            )
    return MediaInfo(**info)


def _is_cover_art(stream) -> bool:
    """Whether a video stream is a picture attached to an audio file (MP3, m4a cover)."""
    disposition = getattr(stream, "disposition", 0) or 0  # an int, or a Flag (PyAV 15-17)
    return bool(int(getattr(disposition, "value", disposition)) & _ATTACHED_PIC)


def _seconds(value: int | None, time_base) -> float | None:
    return None if value is None or time_base is None else float(value * time_base)


def _stream_seconds(stream, fallback: float | None) -> float | None:
    """A stream's duration: its header's; else its DURATION tag (Matroska, WebM), which
    holds where the stream ends, less where it starts; else ``fallback``."""
    seconds = _seconds(stream.duration, stream.time_base)
    if seconds is None:
        match = _DURATION_TAG.match(str(stream.metadata.get("DURATION", "")))
        if match:
            h, m, sec = match.groups()
            end = 3600 * int(h) + 60 * int(m) + float(sec)
            seconds = max(0.0, end - (_seconds(stream.start_time, stream.time_base) or 0.0))
    return fallback if seconds is None else seconds


def _first_packet_seconds(container, stream, *, limit: int = 16) -> float | None:
    """The presentation time of a stream's first packet that has one (a few packets at most)."""
    try:
        for i, packet in enumerate(container.demux(stream)):
            if packet.pts is not None and packet.time_base is not None:
                return float(packet.pts * packet.time_base)
            if i >= limit:
                break
    except (av.FFmpegError, OSError, ValueError, EOFError):
        pass
    return None


def _stream_types(streams) -> str:
    """What a container holds, for "no audio stream (streams found: ...)"."""
    return ", ".join(st.type for st in streams) or "none"


def _open_status(e: BaseException) -> str:
    """The audio status of an error raised while opening a file."""
    if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError,
                      NotADirectoryError)) or (isinstance(e, OSError) and e.errno == errno.EIO):
        return "unreadable"
    return "decode_error"


# ----------------------------------------------------------------------------------------
# Warnings shared by files and arrays


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
