"""The ``asttools`` command line: argument parsing, progress and exit codes, nothing else.

Each subcommand calls public library functions a notebook could call:
``predict`` → :func:`asttools.embed` and :func:`asttools.run.result.prediction_table`;
``extract`` → :func:`asttools.extract`; ``compact`` → :func:`asttools.store.compact_store`;
``info`` → :func:`asttools.apps.environment.info`; ``demo`` → :func:`asttools.apps.demo.run_demo`;
``fidelity`` → :func:`asttools.run.fidelity.fidelity`.
A new subcommand is one ``_add_<name>`` function that builds its parser and one
``_<name>`` function that runs it, listed in ``COMMANDS``.

The library is reached through the package root, whose names load on first use: building
the parser (``--help``, ``--version``) imports neither torch nor pandas.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import sys
import warnings
from pathlib import Path

import asttools

from ..constants import (
    ENGINES,
    FLUSH_ITEMS,
    FRAME_SHIFT_S,
    MAX_FRAME_RATE,
    MAX_LENGTH,
    PRECISIONS,
    STORE_POOLINGS,
    TIME_STRIDE,
    TINY_RANDOM,
    WINDOW_S,
)
from ..errors import ASTToolsError, ModelLoadError, ParameterError, StoreError
from ..run import BATCH_SIZE

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

#: Everything asked for was done.
EXIT_OK = 0
#: Nothing could be done: the model or the store cannot be opened, no input files found.
EXIT_ERROR = 1
#: A usage error: an unknown option, a bad value (argparse's own code).
EXIT_USAGE = 2
#: Some inputs failed (each is listed, and recorded in the store); the rest were written.
EXIT_SOME_FAILED = 3
#: Interrupted by Ctrl-C or SIGTERM; what was finished is saved (128 + SIGINT).
EXIT_INTERRUPTED = 130

_MAX_LISTED_FAILURES = 20
#: Library parameter -> the option that sets it, so that a message the library raises (a
#: layer out of range for the loaded model, say) names what the user typed.
_OPTION_NAMES = {
    "window_s": "--window", "hop_s": "--hop", "batch_size": "--batch-size",
    "flush_items": "--flush-every", "workers": "--workers", "channel": "--channel",
    "layer": "--layer", "pooling": "--pooling", "device": "--device",
    "precision": "--precision", "audio_stream": "--audio-stream",
}  # fmt: skip
# "name=value" for any of them; the bare name only where it cannot be an ordinary word.
_PARAM_RE = re.compile(
    r"\b(?:(" + "|".join(_OPTION_NAMES) + r")=|(" + "|".join(n for n in _OPTION_NAMES if "_" in n)
    + r")\b)"
)

_EXIT_CODES = """\
exit codes: 0 all done, 1 nothing could be done (e.g. model not loadable), 2 usage error,
3 some inputs failed (listed; the rest were written), 130 interrupted (finished work kept).
"""

_EPILOG = """\
examples (each command's --help has its own):
  asttools demo --out demo_out                     the whole pipeline on the bundled example
                                                   data: figures (PDF+PNG) and tables
  asttools predict clip.wav                        top-5 AudioSet labels of one file
  asttools extract data/ --out emb                 embeddings + probabilities into store emb/
  asttools timestamps videos/ --out ts.parquet --frame-rate video
                                                   an embedding per video frame
  asttools info                                    versions, device, where the model comes from

Offline: HF_HUB_OFFLINE=1 asttools ... uses the local cache only (no retries of the hub);
ASTTOOLS_MODEL=tiny-random runs anything with a small random model (marked as random).

""" + _EXIT_CODES

#: Each subcommand's own examples, shown by ``asttools COMMAND --help``.
_EPILOGS = {
    "predict": """\
examples:
  asttools predict clip.wav                        top-5 AudioSet labels of one file
  asttools predict clip.mp4 --top-k 10             the audio track of a video, 10 labels
  asttools predict recordings/ --out labels.csv    every audio/video file under a folder,
                                                   as a tidy table (clip and window rows)
  asttools predict manifest.csv --out labels.parquet
                                                   a CSV with a 'path' column; its other
                                                   columns are carried to every row

""" + _EXIT_CODES,
    "extract": """\
examples:
  asttools extract data/ --out emb                 embeddings + probabilities into store emb/
  asttools extract manifest.csv --out emb          a CSV with a 'path' column; its other
                                                   columns (label, fold) are carried along
  asttools extract data/ --out emb --pooling mean --layer 6
                                                   another setting, kept beside the first
  ASTTOOLS_MODEL=tiny-random asttools extract data/example --out emb
                                                   offline smoke run (random weights)
  HF_HUB_OFFLINE=1 asttools extract data/ --out emb
                                                   the real model from the local cache only
  asttools extract data/ --out emb --precision bf16
                                                   bf16 (GPUs, AVX512_BF16/AMX CPUs); check
                                                   its fidelity first (fidelity --help)
  asttools extract data/ --out s3://bucket/emb     a store on object storage (credentials:
                                                   AWS_ACCESS_KEY_ID, ...); one writer at a
                                                   time there (docs/cluster.md)

