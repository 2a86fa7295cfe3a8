"""One forward pass per window: AST embeddings and AudioSet probabilities together.

:func:`embed` takes paths or arrays, loads and resamples them (in background threads, ahead
of the model), cuts clips longer than a window into windows, featurises each batch and
runs the encoder once. The same pass yields the embedding (any pooling, any layer) and
the classifier's logits; probabilities are their sigmoid (AudioSet is multi-label).

:func:`iter_embed` is that pass as a stream, one :class:`ItemResult` (or
:class:`ItemError`) per input as soon as all its windows have run, with memory bounded by
the batch size; :func:`asttools.extract` builds the embedding store on it. Inputs are
:class:`Item` records; :func:`forward` runs one batch.
"""

from __future__ import annotations

import numbers
import os
import platform
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import transformers
from tqdm.auto import tqdm

from ..model import features
from .._version import __version__
from ..audio import (
    AudioStream,
    MediaInfo,
    av_mismatch,
    check_audio_stream,
    check_sample_rate,
    check_waveform,
    is_silent,
    length_mismatch,
    resample,
)
from ..columns import INPUT_COLUMNS
from ..concurrency import check_workers, crash_reason, prefetch, resolve_workers
from ..constants import BATCH_SIZE, FRAME_SHIFT, SAMPLE_RATE, TIME_STRIDE, WINDOW_S, patch_grid
from ..errors import ASTToolsWarning, AudioError, NoAudioStreamError, ParameterError
from ..model.features import fbank, window_bounds
from .inputs import Item, absolute_path, item_of, list_inputs, printable_path
from ..model import load_model, model_info
from ..model.precision import precision_meta, prepare_model
from .result import TABLE_COLUMNS, EmbeddingResult
from .segments import SegmentPlan, check_segment_pooling, pool_segment, segment_windows
from ..settings import check_pooling, check_precision, check_windows
from ..audio.sources import Source, decode_file, file_media, load_file

__all__ = [
    "ON_ERROR",
    "Cut",
    "ItemError",
    "ItemResult",
    "as_items",
    "check_layer",
    "Window",
    "embed",
    "forward",
    "media_of",
    "iter_embed",
    "iter_windows",
    "run_meta",
    "sigmoid",
    "silence_embedding",
]

#: What ``embed`` does with inputs that fail to load.
ON_ERROR = ("warn", "raise", "ignore")


# --------------------------------------------------------------------------- forward


def check_layer(layer: int, n_layers: int) -> int:
    """Map ``layer`` (negative counts from the end) to ``0..n_layers``.

    Parameters
    ----------
    layer : int
        ``0`` is the patch + position embeddings, ``i`` the output of block ``i``, ``-1``
        (or ``n_layers``) the final output after the last LayerNorm.
    n_layers : int
        The model's ``num_hidden_layers``.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        ``layer`` is not an integer in ``-(n_layers + 1)..n_layers``.

    Examples
    --------
    >>> check_layer(-1, 12), check_layer(0, 12), check_layer(-13, 12)
    (12, 0, 0)
    """
    if not isinstance(layer, (int, np.integer)) or not -(n_layers + 1) <= layer <= n_layers:
        raise ParameterError(
            f"layer={layer!r} is out of range for a model with {n_layers} layers: use "
            f"0..{n_layers} (0 = patch + position embeddings, {n_layers} or -1 = final output)"
        )
    return int(layer) % (n_layers + 1)


