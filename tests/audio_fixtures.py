"""Helpers that generate audio and video test files (plain functions, no pytest fixtures).

Each writes into a directory the caller gives (``tmp_path``), so tests stay independent and
nothing is committed but the four real recordings under ``data/samples/``.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"


def sine(freq: float, sr: int, seconds: float, *, amp: float = 0.5) -> np.ndarray:
    """A sine tone, float32, shape (round(seconds * sr),)."""
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float, *, seed: int = 0, amp: float = 0.1) -> np.ndarray:
    """Seeded Gaussian noise of standard deviation ``amp``, float32, shape
    (round(seconds * 16000),)."""
    rng = np.random.default_rng(seed)
    return (amp * rng.standard_normal(round(seconds * 16000))).astype(np.float32)


def touch(path: Path) -> Path:
    """An empty file at ``path`` (its folders created): for layouts where only names count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write_tone(path: Path | bytes, seconds: float = 0.5, freq: float = 440.0, *,
               sr: int = 16000, channels: int = 1, amp: float = 0.5,
               **kwargs) -> Path | bytes:
    """Write a sine tone of peak ``amp`` with soundfile (format from the extension) and
    return ``path``.

    ``channels > 1``: channel ``c`` at ``freq * (c + 1)``. A ``bytes`` path (a name that
    need not be UTF-8) is written through an open file; a ``Path``'s folder is created.
    ``kwargs`` go to :func:`soundfile.write` (``subtype=...``).
    """
    wav = sine(freq, sr, seconds, amp=amp)
    if channels > 1:
        wav = np.stack([sine(freq * (c + 1), sr, seconds, amp=amp) for c in range(channels)],
                       axis=1)
    if isinstance(path, bytes):
        with open(path, "wb") as f:
            fmt = os.path.splitext(path)[1][1:].decode().upper()
            sf.write(f, wav, sr, format=fmt, **kwargs)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, sr, **kwargs)
    return path


def dominant_frequency(wav: np.ndarray, sr: int) -> float:
    """Frequency in Hz of the largest peak of a Hann-windowed magnitude spectrum."""
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    return float(np.fft.rfftfreq(len(wav), 1 / sr)[np.argmax(spectrum)])


