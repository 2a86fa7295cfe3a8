"""Each command's run: the library calls a notebook could make, and what the terminal shows.

One function per subcommand, named like it, takes argparse's namespace and returns how
many of its inputs failed (listed on stderr; 0 when all was done), which
:func:`asttools.apps.cli.main` turns into the exit code; it raises :class:`Nothing` when
no input is found and :class:`Interrupted` after saying what an interrupted run kept.
The library is reached through the package root, whose names load on first use, so
importing this module loads neither torch nor pandas.
"""

from __future__ import annotations

import json
import os
import sys

import asttools

from ..errors import ASTToolsError, ParameterError
from ..settings import PRECISIONS, TINY_RANDOM

__all__ = [
    "Interrupted",
    "Nothing",
    "compact",
    "demo",
    "err",
    "explore",
    "extract",
    "fidelity",
    "info",
    "out",
    "predict",
    "timestamps",
    "video_features",
]

_MAX_LISTED_FAILURES = 20


def out(text: str = "") -> None:
    """Print a line of a command's report on stdout."""
    _write(text, sys.stdout)


def err(text: str) -> None:
    """Print a failure, warning or error on stderr."""
    _write(text, sys.stderr)


def _write(text: str, stream) -> None:
    """One line below any progress bar; a file name need not be UTF-8 (``\\xNN``)."""
    from tqdm.auto import tqdm  # deferred: importing tqdm.auto costs --help 0.2 s

    tqdm.write(asttools.run.inputs.printable_path(text), file=stream)


def _check_windows(args) -> None:
    """Refuse (or warn about) --window and --hop before any input is listed or model loaded."""
    asttools.settings.check_windows(args.window, args.hop, names=("--window", "--hop"))