def forward(
    model,
    waveforms: torch.Tensor | np.ndarray,
    *,
    lengths: Sequence[int] | None = None,
    pooling: str = "cls",
    layer: int = -1,
    precision: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run AST once on a batch of 16 kHz windows: embeddings and logits from one pass.

    Parameters
    ----------
    model : transformers.ASTForAudioClassification
    waveforms : Tensor or ndarray, shape (batch, n_samples)
        16 kHz mono windows, zero-padded on the right to a common length.
    lengths : sequence of int, shape (batch,), optional
        Valid samples per window (see :func:`asttools.model.features.fbank`).
    pooling : {"cls", "dist", "mean", "patches", "time", "grid"}, default "cls"
    layer : int, default -1
        ``0`` is the patch + position embeddings, ``i`` the output of block ``i``, and
        the last layer (``-1``) the encoder's final output after its LayerNorm — the
        tensor transformers returns as ``last_hidden_state``.
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}, optional
        Run a copy of the model in this precision (:func:`asttools.model.precision.prepare_model`,
        made once per model and precision); default: the model as it is. The fbank is
        computed in float32 and cast to the model's dtype; the outputs are float32.

    Returns
    -------
    embeddings : ndarray, float32, shape (batch, hidden) or (batch, f, t, hidden)
    logits : ndarray, float32, shape (batch, n_labels)
        The classifier's logits on the pooled final output; ``1 / (1 + exp(-logits))``
        are the probabilities.

    Both arrays own their memory (``.base is None``): they are copies, not views into the
    encoder's hidden states, so keeping a (batch, hidden) embedding keeps only its own
    bytes alive, not the (batch, 1214, hidden) tensor it was pooled from.
    """
    check_pooling(pooling)
    if precision is not None:
        model = prepare_model(model, precision)
    cfg = model.config
    layer = check_layer(layer, cfg.num_hidden_layers)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(waveforms).to(device)
    feats = fbank(x, lengths=lengths, num_mel_bins=cfg.num_mel_bins, max_length=cfg.max_length)
    model.eval()
    with torch.inference_mode():
        out = model.audio_spectrogram_transformer(
            feats.to(dtype), output_hidden_states=layer != cfg.num_hidden_layers
        )
        logits = model.classifier(out.pooler_output)
        h = out.last_hidden_state if layer == cfg.num_hidden_layers else out.hidden_states[layer]
        if pooling == "cls":
            emb = h[:, 0]
        elif pooling == "dist":
            emb = h[:, 1]
        elif pooling == "mean":
            emb = (h[:, 0] + h[:, 1]) / 2
        elif pooling == "patches":
            emb = h[:, 2:].mean(dim=1)
        else:
            emb = h[:, 2:].reshape(h.shape[0], *patch_grid(cfg), h.shape[-1])
            if pooling == "time":  # the mean over frequency: one vector per patch column
                emb = emb.mean(dim=1)
    return _owned(emb), _owned(logits)


def _owned(t: torch.Tensor) -> np.ndarray:
    """A float32 C-contiguous numpy copy of ``t`` that shares no memory with torch."""
    return np.array(t.detach().float().cpu().numpy(), dtype=np.float32, order="C", copy=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Probabilities from logits, ``1 / (1 + exp(-x))``, computed in float64, float32 out.

    Examples
    --------
    >>> sigmoid(np.array([0.0, 2.0, -2.0])).round(4)
    array([0.5   , 0.8808, 0.1192], dtype=float32)
    """
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


# --------------------------------------------------------------------------- inputs


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


def _load(item: Item, channel: int | None, win: int, media: dict[str, Any],
          info: MediaInfo | None, audio_stream: int | None = None) -> Source:
    """The 16 kHz mono audio of an input (:func:`asttools.audio.sources.load_file` for a file)."""
    if item.sr is not None:
        wav = check_waveform(item.source, item.sr, name=item.name)
        return Source(resample(wav, item.sr, SAMPLE_RATE))
    return load_file(item.source, segment=item.segment, channel=channel, win=win,
                     media=media, info=info, audio_stream=audio_stream)


def media_of(item: Item, audio_stream: int | None = None,
             ) -> tuple[dict[str, Any], MediaInfo | None]:
    """What a file's headers say about its place on the video's clock: where its audio
    starts (``audio_offset_s``), the video's duration and frame rate. Nothing for an
    in-memory input, or a file the probe cannot read (decoding then says why)."""
    if item.sr is not None:
        return {}, None
    return file_media(item.source, audio_stream)


def _finish_media(source: Source, it: Item, n_samples: int, silent: bool) -> None:
    """Record what decoding found: the track's length, silence, and whether the audio
    ends where the video does (``av_warning``, the text of
    :func:`asttools.audio.av_mismatch`)."""
    media = source.media
    if silent:
        media["audio_status"] = "silent"
    if it.segment is None:  # the whole track was decoded: its true length
        media["audio_duration_s"] = n_samples / SAMPLE_RATE
        if source.info is not None:  # what differs from the headers, said and recorded
            notes = [length_mismatch(source.info, n_samples / SAMPLE_RATE),
                     av_mismatch(source.info, n_samples / SAMPLE_RATE)]
            media["av_warning"] = "; ".join(n for n in notes if n) or None
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
            return ItemError(it, err.reason, err.status, media=dict(media))

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
                             argument=request, name="asttools-load", crashed=_crashed):
        if done is None or done[0] == "stream":
            yield it, job(it)
        elif done[0] == "error":
            yield it, ItemError(it, done[1], done[2], media=done[3])
        else:
            yield it, done[1]


def _crashed(exitcode: int | None) -> tuple:
    return ("error", f"the decoder crashed while reading it ({crash_reason(exitcode)}: a "
                     "fault in native code such as FFmpeg or libsndfile)", "decode_error", {})


# --------------------------------------------------------------------------- streaming


@dataclass
class ItemResult:
    """The rows of one input, yielded by :func:`iter_embed` when all its windows ran.

    Attributes
    ----------
    item : Item
    table : DataFrame, shape (n_windows, ...)
    embeddings : ndarray, float32, shape (n_windows, hidden) or (n_windows, f, t, hidden)
    logits : ndarray, float32, shape (n_windows, n_labels)
    """

    item: Item
    table: pd.DataFrame
    embeddings: np.ndarray
    logits: np.ndarray
    status: dict[str, Any] = field(default_factory=lambda: {"audio_status": "ok"})
    """``audio_status`` (``ok`` or ``silent``) and the media columns of
    :data:`asttools.columns.INPUT_COLUMNS` (``audio_offset_s``, ...) when known."""


