"""Issue 18, the third reliability round: each case reproduced, then fixed.

(Case 1, a decoder that crashes, is in ``test_isolation.py``.)
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from audio_fixtures import decode_after_cut, sine, write_av, write_multichannel

import asttools
import asttools.run._items as inference_mod
from asttools.apps.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from asttools.errors import NoAudioStreamError, ParameterError
from asttools.audio.sources import decode_file as real_decode_file
from asttools.store import read_store
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
    assert check_frame_rate("video", allow_video=True) == "video"


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


# --------------------------------------------------------------------------- case 2


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


# --------------------------------------------------------------------------- case 6


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


# --------------------------------------------------------------------------- case 7


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


# --------------------------------------------------------------------------- case 9


def test_mps_where_there_is_none_is_a_clean_usage_error(tmp_path, capsys):
    import torch

    from asttools.model import resolve_device

    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(ParameterError, match="asked for MPS .* has no MPS device here"):
        resolve_device("mps")
    path = tmp_path / "a.wav"
    sf.write(path, sine(440, SR, 0.5), SR)
    code = main(["predict", str(path), "--model", "tiny-random", "--device", "mps"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "Traceback" not in err and "no MPS device" in err


def test_mka_files_are_found_when_walking_a_folder(tmp_path):
    write_multichannel(tmp_path / "audio.mka", channels=2, codec="libopus", seconds=0.3)
    table = asttools.run.inputs.list_inputs(tmp_path)
    assert [p.rsplit("/", 1)[-1] for p in table["path"]] == ["audio.mka"]
    wav, sr = asttools.load_audio(tmp_path / "audio.mka")
    assert sr == SR and len(wav) > 0.25 * SR


def test_read_timestamps_on_a_missing_file_says_so(tmp_path):
    with pytest.raises(asttools.ASTToolsError, match=r"nope\.parquet: no such file"):
        asttools.read_timestamps(tmp_path / "nope.parquet")


# --------------------------------------------------------------------------- case 8


def test_a_file_at_a_few_hertz_warns_with_its_rate(tmp_path):
    path = tmp_path / "one hertz.wav"
    sf.write(path, np.random.default_rng(0).uniform(-0.5, 0.5, 1000), 1)
    with pytest.warns(asttools.ASTToolsWarning, match=r"its sample rate is 1 Hz, far below"):
        wav, sr = asttools.load_audio(path)
    assert len(wav) == 1000 * SR  # taken at its stated rate, as warned
    with pytest.warns(asttools.ASTToolsWarning, match=r"sample rate is 1 Hz"), \
            asttools.audio._decode.stream_audio(path) as blocks:
        assert sum(len(b) for b in blocks) == 1000 * SR


def _hear_model():
    from asttools.apps import hear

    return hear, hear.load_model("tiny-random")


@pytest.mark.parametrize("dtype, match", [
    ("int16", "got torch.int16; divide by 32768 first"),
    ("bool", "got torch.bool"),
    ("complex64", "got torch.complex64"),
])
def test_hear_refuses_samples_that_are_not_float(dtype, match):
    import torch

    hear, model = _hear_model()
    audio = torch.zeros((1, 16000), dtype=getattr(torch, dtype))
    for fn in (hear.get_scene_embeddings, hear.get_timestamp_embeddings):
        with pytest.raises(ParameterError, match=match):
            fn(audio, model)


def test_hear_timestamps_need_one_step_of_audio():
    import torch

    hear, model = _hear_model()
    for n in (1, 100, 1400):
        with pytest.raises(ParameterError, match=f"has {n} samples per sound; .* at least "
                                                 "1401"):
            hear.get_timestamp_embeddings(torch.zeros((2, n)), model)
    emb, ms = hear.get_timestamp_embeddings(torch.full((2, 1401), 0.1), model)
    assert emb.shape == (2, 1, model.timestamp_embedding_size)
    assert ms.tolist() == [[87.5], [87.5]]


# --------------------------------------------------------------------------- cases 4, 9


def _cut(path, fraction=0.5):
    data = path.read_bytes()
    cut = path.with_name("cut " + path.name)
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


@pytest.mark.parametrize("name, video", [("a.webm", None), ("v.mkv", "mpeg4"),
                                         ("v.webm", "libvpx")])
def test_a_truncated_matroska_file_says_truncated(tmp_path, tiny_model, name, video):
    codec = "aac" if name.endswith(".mkv") else "libopus"
    write_av(tmp_path / name, audio=sine(440, 48000, 4.0)[None], audio_codec=codec,
             video_codec=video, seconds=4.0)
    cut = _cut(tmp_path / name)
    with pytest.warns(asttools.ASTToolsWarning, match=r"truncated: the header declares 4\.0"):
        out = asttools.embed([tmp_path / name, cut], model=tiny_model)
    notes = out.clips().table.set_index("path")["av_warning"]
    assert notes[str(tmp_path / name)] is None
    assert notes[str(cut)].startswith("truncated: the header declares 4.0")


def test_an_audio_track_without_packets_has_no_audio_as_in_mp4(tmp_path):
    import av

    for ext in ("mkv", "mp4"):
        path = tmp_path / f"zero.{ext}"
        with av.open(str(path), "w") as c:
            v = c.add_stream("mpeg4", rate=10)
            v.width = v.height = 32
            v.pix_fmt = "yuv420p"
            c.add_stream("aac", rate=48000, layout="stereo")  # never given a frame
            for i in range(10):
                frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8),
                                                   format="rgb24")
                frame.pts = i
                c.mux(v.encode(frame))
            c.mux(v.encode(None))
        with pytest.raises(NoAudioStreamError, match="no audio stream") as err:
            asttools.load_audio(path)
        assert err.value.status == "no_audio_stream"
