"""EmbeddingResult: what its repr counts, selecting inputs, the tidy frame, top-k names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from result_fixtures import window_result

import asttools
from asttools.errors import ParameterError
from asttools.run.result import EmbeddingResult, top_k

# --- what a result holds --------------------------------------------------------------------


def _result(require_audio=False):
    """Two inputs with audio (one silent, two windows), one without a stream, one failed."""
    table = pd.DataFrame({
        "item": [0, 0, 1], "id": ["a", "a", "b"], "path": ["a.wav", "a.wav", "b.wav"],
        "window": [0, 1, 0], "start_s": [0.0, 10.0, 0.0], "end_s": [10.24, 12.0, 1.0],
        "clip_duration_s": [12.0, 12.0, 1.0], "audio_status": ["ok", "ok", "silent"]})
    failed = pd.DataFrame({
        "item": [2, 3], "id": ["c", "d"], "path": ["c.mp4", "d.wav"],
        "audio_status": ["no_audio_stream", "decode_error"],
        "reason": ["the video has no audio stream", "not audio"]})
    emb = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    return EmbeddingResult.from_rows(table, emb, np.zeros((3, 527), np.float32), failed,
                                     {"model": "m", "pooling": "cls", "layer": 12,
                                      "require_audio": require_audio})


def test_repr_counts_each_input_once():
    text = repr(_result())
    assert ("3 rows from 4 inputs (2 with audio, 1 of them silent, 1 without an audio "
            "stream, 1 failed)") in text
    strict = _result(require_audio=True)
    assert len(strict.errors) == 2  # the video without audio is an error too ...
    assert ("4 inputs (2 with audio, 1 of them silent, 1 without an audio stream (errors: "
            "audio required), 1 failed)") in repr(strict)  # ... but is counted once


def test_select_by_path_id_or_item_and_to_frame():
    res = _result()
    by_path = res.select(paths=["b.wav", "a.wav"])
    by_id = res.select(["b", "a"])
    by_item = res.select(items=[1, 0])
    for picked in (by_path, by_id, by_item):
        assert picked.table["path"].tolist() == ["b.wav", "a.wav", "a.wav"]
        np.testing.assert_array_equal(picked.embeddings, res.embeddings[[2, 0, 1]])
    assert res.select(["c"]).status["audio_status"].tolist() == ["no_audio_stream"]
    with pytest.raises(ParameterError, match="not in this result"):
        res.select(paths=["nope.wav"])
    with pytest.raises(ParameterError, match="exactly one of"):
        res.select(["a"], paths=["a.wav"])
    frame = res.to_frame()
    assert len(frame) == len(res) and {"embedding", "probs"} <= set(frame.columns)
    np.testing.assert_array_equal(frame["embedding"].iloc[2], res.embeddings[2])


# --- choosing one clip for a timeline -------------------------------------------------------


def test_select_longest_picks_the_clip_with_most_windows(rng):
    res = window_result([1, 3, 2, 3], rng)
    one = res.select(longest=1)
    assert one.table["path"].unique().tolist() == ["/data/clip_1.wav"]  # ties: input order
    assert len(one) == 3
    np.testing.assert_array_equal(one.probs, res.probs[res.table["item"] == 1])
    two = res.select(longest=2)
    assert two.table["path"].unique().tolist() == ["/data/clip_1.wav", "/data/clip_3.wav"]
    with pytest.raises(ParameterError, match="longest must be an integer >= 1"):
        res.select(longest=0)
    with pytest.raises(ParameterError, match="exactly one of"):
        res.select(ids=["clip_0.wav"], longest=1)


# --- top_k short names ----------------------------------------------------------------------


def test_top_k_short_names():
    p = np.zeros((1, 527), np.float32)
    idx = {n: i for i, n in enumerate(asttools.audioset_labels()["display_name"])}
    p[0, idx["Bird vocalization, bird call, bird song"]] = 0.9
    p[0, idx["Inside, small room"]] = 0.8
    full = top_k(p, k=2)
    short = top_k(p, k=2, short=True)
    assert full["label"].tolist() == ["Bird vocalization, bird call, bird song",
                                      "Inside, small room"]
    assert short["label"].tolist() == ["Bird vocalization", "Inside, small room"]
    assert short["mid"].tolist() == full["mid"].tolist()
