"""The Ray engine writes the store the local engine writes, survives dead workers, resumes.

One quiet 2-CPU local Ray cluster for the module (starting one costs seconds); every
Dataset is bounded by a no-progress timeout, so a starved or stuck pipeline fails instead
of hanging CI. Skipped without ray (``pip install -e ".[ray]"``).
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pytest
import soundfile as sf
import torch

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import asttools  # noqa: E402

pytestmark = pytest.mark.slow  # a Ray cluster and its actors take tens of seconds to start

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "data" / "video"


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=256 * 1024**2, logging_level="WARNING")
    ctx = ray.data.DataContext.get_current()
    ctx.execution_no_progress_timeout_s = 120
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Three wavs (16 kHz mono 1 s; 22.05 kHz stereo 12 s, two windows; 44.1 kHz 3 s), a
    video without audio, a video whose audio starts 0.976 s late, and a file of junk."""
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    for i, (seconds, sr, channels) in enumerate([(1.0, 16000, 1), (12.0, 22050, 2),
                                                  (3.0, 44100, 1)]):
        t = np.arange(int(seconds * sr)) / sr
        wav = 0.3 * np.sin(2 * np.pi * (300 + 70 * i) * t) + 0.01 * rng.standard_normal(len(t))
        if channels == 2:
            wav = np.stack([wav, 0.5 * wav], axis=1)
        sf.write(folder / f"tone_{i}.wav", wav.astype(np.float32), sr)
    shutil.copy(VIDEO / "alarm_03.mp4", folder)  # no audio stream
    shutil.copy(VIDEO / "hammering_04.mp4", folder)  # audio from 0.976 s on the video's clock
    (folder / "junk.wav").write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return folder


