"""timestamp_embeddings: geometry, stitching as pure selection, locality, a click on the
video's clock, pooling onto frames, and the result object."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import noise, sine

import asttools
from asttools.audio import resample
from asttools.constants import FRAME_LENGTH, FRAME_SHIFT, PATCH_SIZE, SAMPLE_RATE, TIME_STRIDE
from asttools.errors import ASTToolsWarning, ParameterError
from asttools.run.steps import (
    DEFAULT_HOP_S,
    FIRST_STEP_S,
    STEP_S,
    audio_columns,
    check_hop,
    column_spans,
    column_times,
    stitch,
)
from asttools.timestamps import check_frame_rate, pool_to_times, timestamp_embeddings

SR = SAMPLE_RATE
HOP = DEFAULT_HOP_S
MIDDLE_S = 10.24 / 2  # the middle of a 10.24 s window


@pytest.fixture(scope="module")
def clip():
    return noise(25.0, seed=3)


@pytest.fixture(scope="module")
def whole(tiny_model, clip):
    """A 25 s clip (4 windows at the default hop), a 3 s clip and a 10.24 s clip in one run."""
    return timestamp_embeddings([clip, noise(3.0, seed=4), noise(10.24, seed=5)], sr=SR,
                                model=tiny_model)


def window_columns(model, wav: np.ndarray, *, layer: int = -1) -> np.ndarray:
    """(101, d): the columns of one window, computed on that window's audio alone."""
    out = asttools.embed(wav, sr=SR, model=model, pooling="time", layer=layer)
    assert out.embeddings.shape[0] == 1
    return out.embeddings[0]


# --------------------------------------------------------------------------- geometry


def test_column_times_follow_the_frames_and_patches():
    # frame i covers samples [160 i, 160 i + 400): centre 0.01 i + 0.0125 s
    def frame_centre(i):
        return (i * FRAME_SHIFT + FRAME_LENGTH / 2) / SR

    t = np.arange(101)
    expected = (frame_centre(TIME_STRIDE * t) + frame_centre(TIME_STRIDE * t + PATCH_SIZE - 1)) / 2
    np.testing.assert_allclose(column_times(), expected, atol=1e-12)
    np.testing.assert_allclose(column_times(), 0.1 * t + 0.0875, atol=1e-12)
    assert STEP_S == pytest.approx(0.1) and FIRST_STEP_S == pytest.approx(0.0875)
    spans = column_spans()
    np.testing.assert_allclose(spans[:, 1] - spans[:, 0], 0.175)  # 2800 samples
    np.testing.assert_allclose(spans.mean(axis=1), column_times())


def test_audio_columns_drop_steps_past_the_end():
    assert audio_columns(163840) == 101  # a whole window
    assert audio_columns(1400) == 0  # column 0's centre is sample 1400: not before the end
    assert audio_columns(1401) == 1
    assert audio_columns(16000) == 10  # 1 s: centres 0.0875 ... 0.9875
    assert audio_columns(0) == 0


def test_hop_must_lie_on_the_column_grid():
    assert check_hop(HOP) == 51
    assert check_hop(10.1) == 101 and check_hop(0.1) == 1
    with pytest.raises(ParameterError, match=r"hop_s=5.12 s is not a multiple of the 0.1 s.*"
                                             r"hop_s=5.1"):
        check_hop(5.12)
    with pytest.raises(ParameterError, match=r"hop_s=10.2 s is longer than the 101 columns"):
        check_hop(10.2)
    for bad in (0, -1.0, float("nan"), "5", True):
        with pytest.raises(ParameterError, match="positive number of seconds"):
            check_hop(bad)


def test_a_hop_off_the_grid_is_refused_before_anything_runs(tiny_model):
    with pytest.raises(ParameterError, match="not a multiple of the 0.1 s"):
        timestamp_embeddings(noise(1.0), sr=SR, model=tiny_model, hop_s=5.12)


# --------------------------------------------------------------------------- stitch alone


def labelled_columns(n_windows: int) -> np.ndarray:
    """Columns whose two values say which window and column they are."""
    cols = np.zeros((n_windows, 101, 2), np.float32)
    cols[..., 0] = np.arange(n_windows)[:, None]
    cols[..., 1] = np.arange(101)[None, :]
    return cols


