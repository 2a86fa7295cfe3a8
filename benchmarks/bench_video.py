"""Which side bounds a video dataset on this machine: video frames and vectors, or audio?

Run by hand (not part of the test suite)::

    python benchmarks/bench_video.py                  # ~3-5 min on 2 busy cores
    python benchmarks/bench_video.py --clips 8 --seconds 8 --full-snippets 4

What it measures, in one run on the same generated clips (``--clips`` mp4 files of
``--seconds`` s, 25 fps, 320 x 240 H.264 with a 48 kHz stereo AAC track):

- **decode**: ``asttools.audio.frames.load_frames`` (every frame, RGB, at its real time) in one
  thread, and ``iter_frame_batches`` in the worker pool (``--workers`` threads): frames/s;
- **video vectors**: ``asttools.model.video_model.video_embeddings`` (the checkpoint's own
  processor, then the model) with the ``tiny-random`` VideoMAE (16-frame snippets, real
  224 x 224 geometry, width 32) and ``tiny-random-image`` CLIP vision (one frame), and the
  **full-size random** geometry (VideoMAE-base: 768 wide, 12 layers, 1568 tokens; CLIP
  ViT-B/32 vision: 768 wide, 12 layers): vectors/s, and the processor's share of the time;
- **audio**: ``asttools.load_audio`` (decode, downmix, resample) and ``asttools.embed`` with
  the tiny-random AST and the full-size random AST (``ASTConfig()``) on the same clips.

Every row also gives **media seconds per second**: how many seconds of video (or audio) the
step gets through per wall-clock second, with VideoMAE at one snippet per 16 frames and
CLIP at 5 frames/s of video. The ratio column divides by the full-size AST's, so a row
below 1 is slower than the audio model on the same clips. Weights are random (marked);
speed does not depend on them. Figures are single runs on a shared machine: compare them
within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

import asttools
from asttools.audio.frames import iter_frame_batches, load_frames
from asttools.model.video_model import (
    VideoModel,
    _processor_class,
    load_video_model,
    video_embeddings,
)


def make_clips(folder: Path, n: int, seconds: float) -> list[Path]:
    """``n`` mp4 clips: 25 fps 320 x 240 H.264 moving noise, 48 kHz stereo AAC."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"clip_{i:02d}.mp4"
        with av.open(str(path), "w") as c:
            vs = c.add_stream("libx264", rate=25)
            vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
            aus = c.add_stream("aac", rate=48000, layout="stereo")
            base = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
            for k in range(round(seconds * 25)):
                img = np.roll(base, 4 * k, axis=1)
                f = av.VideoFrame.from_ndarray(img, format="rgb24")
                f.pts = k
                c.mux(vs.encode(f))
            c.mux(vs.encode(None))
            t = np.arange(round(seconds * 48000)) / 48000
            wav = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for lo in range(0, len(wav), 1024):
                block = np.stack([wav[lo:lo + 1024]] * 2)
                f = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                f.sample_rate, f.pts, f.time_base = 48000, lo, Fraction(1, 48000)
                c.mux(aus.encode(f))
            c.mux(aus.encode(None))
        paths.append(path)
    return paths


def full_size(kind: str) -> VideoModel:
    """VideoMAE-base or CLIP ViT-B/32 vision geometry with random weights."""
    import transformers as tf

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if kind == "snippet":
            model = tf.VideoMAEModel(tf.VideoMAEConfig()).eval()
            proc = _processor_class("VideoMAE")()
        else:
            model = tf.CLIPVisionModel(tf.CLIPVisionConfig(patch_size=32)).eval()
            proc = _processor_class("CLIP")()
    model.config.asttools_random_weights = True
    return VideoModel(model, proc, f"full-size-random-{model.config.model_type}", kind,
                      16 if kind == "snippet" else 1, True)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--full-snippets", type=int, default=2,
                    help="snippets through the full-size VideoMAE (slow on a CPU)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    tmp = Path(tempfile.mkdtemp(prefix="bench_video_"))
    paths = make_clips(tmp, args.clips, args.seconds)
    media_s = args.clips * args.seconds
    n_frames = round(args.seconds * 25) * args.clips
    print(f"{args.clips} clips x {args.seconds:g} s, 25 fps 320x240 H.264 + AAC; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.get_num_threads()} threads")
    rows = []  # (step, model, amount, unit, seconds, media seconds covered)

    _, dt = timed(lambda: [load_frames(p) for p in paths])
    rows.append(("decode frames, 1 thread", "-", n_frames, "frames", dt, media_s))
    _, dt = timed(lambda: list(iter_frame_batches(paths, batch_size=25,
                                                  workers=args.workers)))
    rows.append((f"decode frames, pool of {args.workers}", "-", n_frames, "frames", dt,
                 media_s))

    snippets = [load_frames(p, snippet=16).pixels for p in paths]
    snips = np.concatenate(snippets)
    frames5 = np.concatenate([load_frames(p, fps=5).pixels for p in paths])
    for name, vm, x, cover in [
        ("tiny-random VideoMAE", load_video_model("tiny-random", device="cpu"), snips,
         16 / 25),
        ("tiny-random-image CLIP", load_video_model("tiny-random-image", device="cpu"),
         frames5, 1 / 5),
        ("full-size VideoMAE-base", full_size("snippet"), snips[: args.full_snippets],
         16 / 25),
        ("full-size CLIP ViT-B/32", full_size("frame"), frames5[:16], 1 / 5),
    ]:
        video_embeddings(x[:1], model=vm)  # warm up
        _, dt = timed(lambda vm=vm, x=x: video_embeddings(x, model=vm, batch_size=4))
        flat = list(x[:4, 0]) if vm.kind == "frame" else [list(s) for s in x[:4]]
        _, dp = timed(lambda vm=vm, flat=flat: vm.processor(flat, return_tensors="pt"))
        share = dp * len(x) / min(4, len(x)) / dt
        rows.append((f"video vectors ({share:.0%} processor)", name, len(x), "vectors", dt,
                     len(x) * cover))

    _, dt = timed(lambda: [asttools.load_audio(p) for p in paths])
    rows.append(("decode audio (load_audio)", "-", media_s, "s audio", dt, media_s))
    from bench_memory import _full_size_model  # the same full-size random AST

    for name, model in [("tiny-random AST", asttools.load_model("tiny-random", device="cpu")),
                        ("full-size AST", _full_size_model(stub=False))]:
        asttools.embed(paths[:1], model=model)
        out, dt = timed(lambda model=model: asttools.embed(paths, model=model))
        rows.append(("audio embed (decode + AST)", name, len(out.table), "windows", dt,
                     media_s))

    ref = next(r for r in rows if r[1] == "full-size AST")
    ref_rate = ref[5] / ref[4]
    print("\nRANDOM weights throughout (speed does not depend on them)\n")
    print(f"| {'step':<38} | {'model':<24} | {'per second':>16} | {'media s / s':>11} | "
          f"{'vs full AST':>11} |")
    print(f"|{'-' * 40}|{'-' * 26}|{'-' * 18}|{'-' * 13}|{'-' * 13}|")
    for step, model, amount, unit, dt, covered in rows:
        rate = covered / dt
        print(f"| {step:<38} | {model:<24} | {amount / dt:>8.3g} {unit:<7} | {rate:>11.2f} | "
              f"{rate / ref_rate:>10.2f}x |")


if __name__ == "__main__":
    main()
