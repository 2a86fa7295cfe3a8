"""Tests of audio statuses, silence, and audio and video on one clock (issue 10).

- every ``AudioError`` says what kind of failure it is (``status``), also after pickling;
- silence is one definition (:func:`asttools.audio.is_silent`) behind the warning too;
- :func:`asttools.audio.probe_media` reads streams and timing from headers, on the bundled
  video clips (``data/video/``), on audio-only files and on files written here with PyAV,
  and the decoded samples, placed at ``audio_offset_s + k / sr``, line up with the video.
"""

from __future__ import annotations

import ast
import csv
import errno
import io
import os
import pickle
import re
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import _mux_audio, sine, write_av
from PIL import Image
from test_audio import BAD_FILES

import asttools
import asttools.audio._checks as audio_checks  # where files are opened and checked
from asttools import audio
from asttools.audio import (
    AV_SYNC_TOLERANCE_S,
    SILENCE_PEAK_DBFS,
    SILENCE_RMS_DBFS,
    MediaInfo,
    audio_level,
    av_mismatch,
    check_waveform,
    is_silent,
    load_audio,
    probe_media,
    stream_audio,
)
from asttools.errors import (
    AUDIO_ERROR_STATUSES,
    AUDIO_STATUSES,
    ASTToolsWarning,
    AudioError,
    NoAudioStreamError,
    ParameterError,
)

ROOT = Path(__file__).resolve().parents[1]
VIDEO_DIR = ROOT / "data" / "video"
MANIFEST = list(csv.DictReader((VIDEO_DIR / "manifest.csv").open(encoding="utf-8")))
CLIPS = {row["clip_id"]: row for row in MANIFEST}


def _status_of(call, *args, **kwargs) -> AudioError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        with pytest.raises(AudioError) as excinfo:
            call(*args, **kwargs)
    return excinfo.value


def _consume(path, **kwargs):
    """Open a stream and read it to the end (errors may come at opening or while reading)."""
    with stream_audio(path, **kwargs) as blocks:
        return [len(b) for b in blocks]


# ----------------------------------------------------------------------------------------
# The statuses and the exception


def test_status_constants():
    assert AUDIO_STATUSES == ("ok", "silent", "no_audio_stream", "decode_error", "unreadable",
                              "error")  # fmt: skip
    assert AUDIO_ERROR_STATUSES == ("no_audio_stream", "decode_error", "unreadable", "error")


def test_audio_error_keeps_its_signature_and_defaults_to_decode_error():
    e = AudioError("clip.wav", "truncated or corrupt")
    assert (str(e), e.path, e.reason, e.status) == (
        "clip.wav: truncated or corrupt", "clip.wav", "truncated or corrupt", "decode_error")
    assert isinstance(e, ValueError)
    with pytest.raises(ParameterError, match=r"status='ok' is not one of \('no_audio_stream'"):
        AudioError("clip.wav", "fine", status="ok")
    with pytest.raises(ParameterError, match=r"status='oops' is not one of"):
        AudioError("clip.wav", "what", status="oops")


def test_no_audio_stream_error_is_an_audio_error():
    e = NoAudioStreamError("film.mp4", "no audio stream (streams found: video)")
    assert isinstance(e, AudioError) and isinstance(e, ValueError)
    assert e.status == "no_audio_stream"
    assert str(e) == "film.mp4: no audio stream (streams found: video)"
    with pytest.raises(ParameterError, match=r"has status 'no_audio_stream'"):
        NoAudioStreamError("film.mp4", "x", status="error")


@pytest.mark.parametrize("status", AUDIO_ERROR_STATUSES)
def test_pickling_keeps_the_status(status):
    e = AudioError("dir/clip.wav", "some reason", status=status)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is AudioError
    assert (back.path, back.reason, back.status, str(back)) == (
        e.path, e.reason, status, str(e))


