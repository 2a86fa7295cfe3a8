"""Files with several audio streams (issue 17, item 6): the count is recorded per input,
``audio_stream=`` / ``--audio-stream`` picks one, more than one warns once per run, and a
stream that does not exist is a clear error naming the file and the count."""

from __future__ import annotations

import warnings

import av
import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import _mux_audio, dominant_frequency, sine, write_av

import asttools
from asttools.apps.cli import main
from asttools.audio import load_audio, probe_media, stream_audio
from asttools.errors import AudioError, ParameterError
from asttools.store import extract

SR = 16000


def write_two_streams(path, freqs=(440.0, 1500.0), *, codec: str = "aac",
                      seconds: float = 2.0):
    """A 10 fps video with two mono audio streams, each a tone of its own frequency."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width = video.height = 32
        video.pix_fmt = "yuv420p"
        streams = [container.add_stream(codec, rate=48000, layout="mono") for _ in freqs]
        for i in range(round(seconds * 10)):
            img = np.full((32, 32, 3), 8 * i % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for st, f in zip(streams, freqs, strict=True):
            _mux_audio(container, st, sine(f, 48000, seconds)[None], 48000)
    return path


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    write_two_streams(root / "two.mkv")
    write_two_streams(root / "two.mp4", (300.0, 2000.0))
    sf.write(root / "one.wav", sine(700, SR, 1.0), SR)
    write_av(root / "mute.mp4", audio=None, seconds=1.0)
    return root


@pytest.mark.parametrize("name, freqs", [("two.mkv", (440, 1500)), ("two.mp4", (300, 2000))])
def test_decoding_picks_the_stream_asked_for(two, name, freqs):
    info = probe_media(two / name)
    assert info.n_audio_streams == 2 and info.has_video
    for k, f in enumerate(freqs):
        wav, sr = load_audio(two / name, audio_stream=k)
        assert dominant_frequency(wav, sr) == pytest.approx(f, abs=5)
        with stream_audio(two / name, audio_stream=k) as blocks:
            np.testing.assert_allclose(np.concatenate(list(blocks)), wav, atol=1e-6)
    first, _ = load_audio(two / name)
    np.testing.assert_array_equal(first, load_audio(two / name, audio_stream=0)[0])
    with pytest.raises(AudioError, match=r"audio_stream=2 asked for, but the file has 2 "
                                         r"audio streams \(0 to 1\)") as err:
        load_audio(two / name, audio_stream=2)
    assert err.value.status == "error" and name in str(err.value)
    with pytest.raises(AudioError, match="has 2 audio streams"):
        stream_audio(two / name, audio_stream=5)
    with pytest.raises(AudioError, match="has 2 audio streams"):
        probe_media(two / name, audio_stream=2)
    with pytest.raises(ParameterError, match="audio_stream must be None or an integer"):
        load_audio(two / name, audio_stream=-1)
    assert probe_media(two / "one.wav").n_audio_streams == 1
    assert probe_media(two / "mute.mp4").n_audio_streams == 0
    with pytest.raises(AudioError, match="has 1 audio stream \\(0 to 0\\)"):
        load_audio(two / "one.wav", audio_stream=1)


@pytest.mark.slow  # 5.4 s on the loaded 2-core machine (issue 19)
def test_embed_records_the_count_warns_once_and_picks(two, tiny_model):
    paths = [two / "two.mkv", two / "two.mp4", two / "one.wav", two / "mute.mp4"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = asttools.embed(paths, model=tiny_model, on_error="ignore")
    said = [str(w.message) for w in caught if "audio streams: using stream" in
            str(w.message)]
    assert len(said) == 1 and "two.mkv has 2 audio streams: using stream 0 (the first, " \
        "the default" in said[0]
    assert out.table["n_audio_streams"].tolist() == [2, 2, 1]
    assert out.status["n_audio_streams"].tolist() == [2, 2, 1, 0]
    second = asttools.embed(paths[:2], model=tiny_model, audio_stream=1)
    assert not np.allclose(second.embeddings[0], out.embeddings[0], atol=1e-4)
    alone = asttools.embed((load_audio(two / "two.mkv", audio_stream=1)[0], SR),
                           model=tiny_model)
    np.testing.assert_allclose(second.embeddings[0], alone.embeddings[0], atol=1e-5)
    # a stream a file does not have: that file fails, named, with its count
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)
        bad = asttools.embed(paths[1:3], model=tiny_model, audio_stream=1)
    assert bad.errors["path"].tolist() == [str((two / "one.wav").resolve())]
    assert "audio_stream=1 asked for, but the file has 1 audio stream" in \
        bad.errors["reason"].iloc[0]
    assert bad.errors["audio_status"].iloc[0] == "error"


@pytest.mark.slow  # 7.4 s on the loaded 2-core machine (issue 19)
def test_store_timestamps_and_cli_take_the_stream(two, tiny_model, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)
        res = extract([two / "two.mkv", two / "mute.mp4"], tmp_path / "S", model=tiny_model,
                      progress=False, audio_stream=1)
        ts = asttools.timestamp_embeddings(two / "two.mkv", model=tiny_model, audio_stream=1)
    status = res.status.set_index("id")
    assert status["n_audio_streams"].tolist() == [2, 0]
    assert res.meta["settings"]["audio_stream"] == 1
    ref = asttools.embed(two / "two.mkv", model=tiny_model, audio_stream=1)
    np.testing.assert_allclose(res.embeddings[0], ref.embeddings[0], atol=1e-5)
    assert ts.inputs["n_audio_streams"].tolist() == [2]
    alone = asttools.timestamp_embeddings(
        (load_audio(two / "two.mkv", audio_stream=1)[0], SR), model=tiny_model)
    np.testing.assert_allclose(ts.embeddings, alone.embeddings, atol=1e-5)
    with pytest.raises(ParameterError, match="audio_stream must be"):
        asttools.embed(two / "two.mkv", model=tiny_model, audio_stream="1")
    rc = main(["extract", str(two / "two.mkv"), "--out", str(tmp_path / "C"),
               "--model", "tiny-random", "--audio-stream", "1", "--quiet"])
    assert rc == 0
    stored = asttools.read_store(tmp_path / "C")
    np.testing.assert_allclose(stored.embeddings[0], ref.embeddings[0], atol=1e-5)
    assert stored.status["n_audio_streams"].tolist() == [2]
