"""The speed table: the tutorial recipe, a naive loop and asttools at each precision, one run.

Run by hand (not part of the test suite)::

    python benchmarks/bench_speed.py                       # 4 clips, fp32 bf16 int8
    python benchmarks/bench_speed.py --clips 8 --precisions fp32 bf16

Every row runs on the same generated clips (10 s, 44.1 kHz stereo WAV: so a correct path
downmixes and resamples) and the same full-size AST (``ASTConfig()`` defaults, RANDOM
weights, seeded: the time per window is the real model's, its outputs are not):

- **tutorial recipe** -- what ``../shared/reference`` copies from a blog post: channel 0,
  the 44.1 kHz samples handed to transformers' ``ASTFeatureExtractor`` as if 16 kHz (so
  10.24 s of "16 kHz" is 3.7 s of audio), ``ASTModel`` for the [CLS] embedding, then
  ``ASTForAudioClassification`` again on the same input for the labels (two forward passes);
- **naive loop** -- correct but plain: ``asttools.load_audio`` (downmix, resample),
  ``ASTFeatureExtractor``, one forward pass, one file at a time;
- **asttools fp32 / bf16 / int8** -- ``asttools.extract`` into a fresh store with that
  ``precision=`` (int8 needs torchao; skipped without it).

Against asttools fp32 on the same clips, each row gives the [CLS] cosine (min and mean),
the largest probability difference and top-5 agreement: the recipe's low cosine is its
missing resampling, not noise. Times are single runs on a shared machine; compare ratios
within one run. The CPU line says which instructions it has (bf16 and int8 are only fast
with AVX512_BF16/AMX or VNNI).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from bench_extract import CLIP_S, SOURCE_SR, make_clips  # the same generated clips
from bench_memory import _cpu, _full_size_model  # the same CPU summary and seeded model

import asttools
from asttools.audio import load_audio

TOP = 5


def tutorial_recipe(paths, model) -> tuple[float, np.ndarray, np.ndarray]:
    """The blog post's steps, as written (its flaws included), one file at a time."""
    from transformers import ASTFeatureExtractor

    fe = ASTFeatureExtractor()
    encoder = model.audio_spectrogram_transformer  # the tutorial's separate ASTModel
    emb, probs = [], []
    t0 = time.perf_counter()
    for p in paths:
        waveform, sr = sf.read(p, dtype="float32", always_2d=True)
        waveform = torch.from_numpy(waveform[:, 0])  # channel 0; never resampled
        inputs = fe(waveform, sampling_rate=16000, return_tensors="pt")
        with torch.no_grad():
            emb.append(encoder(**inputs).last_hidden_state[:, 0, :][0].numpy())
            probs.append(torch.sigmoid(model(**inputs).logits)[0].numpy())  # second pass
    return time.perf_counter() - t0, np.stack(emb), np.stack(probs)


def naive_loop(paths, model) -> tuple[float, np.ndarray, np.ndarray]:
    """Correct preprocessing, one forward pass, one file at a time."""
    from transformers import ASTFeatureExtractor

    fe = ASTFeatureExtractor()
    emb, probs = [], []
    t0 = time.perf_counter()
    for p in paths:
        wav, sr = load_audio(p)
        inputs = fe(wav, sampling_rate=sr, return_tensors="pt")
        with torch.inference_mode():
            out = model(**inputs, output_hidden_states=True)
            h = model.audio_spectrogram_transformer.layernorm(out.hidden_states[-1])
        emb.append(h[0, 0].numpy())  # [CLS] of last_hidden_state, as asttools' "cls"
        probs.append(torch.sigmoid(out.logits)[0].numpy())
    return time.perf_counter() - t0, np.stack(emb), np.stack(probs)


def run_extract(paths, model, precision: str) -> tuple[float, np.ndarray, np.ndarray]:
    store = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no fast bf16 kernels here": the table says so
            t0 = time.perf_counter()
            res = asttools.extract(paths, store, model=model, precision=precision,
                                   progress=False)
            seconds = time.perf_counter() - t0
        clips = res.clips()
        return seconds, clips.embeddings, clips.probs
    finally:
        shutil.rmtree(store, ignore_errors=True)


def compare(emb, probs, ref_emb, ref_probs) -> dict:
    a = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    b = ref_emb / np.linalg.norm(ref_emb, axis=1, keepdims=True)
    cos = (a * b).sum(axis=1)
    top = np.argsort(-probs, axis=1)[:, :TOP]
    ref_top = np.argsort(-ref_probs, axis=1)[:, :TOP]
    agree = np.mean([len(set(x) & set(y)) / TOP for x, y in zip(top, ref_top, strict=True)])
    return {"cos_min": cos.min(), "cos_mean": cos.mean(),
            "max_prob_diff": float(np.abs(probs - ref_probs).max()), "top5": agree}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "int8"],
                        choices=["fp32", "bf16", "int8"])
    args = parser.parse_args(argv)
    if "fp32" not in args.precisions:
        parser.error("fp32 is the reference of the fidelity columns: keep it")
    print(f"CPU: {_cpu()}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"capability {torch.backends.cpu.get_cpu_capability()}")
    model = _full_size_model(stub=False)
    folder = Path(tempfile.mkdtemp(prefix="bench-speed-clips-"))
    rows = []
    try:
        paths = make_clips(folder, args.clips, channels=2)
        print(f"{len(paths)} clips of {CLIP_S:g} s, {SOURCE_SR} Hz stereo; full-size AST, "
              "random weights")
        naive_loop(paths[:1], model)  # warm-up: first-call costs out of every row
        timed = {"tutorial recipe": tutorial_recipe(paths, model),
                 "naive loop": naive_loop(paths, model)}
        for precision in args.precisions:
            if precision == "int8":
                try:
                    import torchao  # noqa: F401
                except ImportError:
                    print("int8: skipped (torchao is not installed: pip install -e '.[int8]')")
                    continue
            timed[f"asttools {precision}"] = run_extract(paths, model, precision)
            print(f"  {precision}: {timed[f'asttools {precision}'][0]:.1f} s", flush=True)
        _, ref_emb, ref_probs = timed["asttools fp32"]
        base = timed["tutorial recipe"][0]
        for name, (seconds, emb, probs) in timed.items():
            rows.append({"row": name, "s_per_clip": seconds / len(paths),
                         "x_recipe": base / seconds,
                         "x_fp32": timed["asttools fp32"][0] / seconds,
                         **compare(emb, probs, ref_emb, ref_probs)})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("\n| row | s / clip | × recipe speed | × fp32 speed | cosine to fp32 (min / mean) "
          "| max prob. diff | top-5 agreement |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['row']} | {r['s_per_clip']:.2f} | {r['x_recipe']:.2f} | {r['x_fp32']:.2f} "
              f"| {r['cos_min']:.5f} / {r['cos_mean']:.5f} | {r['max_prob_diff']:.3g} "
              f"| {r['top5']:.2f} |")


if __name__ == "__main__":
    main()