def test_pickling_keeps_the_subclass():
    back = pickle.loads(pickle.dumps(NoAudioStreamError("a.mp4", "no audio stream")))
    assert type(back) is NoAudioStreamError and back.status == "no_audio_stream"
    assert str(back) == "a.mp4: no audio stream"


def test_every_audio_error_in_the_audio_package_states_its_status():
    """A raise added later without a status would silently become 'decode_error'."""
    files = sorted(Path(audio.__file__).parent.glob("*.py"))
    assert len(files) >= 6  # the package's modules, not its __init__ alone
    missing, raised = [], 0
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AudioError":
                raised += 1
                if not any(k.arg == "status" for k in node.keywords):
                    missing.append(f"{file.name}:{node.lineno}")
    assert raised >= 20, "the walk found too few AudioError(...) calls to mean anything"
    assert not missing, f"AudioError(...) without status= at {missing}"


# ----------------------------------------------------------------------------------------
# A status for every kind of failure


#: The cases of tests/test_audio.py's BAD_FILES and the status each must get.
BAD_FILE_STATUS = {
    "missing": "unreadable",
    "directory": "unreadable",
    "nul_in_path": "unreadable",
    "zero_bytes": "decode_error",
    "text_as_wav": "decode_error",
    "text_as_mp4": "decode_error",
    "wav_header_cut": "decode_error",
    "flac_cut_in_half": "decode_error",
    "opus_cut_in_first_page": "decode_error",
    "flac_corrupt": "decode_error",
    "ogg_corrupt": "decode_error",
    "mp3_corrupt": "decode_error",
    "no_samples": "decode_error",
    "nan": "decode_error",
    "inf": "decode_error",
    "video_only": "no_audio_stream",
}


def test_every_bad_file_case_has_a_status():
    assert set(BAD_FILE_STATUS) == set(BAD_FILES)


@pytest.mark.parametrize("case", list(BAD_FILE_STATUS))
def test_load_audio_status_for_each_bad_file(tmp_path, case):
    filename, make, match = BAD_FILES[case]
    path = tmp_path / filename
    make(path)
    e = _status_of(load_audio, path)
    assert e.status == BAD_FILE_STATUS[case], str(e)
    assert str(e).startswith(f"{path}: ")
    assert re.search(match, str(e)), str(e)  # the message test_audio.py matches, unchanged
    assert isinstance(e, NoAudioStreamError) == (case == "video_only")


@pytest.mark.parametrize("case", list(BAD_FILE_STATUS))
def test_stream_audio_status_for_each_bad_file(tmp_path, case):
    """stream_audio fails at opening or while reading; either way with the same status."""
    filename, make, _ = BAD_FILES[case]
    path = tmp_path / filename
    make(path)
    e = _status_of(_consume, path)
    assert e.status == BAD_FILE_STATUS[case], str(e)
    assert str(e).startswith(f"{path}: ")