def test_stitch_takes_each_step_whole_from_its_most_central_window():
    starts = np.array([0.0, 5.1, 10.2, 15.3])
    ends = np.array([10.24, 15.34, 20.44, 25.0])  # a 25 s clip
    s = stitch(labelled_columns(4), starts, ends_s=ends)
    assert s.embeddings.dtype == np.float32 and s.embeddings.shape == (250, 2)
    np.testing.assert_allclose(np.diff(s.times), 0.1, atol=1e-9)
    assert s.times[0] == pytest.approx(0.0875) and s.times[-1] < 25.0 <= s.times[-1] + 0.1
    # pure selection: each row is one column of one window, as labelled
    np.testing.assert_array_equal(s.embeddings[:, 0], s.windows)
    np.testing.assert_array_equal(s.embeddings[:, 1], s.columns)
    for time, k in zip(s.times, s.windows, strict=True):  # most central of the candidates
        cand = [w for w in range(4) if 0 <= time - starts[w] - 0.0875 < 10.05
                and time < ends[w]]
        dist = [abs(time - starts[w] - MIDDLE_S) for w in cand]
        assert k == cand[int(np.argmin(dist))]
    inner = (s.windows > 0) & (s.windows < 3)
    assert s.columns[inner].min() == 25 and s.columns[inner].max() == 75


def test_stitch_refuses_windows_off_the_grid_gaps_and_bad_shapes():
    with pytest.raises(ParameterError, match=r"window 1 starts at 5.12 s, not a multiple"):
        stitch(labelled_columns(2), [0.0, 5.12])
    with pytest.raises(ParameterError, match="no window covers the steps from 10.1875 s"):
        stitch(labelled_columns(2), [0.0, 10.2])
    with pytest.raises(ParameterError, match=r"shape \(n_windows, 101, d\)"):
        stitch(np.zeros((2, 100, 3)), [0.0, 5.1])
    with pytest.raises(ParameterError, match="give one start"):
        stitch(labelled_columns(2), [0.0])


# --------------------------------------------------------------------------- the run


def test_shapes_times_and_dtypes(whole, tiny_model):
    d = tiny_model.config.hidden_size
    assert list(whole.table.columns) == ["item", "id", "path", "time_s", "window"]
    assert whole.embeddings.dtype == np.float32 and whole.embeddings.shape == (len(whole), d)
    durations = {0: 25.0, 1: 3.0, 2: 10.24}
    windows = {0: 4, 1: 1, 2: 1}  # ceil((25 - 10.24) / 5.1) + 1 windows; one up to 10.24 s
    for item, duration in durations.items():
        t, e = whole.get(item)
        assert e.shape == (len(t), d) and e.dtype == np.float32
        assert t[0] == pytest.approx(0.0875)
        np.testing.assert_allclose(np.diff(t), 0.1, atol=1e-9)
        assert t[-1] < duration  # the last step lies inside the clip
        assert t[-1] + 0.1 >= min(duration, (windows[item] - 1) * HOP + 10.0875) - 1e-9
    assert whole.inputs["n_windows"].tolist() == [4, 1, 1]
    assert whole.inputs["n_rows"].tolist() == [250, 30, 101]
    assert whole.meta["hop_s"] == HOP and whole.meta["pooling"] == "time"
    assert whole.random_weights and "RANDOM WEIGHTS" in repr(whole)


def test_each_step_is_its_window_column_computed_on_that_window_alone(whole, tiny_model, clip):
    t, e = whole.get(0)
    win = whole.table.loc[whole.table["item"] == 0, "window"].to_numpy()
    for k in np.unique(win):
        a = round(k * HOP * SR)
        cols = window_columns(tiny_model, clip[a: a + 163840])
        col = np.rint((t[win == k] - k * HOP - FIRST_STEP_S) / STEP_S).astype(int)
        np.testing.assert_allclose(e[win == k], cols[col], atol=1e-6, rtol=0)
    # the source is the most central window, and away from the clip's ends every step has
    # at least a quarter window (2.56 s) of its window on each side
    starts = np.arange(4) * HOP
    ends = np.minimum(starts + 10.24, 25.0)
    for time, k in zip(t, win, strict=True):
        cand = [w for w in range(4) if starts[w] + 0.0875 <= time + 1e-9
                and time < min(ends[w], starts[w] + 10.1)]
        assert k == cand[int(np.argmin([abs(time - starts[w] - MIDDLE_S) for w in cand]))]
        if 2.56 <= time <= 25.0 - 2.56:
            assert time - starts[k] >= 2.56 and starts[k] + 10.24 - time >= 2.56


