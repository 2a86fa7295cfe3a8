"""Metrics checked against scikit-learn and scipy; bootstrap, probe, joins and mapping."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from result_fixtures import window_result
from scipy.stats import norm
from sklearn import metrics as skm

import asttools
from asttools.analysis.metrics import (
    ProbeResult,
    aligned_scores,
    bootstrap_ci,
    compare_probes,
    confusion_matrix,
    dprime,
    evaluate,
    linear_probe,
    per_class_metrics,
    pr_curves,
    top_k_table,
)
from asttools.analysis.metrics._kernels import _Ranked
from asttools.errors import ASTToolsWarning, ParameterError
from asttools.labels import audioset_labels, lookup_label
from asttools.labels.mapping import esc50_mapping
from asttools.run.result import top_k

N_BOOT = 200


def _value(table: pd.DataFrame, metric: str) -> float:
    return float(table.set_index("metric").loc[metric, "value"])


def _row(table: pd.DataFrame, metric: str) -> pd.Series:
    return table.set_index("metric").loc[metric]


@dataclass
class FakeResult:
    """Duck-typed EmbeddingResult: one row per window, clips() averages them."""

    table: pd.DataFrame
    probs: np.ndarray
    embeddings: np.ndarray
    meta: dict = field(default_factory=dict)

    def clips(self, *, aggregate: str = "mean") -> FakeResult:
        codes, uniques = pd.factorize(self.table["item"], sort=False)
        agg = np.mean if aggregate == "mean" else np.max
        p = np.stack([agg(self.probs[codes == i], axis=0) for i in range(len(uniques))])
        e = np.stack([self.embeddings[codes == i].mean(axis=0) for i in range(len(uniques))])
        table = self.table.groupby(codes, sort=True).first().reset_index(drop=True)
        return FakeResult(table, p.astype(np.float32), e.astype(np.float32), dict(self.meta))


def _windows(paths: list[str], probs: np.ndarray, *, n_windows: int = 2,
             random_weights: bool = False, dim: int = 4) -> FakeResult:
    """Each clip's probs split over n_windows rows whose mean is the clip's probs."""
    rows, p = [], []
    for i, path in enumerate(paths):
        for w in range(n_windows):
            rows.append({"item": i, "path": path, "window": w, "start_s": 10.0 * w,
                         "end_s": 10.0 * w + 10})
            shift = 0.05 * (1 if w % 2 else -1) if n_windows > 1 else 0.0
            p.append(np.clip(probs[i] + shift, 0, 1))
    p = np.asarray(p, dtype=np.float32)
    if n_windows == 2:  # keep the mean exact where clipping did not bite
        p[1::2] = 2 * probs - p[0::2]
    emb = np.random.default_rng(0).normal(size=(len(rows), dim)).astype(np.float32)
    return FakeResult(pd.DataFrame(rows), p, emb, {"random_weights": random_weights})


@pytest.fixture
def multilabel(rng):
    """80 clips x 6 classes: class 4 has no positives, class 5 only positives."""
    n, c = 80, 6
    y = (rng.random((n, c)) < [0.3, 0.5, 0.1, 0.2, 0.0, 1.0]).astype(np.uint8)
    s = np.clip(0.35 * y + rng.random((n, c)) * 0.8, 0, 1)
    return y, s


# --- d' -------------------------------------------------------------------------------------


def test_dprime_matches_scipy():
    auc = np.array([0.5, 0.6, 0.75, 0.9, 0.99, 0.3])
    np.testing.assert_allclose(dprime(auc), np.sqrt(2) * norm.ppf(auc), rtol=1e-12)
    assert dprime(1.0) == np.inf and dprime(0.5) == 0.0


# --- multi-label against scikit-learn -----------------------------------------------------


def test_multilabel_metrics_match_sklearn(multilabel):
    y, s = multilabel
    table = evaluate(y, s, n_boot=0)
    has_pos = y.sum(0) > 0
    has_both = has_pos & (y.sum(0) < len(y))
    ap = [skm.average_precision_score(y[:, j], s[:, j]) for j in np.flatnonzero(has_pos)]
    auc = [skm.roc_auc_score(y[:, j], s[:, j]) for j in np.flatnonzero(has_both)]
    assert _value(table, "mAP") == pytest.approx(np.mean(ap), abs=1e-12)
    assert _value(table, "mAUC") == pytest.approx(np.mean(auc), abs=1e-12)
    assert _value(table, "dprime_ast") == pytest.approx(
        np.sqrt(2) * norm.ppf(np.mean(auc)), abs=1e-12)
    assert _value(table, "dprime_hear") == pytest.approx(
        np.mean(np.sqrt(2) * norm.ppf(auc)), abs=1e-12)
    assert _value(table, "dprime_ast") != pytest.approx(_value(table, "dprime_hear"))
    pred = (s >= 0.5).astype(int)
    macro = skm.precision_recall_fscore_support(
        y, pred, labels=np.flatnonzero(has_pos), average="macro", zero_division=0)
    micro = skm.precision_recall_fscore_support(y, pred, average="micro", zero_division=0)
    for metric, want in zip(("precision_macro", "recall_macro", "f1_macro"), macro[:3],
                            strict=True):
        assert _value(table, metric) == pytest.approx(want, abs=1e-12), metric
    for metric, want in zip(("precision_micro", "recall_micro", "f1_micro"), micro[:3],
                            strict=True):
        assert _value(table, metric) == pytest.approx(want, abs=1e-12), metric
    assert table.attrs["counts"]["n_classes_evaluated"] == 5
    assert table.attrs["counts"]["n_classes_skipped"] == 1
    assert _row(table, "mAP")["n_classes"] == 5
    assert _row(table, "mAUC")["n_classes"] == 4
    assert "1 classes skipped" in _row(table, "mAP")["note"]
    assert table.attrs["skipped_classes"] == ["4"]
    assert list(table.columns) == ["metric", "value", "ci_low", "ci_high", "n", "n_classes",
                                   "note"]


def test_per_class_metrics_match_sklearn(multilabel):
    y, s = multilabel
    table = per_class_metrics(y, s, classes=list("abcdef"))
    assert list(table["label"]) == list("abcdef")
    assert table["n_positives"].tolist() == y.sum(0).tolist()
    for j in range(5):
        if y[:, j].any():
            assert table["ap"][j] == pytest.approx(
                skm.average_precision_score(y[:, j], s[:, j]), abs=1e-12)
            assert table["auc"][j] == pytest.approx(skm.roc_auc_score(y[:, j], s[:, j]),
                                                    abs=1e-12)
    p, r, f, _ = skm.precision_recall_fscore_support(y, (s >= 0.5).astype(int),
                                                     average=None, zero_division=0)
    np.testing.assert_allclose(table["precision"], p, atol=1e-12)
    np.testing.assert_allclose(table["recall"], r, atol=1e-12)
    np.testing.assert_allclose(table["f1"], f, atol=1e-12)
    # class e has no positives: AP and AUC undefined, not 0
    assert np.isnan(table["ap"][4]) and np.isnan(table["auc"][4])
    assert not table["evaluated"][4]
    # class f has only positives: AP is 1, AUC undefined
    assert table["ap"][5] == 1.0 and np.isnan(table["auc"][5])
    np.testing.assert_allclose(table["dprime"], np.sqrt(2) * norm.ppf(table["auc"]))


def test_ties_in_scores_match_sklearn(rng):
    y = (rng.random((60, 4)) < 0.4).astype(np.uint8)
    s = np.round(rng.random((60, 4)), 1)  # many ties
    table = per_class_metrics(y, s)
    for j in range(4):
        assert table["ap"][j] == pytest.approx(skm.average_precision_score(y[:, j], s[:, j]),
                                               abs=1e-12)
        assert table["auc"][j] == pytest.approx(skm.roc_auc_score(y[:, j], s[:, j]),
                                                abs=1e-12)
    constant = per_class_metrics(y, np.zeros_like(s))
    assert constant["auc"].tolist() == [0.5] * 4
    np.testing.assert_allclose(constant["ap"], y.mean(0))


def test_perfect_scores_and_single_class():
    y = np.array([[1], [0], [1], [0], [0]])
    s = np.array([[0.9], [0.1], [0.8], [0.2], [0.3]])
    table = evaluate(y, s, n_boot=N_BOOT)
    assert _value(table, "mAP") == 1.0 and _value(table, "mAUC") == 1.0
    assert _value(table, "dprime_ast") == np.inf and _value(table, "dprime_hear") == np.inf
    assert "infinite" in _row(table, "dprime_ast")["note"]
    assert _row(table, "mAP")["ci_low"] == 1.0
    assert _value(table, "f1_micro") == 1.0


def test_weighted_ranks_equal_recomputing_on_resampled_rows(rng):
    """The bootstrap's shortcut (clip multiplicities, no re-sort) equals a real resample."""
    for _ in range(25):
        n, c = int(rng.integers(2, 40)), int(rng.integers(1, 5))
        y = (rng.random((n, c)) < 0.3).astype(np.uint8)
        s = np.round(rng.random((n, c)), 1)
        idx = rng.integers(0, n, n)
        w = np.bincount(idx, minlength=n).astype(float)
        ap_w, auc_w, _, _ = _Ranked(y, s).stats(w)
        for j in range(c):
            yj, sj = y[idx, j], s[idx, j]
            if yj.any():
                assert ap_w[j] == pytest.approx(skm.average_precision_score(yj, sj))
            else:
                assert np.isnan(ap_w[j])
            if 0 < yj.sum() < n:
                assert auc_w[j] == pytest.approx(skm.roc_auc_score(yj, sj))
            else:
                assert np.isnan(auc_w[j])


