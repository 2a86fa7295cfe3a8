"""The command line: in-process via ``asttools.apps.cli.main``, plus real ``python -m asttools``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points

import numpy as np
import pandas as pd
import pytest
from audio_fixtures import write_tone

import asttools.run._pass as embed_mod  # noqa: E402
from asttools.apps.cli import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    main,
)
from asttools.store import extract, read_store

SR = 16000
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


def test_help_usage_and_entry_point(capsys):
    assert main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("predict", "extract", "info", "examples", "HF_HUB_OFFLINE=1", "exit codes"):
        assert text in out
    assert main(["extract", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "--pooling" in out and "ASTTOOLS_MODEL=tiny-random asttools extract" in out
    assert main([]) == EXIT_USAGE
    assert main(["extract", "somewhere"]) == EXIT_USAGE  # --out is required
    assert "--out" in capsys.readouterr().err
    assert main(["frobnicate"]) == EXIT_USAGE
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("asttools") == "asttools.apps.cli:main"


@pytest.mark.slow  # 9.6 s on the loaded 2-core machine (issue 19)
def test_extract_end_to_end(tmp_path, tiny_env, capsys):
    data = tmp_path / "my data"
    for i in range(3):
        write_tone(data / f"c{i}.wav", 0.5 + i, 300.0 + 100 * i)
    write_tone(data / "sub" / "long.wav", 15.0)
    (data / "broken.wav").write_text("not audio at all")
    store = tmp_path / "emb"
    assert main(["extract", str(data), "--out", str(store), "-q"]) == EXIT_SOME_FAILED
    out, err = capsys.readouterr()
    assert "RANDOM WEIGHTS" in out
    assert "5 files" in out and "4 computed (5 windows" in out and "1 failed" in out
    assert "broken.wav: not a recognised audio or video format" in err
    assert "Traceback" not in out + err
    res = read_store(store)
    assert len(res) == 5 and res.random_weights and len(res.errors) == 1
    assert len(pd.read_parquet(store)) == 5

    (data / "broken.wav").unlink()
    assert main(["extract", str(data), "--out", str(store), "-q"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "0 computed" in out and "4 already stored" in out

    assert main(["extract", str(data), "--out", str(store), "--pooling", "mean", "--layer", "1",
                 "-q", "--workers", "2", "--batch-size", "3"]) == EXIT_OK
    assert "4 computed" in capsys.readouterr().out
    assert read_store(store).meta["pooling"] == "mean"


def test_extract_errors_have_exit_codes_and_no_traceback(tmp_path, tiny_env, capsys):
    data = tmp_path / "d"
    write_tone(data / "a.wav")
    store = str(tmp_path / "S")
    assert main(["extract", str(data), "--out", store, "--pooling", "grid"]) == EXIT_USAGE
    assert "argument --pooling: invalid choice: 'grid'" in capsys.readouterr().err
    assert main(["extract", str(data), "--out", store, "--model", "/no/such/model"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "/no/such/model" in err and "tiny-random" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    assert main(["extract", str(tmp_path / "empty"), "--out", store]) == EXIT_ERROR
    assert "no audio or video files found" in capsys.readouterr().err
    assert main(["extract", str(tmp_path / "nope"), "--out", store]) == EXIT_USAGE
    assert main(["extract", str(data), "--out", store, "--window", "-1"]) == EXIT_USAGE
    assert "--window must be > 0" in capsys.readouterr().err


def test_ctrl_c_flushes_and_exits_130(tmp_path, tiny_env, capsys, monkeypatch):
    data = tmp_path / "d"
    for i in range(4):
        write_tone(data / f"c{i}.wav", 0.5, 300.0 + 50 * i)
    real, calls = embed_mod.forward, []

    def interrupt_on_third(model, waves, **kwargs):
        if not np.any(waves):  # the store's embedding of silence, computed once per run
            return real(model, waves, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(model, waves, **kwargs)

    monkeypatch.setattr(embed_mod, "forward", interrupt_on_third)
    args = ["extract", str(data), "--out", str(tmp_path / "S"), "--batch-size", "1", "-q",
            "--workers", "0"]
    assert main(args) == EXIT_INTERRUPTED
    assert "run the same command again" in capsys.readouterr().err
    assert len(read_store(tmp_path / "S")) == 2
    monkeypatch.setattr(embed_mod, "forward", real)
    assert main(args) == EXIT_OK
    assert "2 computed" in capsys.readouterr().out


@pytest.mark.slow  # 6.5 s on the loaded 2-core machine (issue 19)
def test_predict_terminal_csv_parquet_and_manifest(tmp_path, tiny_env, capsys):
    data = tmp_path / "d"
    write_tone(data / "short.wav", 1.0)
    write_tone(data / "long one.wav", 25.0, 660.0)
    (data / "m.csv").write_text("path,label\nshort.wav,dog\nlong one.wav,cat\n")
    csv = tmp_path / "p.csv"
    assert main(["predict", str(data / "m.csv"), "--top-k", "2", "--out", str(csv)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "RANDOM WEIGHTS" in out
    assert "short.wav (1.0 s):" in out and "long one.wav (25.0 s, 3 windows):" in out
    assert "10.24-  20.48 s:" in out
    table = pd.read_csv(csv)
    assert list(table.columns[:11]) == ["model", "random_weights", "path", "scope", "window",
                                        "start_s", "end_s", "rank", "label", "mid",
                                        "probability"]
    assert table["random_weights"].all() and (table["model"] == "tiny-random").all()
    clips = table[table["scope"] == "clip"]
    assert len(clips) == 4 and clips["window"].isna().all()
    windows = table[table["scope"] == "window"]
    assert len(windows) == 6 and windows["path"].str.endswith("long one.wav").all()
    truth = table.drop_duplicates("path").set_index("path")["manifest_label"]
    assert truth.to_dict() == {str(data / "short.wav"): "dog", str(data / "long one.wav"): "cat"}

    pq_out = tmp_path / "p.parquet"
    assert main(["predict", str(data / "short.wav"), "--out", str(pq_out), "-q"]) == EXIT_OK
    assert len(pd.read_parquet(pq_out)) == 5
    assert main(["predict", str(data), "--out", str(tmp_path / "p.txt")]) == EXIT_USAGE
    (data / "bad.wav").write_bytes(b"")
    assert main(["predict", str(data / "bad.wav"), str(data / "short.wav")]) == EXIT_SOME_FAILED
    assert "bad.wav: file is empty" in capsys.readouterr().err


def test_info_never_downloads(tmp_path, monkeypatch, capsys, tiny_model_dir):
    import asttools.model._load

    def no_loading(*args, **kwargs):
        raise AssertionError("info must not load a hub model")

    monkeypatch.setattr(asttools.model._load, "_from_pretrained", no_loading)
    monkeypatch.delenv("ASTTOOLS_MODEL", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("asttools:", "torch:", "transformers:", "python:", "device: cpu",
                 "model_source: default", "MIT/ast-finetuned-audioset-10-10-0.4593",
                 "model_cached: no", "unknown (not cached)"):
        assert text in out, text
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    assert main(["info", "--json"]) == EXIT_OK
    info = json.loads(capsys.readouterr().out)
    assert info["model_source"] == "$ASTTOOLS_MODEL" and info["random_weights"] is True
    assert main(["info", "--model", str(tiny_model_dir), "--json"]) == EXIT_OK
    info = json.loads(capsys.readouterr().out)
    assert info["model_source"] == "--model" and info["model_cached"] is True
    assert info["random_weights"] is True


@pytest.mark.slow
def test_subprocess_kill_then_resume_matches_uninterrupted_run(tmp_path, tiny_model):
    data = tmp_path / "clips"
    for i in range(40):
        write_tone(data / f"clip{i:02d}.wav", 0.3, 200.0 + 37 * i)
    killed = tmp_path / "killed"
    env = {**os.environ, "ASTTOOLS_MODEL": "tiny-random"}
    cmd = [sys.executable, "-m", "asttools", "extract", str(data), "--out", str(killed),
           "--batch-size", "1", "--flush-every", "2", "--workers", "1", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    parts = []
    while time.monotonic() < deadline and proc.poll() is None:
        parts = [p for p in killed.glob("part-*.parquet") if "schema" not in p.name]
        if parts:
            break
        time.sleep(0.01)
    assert parts, proc.stderr.read().decode() if proc.poll() is not None else "no part in 120 s"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    partial = read_store(killed)  # valid after SIGKILL
    assert 0 < len(partial) < 40 and len(pd.read_parquet(killed)) == len(partial)

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr
    assert "already stored" in done.stdout and "RANDOM WEIGHTS" in done.stdout

    reference = extract(data, tmp_path / "reference", model=tiny_model, progress=False)
    resumed = read_store(killed)
    assert resumed.table["path"].tolist() == reference.table["path"].tolist()
    assert not resumed.table.duplicated(["path", "window"]).any()
    raw = pd.read_parquet(killed)
    assert len(raw) == 40 and not raw.duplicated(["path", "window"]).any()
    np.testing.assert_allclose(resumed.embeddings, reference.embeddings, atol=1e-6)
    np.testing.assert_allclose(resumed.probs, reference.probs, atol=1e-6)


# --- help and info --------------------------------------------------------------------------


def test_each_command_help_shows_its_own_examples(capsys):
    helps = {}
    for cmd in ("predict", "extract", "timestamps", "fidelity", "info", "compact", "demo"):
        assert main([cmd, "--help"]) == EXIT_OK
        helps[cmd] = capsys.readouterr().out
        assert "examples:" in helps[cmd], cmd
        example_lines = [ln.strip() for ln in helps[cmd].split("examples:")[1].splitlines()
                         if "asttools " in ln]
        assert example_lines, cmd
        assert all(f"asttools {cmd}" in ln for ln in example_lines), (cmd, example_lines)
    assert "asttools predict" not in helps["extract"]
    assert "--label-column" in helps["demo"]


def test_info_shows_cache_offline_and_decoders(monkeypatch, capsys):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    assert main(["info", "--json"]) == EXIT_OK
    info = json.loads(capsys.readouterr().out)
    for key in ("weights_cache", "offline", "pyav", "ffmpeg", "soxr"):
        assert info.get(key) not in (None, ""), key
    assert info["ffmpeg"].startswith("libavcodec ")
    assert isinstance(info["offline"], bool)
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("weights_cache:", "offline:", "pyav:", "ffmpeg:", "soxr:"):
        assert text in out, text
