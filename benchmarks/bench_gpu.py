"""Windows per second on a GPU, end to end from files and stage by stage (issue 12, item 3).

The GPU run, one command from the repository root (about 3-6 minutes on one H200 with 16
CPU cores; it stops starting new stages after ``--budget`` seconds, 420 by default, and
writes what it has)::

    PYTHONPATH=. python benchmarks/bench_gpu.py --out $OUT

A smoke test on a CPU (under 2 minutes: a small model with AST's real input geometry, a
few files, batch sizes 4 and 8)::

    PYTHONPATH=. python benchmarks/bench_gpu.py --device cpu --quick --out /tmp/bench_gpu

Self-contained: it generates its inputs (10 s stereo clips at 44.1 and 48 kHz: mp4 with
AAC-LC and a small H.264 track, and 16-bit WAV; a few distinct recordings, each file made
unique by bytes that do not change its decoding, so ``extract``'s content hashing sees
distinct files) and builds a full-size AST (``ASTConfig()``: hidden 768, 12 layers, 1214
tokens, 527 labels) with RANDOM weights (seed 0): nothing is downloaded. Its times are the
real model's; its outputs are not.

Needs numpy, torch, transformers, pandas, pyarrow, tqdm, PyAV (``av``), soundfile and
soxr. The H200 machines here lack the last three (and soundfile's ``cffi`` and
``pycparser``): carry them as Python 3.12 wheels as the device notes describe (pip
download ``av==18.1.0 soxr==1.1.0 soundfile==0.14.0 cffi pycparser`` into ``.whl/``,
carry ``.whl``, install them with ``--target /tmp/site`` and put that on PYTHONPATH
ahead of ``.``).

What it measures, each stage apart, then all together:

1. ``decode``: ``asttools.audio.sources.decode_file`` (probe, decode, downmix, soxr to 16 kHz:
   the job a decode worker runs) over every file, in the pool ``workers="auto"`` makes
   (:func:`asttools.concurrency.resolve_workers` for the device), then with the same
   number of threads; and files per second against worker count, threads and processes
   (``benchmarks/bench_decode.py``'s measurement, on mp4).
2. ``host``: ``asttools.run.iter_windows`` with ``workers="auto"`` and every window
   table built: everything ``iter_embed`` does on the CPU but batching and the model.
3. ``h2d``: one batch of 10.24 s windows, (batch, 163840) float32, copied to the device
   from ordinary (pageable) and from pinned memory.
4. ``fbank``: ``asttools.model.features.fbank`` of that batch on the device (float64 inside).
5. ``model``: the encoder and classifier on ready fbank input, for each precision and
   batch size, with the attention transformers' AST selects (``config._attn_implementation``,
   SDPA by default; ``--eager`` adds an eager-attention row at the largest batch).
7. ``video`` (after ``e2e``, while the budget lasts; alone with ``--video-only``): frames
   decoded per second from 25 fps 320 x 240 H.264 clips (one thread, then the pool), the
   full-size VideoMAE-base (random) on ready (batch, 16, 3, 224, 224) pixels per precision
   and batch, and end to end from decoded frames through its processor.
6. ``e2e``: ``asttools.embed(paths, workers="auto", batch_size=B, precision=P)`` from the
   files, and ``asttools.extract`` into a fresh store at the best precision: windows per
   second including everything (decode in worker processes, cutting, batching, copy,
   fbank, model, results).

Timings on the device synchronise before the clock stops; each model cell is the mean of
``--iters`` passes after two warm-ups; each other cell is one pass after a warm-up. Writes
``gpu.csv`` and ``gpu.md`` (and ``env.json``) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# Only light imports at the top: decode worker processes (forkserver or spawn) import this
# script again as their __main__, as every multiprocessing worker does, so torch, pandas
# and transformers are imported inside the functions that use them (main() binds them).
# (a script's own folder is on sys.path, in the worker processes too: siblings import)
from bench_decode import cpu_summary, make_one, measure

import asttools  # (cheap: names load on first use)
from asttools.concurrency import prefetch, resolve_workers, usable_cpus
from asttools.audio.sources import decode_file

np = pd = torch = None  # bound by _heavy_imports() in the main process


def _heavy_imports() -> None:
    global np, pd, torch
    import numpy
    import pandas
    import torch as _torch

    np, pd, torch = numpy, pandas, _torch


WINDOW = 163840  # 10.24 s at 16 kHz
UNIQUE = 16  # distinct recordings per kind; the other files are unique copies of them


# --------------------------------------------------------------------------- inputs


def make_inputs(folder: Path, kind: str, n: int, seconds: float, cpus: int) -> list[str]:
    """``n`` files of ``kind``: ``UNIQUE`` recordings made in parallel, then copied, each
    copy made unique (mp4: a trailing ``free`` box with its number, which demuxers skip;
    WAV: its last sample's low bits), so content hashes differ but decoding costs the
    same."""
    u = min(UNIQUE, n)
    ctx = multiprocessing.get_context("forkserver")  # not fork: torch is loaded here
    with ProcessPoolExecutor(max_workers=max(1, min(cpus, u)), mp_context=ctx) as pool:
        bases = list(pool.map(make_one, [(str(folder / f"base_{kind}_{i}"), kind, i, seconds)
                                         for i in range(u)]))
    blobs = [Path(b).read_bytes() for b in bases]
    paths = []
    for i in range(n):
        data = bytearray(blobs[i % u])
        if kind == "mp4":
            data += (16).to_bytes(4, "big") + b"free" + i.to_bytes(8, "big")
        else:
            data[-2:] = (i % 65536).to_bytes(2, "little")
        path = folder / f"{kind}_{i:05d}.{kind}"
        path.write_bytes(bytes(data))
        paths.append(str(path))
    return paths


# --------------------------------------------------------------------------- the model


def build_model(quick: bool, device: torch.device):
    """A full-size AST with RANDOM weights (seed 0), or for ``quick`` a small one with
    AST's input geometry (1024 frames x 128 bins, 16x16 patches, strides 10)."""
    from transformers import ASTConfig, ASTForAudioClassification

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny = asttools.load_model("tiny-random", device="cpu")  # AudioSet label names
    cfg = (ASTConfig(num_labels=527, hidden_size=64, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=128)
           if quick else ASTConfig(num_labels=527))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = ASTForAudioClassification(cfg).eval()
    model.config.asttools_random_weights = True
    model.config.asttools_loaded_from = "quick-random" if quick else "full-size-random"
    model.config.id2label = tiny.config.id2label
    return model.to(device)


# --------------------------------------------------------------------------- timing


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device, *, iters: int = 1, warmup: int = 1) -> float:
    """Seconds per call of ``fn``: ``warmup`` untimed calls, then the mean of ``iters``."""
    for _ in range(warmup):
        fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / iters


