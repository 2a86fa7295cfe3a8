"""Issue 8: window settings never drop audio, memory per window is bounded, rates are exact.

Each test reproduces one case of the issue (it failed before the fix):

- case 2: a window longer than the model's input, a hop that leaves gaps, a non-finite or
  sub-sample value, absurd window counts; ``fbank`` never truncates;
- case 4: what ``forward`` returns owns its memory (an (8, 64) embedding used to keep the
  whole 2.49 MB ``last_hidden_state`` alive);
- case 6: a non-integral sample rate is refused, not truncated;
- case 7: CLI messages name ``--batch-size`` / ``--window``; ``--pooling`` lists only what
  the subcommand accepts; a flat list of floats is one waveform.
"""

from __future__ import annotations

import importlib
import re
import warnings
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import torch
from audio_fixtures import noise, sine, write_av, write_tone

import asttools
import asttools.audio.sources as sources_mod  # where files are decoded for the streaming pass
import asttools.run._pass as embed_mod  # noqa: E402
from asttools.apps.cli import EXIT_SOME_FAILED, EXIT_USAGE, main
from asttools.audio import AudioStream, check_waveform, load_audio, resample, stream_audio
from asttools.audio.sources import load_file, streams
from asttools.constants import FRAME_SHIFT, MAX_LENGTH, SAMPLE_RATE, WINDOW_S
from asttools.errors import ASTToolsWarning, ParameterError
from asttools.model.features import fbank, n_frames, window_bounds
from asttools.run import forward
from asttools.settings import POOLINGS, check_windows
from asttools.store import STORE_POOLINGS, extract

features_mod = importlib.import_module("asttools.model.features")
audio_mod = importlib.import_module("asttools.audio._decode")
SR = 16000


# --------------------------------------------------------------------------- case 2


def test_model_input_length_comes_from_the_constants():
    assert WINDOW_S == MAX_LENGTH * FRAME_SHIFT / SAMPLE_RATE == 10.24
    assert n_frames(round(WINDOW_S * SR)) <= MAX_LENGTH  # a default window is never cut


def test_never_truncates_audio_after_the_model_input(tiny_model):
    """Two 30 s signals that differ only after 15 s: some window must see the difference."""
    a = noise(30.0)
    b = a.copy()
    b[15 * SR:] = noise(15.0, seed=1)
    ra = asttools.embed(a, sr=SR, model=tiny_model)
    rb = asttools.embed(b, sr=SR, model=tiny_model)
    assert ra.table["end_s"].iloc[-1] == 30.0
    assert not np.allclose(ra.embeddings, rb.embeddings)
    np.testing.assert_array_equal(ra.embeddings[0], rb.embeddings[0])  # 0-10.24 s: same audio


@pytest.mark.parametrize("window_s", [30.0, 10.25, 20.48])
def test_window_longer_than_the_model_input_is_refused(tiny_model, window_s):
    with pytest.raises(ParameterError,
                       match=rf"window_s={window_s:g} s is longer than the model's input, "
                             r"10\.24 s \(1024 frames"):
        asttools.embed(noise(30.0), sr=SR, model=tiny_model, window_s=window_s)


def test_the_input_limit_is_read_from_the_model_config(tiny_model):
    with pytest.raises(ParameterError, match=r"window_s=10\.24 s is longer than the model's "
                                             r"input, 5\.12 s \(512 frames"):
        check_windows(10.24, max_length=512)
    assert check_windows(5.12, max_length=512) == (5.12 * SR, 5.12 * SR)


def test_hop_longer_than_the_window_is_refused(tiny_model):
    with pytest.raises(ParameterError,
                       match=r"hop_s=12 s is longer than window_s=10\.24 s: the 1\.76 s "
                             r"between windows would never be seen"):
        asttools.embed(noise(30.0), sr=SR, model=tiny_model, hop_s=12.0)


