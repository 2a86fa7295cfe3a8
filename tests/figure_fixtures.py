"""Helpers for the figure tests (plain functions, no pytest fixtures)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes


def own_ax() -> Axes:
    """A new Axes of its own figure: pass it as ``ax=`` to see a helper draw on it."""
    _, ax = plt.subplots()
    return ax