def test_unreadable_kinds(tmp_path, monkeypatch):
    pipe = tmp_path / "pipe.wav"
    os.mkfifo(pipe)
    e = _status_of(load_audio, pipe)
    assert (e.status, e.reason) == ("unreadable",
                                    "is not a regular file (a pipe, socket or device?)")
    dangling = tmp_path / "dangling.wav"
    dangling.symlink_to(tmp_path / "gone.wav")
    e = _status_of(load_audio, dangling)
    assert (e.status, e.reason) == ("unreadable", "file not found")

    path = tmp_path / "locked.wav"
    sf.write(path, sine(440, 16000, 0.5), 16000)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    def io_error(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(audio_checks, "open", denied, raising=False)
    for call in (load_audio, probe_media, stream_audio):
        e = _status_of(call, path)
        assert (e.status, e.reason) == ("unreadable", "permission denied")
    monkeypatch.setattr(audio_checks, "open", io_error, raising=False)
    e = _status_of(load_audio, path)
    assert (e.status, e.reason) == ("unreadable", "cannot be read (Input/output error)")


def test_requests_the_file_cannot_meet_are_error(tmp_path):
    path = tmp_path / "mono.wav"
    sf.write(path, sine(440, 16000, 1.0), 16000)
    e = _status_of(load_audio, path, offset=2.0)
    assert e.status == "error" and "offset 2 s is at or beyond the end" in str(e)
    e = _status_of(load_audio, path, channel=1)
    assert e.status == "error" and "channel 1 asked for" in str(e)
    e = _status_of(stream_audio, path, channel=1)
    assert e.status == "error" and "channel 1 asked for" in str(e)
    stream = stream_audio(path)
    list(stream)
    e = _status_of(iter, stream)
    assert e.status == "error" and "can be iterated once" in str(e)
    at44k = tmp_path / "44k.wav"
    sf.write(at44k, sine(440, 44100, 1.0), 44100)
    e = _status_of(load_audio, at44k, duration=1e-9)  # one sample at 44.1 kHz, none at 16
    assert e.status == "decode_error" and "contains no audio samples at 16000 Hz" in str(e)


@pytest.mark.parametrize(
    ("wav", "status"),
    [(np.zeros(0, np.float32), "decode_error"),
     (np.array([0.1, np.nan] * 2000), "decode_error"),
     (np.zeros((16000, 2), np.float32), "error"),
     (np.zeros((1, 2, 3), np.float32), "error"),
     (np.ones(4000, np.int16), "error"),
     (np.array(["a", "b"]), "error")],
)  # fmt: skip
def test_check_waveform_statuses(wav, status):
    assert _status_of(check_waveform, wav, 16000).status == status


def test_nan_while_streaming_is_a_decode_error(tmp_path):
    x = sine(440, 16000, 2.0)
    x[20000] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    e = _status_of(_consume, path, block_s=0.5)
    assert e.status == "decode_error" and "contains NaN or Inf samples (after" in str(e)


def test_video_without_audio_is_no_audio_stream_everywhere(tmp_path):
    for name, codec in (("film.mp4", "mpeg4"), ("film.mkv", "mpeg4"), ("film.webm", "libvpx")):
        path = write_av(tmp_path / name, audio=None, video_codec=codec)
        for call in (load_audio, _consume):
            e = _status_of(call, path)
            assert isinstance(e, NoAudioStreamError) and e.status == "no_audio_stream"
            assert str(e) == f"{path}: no audio stream (streams found: video)"


@pytest.mark.parametrize(
    "case", ["missing", "directory", "nul_in_path", "zero_bytes", "text_as_wav", "text_as_mp4",
             "wav_header_cut"],
)  # fmt: skip
def test_probe_media_statuses(tmp_path, case):
    filename, make, match = BAD_FILES[case]
    path = tmp_path / filename
    make(path)
    e = _status_of(probe_media, path)
    assert e.status == BAD_FILE_STATUS[case]
    assert re.search(match, str(e)) and str(e).startswith(f"{path}: ")


def test_probe_media_refuses_a_non_path():
    with pytest.raises(ParameterError, match="path must be a str or os.PathLike, got int"):
        probe_media(3)


# ----------------------------------------------------------------------------------------
# Silence


def _noise_at(rms_dbfs: float, n: int = 16000) -> np.ndarray:
    x = np.random.default_rng(7).standard_normal(n)
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (rms_dbfs / 20)).astype(np.float32)


def test_audio_level_of_known_signals():
    peak, rms = audio_level(sine(440, 16000, 1.0, amp=0.5))
    assert peak == pytest.approx(-6.02, abs=0.01) and rms == pytest.approx(-9.03, abs=0.01)
    assert audio_level(np.zeros(16000, np.float32)) == (-np.inf, -np.inf)
    assert audio_level(np.zeros(0, np.float32)) == (-np.inf, -np.inf)
    assert audio_level(_noise_at(-60.0))[1] == pytest.approx(-60.0, abs=1e-3)
    stereo = np.stack([np.zeros(8000), np.full(8000, 0.5)])  # every channel counts
    assert audio_level(stereo) == pytest.approx((-6.02, -9.03), abs=0.01)
    with pytest.raises(ParameterError, match=r"float samples.*int16; divide by 32768"):
        audio_level(np.ones(100, np.int16))