@pytest.mark.parametrize(
    "window_s, hop_s, match",
    [(float("inf"), None, r"window_s must be a finite number of seconds, got inf"),
     (float("nan"), None, r"window_s must be a finite number of seconds, got nan"),
     (10.24, float("inf"), r"hop_s must be a finite number of seconds, got inf"),
     (10.24, float("-inf"), r"hop_s must be a finite number of seconds, got -inf"),
     ("10", None, r"window_s must be a finite number of seconds, got '10'"),
     (True, None, r"window_s must be a finite number of seconds, got True"),
     (0, None, r"window_s must be > 0 seconds, got 0"),
     (10.24, -1, r"hop_s must be > 0 seconds, got -1"),
     (1e-5, None, r"window_s=1e-05 s is shorter than one fbank frame \(0\.025 s\)"),
     (10.24, 1e-5, r"hop_s=1e-05 s is below the minimum of 0\.01 s"),
     (10.24, 0.001, r"hop_s=0\.001 s is below the minimum of 0\.01 s")],
)
def test_non_finite_and_sub_sample_values_are_refused(tiny_model, window_s, hop_s, match):
    with pytest.raises(ParameterError, match=match):
        check_windows(window_s, hop_s)
    with pytest.raises(ParameterError, match=match):  # not ZeroDivisionError/OverflowError
        window_bounds(25 * SR, window_s=window_s, hop_s=hop_s)
    with pytest.raises(ParameterError, match=match):
        asttools.embed(noise(25.0), sr=SR, model=tiny_model, window_s=window_s, hop_s=hop_s)


def test_heavy_overlap_warns_and_still_runs(tiny_model):
    with pytest.warns(ASTToolsWarning, match=r"hop_s=0\.05 s is finer than AST's time "
                                             r"resolution \(0\.1 s.*20 windows per second"):
        out = asttools.embed(noise(10.5), sr=SR, model=tiny_model, hop_s=0.05)
    assert len(out) == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_windows(10.24, 0.1)  # one patch column: fine


def test_absurd_window_count_of_one_file_fails_that_file_only(tiny_model, monkeypatch):
    monkeypatch.setattr(features_mod, "MAX_WINDOWS_PER_CLIP", 10)
    with pytest.raises(ParameterError, match=r"makes 15 windows, more than the limit of 10 "
                                             r"per clip.*larger hop"):
        window_bounds(int(23.5 * SR), window_s=10.24, hop_s=1.0)
    with pytest.warns(ASTToolsWarning, match="1 of 2 inputs failed"):
        out = asttools.embed([noise(23.5), noise(12.0)], sr=SR, model=tiny_model, hop_s=1.0)
    assert out.table["item"].unique().tolist() == [1]
    assert "15 windows, more than the limit of 10" in out.errors["reason"].iloc[0]


def test_fbank_refuses_to_truncate():
    with pytest.raises(ParameterError, match=r"2998 frames \(30\.00 s of audio\), more than "
                                             r"max_length=1024.*does not truncate"):
        fbank(np.zeros(30 * SR, np.float32))
    with pytest.raises(ParameterError, match="max_length=100"):
        fbank(np.zeros(2 * SR, np.float32), max_length=100)


def test_fbank_cuts_padding_but_never_audio(rng):
    """A batch wider than the model input is fine when every item's audio fits."""
    a = (0.1 * rng.standard_normal(10 * SR)).astype(np.float32)
    wide = np.zeros((2, 12 * SR), np.float32)
    wide[0, : len(a)] = a
    out = fbank(wide, lengths=[len(a), 3 * SR])
    torch.testing.assert_close(out[0], fbank(a)[0])
    with pytest.raises(ParameterError, match="more than max_length"):
        fbank(wide, lengths=[len(a), 12 * SR])


# --------------------------------------------------------------------------- case 4


def _retained_bytes(arr: np.ndarray) -> int:
    """Bytes an array keeps alive: its own, or those of the buffer it is a view into."""
    root = arr
    while isinstance(root, np.ndarray) and root.base is not None:
        root = root.base
    if isinstance(root, torch.Tensor):
        return root.untyped_storage().nbytes()
    if isinstance(root, np.ndarray):
        return root.nbytes
    return memoryview(root).nbytes