@pytest.mark.parametrize(("start", "end"), [(12.0, 14.0), (3.3, 19.05), (20.0, None)])
def test_a_sub_range_gives_the_values_of_the_whole_clip(whole, tiny_model, clip, start, end):
    part = timestamp_embeddings(clip, sr=SR, model=tiny_model, start_s=start, end_s=end)
    t_all, e_all = whole.get(0)
    inside = (t_all >= start) & (t_all < (np.inf if end is None else end))
    t, e = part.get(0)
    np.testing.assert_allclose(t, t_all[inside], atol=1e-9)
    np.testing.assert_allclose(e, e_all[inside], atol=1e-6, rtol=0)
    w_all = whole.table.loc[whole.table["item"] == 0, "window"].to_numpy()
    np.testing.assert_array_equal(part.table["window"], w_all[inside])
    # only the windows the range's steps come from were run
    assert part.inputs["n_windows"].iloc[0] == len(np.unique(w_all[inside]))


def test_a_sub_range_of_a_file_on_the_video_clock(tiny_model, tmp_path):
    wav = noise(16.0, seed=8)
    path = tmp_path / "clip_44k.wav"  # decoded and resampled the same way either way
    sf.write(path, resample(wav, SR, 44100), 44100, subtype="FLOAT")
    offset = 0.976
    full = timestamp_embeddings(str(path), model=tiny_model, offset_s=offset)
    part = timestamp_embeddings([str(path)], model=tiny_model, offset_s=[offset],
                                start_s=[9.0], end_s=[11.5])
    t_all, e_all = full.get(str(path))
    assert t_all[0] == pytest.approx(offset + 0.0875)
    inside = (t_all >= 9.0) & (t_all < 11.5)
    t, e = part.get(0)
    np.testing.assert_allclose(t, t_all[inside], atol=1e-9)
    np.testing.assert_allclose(e, e_all[inside], atol=1e-6, rtol=0)


def test_steps_of_a_window_depend_only_on_its_audio(whole, tiny_model, clip):
    k = 1  # window 1 spans [5.1, 15.34) s
    a, b = round(k * HOP * SR), round(k * HOP * SR) + 163840
    other = noise(25.0, seed=11, amp=0.3)
    changed = other.copy()
    changed[a:b] = clip[a:b]
    res = timestamp_embeddings(changed, sr=SR, model=tiny_model)
    win = whole.table.loc[whole.table["item"] == 0, "window"].to_numpy()
    _, e_all = whole.get(0)
    _, e_new = res.get(0)
    np.testing.assert_allclose(e_new[win == k], e_all[win == k], atol=1e-6, rtol=0)
    assert not np.allclose(e_new[win != k], e_all[win != k], atol=1e-3)  # the rest changed


# --------------------------------------------------------------------------- a click


@pytest.mark.parametrize("offset", [0.0, 0.976])
def test_a_click_shows_up_at_its_time_on_the_video_clock(tiny_model, offset):
    click_s = 7.3
    base = noise(20.0, seed=21, amp=0.01)
    clicked = base.copy()
    at = round(click_s * SR)
    clicked[at: at + 16] += 0.9
    res = timestamp_embeddings([base, clicked], sr=SR, model=tiny_model, layer=0,
                               offset_s=offset)
    t, e0 = res.get(0)
    _, e1 = res.get(1)
    diff = np.linalg.norm(e1 - e0, axis=1)
    true = click_s + offset
    assert abs(t[np.argmax(diff)] - true) <= STEP_S
    pooled = res.pool(frame_rate=25)
    ft, f0 = pooled.get(0)
    _, f1 = pooled.get(1)
    top = int(np.argmax(np.linalg.norm(f1 - f0, axis=1)))
    assert abs(ft[top] - true) <= 1 / 25
    rows = pooled.table[pooled.table["item"] == 1]
    assert len(rows) == int(np.ceil((20.0 + offset) * 25))  # frames 0 ... end of the audio
    assert not rows["has_audio"].iloc[: int(offset * 25)].any()
    assert rows["has_audio"].iloc[int(np.ceil(offset * 25)):].all()


