"""Peak memory of ``asttools.embed`` (or ``extract``) against recording length, full-size AST.

Run by hand (not part of the test suite)::

    python benchmarks/bench_memory.py                       # 1 min, 1 h, 10 h: ~15 min
    python benchmarks/bench_memory.py --lengths 60 3600     # skip the 10 h recording
    python benchmarks/bench_memory.py --source-sr 44100 --channels 2   # resampled input
    python benchmarks/bench_memory.py --container mkv-live --lengths 600 3600 --modes stub
    python benchmarks/bench_memory.py --container flac-hires --lengths 60 300 --modes stub

``--container`` (issue 18, case 5): ``wav`` (default); ``mkv-live``, a Matroska file of
48 kHz stereo FLAC written as a live recording is (no duration in its headers); and
``flac-hires``, a FLAC file of 192 kHz x 8 channels (a quiet tone: it compresses well).
Each of these runs twice, under asttools' rule (``streams``: stream a file whose length is
unknown or whose decoded samples exceed ``STREAM_BYTES``) and under the rule before it
("old": stream only a file whose header declares more than ``STREAM_S`` seconds), so the
two peaks come from the same files in the same invocation.

What it measures: one WAV file per length (generated, 16 kHz mono by default) goes through
``asttools.embed`` (or ``asttools.extract`` into a fresh store, ``--api extract``) in a
fresh Python process per run, so each peak is that run's alone. The process first builds a
full-size AST (``ASTConfig()`` defaults: hidden 768, 12 layers, 527 labels) with RANDOM
weights and runs it once on 1 s of audio; then its resident-set high-water mark is reset
(``/proc/self/clear_refs``), the file is embedded, and the high-water mark is read again.
Ratios are against the 1-minute run of the same mode in the same invocation.

Two modes, both with the real model object, the real decoding, windowing, fbank, pooling,
classifier and result collection:

- ``stub``: the encoder's forward pass is replaced by one that returns a
  ``last_hidden_state`` of the full model's shape, (batch, 1214, 768) float32, without
  computing it. That is what asttools holds on to after each pass (3.6 MiB per window);
  what it does not reproduce is the encoder's own transient activations (attention
  matrices), which are freed after each batch and depend on the batch size only. A 10 h
  recording (3,516 windows) takes minutes instead of hours (2-7 s per window on 2 CPU
  cores).
- ``real``: the full model really runs, for the lengths with at most
  ``--real-max-windows`` windows (default 8: the 1-minute recording), to show the
  encoder's transient memory on top of the stub's figure.

How to read it: memory is bounded when the long recordings (1 h, 10 h) peak about where
the 10-minute one does. The step from 1 minute up to 10 minutes is not the recording's
length: the 1-minute recording has 6 windows, less than one batch of 8, and glibc keeps
the buffers a few batches freed for reuse (run with ``MALLOC_MMAP_THRESHOLD_=131072`` to
see the allocator's share shrink). What does grow with length is the result itself: 5.2 kB
of embedding and probabilities per window with ``embed`` ("results held"; ``extract``
writes them to the store every 256 files or 2 minutes instead).

Figures are single runs on a shared machine: compare them within one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

SECONDS_PER_BLOCK = 600  # written 10 minutes at a time


def write_recording(path: Path, seconds: float, *, sr: int, channels: int) -> Path:
    """A long WAV of a gliding tone plus noise, written block by block (PCM 16-bit)."""
    rng = np.random.default_rng(0)
    n = int(round(seconds * sr))
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, subtype="PCM_16") as f:
        for start in range(0, n, SECONDS_PER_BLOCK * sr):
            t = np.arange(start, min(n, start + SECONDS_PER_BLOCK * sr)) / sr
            tone = 0.3 * np.sin(2 * np.pi * (300 + 200 * np.sin(2 * np.pi * t / 60)) * t)
            block = tone[:, None] + 0.05 * rng.standard_normal((len(t), channels))
            f.write(block.astype(np.float32))
    return path


def write_mkv_live(path: Path, seconds: float, *, sr: int = 48000, channels: int = 2) -> Path:
    """A Matroska file of FLAC audio with no duration in its headers (muxer option live)."""
    import av

    layout = "mono" if channels == 1 else "stereo"
    n, block = int(round(seconds * sr)), 4608
    with av.open(str(path), "w", format="matroska", options={"live": "1"}) as container:
        stream = container.add_stream("flac", rate=sr, layout=layout)
        for start in range(0, n, block):
            t = np.arange(start, min(n, start + block)) / sr
            tone = 0.3 * np.sin(2 * np.pi * (300 + 200 * np.sin(2 * np.pi * t / 60)) * t)
            data = np.round(np.repeat(tone[None], channels, 0) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T.reshape(1, -1)),
                                               format="s16", layout=layout)
            frame.sample_rate, frame.pts = sr, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_flac_hires(path: Path, seconds: float, *, sr: int = 192000, channels: int = 8) -> Path:
    """A FLAC file of a quiet tone at a high rate on many channels, 10 s at a time."""
    n, block = int(round(seconds * sr)), 10 * sr
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, subtype="PCM_16") as f:
        for start in range(0, n, block):
            t = np.arange(start, min(n, start + block)) / sr
            tone = 0.001 * np.sin(2 * np.pi * 440 * t)
            f.write(np.repeat(tone[:, None], channels, 1).astype(np.float32))
    return path


# --------------------------------------------------------------------------- child


def _status_mib() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return out


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _full_size_model(stub: bool):
    import torch
    from transformers import ASTConfig, ASTForAudioClassification
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    import asttools

    tiny = asttools.load_model("tiny-random", device="cpu")  # for the AudioSet label names
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = ASTForAudioClassification(ASTConfig(num_labels=527)).eval()
    model.config.asttools_random_weights = True
    model.config.asttools_loaded_from = "full-size-random"
    model.config.id2label = tiny.config.id2label
    if stub:
        cfg = model.config
        tokens = 2 + 12 * 101  # [CLS], distillation, the 12 x 101 patches

        class StubEncoder(torch.nn.Module):
            """The encoder's output shapes without its compute; its weights stay loaded."""

            def __init__(self, real):
                super().__init__()
                self.real = real  # keeps the 86 M parameters in memory, as in real mode

            def forward(self, input_values, output_hidden_states=False, **kwargs):
                b = input_values.shape[0]
                h = torch.randn(b, tokens, cfg.hidden_size, dtype=input_values.dtype)
                hidden = ((h,) * (cfg.num_hidden_layers + 1)) if output_hidden_states else None
                return BaseModelOutputWithPooling(last_hidden_state=h,
                                                  pooler_output=(h[:, 0] + h[:, 1]) / 2,
                                                  hidden_states=hidden)

        model.audio_spectrogram_transformer = StubEncoder(model.audio_spectrogram_transformer)
    return model