@pytest.mark.parametrize("pooling", POOLINGS)
def test_forward_returns_arrays_that_own_their_memory(tiny_model, pooling):
    batch = np.stack([noise(10.24, seed=s) for s in range(8)])
    emb, logits = forward(tiny_model, batch, pooling=pooling)
    for arr in (emb, logits):
        assert arr.base is None and arr.flags.c_contiguous
        assert _retained_bytes(arr) == arr.nbytes
    per_window = {"grid": 12 * 101, "time": 101}.get(pooling, 1)  # not (8, 1214, 64) floats
    assert emb.nbytes == 8 * per_window * 64 * 4


def test_a_clip_in_flight_keeps_no_batch_output_alive(tiny_model, monkeypatch):
    """While a long clip's windows run, its finished rows must not pin whole batches."""
    refs, alive = [], []
    real = embed_mod.forward

    def spy(*args, **kwargs):
        alive.append(sum(ref() is not None for ref in refs))
        emb, logits = real(*args, **kwargs)
        refs.extend([weakref.ref(emb), weakref.ref(logits)])
        return emb, logits

    monkeypatch.setattr(embed_mod, "forward", spy)
    out = asttools.embed(noise(35.0), sr=SR, model=tiny_model, batch_size=1)
    assert len(out) == 4 and alive == [0, 0, 0, 0]
    for arr in (out.embeddings, out.probs):
        assert arr.base is None and _retained_bytes(arr) == arr.nbytes


# Long files are decoded block by block (stream_audio), not whole: the same samples.