def test_silence_thresholds():
    assert (SILENCE_PEAK_DBFS, SILENCE_RMS_DBFS) == (-80.0, -90.0)
    assert is_silent(np.zeros(16000, np.float32))  # digital zeros
    assert is_silent(np.zeros(0, np.float32))
    assert is_silent(_noise_at(-100.0))  # peak about -86, RMS -100 dBFS
    assert not is_silent(_noise_at(-60.0))
    assert not is_silent(_noise_at(-85.0))  # RMS -85, but peaks above -80 dBFS
    # the peak alone: a DC level just under and just over -80 dBFS
    assert is_silent(np.full(1000, 0.99e-4))
    assert not is_silent(np.full(1000, 1.01e-4))
    # the RMS alone: zeros with one sample at -60 dBFS (RMS -102 dBFS)
    click = np.zeros(16000, np.float32)
    click[100] = 1e-3
    assert audio_level(click)[0] == pytest.approx(-60.0)
    assert is_silent(click)


SILENCE_CASES = {
    "zeros": np.zeros(16000, np.float32),
    "noise -100 dBFS": _noise_at(-100.0),
    "noise -85 dBFS": _noise_at(-85.0),
    "noise -60 dBFS": _noise_at(-60.0),
    "one click": np.where(np.arange(16000) == 100, 1e-3, 0.0).astype(np.float32),
    "sine": sine(440, 16000, 1.0),
}


@pytest.mark.parametrize("case", list(SILENCE_CASES))
def test_the_silence_warning_and_is_silent_agree(tmp_path, case):
    """check_waveform, load_audio and stream_audio warn exactly when is_silent says so."""
    x = SILENCE_CASES[case]
    path = tmp_path / "clip.wav"
    sf.write(path, x, 16000, subtype="FLOAT")

    def warned(call):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        return any("is silent" in str(w.message) for w in caught)

    expected = is_silent(x)
    assert warned(lambda: check_waveform(x, 16000)) == expected
    assert warned(lambda: load_audio(path)) == expected
    assert warned(lambda: _consume(path, block_s=0.25)) == expected
    assert expected == (case in ("zeros", "noise -100 dBFS", "one click"))


def test_silence_warning_names_the_levels(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000)
    match = (r"quiet\.wav: is silent \(peak -inf dBFS, RMS -inf dBFS; silent below -80 dBFS "
             r"peak or -90 dBFS RMS\)")
    with pytest.warns(ASTToolsWarning, match=match):
        load_audio(path)


# ----------------------------------------------------------------------------------------
# probe_media on the bundled video clips


@pytest.mark.parametrize("clip_id", list(CLIPS))
def test_probe_media_on_the_bundled_clips(clip_id):
    row = CLIPS[clip_id]
    info = probe_media(VIDEO_DIR / row["path"])
    assert isinstance(info, MediaInfo) and info.path == str(VIDEO_DIR / row["path"])
    assert info.has_video
    assert info.frame_rate == float(row["true_frame_rate"]) == 25.0
    assert info.video_duration_s == pytest.approx(float(row["true_video_duration_s"]), abs=1e-9)
    assert info.n_video_frames == round(float(row["true_video_duration_s"]) * 25)
    if row["audio"] == "none":
        assert not info.has_audio
        assert info.audio_offset_s is info.audio_duration_s is info.audio_sample_rate is None
        assert av_mismatch(info) is None
        return
    assert info.has_audio
    assert (info.audio_sample_rate, info.audio_channels) == (16000, 1)
    assert info.audio_offset_s == pytest.approx(float(row["true_audio_offset_s"]), abs=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)  # alarm_06 is silent
        wav, sr = load_audio(VIDEO_DIR / row["path"], sr=None)
    fires = row["audio"] == "short"
    assert (av_mismatch(info) is not None) == fires  # the header's audio duration
    assert (av_mismatch(info, len(wav) / sr) is not None) == fires  # the decoded one