@dataclass
class ItemError:
    """An input without rows, yielded by :func:`iter_embed`: why, in words; its
    ``status`` (one of :data:`asttools.errors.AUDIO_STATUSES`: ``no_audio_stream``
    for a video without audio, else a failure); and what is known of its media
    (``video_duration_s``, ``frame_rate``, ...)."""

    item: Item
    reason: str
    status: str = "decode_error"
    media: dict[str, Any] = field(default_factory=dict)


class _Rows:
    """One input's results, one row per window, in arrays that own their memory.

    Allocated at the first result for ``capacity`` windows (all of them when known), grown
    by doubling when a streamed file, whose windows are counted at its end, has more.
    Complete once ``n``, the number of windows, is set and that many rows have arrived.
    """

    def __init__(self, capacity: int | None):
        self.capacity = capacity or 64
        self.n: int | None = None
        self.done = 0
        self.emb: np.ndarray | None = None
        self.logits: np.ndarray | None = None

    def put(self, k: int, emb: np.ndarray, logits: np.ndarray) -> None:
        if self.emb is None:
            self.emb = np.empty((self.capacity, *emb.shape), np.float32)
            self.logits = np.empty((self.capacity, *logits.shape), np.float32)
        if k >= len(self.emb):
            self.emb, self.logits = (_grown(a, max(2 * len(a), k + 1))
                                     for a in (self.emb, self.logits))
        self.emb[k] = emb  # a copy: nothing keeps the batch's arrays alive
        self.logits[k] = logits
        self.done += 1

    @property
    def complete(self) -> bool:
        return self.n is not None and self.done == self.n

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self.emb) != self.n:
            return self.emb[: self.n].copy(), self.logits[: self.n].copy()
        return self.emb, self.logits


def _grown(a: np.ndarray, rows: int) -> np.ndarray:
    out = np.empty((rows, *a.shape[1:]), a.dtype)
    out[: len(a)] = a
    return out


def _stream_windows(stream: AudioStream, win: int, hop: int,
                    bounds_of) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, samples)`` of the windows ``bounds_of(n)`` gives, cut from a stream.

    Holds at most one window and one block of samples: a window is cut as soon as the
    stream has reached its end, and what no later window needs is dropped. The last,
    shorter windows follow once the stream's length ``n`` is known.
    """
    buf, first, k = np.zeros(0, np.float32), 0, 0  # buf[0] is sample number `first`
    limit = features.MAX_WINDOWS_PER_CLIP
    for block in stream:
        buf = np.concatenate([buf, block])
        while k * hop + win <= first + len(buf):
            start = k * hop
            yield start, buf[start - first: start - first + win].copy()
            k += 1
            if k > limit:
                bounds_of(first + len(buf))  # raises: too many windows for one clip
        cut = k * hop - first
        if cut > 0:
            buf, first = buf[cut:], first + cut
    n = stream.n_samples
    for start, end in bounds_of(n)[k:]:
        yield start, buf[start - first: end - first].copy()


def _status(it: Item, media: dict[str, Any]) -> dict[str, Any]:
    """The input's own columns (:data:`~asttools.columns.INPUT_COLUMNS` but ``id``)."""
    out = {"audio_status": media.get("audio_status", "ok")}
    out.update({c: media.get(c) for c in INPUT_COLUMNS[2:7]})
    if "n_audio_streams" in media:
        out["n_audio_streams"] = media["n_audio_streams"]
    if it.segment is not None:
        out.update(segment_start_s=it.segment[0], segment_end_s=it.segment[1])
    return out


def _window_table(it: Item, bounds: list[tuple[int, int]], n_samples: int, *,
                  first: int = 0, media: dict | None = None) -> pd.DataFrame:
    """One row per window; times in seconds on the clip's clock (a video's: the audio
    stream's offset added), the clip's duration the video's when there is one."""
    media = media or {}
    offset = media.get("audio_offset_s") or 0.0
    duration = media.get("video_duration_s") or media.get("audio_duration_s")
    n = len(bounds)
    index = pd.RangeIndex(n)

    def same(value) -> pd.Series:  # one object per window, even a tuple, list or bytes
        col = np.empty(n, dtype=object)
        col.fill(value)
        return pd.Series(col, index=index, dtype=object, copy=False)

    spans = np.asarray(bounds, dtype=np.float64).reshape(n, 2)
    columns = {
        "item": np.full(n, it.index, dtype=np.int64),
        "id": same(it.id),
        "path": same(it.name),  # even not UTF-8
        "window": np.arange(n),
        "start_s": offset + (first + spans[:, 0]) / SAMPLE_RATE,
        "end_s": offset + (first + spans[:, 1]) / SAMPLE_RATE,
        "clip_duration_s": np.full(n, np.nan if duration is None else float(duration)),
    }
    for key, value in _status(it, media).items():  # the input's own columns, per window
        columns[key] = same(value)
    for key, value in it.extra.items():  # carried columns, after (and over) the others
        columns[key] = same(value)
    # one constructor call: adding columns one by one cost ~3 ms per input, the main
    # thread's largest per-file cost when a GPU embeds hundreds of files a second
    return pd.DataFrame(columns, index=index, copy=False)


