"""Media facts travel as one typed record (audio.sources.InputMedia) from the probe to the
tables: a misspelt field fails loudly, and the tables' columns are what they were."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from audio_fixtures import sine, write_av, write_tone

import asttools
from asttools.audio import probe_media
from asttools.audio.sources import InputMedia, file_media
from asttools.run import ItemError
from asttools.store import extract, read_store

TABLE = ["item", "id", "path", "window", "start_s", "end_s", "clip_duration_s", "audio_status",
         "audio_offset_s", "audio_duration_s", "video_duration_s", "frame_rate", "av_warning",
         "n_audio_streams"]
STORE = ["item", "path", "window", "start_s", "end_s", "clip_duration_s", "content_hash",
         "settings_key", "file_size", "file_mtime_ns", "id", "audio_status", "audio_offset_s",
         "audio_duration_s", "video_duration_s", "frame_rate", "av_warning", "segment_start_s",
         "segment_end_s", "n_audio_streams", "top1_label", "top1_prob", "top2_label",
         "top2_prob", "top3_label", "top3_prob"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A plain wav (0.5 s), a video with audio (1 s at 10 fps) and one without."""
    d = tmp_path_factory.mktemp("media")
    write_tone(d / "a.wav", 0.5)
    write_av(d / "v.mp4", audio=sine(440, 48000, 1.0)[None].astype(np.float32), seconds=1.0)
    write_av(d / "m.mp4", audio=None, seconds=1.0)
    return [str(d / n) for n in ("a.wav", "v.mp4", "m.mp4")]


def test_a_misspelt_field_fails_loudly(clips):
    media, info = file_media(clips[1])
    assert isinstance(media, InputMedia)
    with pytest.raises(AttributeError):
        media.frame_rte  # noqa: B018 - the typo a dict's .get would have read as None
    with pytest.raises(AttributeError):
        media.get("frame_rate")  # not a dict any more
    with pytest.raises(dataclasses.FrozenInstanceError):
        media.frame_rate = 25.0
    with pytest.raises(TypeError):
        InputMedia(frame_rte=25.0)
    # what the probe read, field by field
    assert (media.audio_offset_s, media.video_duration_s, media.frame_rate,
            media.n_audio_streams) == (info.audio_offset_s, info.video_duration_s,
                                       info.frame_rate, info.n_audio_streams)
    assert media.frame_rate == pytest.approx(10.0) and media.n_audio_streams == 1
    assert media.audio_duration_s is None and media.audio_status is None


def test_what_an_input_knows_by_kind(clips):
    wav, video, mute = (file_media(p)[0] for p in clips)
    assert wav.columns() == {"audio_offset_s": 0.0, "audio_duration_s": None,
                             "video_duration_s": None, "frame_rate": None, "av_warning": None,
                             "n_audio_streams": 1}
    assert mute.n_audio_streams == 0 and mute.audio_offset_s is None
    assert mute.known() == {"audio_offset_s": None,
                            "video_duration_s": probe_media(clips[2]).video_duration_s,
                            "frame_rate": pytest.approx(10.0), "n_audio_streams": 0}
    assert video.but(audio_status="silent").audio_status == "silent"
    assert video.audio_status is None  # but() made a copy
    nothing = InputMedia()  # an array, or a file the probe cannot read
    assert not nothing.probed and nothing.known() == {}
    assert "n_audio_streams" not in nothing.columns()


def test_the_tables_columns_are_unchanged(clips, tiny_model, tmp_path):
    wav, video, mute = clips
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = asttools.embed(clips, model=tiny_model)
        x = extract(clips, tmp_path / "s", model=tiny_model, progress=False)
        t = asttools.timestamp_embeddings(clips, model=tiny_model)
    assert list(e.table.columns) == TABLE
    assert e.table["path"].tolist() == [wav, video]
    assert e.table["audio_offset_s"].tolist() == [0.0, 0.0]
    assert e.table["audio_duration_s"].tolist() == [0.5, pytest.approx(1.002687, abs=1e-6)]
    assert e.table["video_duration_s"].isna().tolist() == [True, False]
    assert e.table["frame_rate"].tolist()[1] == pytest.approx(10.0)
    assert e.table["n_audio_streams"].tolist() == [1, 1]
    assert e.table["clip_duration_s"].tolist() == [0.5, pytest.approx(1.0)]
    assert list(e.errors.columns) == ["item", "id", "path", "audio_status", "reason",
                                      "audio_offset_s", "video_duration_s", "frame_rate",
                                      "n_audio_streams"]
    for status in (e.status, x.status):
        row = status.set_index("path").loc[mute]
        assert row["audio_status"] == "no_audio_stream" and row["n_audio_streams"] == 0
        assert row["frame_rate"] == pytest.approx(10.0)
        assert row["video_duration_s"] == pytest.approx(1.0)
        assert row["audio_offset_s"] is None or np.isnan(row["audio_offset_s"])
    assert list(read_store(tmp_path / "s").table.columns) == STORE
    inputs = t.inputs.set_index("path")
    assert inputs["audio_status"].tolist() == ["ok", "ok", "no_audio_stream"]
    assert inputs["n_audio_streams"].tolist() == [1.0, 1.0, 0.0]
    assert inputs["offset_s"].isna().tolist() == [False, False, True]
    assert inputs.loc[video, "frame_rate"] == pytest.approx(10.0)
    assert list(t.errors.columns) == ["item", "id", "path", "audio_status", "reason"]


def test_a_failure_carries_its_media_typed(clips, tiny_model):
    from asttools.run import as_items, iter_windows

    events = list(iter_windows(as_items([clips[2]]), workers=0))
    (err,) = events
    assert isinstance(err, ItemError) and isinstance(err.media, InputMedia)
    assert err.status == "no_audio_stream" and err.media.n_audio_streams == 0
