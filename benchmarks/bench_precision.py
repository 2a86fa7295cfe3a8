"""Time per window and fidelity to fp32 of each precision, full-size AST (RANDOM WEIGHTS).

Run by hand (not part of the test suite)::

    python benchmarks/bench_precision.py                    # 2 windows, fp32/bf16/int8
    python benchmarks/bench_precision.py --windows 8 --precisions fp32,bf16,int8,fp16

A full-size AST (``ASTConfig()`` defaults: hidden 768, 12 layers, 1214 tokens, 527 labels)
is built locally with RANDOM weights (seed 0; no download): its time per window is that of
the real model, its fidelity numbers are not those of trained weights — quantization
error depends on the weights, so check yours with ``asttools fidelity DATA``. The inputs
are generated 10.24 s windows (chirp, tones, noise, clicks) at 16 kHz. Every precision
runs the same windows in the same process, after one untimed warm-up window; ratios are
against fp32 in the same run (``asttools.run.fidelity.fidelity``).

``--reference`` adds, for comparison only, torch's deprecated dynamic int8 path
(``torch.ao.quantization.quantize_dynamic``, fbgemm kernels), which asttools does not
offer.

Figures are single runs on a shared machine: compare them within one run.
"""

from __future__ import annotations

import argparse
import copy
import platform
import time
import warnings

import numpy as np
import pandas as pd
import torch

import asttools
from asttools.run.fidelity import fidelity
from asttools.run import forward, sigmoid
from asttools.model.precision import cpu_flags

SR = 16000
N = 163840  # 10.24 s


def full_size_random_model():
    """A full-size AST with RANDOM weights (seed 0), AudioSet label names, on the CPU."""
    from transformers import ASTConfig, ASTForAudioClassification

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny = asttools.load_model("tiny-random", device="cpu")  # for the label names
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = ASTForAudioClassification(ASTConfig(num_labels=527)).eval()
        emb = model.audio_spectrogram_transformer.embeddings
        for p in (emb.cls_token, emb.distillation_token, emb.position_embeddings):
            p.data.normal_(0.0, 0.02)  # as tiny_random_model: not left at zero
    model.config.asttools_random_weights = True
    model.config.asttools_loaded_from = "full-size-random"
    model.config.id2label = tiny.config.id2label
    return model


def windows(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(N) / SR
    kinds = [
        lambda: np.sin(2 * np.pi * (200 * t + (4000 - 200) / (2 * t[-1]) * t**2)),  # chirp
        lambda: sum(np.sin(2 * np.pi * f * t) for f in (440, 660, 990)) / 3,  # chord
        lambda: rng.standard_normal(N),  # white noise
        lambda: (rng.random(N) < 8 / SR).astype(float) * 4,  # clicks
    ]
    return [(0.3 * kinds[i % len(kinds)]()).astype(np.float32) for i in range(n)]


def reference_quantize_dynamic(model, wavs, fp32_emb, fp32_probs, batch_size, k=5):
    """torch's deprecated dynamic int8 (not offered by asttools), same windows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model),
                                                   {torch.nn.Linear}, dtype=torch.qint8)
    batch = np.stack(wavs)
    forward(q, batch[:1])  # warm-up
    t0 = time.perf_counter()
    out = [forward(q, batch[s:s + batch_size]) for s in range(0, len(batch), batch_size)]
    spw = (time.perf_counter() - t0) / len(batch)
    emb = np.concatenate([e for e, _ in out])
    probs = sigmoid(np.concatenate([lg for _, lg in out]))
    a, b = emb.astype(np.float64), fp32_emb.astype(np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    top = np.argsort(-probs, 1)[:, :k]
    ref = np.argsort(-fp32_probs, 1)[:, :k]
    agree = np.mean([len(set(x) & set(y)) / k for x, y in zip(top, ref, strict=True)])
    return {"precision": "int8 (torch.ao quantize_dynamic, deprecated; reference only)",
            "seconds_per_window": spw, "cosine_min": cos.min(), "cosine_mean": cos.mean(),
            "max_abs_prob_diff": np.abs(probs - fp32_probs).max(), "topk_agreement": agree}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,bf16,int8")
    ap.add_argument("--reference", action="store_true",
                    help="also time torch's deprecated quantize_dynamic")
    args = ap.parse_args()

    flags = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "avx512_vnni",
                                  "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"})
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, CPU flags: {' '.join(flags) or '-'}, "
          f"torch CPU capability {torch.backends.cpu.get_cpu_capability()}")
    try:
        import torchao
        print(f"torchao {torchao.__version__}")
    except ImportError:
        print("torchao not installed: int8 rows will carry its error")
    model = full_size_random_model()
    wavs = windows(args.windows)
    print(f"full-size AST, RANDOM WEIGHTS; {len(wavs)} windows of 10.24 s, "
          f"batch {args.batch_size}")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the slow-on-this-CPU warnings: measured here
        df = fidelity(wavs, sr=SR, model=model,
                      precisions=tuple(args.precisions.split(",")),
                      batch_size=args.batch_size)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(df.drop(columns=["random_weights", "requested"]).to_string(
        index=False, float_format=lambda v: f"{v:.6g}"))
    if args.reference:
        emb, logits = zip(*(forward(model, np.stack(wavs)[s:s + args.batch_size])
                            for s in range(0, len(wavs), args.batch_size)), strict=True)
        ref = reference_quantize_dynamic(model, wavs, np.concatenate(emb),
                                         sigmoid(np.concatenate(logits)), args.batch_size)
        fp32 = float(df.loc[df["precision"] == "fp32", "seconds_per_window"].iloc[0])
        ref["speedup"] = fp32 / ref["seconds_per_window"]
        print(pd.DataFrame([ref]).to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
