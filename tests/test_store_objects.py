"""A store on object storage: through an S3 server in this process (moto) and through a
pyarrow file system that is not local (fsspec's in-memory one), against a local store of
the same inputs (issue 13).

The S3 tests are skipped without moto (``pip install -e ".[dev]"`` installs it).
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from audio_fixtures import sine

from asttools.apps.cli import EXIT_OK, EXIT_SOME_FAILED, main
from asttools.errors import ParameterError, StoreError
from asttools.store import compact_store, extract, read_store

SR = 16000
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def s3_server():
    """An S3 server (moto) on a free local port, for the module: its endpoint."""
    server_mod = pytest.importorskip(
        "moto.server", reason='the S3 tests need moto: pip install "moto[server]" (in .[dev])')
    quiet = logging.getLogger("werkzeug")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # no line per request
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()
    quiet.setLevel(level)


@pytest.fixture
def s3(s3_server):
    """A pyarrow S3 file system on the moto server, and a fresh bucket in it."""
    fs = pafs.S3FileSystem(endpoint_override=s3_server, scheme="http", access_key="testing",
                           secret_key="testing", region="us-east-1",
                           allow_bucket_creation=True)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    fs.create_dir(bucket)
    return fs, bucket


@pytest.fixture
def memory_fs():
    """A pyarrow file system that is not local and needs no server: fsspec's memory one
    (shared by the whole process: each test takes its own folder)."""
    fsspec = pytest.importorskip("fsspec")
    fs = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem("memory")))
    return fs, f"/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def inputs(tmp_path) -> Path:
    """Three tones (one 12 s long: two windows), a copy of one, and a file of junk."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i, seconds in enumerate((0.5, 12.0, 1.0)):
        sf.write(folder / f"tone_{i}.wav", sine(300.0 + 110 * i, SR, seconds), SR)
    shutil.copy(folder / "tone_0.wav", folder / "copy_of_0.wav")
    (folder / "junk.wav").write_bytes(b"not audio at all " * 40)
    return folder


def _files(fs: pafs.FileSystem, root: str) -> list[str]:
    """Every object under root, relative to it."""
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    return sorted(i.path[len(root.rstrip("/")) + 1:] for i in infos
                  if i.type == pafs.FileType.File)


def assert_same(a, b) -> None:
    """Two results hold the same rows, vectors and failures (the store's name aside)."""
    ta, tb = (r.table.reset_index(drop=True) for r in (a, b))
    pd.testing.assert_frame_equal(ta, tb)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    np.testing.assert_array_equal(a.probs, b.probs)
    cols = ["path", "id", "audio_status", "reason"]
    pd.testing.assert_frame_equal(a.errors[cols].reset_index(drop=True),
                                  b.errors[cols].reset_index(drop=True))


def _check_object_store(fs, root, inputs, tmp_path, tiny_model, monkeypatch, scheme,
                        forbid_model):
    """Extract into ``(fs, root)`` and into a local store; the same rows, a cached re-run,
    pyarrow reads it, compaction keeps it."""
    local = extract(inputs, tmp_path / "local", model=tiny_model, progress=False)
    res = extract(inputs, (fs, root), model=tiny_model, progress=False)
    run = res.meta["run"]
    assert (run["computed"], run["copied"], run["failed"]) == (3, 1, 1)
    assert res.meta["store"] == f"{scheme}://{root.lstrip('/')}"
    assert_same(res, local)
    assert res.errors["path"].tolist() == [str(inputs / "junk.wav")]

    files = _files(fs, root)  # unique part names; no lock, claims or temporary files
    assert "_meta.json" in files and "part-000000-schema.parquet" in files
    assert any(f.startswith("_errors/part-") for f in files)
    assert not any(f.endswith(".tmp") or f in ("_lock", "_claims") for f in files)

    assert_same(read_store((fs, root)), read_store(tmp_path / "local"))
    # pyarrow reads every row straight from the bucket, as pd.read_parquet does locally
    assert pq.read_table(root, filesystem=fs).num_rows == len(pd.read_parquet(tmp_path / "local"))

    with monkeypatch.context() as m:  # a re-run is fully cached: no model, no forward pass
        forbid_model(m)
        again = extract(inputs, (fs, root), model="tiny-random", progress=False)
    run = again.meta["run"]
    assert (run["computed"], run["cached"], run["failed"], run["failed_before"]) == (0, 4, 1, 1)
    assert _files(fs, root) == files  # nothing written when nothing needs writing
    assert_same(again, res)

    sf.write(inputs / "tone_2.wav", sine(987.0, SR, 2.0), SR)  # a changed file: new rows
    extract(inputs, (fs, root), model=tiny_model, progress=False)
    before = read_store((fs, root))
    stats = compact_store((fs, root))
    assert stats["parts_before"] == 3 and stats["parts_after"] == 2  # rows, errors
    assert stats["rows_before"] == 6 and stats["rows_after"] == 5
    assert_same(read_store((fs, root)), before)
    assert pq.read_table(root, filesystem=fs).num_rows == 5