@dataclass
class Window:
    """One analysis window of an input, yielded by :func:`iter_windows`.

    Attributes
    ----------
    item : Item
    k : int
        Its number within the input (0, 1, ...).
    samples : ndarray, float32, shape (n,)
        16 kHz mono samples, ``n <= window_s * 16000`` (the last window may be shorter).
    expected : int or None
        How many windows the input has, when known before its end (None for a file read
        as a stream).
    """

    item: Item
    k: int
    samples: np.ndarray
    expected: int | None = None


@dataclass
class Cut:
    """An input whose windows are all cut (yielded by :func:`iter_windows` after them):
    where its windows lie and what decoding found, enough to build its rows."""

    item: Item
    bounds: list[tuple[int, int]]
    n_samples: int
    first: int = 0
    media: dict[str, Any] = field(default_factory=dict)
    plan: SegmentPlan | None = None
    """A segment's plan: its windows run with ``pooling="time"`` and make one row."""

    def table(self) -> pd.DataFrame:
        """One row per window: ``item``, ``id``, ``path``, ``window``, ``start_s``,
        ``end_s``, ``clip_duration_s``, the input's status columns and its carried ones.
        A segment has one row, whose ``start_s``/``end_s`` are the span its vector
        covers."""
        if self.plan is not None:
            table = _window_table(self.item, self.bounds[:1], self.n_samples,
                                  first=self.first, media=self.media)
            table["start_s"], table["end_s"] = self.plan.covered
            return table
        return _window_table(self.item, self.bounds, self.n_samples, first=self.first,
                             media=self.media)

    def status(self) -> dict[str, Any]:
        """``audio_status`` and the media columns of the input."""
        return _status(self.item, self.media)


def iter_windows(
    items: Iterable[Item],
    *,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    channel: int | None = None,
    workers: int | str = 1,
    max_length: int | None = None,
    time_stride: int = TIME_STRIDE,
    device: Any = "cpu",
    config=None,
    audio_stream: int | None = None,
) -> Iterator[Window | Cut | ItemError]:
    """Decode, resample and cut inputs into windows: the part of :func:`iter_embed` that
    needs no model (the Ray engine runs it in CPU tasks).

    Parameters
    ----------
    items : iterable of Item
    window_s, hop_s, channel, workers
        As in :func:`iter_embed`.
    max_length : int, optional
        The model's input length in frames (``config.max_length``); default AST's.
    time_stride : int, default TIME_STRIDE
    device : str or torch.device, default "cpu"
        Where the model that takes the windows runs; sizes ``workers="auto"``
        (:func:`asttools.concurrency.auto_workers`).
    config : transformers.ASTConfig, optional
        The model's config, for a segment's column geometry; default AST's.
    audio_stream : int, optional
        As in :func:`embed`.

    Yields
    ------
    Window, Cut or ItemError
        For each input in order, its windows and then its :class:`Cut`; or an
        :class:`ItemError`, possibly after some of its windows (a stream that fails part
        way): its windows are then void.
    """
    kw = {} if max_length is None else {"max_length": max_length}
    win, hop = check_windows(window_s, hop_s, time_stride=time_stride, warn=False, **kw)
    n_workers, _ = resolve_workers(workers, device=device)

    def bounds_of(n_samples: int) -> list[tuple[int, int]]:
        return window_bounds(n_samples, window_s=window_s, hop_s=hop_s, **kw)

    warned_streams = False
    for it, source in _loaded(items, channel, n_workers, win, audio_stream=audio_stream):
        media = source.media if isinstance(source, Source) else source.media
        if not warned_streams and (media.get("n_audio_streams") or 0) > 1:
            warned_streams = True  # once per run; n_audio_streams is recorded per input
            how = ("the first, the default" if audio_stream is None
                   else f"audio_stream={audio_stream}")
            warnings.warn(
                f"{it.name} has {media['n_audio_streams']} audio streams: using stream "
                f"{audio_stream or 0} ({how}; choose with audio_stream= or --audio-stream). "
                "Said once per run; n_audio_streams records each input's count",
                ASTToolsWarning, stacklevel=2)
        if isinstance(source, ItemError):
            yield source
            continue
        src = source.audio
        streamed = isinstance(src, AudioStream)
        plan = None
        try:  # too many windows for this clip (by its header, for a stream): it alone fails
            if streamed:
                if src.duration_s is not None:
                    bounds_of(round(src.duration_s * SAMPLE_RATE))
                windows = _stream_windows(src, win, hop, bounds_of)
            else:
                if it.segment is not None:  # its own steps, on the timestamps' grid
                    plan = segment_windows(it.segment, it.name, source.media,
                                           source.first, len(src), win, config=config)
                    if plan is None:
                        yield ItemError(it, f"the segment {it.segment[0]:g}-"
                                        f"{it.segment[1]:g} s holds no audio (no 0.1 s step "
                                        "of the file's audio track lies in it)",
                                        "no_audio_stream", media=source.media)
                        continue
                    bounds = plan.bounds
                else:
                    bounds = bounds_of(len(src))
                windows = ((s, src[s:e]) for s, e in bounds)
        except ParameterError as err:
            if streamed:
                src.close()
            yield ItemError(it, str(err), "error", media=source.media)
            continue
        expected = None if streamed else len(bounds)
        k, error, status = 0, None, "error"
        while True:
            try:
                window = next(windows, None)
            except AudioError as err:  # a stream that fails part way
                error = err.reason
                status = getattr(err, "status", "decode_error")
            except ParameterError as err:  # a stream longer than its header said
                error = str(err)
            if error is not None or window is None:
                break
            yield Window(it, k, window[1], expected)
            k += 1
        if error is not None:
            yield ItemError(it, error, status, media=source.media)
            continue
        n_samples = src.n_samples if streamed else len(src)
        bounds = bounds_of(n_samples) if streamed else bounds
        silent = (bool(src.silent) if streamed else source.silent if source.silent is not None
                  else is_silent(src))
        if plan is not None:  # a segment is silent when its own span is
            lo = max(round(plan.lo_s * SAMPLE_RATE) - source.first, 0)
            hi = min(round(plan.hi_s * SAMPLE_RATE) - source.first, len(src))
            silent = bool(is_silent(src[lo:hi])) if hi > lo else silent
        _finish_media(source, it, n_samples, silent)
        yield Cut(it, bounds, n_samples, source.first, source.media, plan)


