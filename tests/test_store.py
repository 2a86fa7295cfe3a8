"""The embedding store: round trip, cache hits, invalidation, resume, bad files."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from audio_fixtures import sine, write_av, write_multichannel, write_tone
from result_fixtures import data_parts

import asttools
import asttools.run._embed as entry_mod  # noqa: E402 (silence_embedding's forward)
import asttools.run._items as items_mod  # noqa: E402
import asttools.run._pass as embed_mod  # noqa: E402
from asttools.errors import ASTToolsWarning, ParameterError, StoreError
from asttools.run.inputs import list_inputs
from asttools.store import compact_store, extract, read_store

SR = 16000
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


def _folder(root: Path, n: int = 4) -> Path:
    for i in range(n):
        write_tone(root / f"clip{i}.wav", 0.5 + 0.25 * i, freq=300.0 + 100 * i)
    write_tone(root / "sub" / "long.flac", 12.0, freq=700.0)  # two windows
    return root



# --------------------------------------------------------------------------- inputs


def test_list_inputs_walks_sorted_case_insensitive_skipping_hidden(tmp_path):
    for name in ("b.WAV", "a.flac", "sub/c.Mp4", ".hidden.wav", ".cache/d.wav", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    got = [Path(p).relative_to(tmp_path).as_posix() for p in list_inputs(tmp_path)["path"]]
    assert got == ["a.flac", "b.WAV", "sub/c.Mp4"]
    # a named file is taken whatever its extension; repeats are dropped
    again = list_inputs([tmp_path / "notes.txt", tmp_path, tmp_path / "a.flac"])
    assert len(again) == 4 and again["path"].iloc[0].endswith("notes.txt")
    with pytest.raises(ParameterError, match="nothere: no such file or directory"):
        list_inputs(tmp_path / "nothere")


def test_list_inputs_manifest(tmp_path):
    write_tone(tmp_path / "audio" / "x.wav", 1.0)
    (tmp_path / "m.csv").write_text("path,label,fold\naudio/x.wav,dog,3\n/abs/y.wav,cat,1\n")
    table = list_inputs(tmp_path / "m.csv")
    assert table["path"].tolist() == [str((tmp_path / "audio" / "x.wav").resolve()), "/abs/y.wav"]
    assert table["label"].tolist() == ["dog", "cat"] and table["fold"].tolist() == [3, 1]
    (tmp_path / "bad.csv").write_text("file,label\nx.wav,dog\n")
    with pytest.raises(ParameterError, match=r"bad.csv has no 'path' column.*\['file', 'label'\]"):
        list_inputs(tmp_path / "bad.csv")
    (tmp_path / "clash.csv").write_text("path,window\nx.wav,1\n")
    with pytest.raises(ParameterError, match=r"clash.csv has columns named like.*window"):
        list_inputs(tmp_path / "clash.csv")


def test_manifest_ids_are_text_as_written(tmp_path):
    for i, name in enumerate("abcdefg"):
        sf.write(tmp_path / f"{name}.wav", sine(300 + 50 * i, SR, 0.2), SR)
    (tmp_path / "m.csv").write_text(
        "path,id,fold\na.wav,007,1\nb.wav,1e3,2\nc.wav,1,\nd.wav,01,3\ne.wav,NA,1\n"
        "f.wav,null,2\ng.wav,nan,NA\n")
    table = asttools.run.inputs.list_inputs(tmp_path / "m.csv")
    assert table["id"].tolist() == ["007", "1e3", "1", "01", "NA", "null", "nan"]
    fold = table["fold"].tolist()  # other columns as pandas reads them
    assert fold[:2] == [1, 2] and math.isnan(fold[2]) and math.isnan(fold[6])


def test_an_empty_id_is_still_refused(tmp_path):
    sf.write(tmp_path / "a.wav", sine(300, SR, 0.2), SR)
    (tmp_path / "m.csv").write_text("path,id\na.wav,\n")
    with pytest.raises(ParameterError, match="column 'id' is empty in rows"):
        asttools.run.inputs.list_inputs(tmp_path / "m.csv")


def test_mka_files_are_found_when_walking_a_folder(tmp_path):
    write_multichannel(tmp_path / "audio.mka", channels=2, codec="libopus", seconds=0.3)
    table = asttools.run.inputs.list_inputs(tmp_path)
    assert [p.rsplit("/", 1)[-1] for p in table["path"]] == ["audio.mka"]
    wav, sr = asttools.load_audio(tmp_path / "audio.mka")
    assert sr == SR and len(wav) > 0.25 * SR


# --------------------------------------------------------------------------- round trip


@pytest.mark.slow  # 12.8 s on the loaded 2-core machine (issue 19)
def test_round_trip_equals_embed_and_pandas_one_liner(tmp_path, tiny_model):
    data = _folder(tmp_path / "data")
    out = extract(data, tmp_path / "S", model=tiny_model, progress=False, batch_size=3)
    assert out.meta["run"]["computed"] == 5 and out.meta["run"]["windows"] == 6
    assert out.random_weights and out.meta["model"] == "tiny-random"
    paths = list_inputs(data)["path"].tolist()
    ref = asttools.embed(paths, model=tiny_model)
    back = read_store(tmp_path / "S")
    for res in (out, back):
        assert res.table[["path", "window"]].values.tolist() == \
            ref.table[["path", "window"]].values.tolist()
        np.testing.assert_allclose(res.embeddings, ref.embeddings, atol=1e-6)
        np.testing.assert_allclose(res.probs, ref.probs, atol=1e-6)
        np.testing.assert_allclose(res.table["end_s"], ref.table["end_s"])
        assert res.embeddings.dtype == np.float32 and res.probs.shape == (6, 527)
    assert out.table["item"].tolist() == ref.table["item"].tolist()
    assert back.meta["labels"] == ref.meta["labels"] and back.meta["pooling"] == "cls"
    assert back.meta["random_weights"] is True

    df = pd.read_parquet(tmp_path / "S")  # the one-liner
    assert len(df) == 6 and {"content_hash", "settings_key", "top1_label"} <= set(df.columns)
    df = df.sort_values(["path", "window"])
    np.testing.assert_allclose(np.stack(df["embedding"]), back.embeddings, atol=0)
    assert (df["top1_prob"].to_numpy() == back.probs.max(axis=1)).all()
    # the vectors are FixedSizeList<float32> columns, uncompressed
    schema = pq.read_schema(data_parts(tmp_path / "S")[0])
    for name, width in (("embedding", 64), ("probs", 527)):
        kind = schema.field(name).type
        assert pa.types.is_fixed_size_list(kind) and kind.list_size == width
        assert kind.value_type == pa.float32()
    assert pq.read_metadata(data_parts(tmp_path / "S")[0]).row_group(0).column(0).compression \
        == "UNCOMPRESSED"
    assert not list((tmp_path / "S").glob(".*.tmp"))


@pytest.mark.slow  # 8.0 s on the loaded 2-core machine (issue 19)
def test_flush_every_n_items_and_compact(tmp_path, tiny_model):
    data = _folder(tmp_path / "data")
    extract(data, tmp_path / "S", model=tiny_model, progress=False, flush_items=2)
    assert len(data_parts(tmp_path / "S")) == 3  # 5 files, 2 per part
    before = read_store(tmp_path / "S")
    write_tone(data / "clip0.wav", 0.7, freq=1234.0)  # supersede one file's rows
    extract(data, tmp_path / "S", model=tiny_model, progress=False, flush_items=2)
    assert len(pd.read_parquet(tmp_path / "S")) == 7  # raw view keeps the old rows
    stats = compact_store(tmp_path / "S")
    assert stats == {"parts_before": 4, "parts_after": 1, "rows_before": 7, "rows_after": 6}
    after = read_store(tmp_path / "S")
    assert len(pd.read_parquet(tmp_path / "S")) == 6
    assert after.table["path"].tolist() == before.table["path"].tolist()
    changed = (after.table["path"] == str(data / "clip0.wav")).to_numpy()
    assert not np.allclose(after.embeddings[changed], before.embeddings[changed])
    np.testing.assert_array_equal(after.embeddings[~changed], before.embeddings[~changed])


# --------------------------------------------------------------------------- caching


def test_cached_rerun_loads_no_model(tmp_path, tiny_model, monkeypatch, forbid_model):
    data = _folder(tmp_path / "data")
    first = extract(data, tmp_path / "S", model=tiny_model, progress=False)
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    forbid_model()
    again = extract(data, tmp_path / "S", progress=False)  # model=None: by $ASTTOOLS_MODEL
    assert again.meta["run"] == {**again.meta["run"], "computed": 0, "cached": 5, "windows": 0}
    np.testing.assert_array_equal(again.embeddings, first.embeddings)
    assert again.meta["random_weights"] is True and again.meta["settings_key"] == \
        first.meta["settings_key"]
    # a subset, in another order: exactly those rows, numbered by input position
    sub = extract([data / "sub" / "long.flac", data / "clip1.wav"], tmp_path / "S",
                  model="tiny-random", progress=False)
    assert sub.table["item"].tolist() == [0, 0, 1]
    assert sub.table["path"].iloc[-1] == str(data / "clip1.wav")


@pytest.mark.slow  # over 15 s on the loaded 2-core machine (about 5 s quiet)
def test_changed_content_and_settings_are_recomputed(tmp_path, tiny_model):
    data = _folder(tmp_path / "data")
    store = tmp_path / "S"
    extract(data, store, model=tiny_model, progress=False)
    target = data / "clip2.wav"
    write_tone(target, 0.9, freq=2222.0)
    out = extract(data, store, model=tiny_model, progress=False)
    assert (out.meta["run"]["computed"], out.meta["run"]["cached"]) == (1, 4)
    fresh = asttools.embed(target, model=tiny_model)
    rows = read_store(store).table["path"] == str(target)
    assert rows.sum() == 1
    np.testing.assert_allclose(read_store(store).embeddings[rows.to_numpy()], fresh.embeddings,
                               atol=1e-6)
    # same size and modification time: not re-read unless rehash=True
    st = os.stat(target)
    write_tone(target, 0.9, freq=3333.0)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert extract(data, store, model=tiny_model, progress=False).meta["run"]["computed"] == 0
    assert extract(data, store, model=tiny_model, progress=False,
                   rehash=True).meta["run"]["computed"] == 1

    mean = extract(data, store, model=tiny_model, pooling="mean", progress=False)
    assert mean.meta["run"]["computed"] == 5
    ref = asttools.embed(list_inputs(data)["path"].tolist(), model=tiny_model, pooling="mean")
    np.testing.assert_allclose(read_store(store).embeddings, ref.embeddings, atol=1e-6)  # latest
    cls = read_store(store, settings={"pooling": "cls"})
    assert cls.meta["pooling"] == "cls" and len(cls) == 6
    assert not np.allclose(cls.embeddings, ref.embeddings)
    assert read_store(store, settings=mean.meta["settings_key"]).meta["pooling"] == "mean"
    with pytest.raises(StoreError, match="no settings match.*it holds.*pooling='mean'"):
        read_store(store, settings={"pooling": "patches"})
    layer0 = extract(data, store, model=tiny_model, layer=0, progress=False)
    assert layer0.meta["run"]["computed"] == 5 and layer0.meta["layer"] == 0


def test_duplicates_computed_once_and_copied_later(tmp_path, tiny_model, monkeypatch,
                                                   forbid_model):
    data = tmp_path / "data"
    write_tone(data / "a.wav", 1.0)
    shutil.copy(data / "a.wav", data / "a copy.wav")
    write_tone(data / "b.wav", 1.0, freq=900.0)
    out = extract(data, tmp_path / "S", model=tiny_model, progress=False)
    assert (out.meta["run"]["computed"], out.meta["run"]["copied"]) == (2, 1)
    a, dup = out.table["path"] == str(data / "a.wav"), out.table["path"] == str(data / "a copy.wav")
    np.testing.assert_array_equal(out.embeddings[a.to_numpy()], out.embeddings[dup.to_numpy()])
    # a new name for stored content: rows copied, no model (forward raises)
    forbid_model()
    shutil.copy(data / "b.wav", data / "b moved.wav")
    again = extract(data, tmp_path / "S", model=tiny_model, progress=False)
    assert (again.meta["run"]["computed"], again.meta["run"]["copied"]) == (0, 1)
    assert len(read_store(tmp_path / "S")) == 4


@pytest.mark.slow  # 7.4 s on the loaded 2-core machine (issue 19)
def test_append_new_files(tmp_path, tiny_model):
    data = _folder(tmp_path / "data", n=2)
    extract(data, tmp_path / "S", model=tiny_model, progress=False)
    write_tone(data / "later" / "new.wav", 2.0, freq=555.0)
    out = extract(data, tmp_path / "S", model=tiny_model, progress=False)
    assert (out.meta["run"]["computed"], out.meta["run"]["cached"]) == (1, 3)
    assert len(read_store(tmp_path / "S").table["path"].unique()) == 4


@pytest.mark.slow  # 8.1 s on the loaded 2-core machine (issue 19)
def test_manifest_columns_carried_and_updated(tmp_path, tiny_model):
    data = _folder(tmp_path / "data", n=2)
    manifest = tmp_path / "data" / "m.csv"
    manifest.write_text("path,label,fold\nclip0.wav,dog,1\nclip1.wav,cat,2\nmissing.wav,owl,3\n")
    out = extract(manifest, tmp_path / "S", model=tiny_model, progress=False)
    assert out.table[["label", "fold"]].values.tolist() == [["dog", 1], ["cat", 2]]
    assert out.errors["reason"].tolist() == ["file not found"]
    manifest.write_text("path,label,fold\nclip0.wav,wolf,1\nclip1.wav,cat,2\n")
    again = extract(manifest, tmp_path / "S", model=tiny_model, progress=False)
    assert again.meta["run"]["computed"] == 0 and again.table["label"].tolist() == ["wolf", "cat"]
    assert read_store(tmp_path / "S").table["label"].tolist() == ["wolf", "cat"]
    # a later run adding a column: the one-liner still sees every column
    extract(pd.DataFrame({"path": [str(data / "sub" / "long.flac")], "site": ["A"]}),
            tmp_path / "S", model=tiny_model, progress=False)
    raw = pd.read_parquet(tmp_path / "S")
    assert {"label", "fold", "site"} <= set(raw.columns)


# --------------------------------------------------------------------------- failures


@pytest.mark.slow  # over 15 s on the loaded 2-core machine (about 5 s quiet)
def test_bad_file_corpus(tmp_path, tiny_model):
    d = tmp_path / "corpus dir"
    d.mkdir()
    good = {
        "tone.wav": write_tone(d / "tone.wav", 1.0),
        "stereo 48k.wav": write_tone(d / "stereo 48k.wav", 1.0, sr=48000, channels=2),
        "8bit.wav": write_tone(d / "8bit.wav", 1.0, subtype="PCM_U8"),
        "24bit.wav": write_tone(d / "24bit.wav", 1.0, subtype="PCM_24"),
        "silence.wav": d / "silence.wav",
        "short.wav": write_tone(d / "short.wav", 0.05),
        "ten minutes.flac": write_tone(d / "ten minutes.flac", 600.0, freq=200.0),
        "ñandú – ünïcode.wav": write_tone(d / "ñandú – ünïcode.wav", 1.0, freq=880.0),
        "truncated.wav": d / "truncated.wav",
    }
    sf.write(good["silence.wav"], np.zeros(SR, np.float32), SR)
    shutil.copy(good["tone.wav"], d / "tone duplicate.wav")
    good["tone duplicate.wav"] = d / "tone duplicate.wav"
    whole = write_tone(tmp_path / "whole.wav", 2.0).read_bytes()
    good["truncated.wav"].write_bytes(whole[: len(whole) // 2])  # data chunk cut short

    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("this is not audio\n" * 20)
    ogg = write_tone(tmp_path / "whole.ogg", 3.0, subtype="VORBIS").read_bytes()
    (d / "cut.ogg").write_bytes(ogg[: len(ogg) // 3])
    write_av(d / "video only.mp4", audio=None, seconds=1.0)
    nan = sine(440, SR, 1.0)
    nan[100:200] = np.nan
    sf.write(d / "nan.wav", nan, SR, subtype="FLOAT")
    expected_errors = {
        "empty.wav": "empty",
        "text.wav": "not a recognised audio or video format",
        "cut.ogg": "truncated or corrupt",
        "nan.wav": "NaN",
    }  # and "video only.mp4", which has no audio stream: not a failure (issue 10)

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        out = extract(d, tmp_path / "S", model=tiny_model, progress=False, batch_size=8,
                      workers=2)
    rows_per_file = out.table.groupby("path").size()
    assert {Path(p).name for p in rows_per_file.index} == set(good)
    assert rows_per_file[str(d / "ten minutes.flac")] == 59
    assert np.isfinite(out.embeddings).all() and np.isfinite(out.probs).all()
    got = dict(zip(out.errors["path"].map(lambda p: Path(p).name), out.errors["reason"],
                   strict=True))
    assert set(got) == set(expected_errors)
    for name, reason in expected_errors.items():
        assert reason in got[name], (name, got[name])
    assert out.meta["run"]["copied"] == 1  # the duplicate tone
    stored = read_store(tmp_path / "S")
    assert set(stored.errors["path"].map(lambda p: Path(p).name)) == set(expected_errors)
    assert stored.errors["content_hash"].notna().all()
    for result in (out, stored):
        status = result.status.set_index(result.status["path"].map(lambda p: Path(p).name))
        assert status.loc["video only.mp4", "audio_status"] == "no_audio_stream"
        assert "no audio stream" in status.loc["video only.mp4", "reason"]
        assert status.loc["silence.wav", "audio_status"] == "silent"
        assert status.loc["cut.ogg", "audio_status"] == "decode_error"


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: chmod 000 does not stop reads")
def test_unreadable_file_is_recorded(tmp_path, tiny_model):
    write_tone(tmp_path / "d" / "ok.wav", 1.0)
    write_tone(tmp_path / "d" / "locked.wav", 1.0).chmod(0)
    out = extract(tmp_path / "d", tmp_path / "S", model=tiny_model, progress=False)
    assert out.errors["reason"].tolist() == ["permission denied"]
    assert read_store(tmp_path / "S").errors["content_hash"].isna().all()
    assert len(out) == 1


@pytest.mark.slow  # 9.7 s on the loaded 2-core machine (issue 19)
def test_known_failures_not_retried_unless_changed(tmp_path, tiny_model, monkeypatch):
    data = _folder(tmp_path / "data", n=1)
    (data / "bad.wav").write_text("not audio")
    out = extract(data, tmp_path / "S", model=tiny_model, progress=False)
    assert out.meta["run"]["failed"] == 1
    calls = []
    monkeypatch.setattr(items_mod, "_load", lambda *a: calls.append(a) or 1 / 0)
    again = extract(data, tmp_path / "S", model=tiny_model, progress=False, workers=0)
    assert again.meta["run"]["failed_before"] == 1 and not calls
    assert "not a recognised" in again.errors["reason"].iloc[0]
    monkeypatch.undo()
    retried = extract(data, tmp_path / "S", model=tiny_model, progress=False, retry_failed=True)
    assert retried.meta["run"]["failed_before"] == 0 and retried.meta["run"]["failed"] == 1
    write_tone(data / "bad.wav", 1.0)  # fixed: retried and stored
    fixed = extract(data, tmp_path / "S", model=tiny_model, progress=False)
    assert fixed.meta["run"]["computed"] == 1 and len(read_store(tmp_path / "S").errors) == 0


@pytest.mark.slow  # 8.8 s on the loaded 2-core machine (issue 19)
def test_keyboard_interrupt_keeps_finished_work(tmp_path, tiny_model, monkeypatch):
    data = tmp_path / "data"
    for i in range(6):
        write_tone(data / f"c{i}.wav", 0.5, freq=300.0 + 50 * i)
    real = embed_mod.forward
    calls = []

    def interrupt_on_fourth(model, waves, **kwargs):
        if not np.any(waves):  # the store's embedding of silence, computed once per run
            return real(model, waves, **kwargs)
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(model, waves, **kwargs)

    monkeypatch.setattr(embed_mod, "forward", interrupt_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        extract(data, tmp_path / "S", model=tiny_model, progress=False, batch_size=1,
                flush_items=100, workers=0)
    assert len(read_store(tmp_path / "S")) == 3  # flushed on the way out
    monkeypatch.setattr(embed_mod, "forward", real)
    out = extract(data, tmp_path / "S", model=tiny_model, progress=False)
    assert (out.meta["run"]["computed"], out.meta["run"]["cached"]) == (3, 3)
    ref = asttools.embed(sorted(map(str, data.iterdir())), model=tiny_model)
    np.testing.assert_allclose(out.embeddings, ref.embeddings, atol=1e-6)


# --------------------------------------------------------------------------- guards


@pytest.mark.slow  # 6.5 s on the loaded 2-core machine (issue 19)
def test_store_rejects_grid_other_widths_and_missing(tmp_path, tiny_model):
    data = _folder(tmp_path / "data", n=1)
    with pytest.raises(ParameterError, match=r"pooling='grid' cannot go into a store.*'cls'"):
        extract(data, tmp_path / "S", model=tiny_model, pooling="grid", progress=False)
    with pytest.raises(ParameterError, match="pooling='max' is not one of"):
        extract(data, tmp_path / "S", model=tiny_model, pooling="max", progress=False)
    extract(data, tmp_path / "S", model=tiny_model, progress=False)
    other = asttools.model._load.tiny_random_model(hidden_size=32)
    other.config.asttools_loaded_from = "tiny-32"
    with pytest.raises(StoreError, match="holds 64-wide embeddings.*32-wide"):
        extract(data, tmp_path / "S", model=other, progress=False)
    with pytest.raises(StoreError, match="no such embedding store"):
        read_store(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="holds no embeddings"):
        read_store(tmp_path / "empty")


def test_loading_is_lazy_and_bounded():
    """iter_embed pulls its items lazily, at most 2 * workers ahead."""
    pulled = []

    def items():
        for i in range(50):
            pulled.append(i)
            yield items_mod.Item(i, np.zeros(16000, np.float32) + 0.1, SR, f"<{i}>")

    stream = items_mod._loaded(items(), None, 2)
    next(stream)
    assert len(pulled) <= 6
    stream.close()


def test_ground_truth_table_as_input_keeps_tuple_columns_per_window(tmp_path, tiny_model):
    """A read_ground_truth table (tuple label columns) over a clip of several windows."""
    import asttools

    root = tmp_path / "gt"
    root.mkdir()
    write_tone(root / "long.wav", seconds=12.0)
    write_tone(root / "short.wav", seconds=1.0)
    (root / "m.csv").write_text("path,label\nlong.wav,Siren;Music\nshort.wav,Speech\n")
    truth = asttools.read_ground_truth(root / "m.csv")
    res = asttools.extract(truth, tmp_path / "store", model=tiny_model, progress=False)
    assert res.table["window"].tolist() == [0, 1, 0]
    assert [list(v) for v in res.table["labels"]] == [["Siren", "Music"]] * 2 + [["Speech"]]


def test_engine_is_checked_and_ray_stays_optional(tmp_path, tiny_model, monkeypatch):
    with pytest.raises(ParameterError, match=r"engine='spark' is not one of \('local', 'ray'\)"):
        extract(tmp_path, tmp_path / "s", model=tiny_model, engine="spark")
    with pytest.raises(ParameterError, match="ray_actors must be an integer >= 1, got 0"):
        extract(tmp_path, tmp_path / "s", model=tiny_model, engine="ray", ray_actors=0)
    sf.write(tmp_path / "a.wav", sine(440, 16000, 1.0), 16000)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(asttools.ASTToolsError, match=r'pip install -e "\.\[ray\]"'):
            extract(tmp_path / "a.wav", tmp_path / "s", model=tiny_model, engine="ray",
                    progress=False)


@pytest.mark.slow  # 10.4 s on the loaded 2-core machine (issue 19)
def test_a_fully_cached_extract_imports_neither_torch_nor_transformers(tmp_path):
    """Issue 19: a re-run that computes nothing only plans, hashes and reads the store."""
    for i in range(2):
        sf.write(tmp_path / f"a{i}.wav", sine(440 + 110 * i, 16000, 1.0), 16000)
    store = tmp_path / "s"
    first = extract(tmp_path, store, model="tiny-random", progress=False)
    assert first.meta["run"]["computed"] == 2
    loaded = "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    python = ("import sys, warnings; warnings.simplefilter('ignore'); import asttools; "
              f"r = asttools.extract({str(tmp_path)!r}, {str(store)!r}, model='tiny-random', "
              "progress=False); print(r.meta['run']['computed'], r.meta['run']['cached'], "
              f"len(r), r.meta['random_weights']); {loaded}")
    cli = ("import sys; from asttools.apps.cli import main; "
           f"rc = main(['extract', {str(tmp_path)!r}, '--out', {str(store)!r}, '-q']); "
           f"print(rc); {loaded}")
    env = {**os.environ, "ASTTOOLS_MODEL": "tiny-random"}
    out = subprocess.run([sys.executable, "-c", python], capture_output=True, text=True,
                         check=True, env=env).stdout.splitlines()
    assert out == ["0 2 2 True", "[]"]
    out = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True,
                         check=True, env=env).stdout.splitlines()
    said = " ".join(out[:-2])
    assert out[-2:] == ["0", "[]"] and "0 computed" in said and "2 already stored" in said
    # a setting that only the device can resolve still works, loading torch to do so
    again = extract(tmp_path, store, model="tiny-random", precision="auto", device="cpu",
                    progress=False)
    assert again.meta["settings"]["precision"] in ("fp32", "bf16")


@pytest.mark.slow  # 13.2 s on the loaded 2-core machine (issue 19)
def test_the_silence_embedding_is_computed_once_per_model_and_settings(tmp_path, tiny_model,
                                                                      monkeypatch):
    """Issue 19: it is kept in the store's metadata, not run again (one window) per run."""
    real, windows = embed_mod.forward, []

    def counting(model, waves, *args, **kwargs):
        windows.append(len(waves))
        return real(model, waves, *args, **kwargs)

    monkeypatch.setattr(embed_mod, "forward", counting)
    monkeypatch.setattr(entry_mod, "forward", counting)
    store = tmp_path / "S"
    first = extract(write_tone(tmp_path / "a.wav", 0.5), store, model=tiny_model, progress=False)
    assert sum(windows) == 2  # the clip's one window, and the silence embedding's
    expected = asttools.silence_embedding(tiny_model)  # by hand: 10.24 s of zeros
    np.testing.assert_allclose(first.meta["silence_embedding"], expected, atol=1e-6)
    windows.clear()
    second = extract([tmp_path / "a.wav", write_tone(tmp_path / "b.wav", 0.5, freq=880.0)],
                     store, model=tiny_model, progress=False)
    assert (second.meta["run"]["computed"], second.meta["run"]["cached"]) == (1, 1)
    assert sum(windows) == 1  # only the new clip's window
    assert second.meta["silence_embedding"] == first.meta["silence_embedding"]
    # other settings are another key: their silence embedding is computed for them
    windows.clear()
    mean = extract(tmp_path / "b.wav", store, model=tiny_model, pooling="mean", progress=False)
    assert sum(windows) == 2
    assert not np.allclose(mean.meta["silence_embedding"], first.meta["silence_embedding"])


