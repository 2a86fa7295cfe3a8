"""A model run's settings: its choices, the model names, and their checks, without torch.

The choices a run offers (:data:`POOLINGS`, :data:`PRECISIONS`, the fastest
:data:`MAX_FRAME_RATE`), the model it uses unless told (:data:`DEFAULT_MODEL`,
:data:`TINY_RANDOM`, ``$ASTTOOLS_MODEL``: :data:`ENV_VAR`), and the checks that
:func:`asttools.embed`, :func:`asttools.extract`, :func:`asttools.timestamp_embeddings`
and the command line make before any input is listed or any model loaded: the model a
call will use (:func:`resolve_model_name`), the pooling, the precision, and the analysis
windows (:func:`check_windows`, the one place that checks them). This module imports no
torch, so that a fully cached :func:`asttools.extract` (which only plans, hashes and reads
the store) never loads it.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings

from .constants import (
    FRAME_LENGTH,
    FRAME_SHIFT,
    FRAME_SHIFT_S,
    MAX_LENGTH,
    SAMPLE_RATE,
    TIME_STRIDE,
    WINDOW_S,
)
from .errors import ASTToolsWarning, ParameterError

__all__ = [
    "DEFAULT_MODEL",
    "ENV_VAR",
    "MAX_FRAME_RATE",
    "MIN_HOP_S",
    "POOLINGS",
    "PRECISIONS",
    "TINY_RANDOM",
    "check_pooling",
    "check_precision",
    "check_windows",
    "fill_value_of",
    "renamed_keyword",
    "resolve_model_name",
]

#: The AudioSet-finetuned AST checkpoint (mAP 0.4593) used by default.
DEFAULT_MODEL = "MIT/ast-finetuned-audioset-10-10-0.4593"
#: Built-in name of the small, seeded, randomly initialised AST for tests and offline runs.
TINY_RANDOM = "tiny-random"
#: Environment variable that replaces the default model everywhere (read at call time).
ENV_VAR = "ASTTOOLS_MODEL"

#: Poolings of the token sequence: [CLS]; the distillation token; the mean of the two
#: (transformers' ``pooler_output``, what the classifier sees); the mean of the patch
#: tokens; the patch tokens averaged over frequency, one vector per patch column
#: (time, hidden): 101 steps of 0.1 s; and the whole patch grid as (frequency, time, hidden).
POOLINGS = ("cls", "dist", "mean", "patches", "time", "grid")
#: Arithmetic of the forward pass (see :mod:`asttools.model.precision`): float32 (the default),
#: bfloat16, float16 (GPUs only), dynamic int8 (torchao), or the fastest of fp32/bf16 that
#: the hardware runs well.
PRECISIONS = ("fp32", "bf16", "fp16", "int8", "auto")
#: The fastest frame rate timestamps are pooled onto (frames per second). A high-speed
#: camera films at up to about 1,000 fps; a rate beyond it is a mistake (``1e9`` asks for a
#: billion vectors per second of audio, and runs out of memory), refused before any work.
MAX_FRAME_RATE = 1000.0

#: Shortest hop in seconds: one fbank frame step (10 ms). Windows closer than that see
#: the same audio through frames shifted by a fraction of a step, at 100+ windows a second.
MIN_HOP_S = FRAME_SHIFT_S


def resolve_model_name(name_or_path: str | os.PathLike | None = None) -> str:
    """The model a call will use: the argument, else ``$ASTTOOLS_MODEL``, else the default.

    Parameters
    ----------
    name_or_path : str or PathLike, optional

    Returns
    -------
    str
    """
    if name_or_path is not None and str(name_or_path) != "":
        return str(name_or_path)
    return os.environ.get(ENV_VAR) or DEFAULT_MODEL


def check_pooling(pooling: str) -> None:
    """Raise :class:`~asttools.errors.ParameterError` unless ``pooling`` is in :data:`POOLINGS`."""
    if pooling not in POOLINGS:
        raise ParameterError(f"pooling={pooling!r} is not one of {POOLINGS}")


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of :data:`PRECISIONS`, else raise ParameterError.

    Examples
    --------
    >>> check_precision("bf16")
    'bf16'
    """
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ParameterError(f"precision={precision!r} is not one of {PRECISIONS}")
    return precision


