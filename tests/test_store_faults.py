"""The store under faults: mixed failures, odd names, column types, I/O errors, damaged
parts, read-only stores, concurrent writers, unusual listings (issue 8)."""

from __future__ import annotations

import errno
import importlib
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from audio_fixtures import decode_after_cut, sine, write_tone
from result_fixtures import data_parts

import asttools
import asttools.run._items as inference_mod
import asttools.store._extract as store_mod
import asttools.store._layout as layout_mod
import asttools.store._writer as writer_mod
from asttools.apps.cli import EXIT_ERROR, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from asttools.audio.sources import decode_file as real_decode_file
from asttools.errors import ASTToolsWarning, ParameterError, StoreError
from asttools.run.inputs import list_inputs
from asttools.store import compact_store, extract, read_store

SR = 16000
_STORE_MODULES = [importlib.import_module(f"asttools.store.{m}")
                  for m in ("_columns", "_extract", "_layout", "_read", "_writer")]
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def _main(args: list[str]) -> int:
    """The command line as a user runs it: every warning shown (this module ignores them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        return main(args)


# --------------------------------------------------------------------------- case 1


def _good_empty_missing(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    sf.write(root / "good.wav", np.zeros(SR) + 0.1, SR)
    (root / "empty.wav").write_bytes(b"")
    (root / "m.csv").write_text("path\ngood.wav\nempty.wav\nmissing.wav\n")
    return root / "m.csv"


@pytest.mark.slow  # 5.7 s on the loaded 2-core machine (issue 19)
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


def test_missing_values_and_text_columns_keep_their_types(tmp_path, tiny_model, monkeypatch,
                                                          forbid_model):
    d = tmp_path / "d"
    for name in ("a.wav", "b.wav", "c.wav"):
        write_tone(d / name, freq=300.0 + 100 * len(name))
    (d / "m.csv").write_text("path,label,fold,score\na.wav,dog,1,0.5\nb.wav,,2,\nc.wav,cat,,1.5\n")
    out = extract(d / "m.csv", tmp_path / "S", model=tiny_model, progress=False)
    assert out.table["label"].tolist()[0] == "dog" and pd.isna(out.table["label"].iloc[1])
    assert pd.isna(out.table["fold"].iloc[2]) and pd.isna(out.table["score"].iloc[1])
    raw = pd.read_parquet(tmp_path / "S").sort_values("path")
    assert raw["label"].iloc[0] == "dog" and pd.isna(raw["label"].iloc[1])
    forbid_model()
    before = _snapshot(tmp_path / "S")
    again = extract(d / "m.csv", tmp_path / "S", progress=False, model="tiny-random")
    assert (again.meta["run"]["cached"], again.meta["run"]["copied"]) == (3, 0)
    assert _snapshot(tmp_path / "S") == before


# --------------------------------------------------------------------------- case 6: types


@pytest.mark.slow  # 6.9 s on the loaded 2-core machine (issue 19)
def test_a_column_whose_type_changes_between_runs_keeps_one_type(tmp_path, tiny_model,
                                                                  monkeypatch, forbid_model):
    d = tmp_path / "d"
    for i in range(3):
        write_tone(d / f"c{i}.wav", freq=300.0 + 100 * i)
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
    forbid_model()
    before = _snapshot(store)
    for table in (later, pd.DataFrame({"path": [str(d / "c1.wav")], "fold": [2]})):
        again = extract(table, store, model="tiny-random", progress=False)
        assert again.meta["run"]["copied"] == 0
    assert _snapshot(store) == before


@pytest.mark.slow  # 10.9 s on the loaded 2-core machine (issue 19)
def test_text_first_then_numbers_and_lists_then_scalars(tmp_path, tiny_model):
    d = tmp_path / "d"
    for i in range(4):
        write_tone(d / f"c{i}.wav", freq=300.0 + 100 * i)
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


@pytest.mark.slow  # 5.4 s on the loaded 2-core machine (issue 19)
@needs_bytes_names
def test_names_that_are_not_utf8_round_trip_through_the_store(tmp_path, tiny_model,
                                                               monkeypatch, forbid_model):
    d = tmp_path / "d"
    d.mkdir()
    write_tone(d / "ok.wav", freq=500.0)
    write_tone(os.fsencode(d) + b"/caf\xe9.wav", freq=700.0)
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
    forbid_model()
    again = extract([odd, d / "ok.wav"], store, model=tiny_model, progress=False)
    assert again.meta["run"]["cached"] == 2 and again.table["path"].iloc[0] == odd
    compact_store(store)
    assert odd in read_store(store).table["path"].tolist()


@needs_bytes_names
def test_failed_input_with_a_name_that_is_not_utf8(tmp_path, tiny_model):
    d = tmp_path / "d"
    d.mkdir()
    write_tone(d / "ok.wav")
    with open(os.fsencode(d) + b"/vide\xe9.wav", "wb"):
        pass
    out = extract(d, tmp_path / "S", model=tiny_model, progress=False)
    odd = os.fsdecode(os.fsencode(d) + b"/vide\xe9.wav")
    assert out.errors["path"].tolist() == [odd]
    assert read_store(tmp_path / "S").errors["path"].tolist() == [odd]
    again = extract(d, tmp_path / "S", model=tiny_model, progress=False)
    assert again.meta["run"]["failed_before"] == 1


# --------------------------------------------------------------------------- case 5


def _folder(root: Path, n: int = 3) -> Path:
    for i in range(n):
        write_tone(root / f"c{i}.wav", freq=300.0 + 100 * i)
    return root



def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.slow  # 7.9 s on the loaded 2-core machine (issue 19)
def test_full_disk_is_a_store_error_and_keeps_what_was_published(tmp_path, tiny_model,
                                                                  monkeypatch):
    data = _folder(tmp_path / "d", n=4)
    store = tmp_path / "S"
    real, calls = pq.write_table, []

    def fills_up(table, where, **kwargs):
        calls.append(1)
        if len(calls) >= 3:  # the schema part and the first part fit, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", fills_up)
    with pytest.raises(StoreError, match=r"part-000002-.*: cannot write a part file \(No space "
                       r"left on device\); the disk is full: free space.*run the same command "
                       r"again.*inputs finished since the last part are not saved"):
        extract(data, store, model=tiny_model, progress=False, flush_items=1)
    assert not list(store.glob(".*.tmp"))
    assert len(read_store(store)) == 1 and len(pd.read_parquet(store)) == 1
    monkeypatch.setattr(pq, "write_table", real)
    again = extract(data, store, model=tiny_model, progress=False)
    assert (again.meta["run"]["computed"], again.meta["run"]["cached"]) == (3, 1)


@pytest.mark.slow  # 5.2 s on the loaded 2-core machine (issue 19)
def test_full_disk_from_the_command_line(tmp_path, tiny_env, capsys, monkeypatch):
    data = _folder(tmp_path / "d", n=2)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    assert main(["extract", str(data), "--out", str(tmp_path / "S"), "-q"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "No space left on device" in err and "the disk is full" in err
    assert "Traceback" not in err


class _ReadOnly:
    """Stands in for ``os`` and ``open`` in asttools.store: every write raises EROFS and
    is counted."""

    def __init__(self):
        self.attempts: list[str] = []

    def refuse(self, what):
        self.attempts.append(str(what))
        raise OSError(errno.EROFS, "Read-only file system", str(what))

    def install(self, monkeypatch):
        ro = self

        class Os:
            def __getattr__(self, name):
                return getattr(os, name)

            def open(self, path, flags, *args):
                if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                    ro.refuse(path)
                return os.open(path, flags, *args)

            def replace(self, src, dst):
                ro.refuse(dst)

        def open_(path, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+"):
                ro.refuse(path)
            return open(path, mode, *args, **kwargs)

        for mod in _STORE_MODULES:  # every module of the store package that writes
            monkeypatch.setattr(mod, "os", Os())
            monkeypatch.setattr(mod, "open", open_, raising=False)
        return self


@pytest.mark.slow  # 6.4 s on the loaded 2-core machine (issue 19)
def test_fully_cached_run_on_a_read_only_store_writes_nothing(tmp_path, tiny_model,
                                                              monkeypatch, forbid_model):
    data = _folder(tmp_path / "d")
    store = tmp_path / "S"
    extract(data, store, model=tiny_model, progress=False)
    before = _snapshot(store)
    ro = _ReadOnly().install(monkeypatch)
    forbid_model()
    out = extract(data, store, model="tiny-random", progress=False)
    assert out.meta["run"]["cached"] == 3 and len(out) == 3
    assert len(read_store(store)) == 3
    assert ro.attempts == [] and _snapshot(store) == before
    # inputs to compute: refused before the model is loaded, naming the store
    write_tone(data / "new.wav", freq=999.0)
    with pytest.raises(StoreError, match=r"_claims: cannot write the claims file \(Read-only "
                       r"file system\); the store is not writable.*new.wav is not in the "
                       r"store yet, and nothing was computed"):
        extract(data, store, model="tiny-random", progress=False)
    # a failure that cannot be recorded is reported, with a warning
    (data / "new.wav").unlink()
    with pytest.warns(ASTToolsWarning, match=r"not writable, so 1 failed inputs are not "
                      r"recorded.*missing.wav: file not found"):
        files = [*sorted(data.glob("*.wav")), data / "missing.wav"]
        listed = pd.DataFrame({"path": [str(f) for f in files],  # the ids the folder gave
                               "id": [f.name for f in files]})
        out = extract(listed, store, model="tiny-random", progress=False)
    assert out.errors["reason"].tolist() == ["file not found"] and len(out) == 3
    assert _snapshot(store) == before


@pytest.mark.slow  # 7.9 s on the loaded 2-core machine (issue 19)
def test_damaged_part_is_skipped_moved_aside_and_recomputed(tmp_path, tiny_model):
    data = _folder(tmp_path / "d")
    store = tmp_path / "S"
    extract(data, store, model=tiny_model, progress=False, flush_items=1)
    bad = data_parts(store)[1]
    _truncate(bad)
    with pytest.warns(ASTToolsWarning, match=rf"{bad.name}: damaged part file.*moved it to "
                      rf".*_corrupt/{bad.name}.*extract computes them again"):
        res = read_store(store)
    assert len(res) == 2 and (store / "_corrupt" / bad.name).is_file()
    assert len(pd.read_parquet(store)) == 2  # the one-liner works again
    again = extract(data, store, model=tiny_model, progress=False)
    assert (again.meta["run"]["computed"], again.meta["run"]["cached"]) == (1, 2)


def test_compact_skips_a_damaged_part(tmp_path, tiny_model, tiny_env, capsys):
    data = _folder(tmp_path / "d")
    store = tmp_path / "S"
    extract(data, store, model=tiny_model, progress=False, flush_items=1)
    bad = data_parts(store)[0]
    _truncate(bad)
    assert _main(["compact", str(store)]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"{bad.name}: damaged part file" in err and "Traceback" not in err
    assert len(data_parts(store)) == 1 and len(read_store(store)) == 2
    assert len(pd.read_parquet(store)) == 2


@pytest.mark.slow  # 5.2 s on the loaded 2-core machine (issue 19)
def test_damaged_errors_part_and_schema_part_and_meta_file(tmp_path, tiny_model):
    data = _folder(tmp_path / "d", n=2)
    (data / "bad.wav").write_text("not audio")
    store = tmp_path / "S"
    extract(data, store, model=tiny_model, progress=False)
    _truncate(next((store / "_errors").glob("part-*.parquet")))
    _truncate(store / "part-000000-schema.parquet")
    (store / "_meta.json").write_bytes(b"\x00\xffnot json{")
    write_tone(data / "new.wav", freq=1200.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = extract(data, store, model=tiny_model, progress=False)
    said = " ".join(str(w.message) for w in caught)
    assert "damaged schema part" in said and "rebuilt it from the part files" in said
    assert "_errors" in said and "The failures it recorded are forgotten" in said
    assert (out.meta["run"]["computed"], out.meta["run"]["cached"]) == (1, 2)
    assert out.meta["run"]["failed"] == 1  # retried: its record was lost
    assert len(pd.read_parquet(store)) == 3
    for garbage in ("[1, 2]", '{"settings": 5, "latest_settings_key": 3}'):
        (store / "_meta.json").write_text(garbage)
        assert len(read_store(store)) == 3
        assert extract(data, store, model=tiny_model, progress=False).meta["run"][
            "computed"] == 0
        assert len(pd.read_parquet(store)) == 3


@pytest.mark.slow  # 6.0 s on the loaded 2-core machine (issue 19)
def test_damaged_schema_part_from_the_command_line(tmp_path, tiny_env, capsys):
    data = _folder(tmp_path / "d", n=2)
    store = tmp_path / "S"
    assert main(["extract", str(data), "--out", str(store), "-q"]) == EXIT_OK
    _truncate(store / "part-000000-schema.parquet")
    write_tone(data / "new.wav", freq=1200.0)
    assert _main(["extract", str(data), "--out", str(store), "-q"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "damaged schema part" in err and "1 computed" in out and "Traceback" not in err
    assert len(pd.read_parquet(store)) == 3


def test_a_part_this_user_cannot_read_is_an_error_not_damage(tmp_path, tiny_model,
                                                             monkeypatch):
    """No permission is not damage: the part stays where it is, the message says why."""
    store = tmp_path / "S"
    extract(_folder(tmp_path / "d", n=2), store, model=tiny_model, progress=False)
    part = data_parts(store)[0]

    def no_permission(path, mode="r", *args, **kwargs):
        if Path(path) == part:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, mode, *args, **kwargs)

    for mod in _STORE_MODULES:
        monkeypatch.setattr(mod, "open", no_permission, raising=False)
    with pytest.raises(StoreError, match=rf"{part.name}: cannot read it \(Permission denied\); "
                       r"make the store readable for you"):
        read_store(store)
    assert part.is_file() and not (store / "_corrupt").exists()


# ---- with a real file system: a tmpfs mounted here (root on Linux only)


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs; yields (mount point, remount(options))."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")

    def remount(options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(mnt)], check=True)

    try:
        yield mnt, remount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.slow  # 6.0 s on the loaded 2-core machine (issue 19)
def test_read_only_mount(tmpfs, tmp_path, tiny_model, tiny_env, capsys, monkeypatch):
    mnt, remount = tmpfs
    data = _folder(tmp_path / "d")
    store = mnt / "S"
    extract(data, store, model=tiny_model, progress=False, flush_items=1)
    damaged = data_parts(store)[0]
    _truncate(damaged)
    extract(data, store, model=tiny_model, progress=False)  # moves it aside, recomputes
    remount("ro")
    before = _snapshot(store)
    assert main(["extract", str(data), "--out", str(store), "-q"]) == EXIT_OK
    assert "3 already stored" in capsys.readouterr().out
    assert len(read_store(store)) == 3 and len(pd.read_parquet(store)) == 3
    write_tone(data / "new.wav", freq=999.0)
    assert main(["extract", str(data), "--out", str(store), "-q"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "Read-only file system" in err and "not writable" in err and "Traceback" not in err
    (data / "new.wav").unlink()
    missing = tmp_path / "m.csv"
    missing.write_text("path,id\n" + "\n".join(f"{f},{f.name}"  # the ids the folder gave
                                                for f in sorted(data.glob("*.wav")))
                       + "\nnothere.wav,nothere.wav\n")
    assert _main(["extract", str(missing), "--out", str(store), "-q"]) == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "not recorded" in err and "nothere.wav: file not found" in err
    assert _snapshot(store) == before
    remount("rw")
    _truncate(data_parts(store)[0])
    remount("ro")
    with pytest.warns(ASTToolsWarning, match=r"damaged part file.*left it in place \(the store "
                      r"is not writable\); pd.read_parquet\(STORE\) fails until"):
        assert len(read_store(store)) == 2


@pytest.mark.slow  # 5.5 s on the loaded 2-core machine (issue 19)
def test_full_tmpfs(tmpfs, tmp_path, tiny_env, capsys):
    mnt, _ = tmpfs
    data = tmp_path / "d"
    for i in range(30):
        write_tone(data / f"c{i:02d}.wav", freq=200.0 + 30 * i)
    store = mnt / "S"
    args = ["extract", str(data), "--out", str(store), "-q", "--flush-every", "1"]
    assert main(args) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "No space left on device" in err and "the disk is full" in err
    assert "Traceback" not in err
    stored = len(read_store(store))
    assert 0 < stored < 30 and len(pd.read_parquet(store)) == stored
    assert not list(store.glob(".*.tmp"))


# --------------------------------------------------------------------------- case 6: writers


def _cli(store: Path, data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "asttools", "extract", str(data), "--out", str(store),
            "--batch-size", "1", "-q", *extra]


@pytest.mark.slow
def test_two_writers_compute_each_input_once(tmp_path):
    data = tmp_path / "d"
    for i in range(16):
        write_tone(data / f"c{i:02d}.wav", 0.3, 200.0 + 37 * i)
    store = tmp_path / "S"
    env = {**os.environ, "ASTTOOLS_MODEL": "tiny-random"}
    procs = [subprocess.Popen(_cli(store, data, "--flush-every", "2"), env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == EXIT_OK, err
    computed = sum(int(re.search(r"(\d+) computed", out).group(1)) for out, _ in outs)
    assert computed == 16
    raw = pd.read_parquet(store)
    assert len(raw) == 16 and not raw.duplicated(["path", "window"]).any()
    seqs = [int(p.name.split("-")[1]) for p in store.glob("part-*.parquet")]
    seqs += [int(p.name.split("-")[1]) for p in store.glob("_errors/part-*.parquet")]
    assert len(seqs) == len(set(seqs))
    assert len(read_store(store)) == 16


@pytest.mark.slow
def test_a_writer_skips_what_another_computes_then_waits_for_it(tmp_path):
    data = tmp_path / "d"
    for i in range(4):
        write_tone(data / f"c{i}.wav", 0.3, 300.0 + 50 * i)
    store = tmp_path / "S"
    settings = store_mod._settings("tiny-random", pooling="cls", layer=-1, window_s=10.24,
                                   hop_s=None, channel=None)
    claims = writer_mod._Claims(layout_mod._Store(store, create=True),
                               store_mod.settings_key(settings))
    held = str(data / "c0.wav")
    assert claims.take(layout_mod._sha256(held))  # this process "computes" c0.wav
    env = {**os.environ, "ASTTOOLS_MODEL": "tiny-random"}
    proc = subprocess.Popen(_cli(store, data, "--flush-every", "1"), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        others = {str(data / f"c{i}.wav") for i in (1, 2, 3)}
        stored: set[str] = set()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None and stored != others:
            time.sleep(0.2)
            if data_parts(store):
                stored = set(read_store(store).table["path"])
        assert stored == others, proc.stderr.read() if proc.poll() is not None else stored
        assert proc.poll() is None  # it has done the rest and waits for c0.wav
    finally:
        claims.close()  # this process "dies": its claim goes
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_OK, err
    assert "4 computed" in out
    assert set(read_store(store).table["path"]) == others | {held}


# --------------------------------------------------------------------------- case 6: rows


def test_a_file_listed_on_several_rows_keeps_every_label(tmp_path, tiny_model):
    d = tmp_path / "d"
    write_tone(d / "a.wav")
    write_tone(d / "b.wav", freq=900.0)
    m = d / "m.csv"
    m.write_text("path,label,fold\na.wav,dog,1\na.wav,bark,1\nb.wav,cat,2\nb.wav,cat,2\n")
    with pytest.warns(ASTToolsWarning, match=r"1 files are listed on several rows with "
                      r"different values \(.*a.wav\).*\['label'\] hold a tuple.*"
                      r"read_ground_truth wants each file on one row"):
        table = list_inputs(m)
    assert table["label"].tolist() == [("dog", "bark"), ("cat",)]
    assert table["fold"].tolist() == [1, 2]
    out = extract(m, tmp_path / "S", model=tiny_model, progress=False)
    assert [list(v) for v in out.table["label"]] == [["dog", "bark"], ["cat"]]
    raw = pd.read_parquet(tmp_path / "S").sort_values("path")
    assert [list(v) for v in raw["label"]] == [["dog", "bark"], ["cat"]]
    try:  # the evaluation side of the same manifest: refused, or the same labels
        truth = asttools.read_ground_truth(m, missing="keep")
    except ParameterError as err:
        assert "more than once" in str(err)
    else:
        assert [tuple(v) for v in truth["labels"]] == [("dog", "bark"), ("cat",)]
    # the same file listed the same way twice, or by a folder and a manifest: no warning
    m.write_text("path,label\na.wav,dog\na.wav,dog\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list_inputs(m)["label"].tolist() == ["dog"]
        table = list_inputs([d, m])
    assert table["label"].iloc[0] == "dog" and pd.isna(table["label"].iloc[1])


# --------------------------------------------------------------------------- case 7


@pytest.mark.slow  # 10.8 s on the loaded 2-core machine (issue 19)
def test_symlinks_that_cannot_be_followed_fail_naming_the_link(tmp_path, tiny_model, tiny_env,
                                                               capsys):
    d = tmp_path / "d"
    write_tone(d / "ok.wav")
    (d / "loop.wav").symlink_to("loop2.wav")
    (d / "loop2.wav").symlink_to("loop.wav")
    (d / "dangling.wav").symlink_to(tmp_path / "nowhere.wav")
    names = {Path(p).name for p in list_inputs(d)["path"]}  # no RuntimeError
    assert names == {"ok.wav", "loop.wav", "loop2.wav", "dangling.wav"}
    assert list_inputs(d / "loop.wav")["path"].tolist() == [str(d / "loop.wav")]
    out = extract(d, tmp_path / "S", model=tiny_model, progress=False)
    reasons = dict(zip(out.errors["path"], out.errors["reason"], strict=True))
    assert reasons[str(d / "dangling.wav")] == \
        f"is a symbolic link to a missing file ({tmp_path / 'nowhere.wav'})"
    assert reasons[str(d / "loop.wav")].startswith(
        f"is a symbolic link in a loop (it points to {d / 'loop2.wav'})")
    assert len(out) == 1 and len(reasons) == 3
    res = asttools.embed([d / "loop.wav", d / "ok.wav"], model=tiny_model, on_error="ignore")
    assert res.errors["path"].tolist() == [str(d / "loop.wav")] and len(res) == 1
    assert main(["predict", str(d), "-q"]) == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "loop.wav" in err and "dangling.wav" in err and "Traceback" not in err


def test_header_only_manifest_says_it_has_no_rows(tmp_path, tiny_env, capsys):
    m = tmp_path / "m.csv"
    m.write_text("path,label\n")
    with pytest.raises(ParameterError, match=r"m.csv: the manifest has no rows, only a header"):
        list_inputs(m)
    assert main(["extract", str(m), "--out", str(tmp_path / "S")]) == EXIT_USAGE
    assert "m.csv: the manifest has no rows" in capsys.readouterr().err
    assert main(["predict", str(m)]) == EXIT_USAGE


# --------------------------------------------------------------------------- case 3: the CLI


@needs_bytes_names
@pytest.mark.slow
def test_command_line_with_names_that_are_not_utf8(tmp_path):
    """As a user runs it: a real process whose stdout is a strict UTF-8 pipe."""
    d = tmp_path / "d"
    d.mkdir()
    write_tone(d / "ok.wav")
    write_tone(os.fsencode(d) + b"/caf\xe9.wav", 12.0, 700.0)
    with open(os.fsencode(d) + b"/vide\xe9.wav", "wb"):
        pass
    (tmp_path / "m.csv").write_bytes(b"path,label\nd/caf\xe9.wav,x\nd/ok.wav,y\n")
    env = {**os.environ, "ASTTOOLS_MODEL": "tiny-random", "PYTHONIOENCODING": "utf-8:strict"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "asttools", *args], env=env,
                              capture_output=True, text=True, errors="strict", timeout=300)

    done = run("predict", str(d), "--out", str(tmp_path / "p.csv"), "-q")
    assert done.returncode == EXIT_SOME_FAILED, done.stderr
    assert "caf\\xe9.wav (12.0 s, 2 windows):" in done.stdout
    assert "vide\\xe9.wav: file is empty" in done.stderr and "Traceback" not in done.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    assert table["path"].str.endswith("caf\\xe9.wav").sum() == 15  # 5 clip + 2 x 5 window
    done = run("predict", str(tmp_path / "m.csv"), "--out", str(tmp_path / "p.parquet"), "-q")
    assert done.returncode == EXIT_OK, done.stderr
    table = pd.read_parquet(tmp_path / "p.parquet")
    assert set(table["manifest_label"]) == {"x", "y"}
    odd = os.fsdecode(os.fsencode(d) + b"/caf\xe9.wav")
    for args, code in (([str(d)], EXIT_SOME_FAILED), ([str(tmp_path / "m.csv")], EXIT_OK),
                       ([odd], EXIT_OK)):  # a folder walk, a manifest, a file argument
        done = run("extract", *args, "--out", str(tmp_path / "S"), "-q")
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
    assert "1 already stored" in done.stdout
    stored = read_store(tmp_path / "S")
    # the store knows inputs by id: the path relative to the folder walked or the manifest
    labels = dict(zip(stored.table["id"], stored.table["label"], strict=True))
    # (an id is text: a byte that is not UTF-8 is written as \\xe9, as in the tables)
    assert labels.keys() == {"caf\\xe9.wav", "ok.wav", "d/caf\\xe9.wav", "d/ok.wav"}
    assert labels["d/ok.wav"] == "y" and labels["d/caf\\xe9.wav"] == "x"
    assert set(stored.table["path"]) == {odd, str(d / "ok.wav")}
    assert stored.errors["path"].tolist() == [os.fsdecode(os.fsencode(d) + b"/vide\xe9.wav")]
    assert run("compact", str(tmp_path / "S")).returncode == EXIT_OK


@needs_bytes_names
def test_bytes_paths_are_accepted(tmp_path, tiny_model):
    d = tmp_path / "d"
    d.mkdir()
    raw = write_tone(os.fsencode(d) + b"/caf\xe9.wav")
    res = asttools.embed(raw, model=tiny_model)
    assert res.table["path"].tolist() == [os.fsdecode(raw)]
    assert list_inputs([raw])["path"].tolist() == [os.fsdecode(raw)]


@pytest.mark.slow  # 6.2 s on the loaded 2-core machine (issue 19)
def test_a_lone_writer_does_not_reread_the_store_after_its_own_parts(tmp_path, tiny_model,
                                                                      monkeypatch):
    """Looking for other writers' parts costs nothing when there are none (no re-index
    after each flush, which would make a long run quadratic)."""
    data = _folder(tmp_path / "d", n=5)
    calls = []
    real = layout_mod._Store._index

    def counted(self, key, only=None):
        calls.append(only)
        return real(self, key, only)

    monkeypatch.setattr(layout_mod._Store, "_index", counted)
    out = extract(data, tmp_path / "S", model=tiny_model, progress=False, flush_items=1)
    assert out.meta["run"]["computed"] == 5 and calls == [None]


# --- a file changed while read; bytes zeroed inside a part ----------------------------------


@pytest.mark.slow
def test_a_file_that_changes_while_read_is_never_stored_as_good(tmp_path, monkeypatch,
                                                                 capsys):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    data, store = tmp_path / "data", tmp_path / "store"
    data.mkdir()
    sf.write(data / "changing.wav", sine(440, SR, 12.0), SR)
    sf.write(data / "same bytes.wav", sine(440, SR, 12.0), SR)  # identical content
    sf.write(data / "other.wav", sine(660, SR, 1.0), SR)
    original = (data / "changing.wav").read_bytes()
    monkeypatch.setattr(inference_mod, "decode_file", decode_after_cut)
    args = ["extract", str(data), "--out", str(store), "-q"]
    assert main(args) == EXIT_SOME_FAILED
    err = capsys.readouterr().err
    assert "changing.wav: changed while it was read (" in err
    assert "nothing was stored for it" in err
    res = read_store(store)
    assert "changing.wav" not in "".join(res.table["path"])
    assert res.status.set_index("id").loc["changing.wav", "audio_status"] == "error"
    # the file is whole again: the next run decodes it, serves nothing stale
    monkeypatch.setattr(inference_mod, "decode_file", real_decode_file)
    (data / "changing.wav").write_bytes(original)
    assert main(args) == EXIT_OK
    again = read_store(store)
    rows = again.table.reset_index(drop=True)
    mine = rows.index[rows["id"] == "changing.wav"]
    twin = rows.index[rows["id"] == "same bytes.wav"]
    assert len(mine) == 2 and rows.loc[mine, "end_s"].max() == pytest.approx(12.0)
    np.testing.assert_array_equal(again.embeddings[mine], again.embeddings[twin])


@pytest.mark.slow
def test_bytes_zeroed_inside_a_part_are_caught_by_page_checksums(tmp_path, tiny_model):
    for i in range(3):
        sf.write(tmp_path / f"{i}.wav", sine(300 + 100 * i, SR, 0.5), SR)
    store, files = tmp_path / "S", sorted(tmp_path.glob("*.wav"))
    first = asttools.extract(files[:2], store, model=tiny_model, progress=False)
    asttools.extract(files, store, model=tiny_model, progress=False)  # a second part
    part = min(p for p in store.glob("part-0*-*.parquet") if "schema" not in p.name)
    meta = pq.ParquetFile(part).metadata.row_group(0)
    probs = next(meta.column(i) for i in range(meta.num_columns)
                 if meta.column(i).path_in_schema.startswith("probs"))
    data = bytearray(part.read_bytes())
    inside = probs.data_page_offset + probs.total_compressed_size // 2  # in its values
    data[inside:inside + 200] = bytes(200)
    part.write_bytes(bytes(data))
    with pytest.warns(asttools.ASTToolsWarning, match="damaged part file"):
        damaged = asttools.read_store(store)
    assert damaged.table["path"].tolist() == [str(files[2])]  # no row of it is served
    again = asttools.extract(files, store, model=tiny_model, progress=False)
    assert again.meta["run"]["computed"] == 2  # computed again, as for footer damage
    np.testing.assert_array_equal(again.probs[:2], first.probs)
