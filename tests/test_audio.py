"""Tests of the audio front end: decoding, downmixing, resampling, errors and warnings."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from audio_fixtures import (
    SAMPLES_DIR,
    dominant_frequency,
    sine,
    write_av,
    write_vbr_mp3_without_xing,
)

import asttools
import asttools.audio._checks as audio_checks  # where files are opened and checked
from asttools import audio
from asttools.audio import (
    AUDIO_EXTENSIONS,
    MEDIA_EXTENSIONS,
    MIN_SAMPLES,
    VIDEO_EXTENSIONS,
    check_waveform,
    load_audio,
    probe_media,
    resample,
    stream_audio,
)
from asttools.constants import SAMPLE_RATE
from asttools.errors import ASTToolsWarning, AudioError, ParameterError

SR = 16000

#: Every module of the audio package, for its docstring examples.
AUDIO_MODULES = [
    importlib.import_module(f"asttools.audio.{path.stem}")
    for path in sorted(Path(audio.__file__).parent.glob("*.py"))
]


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


@pytest.fixture
def stereo_44k(tmp_path):
    """1.3 s at 44.1 kHz, float WAV: a 440 Hz sine left, a 1 kHz sine right (2, 57330)."""
    x = np.stack([sine(440, 44100, 1.3), sine(1000, 44100, 1.3, amp=0.25)])
    path = tmp_path / "stereo_44k.wav"
    sf.write(path, x.T, 44100, subtype="FLOAT")
    return path, x


def noisy_tone(rng, sr, seconds, freq=440.0):
    """A sine plus a little noise, so compressed files have real content to cut."""
    x = sine(freq, sr, seconds, amp=0.4) + 0.05 * rng.standard_normal(round(sr * seconds))
    return x.astype(np.float32)


@contextlib.contextmanager
def no_warnings():
    """Turn every warning raised inside the block into a test failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ----------------------------------------------------------------------------------------
# Constants


def test_constants():
    assert SAMPLE_RATE == 16000
    assert MIN_SAMPLES == 2800 and MIN_SAMPLES / SAMPLE_RATE == 0.175
    assert set(MEDIA_EXTENSIONS) == set(AUDIO_EXTENSIONS) | set(VIDEO_EXTENSIONS)
    assert {".wav", ".flac", ".ogg", ".mp3", ".m4a"} <= set(AUDIO_EXTENSIONS)
    assert {".mp4", ".mkv", ".webm", ".avi", ".mov"} <= set(VIDEO_EXTENSIONS)


def test_docstring_examples_run():
    attempted = 0
    for module in AUDIO_MODULES:  # the package's own __doc__ holds none: its modules do
        result = doctest.testmod(module, raise_on_error=False)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted >= 5


# ----------------------------------------------------------------------------------------
# Downmix, channel choice, resampling


def test_stereo_44k_becomes_16k_mono_mean(stereo_44k):
    path, x = stereo_44k
    wav, sr = load_audio(path)
    assert sr == 16000 and wav.dtype == np.float32 and wav.ndim == 1
    assert abs(len(wav) - round(x.shape[1] * 16000 / 44100)) <= 1
    expected = soxr.resample(x.mean(axis=0), 44100, 16000, quality="HQ")
    np.testing.assert_allclose(wav, expected, atol=1e-6)


def test_channel_picks_one_channel(stereo_44k):
    path, x = stereo_44k
    left, _ = load_audio(path, channel=0)
    right, _ = load_audio(path, channel=1, mono=False)  # channel overrides mono
    assert right.ndim == 1
    assert dominant_frequency(left, 16000) == pytest.approx(440, abs=2)
    assert dominant_frequency(right, 16000) == pytest.approx(1000, abs=2)
    np.testing.assert_allclose(right, soxr.resample(x[1], 44100, 16000, quality="HQ"), atol=1e-6)
    with pytest.raises(AudioError, match=r"channel 2 asked for, but the file has 2 channels"):
        load_audio(path, channel=2)


