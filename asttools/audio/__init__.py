"""Audio in: decode any file to 16 kHz mono, probe containers, read the video's clock.

``load_audio``/``stream_audio`` decode (soundfile, PyAV), ``probe_media`` reads a
container's facts as a :class:`MediaInfo`, :mod:`asttools.audio.sources` turns a file
into what a model run needs, :mod:`asttools.audio.frames` decodes video frames on the
audio's clock."""

import lazy_loader as _lazy

# One list: the names below come from __init__.pyi (for type checkers too), imported on
# first use.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