def child(args) -> None:
    import torch

    import asttools

    warnings.simplefilter("ignore")
    if args.rule == "old":  # the rule before issue 18: declared seconds alone
        import asttools.audio.sources as sources

        sources.streams = lambda opened: (opened.duration_s is not None
                                          and opened.duration_s > sources.STREAM_S)
    torch.manual_seed(0)
    model = _full_size_model(stub=args.mode == "stub")
    asttools.embed(np.zeros(16000, np.float32), sr=16000, model=model)  # warm-up
    before = _status_mib()["VmRSS"]
    exact = _reset_peak()
    t0 = time.perf_counter()
    if args.api == "embed":
        out = asttools.embed(args.file, model=model, batch_size=args.batch_size,
                             workers=args.workers, on_error="raise")
        rows, errors = len(out), len(out.errors)
        held = out.embeddings.nbytes + out.probs.nbytes
    else:
        store = tempfile.mkdtemp(prefix="bench-mem-store-")
        try:
            out = asttools.extract(args.file, store, model=model, batch_size=args.batch_size,
                                   workers=args.workers, progress=False, read_back=False)
            rows, errors, held = out.meta["run"]["windows"], len(out.errors), 0
        finally:
            shutil.rmtree(store, ignore_errors=True)
    seconds = time.perf_counter() - t0
    status = _status_mib()
    print(json.dumps({
        "rows": rows, "errors": errors, "seconds": seconds, "rss_before": before,
        "peak": status["VmHWM"] if exact else
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_exact": exact, "rss_after": status["VmRSS"], "results_mib": held / 2**20,
    }))


# --------------------------------------------------------------------------- parent


def _windows(seconds: float) -> int:
    from asttools.model.features import window_bounds

    return len(window_bounds(int(round(seconds * 16000))))


