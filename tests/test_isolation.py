"""A decoder that crashes its process costs one file (issue 18, case 1).

8-channel AAC and Opus made PyAV 18.1's ``AudioFrame.to_ndarray()`` segfault (it counts
9 planes for an 8-channel planar frame); now they decode. And any crash in native code
while decoding becomes that file's ``decode_error``: files decode in worker processes, and
a worker that dies is replaced. The crash is real here: a test-only decoder calls
``os.abort()``.
"""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import decode_or_abort, sine, write_multichannel

import asttools
import asttools.run._items as inference_mod
from asttools.apps.cli import EXIT_SOME_FAILED, main
from asttools.audio import load_audio
from asttools.concurrency import crash_reason, prefetch
from asttools.store import read_store

SR = 16000
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")


@pytest.mark.parametrize("codec, ext", [("aac", "m4a"), ("libopus", "ogg"), ("libopus", "mka"),
                                        ("aac", "mkv")])
def test_eight_channel_planar_audio_decodes_every_channel(tmp_path, codec, ext):
    path = tmp_path / f"eight.{ext}"
    write_multichannel(path, channels=8, codec=codec, seconds=0.5)
    with av.open(str(path)) as container:
        frame = next(container.decode(audio=0))
        assert frame.format.is_planar and frame.layout.nb_channels == 8
        # the first 8 planes are the real ones (PyAV counts a 9th, past the end)
        planes = np.stack([np.frombuffer(memoryview(frame.planes[c]), np.float32)
                           [: frame.samples] for c in range(8)])
    from asttools.audio._codecs import _frame_to_float  # the one conversion, checked directly

    np.testing.assert_array_equal(_frame_to_float(frame), planes)
    wav, sr = load_audio(path, sr=None)
    assert sr == 48000 and 0.45 * sr < len(wav) < 0.6 * sr
    peaks = [float(np.abs(load_audio(path, sr=None, channel=c)[0]).max()) for c in range(8)]
    assert all(p <= 1.0 for p in peaks)  # no garbage read past the planes
    assert sum(p > 0.04 for p in peaks) >= 7  # every channel but the LFE carries its tone


def _crashed(code):
    return ("crashed", code)


def _square_or_abort(x):
    import os

    if x == 3:
        os.abort()
    return x * x


@pytest.mark.slow  # 144.7 s on the loaded 2-core machine (issue 19)
@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_that_dies_costs_its_item_alone(workers):
    got = list(prefetch(_square_or_abort, range(8), workers=workers, processes=True,
                        crashed=_crashed))
    assert [i for i, _ in got] == list(range(8))  # in order, every one
    assert [r for _, r in got] == [0, 1, 4, ("crashed", -6), 16, 25, 36, 49]
    assert crash_reason(-6) == "killed by SIGABRT"


def _folder(root, n):
    root.mkdir()
    for i in range(n):
        sf.write(root / f"{i:02d}.wav", sine(300.0 + 40 * i, SR, 0.5), SR)
    sf.write(root / "05 crash.wav", sine(1234.0, SR, 0.5), SR)
    return root


@pytest.mark.slow
def test_a_crashing_decoder_costs_one_file_on_every_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASTTOOLS_MODEL", "tiny-random")
    monkeypatch.setattr(inference_mod, "decode_file", decode_or_abort)
    data, store = _folder(tmp_path / "data", 8), tmp_path / "store"
    for _ in range(2):  # the first run, and a re-run that does not loop on it
        code = main(["extract", str(data), "--out", str(store), "-q"])
        out, err = capsys.readouterr()
        assert code == EXIT_SOME_FAILED, (out, err)
        assert "Traceback" not in err
        assert "05 crash.wav: the decoder crashed while reading it (killed by SIGABRT" in err
        res = read_store(store)
        assert sorted(res.table["path"].str[-6:]) == [f"{i:02d}.wav" for i in range(8)]
        assert res.errors["path"].str.endswith("05 crash.wav").tolist() == [True]
        assert res.status.set_index("path").loc[str(data / "05 crash.wav"),
                                                 "audio_status"] == "decode_error"


@pytest.mark.slow
def test_embed_and_timestamps_keep_every_other_file(tmp_path, monkeypatch, tiny_model):
    monkeypatch.setattr(inference_mod, "decode_file", decode_or_abort)
    data = _folder(tmp_path / "data", 3)
    files = sorted(data.iterdir())
    for workers in (1, 2):
        out = asttools.embed(files, model=tiny_model, workers=workers)
        assert out.table["path"].nunique() == 3 and len(out.errors) == 1
        assert "crash.wav" in out.errors["path"].iloc[0]
    ts = asttools.timestamp_embeddings(files, model=tiny_model, frame_rate=10)
    assert ts.errors["path"].tolist() == [str(data / "05 crash.wav")]
    assert "killed by SIGABRT" in ts.errors["reason"].iloc[0]
    assert len(ts.inputs) == 3  # the others, each with its vectors
