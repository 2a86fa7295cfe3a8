"""The command line's numeric options: every one refused before any work, naming
the option (exit 2), and every one listed in the table here."""

from __future__ import annotations

import pytest
import soundfile as sf
from audio_fixtures import sine

from asttools.apps.cli import EXIT_USAGE, main

SR = 16000


@pytest.mark.parametrize("rate", ["0", "-5", "nan", "inf", "1e9", "abc"])
def test_the_command_line_refuses_a_bad_frame_rate_at_once(tmp_path, rate, capsys):
    path = tmp_path / "a.wav"
    sf.write(path, sine(440, SR, 1.0), SR)
    code = main(["timestamps", str(path), "--out", str(tmp_path / "t.parquet"),
                 "--model", "/no/such/model", f"--frame-rate={rate}"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "--frame-rate: must be frames per second above 0 and at most 1000" in err
    assert not (tmp_path / "t.parquet").exists()


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