def write_av(
    path: Path,
    *,
    audio: np.ndarray | None,
    sr: int = 48000,
    audio_codec: str = "aac",
    video_codec: str | None = "mpeg4",
    seconds: float = 1.0,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a media file with PyAV: an optional audio track and an optional tiny video.

    Parameters
    ----------
    path : Path
        Output file; its extension picks the container (mp4, mkv, webm, avi, m4a).
    audio : ndarray, float32, shape (n_channels, n_samples), or None
        Samples in [-1, 1] for the audio track; None writes no audio stream.
    sr : int
        Rate of the audio track.
    audio_codec : str
        FFmpeg encoder name ("aac", "libopus", "pcm_s16le", "pcm_u8", ...).
    video_codec : str or None
        Encoder of a 32 x 32 video stream at 10 fps, or None for audio only.
    seconds : float
        Length of the video stream.
    options : dict, optional
        Muxer options: ``{"live": "1"}`` writes a Matroska file with no duration in its
        headers, as a live recording does.
    """
    with av.open(str(path), "w", options=options or {}) as container:
        vstream = astream = None
        if video_codec is not None:
            vstream = container.add_stream(video_codec, rate=10)
            vstream.width = vstream.height = 32
            vstream.pix_fmt = "yuv420p"
        if audio is not None:
            layout = "mono" if audio.shape[0] == 1 else "stereo"
            astream = container.add_stream(audio_codec, rate=sr, layout=layout)
        if vstream is not None:
            rng = np.random.default_rng(0)
            for i in range(round(seconds * 10)):
                img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                container.mux(vstream.encode(frame))
            container.mux(vstream.encode(None))
        if astream is not None:
            _mux_audio(container, astream, audio, sr)
    return path


def _mux_audio(container, stream, audio: np.ndarray, sr: int) -> None:
    fmt = stream.codec_context.codec.audio_formats[0].name  # what the encoder takes
    frame_size = stream.codec_context.frame_size or 1024
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    for start in range(0, audio.shape[1], frame_size):
        block = audio[:, start : start + frame_size]
        frame = av.AudioFrame.from_ndarray(_to_format(block, fmt), format=fmt, layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _to_format(block: np.ndarray, fmt: str) -> np.ndarray:
    """(channels, samples) float in [-1, 1] → the array layout PyAV wants for ``fmt``."""
    base = fmt.rstrip("p")
    if base == "flt":
        data = block.astype(np.float32)
    elif base == "s16":
        data = np.round(block * 32767).astype(np.int16)
    elif base == "s32":
        data = np.round(block * (2**31 - 1)).astype(np.int32)
    elif base == "u8":
        data = np.clip(np.round(block * 127 + 128), 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"no conversion to {fmt}")
    if fmt.endswith("p"):
        return np.ascontiguousarray(data)
    return np.ascontiguousarray(data.T.reshape(1, -1))  # packed: interleave the channels


def write_vbr_mp3_without_xing(path: Path, audio: np.ndarray, sr: int) -> Path:
    """Write a VBR MP3 with no Xing/LAME header, so its length can only be had by decoding.

    libsndfile 1.2 estimates such a file's length from the first frame's bitrate; with a
    loud start and a quiet rest the estimate is far too short.

    Parameters
    ----------
    path : Path
        Output file (.mp3).
    audio : ndarray, float32, shape (n_samples,)
        Mono samples in [-1, 1].
    sr : int
        Their rate.
    """
    with av.open(str(path), "w", format="mp3", options={"write_xing": "0"}) as container:
        stream = container.add_stream("libmp3lame", rate=sr, layout="mono")
        stream.codec_context.qscale = 4  # variable bitrate
        _mux_audio(container, stream, audio[None].astype(np.float32), sr)
    return path


#: FFmpeg's names for layouts of n channels.
LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 7: "6.1", 8: "7.1"}


def write_multichannel(path: Path, *, channels: int, codec: str = "aac", sr: int = 48000,
                       seconds: float = 1.0) -> np.ndarray:
    """An audio-only file of ``channels`` channels, channel c a sine of 220 (c + 1) Hz at
    amplitude 0.05 (c + 1), written with PyAV; the encoder converts from packed float.
    Returns the samples written, shape (channels, n)."""
    layout = LAYOUTS[channels]
    data = np.stack([sine(220.0 * (c + 1), sr, seconds, amp=0.05 * (c + 1))
                     for c in range(channels)])
    frame_size = 960 if codec == "libopus" else 1024
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sr, layout=layout)
        for start in range(0, data.shape[1], frame_size):
            block = np.ascontiguousarray(data[:, start : start + frame_size].T.reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = sr, start, Fraction(1, sr)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return data


def decode_or_abort(request):
    """A test-only decoder: :func:`asttools.audio.sources.decode_file`, except that a file whose
    name holds "crash" kills its process with ``os.abort()`` (SIGABRT), as a segfault in
    FFmpeg would. Tests put it in ``asttools.run._items.decode_file``."""
    import os

    from asttools.audio.sources import decode_file

    if request is not None and "crash" in os.path.basename(request[0]):
        os.abort()
    return decode_file(request)


def decode_after_cut(request):
    """A test-only decoder: :func:`asttools.audio.sources.decode_file`, except that a file whose
    name holds "changing" is first cut to half its length, as if it were truncated while
    a run read it (after it was hashed)."""
    import os

    from asttools.audio.sources import decode_file

    if request is not None and "changing" in os.path.basename(request[0]):
        size = os.path.getsize(request[0])
        os.truncate(request[0], size // 2)
    return decode_file(request)
