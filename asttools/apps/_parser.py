"""Each command's options: their types and bounds, help and examples (argparse only).

One ``add_<command>(sub)`` per subcommand adds its parser to argparse's subparsers; the
options' types refuse an absurd value while parsing (a usage error, exit 2, before any
input is listed or model loaded): the ``MAX_*`` bounds below. This module reads only
standard-library modules of asttools (the geometry, a run's and the store's choices), so
``asttools --help`` and ``asttools COMMAND --help`` load neither torch nor pandas.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..constants import FRAME_SHIFT_S, MAX_LENGTH, TIME_STRIDE, WINDOW_S
from ..run import BATCH_SIZE
from ..settings import MAX_FRAME_RATE, PRECISIONS
from ..store import ENGINES, FLUSH_ITEMS, STORE_POOLINGS

__all__ = [
    "EPILOG",
    "add_compact",
    "add_demo",
    "add_explore",
    "add_extract",
    "add_fidelity",
    "add_info",
    "add_predict",
    "add_timestamps",
    "add_video_features",
]

_EXIT_CODES = """\
exit codes: 0 all done, 1 nothing could be done (e.g. model not loadable), 2 usage error,
3 some inputs failed (listed; the rest were written), 130 interrupted (finished work kept).
"""

#: The top-level help's examples and exit codes.
EPILOG = """\
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
    g.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE),
                   default=BATCH_SIZE, metavar="N",
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


def add_predict(sub) -> None:
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


def add_extract(sub) -> None:
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


def add_timestamps(sub) -> None:
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
    g.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE),
                   default=BATCH_SIZE, metavar="N",
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


def add_fidelity(sub) -> None:
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
    p.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE),
                   default=BATCH_SIZE, metavar="N",
                   help="windows per forward pass (default 8)")
    p.set_defaults(id_column=None)


def add_info(sub) -> None:
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


def add_compact(sub) -> None:
    p = sub.add_parser("compact", help="rewrite a store as one part file per settings",
                       description="Merge a store's part files and drop superseded rows; "
                                   "read_store returns the same rows afterwards.",
                       epilog=_EPILOGS["compact"],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("store", metavar="STORE", help="a store directory or URI (s3://...)")


def add_explore(sub) -> None:
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


def add_demo(sub) -> None:
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


def add_video_features(sub) -> None:
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
    p.add_argument("--batch-size", type=_int_at_least(1, MAX_BATCH_SIZE),
                   default=BATCH_SIZE, metavar="N")
    p.add_argument("--workers", type=_int_at_least(0, MAX_WORKERS), default=0, metavar="N",
                   help="decoding threads (default 0)")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS)
    p.add_argument("--device", default="auto")
    p.add_argument("--id-column", default=None, metavar="NAME")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
