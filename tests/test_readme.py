"""The README's Python quick start runs as written (with the tiny model it names)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # 5.2 s on the loaded 2-core machine (issue 19)
def test_readme_quick_start_runs(monkeypatch, capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start (Python)", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert 'load_model("tiny-random")' in code  # offline: never the hub in tests
    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(43178,) float32 16000" in out  # the shape the README's comment promises
    assert "(6, 64) (6, 527)" in out