Re-running extract skips what the store already holds (same file content, same settings)
and finishes the rest; Ctrl-C keeps everything finished so far. In Python:
  import pandas as pd; df = pd.read_parquet("emb")        # every stored row
  import asttools; res = asttools.read_store("emb")       # current rows + numpy arrays

""" + _EXIT_CODES,
    "timestamps": """\
examples:
  asttools timestamps clip.wav --out ts.parquet    an embedding every 0.1 s
  asttools timestamps videos/ --out ts.parquet --frame-rate video
                                                   one per video frame, on the video's clock;
                                                   clips without audio are kept
  asttools timestamps videos/ --out ts.parquet --frame-rate 25 --frames-per-vector 16
                                                   one per 16-frame snippet at 25 fps
In Python: asttools.read_timestamps("ts.parquet")

""" + _EXIT_CODES,
    "info": """\
examples:
  asttools info                                    versions, device, model, weights cache,
                                                   offline mode
  asttools info --model tiny-random --json         as JSON, for a bug report
""",
    "fidelity": """\
examples:
  asttools fidelity data/ --precisions fp32,bf16   bf16 against fp32 on 16 windows of data/
  asttools fidelity clips.csv --precisions fp32,bf16,int8 --max-windows 64 --out fid.csv
                                                   int8 too (pip install -e ".[int8]"), saved
""",
    "compact": """\
examples:
  asttools compact emb                             one part file per settings in store emb/
  asttools compact s3://bucket/emb                 a store on object storage
""",
    "explore": """\
examples:
  asttools explore emb --out map.html              one file: map, labels, each clip's audio
  asttools explore emb --out map.html --truth action --color predicted
  asttools explore emb --out map.html --per window --audio files   audio beside the page
""",
    "demo": """\
examples:
  asttools demo --out demo_out                     the bundled example data
  HF_HUB_OFFLINE=1 asttools demo --out demo_out    offline: the local cache, or tiny-random
  asttools demo --data my_clips/ --out my_demo     a folder of class folders
  asttools demo --data clips.csv --label-column category --out my_demo
                                                   a manifest whose labels are in 'category'
A step the data cannot support (the linear probe on one class, a t-SNE of three clips) is
skipped with a note.
""",
}


# --------------------------------------------------------------------------- parser


_AUDIO_STREAM_HELP = ("which audio stream of files with several, counting from 0 (default: "
                      "the first); n_audio_streams is recorded per file")


#: Upper bounds of the numeric options (issue 18: an absurd value is refused at once, as
#: a usage error, before any input is listed, model loaded or file decoded).
MAX_BATCH_SIZE = 1024  # windows (or snippets) per forward pass: 1024 AST windows = 3.8 GB
MAX_WORKERS = 256  # worker processes or threads
MAX_INDEX = 1023  # --channel, --audio-stream (libsndfile's most channels is 1024)
MAX_TOP_K = 10_000
MAX_COUNT = 1_000_000  # --flush-every, --max-windows, --stride
MAX_ACTORS = 1024
MAX_REPEATS = 1000
MAX_SNIPPET = 1024  # video frames per vector, --frames-per-vector
MAX_PERPLEXITY = 10_000.0
MAX_SEED = 2**32 - 1  # numpy's
MAX_LAYER = 1000  # --layer, either way (the model's own count is checked once it is loaded)


def _int_at_least(low: int, high: int | None = None):
    """An argparse ``type`` for integers from ``low`` to ``high``; argparse names the option
    in errors."""
    said = f">= {low}" if high is None else f"from {low} to {high:,}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be an integer {said}, got {text!r}")
        return value

    parse.__name__ = f"integer {said}"
    return parse


def _number_in(low: float, high: float, *, above: bool = True, unit: str = ""):
    """An argparse ``type`` for a finite number above (or, ``above=False``, at least)
    ``low`` and at most ``high``: refuses nan, inf and text."""
    said = f"{'above' if above else 'at least'} {low:g} and at most {high:g}{unit}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = (low < value if above else low <= value) and value <= high  # nan: False
        if not ok:
            raise argparse.ArgumentTypeError(f"must be a number {said}, got {text!r}")
        return value

    parse.__name__ = f"number {said}"
    return parse


def _workers(text: str) -> int | str:
    """``--workers``: an integer >= 0 or 'auto'."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 0 to {MAX_WORKERS} or 'auto', got {text!r}")
    return value


_workers.__name__ = f"integer from 0 to {MAX_WORKERS} or 'auto'"


def _frame_rate(text: str) -> float | str:
    """``--frame-rate``: frames per second above 0, at most MAX_FRAME_RATE, or 'video'."""
    if text.strip().lower() == "video":
        return "video"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_FRAME_RATE:  # also refuses nan
        raise argparse.ArgumentTypeError(
            f"must be frames per second above 0 and at most {MAX_FRAME_RATE:g}, or "
            f"'video', got {text!r}")
    return value


