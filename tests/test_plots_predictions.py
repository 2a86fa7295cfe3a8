"""Prediction figures: top-k bars, top-k panels of several clips, label timelines."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from figure_fixtures import own_ax
from matplotlib.axes import Axes
from result_fixtures import AUDIOSET_NAMES, window_result

from asttools import plots
from asttools.errors import ParameterError
from asttools.plots import (
    check_figure,
    plot_label_timeline,
    plot_top_k_grid,
)


def test_plot_top_k():
    table = pd.DataFrame(
        {
            "item": 0,
            "rank": [1, 2, 3],
            "label": ["Speech", "Music", "Bird vocalization, bird call, bird song"],
            "mid": ["/m/09x0r", "/m/04rlf", "/m/020bb7"],
            "probability": [0.91, 0.32, 0.05],
        }
    )
    ax = plots.plot_top_k(table.sample(frac=1.0, random_state=0), title="clip")
    assert isinstance(ax, Axes)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[2] == "Bird vocalization, bird\ncall, bird song"  # long names wrap
    assert [t.replace("\n", " ") for t in ticks] == list(table["label"])
    bar_colors = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    assert bar_colors == [plots.label_colors(["Speech"])["Speech"], *bar_colors[1:]]
    own = own_ax()
    assert plots.plot_top_k(table, ax=own) is own
    two_items = pd.concat([table, table.assign(item=1)])
    with pytest.raises(ParameterError, match="holds 2 items"):
        plots.plot_top_k(two_items)
    two_windows = pd.concat([table.assign(window=0), table.assign(window=1)])
    with pytest.raises(ParameterError, match="repeats labels; plot one item and one window"):
        plots.plot_top_k(two_windows)
    with pytest.raises(ParameterError, match="lacks the columns"):
        plots.plot_top_k(table.drop(columns="probability"))


def test_caption_mode_drops_the_title_and_stamps_random_weights():
    table = pd.DataFrame({"label": ["Speech", "Music"], "probability": [0.9, 0.2]})
    ax = plots.plot_top_k(table, title=False, meta={"random_weights": True})
    assert ax.get_title() == ""
    stamps = [t for t in ax.texts if t.get_text() == "random weights"]
    assert len(stamps) == 1 and stamps[0].get_gid() == "random-weights-stamp"
    plots.assert_figure_ok(ax)
    ax = plots.plot_top_k(table, title=False, meta={"random_weights": False})
    assert ax.get_title() == "" and not [t for t in ax.texts if "random" in t.get_text()]


# --- top-k panels of several clips ----------------------------------------------------------


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


# --- label timelines ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", plots.TIMELINE_KINDS)
def test_plot_label_timeline(rng, kind):
    probs = rng.random((8, 6)) * 0.5
    probs[:, 4] += 0.5  # the class with the highest peak
    labels = ["Speech", "Music", "Dog", "Siren", "Sine wave", "Silence"]
    starts = np.arange(8) * 5.0
    ax = plots.plot_label_timeline(probs, starts, labels=labels, k=3, kind=kind, ends=starts + 10)
    assert isinstance(ax, Axes)
    if kind == "lines":
        names = [line.get_label() for line in ax.get_lines()]
        assert len(names) == 3 and names[0] == "Sine wave"
        assert (
            matplotlib.colors.to_hex(ax.get_lines()[0].get_color())
            == (plots.label_colors(["Sine wave"])["Sine wave"])
        )
    else:
        assert ax.get_yticklabels()[0].get_text() == "Sine wave"
    own = own_ax()
    assert plots.plot_label_timeline(probs, starts, labels=labels, kind=kind, ax=own) is own


def test_plot_label_timeline_errors(rng):
    probs = rng.random((4, 3))
    with pytest.raises(ParameterError, match="labels has 2 names but probs has 3 classes"):
        plots.plot_label_timeline(probs, np.arange(4), labels=["a", "b"])
    with pytest.raises(ParameterError, match="starts has 3 values but probs has 4 windows"):
        plots.plot_label_timeline(probs, np.arange(3), labels=["a", "b", "c"])
    with pytest.raises(ParameterError, match=r"kind must be one of \('lines', 'heatmap'\)"):
        plots.plot_label_timeline(probs, np.arange(4), labels=["a", "b", "c"], kind="bars")


def test_label_timeline_of_a_result_draws_what_the_arrays_draw(rng):
    res = window_result([1, 4], rng, random_weights=True)
    one = res.select(longest=1)
    ax = plot_label_timeline(one, k=3)
    _, ref = plt.subplots()
    rows = res.table["item"] == 1
    plot_label_timeline(res.probs[rows], res.table.loc[rows, "start_s"].to_numpy(),
                        ends=res.table.loc[rows, "end_s"].to_numpy(), labels=AUDIOSET_NAMES, k=3,
                        ax=ref)
    drawn = [(line.get_label(), line.get_xydata().tolist()) for line in ax.get_lines()]
    expected = [(line.get_label(), line.get_xydata().tolist()) for line in ref.get_lines()]
    assert drawn == expected and len(drawn) > 3  # 3 labels, the short last window marked
    title = " ".join(ax.get_title().split())  # wrapped to the Axes' width
    assert title == "clip_1.wav: labels over time (random weights)"  # from the result's meta
    assert not check_figure(ax.figure)


def test_label_timeline_refuses_several_clips_and_mixed_arguments(rng):
    res = window_result([2, 2], rng)
    with pytest.raises(ParameterError, match=r"windows of 2 inputs.*select\(longest=1\)"):
        plot_label_timeline(res)
    with pytest.raises(ParameterError, match="do not pass starts="):
        plot_label_timeline(res.select(longest=1), np.arange(2.0))
    with pytest.raises(ParameterError, match="give starts= and labels="):
        plot_label_timeline(res.probs)
