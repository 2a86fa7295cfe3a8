"""Decode a file to float32 samples (16 kHz mono by default), whole or in blocks; resample.

Every waveform asttools hands to the feature extractor comes through here, so that all
formats are downmixed and resampled the same way:

- soundfile (libsndfile) decodes WAV, FLAC, OGG/Vorbis, OGG/Opus, AIFF and AU;
- PyAV (FFmpeg) decodes MP3, m4a/AAC, the audio track of video containers (mp4, mkv,
  webm, avi, mov), and anything with an audio extension that soundfile cannot open.
  MP3 goes to PyAV because libsndfile 1.2 takes an MP3's length from its header and
  stops there: a VBR file without a Xing header came back at a fifth of its length
  (the choice and both decoders: :mod:`asttools.audio._codecs`);
- channels are averaged (or one is picked) explicitly, and the rate is changed with soxr at
  its "HQ" quality, never by passing a wrong rate along.

:func:`load_audio` decodes a file whole, :func:`stream_audio` block by block in bounded
memory (:class:`AudioStream`), :func:`resample` changes an array's rate.

Bad input raises :class:`~asttools.errors.AudioError` naming the file and the reason, with
a ``status`` saying what kind of failure it is (:data:`~asttools.errors.AUDIO_STATUSES`:
``unreadable``, ``decode_error``, ``no_audio_stream`` — a
:class:`~asttools.errors.NoAudioStreamError` — or ``error``); bad-but-usable input
(silence as :func:`is_silent` defines it, a clip shorter than one AST patch) warns with
:class:`~asttools.errors.ASTToolsWarning` (:mod:`asttools.audio._levels`).
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterator

import av
import numpy as np
import soundfile as sf
import soxr

from ..constants import SAMPLE_RATE
from ..errors import ASTToolsWarning, AudioError, NoAudioStreamError, ParameterError
from ._checks import (
    _check_file,
    _check_seconds,
    _pick_stream,
    check_audio_stream,
    check_sample_rate,
)
from ._codecs import (
    _AV_EXTENSIONS,
    _chain_note,
    _decode,
    _frame_to_float,
    _open_status,
    _stream_types,
    _truncation_note,
)
from ._levels import (
    _SILENCE_PEAK,
    _SILENCE_RMS,
    _peak_and_rms,
    _peak_and_sumsq,
    _warn_if_low_rate,
    _warn_if_unusual,
)

__all__ = [
    "BLOCK_BYTES",
    "BLOCK_S",
    "AudioStream",
    "load_audio",
    "resample",
    "stream_audio",
]

BLOCK_S = 30.0
"""Seconds of audio :func:`stream_audio` decodes at a time (at the file's own rate)."""

BLOCK_BYTES = 30 * 48000 * 2 * 4
"""... and at most this many bytes of float32 samples at the file's own rate and channels
(30 s of 48 kHz stereo, 11.5 MB): fewer seconds at a time for more channels or a higher
rate (1.9 s of 192 kHz x 8 channels)."""


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