# --- single-label ---------------------------------------------------------------------------


@pytest.fixture
def multiclass(rng):
    n, c = 90, 7
    y = rng.integers(0, c, n)
    s = rng.random((n, c))
    s[np.arange(n), y] += 0.4 * rng.random(n)
    return y, s


def test_multiclass_metrics_match_sklearn(multiclass):
    y, s = multiclass
    table = evaluate(y, s, k=3, n_boot=0)
    assert table.attrs["task"] == "multiclass"
    assert _value(table, "accuracy") == pytest.approx(skm.accuracy_score(y, s.argmax(1)))
    assert _value(table, "top3_accuracy") == pytest.approx(
        skm.top_k_accuracy_score(y, s, k=3, labels=np.arange(7)))
    assert _value(table, "f1_macro") == pytest.approx(
        skm.f1_score(y, s.argmax(1), labels=np.unique(y), average="macro", zero_division=0))
    onehot = np.eye(7, dtype=int)[y]
    assert _value(table, "mAP") == pytest.approx(np.mean(
        [skm.average_precision_score(onehot[:, j], s[:, j]) for j in range(7)]))
    assert _value(table, "mAUC") == pytest.approx(np.mean(
        [skm.roc_auc_score(onehot[:, j], s[:, j]) for j in range(7)]))


