"""Files per second of ``asttools.load_audio`` against worker count: threads and processes.

Run by hand (not part of the test suite)::

    python benchmarks/bench_decode.py                         # mp4 and wav, ~1-2 min on 2 cores
    python benchmarks/bench_decode.py --files 96 --kinds mp4  # more files, mp4 only
    python benchmarks/bench_decode.py --max-workers 32        # a bigger machine

What it measures: ``--files`` clips of ``--seconds`` seconds (default 48 of 10 s) are
generated into a temporary folder, half at 44.1 kHz and half at 48 kHz, stereo: mp4 files
(AAC-LC, FFmpeg's native encoder, 128 kbit/s, with a small H.264 video track so that the
demuxer skips video packets as it would in a real video) and WAV files (PCM 16-bit). Each
file then goes through ``asttools.load_audio`` -- decode (PyAV for mp4, libsndfile for wav),
downmix, soxr "HQ" resampling to 16 kHz mono, the silence check: the real path
``extract``, ``embed`` and ``timestamp_embeddings`` take -- in a pool of 1, 2, 4, ... workers
up to ``--max-workers`` (default twice the usable CPUs):

- ``threads``: a ``ThreadPoolExecutor`` (what ``asttools.concurrency.prefetch`` runs);
- ``processes``: a ``ProcessPoolExecutor`` (``forkserver`` start), its workers started and
  warmed (``asttools.audio`` imported, one file decoded) before the clock starts; the start
  is reported apart.

Each cell is the best of ``--repeat`` passes over all files (default 2). Ratios are against
1 worker of the same kind in the same run. A second table times the stages one thread at a
time and then in 2 threads (decode only, resample only): on an idle machine, a stage whose
2-thread speed-up is near 2 releases the GIL, one near 1 does not. On a busy machine that
comparison says little, so ``--gil`` (needs ``py-spy``) measures it directly: one process
decodes the files in a loop while py-spy samples it twice, once counting every sample in
``load_audio`` and once only those holding the GIL; their ratio is the share of decoding
time that holds the GIL, which bounds what threads can gain (Amdahl: 1 / share), however
many cores there are and however busy they are.

Figures are single runs on a shared machine: compare them within one run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

import asttools
from asttools.audio import load_audio

RATES = (44100, 48000)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_summary() -> str:
    """lscpu's model name, core and thread counts, and the usable CPUs of this process."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = {k.strip(): v.strip() for k, v in
                  (line.split(":", 1) for line in text.splitlines() if ":" in line)}
    except (OSError, subprocess.CalledProcessError):
        fields = {}
    model = fields.get("Model name") or platform.processor() or "unknown CPU"
    return (f"{model}; {fields.get('CPU(s)', os.cpu_count())} CPUs "
            f"({fields.get('Core(s) per socket', '?')} cores per socket x "
            f"{fields.get('Socket(s)', '?')} sockets, {fields.get('Thread(s) per core', '?')} "
            f"threads per core); {usable_cpus()} usable by this process")


# --------------------------------------------------------------------------- inputs


