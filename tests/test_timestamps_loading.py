"""timestamp_embeddings' inputs asked for a range load through the decode pool (issue 19,
item 1): the same steps as the whole decode in the main thread that they replaced, files
decoded in ``workers`` processes, long files read as streams with only the audio near the
range kept, and a file that fails costs its input alone."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import decode_or_abort, write_av

import asttools.audio._decode as decode_mod
import asttools.audio.sources as sources_mod
import asttools.timestamps._load as load_mod
from asttools.audio import load_audio
from asttools.audio.sources import file_media
from asttools.constants import SAMPLE_RATE
from asttools.errors import ASTToolsWarning
from asttools.run.inputs import Item
from asttools.timestamps import timestamp_embeddings

SR = SAMPLE_RATE
WIN = round(10.24 * SR)  # samples per window


def _stereo(seconds: float, sr: int, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    left = 0.3 * np.sin(2 * np.pi * (200 + 40 * t) * t)
    return np.stack([left, 0.1 * rng.standard_normal(len(t))]).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 25 s 44.1 kHz stereo WAV, a 12 s mp4 with a video and a 48 kHz AAC track, and a
    30 s 48 kHz stereo WAV (long enough to stream once STREAM_S is lowered)."""
    root = tmp_path_factory.mktemp("ranges")
    sf.write(root / "s44.wav", _stereo(25.0, 44100).T, 44100)
    write_av(root / "clip.mp4", audio=_stereo(12.0, 48000, seed=1), sr=48000, seconds=12.0)
    sf.write(root / "long.wav", _stereo(30.0, 48000, seed=2).T, 48000)
    return root


def before(model, path, *, start_s, end_s, offset_s=None, channel=None):
    """What the loading before issue 19 gave: the file decoded whole in this thread
    (``load_audio`` at 16 kHz, the old ``_waveform``), the range run on the file's clock
    (its header offset, as the old ``_header_offset`` read it)."""
    wav, _ = load_audio(path, channel=channel)
    if offset_s is None:
        offset_s = file_media(path)[0].get("audio_offset_s") or 0.0
    return timestamp_embeddings((wav, SR), model=model, offset_s=offset_s, start_s=start_s,
                                end_s=end_s)