# --------------------------------------------------------------------------- S3 (moto)


@pytest.mark.slow  # 22.9 s on the loaded 2-core machine (issue 19)
def test_an_s3_store_holds_what_a_local_store_holds(s3, inputs, tmp_path, tiny_model,
                                                   monkeypatch, forbid_model):
    fs, bucket = s3
    _check_object_store(fs, f"{bucket}/emb", inputs, tmp_path, tiny_model, monkeypatch, "s3",
                        forbid_model)


@pytest.mark.slow  # 9.4 s on the loaded 2-core machine (issue 19)
def test_an_s3_uri_from_the_command_line(s3, s3_server, inputs, tmp_path, monkeypatch, capsys):
    """``--out s3://...``: credentials from the usual AWS variables, the endpoint of a
    server that is not AWS in the URI's query."""
    _, bucket = s3
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_EC2_METADATA_DISABLED", "true"), ("ASTTOOLS_MODEL", "tiny-random")):
        monkeypatch.setenv(name, value)
    uri = f"s3://{bucket}/cli?endpoint_override={s3_server}&scheme=http&region=us-east-1"
    assert main(["extract", str(inputs), "--out", uri, "-q"]) == EXIT_SOME_FAILED
    out, err = capsys.readouterr()
    assert "3 computed" in out and "1 copied" in out and "junk.wav" in err
    assert "Traceback" not in out + err
    assert main(["extract", str(inputs), "--out", uri, "-q"]) == EXIT_SOME_FAILED
    out, _ = capsys.readouterr()
    assert "0 computed" in out and "4 already stored" in out
    assert main(["compact", uri]) == EXIT_OK
    capsys.readouterr()
    res = read_store(uri)
    assert res.meta["store"] == f"s3://{bucket}/cli"  # without the query
    assert_same(res, extract(inputs, tmp_path / "local", model="tiny-random", progress=False))


