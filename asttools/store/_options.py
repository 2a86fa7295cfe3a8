"""What a store run accepts and defaults to: its poolings, engines and flush cadence.

Said once, for :func:`asttools.extract` and the command line's help. This module imports
nothing but the standard library, so ``asttools extract --help`` reads these without
loading pandas or pyarrow.
"""

from __future__ import annotations

__all__ = ["ENGINES", "FLUSH_ITEMS", "FLUSH_SECONDS", "STORE_POOLINGS"]

#: Poolings a store accepts as window rows (of :data:`asttools.POOLINGS`): ``"time"``
#: (101 × hidden floats per window) and ``"grid"`` (12 × 101 × hidden, 3.7 MB per window
#: for the full model) would make a 10,000-clip store gigabytes; time-aligned embeddings
#: have their own store rows (see :func:`asttools.timestamp_embeddings`).
STORE_POOLINGS = ("cls", "dist", "mean", "patches")

#: Where :func:`asttools.extract` runs the model: in this process, or on a Ray cluster
#: (``pip install -e ".[ray]"``; see docs/cluster.md). Both write the same store.
ENGINES = ("local", "ray")

#: Default number of finished inputs per store part file.
FLUSH_ITEMS = 256
#: Default longest time in seconds between flushes (the most work a crash can lose).
FLUSH_SECONDS = 120.0