class Bench:
    """Rows of results, written out after every stage (a run cut short keeps them)."""

    def __init__(self, out: Path, budget: float):
        self.out, self.budget, self.t0 = out, budget, time.perf_counter()
        self.rows: list[dict] = []
        out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.t0)

    def add(self, **row) -> None:
        self.rows.append(row)
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in row.items())
        print(f"  {shown}", flush=True)

    def save(self, header: str) -> pd.DataFrame:
        table = pd.DataFrame(self.rows)
        table.to_csv(self.out / "gpu.csv", index=False)
        (self.out / "gpu.md").write_text(header + "\n\n" + _markdown(table) + "\n")
        return table


def _markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "(no rows)"
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("" if v != v else f"{v:.4g}")
            else:
                cells.append("" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- stages


def stage_decode(b: Bench, files: dict[str, list[str]], device, n_scaling: int, repeat: int,
                 cpus: int):
    n, processes = resolve_workers("auto", device=device)
    win = WINDOW
    for kind, paths in files.items():
        requests = [(p, None, None, win) for p in paths]
        for pool, use_processes in (("processes", True), ("threads", False)):
            if pool == "processes" and not processes:
                continue

            def run(reqs=requests, use=use_processes):
                for _, done in prefetch(decode_file, reqs, workers=n, processes=use):
                    assert done[0] == "ok", done

            t = _timed(lambda r=requests[: 2 * n]: run(r), device, warmup=0)  # pool start
            t = _timed(run, device, warmup=0)
            b.add(stage="decode", kind=kind, pool=pool, workers=n, files=len(paths),
                  files_per_s=len(paths) / t, windows_per_s=len(paths) / t, seconds=t,
                  note="decode_file: probe, decode, downmix, soxr HQ to 16 kHz (pool start "
                       "included)")
    if "mp4" in files and n_scaling and b.left() > 60:
        counts = sorted({1, 2, 4, 8, cpus - 1, cpus} & set(range(1, 2 * cpus + 1)))
        sample = [Path(p) for p in files["mp4"][:n_scaling]]
        for r in measure(sample, ["threads", "processes"], counts, repeat):
            b.add(stage="decode_scaling", kind="mp4", pool=r["pool"], workers=r["workers"],
                  files=len(sample), files_per_s=len(sample) / r["seconds"],
                  seconds=r["seconds"], note="load_audio; pool started and warmed first")


def stage_host(b: Bench, files: dict[str, list[str]], device):
    from asttools.run import Cut, as_items, iter_windows

    for kind, paths in files.items():
        items = as_items(paths)

        def run(items=items):
            n = 0
            for event in iter_windows(items, workers="auto", device=device):
                if isinstance(event, Cut):
                    event.table()
                    n += len(event.bounds)
            return n

        t = _timed(run, device, warmup=0)
        b.add(stage="host", kind=kind, workers=resolve_workers("auto", device=device)[0],
              files=len(paths), windows_per_s=len(paths) / t, seconds=t,
              note="iter_windows(workers='auto') + window tables: the CPU side of embed")


def stage_h2d_fbank(b: Bench, device, batches: list[int], iters: int):
    from asttools.model.features import fbank

    for bs in batches:
        host = torch.randn(bs, WINDOW) * 0.1
        if device.type == "cuda":
            pinned = host.pin_memory()
            mb = host.numel() * 4 / 1e6
            for name, src in (("pageable", host), ("pinned", pinned)):
                t = _timed(lambda s=src: s.to(device, non_blocking=True), device, iters=iters)
                b.add(stage="h2d", batch=bs, memory=name, seconds=t, gb_per_s=mb / 1e3 / t,
                      windows_per_s=bs / t)
        x = host.to(device)
        with torch.inference_mode():
            t = _timed(lambda x=x: fbank(x), device, iters=iters)
        b.add(stage="fbank", batch=bs, seconds=t, windows_per_s=bs / t,
              note="asttools.model.features.fbank on the device, float64 inside")


def stage_model(b: Bench, model, device, precisions: list[str], batches: list[int],
                iters: int, eager: bool):
    from asttools.model.precision import prepare_model

    cfg = model.config
    for prec in precisions:
        m = prepare_model(model, prec)
        dtype = next(m.parameters()).dtype
        for bs in batches:
            if b.left() < 30:
                print("  (budget spent: skipping the remaining model cells)")
                return
            feats = torch.randn(bs, cfg.max_length, cfg.num_mel_bins, device=device).to(dtype)

            def run(m=m, feats=feats):
                with torch.inference_mode():
                    out = m.audio_spectrogram_transformer(feats)
                    return m.classifier(out.pooler_output)

            try:
                t = _timed(run, device, iters=iters, warmup=2)
            except torch.OutOfMemoryError:
                b.add(stage="model", precision=prec, batch=bs, note="out of memory")
                torch.cuda.empty_cache()
                continue
            b.add(stage="model", precision=prec, batch=bs,
                  attention=m.config._attn_implementation, seconds=t, windows_per_s=bs / t)
        if eager and prec == precisions[-1]:
            bs = batches[-1]
            feats = torch.randn(bs, cfg.max_length, cfg.num_mel_bins, device=device).to(dtype)
            previous = m.config._attn_implementation
            m.set_attn_implementation("eager")
            try:
                with torch.inference_mode():
                    t = _timed(lambda m=m, f=feats: m.classifier(
                        m.audio_spectrogram_transformer(f).pooler_output),
                        device, iters=max(1, iters // 2), warmup=1)
                b.add(stage="model", precision=prec, batch=bs, attention="eager", seconds=t,
                      windows_per_s=bs / t)
            except torch.OutOfMemoryError:
                b.add(stage="model", precision=prec, batch=bs, attention="eager",
                      note="out of memory")
            finally:
                m.set_attn_implementation(previous)
        if device.type == "cuda":
            torch.cuda.empty_cache()


def stage_e2e(b: Bench, model, device, files: dict[str, list[str]], precisions: list[str],
              batch: int, best: str, folder: Path):
    workers = resolve_workers("auto", device=device)
    runs = [("mp4", p) for p in precisions] + [(k, best) for k in files if k != "mp4"]
    for kind, prec in runs:
        if kind not in files or b.left() < 30:
            continue
        paths = files[kind]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            asttools.embed(paths[:batch], model=model, batch_size=batch, workers=1,
                           precision=prec)  # warm-up: the converted copy, kernels
            _sync(device)
            t0 = time.perf_counter()
            out = asttools.embed(paths, model=model, batch_size=batch, workers="auto",
                                 precision=prec)
            _sync(device)
            t = time.perf_counter() - t0
        b.add(stage="e2e", api="embed", kind=kind, precision=prec, batch=batch,
              workers=f"{workers[0]} {'processes' if workers[1] else 'threads'}",
              files=len(paths), windows=len(out), seconds=t, windows_per_s=len(out) / t)
    if "mp4" in files and b.left() > 30:
        paths = files["mp4"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            res = asttools.extract(paths, folder / "store", model=model, batch_size=batch,
                                   workers="auto", precision=best, progress=False,
                                   read_back=False)
            t = time.perf_counter() - t0
        run = res.meta["run"]
        b.add(stage="e2e", api="extract", kind="mp4", precision=best, batch=batch,
              workers=f"{workers[0]} {'processes' if workers[1] else 'threads'}",
              files=len(paths), windows=run["windows"], seconds=t,
              windows_per_s=run["windows"] / t,
              note=f"fresh store; {run['computed']} computed, {run['copied']} copied")


# --------------------------------------------------------------------------- main


def stage_video(b: Bench, device, precisions: list[str], quick: bool, folder: Path,
                cpus: int, iters: int):
    """The video side beside the audio: frames decoded per second (one thread, and the
    pool), VideoMAE snippets per second on ready pixels per precision and batch, and end
    to end from decoded frames through the processor (asttools.model.video_model)."""
    from bench_video import full_size, make_clips  # the same clips and random geometry

    from asttools.audio.frames import iter_frame_batches, load_frames
    from asttools.model.precision import prepare_model
    from asttools.model.video_model import tiny_random_video_model, video_embeddings

    clips = make_clips(folder, 2 if quick else 8, 4.0)
    n_frames = sum(len(load_frames(p, size=(8, 8))) for p in clips[:1]) * len(clips)
    t = _timed(lambda: [load_frames(p) for p in clips], device, warmup=0)
    b.add(stage="video-decode", workers=0, seconds=t, frames_per_s=n_frames / t)
    t = _timed(lambda: list(iter_frame_batches(clips, batch_size=25, workers=cpus)), device,
               warmup=0)
    b.add(stage="video-decode", workers=cpus, seconds=t, frames_per_s=n_frames / t)
    vm = tiny_random_video_model("snippet") if quick else full_size("snippet")
    vm.model = vm.model.to(device)
    for prec in precisions:
        m = prepare_model(vm.model, prec)
        dtype = next(m.parameters()).dtype
        for bs in ([2] if quick else [8, 16, 32]):
            if b.left() < 30:
                print("  (budget spent: skipping the remaining video cells)")
                return
            pv = torch.randn(bs, 16, 3, 224, 224, device=device).to(dtype)

            def run(m=m, pv=pv):
                with torch.inference_mode():
                    return m(pixel_values=pv).last_hidden_state.mean(1)

            try:
                t = _timed(run, device, iters=iters, warmup=1)
            except torch.OutOfMemoryError:
                b.add(stage="video-model", precision=prec, batch=bs, note="out of memory")
                torch.cuda.empty_cache()
                continue
            b.add(stage="video-model", precision=prec, batch=bs, model=vm.name, seconds=t,
                  snippets_per_s=bs / t)
    snippets = np.concatenate([load_frames(p, snippet=16).pixels for p in clips])
    bs = 2 if quick else 16
    t = _timed(lambda: video_embeddings(snippets, model=vm, batch_size=bs,
                                        precision=precisions[0]), device, warmup=0)
    b.add(stage="video-e2e", precision=precisions[0], batch=bs, model=vm.name, seconds=t,
          snippets_per_s=len(snippets) / t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench_gpu_out"),
                        help="folder for gpu.csv, gpu.md, env.json (default ./bench_gpu_out)")
    parser.add_argument("--device", default=None,
                        help="cuda (default when there is one), cpu, cuda:1, ...")
    parser.add_argument("--quick", action="store_true",
                        help="small model (AST's input geometry), few files, batches 4 and 8")
    parser.add_argument("--files", type=int, default=None,
                        help="files per kind (default 1024; 16 with --quick)")
    parser.add_argument("--kinds", default="mp4,wav", help="comma-separated: mp4, wav")
    parser.add_argument("--batches", default=None,
                        help="model batch sizes (default 32,64,128,256; 4,8 with --quick)")
    parser.add_argument("--precisions", default=None,
                        help="default fp32,bf16,fp16 on a GPU; fp32,bf16 on a CPU")
    parser.add_argument("--e2e-batch", type=int, default=None,
                        help="batch size of the end-to-end runs (default 128; 8 with --quick)")
    parser.add_argument("--iters", type=int, default=None,
                        help="timed passes per model cell (default 10; 2 with --quick)")
    parser.add_argument("--scaling-files", type=int, default=None,
                        help="mp4 files in the decode-scaling table (default 256; 16 with "
                             "--quick; 0 skips it)")
    parser.add_argument("--eager", action="store_true",
                        help="add an eager-attention model row at the largest batch")
    parser.add_argument("--pretend-cpus", type=int, default=None,
                        help="size workers='auto' as if this many CPUs were usable (to "
                             "smoke-test the process pool on a small machine)")
    parser.add_argument("--video-only", action="store_true",
                        help="run only the video stage (frames, VideoMAE snippets)")
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds after which no new stage starts (default 420)")
    args = parser.parse_args(argv)
    _heavy_imports()
    if args.pretend_cpus:
        from asttools import concurrency  # (not `import asttools.concurrency`: that
        # would make `asttools` a local name of main(), unbound without --pretend-cpus)

        concurrency.usable_cpus = lambda: args.pretend_cpus

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    quick = args.quick
    n_files = args.files or (16 if quick else 1024)
    batches = [int(x) for x in (args.batches or ("4,8" if quick else "32,64,128,256"))
               .split(",")]
    precisions = (args.precisions or ("fp32,bf16,fp16" if device.type == "cuda"
                                      else "fp32,bf16")).split(",")
    e2e_batch = args.e2e_batch or (8 if quick else 128)
    iters = args.iters or (2 if quick else 10)
    n_scaling = args.scaling_files if args.scaling_files is not None else (16 if quick else 256)
    kinds = args.kinds.split(",")
    cpus = args.pretend_cpus or usable_cpus()

    env = {
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "cpu": cpu_summary(), "usable_cpus": cpus,
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "transformers": __import__("transformers").__version__,
        "asttools": asttools.__version__, "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "workers_auto": list(resolve_workers("auto", device=device)),
        "quick": quick, "files_per_kind": n_files, "batches": batches,
        "precisions": precisions, "e2e_batch": e2e_batch,
    }
    header = (f"bench_gpu: {env['gpu'] or 'CPU'}; {env['cpu']}; torch {env['torch']} "
              f"(CUDA {env['cuda']}), transformers {env['transformers']}; "
              f"{'QUICK (small model)' if quick else 'full-size AST, random weights'}; "
              f"workers='auto' -> {env['workers_auto']}; one run")
    print(header, flush=True)
    b = Bench(args.out, args.budget)
    (args.out / "env.json").write_text(json.dumps(env, indent=1))
    folder = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    try:
        if args.video_only:
            print("video:", flush=True)
            stage_video(b, device, precisions, quick, folder, cpus, iters)
            table = b.save(header)
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            return 0
        t0 = time.perf_counter()
        files = {k: make_inputs(folder, k, n_files, 10.0, cpus) for k in kinds}
        print(f"inputs: {n_files} files per kind in {time.perf_counter() - t0:.1f} s",
              flush=True)
        t0 = time.perf_counter()
        model = build_model(quick, device)
        print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, "
              f"attention {model.config._attn_implementation}, built in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        stages = [
            ("decode", lambda: stage_decode(b, files, device, n_scaling, 1 if quick else 2,
                                            cpus)),
            ("host", lambda: stage_host(b, files, device)),
            ("h2d/fbank", lambda: stage_h2d_fbank(b, device, batches, iters)),
            ("model", lambda: stage_model(b, model, device, precisions, batches, iters,
                                          args.eager)),
        ]
        for name, run in stages:
            if b.left() <= 0:
                print(f"{name}: skipped (budget spent)")
                continue
            print(f"{name}:", flush=True)
            run()
            b.save(header)
        table = pd.DataFrame(b.rows)
        model_rows = table[table["stage"] == "model"] if "stage" in table else table
        best = (model_rows.sort_values("windows_per_s").iloc[-1]["precision"]
                if len(model_rows) and "windows_per_s" in model_rows
                and model_rows["windows_per_s"].notna().any() else precisions[0])
        print("e2e:", flush=True)
        stage_e2e(b, model, device, files, precisions, e2e_batch, best, folder)
        table = b.save(header)
        if b.left() > 0:
            print("video:", flush=True)
            stage_video(b, device, precisions, quick, folder, cpus, iters)
            table = b.save(header)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(header)
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.max_colwidth", 40):
        print(table.drop(columns=[c for c in ("note",) if c in table]).to_string(
            index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nwritten: {args.out / 'gpu.csv'}, {args.out / 'gpu.md'}, {args.out / 'env.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
