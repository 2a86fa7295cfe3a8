"""Tests of the figures of clips without audio: the robustness curve, time-aligned embeddings."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex

from asttools import plots
from asttools.errors import ParameterError

FRACTIONS = (0.0, 0.5, 1.0)
RANDOM = {"random_weights": True}


@pytest.fixture
def curve(rng):
    """The layout of asttools.analysis.robustness.robustness_curve: two feature sets, two fills, video."""
    rows = []
    for features in ("audio", "audio+video"):
        for fill in ("zeros", "mean"):
            for p in FRACTIONS:
                acc = (0.9 if features == "audio+video" else 0.8) - 0.5 * p + rng.normal(0, .02)
                rows.append({"features": features, "fill": fill, "fraction": p,
                             "accuracy": acc, "ci_low": acc - 0.1, "ci_high": acc + 0.1,
                             "n_clips": 32, "n_repeats": 1 if p in (0.0, 1.0) else 5})
    for p in FRACTIONS:
        rows.append({"features": "video", "fill": "-", "fraction": p, "accuracy": 0.7,
                     "ci_low": 0.6, "ci_high": 0.8, "n_clips": 32, "n_repeats": 1})
    return pd.DataFrame(rows)


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


# --------------------------------------------------------------------------- robustness


def test_robustness_draws_one_line_per_features_and_fill(curve):
    ax = plots.plot_robustness(curve, chance=0.25, title="probe", meta=RANDOM)
    assert isinstance(ax, Axes)
    lines = ax.get_lines()
    assert len(lines) == 4 + 1 + 1  # 2 feature sets x 2 fills, the video baseline, chance
    assert [line.get_label() for line in lines] == [
        "audio + video, zeros", "audio + video, mean", "audio only, zeros", "audio only, mean",
        "video only", "chance (0.25)"]
    assert ax.get_title() == "probe (random weights)"
    # x in percent; the video baseline flat; chance at 0.25
    np.testing.assert_allclose(lines[0].get_xdata(), [0.0, 50.0, 100.0])
    assert set(lines[4].get_ydata()) == {0.7}
    assert set(lines[5].get_ydata()) == {0.25}
    assert ax.get_ylim() == (0.0, 1.02)
    assert ax.get_xlabel().startswith("Audio dropped (% of the test clips that have it)")
    assert "32 clips" in ax.get_xlabel() and "5 random drops" in ax.get_xlabel()


def test_robustness_colours_follow_the_fill_and_styles_the_features(curve):
    ax = plots.plot_robustness(curve)
    by_label = {line.get_label(): line for line in ax.get_lines()}
    for fill in ("zeros", "mean"):
        solid, dashed = by_label[f"audio + video, {fill}"], by_label[f"audio only, {fill}"]
        assert to_hex(solid.get_color()) == to_hex(dashed.get_color()) == plots.FILL_COLORS[fill]
        assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
    assert plots.FILL_COLORS["zeros"] != plots.FILL_COLORS["mean"]
    assert by_label["video only"].get_linestyle() == "-."
    # the same colour for a fill whatever else the figure holds
    only_mean = plots.plot_robustness(curve[curve["fill"].isin(["mean", "-"])])
    assert to_hex(only_mean.get_lines()[0].get_color()) == plots.FILL_COLORS["mean"]


def test_robustness_fill_colours_and_markers_cover_the_fills_and_stay_apart():
    from asttools.analysis.fills import FILL_NAMES

    assert set(plots.FILL_COLORS) == set(plots.FILL_MARKERS) == set(FILL_NAMES)
    assert len(set(plots.FILL_MARKERS.values())) == len(FILL_NAMES)
    lab = plots.srgb_to_lab(list(plots.FILL_COLORS.values()))
    distance = plots.delta_e(lab[:, None, :], lab[None, :, :])
    assert distance[~np.eye(len(lab), dtype=bool)].min() >= 15.0


def test_robustness_gives_seven_fills_seven_colours_and_seven_markers(curve):
    fills = ["zeros", "mean", "silence", "ridge", "nearest", "my_gan", "my_vae"]
    rows = pd.concat([curve[curve["fill"] == "zeros"].assign(fill=f) for f in fills])
    ax = plots.plot_robustness(rows)
    lines = [line for line in ax.get_lines() if line.get_label().startswith("audio only")]
    assert len(lines) == 7
    assert len({to_hex(line.get_color()) for line in lines}) == 7
    assert len({line.get_marker() for line in lines}) == 7
    # the legend's swatches are the lines as drawn: colour, marker
    handles = {h.get_label(): h for h in ax.get_legend().legend_handles}
    for line, fill in zip(lines, fills, strict=True):
        h = handles[f"fill: {fill}"]
        assert (to_hex(h.get_color()), h.get_marker()) == (to_hex(line.get_color()),
                                                           line.get_marker())


def test_robustness_draws_one_training_condition_per_panel(curve):
    both = pd.concat([curve.assign(training="complete"),
                      curve.assign(training="dropout", accuracy=curve["accuracy"] - 0.1)])
    both.loc[both["features"] == "video", "training"] = "-"
    both = both.drop_duplicates(["features", "fill", "training", "fraction"])
    with pytest.raises(ParameterError, match=r"training conditions \['complete', 'dropout'\]"):
        plots.plot_robustness(both)
    ax = plots.plot_robustness(both, training="dropout")
    first = ax.get_lines()[0]
    ref = curve[(curve["features"] == "audio+video") & (curve["fill"] == "zeros")]
    np.testing.assert_allclose(first.get_ydata(), ref["accuracy"] - 0.1)
    assert [line.get_label() for line in ax.get_lines()][-1] == "video only"
    with pytest.raises(ParameterError, match="training='same-rate' is not in curve"):
        plots.plot_robustness(both, training="same-rate")


def test_robustness_legend_is_beside_the_axes_and_names_fills_and_features(curve):
    ax = plots.plot_robustness(curve, chance=0.25)
    texts = _legend_texts(ax)
    assert texts == ["fill: zeros", "fill: mean", "audio only", "audio + video", "video only",
                     "chance (0.25)", "bootstrap CI"]
    legend = ax.get_legend()
    ax.figure.canvas.draw()
    box = legend.get_window_extent()
    assert box.x0 >= ax.get_window_extent().x1  # outside the data area, to the right


def test_robustness_ci_bars_and_options(curve):
    ax = plots.plot_robustness(curve)
    assert len(ax.collections) == 4 + 1  # intervals per curve and the baseline's
    bars = ax.collections[0].get_segments()  # thin vertical bars, opaque, from low to high
    ref = curve[(curve["features"] == "audio+video") & (curve["fill"] == "zeros")]
    np.testing.assert_allclose([seg[:, 1] for seg in bars],
                               ref[["ci_low", "ci_high"]].to_numpy())
    assert all(seg[0, 0] == seg[1, 0] for seg in bars)
    assert all(c.get_alpha() in (None, 1.0) for c in ax.collections)
    xs = {round(float(c.get_segments()[0][0, 0]), 3) for c in ax.collections}
    assert len(xs) == 5  # nudged apart: no interval hides another
    ax = plots.plot_robustness(curve, intervals=False, legend=False)
    assert len(ax.collections) == 0 and ax.get_legend() is None
    assert "bootstrap CI" not in _legend_texts(plots.plot_robustness(curve, intervals=False))
    ax = plots.plot_robustness(curve, features=["audio", "video"], meta={"random_weights": False},
                               title="audio alone")
    assert [line.get_label() for line in ax.get_lines()] == [
        "audio only, zeros", "audio only, mean", "video only"]
    assert ax.get_title() == "audio alone"


def test_robustness_draws_on_the_given_axes_and_a_curve_without_video(curve):
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_robustness(curve, ax=right) is right
    assert not left.get_lines()
    ax = plots.plot_robustness(curve[curve["features"] == "audio"])
    assert len(ax.get_lines()) == 2 and "video only" not in _legend_texts(ax)


def test_robustness_from_robustness_curve(rng):
    from asttools.analysis.robustness import robustness_curve

    n = 24
    labels = np.repeat(["a", "b"], n // 2)
    x = rng.normal(size=(n, 4)) + (labels == "a")[:, None]
    video = rng.normal(size=(n, 3)) + (labels == "b")[:, None]
    curve = robustness_curve(labels, x, has_audio=np.ones(n, bool), folds=np.tile([1, 2], n // 2),
                             video=video, fractions=(0.0, 1.0), fills=("zeros", "mean"),
                             n_repeats=1, n_boot=20)
    ax = plots.plot_robustness(curve, chance=0.5, meta=RANDOM)
    assert len(ax.get_lines()) == 6
    assert ax.get_title() == "Random weights"


@pytest.mark.parametrize("change, match", [
    (lambda c: c.drop(columns="ci_low"), r"curve lacks the columns \['ci_low'\]"),
    (lambda c: c.iloc[:0], "curve is empty"),
    (lambda c: c.assign(features="audio+text"), r"features 'audio\+text'"),
    (lambda c: c.assign(fraction=c["fraction"] * 100), r"fraction=50\.0"),
    (lambda c: pd.concat([c, c.iloc[:1]]), r"repeats \(features, fill, fraction\)=\('audio'"),
])
def test_robustness_refuses_bad_curves(curve, change, match):
    with pytest.raises(ParameterError, match=match):
        plots.plot_robustness(change(curve))


def test_robustness_refuses_bad_options(curve):
    with pytest.raises(ParameterError, match=r"chance=1\.5 must lie in \(0, 1\)"):
        plots.plot_robustness(curve, chance=1.5)
    with pytest.raises(ParameterError, match=r"features has 'text'"):
        plots.plot_robustness(curve, features=["audio", "text"])
    with pytest.raises(ParameterError, match=r"no rows of features=\['video'\]"):
        plots.plot_robustness(curve[curve["features"] == "audio"], features=["video"])
    with pytest.raises(ParameterError, match="curve must be a pandas DataFrame"):
        plots.plot_robustness(curve.to_numpy())
    with pytest.raises(ParameterError, match="no colour for the labels"):
        plots.plot_robustness(curve, colors={"zeros": "red"})


# --------------------------------------------------------------------------- timestamps


@pytest.fixture
def frames(rng):
    """25 fps frames of a 3 s video: centres at 0.02, 0.06, ..., 2.98 s; 16 dimensions."""
    return np.arange(75) / 25 + 0.02, rng.normal(size=(75, 16)).astype(np.float32)


def _mesh(ax):
    (mesh,) = [c for c in ax.collections if hasattr(c, "get_array") and c.get_array() is not None]
    return mesh


def test_timestamps_heatmap_spans_the_video_and_marks_the_late_audio(frames):
    t, e = frames
    ax = plots.plot_timestamp_embeddings(t, e, audio_span=(0.976, 3.0), video_duration=3.0,
                                         frame_rate=25, title="hammering_04", meta=RANDOM)
    assert isinstance(ax, Axes)
    assert ax.get_title() == "hammering_04 (random weights)"
    assert ax.get_xlim() == (0.0, 3.0) and ax.get_ylim() == (-0.5, 15.5)
    assert ax.get_xlabel() == "Video time (s)" and ax.get_ylabel() == "Dimension"
    mesh = _mesh(ax)
    assert mesh.get_array().shape == (16, 75)  # dimensions x frames
    # the audio starts inside the video: one line; it ends with it: no second line
    assert [line.get_label() for line in ax.get_lines()] == ["audio starts at 0.976 s"]
    texts = [t.get_text() for t in ax.texts]
    assert "no audio" in texts and any("audio starts" in t for t in texts)
    assert len(ax.patches) == 1  # the span without audio, 0 - 0.976 s
    assert len(ax.figure.axes) == 2  # the colour bar
    assert ax.child_axes and ax.child_axes[0].get_xlabel() == "Video frame"


def test_timestamps_cells_are_centred_on_their_times(frames):
    t, e = frames
    ax = plots.plot_timestamp_embeddings(t, e, colorbar=False)
    edges = _mesh(ax).get_coordinates()[0, :, 0]
    np.testing.assert_allclose(edges, np.arange(76) / 25, atol=1e-9)
    assert ax.get_xlim() == pytest.approx((0.0, 3.0))
    assert len(ax.figure.axes) == 1 and not ax.get_lines() and not ax.patches


def test_timestamps_standardize_and_dims(frames):
    t, e = frames
    e = e * np.arange(1, 17) + 5.0
    z = _mesh(plots.plot_timestamp_embeddings(t, e)).get_array()
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=1), 1.0, atol=1e-6)
    raw = plots.plot_timestamp_embeddings(t, e, standardize=False, dims=4)
    np.testing.assert_allclose(_mesh(raw).get_array(), e[:, :4].T, rtol=1e-6)
    assert raw.get_ylim() == (-0.5, 3.5)


def test_timestamps_of_a_clip_without_audio_are_blank_and_hatched(frames):
    t, _ = frames
    empty = np.full((75, 16), np.nan, np.float32)  # TimestampResult.pool gives NaN frames
    with np.errstate(all="raise"):
        ax = plots.plot_timestamp_embeddings(t, empty, audio_span=(np.nan, np.nan),
                                             video_duration=3.0, title="hammering_06")
    assert _mesh(ax).get_array().mask.all()
    assert len(ax.patches) == 1 and not ax.get_lines()
    assert [t.get_text() for t in ax.texts] == ["no audio"]
    (span,) = ax.patches
    # axvspan: a Rectangle in data x (matplotlib >= 3.9), the whole video
    assert (span.get_x(), span.get_x() + span.get_width()) == pytest.approx((0.0, 3.0))


def test_timestamps_short_audio_and_torch_input(frames):
    import torch

    t, e = frames
    ax = plots.plot_timestamp_embeddings(torch.from_numpy(t), torch.from_numpy(e),
                                         audio_span=(0.0, 1.536), video_duration=3.0)
    assert [line.get_label() for line in ax.get_lines()] == ["audio ends at 1.536 s"]
    assert len(ax.patches) == 1


def test_timestamps_draw_on_the_given_axes(frames):
    t, e = frames
    fig, (top, bottom) = plt.subplots(2, 1)
    assert plots.plot_timestamp_embeddings(t, e, ax=bottom, colorbar=False) is bottom
    assert not top.collections


@pytest.mark.parametrize("kwargs, match", [
    ({"audio_span": (2.0, 1.0)}, r"audio_span=\(2\.0, 1\.0\)"),
    ({"audio_span": 0.976}, r"audio_span=0\.976"),
    ({"video_duration": -3.0}, r"video_duration=-3\.0"),
    ({"frame_rate": 0}, r"frame_rate=0"),
    ({"dims": 0}, r"dims=0"),
])
def test_timestamps_refuse_bad_options(frames, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        plots.plot_timestamp_embeddings(*frames, **kwargs)


def test_timestamps_refuse_bad_arrays(frames):
    t, e = frames
    with pytest.raises(ParameterError,
                       match=r"times\.shape=\(75,\) and embeddings\.shape=\(74, 16\)"):
        plots.plot_timestamp_embeddings(t, e[:-1])
    with pytest.raises(ParameterError, match=r"embeddings must be 2-dimensional"):
        plots.plot_timestamp_embeddings(t, e[:, 0])
    with pytest.raises(ParameterError, match=r"times\[3\]=0\.14 and times\[4\]=0\.14"):
        plots.plot_timestamp_embeddings(np.r_[t[:4], t[3:-1]], e)
    with pytest.raises(ParameterError, match=r"times must be finite seconds, given times\[0\]=nan"):
        plots.plot_timestamp_embeddings(np.r_[np.nan, t[1:]], e)
    with pytest.raises(ParameterError, match="times is empty"):
        plots.plot_timestamp_embeddings(t[:0], e[:0])
