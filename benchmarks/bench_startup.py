"""Start-up and test-loop time of two revisions, measured in one run (issue 9).

For each revision (a git commit of this repository, checked out into a temporary folder
with ``git worktree``), run with that folder first on ``PYTHONPATH``:

- ``python -m asttools --version`` and ``python -c "import asttools"``: the median wall time
  of ``--repeat`` runs each, and whether torch was imported;
- the fast test loop: ``python -m pytest -m "not slow" -q -p no:cacheprovider`` (a revision
  without the ``slow`` marker runs its whole suite: that was its only loop).

Usage::

    python benchmarks/bench_startup.py                       # 60cc1cf (before) vs HEAD
    python benchmarks/bench_startup.py --before A --after B --no-tests

Prints one table, with each time's ratio to the "before" revision. Run it on a quiet
machine; the test loop takes minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "60cc1cf"  # main after issue 8, before the redesign of issue 9


def _timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, done


def measure(rev: str, *, repeat: int, tests: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"asttools-{rev}-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg",
                   "HF_HUB_OFFLINE": "1"}
            out: dict[str, object] = {"revision": rev}
            for name, cmd in (
                ("--version", [sys.executable, "-m", "asttools", "--version"]),
                ("import", [sys.executable, "-c", "import asttools, sys; "
                            "print('torch' in sys.modules)"]),
            ):
                runs = [_timed(cmd, Path(tmp), env) for _ in range(repeat)]
                out[name] = statistics.median(t for t, _ in runs)
                if name == "import":
                    out["import loads torch"] = runs[0][1].stdout.strip()
            if tests:
                seconds, done = _timed([sys.executable, "-m", "pytest", "-m", "not slow",
                                        "-q", "-p", "no:cacheprovider"], tree, env)
                out["fast loop"] = seconds
                out["fast loop result"] = done.stdout.strip().splitlines()[-1]
            return out
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-tests", dest="tests", action="store_false")
    args = parser.parse_args(argv)
    rows = [measure(rev, repeat=args.repeat, tests=args.tests)
            for rev in (args.before, args.after)]
    before = rows[0]
    print(f"{'':22}" + "".join(f"{r['revision']:>22}" for r in rows) + f"{'ratio':>10}")
    for key in ("--version", "import", "fast loop"):
        if key not in before:
            continue
        cells = "".join(f"{r[key]:>20.2f} s" for r in rows)
        print(f"{key:22}{cells}{rows[1][key] / before[key]:>10.3f}")
    for key in ("import loads torch", "fast loop result"):
        if key in before:
            print(f"{key:22}" + "".join(f"{str(r[key]):>22}" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
