"""Issue 18, the rest of items 3, 4 and 5: chained Ogg and concatenated FLAC decoded whole
(as FFmpeg decodes them), streaming chosen by decoded bytes (or an unknown length), and
every numeric option of the command line refused before any work."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import sine, write_av

import asttools
import asttools.sources as sources_mod
from asttools.audio import load_audio, probe_media, stream_audio
from asttools.errors import ASTToolsWarning
from asttools.sources import load_file, streams

SR = 16000
LINK_S = 3.0
N_LINKS = 4


def _links(tmp_path, fmt: str, ext: str, n: int = N_LINKS) -> tuple[str, list[np.ndarray]]:
    """``n`` files of LINK_S seconds written by soundfile, concatenated byte for byte."""
    rng = np.random.default_rng(0)
    parts, waves = [], []
    for i in range(n):
        # each link its own level, so a link decoded twice or dropped shows
        wav = (0.1 * (i + 1) * rng.standard_normal(int(LINK_S * SR))).astype(np.float32)
        p = tmp_path / f"link{i}.{ext}"
        sf.write(p, wav, SR, format=fmt)
        parts.append(p.read_bytes())
        waves.append(wav)
    out = tmp_path / f"chained.{ext}"
    out.write_bytes(b"".join(parts))
    return str(out), waves


@pytest.mark.parametrize("fmt,ext", [("OGG", "ogg"), ("FLAC", "flac")])
def test_soundfile_alone_reads_only_the_first_link(tmp_path, fmt, ext):
    path, _ = _links(tmp_path, fmt, ext)
    with sf.SoundFile(path) as f:  # the bug's cause: libsndfile stops after link one
        assert f.frames == int(LINK_S * SR)


@pytest.mark.parametrize("fmt,ext", [("OGG", "ogg"), ("FLAC", "flac")])
def test_a_chained_file_is_decoded_whole_with_a_warning(tmp_path, fmt, ext):
    path, waves = _links(tmp_path, fmt, ext)
    with pytest.warns(ASTToolsWarning, match=f"{N_LINKS} concatenated"):
        wav, sr = load_audio(path, sr=SR)
    total = N_LINKS * LINK_S
    # FFmpeg's FLAC parser loses up to one frame (4096 samples) at each join; Vorbis adds none
    assert abs(len(wav) / SR - total) < 0.3 * N_LINKS * (ext == "flac") + 0.1
    # each link's level where it lies (the links differ in level 0.1, 0.2, 0.3, 0.4)
    for i in range(N_LINKS):
        mid = wav[int((i * LINK_S + 1.0) * SR): int((i * LINK_S + 2.0) * SR)]
        assert np.std(mid) == pytest.approx(0.1 * (i + 1), rel=0.15)


@pytest.mark.parametrize("fmt,ext", [("OGG", "ogg"), ("FLAC", "flac")])
def test_a_chained_file_streams_whole(tmp_path, fmt, ext):
    path, _ = _links(tmp_path, fmt, ext)
    with pytest.warns(ASTToolsWarning, match=f"{N_LINKS} concatenated"):
        stream = stream_audio(path, sr=SR, block_s=1.0)
        n = sum(len(b) for b in stream)
    assert stream.duration_s is None  # its length is not in any header
    assert abs(n / SR - N_LINKS * LINK_S) < 0.3 * N_LINKS


@pytest.mark.parametrize("fmt,ext", [("OGG", "ogg"), ("FLAC", "flac")])
def test_a_chained_file_is_recorded_longer_than_declared(tmp_path, tiny_model, fmt, ext):
    path, _ = _links(tmp_path, fmt, ext)
    assert probe_media(path).audio_duration_s == LINK_S  # what its header declares
    with pytest.warns(ASTToolsWarning, match="longer than declared"):
        out = asttools.embed([path], model=tiny_model)
    clip = out.clips().table.iloc[0]
    assert clip["av_warning"].startswith(f"longer than declared: the header declares {LINK_S:.3f}")
    assert abs(clip["audio_duration_s"] - N_LINKS * LINK_S) < 0.3 * N_LINKS


@pytest.mark.parametrize("fmt,ext", [("OGG", "ogg"), ("FLAC", "flac")])
def test_a_single_link_file_is_untouched(tmp_path, fmt, ext):
    path, waves = _links(tmp_path, fmt, ext, n=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wav, _ = load_audio(path, sr=SR)
        info = probe_media(path)
    assert len(wav) == len(waves[0])
    assert info.audio_duration_s == LINK_S


# --------------------------------------------------------------------------- case 5


def _load(path, stream=True):
    return load_file(str(path), segment=None, channel=None, win=16000, media={}, info=None,
                     stream=stream)


def test_a_matroska_file_without_a_duration_is_streamed(tmp_path):
    path = write_av(tmp_path / "live.mkv", audio=sine(440, 48000, 3.0)[None],
                    audio_codec="flac", video_codec=None, options={"live": "1"})
    opened = stream_audio(path)
    assert opened.duration_s is None  # the muxer wrote no duration, as a live recording
    opened.close()
    source = _load(path)
    assert isinstance(source.audio, asttools.audio.AudioStream)  # not decoded whole
    n = sum(len(b) for b in source.audio)
    assert n == pytest.approx(3.0 * SR, abs=SR * 0.05)
    assert _load(path, stream=False) is None  # a worker process hands it back to stream


def test_the_same_file_with_its_duration_is_decoded_whole(tmp_path):
    path = write_av(tmp_path / "a.mkv", audio=sine(440, 48000, 3.0)[None],
                    audio_codec="flac", video_codec=None)
    assert stream_audio(path).duration_s == pytest.approx(3.0, abs=0.05)
    source = _load(path)
    assert isinstance(source.audio, np.ndarray)
    assert len(source.audio) == pytest.approx(3.0 * SR, abs=SR * 0.05)


def _flac(tmp_path, rate, channels, seconds=1.0):
    path = tmp_path / f"{rate}x{channels}.flac"
    rng = np.random.default_rng(1)
    sf.write(path, 0.1 * rng.standard_normal((int(rate * seconds), channels)), rate,
             subtype="PCM_24")
    return path


def test_the_threshold_is_in_decoded_bytes_not_seconds(tmp_path, monkeypatch):
    big, small = _flac(tmp_path, 192000, 8), _flac(tmp_path, 48000, 1)
    # 1 s of each: 6.1 MB and 192 kB of float32 samples; a threshold between them
    monkeypatch.setattr(sources_mod, "STREAM_BYTES", 1_000_000)
    assert isinstance(_load(big).audio, asttools.audio.AudioStream)
    assert _load(big, stream=False) is None
    assert isinstance(_load(small).audio, np.ndarray)  # same length, decoded whole
    streamed = _load(big).audio
    n = sum(len(b) for b in streamed)
    assert n == pytest.approx(SR, abs=10)


@pytest.mark.parametrize("seconds, rate, channels, expected", [
    (594.0, 192000, 8, True),  # the FLAC: 3.6 GB decoded, under ten minutes
    (594.0, 48000, 2, False),  # 228 MB: as before
    (601.0, 16000, 1, True),  # over STREAM_S: as before
    (30.0, 384000, 8, True),  # 369 MB
    (10.0, 384000, 8, False),  # 123 MB
    (None, 48000, 2, True),  # no length declared
    (5.0, None, 2, True),  # no rate declared
])
def test_streams_decides_by_seconds_bytes_and_unknown_length(seconds, rate, channels,
                                                            expected):
    opened = SimpleNamespace(duration_s=seconds, native_rate=rate, channels=channels)
    assert streams(opened) is expected
