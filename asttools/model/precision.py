"""Reduced precision: which arithmetic the forward pass runs in, and how faithful it is.

``precision=`` on :func:`asttools.embed`, :func:`asttools.extract` and
:func:`asttools.timestamp_embeddings` (and ``--precision`` on the command line) chooses
it; :func:`prepare_model` makes the model that runs it, :func:`resolve_precision` says
which one a call runs in, and :func:`asttools.run.fidelity.fidelity` measures, on your own
model and data, what each choice costs against fp32.

- ``"fp32"`` (default): the model as loaded; comparable to transformers to 1e-5.
- ``"bf16"``: weights and inputs cast to bfloat16. Fast on CPUs with AVX512_BF16 or AMX
  and on GPUs; on CPUs without them (AVX2 only) it is *slower* than fp32 (about 3x).
- ``"fp16"``: weights and inputs in float16, on a GPU only (refused on the CPU, where
  it has no fast kernels and a narrow range).
- ``"int8"``: dynamic int8 activations and int8 weights in every Linear layer, through
  torchao's ``Int8DynamicActivationInt8WeightConfig`` (the maintained path; torch's
  ``torch.ao.quantization.quantize_dynamic`` is deprecated). Needs ``pip install
  torchao``. Fast only where torch's int8 matrix multiply is: CPUs with AVX512_VNNI or
  AMX, and CUDA GPUs; on other CPUs it runs a reference kernel and is many times slower
  than fp32 (a warning says so).
- ``"auto"``: bf16 on a CUDA GPU (that supports it) or a CPU with AVX512_BF16/AMX, fp32
  otherwise. It never picks int8 or fp16: int8's fidelity target (embedding cosine
  >= 0.999 to fp32 on the full-size model) is not established, and the error of a
  quantized model depends on its weights — measure it with
  :func:`asttools.run.fidelity.fidelity`.

The fbank is always computed in float32; outputs are float32 numpy arrays whatever the
precision. The model passed in is never changed: a converted copy is made once per
model and precision and kept (weakly) with it, so a bf16 run holds the fp32 model plus
a half-size copy, an int8 run a quarter-size one.
"""

from __future__ import annotations

import copy
import functools
import warnings
import weakref
from pathlib import Path

import torch

from ..errors import ASTToolsWarning, ParameterError
from ..settings import check_precision

__all__ = [
    "DTYPES",
    "cpu_flags",
    "precision_meta",
    "prepare_model",
    "resolve_precision",
]  # the names of the precisions are settings.PRECISIONS, checked by settings.check_precision

#: The torch dtype of the weights and inputs of each float precision.
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

#: What to install for ``precision="int8"``.
INT8_HINT = ("precision='int8' needs torchao (the maintained quantization library of "
             "PyTorch): `pip install torchao` (a version that matches your torch; "
             "tested: torchao 0.18.0 with torch 2.13)")

# model -> {precision: (its weights' state, converted copy)}; the copies go with the model
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (``/proc/cpuinfo``); empty elsewhere.

    Returns
    -------
    frozenset of str
        E.g. ``{"avx2", "avx512_bf16", "amx_tile", "avx512_vnni", ...}``.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def _cpu_has_bf16() -> bool:
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def _cpu_has_int8_kernels() -> bool:
    return bool(cpu_flags() & {"avx512_vnni", "amx_int8", "amx_tile"})


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """The precision a call runs in on ``device``: ``"auto"`` made concrete, checked.

    Parameters
    ----------
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}
    device : torch.device or str, default "cpu"
        Where the model is.

    Returns
    -------
    str
        One of ``"fp32"``, ``"bf16"``, ``"fp16"``, ``"int8"``.

    Raises
    ------
    ParameterError
        An unknown precision, or ``"fp16"`` on a CPU.

    Examples
    --------
    >>> resolve_precision("fp32")
    'fp32'
    """
    check_precision(precision)
    dev = torch.device(device)
    if precision == "auto":
        if dev.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        if dev.type == "cpu" and _cpu_has_bf16():
            return "bf16"
        return "fp32"
    if precision == "fp16" and dev.type == "cpu":
        raise ParameterError(
            "precision='fp16' is for GPUs: the CPU has no fast float16 kernels. Use "
            "'bf16' on a CPU with AVX512_BF16/AMX, 'int8', or 'fp32' (see "
            "asttools.run.fidelity.fidelity to compare them)")
    return precision


