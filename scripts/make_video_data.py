"""Generate the bundled video dataset in ``data/video/``.

32 short mp4 clips of four "actions" (``hammering``, ``alarm``, ``talking``,
``playing_music``; 8 clips each), for research on video action recognition that must stay
robust when the audio is missing. Each action has a characteristic sound and a
characteristic but noisy visual cue:

- ``hammering``: hammer blows at 2-4 per second (a thud, a click and a metallic ring);
  a hammer head moves down and up in time with the blows;
- ``alarm``: a two-tone siren or beeps; a lamp flashes in time with the tones;
- ``talking``: excerpts of the real LibriSpeech recording in ``data/samples/``; a cartoon
  face whose mouth opens with the loudness of the speech;
- ``playing_music``: excerpts of the real jazz and orchestra recordings in ``data/samples/``;
  a spinning record and level bars that follow the loudness of the music.

Frequencies, rates, offsets into the recordings, loudness, background noise, confusing
background sounds, colours, positions and visual noise vary from clip to clip. Video is
96 x 64 H.264 (libx264, yuv420p) at 25 fps; audio is AAC-LC (FFmpeg's native encoder), mono,
16 kHz, 32 kbit/s. Some clips are special cases, listed in the manifest's ``audio`` column:
``none`` (no audio stream at all), ``offset`` (the audio stream starts 0.976 s after the
video), ``silent`` (a track of digital zeros) and ``short`` (1.5 s of audio in a 3 s video).

Also written: ``manifest.csv`` (one row per clip) and ``video_features.npz``, a *synthetic*
stand-in for a video model's per-clip features (class means plus seeded Gaussian noise),
since no video model is bundled.

Deterministic: every random choice comes from a seeded ``numpy.random.default_rng``, and
x264 runs with one thread, so a second run with the same FFmpeg writes the same files (byte
for byte, as measured with PyAV 18.1). Other FFmpeg versions may write other bytes, so
``--check`` verifies decoded properties against the manifest, not bytes. Needs numpy,
soundfile, soxr and PyAV (av); the probe accuracy it logs needs scikit-learn, and
``--check`` imports asttools to see what ``asttools.audio.load_audio`` makes of each clip.

Usage::

    python scripts/make_video_data.py            # (re)write data/video/
    PYTHONPATH=. python scripts/make_video_data.py --check   # exit 1 if data/video/ is off
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "data" / "video"
SAMPLES = ROOT / "data" / "samples"
SPEECH = SAMPLES / "speech_librispeech_198-209-0000.ogg"
JAZZ = SAMPLES / "music_kevin_macleod_vibe_ace.ogg"
ORCHESTRA = SAMPLES / "orchestra_brahms_hungarian_dance_5.ogg"

SEED = 20240610
ACTIONS = ("hammering", "alarm", "talking", "playing_music")
CLIPS_PER_ACTION = 8
N_FOLDS = 4
AUDIO_STATUSES = ("track", "none", "offset", "silent", "short")
# The special clips: clip id -> audio status; every other clip has an ordinary track.
SPECIAL = {
    "hammering_04": "offset",
    "hammering_06": "none",
    "alarm_03": "none",
    "alarm_06": "silent",
    "alarm_08": "none",
    "talking_05": "none",
    "talking_07": "none",
    "playing_music_02": "none",
    "playing_music_07": "short",
}
MANIFEST_COLUMNS = (
    "path", "clip_id", "action", "fold", "audio", "true_audio_offset_s",
    "true_video_duration_s", "true_frame_rate", "note",
)  # fmt: skip

# Video
FPS = 25
WIDTH, HEIGHT = 96, 64
FRAME_CHOICES = (70, 75, 80)  # 2.8, 3.0 or 3.2 s; the special clips are all 75 frames
SPECIAL_FRAMES = 75
X264_OPTIONS = {"crf": "33", "preset": "veryslow", "threads": "1"}

# Audio
SR = 16000
SAMPLES_PER_FRAME = SR // FPS  # 640
AUDIO_BITRATE = 32000
AAC_PRIMING = 1024  # samples the native AAC encoder puts before the signal (initial padding)
OFFSET_S = 0.976  # where the offset clip's audio stream starts on the video's timeline
OFFSET_SAMPLES = round(OFFSET_S * SR)  # 15616, exact at 16 kHz
SHORT_AUDIO_S = 1.5  # the short clip's audio length
MAX_PEAK = 0.7  # headroom: decoded AAC overshoots the encoded peak
SILENCE_PEAK = 1e-6  # asttools' threshold for a silent waveform
CONFUSER_P = 0.3  # chance that a clip has a faint background sound of another action

# Stand-in video features
FEATURE_DIM = 32
FEATURE_SEPARATION = 2.3  # distance of the class means from the origin, in noise SDs

log = logging.getLogger("make_video_data")


# --------------------------------------------------------------------------- the clips


@dataclass(frozen=True)
class Clip:
    clip_id: str
    action: str
    number: int  # 1..8 within the action
    fold: int
    audio: str  # one of AUDIO_STATUSES
    n_frames: int

    @property
    def file(self) -> str:
        return f"{self.clip_id}.mp4"

    @property
    def duration_s(self) -> float:
        return self.n_frames / FPS

    @property
    def audio_offset_s(self) -> float | None:
        return {"none": None, "offset": OFFSET_S}.get(self.audio, 0.0)

    def rng(self, stream: int) -> np.random.Generator:
        """A generator of its own for each clip and purpose (0: scene, 1: backdrop)."""
        return np.random.default_rng([SEED, ACTIONS.index(self.action), self.number, stream])


def clips() -> list[Clip]:
    """All clips in manifest order; folds go round-robin, two clips per action and fold."""
    out = []
    for a, action in enumerate(ACTIONS):
        lengths = np.random.default_rng([SEED, a, 99]).choice(FRAME_CHOICES, CLIPS_PER_ACTION)
        for number in range(1, CLIPS_PER_ACTION + 1):
            clip_id = f"{action}_{number:02d}"
            audio = SPECIAL.get(clip_id, "track")
            n_frames = int(lengths[number - 1]) if audio == "track" else SPECIAL_FRAMES
            fold = (number - 1) % N_FOLDS + 1
            out.append(Clip(clip_id, action, number, fold, audio, n_frames))
    return out


# --------------------------------------------------------------------------- sounds


def _db(x: float) -> float:
    return 10 ** (x / 20)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def _fade(x: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    n = min(int(seconds * SR), len(x) // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    x = x.copy()
    x[:n] *= ramp
    x[len(x) - n :] *= ramp[::-1]
    return x


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS noise with a 1/f power spectrum (room tone)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, n)
    return x / _rms(x)


@cache
def recording(path: Path) -> np.ndarray:
    """A recording from data/samples/ as 16 kHz mono float64 (soxr HQ), peak-normalised."""
    data, rate = sf.read(path, dtype="float64", always_2d=True)
    x = soxr.resample(data.mean(axis=1), rate, SR, quality="HQ")
    return x / np.max(np.abs(x))


def excerpt(rng: np.random.Generator, path: Path, n: int) -> tuple[np.ndarray, float]:
    """``n`` samples of a recording from a random start (s, rounded to 10 ms)."""
    x = recording(path)
    start_s = round(float(rng.uniform(0.0, (len(x) - n) / SR - 0.01)), 2)
    i = round(start_s * SR)
    return _fade(x[i : i + n]), start_s


def envelope(x: np.ndarray) -> np.ndarray:
    """Per-video-frame loudness in [0, 1]: RMS over each 40 ms, over its 95th percentile."""
    rms = np.sqrt(np.mean(x.reshape(-1, SAMPLES_PER_FRAME) ** 2, axis=1))
    env = rms / (np.percentile(rms, 95) + 1e-9)
    env = np.convolve(env, [0.25, 0.5, 0.25], mode="same")  # smooth over three frames
    return np.clip(env, 0.0, 1.0)


def hammer_blow(rng: np.random.Generator, ring: tuple[float, ...], decay: float) -> np.ndarray:
    """One blow, 0.25 s: a noise click, a low thud and a metallic ring (damped sines)."""
    t = np.arange(int(0.25 * SR)) / SR
    click = rng.uniform(-1, 1, len(t)) * np.exp(-t / 0.002)
    thud = np.sin(2 * np.pi * rng.uniform(110, 190) * t) * np.exp(-t / 0.03)
    metal = sum(
        np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / (k + 1) for k, f in enumerate(ring)
    ) * np.exp(-t / decay)
    return 0.8 * click + 0.6 * thud + 0.5 * metal


TONE_HARMONICS = (1.0, 0.0, 0.35, 0.0, 0.15)  # odd harmonics: a horn-like timbre


def tone(freq: np.ndarray) -> np.ndarray:
    """A tone that follows the instantaneous frequency ``freq`` (Hz per sample), with the
    harmonics that stay below the Nyquist frequency (no aliasing)."""
    phase = 2 * np.pi * np.cumsum(freq) / SR
    top = np.max(freq)
    x = sum(
        a * np.sin((h + 1) * phase)
        for h, a in enumerate(TONE_HARMONICS)
        if a and (h + 1) * top < SR / 2
    )
    return x / np.max(np.abs(x))


@dataclass
class Scene:
    """One clip's soundtrack on the video's timeline and the cue its video shows."""

    audio: np.ndarray  # float64, shape (n_frames * SAMPLES_PER_FRAME,)
    cue: np.ndarray  # per frame, meaning depends on the action (see the draw_* functions)
    note: str


def hammering(clip: Clip, rng: np.random.Generator, n: int) -> Scene:
    # blows per second: one of eight 0.25-wide strata of 2-4 per clip (in a shuffled order)
    rate = 2.0 + 0.25 * (clip.number * 3 % 8) + rng.uniform(0.0, 0.25)
    first = rng.uniform(0.1, 0.35)
    hits = first + np.cumsum(np.r_[0, rng.normal(1 / rate, 0.08 / rate, 20)])
    hits = hits[hits < n / SR - 0.05]
    ring = tuple(rng.uniform(1800, 4200, 3))
    decay = rng.uniform(0.02, 0.07)
    x = np.zeros(n + SR)
    for h in hits:
        i = round(h * SR)
        blow = hammer_blow(rng, ring, decay) * _db(rng.uniform(-3, 3))
        x[i : i + len(blow)] += blow
    x = x[:n]
    note = (
        f"{len(hits)} blows at {rate:.2f}/s from {first:.2f} s, ring "
        f"{'/'.join(f'{f:.0f}' for f in ring)} Hz decaying in {1000 * decay:.0f} ms"
    )
    if rng.random() < CONFUSER_P:  # a confusing background: someone talking in the workshop
        speech, s_start = excerpt(rng, SPEECH, n)
        x = x + speech * _db(rng.uniform(-16, -10)) * _rms(x) / _rms(speech)
        note += f", faint speech from {s_start:.2f} s"
    # cue: hammer height per frame, 0 at a blow, 1 at the top of the swing; a slow lift
    # over 70 % of the time between blows, then a fast fall
    t = np.arange(clip.n_frames) / FPS
    edges = np.r_[hits[0] - 1 / rate, hits, hits[-1] + 1 / rate]
    k = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2)
    phase = np.clip((t - edges[k]) / (edges[k + 1] - edges[k]), 0.0, 1.0)
    cue = np.where(
        phase < 0.7, np.sin(np.pi / 2 * phase / 0.7), np.cos(np.pi / 2 * (phase - 0.7) / 0.3)
    )
    return Scene(x, cue, note)


def alarm(clip: Clip, rng: np.random.Generator, n: int) -> Scene:
    t = np.arange(n) / SR
    if rng.random() < 0.5:
        f_hi = rng.uniform(650, 1300)
        f_lo = f_hi * rng.uniform(0.7, 0.85)
        half = rng.uniform(0.25, 0.6)
        state = ((t + rng.uniform(0, half)) // half) % 2 == 0
        x = tone(np.where(state, f_hi, f_lo))
        note = f"two-tone siren {f_hi:.0f}/{f_lo:.0f} Hz, {half:.2f} s each"
    else:
        f = rng.uniform(1400, 3200)
        on, off = rng.uniform(0.08, 0.25), rng.uniform(0.08, 0.3)
        state = ((t - rng.uniform(0, 0.2)) % (on + off)) < on
        x = tone(np.full(n, f)) * np.convolve(state, np.hanning(81) / 40.5, mode="same")
        note = f"beeps at {f:.0f} Hz, {1000 * on:.0f} ms on / {1000 * off:.0f} ms off"
    # cue: 1 while the high tone (or a beep) sounds, else 0
    cue = state.reshape(-1, SAMPLES_PER_FRAME).mean(axis=1)
    return Scene(x, cue, note)


def talking(clip: Clip, rng: np.random.Generator, n: int) -> Scene:
    x, start = excerpt(rng, SPEECH, n)
    cue = envelope(x)
    note = f"LibriSpeech 198-209-0000 from {start:.2f} s"
    if rng.random() < CONFUSER_P:  # a confusing background: music far away
        music, m_start = excerpt(rng, JAZZ, n)
        x = x + music * _db(rng.uniform(-18, -12)) * _rms(x) / _rms(music)
        note += f", faint jazz from {m_start:.2f} s"
    return Scene(x, cue, note)


def playing_music(clip: Clip, rng: np.random.Generator, n: int) -> Scene:
    source, name = (JAZZ, "'Vibe Ace'") if clip.number % 2 else (ORCHESTRA, "Brahms HD 5")
    x, start = excerpt(rng, source, n)
    cue = envelope(x)
    note = f"{name} from {start:.2f} s"
    if rng.random() < CONFUSER_P:  # a confusing background: someone talking
        speech, s_start = excerpt(rng, SPEECH, n)
        x = x + speech * _db(rng.uniform(-16, -10)) * _rms(x) / _rms(speech)
        note += f", faint speech from {s_start:.2f} s"
    return Scene(x, cue, note)


SCENES: dict[str, Callable[[Clip, np.random.Generator, int], Scene]] = {
    "hammering": hammering,
    "alarm": alarm,
    "talking": talking,
    "playing_music": playing_music,
}


def scene(clip: Clip) -> Scene:
    """The clip's soundtrack (room tone added, levelled, on the video timeline) and cue."""
    rng = clip.rng(0)
    n = clip.n_frames * SAMPLES_PER_FRAME
    s = SCENES[clip.action](clip, rng, n)
    snr = rng.uniform(8, 30)
    x = s.audio + pink_noise(rng, n) * _rms(s.audio) * _db(-snr)
    x *= _db(rng.uniform(-32, -16)) / _rms(x)
    peak = np.max(np.abs(x))
    if peak > MAX_PEAK:
        x *= MAX_PEAK / peak
    level = 20 * np.log10(_rms(x))
    return Scene(x, s.cue, f"{s.note}; room tone at {snr:.0f} dB SNR; {level:.0f} dBFS RMS")


