"""Generated videos whose picture flashes white at known times (for the frame clock tests)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_flashes(
    path: Path,
    frame_times: np.ndarray,
    flashes: set[int],
    *,
    size: int = 32,
    time_base: Fraction = Fraction(1, 1000),
    audio: np.ndarray | None = None,
    audio_start_s: float = 0.0,
    sr: int = 16000,
) -> Path:
    """Write frames at ``frame_times`` (seconds; any spacing, so variable frame rates too):
    black, except the frames whose index is in ``flashes``, which are white. An optional
    mono ``audio`` track (float32) starting at ``audio_start_s``."""
    with av.open(str(path), "w") as container:
        vs = container.add_stream("mpeg4", rate=max(1, round((len(frame_times) - 1)
                                                             / frame_times[-1])))
        vs.width = vs.height = size
        vs.pix_fmt = "yuv420p"
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
        astream = None
        if audio is not None:
            astream = container.add_stream("pcm_s16le" if str(path).endswith(".mkv")
                                           else "aac", rate=sr, layout="mono")
        for i, t in enumerate(frame_times):
            value = 255 if i in flashes else 0
            img = np.full((size, size, 3), value, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            container.mux(vs.encode(frame))
        container.mux(vs.encode(None))
        if astream is not None:
            size_ = astream.codec_context.frame_size or 1024
            fmt = astream.codec_context.codec.audio_formats[0].name
            start = round(audio_start_s * sr)
            for lo in range(0, len(audio), size_):
                block = audio[None, lo:lo + size_]
                data = block if fmt.startswith("flt") else (block * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt,
                                                   layout="mono")
                frame.sample_rate = sr
                frame.pts = start + lo
                frame.time_base = Fraction(1, sr)
                container.mux(astream.encode(frame))
            container.mux(astream.encode(None))
    return path


def vfr_times(n: int = 60, seed: int = 0) -> np.ndarray:
    """Frame times of a variable-rate clip: gaps of 20 to 100 ms, in whole milliseconds."""
    gaps = np.random.default_rng(seed).integers(20, 101, n - 1) / 1000
    return np.concatenate([[0.0], np.cumsum(gaps)])
