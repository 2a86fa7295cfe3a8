"""The exception family and warning class of asttools.

Every error asttools raises derives from :class:`ASTToolsError`. Errors about a bad value
(a file that is not audio, an unknown pooling) also derive from :class:`ValueError`, so an
ordinary ``except ValueError`` keeps working. An :class:`AudioError` says what kind of
failure it is in its ``status`` (:data:`AUDIO_STATUSES`).
"""

from __future__ import annotations

__all__ = [
    "ASTToolsError",
    "ASTToolsWarning",
    "AUDIO_ERROR_STATUSES",
    "AUDIO_STATUSES",
    "AudioError",
    "ModelLoadError",
    "NoAudioStreamError",
    "ParameterError",
    "StoreError",
    "VideoError",
    "WITH_AUDIO",
]

#: What became of an input's audio, one word per input (the ``status`` of an
#: :class:`AudioError`, and of a status table's ``audio_status``):
#:
#: - ``"ok"``: decoded, not silent;
#: - ``"silent"``: decoded, but silent by :func:`asttools.audio.is_silent` (peak or RMS below
#:   :data:`~asttools.audio.SILENCE_PEAK_DBFS` / :data:`~asttools.audio.SILENCE_RMS_DBFS`);
#:   usable, so not an error;
#: - ``"no_audio_stream"``: a container that opens but holds no audio stream (a video
#:   without a track): expected in video datasets;
#: - ``"decode_error"``: the bytes were read but are not decodable audio: an empty file,
#:   not a media format, truncated or corrupt, NaN or Inf samples, no samples;
#: - ``"unreadable"``: the bytes cannot be read: missing, permission denied, a directory,
#:   not a regular file (a pipe, a device), an I/O error, a path that is not valid;
#: - ``"error"``: anything else (e.g. a ``channel`` or ``offset`` the file does not have,
#:   an in-memory array of the wrong dtype or shape, more windows than one clip may have).
AUDIO_STATUSES = ("ok", "silent", "no_audio_stream", "decode_error", "unreadable", "error")
#: The statuses an :class:`AudioError` can carry: all but ``"ok"`` and
#: ``"silent"``.
AUDIO_ERROR_STATUSES = AUDIO_STATUSES[2:]

#: The statuses with embeddings (``has_audio`` is true for them).
WITH_AUDIO = ("ok", "silent")


class ASTToolsError(Exception):
    """Root of every exception raised by asttools."""


class ParameterError(ASTToolsError, ValueError):
    """An argument has a value asttools cannot use; the message names it and the choices."""


class AudioError(ASTToolsError, ValueError):
    """An audio or video input cannot be turned into a waveform.

    Parameters
    ----------
    path : str
        The file (or a description of an in-memory input, e.g. ``"<array 0>"``).
    reason : str
        What is wrong with it, in words a user can act on.
    status : str, default "decode_error"
        What kind of failure it is, one of
        :data:`AUDIO_ERROR_STATUSES`: ``"unreadable"`` (the bytes
        cannot be read), ``"decode_error"`` (read, but not decodable audio),
        ``"no_audio_stream"`` (a container without an audio stream) or ``"error"``
        (anything else); see :data:`AUDIO_STATUSES`.

    Attributes
    ----------
    path, reason, status : str
        As given.

    Raises
    ------
    ParameterError
        ``status`` is not one of :data:`AUDIO_ERROR_STATUSES`.

    Notes
    -----
    The message is ``f"{path}: {reason}"``, so a log line names the file first; the status
    is not part of it.

    Examples
    --------
    >>> import pickle
    >>> e = AudioError("clip.wav", "file not found", status="unreadable")
    >>> str(e), e.status
    ('clip.wav: file not found', 'unreadable')
    >>> pickle.loads(pickle.dumps(e)).status
    'unreadable'
    """

    def __init__(self, path: object, reason: str, *, status: str = "decode_error"):
        if status not in AUDIO_ERROR_STATUSES:
            raise ParameterError(
                f"status={status!r} is not one of {AUDIO_ERROR_STATUSES} (an AudioError "
                "is a failure; 'ok' and 'silent' are not)"
            )
        self.path = str(path)
        self.reason = reason
        self.status = status
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep pickling (worker processes) working, status included
        return (type(self), (self.path, self.reason), {"status": self.status})


class NoAudioStreamError(AudioError):
    """A container that opens but holds no audio stream: a video without a track.

    An :class:`AudioError` whose ``status`` is always ``"no_audio_stream"``; for a video
    dataset an expected outcome rather than a failure, so ``except NoAudioStreamError``
    can tell it apart.

    Parameters
    ----------
    path : str
        The file.
    reason : str
        The message after the path, e.g. ``"no audio stream (streams found: video)"``.
    """

    def __init__(self, path: object, reason: str, *, status: str = "no_audio_stream"):
        if status != "no_audio_stream":
            raise ParameterError(
                f"a NoAudioStreamError has status 'no_audio_stream', got {status!r}")
        super().__init__(path, reason, status=status)


#: What :class:`VideoError` says went wrong with a video: ``"no_video_stream"`` (a file that
#: opens but holds no video, e.g. an audio file), ``"unreadable"`` (missing, not readable),
#: ``"decode_error"`` (not a decodable video, or no timed frame).
VIDEO_ERROR_STATUSES = ("no_video_stream", "unreadable", "decode_error")


class VideoError(ASTToolsError, ValueError):
    """A video input whose frames cannot be had: no video stream, unreadable, undecodable.

    Parameters
    ----------
    path : str
    reason : str
    status : str, default "decode_error"
        One of :data:`VIDEO_ERROR_STATUSES`.

    Examples
    --------
    >>> e = VideoError("a.wav", "no video stream (streams found: audio)",
    ...                status="no_video_stream")
    >>> str(e), e.status
    ('a.wav: no video stream (streams found: audio)', 'no_video_stream')
    """

    def __init__(self, path: object, reason: str, *, status: str = "decode_error"):
        if status not in VIDEO_ERROR_STATUSES:
            raise ParameterError(f"status={status!r} is not one of {VIDEO_ERROR_STATUSES}")
        self.path = str(path)
        self.reason = reason
        self.status = status
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason), {"status": self.status})


class ModelLoadError(ASTToolsError, OSError):
    """The model weights or config cannot be had (offline, not cached, bad directory)."""


class StoreError(ASTToolsError):
    """An embedding store is missing, unreadable, or was written with other settings."""


class ASTToolsWarning(UserWarning):
    """Bad-but-usable input (silence, a clip shorter than one patch) and random weights."""
