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
import asttools.audio.sources as sources_mod
from asttools.audio import load_audio, probe_media, stream_audio
from asttools.errors import ASTToolsWarning
from asttools.audio.sources import load_file, streams

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
    assert isinstance(source.audio, asttools.audio._decode.AudioStream)  # not decoded whole
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
    assert isinstance(_load(big).audio, asttools.audio._decode.AudioStream)
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


# --------------------------------------------------------------------------- case 3


def _cli_case(tmp_path, command: str) -> list[str]:
    """A command line that, once its options pass, fails at its first real work (a model
    that does not exist, a store that does not exist: exit 1), so exit 2 shows a refusal
    before it."""
    wav = tmp_path / "a.wav"
    if not wav.exists():
        sf.write(wav, sine(440, SR, 1.0), SR)
    return {
        "predict": ["predict", str(wav), "--model", "/no/such/model"],
        "extract": ["extract", str(wav), "--out", str(tmp_path / "s"), "--model", "/no/such/model"],
        "timestamps": ["timestamps", str(wav), "--out", str(tmp_path / "t.parquet"),
                       "--model", "/no/such/model"],
        "fidelity": ["fidelity", str(wav), "--model", "/no/such/model"],
        "explore": ["explore", str(tmp_path / "no store"), "--out", str(tmp_path / "m.html")],
        "video-features": ["video-features", str(wav), "--out", str(tmp_path / "s"),
                           "--video-model", "/no/such/model"],
    }[command]


HUGE = "1000000000000"
_NONPOSITIVE_INT = ["0", "-1", "nan", "inf", "2.5", "", HUGE]
_NEGATIVE_INT = ["-1", "nan", "inf", "2.5", "", HUGE]
_SECONDS = ["0", "-1", "nan", "inf", "-inf", "1e9", "x"]
#: (commands, option, bad values): every numeric option of the command line
CLI_OPTIONS = [
    (("predict", "extract", "fidelity", "video-features"), "--batch-size", _NONPOSITIVE_INT),
    (("timestamps",), "--batch-size", _NONPOSITIVE_INT),
    (("predict", "extract"), "--window", _SECONDS),
    (("predict", "extract", "timestamps"), "--hop", _SECONDS),
    (("predict", "extract", "timestamps"), "--channel", _NEGATIVE_INT),
    (("predict", "extract", "timestamps"), "--audio-stream", _NEGATIVE_INT),
    (("predict", "extract", "timestamps", "video-features"), "--workers", _NEGATIVE_INT),
    (("predict",), "--top-k", _NONPOSITIVE_INT),
    (("extract", "timestamps"), "--layer", ["nan", "2.5", HUGE, "-" + HUGE]),
    (("extract",), "--flush-every", _NONPOSITIVE_INT),
    (("extract",), "--actors", _NONPOSITIVE_INT),
    (("extract",), "--actor-cpus", ["0", "-1", "nan", "inf", HUGE]),
    (("extract",), "--actor-gpus", ["-1", "nan", "inf", HUGE]),
    (("timestamps",), "--frame-rate", ["0", "-5", "nan", "inf", "1e9"]),
    (("timestamps",), "--frames-per-vector", _NONPOSITIVE_INT),
    (("fidelity",), "--max-windows", _NONPOSITIVE_INT),
    (("fidelity",), "--repeats", _NONPOSITIVE_INT),
    (("explore",), "--perplexity", ["0", "-1", "nan", "inf", HUGE]),
    (("explore",), "--seed", _NEGATIVE_INT),
    (("video-features",), "--fps", ["0", "-1", "nan", "inf", "1e9"]),
    (("video-features",), "--snippet", _NONPOSITIVE_INT),
    (("video-features",), "--stride", _NONPOSITIVE_INT),
]
CLI_CASES = [(c, o, v) for commands, o, values in CLI_OPTIONS for c in commands for v in values]


@pytest.mark.parametrize("command", sorted({c for c, _, _ in CLI_CASES} - {"explore"}))
def test_each_case_fails_at_its_work_when_its_options_are_fine(tmp_path, capsys, command):
    # (explore's numeric options are argparse types: refused while parsing, before all)
    from asttools.apps.cli import EXIT_ERROR, main

    assert main(_cli_case(tmp_path, command)) == EXIT_ERROR  # so exit 2 below is a refusal
    assert "/no/such/model" in capsys.readouterr().err or command == "explore"


@pytest.mark.parametrize("command, option, value", CLI_CASES,
                         ids=[f"{c} {o} {v!r}" for c, o, v in CLI_CASES])
def test_every_numeric_option_is_refused_before_any_work(tmp_path, capsys, command, option,
                                                         value):
    from asttools.apps.cli import EXIT_USAGE, main

    assert main(_cli_case(tmp_path, command) + [f"{option}={value}"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()  # no store begun


def test_every_numeric_option_is_in_the_table():
    """A numeric option added to the command line without a row above fails here."""
    from asttools.apps.cli import build_parser

    listed = {(c, o) for commands, o, _ in CLI_OPTIONS for c in commands}
    parser = build_parser()
    subs = next(a for a in parser._actions if a.choices and "predict" in a.choices).choices
    numeric = set()
    for name, sub in subs.items():
        for action in sub._actions:
            kind = getattr(action.type, "__name__", "")
            if action.option_strings and (action.type in (int, float) or kind.startswith(
                    ("integer", "number", "frame", "_workers"))
                    or action.dest in ("window", "hop")):
                numeric.add((name, action.option_strings[-1]))
    assert numeric, "the parser walk found no options"
    assert numeric <= listed, f"not tested: {sorted(numeric - listed)}"


def test_a_stream_block_is_bounded_in_bytes_at_the_files_rate(tmp_path):
    big, small = _flac(tmp_path, 192000, 8, seconds=3.0), _flac(tmp_path, 48000, 1, seconds=3.0)
    opened = stream_audio(big)
    per_second = 192000 * 8 * 4
    assert opened._block_s == pytest.approx(asttools.audio._decode.BLOCK_BYTES / per_second)
    blocks = [len(b) for b in opened]
    assert max(blocks) <= asttools.audio._decode.BLOCK_BYTES / per_second * SR + 1  # 1.9 s at 16 kHz
    assert sum(blocks) == pytest.approx(3 * SR, abs=10)
    assert stream_audio(small)._block_s == asttools.audio._decode.BLOCK_S  # 30 s: as before
    assert stream_audio(big, block_s=2.5)._block_s == 2.5  # as asked