def _extract(inputs, store, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return asttools.extract(inputs, store, model=kw.pop("model", "tiny-random"),
                                progress=False, **kw)


@pytest.fixture(scope="module")
def local_store(inputs, tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("local") / "store"
    _extract(inputs, store)
    return store


def assert_same_store(a: Path, b: Path) -> None:
    """Same rows, statuses and errors; vectors and float columns within 1e-6."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ra, rb = asttools.read_store(a), asttools.read_store(b)
    ta, tb = (r.table.drop(columns=["item"]).reset_index(drop=True) for r in (ra, rb))
    assert list(ta.columns) == list(tb.columns)
    assert len(ta) == len(tb) > 0
    for c in ta.columns:
        if pd.api.types.is_float_dtype(ta[c]):
            np.testing.assert_allclose(ta[c], tb[c], atol=1e-6, err_msg=c)
        else:
            pd.testing.assert_series_equal(ta[c], tb[c], obj=c)
    np.testing.assert_allclose(ra.embeddings, rb.embeddings, atol=1e-6)
    np.testing.assert_allclose(ra.probs, rb.probs, atol=1e-6)
    ea, eb = (r.errors.drop(columns=["item"]).reset_index(drop=True) for r in (ra, rb))
    pd.testing.assert_frame_equal(ea, eb)


def test_same_store_as_the_local_engine_and_a_rerun_skips_it(cluster, inputs, local_store,
                                                              tmp_path):
    store = tmp_path / "store"
    local = _extract(inputs, tmp_path / "again")  # the local result, for status and errors
    res = _extract(inputs, store, engine="ray", batch_size=2)
    assert res.meta["run"]["computed"] == 4
    assert res.meta["run"]["no_audio"] == 1 and res.meta["run"]["failed"] == 1
    assert_same_store(local_store, store)
    cols = ["id", "audio_status", "reason"]
    pd.testing.assert_frame_equal(res.errors[cols], local.errors[cols])
    by_id = res.status.set_index("id")
    assert by_id.loc["alarm_03.mp4", "audio_status"] == "no_audio_stream"
    assert by_id.loc["junk.wav", "audio_status"] == local.status.set_index("id").loc[
        "junk.wav", "audio_status"]
    offset = res.table.loc[res.table["id"] == "hammering_04.mp4", "start_s"].iloc[0]
    assert offset == pytest.approx(0.976, abs=0.01)  # on the video's clock, as locally
    again = _extract(inputs, store, engine="ray")
    assert again.meta["run"]["computed"] == 0 and again.meta["run"]["cached"] == 4
    assert again.meta["run"]["failed_before"] == 1


class _DiesOnce(torch.nn.Module):
    """AST's encoder, but the first worker process to run it (not the driver) dies."""

    def __init__(self, encoder, marker: str, driver_pid: int):
        super().__init__()
        self.encoder, self.marker, self.driver_pid = encoder, marker, driver_pid

    def forward(self, *args, **kwargs):
        if os.getpid() != self.driver_pid and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)  # a crash: no cleanup, no exception
        return self.encoder(*args, **kwargs)


def test_a_killed_actor_is_replaced_and_the_run_completes(cluster, inputs, local_store,
                                                           tiny_model, tmp_path):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the wrapper, to actors
    model = copy.deepcopy(tiny_model)
    marker = tmp_path / "killed"
    model.audio_spectrogram_transformer = _DiesOnce(model.audio_spectrogram_transformer,
                                                    str(marker), os.getpid())
    res = _extract(inputs, tmp_path / "store", model=model, engine="ray", batch_size=1)
    assert marker.exists()  # an actor really died
    assert res.meta["run"]["computed"] == 4 and res.meta["run"]["failed"] == 1
    assert_same_store(local_store, tmp_path / "store")


DRIVER = textwrap.dedent("""
    import os, sys, time, warnings
    import torch
    import asttools

    class Slow(torch.nn.Module):  # a second per batch in the actors: time to kill the run
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
        def forward(self, *args, **kwargs):
            if os.getpid() != DRIVER_PID:
                time.sleep(1.0)
            return self.encoder(*args, **kwargs)

    DRIVER_PID = os.getpid()
    warnings.simplefilter("ignore")
    model = asttools.load_model("tiny-random", device="cpu")
    model.audio_spectrogram_transformer = Slow(model.audio_spectrogram_transformer)
    inputs, store, address = sys.argv[1:4]
    asttools.extract(inputs, store, model=model, engine="ray", ray_address=address,
                     batch_size=1, flush_items=1, progress=False)
""")


def test_a_killed_driver_resumes(cluster, inputs, local_store, tmp_path):
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    child = subprocess.Popen([sys.executable, "-c", DRIVER, str(inputs), str(store), cluster],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    parts: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and child.poll() is None:
        if store.is_dir():
            parts = [p.name for p in store.glob("part-*.parquet") if "schema" not in p.name]
            if parts:
                break
        time.sleep(0.2)
    assert child.poll() is None, child.communicate()[0].decode()[-3000:]
    child.kill()  # SIGKILL, as a scheduler ends a job that ran out of time
    child.wait()
    assert parts, "the driver wrote nothing before it was killed"
    res = _extract(inputs, store, engine="ray")
    run = res.meta["run"]
    assert run["cached"] >= 1  # the killed run's published parts were kept
    assert run["computed"] + run["cached"] == 4
    assert_same_store(local_store, store)


def test_the_command_line(cluster, inputs, local_store, tmp_path):
    from asttools.apps.cli import EXIT_SOME_FAILED, main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["extract", str(inputs), "--out", str(tmp_path / "store"), "--engine",
                     "ray", "--address", cluster, "--model", "tiny-random", "-q"])
    assert code == EXIT_SOME_FAILED  # the junk file
    assert_same_store(local_store, tmp_path / "store")


def test_the_driver_writes_a_store_on_object_storage(cluster, inputs, local_store):
    """The driver writes the parts, so a store on a pyarrow file system that is not local
    (here fsspec's in-memory one; S3 in tests/test_store_objects.py) works with Ray too."""
    fsspec = pytest.importorskip("fsspec")
    fs = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem("memory")))
    store = (fs, f"/ray-{uuid.uuid4().hex[:12]}")
    res = _extract(inputs, store, engine="ray", batch_size=2)
    assert res.meta["run"]["computed"] == 4
    assert_same_store(local_store, store)
    again = _extract(inputs, store, engine="ray")
    assert again.meta["run"]["computed"] == 0 and again.meta["run"]["cached"] == 4


