"""Training export (issue 17, item 7): aligned (n_clips, T, d) arrays, masks, labels and
folds; a memory-mapped folder; a torch Dataset read by a DataLoader with 2 workers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from audio_fixtures import sine, write_av

import asttools
from asttools.errors import ParameterError
from asttools.analysis.export import (
    TrainingDataset,
    load_training_arrays,
    training_arrays,
)
from asttools.store import extract

SR = 16000


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    sf.write(root / "a.wav", rng.normal(0, 0.1, 3 * SR).astype(np.float32), SR)
    sf.write(root / "b.wav", rng.normal(0, 0.1, 12 * SR).astype(np.float32), SR)
    write_av(root / "mute.mp4", audio=None, seconds=2.0)
    write_av(root / "late.mp4", audio=sine(440, 48000, 1.0)[None], seconds=3.0)
    return root


@pytest.fixture(scope="module")
def steps(clips, tiny_model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)
        return asttools.timestamp_embeddings(
            [clips / n for n in ("a.wav", "b.wav", "mute.mp4", "late.mp4")], model=tiny_model)


def test_steps_line_up_per_clip_with_masks(steps):
    out = training_arrays(steps, labels=["x", "y", "x", "z"], folds=[0, 1, 0, 1])
    n_steps = [len(steps.get(i)[0]) if i != 2 else 0 for i in range(4)]
    assert out.x.shape == (4, max(n_steps), steps.embeddings.shape[1])
    for i, n in enumerate(n_steps):
        if n:
            t, e = steps.get(i)
            np.testing.assert_array_equal(out.x[i, :n], e)
            np.testing.assert_array_equal(out.times[i, :n], t)
        assert out.step_mask[i].sum() == n
        assert (out.x[i, n:] == 0).all() and np.isnan(out.times[i, n:]).all()
    assert out.has_audio.tolist() == [True, True, False, True]
    assert out.labels.tolist() == ["x", "y", "x", "z"] and out.folds.tolist() == [0, 1, 0, 1]
    assert out.meta["kind"] == "steps" and out.meta["random_weights"]


def test_frames_outside_the_audio_are_masked_and_filled(steps):
    pooled = steps.pool(frame_rate=10)
    ids = pooled.inputs["id"].tolist()
    out = training_arrays(pooled, [ids[3], ids[2]], fill_value=np.nan)
    late = pooled.table[pooled.table["item"] == 3]
    assert out.x.shape[1] == max(len(late), (pooled.table["item"] == 2).sum())
    np.testing.assert_array_equal(out.step_mask[0, : len(late)], late["has_audio"])
    assert 0 < out.step_mask[0].sum() < len(late)  # 1 s of audio in a 3 s video
    assert np.isnan(out.x[0][~out.step_mask[0]]).all()
    assert not np.isnan(out.x[0][out.step_mask[0]]).any()
    assert not out.has_audio[1] and np.isnan(out.x[1]).all()
    assert out.meta["kind"] == "frames"
    with pytest.warns(DeprecationWarning, match="fill_value"):  # the old keyword, one release
        old = training_arrays(pooled, [ids[3], ids[2]], fill=np.nan)
    np.testing.assert_array_equal(old.x, out.x)  # NaN == NaN for assert_array_equal
    with pytest.raises(ParameterError, match="fill_value= only"):
        training_arrays(pooled, [ids[3]], fill_value=1.0, fill=2.0)


def test_store_rows_in_the_given_order(clips, tiny_model, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asttools.ASTToolsWarning)
        res = extract(clips, tmp_path / "S", model=tiny_model, hop_s=5.12, progress=False)
    ids = ["mute.mp4", "b.wav", "a.wav"]
    out = training_arrays(res, ids, labels={"a.wav": 1, "b.wav": 2, "mute.mp4": 3})
    b = res.table.index[res.table["id"] == "b.wav"]
    assert out.x.shape == (3, len(b), res.embeddings.shape[1])
    np.testing.assert_array_equal(out.x[1], res.embeddings[b])
    assert out.step_mask.sum(axis=1).tolist() == [0, len(b), 1]
    assert out.has_audio.tolist() == [False, True, True]
    assert out.labels.tolist() == [3, 2, 1]
    with pytest.raises(ParameterError, match=r"1 of 2 ids are not in this result, e\.g\. "
                                             r"\['nope'\]"):
        training_arrays(res, ["a.wav", "nope"])
    with pytest.raises(ParameterError, match="labels has no value for 1 of 3 clips"):
        training_arrays(res, ids, labels={"a.wav": 1, "b.wav": 2})
    with pytest.raises(ParameterError, match="folds has shape"):
        training_arrays(res, ids, folds=[0, 1])
    with pytest.raises(ParameterError, match="one string"):
        training_arrays(res, "a.wav")


def test_memory_mapped_folder_and_a_dataloader_with_two_workers(steps, tmp_path):
    kept = training_arrays(steps, labels=[0, 1, 0, 1], folds=[0, 0, 1, 1])
    out = training_arrays(steps, labels=[0, 1, 0, 1], folds=[0, 0, 1, 1],
                          path=tmp_path / "export")
    assert isinstance(out.x, np.memmap) and not out.x.flags.writeable
    np.testing.assert_array_equal(out.x, kept.x)
    back = load_training_arrays(tmp_path / "export")
    assert back.ids == kept.ids
    np.testing.assert_array_equal(back.step_mask, kept.step_mask)
    np.testing.assert_array_equal(back.labels, [0, 1, 0, 1])
    with pytest.raises(ParameterError, match="new or empty folder"):
        training_arrays(steps, path=tmp_path / "export")
    data = TrainingDataset(tmp_path / "export")
    loader = torch.utils.data.DataLoader(data, batch_size=2, num_workers=2, shuffle=False)
    seen = list(loader)
    assert len(seen) == 2
    audio = torch.cat([b["audio"] for b in seen]).numpy()
    np.testing.assert_array_equal(audio, kept.x)
    assert torch.cat([b["mask"] for b in seen]).numpy().tolist() == kept.step_mask.tolist()
    assert torch.cat([b["has_audio"] for b in seen]).tolist() == [True, True, False, True]
    assert torch.cat([b["label"] for b in seen]).tolist() == [0, 1, 0, 1]
    assert torch.cat([b["index"] for b in seen]).tolist() == [0, 1, 2, 3]
    direct = TrainingDataset(steps)  # a result, laid out with the defaults
    np.testing.assert_array_equal(direct[3]["audio"].numpy(), kept.x[3])
    fold0 = TrainingDataset(kept, indices=np.flatnonzero(kept.folds == 1))
    assert len(fold0) == 2 and fold0[1]["index"].item() == 3
    with pytest.raises(ParameterError, match="not an export folder"):
        load_training_arrays(tmp_path)


def test_frames_without_audio_take_a_fill_fitted_on_the_training_clips(steps):
    # issue 17 item 2: timestamp frames accept the same fills as aligned_embeddings. The
    # late clip's frames before its audio (has_audio False: pool() interpolated them) and
    # the mute clip's frames get the mean of the training clips' real frames, by hand
    from asttools.analysis.fills import fill_frames

    frames = steps.pool(frame_rate=25.0)
    out = training_arrays(frames, fill_value=np.nan)
    train = np.array([True, True, False, False])  # a.wav, b.wav: the training clips
    filled = fill_frames(out.x, out.step_mask, fill="mean", train=train)
    real = out.x[train][out.step_mask[train]]
    expected = real.mean(axis=0)
    late = 3
    assert (~out.step_mask[late]).any() and out.step_mask[late].any()
    np.testing.assert_allclose(filled[late][~out.step_mask[late]],
                               np.broadcast_to(expected, ((~out.step_mask[late]).sum(),
                                                          len(expected))), rtol=1e-5)
    np.testing.assert_array_equal(filled[out.step_mask], out.x[out.step_mask])  # untouched
    assert not out.has_audio[2] and np.allclose(filled[2], expected, rtol=1e-5)