def test_top_k_ties_go_to_the_class_listed_first():
    s = np.array([[0.5, 0.5, 0.5], [0.2, 0.9, 0.9]])
    y = np.array([1, 2])
    table = evaluate(y, s, k=1, n_boot=0)
    assert _value(table, "accuracy") == 0.0  # argmax picks class 0, then class 1
    assert _value(table, "top1_accuracy") == 0.0
    assert _value(evaluate(y, s, k=2, n_boot=0), "top2_accuracy") == 1.0


def test_confusion_matrix_matches_sklearn(multiclass):
    y, s = multiclass
    names = np.array(list("abcdefg"))
    got = confusion_matrix(names[y], names[s.argmax(1)])
    want = skm.confusion_matrix(names[y], names[s.argmax(1)], labels=list("abcdefg"))
    np.testing.assert_array_equal(got.to_numpy(), want)
    assert list(got.index) == list("abcdefg") and got.index.name == "true"
    assert got.columns.name == "predicted"
    from_scores = confusion_matrix(y, s, labels=list("abcdefg"))
    np.testing.assert_array_equal(from_scores.to_numpy(), want)
    norm_true = confusion_matrix(names[y], names[s.argmax(1)], normalize="true")
    np.testing.assert_allclose(norm_true.to_numpy(), skm.confusion_matrix(
        names[y], names[s.argmax(1)], labels=list("abcdefg"), normalize="true"))
    with pytest.raises(ParameterError, match=r"normalize='rows' is not one of"):
        confusion_matrix(names[y], names[y], normalize="rows")


# --- bootstrap ------------------------------------------------------------------------------