def _stereo(seconds: float, sr: int, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    left = 0.3 * np.sin(2 * np.pi * (200 + 40 * t) * t)
    return np.stack([left, 0.1 * rng.standard_normal(len(t))]).astype(np.float32)


@pytest.mark.parametrize(
    "name, fmt, subtype, sr",
    [("a.wav", "WAV", "PCM_16", 44100), ("a.flac", "FLAC", "PCM_24", 48000),
     ("a.ogg", "OGG", "VORBIS", 22050), ("a.mp3", "MP3", "MPEG_LAYER_III", 44100),
     ("a16.wav", "WAV", "FLOAT", 16000)],
)
def test_stream_audio_gives_exactly_what_load_audio_gives(tmp_path, name, fmt, subtype, sr):
    path = tmp_path / name
    sf.write(path, _stereo(7.3, sr).T, sr, format=fmt, subtype=subtype)
    for channel in (None, 1):
        whole, _ = load_audio(path, channel=channel)
        with stream_audio(path, channel=channel, block_s=0.7) as stream:
            assert isinstance(stream, AudioStream)
            assert stream.duration_s == pytest.approx(7.3, abs=0.1)
            blocks = list(stream)
        assert max(len(b) for b in blocks) <= 0.7 * 16000 + 400  # one block at a time
        assert all(b.dtype == np.float32 for b in blocks)
        np.testing.assert_array_equal(np.concatenate(blocks), whole)
        assert stream.n_samples == len(whole)


@pytest.mark.parametrize("name, video", [("a.m4a", None), ("a.mp4", "mpeg4")])
def test_stream_audio_reads_aac_and_video_tracks_like_load_audio(tmp_path, name, video):
    path = write_av(tmp_path / name, audio=_stereo(4.0, 48000), sr=48000, video_codec=video,
                    seconds=4.0)
    with stream_audio(path, block_s=0.5) as stream:
        streamed = np.concatenate(list(stream))
    np.testing.assert_array_equal(streamed, load_audio(path)[0])


def test_stream_audio_errors(tmp_path):
    with pytest.raises(asttools.AudioError, match="file not found"):
        stream_audio(tmp_path / "missing.wav")
    mono = write_tone(tmp_path / "mono.wav", 1.0)
    with pytest.raises(asttools.AudioError, match=r"channel 1 asked for, but the file has 1 "
                                                  r"channel \(0 to 0\)"):
        stream_audio(mono, channel=1)
    with pytest.raises(ParameterError, match=r"sr must be a positive integer .*got 16000\.5"):
        stream_audio(mono, sr=16000.5)
    bad = tmp_path / "nan.wav"
    wav = sine(440, SR, 3.0)
    wav[2 * SR] = np.nan
    sf.write(bad, wav, SR, subtype="FLOAT")
    stream = stream_audio(bad, block_s=0.5)
    with pytest.raises(asttools.AudioError, match=r"nan\.wav: contains NaN or Inf samples "
                                                  r"\(after 2\.0 s\)"):
        list(stream)


@pytest.fixture
def streamed(monkeypatch):
    """Stream every file longer than 5 s, 1.3 s at a time; count whole-file decodes.

    These patch this process: the tests decode in it (``workers=0``), not in workers."""
    whole = []
    real = sources_mod.load_audio

    def counting(path, **kwargs):
        whole.append(Path(path).name)
        return real(path, **kwargs)

    monkeypatch.setattr(sources_mod, "STREAM_S", 5.0)
    monkeypatch.setattr(audio_mod, "BLOCK_S", 1.3)
    monkeypatch.setattr(sources_mod, "load_audio", counting)
    return whole


@pytest.mark.slow  # 5.4-7.4 s on the loaded 2-core machine (issue 19)
@pytest.mark.parametrize("window_s, hop_s", [(10.24, None), (7.0, 3.0), (3.0, 3.0)])
def test_long_files_are_streamed_and_give_the_same_rows(tiny_model, tmp_path, monkeypatch,
                                                        streamed, window_s, hop_s):
    long = tmp_path / "long.wav"
    sf.write(long, _stereo(21.0, 44100).T, 44100)
    mp3 = tmp_path / "long.mp3"
    sf.write(mp3, _stereo(8.0, 44100, seed=1).T, 44100, format="MP3")
    short = write_tone(tmp_path / "short.wav", 2.0)
    paths = [long, short, mp3]
    out = asttools.embed(paths, model=tiny_model, window_s=window_s, hop_s=hop_s,
                         batch_size=3, workers=0)
    assert streamed == ["short.wav"]  # the long ones were never decoded whole
    monkeypatch.setattr(sources_mod, "STREAM_S", float("inf"))
    ref = asttools.embed(paths, model=tiny_model, window_s=window_s, hop_s=hop_s,
                         batch_size=3, workers=0)
    assert "long.wav" in streamed and "long.mp3" in streamed
    assert out.table.equals(ref.table)
    np.testing.assert_array_equal(out.embeddings, ref.embeddings)
    np.testing.assert_array_equal(out.probs, ref.probs)
    expected = window_bounds(len(load_audio(long)[0]), window_s=window_s, hop_s=hop_s)
    assert out.table[out.table["item"] == 0]["end_s"].iloc[-1] == expected[-1][1] / SR


def test_a_stream_that_fails_part_way_fails_alone(tiny_model, tmp_path, streamed):
    bad = tmp_path / "bad.wav"
    wav = sine(440, SR, 40.0)
    wav[31 * SR] = np.inf  # after two windows went to the model
    sf.write(bad, wav, SR, subtype="FLOAT")
    good = write_tone(tmp_path / "good.wav", 12.0)
    with pytest.warns(ASTToolsWarning, match="1 of 3 inputs failed"):
        out = asttools.embed([good, bad, good], model=tiny_model, batch_size=2, workers=0)
    assert out.errors["reason"].tolist() == ["contains NaN or Inf samples (after 29.9 s)"]
    assert out.table["item"].tolist() == [0, 0, 2, 2]
    np.testing.assert_array_equal(out.embeddings[:2], out.embeddings[2:])


def test_a_long_file_with_too_many_windows_fails_before_decoding(tiny_model, tmp_path,
                                                                 streamed, monkeypatch):
    monkeypatch.setattr(features_mod, "MAX_WINDOWS_PER_CLIP", 3)
    long = write_tone(tmp_path / "long.wav", 40.0)

    def never(*args, **kwargs):
        raise AssertionError("a clip refused by its header was decoded")

    monkeypatch.setattr(AudioStream, "_blocks", never)
    with pytest.warns(ASTToolsWarning, match="1 of 1 inputs failed"):
        out = asttools.embed(long, model=tiny_model, workers=0)
    assert "makes 4 windows, more than the limit of 3 per clip" in out.errors["reason"][0]


# --------------------------------------------------------------------------- case 6


def test_non_integral_sample_rate_is_refused_everywhere(tiny_model, tmp_path):
    wav = sine(440, 44100, 1.0)
    match = r"sr must be a positive integer \(Hz\), got 44100\.5"
    with pytest.raises(ParameterError, match=match):
        asttools.embed(wav, sr=44100.5, model=tiny_model)
    with pytest.raises(ParameterError, match=r"input 0: " + match):
        asttools.embed((wav, 44100.5), model=tiny_model)
    with pytest.raises(ParameterError, match=r"input 1: " + match):
        asttools.embed([(wav, 44100), (wav, 44100.5)], model=tiny_model)
    with pytest.raises(ParameterError, match=match):
        check_waveform(wav, 44100.5)
    with pytest.raises(ParameterError, match=r"orig_sr must be a positive integer"):
        resample(wav, 44100.5, 16000)
    path = tmp_path / "a.wav"
    sf.write(path, wav, 44100)
    with pytest.raises(ParameterError, match=match):
        load_audio(path, sr=44100.5)
    with pytest.raises(ParameterError, match=r"sr must be a positive integer .*got 0"):
        asttools.embed(wav, sr=0, model=tiny_model)
    # integer types of any kind are fine, and a tuple's numpy integer rate too
    a = asttools.embed(wav, sr=np.int64(44100), model=tiny_model)
    b = asttools.embed((wav, np.int32(44100)), model=tiny_model)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)