_frame_rate.__name__ = "frame rate"
_WORKERS_HELP = ("decoders working ahead of the model: N worker processes (a decoder that "
                 "crashes costs its file alone; 0: decode in this process), or 'auto': the "
                 "CPUs the model leaves free (on a GPU machine all usable CPUs but one, at "
                 "most 32; on a CPU-only machine usually 1) (default 1)")


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("model and run options")
    g.add_argument("--model", default=None, metavar="NAME",
                   help="Hugging Face id, local directory or 'tiny-random' "
                        "(default: $ASTTOOLS_MODEL, else the AudioSet AST)")
    g.add_argument("--device", default="auto",
                   help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N, mps (default auto)")
    g.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE), default=BATCH_SIZE, metavar="N",
                   help="windows per forward pass (default 8)")
    g.add_argument("--window", type=float, default=WINDOW_S, metavar="SECONDS",
                   help=f"analysis window, at most the model's input (default {WINDOW_S:g}, "
                        f"AST's {MAX_LENGTH} frames); longer files are cut into windows, never "
                        "truncated")
    g.add_argument("--hop", type=float, default=None, metavar="SECONDS",
                   help=f"seconds between window starts, from {FRAME_SHIFT_S:g} up to the "
                        "window (default: the window, no overlap; below "
                        f"{TIME_STRIDE * FRAME_SHIFT_S:g}, AST's time resolution, it warns)")
    g.add_argument("--channel", type=_int_at_least(0, MAX_INDEX), default=None, metavar="C",
                   help="use this channel of multi-channel files (default: their mean)")
    g.add_argument("--audio-stream", type=_int_at_least(0, MAX_INDEX), default=None, metavar="S",
                   help=_AUDIO_STREAM_HELP)
    g.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help=_PRECISION_HELP)
    g.add_argument("--workers", type=_workers, default=1, metavar="N|auto",
                   help=_WORKERS_HELP)
    g.add_argument("--id-column", default=None, metavar="COLUMN",
                   help="the manifest column that names each clip (default: its 'id' column, "
                        "else the path relative to the folder or manifest)")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (it is also off when stderr is not a terminal)")


_PRECISION_HELP = ("arithmetic of the forward pass: fp32 (default), bf16 (fast on GPUs and "
                   "CPUs with AVX512_BF16/AMX, slower elsewhere), fp16 (GPUs), int8 "
                   "(torchao; fast with AVX512_VNNI/AMX), auto (bf16 where fast, else fp32); "
                   "check it with 'asttools fidelity'")