# --------------------------------------------------------------------------- windows


def _said(name: str, value: float) -> str:
    """How a message names a setting: ``window_s=30`` in Python, ``--window 30`` on the CLI."""
    return f"{name} {value:g}" if name.startswith("-") else f"{name}={value:g}"


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number of seconds, got {value!r}")
    if value <= 0:
        raise ParameterError(f"{name} must be > 0 seconds, got {value!r}")
    return float(value)


def check_windows(
    window_s: float = WINDOW_S,
    hop_s: float | None = None,
    *,
    max_length: int = MAX_LENGTH,
    time_stride: int = TIME_STRIDE,
    sr: int = SAMPLE_RATE,
    names: tuple[str, str] = ("window_s", "hop_s"),
    warn: bool = True,
) -> tuple[int, int]:
    """Check analysis-window settings once, before any audio is cut: the one place that does.

    :func:`asttools.embed`, :func:`asttools.extract`, :func:`~asttools.model.features.window_bounds` and the command
    line all call this, so every caller refuses the same settings with the same message,
    naming the option as that caller spells it (``names``).

    Parameters
    ----------
    window_s : float, default 10.24
        Window length in seconds. At most the model's input, ``max_length`` frames of
        10 ms (10.24 s for AST): a longer window would be cut to its first 10.24 s. At
        least one fbank frame (0.025 s).
    hop_s : float, optional
        Seconds between window starts; default ``window_s``. At least one fbank frame
        step (:data:`MIN_HOP_S`, 0.01 s), at most ``window_s`` (a longer hop leaves
        audio between windows that nobody sees).
    max_length : int, default 1024
        Frames of the model's input (``model.config.max_length``).
    time_stride : int, default 10
        Frames between the model's patch columns (``model.config.time_stride``).
    sr : int, default 16000
        Rate at which the windows are cut.
    names : (str, str), default ("window_s", "hop_s")
        How messages name the two settings, e.g. ``("--window", "--hop")``.
    warn : bool, default True
        Warn about a hop finer than the model's time resolution (see Warns).

    Returns
    -------
    window, hop : int
        The window and the hop in samples at ``sr``.

    Raises
    ------
    ParameterError
        A value that is not a finite number of seconds, not positive, a window longer
        than the model's input or shorter than one fbank frame, a hop below 10 ms or
        longer than the window. The message names the setting and the limit.

    Warns
    -----
    ASTToolsWarning
        A hop shorter than one patch column (``time_stride`` frames, 0.1 s): more than
        10 windows per second of audio, each a full forward pass. Allowed, because
        dense sliding windows can be meant, but rarely what was meant.

    Examples
    --------
    >>> from asttools.settings import check_windows
    >>> check_windows(10.24, 5.12)
    (163840, 81920)
    >>> check_windows(30.0)
    Traceback (most recent call last):
    ...
    asttools.errors.ParameterError: window_s=30 s is longer than the model's input, 10.24 s (1024 frames of 10 ms): AST would see only its first 10.24 s. Use window_s <= 10.24 (the default) and hop_s to cover longer clips with several windows
    """  # noqa: E501
    wname, hname = names
    window_s = _seconds(window_s, wname)
    hop_s = window_s if hop_s is None else _seconds(hop_s, hname)
    longest = max_length * FRAME_SHIFT / SAMPLE_RATE
    shortest = FRAME_LENGTH / SAMPLE_RATE
    win, hop = round(window_s * sr), round(hop_s * sr)
    if win > round(longest * sr):
        raise ParameterError(
            f"{_said(wname, window_s)} s is longer than the model's input, {longest:g} s "
            f"({max_length} frames of 10 ms): AST would see only its first {longest:g} s. "
            f"Use {wname} <= {longest:g} (the default) and {hname} to cover longer clips "
            "with several windows"
        )
    if win < round(shortest * sr):
        raise ParameterError(
            f"{_said(wname, window_s)} s is shorter than one fbank frame ({shortest:g} s): "
            f"AST would see no audio in it. Use {wname} >= {shortest:g}"
        )
    if hop < round(MIN_HOP_S * sr):
        raise ParameterError(
            f"{_said(hname, hop_s)} s is below the minimum of {MIN_HOP_S:g} s (one fbank "
            "frame step): closer windows see the same frames shifted by a fraction of a "
            f"step, {1 / hop_s:,.0f} windows per second of audio. Use {hname} >= "
            f"{MIN_HOP_S:g}"
        )
    if hop > win:
        raise ParameterError(
            f"{_said(hname, hop_s)} s is longer than {_said(wname, window_s)} s: the "
            f"{hop_s - window_s:g} s between windows would never be seen. Use {hname} <= "
            f"{wname} (by default it equals it)"
        )
    stride_s = time_stride * FRAME_SHIFT / SAMPLE_RATE
    if warn and hop < round(stride_s * sr):
        per_s = 1 / hop_s
        warnings.warn(
            f"{_said(hname, hop_s)} s is finer than AST's time resolution ({stride_s:g} s, "
            f"one patch column): {per_s:.0f} windows per second of audio, "
            f"{3600 * per_s:,.0f} forward passes per hour of audio. Use {hname} >= "
            f"{stride_s:g} unless you mean it",
            ASTToolsWarning,
            stacklevel=2,
        )
    return win, hop