def test_bootstrap_ci_contains_estimate_and_is_reproducible(multilabel, multiclass):
    y, s = multilabel
    a = evaluate(y, s, n_boot=N_BOOT, seed=3)
    b = evaluate(y, s, n_boot=N_BOOT, seed=3)
    c = evaluate(y, s, n_boot=N_BOOT, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"].iloc[:10], c["ci_low"].iloc[:10])
    head = a.iloc[:10]
    assert (head["ci_low"] <= head["value"]).all() and (head["value"] <= head["ci_high"]).all()
    assert (head["ci_low"] < head["ci_high"]).all()
    yc, sc = multiclass
    t = evaluate(yc, sc, n_boot=N_BOOT)
    acc = _row(t, "accuracy")
    assert acc["ci_low"] <= acc["value"] <= acc["ci_high"]
    assert evaluate(y, s, n_boot=0)["ci_low"].isna().all()


def test_bootstrap_counts_undefined_resamples():
    y = np.array([[1]] + [[0]] * 9)  # one positive clip: often absent from a resample
    s = np.linspace(1, 0, 10)[:, None]
    table = evaluate(y, s, n_boot=N_BOOT)
    note = _row(table, "mAP")["note"]
    assert "undefined" in note and f"of {N_BOOT} resamples" in note


@pytest.mark.slow  # 6.0 s on the loaded 2-core machine (issue 19)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_bootstrap_ci_generic_against_sklearn(multilabel):
    y, s = multilabel
    low, high, used, skipped = bootstrap_ci(skm.roc_auc_score, y[:, 2], s[:, 2],
                                            n_boot=N_BOOT, seed=1)
    point = skm.roc_auc_score(y[:, 2], s[:, 2])
    assert low <= point <= high
    assert used + skipped == N_BOOT
    assert bootstrap_ci(skm.roc_auc_score, y[:, 2], s[:, 2], n_boot=N_BOOT, seed=1) == (
        low, high, used, skipped)
    # one positive in 80 clips: some resamples lack it, roc_auc_score raises, counted
    one = np.zeros(80, dtype=int)
    one[0] = 1
    result = bootstrap_ci(skm.roc_auc_score, one, s[:, 0], n_boot=N_BOOT)
    assert result.n_skipped > 0
    with pytest.raises(ParameterError, match="different lengths"):
        bootstrap_ci(np.mean, np.zeros(3), np.zeros(4))
    with pytest.raises(ParameterError, match=r"n_boot must be an integer >= 0.*-1"):
        bootstrap_ci(np.mean, np.zeros(3), n_boot=-1)


# --- joins, mapping, results --------------------------------------------------------------


def _esc50_truth(tmp_path: Path, categories: list[str]) -> pd.DataFrame:
    paths = [str((tmp_path / f"{i}-{c}.wav").resolve()) for i, c in enumerate(categories)]
    return pd.DataFrame({"path": paths, "labels": [(c,) for c in categories],
                         "mids": [()] * len(paths), "fold": [i % 5 + 1 for i in
                                                              range(len(paths))]})


def test_evaluate_joins_a_result_on_path_and_maps_esc50(tmp_path, rng):
    categories = ["dog", "rain", "car_horn", "hen", "washing_machine", "dog"]
    truth = _esc50_truth(tmp_path, categories)
    index = esc50_mapping().set_index("category")["index"]
    probs = rng.random((len(truth) + 1, 527)).astype(np.float32) * 0.3
    for i, c in enumerate(categories):
        probs[i, index[c]] = 0.9
    paths = [*truth["path"], str(tmp_path / "not-in-truth.wav")]
    result = _windows(paths[1:] + paths[:1], np.r_[probs[1:], probs[:1]])  # shuffled
    with pytest.warns(ASTToolsWarning, match="1 clips in the predictions have no ground "
                                             "truth"):
        table = evaluate(truth, result, n_boot=N_BOOT)
    assert table.attrs["task"] == "multiclass"
    assert _value(table, "accuracy") == 1.0
    assert _row(table, "accuracy")["n"] == 6
    assert _row(table, "accuracy")["n_classes"] == 5
    with pytest.warns(ASTToolsWarning, match="no ground truth"):
        per = per_class_metrics(truth, result)
    assert list(per["label"]) == sorted(set(categories))
    assert set(per["match"]) == {"esc50"}
    assert per.set_index("label").loc["car_horn", "mid"] == "/m/0912c9"
    with pytest.warns(ASTToolsWarning, match="no ground truth"):
        cm = confusion_matrix(truth, result)
    assert np.trace(cm.to_numpy()) == 6 and cm.loc["dog", "dog"] == 2


def test_truth_rows_without_predictions_warn(tmp_path, rng):
    truth = _esc50_truth(tmp_path, ["dog", "rain", "dog"])
    result = _windows(list(truth["path"][:2]), rng.random((2, 527)).astype(np.float32))
    with pytest.warns(ASTToolsWarning, match="1 clips of the truth table have no "
                                             "predictions"):
        table = evaluate(truth, result, n_boot=0)
    assert _row(table, "accuracy")["n"] == 2


def test_multilabel_manifest_with_unmapped_label(tmp_path, rng):
    paths = [str(tmp_path / f"{i}.wav") for i in range(8)]
    labels = [("Dog", "Speech"), ("Speech",), ("Dog", "my odd tag"), (), ("Speech",),
              ("Dog",), ("my odd tag",), ()]
    truth = pd.DataFrame({"path": paths, "labels": labels, "mids": [()] * 8})
    probs = rng.random((8, 527)).astype(np.float32)
    result = _windows(paths, probs, n_windows=1)
    with pytest.warns(ASTToolsWarning, match=r"1 of 3 classes map to no model output.*"
                                             r"'my odd tag'"):
        table = evaluate(truth, result, n_boot=0)
    assert table.attrs["task"] == "multilabel"
    assert table.attrs["unmapped"] == ["my odd tag"]
    assert table.attrs["counts"]["n_classes_unmapped"] == 1
    cols = [int(lookup_label(n)["index"]) for n in ("Dog", "Speech")]
    y = np.array([[("Dog" in r), ("Speech" in r)] for r in labels], dtype=int)
    want = np.mean([skm.average_precision_score(y[:, j], probs[:, cols[j]]) for j in range(2)])
    assert _value(table, "mAP") == pytest.approx(want, rel=1e-6)


def test_audioset_truth_uses_mids_and_classes(tmp_path, rng):
    paths = [str(tmp_path / f"{i}.wav") for i in range(6)]
    mids = [("/m/09x0r",), ("/m/0bt9lr", "/m/09x0r"), ("/m/0bt9lr",), (), ("/m/09x0r",),
            ("/m/0bt9lr",)]
    truth = pd.DataFrame({"path": paths, "labels": [("x",) * len(m) for m in mids],
                          "mids": mids})
    probs = rng.random((6, 527)).astype(np.float32)
    table = evaluate(truth, _windows(paths, probs, n_windows=1), n_boot=0,
                     classes=["Speech", "Dog", "Cat"])
    assert table.attrs["classes"] == ["Speech", "Dog", "Cat"]
    assert table.attrs["counts"]["n_classes_skipped"] == 1
    assert table.attrs["skipped_classes"] == ["Cat"]


def test_roll_up_scores_ancestors_from_descendants(tmp_path):
    paths = [str(tmp_path / f"{i}.wav") for i in range(4)]
    truth = pd.DataFrame({"path": paths, "labels": [("Dog",), ("Cat",), ("Dog",), ("Cat",)]})
    probs = np.full((4, 527), 0.1, dtype=np.float32)
    bark, meow = int(lookup_label("Bark")["index"]), int(lookup_label("Meow")["index"])
    probs[[0, 2], bark] = 0.95  # only the child fires
    probs[[1, 3], meow] = 0.95
    probs[:, int(lookup_label("Cat")["index"])] = 0.5  # the parent unit says "cat" always
    result = _windows(paths, probs, n_windows=1)
    plain = evaluate(truth, result, n_boot=0)
    rolled = evaluate(truth, result, n_boot=0, roll_up=True)
    assert _value(plain, "accuracy") == 0.5  # only the cat clips are right
    assert _value(rolled, "accuracy") == 1.0


def test_random_weights_are_flagged(tmp_path, rng):
    truth = _esc50_truth(tmp_path, ["dog", "rain"])
    result = _windows(list(truth["path"]), rng.random((2, 527)).astype(np.float32),
                      random_weights=True)
    with pytest.warns(ASTToolsWarning, match="random weights"):
        table = evaluate(truth, result, n_boot=0)
    assert table.attrs["random_weights"]
    assert table["note"].str.startswith("RANDOM WEIGHTS").all()


def test_evaluate_errors(tmp_path, multilabel):
    y, s = multilabel
    with pytest.raises(ParameterError, match=r"task='ranking' is not one of \('auto', "
                                             r"'multilabel', 'multiclass'\)"):
        evaluate(y, s, task="ranking")
    with pytest.raises(ParameterError, match="truth has 80 rows but the predictions 79"):
        evaluate(y, s[:-1])
    bad = s.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ParameterError, match="1 NaN values"):
        evaluate(y, bad)
    with pytest.raises(ParameterError, match="task='multiclass' needs exactly one 1"):
        evaluate(y, s, task="multiclass")
    truth = _esc50_truth(tmp_path, ["dog", "rain"])
    other = _windows([str(tmp_path / "elsewhere.wav")], np.zeros((1, 527), np.float32))
    with pytest.raises(ParameterError, match="no clip of the predictions is in the truth"):
        evaluate(truth, other)
    arrays = _windows(["<array 0>", "<array 1>"], np.zeros((2, 527), np.float32))
    with pytest.raises(ParameterError, match="in-memory arrays"):
        evaluate(truth, arrays)
    with pytest.raises(ParameterError, match=r"scores have 3 columns but there are 2 "
                                             r"classes"):
        evaluate(truth, np.zeros((2, 3)))