def _add_predict(sub) -> None:
    p = sub.add_parser(
        "predict", help="top-k AudioSet labels per file (and per window of long files)",
        description="Print the most probable AudioSet labels of each file (probabilities "
                    "averaged over its windows) and, for files longer than one window, of "
                    "each window. --out writes them as a tidy table: one row per path, "
                    "scope ('clip' or 'window'), window, rank; manifest columns are carried "
                    "along (one named like a table column, e.g. 'label', as "
                    "'manifest_label').",
        epilog=_EPILOGS["predict"], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="audio/video files, folders (searched recursively) or manifest CSVs")
    p.add_argument("--top-k", type=_int_at_least(1, MAX_TOP_K), default=5, metavar="K",
                   help="labels per row (default 5)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="also write the table to FILE.csv or FILE.parquet")
    _common(p)


def _add_extract(sub) -> None:
    p = sub.add_parser(
        "extract", help="embeddings and probabilities into a resumable Parquet store",
        description="Compute AST embeddings and AudioSet probabilities of every window and "
                    "append them to the store directory STORE (created if missing). Files "
                    "already in the store with the same content and settings are skipped, "
                    "so re-running finishes an interrupted run.",
        epilog=_EPILOGS["extract"], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="audio/video files, folders (searched recursively) or manifest CSVs")
    p.add_argument("--out", required=True, metavar="STORE",
                   help="the store directory (pd.read_parquet(STORE) reads it), or a URI "
                        "on object storage (s3://bucket/prefix, gs://..., any URI "
                        "pyarrow.fs.FileSystem.from_uri opens)")
    p.add_argument("--pooling", default="cls", choices=STORE_POOLINGS,
                   help="embedding pooling (default cls; 'grid', 12 x 101 x hidden floats "
                        "per window, is too large for a store: use asttools.embed for it)")
    p.add_argument("--layer", type=_int_at_least(-MAX_LAYER, MAX_LAYER), default=-1,
                   help="hidden layer to pool: 0 = embeddings, -1 = final output (default)")
    p.add_argument("--flush-every", type=_int_at_least(1, MAX_COUNT),
                   default=FLUSH_ITEMS, metavar="N",
                   help=f"write a part file every N finished files (default {FLUSH_ITEMS}, "
                        "or every 2 minutes)")
    p.add_argument("--retry-failed", action="store_true",
                   help="retry files that failed before with the same content (by default "
                        "they are reported from the store without decoding them again)")
    p.add_argument("--rehash", action="store_true",
                   help="re-read and hash every file, even when its size and modification "
                        "time match the store")
    p.add_argument("--require-audio", action="store_true",
                   help="count a video without an audio stream as a failure (exit 3); by "
                        "default it is recorded as 'no_audio_stream' and counted apart")
    g = p.add_argument_group("engine (docs/cluster.md)")
    g.add_argument("--engine", default="local", choices=ENGINES,
                   help="where the model runs: 'local' (this process, default) or 'ray' "
                        "(decoding in Ray tasks, the model in Ray actors; needs "
                        'pip install -e ".[ray]"); both write the same store')
    g.add_argument("--address", default=None, metavar="ADDRESS",
                   help="with --engine ray: the Ray cluster, e.g. HOST:6379 or 'auto' "
                        "(default $RAY_ADDRESS, a cluster started on this node with 'ray "
                        "start', else a local one for this run)")
    g.add_argument("--actors", type=_int_at_least(1, MAX_ACTORS), default=1, metavar="N",
                   help="with --engine ray: model actors, one model each (default 1)")
    g.add_argument("--actor-cpus", type=_number_in(0, 1024), default=None, metavar="CPUS",
                   help="with --engine ray: CPUs per actor (default: 1 with a GPU; on CPUs "
                        "at most 1, leaving one CPU of the cluster for decoding)")
    g.add_argument("--actor-gpus", type=_number_in(0, 64, above=False),
                   default=None, metavar="GPUS",
                   help="with --engine ray: GPUs per actor (default 1 when the cluster has "
                        "GPUs, else 0)")
    _common(p)


def _add_timestamps(sub) -> None:
    p = sub.add_parser(
        "timestamps",
        help="time-aligned embeddings (every 0.1 s, or per video frame) into a Parquet file",
        description="Embeddings every 0.1 s from AST's patch columns, one forward pass per "
                    "window (asttools.timestamp_embeddings), on each video's clock; "
                    "optionally pooled onto video frames or snippets.",
        epilog=_EPILOGS["timestamps"], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="audio/video files, folders (searched recursively) or manifest CSVs "
                        "(start_s/end_s columns: only those ranges)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE",
                   help="a .parquet file (read it with asttools.read_timestamps)")
    p.add_argument("--layer", type=_int_at_least(-MAX_LAYER, MAX_LAYER),
                   default=-1, help="hidden layer (default -1, the last)")
    p.add_argument("--hop", type=float, default=None, metavar="SECONDS",
                   help="seconds between window starts, a multiple of 0.1 up to 10.1 "
                        "(default 5.1: every step from the middle half of a window)")
    p.add_argument("--frame-rate", type=_frame_rate, default=None, metavar="FPS",
                   help="pool onto video frames at this rate, or 'video' for each clip's "
                        "own frame rate (default: the 0.1 s steps)")
    p.add_argument("--frames-per-vector", type=_int_at_least(1, MAX_SNIPPET),
                   default=1, metavar="N",
                   help="frames per pooled vector, e.g. 16 for 16-frame snippets")
    p.add_argument("--float16", action="store_true",
                   help="store the embeddings as float16 (half the size)")
    g = p.add_argument_group("model and run options")
    g.add_argument("--model", default=None, metavar="NAME",
                   help="hub id or local folder (default: $ASTTOOLS_MODEL or the AudioSet "
                        "checkpoint)")
    g.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps")
    g.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE), default=BATCH_SIZE, metavar="N",
                   help="windows per forward pass (default 8)")
    g.add_argument("--channel", type=_int_at_least(0, MAX_INDEX), default=None, metavar="C",
                   help="use this channel instead of the mean of channels")
    g.add_argument("--audio-stream", type=_int_at_least(0, MAX_INDEX), default=None, metavar="S",
                   help=_AUDIO_STREAM_HELP)
    g.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help=_PRECISION_HELP)
    g.add_argument("--workers", type=_workers, default=1, metavar="N|auto",
                   help=_WORKERS_HELP)
    g.add_argument("--id-column", default=None, metavar="COLUMN",
                   help="the manifest column that names each input (default 'id', else "
                        "the path relative to the manifest or folder)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _add_fidelity(sub) -> None:
    p = sub.add_parser(
        "fidelity", help="time and faithfulness of each precision against fp32, on your data",
        description="Run the same windows in fp32 and in each precision and report time per "
                    "window, the speed-up, embedding cosine similarity to fp32 (min, mean), "
                    "the largest probability difference and top-5 agreement. Quantization "
                    "error depends on the weights: check your own model and data.",
        epilog=_EPILOGS["fidelity"], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="audio/video files, folders, or manifest CSVs")
    p.add_argument("--precisions", default="fp32,bf16,int8", metavar="LIST",
                   help="comma-separated precisions to compare with fp32 (default "
                        f"fp32,bf16,int8; any of {', '.join(PRECISIONS)})")
    p.add_argument("--max-windows", type=_int_at_least(1, MAX_COUNT), default=16, metavar="N",
                   help="use at most N windows (default 16)")
    p.add_argument("--repeats", type=_int_at_least(1, MAX_REPEATS), default=1, metavar="N",
                   help="time each precision N times, keep the fastest (default 1)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="also write the table (.csv)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="hub id, local directory, or tiny-random (default $ASTTOOLS_MODEL "
                        "or the AudioSet AST)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps")
    p.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE), default=BATCH_SIZE, metavar="N",
                   help="windows per forward pass (default 8)")
    p.set_defaults(id_column=None)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="versions, device, model source; downloads nothing",
                       description="Show versions, the device, which model a run would use "
                                   "and whether it is cached locally, where the weights "
                                   "cache is and whether offline mode is on. Never "
                                   "downloads.",
                       epilog=_EPILOGS["info"],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, metavar="NAME",
                   help="the model to describe (default: $ASTTOOLS_MODEL, else the AudioSet AST)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print a JSON object")


