"""How many streams a file holds one after another: a chained Ogg, a concatenated FLAC.

libsndfile decodes only the first of them (its header's length), while FFmpeg decodes
them all; :mod:`asttools.audio` hands such a file to PyAV. The count comes from the
bytes, not a decoder: each link of a chained Ogg starts with beginning-of-stream pages
(several at once for a multiplexed link, e.g. Vorbis with Theora), each FLAC stream with
``fLaC`` and its 34-byte STREAMINFO block. The file is mapped, not read into memory.
"""

from __future__ import annotations

import mmap
import re

__all__ = ["count_links"]

# An Ogg page header: capture pattern, version 0, header type with the
# beginning-of-stream bit (0x02, or 0x06 with end-of-stream: a one-page stream).
_OGG_BOS = re.compile(rb"OggS\x00[\x02\x06]")
# A FLAC stream: its marker, then STREAMINFO (type 0, last or not) of length 34.
_FLAC_START = re.compile(rb"fLaC[\x00\x80]\x00\x00\x22")


def count_links(name: str | bytes, fmt: str) -> int:
    """The number of streams stored one after another in an Ogg (``fmt="OGG"``) or FLAC
    (``"FLAC"``) file: 1 for an ordinary file, 0 when it cannot be read or for another
    format."""
    if fmt not in ("OGG", "FLAC"):
        return 0
    try:
        with open(name, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if fmt == "FLAC":
                return sum(1 for _ in _FLAC_START.finditer(mm))
            links, end = 0, -1
            for match in _OGG_BOS.finditer(mm):
                start = match.start()
                if start != end:  # not right after the last BOS page: a new link
                    links += 1
                head = mm[start + 26 : start + 27]
                if not head:
                    break
                n_segments = head[0]
                lacing = mm[start + 27 : start + 27 + n_segments]
                end = start + 27 + n_segments + sum(lacing)
            return links
    except (OSError, ValueError):  # unreadable, or empty (mmap refuses size 0)
        return 0
