"""The exception family and warning class of asttools.

Every error asttools raises derives from :class:`ASTToolsError`. Errors about a bad value
(a file that is not audio, an unknown pooling) also derive from :class:`ValueError`, so an
ordinary ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "ASTToolsError",
    "ASTToolsWarning",
    "AudioError",
    "ModelLoadError",
    "ParameterError",
    "StoreError",
]


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

    The message is ``f"{path}: {reason}"``, so a log line names the file first.
    """

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep pickling (worker processes) working
        return (type(self), (self.path, self.reason))


class ModelLoadError(ASTToolsError, OSError):
    """The model weights or config cannot be had (offline, not cached, bad directory)."""


class StoreError(ASTToolsError):
    """An embedding store is missing, unreadable, or was written with other settings."""


class ASTToolsWarning(UserWarning):
    """Bad-but-usable input (silence, a clip shorter than one patch) and random weights."""
