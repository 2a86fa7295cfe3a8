"""An interactive embedding explorer: hover for labels, click to hear a point's span, select,
search, and share the map as one self-contained HTML file.

>>> import asttools  # doctest: +SKIP
>>> ex = asttools.explore("outputs/embeddings.parquet", truth="action")  # doctest: +SKIP
>>> ex.save("map.html")  # one file: BokehJS and the audio inline  # doctest: +SKIP

``_points`` computes the points and the map, ``_audio`` encodes each file's audio once
(Ogg Vorbis) and places each point's span in it, ``_page`` draws the Bokeh page.
"""

from ._audio import AUDIO_MODES, MAX_EMBEDDED_BYTES, MAX_EMBEDDED_POINTS
from ._explorer import Explorer, explore
from ._points import PER, SPECIAL_COLORS

__all__ = [
    "AUDIO_MODES",
    "MAX_EMBEDDED_BYTES",
    "MAX_EMBEDDED_POINTS",
    "PER",
    "SPECIAL_COLORS",
    "Explorer",
    "explore",
]
