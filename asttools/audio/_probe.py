"""Media probing: a file's streams and timing from its headers, the audio on the video's clock.

:func:`probe_media` reads a file's streams from its headers (without decoding) into a
:class:`MediaInfo` and puts the audio on the video's clock: decoded sample ``k`` lies at
``audio_offset_s + k / sr`` on the video's timeline; :func:`av_mismatch` says when audio
and video end too far apart, :func:`length_mismatch` when the decoded audio is shorter or
longer than its header declares.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import av

from ._checks import _check_file, _check_seconds, _pick_stream, check_audio_stream
from ._codecs import (
    _AV_EXTENSIONS,
    _DecodeFailure,
    _open_soundfile,
    _undecodable,
)

__all__ = [
    "AV_SYNC_TOLERANCE_S",
    "MediaInfo",
    "av_mismatch",
    "length_mismatch",
    "probe_media",
]

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

# Samples in one codec frame allowed for, three times over, by av_mismatch (AAC's 1024).
_CODEC_FRAME = 1024
# AV_DISPOSITION_ATTACHED_PIC: a "video" stream that is an audio file's cover art.
_ATTACHED_PIC = 0x0400
# A Matroska/WebM stream's DURATION tag, "HH:MM:SS.nnnnnnnnn".
_DURATION_TAG = re.compile(r"^\s*(\d+):([0-5]?\d):([0-5]?\d(?:\.\d*)?)\s*$")


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