def fill_value_of(fill_value: float, fill: float | None, *, where: str) -> float:
    """The value of padded positions, from ``fill_value=`` or the old ``fill=``.

    ``fill`` names a strategy in :mod:`asttools.analysis.missing` and :mod:`asttools.analysis.fills`
    (``"zeros"``, ``"mean"``, ...); where it meant a number it was renamed ``fill_value``.
    The old keyword works for one release, with a warning.

    Parameters
    ----------
    fill_value : float
        The new keyword's value.
    fill : float or None
        The old keyword's value; None when not given.
    where : str
        The function, for the messages (``"TimestampResult.padded"``).

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        Both keywords given.

    Warns
    -----
    DeprecationWarning
        ``fill`` given.

    Examples
    --------
    >>> fill_value_of(0.0, None, where="f")
    0.0
    """
    return renamed_keyword(fill_value, fill, new="fill_value", old="fill", where=where,
                           default=0.0, why="'fill' names a strategy (asttools.analysis.missing,"
                                            " asttools.analysis.fills)")


def renamed_keyword(new_value, old_value, *, new: str, old: str, where: str, default,
                    why: str = ""):
    """The value of a keyword that was renamed, from the new keyword or the old one.

    A public parameter name means one thing everywhere (docs/design.md, "Words"); where one
    meant something else it was renamed, and the old keyword works for one release, with a
    :class:`DeprecationWarning`.

    Parameters
    ----------
    new_value
        The new keyword's value (``default`` when not given).
    old_value
        The old keyword's value; None when not given.
    new, old : str
        The two names, for the messages.
    where : str
        The function, e.g. ``"EmbeddingResult.clips"``.
    default
        The new keyword's default: giving the old keyword beside a new one that differs
        from it is an error.
    why : str, optional
        What the old name means elsewhere, for the warning.

    Returns
    -------
    The value to use.

    Raises
    ------
    ParameterError
        Both keywords given.

    Warns
    -----
    DeprecationWarning
        ``old_value`` given.

    Examples
    --------
    >>> renamed_keyword("max", None, new="aggregate", old="probs", where="f", default="mean")
    'max'
    """
    if old_value is None:
        return new_value
    if new_value is not default and new_value != default:
        raise ParameterError(f"{where}: give {new}= only ({old}= is its old name)")
    warnings.warn(f"{where}({old}=...) is now {where}({new}=...)"
                  + (f": {why}" if why else "") + "; the old keyword goes in the next release",
                  DeprecationWarning, stacklevel=3)
    return old_value
