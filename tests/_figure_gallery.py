"""One figure per plot helper, drawn as a thesis would use it: shared by the figure-check test
and by anyone who wants to look at them (``python tests/_figure_gallery.py OUT_DIR``)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from asttools import plots
from asttools.errors import ASTToolsWarning

RANDOM = {"random_weights": True, "pooling": "cls", "layer": -1}
LONG_NAMES = [
    "Bird vocalization, bird call, bird song", "Beep, bleep", "Female speech, woman speaking",
    "Jazz", "Speech", "Music", "Siren", "Sine wave", "Chirp tone", "White noise", "Pink noise",
    "Clicking", "Narration, monologue", "Orchestra", "Bowed string instrument",
    "Classical music", "Chirp, tweet", "Silence", "Bird",
]  # fmt: skip


def _rng():
    return np.random.default_rng(0)


def waveform():
    t = np.arange(16000 * 3) / 16000
    return plots.plot_waveform(np.sin(2 * np.pi * 3 * t) * np.sin(2 * np.pi * 440 * t),
                               title="beeps_1000hz.wav: waveform")


def fbank():
    return plots.plot_fbank(_rng().normal(size=(1024, 128)), title="128-bin log-mel fbank")


def patch_grid():
    return plots.plot_patch_grid(_rng().normal(size=(1024, 128)), title="AST patch grid")


def attention_rollout():
    rng = _rng()
    fb = np.cumsum(rng.normal(size=(1024, 128)), axis=0) / 30
    values = 0.00061 + 0.00002 * rng.random((12, 101))
    return plots.plot_patch_grid(fb, values=values, values_label="Rollout attention",
                                 meta=RANDOM, title="Attention rollout of [CLS]")


def position_similarity():
    pos = _rng().normal(size=(12 * 101, 8))
    pos /= np.linalg.norm(pos, axis=1, keepdims=True)
    return plots.plot_position_similarity((pos @ pos.T).reshape(12, 101, 12, 101), meta=RANDOM,
                                          title="Position embedding similarity")


def top_k():
    table = pd.DataFrame({
        "item": 0, "path": "data/samples/a_capella_printer_cutlery_boat.wav",
        "label": ["A capella", "Printer", "Cutlery, silverware", "Boat, Water vehicle",
                  "Bird vocalization, bird call, bird song"],
        "probability": [0.62, 0.41, 0.2, 0.11, 0.05],
    })  # fmt: skip
    return plots.plot_top_k(table, meta=RANDOM, truth=["Printer", "Speech"])


def label_timeline():
    rng = _rng()
    starts = np.arange(7) * 10.24
    ends = np.minimum(starts + 10.24, 65.0)
    return plots.plot_label_timeline(rng.random((7, 6)), starts, ends=ends, labels=LONG_NAMES[:6],
                                     k=4, meta=RANDOM, title="clip.wav: labels over time")


def label_timeline_heatmap():
    rng = _rng()
    starts = np.arange(7) * 10.24
    ends = np.minimum(starts + 10.24, 65.0)
    return plots.plot_label_timeline(rng.random((7, 6)), starts, ends=ends, labels=LONG_NAMES[:6],
                                     k=4, kind="heatmap", meta=RANDOM, title="clip.wav")


def embedding_map():
    rng = _rng()
    names = LONG_NAMES[:12]
    centres = rng.normal(scale=5.0, size=(len(names), 32))
    x = np.concatenate([c + rng.normal(size=(8, 32)) for c in centres])
    labels = [name for name in names for _ in range(8)]
    return plots.plot_embedding_map(x, labels, perplexity=10.0, seed=0, meta=RANDOM,
                                    title="t-SNE of [cls] embeddings")


def explained_variance():
    ratio = 0.5 ** np.arange(1, 21)
    return plots.plot_explained_variance(ratio, thresholds=(0.9, 0.99), meta=RANDOM,
                                         title="PCA of [cls] embeddings")


def per_class_ap():
    rng = _rng()
    table = pd.DataFrame({"label": LONG_NAMES, "ap": rng.random(len(LONG_NAMES)),
                          "n_positives": rng.integers(1, 9, len(LONG_NAMES))})
    return plots.plot_per_class_ap(table, meta=RANDOM, title="Average precision per class")


def confusion_matrix():
    rng = _rng()
    labels = LONG_NAMES[:6]
    matrix = rng.integers(0, 5, (6, 6)) + np.diag(rng.integers(5, 12, 6))
    return plots.plot_confusion_matrix(matrix, labels, normalize="true", meta=RANDOM,
                                       title="Linear probe")


def pr_curves():
    rng = _rng()
    y = rng.random((80, 5)) < np.array([0.1, 0.2, 0.3, 0.4, 0.15])
    scores = y * 0.4 + rng.random(y.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        return plots.plot_pr_curves(y, scores, labels=LONG_NAMES[:5], meta=RANDOM,
                                    title="Precision-recall per class")


def metrics():
    def table(shift):
        names = ["mAP", "mAUC", "dprime_ast", "precision_macro", "recall_macro", "f1_macro",
                 "f1_micro", "n_classes_evaluated"]
        value = np.array([0.41, 0.83, 1.4, 0.5, 0.45, 0.47, 0.52, 12]) + shift
        return pd.DataFrame({"metric": names, "value": value, "ci_low": value - 0.05,
                             "ci_high": value + 0.06, "n": 200})
    return plots.plot_metrics({"layer 12, cls": table(0.0), "layer 6, cls": table(-0.1),
                               "layer 12, mean": table(0.05)}, meta=RANDOM,
                              title="Evaluation on ESC-50")


GALLERY = {name: fn for name, fn in list(globals().items())
           if callable(fn) and not name.startswith("_") and fn.__module__ == __name__}


# --------------------------------------------------------------------------- stress gallery
# Every plot helper whose layout depends on the number of classes, at 1, 12, 40 and 100
# classes named by the longest AudioSet names (issue 21). t-SNE runs once, at 40 classes
# (slow); the other maps use PCA, which lays out the same legend.

SCALES = (1, 12, 40, 100)


def longest_names(n: int) -> list[str]:
    """The ``n`` longest AudioSet display names, longest first (repeated names kept apart)."""
    from asttools.labels import audioset_labels

    names = list(dict.fromkeys(map(str, audioset_labels()["display_name"])))
    return sorted(names, key=lambda x: (-len(x), x))[:n]


def _stress_top_k(n):
    names = longest_names(n)
    probs = np.linspace(0.9, 0.02, n)
    table = pd.DataFrame({"item": 0, "path": "recordings/field_2023_06_01.wav",
                          "label": names, "probability": probs})
    return plots.plot_top_k(table, meta=RANDOM, truth=names[:1])


def _stress_top_k_grid(n):
    names = longest_names(max(n, 3))
    rows = []
    for item in range(3):
        chosen = names[item::3][:5] or names[:1]
        rows += [{"item": item, "path": f"clip_{item}.wav", "label": name,
                  "probability": 0.8 - 0.1 * r} for r, name in enumerate(chosen)]
    return plots.plot_top_k_grid(pd.DataFrame(rows), meta=RANDOM).axes[0]


def _stress_timeline(n, kind="lines"):
    rng = _rng()
    windows = 180  # 30 minutes of 10 s windows
    starts = np.arange(windows) * 10.0
    return plots.plot_label_timeline(rng.random((windows, n)) ** 3, starts, ends=starts + 10.24,
                                     labels=longest_names(n), k=min(n, 20 if kind == "heatmap"
                                                                    else 5),
                                     kind=kind, meta=RANDOM, title="30-minute recording")


def _stress_map(n, method="pca", points=None):
    rng = _rng()
    names = longest_names(n)
    points = points or max(40, 8 * n)
    centres = rng.normal(scale=6.0, size=(n, 16))
    which = np.arange(points) % n
    x = centres[which] + rng.normal(size=(points, 16))
    return plots.plot_embedding_map(x, [names[i] for i in which], method=method, meta=RANDOM,
                                    perplexity=30.0, title="Embeddings")


def _stress_per_class_ap(n):
    rng = _rng()
    pos = rng.integers(1, 20, n)
    table = pd.DataFrame({"label": longest_names(n), "ap": rng.random(n),
                          "n_positives": pos, "n_negatives": 400 - pos})
    return plots.plot_per_class_ap(table, meta=RANDOM, title="Average precision per class")


def _stress_confusion(n):
    rng = _rng()
    matrix = rng.poisson(0.3, (n, n)) + np.diag(rng.integers(3, 12, n))
    return plots.plot_confusion_matrix(matrix, longest_names(n), meta=RANDOM,
                                       title="Linear probe")


def _pr_data(n):
    rng = _rng()
    y = rng.random((400, n)) < np.linspace(0.05, 0.3, n)
    y[0] = True  # every class has a positive
    return y, y * 0.5 + rng.random(y.shape)


def _stress_pr_curves(n):
    y, scores = _pr_data(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        return plots.plot_pr_curves(y, scores, labels=longest_names(n), meta=RANDOM)


def _stress_pr_grid(n):
    y, scores = _pr_data(n)
    return plots.plot_pr_grid(y, scores, labels=longest_names(n), meta=RANDOM,
                              title="Precision-recall per class").axes[0]


STRESS_HELPERS = {
    "top_k": _stress_top_k, "top_k_grid": _stress_top_k_grid,
    "timeline_lines": _stress_timeline,
    "timeline_heatmap": lambda n: _stress_timeline(n, kind="heatmap"),
    "embedding_map": _stress_map, "per_class_ap": _stress_per_class_ap,
    "confusion_matrix": _stress_confusion, "pr_curves": _stress_pr_curves,
    "pr_grid": _stress_pr_grid,
}  # fmt: skip
STRESS = {f"{name}_{n}": (lambda fn=fn, n=n: fn(n))
          for name, fn in STRESS_HELPERS.items() for n in SCALES}
STRESS["tsne_40_classes_2000_points"] = lambda: _stress_map(40, method="tsne", points=2000)
SLOW_STRESS = {name for name in STRESS if not name.endswith(("_1", "_12"))}
"""The 40- and 100-class figures and the t-SNE (2-10 s each): marked slow in the tests; the
1- and 12-class ones (about 45 s together) run in every test run."""


def write_gallery(out: Path, names=None, *, dpi: int = 110) -> list[str]:
    """Draw the gallery and the stress gallery into ``out`` as PNGs (through the figure
    check, which raises); return the names written."""
    import matplotlib
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []
    figures = {**GALLERY, **{f"stress_{k}": v for k, v in STRESS.items()}}
    with matplotlib.rc_context(plots.theme_rc()):
        for name, fn in figures.items():
            if names and name not in names:
                continue
            ax = fn()
            plots.save_figure(ax, out / name, formats=("png",), dpi=dpi, check="raise")
            plt.close(ax.figure)
            written.append(name)
    return written


if __name__ == "__main__":
    # python tests/_figure_gallery.py [OUT_DIR] [NAME ...]: every figure, checked, as PNGs
    import matplotlib

    matplotlib.use("Agg")
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/figures/gallery")
    for name in write_gallery(target, sys.argv[2:] or None):
        print(target / f"{name}.png")