# --------------------------------------------------------------------------- pictures

_YY, _XX = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)


def _box(y0: float, y1: float, x0: float, x1: float) -> np.ndarray:
    """Coverage (0..1) of an axis-aligned box, with one-pixel soft edges."""
    d = np.minimum(np.minimum(_YY - y0, y1 - _YY), np.minimum(_XX - x0, x1 - _XX))
    return np.clip(d + 0.5, 0.0, 1.0)


def _disc(cy: float, cx: float, r: float) -> np.ndarray:
    return np.clip(r - np.hypot(_YY - cy, _XX - cx) + 0.5, 0.0, 1.0)


def _segment(p: tuple[float, float], q: tuple[float, float], width: float) -> np.ndarray:
    (py, px), (qy, qx) = p, q
    dy, dx = qy - py, qx - px
    u = np.clip(((_YY - py) * dy + (_XX - px) * dx) / (dy * dy + dx * dx), 0.0, 1.0)
    return np.clip(width / 2 - np.hypot(_YY - py - u * dy, _XX - px - u * dx) + 0.5, 0.0, 1.0)


def _paint(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    img *= 1.0 - alpha[..., None]
    img += alpha[..., None] * colour


def _colour(rng: np.random.Generator, lo: float = 40, hi: float = 210) -> np.ndarray:
    return rng.uniform(lo, hi, 3)


def backdrop(rng: np.random.Generator, n_frames: int) -> tuple[np.ndarray, Callable]:
    """Frames of a muted background with slowly drifting blotches (the same for every
    action), and a function that adds a distractor and camera shake to a finished frame."""
    base = rng.uniform(60, 170) + rng.uniform(-25, 25, 3)
    amp = rng.uniform(6, 22)
    coarse = np.empty((n_frames, 5, 7, 3))
    coarse[0] = rng.standard_normal((5, 7, 3))
    for i in range(1, n_frames):  # AR(1) in time: blotches drift slowly
        coarse[i] = 0.92 * coarse[i - 1] + 0.39 * rng.standard_normal((5, 7, 3))
    ys, xs = np.linspace(0, 4, HEIGHT), np.linspace(0, 6, WIDTH)
    y0, x0 = np.minimum(ys.astype(int), 3), np.minimum(xs.astype(int), 5)
    wy, wx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    frames = base + amp * (
        coarse[:, y0][:, :, x0] * (1 - wy) * (1 - wx)
        + coarse[:, y0 + 1][:, :, x0] * wy * (1 - wx)
        + coarse[:, y0][:, :, x0 + 1] * (1 - wy) * wx
        + coarse[:, y0 + 1][:, :, x0 + 1] * wy * wx
    )
    blob = rng.random() < 0.5
    blob_colour, blob_r = _colour(rng), rng.uniform(4, 9)
    start, velocity = rng.uniform((0, 0), (HEIGHT, WIDTH)), rng.normal(0, 0.4, 2)
    shake = rng.integers(-1, 2, (n_frames, 2)) * (rng.random() < 0.4)

    def finish(img: np.ndarray, i: int) -> np.ndarray:
        if blob:
            cy, cx = (start + velocity * i) % (HEIGHT, WIDTH)
            _paint(img, 0.8 * _disc(cy, cx, blob_r), blob_colour)
        return np.roll(img, tuple(shake[i]), axis=(0, 1))

    return frames, finish


def draw_hammering(rng: np.random.Generator, cue: np.ndarray, frames: np.ndarray) -> None:
    x = rng.uniform(25, 70)
    anvil_top = rng.uniform(44, 52)
    swing = rng.uniform(16, 30)
    metal, wood, anvil = _colour(rng, 20, 90), _colour(rng, 90, 200), _colour(rng, 30, 110)
    for img, up in zip(frames, cue, strict=True):
        _paint(img, _box(anvil_top, anvil_top + 8, x - 14, x + 14), anvil)
        head = anvil_top - 4 - swing * up  # the head's centre; it touches the anvil at 0
        _paint(img, _segment((head, x), (head + 3, x + 26), 3), wood)
        _paint(img, _box(head - 4, head + 4, x - 7, x + 7), metal)


def draw_alarm(rng: np.random.Generator, cue: np.ndarray, frames: np.ndarray) -> None:
    cy, cx, r = rng.uniform(18, 46), rng.uniform(20, 76), rng.uniform(7, 13)
    on = np.array([rng.uniform(200, 255), rng.uniform(0, 80), rng.uniform(0, 60)])
    off = on[::-1] * rng.uniform(0.3, 0.9) if rng.random() < 0.5 else on * 0.25
    strength = rng.uniform(0.5, 1.0)
    for img, c in zip(frames, cue, strict=True):
        glow = np.clip(1.4 - np.hypot(_YY - cy, _XX - cx) / (2.2 * r), 0, 1) * c * strength
        _paint(img, 0.5 * glow, on)
        _paint(img, _box(cy + r, cy + r + 5, cx - r, cx + r), np.array([60.0, 60.0, 60.0]))
        _paint(img, _disc(cy, cx, r), off + (on - off) * c * strength)


def draw_talking(rng: np.random.Generator, cue: np.ndarray, frames: np.ndarray) -> None:
    cy, cx = rng.uniform(26, 38), rng.uniform(28, 68)
    ry, rx = rng.uniform(17, 22), rng.uniform(12, 16)
    shade = rng.uniform()  # from dark to light skin, a little off either way
    skin = (1 - shade) * np.array([95, 60, 40]) + shade * np.array([240, 200, 170])
    skin = skin + rng.uniform(-15, 15, 3)
    lips = skin * rng.uniform(0.3, 0.6)
    sway = rng.uniform(0, 2.5) * np.sin(np.arange(len(frames)) / FPS * rng.uniform(1, 3))
    strength = rng.uniform(0.5, 1.0)
    for img, c, dx in zip(frames, cue, sway, strict=True):
        face = np.clip(1 - np.hypot((_YY - cy) / ry, (_XX - cx - dx) / rx), 0, 1) * 8
        _paint(img, np.clip(face, 0, 1), skin)
        for ex in (-rx / 2.5, rx / 2.5):
            _paint(img, _disc(cy - ry / 3, cx + dx + ex, 1.6), np.array([30.0, 30.0, 40.0]))
        open_ = 0.8 + 5 * c * strength
        mouth = np.hypot((_YY - cy - ry / 2.5) / open_, (_XX - cx - dx) / (rx / 2.2)) < 1
        _paint(img, mouth.astype(float), lips)


def draw_playing_music(rng: np.random.Generator, cue: np.ndarray, frames: np.ndarray) -> None:
    cy, cx, r = rng.uniform(24, 40), rng.uniform(20, 44), rng.uniform(12, 17)
    speed = rng.uniform(0.5, 1.5) * rng.choice((-1, 1))  # turns per second
    disc, label = _colour(rng, 10, 60), _colour(rng, 120, 240)
    bars_x = rng.uniform(cx + r + 6, WIDTH - 22) + np.arange(4) * 5
    bar_colour = _colour(rng, 80, 240)
    gains = rng.uniform(0.5, 1.0, 4)
    for i, (img, c) in enumerate(zip(frames, cue, strict=True)):
        _paint(img, _disc(cy, cx, r), disc)
        _paint(img, _disc(cy, cx, r / 3), label)
        angle = 2 * np.pi * speed * i / FPS
        tip = (cy + 0.9 * r * np.sin(angle), cx + 0.9 * r * np.cos(angle))
        _paint(img, _segment((cy, cx), tip, 1.5), label)
        for x, g in zip(bars_x, gains, strict=True):
            top = 58 - 40 * c * g
            _paint(img, _box(top, 58, x, x + 3.5), bar_colour)


DRAW = {
    "hammering": draw_hammering,
    "alarm": draw_alarm,
    "talking": draw_talking,
    "playing_music": draw_playing_music,
}


def video_frames(clip: Clip, cue: np.ndarray) -> np.ndarray:
    """The clip's frames, uint8, shape (n_frames, HEIGHT, WIDTH, 3), RGB."""
    rng = clip.rng(1)
    frames, finish = backdrop(rng, clip.n_frames)
    DRAW[clip.action](rng, cue, frames)
    out = np.stack([finish(img, i) for i, img in enumerate(frames)])
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- writing mp4


def track_for(clip: Clip, audio: np.ndarray) -> tuple[np.ndarray, int] | None:
    """What goes into the audio stream: samples and the pts (1/SR) of the first one."""
    if clip.audio == "none":
        return None
    if clip.audio == "silent":
        return np.zeros_like(audio), 0
    if clip.audio == "short":
        return _fade(audio[: round(SHORT_AUDIO_S * SR)]), 0
    if clip.audio == "offset":
        # The encoder's first packet (its priming) lands at OFFSET_S; the signal follows
        # AAC_PRIMING samples later, where it belongs on the video's timeline.
        start = OFFSET_SAMPLES + AAC_PRIMING
        return _fade(audio[start:]), start
    return audio, 0


def write_mp4(path: Path, frames: np.ndarray, track: tuple[np.ndarray, int] | None) -> None:
    """H.264 video and, when ``track`` is given, an AAC stream whose first sample has pts
    ``track[1]`` (1/SR); packets are muxed in time order."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS, options=dict(X264_OPTIONS))
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        if track is not None:
            audio = container.add_stream("aac", rate=SR, layout="mono")
            audio.bit_rate = AUDIO_BITRATE
        packets = []
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            packets += video.encode(frame)
        packets += video.encode(None)
        if track is not None:
            samples, pts0 = track
            pcm = samples.astype(np.float32)[None]
            first = len(packets)
            for start in range(0, pcm.shape[1], AAC_PRIMING):
                block = pcm[:, start : start + AAC_PRIMING]
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = SR, pts0 + start
                frame.time_base = Fraction(1, SR)
                packets += audio.encode(frame)
            packets += audio.encode(None)
            got = packets[first].pts
            if got != pts0 - AAC_PRIMING:  # the priming this script assumes
                raise SystemExit(f"{path}: first AAC packet at pts {got}, not {pts0 - AAC_PRIMING}")
        packets.sort(key=lambda p: (p.dts * p.time_base, p.stream.index))
        for packet in packets:
            container.mux(packet)


# --------------------------------------------------------------------------- stand-in features


def video_features(ids: list[str], actions: list[str]) -> np.ndarray:
    """Synthetic per-clip "video model" features, float32, shape (n_clips, FEATURE_DIM).

    Class means lie ``FEATURE_SEPARATION`` noise SDs from the origin along orthonormal
    directions, except that ``playing_music`` shares 60 % of its direction with ``talking``
    (people talking and people playing look alike); unit Gaussian noise is added.
    """
    rng = np.random.default_rng([SEED, 7])
    q, _ = np.linalg.qr(rng.standard_normal((FEATURE_DIM, len(ACTIONS))))
    u = q.T
    directions = np.stack([u[0], u[1], u[2], 0.6 * u[2] + 0.8 * u[3]])
    means = FEATURE_SEPARATION * directions
    y = np.array([ACTIONS.index(a) for a in actions])
    return (means[y] + rng.standard_normal((len(ids), FEATURE_DIM))).astype(np.float32)


def probe_accuracy(features: np.ndarray, actions: list[str], folds: list[int]) -> float:
    """Leave-one-fold-out accuracy of StandardScaler + LogisticRegression (C=1)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y, f = np.array(actions), np.array(folds)
    correct = 0
    for fold in np.unique(f):
        test = f == fold
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
        model.fit(features[~test], y[~test])
        correct += int(np.sum(model.predict(features[test]) == y[test]))
    return correct / len(y)


# --------------------------------------------------------------------------- the dataset


def _note(clip: Clip, sound: str) -> str:
    """The manifest's note: the special case first, then what the soundtrack is."""
    priming_end = (OFFSET_SAMPLES + AAC_PRIMING) / SR
    return {
        "track": sound,
        "none": f"no audio stream (video only); the scene's sound, not in the file: {sound}",
        "offset": (
            f"audio stream starts {OFFSET_S} s after the video and ends with it; its first "
            f"{AAC_PRIMING} samples are AAC priming (near silence), the sound from "
            f"{priming_end:.3f} s on the video's timeline: {sound}"
        ),
        "silent": f"audio track of digital zeros, in place of: {sound}",
        "short": f"audio track only {SHORT_AUDIO_S:g} s long (the video {clip.duration_s:g} s): "
        f"{sound}",
    }[clip.audio]


def manifest_text(all_clips: list[Clip], scenes: list[Scene]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for clip, s in zip(all_clips, scenes, strict=True):
        offset = clip.audio_offset_s
        writer.writerow(
            [
                clip.file,
                clip.clip_id,
                clip.action,
                clip.fold,
                clip.audio,
                "" if offset is None else f"{offset:g}",
                f"{clip.duration_s:g}",
                FPS,
                _note(clip, s.note),
            ]
        )
    return buf.getvalue()


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    all_clips = clips()
    scenes = []
    for clip in all_clips:
        s = scene(clip)
        scenes.append(s)
        write_mp4(out / clip.file, video_frames(clip, s.cue), track_for(clip, s.audio))
    (out / "manifest.csv").write_text(manifest_text(all_clips, scenes), encoding="utf-8")
    ids = [c.clip_id for c in all_clips]
    actions = [c.action for c in all_clips]
    features = video_features(ids, actions)
    np.savez_compressed(out / "video_features.npz", clip_id=np.array(ids), features=features)
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    log.info(
        "wrote %d clips, manifest.csv and video_features.npz to %s (%.0f KiB in all)",
        len(all_clips),
        out,
        total / 1024,
    )
    accuracy = probe_accuracy(features, actions, [c.fold for c in all_clips])
    log.info("linear probe on video_features alone, leave-one-fold-out: %.3f", accuracy)


# --------------------------------------------------------------------------- checking


@dataclass
class Decoded:
    """What PyAV reports for one file."""

    video_streams: int
    audio_streams: int
    frame_rate: Fraction | None
    n_frames: int
    video_duration_s: float
    size: tuple[int, int]
    audio_start_s: float | None = None  # the stream's start_time
    first_audio_frame_s: float | None = None  # the first decoded frame's .time
    audio_end_s: float | None = None  # first frame's time + decoded samples / rate
    audio_samples: int = 0
    audio_peak: float = 0.0


def decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        v = container.streams.video[0]
        audio = list(container.streams.audio)
        got = Decoded(
            len(container.streams.video),
            len(audio),
            v.average_rate,
            0,
            float(v.duration * v.time_base),
            (v.width, v.height),
        )
        got.n_frames = sum(1 for _ in container.decode(v))
    if audio:
        with av.open(str(path)) as container:
            a = container.streams.audio[0]
            got.audio_start_s = float(a.start_time * a.time_base)
            rate = a.codec_context.sample_rate
            for frame in container.decode(a):
                if got.first_audio_frame_s is None:
                    got.first_audio_frame_s = float(frame.time)
                pcm = frame.to_ndarray()
                got.audio_samples += pcm.shape[-1]
                got.audio_peak = max(got.audio_peak, float(np.max(np.abs(pcm))))
            got.audio_end_s = got.first_audio_frame_s + got.audio_samples / rate
    return got


def check_clip(out: Path, row: dict[str, str]) -> list[str]:
    """Decoded properties of one file against its manifest row."""
    path = out / row["path"]
    if not path.is_file():
        return [f"{path}: missing"]
    try:
        got = decode(path)
    except (av.FFmpegError, OSError, IndexError) as e:
        return [f"{path}: does not decode with PyAV ({e})"]
    problems = []
    status, duration, fps = row["audio"], float(row["true_video_duration_s"]), int(row["true_frame_rate"])
    want_audio = 0 if status == "none" else 1
    if (got.video_streams, got.audio_streams) != (1, want_audio):
        problems.append(
            f"{path}: {got.video_streams} video and {got.audio_streams} audio "
            f"streams; want 1 and {want_audio}"
        )
    if got.frame_rate != fps or got.size != (WIDTH, HEIGHT):
        problems.append(f"{path}: {got.frame_rate} fps, {got.size}; want {fps}, {(WIDTH, HEIGHT)}")
    want_frames = round(duration * fps)
    if got.n_frames != want_frames or abs(got.video_duration_s - duration) > 0.5 / fps:
        problems.append(
            f"{path}: {got.n_frames} frames, {got.video_duration_s:.3f} s; want "
            f"{want_frames}, {duration:g} s"
        )
    if not want_audio or got.audio_streams == 0:
        return problems
    offset = float(row["true_audio_offset_s"])
    for what, value in (
        ("start_time", got.audio_start_s),
        ("first decoded frame", got.first_audio_frame_s),
    ):
        if value is None or abs(value - offset) > 0.5 / SR:
            problems.append(f"{path}: audio {what} at {value} s; want {offset:g} s")
    end = SHORT_AUDIO_S if status == "short" else duration
    # AAC decodes whole 1024-sample frames: up to one frame more than was encoded
    if got.audio_end_s is not None and not end <= got.audio_end_s <= end + AAC_PRIMING / SR:
        problems.append(
            f"{path}: audio ends at {got.audio_end_s:.3f} s; want {end:g} s "
            f"(+ up to {AAC_PRIMING} samples of AAC padding)"
        )
    silent = got.audio_peak < SILENCE_PEAK
    if silent != (status == "silent"):
        state = "silent" if silent else "not silent"
        problems.append(f"{path}: audio peak {got.audio_peak:.2g}, {state}; audio is '{status}'")
    return problems


def check_load_audio(out: Path, row: dict[str, str]) -> list[str]:
    """What asttools.load_audio makes of the file: a waveform, or 'no audio stream'."""
    from asttools import AudioError
    from asttools.audio import load_audio

    path, status = out / row["path"], row["audio"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            wav, sr = load_audio(path)
        except AudioError as e:
            if status == "none" and "no audio stream" in str(e):
                return []
            return [f"{path}: load_audio raised {e}; audio is '{status}'"]
    if status == "none":
        return [
            f"{path}: load_audio returned {wav.shape} samples; want AudioError 'no audio stream'"
        ]
    warned = any("silent" in str(w.message) for w in caught)
    if warned != (status == "silent"):
        said = "warned" if warned else "did not warn"
        return [f"{path}: load_audio {said} that it is silent; audio is '{status}'"]
    log.debug("%s: load_audio -> %d samples at %d Hz", path.name, len(wav), sr)
    return []


def check(out: Path) -> list[str]:
    """What in ``out`` differs from the manifest (decoded files) or a fresh generation."""
    all_clips = clips()
    manifest = out / "manifest.csv"
    want = manifest_text(all_clips, [scene(c) for c in all_clips])
    if not manifest.is_file():
        return [f"{manifest}: missing"]
    text = manifest.read_text(encoding="utf-8")
    problems = [] if text == want else [f"{manifest}: out of date"]
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != MANIFEST_COLUMNS:
        return problems + [f"{manifest}: columns are not {', '.join(MANIFEST_COLUMNS)}"]
    for row in rows:
        if row["audio"] not in AUDIO_STATUSES:
            problems.append(
                f"{manifest}: {row['clip_id']}: audio '{row['audio']}' not in {AUDIO_STATUSES}"
            )
            continue
        try:
            found = check_clip(out, row)
        except (KeyError, ValueError) as e:
            problems.append(f"{manifest}: {row.get('clip_id')}: unreadable row ({e!r})")
            continue
        problems += found or check_load_audio(out, row)
    npz = out / "video_features.npz"
    ids = [c.clip_id for c in all_clips]
    fresh = video_features(ids, [c.action for c in all_clips])
    try:
        with np.load(npz) as stored:
            same = stored["clip_id"].tolist() == ids and np.allclose(
                stored["features"], fresh, atol=1e-6
            )
    except (OSError, KeyError, ValueError) as e:
        problems.append(f"{npz}: unreadable ({e})")
    else:
        if not same:
            problems.append(f"{npz}: clip ids or features differ from a fresh generation")
    expected = {r["path"] for r in rows} | {"manifest.csv", "video_features.npz", "README.md"}
    for name in sorted(p.name for p in out.iterdir()):
        if name not in expected:
            problems.append(f"{out / name}: not made by this script")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--check", action="store_true", help="verify the folder instead of writing; exit 1 if off"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        problems = check(args.out)
        for problem in problems:
            log.error(problem)
        if not problems:
            log.info("%s: all %d clips decode as the manifest says", args.out, len(clips()))
        return 1 if problems else 0
    write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
