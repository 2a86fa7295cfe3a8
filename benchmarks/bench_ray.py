"""The local engine against the Ray engine of ``asttools.extract`` on this machine.

Run by hand (not part of the test suite; needs ``pip install -e ".[ray]"``)::

    python benchmarks/bench_ray.py                       # 2 CPUs, tiny + full-size model
    python benchmarks/bench_ray.py --cpus 16 --actors 1 2 4 8 --clips 64 --full-clips 16

On generated 10 s clips (44.1 kHz mono WAV, so every path resamples; see
``bench_extract.py``), each into a fresh store:

1. ``ray.init`` on a local cluster of ``--cpus`` CPUs (once; a real cluster is up already).
2. ``tiny-random`` (hidden 64, 2 layers, AST's real input): the local engine, then the Ray
   engine with each ``--actors`` count (the first Ray run also starts Ray's worker
   processes). The ratio Ray / local is the overhead Ray adds where the model costs
   little: tasks, actors loading the model, moving windows through the object store.
3. A full-size AST with RANDOM weights (``ASTConfig()`` defaults: hidden 768, 12 layers;
   the time per window is the real model's): local, then Ray with each actor count. The
   model is sent to the actors through the object store. Here the model's time dominates,
   and more actors scale with the cores there are.

A run of the Ray engine builds its actor pool each time (the model is loaded per actor per
run), so the fixed cost is paid per call, not per file. Figures are single runs on a
machine that may be shared: compare them within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import ray
import torch
from bench_extract import make_clips

import asttools


def timed(label: str, inputs, store: Path, model, **kw) -> float:
    shutil.rmtree(store, ignore_errors=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = asttools.extract(inputs, store, model=model, progress=False, **kw)
    s = time.perf_counter() - t0
    run = res.meta["run"]
    print(f"  {label:<34} {s:7.1f} s  ({run['computed']} files, {run['windows']} windows)")
    return s


def compare(title: str, paths: list[Path], model, actors: list[int], tmp: Path,
            cpus: int) -> None:
    print(f"\n{title}: {len(paths)} clips of 10 s")
    local = timed("local engine (workers=1)", paths, tmp / "local", model)
    for n in actors:
        cpu = None if n < cpus else max((cpus - 1) / n, 0.25)
        s = timed(f"ray engine, {n} actor(s)", paths, tmp / f"ray{n}", model,
                  engine="ray", ray_actors=n, ray_actor_cpus=cpu)
        print(f"  {'':<34} ratio ray / local: {s / local:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=16, help="clips for the tiny model")
    parser.add_argument("--full-clips", type=int, default=4,
                        help="clips for the full-size model (0 skips it)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--actors", type=int, nargs="+", default=[1],
                        help="actor counts to try (default 1)")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}, "
          f"ray {ray.__version__}, asttools {asttools.__version__}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        paths = make_clips(tmp, max(args.clips, args.full_clips))
        t0 = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False,
                 logging_level="WARNING")
        ray.data.DataContext.get_current().execution_no_progress_timeout_s = 600
        print(f"ray.init, local cluster of {args.cpus} CPUs: {time.perf_counter() - t0:.1f} s")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tiny = asttools.load_model("tiny-random", device="cpu")
        compare("tiny-random", paths[: args.clips], "tiny-random", args.actors, tmp,
                args.cpus)
        if args.full_clips:
            from transformers import ASTConfig, ASTForAudioClassification

            torch.manual_seed(0)
            full = ASTForAudioClassification(ASTConfig(num_labels=527)).eval()
            full.config.asttools_random_weights = True
            full.config.asttools_loaded_from = "full-size-random"
            full.config.id2label = tiny.config.id2label
            compare("full-size AST (random weights)", paths[: args.full_clips], full,
                    args.actors, tmp, args.cpus)
        t0 = time.perf_counter()
        ray.shutdown()
        print(f"\nray.shutdown: {time.perf_counter() - t0:.1f} s; "
              f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
