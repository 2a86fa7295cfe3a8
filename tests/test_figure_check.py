"""The figure check finds what a thesis reader sees, and every plot helper passes it."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _figure_gallery import GALLERY, LONG_NAMES

from asttools import plots
from asttools.errors import ParameterError


def _clean():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1], [0, 1], color="#0173b2", label="Speech")
    ax.plot([0, 1], [1, 0], color="#de8f05", label="Music")
    ax.set_xlabel("Time (s)")
    ax.set_title("Two lines")
    ax.legend()
    return fig


def test_clean_figure_passes():
    assert plots.check_figure(_clean()) == []
    plots.assert_figure_ok(_clean())


def test_overlapping_labels_are_flagged():
    fig, ax = plt.subplots(figsize=(3, 1.5), layout="constrained")
    ax.set_yticks([0, 0.05], ["Bird vocalization, bird call", "Beep, bleep"])
    ax.set_ylim(0, 1)
    problems = plots.check_figure(fig)
    assert any("overlaps" in p and "Beep, bleep" in p for p in problems), problems


def test_rotated_labels_that_do_not_touch_pass():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.set_xticks(range(4), ["Speech", "Music", "Dog", "Siren"], rotation=45, ha="right")
    assert plots.check_figure(fig) == []


def test_clipped_title_is_flagged():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_title("A title far too long for a figure two inches wide")
    problems = plots.check_figure(fig)
    assert any("outside the canvas" in p for p in problems), problems


def test_near_identical_colours_are_flagged():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1], [0, 1], color="#d55e00", label="Siren")
    ax.plot([0, 1], [1, 0], color="#de6f4e", label="Dog")
    ax.legend()
    problems = plots.check_figure(fig)
    assert any("too alike" in p and "'Siren'" in p and "'Dog'" in p for p in problems), problems
    with pytest.raises(AssertionError, match="too alike"):
        plots.assert_figure_ok(fig)


def test_close_colours_with_different_markers_pass():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.scatter([0], [0], color="#d55e00", marker="o", label="Siren")
    ax.scatter([1], [1], color="#de6f4e", marker="s", label="Dog")
    ax.legend()
    assert plots.check_figure(fig) == []


def test_bars_sharing_a_colour_are_flagged():
    fig, ax = plt.subplots(figsize=(4, 2), layout="constrained")
    ax.barh([0, 1, 2], [0.5, 0.4, 0.3], color=["#0173b2", "#de8f05", "#0173b2"])
    ax.set_yticks([0, 1, 2], ["A capella", "Cutlery", "Printer"])
    problems = plots.check_figure(fig)
    assert any("'A capella' and 'Printer' are drawn alike" in p for p in problems), problems


def test_small_text_is_flagged_at_the_printed_width():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.set_xlabel("tiny", fontsize=4)
    assert any("4.0 pt" in p for p in plots.check_figure(fig))
    fig, ax = plt.subplots(figsize=(6.3, 3), layout="constrained")
    ax.set_xlabel("shrunk", fontsize=8)  # 8 pt on 6.3 in printed at 3.1 in: 3.9 pt
    assert plots.check_figure(fig) == []
    assert any("shrunk" in p for p in plots.check_figure(fig, width="half"))
    with pytest.raises(ParameterError, match="width must be one of"):
        plots.check_figure(fig, width="wide")


def test_delta_e_matches_sharma_and_lab_of_white():
    assert plots.delta_e([50, 2.6772, -79.7751], [50, 0, -82.7485]) == pytest.approx(2.0425,
                                                                                   abs=1e-4)
    assert plots.delta_e([50, 2.5, 0], [73, 25, -18]) == pytest.approx(27.1492, abs=1e-4)
    np.testing.assert_allclose(plots.srgb_to_lab("white"), [100, 0, 0], atol=1e-3)


def test_figure_colors_distinct_and_pinned_stable():
    names = ["A capella", "Printer", "Cutlery, silverware", "Boat, Water vehicle", "Speech"]
    colors = plots.figure_colors(names)
    assert len(set(colors.values())) == 5
    assert colors["Speech"] == plots.label_colors(["Speech"])["Speech"]
    lab = plots.srgb_to_lab(list(colors.values()))
    for i in range(5):
        for j in range(i):
            assert plots.delta_e(lab[i], lab[j]) >= plots.MIN_COLOR_DISTANCE


def _old_per_class_ap_figure():
    """The per-class AP figure as the demo drew it before issue 11: 6.3 x 3.2 in, names
    wrapped at 28 characters, one hashed colour per bar."""
    rng = np.random.default_rng(0)
    labels = LONG_NAMES
    ap = np.sort(rng.random(len(labels)))[::-1]
    colors = plots.label_colors(labels)
    with matplotlib.rc_context(plots.theme_rc()):
        fig, ax = plt.subplots(figsize=(6.3, 3.2), layout="constrained")
        y = np.arange(len(labels))
        ax.barh(y, ap, color=[colors[name] for name in labels], height=0.75)
        import textwrap

        ax.set_yticks(y, [textwrap.fill(name, 28, break_long_words=False) for name in labels])
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_title("average precision per class (random weights)")
        fig.canvas.draw()
    return fig


def test_check_fails_on_the_old_per_class_ap_figure():
    problems = plots.check_figure(_old_per_class_ap_figure())
    assert any("'Bird vocalization, bird call, bird song' overlaps" in p
               or "overlaps text 'Bird vocalization, bird call, bird song'" in p
               for p in problems), problems
    # 19 hashed colours from a palette of 10: some bars share a colour exactly
    assert any("too alike" in p or "drawn alike" in p for p in problems)


def test_the_new_per_class_ap_at_the_demo_size_passes():
    table = pd.DataFrame({"label": LONG_NAMES, "ap": np.linspace(0.9, 0.1, len(LONG_NAMES)),
                          "n_positives": 3})
    with matplotlib.rc_context(plots.theme_rc()):
        fig, ax = plt.subplots(figsize=(6.3, 3.2), layout="constrained")
        plots.plot_per_class_ap(table, ax=ax)
        plots.assert_figure_ok(fig)
    faces = {matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches}
    assert faces == {plots.LABEL_PALETTE[0]}


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_every_plot_helper_passes_the_check(name):
    with matplotlib.rc_context(plots.theme_rc()):
        ax = GALLERY[name]()
        plots.assert_figure_ok(ax)


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_every_plot_helper_passes_without_the_theme(name):
    plots.assert_figure_ok(GALLERY[name]())