def iter_embed(
    items: Iterable[Item],
    *,
    model,
    pooling: str = "cls",
    layer: int = -1,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | str = 1,
    channel: int | None = None,
    progress=None,
    precision: str = "fp32",
    audio_stream: int | None = None,
) -> Iterator[ItemResult | ItemError]:
    """Stream results input by input; windows of different inputs share batches.

    The streaming pass under :func:`embed` and :func:`asttools.extract`: inputs are
    decoded ahead of the model in ``workers`` worker processes (files; arrays here),
    cut into windows, batched across
    inputs, and each input is yielded as soon as its last window has run, in input order.

    Parameters
    ----------
    items : iterable of Item
        The inputs; may be a lazy generator (pulled at most ``2 * workers`` ahead).
    model : transformers.ASTForAudioClassification
    pooling, layer, window_s, hop_s, batch_size, workers, channel, precision, audio_stream
        As in :func:`embed` (``precision``: the model's numeric precision, "fp32" ...).
    progress : tqdm, optional
        A progress bar advanced once per input.

    Yields
    ------
    ItemResult or ItemError
        One per input: its window table (``item``, ``path``, ``window``, ``start_s``,
        ``end_s``, ``clip_duration_s`` and its ``extra`` columns), embeddings (float32,
        ``(n_windows, hidden)``, ``(n_windows, t, hidden)`` for ``"time"`` or
        ``(n_windows, f, t, hidden)`` for ``"grid"``) and
        logits (float32, ``(n_windows, n_labels)``); or the reason it failed.

    Raises
    ------
    ParameterError
        A bad pooling, layer, batch size or window setting (before anything runs).

    Notes
    -----
    What is held at any time, and so the memory used beyond the model:

    - at most ``batch_size`` windows waiting for the model, and one forward pass's
      activations (the arrays :func:`forward` returns are copies, not views into them);
    - per input whose windows are not all done, its results only: one embedding and one
      row of logits per window, e.g. (768 + 527) float32 = 5.2 kB per window of the
      full model, 1.8 MB per hour of audio at the default hop (``pooling="grid"``: 3.7 MB
      per window); at most :data:`asttools.model.features.MAX_WINDOWS_PER_CLIP` windows;
    - the decoded 16 kHz mono waveform of the input being windowed and of at most
      ``2 * workers`` inputs decoded ahead, each no longer than ``STREAM_S`` (10 min,
      38 MB; decoding needs a few times that briefly, at the file's rate and channels,
      at most ``asttools.audio.sources.STREAM_BYTES``, 230 MB, of float32 samples). A file
      whose header says it is longer or larger, or says no length at all (a live
      recording's Matroska, a chained Ogg), is not decoded whole: it is read block by
      block (:func:`asttools.audio.stream_audio`, 30 s at a time) as its windows are
      cut, so a 10-hour recording takes the memory of a short one. Array inputs are
      held whole (they are in memory already). ``benchmarks/bench_memory.py`` measures
      peak memory against recording length.

    ``items`` may be a lazy iterable (a generator): it is pulled at most ``2 * workers``
    items ahead. ``progress`` is an optional tqdm bar, advanced once per input. Window
    settings are checked once, against the model's input length, by
    :func:`asttools.settings.check_windows`; an input that would make more than
    ``MAX_WINDOWS_PER_CLIP`` windows is yielded as an :class:`ItemError`.
    """
    model = prepare_model(model, precision)  # once: a cached copy unless fp32
    cfg = model.config
    check_pooling(pooling)
    check_layer(layer, cfg.num_hidden_layers)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    win, hop = check_windows(window_s, hop_s, max_length=cfg.max_length,
                             time_stride=getattr(cfg, "time_stride", TIME_STRIDE))
    device = next(model.parameters()).device
    check_workers(workers)

    # item index -> {"item", "table" (set once its windows are all cut), "rows": _Rows}
    pending: dict[int, dict[str, Any]] = {}
    queue: list[tuple[int, int, np.ndarray]] = []  # (item index, window, samples)

    def run_queue() -> None:
        # a segment's windows give their patch columns (asttools.run.segments), others `pooling`
        kinds = ["time" if pending[q[0]]["item"].segment is not None else pooling
                 for q in queue]
        for how in dict.fromkeys(kinds):
            part = [q for q, kind in zip(queue, kinds, strict=True) if kind == how]
            width = max(win, max(len(w) for _, _, w in part))
            batch = np.zeros((len(part), width), dtype=np.float32)
            for r, (_, _, w) in enumerate(part):
                batch[r, : len(w)] = w
            emb, logits = forward(model, batch, lengths=[len(w) for _, _, w in part],
                                  pooling=how, layer=layer)
            for r, (idx, k, _) in enumerate(part):
                pending[idx]["rows"].put(k, emb[r], logits[r])
        queue.clear()

    def finished() -> Iterator[ItemResult]:
        for idx in list(pending):
            entry = pending[idx]
            if not entry["rows"].complete:
                break  # items finish in input order
            del pending[idx]
            if progress is not None:
                progress.update(1)
            emb, logits = entry["rows"].arrays()
            if entry["plan"] is not None:  # a segment: the mean of its own steps
                vector, mixed, _ = pool_segment(emb, logits, entry["plan"], config=cfg)
                emb, logits = vector[None], mixed[None]
            yield ItemResult(entry["item"], entry["table"], emb, logits,
                             status=entry["status"])

    def entry_of(it: Item, expected: int | None) -> dict[str, Any]:
        if it.index not in pending:
            pending[it.index] = {"item": it, "table": None, "rows": _Rows(expected),
                                 "plan": None}
        return pending[it.index]

    def checked(items: Iterable[Item]) -> Iterator[Item]:
        for it in items:  # embed and extract check all segments first; a lazy stream here
            if it.segment is not None:
                check_segment_pooling(pooling, 1)
            yield it

    for event in iter_windows(checked(items), window_s=window_s, hop_s=hop_s,
                              channel=channel, workers=workers, max_length=cfg.max_length,
                              time_stride=getattr(cfg, "time_stride", TIME_STRIDE),
                              device=device, config=cfg,
                              audio_stream=check_audio_stream(audio_stream)):
        if isinstance(event, Window):
            entry_of(event.item, event.expected)
            queue.append((event.item.index, event.k, event.samples))
            if len(queue) == batch_size:
                run_queue()
                yield from finished()
        elif isinstance(event, Cut):
            entry = entry_of(event.item, len(event.bounds))
            entry["table"] = event.table()
            entry["status"] = event.status()
            entry["plan"] = event.plan
            entry["rows"].n = len(event.bounds)
            yield from finished()  # its windows may all be done already
        else:  # it failed, possibly part way: forget its windows and results
            queue[:] = [q for q in queue if q[0] != event.item.index]
            pending.pop(event.item.index, None)
            if progress is not None:
                progress.update(1)
            yield event
    if queue:
        run_queue()
    yield from finished()


