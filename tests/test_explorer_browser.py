"""The explorer's page in a real browser: headless Chromium (Debian's) driven by Selenium.

Fails, not skips, when the browser is missing (tests/browser_driver.py). The points, their
places (``xy=``), their audio (tones of known pitch) and their labels are made here, so
every check has a known answer; the README's screenshot (docs/figures/explorer.png) is
rewritten only with ASTTOOLS_UPDATE_FIGURES=1.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from audio_fixtures import dominant_frequency, sine
from browser_driver import js, pointer, start_browser
from PIL import Image, ImageOps

import asttools
from asttools.run.result import EmbeddingResult

pytestmark = pytest.mark.slow  # a browser start and a few seconds of audio

SR = 16000
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "explorer.png"
#: The points: (path stem, start_s, end_s, tone Hz, truth, x, y)
POINTS = [
    ("tone_a", 0.0, 1.5, 440.0, "low", 0.0, 0.0),
    ("tone_a", 1.5, 3.0, 880.0, "high", 1.0, 0.0),
    ("tone_b", 0.0, 1.2, 660.0, "mid", 0.0, 1.0),
    ("tone_c", 0.0, 1.2, 1000.0, "mid", 1.0, 1.0),
    ("gone", 0.0, 1.0, 500.0, "lost", 0.5, 0.5),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A saved explorer page of POINTS (the file of 'gone' deleted before saving)."""
    folder = tmp_path_factory.mktemp("explorer")
    paths = {}
    for stem in dict.fromkeys(p[0] for p in POINTS):
        parts = [sine(hz, SR, end - start, amp=0.3)
                 for s, start, end, hz, *_ in POINTS if s == stem]
        paths[stem] = str(folder / f"{stem}.wav")
        sf.write(paths[stem], np.concatenate(parts), SR)
    Path(paths["gone"]).unlink()  # moved or deleted after the run
    table = pd.DataFrame({"item": [0, 0, 1, 2, 3], "path": [paths[p[0]] for p in POINTS],
                          "id": [f"{p[0]}.wav" for p in POINTS],
                          "window": [0, 1, 0, 0, 0],
                          "start_s": [p[1] for p in POINTS], "end_s": [p[2] for p in POINTS],
                          "label": [p[4] for p in POINTS]})
    probs = np.full((len(POINTS), 527), 0.01, np.float32)
    for i in range(len(POINTS)):  # row i: class 10 i first (0.9), then 10 i + 1 (0.5)
        probs[i, 10 * i], probs[i, 10 * i + 1] = 0.9, 0.5
    res = EmbeddingResult(table, np.eye(len(POINTS), 8, dtype=np.float32), probs,
                          meta={"model": "tiny-random", "random_weights": True,
                                "pooling": "cls", "layer": 2})
    xy = np.array([[p[5], p[6]] for p in POINTS])
    explorer = asttools.explore(res, xy=xy, title="explorer test page")
    html = explorer.save(folder / "site" / "map.html")
    return html, explorer, paths


@pytest.fixture(scope="module")
def browser(page):
    driver = start_browser()
    driver.get(page[0].as_uri())
    for _ in range(100):  # BokehJS renders asynchronously
        if driver.execute_script("return typeof Bokeh !== 'undefined' && "
                                 "Bokeh.documents.length > 0 && Bokeh.index.roots.length > 0"):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    yield driver
    driver.quit()


def _screen(driver, x, y):
    return js(driver, "return screenXY(arguments[0], arguments[1]);", x, y)


def _hover_text(driver) -> str:
    return js(driver, "return deepAll(document, '.asttools-hover', [])"
                      ".map((e) => e.innerText).join('\\n');")


def test_page_loads_and_draws_every_point(browser, page):
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    n = js(browser, """
        const src = model("points_source");
        const pv = plotView();
        const r = model("points");
        const glyph = (pv.renderer_views?.get(r) ?? findView(pv, r)).glyph;
        return [src.data.x.length, glyph.sx.length, [...glyph.sx].filter(Number.isFinite).length];
    """)
    assert n == [len(POINTS)] * 3
    header = js(browser, "return model('header').text;")
    assert "RANDOM WEIGHTS" in header and "pooling <b>cls</b>" in header
    assert "coordinates given" in header


def test_hover_shows_id_and_top5(browser):
    x, y = _screen(browser, 0.0, 1.0)  # tone_b
    actions = pointer(browser)
    actions.pointer_action.move_to_location(int(x), int(y))
    actions.perform()
    for _ in range(30):
        text = _hover_text(browser)
        if text:
            break
        time.sleep(0.1)
    labels = asttools.audioset_labels()["display_name"]
    assert "tone_b.wav" in text
    assert "truth: mid" in text
    assert f"1. {labels[20]} 0.900" in text and f"2. {labels[21]} 0.500" in text
    assert "tone_a" not in text