def _label(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _cpu() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    simd = [f for f in ("avx2", "avx512f", "fma", "amx_tile") if f in flags]
    return (f"{fields.get('Model name', '?').strip()}, {os.cpu_count()} cores, "
            f"flags {' '.join(simd) or 'none of avx2/avx512f/fma'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[60, 3600, 36000],
                        metavar="SECONDS", help="recording lengths (default 1 min, 1 h, 10 h)")
    parser.add_argument("--modes", nargs="+", default=["stub", "real"],
                        choices=["stub", "real"])
    parser.add_argument("--real-max-windows", type=int, default=8,
                        help="run the real model only where a recording has at most this "
                             "many windows (default 8: the 1-minute one)")
    parser.add_argument("--api", choices=["embed", "extract"], default="embed")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--source-sr", type=int, default=16000)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--container", choices=["wav", "mkv-live", "flac-hires"],
                        default="wav", help="the file written (see above)")
    parser.add_argument("--rule", default="new", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return

    import torch

    import asttools

    print(f"asttools {asttools.__version__} ({Path(asttools.__file__).parent}), torch "
          f"{torch.__version__}, python {platform.python_version()}, {torch.get_num_threads()} "
          f"torch threads, device cpu")
    print(f"CPU: {_cpu()}")
    what = {"wav": f"WAV files at {args.source_sr} Hz, {args.channels} channel(s), PCM 16-bit",
            "mkv-live": "Matroska files of 48 kHz stereo FLAC without a duration (live=1)",
            "flac-hires": "FLAC files of 192 kHz x 8 channels, PCM 16-bit"}[args.container]
    rules = ["new"] if args.container == "wav" else ["new", "old"]
    print(f"asttools.{args.api}, batch size {args.batch_size}, workers {args.workers}, "
          f"{what}; full-size AST (ASTConfig(): hidden 768, 12 layers) with RANDOM weights")
    print("stub = encoder forward replaced by a (batch, 1214, 768) float32 output of the full "
          "model's size (no compute); real = the full model runs")
    folder = Path(tempfile.mkdtemp(prefix="bench-mem-"))
    rows = []
    try:
        for seconds in args.lengths:
            t0 = time.perf_counter()
            if args.container == "mkv-live":
                path = write_mkv_live(folder / f"rec_{int(seconds)}s.mkv", seconds)
            elif args.container == "flac-hires":
                path = write_flac_hires(folder / f"rec_{int(seconds)}s.flac", seconds)
            else:
                path = write_recording(folder / f"rec_{int(seconds)}s.wav", seconds,
                                       sr=args.source_sr, channels=args.channels)
            print(f"  wrote {_label(seconds)} ({path.stat().st_size / 2**20:,.0f} MiB) in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            for mode, rule in [(m, r) for m in args.modes for r in rules]:
                if mode == "real" and _windows(seconds) > args.real_max_windows:
                    continue
                cmd = [sys.executable, __file__, "--child", "--file", str(path), "--mode", mode,
                       "--api", args.api, "--batch-size", str(args.batch_size),
                       "--workers", str(args.workers), "--rule", rule]
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode:
                    print(f"  {mode} {_label(seconds)}: FAILED (exit {done.returncode})\n"
                          f"{done.stderr[-3000:]}")
                    continue
                result = json.loads(done.stdout.strip().splitlines()[-1])
                result.update(mode=mode, seconds_audio=seconds, rule=rule)
                rows.append(result)
                print(f"  {mode} ({rule} rule) {_label(seconds)}: {result['rows']} windows in "
                      f"{result['seconds']:.0f} s, peak {result['peak']:,.0f} MiB", flush=True)
            path.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print()
    print(f"| mode | rule | {args.container} recording | windows | run time | RSS before | "
          "peak RSS in the run | peak - before | ratio vs 1 min (peak - before) | results held |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = next((b for b in rows if b["mode"] == r["mode"] and b["rule"] == r["rule"]
                     and math.isclose(b["seconds_audio"], 60)), None)
        growth = r["peak"] - r["rss_before"]
        ratio = (f"{growth / (base['peak'] - base['rss_before']):.2f}"
                 if base and base["peak"] > base["rss_before"] else "n/a")
        print(f"| {r['mode']} | {r['rule']} | {_label(r['seconds_audio'])} | {r['rows']:,} | "
              f"{r['seconds']:,.0f} s | {r['rss_before']:,.0f} MiB | {r['peak']:,.0f} MiB | "
              f"{growth:,.0f} MiB | {ratio} | {r['results_mib']:.1f} MiB |")
    if rows and not all(r["peak_exact"] for r in rows):
        print("(peak is ru_maxrss, the process's whole-life high-water mark: /proc/self/"
              "clear_refs could not reset it)")


if __name__ == "__main__":
    main()