def _signal(seconds: float, sr: int, seed: int) -> np.ndarray:
    """(2, n) float32: a gliding tone plus noise, different per channel."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    f0 = 200 + 50 * (seed % 10)
    tone = 0.3 * np.sin(2 * np.pi * (f0 + 100 * np.sin(2 * np.pi * t / 5)) * t)
    noise = 0.03 * rng.standard_normal((2, len(t)))
    return (tone[None] * np.array([[1.0], [0.7]]) + noise).astype(np.float32)


def write_mp4(path: Path, pcm: np.ndarray, sr: int, *, video: bool = True) -> None:
    """AAC-LC stereo at ``sr`` (128 kbit/s) and, with ``video``, a 64x48 H.264 track at
    10 fps of the same length."""
    with av.open(str(path), "w", format="mp4") as out:
        if video:
            vs = out.add_stream("libx264", rate=10,
                                options={"preset": "ultrafast", "threads": "1"})
            vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        aus = out.add_stream("aac", rate=sr, layout="stereo")
        aus.bit_rate = 128000
        if video:
            n_frames = int(pcm.shape[1] / sr * 10)
            for i in range(n_frames):
                img = np.full((48, 64, 3), (i * 7) % 256, np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 10)
                for p in vs.encode(frame):
                    out.mux(p)
            for p in vs.encode(None):
                out.mux(p)
        for start in range(0, pcm.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, start:start + 1024]),
                                               format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = sr, start, Fraction(1, sr)
            for p in aus.encode(frame):
                out.mux(p)
        for p in aus.encode(None):
            out.mux(p)


def make_files(folder: Path, kind: str, n: int, seconds: float, *,
               video: bool = True) -> list[Path]:
    """``n`` stereo files of ``kind`` ("mp4" or "wav"), alternately at 44.1 and 48 kHz."""
    paths = []
    for i in range(n):
        sr = RATES[i % len(RATES)]
        pcm = _signal(seconds, sr, seed=i)
        path = folder / f"clip_{i:04d}.{kind}"
        if kind == "mp4":
            write_mp4(path, pcm, sr, video=video)
        else:
            sf.write(path, pcm.T, sr, subtype="PCM_16")
        paths.append(path)
    return paths


def make_one(job: tuple[str, str, int, float]) -> str:
    """One file of ``make_files`` (kind, seed ``i``) in the folder ``job[0]``: for a
    process pool. Returns its path."""
    folder, kind, i, seconds = job
    Path(folder).mkdir(parents=True, exist_ok=True)
    sr = RATES[i % len(RATES)]
    path = Path(folder) / f"clip_{i:04d}.{kind}"
    pcm = _signal(seconds, sr, seed=i)
    if kind == "mp4":
        write_mp4(path, pcm, sr)
    else:
        sf.write(path, pcm.T, sr, subtype="PCM_16")
    return str(path)


# --------------------------------------------------------------------------- measuring


def _decode(path: str) -> int:
    """What each worker does per file: ``load_audio``; returns the samples at 16 kHz."""
    with warnings.catch_warnings():  # in a worker process: one job at a time
        warnings.simplefilter("ignore")
        return len(load_audio(path)[0])


def _warm(path: str) -> int:
    return _decode(path)


def _pass(pool, paths: list[str]) -> float:
    t0 = time.perf_counter()
    total = sum(pool.map(_decode, paths))
    elapsed = time.perf_counter() - t0
    assert total > 0
    return elapsed


def measure(paths: list[Path], kinds_of_pool: list[str], counts: list[int],
            repeat: int) -> list[dict]:
    names = [str(p) for p in paths]
    rows = []
    for how in kinds_of_pool:
        for w in counts:
            t0 = time.perf_counter()
            if how == "threads":
                pool = ThreadPoolExecutor(max_workers=w)
            else:
                pool = ProcessPoolExecutor(max_workers=w, mp_context=mp.get_context("forkserver"))
            with pool:
                list(pool.map(_warm, names[:w] * 2))  # start (and warm) every worker
                start_s = time.perf_counter() - t0
                best = min(_pass(pool, names) for _ in range(repeat))
            rows.append({"pool": how, "workers": w, "seconds": best, "start_s": start_s})
            print(f"    {how:9s} {w:3d} workers: {len(names) / best:7.1f} files/s "
                  f"(start {start_s:.2f} s)", flush=True)
    return rows


def stage_scaling(paths: list[Path], repeat: int) -> list[dict]:
    """Decode alone and resample alone, 1 thread then 2 threads, same work."""
    names = [str(p) for p in paths]

    def decode_only(path: str) -> np.ndarray:
        with av.open(path) as c:
            return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)

    decoded = [decode_only(p) for p in names[:8]]
    rates = [RATES[i % len(RATES)] for i in range(len(decoded))]

    def resample_only(i: int) -> np.ndarray:
        return soxr.resample(decoded[i].mean(axis=0), rates[i], 16000, quality="HQ")

    out = []
    for stage, func, jobs in (("PyAV decode (mp4/AAC)", decode_only, names),
                              ("soxr resample HQ", resample_only,
                               list(range(len(decoded))) * max(1, len(names) // 8))):
        times = {}
        for w in (1, 2):
            with ThreadPoolExecutor(max_workers=w) as pool:
                list(pool.map(func, jobs[:w]))
                best = float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    list(pool.map(func, jobs))
                    best = min(best, time.perf_counter() - t0)
            times[w] = best
        out.append({"stage": stage, "jobs": len(jobs), "1 thread s": times[1],
                    "2 threads s": times[2], "speed-up": times[1] / times[2]})
        print(f"    {stage}: 1 thread {times[1]:.3f} s, 2 threads {times[2]:.3f} s "
              f"({times[1] / times[2]:.2f}x)", flush=True)
    return out


def _gil_child(kind: str, folder: str, seconds: float) -> None:
    """Decode the files of ``kind`` in ``folder`` in a loop for ``seconds`` (under py-spy)."""
    paths = sorted(str(p) for p in Path(folder).glob(f"*.{kind}"))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for p in paths:
            _decode(p)


def gil_share(folder: Path, kind: str, seconds: float = 10.0) -> dict | None:
    """Share of ``load_audio``'s samples that hold the GIL (py-spy), or None without it."""
    spy = shutil.which("py-spy")
    if spy is None:
        print("    py-spy not found: pip install py-spy to measure the GIL share")
        return None
    counts = {}
    for mode in ("all", "gil"):
        out = folder / f"spy_{kind}_{mode}.txt"
        cmd = [spy, "record", "-r", "200", "-d", str(int(seconds)), "--format", "raw",
               "-o", str(out), *(["--gil"] if mode == "gil" else []), "--",
               sys.executable, __file__, "--gil-child", kind, str(folder), str(seconds + 2)]
        subprocess.run(cmd, capture_output=True, check=False)
        total = 0
        if out.exists():
            for line in out.read_text().splitlines():
                stack, _, n = line.rpartition(" ")
                if "load_audio" in stack and n.isdigit():
                    total += int(n)
        counts[mode] = total
    if not counts["all"]:
        return None
    share = counts["gil"] / counts["all"]
    print(f"    {kind}: load_audio holds the GIL in {share:.0%} of its samples "
          f"({counts['gil']} of {counts['all']}); threads can gain at most "
          f"{1 / max(share, 1e-9):.1f}x", flush=True)
    return {"kind": kind, "samples": counts["all"], "holding_gil": counts["gil"],
            "share": share, "max_thread_speedup": 1 / max(share, 1e-9)}


