"""AST's geometry, said once: the numbers that describe the model's input and output.

The sample rate, the fbank's frames, the model's input (1024 frames = 10.24 s), its patch
grid (12 frequency × 101 time patches), the AudioSet label count and normalisation, and
the patch-grid formula. Nothing else lives here (tests/test_layout.py holds the list): a
run's choices and the model names are in :mod:`asttools.settings`, its batch size in
:mod:`asttools.run`, the store's choices and flush cadence in :mod:`asttools.store`, a
ground-truth reader's ``MISSING`` in :mod:`asttools.datasets`, the names of result columns
in :mod:`asttools.columns`, the statuses of an input's audio in :mod:`asttools.errors`.
This module imports nothing but the standard library, so the command line can build its
help without loading torch.

The values describe the AudioSet AST checkpoints (Gong et al., 2021) that transformers'
``ASTConfig`` defaults to; a model with another ``max_length`` or strides states its own
in its config, and the functions that need them read the config (see :func:`patch_grid`).
"""

from __future__ import annotations

__all__ = [
    "AUDIOSET_MEAN",
    "AUDIOSET_STD",
    "FRAME_LENGTH",
    "FRAME_SHIFT",
    "FRAME_SHIFT_S",
    "FREQUENCY_STRIDE",
    "MAX_LENGTH",
    "N_CLASSES",
    "NUM_MEL_BINS",
    "PATCH_GRID",
    "PATCH_SIZE",
    "SAMPLE_RATE",
    "TIME_STRIDE",
    "WINDOW_S",
    "grid_size",
    "patch_grid",
]

#: The rate AST was trained on, in Hz; every waveform is resampled to it.
SAMPLE_RATE = 16000
#: Samples per fbank frame: 25 ms at 16 kHz.
FRAME_LENGTH = 400
#: Samples between fbank frames: 10 ms at 16 kHz.
FRAME_SHIFT = 160
#: Seconds between fbank frames (0.01 s): the time axis of every spectrogram figure.
FRAME_SHIFT_S = FRAME_SHIFT / SAMPLE_RATE
#: Mel bins of AST's input.
NUM_MEL_BINS = 128
#: Frames of AST's input (``max_length`` of the config).
MAX_LENGTH = 1024
#: Seconds of AST's input, ``MAX_LENGTH`` frames of ``FRAME_SHIFT`` samples: 10.24 s. The
#: default analysis window and, for a model with this ``max_length``, the longest one.
WINDOW_S = MAX_LENGTH * FRAME_SHIFT / SAMPLE_RATE
#: Side of one square patch, in frames and mel bins.
PATCH_SIZE = 16
#: Mel bins between patch rows (``frequency_stride``).
FREQUENCY_STRIDE = 10
#: Frames between patch columns (``time_stride``): AST's time resolution, 0.1 s.
TIME_STRIDE = 10
#: Classes of AudioSet, and outputs of the AudioSet checkpoints.
N_CLASSES = 527
#: AudioSet normalisation statistics of the fbank, as the AST checkpoints were trained.
AUDIOSET_MEAN = -4.2677393
AUDIOSET_STD = 4.5689974


def patch_grid(config=None, *, n_frames: int | None = None) -> tuple[int, int]:
    """Patches along frequency and time: (12, 101) for AST's geometry.

    Parameters
    ----------
    config : transformers.ASTConfig, optional
        A model's config (``model.config``) for its mel bins, ``max_length``, patch size and
        strides; default: AST's geometry above.
    n_frames : int, optional
        Frames of the input, when not the model's whole ``max_length`` (a short clip that
        is drawn unpadded).

    Returns
    -------
    (int, int)
        ``(n_mel - patch) // fstride + 1`` and ``(n_frames - patch) // tstride + 1``.

    Examples
    --------
    >>> patch_grid()
    (12, 101)
    >>> patch_grid(n_frames=298)
    (12, 29)
    """
    if config is None:
        n_mel, length, patch = NUM_MEL_BINS, MAX_LENGTH, PATCH_SIZE
        fstride, tstride = FREQUENCY_STRIDE, TIME_STRIDE
    else:
        n_mel, length, patch = config.num_mel_bins, config.max_length, config.patch_size
        fstride, tstride = config.frequency_stride, config.time_stride
    return grid_size(n_mel, length if n_frames is None else n_frames, patch=patch,
                     fstride=fstride, tstride=tstride)


def grid_size(n_mel: int, n_frames: int, *, patch: int, fstride: int,
              tstride: int) -> tuple[int, int]:
    """The patch-grid formula itself: rows and columns of ``patch``-wide patches.

    Returns
    -------
    (int, int)
        ``((n_mel - patch) // fstride + 1, (n_frames - patch) // tstride + 1)``.
    """
    return int((n_mel - patch) // fstride + 1), int((n_frames - patch) // tstride + 1)


#: Patches of AST's input along frequency and time.
PATCH_GRID = patch_grid()
