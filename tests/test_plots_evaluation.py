"""Evaluation figures: per-class AP, confusion matrix, PR curves, metric names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from figure_fixtures import own_ax
from matplotlib.axes import Axes

from asttools import plots
from asttools.analysis.metrics import pr_curves
from asttools.errors import ASTToolsWarning, ParameterError


def test_plot_per_class_ap():
    per_class = pd.DataFrame(
        {
            "label": ["Speech", "Music", "Dog", "Siren"],
            "ap": [0.4, 0.9, np.nan, 0.7],
            "n_positives": [3, 5, 0, 2],
        }
    )
    ax = plots.plot_per_class_ap(per_class)
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Music", "Siren", "Speech"]
    assert ax.get_legend().get_texts()[0].get_text() == "mAP 0.667"
    own = own_ax()
    assert plots.plot_per_class_ap(per_class, ax=own, top=2) is own
    assert len(own.get_yticklabels()) == 2
    flagged = per_class.assign(evaluated=[True, True, False, False])
    ax = plots.plot_per_class_ap(flagged)
    assert ax.get_legend().get_texts()[0].get_text() == "mAP 0.650"  # Speech and Music only


@pytest.mark.parametrize("normalize", [False, True])
def test_plot_confusion_matrix(normalize):
    labels = ["Sine wave", "White noise", "Siren"]
    matrix = np.array([[5, 1, 0], [0, 6, 0], [2, 0, 3]])
    ax = plots.plot_confusion_matrix(matrix, labels, normalize=normalize)
    assert isinstance(ax, Axes)
    texts = [t.get_text() for t in ax.texts]
    assert texts[:2] == (["0.83", "0.17"] if normalize else ["5", "1"])
    own = own_ax()
    frame = pd.DataFrame(matrix, index=labels, columns=labels)
    assert plots.plot_confusion_matrix(frame, ax=own) is own
    assert [t.get_text() for t in own.get_yticklabels()] == labels
    with pytest.raises(ParameterError, match="must be square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)))


def test_plot_pr_curves(rng):
    y = np.zeros((40, 4), dtype=int)
    y[:10, 0] = 1
    y[5:25, 1] = 1
    y[30:, 3] = 1  # class 2 has no positives
    scores = y + rng.random(y.shape)
    labels = ["Speech", "Music", "Dog", "Siren"]
    ax = plots.plot_pr_curves(y, scores, labels=labels)
    assert isinstance(ax, Axes)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Music (AP 1.00, 20 pos.)", "Speech (AP 1.00, 10 pos.)",
                      "Siren (AP 1.00, 10 pos.)", "Prevalence (chance), 40 clips"]
    prevalence = [line.get_ydata()[0] for line in ax.get_lines()
                  if line.get_label() == "_prevalence"]
    assert prevalence == [0.5, 0.25, 0.25]
    own = own_ax()
    with pytest.warns(ASTToolsWarning, match=r"no positives: \['Dog'\]"):
        assert plots.plot_pr_curves(y, scores, labels=labels, classes=["Dog", 0], ax=own) is own
    curves = [line for line in own.get_lines() if not line.get_label().startswith("_")]
    assert len(curves) == 2  # Speech's curve and the prevalence legend entry
    with pytest.raises(ParameterError, match="'Cat' is not one of labels"):
        plots.plot_pr_curves(y, scores, labels=labels, classes=["Cat"])


def test_plot_pr_curves_draws_what_metrics_computes(rng):
    y = (rng.random((50, 3)) < 0.4).astype(int)
    scores = np.round(rng.random((50, 3)) + 0.2 * y, 1)
    labels = ["Speech", "Music", "Dog"]
    curves = pr_curves(y, scores, labels=labels)
    ax = plots.plot_pr_curves(y, scores, labels=labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    drawn = [line for line in ax.get_lines() if line.get_label() != "_prevalence"]
    for line, text in zip(drawn[:-1], legend[:-1], strict=True):
        name = text.split(" (AP ")[0]
        curve = curves[curves["label"] == name]
        n_pos = int(y[:, labels.index(name)].sum())
        assert text == f"{name} (AP {curve['ap'].iloc[0]:.2f}, {n_pos} pos.)"
        np.testing.assert_array_equal(line.get_xdata(), curve["recall"])
        np.testing.assert_array_equal(line.get_ydata(), curve["precision"])


def test_metric_names_read_as_words():
    from asttools.plots._evaluation import metric_name

    assert metric_name("precision_macro") == "Precision (macro)"
    assert metric_name("f1_micro") == "F1 (micro)"
    assert metric_name("mAUC") == "mean ROC AUC"
    assert metric_name("dprime_ast") == "d\u2032 (AST)"
    table = pd.DataFrame({"metric": ["mAP", "recall_macro"], "value": [0.4, 0.5],
                          "ci_low": [0.3, 0.4], "ci_high": [0.5, 0.6], "n": 10})
    ax = plots.plot_metrics(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mAP", "Recall (macro)"]
