"""Helpers that build results and read stores for the tests (plain functions, no pytest
fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asttools.labels import audioset_labels
from asttools.run.result import EmbeddingResult

AUDIOSET_NAMES = audioset_labels()["display_name"].tolist()


def window_result(windows_per_clip, rng, *, random_weights=False):
    """A per-window result over the 527 AudioSet classes: clip i has windows_per_clip[i]
    windows of 10 s (the last one 4 s long), at paths /data/clip_i.wav."""
    rows = []
    for item, n in enumerate(windows_per_clip):
        for w in range(n):
            end = 10.0 * w + (4.0 if w == n - 1 and n > 1 else 10.0)
            rows.append({"item": item, "id": f"clip_{item}.wav", "path": f"/data/clip_{item}.wav",
                         "window": w, "start_s": 10.0 * w, "end_s": end})
    table = pd.DataFrame(rows)
    probs = rng.random((len(table), len(AUDIOSET_NAMES))).astype(np.float32) * 0.5
    meta = {"labels": AUDIOSET_NAMES, "random_weights": random_weights, "model": "test"}
    return EmbeddingResult(table, rng.normal(size=(len(table), 8)).astype(np.float32), probs,
                           meta=meta)


def data_parts(store: Path) -> list[Path]:
    """The store's data part files (not its schema part), sorted by name."""
    return sorted(p for p in store.glob("part-*.parquet") if "schema" not in p.name)