def main(argv: list[str] | None = None) -> None:
    if argv is None and len(sys.argv) == 5 and sys.argv[1] == "--gil-child":
        return _gil_child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48, help="files per kind (default 48)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per file")
    parser.add_argument("--kinds", default="mp4,wav", help="comma-separated: mp4, wav")
    parser.add_argument("--pools", default="threads,processes",
                        help="comma-separated: threads, processes")
    parser.add_argument("--max-workers", type=int, default=None,
                        help="largest pool (default twice the usable CPUs)")
    parser.add_argument("--repeat", type=int, default=2, help="passes per cell; the best counts")
    parser.add_argument("--no-video", action="store_true", help="mp4 files without video")
    parser.add_argument("--gil", action="store_true",
                        help="also measure the share of decoding that holds the GIL (py-spy)")
    parser.add_argument("--skip-pools", action="store_true",
                        help="skip the worker-count table (with --gil: only the GIL share)")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the worker-count table as decode.csv into this folder")
    args = parser.parse_args(argv)

    import pandas as pd

    cpus = usable_cpus()
    top = args.max_workers or 2 * cpus
    counts = sorted({1, *(2**k for k in range(1, 12) if 2**k <= top), top})
    print(f"CPU: {cpu_summary()}")
    print(f"Python {platform.python_version()}, asttools {asttools.__version__}, PyAV "
          f"{av.__version__}, soxr {soxr.__version__}, soundfile {sf.__version__}")
    print(f"{args.files} files per kind, {args.seconds:g} s each, stereo at 44.1/48 kHz -> "
          f"load_audio (16 kHz mono); workers {counts}; best of {args.repeat}")
    folder = Path(tempfile.mkdtemp(prefix="bench-decode-"))
    rows, stages, gil = [], [], []
    try:
        files = {}
        for kind in args.kinds.split(","):
            t0 = time.perf_counter()
            files[kind] = make_files(folder, kind, args.files, args.seconds,
                                     video=not args.no_video)
            size = sum(p.stat().st_size for p in files[kind]) / 2**20
            print(f"  wrote {args.files} {kind} files ({size:.1f} MiB) in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        for kind, paths in files.items():
            if args.skip_pools:
                break
            print(f"  {kind}:", flush=True)
            for r in measure(paths, args.pools.split(","), counts, args.repeat):
                rows.append({"kind": kind, **r})
        if "mp4" in files and not args.skip_pools:
            print("  stages, threads (GIL check):", flush=True)
            stages = stage_scaling(files["mp4"], args.repeat)
        if args.gil:
            print("  GIL share (py-spy):", flush=True)
            gil = [g for g in (gil_share(folder, kind) for kind in files) if g]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    if gil:
        print()
        print(pd.DataFrame(gil).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if not rows:
        return
    table = pd.DataFrame(rows)
    table["files_per_s"] = args.files / table["seconds"]
    table["audio_s_per_s"] = table["files_per_s"] * args.seconds
    one = table[table["workers"] == 1].set_index(["kind", "pool"])["files_per_s"]
    table["x_1_worker"] = [r.files_per_s / one[(r.kind, r.pool)] for r in table.itertuples()]
    shown = table[["kind", "pool", "workers", "files_per_s", "audio_s_per_s", "x_1_worker",
                   "start_s"]]
    print()
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if stages:
        print()
        print(pd.DataFrame(stages).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        shown.to_csv(args.out / "decode.csv", index=False)


if __name__ == "__main__":
    sys.exit(main())