@pytest.mark.slow  # over 15 s on the loaded 2-core machine (about 5 s quiet)
def test_the_local_engine_never_imports_ray(tmp_path):
    sf.write(tmp_path / "a.wav", sine(440, 16000, 1.0), 16000)
    code = ("import sys, warnings; warnings.simplefilter('ignore'); import asttools; "
            f"asttools.extract({str(tmp_path / 'a.wav')!r}, {str(tmp_path / 's')!r}, "
            "model='tiny-random', progress=False); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


# --- the layer in the meta ------------------------------------------------------------------


@pytest.mark.slow  # 5.4 s on the loaded 2-core machine (issue 19)
def test_meta_layer_is_the_same_resolved_number_in_memory_and_in_the_store(
        tmp_path, tiny_model):
    paths = [str(write_tone(tmp_path / "a.wav", 1.0, amp=0.3)),
             str(write_tone(tmp_path / "b.wav", 1.0, freq=880.0, amp=0.3))]
    n_layers = tiny_model.config.num_hidden_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        out = asttools.embed(paths, model=tiny_model)
        stored = asttools.extract(paths, tmp_path / "emb", model=tiny_model, progress=False)
        back = asttools.read_store(tmp_path / "emb")
    assert out.meta["layer"] == stored.meta["layer"] == back.meta["layer"] == n_layers
    assert back.meta["settings"]["layer"] == -1  # as asked: part of the settings key
    assert f"layer={n_layers}" in repr(back)
    # either spelling names the same stored rows
    for layer in (-1, n_layers):
        again = asttools.read_store(tmp_path / "emb", settings={"layer": layer})
        assert again.meta["settings_key"] == back.meta["settings_key"]


@pytest.mark.slow
def test_a_text_id_survives_the_store(tmp_path, tiny_model):
    sf.write(tmp_path / "a.wav", sine(300, SR, 0.5), SR)
    sf.write(tmp_path / "b.wav", sine(500, SR, 0.5), SR)
    (tmp_path / "m.csv").write_text("path,id\na.wav,007\nb.wav,1e3\n")
    res = asttools.extract(tmp_path / "m.csv", tmp_path / "S", model=tiny_model,
                           progress=False)
    assert sorted(res.table["id"]) == ["007", "1e3"]
    emb, has = asttools.aligned_embeddings(res, ["007", "1e3"])
    assert has.all() and emb.shape[0] == 2
