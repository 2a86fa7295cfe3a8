"""Each point's audio for the page: compressed once per file, each point a span of it.

A file's audio is decoded once (16 kHz mono, :func:`asttools.audio.load_audio`), cut to
the stretch its points cover and written as Ogg Vorbis, which every current browser plays.
The page plays a point by seeking its file's audio to the point's start and stopping at its
end. ``embed`` puts the Ogg files into the page as base64 data URIs (one file to share);
``files`` writes them beside the page and links them by relative path (for maps too large to
embed). A file that was moved or deleted, or has no audio stream, leaves its points on the
map, marked and silent.
"""

from __future__ import annotations

import base64
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ..audio import load_audio
from ..constants import SAMPLE_RATE
from ..errors import ASTToolsError, ASTToolsWarning, ParameterError

#: Ways to give the page its audio: inline data URIs, files beside the page, or none.
AUDIO_MODES = ("embed", "files", "none")
#: Most points with audio one page embeds (``audio="embed"``); beyond it, use ``"files"``.
MAX_EMBEDDED_POINTS = 2000
#: Most bytes of compressed audio one page embeds (before base64, which adds a third).
MAX_EMBEDDED_BYTES = 50_000_000
#: Vorbis quality (soundfile's ``compression_level``: 0 best, 1 smallest).
_COMPRESSION = 0.6


@dataclass
class PageAudio:
    """What the page needs to play each point.

    Attributes
    ----------
    sources : list of str
        One per encoded file: a data URI or a path relative to the page.
    index : ndarray, int, shape (n_points,)
        The point's entry in ``sources``; -1 when it cannot be played.
    start, end : ndarray, float, shape (n_points,)
        The point's span in seconds of its source.
    note : list of str
        Why a point cannot be played ("" when it can).
    n_bytes : int
        Compressed audio, in bytes.
    """

    sources: list[str] = field(default_factory=list)
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    end: np.ndarray = field(default_factory=lambda: np.zeros(0))
    note: list[str] = field(default_factory=list)
    n_bytes: int = 0
    mode: str = "none"


#: Samples handed to libsndfile's Vorbis encoder per call: one call with a few minutes of
#: audio crashes the process (seen with soundfile 0.13's libsndfile 1.2.2: 200 s at 16 kHz
#: in one ``sf.write`` is a segmentation fault, 100 s is not); blocks of 5 s are safe.
_OGG_BLOCK = 5 * 16_000


def _ogg(wav: np.ndarray, sr: int) -> bytes:
    """``wav`` (mono, float) as Ogg Vorbis bytes, written block by block."""
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", sr, 1, format="OGG", subtype="VORBIS",
                      compression_level=_COMPRESSION) as out:
        for i in range(0, len(wav), _OGG_BLOCK):
            out.write(wav[i:i + _OGG_BLOCK])
    return buffer.getvalue()


def page_audio(points: pd.DataFrame, *, mode: str = "embed", page: str | os.PathLike | None = None,
               max_points: int = MAX_EMBEDDED_POINTS,
               max_bytes: int = MAX_EMBEDDED_BYTES) -> PageAudio:
    """Encode the audio of every point's file and place each point in it.

    Parameters
    ----------
    points : DataFrame
        From ``_points.points_table``: ``path``, ``start_s``, ``end_s``,
        ``audio_offset_s``, ``audio_status``.
    mode : {"embed", "files", "none"}
    page : path, optional
        The HTML file (``mode="files"`` writes ``<stem>_audio/NNNN.ogg`` beside it).
    max_points, max_bytes : int
        Limits of ``mode="embed"`` (see :data:`MAX_EMBEDDED_POINTS`,
        :data:`MAX_EMBEDDED_BYTES`).

    Raises
    ------
    ParameterError
        Unknown mode; ``"files"`` without ``page``; more points or bytes than the limits
        of ``"embed"`` (the message suggests ``audio="files"``).
    """
    if mode not in AUDIO_MODES:
        raise ParameterError(f"audio must be one of {AUDIO_MODES}, given audio={mode!r}")
    n = len(points)
    out = PageAudio(index=np.full(n, -1), start=np.zeros(n), end=np.zeros(n),
                    note=["no audio in this page (audio='none')"] * n if mode == "none"
                    else [""] * n, mode=mode)
    if mode == "none":
        return out
    audible = points["audio_status"].isin(["ok", "silent"]).to_numpy()
    if mode == "embed" and audible.sum() > max_points:
        raise ParameterError(
            f"{int(audible.sum())} points with audio are more than one page embeds "
            f"(max_points={max_points}, asttools.explorer.MAX_EMBEDDED_POINTS): save with "
            "audio='files' (asttools explore --audio files), which writes the audio beside "
            "the HTML file and links it by relative path, or audio='none'")
    folder = None
    if mode == "files":
        if page is None:
            raise ParameterError("audio='files' writes the audio beside the page: give the "
                                 "page's path (Explorer.save(path, audio='files'))")
        page = Path(page)
        folder = page.with_name(f"{page.stem}_audio")
        folder.mkdir(parents=True, exist_ok=True)
    for i in np.flatnonzero(~audible):
        out.note[i] = f"no audio ({points['audio_status'].iloc[i]})"
    for path, rows in points.loc[audible].groupby("path", sort=False).groups.items():
        rows = np.asarray([points.index.get_loc(r) for r in rows])
        if not os.path.exists(path):
            for i in rows:
                out.note[i] = f"audio file missing: {path}"
            continue
        offset = float(points["audio_offset_s"].iloc[rows[0]])
        lo = max(0.0, float(points["start_s"].iloc[rows].min()) - offset)
        hi = max(lo, float(points["end_s"].iloc[rows].max()) - offset)
        try:
            with warnings.catch_warnings():  # a silent clip plays silence; its status says so
                warnings.simplefilter("ignore", ASTToolsWarning)
                wav, sr = load_audio(path, sr=SAMPLE_RATE, offset=lo, duration=hi - lo)
        except (ASTToolsError, OSError) as err:
            for i in rows:
                out.note[i] = f"audio not readable: {err}"
            continue
        if not len(wav):
            for i in rows:
                out.note[i] = "no audio in this span"
            continue
        data = _ogg(wav, sr)
        out.n_bytes += len(data)
        if mode == "embed":
            if out.n_bytes > max_bytes:
                raise ParameterError(
                    f"the points' audio is more than {max_bytes / 1e6:.0f} MB compressed "
                    "(asttools.explorer.MAX_EMBEDDED_BYTES): save with audio='files' "
                    "(asttools explore --audio files), which links the audio by relative path")
            out.sources.append("data:audio/ogg;base64," + base64.b64encode(data).decode())
        else:
            name = f"{len(out.sources):04d}.ogg"
            (folder / name).write_bytes(data)
            out.sources.append(f"{folder.name}/{name}")
        k = len(out.sources) - 1
        duration = len(wav) / sr
        for i in rows:
            out.index[i] = k
            out.start[i] = min(max(0.0, points["start_s"].iloc[i] - offset - lo), duration)
            out.end[i] = min(max(out.start[i], points["end_s"].iloc[i] - offset - lo), duration)
    return out