def test_windows_are_regrouped_whatever_order_they_arrive_in():
    """The driver's half alone: rows of two inputs, interleaved and out of order."""
    import json

    from asttools.run import ItemError, ItemResult
    from asttools.run.inputs import Item
    from asttools.store._ray import _regroup

    items = {0: Item(0, "/a.wav", None, "/a.wav", {"label": "x"}),
             1: Item(1, "/b.wav", None, "/b.wav")}
    last = json.dumps({"bounds": [[0, 163840], [163840, 192000]], "n_samples": 192000,
                       "first": 0, "media": {"audio_duration_s": 12.0}})
    error = json.dumps({"reason": "not audio", "status": "decode_error", "media": {}})
    rows = [(0, "last", 1, last), (1, "error", -1, error), (0, "window", 0, "")]

    def batch(rs):
        return {"item": np.array([r[0] for r in rs]), "kind": np.array([r[1] for r in rs]),
                "window": np.array([r[2] for r in rs]), "info": np.array([r[3] for r in rs]),
                "notes": np.array(["[]"] * len(rs)),
                "embedding": np.array([[r[2], 1.0] for r in rs], np.float32),
                "logits": np.zeros((len(rs), 3), np.float32)}

    out = list(_regroup([batch(rows[:2]), batch(rows[2:])], items))
    assert isinstance(out[0], ItemError) and out[0].status == "decode_error"
    res = out[1]
    assert isinstance(res, ItemResult) and res.item.index == 0
    assert res.embeddings[:, 0].tolist() == [0.0, 1.0]  # in window order
    assert res.table["end_s"].tolist() == [10.24, 12.0]
    assert res.table["label"].tolist() == ["x", "x"]


def test_a_file_that_kills_its_decoder_every_time_fails_alone():
    """A dropped block of several inputs is run again one input per task."""
    from asttools.run import ItemError
    from asttools.run.inputs import Item
    from asttools.store._ray import CRASHED, RayEngine

    items = [Item(i, f"/{i}.wav", None, f"/{i}.wav") for i in range(6)]
    calls = []

    def run(self, todo, decode, actor, batch_size, blocks):
        calls.append(blocks)
        # with several inputs per task, input 3 takes input 2's block down with it
        dropped = {2, 3} if blocks < len(todo) else {3}
        for it in todo:
            if it.index not in dropped:
                yield ItemError(it, "fine", "error")  # stands for its result
        return [it for it in todo if it.index in dropped]

    engine = object.__new__(RayEngine)
    engine.cpus = 2.0
    RayEngine._run, saved = run, RayEngine._run
    try:
        out = list(engine._chunk(items, {}, {}, 8))
    finally:
        RayEngine._run = saved
    assert calls == [4, 2]  # 4 blocks, then the 2 missing inputs one per task
    assert sorted(r.item.index for r in out) == list(range(6))
    assert [r.item.index for r in out if r.reason == CRASHED] == [3]


def test_a_model_that_captured_hidden_states_still_ships_to_actors(tiny_model):
    """transformers hooks a model the first time hidden states or attentions are asked for;
    those hooks hold a ContextVar that cannot be pickled. The engine ships a copy without
    them (the actor's model installs them again)."""
    from asttools.analysis.attention import attention_maps
    from asttools.store._ray import _shippable

    model = copy.deepcopy(tiny_model)
    wave = np.zeros(16000, np.float32)
    attention_maps(model, wave, sr=16000)  # installs the capturing hooks
    with pytest.raises(TypeError, match="pickle"):
        ray.cloudpickle.dumps(model)
    shipped = ray.cloudpickle.loads(ray.cloudpickle.dumps(_shippable(model)))
    a = asttools.embed(wave, sr=16000, model=shipped, layer=1).embeddings
    b = asttools.embed(wave, sr=16000, model=tiny_model, layer=1).embeddings
    np.testing.assert_allclose(a, b, atol=1e-6)
