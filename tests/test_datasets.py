"""Ground-truth readers: every format on tiny fixtures written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from audio_fixtures import touch

from asttools.datasets import (
    label_matrix,
    read_audioset_segments,
    read_class_folders,
    read_esc50,
    read_ground_truth,
    read_manifest,
)
from asttools.errors import ASTToolsWarning, ParameterError


def _abs(path: Path) -> str:
    return str(path.resolve())


# --- manifest -----------------------------------------------------------------------------


@pytest.fixture
def manifest(tmp_path):
    for name in ("clips/a.wav", "clips/b.flac", "c.mp4"):
        touch(tmp_path / name)
    (tmp_path / "manifest.csv").write_text(
        "path,label,fold,speaker\n"
        "clips/a.wav,dog;bark,1,s1\n"
        "clips/b.flac,rain,2,s2\n"
        f"{tmp_path / 'c.mp4'},,3,s3\n"
    )
    return tmp_path / "manifest.csv"


def test_manifest_relative_paths_multi_labels_and_carried_columns(manifest, tmp_path):
    truth = read_manifest(manifest)
    assert list(truth.columns) == ["path", "labels", "mids", "fold", "speaker"]
    assert truth["path"].tolist() == [_abs(tmp_path / "clips/a.wav"),
                                      _abs(tmp_path / "clips/b.flac"),
                                      _abs(tmp_path / "c.mp4")]
    assert truth["labels"].tolist() == [("dog", "bark"), ("rain",), ()]
    assert truth["mids"].tolist() == [(), (), ()]
    assert truth["fold"].tolist() == [1, 2, 3]
    assert truth["speaker"].tolist() == ["s1", "s2", "s3"]


def test_manifest_paths_are_relative_to_the_csv_not_the_working_dir(manifest, monkeypatch):
    monkeypatch.chdir("/")
    assert read_manifest(manifest)["path"].iloc[0] == _abs(manifest.parent / "clips/a.wav")


def test_manifest_other_label_column_separator_and_mids(tmp_path):
    touch(tmp_path / "x.wav")
    touch(tmp_path / "y.wav")
    (tmp_path / "m.csv").write_text(
        "file,tags,mids\nx.wav,Dog|Bark,/m/0bt9lr|/m/05tny_\ny.wav,Speech,/m/09x0r\n")
    truth = read_manifest(tmp_path / "m.csv", label_column="tags", path_column="file",
                          separator="|")
    assert truth["labels"].tolist() == [("Dog", "Bark"), ("Speech",)]
    assert truth["mids"].tolist() == [("/m/0bt9lr", "/m/05tny_"), ("/m/09x0r",)]


def test_manifest_missing_column_names_file_and_column(tmp_path):
    (tmp_path / "m.csv").write_text("path,tag\na.wav,dog\n")
    with pytest.raises(ParameterError, match=r"m\.csv: manifest has no column 'label' "
                                             r"\(columns: path, tag\)"):
        read_manifest(tmp_path / "m.csv")
    with pytest.raises(ParameterError, match=r"no column 'file'"):
        read_manifest(tmp_path / "m.csv", path_column="file", label_column="tag")


def test_manifest_empty_and_absent_files(tmp_path):
    (tmp_path / "header.csv").write_text("path,label\n")
    with pytest.raises(ParameterError, match=r"header\.csv: manifest has a header but no rows"):
        read_manifest(tmp_path / "header.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ParameterError, match=r"empty\.csv: manifest is empty"):
        read_manifest(tmp_path / "empty.csv")
    with pytest.raises(ParameterError, match=r"nope\.csv: manifest does not exist"):
        read_manifest(tmp_path / "nope.csv")


def test_manifest_missing_audio_files(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "m.csv").write_text("path,label\na.wav,dog\ngone.wav,cat\n")
    with pytest.raises(ParameterError, match=r"1 of 2 listed audio files do not exist "
                                             r"\(.*gone\.wav\)"):
        read_manifest(tmp_path / "m.csv")
    with pytest.warns(ASTToolsWarning, match="do not exist.*dropped"):
        dropped = read_manifest(tmp_path / "m.csv", missing="drop")
    assert dropped["labels"].tolist() == [("dog",)]
    assert len(read_manifest(tmp_path / "m.csv", missing="keep")) == 2
    with pytest.raises(ParameterError, match=r"missing='ignore' is not one of \('error', "
                                             r"'warn', 'drop', 'keep'\)"):
        read_manifest(tmp_path / "m.csv", missing="ignore")


def test_manifest_duplicate_paths_raise(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "m.csv").write_text("path,label\na.wav,dog\n./a.wav,cat\n")
    with pytest.raises(ParameterError, match="listed more than once"):
        read_manifest(tmp_path / "m.csv")


# --- folder per class ---------------------------------------------------------------------


def test_class_folders(tmp_path):
    touch(tmp_path / "dog" / "a.wav")
    touch(tmp_path / "dog" / "more" / "b.FLAC")
    touch(tmp_path / "rain" / "c.mp4")
    touch(tmp_path / "rain" / "notes.txt")
    touch(tmp_path / "rain" / ".hidden.wav")
    touch(tmp_path / ".git" / "x.wav")
    touch(tmp_path / "top_level.wav")
    truth = read_class_folders(tmp_path)
    assert list(truth.columns) == ["path", "labels", "mids"]
    assert truth["path"].tolist() == [_abs(tmp_path / "dog/a.wav"),
                                      _abs(tmp_path / "dog/more/b.FLAC"),
                                      _abs(tmp_path / "rain/c.mp4")]
    assert truth["labels"].tolist() == [("dog",), ("dog",), ("rain",)]
    only_wav = read_class_folders(tmp_path, extensions=["wav"])
    assert only_wav["labels"].tolist() == [("dog",)]


def test_class_folders_without_media_raise(tmp_path):
    touch(tmp_path / "dog" / "readme.txt")
    with pytest.raises(ParameterError, match="no media files found in class folders"):
        read_class_folders(tmp_path)
    with pytest.raises(ParameterError, match="does not exist or is not a folder"):
        read_class_folders(tmp_path / "absent")


# --- ESC-50 -------------------------------------------------------------------------------

ESC50_CSV = """filename,fold,target,category,esc10,src_file,take
1-100032-A-0.wav,1,0,dog,True,100032,A
1-110389-A-0.wav,1,0,dog,True,110389,A
2-102414-A-17.wav,2,17,pouring_water,False,102414,A
5-9032-A-0.wav,5,0,dog,True,9032,A
"""


@pytest.fixture
def esc50(tmp_path):
    root = tmp_path / "ESC-50-master"
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "esc50.csv").write_text(ESC50_CSV)
    for line in ESC50_CSV.splitlines()[1:]:
        touch(root / "audio" / line.split(",")[0])
    return root


def test_esc50_layout(esc50):
    truth = read_esc50(esc50)
    assert list(truth.columns) == ["path", "labels", "mids", "fold", "filename", "target",
                                   "category", "esc10", "src_file", "take"]
    assert truth["path"].iloc[2] == _abs(esc50 / "audio" / "2-102414-A-17.wav")
    assert truth["labels"].tolist() == [("dog",), ("dog",), ("pouring_water",), ("dog",)]
    assert truth["fold"].tolist() == [1, 1, 2, 5]
    assert truth["target"].tolist() == [0, 0, 17, 0]
    assert truth["mids"].tolist() == [()] * 4


def test_esc50_missing_column_and_missing_clip(esc50):
    (esc50 / "audio" / "5-9032-A-0.wav").unlink()
    with pytest.raises(ParameterError, match=r"esc50\.csv: 1 of 4 listed audio files do not "
                                             r"exist \(.*5-9032-A-0\.wav\)"):
        read_esc50(esc50)
    (esc50 / "meta" / "esc50.csv").write_text("filename,fold,target\na.wav,1,0\n")
    with pytest.raises(ParameterError, match=r"esc50\.csv: ESC-50 metadata has no column "
                                             r"'category'"):
        read_esc50(esc50)


def test_esc50_without_metadata(tmp_path):
    with pytest.raises(ParameterError, match=r"esc50\.csv: ESC-50 metadata does not exist"):
        read_esc50(tmp_path)


# --- AudioSet segments --------------------------------------------------------------------

AUDIOSET_CSV = """# Segments csv created Sun Mar  5 10:54:25 2017
# num_ytids=3, num_segs=3, num_unique_labels=3, num_positive_labels=4
# YTID, start_seconds, end_seconds, positive_labels
--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"
-0SdAVK79lg, 0.000, 10.000, "/m/0bt9lr"
zz_missing_1, 12.500, 22.500, "/m/09x0r"
"""


@pytest.fixture
def audioset(tmp_path):
    (tmp_path / "segments.csv").write_text(AUDIOSET_CSV)
    audio = tmp_path / "audio"
    touch(audio / "--PJHxphWEs_30.wav")
    touch(audio / "-0SdAVK79lg_0.wav")
    return tmp_path / "segments.csv"


def test_audioset_segments_with_comment_header(audioset, tmp_path):
    truth = read_audioset_segments(audioset, audio_dir=tmp_path / "audio", missing="keep")
    assert list(truth.columns) == ["path", "labels", "mids", "YTID", "start_seconds",
                                   "end_seconds"]
    assert truth["YTID"].tolist() == ["--PJHxphWEs", "-0SdAVK79lg", "zz_missing_1"]
    assert truth["mids"].tolist() == [("/m/09x0r", "/t/dd00088"), ("/m/0bt9lr",),
                                      ("/m/09x0r",)]
    assert truth["labels"].tolist() == [("Speech", "Gush"), ("Dog",), ("Speech",)]
    assert truth["start_seconds"].tolist() == [30.0, 0.0, 12.5]
    assert truth["path"].iloc[0] == _abs(tmp_path / "audio" / "--PJHxphWEs_30.wav")


def test_audioset_default_drops_missing_clips_with_a_count(audioset, tmp_path):
    with pytest.warns(ASTToolsWarning, match=r"1 of 3 listed audio files do not exist"):
        truth = read_audioset_segments(audioset, audio_dir=tmp_path / "audio")
    assert truth["YTID"].tolist() == ["--PJHxphWEs", "-0SdAVK79lg"]


def test_audioset_plain_header_semicolons_and_pattern(tmp_path):
    (tmp_path / "seg.csv").write_text(
        "YTID,start_seconds,end_seconds,positive_labels\n"
        'abc,10.0,20.0,"/m/0bt9lr;/m/05tny_"\n')
    truth = read_audioset_segments(tmp_path / "seg.csv", filename_pattern="Y{YTID}.wav",
                                   missing="keep")
    assert truth["path"].iloc[0] == _abs(tmp_path / "Yabc.wav")
    assert truth["labels"].iloc[0] == ("Dog", "Bark")
    with pytest.raises(ParameterError, match=r"filename_pattern='\{id\}.wav'.*YTID, start, "
                                             r"end and row"):
        read_audioset_segments(tmp_path / "seg.csv", filename_pattern="{id}.wav")


def test_audioset_errors(tmp_path):
    (tmp_path / "cols.csv").write_text("# YTID, start_seconds, end_seconds\nabc, 1, 2\n")
    with pytest.raises(ParameterError, match=r"cols\.csv: AudioSet segments CSV has no "
                                             r"column 'positive_labels'"):
        read_audioset_segments(tmp_path / "cols.csv")
    (tmp_path / "none.csv").write_text("# a comment\n# YTID, start_seconds, end_seconds, "
                                       "positive_labels\n")
    with pytest.raises(ParameterError, match="has no segments"):
        read_audioset_segments(tmp_path / "none.csv")


# --- dispatcher ---------------------------------------------------------------------------


def test_read_ground_truth_detects_each_format(manifest, esc50, audioset, tmp_path):
    folders = tmp_path / "folders"
    touch(folders / "dog" / "a.wav")
    assert read_ground_truth(manifest).attrs["format"] == "manifest"
    assert read_ground_truth(esc50).attrs["format"] == "esc50"
    assert read_ground_truth(folders).attrs["format"] == "folder"
    truth = read_ground_truth(audioset, audio_dir=tmp_path / "audio", missing="keep")
    assert truth.attrs["format"] == "audioset"
    assert len(truth) == 3


def test_read_ground_truth_explicit_format_and_errors(manifest, tmp_path):
    assert read_ground_truth(manifest, format="manifest")["labels"].iloc[1] == ("rain",)
    with pytest.raises(ParameterError, match=r"format='csv' is not one of \('auto', "
                                             r"'manifest', 'folder', 'esc50', 'audioset', "
                                             r"'kinetics', 'kinetics-csv', 'ucf101', 'epic'\)"):
        read_ground_truth(manifest, format="csv")
    with pytest.raises(ParameterError, match=r"absent: ground-truth source does not exist"):
        read_ground_truth(tmp_path / "absent")


# --- label matrix -------------------------------------------------------------------------


def test_label_matrix(manifest):
    truth = read_manifest(manifest)
    y, classes = label_matrix(truth)
    assert classes == ["bark", "dog", "rain"]
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y, [[1, 1, 0], [0, 0, 1], [0, 0, 0]])
    with pytest.warns(ASTToolsWarning, match="1 labels of 1 names are not in classes"):
        y2, classes2 = label_matrix(truth, classes=["rain", "dog"])
    assert classes2 == ["rain", "dog"]
    np.testing.assert_array_equal(y2, [[0, 1], [1, 0], [0, 0]])


def test_label_matrix_other_inputs_and_errors():
    y, classes = label_matrix(pd.Series([("a",), ("b", "a")]))
    assert classes == ["a", "b"]
    np.testing.assert_array_equal(y, [[1, 0], [1, 1]])
    table = pd.DataFrame({"labels": [("x",)], "mids": [("/m/09x0r",)]})
    assert label_matrix(table, column="mids")[1] == ["/m/09x0r"]
    with pytest.raises(ParameterError, match="no column 'tags'"):
        label_matrix(table, column="tags")
    with pytest.raises(ParameterError, match="lists 'a' more than once"):
        label_matrix([("a",)], classes=["a", "a"])