def test_probe_media_offset_clip_matches_the_first_decoded_frame():
    path = VIDEO_DIR / "hammering_04.mp4"
    info = probe_media(path)
    assert info.audio_offset_s == pytest.approx(0.976, abs=1e-3)
    assert info.audio_duration_s == pytest.approx(2.024, abs=1e-9)  # 32384 samples
    with av.open(str(path)) as container:
        first = next(container.decode(container.streams.audio[0]))
    assert float(first.time) == pytest.approx(info.audio_offset_s, abs=1e-9)
    # the audio ends with the video: 0.976 + 2.024 = 3.0
    assert info.audio_offset_s + info.audio_duration_s == pytest.approx(3.0, abs=1e-9)


def test_probe_media_silent_and_short_clips():
    silent = VIDEO_DIR / "alarm_06.mp4"
    info = probe_media(silent)
    assert info.has_audio and info.audio_offset_s == 0.0 and av_mismatch(info) is None
    with pytest.warns(ASTToolsWarning, match=r"alarm_06\.mp4: is silent"):
        wav, _ = load_audio(silent)
    assert is_silent(wav) and audio_level(wav) == (-np.inf, -np.inf)

    short = probe_media(VIDEO_DIR / "playing_music_07.mp4")
    assert short.audio_duration_s == pytest.approx(1.5)
    text = av_mismatch(short)
    assert text == ("audio and video durations differ by -1.500 s: the audio ends at 1.500 s "
                    "on the video's timeline (offset 0.000 s + 1.500 s of audio), the video "
                    "at 3.000 s; tolerance 0.192 s")


