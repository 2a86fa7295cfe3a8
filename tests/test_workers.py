"""``workers="auto"`` and decoding in worker processes: the count the rule picks, the same
results as one thread, errors as rows, warnings reaching the caller, bad values refused.

Timings live in ``benchmarks/bench_decode.py``, not here."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from audio_fixtures import sine, write_av

import asttools
from asttools import concurrency
from asttools.apps.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from asttools.concurrency import (
    MAX_AUTO_WORKERS,
    auto_workers,
    prefetch,
    resolve_workers,
    usable_cpus,
)
from asttools.errors import ASTToolsWarning, ParameterError

SR = 16000


def test_auto_is_the_cpus_the_model_leaves_free():
    cpus = usable_cpus()
    assert 1 <= cpus <= (__import__("os").cpu_count() or cpus)
    on_cpu = auto_workers("cpu")
    assert on_cpu == max(1, min(cpus - torch.get_num_threads(), MAX_AUTO_WORKERS))
    assert 1 <= on_cpu <= cpus
    assert auto_workers("cuda:0") == auto_workers(torch.device("cuda")) \
        == max(1, min(cpus - 1, MAX_AUTO_WORKERS))
    n, processes = resolve_workers("auto", device="cpu")
    assert (n, processes) == (on_cpu, on_cpu > 1)
    assert resolve_workers(0) == (0, False) and resolve_workers(3) == (3, False)


def test_auto_counts_follow_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(concurrency, "usable_cpus", lambda: 16)
    assert auto_workers("cuda") == 15
    monkeypatch.setattr(torch, "get_num_threads", lambda: 16)
    assert auto_workers("cpu") == 1
    monkeypatch.setattr(concurrency, "usable_cpus", lambda: 256)
    assert auto_workers("cuda") == MAX_AUTO_WORKERS


@pytest.mark.parametrize("bad", [-1, 1.5, "many", "", True, None, "4"])
def test_bad_workers_are_refused_by_name(tmp_path, tiny_model, bad):
    match = rf"workers must be an integer >= 0 or 'auto', got {__import__('re').escape(repr(bad))}"
    with pytest.raises(ParameterError, match=match):
        resolve_workers(bad)
    with pytest.raises(ParameterError, match=match):
        asttools.embed(np.zeros(SR, np.float32), sr=SR, model=tiny_model, workers=bad)
    with pytest.raises(ParameterError, match=match):
        asttools.extract(tmp_path, tmp_path / "S", model=tiny_model, workers=bad)


def test_process_prefetch_keeps_order_raises_and_reissues_warnings():
    out = [r for _, r in prefetch(math.sqrt, [16, 1, 9, 4], workers=2, processes=True)]
    assert out == [4.0, 1.0, 3.0, 2.0]
    with pytest.raises(ValueError, match="math domain error"):
        list(prefetch(math.sqrt, [1, -1, 4], workers=2, processes=True))
    before = (warnings.showwarning, list(warnings.filters))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = list(prefetch(warnings.warn, ["first", "second"], workers=2, processes=True,
                            argument=lambda s: f"worker says {s}"))
    assert [it for it, _ in got] == ["first", "second"]
    assert [str(w.message) for w in seen] == ["worker says first", "worker says second"]
    assert all(w.category is UserWarning for w in seen)
    assert (warnings.showwarning, list(warnings.filters)) == before


def _inputs(folder: Path) -> list:
    folder.mkdir()
    paths = []
    for i, (sr, seconds) in enumerate([(44100, 3.0), (48000, 12.5), (16000, 1.0)]):
        stereo = np.stack([sine(300 + 100 * i, sr, seconds), sine(500, sr, seconds, amp=0.2)])
        paths.append(folder / f"clip{i}.wav")
        sf.write(paths[-1], stereo.T, sr)
    paths.append(write_av(folder / "video.mp4", audio=sine(440, 44100, 2.0)[None], sr=44100,
                          seconds=2.0))
    paths.append(folder / "silent.wav")
    sf.write(paths[-1], np.zeros(SR, np.float32), SR)
    paths.append(folder / "broken.wav")
    paths[-1].write_bytes(b"RIFF not really a wav file")
    paths.append(write_av(folder / "no_audio.mp4", audio=None, seconds=1.0))
    return [str(p) for p in paths] + [(sine(700, 22050, 1.5), 22050)]


@pytest.fixture
def four_processes(monkeypatch):
    """``auto`` picks processes here: four CPUs beyond the model's threads."""
    monkeypatch.setattr(concurrency, "usable_cpus", lambda: torch.get_num_threads() + 4)
    assert resolve_workers("auto", device="cpu") == (4, True)