def silence_embedding(model, *, pooling: str = "cls", layer: int = -1,
                      precision: str = "fp32") -> np.ndarray:
    """The model's embedding of one window (10.24 s) of digital silence.

    What the audio branch of a fused model would see for a clip whose track is present
    but silent; one of the fills for clips without audio
    (:func:`asttools.aligned_embeddings`).

    Parameters
    ----------
    model : transformers.ASTForAudioClassification
    pooling, layer, precision
        As in :func:`embed` (``precision``: the model's numeric precision, "fp32" ...).

    Returns
    -------
    ndarray, float32, shape (hidden,) (or the pooling's shape per window)
    """
    cfg = model.config
    zeros = np.zeros((1, cfg.max_length * FRAME_SHIFT), np.float32)
    emb, _ = forward(model, zeros, pooling=pooling, layer=layer, precision=precision)
    return emb[0]


def run_meta(model, *, pooling: str, layer: int, window_s: float, hop_s: float | None,
             precision: str = "fp32") -> dict:
    """The settings and versions a result records (``EmbeddingResult.meta``).

    ``precision`` is recorded as run (``"auto"`` made concrete), with
    ``precision_requested`` and, for int8, ``quantization``; ``dtype`` is the dtype the
    model ran in (int8 models keep float32 activations between their Linear layers).
    """
    info = model_info(model)
    prec = precision_meta(model, precision)
    if prec["precision"] in ("bf16", "fp16"):
        info["dtype"] = {"bf16": "bfloat16", "fp16": "float16"}[prec["precision"]]
    cfg = model.config
    labels = [str(cfg.id2label[i]) for i in range(cfg.num_labels)]
    return {
        **info,
        "pooling": pooling,
        "layer": check_layer(layer, cfg.num_hidden_layers),
        "window_s": float(window_s),
        "hop_s": float(window_s if hop_s is None else hop_s),
        "sample_rate": SAMPLE_RATE,
        **prec,
        "labels": labels,
        "asttools_version": __version__,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }


