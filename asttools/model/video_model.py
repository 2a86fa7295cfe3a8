"""A video model beside AST: VideoMAE on snippets, or an image encoder on single frames.

Loaded once and passed in, like AST (:func:`asttools.load_model`)::

    vm = load_video_model()                        # MCG-NJU/videomae-base-finetuned-kinetics
    batch = next(asttools.audio.frames.read_frames("clip.mp4", snippet=vm.frames_per_vector))
    emb = video_embeddings(batch.pixels, model=vm)  # (n_snippets, 768)

Two kinds of model (:data:`VIDEO_MODEL_KINDS`):

- ``"snippet"``: VideoMAE (``VideoMAEModel``), ``config.num_frames`` frames per vector (16
  for the Kinetics-400 checkpoint, :data:`DEFAULT_VIDEO_MODEL`). The vector is the mean of
  the last layer's tokens (``last_hidden_state.mean(1)``: what the video classifier pools,
  before its ``fc_norm``, which ``VideoMAEModel`` does not hold).
- ``"frame"``: an image encoder, one vector per frame: CLIP's vision tower
  (``CLIPVisionModel``), SigLIP's (``SiglipVisionModel``) or DINOv2 (``Dinov2Model``). The
  vector is ``pooler_output`` (the [CLS] token after the final layer norm for CLIP and
  DINOv2; SigLIP's attention-pooled head). Given snippets of several frames, the
  frames' vectors are averaged per snippet.

Preprocessing is the model's own processor (``AutoImageProcessor`` from the checkpoint:
resize, centre crop, rescale, normalise), so :func:`video_embeddings` equals what
transformers' processor + model give (tested to 1e-5). Precision as for AST
(``precision=``: ``"fp32"``, ``"bf16"``, ``"fp16"`` on a GPU, ``"int8"``, ``"auto"``; see
:func:`asttools.model.precision.prepare_model`).

Weights are never replaced silently: a checkpoint that cannot be had raises
:class:`~asttools.errors.ModelLoadError`. ``"tiny-random"`` builds a VideoMAE with the
real input geometry (16 frames of 224 x 224, 16 x 16 patches, tubelets of 2) but a tiny
width, and ``"tiny-random-image"`` a CLIP vision tower (224 x 224, 32 x 32 patches); both
have random weights, warn when loaded and say ``random_weights`` in :meth:`VideoModel.info`
(and in everything computed with them).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers as tf

from ..errors import ASTToolsWarning, ModelLoadError, ParameterError
from ._load import resolve_device
from .precision import precision_meta, prepare_model

__all__ = [
    "DEFAULT_VIDEO_MODEL",
    "TINY_RANDOM_IMAGE",
    "TINY_RANDOM_VIDEO",
    "VIDEO_MODEL_ENV_VAR",
    "VIDEO_MODEL_KINDS",
    "VideoModel",
    "describe_video_model",
    "load_video_model",
    "tiny_random_video_model",
    "video_embeddings",
]

#: The documented default: VideoMAE base, fine-tuned on Kinetics-400 (16 frames, 224 px).
DEFAULT_VIDEO_MODEL = "MCG-NJU/videomae-base-finetuned-kinetics"
#: A random VideoMAE of the real input geometry, built locally (tests, offline smoke runs).
TINY_RANDOM_VIDEO = "tiny-random"
#: A random CLIP vision tower of the real input geometry, built locally.
TINY_RANDOM_IMAGE = "tiny-random-image"
#: Environment variable naming the default video model.
VIDEO_MODEL_ENV_VAR = "ASTTOOLS_VIDEO_MODEL"
#: ``"snippet"``: one vector per snippet of frames; ``"frame"``: one per frame.
VIDEO_MODEL_KINDS = ("snippet", "frame")

#: config.model_type -> (kind, transformers class name)
_ARCHITECTURES = {
    "videomae": ("snippet", "VideoMAEModel"),
    "clip": ("frame", "CLIPVisionModel"),
    "clip_vision_model": ("frame", "CLIPVisionModel"),
    "siglip": ("frame", "SiglipVisionModel"),
    "siglip_vision_model": ("frame", "SiglipVisionModel"),
    "dinov2": ("frame", "Dinov2Model"),
}

_HOW_TO_GET_WEIGHTS = (
    "Ways to get the weights: on a machine with internet, load {name!r} once (it fills the "
    "Hugging Face cache) or save model and processor with save_pretrained(DIR) and pass DIR "
    "(or set ASTTOOLS_VIDEO_MODEL=DIR); copy that cache here and set HF_HUB_OFFLINE=1. For "
    "tests and offline smoke runs, 'tiny-random' (VideoMAE) or 'tiny-random-image' (CLIP "
    "vision) build small models with random weights locally, marked as such."
)


@dataclass
class VideoModel:
    """A video or image model with its processor, as :func:`video_embeddings` runs it.

    Attributes
    ----------
    model : torch.nn.Module
        ``VideoMAEModel``, ``CLIPVisionModel``, ``SiglipVisionModel`` or ``Dinov2Model``,
        in ``eval()`` mode.
    processor : transformers image processor
        The checkpoint's own preprocessing.
    name : str
        Where it was loaded from (hub id, folder or ``"tiny-random"``).
    kind : {"snippet", "frame"}
    frames_per_vector : int
        Frames one vector sees: VideoMAE's ``num_frames`` (16), 1 for an image encoder.
    random_weights : bool
    """

    model: torch.nn.Module
    processor: Any
    name: str
    kind: str
    frames_per_vector: int
    random_weights: bool

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def info(self) -> dict[str, Any]:
        """What a result records about this model (``video_model``, ``random_weights``,
        ``kind``, ``frames_per_vector``, ``hidden_size``, ``image_size``, ``model_type``)."""
        cfg = self.model.config
        return {"video_model": self.name, "random_weights": self.random_weights,
                "kind": self.kind, "frames_per_vector": self.frames_per_vector,
                "hidden_size": self.hidden_size, "image_size": int(cfg.image_size),
                "model_type": str(cfg.model_type),
                "revision": getattr(cfg, "_commit_hash", None)}

    def __repr__(self) -> str:
        random = ", RANDOM weights" if self.random_weights else ""
        return (f"VideoModel({self.name!r}, kind={self.kind!r}, "
                f"frames_per_vector={self.frames_per_vector}, d={self.hidden_size}{random})")


def tiny_random_video_model(kind: str = "snippet", *, seed: int = 0) -> VideoModel:
    """A small, seeded, random VideoMAE (``"snippet"``) or CLIP vision tower (``"frame"``).

    The real input geometry (224 x 224 pixels; VideoMAE: 16 frames, 16 x 16 patches,
    tubelets of 2, so 1568 tokens; CLIP: 32 x 32 patches) and the real processors, but a
    width of 32 and 2 layers. Its config says ``asttools_random_weights = True``.

    Parameters
    ----------
    kind : {"snippet", "frame"}, default "snippet"
    seed : int, default 0
        The same seed gives the same weights (the global RNG is left untouched).

    Returns
    -------
    VideoModel
    """
    if kind not in VIDEO_MODEL_KINDS:
        raise ParameterError(f"kind={kind!r} is not one of {VIDEO_MODEL_KINDS}")
    small = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 64, "image_size": 224}
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.filterwarnings("ignore", message=".*requires torchvision.*")
        torch.manual_seed(seed)
        if kind == "snippet":
            config = tf.VideoMAEConfig(patch_size=16, num_frames=16, tubelet_size=2, **small)
            model, processor = tf.VideoMAEModel(config), _processor_class("VideoMAE")()
            name = TINY_RANDOM_VIDEO
        else:
            config = tf.CLIPVisionConfig(patch_size=32, **small)
            model, processor = tf.CLIPVisionModel(config), _processor_class("CLIP")()
            name = TINY_RANDOM_IMAGE
    config.asttools_random_weights = True
    return _wrap(model.eval(), processor, name)


def load_video_model(
    name_or_path: str | os.PathLike | None = None,
    *,
    device: str | torch.device | None = "auto",
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    seed: int = 0,
) -> VideoModel:
    """Load a video model (VideoMAE) or a per-frame image encoder with its processor.

    Parameters
    ----------
    name_or_path : str or PathLike, optional
        A hub id, a folder written by ``save_pretrained`` (model and processor), or
        ``"tiny-random"`` / ``"tiny-random-image"``. Default ``$ASTTOOLS_VIDEO_MODEL`` or
        :data:`DEFAULT_VIDEO_MODEL`. The architecture comes from its config's
        ``model_type``: videomae, clip / clip_vision_model, siglip /
        siglip_vision_model, dinov2.
    device : str or torch.device, default "auto"
    revision, cache_dir, local_files_only
        As :func:`asttools.load_model`.
    seed : int, default 0
        Seed of the tiny random models.

    Returns
    -------
    VideoModel

    Raises
    ------
    ModelLoadError
        The weights or processor cannot be had, or the architecture is not supported;
        the message says how to get them.

    Warns
    -----
    ASTToolsWarning
        The model has random weights.

    Examples
    --------
    >>> vm = load_video_model("tiny-random")  # doctest: +SKIP
    >>> vm.info()["random_weights"], vm.frames_per_vector  # doctest: +SKIP
    (True, 16)
    """
    name = os.fspath(name_or_path) if name_or_path is not None else \
        os.environ.get(VIDEO_MODEL_ENV_VAR) or DEFAULT_VIDEO_MODEL
    dev = resolve_device(device)
    if name in (TINY_RANDOM_VIDEO, TINY_RANDOM_IMAGE):
        vm = tiny_random_video_model("snippet" if name == TINY_RANDOM_VIDEO else "frame",
                                     seed=seed)
    else:
        vm = _from_pretrained(name, revision=revision, cache_dir=cache_dir,
                              local_files_only=bool(local_files_only))
    if vm.random_weights:
        warnings.warn(f"video model {name!r} has RANDOM weights: video features computed "
                      "with it are meaningless (fine for tests and smoke runs)",
                      ASTToolsWarning, stacklevel=2)
    vm.model = vm.model.to(dev).eval()
    return vm


def describe_video_model(
    name_or_path: str | os.PathLike | None = None,
) -> tuple[str, str, int]:
    """``(name, kind, frames_per_vector)`` of a video model from its config alone.

    What a cached run needs to know without loading the weights. A folder's name comes
    back absolute.

    Raises
    ------
    ModelLoadError
        As :func:`load_video_model`, when not even the config can be had.
    """
    name = os.fspath(name_or_path) if name_or_path is not None else \
        os.environ.get(VIDEO_MODEL_ENV_VAR) or DEFAULT_VIDEO_MODEL
    if name in (TINY_RANDOM_VIDEO, TINY_RANDOM_IMAGE):
        return (name, "snippet", 16) if name == TINY_RANDOM_VIDEO else (name, "frame", 1)
    path = Path(name).expanduser()
    try:
        config = tf.AutoConfig.from_pretrained(str(path) if path.exists() else name)
    except (OSError, ValueError):
        vm = load_video_model(name, device="cpu")  # raises ModelLoadError, saying how
        return vm.name, vm.kind, vm.frames_per_vector
    kind = _ARCHITECTURES.get(config.model_type, ("frame", ""))[0]
    frames = int(config.num_frames) if kind == "snippet" else 1
    return (str(path.resolve()) if path.exists() else name), kind, frames


def video_embeddings(
    pixels: np.ndarray,
    *,
    model: VideoModel,
    batch_size: int = 8,
    precision: str = "fp32",
) -> np.ndarray:
    """Embed frames or snippets with a video model, through its own processor.

    Parameters
    ----------
    pixels : ndarray, uint8, shape (m, n_frames, height, width, 3)
        RGB frames, as :attr:`asttools.audio.frames.FrameBatch.pixels`. A snippet model needs
        ``n_frames == model.frames_per_vector``; an image encoder takes any ``n_frames``
        (the frames' vectors are averaged per row).
    model : VideoModel
    batch_size : int, default 8
        Rows per forward pass (snippets, or frames for an image encoder).
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}, default "fp32"

    Returns
    -------
    ndarray, float32, shape (m, model.hidden_size)

    Raises
    ------
    ParameterError
        ``pixels`` is not uint8 of that shape, or its snippets have the wrong length.
    """
    x = np.asarray(pixels)
    if x.ndim != 5 or x.shape[-1] != 3 or x.dtype != np.uint8:
        raise ParameterError("pixels must be uint8 of shape (m, n_frames, height, width, 3), "
                             f"given dtype={x.dtype}, shape={x.shape}")
    m, n = x.shape[:2]
    if model.kind == "snippet" and n != model.frames_per_vector:
        raise ParameterError(f"{model.name} takes snippets of {model.frames_per_vector} "
                             f"frames, given {n} (read_frames(..., snippet="
                             f"{model.frames_per_vector}))")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"batch_size={batch_size!r} must be a positive integer")
    net = prepare_model(model.model, precision)
    device = next(net.parameters()).device
    dtype = next(net.parameters()).dtype
    dtype = dtype if dtype.is_floating_point else torch.float32
    out = np.zeros((m, model.hidden_size), np.float32)
    if m == 0:
        return out
    if model.kind == "snippet":
        units = [list(snippet) for snippet in x]
    else:
        units = list(x.reshape(m * n, *x.shape[2:]))
    rows = []
    with torch.inference_mode():
        for lo in range(0, len(units), batch_size):
            chunk = units[lo:lo + batch_size]
            inputs = model.processor(chunk, return_tensors="pt")  # videos, or images
            pv = inputs["pixel_values"].to(device=device, dtype=dtype)
            result = net(pixel_values=pv)
            vec = result.last_hidden_state.mean(1) if model.kind == "snippet" \
                else result.pooler_output
            rows.append(vec.float().cpu().numpy())
    vectors = np.concatenate(rows)
    if model.kind == "frame":
        vectors = vectors.reshape(m, n, -1).mean(axis=1)
    out[:] = vectors
    return out


def video_meta(model: VideoModel, precision: str) -> dict[str, Any]:
    """What a video result records about its model and precision."""
    return {**model.info(), **precision_meta(model.model, precision)}


# --------------------------------------------------------------------------- loading


def _processor_class(prefix: str):
    """The PIL image processor (no torchvision needed), else the default one."""
    return getattr(tf, f"{prefix}ImageProcessorPil", None) or \
        getattr(tf, f"{prefix}ImageProcessor")


def _wrap(model, processor, name: str) -> VideoModel:
    cfg = model.config
    kind, _ = _ARCHITECTURES.get(cfg.model_type, ("frame", ""))
    frames = int(cfg.num_frames) if kind == "snippet" else 1
    random = bool(getattr(cfg, "asttools_random_weights", False))
    return VideoModel(model, processor, name, kind, frames, random)


def _from_pretrained(name: str, *, revision, cache_dir, local_files_only) -> VideoModel:
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"video model directory {str(path)!r} has no config.json: "
                                 "it was not written by save_pretrained. "
                                 + _HOW_TO_GET_WEIGHTS.format(name=DEFAULT_VIDEO_MODEL))
        name = str(path.resolve())
    elif name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ModelLoadError(f"video model {name!r} is neither an existing directory nor a "
                             "Hugging Face id ('organisation/name'), nor 'tiny-random'. "
                             + _HOW_TO_GET_WEIGHTS.format(name=DEFAULT_VIDEO_MODEL))
    kw = {"revision": revision, "cache_dir": cache_dir, "local_files_only": local_files_only}
    try:
        config = tf.AutoConfig.from_pretrained(name, **kw)
        if config.model_type not in _ARCHITECTURES:
            raise ModelLoadError(
                f"video model {name!r} is a {config.model_type!r} model; supported: "
                f"{sorted(_ARCHITECTURES)}")
        _, cls = _ARCHITECTURES[config.model_type]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*requires torchvision.*")
            model = getattr(tf, cls).from_pretrained(name, **kw)
            processor = tf.AutoImageProcessor.from_pretrained(name, **kw)
    except OSError as err:
        raise ModelLoadError(f"cannot load video model {name!r}: "
                             f"{str(err).splitlines()[0]} "
                             + _HOW_TO_GET_WEIGHTS.format(name=name)) from err
    return _wrap(model.eval(), processor, name)
