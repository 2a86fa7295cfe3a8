"""The array- and file-level entry point: :func:`embed` (embeddings and AudioSet
probabilities from one pass) and :func:`silence_embedding`.
"""

from __future__ import annotations

import os

import numpy as np

from ..constants import FRAME_SHIFT, WINDOW_S
from ..model import load_model
from ._defaults import BATCH_SIZE
from ._driver import RunLog, check_run
from ._forward import forward
from ._items import as_items
from ._pass import collect, iter_embed, run_meta
from .result import EmbeddingResult
from .segments import check_segment_pooling

__all__ = [
    "embed",
    "silence_embedding",
]


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
        As in :func:`embed` (``precision``: the model's numeric precision, \"fp32\" ...).

    Returns
    -------
    ndarray, float32, shape (hidden,) (or the pooling's shape per window)
    """
    cfg = model.config
    zeros = np.zeros((1, cfg.max_length * FRAME_SHIFT), np.float32)
    emb, _ = forward(model, zeros, pooling=pooling, layer=layer, precision=precision)
    return emb[0]


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
    opts = check_run(on_error=on_error, pooling=pooling, precision=precision,
                     audio_stream=audio_stream)
    items = as_items(inputs, sr)
    check_segment_pooling(pooling, sum(it.segment is not None for it in items))
    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    # refuse bad settings before anything runs; iter_embed checks (and warns) once more
    check_run(window_s=window_s, hop_s=hop_s, max_length=model.config.max_length)
    meta = run_meta(model, pooling=pooling, layer=layer, window_s=window_s, hop_s=hop_s,
                    precision=precision)
    with RunLog(len(items), on_error=on_error, progress=progress, desc="embed") as log:
        stream = iter_embed(items, model=model, pooling=pooling, layer=layer,
                            window_s=window_s, hop_s=hop_s, batch_size=batch_size,
                            workers=workers, channel=channel, progress=log.bar,
                            precision=precision, audio_stream=opts["audio_stream"])
        result = collect(stream, log, meta, pooling)
    log.warn()
    return result