def assert_same_steps(new, ref):
    assert len(new.errors) == 0 and len(ref.errors) == 0
    assert len(new) == len(ref) > 0
    np.testing.assert_allclose(new.table["time_s"], ref.table["time_s"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(new.table["window"], ref.table["window"])
    np.testing.assert_allclose(new.embeddings, ref.embeddings, rtol=0, atol=1e-6)
    for c in ("offset_s", "duration_s", "n_windows", "n_rows"):
        np.testing.assert_allclose(new.inputs[c], ref.inputs[c], rtol=0, atol=1e-9)


@pytest.fixture
def no_decoding_here(monkeypatch):
    """Decoding a whole file in this process fails the test: with ``workers >= 1`` files
    decode in worker processes, which these patches do not reach."""

    def refuse(*args, **kwargs):
        raise AssertionError("a file was decoded whole in the main process")

    monkeypatch.setattr(sources_mod, "load_audio", refuse)
    monkeypatch.setattr(decode_mod, "load_audio", refuse)


@pytest.mark.parametrize("name, start_s, end_s, workers", [("s44.wav", 6.0, 14.0, 2),
                                                           ("s44.wav", None, 4.0, 0),
                                                           ("clip.mp4", 3.0, None, 1)])
def test_a_range_of_a_file_decodes_in_the_pool_with_the_same_steps(tiny_model, files, name,
                                                                   start_s, end_s, workers):
    path = str(files / name)
    new = timestamp_embeddings(path, model=tiny_model, start_s=start_s, end_s=end_s,
                               workers=workers)
    assert_same_steps(new, before(tiny_model, path, start_s=start_s, end_s=end_s))


@pytest.mark.slow
def test_a_range_of_a_file_gives_the_whole_files_steps(tiny_model, files):
    """The whole file goes through iter_embed's own decoding: the range's steps are its."""
    for name, start_s, end_s in (("s44.wav", 6.0, 14.0), ("clip.mp4", 3.0, 20.0)):
        path = str(files / name)
        new = timestamp_embeddings(path, model=tiny_model, start_s=start_s, end_s=end_s)
        whole = timestamp_embeddings(path, model=tiny_model)
        t = whole.table["time_s"].to_numpy()
        keep = (t >= start_s) & (t < end_s)
        np.testing.assert_array_equal(new.table["time_s"], t[keep])
        np.testing.assert_allclose(new.embeddings, whole.embeddings[keep], rtol=0, atol=1e-6)


def test_with_workers_no_file_is_decoded_in_the_main_process(tiny_model, files,
                                                            no_decoding_here):
    paths = [str(files / "s44.wav"), str(files / "clip.mp4")]
    out = timestamp_embeddings(paths, model=tiny_model, start_s=[6.0, 2.0],
                               end_s=[9.0, 5.0], workers=1, channel=1)
    assert out.errors.empty and out.inputs["n_rows"].tolist() == [30, 30]
    with pytest.raises(AssertionError, match="decoded whole in the main process"):
        timestamp_embeddings(paths[0], model=tiny_model, start_s=6.0, end_s=9.0, workers=0)


@pytest.fixture
def streamed(monkeypatch):
    """Stream every file longer than 5 s, 1.3 s at a time, in this process (workers=0);
    count whole-file decodes."""
    whole = []
    real = sources_mod.load_audio

    def counting(path, **kwargs):
        whole.append(str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(sources_mod, "STREAM_S", 5.0)
    monkeypatch.setattr(decode_mod, "BLOCK_S", 1.3)
    monkeypatch.setattr(sources_mod, "load_audio", counting)
    return whole


@pytest.mark.parametrize("start_s, end_s, offset_s", [(12.0, 20.0, None), (None, 4.0, None),
                                                      (22.0, None, None), (3.5, 9.0, 1.25),
                                                      (29.9, None, None)])
def test_a_range_of_a_long_file_streams_with_the_same_steps(tiny_model, files, streamed,
                                                            start_s, end_s, offset_s):
    path = str(files / "long.wav")
    new = timestamp_embeddings(path, model=tiny_model, start_s=start_s, end_s=end_s,
                               offset_s=offset_s, workers=0)
    assert streamed == []  # read block by block, never decoded whole
    assert_same_steps(new, before(tiny_model, path, start_s=start_s, end_s=end_s,
                                  offset_s=offset_s))


def test_a_stream_keeps_only_the_audio_near_the_range(files, streamed):
    """The samples kept are those of the whole decode, and no more than the range and a
    window's length on each side."""
    path = str(files / "long.wav")
    whole, _ = load_audio(path)
    streamed.clear()
    items = [Item(0, path, None, path), Item(1, path, None, path)]
    ranges = {0: (12.0, 14.0, None), 1: (3.5, 9.0, 1.25)}
    got = list(load_mod.decoded_ranges(items, ranges, win=WIN, channel=None,
                                       audio_stream=None, workers=0))
    assert streamed == []
    seen = []
    for (it, d), (start, end, offset) in zip(got, ranges.values(), strict=True):
        assert it is items[len(seen)]
        seen.append(it)
        assert d.n_samples == len(whole) and d.media["audio_offset_s"] == 0.0
        np.testing.assert_array_equal(d.samples, whole[d.first: d.first + len(d.samples)])
        lo, hi = (start - (offset or 0.0)) * SR, (end - (offset or 0.0)) * SR
        assert d.first <= max(lo - WIN, 0) and d.first + len(d.samples) >= hi + WIN
        assert len(d.samples) <= hi - lo + 2 * WIN + 2 < len(whole)
    assert got[0][1].first > 0  # 12 s in: the start was dropped, not only the end


def test_a_file_that_fails_to_decode_costs_its_input_alone(tiny_model, files, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    paths = [str(files / "s44.wav"), str(bad), str(files / "clip.mp4")]
    starts, ends = [6.0, 1.0, 3.0], [9.0, 2.0, 6.0]
    alone = timestamp_embeddings(paths[::2], model=tiny_model, start_s=starts[::2],
                                 end_s=ends[::2], workers=0)
    with pytest.warns(ASTToolsWarning, match=r"1 of 3 inputs failed .*bad\.wav: "):
        out = timestamp_embeddings(paths, model=tiny_model, start_s=starts, end_s=ends,
                                   workers=2)
    assert out.errors["item"].tolist() == [1] and out.errors["path"].tolist() == [paths[1]]
    assert out.errors["audio_status"].tolist() == ["decode_error"]
    assert "bad.wav" not in out.errors["reason"].iloc[0]  # the reason; the path apart
    assert out.inputs["item"].tolist() == [0, 2]
    for item, ref in ((0, 0), (2, 1)):
        times, emb = out.get(item)
        ref_times, ref_emb = alone.get(ref)
        assert len(times) == 30
        np.testing.assert_array_equal(times, ref_times)
        np.testing.assert_allclose(emb, ref_emb, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_a_decoder_that_crashes_costs_its_input_alone(tiny_model, files, tmp_path,
                                                      monkeypatch):
    crash = tmp_path / "crash.wav"
    sf.write(crash, _stereo(3.0, SR).T, SR)
    monkeypatch.setattr(load_mod, "decode_file", decode_or_abort)
    paths = [str(files / "s44.wav"), str(crash), str(files / "clip.mp4")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        out = timestamp_embeddings(paths, model=tiny_model, start_s=[6.0, 0.0, 3.0],
                                   end_s=[9.0, 2.0, 6.0], workers=1, on_error="ignore")
    assert out.errors["path"].tolist() == [str(crash)]
    assert "the decoder crashed while reading it (killed by SIGABRT" in \
        out.errors["reason"].iloc[0]
    assert out.inputs["item"].tolist() == [0, 2] and out.inputs["n_rows"].tolist() == [30, 30]