def test_at_the_final_layer_a_step_depends_on_its_whole_window(tiny_model):
    """AST attends over the whole 10.24 s window: the click changes every step taken from
    a window that contains it (windows 0 and 1), and no other."""
    base = noise(20.0, seed=21, amp=0.01)
    clicked = base.copy()
    at = round(7.3 * SR)
    clicked[at: at + 16] += 0.9
    res = timestamp_embeddings([base, clicked], sr=SR, model=tiny_model)
    _, e0 = res.get(0)
    _, e1 = res.get(1)
    changed = np.abs(e1 - e0).max(axis=1) > 1e-5
    windows = res.table.loc[res.table["item"] == 0, "window"].to_numpy()
    np.testing.assert_array_equal(changed, np.isin(windows, [0, 1]))


# --------------------------------------------------------------------------- pooling


STEPS_T = 0.0875 + 0.1 * np.arange(30)
STEPS_E = np.random.default_rng(5).normal(size=(30, 4)).astype(np.float32)


def test_pool_means_the_steps_inside_each_span():
    p = pool_to_times(STEPS_T, STEPS_E, frame_rate=25, frames_per_vector=16)  # 0.64 s
    assert p.embeddings.dtype == np.float32 and p.embeddings.shape == (5, 4)
    np.testing.assert_allclose(p.spans[:, 1] - p.spans[:, 0], 0.64)
    for (a, b), vec, n in zip(p.spans, p.embeddings, p.n_steps, strict=True):
        inside = (STEPS_T >= a) & (STEPS_T < b)
        assert n == inside.sum() > 0
        np.testing.assert_allclose(vec, STEPS_E[inside].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(p.times, p.spans.mean(axis=1))


def test_pool_interpolates_frames_that_hold_no_step():
    p = pool_to_times(STEPS_T, STEPS_E, frame_rate=25)  # 40 ms frames, 100 ms steps
    assert len(p.times) == 76  # frames overlapping [0, 2.9875 + 0.05): last step + half a step
    for c, (a, b), vec, n in zip(p.times, p.spans, p.embeddings, p.n_steps, strict=True):
        inside = (STEPS_T >= a) & (STEPS_T < b)
        if inside.any():
            np.testing.assert_allclose(vec, STEPS_E[inside].mean(axis=0), atol=1e-6)
        else:
            assert n == 0
            expected = [np.interp(c, STEPS_T, STEPS_E[:, j]) for j in range(4)]
            np.testing.assert_allclose(vec, expected, atol=1e-6)


def test_pool_onto_explicit_times_and_a_range():
    points = np.array([0.0875, 0.5, 1.23, 5.0])
    p = pool_to_times(STEPS_T, STEPS_E, times=points)
    np.testing.assert_allclose(p.embeddings[0], STEPS_E[0], atol=1e-7)  # on a step
    np.testing.assert_allclose(p.embeddings[3], STEPS_E[-1], atol=1e-7)  # after the last
    assert p.n_steps.tolist() == [0, 0, 0, 0]
    spans = np.array([[0.0, 1.0], [1.0, 1.05]])
    q = pool_to_times(STEPS_T, STEPS_E, times=spans)
    np.testing.assert_allclose(q.embeddings[0], STEPS_E[:10].mean(axis=0), atol=1e-6)
    assert q.n_steps.tolist() == [10, 0]
    r = pool_to_times(STEPS_T, STEPS_E, frame_rate=10, start_s=1.0, end_s=2.0)
    np.testing.assert_allclose(r.spans[[0, -1]], [[1.0, 1.1], [1.9, 2.0]], atol=1e-9)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "exactly one of frame_rate"),
    ({"frame_rate": 25, "times": [1.0]}, "exactly one of frame_rate"),
    ({"frame_rate": -1}, "frame_rate must be a number of frames per second above 0"),
    ({"frame_rate": 25, "frames_per_vector": 0}, "frames_per_vector must be an integer"),
    ({"frame_rate": 25, "start_s": 2.0, "end_s": 1.0}, "end_s=1 must be after start_s=2"),
    ({"times": np.zeros((2, 3))}, r"shape \(m,\), or \[start, end\) spans"),
    ({"times": [[1.0, 0.5]]}, r"times span 0, \[1, 0.5\), ends before it starts"),
    ({"times": [1.0], "end_s": 2.0}, "with times= give exactly the times"),
])
def test_pool_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        pool_to_times(STEPS_T, STEPS_E, **kwargs)


def test_pool_refuses_bad_steps():
    with pytest.raises(ParameterError, match="strictly increasing"):
        pool_to_times(STEPS_T[::-1], STEPS_E, frame_rate=25)
    with pytest.raises(ParameterError, match="no steps"):
        pool_to_times(np.zeros(0), np.zeros((0, 4)), frame_rate=25)
    with pytest.raises(ParameterError, match=r"got shapes \(30,\) and \(29, 4\)"):
        pool_to_times(STEPS_T, STEPS_E[:-1], frame_rate=25)


