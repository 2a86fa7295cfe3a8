"""Jupyter support: each warning once per cell (``%load_ext asttools.apps.notebook``).

Python shows a warning once per code location only until any code changes the warning
filters (``warnings.catch_warnings`` does, and matplotlib, pandas and scikit-learn use it
freely): after that the same warning prints again at every call, so a cell that extracts
three settings shows "is silent" three times. Loading this extension keeps the first of
identical warnings (same category and message) within a cell and drops the repeats; the
next cell starts afresh. Nothing changes until the extension is loaded, and
``%unload_ext asttools.apps.notebook`` restores Python's own display.

Examples
--------
In a notebook's first code cell::

    %load_ext asttools.apps.notebook
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

_lock = threading.Lock()
_seen: set[tuple[type, str]] = set()
_original: Any = None


def _show_once(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` that shows each (category, message) once per cell."""
    key = (category, str(message))
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
    _original(message, category, filename, lineno, file, line)


def _new_cell(*_: Any) -> None:
    with _lock:
        _seen.clear()


def load_ipython_extension(ipython) -> None:
    """Show each warning once per cell (IPython calls this on ``%load_ext``)."""
    global _original
    if _original is None:
        _original = warnings.showwarning
        warnings.showwarning = _show_once
        ipython.events.register("pre_run_cell", _new_cell)
    _new_cell()


def unload_ipython_extension(ipython) -> None:
    """Restore Python's warning display (``%unload_ext asttools.apps.notebook``)."""
    global _original
    if _original is not None:
        if warnings.showwarning is _show_once:
            warnings.showwarning = _original
        _original = None
        ipython.events.unregister("pre_run_cell", _new_cell)