# --- linear probe ---------------------------------------------------------------------------


def _clusters(rng, n_per: int = 30, n_classes: int = 6, dim: int = 8):
    centres = rng.normal(0, 6, (n_classes, dim))
    x = np.concatenate([c + rng.normal(0, 1, (n_per, dim)) for c in centres])
    y = np.repeat([f"class{i}" for i in range(n_classes)], n_per)
    return x.astype(np.float32), y


def test_linear_probe_separates_clusters(rng):
    x, y = _clusters(rng)
    probe = linear_probe(y, x, n_splits=5, seed=0)
    table = probe.folds
    assert table["fold"].tolist() == [1, 2, 3, 4, 5]
    assert list(table.columns) == ["fold", "n_train", "n_test", "accuracy", "macro_f1",
                                   "top5_accuracy"]
    assert table["n_train"].dtype == np.int64 and table["n_test"].dtype == np.int64
    assert list(probe.summary.columns) == ["metric", "mean", "std", "min", "max", "n_folds"]
    assert probe.summary["metric"].tolist() == ["accuracy", "macro_f1", "top5_accuracy"]
    assert probe.summary["n_folds"].dtype == np.int64
    mean = probe.mean
    assert mean["accuracy"] > 0.9 and mean["macro_f1"] > 0.9
    assert mean["top5_accuracy"] >= mean["accuracy"]
    assert mean["accuracy"] == pytest.approx(table["accuracy"].mean())
    assert probe.summary.set_index("metric").loc["accuracy", "std"] == pytest.approx(
        table["accuracy"].std(ddof=1))
    assert (table["n_train"] + table["n_test"] == len(x)).all()
    assert "StratifiedKFold" in probe.protocol
    assert "StratifiedKFold" in table.attrs["protocol"]
    assert "5 folds" in repr(probe) and "accuracy=" in repr(probe)
    again = linear_probe(y, x, n_splits=5, seed=0)
    pd.testing.assert_frame_equal(table, again.folds)
    pd.testing.assert_frame_equal(probe.summary, again.summary)


def test_linear_probe_respects_given_folds(rng):
    x, y = _clusters(rng, n_classes=3)
    folds = rng.integers(1, 5, len(x))
    probe = linear_probe(y, x, folds=folds)
    table, preds = probe.folds, probe.predictions
    assert "top5_accuracy" not in table.columns  # fewer than 5 classes
    per_fold = table.set_index("fold")
    for f in np.unique(folds):
        assert per_fold.loc[f, "n_test"] == (folds == f).sum()
        assert per_fold.loc[f, "n_train"] == (folds != f).sum()
    # every clip is predicted exactly once, by the model that did not train on its fold
    assert preds["row"].tolist() == list(range(len(x)))
    assert preds["fold"].tolist() == folds.tolist()
    assert (preds["label"] == y).all()


def test_linear_probe_sorts_numeric_folds_as_numbers(rng):
    x, y = _clusters(rng, n_per=12, n_classes=2)
    folds = np.arange(len(x)) % 12 + 1
    assert linear_probe(y, x, folds=folds).folds["fold"].tolist() == list(range(1, 13))


def test_linear_probe_called_the_old_way_says_how_to_call_it(rng, tmp_path):
    x, y = _clusters(rng, n_classes=2)
    with pytest.raises(ParameterError, match=r"truth first.*linear_probe\(truth, embeddings\)"):
        linear_probe(x, y)
    paths = [str(tmp_path / f"{i}.wav") for i in range(len(x))]
    truth = pd.DataFrame({"path": paths, "labels": [(v,) for v in y]})
    result = FakeResult(pd.DataFrame({"item": np.arange(len(x)), "path": paths}),
                        np.zeros((len(x), 527), np.float32), x)
    with pytest.raises(ParameterError, match=r"truth first.*given FakeResult then DataFrame"):
        linear_probe(result, truth)
    with pytest.raises(ParameterError, match=r"return_predictions is gone.*\.predictions"):
        linear_probe(y, x, return_predictions=True)