def _banner(meta: dict) -> None:
    if meta.get("random_weights"):
        out(f"*** RANDOM WEIGHTS: model {meta.get('model')!r} is randomly initialised; "
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
        err(f"failed: {_show(path)}: {reason}")
    if len(errors) > _MAX_LISTED_FAILURES:
        err(f"... and {len(errors) - _MAX_LISTED_FAILURES} more")


def _inputs(args):
    inputs = asttools.run.inputs.list_inputs(args.paths, id_column=args.id_column)
    if not len(inputs):
        raise Nothing(f"no audio or video files found in {', '.join(map(str, args.paths))} "
                       f"(looked for {' '.join(asttools.audio.MEDIA_EXTENSIONS)})")
    return inputs


class Nothing(ASTToolsError):
    """Nothing to do: no input found (the command line's EXIT_ERROR)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what was kept already said (EXIT_INTERRUPTED)."""


# --------------------------------------------------------------------------- commands
# Each returns the number of its inputs that failed (0: all done).


def predict(args) -> int:
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
            out(f"{_show(rows['path'].iloc[0])}: {rows['audio_status'].iloc[0]}")
        elif scope == "clip":
            n = int(spans.loc[item, "n_windows"])
            span = f"{spans.loc[item, 'clip_duration_s']:.1f} s"
            out(f"{_show(rows['path'].iloc[0])} ({span}{f', {n} windows' if n > 1 else ''}): "
                + _labels(rows))
        else:
            for (s, e), w in rows.groupby(["start_s", "end_s"], sort=True):
                out(f"    {s:7.2f}-{e:7.2f} s: " + _labels(w))
    if args.out is not None:
        asttools.run.result.write_table(table.drop(columns="item"), args.out, meta=result.meta)
    done = result.table["item"].nunique() if len(result) else 0
    _banner(result.meta)
    without = int((result.status["audio_status"] == "no_audio_stream").sum())
    out(f"predict: {done} of {len(inputs)} files labelled ({len(result)} windows)"
        + (f", {without} without audio" if without else "")
        + (f", {len(result.errors)} failed" if len(result.errors) else "")
        + (f"; table written to {args.out}" if args.out is not None else ""))
    _list_failures(result.errors)
    return len(result.errors)


def _labels(g) -> str:
    return " | ".join(f"{lab} {p:.3f}" for lab, p in zip(g["label"], g["probability"],
                                                          strict=True))


def extract(args) -> int:
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
        err(f"interrupted: finished files are saved in {args.out}; run the same command "
            "again to do the rest")
        raise Interrupted from None
    run = result.meta["run"]
    _banner(result.meta)
    rate = run["computed"] / run["seconds"] if run["seconds"] else 0.0
    out(f"extract: {len(inputs)} files -> {_show(args.out)}: {run['computed']} computed "
        f"({run['windows']} windows, {rate:.2f} files/s), {run['cached']} already stored, "
        f"{run['copied']} copied from identical files"
        + (f", {run['no_audio']} without audio" if run["no_audio"] else "")
        + f", {run['failed']} failed"
        + (f" ({run['failed_before']} as in an earlier run; --retry-failed tries them "
            "again)" if run["failed_before"] else "")
        + f", in {run['seconds']:.1f} s")
    out(f"store: settings {result.meta['settings_key']} "
        f"(model {result.meta.get('model', result.meta['settings']['model'])!r}, pooling "
        f"{args.pooling!r}, layer {result.meta.get('layer', args.layer)}, precision "
        f"{result.meta.get('precision', 'fp32')}); read it with "
        f"asttools.read_store({str(args.out)!r})")
    _list_failures(result.errors)
    return int(run["failed"])


def timestamps(args) -> int:
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
    out(f"timestamps: {len(inputs)} files -> {_show(args.out)}: {len(result)} {what} "
        f"({int(result.inputs['n_windows'].sum())} windows)"
        + (f", {without} without audio" if without else "")
        + f", {len(result.errors)} failed; read it with "
        f"asttools.read_timestamps({str(args.out)!r})")
    _list_failures(result.errors)
    return len(result.errors)


def fidelity(args) -> int:
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
    out(f"fidelity against fp32, {int(table['windows'].iloc[0])} windows, device "
        f"{table.attrs['device']}, CPU flags {' '.join(table.attrs['cpu_flags']) or '-'}:")
    out(table.drop(columns=["random_weights"]).to_string(index=False, float_format="%.6g"))
    if args.out is not None:
        table.to_csv(args.out, index=False)
        out(f"table written to {args.out}")
    _banner(asttools.model_info(model))
    return 0


def info(args) -> int:
    info = asttools.apps.environment.info(args.model, device=args.device)
    if info["model_source"] == "argument":
        info["model_source"] = "--model"
    if args.json:
        out(json.dumps(info, indent=1))
        return 0
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
        out(f"{k:>15}: {v}")
    return 0


def compact(args) -> int:
    stats = asttools.store.compact_store(args.store)
    out(f"compact: {_show(args.store)}: {stats['parts_before']} part files -> "
        f"{stats['parts_after']}, {stats['rows_before']} rows -> {stats['rows_after']}")
    return 0


def explore(args) -> int:
    truth = args.truth
    if truth is not None and truth.lower().endswith(".csv"):
        truth = asttools.read_ground_truth(truth)
    explorer = asttools.explore(args.store, truth=truth, color=args.color, per=args.per,
                                method=args.method, perplexity=args.perplexity,
                                seed=args.seed)
    path = explorer.save(args.out, audio=args.audio)
    out(f"explore: {len(explorer.points)} points, {_show(path)} "
        f"({path.stat().st_size / 1e6:.1f} MB)"
        + ("; RANDOM WEIGHTS" if explorer.meta.get("random_weights") else ""))
    return 0


def demo(args) -> int:
    report = asttools.apps.demo.run_demo(
        args.out, data=args.data, model=args.model, device=args.device, pooling=args.pooling,
        label_column=args.label_column, progress=_progress(args), report=out)
    out(f"demo: {report.n_clips} clips, {report.n_errors} failed; figures in "
        f"{_show(str(args.out / 'figures'))}, tables in {_show(str(args.out / 'tables'))}")
    return int(report.n_errors)


def video_features(args) -> int:
    res = asttools.store.video_features.extract_video(
        args.paths, args.out, model=args.video_model, fps=args.fps, snippet=args.snippet,
        stride=args.stride, batch_size=args.batch_size, workers=args.workers,
        precision=args.precision, device=args.device, id_column=args.id_column,
        progress=_progress(args))
    _banner({"random_weights": res.random_weights, "model": res.meta.get("video_model")})
    counts = res.inputs["video_status"].value_counts()
    out(f"video-features: {len(res.inputs)} inputs ("
        + ", ".join(f"{k} {v}" for k, v in counts.items()) + f"), {len(res.table)} vectors "
        f"x {res.embeddings.shape[1]} in {_show(args.out)} (settings "
        f"{res.meta.get('settings_key')}); read with "
        f"asttools.store.video_features.read_video_features({str(args.out)!r})")
    bad = res.inputs[~res.inputs["video_status"].isin(["ok", "no_video_stream"])]
    _list_failures(bad.assign(reason=bad["video_status"] + ": " + bad["reason"].fillna("")))
    return len(bad)