@pytest.mark.slow  # 7.5 s on the loaded 2-core machine (issue 19)
def test_a_damaged_part_on_s3_is_moved_aside_and_computed_again(s3, inputs, tiny_model):
    fs, bucket = s3
    root = f"{bucket}/emb"
    first = extract(inputs, (fs, root), model=tiny_model, progress=False)
    part = next(f for f in _files(fs, root) if f.startswith("part-00000") and "schema" not in f)
    with fs.open_input_stream(f"{root}/{part}") as f:
        data = f.read()
    with fs.open_output_stream(f"{root}/{part}") as f:
        f.write(data[: len(data) // 2])  # truncated, as by a tool that failed mid-upload
    with fs.open_output_stream(f"{root}/part-000000-schema.parquet") as f:
        f.write(b"not parquet")
    with pytest.warns(UserWarning) as caught:
        left = read_store((fs, root))
    said = "\n".join(str(w.message) for w in caught)
    assert re.search(rf"s3://{root}/{part}: damaged part file .* moved it to "
                     rf"s3://{root}/_corrupt/{part}", said), said
    assert f"s3://{root}/part-000000-schema.parquet: damaged schema part" in said
    assert "rebuilt it from the part files" in said
    assert len(left.table) == 0 and left.errors["id"].tolist() == ["junk.wav"]  # its only part
    assert f"_corrupt/{part}" in _files(fs, root) and part not in _files(fs, root)
    again = extract(inputs, (fs, root), model=tiny_model, progress=False)
    assert again.meta["run"]["computed"] == 3
    assert_same(again, first)


def test_parts_of_two_writers_with_the_same_number_are_read_once(s3, inputs, tiny_model):
    """Without a lock two writers may number their parts alike and both write an input:
    the names differ, and reading gives each input's windows once."""
    fs, bucket = s3
    root = f"{bucket}/emb"
    first = extract(inputs, (fs, root), model=tiny_model, progress=False)
    part = next(f for f in _files(fs, root) if f.startswith("part-000001-"))
    fs.copy_file(f"{root}/{part}", f"{root}/part-000001-ffffffff.parquet")
    assert_same(read_store((fs, root)), first)
    assert extract(inputs, (fs, root), model=tiny_model, progress=False).meta["run"][
        "computed"] == 0


def test_a_missing_s3_store_or_bucket(s3, s3_server, tiny_model, inputs):
    fs, bucket = s3
    with pytest.raises(StoreError, match=rf"s3://{bucket}/nothing: no such embedding store"):
        read_store((fs, f"{bucket}/nothing"))
    plain = pafs.S3FileSystem(endpoint_override=s3_server, scheme="http", access_key="testing",
                              secret_key="testing", region="us-east-1")  # makes no buckets
    with pytest.raises(StoreError, match=r"s3://no-such-bucket/emb: cannot write the store "
                       r"directory \(.*Bucket 'no-such-bucket' not found"):
        extract(inputs, (plain, "no-such-bucket/emb"), model=tiny_model, progress=False)


# --------------------------------------------------------------------------- no server


@pytest.mark.slow  # 11.4 s on the loaded 2-core machine (issue 19)
def test_any_pyarrow_file_system(memory_fs, inputs, tmp_path, tiny_model, monkeypatch,
                                 forbid_model):
    fs, root = memory_fs
    _check_object_store(fs, root, inputs, tmp_path, tiny_model, monkeypatch, fs.type_name,
                        forbid_model)


class _FailingReads(pafs.FSSpecHandler):
    """fsspec's memory file system, whose downloads of one file fail (a network error)."""

    def __init__(self, fs, bad: str):
        super().__init__(fs)
        self.bad = bad

    def _refuse(self, path):
        if path.rstrip("/").endswith(self.bad):
            raise OSError(f"connection reset while reading {path}")

    def open_input_stream(self, path):
        self._refuse(path)
        return super().open_input_stream(path)

    def open_input_file(self, path):
        self._refuse(path)
        return super().open_input_file(path)


def test_a_failed_download_is_an_error_not_damage(memory_fs, inputs, tiny_model):
    fs, root = memory_fs
    extract(inputs, (fs, root), model=tiny_model, progress=False)
    part = next(f for f in _files(fs, root) if f.startswith("part-000001-"))
    handler = fs.handler
    failing = pafs.PyFileSystem(_FailingReads(handler.fs, part))
    with pytest.raises(StoreError, match=rf"{part}: cannot read it \(connection reset"):
        read_store((failing, root))
    assert part in _files(fs, root) and not any(f.startswith("_corrupt") for f in _files(fs, root))


def test_where_a_store_is_given(tmp_path, memory_fs, tiny_model, inputs):
    local = tmp_path / "local"
    res = extract(inputs, f"file://{local}", model=tiny_model, progress=False)
    assert res.meta["store"] == str(local)  # a file:// URI is a local store: locks and all
    assert (local / "_lock").exists()
    assert_same(read_store((pafs.LocalFileSystem(), str(local))), read_store(local))
    with pytest.raises(ParameterError, match=r"store 'nope://x/y': not a URI pyarrow can open"):
        read_store("nope://x/y")
    with pytest.raises(ParameterError, match=r"\(pyarrow.fs.FileSystem, path str\), got "
                       r"\(str, str\)"):
        read_store(("s3", "bucket/emb"))
    with pytest.raises(ParameterError, match="store must be a path, a URI"):
        read_store(42)
    fs, root = memory_fs
    with pytest.raises(StoreError, match=r"no such embedding store"):
        compact_store((fs, root))
    with fs.open_output_stream(f"{root}/file") as f:
        f.write(b"x")
    with pytest.raises(StoreError, match=r"is a file, not an embedding store directory"):
        read_store((fs, f"{root}/file"))