@pytest.mark.slow  # 6.4 s on the loaded 2-core machine (issue 19)
def test_auto_in_processes_gives_what_one_thread_gives(tmp_path, tiny_model, four_processes):
    inputs = _inputs(tmp_path / "data")
    runs = {}
    for workers in (1, "auto"):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            runs[workers] = asttools.embed(inputs, model=tiny_model, workers=workers,
                                           on_error="ignore")
        messages = [str(w.message) for w in seen if issubclass(w.category, ASTToolsWarning)]
        assert any("silent.wav: is silent" in m for m in messages), (workers, messages)
    one, auto = runs[1], runs["auto"]
    pd.testing.assert_frame_equal(one.table, auto.table)
    np.testing.assert_array_equal(one.embeddings, auto.embeddings)
    np.testing.assert_array_equal(one.probs, auto.probs)
    pd.testing.assert_frame_equal(one.errors, auto.errors)
    pd.testing.assert_frame_equal(one.status, auto.status)
    assert set(auto.status["audio_status"]) == {"ok", "silent", "decode_error",
                                                 "no_audio_stream"}
    assert auto.table["item"].nunique() == 6  # four clips, the silent one and the array


@pytest.mark.slow  # 7.1 s on the loaded 2-core machine (issue 19)
def test_timestamps_and_extract_with_auto(tmp_path, tiny_model, four_processes):
    inputs = _inputs(tmp_path / "data")[:4]
    one = asttools.timestamp_embeddings(inputs, model=tiny_model, workers=1)
    auto = asttools.timestamp_embeddings(inputs, model=tiny_model, workers="auto")
    np.testing.assert_array_equal(one.embeddings, auto.embeddings)
    pd.testing.assert_frame_equal(one.table, auto.table)

    files = [p for p in inputs if isinstance(p, str)]
    a = asttools.extract(files, tmp_path / "A", model=tiny_model, workers=0, progress=False)
    b = asttools.extract(files, tmp_path / "B", model=tiny_model, workers="auto",
                         progress=False)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    assert list(a.table["path"]) == list(b.table["path"])


def test_cli_takes_workers_auto(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    data = tmp_path / "d"
    data.mkdir()
    for i in range(2):
        sf.write(data / f"c{i}.wav", sine(300 + 100 * i, SR, 1.0), SR)
    assert main(["extract", str(data), "--out", str(tmp_path / "S"), "-q",
                 "--workers", "auto"]) == EXIT_OK
    assert "2 computed" in capsys.readouterr().out
    assert main(["predict", str(data), "--workers", "AUTO", "-q"]) == EXIT_OK
    (data / "bad.wav").write_text("no")
    assert main(["timestamps", str(data), "--out", str(tmp_path / "t.parquet"), "-q",
                 "--workers", "auto"]) == EXIT_SOME_FAILED
    capsys.readouterr()
    assert main(["extract", str(data), "--out", str(tmp_path / "S"), "-q",
                 "--workers", "lots"]) == EXIT_USAGE
    assert "argument --workers: must be an integer from 0 to 256 or 'auto', got 'lots'" \
        in capsys.readouterr().err
