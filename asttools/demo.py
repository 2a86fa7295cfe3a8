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
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ASTToolsWarning, ModelLoadError, ParameterError

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
    """The bundled example dataset's manifest, ``data/example/manifest.csv``.

    Looked for under the working directory first (a clone's root), then beside the
    installed package (an editable install of a clone).

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        When neither place has it; pass the data path explicitly then.
    """
    candidates = [
        Path.cwd() / "data" / "example" / "manifest.csv",
        Path(__file__).resolve().parent.parent / "data" / "example" / "manifest.csv",
    ]
    for c in candidates:
        if c.is_file():
            return c
    raise ParameterError(
        "the bundled example data (data/example/manifest.csv) was not found in the working "
        f"directory or beside the package ({', '.join(str(c) for c in candidates)}); run from "
        "a clone of asttools or pass the data path (a folder or a manifest CSV)"
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
    from .model import TINY_RANDOM, load_model

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
    from .model import model_info

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
    """What :func:`run_demo` did: the files it wrote and the headline numbers."""

    out_dir: Path
    model: str
    random_weights: bool
    fallback_reason: str | None
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    metrics: pd.DataFrame | None = None
    n_clips: int = 0
    n_errors: int = 0


def _stamp(table: pd.DataFrame, model: str, random_weights: bool) -> pd.DataFrame:
    out = table.copy()
    out.insert(0, "model", model + (" (random weights)" if random_weights else ""))
    out.insert(1, "random_weights", random_weights)
    return out


def run_demo(
    out_dir: str | os.PathLike = "demo_out",
    *,
    data: str | os.PathLike | None = None,
    model=None,
    device: str = "auto",
    pooling: str = "cls",
    perplexity: float = 10.0,
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> DemoReport:
    """Run the notebooks' pipeline end to end and write figures and tables.

    Parameters
    ----------
    out_dir : str or PathLike, default "demo_out"
        Where to write ``figures/*.pdf|png``, ``tables/*.csv`` and the embedding store
        ``embeddings.parquet``.
    data : str or PathLike, optional
        A manifest CSV (``path`` and ``label`` columns) or a folder of class folders;
        default: the bundled example data (:func:`example_data`).
    model : model, str or None
        A loaded model, a name/path, or None (``$ASTTOOLS_MODEL`` or the default
        checkpoint). A name that cannot be loaded falls back to ``tiny-random`` — loudly.
    device : str, default "auto"
    pooling : str, default "cls"
    perplexity : float, default 10.0
        t-SNE perplexity (the example data has 28 clips).
    progress : bool, default True
        Progress bar during extraction.
    report : callable, optional
        Called with one line of text per step (the CLI passes ``print``).

    Returns
    -------
    DemoReport
    """
    import matplotlib.pyplot as plt

    from . import plots
    from .attention import attention_maps, attention_rollout
    from .audio import load_audio
    from .constants import WINDOW_S
    from .datasets import read_ground_truth
    from .features import fbank, n_frames
    from .mapping import map_labels
    from .metrics import (
        aligned_scores,
        confusion_matrix,
        evaluate,
        linear_probe,
        per_class_metrics,
    )
    from .model import model_info
    from .result import top_k
    from .store import extract

    say = report or (lambda line: None)
    out = Path(out_dir)
    fig_dir, tab_dir = out / "figures", out / "tables"
    fig_dir.mkdir(parents=True, exist_ok=True)
    tab_dir.mkdir(parents=True, exist_ok=True)

    fallback = None
    if model is None or isinstance(model, (str, os.PathLike)):
        say("loading the model ...")
        model, fallback = load_model_or_fallback(model, device=device)
    info = model_info(model)
    random_weights = info["random_weights"]
    name = info["model"]
    if fallback:
        say(f"could not load the real weights: {fallback}")
    banner = FALLBACK_BANNER if fallback else RANDOM_BANNER.format(model=name)
    if random_weights:
        say("!" * 80 + "\n" + banner + "\n" + "!" * 80)
    rep = DemoReport(out, name, random_weights, fallback)

    def title(text: str) -> str:
        return plots.random_weights_title(text, random_weights=random_weights)

    def save(fig, stem: str, **kwargs) -> None:
        rep.figures.extend(plots.save_figure(fig, fig_dir / stem, **kwargs))
        plt.close(fig)

    def write(table: pd.DataFrame, stem: str) -> None:
        path = tab_dir / f"{stem}.csv"
        _stamp(table, name, random_weights).to_csv(path, index=False)
        rep.tables.append(path)

    manifest = Path(data) if data is not None else example_data()
    truth = read_ground_truth(manifest)
    say(f"data: {manifest} ({len(truth)} clips with ground truth)")

    # 1. embeddings + probabilities, one pass, into a resumable store
    say(f"extracting embeddings and probabilities into {out / 'embeddings.parquet'} ...")
    result = extract(manifest, out / "embeddings.parquet", model=model, pooling=pooling,
                     progress=progress)
    clips = result.clips(probs="mean")
    rep.n_clips, rep.n_errors = len(clips), len(result.errors)
    if len(result.errors):
        write(result.errors, "errors")

    # 2. predictions
    predictions = top_k(clips, k=5)
    write(predictions, "top5_per_clip")
    write(top_k(result, k=3), "top3_per_window")

    # 3. label mapping, evaluation, per-class AP, linear probe
    names = sorted({label for labels in truth["labels"] for label in labels})
    write(map_labels(names), "label_mapping")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        metrics = evaluate(truth, result, n_boot=200)
        per_class = per_class_metrics(truth, result)
        probe, probe_pred = linear_probe(result, truth, multilabel="first",
                                         return_predictions=True)
    rep.metrics = metrics
    write(metrics, "metrics")
    write(per_class, "per_class")
    write(probe, "linear_probe")

    # 4. figures
    plots.set_theme()
    durations = clips.table.set_index("path")["clip_duration_s"]
    real = [p for p in truth["path"] if "samples" in p and p in durations.index]
    full = [p for p in real if durations[p] >= 10.24]
    clip_path = (full or real or list(durations.index))[0]
    wav, sr = load_audio(clip_path)
    first_window = wav[: int(round(WINDOW_S * sr))]
    feats = fbank(first_window)[0].numpy()  # fbank refuses more than one window of audio
    n_valid = max(1, min(len(feats), n_frames(len(first_window))))
    stem = Path(clip_path).stem

    fig, axes = plt.subplots(2, 1, figsize=(6.3, 4.2), layout="constrained",
                             height_ratios=[1, 2])
    plots.plot_waveform(first_window, sr=sr, ax=axes[0], title=title(f"{stem}: waveform"))
    plots.plot_fbank(feats[:n_valid], ax=axes[1], title="128-bin log-mel fbank (normalised)")
    save(fig, "01_waveform_fbank")

    attn = attention_maps(model, wav, sr=sr)
    fig, ax = plt.subplots(figsize=(6.3, 2.6), layout="constrained")
    plots.plot_patch_grid(feats, values=attention_rollout(attn), ax=ax,
                          values_label="Rollout attention",
                          title=title("attention rollout of [CLS] over the 12 x 101 patches"))
    save(fig, "02_attention_rollout")

    for i, (path, group) in enumerate(predictions.groupby("path", sort=False)):
        if "samples" not in path:
            continue
        fig, ax = plt.subplots(figsize=(3.1, 2.2), layout="constrained")
        plots.plot_top_k(group.drop(columns=["window"], errors="ignore"), ax=ax,
                         title=title(Path(path).stem.split("_")[0]))
        save(fig, f"03_top5_{i:02d}_{Path(path).stem}")

    longest = result.table.groupby("path")["window"].count().idxmax()
    rows = (result.table["path"] == longest).to_numpy()
    fig, ax = plt.subplots(figsize=(6.3, 2.6), layout="constrained")
    plots.plot_label_timeline(result.probs[rows], result.table.loc[rows, "start_s"].to_numpy(),
                              ends=result.table.loc[rows, "end_s"].to_numpy(),
                              labels=result.labels, k=5, ax=ax,
                              title=title(f"{Path(longest).stem}: labels over time"))
    save(fig, "04_label_timeline")

    joined = clips.table[["path"]].merge(truth[["path", "labels"]], on="path", how="left")
    primary = [labels[0] if isinstance(labels, tuple) and labels else "?"
               for labels in joined["labels"]]
    fig, ax = plt.subplots(figsize=(6.3, 4.0), layout="constrained")
    perplexity = min(perplexity, max(1.0, (len(primary) - 1) / 3))
    plots.plot_embedding_map(clips.embeddings, primary, perplexity=perplexity, ax=ax,
                             title=title(f"t-SNE of [{pooling}] embeddings"))
    save(fig, "05_tsne")

    fig, ax = plt.subplots(figsize=(6.3, 3.2), layout="constrained")
    plots.plot_per_class_ap(per_class, ax=ax, title=title("average precision per class"))
    save(fig, "06_per_class_ap")

    y_true, scores, labels = aligned_scores(truth, result)
    shown = [j for j in np.argsort(-y_true.sum(axis=0), kind="stable")[:10] if y_true[:, j].any()]
    if shown:
        fig, ax = plt.subplots(figsize=(6.3, 3.4), layout="constrained")
        plots.plot_pr_curves(y_true[:, shown], scores[:, shown],
                             labels=[labels[j] for j in shown], ax=ax,
                             title=title("precision-recall per class"))
        save(fig, "07_pr_curves")

    cm = confusion_matrix(probe_pred["label"], probe_pred["predicted"])
    fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    plots.plot_confusion_matrix(cm, ax=ax,
                                title=title("linear probe on embeddings: confusion matrix"))
    save(fig, "08_probe_confusion")

    say(f"wrote {len(rep.figures)} figure files to {fig_dir} and {len(rep.tables)} tables "
        f"to {tab_dir}")
    if random_weights:
        say("!" * 80 + "\n" + banner + "\n" + "!" * 80)
    return rep