def _collect(results: Iterable[ItemResult | ItemError], meta: dict, hidden: int,
             grid: tuple[int, ...] | None) -> EmbeddingResult:
    tables, embs, logits, errors = [], [], [], []
    for r in results:
        if isinstance(r, ItemError):
            errors.append({"item": r.item.index, "id": r.item.id, "path": r.item.name,
                           "audio_status": r.status, "reason": r.reason, **r.media})
        else:
            tables.append(r.table)
            embs.append(r.embeddings)
            logits.append(r.logits)
    n_labels = len(meta["labels"])
    shape = (0, *grid, hidden) if grid else (0, hidden)
    table = (pd.concat(tables, ignore_index=True) if tables
             else pd.DataFrame({c: [] for c in TABLE_COLUMNS}))
    columns = list(dict.fromkeys(["item", "id", "path", "audio_status", "reason",
                                  *(c for e in errors for c in e)]))
    failed = pd.DataFrame({c: pd.Series([e.get(c) for e in errors],  # any name: objects
                                        dtype=np.int64 if c == "item" else object)
                           for c in columns})
    return EmbeddingResult.from_rows(
        table,
        np.concatenate(embs) if embs else np.zeros(shape, np.float32),
        sigmoid(np.concatenate(logits)) if logits else np.zeros((0, n_labels), np.float32),
        failed, meta)