def _click(driver, x, y):
    sx, sy = _screen(driver, x, y)
    actions = pointer(driver)
    actions.pointer_action.move_to_location(int(sx), int(sy)).click()
    actions.perform()


def _player(driver) -> dict:
    return driver.execute_script(
        "const ex = window.asttoolsExplorer || {}; const a = ex.player;"
        "return a ? {src: a.getAttribute('src'), t: a.currentTime, paused: a.paused, "
        "index: ex.index, end: ex.end} : null;")


def test_click_plays_the_points_own_span(browser, page):
    _click(browser, 1.0, 0.0)  # tone_a's second window: 1.5-3.0 s, 880 Hz
    for _ in range(50):
        state = _player(browser)
        if state and not state["paused"] and state["t"] > 1.5:
            break
        time.sleep(0.05)
    assert state["index"] == 1 and not state["paused"]
    assert 1.5 <= state["t"] <= 3.0
    # the source is tone_a's audio: decode it, the span 1.5-3.0 s is the 880 Hz half
    assert state["src"].startswith("data:audio/ogg;base64,")
    wav, sr = sf.read(io.BytesIO(base64.b64decode(state["src"].split(",", 1)[1])))
    assert sr == SR and abs(len(wav) / sr - 3.0) < 0.05
    assert abs(dominant_frequency(wav[int(1.6 * sr): int(2.9 * sr)], SR) - 880) < 5
    assert abs(dominant_frequency(wav[int(0.1 * sr): int(1.4 * sr)], SR) - 440) < 5
    for _ in range(60):  # it stops at the span's end
        state = _player(browser)
        if state["paused"]:
            break
        time.sleep(0.05)
    assert state["paused"] and 2.9 <= state["t"] <= 3.0 + 0.1
    now = js(browser, "return model('now_playing').text;")
    assert "tone_a.wav [1.50-3.00 s]" in now


def test_missing_file_is_marked_and_silent(browser, page):
    _click(browser, 0.5, 0.5)  # 'gone': its file was deleted
    time.sleep(0.3)
    now = js(browser, "return model('now_playing').text;")
    assert "gone.wav" in now and "cannot play" in now and "audio file missing" in now
    assert _player(browser)["paused"]
    status = js(browser, "return model('points_source').data.audio_status;")
    assert status == ["ok", "ok", "ok", "ok", "audio file missing"]


def test_colour_switch_changes_the_legend(browser):
    before = js(browser, "return model('legend').items.map((i) => i.label.value);")
    assert sorted(before) == ["high (1)", "lost (1)", "low (1)", "mid (2)"]
    js(browser, """
        const el = widgetEl("color", "select");
        el.value = "audio_status";
        el.dispatchEvent(new Event("change"));
    """)
    time.sleep(0.3)
    after = js(browser, "return [model('legend').items.map((i) => i.label.value),"
                        " model('legend').title, model('points_source').data.color];")
    assert sorted(after[0]) == ["audio file missing (1)", "ok (4)"]
    assert after[1] == "audio_status"
    assert len(set(after[2][:4])) == 1 and after[2][4] != after[2][0]


def test_box_selection_lists_and_exports_ids(browser):
    x0, y0 = _screen(browser, -0.05, -0.05)  # inside the 6 % padding
    x1, y1 = _screen(browser, 1.05, 0.25)
    actions = pointer(browser)
    (actions.pointer_action.move_to_location(int(x0), int(y0)).pointer_down()
     .move_to_location(int((x0 + x1) / 2), int((y0 + y1) / 2))
     .move_to_location(int(x1), int(y1)).pointer_up())
    actions.perform()
    time.sleep(0.3)
    ids = js(browser, "const s = model('points_source');"
                      "return s.selected.indices.map((i) => s.data.point[i]).sort();")
    assert ids == ["tone_a.wav [0.00-1.50 s]", "tone_a.wav [1.50-3.00 s]"]
    assert "2 selected" in js(browser, "return model('selected').text;")
    js(browser, "widgetEl('export_csv', 'button').click();")
    time.sleep(0.3)
    csv = browser.execute_script("return window.asttoolsExplorer.csv;")
    table = pd.read_csv(io.StringIO(csv))
    assert table["point"].tolist() == ["tone_a.wav [0.00-1.50 s]", "tone_a.wav [1.50-3.00 s]"]
    assert table["start_s"].tolist() == [0.0, 1.5]


