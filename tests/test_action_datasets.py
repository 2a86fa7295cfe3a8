"""The video action datasets' layouts (issue 20 item 4), each on a small generated tree."""

from __future__ import annotations

import pandas as pd
import pytest
from audio_fixtures import touch

from asttools.datasets import read_ground_truth
from asttools.datasets.action import parse_timestamp, read_epic
from asttools.errors import ASTToolsWarning, ParameterError


def test_kinetics_tree_split_is_a_column_not_the_label(tmp_path):
    root = tmp_path / "kin"
    touch(root / "train" / "abseiling" / "-3B32lodo2M_000059_000069.mp4")
    touch(root / "train" / "air drumming" / "a_b-c_d_e_f_000010_000020.mp4")
    touch(root / "test" / "abseiling" / "zzzzzzzzzzz_000001_000011.mp4")
    truth = read_ground_truth(root)
    assert truth.attrs["format"] == "kinetics"
    assert truth["labels"].tolist() == [("abseiling",), ("abseiling",), ("air drumming",)]
    assert truth["split"].tolist() == ["test", "train", "train"]
    assert truth["youtube_id"].tolist() == ["zzzzzzzzzzz", "-3B32lodo2M", "a_b-c_d_e_f"]
    assert truth["time_start"].tolist() == [1, 59, 10]
    assert truth["time_end"].tolist() == [11, 69, 20]
    assert truth["path"].iloc[1].endswith("train/abseiling/-3B32lodo2M_000059_000069.mp4")


def test_kinetics_tree_without_split_folders_is_detected_by_its_names(tmp_path):
    root = tmp_path / "kin"
    touch(root / "abseiling" / "-3B32lodo2M_000059_000069.mp4")
    truth = read_ground_truth(root)
    assert truth.attrs["format"] == "kinetics"
    assert truth["split"].tolist() == [None] and truth["labels"].tolist() == [("abseiling",)]
    touch(tmp_path / "plain" / "dog" / "bark.wav")  # an ordinary class folder stays one
    assert read_ground_truth(tmp_path / "plain").attrs["format"] == "folder"


def test_kinetics_csv(tmp_path):
    vids = tmp_path / "videos"
    touch(vids / "train" / "abseiling" / "-3B32lodo2M_000059_000069.mp4")
    touch(vids / "anywhere" / "0wR5jVB-WPk_000417_000427.mkv")
    csv = tmp_path / "kinetics400_train.csv"
    pd.DataFrame({"label": ["abseiling", "air drumming", "abseiling"],
                  "youtube_id": ["-3B32lodo2M", "0wR5jVB-WPk", "missingmiss"],
                  "time_start": [59, 417, 0], "time_end": [69, 427, 10],
                  "split": ["train", "train", "train"]}).to_csv(csv, index=False)
    with pytest.warns(ASTToolsWarning, match=r"1 of 3 listed videos were not found "
                                             r"\(missingmiss_000000_000010\); dropped"):
        truth = read_ground_truth(csv, video_dir=vids)
    assert truth.attrs["format"] == "kinetics-csv"
    assert truth["labels"].tolist() == [("abseiling",), ("air drumming",)]
    assert truth["path"].iloc[1].endswith("anywhere/0wR5jVB-WPk_000417_000427.mkv")
    assert truth["youtube_id"].tolist() == ["-3B32lodo2M", "0wR5jVB-WPk"]
    assert truth["time_start"].tolist() == [59, 417] and truth["split"].tolist() == ["train"] * 2
    with pytest.raises(ParameterError, match="were not found"):
        read_ground_truth(csv, video_dir=vids, missing="error")


def test_ucf101_split_lists(tmp_path):
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    (lists / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nArchery/v_Archery_g09_c02.avi 2\n")
    (lists / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi\n")
    vids = tmp_path / "UCF-101"
    for rel in ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "Archery/v_Archery_g09_c02.avi",
                "Archery/v_Archery_g01_c01.avi"):
        touch(vids / rel)
    for source in (lists, lists / "trainlist01.txt"):
        truth = read_ground_truth(source)
        assert truth.attrs["format"] == "ucf101"
        assert truth["labels"].tolist() == [("ApplyEyeMakeup",), ("Archery",), ("Archery",)]
        assert truth["split"].tolist() == ["train", "train", "test"]
        assert truth["class_index"].tolist() == [1, 2, 2]
        assert truth["group"].tolist() == [8, 9, 1]
        assert truth["path"].iloc[2] == str((vids / "Archery/v_Archery_g01_c01.avi").resolve())
    (lists / "trainlist01.txt").write_text("Archery/v_Archery_g09_c02.avi 1\n")
    with pytest.raises(ParameterError, match=r"trainlist01.txt:1: index 1 is not Archery's"):
        read_ground_truth(lists)
    with pytest.raises(ParameterError, match="trainlist02.txt: UCF101 split list does not exist"):
        from asttools.datasets.action import read_ucf101
        read_ucf101(lists, split=2)


def test_epic_annotations_become_segment_rows(tmp_path):
    touch(tmp_path / "P01" / "videos" / "P01_01.MP4")
    csv = tmp_path / "EPIC_100_train.csv"
    pd.DataFrame({
        "narration_id": ["P01_01_0", "P01_01_1", "P02_03_0"],
        "participant_id": ["P01", "P01", "P02"], "video_id": ["P01_01", "P01_01", "P02_03"],
        "start_timestamp": ["00:00:01.50", "00:01:02.25", "00:00:00.00"],
        "stop_timestamp": ["00:00:03.00", "00:01:05.75", "00:00:01.00"],
        "verb": ["open", "take", "wash"], "noun": ["door", "cup", "plate"],
    }).to_csv(csv, index=False)
    with pytest.warns(ASTToolsWarning, match=r"1 of 3 listed videos were not found \(P02_03\)"):
        truth = read_ground_truth(csv)
    assert truth.attrs["format"] == "epic"
    assert truth["start_s"].tolist() == [1.5, 62.25] and truth["end_s"].tolist() == [3.0, 65.75]
    assert truth["labels"].tolist() == [("open",), ("take",)]
    assert truth["id"].tolist() == ["P01_01_0", "P01_01_1"]
    assert truth["path"].nunique() == 1  # one video, two segments
    action = read_epic(csv, label="action", missing="keep")
    assert action["labels"].tolist() == [("open door",), ("take cup",), ("wash plate",)]
    assert parse_timestamp("01:02:03.25") == 3723.25
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"video_id": ["P01_01"], "start_timestamp": ["00:00:05.00"],
                  "stop_timestamp": ["00:00:04.00"], "verb": ["x"]}).to_csv(bad, index=False)
    with pytest.raises(ParameterError, match="row 0: stop_timestamp 00:00:04.00 is not after"):
        read_epic(bad)
    with pytest.raises(ParameterError, match="not HH:MM:SS.ff"):
        parse_timestamp("1.5 s")