def test_mono_false_keeps_channels(stereo_44k):
    path, x = stereo_44k
    wav, sr = load_audio(path, mono=False)
    assert wav.shape == (2, round(x.shape[1] * 16000 / 44100)) and wav.dtype == np.float32
    native, native_sr = load_audio(path, mono=False, sr=None)
    assert native_sr == 44100
    np.testing.assert_array_equal(native, x)


def test_resampling_keeps_a_1khz_tone(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, sine(1000, 44100, 1.0), 44100, subtype="FLOAT")
    wav, sr = load_audio(path)
    assert len(wav) == 16000
    assert dominant_frequency(wav, sr) == pytest.approx(1000, abs=1)


def test_resampling_removes_tones_above_nyquist(tmp_path):
    x = sine(10000, 44100, 1.0)
    path = tmp_path / "10k.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    wav, _ = load_audio(path)
    rms_in = np.sqrt(np.mean(x**2))
    rms_out = np.sqrt(np.mean(wav[200:-200] ** 2))  # away from the edges
    assert rms_out < 1e-4 * rms_in  # at least 80 dB down
    # Picking the nearest samples instead folds 10 kHz down to 6 kHz at full strength.
    naive = x[np.round(np.arange(16000) * 44100 / 16000).astype(int)]
    assert np.sqrt(np.mean(naive**2)) > 0.5 * rms_in
    assert dominant_frequency(naive, 16000) == pytest.approx(6000, abs=5)


def test_resample_helper():
    x = sine(440, 22050, 0.5)
    assert resample(x, 22050, 22050) is not None
    np.testing.assert_array_equal(resample(x, 22050, 22050), x)
    y = resample(np.stack([x, x]), 22050, 16000)
    assert y.shape == (2, round(len(x) * 16000 / 22050)) and y.dtype == np.float32
    assert resample(np.zeros(0, np.float32), 44100, 16000).shape == (0,)
    with pytest.raises(ParameterError, match="orig_sr must be a positive integer.*0"):
        resample(x, 0, 16000)


# ----------------------------------------------------------------------------------------
# Sample formats and codecs


@pytest.mark.parametrize(
    ("subtype", "tolerance"),
    [("PCM_U8", 1 / 128), ("PCM_16", 1 / 2**15), ("PCM_24", 1 / 2**23),
     ("PCM_32", 1e-7), ("FLOAT", 0.0), ("DOUBLE", 1e-7)],
)  # fmt: skip
def test_wav_sample_formats_scale_to_unit_range(tmp_path, rng, subtype, tolerance):
    x = np.clip(rng.uniform(-1, 1, 8000), -1, 1 - 1 / 64).astype(np.float32)
    x[:2] = [-1.0, 0.99]
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, 16000, subtype=subtype)
    wav, sr = load_audio(path, sr=None)
    assert sr == 16000 and wav.dtype == np.float32
    assert wav.min() >= -1.0 and wav.max() <= 1.0
    np.testing.assert_allclose(wav, x, atol=tolerance + 1e-7)


@pytest.mark.parametrize(
    ("ext", "fmt", "subtype", "sr"),
    [("flac", "FLAC", "PCM_16", 44100), ("ogg", "OGG", "VORBIS", 44100),
     ("opus", "OGG", "OPUS", 48000), ("mp3", "MP3", "MPEG_LAYER_III", 44100),
     ("aiff", "AIFF", "PCM_16", 22050), ("au", "AU", "PCM_16", 8000)],
)  # fmt: skip
def test_soundfile_formats_load(tmp_path, ext, fmt, subtype, sr):
    x = sine(1000, sr, 1.0)
    path = tmp_path / f"tone.{ext}"
    sf.write(path, x, sr, format=fmt, subtype=subtype)
    with no_warnings():
        wav, out_sr = load_audio(path)
    assert out_sr == 16000 and wav.dtype == np.float32
    assert abs(len(wav) - 16000) <= 0.06 * 16000  # codec delay and padding
    assert dominant_frequency(wav, 16000) == pytest.approx(1000, abs=2)
    assert np.abs(wav).max() <= 1.0