def embed(
    inputs,
    *,
    model=None,
    sr: int | None = None,
    pooling: str = "cls",
    layer: int = -1,
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    batch_size: int = BATCH_SIZE,
    channel: int | None = None,
    workers: int | str = 1,
    on_error: str = "warn",
    progress: bool = False,
    precision: str = "fp32",
    audio_stream: int | None = None,
) -> EmbeddingResult:
    """Embeddings and AudioSet probabilities of audio files or arrays, from one pass.

    Parameters
    ----------
    inputs : path, ndarray, (ndarray, sr), a list of these, or a DataFrame
        Audio or video files (any format :func:`asttools.load_audio` reads) and/or
        waveforms; or a table of inputs as :func:`asttools.run.inputs.list_inputs` returns it
        (``path``, ``id``, segments, carried columns), whose ids and columns the result
        keeps. Arrays are 1-D or (channels, samples) and need ``sr``; a flat list of
        numbers is one waveform. Files longer than 10 minutes are decoded block by block
        (:func:`asttools.audio.stream_audio`), so their length does not cost memory.
    model : transformers.ASTForAudioClassification or str, optional
        From :func:`asttools.load_model`, or what it takes (a hub id, a local folder,
        ``"tiny-random"``); the default model when omitted. Pass a loaded model to load
        it once for many calls.
    sr : int, optional
        Sample rate of array inputs, an integer (44100.5 is refused, never rounded); they
        are resampled to 16 kHz.
    pooling : {"cls", "dist", "mean", "patches", "time", "grid"}, default "cls"
        ``"cls"``: the [CLS] token; ``"dist"``: the distillation token; ``"mean"``: their
        mean (transformers' ``pooler_output``, what the classifier sees);
        ``"patches"``: the mean of the 1212 patch tokens; ``"time"``: the patch tokens
        averaged over frequency, (101 time, hidden), one vector per 0.1 s patch column;
        ``"grid"``: all patch tokens as (12 frequency, 101 time, hidden).
    layer : int, default -1
        Which hidden layer to pool: 0 = patch + position embeddings, i = output of block
        i, -1 (or the number of layers) = the final output after the last LayerNorm.
        Probabilities always come from the final output.
    window_s, hop_s : float, default 10.24 and ``window_s``
        Clips longer than ``window_s`` are cut into windows every ``hop_s`` seconds,
        one row each — never truncated. Shorter clips are padded as AST was trained.
        Checked by :func:`asttools.settings.check_windows`: the window at most the
        model's input (10.24 s), the hop from 0.01 s up to the window (no gaps; below
        0.1 s it warns); a clip that would make more than
        :data:`~asttools.model.features.MAX_WINDOWS_PER_CLIP` windows fails alone.
    batch_size : int, default 8
        Windows per forward pass; windows of different inputs share batches.
    channel : int, optional
        Use this channel of multi-channel files instead of the mean of channels.
    workers : int or "auto", default 1
        Worker processes that decode and resample files ahead of the model; a decoder
        that crashes its process (native code) costs that file alone, a
        ``decode_error``. ``0``: decode in this thread, without that isolation.
        ``"auto"``: as many as the CPUs left over by the model
        (:func:`asttools.concurrency.resolve_workers`: on a GPU machine, all usable CPUs
        but one; on a CPU-only one usually 1, since the model needs the cores).
    on_error : {"warn", "raise", "ignore"}, default "warn"
        An input that fails to load is recorded in ``errors`` and the rest go on;
        ``"warn"`` also issues one warning listing the failures, ``"raise"`` raises the
        first :class:`~asttools.errors.AudioError` instead.
    progress : bool, default False
        Show a progress bar (terminal or notebook).
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}, default "fp32"
        The arithmetic of the forward pass (see :mod:`asttools.model.precision`): ``"bf16"``
        and ``"fp16"`` (GPU only) cast a copy of the model and its inputs, ``"int8"``
        quantizes a copy's Linear layers with torchao, ``"auto"`` picks bf16 where the
        hardware runs it fast, else fp32. ``model`` itself is never changed; outputs are
        float32; ``meta["precision"]`` records what ran. Measure what it costs on your
        model and data with :func:`asttools.run.fidelity.fidelity`.
    audio_stream : int, optional
        Which audio stream of files with several (counting audio streams from 0); default
        the first, as FFmpeg lists them. Each file's count is recorded
        (``n_audio_streams`` in ``table`` and ``errors``); when a file has more than one,
        a warning says once per run which stream was used. A stream a file does not have
        fails that file (status ``error``; the message gives its count).

    Returns
    -------
    EmbeddingResult
        ``table`` (one row per window), ``embeddings`` (float32, (n_rows, hidden)),
        ``probs`` (float32, (n_rows, n_labels), sigmoid), ``errors``, ``meta``.
        ``result.clips(aggregate="mean" | "max")`` aggregates windows per clip.

    Raises
    ------
    ParameterError
        For an unknown pooling or precision (``"fp16"`` on a CPU, ``"int8"`` without
        torchao), a layer out of range, window settings
        :func:`~asttools.settings.check_windows` refuses, an array without ``sr``, a
        sample rate that is not a positive integer, an input of another type.
    AudioError
        Only with ``on_error="raise"``.

    Examples
    --------
    >>> import numpy as np, asttools
    >>> model = asttools.load_model("tiny-random")  # doctest: +SKIP
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    >>> out = asttools.embed(tone, sr=16000, model=model)  # doctest: +SKIP
    >>> out.embeddings.shape, out.probs.shape  # doctest: +SKIP
    ((1, 64), (1, 527))
    """
    if on_error not in ON_ERROR:
        raise ParameterError(f"on_error={on_error!r} is not one of {ON_ERROR}")
    check_pooling(pooling)
    check_precision(precision)
    audio_stream = check_audio_stream(audio_stream)
    items = as_items(inputs, sr)
    check_segment_pooling(pooling, sum(it.segment is not None for it in items))
    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    # refuse bad settings before anything runs; iter_embed checks (and warns) once more
    check_windows(window_s, hop_s, max_length=model.config.max_length, warn=False)
    meta = run_meta(model, pooling=pooling, layer=layer, window_s=window_s, hop_s=hop_s,
                    precision=precision)
    bar = None
    if progress:
        bar = tqdm(total=len(items), unit="file", desc="embed")
    try:
        stream = iter_embed(items, model=model, pooling=pooling, layer=layer,
                            window_s=window_s, hop_s=hop_s, batch_size=batch_size,
                            workers=workers, channel=channel, progress=bar,
                            precision=precision, audio_stream=audio_stream)
        if on_error == "raise":
            def raising(s):
                for r in s:
                    if isinstance(r, ItemError):
                        raise (NoAudioStreamError if r.status == "no_audio_stream"
                               else AudioError)(r.item.name, r.reason, status=r.status)
                    yield r
            stream = raising(stream)
        grid = {"grid": tuple(meta["patch_grid"]), "time": (meta["patch_grid"][1],)}.get(pooling)
        result = _collect(stream, meta, model.config.hidden_size, grid)
    finally:
        if bar is not None:
            bar.close()
    if on_error == "warn" and len(result.errors):
        lines = "; ".join(f"{p}: {r}" for p, r in zip(result.errors["path"],
                                                       result.errors["reason"], strict=True))
        warnings.warn(f"{len(result.errors)} of {len(items)} inputs failed and were skipped "
                      f"(see result.errors): {lines}", ASTToolsWarning, stacklevel=2)
    return result