def _model_precision(model) -> str:
    if getattr(model, "asttools_precision", None):
        return model.asttools_precision
    dtype = next(model.parameters()).dtype
    return {v: k for k, v in DTYPES.items()}.get(dtype, str(dtype))


def prepare_model(model, precision: str = "fp32"):
    """The model that runs ``precision``: ``model`` itself, or a converted copy of it.

    ``model`` is never changed. ``"fp32"`` returns it as it is (a model already loaded
    in another dtype is copied to float32); ``"bf16"``/``"fp16"`` a copy with its
    weights in that dtype; ``"int8"`` a copy whose Linear layers torchao quantized
    (dynamic per-token int8 activations, per-channel int8 weights). The copy is made
    once per model and precision and reused while the model lives and its weights do
    not change (training it, or loading other weights into it, makes a new copy).

    Parameters
    ----------
    model : transformers.ASTForAudioClassification
    precision : {"fp32", "bf16", "fp16", "int8", "auto"}, default "fp32"

    Returns
    -------
    transformers.ASTForAudioClassification
        In ``eval()`` mode; its ``asttools_precision`` attribute names the precision.

    Raises
    ------
    ParameterError
        An unknown precision, ``"fp16"`` on a CPU, or ``"int8"`` without torchao (the
        message says what to install).

    Warns
    -----
    ASTToolsWarning
        ``"int8"`` on a CPU without AVX512_VNNI/AMX, where it is slower than fp32;
        ``"bf16"`` on a CPU without AVX512_BF16/AMX, where it is slower than fp32.
    """
    device = next(model.parameters()).device
    prec = resolve_precision(precision, device)
    if _model_precision(model) == prec:
        return model
    try:
        cache = _PREPARED.setdefault(model, {})
    except TypeError:  # not weakly referenceable: convert every time
        cache = {}
    state = _weights_state(model)
    if prec not in cache or cache[prec][0] != state:  # new, or its weights changed since
        cache[prec] = (state, _convert(model, prec, device))
    return cache[prec][1]


def _weights_state(model) -> tuple:
    """Which tensors the model holds and how often each was changed in place (an
    optimizer step or ``load_state_dict`` bumps a tensor's version): a copy made before
    is stale when this differs."""
    return tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))


def _convert(model, prec: str, device: torch.device):
    if prec == "int8":
        try:
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
        except ImportError as err:
            raise ParameterError(INT8_HINT + f" (import failed: {err})") from err
        if device.type == "cpu" and not _cpu_has_int8_kernels():
            warnings.warn(
                "precision='int8' on a CPU without AVX512_VNNI/AMX: torch's int8 matrix "
                "multiply has no fast kernel here and runs many times slower than fp32 "
                "(benchmarks/bench_precision.py measures it); use fp32 on this CPU",
                ASTToolsWarning, stacklevel=4)
        out = copy.deepcopy(model).float()
        # set_inductor_config=False: leave torch.compile's global settings alone
        quantize_(out, Int8DynamicActivationInt8WeightConfig(set_inductor_config=False))
    else:
        if prec == "bf16" and device.type == "cpu" and not _cpu_has_bf16():
            warnings.warn(
                "precision='bf16' on a CPU without AVX512_BF16/AMX is slower than fp32 "
                "(about 3x on AVX2 CPUs); use fp32 on this CPU", ASTToolsWarning,
                stacklevel=4)
        out = copy.deepcopy(model).to(DTYPES[prec])
    out.eval()
    out.asttools_precision = prec
    return out


def precision_meta(model, precision: str) -> dict:
    """What a result records about its precision (part of ``meta``).

    Returns
    -------
    dict
        ``precision`` (as run: ``"auto"`` made concrete), ``precision_requested``, and
        for int8 ``quantization`` (the torchao version and config).
    """
    device = next(model.parameters()).device
    prec = resolve_precision(precision, device)
    meta = {"precision": prec, "precision_requested": precision}
    if prec == "int8":
        try:
            import torchao
            meta["quantization"] = (f"torchao {torchao.__version__} "
                                    "Int8DynamicActivationInt8WeightConfig")
        except ImportError:
            pass
    return meta