@pytest.mark.parametrize(
    ("codec", "tolerance"),
    [("pcm_u8", 1 / 128), ("pcm_s16le", 1 / 2**15), ("pcm_s24le", 1 / 2**23),
     ("pcm_s32le", 1e-7), ("pcm_f32le", 0.0)],
)  # fmt: skip
def test_pyav_sample_formats_scale_to_unit_range(tmp_path, codec, tolerance):
    """Packed u8/s16/s32/flt frames from PyAV are de-interleaved and scaled like soundfile."""
    x = np.stack([sine(440, 16000, 0.5), sine(1000, 16000, 0.5, amp=0.25)])
    path = write_av(tmp_path / f"{codec}.mkv", audio=x, sr=16000, audio_codec=codec,
                    video_codec=None)  # fmt: skip
    wav, sr = load_audio(path, sr=None, mono=False)
    assert sr == 16000 and wav.shape == x.shape and wav.dtype == np.float32
    np.testing.assert_allclose(wav, x, atol=tolerance + 1e-7)


@pytest.mark.parametrize(
    ("name", "audio_codec", "video_codec"),
    [("clip.mp4", "aac", "mpeg4"), ("clip.webm", "libopus", "libvpx"),
     ("clip.mkv", "aac", "mpeg4"), ("clip.avi", "pcm_s16le", "mpeg4"),
     ("clip.m4a", "aac", None), ("clip.aac", "aac", None)],
)  # fmt: skip
def test_video_and_m4a_audio_tracks(tmp_path, name, audio_codec, video_codec):
    x = np.stack([sine(1000, 48000, 2.0), sine(1000, 48000, 2.0, amp=0.3)])
    path = write_av(tmp_path / name, audio=x, sr=48000, audio_codec=audio_codec,
                    video_codec=video_codec, seconds=2.0)  # fmt: skip
    with no_warnings():
        wav, sr = load_audio(path)
    assert sr == 16000 and wav.ndim == 1 and wav.dtype == np.float32
    assert abs(len(wav) / 16000 - 2.0) <= 0.05
    assert dominant_frequency(wav, sr) == pytest.approx(1000, abs=2)


def test_video_offset_and_duration_trim_the_decoded_track(tmp_path):
    x = sine(500, 48000, 2.0)[None]
    path = write_av(tmp_path / "clip.mkv", audio=x, sr=48000, audio_codec="pcm_s16le",
                    video_codec="mpeg4", seconds=2.0)  # fmt: skip
    full, _ = load_audio(path, sr=None)
    part, sr = load_audio(path, sr=None, offset=0.5, duration=0.25)
    assert sr == 48000 and len(part) == 12000
    np.testing.assert_array_equal(part, full[24000:36000])


def test_fallback_to_pyav_for_an_audio_extension_soundfile_cannot_read(tmp_path):
    aac = write_av(tmp_path / "aac.m4a", audio=sine(1000, 48000, 1.0)[None], video_codec=None)
    disguised = tmp_path / "really_aac.wav"
    aac.rename(disguised)
    with pytest.warns(ASTToolsWarning, match=r"really_aac\.wav: soundfile could not decode"):
        wav, sr = load_audio(disguised)
    assert abs(len(wav) - 16000) <= 800
    assert dominant_frequency(wav, sr) == pytest.approx(1000, abs=2)