def _ncc(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Normalised correlation of a[k + lag] with b[k]."""
    x, y = (a[lag:], b) if lag >= 0 else (a, b[-lag:])
    n = min(len(x), len(y))
    x, y = x[:n].astype(np.float64), y[:n].astype(np.float64)
    return float(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y)))


@pytest.mark.parametrize(
    "clip_id", [c for c, row in CLIPS.items() if row["audio"] in ("track", "offset", "short")])
def test_decoded_samples_placed_at_the_offset_line_up_with_the_video(video_data_script, clip_id):
    """Sample k placed at audio_offset_s + k / sr matches the soundtrack the clip was made
    from, on the video's timeline, at lag 0 (to the sample)."""
    clip = next(c for c in video_data_script.clips() if c.clip_id == clip_id)
    soundtrack = video_data_script.scene(clip).audio  # 16 kHz, on the video's timeline
    info = probe_media(VIDEO_DIR / clip.file)
    wav, sr = load_audio(VIDEO_DIR / clip.file, sr=None)
    assert sr == video_data_script.SR
    start = round(info.audio_offset_s * sr)
    placed = np.zeros(len(soundtrack))
    n = min(len(wav), len(placed) - start)
    placed[start : start + n] = wav[:n]
    # compare where the clip has sound: after the offset clip's 1024 samples of priming,
    # and up to the end of the short clip's 1.5 s
    lo = start + (video_data_script.AAC_PRIMING if clip.audio == "offset" else 0)
    hi = round(video_data_script.SHORT_AUDIO_S * sr) if clip.audio == "short" else len(soundtrack)
    a, b = placed[lo:hi], soundtrack[lo:hi]
    scores = {lag: _ncc(a, b, lag) for lag in range(-40, 41)}
    assert max(scores, key=scores.get) == 0
    assert scores[0] > 0.95


# ----------------------------------------------------------------------------------------
# probe_media on audio-only files and on files written here


@pytest.mark.parametrize(
    ("ext", "fmt", "subtype"),
    [("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"),
     ("mp3", "MP3", "MPEG_LAYER_III")],
)  # fmt: skip
def test_probe_media_on_audio_files(tmp_path, ext, fmt, subtype):
    path = tmp_path / f"tone.{ext}"
    sf.write(path, np.stack([sine(440, 44100, 1.5)] * 2, axis=1), 44100, format=fmt,
             subtype=subtype)  # fmt: skip
    info = probe_media(path)
    assert (info.has_audio, info.has_video, info.audio_offset_s) == (True, False, 0.0)
    assert (info.audio_sample_rate, info.audio_channels) == (44100, 2)
    assert info.audio_duration_s == pytest.approx(1.5, abs=2 * 1152 / 44100)
    if ext in ("wav", "flac"):
        assert info.audio_duration_s == 1.5
    assert info.video_duration_s is info.frame_rate is info.n_video_frames is None
    assert av_mismatch(info) is None and av_mismatch(info, 0.1) is None


def test_probe_media_on_m4a_and_wav_read_by_pyav(tmp_path):
    m4a = write_av(tmp_path / "clip.m4a", audio=sine(1000, 48000, 2.0)[None], video_codec=None)
    info = probe_media(m4a)
    assert (info.has_audio, info.has_video, info.audio_offset_s) == (True, False, 0.0)
    assert info.audio_duration_s == pytest.approx(2.0)
    assert (info.audio_sample_rate, info.audio_channels) == (48000, 1)
    # a WAV under a video extension goes to PyAV, whose WAV stream states no start time
    disguised = tmp_path / "really_wav.mp4"
    sf.write(disguised, sine(440, 16000, 0.5), 16000, format="WAV")
    info = probe_media(disguised)
    assert (info.has_audio, info.has_video, info.audio_offset_s) == (True, False, 0.0)
    assert info.audio_duration_s == pytest.approx(0.5)


def test_cover_art_is_not_video(tmp_path):
    """An MP3 with an attached picture: PyAV lists a video stream, but it is no video."""
    png = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(png, format="PNG")
    path = tmp_path / "song.mp3"
    with av.open(str(path), "w", format="mp3") as container:
        astream = container.add_stream("libmp3lame", rate=44100, layout="mono")
        cover = container.add_stream("png", rate=1)
        cover.width = cover.height = 16
        cover.pix_fmt = "rgb24"
        cover.disposition = av.stream.Disposition.attached_pic
        packet = av.Packet(png.getvalue())
        packet.stream, packet.pts, packet.dts = cover, 0, 0
        packet.time_base = Fraction(1, 1)
        container.mux(packet)
        _mux_audio(container, astream, sine(440, 44100, 1.0)[None], 44100)
    with av.open(str(path)) as container:
        assert [st.type for st in container.streams] == ["audio", "video"]
    info = probe_media(path)
    assert (info.has_audio, info.has_video, info.audio_offset_s) == (True, False, 0.0)
    assert info.frame_rate is None and info.audio_duration_s == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize(("name", "codec"), [("film.mkv", "mpeg4"), ("film.webm", "libvpx")])
def test_probe_media_on_matroska_without_audio(tmp_path, name, codec):
    path = write_av(tmp_path / name, audio=None, video_codec=codec, seconds=2.0)
    info = probe_media(path)
    assert (info.has_audio, info.has_video) == (False, True)
    assert info.audio_offset_s is None and info.audio_duration_s is None
    assert info.frame_rate == 10.0
    assert info.video_duration_s == pytest.approx(2.0)  # from the stream's DURATION tag
    assert info.n_video_frames is None  # Matroska does not count frames in its header


@pytest.mark.parametrize(
    ("name", "audio_codec", "video_codec"),
    [("clip.mp4", "aac", "mpeg4"), ("clip.mkv", "aac", "mpeg4"),
     ("clip.webm", "libopus", "libvpx"), ("clip.mov", "pcm_s16le", "mpeg4")],
)  # fmt: skip
def test_probe_media_on_videos_with_audio_from_the_start(tmp_path, name, audio_codec,
                                                         video_codec):
    path = write_av(tmp_path / name, audio=sine(500, 48000, 2.0)[None], sr=48000,
                    audio_codec=audio_codec, video_codec=video_codec, seconds=2.0)
    info = probe_media(path)
    assert (info.has_audio, info.has_video, info.audio_offset_s) == (True, True, 0.0)
    assert info.frame_rate == 10.0 and info.video_duration_s == pytest.approx(2.0)
    assert info.audio_duration_s == pytest.approx(2.0, abs=0.03)
    wav, sr = load_audio(path, sr=None)
    assert av_mismatch(info) is None and av_mismatch(info, len(wav) / sr) is None


def write_late_audio(path: Path, audio: np.ndarray, *, sr: int, first_pts: int,
                     audio_codec: str, seconds: float = 2.0, fps: int = 10) -> Path:
    """A 32x32 mpeg4 video from 0 s and a mono audio track whose first frame has pts
    ``first_pts`` (time base 1/sr), muxed in time order, as scripts/make_video_data.py
    writes its offset clip."""
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("mpeg4", rate=fps)
        vstream.width = vstream.height = 32
        vstream.pix_fmt = "yuv420p"
        astream = container.add_stream(audio_codec, rate=sr, layout="mono")
        rng = np.random.default_rng(0)
        packets = []
        for i in range(round(seconds * fps)):
            img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            packets += vstream.encode(frame)
        packets += vstream.encode(None)
        fmt = astream.codec_context.codec.audio_formats[0].name
        size = astream.codec_context.frame_size or 1024
        for start in range(0, len(audio), size):
            block = audio[None, start : start + size]
            block = np.round(block * 32767).astype(np.int16) if fmt.startswith("s16") else \
                block.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format=fmt,
                                               layout="mono")
            frame.sample_rate, frame.pts = sr, first_pts + start
            frame.time_base = Fraction(1, sr)
            packets += astream.encode(frame)
        packets += astream.encode(None)
        packets.sort(key=lambda p: (p.dts * p.time_base, p.stream.index))
        for packet in packets:
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    ("name", "codec", "priming"),
    [("late.mp4", "aac", 1024),  # the encoder's first packet (its priming) at 0.5 s
     ("late.mov", "pcm_s16le", 0),
     ("late.mkv", "pcm_s16le", 0)],
)  # fmt: skip
def test_probe_media_on_audio_that_starts_late(tmp_path, name, codec, priming):
    sr = 48000
    t = np.arange(sr) / sr
    chirp = (0.4 * np.sin(2 * np.pi * (200 * t + 1900 * t**2))).astype(np.float32)  # 1 s
    path = write_late_audio(tmp_path / name, chirp, sr=sr, first_pts=sr // 2 + priming,
                            audio_codec=codec)  # fmt: skip
    info = probe_media(path)
    assert info.audio_offset_s == pytest.approx(0.5, abs=1e-3)
    with av.open(str(path)) as container:
        first = next(container.decode(container.streams.audio[0]))
    assert float(first.time) == pytest.approx(info.audio_offset_s, abs=1e-3)
    # decoded sample k lies at 0.5 + k / sr: the chirp, fed at pts 0.5 s + priming, starts
    # `priming` samples in (the priming is decoded: the muxer's empty edit keeps it)
    wav, _ = load_audio(path, sr=None)
    n = len(wav) + len(chirp)
    xcorr = np.fft.irfft(np.fft.rfft(wav, n) * np.conj(np.fft.rfft(chirp, n)), n)
    assert int(np.argmax(xcorr[: 2 * 1024])) == priming  # xcorr[lag]: wav[k + lag] * chirp[k]
    assert _ncc(wav, chirp, priming) > 0.95
    # 1 s of audio (plus priming and padding) from 0.5 s in a 2 s video
    text = av_mismatch(info, len(wav) / sr)
    assert text is not None and "the video at 2.000 s" in text


