"""Frames at their real times (issue 20 item 1; issue 17 item 6's variable frame rate):
a generated clip flashes white at known frames; the decoded frames and the vectors' spans
must put each flash at its real time, at constant and variable frame rate."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
from video_fixtures import vfr_times, write_flashes

from asttools.errors import ASTToolsWarning, ParameterError, VideoError
from asttools.audio.frames import (
    frame_times,
    iter_frame_batches,
    load_frames,
    read_frames,
    real_frame_spans,
    sample_frames,
)

FLASHES = {5, 20, 41}
CFR = np.arange(60) / 25  # 25 fps, 2.4 s


@pytest.fixture(params=["cfr", "vfr"])
def clip(request, tmp_path):
    times = CFR if request.param == "cfr" else vfr_times(60)
    return write_flashes(tmp_path / f"{request.param}.mp4", times, FLASHES), times


def _bright(batch) -> np.ndarray:
    return batch.pixels.reshape(len(batch), -1).mean(axis=1) > 128


def test_frame_times_are_the_written_times_and_vfr_is_detected(clip):
    path, times = clip
    ft = frame_times(path)
    np.testing.assert_allclose(ft.times_s, times, atol=1e-9)
    variable = not np.allclose(np.diff(times), 0.04)
    assert ft.variable_frame_rate is variable
    # the nominal grid misses the real times of the variable clip by many milliseconds
    assert (ft.max_grid_error_s > 0.05) is variable


def test_decoded_flashes_lie_at_their_real_times(clip):
    path, times = clip
    batch = load_frames(path)
    assert batch.pixels.shape == (60, 1, 32, 32, 3)
    np.testing.assert_allclose(batch.frame_times_s[_bright(batch), 0],
                               times[sorted(FLASHES)], atol=1e-9)


@pytest.mark.parametrize("fps", [10.0, 25.0])
def test_vectors_at_a_rate_hold_the_flash_within_one_frame(clip, fps):
    path, times = clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)  # fps above the VFR clip's mean
        batch = load_frames(path, fps=fps)
    grid = np.arange(len(batch)) / fps
    # the frame on screen at k / fps: the last one at or before it
    expected = np.searchsorted(times, grid + 1e-6, side="right") - 1
    np.testing.assert_array_equal(batch.frame_index[:, 0], expected)
    bright_t = batch.time_s[_bright(batch)]
    for f in sorted(FLASHES):  # each sampled flash is within one frame of its real time
        near = bright_t[np.abs(bright_t - times[f]) <= np.diff(times).max()]
        assert len(near) <= int(np.ceil(np.diff(times).max() * fps)) + 1
    for t in bright_t:  # and nothing lit far from a flash
        assert np.min(np.abs(times[sorted(FLASHES)] - t)) <= np.diff(times).max()


def test_snippets_with_a_stride_and_their_spans(clip):
    path, times = clip
    batch = load_frames(path, snippet=16, stride=8, batch_size=2)
    assert batch.pixels.shape == (6, 16, 32, 32, 3)  # starts 0, 8, ..., 40 (44 + 16 > 60)
    np.testing.assert_array_equal(batch.frame_index[:, 0], [0, 8, 16, 24, 32, 40])
    np.testing.assert_allclose(batch.start_s, times[[0, 8, 16, 24, 32, 40]])
    last = batch.frame_index[:, -1]
    dur = np.append(np.diff(times), np.median(np.diff(times)))
    np.testing.assert_allclose(batch.end_s, times[last] + dur[last])
    lit = batch.pixels.reshape(6, 16, -1).mean(axis=2) > 128
    np.testing.assert_array_equal(np.sort(np.unique(batch.frame_index[lit])),
                                  sorted(FLASHES))


def test_frames_at_given_times(clip):
    path, times = clip
    at = times[sorted(FLASHES)] + 0.001
    batch = load_frames(path, at=at)
    assert _bright(batch).all()
    with pytest.raises(ParameterError, match=r"at=99 is outside the video"):
        load_frames(path, at=[99.0])


def test_a_video_shorter_than_one_snippet_is_padded_with_its_last_frame(tmp_path):
    path = write_flashes(tmp_path / "short.mp4", np.arange(10) / 25, {9})
    with pytest.warns(ASTToolsWarning, match="10 frames are fewer than one snippet of 16"):
        batch = load_frames(path, snippet=16)
    assert batch.pixels.shape[:2] == (1, 16)
    assert batch.n_padded.tolist() == [6]
    np.testing.assert_array_equal(batch.frame_index[0], list(range(10)) + [9] * 6)
    assert (batch.pixels[0, 9:].mean() > 128) and batch.pixels[0, :9].mean() < 128


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"fps": 0}, "fps=0 must be a positive"), ({"fps": float("nan")}, "fps=nan"),
    ({"snippet": 0}, "snippet=0 must be a positive integer"),
    ({"snippet": 2.5}, "snippet=2.5"), ({"stride": -1}, "stride=-1"),
    ({"batch_size": 0}, "batch_size=0")])
def test_a_sampling_that_cannot_be_served_is_refused(clip, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        load_frames(clip[0], **kwargs)


def test_a_file_without_video_has_a_status(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(VideoError, match="no video stream") as err:
        frame_times(tmp_path / "a.wav")
    assert err.value.status == "no_video_stream"
    with pytest.raises(VideoError) as err:
        frame_times(tmp_path / "missing.mp4")
    assert err.value.status == "unreadable"
    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 100)
    out = list(iter_frame_batches([tmp_path / "a.wav", tmp_path / "junk.mp4"]))
    assert [type(o).__name__ for _, o in out] == ["VideoError", "VideoError"]
    assert [o.status for _, o in out] == ["no_video_stream", "decode_error"]


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_a_stream_damaged_part_way_gives_the_frames_before(tmp_path, damage):
    path = write_flashes(tmp_path / "clip.mkv", CFR, FLASHES)
    full = load_frames(path)
    raw = bytearray(path.read_bytes())
    if damage == "cut":
        raw = raw[: len(raw) * 2 // 3]
    else:  # 400 random bytes in the middle
        raw[len(raw) // 2: len(raw) // 2 + 400] = \
            np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    with pytest.warns(ASTToolsWarning, match=r"frames end at .* but its header says 2.4\d* s"):
        part = load_frames(path)
    assert 0 < len(part) < len(full)
    # the frame that holds the damage may decode to garbage; those before it are intact
    np.testing.assert_array_equal(part.pixels[:-1], full.pixels[: len(part) - 1])
    np.testing.assert_array_equal(part.frame_times_s, full.frame_times_s[: len(part)])


def test_the_worker_pool_decodes_chunks_equal_to_one_pass(clip, tmp_path):
    path, _ = clip
    whole = load_frames(path, snippet=4, stride=3)
    outs = [b for _, b in iter_frame_batches([path, path], snippet=4, stride=3,
                                             batch_size=3, workers=2)]
    assert all(len(b) <= 3 for b in outs)
    joined = np.concatenate([b.pixels for b in outs[: len(outs) // 2]])
    np.testing.assert_array_equal(joined, whole.pixels)
    np.testing.assert_array_equal(
        np.concatenate([b.frame_index for b in outs[len(outs) // 2:]]), whole.frame_index)


def test_memory_is_bounded_by_a_batch(clip):
    path, _ = clip
    sizes = [len(b) for b in read_frames(path, batch_size=7)]
    assert max(sizes) == 7 and sum(sizes) == 60


def test_sampling_is_arithmetic_on_times(clip):
    ft = frame_times(clip[0])
    plan = sample_frames(ft, snippet=2, stride=1)
    assert len(plan) == 59 and plan.frame_index[-1].tolist() == [58, 59]
    spans, variable, _ = real_frame_spans(clip[0], frames_per_vector=16)
    assert spans.shape == (4, 2) and variable is ft.variable_frame_rate
    np.testing.assert_allclose(spans[:, 0], ft.times_s[[0, 16, 32, 48]])
    assert spans[-1, 1] == pytest.approx(ft.end_s)


# --------------------------------------------------------------------------- timestamps


@pytest.mark.filterwarnings("ignore:.*random weights:asttools.ASTToolsWarning")
def test_timestamps_pool_a_variable_rate_video_onto_its_real_frames(tmp_path, tiny_model):
    from asttools.timestamps import timestamp_embeddings

    sr = 16000
    audio = np.random.default_rng(0).standard_normal(sr * 3).astype(np.float32) * 0.1
    vfr, cfr = vfr_times(60), CFR
    paths = [write_flashes(tmp_path / "vfr.mkv", vfr, FLASHES, audio=audio, sr=sr),
             write_flashes(tmp_path / "cfr.mkv", cfr, FLASHES, audio=audio, sr=sr)]
    steps = timestamp_embeddings(paths, model=tiny_model)
    with pytest.warns(ASTToolsWarning, match=r"1 input\(s\) have a variable frame rate"):
        out = steps.pool(frame_rate="video")
    assert out.inputs["variable_frame_rate"].tolist() == [True, False]
    rows = out.table[out.table["item"] == 0]
    ft = frame_times(paths[0])
    np.testing.assert_allclose(rows["start_s"], ft.times_s)  # every real frame, in order
    np.testing.assert_allclose(rows["end_s"], ft.times_s + ft.durations_s)
    # each flash frame's row lies at the flash's real time
    np.testing.assert_allclose(rows["start_s"].to_numpy()[sorted(FLASHES)],
                               vfr[sorted(FLASHES)])
    # the same rows as pool_to_times on the real spans, by hand
    from asttools.timestamps import pool_to_times
    t, e = steps.get(0)
    spans = np.stack([ft.times_s, ft.times_s + ft.durations_s], axis=1)
    np.testing.assert_allclose(out.embeddings[out.table["item"] == 0],
                               pool_to_times(t, e, times=spans).embeddings, atol=1e-6)
    # the constant-rate clip keeps the nominal grid
    rows = out.table[out.table["item"] == 1]
    np.testing.assert_allclose(rows["start_s"], np.arange(len(rows)) / 25, atol=1e-9)


def test_a_constant_rate_rounded_to_milliseconds_is_not_variable(tmp_path):
    times = np.round(np.arange(240) / 120, 3)  # 120 fps in a 1 ms time base: 8/9 ms gaps
    ft = frame_times(write_flashes(tmp_path / "fast.mkv", times, set()))
    assert set(np.round(np.diff(ft.times_s), 3)) == {0.008, 0.009}
    assert ft.variable_frame_rate is False
