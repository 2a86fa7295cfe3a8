"""Seconds per clip of ``asttools.extract`` against a naive one-file-at-a-time loop.

Run by hand (not part of the test suite)::

    python benchmarks/bench_extract.py                 # tiny model, full-size random AST
    python benchmarks/bench_extract.py --clips 64 --full-clips 8

What it measures, on generated 10 s clips (44.1 kHz mono WAV, so every path resamples):

1. ``tiny-random`` (hidden 64, 2 layers, AST's real 1024 x 128 input): ``extract`` into a
   fresh store (decode threads, batches across files, Parquet writes, hashing), the same
   call again (everything cached), and the reference in the same run: a naive loop of
   ``load_audio`` + transformers' ``ASTFeatureExtractor`` + ``ASTForAudioClassification``,
   one file at a time. Ratios are against that reference.
2. The real AudioSet AST, only if its weights are in the local Hugging Face cache.
3. A full-size AST (``ASTConfig()`` defaults: hidden 768, 12 layers, 527 labels) with
   RANDOM weights — the time per window is that of the real model; its outputs are not.

Figures are single runs on a shared machine: compare them within one run.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import asttools
from asttools.audio import load_audio
from asttools.model import is_cached
from asttools.settings import DEFAULT_MODEL
from asttools.store import extract

SOURCE_SR = 44100
CLIP_S = 10.0


def make_clips(folder: Path, n: int, *, seed: int = 0, channels: int = 1) -> list[Path]:
    """Write ``n`` 10 s clips (chirps plus noise, 44.1 kHz 16-bit WAV). ``channels=2``: the
    chirp left, noise and a steady tone right, so a correct path must downmix."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(CLIP_S * SOURCE_SR)) / SOURCE_SR
    paths = []
    for i in range(n):
        f0, f1 = rng.uniform(100, 4000, 2)
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * CLIP_S))
        if channels == 1:
            wav = 0.3 * np.sin(phase) + 0.05 * rng.standard_normal(len(t))
        else:  # the chirp left; noise and a tone right
            right = 0.1 * rng.standard_normal(len(t)) + 0.2 * np.sin(
                2 * np.pi * rng.uniform(200, 2000) * t)
            wav = np.stack([0.3 * np.sin(phase), right], 1)
        path = folder / f"clip{i:04d}.wav"
        sf.write(path, wav.astype(np.float32), SOURCE_SR, subtype="PCM_16")
        paths.append(path)
    return paths


def naive_loop(paths: list[Path], model) -> tuple[float, np.ndarray]:
    """Reference: load, featurise with transformers, run the model, one file at a time."""
    from transformers import ASTFeatureExtractor

    fe = ASTFeatureExtractor(num_mel_bins=model.config.num_mel_bins,
                             max_length=model.config.max_length)
    probs = []
    t0 = time.perf_counter()
    for p in paths:
        wav, sr = load_audio(p)
        inputs = fe(wav, sampling_rate=sr, return_tensors="pt")
        with torch.inference_mode():
            out = model(**inputs)
        probs.append(torch.sigmoid(out.logits)[0].numpy())
    return time.perf_counter() - t0, np.stack(probs)


def bench_model(name: str, model, paths: list[Path], *, batch_size: int, workers: int,
                note: str = "") -> None:
    """Print extract (cold and cached) and the naive loop for one model."""
    n = len(paths)
    asttools.embed(np.zeros(16000, np.float32), sr=16000, model=model)  # warm-up
    store = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        t0 = time.perf_counter()
        res = extract(paths, store, model=model, batch_size=batch_size, workers=workers,
                      progress=False)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = extract(paths, store, model=model, batch_size=batch_size, workers=workers,
                        progress=False)
        cached = time.perf_counter() - t0
        assert again.meta["run"]["computed"] == 0
        naive, naive_probs = naive_loop(paths, model)
        windows = len(res)
        # the naive loop truncates to one 10.24 s window, as extract does for 10 s clips
        diff = float(np.abs(res.probs - naive_probs).max()) if windows == n else float("nan")
        print(f"\n== {name}{note}: {n} clips of {CLIP_S:g} s, {windows} windows, "
              f"batch {batch_size}, workers {workers}")
        print(f"  extract, fresh store   {cold:8.2f} s   {cold / n:7.3f} s/clip   "
              f"{n / cold:6.2f} clips/s")
        print(f"  extract, all cached    {cached:8.2f} s   {cached / n:7.4f} s/clip")
        print(f"  naive loop (reference) {naive:8.2f} s   {naive / n:7.3f} s/clip   "
              f"{n / naive:6.2f} clips/s")
        print(f"  ratio extract / naive  {cold / naive:8.2f}   (cached / naive "
              f"{cached / naive:.4f}); max |probs diff| {diff:.1e}")
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=48, help="clips for the tiny model")
    parser.add_argument("--full-clips", type=int, default=6,
                        help="clips for the full-size models (0 skips them)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", asttools.ASTToolsWarning)
    warnings.filterwarnings("ignore", message="At least one mel filter")  # transformers
    print(f"asttools {asttools.__version__}, torch {torch.__version__}, python "
          f"{platform.python_version()}, {torch.get_num_threads()} torch threads, "
          f"device cpu")
    folder = Path(tempfile.mkdtemp(prefix="bench-clips-"))
    try:
        paths = make_clips(folder, max(args.clips, args.full_clips))
        tiny = asttools.load_model("tiny-random", device="cpu")
        bench_model("tiny-random", tiny, paths[: args.clips], batch_size=args.batch_size,
                    workers=args.workers)
        if args.full_clips:
            if is_cached(DEFAULT_MODEL):
                real = asttools.load_model(DEFAULT_MODEL, device="cpu")
                bench_model(DEFAULT_MODEL, real, paths[: args.full_clips],
                            batch_size=args.batch_size, workers=args.workers)
            else:
                print(f"\n== {DEFAULT_MODEL}: skipped, its weights are not in the local "
                      "Hugging Face cache (nothing is downloaded)")
            from transformers import ASTConfig, ASTForAudioClassification

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                full = ASTForAudioClassification(ASTConfig(num_labels=527)).eval()
            full.config.asttools_random_weights = True
            full.config.asttools_loaded_from = "full-size-random"
            full.config.id2label = tiny.config.id2label
            bench_model("full-size AST, ASTConfig() defaults", full, paths[: args.full_clips],
                        batch_size=min(args.batch_size, 4), workers=args.workers,
                        note=" (RANDOM weights: timing only)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
