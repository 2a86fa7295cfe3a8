"""Inputs as items and their loading: paths and arrays to :class:`Item` records, decoded
ahead of the model in the decode pool.

:func:`as_items` normalises what :func:`asttools.embed` takes; :func:`media_of` reads what
a file's headers say; ``_loaded`` decodes items in worker processes (a decoder that
crashes costs one file), the one loading path of every entry point.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..audio import (
    MediaInfo,
    av_mismatch,
    check_sample_rate,
    check_waveform,
    length_mismatch,
    resample,
)
from ..audio.sources import InputMedia, Source, decode_crashed, decode_file, file_media, load_file
from ..concurrency import prefetch
from ..constants import SAMPLE_RATE, WINDOW_S
from ..errors import ASTToolsWarning, AudioError, ParameterError
from ._driver import ItemError
from .inputs import Item, absolute_path, item_of, list_inputs, printable_path

__all__ = [
    "as_items",
    "media_of",
]


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_array(x: object) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor, list))


def as_items(inputs, sr: int | None = None) -> list[Item]:
    """One ``Item`` per input. Rates are checked here, never rounded (``sr=44100.5`` fails).

    A single path, array, ``(array, sr)`` tuple, or flat list/tuple of numbers (one
    waveform) is one input; any other list holds one input per element.
    """
    if sr is not None:
        sr = check_sample_rate(sr, name="sr")
    if isinstance(inputs, pd.DataFrame):  # a table of inputs (list_inputs): ids, segments
        return [item_of(i, row) for i, row in enumerate(list_inputs(inputs)
                                                          .to_dict("records"))]
    if (
        isinstance(inputs, (str, bytes, os.PathLike, np.ndarray, torch.Tensor))
        or (isinstance(inputs, tuple) and len(inputs) == 2 and _is_array(inputs[0])
            and _is_number(inputs[1]))
        or (isinstance(inputs, (list, tuple)) and len(inputs) > 0
            and all(_is_number(v) for v in inputs))
    ):
        inputs = [inputs]
    items = []
    for i, x in enumerate(inputs):
        if isinstance(x, (str, bytes, os.PathLike)):  # bytes: a name that need not be UTF-8
            name = os.fsdecode(x)
            items.append(Item(i, name, None, absolute_path(name)))
        elif isinstance(x, tuple) and len(x) == 2 and _is_array(x[0]):
            rate = check_sample_rate(x[1], name=f"input {i}: sr")
            items.append(Item(i, _as_array(x[0]), rate, f"<array {i}>"))
        elif _is_array(x) or (isinstance(x, tuple) and len(x) and all(map(_is_number, x))):
            if sr is None:
                raise ParameterError(
                    f"input {i} is an array: give its sample rate with sr=..., or pass (array, sr)"
                )
            items.append(Item(i, _as_array(x), sr, f"<array {i}>"))
        else:
            raise ParameterError(
                f"input {i} is a {type(x).__name__}; embed takes paths, arrays (with sr=) "
                "or (array, sr) tuples, or a list of these; a flat list of numbers is one "
                "waveform"
            )
    return items


def _as_array(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _load(item: Item, channel: int | None, win: int, media: InputMedia,
          info: MediaInfo | None, audio_stream: int | None = None) -> Source:
    """The 16 kHz mono audio of an input (:func:`asttools.audio.sources.load_file` for a file)."""
    if item.sr is not None:
        wav = check_waveform(item.source, item.sr, name=item.name)
        return Source(resample(wav, item.sr, SAMPLE_RATE))
    return load_file(item.source, segment=item.segment, channel=channel, win=win,
                     media=media, info=info, audio_stream=audio_stream)


def media_of(item: Item, audio_stream: int | None = None,
             ) -> tuple[InputMedia, MediaInfo | None]:
    """What a file's headers say about its place on the video's clock: where its audio
    starts (``audio_offset_s``), the video's duration and frame rate. Nothing for an
    in-memory input, or a file the probe cannot read (decoding then says why)."""
    if item.sr is not None:
        return InputMedia(), None
    return file_media(item.source, audio_stream)


def _finish_media(source: Source, it: Item, n_samples: int, silent: bool) -> None:
    """Record what decoding found: the track's length, silence, and whether the audio
    ends where the video does (``av_warning``, the text of
    :func:`asttools.audio.av_mismatch`)."""
    if silent:
        source.media = source.media.but(audio_status="silent")
    if it.segment is None:  # the whole track was decoded: its true length
        source.media = source.media.but(audio_duration_s=n_samples / SAMPLE_RATE)
        if source.info is not None:  # what differs from the headers, said and recorded
            notes = [length_mismatch(source.info, n_samples / SAMPLE_RATE),
                     av_mismatch(source.info, n_samples / SAMPLE_RATE)]
            source.media = source.media.but(av_warning="; ".join(n for n in notes if n)
                                            or None)
            if notes[0] is not None:
                warnings.warn(f"{printable_path(it.name)}: {notes[0]}", ASTToolsWarning,
                              stacklevel=2)


def _loaded(items: Iterable[Item], channel: int | None, workers: int,
            win: int = round(WINDOW_S * SAMPLE_RATE), *,
            audio_stream: int | None = None) -> Iterator[tuple[Item, Any]]:
    """Yield (item, Source or ItemError), decoding up to 2*workers items ahead: files in
    ``workers`` worker processes (so that a crash in native code costs one file), or in
    the caller's thread for ``workers=0``."""

    def job(it: Item) -> Source | ItemError:
        media, info = media_of(it, audio_stream)
        try:
            return _load(it, channel, win, media, info, audio_stream)
        except AudioError as err:  # a video without audio keeps its duration and rate
            return ItemError(it, err.reason, err.status, media=media)

    if workers <= 0:
        return prefetch(job, items, workers=workers, name="asttools-load")
    return _loaded_in_processes(items, channel, workers, win, job, audio_stream)


def _loaded_in_processes(items, channel, workers, win, job, audio_stream=None):
    """Files decode in worker processes (:func:`asttools.audio.sources.decode_file`, in a module
    without torch; only path, segment and channel are sent, the 16 kHz waveform comes
    back); arrays, and files long enough to be read as a stream, are handled here, in
    input order. A decoder that crashes its process (native code: FFmpeg, libsndfile)
    costs that file alone, as a ``decode_error``: the pool starts again for the rest."""

    def request(it: Item):
        return None if it.sr is not None else (it.source, it.segment, channel, win,
                                                audio_stream)

    for it, done in prefetch(decode_file, items, workers=workers, processes=True,
                             argument=request, name="asttools-load", crashed=decode_crashed):
        if done is None or done[0] == "stream":
            yield it, job(it)
        elif done[0] == "error":
            yield it, ItemError(it, done[1], done[2], media=done[3])
        else:
            yield it, done[1]