def test_av_mismatch_tolerance():
    info = MediaInfo("v.mp4", has_audio=True, has_video=True, audio_offset_s=0.976,
                     audio_duration_s=2.024, video_duration_s=3.0, frame_rate=25.0,
                     audio_sample_rate=48000)  # fmt: skip
    assert AV_SYNC_TOLERANCE_S == 0.1
    assert av_mismatch(info) is None
    assert av_mismatch(info, 2.024 + 0.099) is None  # 3 AAC frames at 48 kHz: 64 ms < 0.1 s
    assert av_mismatch(info, 2.024 + 0.101) is not None
    assert av_mismatch(info, 2.024 - 0.101).startswith("audio and video durations differ by "
                                                       "-0.101 s")  # fmt: skip
    at16k = MediaInfo(**{**info.__dict__, "audio_sample_rate": 16000})
    assert av_mismatch(at16k, 2.024 + 0.19) is None  # 3 AAC frames at 16 kHz: 0.192 s
    assert av_mismatch(at16k, 2.024 + 0.2) is not None
    assert av_mismatch(at16k, 2.024 + 0.05, tolerance_s=0.01) is not None
    no_video = MediaInfo("a.wav", has_audio=True, has_video=False, audio_offset_s=0.0,
                         audio_duration_s=5.0)  # fmt: skip
    assert av_mismatch(no_video, 1.0) is None
    unknown = MediaInfo(**{**info.__dict__, "video_duration_s": None})
    assert av_mismatch(unknown) is None
    for bad in (-1.0, float("nan"), "2"):
        with pytest.raises(ParameterError, match=r"audio_duration_s must be a finite number"):
            av_mismatch(info, bad)
    with pytest.raises(ParameterError, match=r"tolerance_s must be a finite number"):
        av_mismatch(info, tolerance_s=-0.1)


