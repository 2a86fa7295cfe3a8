"""What the notebooks used to compute in their cells, now in the package (issue 11, item 3).

Each is compared with the function it stands on (``top_k``, ``linear_probe``,
``per_class_metrics``, ``plot_embedding_map``) rather than with constants.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from asttools.errors import ParameterError
from asttools.labels import audioset_labels
from asttools.analysis.metrics import (
    aligned_scores,
    compare_probes,
    linear_probe,
    per_class_metrics,
    pr_curves,
    top_k_table,
)
from asttools.plots import (
    check_figure,
    plot_embedding_grid,
    plot_embedding_map,
    plot_label_timeline,
    plot_top_k_grid,
)
from asttools.run.result import EmbeddingResult, top_k

NAMES = audioset_labels()["display_name"].tolist()


def _result(windows_per_clip, rng, *, random_weights=False):
    """A per-window result over the 527 AudioSet classes: clip i has windows_per_clip[i]
    windows of 10 s (the last one 4 s long), at paths /data/clip_i.wav."""
    rows = []
    for item, n in enumerate(windows_per_clip):
        for w in range(n):
            end = 10.0 * w + (4.0 if w == n - 1 and n > 1 else 10.0)
            rows.append({"item": item, "id": f"clip_{item}.wav", "path": f"/data/clip_{item}.wav",
                         "window": w, "start_s": 10.0 * w, "end_s": end})
    table = pd.DataFrame(rows)
    probs = rng.random((len(table), len(NAMES))).astype(np.float32) * 0.5
    meta = {"labels": NAMES, "random_weights": random_weights, "model": "test"}
    return EmbeddingResult(table, rng.normal(size=(len(table), 8)).astype(np.float32), probs,
                           meta=meta)


# --- choosing one clip for a timeline ------------------------------------------------------


def test_select_longest_picks_the_clip_with_most_windows(rng):
    res = _result([1, 3, 2, 3], rng)
    one = res.select(longest=1)
    assert one.table["path"].unique().tolist() == ["/data/clip_1.wav"]  # ties: input order
    assert len(one) == 3
    np.testing.assert_array_equal(one.probs, res.probs[res.table["item"] == 1])
    two = res.select(longest=2)
    assert two.table["path"].unique().tolist() == ["/data/clip_1.wav", "/data/clip_3.wav"]
    with pytest.raises(ParameterError, match="longest must be an integer >= 1"):
        res.select(longest=0)
    with pytest.raises(ParameterError, match="exactly one of"):
        res.select(ids=["clip_0.wav"], longest=1)


def test_label_timeline_of_a_result_draws_what_the_arrays_draw(rng):
    res = _result([1, 4], rng, random_weights=True)
    one = res.select(longest=1)
    ax = plot_label_timeline(one, k=3)
    _, ref = plt.subplots()
    rows = res.table["item"] == 1
    plot_label_timeline(res.probs[rows], res.table.loc[rows, "start_s"].to_numpy(),
                        ends=res.table.loc[rows, "end_s"].to_numpy(), labels=NAMES, k=3, ax=ref)
    drawn = [(line.get_label(), line.get_xydata().tolist()) for line in ax.get_lines()]
    expected = [(line.get_label(), line.get_xydata().tolist()) for line in ref.get_lines()]
    assert drawn == expected and len(drawn) > 3  # 3 labels, the short last window marked
    title = " ".join(ax.get_title().split())  # wrapped to the Axes' width
    assert title == "clip_1.wav: labels over time (random weights)"  # from the result's meta
    assert not check_figure(ax.figure)


def test_label_timeline_refuses_several_clips_and_mixed_arguments(rng):
    res = _result([2, 2], rng)
    with pytest.raises(ParameterError, match=r"windows of 2 inputs.*select\(longest=1\)"):
        plot_label_timeline(res)
    with pytest.raises(ParameterError, match="do not pass starts="):
        plot_label_timeline(res.select(longest=1), np.arange(2.0))
    with pytest.raises(ParameterError, match="give starts= and labels="):
        plot_label_timeline(res.probs)


# --- the top-k-versus-truth table ----------------------------------------------------------


def test_top_k_table_sets_top_k_beside_the_truth(rng):
    res = _result([2, 1, 1], rng)
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
    res = _result([3, 1], rng)
    truth = pd.DataFrame({"path": ["/data/clip_0.wav", "/data/clip_1.wav"],
                          "labels": [("Speech",), ("Music",)]})
    assert top_k_table(truth, res, k=2).equals(top_k_table(truth, res.clips(aggregate="mean"), k=2))
    with pytest.raises(ParameterError, match="k must be an integer >= 1"):
        top_k_table(truth, res, k=0)
    with pytest.raises(ParameterError, match="must be an EmbeddingResult"):
        top_k_table(truth, res.probs)


# --- probes side by side -------------------------------------------------------------------


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


# --- per-class AP and PR curves: one aggregation ---------------------------------------------


@pytest.mark.parametrize("how", ["mean", "max"])
def test_pr_curves_score_what_per_class_ap_scored(rng, how):
    res = _result([3, 2, 1, 2, 1, 3], rng)
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


# --- a grid of embedding maps --------------------------------------------------------------


def test_embedding_grid_names_varied_settings_per_panel_and_shared_ones_once(clusters):
    x, labels = clusters
    fig = plot_embedding_grid(
        x, labels, ncols=2, pca_components=None, meta={"random_weights": True},
        panels=[{"perplexity": p, "seed": s} for s in (0, 1) for p in (3, 5)],
        title="t-SNE sweep")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["perplexity 3, seed 0", "perplexity 5, seed 0",
                      "perplexity 3, seed 1", "perplexity 5, seed 1"]
    assert fig.get_suptitle() == "t-SNE sweep (random weights)"
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == sorted(set(labels),
                                                                        key=labels.index)
    assert not check_figure(fig)
    fig = plot_embedding_grid(x, labels, seed=3, perplexity=5,
                              panels={"PCA (linear)": {"method": "pca"}, "t-SNE": {}})
    assert [ax.get_title() for ax in fig.axes] == ["PCA (linear)", "t-SNE (perplexity 5, seed 3)"]


def test_embedding_grid_panels_match_single_maps_and_share_colours(clusters, rng):
    x, labels = clusters
    other = rng.normal(size=x.shape)
    fig = plot_embedding_grid({"first": x, "second": other}, labels, perplexity=5, seed=2,
                              pca_components=None, title="two embeddings")
    assert fig.get_suptitle() == "two embeddings (perplexity 5, seed 2)"
    for ax, emb in zip(fig.axes, (x, other), strict=True):
        alone = plot_embedding_map(emb, labels, perplexity=5, seed=2, pca_components=None)
        mine = [c.get_offsets().tolist() for c in ax.collections]
        assert mine == [c.get_offsets().tolist() for c in alone.collections]
    colors = [[tuple(c.get_facecolor()[0]) for c in ax.collections] for ax in fig.axes]
    assert colors[0] == colors[1]


def test_embedding_grid_refuses_what_it_cannot_draw(clusters):
    x, labels = clusters
    with pytest.raises(ParameterError, match="give panels="):
        plot_embedding_grid(x, labels)
    with pytest.raises(ParameterError, match=r"unknown options \['perplexty'\]"):
        plot_embedding_grid(x, labels, panels=[{"perplexty": 5}])
    with pytest.raises(ParameterError, match="names embeddings 'third'"):
        plot_embedding_grid({"first": x}, labels, panels={"a": {"embeddings": "third"}})
    with pytest.raises(ParameterError, match="labels has"):
        plot_embedding_grid({"first": x}, labels[:-1])


def test_embedding_grid_names_each_axis_once_per_row_and_column(clusters):
    x, labels = clusters
    fig = plot_embedding_grid(x, labels, ncols=2, pca_components=None, perplexity=5,
                              panels=[{"seed": s} for s in range(3)])
    names = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes[:3]]
    # top-left has a panel below it; top-right has none (the third panel is bottom-left)
    assert names == [("", "t-SNE 2"), ("t-SNE 1", ""), ("t-SNE 1", "t-SNE 2")]
    fig = plot_embedding_grid(x, labels, pca_components=None, perplexity=5,
                              panels={"PCA": {"method": "pca"}, "t-SNE": {}})
    assert [ax.get_ylabel() for ax in fig.axes] == ["PC 2", "t-SNE 2"]  # different: both


# --- top-k panels of several clips -----------------------------------------------------------


def _top_rows(names_per_clip):
    rows = [{"item": i, "path": f"/d/clip{i}.wav", "label": name, "probability": 0.9 - 0.1 * r}
            for i, names in enumerate(names_per_clip) for r, name in enumerate(names)]
    return pd.DataFrame(rows)


def test_top_k_grid_gives_wrapped_names_room_and_one_colour_per_label():
    long = "Bird vocalization, bird call, bird song"
    top = _top_rows([[long, "Fire engine, fire truck (siren)", "Frog"], ["Frog", "Dog", long]])
    truth = pd.DataFrame({"path": ["/d/clip0.wav"], "labels": [("Frog", "Cat")]})
    fig = plot_top_k_grid(top, truth=truth, meta={"random_weights": True}, title="top 3")
    assert not check_figure(fig)  # the stacked panels of notebook 04 overlapped here
    assert [ax.get_title() for ax in fig.axes] == ["clip0.wav", "clip1.wav"]
    assert fig.get_suptitle() == "top 3 (random weights)"
    heights = [ax.get_position().height for ax in fig.axes]
    assert heights[0] > 0 and all(h > 0 for h in heights)
    colour = {}
    for ax in fig.axes:
        names = [" ".join(t.get_text().replace("\u2713 ", "").split())
                 for t in ax.get_yticklabels()]
        for name, bar in zip(names, ax.containers[0].patches, strict=True):
            colour.setdefault(name, set()).add((bar.get_facecolor(), bar.get_hatch()))
    assert all(len(c) == 1 for c in colour.values())  # the same label, the same look
    # never two labels one look: a label's colour comes from its name (issue 21), so two
    # labels may share a colour, and then the second is hatched
    assert len({next(iter(c)) for c in colour.values()}) == len(colour)
    assert "also true: Cat" in fig.axes[0].get_xlabel()
    assert "ground truth" not in fig.axes[1].get_xlabel()  # clip1 has no truth row


def test_top_k_grid_of_many_labels_keeps_one_look_per_label():
    # 20 labels, more than the palette's 10 colours (issue 21: a colour per label name,
    # then a hatch for a second label of a colour; was: one colour for all beyond 12)
    top = _top_rows([[f"label {i}{j}" for j in range(5)] for i in range(4)]
                    + [["label 00", "label 11", "label 22", "label 33", "label 34"]])
    fig = plot_top_k_grid(top)
    look = {}
    for ax in fig.axes:
        names = [t.get_text().replace("\u2713 ", "") for t in ax.get_yticklabels()]
        for name, bar in zip(names, ax.containers[0].patches, strict=True):
            look.setdefault(name, set()).add((bar.get_facecolor(), bar.get_hatch()))
    assert len(look) == 20
    assert all(len(v) == 1 for v in look.values())  # the same label, the same look
    assert len({next(iter(v)) for v in look.values()}) == 20  # never two labels one look
    assert not check_figure(fig)


def test_top_k_grid_wraps_a_long_list_of_missed_true_labels():
    top = _top_rows([["Speech", "Music", "Jazz"], ["Dog", "Bark", "Cat"]])
    many = ("Music", "Orchestra", "Bowed string instrument", "Classical music",
            "Violin, fiddle", "Cello", "Double bass", "Harp")
    truth = pd.DataFrame({"path": ["/d/clip0.wav", "/d/clip1.wav"], "labels": [many, many]})
    fig = plot_top_k_grid(top, truth=truth)
    assert not check_figure(fig)  # the note was clipped at the canvas edge in notebook 04
    assert fig.axes[-1].get_xlabel().count("\n") >= 2  # Probability, then the wrapped note


def test_top_k_explains_a_check_mark_only_when_one_is_drawn():
    top = _top_rows([["Speech", "Music"], ["Dog", "Bark"]])
    truth = pd.DataFrame({"path": ["/d/clip0.wav", "/d/clip1.wav"],
                          "labels": [("Siren",), ("Dog", "Cat")]})
    fig = plot_top_k_grid(top, truth=truth)
    first, second = (" ".join(ax.get_xlabel().split()) for ax in fig.axes)
    assert first == "true: Siren"  # nothing in the top k is true: no check mark to explain
    assert second == "Probability \u2713 ground truth; also true: Cat"
