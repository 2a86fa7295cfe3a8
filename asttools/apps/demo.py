"""The whole pipeline on the bundled example data, as the notebooks run it.

``asttools demo`` (the README's first command) calls :func:`run_demo`: load the model,
extract embeddings and probabilities into a store, predict labels, evaluate against the
ground truth, probe the embeddings linearly, and draw the figures — writing PDF + PNG
figures and CSV tables to one folder.

The demo alone may fall back to the random ``tiny-random`` model when the real weights
cannot be had, so that a new user always sees the whole pipeline run; it says so at the
start and the end, in every figure title and in every table. ``extract`` and ``predict``
never fall back.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd

from .. import plots
from ..analysis.attention import attention_maps, attention_rollout
from ..analysis.metrics import (
    aligned_scores,
    confusion_matrix,
    evaluate,
    linear_probe,
    per_class_metrics,
)
from ..analysis.reduce import capped_perplexity
from ..audio import load_audio
from ..constants import WINDOW_S
from ..datasets import primary_labels, read_ground_truth
from ..errors import ASTToolsWarning, ModelLoadError, ParameterError
from ..explorer import explore
from ..labels.mapping import map_labels
from ..model import load_model, model_info
from ..model.features import fbank, n_frames
from ..run.result import top_k
from ..settings import TINY_RANDOM
from ..store import extract

__all__ = ["DemoReport", "example_data", "load_model_or_fallback", "run_demo", "weights_banner"]

FALLBACK_BANNER = (
    "RANDOM WEIGHTS: the real AST weights could not be loaded, so this demo runs the "
    "tiny-random model. Its embeddings, labels and metrics are meaningless; they only show "
    "the pipeline working. Get the weights (see README: 'Where the weights come from') and "
    "run it again."
)
RANDOM_BANNER = (
    "RANDOM WEIGHTS: model {model!r} has random weights. Its embeddings, labels and metrics "
    "are meaningless; they only show the pipeline working."
)


def example_data() -> Path:
    """The bundled example dataset's manifest, ``asttools/data/example/manifest.csv``.

    The example clips ship inside the package (``importlib.resources``), so a wheel or a
    ``pip install`` from a git URL has them; in a clone, ``asttools/data/example`` is a
    link to ``data/example`` (one copy), which a build copies into the package. The real
    recordings the manifest lists are in ``samples/`` beside it, and the video dataset in
    ``video/`` (``example_data().parents[1] / "video" / "manifest.csv"``).

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        When the installed package lacks it (an install that dropped its data files);
        pass the data path explicitly then.
    """
    manifest = resources.files("asttools").joinpath("data").joinpath("example") \
        .joinpath("manifest.csv")
    if manifest.is_file():
        return Path(str(manifest))
    raise ParameterError(
        f"the bundled example data ({manifest}) is missing from the installed package; "
        "reinstall asttools, or pass the data path (a folder or a manifest CSV)"
    )


def load_model_or_fallback(name_or_path: str | None = None, *, device: str = "auto"):
    """Load a model, falling back to ``tiny-random`` (loudly) when the weights are missing.

    For the demo only: everything else raises :class:`~asttools.errors.ModelLoadError`.

    Returns
    -------
    model : transformers.ASTForAudioClassification
    fallback_reason : str or None
        Why the fallback happened, or None when the requested model loaded.
    """
    try:
        return load_model(name_or_path, device=device), None
    except ModelLoadError as err:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ASTToolsWarning)
            model = load_model(TINY_RANDOM, device=device)
        return model, str(err).split(" Ways to get the weights")[0]


def weights_banner(model) -> str:
    """A Markdown banner for notebooks: which model runs, and loudly whether it is random.

    Parameters
    ----------
    model : transformers.ASTForAudioClassification

    Returns
    -------
    str
        Markdown; display it with ``IPython.display.Markdown``.
    """
    info = model_info(model)
    if info["random_weights"]:
        return (
            "<div style='border:3px solid #c00;padding:8px;background:#fee'>"
            f"<b>⚠ RANDOM WEIGHTS</b> — model <code>{info['model']}</code> is randomly "
            "initialised. Every embedding, label, metric and figure below is meaningless "
            "and only shows the pipeline working; figure titles say <i>(random weights)</i>. "
            "Set <code>MODEL</code> (or <code>ASTTOOLS_MODEL</code>) to the real checkpoint "
            "for results.</div>"
        )
    return (
        f"Model: <code>{info['model']}</code> (revision {info['revision'] or 'local'}), "
        f"{info['num_layers']} layers, hidden size {info['hidden_size']}, on {info['device']}."
    )


@dataclass
class DemoReport:
    """What :func:`run_demo` did: the files it wrote, the headline numbers, and ``notes``
    on steps it skipped (e.g. the linear probe on a dataset of one class)."""

    out_dir: Path
    model: str
    random_weights: bool
    fallback_reason: str | None
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    metrics: pd.DataFrame | None = None
    n_clips: int = 0
    n_errors: int = 0
    notes: list[str] = field(default_factory=list)
    explorer: Path | None = None  # explorer.html: the interactive map, one file


def run_demo(
    out_dir: str | os.PathLike = "demo_out",
    *,
    data: str | os.PathLike | None = None,
    model=None,
    device: str = "auto",
    pooling: str = "cls",
    perplexity: float = 10.0,
    label_column: str = "label",
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> DemoReport:
    """Run the notebooks' pipeline end to end and write figures and tables.

    Parameters
    ----------
    out_dir : str or PathLike, default "demo_out"
        Where to write ``figures/*.pdf|png``, ``tables/*.csv``, the embedding store
        ``embeddings.parquet`` and ``explorer.html`` (the interactive map of
        :func:`asttools.explore`: hover, click to hear, one offline file).
    data : str or PathLike, optional
        A manifest CSV (``path`` and ``label`` columns) or a folder of class folders;
        default: the bundled example data (:func:`example_data`).
    model : model, str or None
        A loaded model, a name/path, or None (``$ASTTOOLS_MODEL`` or the default
        checkpoint). A name that cannot be loaded falls back to ``tiny-random`` — loudly.
    device : str, default "auto"
    pooling : str, default "cls"
    perplexity : float, default 10.0
        t-SNE perplexity (capped at what the number of clips supports).
    label_column : str, default "label"
        The manifest's column of class names (see :func:`asttools.datasets.read_manifest`).
    progress : bool, default True
        Progress bar during extraction.
    report : callable, optional
        Called with one line of text per step (the CLI passes ``print``).

    Returns
    -------
    DemoReport

    Notes
    -----
    Any dataset the readers accept runs, down to a folder of two or three clips of one
    class: a step the data cannot support (the linear probe needs two classes and enough
    clips per class for its folds) is skipped with a note (``DemoReport.notes``, and a
    line through ``report``) instead of stopping the demo.
    """
    say = report or (lambda line: None)
    out = Path(out_dir)
    fallback = None
    if model is None or isinstance(model, (str, os.PathLike)):
        say("loading the model ...")
        model, fallback = load_model_or_fallback(model, device=device)
    info = model_info(model)
    rep = DemoReport(out, info["model"], info["random_weights"], fallback)
    if fallback:
        say(f"could not load the real weights: {fallback}")
    banner = FALLBACK_BANNER if fallback else RANDOM_BANNER.format(model=info["model"])
    if rep.random_weights:
        say("!" * 80 + "\n" + banner + "\n" + "!" * 80)

    manifest = Path(data) if data is not None else example_data()
    truth = read_ground_truth(manifest, label_column=label_column)
    say(f"data: {manifest} ({len(truth)} clips with ground truth)")
    say(f"extracting embeddings and probabilities into {out / 'embeddings.parquet'} ...")
    result = extract(manifest, out / "embeddings.parquet", model=model, pooling=pooling,
                     progress=progress)
    clips = result.clips(aggregate="mean")
    rep.n_clips, rep.n_errors = len(clips), len(result.errors)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        rep.metrics = evaluate(truth, result, n_boot=200)
        per_class = per_class_metrics(truth, result)
        try:
            probe = linear_probe(truth, result, multilabel="first")
        except ParameterError as err:  # one class, or too few clips for the folds
            probe = None
            rep.notes.append(f"linear probe skipped: {err}")
            say(f"note: {rep.notes[-1]}")
    names = sorted({label for labels in truth["labels"] for label in labels})
    tables = {"top5_per_clip": top_k(clips, k=5), "top3_per_window": top_k(result, k=3),
              "label_mapping": map_labels(names), "metrics": rep.metrics,
              "per_class": per_class}
    if probe is not None:
        tables.update(linear_probe=probe.folds, linear_probe_summary=probe.summary)
    if len(result.errors):
        tables["errors"] = result.errors
    (out / "tables").mkdir(parents=True, exist_ok=True)
    for stem, table in tables.items():
        rep.tables.append(_write_stamped(table, out / "tables" / f"{stem}.csv", info))

    (out / "figures").mkdir(parents=True, exist_ok=True)
    n_notes = len(rep.notes)
    with mpl.rc_context(plots.theme_rc()):  # the theme for these figures only
        figures = _figures(model, result, clips, truth, rep.metrics, per_class,
                           None if probe is None else probe.predictions,
                           pooling=pooling, perplexity=perplexity, notes=rep.notes)
        for stem, fig in figures:
            rep.figures.extend(plots.save_figure(fig, out / "figures" / stem))
            plt.close(fig)
    try:  # the t-SNE map to hover and hear, as one HTML file (asttools.explore)
        rep.explorer = explore(clips, truth=truth, perplexity=perplexity).save(
            out / "explorer.html")
        say(f"wrote the interactive map {rep.explorer} (open it in a browser)")
    except ParameterError as err:  # too few clips for a map, or too many to embed
        rep.notes.append(f"explorer.html skipped: {err}")
    for note in rep.notes[n_notes:]:
        say(f"note: {note}")
    say(f"wrote {len(rep.figures)} figure files to {out / 'figures'} and {len(rep.tables)} "
        f"tables to {out / 'tables'}")
    if rep.random_weights:
        say("!" * 80 + "\n" + banner + "\n" + "!" * 80)
    return rep


def _write_stamped(table: pd.DataFrame, path: Path, info: dict) -> Path:
    """A CSV table whose every row names the model, and says when its weights are random."""
    out = table.copy()
    out.insert(0, "model", info["model"] + (" (random weights)" if info["random_weights"]
                                            else ""))
    out.insert(1, "random_weights", info["random_weights"])
    out.to_csv(path, index=False)
    return path


def _example_clip(clips) -> str:
    """A real recording to show (the bundled samples), a full window long when there is one."""
    durations = dict(zip(clips.table["path"], clips.table["clip_duration_s"], strict=True))
    real = [p for p in durations if "samples" in p]
    full = [p for p in real if durations[p] >= WINDOW_S]
    return (full or real or list(durations))[0]


def _figures(model, result, clips, truth, metrics, per_class, probe_pred, *, pooling,
             perplexity, notes):
    """The demo's figures, one ``(stem, figure)`` each, drawn by the public plot helpers.

    A figure the data cannot support (a t-SNE of three clips) is skipped, with a line
    appended to ``notes``.
    """
    meta = result.meta
    path = _example_clip(clips)
    wav, sr = load_audio(path)
    first = wav[: int(round(WINDOW_S * sr))]
    feats = fbank(first)[0].numpy()
    stem = Path(path).stem

    fig, axes = plt.subplots(2, 1, figsize=(6.3, 4.2), layout="constrained",
                             height_ratios=[1, 2])
    plots.plot_waveform(first, sr=sr, ax=axes[0], title=f"{stem}: waveform")
    plots.plot_fbank(feats[: max(1, n_frames(len(first)))], ax=axes[1],
                     title="128-bin log-mel fbank (normalised)")
    yield "01_waveform_fbank", fig

    fig, ax = plt.subplots(figsize=(6.3, 2.6), layout="constrained")
    plots.plot_patch_grid(feats, values=attention_rollout(attention_maps(model, wav, sr=sr)),
                          ax=ax, values_label="Rollout attention", meta=meta,
                          title="attention rollout of [CLS] over the 12 x 101 patches")
    yield "02_attention_rollout", fig

    top5 = top_k(clips, k=5)
    for i, (p, group) in enumerate(top5.groupby("path", sort=False)):
        if "samples" in p:
            fig, ax = plt.subplots(figsize=(3.1, 2.2), layout="constrained")
            plots.plot_top_k(group.drop(columns=["window"], errors="ignore"), ax=ax,
                             meta=meta, title=Path(p).stem.split("_")[0])
            yield f"03_top5_{i:02d}_{Path(p).stem}", fig

    fig, ax = plt.subplots(figsize=(6.3, 2.6), layout="constrained")
    plots.plot_label_timeline(result.select(longest=1), k=5, ax=ax)  # most windows
    yield "04_label_timeline", fig

    primary = primary_labels(truth, clips.table["path"])
    fig, ax = plt.subplots(figsize=(6.3, 4.0), layout="constrained")
    try:
        plots.plot_embedding_map(clips.embeddings, primary, ax=ax, meta=meta,
                                 perplexity=capped_perplexity(len(primary), perplexity),
                                 title=f"t-SNE of [{pooling}] embeddings")
    except ParameterError as err:  # too few clips for a t-SNE
        plt.close(fig)
        notes.append(f"t-SNE figure skipped: {err}")
    else:
        yield "05_tsne", fig

    # the helper sizes the figure to its rows (0.17 in each, within a page)
    ax = plots.plot_per_class_ap(per_class, meta=meta, title="Average precision per class")
    yield "06_per_class_ap", ax.figure

    y_true, scores, labels = aligned_scores(truth, result)
    if y_true.any():
        # small multiples: one panel per class (the title says how many of how many)
        fig = plots.plot_pr_grid(y_true, scores, labels=labels, meta=meta,
                                 title="Precision-recall per class")
        yield "07_pr_curves", fig

    fig, ax = plt.subplots(figsize=(6.3, 3.0), layout="constrained")
    plots.plot_metrics(metrics, ax=ax, meta=meta,
                       title=f"evaluation against the manifest ({len(clips.table)} clips)")
    yield "09_metrics", fig

    if probe_pred is None:
        return
    fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    plots.plot_confusion_matrix(confusion_matrix(probe_pred["label"], probe_pred["predicted"]),
                                ax=ax, meta=meta,
                                title="linear probe on embeddings: confusion matrix")
    yield "08_probe_confusion", fig
