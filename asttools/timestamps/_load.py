"""The audio of inputs asked for a range: decoded in the shared decode pool, kept near the range.

:func:`~asttools.timestamps.timestamp_embeddings` runs only the windows whose steps lie in
an input's range (``start_s``/``end_s``), so before it cuts windows it needs the clip's
length and the 16 kHz samples those windows cover. They come the way
:func:`asttools.run.iter_embed` gets every file's: files decode in ``workers`` worker
processes through :func:`asttools.audio.sources.decode_file` (probed, then decoded whole
by :func:`asttools.audio.load_audio`; a decoder that crashes costs its file alone), a file
long enough to stream (:func:`asttools.audio.sources.streams`) is read block by block
here and only the samples near the range are kept, and arrays are checked and resampled
here. Either way the samples equal those of a whole decode (the blocks of
:func:`asttools.audio.stream_audio` joined are :func:`~asttools.audio.load_audio`'s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..audio import check_waveform, is_silent, resample, stream_audio
from ..audio.sources import InputMedia, decode_crashed, decode_file, file_media
from ..concurrency import prefetch
from ..constants import SAMPLE_RATE
from ..errors import AudioError
from ..run.inputs import Item

__all__ = ["Decoded", "LoadFailure", "decoded_ranges", "near_range"]


@dataclass
class Decoded:
    """A ranged input's 16 kHz mono audio, or the part of it near the range.

    Attributes
    ----------
    samples : ndarray, float32, shape (n,)
        Samples ``first`` … ``first + n - 1`` of the clip.
    first : int
        The clip's sample number of ``samples[0]`` (0 unless read from a stream).
    n_samples : int
        The whole clip's length in samples.
    media : InputMedia
        What the file's headers say (:func:`asttools.audio.sources.file_media`): nothing
        known for arrays and files the probe cannot read.
    silent : bool
        The whole clip is silent (:func:`asttools.audio.is_silent`).
    """

    samples: np.ndarray
    first: int
    n_samples: int
    media: InputMedia = field(default_factory=InputMedia)
    silent: bool = False


@dataclass
class LoadFailure:
    """Why a ranged input could not be decoded (an :class:`~asttools.errors.AudioError`'s
    reason and status), and what its headers say (a video without audio keeps its
    duration and frame rate)."""

    reason: str
    status: str
    media: InputMedia = field(default_factory=InputMedia)


def near_range(start_s: float | None, end_s: float | None, offset_s: float,
               win: int) -> tuple[int, float]:
    """The samples ``[lo, hi)`` of a clip that hold every window reaching into a range.

    A step of ``[start_s, end_s)`` (seconds on the clock where the clip's first sample
    lies at ``offset_s``) comes from a window that contains it, and a window is ``win``
    samples long, so the windows that may give one lie within ``win`` samples of the
    range on either side.

    Returns
    -------
    lo : int
    hi : int or float
        ``math.inf`` for a range without an end.
    """
    lo = 0 if start_s is None else \
        max(0, math.floor((start_s - offset_s) * SAMPLE_RATE) - win - 1)
    hi = math.inf if end_s is None else \
        max(0, math.ceil((end_s - offset_s) * SAMPLE_RATE) + win + 1)
    return lo, hi



def _array(it: Item) -> Decoded | LoadFailure:
    try:
        wav = resample(check_waveform(it.source, it.sr, name=it.name), it.sr, SAMPLE_RATE)
    except AudioError as err:
        return LoadFailure(err.reason, err.status)
    return Decoded(wav, 0, len(wav), InputMedia(), bool(is_silent(wav)))


def _streamed(it: Item, asked: tuple[float | None, float | None, float | None], win: int,
              channel: int | None, audio_stream: int | None) -> Decoded | LoadFailure:
    """A long file read block by block, only the samples near its range held."""
    media, _ = file_media(it.source, audio_stream)
    start_s, end_s, offset_s = asked
    if offset_s is None:  # the headers say where the audio starts
        offset_s = media.audio_offset_s or 0.0
    lo, hi = near_range(start_s, end_s, offset_s, win)
    parts, pos = [], 0
    try:
        with stream_audio(it.source, sr=SAMPLE_RATE, channel=channel,
                          audio_stream=audio_stream) as stream:
            for block in stream:
                a, b = max(lo, pos), min(hi, pos + len(block))
                if b > a:
                    parts.append(block[a - pos: b - pos])
                pos += len(block)
            n, silent = stream.n_samples, bool(stream.silent)
    except AudioError as err:
        return LoadFailure(err.reason, err.status, media)
    kept = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return Decoded(kept, min(lo, n), n, media, silent)


def decoded_ranges(
    items: Iterable[Item],
    ranges: Mapping[int, tuple[float | None, float | None, float | None]],
    *,
    win: int,
    channel: int | None,
    audio_stream: int | None,
    workers: int,
) -> Iterator[tuple[Item, Decoded | LoadFailure | None]]:
    """Decode the inputs asked for a range, in input order, ``workers`` files ahead.

    Parameters
    ----------
    items : iterable of Item
    ranges : mapping
        ``item.index -> (start_s, end_s, offset_s)`` for the inputs asked for a range
        (``offset_s`` None: the file's headers say); the others are passed through.
    win : int
        Samples per window: what a stream keeps around the range (:func:`near_range`).
    channel, audio_stream
        As in :func:`asttools.run.iter_embed`.
    workers : int
        Worker processes that decode files (0: this thread), as
        :func:`asttools.run.iter_embed` starts them.

    Yields
    ------
    (Item, Decoded or LoadFailure or None)
        None for an input without a range (:func:`asttools.run.iter_embed` decodes it).
    """

    def request(it: Item):
        if it.index not in ranges or it.sr is not None:
            return None
        return (it.source, None, channel, win, audio_stream)

    for it, done in prefetch(decode_file, items, workers=workers, processes=True,
                             argument=request, name="asttools-load", crashed=decode_crashed):
        if it.index not in ranges:
            yield it, None
        elif it.sr is not None:
            yield it, _array(it)
        elif done[0] == "error":
            yield it, LoadFailure(done[1], done[2], done[3])
        elif done[0] == "stream":  # a stream does not cross processes: read here
            yield it, _streamed(it, ranges[it.index], win, channel, audio_stream)
        else:
            source = done[1]
            yield it, Decoded(source.audio, 0, len(source.audio), source.media,
                              bool(source.silent))
