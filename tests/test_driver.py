"""The run driver (asttools/run/_driver.py): every front end checks, collects, words and
raises failures the same way, because they all go through it."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from audio_fixtures import write_av, write_tone

import asttools
from asttools.errors import AudioError, NoAudioStreamError, ParameterError
from asttools.run import BATCH_SIZE, RunLog, check_run, failure_warning
from asttools.run.fidelity import fidelity
from asttools.run.inputs import Item
from asttools.store import extract

KEY = ["path", "audio_status", "reason"]
CORRUPT_REASON = re.compile(r"truncated or corrupt \(")


@pytest.fixture
def bad_inputs(tmp_path):
    """A good wav, a missing file, a corrupt wav and a video without audio."""
    write_tone(tmp_path / "good.wav", 0.5)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF....WAVEjunk" * 20)
    write_av(tmp_path / "mute.mp4", audio=None, seconds=1.0)
    return [str(tmp_path / n) for n in ("good.wav", "missing.wav", "corrupt.wav", "mute.mp4")]


def _run(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    said = [str(w.message) for w in caught if "inputs failed" in str(w.message)]
    return out, said


def test_embed_extract_and_fidelity_fail_alike_on_the_same_bad_inputs(bad_inputs, tiny_model,
                                                                      tmp_path):
    good, missing, corrupt, mute = bad_inputs
    emb, said_e = _run(asttools.embed, bad_inputs, model=tiny_model)
    fid, said_f = _run(fidelity, bad_inputs, model=tiny_model, precisions=("fp32",))
    # extract refuses a missing file before it runs (list_inputs), so it gets the rest
    with pytest.raises(ParameterError, match="missing.wav: no such file"):
        extract(bad_inputs, tmp_path / "s0", model=tiny_model, progress=False)
    ext, said_x = _run(extract, [good, corrupt, mute], tmp_path / "s", model=tiny_model,
                       progress=False)

    # the same error table: the missing and the corrupt file, not the video without audio
    errors = emb.errors
    assert list(errors.columns[:5]) == ["item", "id", "path", "audio_status", "reason"]
    assert errors["item"].tolist() == [1, 2] and errors["item"].dtype == np.int64
    assert errors["path"].tolist() == [missing, corrupt]
    assert errors["audio_status"].tolist() == ["unreadable", "decode_error"]
    assert errors["reason"][0] == "file not found"
    assert CORRUPT_REASON.match(errors["reason"][1])
    fid_errors = fid.attrs["errors"]
    assert fid_errors[["item", *KEY]].equals(errors[["item", *KEY]])
    assert ext.errors[KEY].to_dict("records") == errors[KEY].iloc[[1]].to_dict("records")
    assert ext.errors["item"].tolist() == [1]  # the corrupt file, second of three there
    # the video without audio is an outcome, not an error, for both result kinds
    for result in (emb, ext):
        status = result.status.set_index("path")["audio_status"]
        assert status[mute] == "no_audio_stream" and status[good] == "ok"

    # one wording, worded by failure_warning from the same rows
    rows = errors.to_dict("records")
    assert said_e == [failure_warning(rows, 4)]
    assert said_e[0] == (f"2 of 4 inputs failed and were skipped (see result.errors): "
                         f"{missing}: file not found; {corrupt}: {errors['reason'][1]}")
    assert said_f == ["fidelity: " + failure_warning(
        rows, 4, see="the attrs['errors'] of fidelity's table")]
    assert said_x == [failure_warning(rows[1:], 3, note="; recorded in the store")]


def test_on_error_raise_is_the_same_through_each_front_end(bad_inputs, tiny_model):
    good, missing, corrupt, mute = bad_inputs
    raised = {}
    for name, fn in (("embed", asttools.embed), ("timestamps", asttools.timestamp_embeddings)):
        for path in (missing, corrupt):
            with pytest.raises(AudioError) as info:
                fn([good, path], model=tiny_model, on_error="raise")
            raised[name, path] = (type(info.value), str(info.value), info.value.status)
    for path in (missing, corrupt):
        assert raised["embed", path] == raised["timestamps", path]
    assert raised["embed", missing][2] == "unreadable"
    corrupt_raised = raised["embed", corrupt]
    assert corrupt_raised[0] is AudioError and "corrupt.wav" in corrupt_raised[1]
    # a video without audio: embed raises NoAudioStreamError; timestamp_embeddings keeps
    # it as an input without steps (a video dataset's expected outcome), as it always did
    with pytest.raises(NoAudioStreamError) as info:
        asttools.embed([good, mute], model=tiny_model, on_error="raise")
    raised["embed", mute] = (type(info.value), str(info.value), info.value.status)
    assert raised["embed", mute][2] == "no_audio_stream"
    steps = asttools.timestamp_embeddings([good, mute], model=tiny_model, on_error="raise")
    assert steps.inputs.set_index("path")["audio_status"][mute] == "no_audio_stream"
    # and through the driver itself: the same exception from the same record
    log = RunLog(1, on_error="raise")
    with pytest.raises(NoAudioStreamError) as info:
        log.fail(Item(0, mute, None, mute), "no audio stream (streams found: video)",
                 "no_audio_stream")
    assert str(info.value) == raised["embed", mute][1]
    assert log.failures == []


def test_the_warning_lists_twenty_failures_and_counts_the_rest():
    rows = [{"path": f"f{i}.wav", "reason": "bad"} for i in range(25)]
    text = failure_warning(rows, 30, note="; recorded in the store")
    assert text.startswith("25 of 30 inputs failed and were skipped (see result.errors; "
                           "recorded in the store): f0.wav: bad; f1.wav: bad")
    assert "f19.wav: bad; and 5 more" in text and "f20.wav" not in text
    assert text.count(": bad") == 20


def test_a_run_log_keeps_every_failure_and_counts_a_video_without_audio_apart():
    log = RunLog(3)
    log.fail(Item(0, "a.wav", None, "a.wav"), "file not found", "decode_error",
             {"frame_rate": 25.0, "not_a_column": 1})
    log.fail(Item(2, "v.mp4", None, "v.mp4"), "no audio stream", "no_audio_stream")
    assert log.errors()["path"].tolist() == ["a.wav"]
    every = log.errors(every=True)
    assert every["path"].tolist() == ["a.wav", "v.mp4"]
    assert "frame_rate" in every and "not_a_column" not in every
    with pytest.warns(asttools.ASTToolsWarning, match=r"^1 of 3 inputs failed"):
        log.warn()
    strict = RunLog(3, require_audio=True)
    strict.fail(Item(2, "v.mp4", None, "v.mp4"), "no audio stream", "no_audio_stream")
    assert len(strict.errors()) == 1
    quiet = RunLog(3, on_error="ignore")
    quiet.fail(Item(0, "a.wav", None, "a.wav"), "file not found")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.warn()  # nothing said
    assert len(quiet.errors()) == 1


@pytest.mark.parametrize("option, value, message", [
    ("on_error", "skip", r"on_error='skip' is not one of \('warn', 'raise', 'ignore'\)"),
    ("pooling", "max", "max"),
    ("precision", "fp8", "fp8"),
    ("batch_size", 0, r"batch_size must be an integer >= 1, got 0"),
    ("batch_size", True, r"batch_size must be an integer >= 1, got True"),
    ("layer", 1.5, r"layer must be an integer, got 1.5"),
    ("window_s", 20.0, "20"),
    ("workers", -1, r"workers must be an integer >= 0 or 'auto', got -1"),
    ("audio_stream", -1, r"audio_stream must be None or an integer >= 0"),
])
def test_check_run_names_each_bad_option(option, value, message):
    with pytest.raises(ParameterError, match=message):
        check_run(**{option: value})


def test_check_run_returns_the_options_as_the_run_uses_them():
    out = check_run(on_error="warn", batch_size=np.int64(4), workers="auto", audio_stream=None,
                    layer=np.int32(-1))
    assert out == {"on_error": "warn", "batch_size": 4, "workers": "auto",
                   "audio_stream": None, "layer": -1}
    assert type(out["batch_size"]) is int and BATCH_SIZE == 8


def test_every_front_end_refuses_a_bad_batch_size_in_the_drivers_words(tmp_path, tiny_model):
    write_tone(tmp_path / "a.wav", 0.5)
    message = r"batch_size must be an integer >= 1, got 0"
    for call in (lambda: asttools.embed(str(tmp_path / "a.wav"), model=tiny_model, batch_size=0),
                 lambda: extract(tmp_path / "a.wav", tmp_path / "s", model=tiny_model,
                                 batch_size=0, progress=False),
                 lambda: asttools.timestamp_embeddings(str(tmp_path / "a.wav"),
                                                       model=tiny_model, batch_size=0)):
        with pytest.raises(ParameterError, match=message):
            call()
