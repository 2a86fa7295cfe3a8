"""The figure check finds what a thesis reader sees, and every plot helper passes it."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _figure_gallery import GALLERY, LONG_NAMES, SLOW_STRESS, STRESS

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
    # issue 21: dots, not bars (one colour: the position is the information)
    dots = [c for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)]
    faces = {matplotlib.colors.to_hex(f) for c in dots for f in c.get_facecolor()}
    assert faces == {plots.LABEL_PALETTE[0]}


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_every_plot_helper_passes_the_check(name):
    with matplotlib.rc_context(plots.theme_rc()):
        ax = GALLERY[name]()
        plots.assert_figure_ok(ax)


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_every_plot_helper_passes_without_the_theme(name):
    plots.assert_figure_ok(GALLERY[name]())


# ------------------------------------------------------- issue 21: what the check missed


def test_machado_matrices_keep_greys_and_match_a_known_value():
    for kind in plots.CVD_KINDS:  # each row sums to 1: greys are fixed points
        np.testing.assert_allclose(plots.simulate_cvd([[0.5, 0.5, 0.5]], kind), [[0.5] * 3],
                                   atol=2e-3)
    # pure red for a deuteranope, by hand: linear (1, 0, 0) -> first column of the matrix
    lin = np.array([0.367322, 0.280085, -0.011820]).clip(0, 1)
    expected = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(plots.simulate_cvd("#ff0000", "deuteranopia")[0], expected)
    with pytest.raises(ParameterError, match="kind must be one of"):
        plots.simulate_cvd("red", "achromatopsia")


def test_label_palette_stays_apart_for_every_reader():
    lab = {"normal": plots.srgb_to_lab(list(plots.LABEL_PALETTE))}
    for kind in plots.CVD_KINDS:
        lab[kind] = plots.srgb_to_lab(plots.simulate_cvd(list(plots.LABEL_PALETTE), kind))
    n = len(plots.LABEL_PALETTE)
    for kind, values in lab.items():
        d = min(float(plots.delta_e(values[i], values[j]))
                for i in range(n) for j in range(i))
        floor = plots.MIN_COLOR_DISTANCE if kind == "normal" else plots.MIN_CVD_DISTANCE
        assert d >= floor, (kind, d)


def test_label_styles_never_two_labels_one_look():
    names = [f"class {i}" for i in range(40)] + list(LONG_NAMES)
    styles = plots.label_styles(names)
    assert len(set(styles.values())) == len(styles)
    assert all(styles[n][0] == plots.label_colors([n])[n] for n in names)  # colour: stable
    lines = plots.label_styles(LONG_NAMES[:8], lines=True)
    grey = {n: float(plots.srgb_to_lab(c)[0]) for n, (c, _) in lines.items()}
    for a in lines:
        for b in lines:
            if a < b and lines[a][1] == lines[b][1]:
                assert abs(grey[a] - grey[b]) >= 10, (a, b)


def _has(problems, *words):
    return any(all(w in p for w in words) for p in problems)


def test_legend_over_300_points_is_flagged():
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.scatter(rng.random(300), rng.random(300), s=4, color="#0072b2", label="Speech")
    ax.set_xlabel("x (a.u.)")
    ax.set_ylabel("y (a.u.)")
    ax.legend(loc="center", frameon=True)
    problems = plots.check_figure(fig)
    assert _has(problems, "the legend lies over", "move it outside"), problems


def test_red_green_pair_is_flagged_for_colour_blind_readers():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1, 2], [0, 1, 2], color="#d62728", label="Siren")
    ax.plot([0, 1, 2], [2, 1, 0], color="#2ca02c", label="Speech")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Probability")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2)
    problems = plots.check_figure(fig)
    assert _has(problems, "'Siren'", "'Speech'", "deuteranopia", "label_styles"), problems
    assert not _has(problems, "too alike")  # fine in normal vision


def test_pale_thin_line_and_black_text_on_black_cells_are_flagged():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1, 2], [0, 1, 0], color="#ffff99", linewidth=0.3)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Probability")
    assert _has(plots.check_figure(fig), "contrast", "draw it darker or wider")
    fig, ax = plt.subplots(figsize=(3, 3), layout="constrained")
    ax.imshow(np.zeros((2, 2)), cmap="gray", vmin=0, vmax=1)
    ax.text(0, 0, "0.97", color="black", ha="center", va="center")
    problems = plots.check_figure(fig)
    assert _has(problems, "'0.97'", "contrast", "white on dark cells"), problems


def test_jet_without_labels_overlapping_axes_and_cut_data_are_flagged():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.imshow(np.arange(16.0).reshape(4, 4), cmap="jet")
    assert _has(plots.check_figure(fig), "'jet' is a rainbow", "viridis")
    fig = plt.figure(figsize=(4, 3))
    a = fig.add_axes((0.15, 0.15, 0.5, 0.5))
    b = fig.add_axes((0.4, 0.4, 0.5, 0.5))
    a.plot([0, 1, 2], [0, 1, 0])
    b.plot([0, 1, 2], [1, 0, 1])
    assert _has(plots.check_figure(fig), "overlap", "layout='constrained'")
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot(np.arange(10), np.arange(10) / 5, label="AP")
    ax.set_ylim(0, 1)
    problems = plots.check_figure(fig)
    assert _has(problems, "4 of 10 data points", "outside its limits", "set_ylim"), problems


def test_two_unlabelled_lines_of_one_colour_are_flagged():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1, 2], [0, 1, 0], color="#0072b2")
    ax.plot([0, 1, 2], [1, 0, 1], color="#0072b2")
    assert _has(plots.check_figure(fig), "2 lines", "drawn alike and named nowhere")


def test_lines_of_one_grey_are_flagged():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1, 2], [0, 1, 0], color="#0072b2", label="Speech")  # L* 46
    ax.plot([0, 1, 2], [1, 0, 1], color="#d55e00", label="Siren")  # L* 54: 8 apart
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    assert _has(plots.check_figure(fig), "one grey in greyscale", "line styles")


def test_collapsed_half_width_figure_and_a_too_tall_one_are_flagged():
    fig, ax = plt.subplots(figsize=(3.1, 2.5), layout="constrained")
    for name in LONG_NAMES[:6]:
        ax.plot([0, 0.5, 1], [1, 0.5, 0.2], label=f"{name} (AP 0.51, 12 positive clips)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    problems = plots.check_figure(fig)
    assert _has(problems, "collapsed", "move the legend below"), problems
    fig, ax = plt.subplots(figsize=(6.3, 19.9), layout="constrained")
    ax.plot([0, 1, 2], [0, 1, 0])
    assert _has(plots.check_figure(fig), "19.9 in tall", "text block")


def test_save_figure_writes_exactly_the_width_asked(tmp_path):
    from PIL import Image

    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    ax.plot([0, 1], [0, 1], label="Speech")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Probability")
    for width, inches in [("full", 6.3), ("column", 3.5), ("double", 7.16)]:
        (png,) = plots.save_figure(fig, tmp_path / width, width=width, formats=("png",),
                                   dpi=100, check="raise")
        with Image.open(png) as image:
            assert image.size == (round(inches * 100), 300)
    assert tuple(fig.get_size_inches()) == (5, 3)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_STRESS else name
    for name in sorted(STRESS)])
def test_stress_gallery_passes_the_check(name, tmp_path, monkeypatch):
    """Issue 21: every plot helper at 1, 12, 40 and 100 classes with the longest AudioSet
    names, saved as a thesis saves it (the check raises), within a page."""
    monkeypatch.setenv("ASTTOOLS_CHECK_FIGURES", "raise")
    with matplotlib.rc_context(plots.theme_rc()):
        ax = STRESS[name]()
        fig = ax.figure
        (png,) = plots.save_figure(ax, tmp_path / name, formats=("png",), dpi=50)
    assert fig.get_figheight() <= plots.FIGURE_HEIGHT_MAX
    assert fig.get_figwidth() <= max(plots.FIGURE_WIDTHS.values())
    assert png.stat().st_size > 1000


def test_readme_figures_exist_and_come_from_the_gallery():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"\]\((docs/figures/[^)]+\.png)\)", readme)
    gallery = [p for p in shown if p.startswith("docs/figures/gallery/")]
    assert len(gallery) >= 2, shown
    for path in shown:
        assert (root / path).is_file(), path
    for path in gallery:  # each one a figure the gallery draws (and so checks)
        name = Path(path).stem
        assert name.removeprefix("stress_") in STRESS or name in GALLERY, name