def test_linear_probe_from_a_result_and_truth_table(tmp_path, rng):
    x, y = _clusters(rng, n_per=10, n_classes=5, dim=6)
    paths = [str(tmp_path / f"{i}.wav") for i in range(len(x))]
    truth = pd.DataFrame({"path": paths, "labels": [(v,) for v in y],
                          "fold": np.arange(len(x)) % 5 + 1})
    result = FakeResult(
        pd.DataFrame({"item": np.repeat(np.arange(len(x)), 2),
                      "path": np.repeat(paths, 2), "window": np.tile([0, 1], len(x))}),
        np.zeros((2 * len(x), 527), np.float32),
        np.repeat(x, 2, axis=0) + np.tile([[0.1], [-0.1]], (len(x), 1)).astype(np.float32))
    probe = linear_probe(truth, result)
    assert "'fold' column" in probe.protocol
    assert probe.folds["fold"].tolist() == [1, 2, 3, 4, 5]
    assert probe.mean["accuracy"] > 0.9
    assert probe.predictions["path"].tolist() == paths
    multi = truth.assign(labels=[("class0", "b"), ()] + list(truth["labels"][2:]))
    with pytest.raises(ParameterError, match=r"single-label.*has 2 labels.*"
                                             r"multilabel='first' or 'drop'"):
        linear_probe(multi, result)
    with pytest.warns(ASTToolsWarning, match="1 clips without exactly one label"):
        first = linear_probe(multi, result, multilabel="first")
    assert first.folds["n_test"].sum() == len(x) - 1
    with pytest.warns(ASTToolsWarning, match="2 clips without exactly one label"):
        dropped = linear_probe(multi, result, multilabel="drop")
    assert dropped.folds["n_test"].sum() == len(x) - 2
    with pytest.raises(ParameterError, match=r"multilabel='all' is not one of"):
        linear_probe(multi, result, multilabel="all")


