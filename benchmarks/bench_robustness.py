"""What the field's whole robustness grid costs: robustness_curve on 1,000 clips.

Run by hand (not part of the test suite)::

    python benchmarks/bench_robustness.py               # the issue's grid, fixed split
    python benchmarks/bench_robustness.py --folds 5     # 5-fold cross-validation instead
    python benchmarks/bench_robustness.py --clips 300   # a quick run
    python benchmarks/bench_robustness.py --folds 5 --jobs 2   # two folds at once

The grid: 3 training conditions (complete, same-rate, dropout) x 5 test missing rates
(0, .25, .5, .75, 1) x 5 fills (zeros, mean, silence, ridge, nearest) x 5 seeds, on
synthetic data of 1,000 clips (10 classes; 768-d audio, 512-d video features, 15 % of
the clips without audio), for audio alone, audio beside video and video alone. The
reference in the same run is one cold probe fit (standardise + lbfgs logistic regression)
on the training clips' audio + video, times the number of probe fits a naive loop makes
(one per feature set, fill, condition, rate, seed and fold): the ratio is what fitting each
distinct training set once, warm starts and one BLAS thread per fit save.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from asttools.analysis.robustness import _fit as _probe_fit  # noqa: PLC2701 - the reference's fit
from asttools.analysis.robustness import robustness_curve, robustness_summary


def make_data(n: int, *, seed: int = 0):
    """Labels, 768-d audio, 512-d video (audio partly a function of video), a mask."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    video = rng.normal(size=(n, 512)) + 0.06 * rng.normal(size=(10, 512))[labels]
    audio = 0.03 * video @ rng.normal(size=(512, 768)) + rng.normal(size=(n, 768)) \
        + 0.08 * rng.normal(size=(10, 768))[labels]
    has = rng.random(n) > 0.15
    audio[~has] = np.nan
    return labels, audio.astype(np.float32), video.astype(np.float32), has


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=0, help="0: a fixed 70/10/20 split")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1, help="folds at once (threads)")
    args = parser.parse_args()
    labels, audio, video, has = make_data(args.clips)
    n = args.clips
    if args.folds:
        groups = {"folds": np.arange(n) % args.folds}
        n_tests = args.folds
    else:
        groups = {"split": np.array(["train"] * 7 + ["val"] + ["test"] * 2)[np.arange(n) % 10]}
        n_tests = 1
    fills = ("zeros", "mean", "silence", "ridge", "nearest")
    silence = np.zeros(768, np.float32) + 0.1
    print(f"cores: {os.cpu_count()} (os.sched_getaffinity: {len(os.sched_getaffinity(0))})")
    start, cpu = time.perf_counter(), time.process_time()
    curve = robustness_curve(labels, audio, has_audio=has, video=video, silence=silence,
                             fills=fills, training=("complete", "same-rate", "dropout"),
                             n_repeats=args.seeds, n_boot=1000, n_jobs=args.jobs,
                             **groups)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    # reference: one cold fit of the largest probe, times the fits of a naive loop
    train = (groups["folds"] != 0) if args.folds else groups["split"] == "train"
    both = np.hstack([np.where(has[:, None], audio, 0.0), video])[train]
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        _probe_fit(both, labels[train], 1.0)
        one_fit = time.perf_counter() - t0
    naive = one_fit * 2 * len(fills) * 3 * 5 * args.seeds * n_tests
    print(f"{n} clips, {f'{args.folds} folds' if args.folds else 'a 70/10/20 split'}, "
          f"{len(curve)} rows: {took:.1f} s wall, {cpu:.1f} s CPU")
    print(f"one cold probe fit (audio+video, {train.sum()} clips): {one_fit:.2f} s; a naive "
          f"loop's {2 * len(fills) * 3 * 5 * args.seeds * n_tests} fits: ~{naive:.0f} s "
          f"(ratio {naive / took:.1f}x)")
    s = robustness_summary(curve)
    print(s[s["features"] == "audio+video"].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