def test_vbr_mp3_without_xing_header_is_read_to_the_end(tmp_path, rng):
    """libsndfile 1.2 reads such a file as ~0.65 s (its length guess); PyAV reads all 3.5 s."""
    sr = 44100
    x = np.concatenate([rng.uniform(-0.5, 0.5, sr // 2), sine(440, sr, 3.0, amp=0.01)])
    path = write_vbr_mp3_without_xing(tmp_path / "vbr.mp3", x, sr)
    wav, _ = load_audio(path, sr=None)
    assert abs(len(wav) - len(x)) <= 2 * 1152  # encoder delay and padding: two MP3 frames
    assert dominant_frequency(wav[sr:], sr) == pytest.approx(440, abs=2)
    disguised = path.rename(tmp_path / "vbr.wav")  # soundfile opens it as MP3, hands it on
    with no_warnings():
        wav2, _ = load_audio(disguised, sr=None)
    np.testing.assert_array_equal(wav2, wav)


# ----------------------------------------------------------------------------------------
# Bad files: each gets its own message, naming the file


def _write_text(path):
    path.write_text("this is a shopping list, not a recording\n" * 20)


def _write_truncated_header(path):
    sf.write(path, sine(440, 16000, 1.0), 16000)
    path.write_bytes(path.read_bytes()[:30])


def _write_half(fmt, subtype, *, sr=44100, seconds=2.0):
    def make(path):
        rng = np.random.default_rng(1)
        sf.write(path, noisy_tone(rng, sr, seconds), sr, format=fmt, subtype=subtype)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    return make


def _write_corrupt(fmt, subtype):
    def make(path):
        rng = np.random.default_rng(2)
        sf.write(path, noisy_tone(rng, 44100, 1.0), 44100, format=fmt, subtype=subtype)
        data = path.read_bytes()
        path.write_bytes(data[:100] + rng.bytes(len(data) - 100))

    return make


def _write_float_wav_with(value):
    def make(path):
        x = sine(440, 16000, 0.5)
        x[1000] = value
        sf.write(path, x, 16000, subtype="FLOAT")

    return make


BAD_FILES = {
    "missing": ("missing.wav", lambda p: None, r"file not found"),
    "directory": ("folder.wav", lambda p: p.mkdir(), r"is a directory"),
    "zero_bytes": ("empty.wav", lambda p: p.write_bytes(b""), r"file is empty \(0 bytes\)"),
    "text_as_wav": ("notes.wav", _write_text, r"not a recognised audio or video format"),
    "text_as_mp4": ("notes.mp4", _write_text, r"not a recognised audio or video format"),
    "wav_header_cut": ("cut.wav", _write_truncated_header, r"truncated or corrupt"),
    "flac_cut_in_half": ("half.flac", _write_half("FLAC", "PCM_16"), r"truncated or corrupt"),
    "opus_cut_in_first_page": (
        "half.opus",
        _write_half("OGG", "OPUS", sr=48000, seconds=1.0),
        r"truncated or corrupt \(soundfile: .*malformed.*; PyAV: ",
    ),
    "flac_corrupt": ("bad.flac", _write_corrupt("FLAC", "PCM_16"), r"truncated or corrupt"),
    "ogg_corrupt": ("bad.ogg", _write_corrupt("OGG", "VORBIS"), r"truncated or corrupt"),
    "mp3_corrupt": ("bad.mp3", _write_corrupt("MP3", "MPEG_LAYER_III"), r"truncated or corrupt"),
    "no_samples": (
        "nothing.wav",
        lambda p: sf.write(p, np.zeros(0, np.float32), 16000),
        r"contains no audio samples",
    ),
    "nan": ("nan.wav", _write_float_wav_with(np.nan), r"contains NaN or Inf samples"),
    "inf": ("inf.wav", _write_float_wav_with(-np.inf), r"contains NaN or Inf samples"),
    "nul_in_path": ("bad\0name.wav", lambda p: None, r"is not a valid path"),
    "video_only": (
        "silent_film.mp4",
        lambda p: write_av(p, audio=None, video_codec="mpeg4"),
        r"no audio stream \(streams found: video\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_raises_audio_error_naming_it(tmp_path, case):
    filename, make, match = BAD_FILES[case]
    path = tmp_path / filename
    make(path)
    with pytest.raises(AudioError, match=match) as excinfo:
        load_audio(path)
    assert str(excinfo.value).startswith(f"{path}: ")
    assert excinfo.value.path == str(path)
    assert isinstance(excinfo.value, ValueError)


def test_offset_beyond_end(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, sine(440, 16000, 1.0), 16000)
    match = r"short\.wav: offset 2 s is at or beyond the end of the file \(1\.000 s long\)"
    with pytest.raises(AudioError, match=match):
        load_audio(path, offset=2.0)
    mp3 = tmp_path / "short.mp3"
    sf.write(mp3, sine(440, 16000, 1.0), 16000, format="MP3")
    with pytest.raises(AudioError, match=r"short\.mp3: offset 5 s is at or beyond the end"):
        load_audio(mp3, offset=5.0)


def test_unreadable_file_real_permissions(tmp_path):
    path = tmp_path / "locked.wav"
    sf.write(path, sine(440, 16000, 0.5), 16000)
    path.chmod(0)
    try:
        try:
            path.open("rb").close()
        except PermissionError:
            pass
        else:
            pytest.skip("this user reads files whatever their mode (root, CAP_DAC_OVERRIDE)")
        with pytest.raises(AudioError, match=r"locked\.wav: permission denied"):
            load_audio(path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    """The same branch, reached as root too: opening the file raises PermissionError."""
    path = tmp_path / "locked.wav"
    sf.write(path, sine(440, 16000, 0.5), 16000)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(audio_checks, "open", denied, raising=False)  # _check_file's
    with pytest.raises(AudioError, match=r"locked\.wav: permission denied"):
        load_audio(path)


@pytest.mark.parametrize(("ext", "header_bytes"), [("wav", 44), ("aiff", 54), ("au", 24)])
def test_pcm_file_cut_in_half_decodes_the_valid_part_with_a_warning(tmp_path, ext, header_bytes):
    x = sine(440, 16000, 1.0)
    path = tmp_path / f"half.{ext}"
    sf.write(path, x, 16000, subtype="PCM_16")
    data = path.read_bytes()
    assert len(data) == header_bytes + 2 * len(x)
    path.write_bytes(data[: len(data) // 2])
    n_present = (len(data) // 2 - header_bytes) // 2
    match = rf"half\.{ext}: truncated: the header declares \d+ bytes of audio but the file"
    with pytest.warns(ASTToolsWarning, match=match):
        wav, _ = load_audio(path, sr=None)
    assert len(wav) == n_present
    np.testing.assert_allclose(wav, x[:n_present], atol=1 / 2**15)


@pytest.mark.parametrize(("ext", "subtype"), [("ogg", "VORBIS"), ("opus", "OPUS")])
def test_ogg_cut_in_half_decodes_the_valid_part_with_a_warning(tmp_path, rng, ext, subtype):
    path = tmp_path / f"half.{ext}"
    # 4 s, so that the first half holds complete audio pages; a cut inside the first audio
    # page leaves nothing to decode and ends in "truncated or corrupt" instead.
    sf.write(path, noisy_tone(rng, 48000, 4.0), 48000, format="OGG", subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.warns(ASTToolsWarning, match=r"half\.\w+: truncated: the Ogg stream ends"):
        wav, _ = load_audio(path)
    assert 0 < len(wav) < 64000


def test_intact_ogg_does_not_warn(tmp_path, rng):
    path = tmp_path / "whole.ogg"
    sf.write(path, noisy_tone(rng, 44100, 1.0), 44100, format="OGG")
    with no_warnings():
        load_audio(path)


# ----------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"offset": -1.0}, r"offset must be .* >= 0, got -1\.0"),
     ({"offset": float("nan")}, r"offset must be .*, got nan"),
     ({"duration": 0.0}, r"duration must be .* > 0, got 0\.0"),
     ({"duration": -2}, r"duration must be .* > 0, got -2"),
     ({"sr": 0}, r"sr must be a positive integer \(Hz\), got 0"),
     ({"sr": -16000}, r"sr must be a positive integer \(Hz\), got -16000"),
     ({"sr": 16000.5}, r"sr must be a positive integer \(Hz\), got 16000\.5"),
     ({"channel": -1}, r"channel must be None or an integer >= 0, got -1")],
)  # fmt: skip
def test_bad_arguments_raise_parameter_error(stereo_44k, kwargs, match):
    path, _ = stereo_44k
    with pytest.raises(ParameterError, match=match):
        load_audio(path, **kwargs)


# ----------------------------------------------------------------------------------------
# Warnings for bad-but-usable audio


@pytest.mark.parametrize("peak", [0.0, 5e-7])
def test_silence_warns_and_still_loads(tmp_path, peak):
    path = tmp_path / "quiet.wav"
    sf.write(path, np.full(16000, peak, np.float32), 16000, subtype="FLOAT")
    with pytest.warns(ASTToolsWarning, match=r"quiet\.wav: is silent"):
        wav, sr = load_audio(path)
    assert wav.shape == (16000,) and sr == 16000


def test_clip_shorter_than_one_patch_warns_and_still_loads(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, sine(1000, 44100, 0.05), 44100)
    match = r"blip\.wav: is 0\.050 s long, shorter than one AST patch \(0\.175 s\); it will be"
    with pytest.warns(ASTToolsWarning, match=match):
        wav, _ = load_audio(path)
    assert len(wav) == 800


# ----------------------------------------------------------------------------------------
# offset and duration


def test_offset_and_duration_give_exact_sample_counts(tmp_path, rng):
    x = rng.uniform(-0.5, 0.5, 88200).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    part, sr = load_audio(path, sr=None, offset=0.5, duration=0.25)
    assert sr == 44100
    np.testing.assert_array_equal(part, x[22050:33075])
    part16, _ = load_audio(path, offset=0.5, duration=0.25)
    assert len(part16) == 4000
    tail, _ = load_audio(path, sr=None, offset=1.5, duration=10.0)  # runs past the end
    np.testing.assert_array_equal(tail, x[66150:])
    with pytest.warns(ASTToolsWarning, match="shorter than one AST patch"):
        one, _ = load_audio(path, sr=None, duration=1e-9)  # rounds up to one sample
    assert one.shape == (1,)
    with pytest.raises(AudioError, match=r"noise\.wav: contains no audio samples at 16000 Hz"):
        load_audio(path, duration=1e-9)  # one sample at 44.1 kHz is none at 16 kHz


@pytest.mark.parametrize(
    ("ext", "fmt", "subtype", "sr"),
    [("flac", "FLAC", "PCM_16", 44100), ("ogg", "OGG", "VORBIS", 44100),
     ("opus", "OGG", "OPUS", 48000), ("mp3", "MP3", "MPEG_LAYER_III", 44100)],
)  # fmt: skip
def test_offset_in_compressed_files_matches_slicing_the_full_decode(
    tmp_path, rng, ext, fmt, subtype, sr
):
    path = tmp_path / f"noise.{ext}"
    sf.write(path, noisy_tone(rng, sr, 2.0), sr, format=fmt, subtype=subtype)
    full, _ = load_audio(path, sr=None)
    part, _ = load_audio(path, sr=None, offset=0.7, duration=0.5)
    start = round(0.7 * sr)
    assert len(part) == sr // 2
    np.testing.assert_allclose(part, full[start : start + sr // 2], atol=1e-6)


# ----------------------------------------------------------------------------------------
# Paths


@pytest.mark.parametrize("name", ["with spaces/my clip.wav", "ünïcødé/声音 ñ.flac", "é/vidéo.mp4"])
def test_unusual_paths_load(tmp_path, name):
    path = tmp_path / name
    path.parent.mkdir()
    if path.suffix == ".mp4":
        write_av(path, audio=sine(440, 48000, 1.0)[None], video_codec="mpeg4")
    else:
        sf.write(path, sine(440, 22050, 1.0), 22050)
    for p in (path, str(path)):
        wav, sr = load_audio(p)
        assert sr == 16000 and abs(len(wav) - 16000) <= 800


# ----------------------------------------------------------------------------------------
# Real recordings shipped with the repository


@pytest.mark.parametrize(
    ("filename", "seconds"),
    [("bird_robin_inspectorj_456440.ogg", 2.699),
     ("speech_librispeech_198-209-0000.ogg", 13.91),
     ("orchestra_brahms_hungarian_dance_5.ogg", 45.8),
     ("music_kevin_macleod_vibe_ace.ogg", 61.5)],
)  # fmt: skip
def test_real_samples_load(filename, seconds):
    with no_warnings():
        wav, sr = load_audio(SAMPLES_DIR / filename)
    assert sr == 16000 and wav.ndim == 1 and wav.dtype == np.float32
    assert abs(len(wav) - seconds * 16000) <= 0.05 * 16000
    assert np.isfinite(wav).all() and 1e-3 < np.abs(wav).max() <= 1.0


def test_real_stereo_bird_length_and_downmix():
    path = SAMPLES_DIR / "bird_robin_inspectorj_456440.ogg"
    info = sf.info(path)
    assert (info.samplerate, info.channels) == (44100, 2)
    wav, _ = load_audio(path)
    assert abs(len(wav) - round(info.frames * 16000 / 44100)) <= 1
    both, _ = load_audio(path, mono=False, sr=None)
    np.testing.assert_allclose(wav, resample(both.mean(axis=0), 44100, 16000), atol=1e-6)


# ----------------------------------------------------------------------------------------
# In-memory arrays


def test_check_waveform_downmixes_and_converts():
    x = np.stack([sine(440, 16000, 0.5), sine(1000, 16000, 0.5)]).astype(np.float64)
    out = check_waveform(x, 16000)
    assert out.shape == (8000,) and out.dtype == np.float32
    np.testing.assert_allclose(out, x.mean(axis=0), atol=1e-7)
    np.testing.assert_array_equal(check_waveform(x[0], 16000), x[0].astype(np.float32))
    assert check_waveform([0.1, -0.2] * 2000, 16000).shape == (4000,)


@pytest.mark.parametrize(
    ("wav", "match"),
    [(np.zeros(0, np.float32), r"<clip 3>: contains no audio samples"),
     (np.array([0.1, np.nan] * 2000), r"<clip 3>: contains NaN or Inf samples"),
     (np.array([[0.1, np.inf] * 2000] * 2), r"<clip 3>: contains NaN or Inf samples"),
     (np.zeros((16000, 2), np.float32), r"<clip 3>: has shape \(16000, 2\).*pass wav\.T"),
     (np.zeros((1, 2, 3), np.float32), r"<clip 3>: must be 1-D .* got shape \(1, 2, 3\)"),
     (np.ones(4000, np.int16), r"<clip 3>: has integer samples \(int16\).*wav / 32768")],
)  # fmt: skip
def test_check_waveform_rejects_bad_arrays(wav, match):
    with pytest.raises(AudioError, match=match):
        check_waveform(wav, 16000, name="<clip 3>")


def test_check_waveform_warnings_and_rate():
    with pytest.warns(ASTToolsWarning, match=r"<array>: is silent"):
        check_waveform(np.zeros(16000, np.float32), 16000)
    with pytest.warns(ASTToolsWarning, match=r"<array>: is 0\.100 s long, shorter than one AST"):
        check_waveform(sine(440, 16000, 0.1), 16000)
    with no_warnings():  # 0.175 s at 44.1 kHz is long enough
        check_waveform(sine(440, 44100, 0.2), 44100)
    for bad in (0, -1, 16000.0, None, True):
        with pytest.raises(ParameterError, match=r"sr must be a positive integer"):
            check_waveform(sine(440, 16000, 0.5), bad)


def test_name_that_is_not_utf8_is_read_by_soundfile_without_a_fallback_warning(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.wav"
    sf.write(raw, sine(440, 16000, 0.5), 16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "decoded it with PyAV instead" warning
        wav, sr = load_audio(os.fsdecode(raw))
    assert sr == 16000 and wav.shape == (8000,)


# --- a rate of a few hertz ------------------------------------------------------------------


@pytest.mark.slow  # 5.2 s on the loaded 2-core machine (issue 19)
def test_a_file_at_a_few_hertz_warns_with_its_rate(tmp_path):
    path = tmp_path / "one hertz.wav"
    sf.write(path, np.random.default_rng(0).uniform(-0.5, 0.5, 1000), 1)
    with pytest.warns(asttools.ASTToolsWarning, match=r"its sample rate is 1 Hz, far below"):
        wav, sr = asttools.load_audio(path)
    assert len(wav) == 1000 * SR  # taken at its stated rate, as warned
    with pytest.warns(asttools.ASTToolsWarning, match=r"sample rate is 1 Hz"), \
            asttools.audio._decode.stream_audio(path) as blocks:
        assert sum(len(b) for b in blocks) == 1000 * SR


# --- chained Ogg and concatenated FLAC: decoded whole, as FFmpeg does -----------------------


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