def test_linear_probe_errors(rng):
    x, y = _clusters(rng, n_classes=2)
    with pytest.raises(ParameterError, match="at least two classes"):
        linear_probe(np.array(["a"] * len(x)), x)
    with pytest.raises(ParameterError, match="embeddings have 60 rows but the truth 59"):
        linear_probe(y[:-1], x)
    with pytest.raises(ParameterError, match="folds has 3 entries"):
        linear_probe(y, x, folds=[1, 2, 3])
    with pytest.raises(ParameterError, match="cannot make 50 stratified folds"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            linear_probe(y, x, n_splits=50)


def test_the_real_embedding_result_class_is_accepted(tmp_path, rng):
    embed = pytest.importorskip("asttools.run.result")
    truth = _esc50_truth(tmp_path, ["dog", "rain", "dog", "rain"])
    index = esc50_mapping().set_index("category")["index"]
    fake = _windows(list(truth["path"]), np.full((4, 527), 0.1, np.float32))
    fake.probs[[0, 1, 4, 5], index["dog"]] = 0.8
    fake.probs[[2, 3, 6, 7], index["rain"]] = 0.8
    result = embed.EmbeddingResult(fake.table, fake.embeddings, fake.probs,
                                   meta={"random_weights": False})
    table = evaluate(truth, result, n_boot=0)
    assert _value(table, "accuracy") == 1.0
    assert _row(table, "accuracy")["n"] == 4
    probe = linear_probe(truth, result, folds=[1, 1, 2, 2])
    assert probe.folds["fold"].tolist() == [1, 2]
    with pytest.raises(ParameterError, match=r"holding out fold 1 leaves one class "
                                             r"\('rain'\)"):
        linear_probe(truth, result, folds=[1, 2, 1, 2])


def test_user_mapping_wins_over_the_truth_mids_column():
    """A truth table with AudioSet mids: a user mapping still decides where a label goes."""

    table = audioset_labels()
    idx = {n: i for i, n in enumerate(table["display_name"])}
    truth = pd.DataFrame({
        "path": ["a", "b", "c", "d"],
        "labels": [("Clicking",), ("Clicking",), ("Siren",), ("Siren",)],
        "mids": [("/m/07qc9xj",), ("/m/07qc9xj",), ("/m/03kmc9",), ("/m/03kmc9",)],
    })
    probs = np.full((4, 527), 0.1, np.float32)
    probs[[0, 1], idx["Tick"]] = 0.9  # the model hears ticks where the truth says clicking
    probs[[2, 3], idx["Siren"]] = 0.9
    plain = asttools.per_class_metrics(truth, probs).set_index("label")
    assert plain.loc["Clicking", "match"] == "mid"
    mapped = asttools.per_class_metrics(truth, probs, mapping={"Clicking": "Tick"})
    mapped = mapped.set_index("label")
    row = mapped.loc[[i for i in mapped.index if "Tick" in i or "Clicking" in i][0]]
    assert row["match"] == "user"
    assert row["ap"] == pytest.approx(1.0)


def test_aligned_scores_are_what_per_class_metrics_scores():
    from sklearn.metrics import average_precision_score

    from asttools.analysis.metrics import aligned_scores, per_class_metrics

    rng = np.random.default_rng(3)
    names = ["Speech", "Music", "Dog"]
    truth = pd.DataFrame({"path": [f"c{i}" for i in range(12)],
                          "labels": [tuple(n for n in names if rng.random() < 0.5) or ("Dog",)
                                     for _ in range(12)]})
    probs = rng.random((12, 527)).astype(np.float32)
    y, s, labels = aligned_scores(truth, probs)
    assert y.shape == s.shape == (12, 3) and set(labels) == set(names)
    pc = per_class_metrics(truth, probs).set_index("label")
    for j, label in enumerate(labels):
        assert pc.loc[label, "ap"] == pytest.approx(average_precision_score(y[:, j], s[:, j]))


# --- precision-recall curves ----------------------------------------------------------------


def test_pr_curves_match_sklearn_and_share_the_ap_of_per_class_metrics(rng):
    n, c = 60, 4
    y = (rng.random((n, c)) < [0.3, 0.5, 0.1, 0.0]).astype(np.uint8)
    y[0, 2] = 1
    s = np.round(rng.random((n, c)) + 0.3 * y, 1)  # rounded: many ties
    curves = pr_curves(y, s, labels=list("abcd"))
    assert list(curves.columns) == ["label", "recall", "precision", "threshold", "ap"]
    assert list(dict.fromkeys(curves["label"])) == list("abcd")
    per = per_class_metrics(y, s, classes=list("abcd")).set_index("label")
    for j, name in enumerate("abc"):
        curve = curves[curves["label"] == name]
        precision, recall, thresholds = skm.precision_recall_curve(y[:, j], s[:, j])
        np.testing.assert_array_equal(curve["precision"], precision)
        np.testing.assert_array_equal(curve["recall"], recall)
        np.testing.assert_array_equal(curve["threshold"].to_numpy()[:-1], thresholds)
        assert np.isnan(curve["threshold"].iloc[-1])
        ap = curve["ap"].to_numpy()
        assert (ap == ap[0]).all()
        assert ap[0] == pytest.approx(skm.average_precision_score(y[:, j], s[:, j]))
        assert ap[0] == per.loc[name, "ap"]  # one AP definition
    empty = curves[curves["label"] == "d"]  # no positives
    assert empty["ap"].isna().all() and empty["recall"].isna().all()
    default = pr_curves(y.astype(bool), s)
    assert list(dict.fromkeys(default["label"])) == ["0", "1", "2", "3"]


def test_pr_curves_errors():
    y = np.array([[1, 0], [0, 1]])
    with pytest.raises(ParameterError, match="same shape"):
        pr_curves(y, np.zeros((2, 3)))
    with pytest.raises(ParameterError, match="same shape"):
        pr_curves(y[:, 0], np.zeros(2))
    with pytest.raises(ParameterError, match="only 0 and 1"):
        pr_curves(y * 2, np.zeros((2, 2)))
    with pytest.raises(ParameterError, match="2 NaN values"):
        pr_curves(y, np.where(y, np.nan, 0.0))
    with pytest.raises(ParameterError, match="labels has 1 names but y_true has 2 columns"):
        pr_curves(y, np.zeros((2, 2)), labels=["a"])
    with pytest.raises(ParameterError, match="no rows"):
        pr_curves(np.zeros((0, 2)), np.zeros((0, 2)))


# --- where warnings point -------------------------------------------------------------------


def test_alignment_warnings_point_at_the_callers_line(tmp_path, rng):
    """Each warning of joining, mapping and probing names the line that called asttools."""
    paths = [str(tmp_path / f"{i}.wav") for i in range(6)]
    truth = pd.DataFrame({"path": paths[:5], "labels": [("Dog",), ("my odd tag",), ("Speech",),
                                                         ("Dog",), ("Speech",)]})
    result = _windows(paths, rng.random((6, 527)).astype(np.float32), n_windows=1)
    multihot = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    two = pd.DataFrame({"path": paths[:4], "labels": [("a",), ("b",), ("a",), ("b",)]})
    calls = {
        "join, unmapped, left out": lambda: evaluate(truth, result, n_boot=0),
        "per_class_metrics": lambda: per_class_metrics(truth, result),
        "aligned_scores": lambda: aligned_scores(truth, result),
        "confusion_matrix": lambda: confusion_matrix(truth, result),
        "same outputs": lambda: per_class_metrics(truth.drop(index=1), result,
                                                  mapping={"Speech": "Dog"}),
        "nested": lambda: evaluate(multihot, rng.random((4, 527)), classes=["Dog", "Bark"],
                                   roll_up=True, n_boot=0),
        "probe join": lambda: linear_probe(two, result, folds=[1, 1, 2, 2]),
    }
    seen = set()
    for name, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        ours = [w for w in caught if issubclass(w.category, ASTToolsWarning)]
        assert ours, name
        assert [w.filename for w in ours] == [__file__] * len(ours), name
        seen.update(str(w.message) for w in ours)
    for fragment in ("no ground truth", "map to no model output", "are left out",
                     "cannot be told apart", "contain others"):
        assert any(fragment in m for m in seen), fragment


# --- counts are integers; the truth first ---------------------------------------------------


def test_evaluate_rows_are_metrics_and_counts_are_integers(rng):
    y = rng.integers(0, 2, (40, 4))
    y[:, 3] = 0  # a class without positives: skipped
    table = evaluate(y, rng.random((40, 4)), n_boot=0)
    assert not table["metric"].str.startswith("n_classes").any()
    assert table["value"].dtype == np.float64
    assert table["n"].dtype == np.int64 and table["n_classes"].dtype == np.int64
    counts = table.attrs["counts"]
    assert counts == {"n_clips": 40, "n_classes": 4, "n_classes_evaluated": 3,
                      "n_classes_skipped": 1, "n_classes_unmapped": 0}
    assert all(type(v) is int for v in counts.values())


def test_linear_probe_takes_truth_first_like_evaluate(clusters):
    x, labels = clusters
    probe = linear_probe(labels, x, n_splits=3)
    assert isinstance(probe, ProbeResult)
    assert probe.folds["fold"].tolist() == [1, 2, 3]  # fold ids stay numbers
    assert pd.api.types.is_integer_dtype(probe.folds["fold"])
    assert set(probe.summary["metric"]) == {"accuracy", "macro_f1"}
    assert probe.summary["n_folds"].tolist() == [3, 3]
    assert len(probe.predictions) == len(x)
    assert probe.classes == sorted(set(labels))
    with pytest.raises(ParameterError, match=r"takes the truth first, as evaluate does: call "
                                             r"linear_probe\(truth, embeddings\)"):
        linear_probe(x, labels)


def test_linear_probe_keeps_text_fold_ids(clusters):
    x, labels = clusters
    folds = np.array(["a", "b", "c"] * 20)
    probe = linear_probe(labels, x, folds=folds)
    assert probe.folds["fold"].tolist() == ["a", "b", "c"]
    assert probe.predictions["fold"].tolist() == folds.tolist()


# --- the top-k-versus-truth table -----------------------------------------------------------


def test_top_k_table_sets_top_k_beside_the_truth(rng):
    res = window_result([2, 1, 1], rng)
    clips = res.clips(aggregate="max")
    top = top_k(clips, k=3)
    first = top[(top["item"] == 0)]["label"].tolist()
    truth = pd.DataFrame({
        "path": ["/data/clip_2.wav", "/data/clip_0.wav", "/data/clip_1.wav"],  # own order
        "labels": [("my own label",), (first[0], first[2], "Speech"), ("Bird",)],
    })
    table = top_k_table(truth, clips, k=3)
    assert table.index.tolist() == ["clip_2.wav", "clip_0.wav", "clip_1.wav"]
    assert table.index.name == "clip"
    assert table.columns.tolist() == ["truth", "top 1", "top 2", "top 3", "hits"]
    assert table.loc["clip_0.wav", ["top 1", "top 2", "top 3"]].tolist() == first
    assert table.loc["clip_0.wav", "truth"] == f"{first[0]}; {first[2]}; Speech"
    speech_in = "Speech" in first
    assert table.loc["clip_0.wav", "hits"] == 2 + speech_in  # counted against full names
    assert pd.isna(table.loc["clip_2.wav", "hits"])  # no label maps to AudioSet
    assert str(table["hits"].dtype) == "Int64"
    short = top_k_table(truth, clips, k=3, short=True)
    assert short.loc["clip_0.wav", "top 1"] == top_k(clips, k=1, short=True)["label"].iat[0]
    assert short["hits"].equals(table["hits"])


def test_top_k_table_aggregates_windows_like_evaluate(rng):
    res = window_result([3, 1], rng)
    truth = pd.DataFrame({"path": ["/data/clip_0.wav", "/data/clip_1.wav"],
                          "labels": [("Speech",), ("Music",)]})
    assert top_k_table(truth, res, k=2).equals(top_k_table(truth, res.clips(aggregate="mean"), k=2))
    with pytest.raises(ParameterError, match="k must be an integer >= 1"):
        top_k_table(truth, res, k=0)
    with pytest.raises(ParameterError, match="must be an EmbeddingResult"):
        top_k_table(truth, res.probs)


# --- probes side by side --------------------------------------------------------------------


def test_compare_probes_is_linear_probe_per_setting_in_order(clusters, rng):
    x, labels = clusters
    settings = {"z: informative": x, "a: noise": rng.normal(size=x.shape)}
    table = compare_probes(labels, settings, n_splits=3, seed=1)
    for name, emb in settings.items():
        alone = linear_probe(labels, emb, n_splits=3, seed=1).summary
        mine = table[table["setting"] == name].drop(columns="setting").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
    wide = table.pivot(index="setting", columns="metric", values="mean")  # as notebooks do
    assert wide.index.tolist() == list(settings)  # the order given, not sorted
    assert table.attrs["protocol"]
    with pytest.raises(ParameterError, match="embeddings is empty"):
        compare_probes(labels, {})


# --- per-class AP and PR curves: one aggregation --------------------------------------------


@pytest.mark.parametrize("how", ["mean", "max"])
def test_pr_curves_score_what_per_class_ap_scored(rng, how):
    res = window_result([3, 2, 1, 2, 1, 3], rng)
    truth = pd.DataFrame({"path": [f"/data/clip_{i}.wav" for i in range(6)],
                          "labels": [("Speech",), ("Music",), ("Speech", "Music"), ("Music",),
                                     ("Speech",), ("Dog",)]})
    clips = res.clips(aggregate=how)
    per_class = per_class_metrics(truth, clips).set_index("label")
    y, s, names = aligned_scores(truth, clips)
    curves = pr_curves(y, s, labels=names)
    ap = curves.groupby("label")["ap"].first()
    for label in names:
        assert ap[label] == pytest.approx(per_class.loc[label, "ap"], abs=1e-12)