def test_media_info_is_frozen():
    info = MediaInfo("a.wav", has_audio=True, has_video=False)
    with pytest.raises(AttributeError):
        info.has_audio = False  # type: ignore[misc]


# --- truncated Matroska, an audio track without packets -------------------------------------


def _cut(path, fraction=0.5):
    data = path.read_bytes()
    cut = path.with_name("cut " + path.name)
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


@pytest.mark.parametrize("name, video", [("a.webm", None), ("v.mkv", "mpeg4"),
                                         ("v.webm", "libvpx")])
def test_a_truncated_matroska_file_says_truncated(tmp_path, tiny_model, name, video):
    codec = "aac" if name.endswith(".mkv") else "libopus"
    write_av(tmp_path / name, audio=sine(440, 48000, 4.0)[None], audio_codec=codec,
             video_codec=video, seconds=4.0)
    cut = _cut(tmp_path / name)
    with pytest.warns(asttools.ASTToolsWarning, match=r"truncated: the header declares 4\.0"):
        out = asttools.embed([tmp_path / name, cut], model=tiny_model)
    notes = out.clips().table.set_index("path")["av_warning"]
    assert notes[str(tmp_path / name)] is None
    assert notes[str(cut)].startswith("truncated: the header declares 4.0")


def test_an_audio_track_without_packets_has_no_audio_as_in_mp4(tmp_path):
    import av

    for ext in ("mkv", "mp4"):
        path = tmp_path / f"zero.{ext}"
        with av.open(str(path), "w") as c:
            v = c.add_stream("mpeg4", rate=10)
            v.width = v.height = 32
            v.pix_fmt = "yuv420p"
            c.add_stream("aac", rate=48000, layout="stereo")  # never given a frame
            for i in range(10):
                frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8),
                                                   format="rgb24")
                frame.pts = i
                c.mux(v.encode(frame))
            c.mux(v.encode(None))
        with pytest.raises(NoAudioStreamError, match="no audio stream") as err:
            asttools.load_audio(path)
        assert err.value.status == "no_audio_stream"
