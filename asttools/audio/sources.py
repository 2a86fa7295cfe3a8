"""An input file's audio as the streaming pass cuts it, decoded in a thread or a process.

What :func:`asttools.run.iter_windows` needs of a file before it cuts windows: the
16 kHz mono samples (or an open stream, for a long file or one of unknown length, see
:func:`streams`), where they start in the file, and what its headers say about its place
on a video's clock. This module
imports no torch, so that worker processes (``workers="auto"``, see
:mod:`asttools.concurrency`) start in a fraction of a second and stay small: they import
it, numpy, soundfile, PyAV and soxr, nothing more.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from ..concurrency import crash_reason
from ..constants import SAMPLE_RATE
from ..errors import AudioError
from ._decode import AudioStream, load_audio, stream_audio
from ._levels import is_silent
from ._probe import MediaInfo, probe_media

__all__ = ["STREAM_BYTES", "STREAM_S", "InputMedia", "Source", "decode_crashed", "decode_file",
           "file_media", "load_file", "streams"]

#: Files whose header says they are longer than this many seconds are decoded block by
#: block (:func:`asttools.audio.stream_audio`) while their windows are cut, not whole.
STREAM_S = 600.0
#: ... and so are files whose samples, decoded whole at their own rate and channels as
#: float32, would take more than this many bytes (ten minutes of 48 kHz stereo, 230 MB:
#: a 594 s FLAC of 192 kHz x 8 channels is 3.6 GB), and files whose length is unknown.
STREAM_BYTES = 600 * 48000 * 2 * 4


@dataclass(frozen=True)
class InputMedia:
    """What is known of an input's media, as its table columns say it: the typed record
    that travels from the probe (:func:`file_media`) and the decoder to the tables of
    ``embed``, ``extract`` and ``timestamp_embeddings`` (a misspelt field fails at once,
    with an AttributeError, instead of reading None from a dict).

    Every field is None when unknown (an array input, a file the probe cannot read).

    Attributes
    ----------
    audio_offset_s : float or None
        Where the audio starts on the video's clock (:class:`MediaInfo`'s).
    audio_duration_s : float or None
        The decoded audio's length (set once the whole track was decoded).
    video_duration_s, frame_rate : float or None
        The video stream's length and frame rate.
    av_warning : str or None
        What differs between the headers and the decoded audio
        (:func:`asttools.audio.av_mismatch`).
    n_audio_streams : int or None
        How many audio streams the file has.
    audio_status : str or None
        ``"silent"`` once decoding found the audio silent; None: as the run says
        (``"ok"``, or the failure's status).
    """

    audio_offset_s: float | None = None
    audio_duration_s: float | None = None
    video_duration_s: float | None = None
    frame_rate: float | None = None
    av_warning: str | None = None
    n_audio_streams: int | None = None
    audio_status: str | None = None

    def columns(self) -> dict[str, Any]:
        """The media columns of :data:`asttools.columns.INPUT_COLUMNS`
        (``audio_offset_s`` ... ``av_warning``, None when unknown), and
        ``n_audio_streams`` when known."""
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in ("audio_status", "n_audio_streams")}
        if self.n_audio_streams is not None:
            out["n_audio_streams"] = self.n_audio_streams
        return out

    def known(self) -> dict[str, Any]:
        """The facts known of a file that failed, as its error row lists them: what the
        probe read (``audio_offset_s``, unless the asked audio stream is missing,
        ``video_duration_s``, ``frame_rate``, ``n_audio_streams``) and what decoding
        found (``audio_duration_s``, ``av_warning``, when set); nothing for an array or
        a file the probe could not read."""
        out: dict[str, Any] = {}
        if self.n_audio_streams is not None:  # the probe read the headers
            if self.audio_offset_s is not None or self.n_audio_streams == 0:
                out["audio_offset_s"] = self.audio_offset_s
            out.update(video_duration_s=self.video_duration_s, frame_rate=self.frame_rate)
        for name in ("audio_duration_s", "av_warning"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.n_audio_streams is not None:
            out["n_audio_streams"] = self.n_audio_streams
        return out

    @property
    def probed(self) -> bool:
        """Whether anything is known (False for an array, or a file the probe could not
        read)."""
        return any(getattr(self, f.name) is not None for f in fields(self))

    def but(self, **changes: Any) -> InputMedia:
        """A copy with ``changes`` (:func:`dataclasses.replace`)."""
        return replace(self, **changes)


@dataclass
class Source:
    """An input's audio as the streaming pass cuts it: the samples (or an open stream for
    a long file), where they start in the file, and what is known about the media."""

    audio: np.ndarray | AudioStream
    first: int = 0  # the file's 16 kHz sample number of audio[0] (a segment's context)
    media: InputMedia = field(default_factory=InputMedia)
    info: MediaInfo | None = None  # what the headers say (files only)
    silent: bool | None = None  # asttools.audio.is_silent(audio), where it was decoded


def file_media(path: str | os.PathLike,
               audio_stream: int | None = None) -> tuple[InputMedia, MediaInfo | None]:
    """What a file's headers say about its place on the video's clock: where its audio
    starts (``audio_offset_s``), the video's duration and frame rate. Nothing for a file
    the probe cannot read, or whose ``audio_stream`` does not exist (decoding then says
    why). ``n_audio_streams``: how many audio streams it has."""
    try:
        info = probe_media(path)
        if audio_stream and audio_stream < info.n_audio_streams:
            info = probe_media(path, audio_stream=audio_stream)
    except AudioError:
        return InputMedia(), None
    if audio_stream and audio_stream >= info.n_audio_streams:  # decoding says so
        return InputMedia(video_duration_s=info.video_duration_s, frame_rate=info.frame_rate,
                          n_audio_streams=info.n_audio_streams), None
    return InputMedia(audio_offset_s=info.audio_offset_s,
                      video_duration_s=info.video_duration_s, frame_rate=info.frame_rate,
                      n_audio_streams=info.n_audio_streams), info


def streams(opened: AudioStream) -> bool:
    """Whether a file is decoded block by block rather than whole: its header declares
    more than ``STREAM_S`` seconds, or more than ``STREAM_BYTES`` of decoded samples at
    its own rate and channels, or does not say how long it is (a live recording's
    Matroska, a chained Ogg), so that memory stays bounded whatever the file."""
    if opened.duration_s is None or not opened.native_rate:
        return True
    decoded = opened.duration_s * opened.native_rate * opened.channels * 4
    return opened.duration_s > STREAM_S or decoded > STREAM_BYTES


def context(segment: tuple[float, float], offset_s: float, win: int) -> tuple[int, int]:
    """The audio samples (16 kHz, from the stream's first) a segment's windows may need:
    the segment and two windows' length on each side, enough for every window on the
    5.1 s grid that owns one of its steps (:mod:`asttools.run.segments`)."""
    a = round((segment[0] - offset_s) * SAMPLE_RATE)
    b = round((segment[1] - offset_s) * SAMPLE_RATE)
    return max(0, a - 2 * win), max(b + 2 * win, 1)


def load_file(path: str, *, segment: tuple[float, float] | None, channel: int | None,
              win: int, media: InputMedia, info: MediaInfo | None,
              stream: bool = True, audio_stream: int | None = None) -> Source | None:
    """The 16 kHz mono audio of a file: whole, an open stream for a file that
    :func:`streams` (None instead when ``stream`` is false), or for a segment just the part
    around it that its windows need. Raises :class:`~asttools.errors.AudioError`."""
    if segment is not None:
        start, stop = context(segment, media.audio_offset_s or 0.0, win)
        wav, _ = load_audio(path, sr=SAMPLE_RATE, channel=channel,
                            offset=start / SAMPLE_RATE, duration=(stop - start) / SAMPLE_RATE,
                            audio_stream=audio_stream)
        return Source(wav, start, media, info, is_silent(wav))
    try:
        opened = stream_audio(path, sr=SAMPLE_RATE, channel=channel,
                              audio_stream=audio_stream)
    except AudioError:  # load_audio says why, or decodes it another way
        opened = None
    if opened is not None:
        if streams(opened):
            if stream:
                return Source(opened, 0, media, info)
            blocks = iter(opened)  # its first block in the worker: a decoder that crashes
            try:  # its process does so here, costing this file alone
                next(blocks, None)
            finally:
                blocks.close()
            return None
        opened.close()
    wav, _ = load_audio(path, sr=SAMPLE_RATE, channel=channel, audio_stream=audio_stream)
    return Source(wav, 0, media, info, is_silent(wav))  # in the worker, not the model's thread


def decode_file(
    request: tuple[str, tuple[float, float] | None, int | None, int, int | None] | None,
) -> tuple | None:
    """What a worker process does per file: probe and decode it, returning plain values.

    ``request`` is ``(path, segment, channel, win, audio_stream)``, or None for an
    input that is not a file (returns None: the caller handles it). Returns ``("ok", Source)``;
    ``("stream",)`` for a file long enough to be read block by block, which the caller
    opens itself (a stream does not cross processes); or ``("error", reason, status,
    media)``.
    """
    if request is None:
        return None
    path, segment, channel, win, audio_stream = request
    media, info = file_media(path, audio_stream)
    try:
        source = load_file(path, segment=segment, channel=channel, win=win, media=media,
                           info=info, stream=False, audio_stream=audio_stream)
    except AudioError as err:  # a video without audio keeps its duration and rate
        return ("error", err.reason, err.status, media)
    return ("stream",) if source is None else ("ok", source)


def decode_crashed(exitcode: int | None) -> tuple:
    """What :func:`decode_file` would have returned for a file whose decode process died
    (``concurrency.prefetch``'s ``crashed=``): an error naming how it ended, the status
    ``decode_error``, and no media facts. Said once for every pool that decodes files.

    Examples
    --------
    >>> decode_crashed(-11)[1].split(":")[0]
    'the decoder crashed while reading it (killed by SIGSEGV'
    >>> decode_crashed(-11)[2]
    'decode_error'
    """
    return ("error", f"the decoder crashed while reading it ({crash_reason(exitcode)}: a "
                     "fault in native code such as FFmpeg or libsndfile)", "decode_error",
            InputMedia())