def test_search_highlights_by_id_and_label(browser):
    box = js(browser, "return widgetEl('search', 'input');")
    box.clear()
    box.send_keys("tone_c")
    time.sleep(0.3)
    hits = js(browser, "const s = model('points_source');"
                       "return s.selected.indices.map((i) => s.data.point[i]);")
    assert hits == ["tone_c.wav"]
    labels = asttools.audioset_labels()["display_name"]
    box.clear()
    box.send_keys(labels[40].lower())  # row 4's top label ('gone')
    time.sleep(0.3)
    hits = js(browser, "return model('points_source').selected.indices;")
    assert hits == [4]
    box.clear()
    time.sleep(0.2)


DATA = Path(__file__).resolve().parents[1] / "data" / "video"


def test_video_store_page_plays_each_clip_from_a_copied_folder(tmp_path):
    """Done means: the bundled video clips' store as one HTML file, copied elsewhere, opened
    without network, plays each clip's own audio on click; its screenshot is the README's."""
    store = tmp_path / "store"
    asttools.extract(DATA / "manifest.csv", store, model="tiny-random", progress=False)
    explorer = asttools.explore(store, truth="action", perplexity=8, seed=0)
    points = explorer.points
    assert len(points) == 26 and explorer.not_shown["audio_status"].eq("no_audio_stream").sum() == 6
    html = explorer.save(tmp_path / "site" / "explorer.html")
    copy = tmp_path / "copied"
    shutil.copytree(html.parent, copy)  # the page alone: BokehJS and the audio are inside
    driver = start_browser()
    try:
        driver.get((copy / "explorer.html").as_uri())
        for _ in range(100):
            if driver.execute_script("return typeof Bokeh !== 'undefined' && "
                                     "Bokeh.index.roots.length > 0"):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
        fetched = driver.execute_script(
            "return performance.getEntriesByType('resource').map((e) => e.name);")
        assert all(u.startswith(("data:", "blob:", "file:")) for u in fetched), fetched
        xy = points[["x", "y"]].to_numpy()
        screen = np.array([_screen(driver, x, y) for x, y in xy])
        for i in range(len(points)):
            near = np.flatnonzero(np.hypot(*(screen - screen[i]).T) < 12)  # under the cursor
            _click(driver, *xy[i])
            for _ in range(40):
                state = _player(driver)
                if state and state["index"] in near and not state["paused"]:
                    break
                time.sleep(0.05)
            j = state["index"]
            assert j in near and not state["paused"], (points["id"][i], state)
            row = points.iloc[j]
            span = row["end_s"] - max(row["start_s"], row["audio_offset_s"])
            assert 0.0 <= state["t"] <= span + 0.05
            wav, sr = sf.read(io.BytesIO(base64.b64decode(state["src"].split(",", 1)[1])))
            original, _ = asttools.load_audio(row["path"])
            assert abs(len(wav) - len(original)) <= 0.01 * sr, row["id"]
            if row["audio_status"] == "ok":  # the clip's own audio, through Vorbis
                n = min(len(wav), len(original))
                assert np.corrcoef(wav[:n], original[:n])[0, 1] > 0.9, row["id"]
        js(driver, "model('points_source').selected.indices = [];"
                   "model('now_playing').text = 'click a point to hear its span';")
        j = int(np.flatnonzero(points["id"] == "hammering_01.mp4")[0])
        x, y = _screen(driver, *xy[j])
        actions = pointer(driver)
        actions.pointer_action.move_to_location(int(x), int(y))
        actions.perform()
        time.sleep(0.5)
        assert "hammering_01.mp4" in _hover_text(driver)
        # the README's screenshot: written to docs/ only when asked (the test must not
        # change tracked files on every run): ASTTOOLS_UPDATE_FIGURES=1 python -m pytest ...
        target = FIGURE if os.environ.get("ASTTOOLS_UPDATE_FIGURES") == "1" else (
            tmp_path / "explorer.png")
        target.parent.mkdir(parents=True, exist_ok=True)
        shot = target.with_name("explorer.tmp.png")
        assert driver.save_screenshot(str(shot))
        with Image.open(shot) as image:  # cropped to the page's content
            box = ImageOps.invert(image.convert("RGB")).getbbox()
            image.crop((0, 0, box[2] + 8, box[3] + 8)).save(target)
        shot.unlink()
        assert target.stat().st_size > 10_000
    finally:
        driver.quit()
