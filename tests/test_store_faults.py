"""The store under faults: mixed failures, odd names, column types, I/O errors, damaged
parts, read-only stores, concurrent writers, unusual listings (issue 8)."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from audio_fixtures import sine

import asttools.store as store_mod
from asttools.cli import EXIT_OK, EXIT_SOME_FAILED, main
from asttools.errors import ASTToolsWarning
from asttools.store import compact_store, extract, read_store

embed_mod = importlib.import_module("asttools.embed")  # asttools.embed is the function
SR = 16000
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


def _write(path: Path | bytes, seconds: float = 0.5, freq: float = 440.0) -> Path | bytes:
    if isinstance(path, bytes):
        with open(path, "wb") as f:
            sf.write(f, sine(freq, SR, seconds), SR, format="WAV")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, sine(freq, SR, seconds), SR)
    return path


def _forbid_model(monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("the model was used, but everything was cached")

    monkeypatch.setattr(store_mod, "load_model", boom)
    monkeypatch.setattr(embed_mod, "forward", boom)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def tiny_env(monkeypatch):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")


# --------------------------------------------------------------------------- case 1


def _good_empty_missing(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    sf.write(root / "good.wav", np.zeros(SR) + 0.1, SR)
    (root / "empty.wav").write_bytes(b"")
    (root / "m.csv").write_text("path\ngood.wav\nempty.wav\nmissing.wav\n")
    return root / "m.csv"


def test_unopenable_and_undecodable_in_one_flush_are_recorded(tmp_path, tiny_model):
    manifest = _good_empty_missing(tmp_path / "d")
    store = tmp_path / "S"
    out = extract(manifest, store, model=tiny_model, progress=False)
    reasons = dict(zip(out.errors["path"].map(lambda p: Path(p).name), out.errors["reason"],
                       strict=True))
    assert reasons == {"empty.wav": reasons["empty.wav"], "missing.wav": "file not found"}
    assert "empty" in reasons["empty.wav"] and len(out) == 1
    stored = read_store(store)
    hashes = dict(zip(stored.errors["path"].map(lambda p: Path(p).name),
                      stored.errors["content_hash"], strict=True))
    assert pd.isna(hashes["missing.wav"]) and isinstance(hashes["empty.wav"], str)

    before = _snapshot(store)
    again = extract(manifest, store, model=tiny_model, progress=False)
    run = again.meta["run"]
    assert (run["computed"], run["cached"], run["failed"], run["failed_before"]) == (0, 1, 2, 1)
    assert _snapshot(store) == before  # the same failures again: nothing new to write

    stats = compact_store(store)
    assert stats["rows_after"] == 1
    after = read_store(store)
    assert after.errors[["path", "reason"]].values.tolist() == \
        stored.errors[["path", "reason"]].values.tolist()
    assert pd.isna(after.errors["content_hash"]).tolist() == \
        pd.isna(stored.errors["content_hash"]).tolist()


def test_issue_reproduction_from_the_command_line(tmp_path, tiny_env, capsys, monkeypatch):
    manifest = _good_empty_missing(tmp_path)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # every re-run behaves the same
        assert main(["extract", str(manifest), "--out", "S", "-q"]) == EXIT_SOME_FAILED
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and "missing.wav: file not found" in err
    assert main(["compact", "S"]) == EXIT_OK
    assert len(pd.read_parquet(tmp_path / "S")) == 1


def test_missing_values_and_text_columns_keep_their_types(tmp_path, tiny_model, monkeypatch):
    d = tmp_path / "d"
    for name in ("a.wav", "b.wav", "c.wav"):
        _write(d / name, freq=300.0 + 100 * len(name))
    (d / "m.csv").write_text("path,label,fold,score\na.wav,dog,1,0.5\nb.wav,,2,\nc.wav,cat,,1.5\n")
    out = extract(d / "m.csv", tmp_path / "S", model=tiny_model, progress=False)
    assert out.table["label"].tolist()[0] == "dog" and pd.isna(out.table["label"].iloc[1])
    assert pd.isna(out.table["fold"].iloc[2]) and pd.isna(out.table["score"].iloc[1])
    raw = pd.read_parquet(tmp_path / "S").sort_values("path")
    assert raw["label"].iloc[0] == "dog" and pd.isna(raw["label"].iloc[1])
    _forbid_model(monkeypatch)
    before = _snapshot(tmp_path / "S")
    again = extract(d / "m.csv", tmp_path / "S", progress=False, model="tiny-random")
    assert (again.meta["run"]["cached"], again.meta["run"]["copied"]) == (3, 0)
    assert _snapshot(tmp_path / "S") == before


# --------------------------------------------------------------------------- case 6: types


def test_a_column_whose_type_changes_between_runs_keeps_one_type(tmp_path, tiny_model,
                                                                  monkeypatch):
    d = tmp_path / "d"
    for i in range(3):
        _write(d / f"c{i}.wav", freq=300.0 + 100 * i)
    store = tmp_path / "S"
    extract(pd.DataFrame({"path": [str(d / "c0.wav"), str(d / "c1.wav")], "fold": [1, 2]}),
            store, model=tiny_model, progress=False)
    later = pd.DataFrame({"path": [str(d / "c0.wav"), str(d / "c2.wav")], "fold": [1, "x"]})
    with pytest.warns(ASTToolsWarning, match=r"column 'fold'.*int64.*text"):
        extract(later, store, model=tiny_model, progress=False)
    raw = pd.read_parquet(store)  # the README's one-liner still reads every part
    assert sorted(raw["fold"].tolist()) == ["1", "2", "x"]
    assert read_store(store).table["fold"].tolist() == ["1", "2", "x"]
    # the same inputs again: their values fit the stored type, nothing is rewritten
    _forbid_model(monkeypatch)
    before = _snapshot(store)
    for table in (later, pd.DataFrame({"path": [str(d / "c1.wav")], "fold": [2]})):
        again = extract(table, store, model="tiny-random", progress=False)
        assert again.meta["run"]["copied"] == 0
    assert _snapshot(store) == before


def test_text_first_then_numbers_and_lists_then_scalars(tmp_path, tiny_model):
    d = tmp_path / "d"
    for i in range(4):
        _write(d / f"c{i}.wav", freq=300.0 + 100 * i)
    store = tmp_path / "S"
    p = [str(d / f"c{i}.wav") for i in range(4)]
    extract(pd.DataFrame({"path": p[:1], "fold": ["A"], "tags": [("x", "y")]}), store,
            model=tiny_model, progress=False)
    extract(pd.DataFrame({"path": p[1:2], "fold": [3], "tags": ["z"]}), store,
            model=tiny_model, progress=False)
    extract(pd.DataFrame({"path": p[2:3], "fold": [2.5], "tags": [None]}), store,
            model=tiny_model, progress=False)
    raw = pd.read_parquet(store).sort_values("path")
    assert raw["fold"].tolist() == ["A", "3", "2.5"]
    assert [None if v is None else list(v) for v in raw["tags"]] == [["x", "y"], ["z"], None]
    # ints then floats: one float column
    extract(pd.DataFrame({"path": p[:2], "n": [1, 2]}), store, model=tiny_model, progress=False)
    extract(pd.DataFrame({"path": p[3:], "n": [0.5]}), store, model=tiny_model, progress=False)
    raw = pd.read_parquet(store)
    assert raw["n"].dtype == np.float64 and sorted(raw["n"].dropna()) == [0.5, 1.0, 2.0]


# --------------------------------------------------------------------------- case 3


needs_bytes_names = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="file names that are not UTF-8 need Linux")


@needs_bytes_names
def test_names_that_are_not_utf8_round_trip_through_the_store(tmp_path, tiny_model,
                                                               monkeypatch):
    d = tmp_path / "d"
    d.mkdir()
    _write(d / "ok.wav", freq=500.0)
    _write(os.fsencode(d) + b"/caf\xe9.wav", freq=700.0)
    odd = os.fsdecode(os.fsencode(d) + b"/caf\xe9.wav")
    store = tmp_path / "S"
    out = extract(d, store, model=tiny_model, progress=False)
    assert sorted(out.table["path"]) == sorted([str(d / "ok.wav"), odd])
    back = read_store(store)
    assert odd in back.table["path"].tolist()
    with open(odd, "rb") as f:  # the exact name: the user can open it
        assert f.read(4) == b"RIFF"
    raw = pd.read_parquet(store)
    assert sorted(raw["path"]) == sorted([str(d / "ok.wav"), str(d) + "/caf\\xe9.wav"])
    assert (os.fsencode(d) + b"/caf\xe9.wav") in raw["path_bytes"].tolist()
    _forbid_model(monkeypatch)
    again = extract([odd, d / "ok.wav"], store, model=tiny_model, progress=False)
    assert again.meta["run"]["cached"] == 2 and again.table["path"].iloc[0] == odd
    compact_store(store)
    assert odd in read_store(store).table["path"].tolist()


@needs_bytes_names
def test_failed_input_with_a_name_that_is_not_utf8(tmp_path, tiny_model):
    d = tmp_path / "d"
    d.mkdir()
    _write(d / "ok.wav")
    with open(os.fsencode(d) + b"/vide\xe9.wav", "wb"):
        pass
    out = extract(d, tmp_path / "S", model=tiny_model, progress=False)
    odd = os.fsdecode(os.fsencode(d) + b"/vide\xe9.wav")
    assert out.errors["path"].tolist() == [odd]
    assert read_store(tmp_path / "S").errors["path"].tolist() == [odd]
    again = extract(d, tmp_path / "S", model=tiny_model, progress=False)
    assert again.meta["run"]["failed_before"] == 1
