"""``%load_ext asttools.apps.notebook``: each warning once per cell."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

CELL = """
import warnings
from asttools.errors import ASTToolsWarning
for _ in range(3):
    with warnings.catch_warnings():  # what matplotlib and pandas do: Python forgets
        pass
    warnings.warn("clip.wav: is silent", ASTToolsWarning)
warnings.warn("another message", ASTToolsWarning)
"""


class Shown(list):
    """Stands in for Python's display of warnings: records what would be printed."""

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        self.append(str(message))

    def count(self, what: str) -> int:
        return sum(what in m for m in self)


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    shown = Shown()
    with warnings.catch_warnings():  # restores showwarning and the filters afterwards
        warnings.simplefilter("default")  # Python's own: once per code location
        warnings.showwarning = shown
        yield ip, shown
        ip.run_line_magic("unload_ext", "asttools.apps.notebook")
        assert warnings.showwarning is shown
    InteractiveShell.clear_instance()


def test_without_the_extension_python_repeats_the_warning(shell):
    ip, shown = shell
    ip.run_cell(CELL)
    assert shown.count("is silent") == 3  # the defect the extension mends


def test_each_warning_once_per_cell(shell):
    ip, shown = shell
    ip.run_line_magic("load_ext", "asttools.apps.notebook")
    ip.run_cell(CELL)
    assert shown.count("is silent") == 1
    assert shown.count("another message") == 1  # other warnings still show
    ip.run_cell(CELL)  # the next cell starts afresh
    assert shown.count("is silent") == 2


def test_unloading_restores_python_display(shell):
    ip, shown = shell
    ip.run_line_magic("load_ext", "asttools.apps.notebook")
    assert warnings.showwarning is not shown
    ip.run_line_magic("unload_ext", "asttools.apps.notebook")
    assert warnings.showwarning is shown
    ip.run_cell(CELL)
    assert shown.count("is silent") == 3
