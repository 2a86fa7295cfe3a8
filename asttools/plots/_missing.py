"""Figures of clips without audio: a probe's robustness curve, time-aligned embeddings.

What they draw is computed elsewhere: the curve by
:func:`asttools.analysis.robustness.robustness_curve`, the embeddings by
:func:`asttools.timestamp_embeddings` (and its ``pool``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MultipleLocator

from ..errors import ParameterError
from ..settings import renamed_keyword
from ._colors import LABEL_PALETTE, delta_e, srgb_to_lab
from ._util import (
    DEFAULT_WIDTH,
    as_array,
    colors_for,
    legend_outside,
    new_axes,
    require_columns,
    set_title,
)

FILL_COLORS = {
    "zeros": LABEL_PALETTE[0],
    "mean": LABEL_PALETTE[1],
    "silence": LABEL_PALETTE[3],
    "nan": LABEL_PALETTE[4],
    "ridge": LABEL_PALETTE[2],
    "nearest": LABEL_PALETTE[5],
}
"""The colour of each named fill (``asttools.analysis.fills.FILL_NAMES``) in every figure: blue,
orange, teal and lilac of the colour-blind-safe label palette for the named fills, dark red
and purple for the fills learned from video (every pair of the palette stays apart under
simulated protanopia, deuteranopia and tritanopia; see :data:`LABEL_PALETTE`). Other fills
(a user's generator) take the palette colours farthest from those drawn beside them."""

FILL_MARKERS = {"zeros": "o", "mean": "s", "silence": "^", "nan": "x", "ridge": "D",
                "nearest": "v"}
"""The marker of each named fill, so that fills differ in shape as well as colour (other
fills take the shapes of :data:`_MORE_MARKERS` in turn)."""

ROBUSTNESS_FEATURES = ("audio", "audio+video", "video")
"""The ``features`` of a robustness curve: audio alone, audio beside video, video alone."""

_MORE_MARKERS = ("P", "X", "*", "<", ">", "h", "p", "d")
_LINESTYLES = {"audio": (0, (4, 2)), "audio+video": "-", "video": "-."}
_FEATURE_NAMES = {"audio": "audio only", "audio+video": "audio + video",
                  "video": "video only"}
_VIDEO_COLOR = "0.15"
_CHANCE_COLOR = "0.55"
_NO_AUDIO_COLOR = "0.55"

_ROBUSTNESS_COLUMNS = ("features", "fill", "fraction", "accuracy", "ci_low", "ci_high")


def _fill_colors(fills: Sequence[str], colors: Mapping | None) -> dict:
    """A colour per fill, no two alike: the named fills' own, then the farthest free ones."""
    if colors is not None:
        return colors_for(fills, colors)
    out = {f: FILL_COLORS[f] for f in fills if f in FILL_COLORS}
    lab = srgb_to_lab(list(LABEL_PALETTE))
    for f in fills:
        if f in out:
            continue
        taken = [LABEL_PALETTE.index(c) for c in out.values() if c in LABEL_PALETTE]
        free = [i for i in range(len(LABEL_PALETTE)) if i not in taken]
        slot = free[0] if not taken else max(
            free, key=lambda i: float(delta_e(lab[i], lab[taken]).min()))
        out[f] = LABEL_PALETTE[slot]
    return out


def _fill_markers(fills: Sequence[str]) -> dict:
    more = iter(_MORE_MARKERS * 4)
    return {f: FILL_MARKERS.get(f) or next(more) for f in fills}


def plot_robustness(
    curve: pd.DataFrame,
    *,
    ax=None,
    training: str | None = None,
    features: Sequence[str] | None = None,
    chance: float | None = None,
    intervals: bool = True,
    legend: bool = True,
    title: str | None = None,
    meta: Mapping | None = None,
    colors: Mapping | None = None,
    ci: bool | None = None,
):
    """Plot a probe's accuracy against the share of test clips whose audio is dropped.

    Each fill has its own colour (:data:`FILL_COLORS`, the same in every figure) **and**
    marker (:data:`FILL_MARKERS`); the line style says which features the probe saw:
    audio beside video features solid, audio alone dashed, video alone (no fill; no drop
    of audio affects it, so it is flat) black dash-dotted. A dotted grey line marks chance
    when ``chance`` is given. Confidence intervals are drawn as thin vertical bars (not
    translucent bands), nudged sideways per line so that they do not hide each other. The
    legend sits beside the Axes, off the data, and shows each fill as it is drawn (colour,
    marker and line).

    Parameters
    ----------
    curve : DataFrame
        As :func:`asttools.analysis.robustness.robustness_curve` returns it: one row per
        (``features``, ``fill``, ``training``, ``fraction``) with ``accuracy``, ``ci_low``
        and ``ci_high``; ``features`` one of :data:`ROBUSTNESS_FEATURES`, ``fill`` ``"-"``
        for the video baseline; ``fraction`` in [0, 1]. ``training`` may be absent (one
        condition). ``n_clips`` and ``n_repeats``, when present, go into the x label.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 3.2 in figure when None.
    training : str, optional
        The training condition to draw (one panel per condition: call once per Axes);
        may be left out when ``curve`` has only one.
    features : sequence of str, optional
        The feature sets to draw, some of :data:`ROBUSTNESS_FEATURES` (e.g.
        ``("audio", "video")`` for one panel of two); all in ``curve`` when None.
    chance : float, optional
        Accuracy of guessing (``1 / n_classes`` for balanced classes), drawn as a dotted
        line; none when None.
    intervals : bool, default True
        Draw the confidence intervals (their coverage is ``curve.attrs["ci"]``).
    legend : bool, default True
        Draw the legend (beside the Axes); False for all but one panel of a figure.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance of what is drawn (``result.meta`` of the embeddings): with
        ``random_weights`` true the title says "(random weights)".
    colors : mapping, optional
        Fill -> colour, for every fill drawn; :data:`FILL_COLORS` when None.
    ci : bool, optional
        The old name of ``intervals`` (a DeprecationWarning; goes in the next release):
        ``ci`` is an interval's coverage (0.95) everywhere else.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: x is the percentage (0-100) of the test clips with audio whose
        audio was dropped (clips without audio in the data lack it at 0 % too), y the
        accuracy (0-1). Its lines are the curves, one per (``features``, ``fill``): audio
        + video first, then audio alone, each in the order of the fills in ``curve``;
        then the video baseline and the chance line. Its collections are the intervals,
        one per curve.

    Raises
    ------
    ParameterError
        A column is missing, the table (or what ``features`` / ``training`` keeps of it)
        is empty, a ``features`` value is unknown, a ``fraction`` lies outside [0, 1], a
        (``features``, ``fill``, ``training``, ``fraction``) repeats, several training
        conditions and no ``training``, or ``chance`` lies outside (0, 1).

    Examples
    --------
    >>> import pandas as pd
    >>> curve = pd.DataFrame({
    ...     "features": ["audio", "audio", "video", "video"], "fill": ["zeros", "zeros", "-", "-"],
    ...     "fraction": [0.0, 1.0, 0.0, 1.0], "accuracy": [0.9, 0.25, 0.7, 0.7],
    ...     "ci_low": [0.8, 0.1, 0.6, 0.6], "ci_high": [1.0, 0.4, 0.8, 0.8]})
    >>> ax = plot_robustness(curve, chance=0.25)
    >>> len(ax.get_lines())
    3
    """
    intervals = renamed_keyword(intervals, ci, new="intervals", old="ci",
                                where="plot_robustness", default=True,
                                why="'ci' is an interval's coverage (0.95) elsewhere")
    require_columns(curve, _ROBUSTNESS_COLUMNS, "curve")
    if curve.empty:
        raise ParameterError("curve is empty: there is nothing to plot")
    curve = _one_condition(curve, training)
    for name, values in (("curve", curve["features"]), ("features", features or ())):
        unknown = [str(f) for f in values if str(f) not in ROBUSTNESS_FEATURES]
        if unknown:
            where = "curve has features" if name == "curve" else "features has"
            raise ParameterError(f"{where} {unknown[0]!r}; expected one of "
                                 f"{ROBUSTNESS_FEATURES}")
    fraction = pd.to_numeric(curve["fraction"], errors="coerce").to_numpy(dtype=float)
    bad = ~((fraction >= 0.0) & (fraction <= 1.0))
    if bad.any():
        value = _plain(curve["fraction"].iloc[int(np.argmax(bad))])
        raise ParameterError(f"curve has fraction={value!r}; fractions are shares of clips, "
                             "in [0, 1]")
    keys = curve[["features", "fill", "fraction"]].astype(str)
    if keys.duplicated().any():
        first = tuple(keys[keys.duplicated()].iloc[0])
        raise ParameterError(f"curve repeats (features, fill, fraction)={first}; plot one "
                             "curve (one robustness_curve result) at a time")
    if chance is not None and not (isinstance(chance, (int, float, np.floating))
                                   and not isinstance(chance, bool)
                                   and 0.0 < float(chance) < 1.0):
        raise ParameterError(f"chance={chance!r} must lie in (0, 1), e.g. 1 / n_classes")

    rows = curve.assign(percent=100.0 * fraction, features=curve["features"].astype(str),
                        fill=curve["fill"].astype(str))
    if features is not None:
        rows = rows[rows["features"].isin([str(f) for f in features])]
        if rows.empty:
            raise ParameterError(f"curve has no rows of features={list(features)}; it has "
                                 f"{sorted(set(curve['features'].astype(str)))}")
    rows = rows.sort_values("percent", kind="stable")
    audio = rows[rows["features"] != "video"]
    fills = list(dict.fromkeys(audio["fill"]))
    palette = _fill_colors(fills, colors)
    markers = _fill_markers(fills)
    ax = new_axes(ax, (DEFAULT_WIDTH, 3.2))
    order = [(f, fill) for f in ("audio+video", "audio") for fill in fills
             if ((audio["features"] == f) & (audio["fill"] == fill)).any()]
    nudge = 1.1  # percent: error bars of different curves side by side, not on top
    for i, (features_, fill) in enumerate(order):
        group = audio[(audio["features"] == features_) & (audio["fill"] == fill)]
        color = palette[fill]
        x = group["percent"].to_numpy()
        ax.plot(x, group["accuracy"], color=color, linestyle=_LINESTYLES[features_],
                marker=markers[fill], markersize=4.5, markeredgecolor="white",
                markeredgewidth=0.5, linewidth=1.4, zorder=3,
                label=f"{_FEATURE_NAMES[features_]}, {fill}")
        if intervals:
            dx = (i - (len(order) - 1) / 2) * nudge
            ax.vlines(x + dx, group["ci_low"], group["ci_high"], color=color, linewidth=1.0,
                      zorder=2)
    video = rows[rows["features"] == "video"]
    if len(video):
        x, acc = video["percent"].to_numpy(), video["accuracy"].to_numpy(dtype=float)
        low, high = video["ci_low"].to_numpy(float), video["ci_high"].to_numpy(float)
        if len(x) == 1:  # one fraction: stretch the flat line over the x range drawn
            x = np.array([rows["percent"].min(), rows["percent"].max()])
            acc, low, high = (np.repeat(v, 2) for v in (acc, low, high))
        ax.plot(x, acc, color=_VIDEO_COLOR, linestyle=_LINESTYLES["video"], linewidth=1.4,
                zorder=2, label="video only")
        if intervals:
            dx = (len(order) + 1) / 2 * nudge
            ax.vlines(x + dx, low, high, color=_VIDEO_COLOR, linewidth=1.0, zorder=2)
    if chance is not None:
        ax.axhline(float(chance), color=_CHANCE_COLOR, linestyle=":", linewidth=1.2,
                   zorder=0, label=f"chance ({float(chance):.2f})")

    if legend:  # colour and marker = fill, line style = features
        handles = [Line2D([], [], color=palette[f], marker=markers[f], markersize=4.5,
                          markeredgecolor="white", markeredgewidth=0.5, linewidth=1.4,
                          label=f"fill: {f}") for f in fills]
        handles += [Line2D([], [], color=_VIDEO_COLOR, linestyle=_LINESTYLES[f],
                           linewidth=1.4, label=_FEATURE_NAMES[f])
                    for f in ROBUSTNESS_FEATURES if (rows["features"] == f).any()]
        if chance is not None:
            handles.append(ax.get_lines()[-1])
        if intervals:
            level = curve.attrs.get("ci")  # recorded by robustness_curve
            handles.append(Line2D([], [], color="0.3", marker="|", markersize=9,
                                  markeredgewidth=1.0, linestyle="none",
                                  label=f"{level:.0%} bootstrap CI" if level
                                  else "bootstrap CI"))
        legend_outside(ax, handles=handles, frameon=False)

    reach = nudge * (len(order) + 1) / 2 + 1.5 if intervals else 2.0  # the nudged bars fit in
    ax.set_xlim(-max(reach, 2.0), 100.0 + max(reach, 2.0))
    ax.set_ylim(0.0, 1.02)
    xlabel = "Audio dropped (% of the test clips that have it)"
    extra = []
    if "n_clips" in rows.columns and rows["n_clips"].nunique() == 1:
        extra.append(f"{int(rows['n_clips'].iloc[0])} clips")
    if "n_repeats" in rows.columns and len(audio) and audio["n_repeats"].max() > 1:
        extra.append(f"{int(audio['n_repeats'].max())} random drops per fraction")
    if extra:
        xlabel += f"\n({', '.join(extra)})"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Probe accuracy")
    set_title(ax, title, meta)
    return ax


def _one_condition(curve: pd.DataFrame, training: str | None) -> pd.DataFrame:
    """The rows of one training condition (and the video baseline, ``training="-"``)."""
    if "training" not in curve.columns:
        if training is not None:
            raise ParameterError(f"training={training!r}: curve has no 'training' column "
                                 "(it holds one condition)")
        return curve
    conditions = [str(t) for t in dict.fromkeys(curve["training"]) if str(t) != "-"]
    if training is None:
        if len(conditions) > 1:
            raise ParameterError(f"curve holds the training conditions {conditions}: pass "
                                 "training=... (one panel per condition)")
        return curve
    if training not in conditions:
        raise ParameterError(f"training={training!r} is not in curve; it has {conditions}")
    return curve[curve["training"].astype(str).isin([training, "-"])]


def plot_timestamp_embeddings(
    times,
    embeddings,
    *,
    ax=None,
    audio_span: tuple[float, float] | None = None,
    video_duration: float | None = None,
    frame_rate: float | None = None,
    dims: int | None = None,
    standardize: bool = True,
    colorbar: bool = True,
    cmap: str = "vlag",
    title: str | None = None,
    meta: Mapping | None = None,
):
    """Plot time-aligned embeddings as a heatmap against the video's clock.

    Rows are embedding dimensions, columns the steps (or pooled frames) at their times;
    each cell spans from midway to the previous time to midway to the next. The video's
    time without audio (before the audio starts, after it ends, or all of it) is hatched
    in grey and labelled, with dashed lines where the audio starts and ends; rows of NaN
    (frames of a clip without audio, as ``TimestampResult.pool`` gives them) stay blank.
    With ``frame_rate``, a second axis on top counts video frames.

    Parameters
    ----------
    times : ndarray, shape (T,)
        Seconds on the video's clock, increasing: ``res.get(id)[0]`` of
        :func:`asttools.timestamp_embeddings` or of its ``pool``.
    embeddings : ndarray, shape (T, d)
        One vector per time: ``res.get(id)[1]``.
    ax : matplotlib Axes, optional
        Where to draw; a new 6.3 x 2.4 in figure when None.
    audio_span : (float, float), optional
        Start and end of the audio on the video's clock, ``(offset_s, offset_s +
        duration_s)`` from ``res.inputs``. NaN (as ``res.inputs`` gives for a clip without
        an audio stream) means the clip has no audio: the whole video is hatched. None:
        nothing is marked.
    video_duration : float, optional
        The video's length in seconds (``video_duration_s``): the x axis runs from 0 to
        it. Default: the span of the cells.
    frame_rate : float, optional
        Video frames per second: adds a top axis in frames.
    dims : int, optional
        Draw only the first ``dims`` dimensions (the default, None, draws all).
    standardize : bool, default True
        Show each dimension as z-scores over its finite values (dimensions differ in
        scale); the colours then run over -3 to 3. Otherwise the values, on a scale
        symmetric about 0.
    colorbar : bool, default True
        Add a colour bar beside the Axes.
    cmap : str, default "vlag"
        A diverging colour map.
    title : str, optional
        Axes title.
    meta : mapping, optional
        Provenance (``res.meta``): with ``random_weights`` true the title says
        "(random weights)".

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: x in seconds of video time, y the dimensions (0 at the bottom).

    Raises
    ------
    ParameterError
        Shapes disagree, ``times`` is empty, not finite or not increasing, ``audio_span``
        is not two numbers with the end after the start, or ``video_duration``,
        ``frame_rate`` or ``dims`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(75) / 25 + 0.02                       # 25 fps frames of a 3 s video
    >>> e = np.random.default_rng(0).normal(size=(75, 16))
    >>> ax = plot_timestamp_embeddings(t, e, audio_span=(0.976, 3.0), video_duration=3.0,
    ...                                frame_rate=25)
    """
    t = as_array(times, "times", ndim=1)
    e = as_array(embeddings, "embeddings", ndim=2)
    if len(t) == 0:
        raise ParameterError("times is empty: there is nothing to plot")
    if e.shape[0] != len(t):
        raise ParameterError(f"embeddings must have one row per time, given "
                             f"times.shape={t.shape} and embeddings.shape={e.shape}")
    if not np.isfinite(t).all():
        k = int(np.argmax(~np.isfinite(t)))
        raise ParameterError(f"times must be finite seconds, given times[{k}]={float(t[k])!r}")
    if (np.diff(t) <= 0).any():
        k = int(np.argmax(np.diff(t) <= 0))
        raise ParameterError(f"times must increase, given times[{k}]={t[k]:g} and "
                             f"times[{k + 1}]={t[k + 1]:g}")
    for name, value in (("video_duration", video_duration), ("frame_rate", frame_rate),
                        ("dims", dims)):
        if value is not None and not (isinstance(value, (int, float, np.integer, np.floating))
                                      and not isinstance(value, bool)
                                      and math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} must be a positive number or None, given "
                                 f"{name}={value!r}")
    span = _audio_span(audio_span)
    if dims is not None:
        e = e[:, : int(dims)]

    if len(t) > 1:  # each cell from midway to the previous time to midway to the next
        mids = (t[:-1] + t[1:]) / 2
        edges = np.concatenate([[2 * t[0] - mids[0]], mids, [2 * t[-1] - mids[-1]]])
    else:
        edges = np.array([t[0] - 0.05, t[0] + 0.05])
    values = e
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN dimensions
        if standardize:
            sd = np.nanstd(e, axis=0)
            values = (e - np.nanmean(e, axis=0)) / np.where(sd > 0, sd, 1.0)
            limit = 3.0
        else:
            limit = float(np.nanmax(np.abs(e))) if np.isfinite(e).any() else 1.0
    limit = limit if limit > 0 else 1.0

    ax = new_axes(ax, (DEFAULT_WIDTH, 2.4))
    mesh = ax.pcolormesh(edges, np.arange(values.shape[1] + 1) - 0.5,
                         np.ma.masked_invalid(values.T), cmap=cmap, vmin=-limit, vmax=limit,
                         shading="flat", rasterized=True, zorder=1)
    lo, hi = (0.0, float(video_duration)) if video_duration is not None else \
        (float(edges[0]), float(edges[-1]))
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.5, values.shape[1] - 0.5)
    ax.grid(False)

    if span is not None:
        gaps = [(lo, hi)] if span == "none" else [(lo, span[0]), (span[1], hi)]
        for a, b in gaps:
            if b - a <= 1e-9:
                continue
            ax.axvspan(a, b, facecolor="white", alpha=0.55, edgecolor=_NO_AUDIO_COLOR,
                       hatch="///", linewidth=0, zorder=2)
            ax.text((a + b) / 2, 0.5, "no audio", transform=ax.get_xaxis_transform(),
                    ha="center", va="center", fontsize="small", color="0.15", zorder=4,
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.9})
        if span != "none":
            for x, what in ((span[0], "starts"), (span[1], "ends")):
                if lo < x < hi:
                    ax.axvline(x, color="0.1", linestyle="--", linewidth=1.0, zorder=3,
                               label=f"audio {what} at {x:.3f} s")
                    ax.text(x, 0.97, f" audio {what}\n {x:.3f} s ",
                            transform=ax.get_xaxis_transform(), fontsize="x-small",
                            ha="left" if what == "starts" else "right", va="top",
                            color="0.1", zorder=4,
                            bbox={"boxstyle": "square,pad=0.15", "facecolor": "white",
                                  "edgecolor": "none", "alpha": 0.85})

    if frame_rate is not None:
        fps = float(frame_rate)
        top = ax.secondary_xaxis("top", functions=(lambda s: s * fps, lambda f: f / fps))
        top.set_xlabel("Video frame", fontsize="small")
        if (hi - lo) * fps <= 300:  # a minor tick at every frame
            top.xaxis.set_minor_locator(MultipleLocator(1))
            top.tick_params(which="minor", length=2)
    ax.set_xlabel("Video time (s)")
    ax.set_ylabel("Dimension")
    if colorbar:
        bar = ax.figure.colorbar(mesh, ax=ax, pad=0.01, fraction=0.04)
        bar.set_label("z-score" if standardize else "Value")
    set_title(ax, title, meta)
    return ax


def _plain(value):
    """A numpy scalar as the Python value it holds (so that messages print ``50.0``)."""
    return value.item() if isinstance(value, np.generic) else value


def _audio_span(audio_span) -> tuple[float, float] | str | None:
    """None, ``"none"`` (no audio: NaN given), or a checked (start, end)."""
    if audio_span is None:
        return None
    try:
        start, end = (float(v) for v in audio_span)
    except (TypeError, ValueError):
        raise ParameterError(f"audio_span must be (start_s, end_s), given "
                             f"audio_span={audio_span!r}") from None
    if math.isnan(start) or math.isnan(end):
        return "none"
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise ParameterError(f"audio_span must be (start_s, end_s) with end_s after start_s, "
                             f"given audio_span={audio_span!r}")
    return start, end
