"""Tests of asttools.plots: every helper draws on small seeded inputs and returns its Axes."""

from __future__ import annotations

import struct
import zlib

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from asttools import plots
from asttools.errors import ASTToolsWarning, ParameterError
from asttools.analysis.metrics import pr_curves


@pytest.fixture
def fbank(rng):
    return rng.normal(size=(1024, 128)).astype(np.float32)


def _own_ax():
    _, ax = plt.subplots()
    return ax


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


# --------------------------------------------------------------------------- audio figures


@pytest.mark.parametrize("n", [8000, 16000 * 30])
def test_plot_waveform(rng, n):
    wav = rng.normal(scale=0.1, size=n).astype(np.float32)
    ax = plots.plot_waveform(wav, sr=16000, title="clip")
    assert isinstance(ax, Axes)
    assert ax.get_xlim() == pytest.approx((0.0, n / 16000))
    assert ax.get_xlabel() == "Time (s)"
    own = _own_ax()
    assert plots.plot_waveform(wav, ax=own) is own


def test_plot_waveform_rejects_2d(rng):
    with pytest.raises(
        ParameterError, match=r"wav must be 1-dimensional, given wav.shape=\(2, 5\)"
    ):
        plots.plot_waveform(np.zeros((2, 5)))


def test_plot_fbank(fbank):
    ax = plots.plot_fbank(fbank, title="fbank")
    assert isinstance(ax, Axes)
    assert ax.get_xlim() == pytest.approx((0.0, 10.24))
    assert ax.get_ylim() == pytest.approx((-0.5, 127.5))
    own = _own_ax()
    assert plots.plot_fbank(fbank, ax=own, colorbar=False) is own
    with pytest.raises(ParameterError, match="fbank must be 2-D"):
        plots.plot_fbank(fbank[None])


def test_patch_grid_shape():
    assert plots.patch_grid_shape(1024, 128) == (12, 101)
    assert plots.patch_grid_shape(1024, 128, patch=16, fstride=16, tstride=16) == (8, 64)
    with pytest.raises(ParameterError, match="smaller than one 16 x 16 patch"):
        plots.patch_grid_shape(10, 128)


def test_plot_patch_grid(fbank, rng):
    ax = plots.plot_patch_grid(fbank)
    assert isinstance(ax, Axes)
    values = rng.random((12, 101))
    own = _own_ax()
    assert plots.plot_patch_grid(fbank, values=values, ax=own) is own
    # the overlay spans the patch centres: first centre 8 frames in, cells one stride wide
    overlay = own.get_images()[-1]
    left, right, bottom, top = overlay.get_extent()
    assert left == pytest.approx(0.03) and right == pytest.approx(10.13)
    assert bottom == pytest.approx(2.5) and top == pytest.approx(122.5)
    flat = plots.plot_patch_grid(fbank, values=values.ravel())
    # issue 21: drawn relative to the uniform 1/N (share of the sum x N); raw with
    # relative=False
    np.testing.assert_allclose(flat.get_images()[-1].get_array(),
                               values / values.sum() * values.size)
    raw = plots.plot_patch_grid(fbank, values=values.ravel(), relative=False)
    np.testing.assert_array_equal(raw.get_images()[-1].get_array(), values)
    with pytest.raises(ParameterError, match=r"shape \(12, 101\) or \(1212,\)"):
        plots.plot_patch_grid(fbank, values=np.zeros((101, 12)))


# --------------------------------------------------------------------------- label figures


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
    own = _own_ax()
    assert plots.plot_top_k(table, ax=own) is own
    two_items = pd.concat([table, table.assign(item=1)])
    with pytest.raises(ParameterError, match="holds 2 items"):
        plots.plot_top_k(two_items)
    two_windows = pd.concat([table.assign(window=0), table.assign(window=1)])
    with pytest.raises(ParameterError, match="repeats labels; plot one item and one window"):
        plots.plot_top_k(two_windows)
    with pytest.raises(ParameterError, match="lacks the columns"):
        plots.plot_top_k(table.drop(columns="probability"))


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
    own = _own_ax()
    assert plots.plot_label_timeline(probs, starts, labels=labels, kind=kind, ax=own) is own


def test_plot_label_timeline_errors(rng):
    probs = rng.random((4, 3))
    with pytest.raises(ParameterError, match="labels has 2 names but probs has 3 classes"):
        plots.plot_label_timeline(probs, np.arange(4), labels=["a", "b"])
    with pytest.raises(ParameterError, match="starts has 3 values but probs has 4 windows"):
        plots.plot_label_timeline(probs, np.arange(3), labels=["a", "b", "c"])
    with pytest.raises(ParameterError, match=r"kind must be one of \('lines', 'heatmap'\)"):
        plots.plot_label_timeline(probs, np.arange(4), labels=["a", "b", "c"], kind="bars")


# --------------------------------------------------------------------------- embedding maps


def test_plot_embedding_map(clusters):
    x, labels = clusters
    ax = plots.plot_embedding_map(x, labels, perplexity=10.0, title="map")
    assert isinstance(ax, Axes)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Sine wave", "White noise", "Siren"]
    colors = plots.label_colors(labels)
    for coll, label in zip(ax.collections, legend, strict=True):
        assert matplotlib.colors.to_hex(coll.get_facecolor()[0]) == colors[label]
    own = _own_ax()
    assert plots.plot_embedding_map(x, labels, method="pca", ax=own, legend=False) is own
    assert own.get_legend() is None
    with pytest.raises(ParameterError, match="labels has 3 entries but embeddings has 60 rows"):
        plots.plot_embedding_map(x, labels[:3])


def test_plot_embedding_map_warns_at_the_callers_line(clusters):
    x, labels = clusters
    with pytest.warns(ASTToolsWarning, match="perplexity=30.0 is too large") as caught:
        plots.plot_embedding_map(x[:10], labels[:10])
    assert [w.filename for w in caught] == [__file__]


# --------------------------------------------------------------------------- evaluation


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
    own = _own_ax()
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
    own = _own_ax()
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
    own = _own_ax()
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
