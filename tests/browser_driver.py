"""A headless Chromium driven by Selenium, for the explorer's page (tests/test_explorer_browser.py).

The system browser and driver (Debian's ``chromium`` and ``chromium-driver``; .ci/run
installs them). Without them the browser tests FAIL, they do not skip: a page nobody
opened is not tested.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions.action_builder import ActionBuilder

#: The system browser and its driver (Debian's chromium, chromium-driver).
CHROMIUM = os.environ.get("ASTTOOLS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ASTTOOLS_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--enable-unsafe-swiftshader",
         "--window-size=1200,1100", "--mute-audio"]

#: JavaScript helpers run in the page: the map's view, a point's place on the screen, text
#: anywhere in the (shadow) DOM, a widget's element.
HELPERS = """
const doc = Bokeh.documents[0];
const model = (name) => doc.get_model_by_name(name);
function findView(v, m) {
  if (v.model === m) { return v; }
  for (const c of (v.child_views ?? [])) { const f = findView(c, m); if (f) { return f; } }
  return null;
}
function plotView() {
  for (const root of Bokeh.index.roots) {
    const v = findView(root, model("map")); if (v) { return v; }
  }
  return null;
}
function screenXY(x, y) {
  const pv = plotView();
  const rect = pv.canvas_view.el.getBoundingClientRect();
  return [rect.left + pv.frame.x_scale.compute(x), rect.top + pv.frame.y_scale.compute(y)];
}
function deepAll(root, selector, out) {
  for (const el of root.querySelectorAll(selector)) { out.push(el); }
  for (const el of root.querySelectorAll("*")) {
    if (el.shadowRoot) { deepAll(el.shadowRoot, selector, out); }
  }
  return out;
}
function widgetEl(name, selector) {
  const w = model(name);
  for (const root of Bokeh.index.roots) {
    const v = findView(root, w);
    if (v) { return (v.shadow_el ?? v.el).querySelector(selector); }
  }
  return null;
}
"""


def find_browser() -> tuple[str, str]:
    """The browser and driver, or fail (not skip) saying how to install them."""
    browser = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    driver = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("the explorer's browser tests need Debian's chromium and chromium-driver "
                    f"({CHROMIUM}, {CHROMEDRIVER}): apt-get install -y chromium "
                    "chromium-driver (.ci/run does)")
    return browser, driver


def start_browser():
    """A headless Chromium with the browser log on; quit it when done."""
    browser, driver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS + [f"--user-data-dir={tempfile.mkdtemp(prefix='asttools-chromium-')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def js(driver, code: str, *args):
    """Run ``code`` (a function body; ``arguments`` as usual) with the helpers defined."""
    return driver.execute_script(HELPERS + code, *args)


def pointer(driver):
    """A fresh action builder; ``.pointer_action`` moves to viewport coordinates."""
    return ActionBuilder(driver)
