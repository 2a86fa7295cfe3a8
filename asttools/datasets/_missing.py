"""What a ground-truth reader does with a listed file that does not exist: the choices.

Said once for the readers of :mod:`asttools.datasets` and :mod:`asttools.datasets.action`
(their ``missing=`` parameter); public as ``asttools.datasets.MISSING``.
"""

from __future__ import annotations

__all__ = ["MISSING"]

#: What a ground-truth reader does when a listed file does not exist: raise, warn and keep
#: the row, drop the row (with a warning that counts them), or keep it silently.
MISSING = ("error", "warn", "drop", "keep")