def _add_compact(sub) -> None:
    p = sub.add_parser("compact", help="rewrite a store as one part file per settings",
                       description="Merge a store's part files and drop superseded rows; "
                                   "read_store returns the same rows afterwards.",
                       epilog=_EPILOGS["compact"],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("store", metavar="STORE", help="a store directory or URI (s3://...)")


def _add_explore(sub) -> None:
    p = sub.add_parser(
        "explore", help="an interactive map of a store's embeddings as one HTML file",
        description="Map a store's embeddings to 2-D (t-SNE, PCA or UMAP) and write one "
                    "self-contained HTML page that works offline: hover a point for its id, "
                    "truth, top-5 labels and audio status; click it to hear its own span; "
                    "box or lasso to list and export ids; colour by any column; search.",
        epilog=_EPILOGS["explore"], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("store", metavar="STORE", help="a store directory or URI (s3://...)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="the HTML file to write (e.g. map.html)")
    p.add_argument("--truth", default=None, metavar="COLUMN|CSV",
                   help="ground truth: a column of the store (e.g. a manifest's 'action') or "
                        "a manifest CSV (default: the 'label' column when there is one)")
    p.add_argument("--color", default=None, metavar="COLUMN",
                   help="colour shown first: truth, predicted, audio_status or a column")
    p.add_argument("--per", default="clip", choices=("clip", "window"),
                   help="one point per clip (default) or per window")
    # reduce.EMBEDDING_MAP_METHODS and explorer.AUDIO_MODES, written out so that --help
    # imports neither (tests/test_explorer.py checks they agree)
    p.add_argument("--method", default="tsne", choices=("tsne", "pca", "umap"),
                   help="map method (default tsne)")
    p.add_argument("--perplexity", type=_number_in(0, MAX_PERPLEXITY), default=30.0,
                   help="t-SNE perplexity, capped at (n - 1) / 3 (default 30)")
    p.add_argument("--seed", type=_int_at_least(0, MAX_SEED),
                   default=0, help="random seed (default 0)")
    p.add_argument("--audio", default="embed", choices=("embed", "files", "none"),
                   help="embed: audio inside the page (default, up to 2000 points); files: "
                        "Ogg files beside the page, linked by relative path; none")


def _add_demo(sub) -> None:
    p = sub.add_parser(
        "demo", help="run the notebooks' pipeline on the bundled example data",
        description="Extract embeddings and probabilities for the bundled example data (or "
                    "DATA), predict labels, evaluate them against the ground truth, probe "
                    "the embeddings linearly and write figures (PDF + PNG) and tables (CSV) "
                    "to --out. When the real weights cannot be loaded (offline, nothing "
                    "cached) the demo alone falls back to the random tiny-random model and "
                    "says so at the start, at the end, in every figure title and table.",
        epilog=_EPILOGS["demo"], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("demo_out"), metavar="DIR",
                   help="output folder (default: demo_out)")
    p.add_argument("--data", type=Path, default=None, metavar="PATH",
                   help="a manifest CSV or a folder of class folders (default: "
                        "data/example/manifest.csv)")
    p.add_argument("--label-column", default="label", metavar="NAME",
                   help="the manifest's column of class names (default: label)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="hub id, local directory or 'tiny-random' (default: $ASTTOOLS_MODEL, "
                        "else MIT/ast-finetuned-audioset-10-10-0.4593)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps")
    p.add_argument("--pooling", default="cls", choices=STORE_POOLINGS,
                   help="embedding pooling (default: cls)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _add_video_features(sub) -> None:
    p = sub.add_parser(
        "video-features", help="video model vectors into the store, on the audio's clock",
        description="Decode each video's frames at their real times and embed them with a "
                    "video model (VideoMAE snippets, or a per-frame image encoder) into "
                    "STORE/_video/<settings key>/, cached by content and resumable; a file "
                    "without video gets a status row. Python: "
                    "asttools.store.video_features.extract_video.",
        epilog="examples:\n  asttools video-features data/video --out emb --video-model "
               "tiny-random --stride 8\n", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="video files, folders, or manifest CSVs")
    p.add_argument("--out", required=True, metavar="STORE", help="the store's folder")
    p.add_argument("--video-model", default=None, metavar="NAME",
                   help="hub id, local folder, tiny-random (VideoMAE) or tiny-random-image "
                        "(default $ASTTOOLS_VIDEO_MODEL or "
                        "MCG-NJU/videomae-base-finetuned-kinetics)")
    p.add_argument("--fps", type=_number_in(0, MAX_FRAME_RATE, unit=" frames per second"),
                   default=None, help="sample frames at this rate "
                   "(default: every frame)")
    p.add_argument("--snippet", type=_int_at_least(1, MAX_SNIPPET), default=None, metavar="N",
                   help="frames per vector (default: the model's)")
    p.add_argument("--stride", type=_int_at_least(1, MAX_COUNT), default=None, metavar="N",
                   help="frames between snippet starts (default: --snippet)")
    p.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE), default=BATCH_SIZE, metavar="N")
    p.add_argument("--workers", type=_int_at_least(0, MAX_WORKERS), default=0, metavar="N",
                   help="decoding threads (default 0)")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS)
    p.add_argument("--device", default="auto")
    p.add_argument("--id-column", default=None, metavar="NAME")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _video_features(args) -> int:
    out = asttools.store.video_features.extract_video(
        args.paths, args.out, model=args.video_model, fps=args.fps, snippet=args.snippet,
        stride=args.stride, batch_size=args.batch_size, workers=args.workers,
        precision=args.precision, device=args.device, id_column=args.id_column,
        progress=_progress(args))
    _banner({"random_weights": out.random_weights, "model": out.meta.get("video_model")})
    counts = out.inputs["video_status"].value_counts()
    _out(f"video-features: {len(out.inputs)} inputs ("
         + ", ".join(f"{k} {v}" for k, v in counts.items()) + f"), {len(out.table)} vectors "
         f"x {out.embeddings.shape[1]} in {_show(args.out)} (settings "
         f"{out.meta.get('settings_key')}); read with "
         f"asttools.store.video_features.read_video_features({str(args.out)!r})")
    bad = out.inputs[~out.inputs["video_status"].isin(["ok", "no_video_stream"])]
    _list_failures(bad.assign(reason=bad["video_status"] + ": " + bad["reason"].fillna("")))
    return EXIT_SOME_FAILED if len(bad) else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``asttools`` argument parser, one subparser per entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="asttools",
        description="Audio Spectrogram Transformer (AST) from the command line: AudioSet "
                    "labels, and embeddings into a resumable store.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"asttools {asttools.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add, _) in COMMANDS.items():
        add(sub)
        sub.choices[name].set_defaults(command=name)
    return parser


# --------------------------------------------------------------------------- output


def _out(text: str = "") -> None:
    _write(text, sys.stdout)


def _err(text: str) -> None:
    _write(text, sys.stderr)


def _write(text: str, stream) -> None:
    """One line below any progress bar; a file name need not be UTF-8 (``\\xNN``)."""
    from tqdm.auto import tqdm  # deferred: importing tqdm.auto costs --help 0.2 s

    tqdm.write(asttools.run.inputs.printable_path(text), file=stream)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _err(f"warning: {_as_options(str(message))}")


def _as_options(message: str) -> str:
    """A library message with its parameter names replaced by the options that set them."""
    return _PARAM_RE.sub(
        lambda m: f"{_OPTION_NAMES[m.group(1)]} " if m.group(1) else _OPTION_NAMES[m.group(2)],
        message,
    )


def _check_windows(args) -> None:
    """Refuse (or warn about) --window and --hop before any input is listed or model loaded."""
    asttools.settings.check_windows(args.window, args.hop, names=("--window", "--hop"))


def _banner(meta: dict) -> None:
    if meta.get("random_weights"):
        _out(f"*** RANDOM WEIGHTS: model {meta.get('model')!r} is randomly initialised; "
             "every label and embedding below is meaningless (fine for tests). ***")


def _show(path: str | os.PathLike) -> str:
    """A path for the terminal: relative when under the working directory; a name that
    is not UTF-8 with its odd bytes as ``\\xNN``."""
    path = os.fsdecode(path)
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    return asttools.run.inputs.printable_path(path if rel.startswith("..") else rel)


def _progress(args) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _list_failures(errors) -> None:
    for path, reason in list(zip(errors["path"], errors["reason"], strict=True))[
            :_MAX_LISTED_FAILURES]:
        _err(f"failed: {_show(path)}: {reason}")
    if len(errors) > _MAX_LISTED_FAILURES:
        _err(f"... and {len(errors) - _MAX_LISTED_FAILURES} more")


def _inputs(args):
    inputs = asttools.run.inputs.list_inputs(args.paths, id_column=args.id_column)
    if not len(inputs):
        raise _Nothing(f"no audio or video files found in {', '.join(map(str, args.paths))} "
                       f"(looked for {' '.join(asttools.audio.MEDIA_EXTENSIONS)})")
    return inputs


class _Nothing(ASTToolsError):
    """Nothing to do (EXIT_ERROR)."""


# --------------------------------------------------------------------------- commands


def _predict(args) -> int:
    if args.out is not None and args.out.suffix.lower() not in (".csv", ".parquet"):
        raise ParameterError(f"--out {args.out}: use a .csv or .parquet file name")
    _check_windows(args)
    inputs = _inputs(args)
    model = asttools.load_model(args.model, device=args.device)
    _banner(asttools.model_info(model))
    # pooling="patches": probabilities do not depend on it, and segments need it
    result = asttools.embed(inputs, model=model, window_s=args.window, pooling="patches",
                            hop_s=args.hop, batch_size=args.batch_size, workers=args.workers,
                            channel=args.channel, on_error="ignore", progress=_progress(args),
                            precision=args.precision, audio_stream=args.audio_stream)
    table = asttools.run.result.prediction_table(result, k=args.top_k, inputs=inputs)
    spans = result.clips().table.set_index("item")
    for (item, scope), rows in table.groupby(["item", "scope"], sort=False):
        if rows["label"].isna().all():
            _out(f"{_show(rows['path'].iloc[0])}: {rows['audio_status'].iloc[0]}")
        elif scope == "clip":
            n = int(spans.loc[item, "n_windows"])
            span = f"{spans.loc[item, 'clip_duration_s']:.1f} s"
            _out(f"{_show(rows['path'].iloc[0])} ({span}{f', {n} windows' if n > 1 else ''}): "
                 + _labels(rows))
        else:
            for (s, e), w in rows.groupby(["start_s", "end_s"], sort=True):
                _out(f"    {s:7.2f}-{e:7.2f} s: " + _labels(w))
    if args.out is not None:
        asttools.run.result.write_table(table.drop(columns="item"), args.out, meta=result.meta)
    done = result.table["item"].nunique() if len(result) else 0
    _banner(result.meta)
    without = int((result.status["audio_status"] == "no_audio_stream").sum())
    _out(f"predict: {done} of {len(inputs)} files labelled ({len(result)} windows)"
         + (f", {without} without audio" if without else "")
         + (f", {len(result.errors)} failed" if len(result.errors) else "")
         + (f"; table written to {args.out}" if args.out is not None else ""))
    _list_failures(result.errors)
    return EXIT_SOME_FAILED if len(result.errors) else EXIT_OK


def _labels(g) -> str:
    return " | ".join(f"{lab} {p:.3f}" for lab, p in zip(g["label"], g["probability"],
                                                          strict=True))


def _extract(args) -> int:
    _check_windows(args)
    inputs = _inputs(args)
    try:
        result = asttools.extract(
            inputs, args.out, model=args.model, device=args.device, pooling=args.pooling,
            layer=args.layer, window_s=args.window, hop_s=args.hop, channel=args.channel,
            audio_stream=args.audio_stream, batch_size=args.batch_size, workers=args.workers,
            rehash=args.rehash,
            retry_failed=args.retry_failed, require_audio=args.require_audio,
            flush_items=args.flush_every, progress=_progress(args), read_back=False,
            engine=args.engine, ray_address=args.address, ray_actors=args.actors,
            ray_actor_cpus=args.actor_cpus, ray_actor_gpus=args.actor_gpus,
            precision=args.precision)
    except KeyboardInterrupt:
        _err(f"interrupted: finished files are saved in {args.out}; run the same command "
             "again to do the rest")
        return EXIT_INTERRUPTED
    run = result.meta["run"]
    _banner(result.meta)
    rate = run["computed"] / run["seconds"] if run["seconds"] else 0.0
    _out(f"extract: {len(inputs)} files -> {_show(args.out)}: {run['computed']} computed "
         f"({run['windows']} windows, {rate:.2f} files/s), {run['cached']} already stored, "
         f"{run['copied']} copied from identical files"
         + (f", {run['no_audio']} without audio" if run["no_audio"] else "")
         + f", {run['failed']} failed"
         + (f" ({run['failed_before']} as in an earlier run; --retry-failed tries them "
            "again)" if run["failed_before"] else "")
         + f", in {run['seconds']:.1f} s")
    _out(f"store: settings {result.meta['settings_key']} "
         f"(model {result.meta.get('model', result.meta['settings']['model'])!r}, pooling "
         f"{args.pooling!r}, layer {result.meta.get('layer', args.layer)}, precision "
         f"{result.meta.get('precision', 'fp32')}); read it with "
         f"asttools.read_store({str(args.out)!r})")
    _list_failures(result.errors)
    return EXIT_SOME_FAILED if run["failed"] else EXIT_OK


def _timestamps(args) -> int:
    if args.out.suffix.lower() != ".parquet":
        raise ParameterError(f"--out {args.out}: use a .parquet file name")
    rate = args.frame_rate
    if args.hop is not None:  # before any input is listed or the model loaded
        asttools.run.steps.check_hop(args.hop, name="--hop")
    inputs = _inputs(args)
    model = asttools.load_model(args.model, device=args.device)
    _banner(asttools.model_info(model))
    hop = {} if args.hop is None else {"hop_s": args.hop}
    result = asttools.timestamp_embeddings(
        inputs, model=model, layer=args.layer, frame_rate=rate,
        frames_per_vector=args.frames_per_vector, batch_size=args.batch_size,
        workers=args.workers, channel=args.channel, audio_stream=args.audio_stream,
        on_error="ignore", progress=_progress(args), precision=args.precision, **hop)
    result.save(args.out, float16=args.float16)
    without = int((result.inputs["audio_status"] == "no_audio_stream").sum())
    what = "steps of 0.1 s" if rate is None else (
        f"vectors of {args.frames_per_vector} frame{'s' if args.frames_per_vector > 1 else ''}"
        f" at {'each video' + chr(39) + 's rate' if rate == 'video' else f'{rate:g} fps'}")
    _banner(result.meta)
    _out(f"timestamps: {len(inputs)} files -> {_show(args.out)}: {len(result)} {what} "
         f"({int(result.inputs['n_windows'].sum())} windows)"
         + (f", {without} without audio" if without else "")
         + f", {len(result.errors)} failed; read it with "
         f"asttools.read_timestamps({str(args.out)!r})")
    _list_failures(result.errors)
    return EXIT_SOME_FAILED if len(result.errors) else EXIT_OK


def _fidelity(args) -> int:
    if args.out is not None and args.out.suffix.lower() != ".csv":
        raise ParameterError(f"--out {args.out}: use a .csv file name")
    precisions = tuple(p.strip() for p in args.precisions.split(",") if p.strip())
    for p in precisions:
        if p not in PRECISIONS:
            raise ParameterError(f"--precisions: {p!r} is not one of {PRECISIONS}")
    inputs = _inputs(args)
    model = asttools.load_model(args.model, device=args.device)
    _banner(asttools.model_info(model))
    table = asttools.run.fidelity.fidelity(
        list(inputs["path"]), model=model, precisions=precisions,
        batch_size=args.batch_size, max_windows=args.max_windows, repeats=args.repeats)
    _out(f"fidelity against fp32, {int(table['windows'].iloc[0])} windows, device "
         f"{table.attrs['device']}, CPU flags {' '.join(table.attrs['cpu_flags']) or '-'}:")
    _out(table.drop(columns=["random_weights"]).to_string(index=False, float_format="%.6g"))
    if args.out is not None:
        table.to_csv(args.out, index=False)
        _out(f"table written to {args.out}")
    _banner(asttools.model_info(model))
    return EXIT_OK


def _info(args) -> int:
    info = asttools.apps.environment.info(args.model, device=args.device)
    if info["model_source"] == "argument":
        info["model_source"] = "--model"
    if args.json:
        _out(json.dumps(info, indent=1))
        return EXIT_OK
    for k, v in info.items():
        if k == "random_weights":
            v = "unknown (not cached)" if v is None else ("YES: outputs are meaningless"
                                                           if v else "no")
        elif k == "model_cached" and not v and info["model"] != TINY_RANDOM:
            v = ("no: a run would try to download it (see asttools.load_model's help)"
                 + ("; HF_HUB_OFFLINE is set, so it would fail" if info["offline"] else ""))
        elif k == "offline":
            v = ("yes (HF_HUB_OFFLINE): nothing is looked up online" if v else
                 "no: a model not in the cache is downloaded (HF_HUB_OFFLINE=1 to forbid it)")
        _out(f"{k:>15}: {v}")
    return EXIT_OK


def _compact(args) -> int:
    stats = asttools.store.compact_store(args.store)
    _out(f"compact: {_show(args.store)}: {stats['parts_before']} part files -> "
         f"{stats['parts_after']}, {stats['rows_before']} rows -> {stats['rows_after']}")
    return EXIT_OK


def _explore(args) -> int:
    truth = args.truth
    if truth is not None and truth.lower().endswith(".csv"):
        truth = asttools.read_ground_truth(truth)
    explorer = asttools.explore(args.store, truth=truth, color=args.color, per=args.per,
                                method=args.method, perplexity=args.perplexity,
                                seed=args.seed)
    path = explorer.save(args.out, audio=args.audio)
    _out(f"explore: {len(explorer.points)} points, {_show(path)} "
         f"({path.stat().st_size / 1e6:.1f} MB)"
         + ("; RANDOM WEIGHTS" if explorer.meta.get("random_weights") else ""))
    return EXIT_OK


def _demo(args) -> int:
    report = asttools.apps.demo.run_demo(args.out, data=args.data, model=args.model, device=args.device,
                      pooling=args.pooling, label_column=args.label_column,
                      progress=_progress(args), report=_out)
    _out(f"demo: {report.n_clips} clips, {report.n_errors} failed; figures in "
         f"{_show(str(args.out / 'figures'))}, tables in {_show(str(args.out / 'tables'))}")
    return EXIT_SOME_FAILED if report.n_errors else EXIT_OK


#: Subcommands: name -> (add its parser, run it).
COMMANDS = {
    "demo": (_add_demo, _demo),
    "predict": (_add_predict, _predict),
    "extract": (_add_extract, _extract),
    "timestamps": (_add_timestamps, _timestamps),
    "fidelity": (_add_fidelity, _fidelity),
    "info": (_add_info, _info),
    "compact": (_add_compact, _compact),
    "explore": (_add_explore, _explore),
    "video-features": (_add_video_features, _video_features),
}


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Treat SIGTERM (a scheduler's time limit, `kill`) like Ctrl-C: flush, then exit."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the ``EXIT_*`` constants).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
    """

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (code 2)
        return int(exit_.code or 0)
    run = COMMANDS[args.command][1]
    with warnings.catch_warnings(), _sigterm_as_interrupt():
        warnings.showwarning = _show_warning
        warnings.filterwarnings("ignore", message=r".*RANDOM weights")  # the banner says so
        warnings.filterwarnings("ignore", message=r"\d+ of \d+ inputs failed")  # listed
        # said once already, by _check_windows, as --hop
        warnings.filterwarnings("ignore", message=r"hop_s=.* finer than AST's time resolution")
        try:
            return run(args)
        except KeyboardInterrupt:
            _err("interrupted")
            return EXIT_INTERRUPTED
        except ParameterError as err:
            _err(f"asttools {args.command}: error: {_as_options(str(err))}")
            return EXIT_USAGE
        except (ModelLoadError, StoreError, _Nothing) as err:
            _err(f"asttools {args.command}: error: {err}")
            return EXIT_ERROR
        except ASTToolsError as err:
            _err(f"asttools {args.command}: error: {err}")
            return EXIT_ERROR
        except OSError as err:  # the file system failed us: say which file, not a traceback
            _err(f"asttools {args.command}: error: {err}")
            return EXIT_ERROR
