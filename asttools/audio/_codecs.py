"""The two decoders, soundfile and PyAV: which reads which format, how each decodes and fails.

soundfile (libsndfile) reads WAV, FLAC, Ogg (Vorbis, Opus), AIFF and AU; PyAV (FFmpeg)
reads MP3, m4a/AAC, video containers and whatever soundfile cannot open. A failure of
either is a private :class:`_DecodeFailure` until :func:`_undecodable` words the one
:class:`~asttools.errors.AudioError` a caller sees: "truncated or corrupt" when the bytes
look like media, else "not a recognised audio or video format".
"""

from __future__ import annotations

import errno
import os
import re
import warnings

import av
import numpy as np
import soundfile as sf

from ..constants import SAMPLE_RATE
from ..errors import ASTToolsWarning, AudioError, NoAudioStreamError
from ._checks import _pick_stream
from ._links import count_links

__all__ = [
    "AUDIO_EXTENSIONS",
    "MEDIA_EXTENSIONS",
    "VIDEO_EXTENSIONS",
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


def _looks_like_media(head: bytes) -> bool:
    """Whether the first bytes are those of a container or codec the decoders know."""
    if head.startswith(_MAGIC_PREFIXES) or head[4:8] in _MP4_BOXES:
        return True
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # MPEG/ADTS sync


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

def _stream_types(streams) -> str:
    """What a container holds, for "no audio stream (streams found: ...)"."""
    return ", ".join(st.type for st in streams) or "none"


def _open_status(e: BaseException) -> str:
    """The audio status of an error raised while opening a file."""
    if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError,
                      NotADirectoryError)) or (isinstance(e, OSError) and e.errno == errno.EIO):
        return "unreadable"
    return "decode_error"
