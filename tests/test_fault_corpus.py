"""The fault corpus: every kind of bad input and fault, in one mixed run (issue 8).

One manifest and one folder hold good files, each kind of bad file the tests know
(missing, empty, a directory, not audio, truncated, NaN samples, a video without audio,
a dangling and a looping symlink, a named pipe, names that are not UTF-8), and inputs
that are fine but unusual (silent, shorter than a patch, truncated WAV, duplicate content,
one file on two manifest rows, 8-channel AAC and Opus, a .mka file in a walked folder, a
chained Ogg and a concatenated FLAC, a Matroska file without a duration, 192 kHz x 8 FLAC).
They go through the real command line as a user runs it,
then through the faults a run meets: a kill in the middle, a re-run, a damaged part, a
manifest column whose type changes. After each step:

- no traceback, and the exit code is the documented one;
- every good input is stored, with every window;
- every bad input is reported with its reason, and recorded in the store;
- nothing stored before is lost.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from audio_fixtures import sine, write_av, write_multichannel, write_tone
from PIL import Image

from asttools.apps.cli import EXIT_SOME_FAILED
from asttools.store import read_store

SR = 16000
pytestmark = pytest.mark.filterwarnings("ignore::asttools.ASTToolsWarning")

#: Bad inputs: file name (as bytes: some are not UTF-8) -> what the reason must say.
BAD = {
    b"missing.wav": "file not found",
    b"empty.wav": "empty",
    b"folder.wav": "is a directory",
    b"text.mp3": "not a recognised audio or video format",
    b"cut.flac": "truncated or corrupt",
    b"nan.wav": "NaN",
    b"video only.mkv": "no audio stream",
    b"picture.mp4": "no audio stream",  # a PNG renamed .mp4
    b"dangling.wav": "symbolic link to a missing file",
    b"loop.wav": "symbolic link in a loop",
    b"pipe.wav": "not a regular file",
    b"vide\xe9.wav": "empty",
}
#: Bad inputs that are not failures: a video without an audio stream has its own status.
NO_AUDIO = {b"video only.mkv", b"picture.mp4"}  # a PNG renamed .mp4 opens as a video

#: Good inputs: file name -> windows expected with the default 10.24 s window.
GOOD = {
    b"tone.wav": 1,
    b"stereo 44k.flac": 1,
    b"long.wav": 3,  # 25 s
    b"clip.mp4": 1,  # an AAC track in a video
    b"caf\xe9.wav": 2,  # 12 s, a name that is not UTF-8
    b"silent.wav": 1,
    b"short.wav": 1,  # 0.05 s: shorter than one patch
    b"truncated.wav": 1,  # header promises more than the file holds
    b"tone copy.wav": 1,  # the same bytes as tone.wav
    b"two labels.wav": 1,  # on two manifest rows
    b"extra/in folder.ogg": 1,  # found by walking a folder, not in the manifest
    b"eight channels.m4a": 1,  # 7.1 AAC: PyAV 18.1's to_ndarray() segfaulted (issue 18)
    b"extra/eight channels.mka": 1,  # 7.1 Opus in Matroska audio, found by the walk
    b"chained.ogg": 2,  # 4 Ogg Vorbis files of 3 s, concatenated: soundfile read the first
    b"concatenated.flac": 2,  # 2 FLAC files of 6 s, concatenated: the same
    b"live.mkv": 1,  # FLAC in Matroska without a duration (a live recording): streamed
    b"hires.flac": 1,  # 192 kHz x 8 channels: streamed by its decoded bytes
}


def _corpus(root: Path) -> Path:
    d = os.fsencode(root / "corpus")
    os.makedirs(d + b"/extra")
    j = lambda name: d + b"/" + name  # noqa: E731

    write_tone(j(b"tone.wav"), 1.0)
    write_tone(j(b"stereo 44k.flac"), 2.0, 330.0, sr=44100, channels=2)
    write_tone(j(b"long.wav"), 25.0, 550.0)
    write_av(Path(os.fsdecode(j(b"clip.mp4"))), audio=sine(660, 48000, 2.0)[None], seconds=2.0)
    write_tone(j(b"caf\xe9.wav"), 12.0, 770.0)
    with open(j(b"silent.wav"), "wb") as f:
        sf.write(f, np.zeros(SR, np.float32), SR, format="WAV")
    write_tone(j(b"short.wav"), 0.05)
    whole = root / "whole.wav"
    write_tone(os.fsencode(whole), 2.0, 880.0)
    data = whole.read_bytes()
    with open(j(b"truncated.wav"), "wb") as f:
        f.write(data[: len(data) // 2])
    shutil.copyfile(j(b"tone.wav"), j(b"tone copy.wav"))
    write_tone(j(b"two labels.wav"), 1.5, 990.0)
    write_tone(j(b"extra/in folder.ogg"), 1.0, 1100.0, subtype="VORBIS")
    write_multichannel(Path(os.fsdecode(j(b"eight channels.m4a"))), channels=8, codec="aac")
    for name, ext, n, seconds in [(b"chained.ogg", "ogg", 4, 3.0),
                                  (b"concatenated.flac", "flac", 2, 6.0)]:
        links = []
        for i in range(n):
            link = root / f"link{i}.{ext}"
            write_tone(os.fsencode(link), seconds, 300.0 + 100 * i,
                       subtype="VORBIS" if ext == "ogg" else "PCM_16")
            links.append(link.read_bytes())
        with open(j(name), "wb") as f:
            f.write(b"".join(links))
    write_av(Path(os.fsdecode(j(b"live.mkv"))), audio=sine(500, 48000, 3.0)[None],
             audio_codec="flac", video_codec=None, options={"live": "1"})
    write_tone(j(b"hires.flac"), 1.0, 1500.0, sr=192000, channels=8)
    write_multichannel(Path(os.fsdecode(j(b"extra/eight channels.mka"))), channels=8,
                       codec="libopus")

    open(j(b"empty.wav"), "wb").close()
    os.mkdir(j(b"folder.wav"))
    with open(j(b"text.mp3"), "w") as f:
        f.write("this is not audio\n" * 40)
    write_tone(j(b"full.flac"), 3.0)
    with open(j(b"full.flac"), "rb") as f:
        flac = f.read()
    with open(j(b"cut.flac"), "wb") as f:
        f.write(flac[: len(flac) // 3])
    os.remove(j(b"full.flac"))
    nan = sine(440, SR, 1.0)
    nan[100:200] = np.nan
    with open(j(b"nan.wav"), "wb") as f:
        sf.write(f, nan, SR, format="WAV", subtype="FLOAT")
    write_av(Path(os.fsdecode(j(b"video only.mkv"))), audio=None, seconds=1.0)
    Image.new("RGB", (16, 16), (200, 30, 30)).save(os.fsdecode(j(b"picture.mp4")), format="PNG")
    os.symlink(b"/nowhere/at/all.wav", j(b"dangling.wav"))
    os.symlink(j(b"loop.wav"), j(b"loop.wav"))
    os.mkfifo(j(b"pipe.wav"))
    open(j(b"vide\xe9.wav"), "wb").close()
    # the bad folder-walk inputs live in extra/ too: a folder walk must survive them
    os.symlink(b"/nowhere/either.wav", j(b"extra/dangling too.wav"))
    os.mkfifo(j(b"extra/pipe too.wav"))

    rows = [b"path,label,fold"]
    for name in list(BAD) + list(GOOD):
        if name.startswith(b"extra/"):
            continue
        label = name.split(b".")[0].replace(b" ", b"_").decode("ascii", "ignore")
        rows.append(b'"%s",%s,1' % (name, label.encode()))
    rows.append(b'"two labels.wav",second_label,1')
    with open(d + b"/manifest.csv", "wb") as f:
        f.write(b"\n".join(rows) + b"\n")
    return root / "corpus"


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASTTOOLS_MODEL": "tiny-random", "HF_HUB_OFFLINE": "1",
           "PYTHONWARNINGS": "always"}
    return subprocess.run([sys.executable, "-m", "asttools", *args], capture_output=True,
                          text=True, errors="replace", env=env, timeout=timeout)


def _check_store(store: Path, corpus: Path) -> None:
    """Every good input stored with every window; every bad one recorded with its reason."""
    res = read_store(store)
    base = os.fsencode(corpus) + b"/"
    # (not groupby: pandas 3 cannot group names that are not UTF-8)
    got = Counter(os.fsencode(p)[len(base):] for p in res.table["path"])
    assert got == GOOD
    assert np.isfinite(res.embeddings).all() and np.isfinite(res.probs).all()
    errors = {os.fsencode(p)[len(base):]: r for p, r in zip(res.errors["path"],
                                                           res.errors["reason"], strict=True)}
    expected = {**{k: v for k, v in BAD.items() if k not in NO_AUDIO},
                b"extra/dangling too.wav": "symbolic link to a missing file",
                b"extra/pipe too.wav": "not a regular file"}
    assert set(errors) == set(expected)
    status = {os.fsencode(p)[len(base):]: (s, r) for p, s, r in zip(
        res.status["path"], res.status["audio_status"], res.status["reason"], strict=True)}
    for name in NO_AUDIO:  # an input without audio: its own status, with the reason
        assert status[name][0] == "no_audio_stream" and BAD[name] in status[name][1]
    for name, reason in expected.items():
        assert reason in errors[name], (name, errors[name])
    labels = res.table.loc[res.table["path"].map(os.fsencode) == base + b"two labels.wav",
                           "label"]
    assert [tuple(v) for v in labels] == [("two_labels", "second_label")]


def test_a_manifest_column_that_is_not_utf8_is_named(tmp_path):
    write_tone(os.fsencode(tmp_path / "a.wav"), 0.5)
    (tmp_path / "m.csv").write_bytes(b"path,label\na.wav,caf\xe9\n")
    bad = _run("extract", str(tmp_path / "m.csv"), "--out", str(tmp_path / "S"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "column 'label' is not UTF-8 text (row 1: 'caf\\xe9')" in bad.stderr, bad.stderr


@pytest.mark.slow
def test_one_mixed_run_through_every_fault(tmp_path):
    corpus = _corpus(tmp_path)
    store = tmp_path / "store"
    manifest, extra = str(corpus / "manifest.csv"), str(corpus / "extra")

    # 1. a run killed part way (SIGKILL: nothing is flushed on the way out)
    env = {**os.environ, "ASTTOOLS_MODEL": "tiny-random", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "asttools", "extract", manifest, extra,
                             "--out", str(store), "--flush-every", "1", "--batch-size", "1",
                             "-q"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(store.glob("part-*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    kept = read_store(store) if store.exists() and any(store.glob("part-*")) else None

    # 2. the same command finishes the rest: exit 3 (some inputs failed), no traceback
    done = _run("extract", manifest, extra, "--out", str(store), "-q")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == EXIT_SOME_FAILED, done.stderr
    for name in set(BAD) - NO_AUDIO:  # each failure listed, a name not UTF-8 as \xNN
        assert name.decode("utf-8", "backslashreplace") in done.stderr, name
    assert f"{len(NO_AUDIO)} without audio" in done.stdout
    _check_store(store, corpus)
    first = read_store(store)
    if kept is not None:  # what the killed run stored is still there, unchanged
        keys = first.table.set_index(["path", "window"]).index
        for i, key in enumerate(kept.table.set_index(["path", "window"]).index):
            j = keys.get_loc(key)
            np.testing.assert_array_equal(first.embeddings[j], kept.embeddings[i])

    # 3. a re-run computes nothing, decodes no known failure again, loses nothing
    again = _run("extract", manifest, extra, "--out", str(store), "-q")
    assert "Traceback" not in again.stderr and again.returncode == EXIT_SOME_FAILED
    assert " 0 computed" in again.stdout, again.stdout
    _check_store(store, corpus)
    second = read_store(store)
    pd.testing.assert_frame_equal(second.table, first.table)
    np.testing.assert_array_equal(second.embeddings, first.embeddings)

    # 4. a damaged part: skipped with a warning, its inputs computed again, nothing else lost
    part = max(store.glob("part-0*-*.parquet"), key=lambda p: p.stat().st_size)
    part.write_bytes(part.read_bytes()[:100])
    repaired = _run("extract", manifest, extra, "--out", str(store), "-q")
    assert "Traceback" not in repaired.stderr and repaired.returncode == EXIT_SOME_FAILED
    assert part.name in repaired.stderr  # the warning names the damaged part
    _check_store(store, corpus)
    assert pd.read_parquet(store).shape[0] >= len(first.table)  # the one-liner still reads it

    # 5. a manifest column whose type changes between runs (fold: int, then text)
    text = (corpus / "manifest.csv").read_bytes().replace(b",1\n", b",x\n")
    (corpus / "manifest.csv").write_bytes(text)
    changed = _run("extract", manifest, extra, "--out", str(store), "-q")
    assert "Traceback" not in changed.stderr and changed.returncode == EXIT_SOME_FAILED
    assert "fold" in changed.stderr  # a warning names the column whose type changed
    _check_store(store, corpus)
    raw = pd.read_parquet(store)  # the README's one-liner
    assert set(raw["fold"].dropna().astype(str)) <= {"1", "x"}  # extra/ has no fold

    # 6. predict over the same corpus: a row for every good input, the bad ones listed
    table = tmp_path / "labels.csv"
    pred = _run("predict", manifest, extra, "--out", str(table), "--top-k", "2")
    assert "Traceback" not in pred.stderr and pred.returncode == EXIT_SOME_FAILED
    labelled = pd.read_csv(table)
    clips = labelled[labelled["scope"] == "clip"]
    assert clips["path"].nunique() == len(GOOD) + len(BAD) + 2  # every input, extra/'s 2 bad
    assert clips.loc[clips["label"].notna(), "path"].nunique() == len(GOOD)
    failed = clips[clips["label"].isna()]
    assert (failed["audio_status"] != "ok").all() and failed["reason"].notna().all()
    for name in set(BAD) - NO_AUDIO:
        assert name.decode("utf-8", "backslashreplace") in pred.stderr, name
    for name in NO_AUDIO:  # a row for it, saying why it has no labels
        assert f"{name.decode()}: no_audio_stream" in pred.stdout

def test_a_manifest_row_without_a_path_is_named(tmp_path):
    write_tone(os.fsencode(tmp_path / "a.wav"), 0.5)
    (tmp_path / "m.csv").write_text("path,label\na.wav,x\n,y\n")
    bad = _run("extract", str(tmp_path / "m.csv"), "--out", str(tmp_path / "S"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "m.csv has rows with an empty path (rows [1])" in bad.stderr, bad.stderr