# --------------------------------------------------------------------------- the result


def test_padded_get_and_failures(tiny_model, tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.warns(ASTToolsWarning, match="1 of 3 inputs failed"):
        res = timestamp_embeddings([(noise(2.0), SR), str(missing), (noise(1.0), SR)],
                                   model=tiny_model, frame_rate=10)
    assert res.errors["item"].tolist() == [1]
    padded = res.padded(fill_value=np.nan)
    assert padded.embeddings.shape == (3, 20, tiny_model.config.hidden_size)
    assert padded.mask.sum(axis=1).tolist() == [20, 0, 10]
    assert np.isnan(padded.embeddings[1]).all() and np.isnan(padded.times[2, 10:]).all()
    assert (res.padded().embeddings[1] == 0).all()  # the default fill_value
    with pytest.warns(DeprecationWarning, match=r"padded\(fill_value=...\)"):
        old = res.padded(fill=-1.5)  # the old keyword, one release
    assert (old.embeddings[1] == -1.5).all() and (old.embeddings[~old.mask] == -1.5).all()
    np.testing.assert_array_equal(old.embeddings[old.mask], padded.embeddings[padded.mask])
    with pytest.raises(ParameterError, match="failed"):
        res.get(1)
    with pytest.raises(ParameterError, match="failed"):
        res.get(str(missing))
    with pytest.raises(ParameterError, match="pooled already"):
        res.pool(frame_rate=25)
    with pytest.raises(asttools.AudioError, match="missing.wav"):
        timestamp_embeddings(str(missing), model=tiny_model, on_error="raise")


def test_an_input_without_a_step_warns(tiny_model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # check_waveform's own "shorter than one patch"
        with pytest.warns(ASTToolsWarning, match="holds no time step"):
            res = timestamp_embeddings(noise(0.05), sr=SR, model=tiny_model)
    assert len(res) == 0 and res.inputs["n_rows"].tolist() == [0]


def test_bad_settings(tiny_model):
    with pytest.raises(ParameterError, match="offset_s has 2 values for 1 inputs"):
        timestamp_embeddings(noise(1.0), sr=SR, model=tiny_model, offset_s=[0.0, 1.0])
    with pytest.raises(ParameterError, match="end_s=1 must be after start_s=2"):
        timestamp_embeddings(noise(1.0), sr=SR, model=tiny_model, start_s=2.0, end_s=1.0)
    with pytest.raises(ParameterError, match="give its sample rate"):
        timestamp_embeddings(noise(1.0), model=tiny_model)
    with pytest.raises(ParameterError, match="on_error="):
        timestamp_embeddings(noise(1.0), sr=SR, model=tiny_model, on_error="skip")


def test_exported_from_the_package_root():
    assert asttools.timestamp_embeddings is timestamp_embeddings


# --- settings checked before any work; a missing file ---------------------------------------


@pytest.mark.parametrize("rate", [0, -5, math.nan, math.inf, 1e9, 1000.5, True, "25"])
def test_a_bad_frame_rate_is_refused_before_any_work(tmp_path, rate):
    path = tmp_path / "a.wav"
    sf.write(path, sine(440, SR, 1.0), SR)
    match = "frame_rate must be a number of frames per second above 0 and at most 1000"
    with pytest.raises(ParameterError, match=match):  # before the model: none is loaded
        asttools.timestamp_embeddings(path, model="/no/such/model", frame_rate=rate)
    with pytest.raises(ParameterError, match=match):
        check_frame_rate(rate)


def test_the_largest_frame_rate_is_accepted(tmp_path):
    assert check_frame_rate(1000) == 1000.0 and check_frame_rate(0.5) == 0.5
    assert check_frame_rate("video", allow_video=True) == "video"


def test_frames_per_vector_is_checked_before_any_work(tmp_path):
    with pytest.raises(ParameterError, match="frames_per_vector must be an integer >= 1"):
        asttools.timestamp_embeddings(np.zeros(SR, np.float32), sr=SR, model="/no/model",
                                      frame_rate=25, frames_per_vector=0)


def test_read_timestamps_on_a_missing_file_says_so(tmp_path):
    with pytest.raises(asttools.ASTToolsError, match=r"nope\.parquet: no such file"):
        asttools.read_timestamps(tmp_path / "nope.parquet")
