"""Issue 18, the third reliability round: each case reproduced, then fixed.

(Case 1, a decoder that crashes, is in ``test_isolation.py``.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import sine

import asttools
from asttools.cli import EXIT_USAGE, main
from asttools.errors import ParameterError
from asttools.timestamps import check_frame_rate

SR = 16000


# --------------------------------------------------------------------------- case 3


@pytest.mark.parametrize("rate", [0, -5, math.nan, math.inf, 1e9, 1000.5, True, "25"])
def test_a_bad_frame_rate_is_refused_before_any_work(tmp_path, rate):
    path = tmp_path / "a.wav"
    sf.write(path, sine(440, SR, 1.0), SR)
    match = "frame_rate must be a number of frames per second above 0 and at most 1000"
    with pytest.raises(ParameterError, match=match):  # before the model: none is loaded
        asttools.timestamp_embeddings(path, model="/no/such/model", frame_rate=rate)
    with pytest.raises(ParameterError, match=match):
        check_frame_rate(rate)


def test_the_largest_frame_rate_is_accepted(tmp_path):
    assert check_frame_rate(1000) == 1000.0 and check_frame_rate(0.5) == 0.5
    assert check_frame_rate("video", video=True) == "video"


def test_frames_per_vector_is_checked_before_any_work(tmp_path):
    with pytest.raises(ParameterError, match="frames_per_vector must be an integer >= 1"):
        asttools.timestamp_embeddings(np.zeros(SR, np.float32), sr=SR, model="/no/model",
                                      frame_rate=25, frames_per_vector=0)


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
