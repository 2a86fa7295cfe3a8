"""What time-aligned embeddings cost against plain extraction, and what they take on disk.

Run by hand (not part of the test suite)::

    python benchmarks/bench_timestamps.py                  # the bundled clips + a 60 s file
    python benchmarks/bench_timestamps.py --long-s 120 --repeats 2

On the same inputs, in one run, with a full-size AST (``ASTConfig()`` defaults: hidden 768,
12 layers, 527 labels) with RANDOM weights — the time per window is the real model's, its
outputs are not:

1. plain extraction: ``asttools.embed(inputs, pooling="cls")``, one 10.24 s window per
   10.24 s of audio (the reference);
2. ``asttools.timestamp_embeddings(inputs)`` at the default hop (5.1 s), and at
   ``hop_s=10.1`` (windows that do not overlap);
3. the same, pooled onto 25 fps frames (pooling is numpy on the steps: its cost is the
   difference to 2).

Inputs: the 32 bundled 3 s video clips (``data/video``; 26 with audio) and one long
recording (generated noise + tones, ``--long-s`` seconds). The sizes of
``TimestampResult.save`` are measured for float32 and float16 files of the 0.1 s steps.
Figures are single runs on a shared machine: compare them within one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from bench_memory import _cpu, _full_size_model  # the same CPU summary and seeded model

import asttools
from asttools.run.inputs import list_inputs

ROOT = Path(__file__).resolve().parents[1]


def long_recording(path: Path, seconds: float) -> Path:
    rng = np.random.default_rng(0)
    n = round(seconds * 16000)
    t = np.arange(n) / 16000
    wav = 0.05 * rng.standard_normal(n) + 0.2 * np.sin(2 * np.pi * 440 * t) * (t % 4 < 1)
    sf.write(path, wav.astype(np.float32), 16000)
    return path


def timed(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-s", type=float, default=60.0, help="long recording, seconds")
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    model = _full_size_model(stub=False)
    print(f"CPU: {_cpu()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("model: full-size AST, RANDOM WEIGHTS (timing only)\n")
    with tempfile.TemporaryDirectory() as tmp:
        clips = list_inputs(ROOT / "data" / "video" / "manifest.csv", id_column="clip_id")
        long = [str(long_recording(Path(tmp) / "long.wav", args.long_s))]
        sets = {"32 bundled 3 s clips": clips, f"one {args.long_s:g} s recording": long}
        for name, inputs in sets.items():
            plain_s, plain = timed(partial(asttools.embed, inputs, model=model), args.repeats)
            rows = [("plain extraction (cls, 10.24 s windows)", plain_s, len(plain), "")]
            for hop in (5.1, 10.1):
                s, res = timed(partial(asttools.timestamp_embeddings, inputs, model=model,
                                       hop_s=hop), args.repeats)
                rows.append((f"timestamp_embeddings, hop {hop:g} s", s,
                             int(res.inputs["n_windows"].sum()), f"{len(res)} steps"))
                if hop == 5.1:
                    steps = res
            s, pooled = timed(partial(asttools.timestamp_embeddings, inputs, model=model,
                                      frame_rate=25), args.repeats)
            rows.append(("  ... pooled onto 25 fps frames", s,
                         int(pooled.inputs["n_windows"].sum()), f"{len(pooled)} frames"))
            print(f"== {name}")
            print(f"{'':44s} {'seconds':>8s} {'x plain':>8s} {'windows':>8s}")
            for label, s, windows, extra in rows:
                print(f"{label:44s} {s:8.1f} {s / plain_s:8.2f} {windows:8d}  {extra}")
            sizes = {}
            for f16 in (False, True):
                path = steps.save(Path(tmp) / f"steps{int(f16)}.parquet", float16=f16)
                sizes[f16] = path.stat().st_size
            n = len(steps)
            audio_s = float(steps.inputs["duration_s"].sum())
            print(f"file of the {n} steps ({audio_s:.0f} s of audio): float32 "
                  f"{sizes[False] / 2**20:.2f} MiB ({sizes[False] / n:.0f} B/step), float16 "
                  f"{sizes[True] / 2**20:.2f} MiB ({sizes[True] / n:.0f} B/step); per hour of "
                  f"audio {sizes[False] / audio_s * 3600 / 2**20:.0f} / "
                  f"{sizes[True] / audio_s * 3600 / 2**20:.0f} MiB\n")


if __name__ == "__main__":
    main()
