"""The plots' shared parts: theme and thesis fonts, label colours, random-weights titles, panel
letters, saving (each figure kind has its file: test_plots_audio.py, test_plots_predictions.py,
test_plots_embeddings.py, test_plots_evaluation.py, test_plots_missing.py)."""

from __future__ import annotations

import struct
import zlib

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from asttools import plots
from asttools.errors import ParameterError

# --------------------------------------------------------------------------- theme, colours


def test_import_changes_no_rcparams():
    import importlib

    before = dict(matplotlib.rcParams)
    importlib.reload(plots)
    assert dict(matplotlib.rcParams) == before


def test_theme_rc_and_set_theme():
    rc = plots.theme_rc(context="paper", font_scale=1.2)
    assert rc["pdf.fonttype"] == 42
    assert rc["axes.prop_cycle"].by_key()["color"][0] == plots.LABEL_PALETTE[0]
    with matplotlib.rc_context():
        plots.set_theme(context="talk")
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        assert matplotlib.rcParams["font.size"] > plots.theme_rc()["font.size"]


def test_label_colors_stable_across_calls_and_subsets():
    every = ["Speech", "Music", "Dog", "Siren", "my own class", "/m/09x0r", 3]
    full = plots.label_colors(every)
    assert list(full) == every
    for label in every:
        assert plots.label_colors([label])[label] == full[label]
    assert plots.label_colors(reversed(every)) == full
    assert plots.label_colors(["Siren", "Siren", "Dog"]) == {
        "Siren": full["Siren"],
        "Dog": full["Dog"],
    }
    assert all(c in plots.LABEL_PALETTE for c in full.values())


def test_label_colors_audioset_index_and_mid():
    colors = plots.label_colors(["Speech", "/m/09x0r", "Tick", "Music"])
    assert colors["Speech"] == plots.LABEL_PALETTE[0]  # pinned
    assert colors["/m/09x0r"] == colors["Speech"]  # a mid takes its class's colour
    # unpinned: 32 pinned numbers, then the class index (407)
    assert colors["Tick"] == plots.LABEL_PALETTE[(32 + 407) % 10]
    # the pinned classes: 10 colours, each with a style of its own, never two alike
    styles = plots.label_styles(plots.PINNED_LABELS)
    assert len(set(styles.values())) == len(plots.PINNED_LABELS)
    assert {c for c, _ in styles.values()} == set(plots.LABEL_PALETTE)
    assert [s for _, s in styles.values()] == [i // 10 for i in range(len(plots.PINNED_LABELS))]


def test_label_colors_are_pinned():
    """Colours must not change between sessions or releases (hashlib, not salted hash()).
    (Issue 21 replaced the 32-colour palette by 10 colours apart under colour blindness.)"""
    colors = plots.label_colors(["Speech", "Music", "Siren", "Tick", "a label"])
    assert colors == {
        "Speech": "#0072b2",
        "Music": "#e69f00",
        "Siren": "#960000",
        "Tick": "#0000f0",
        "a label": colors["a label"],
    }
    import hashlib

    number = int.from_bytes(hashlib.sha1(b"a label").digest()[:8], "big")
    assert colors["a label"] == plots.LABEL_PALETTE[number % 10]


def test_random_weights_title():
    assert plots.random_weights_title("Top 5", random_weights=True) == "Top 5 (random weights)"
    assert plots.random_weights_title("Top 5", random_weights=False) == "Top 5"
    twice = plots.random_weights_title(
        plots.random_weights_title("Top 5", random_weights=True), random_weights=True
    )
    assert twice == "Top 5 (random weights)"
    assert plots.random_weights_title(None, random_weights=True) == "Random weights"


# --- thesis fonts, panel letters ------------------------------------------------------------


def test_thesis_preset_uses_fonts_bundled_with_matplotlib():
    import matplotlib
    from matplotlib import font_manager

    rc = plots.theme_rc(thesis=True)
    assert rc["font.family"] == "serif" and rc["font.serif"][0] == "STIXGeneral"
    with matplotlib.rc_context(rc):
        path = font_manager.findfont(font_manager.FontProperties(family=["serif"]))
    assert "mpl-data" in path and "STIXGeneral" in path  # the same file on every machine
    with matplotlib.rc_context(plots.theme_rc()):
        path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert "mpl-data" in path and "DejaVuSans" in path


def test_panel_letters():
    fig, axes = plt.subplots(2, 2, layout="constrained")
    axes[1, 1].set_visible(False)
    letters = plots.label_panels(fig)
    assert [t.get_text() for t in letters] == ["(a)", "(b)", "(c)"]
    plots.assert_figure_ok(fig)
    fig, axes = plt.subplots(1, 2, layout="constrained")
    assert [t.get_text() for t in plots.label_panels(axes, template="{}.")] == ["a.", "b."]


# --------------------------------------------------------------------------- saving


def _png_dpi(path) -> tuple[float, float]:
    """Read the pHYs chunk of a PNG (pixels per metre) and return dots per inch."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert (
            zlib.crc32(kind + body)
            == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        )
        if kind == b"pHYs":
            x, y, unit = struct.unpack(">IIB", body)
            assert unit == 1  # metres
            return x * 0.0254, y * 0.0254
        pos += 12 + length
    raise AssertionError("PNG has no pHYs chunk")


@pytest.mark.slow  # 7.3 s on the loaded 2-core machine (issue 19)
def test_save_figure(tmp_path, rng):
    ax = plots.plot_waveform(rng.normal(size=4000), title="clip")
    fig = ax.figure
    size = tuple(fig.get_size_inches())
    paths = plots.save_figure(fig, tmp_path / "figs" / "waveform", width="half")
    assert paths == [tmp_path / "figs" / "waveform.pdf", tmp_path / "figs" / "waveform.png"]
    assert paths[0].read_bytes()[:5] == b"%PDF-"
    assert _png_dpi(paths[1]) == pytest.approx((300, 300), abs=0.5)
    height_px, width_px = plt.imread(paths[1]).shape[:2]
    assert 2.6 * 300 < width_px < 3.3 * 300  # half width (3.1 in), give or take the tight bbox
    assert 1.6 * 300 < height_px < 2.1 * 300  # the height (1.8 in) stays
    assert tuple(fig.get_size_inches()) == size  # the figure itself keeps its size
    # TrueType (Type 42) fonts, no Type 3
    pdf = paths[0].read_bytes()
    assert b"/TrueType" in pdf or b"/CIDFontType2" in pdf
    assert b"/Type3" not in pdf


@pytest.mark.slow  # 7.7 s on the loaded 2-core machine (issue 19)
def test_save_figure_axes_suffix_and_repeatable(tmp_path):
    written = []
    for run in ("a", "b"):  # re-running a notebook cell: a fresh figure, saved again
        ax = plots.plot_fbank(np.random.default_rng(0).normal(size=(100, 16)))
        paths = plots.save_figure(ax, tmp_path / run / "fbank.pdf", formats=("pdf", "png"))
        assert paths == [tmp_path / run / "fbank.pdf", tmp_path / run / "fbank.png"]
        written.append([p.read_bytes() for p in paths])
    assert written[0] == written[1]  # no creation date in the PDF: same figure, same bytes


def test_save_figure_errors(tmp_path):
    fig, _ = plt.subplots()
    with pytest.raises(ParameterError,
                       match=r"width must be one of \('full', 'half', 'column', 'double'\)"):
        plots.save_figure(fig, tmp_path / "x", width="third")
    with pytest.raises(ParameterError, match="cannot write the formats"):
        plots.save_figure(fig, tmp_path / "x", formats=("docx",))
