"""A fully cached ``asttools extract`` of two revisions, measured in one run (issue 19).

A re-run whose inputs are all in the store computes nothing; before issue 19 it still
imported torch and transformers (store/_extract -> inference -> model), seconds of start-up
to do nothing. For each revision (a git commit, checked out into a temporary folder with
``git worktree``; ``WORKTREE`` is this checkout as it is), with that folder first on
``PYTHONPATH`` and ``ASTTOOLS_MODEL=tiny-random``:

- ``python -m asttools --version``: the floor, a command that does nothing;
- ``python -m asttools extract data/example --out STORE -q`` on a store that already holds
  every clip (written once, before the timings, by this checkout: the format is the same);
- the same from Python, ``asttools.extract(...)``, and whether torch/transformers loaded.

Usage::

    python benchmarks/bench_cached.py                 # 4ed0b6c (before) vs this checkout
    python benchmarks/bench_cached.py --before A --after B --repeat 3

Prints one table, each time with its ratio to the "before" revision. One run each by
default (``--repeat`` for the median of more); run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "4ed0b6c"  # main before issue 19: a cached extract imported torch
DATA = ROOT / "data" / "example"
LOADED = "import sys; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"


def _timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


@contextlib.contextmanager
def _tree(rev: str):
    if rev == "WORKTREE":
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix=f"asttools-{rev}-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           capture_output=True)


def measure(rev: str, store: Path, *, repeat: int) -> dict[str, object]:
    with _tree(rev) as tree:
        env = {**os.environ, "PYTHONPATH": str(tree), "ASTTOOLS_MODEL": "tiny-random",
               "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
        py = (f"import warnings; warnings.simplefilter('ignore'); import asttools; "
              f"r = asttools.extract({str(DATA)!r}, {str(store)!r}, progress=False, "
              f"read_back=False); assert r.meta['run']['computed'] == 0; {LOADED}")
        cmds = {
            "--version": [sys.executable, "-m", "asttools", "--version"],
            "extract (CLI)": [sys.executable, "-m", "asttools", "extract", str(DATA), "--out",
                              str(store), "-q"],
            "extract (Python)": [sys.executable, "-c", py],
        }
        out: dict[str, object] = {"revision": rev}
        for name, cmd in cmds.items():
            runs = [_timed(cmd, env, store.parent) for _ in range(repeat)]
            out[name] = statistics.median(t for t, _ in runs)
            if name == "extract (CLI)":
                assert " 0 computed" in runs[0][1], runs[0][1]
            if name == "extract (Python)":
                out["loads"] = runs[0][1].strip().splitlines()[-1]
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--after", default="WORKTREE")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asttools-cached-") as tmp:
        store = Path(tmp) / "store"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ASTTOOLS_MODEL": "tiny-random",
               "HF_HUB_OFFLINE": "1"}
        seconds, _ = _timed([sys.executable, "-m", "asttools", "extract", str(DATA), "--out",
                             str(store), "-q"], env, Path(tmp))
        print(f"store of {len(list(DATA.glob('*.wav')))} clips written in {seconds:.1f} s "
              "(computing); now every run is fully cached")
        rows = [measure(rev, store, repeat=args.repeat) for rev in (args.before, args.after)]
    before = rows[0]
    print(f"{'':18}" + "".join(f"{r['revision']:>14}" for r in rows) + f"{'ratio':>10}")
    for key in ("--version", "extract (CLI)", "extract (Python)"):
        cells = "".join(f"{r[key]:>13.2f}s" for r in rows)
        print(f"{key:18}{cells}{rows[-1][key] / before[key]:>10.2f}")
    print(f"{'loads (Python)':18}" + "".join(f"{r['loads']:>14}" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