# --------------------------------------------------------------------------- case 7


def test_flat_list_of_numbers_is_one_waveform(tiny_model):
    wav = sine(440, SR, 1.0)
    ref = asttools.embed(wav, sr=SR, model=tiny_model)
    for as_list in (wav.tolist(), [np.float64(x) for x in wav], tuple(wav.tolist())):
        out = asttools.embed(as_list, sr=SR, model=tiny_model)
        assert len(out) == 1 and out.table["path"].tolist() == ["<array 0>"]
        np.testing.assert_allclose(out.embeddings, ref.embeddings, atol=1e-6)
    with pytest.raises(ParameterError, match="give its sample rate with sr="):
        asttools.embed(wav.tolist(), model=tiny_model)
    with pytest.raises(ParameterError, match=r"input 0 is a float.*a flat list of numbers is "
                                             r"one waveform"):
        asttools.embed([0.1, "a.wav"], sr=SR, model=tiny_model)


@pytest.mark.parametrize(
    "args, match",
    [(["--batch-size", "0"], r"argument --batch-size: must be an integer from 1 to 1,024, got '0'"),
     (["--workers", "-1"],
      r"argument --workers: must be an integer from 0 to 256 or 'auto', got '-1'"),
     (["--channel", "-2"], r"argument --channel: must be an integer from 0 to 1,023, got '-2'"),
     (["--window", "30"], r"--window 30 s is longer than the model's input, 10\.24 s"),
     (["--window", "inf"], r"--window must be a finite number of seconds, got inf"),
     (["--window", "-1"], r"--window must be > 0 seconds, got -1"),
     (["--hop", "0.00001"], r"--hop 1e-05 s is below the minimum of 0\.01 s"),
     (["--hop", "20", "--window", "10"], r"--hop 20 s is longer than --window 10 s"),
     (["--pooling", "grid"], r"argument --pooling: invalid choice: 'grid'"),
     (["--flush-every", "0"],
      r"argument --flush-every: must be an integer from 1 to 1,000,000, got '0'")],
)
def test_cli_errors_name_the_option_as_typed(tmp_path, tiny_env, capsys, args, match):
    data = write_tone(tmp_path / "d" / "a.wav")
    assert main(["extract", str(data), "--out", str(tmp_path / "S"), "-q", *args]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(match, err), err
    for python_name in ("batch_size", "window_s", "hop_s", "flush_items"):
        assert python_name not in err


def test_cli_predict_names_options_too(tmp_path, tiny_env, capsys):
    data = write_tone(tmp_path / "a.wav")
    assert main(["predict", str(data), "--batch-size", "0"]) == EXIT_USAGE
    assert "argument --batch-size: must be an integer from 1 to 1,024" in capsys.readouterr().err
    assert main(["predict", str(data), "--window", "12"]) == EXIT_USAGE
    assert "--window 12 s is longer than the model's input" in capsys.readouterr().err
    assert main(["predict", str(data), "--top-k", "0"]) == EXIT_USAGE
    assert "argument --top-k: must be an integer from 1 to" in capsys.readouterr().err


def test_cli_layer_out_of_range_names_the_option(tmp_path, tiny_env, capsys):
    data = write_tone(tmp_path / "a.wav")
    assert main(["extract", str(data), "--out", str(tmp_path / "S"), "-q",
                 "--layer", "7"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--layer 7 is out of range for a model with 2 layers" in err
    assert "layer=" not in err


@pytest.mark.slow  # 5.7 s on the loaded 2-core machine (issue 19)
def test_cli_heavy_overlap_warns_once_with_the_option_name(tmp_path, tiny_env, capsys):
    data = write_tone(tmp_path / "a.wav", 11.0)
    assert main(["predict", str(data), "--hop", "0.05", "-q"]) == 0
    err = capsys.readouterr().err
    assert err.count("finer than AST's time resolution") == 1
    assert "--hop 0.05 s is finer" in err and "hop_s" not in err


def test_cli_pooling_choices_are_what_each_command_accepts(capsys):
    for command in ("extract", "demo"):
        assert main([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "{" + ",".join(STORE_POOLINGS) + "}" in text, command
        assert "grid" not in text.split("--pooling")[1].split("--")[0]


def test_cli_too_many_windows_is_one_failed_file(tmp_path, tiny_env, capsys, monkeypatch):
    monkeypatch.setattr(features_mod, "MAX_WINDOWS_PER_CLIP", 10)
    write_tone(tmp_path / "d" / "long.wav", 23.5)
    write_tone(tmp_path / "d" / "short.wav", 1.0)
    code = main(["extract", str(tmp_path / "d"), "--out", str(tmp_path / "S"), "-q",
                 "--hop", "1"])
    assert code == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "long.wav:" in err and "more than the limit of 10 per clip" in err
    with pytest.warns(ASTToolsWarning, match="1 of 2 inputs failed"):
        res = extract(tmp_path / "d", tmp_path / "S", model="tiny-random", hop_s=1.0,
                      progress=False)
    assert res.table["path"].str.endswith("short.wav").all()


# --- streamed or decoded whole: by decoded bytes, or an unknown length ----------------------


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


def test_a_stream_block_is_bounded_in_bytes_at_the_files_rate(tmp_path):
    big, small = _flac(tmp_path, 192000, 8, seconds=3.0), _flac(tmp_path, 48000, 1, seconds=3.0)
    opened = stream_audio(big)
    per_second = 192000 * 8 * 4
    assert opened._block_s == pytest.approx(asttools.audio._decode.BLOCK_BYTES / per_second)
    blocks = [len(b) for b in opened]
    # 1.9 s at 16 kHz
    assert max(blocks) <= asttools.audio._decode.BLOCK_BYTES / per_second * SR + 1
    assert sum(blocks) == pytest.approx(3 * SR, abs=10)
    assert stream_audio(small)._block_s == asttools.audio._decode.BLOCK_S  # 30 s: as before
    assert stream_audio(big, block_s=2.5)._block_s == 2.5  # as asked
