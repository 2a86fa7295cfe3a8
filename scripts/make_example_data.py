"""Generate the bundled example dataset in ``data/example/``.

Synthetic clips whose AudioSet class is unambiguous (sine waves, noises, chirps, sirens,
clicks, beeps, silence), three per class at different frequencies / seeds / lengths, written
as 16 kHz mono PCM_16 WAV, plus ``manifest.csv`` that also lists the four real recordings in
``data/samples/`` (by relative path; they are not copied).

Deterministic and idempotent: every random signal comes from a seeded
``numpy.random.default_rng``, samples are rounded to int16 here (not by libsndfile), and a
second run rewrites the same bytes. Needs numpy and soundfile only.

Usage::

    python scripts/make_example_data.py            # (re)write data/example/
    python scripts/make_example_data.py --check    # exit 1 if data/example/ is out of date
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "data" / "example"
CLASS_TABLE = ROOT / "asttools" / "data" / "class_labels_indices.csv"
MANIFEST_COLUMNS = ("path", "label", "mids", "source", "fold", "description")
N_FOLDS = 5

log = logging.getLogger("make_example_data")


# --------------------------------------------------------------------------- signals


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(round(seconds * SR))) / SR


def _fade(x: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    """Raised-cosine fade in and out, so clip edges do not click."""
    n = min(int(seconds * SR), len(x) // 2)
    if n == 0:
        return x
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    x = x.copy()
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


def _rms(x: np.ndarray, level: float) -> np.ndarray:
    return x * (level / np.sqrt(np.mean(x**2)))


def sine(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    return _fade(amp * np.sin(2 * np.pi * freq * _t(seconds)))


def white_noise(seed: int, seconds: float, rms: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return _fade(_rms(rng.standard_normal(len(_t(seconds))), rms))


def pink_noise(seed: int, seconds: float, rms: float) -> np.ndarray:
    """Gaussian noise shaped to a 1/f power spectrum (-3 dB per octave) in the frequency domain."""
    rng = np.random.default_rng(seed)
    n = len(_t(seconds))
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    return _fade(_rms(np.fft.irfft(spectrum, n), rms))


def chirp(f0: float, f1: float, seconds: float, *, kind: str, amp: float = 0.5) -> np.ndarray:
    """A swept sine: ``kind`` "linear" or "exponential" (constant octaves per second)."""
    t = _t(seconds)
    if kind == "linear":
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    else:
        k = np.log(f1 / f0) / seconds
        phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    return _fade(amp * np.sin(phase))


def _tone_from_freq(freq: np.ndarray, harmonics: tuple[float, ...]) -> np.ndarray:
    """A tone following the instantaneous frequency ``freq`` (Hz, per sample), with harmonics."""
    phase = 2 * np.pi * np.cumsum(freq) / SR
    x = sum(a * np.sin((h + 1) * phase) for h, a in enumerate(harmonics))
    return x / np.max(np.abs(x))


SIREN_HARMONICS = (1.0, 0.0, 0.35, 0.0, 0.15)  # odd harmonics: the horn-like timbre


def siren_wail(seconds: float, lo: float, hi: float, period: float) -> np.ndarray:
    """Slow up-and-down sweep between ``lo`` and ``hi`` Hz (an emergency-vehicle "wail")."""
    t = _t(seconds)
    freq = lo + (hi - lo) * 0.5 * (1 - np.cos(2 * np.pi * t / period))
    return _fade(0.5 * _tone_from_freq(freq, SIREN_HARMONICS))


def siren_yelp(seconds: float, lo: float, hi: float, period: float) -> np.ndarray:
    """Fast rising sweeps from ``lo`` to ``hi`` Hz, repeating every ``period`` s ("yelp")."""
    t = _t(seconds)
    freq = lo + (hi - lo) * ((t / period) % 1.0)
    return _fade(0.5 * _tone_from_freq(freq, SIREN_HARMONICS))


def siren_two_tone(seconds: float, f_hi: float, f_lo: float, half_period: float) -> np.ndarray:
    """Two alternating pitches ("hi-lo"), as on European emergency vehicles."""
    t = _t(seconds)
    freq = np.where((t // half_period) % 2 == 0, f_hi, f_lo)
    return _fade(0.5 * _tone_from_freq(freq, SIREN_HARMONICS))


def click_train(seconds: float, *, rate: float, seed: int, regular: bool) -> np.ndarray:
    """Short decaying noise bursts (2 ms), at a fixed rate or at Poisson times."""
    rng = np.random.default_rng(seed)
    n = len(_t(seconds))
    if regular:
        onsets = np.arange(0.05, seconds - 0.01, 1 / rate)
    else:
        gaps = rng.exponential(1 / rate, size=int(seconds * rate * 3))
        onsets = 0.05 + np.cumsum(gaps)
        onsets = onsets[onsets < seconds - 0.01]
    burst_n = int(0.002 * SR)
    envelope = np.exp(-np.arange(burst_n) / (burst_n / 5))
    x = np.zeros(n)
    for onset in onsets:
        i = int(onset * SR)
        x[i : i + burst_n] += 0.8 * envelope * rng.uniform(-1, 1, burst_n)
    x += 1e-3 * rng.standard_normal(n)  # a faint noise floor between clicks
    return x


def beeps(seconds: float, freq: float, on: float, off: float, *, group: int = 0) -> np.ndarray:
    """Tone bursts of ``on`` s every ``on + off`` s; with ``group`` > 0, ``group`` beeps then
    a pause of one second."""
    t = _t(seconds)
    x = np.zeros_like(t)
    start, count = 0.1, 0
    while start + on < seconds:
        i0, i1 = int(start * SR), int((start + on) * SR)
        x[i0:i1] = _fade(0.5 * np.sin(2 * np.pi * freq * t[: i1 - i0]), 0.005)
        count += 1
        start += on + off
        if group and count % group == 0:
            start += 1.0
    return x


def silence(seconds: float, *, rms: float = 0.0, seed: int = 0) -> np.ndarray:
    n = len(_t(seconds))
    if rms == 0.0:
        return np.zeros(n)
    return _rms(np.random.default_rng(seed).standard_normal(n), rms)


# --------------------------------------------------------------------------- the dataset


@dataclass(frozen=True)
class Clip:
    file: str
    label: str  # AudioSet display names, ";"-separated
    description: str
    make: Callable[[], np.ndarray] | None = None  # None: a real recording, not generated


SYNTHETIC = [
    Clip("sine_440hz.wav", "Sine wave", "440 Hz sine, amplitude 0.5, 3 s",
         lambda: sine(440, 3.0)),
    Clip("sine_1000hz.wav", "Sine wave", "1000 Hz sine, amplitude 0.5, 2 s",
         lambda: sine(1000, 2.0)),
    Clip("sine_2500hz.wav", "Sine wave", "2500 Hz sine, amplitude 0.3, 4 s",
         lambda: sine(2500, 4.0, amp=0.3)),
    Clip("white_noise_seed1.wav", "White noise", "Gaussian white noise, RMS 0.2, seed 1, 3 s",
         lambda: white_noise(1, 3.0, 0.2)),
    Clip("white_noise_seed2.wav", "White noise", "Gaussian white noise, RMS 0.1, seed 2, 2 s",
         lambda: white_noise(2, 2.0, 0.1)),
    Clip("white_noise_seed3.wav", "White noise", "Gaussian white noise, RMS 0.15, seed 3, 4 s",
         lambda: white_noise(3, 4.0, 0.15)),
    Clip("pink_noise_seed1.wav", "Pink noise", "1/f (pink) noise, RMS 0.15, seed 1, 3 s",
         lambda: pink_noise(1, 3.0, 0.15)),
    Clip("pink_noise_seed2.wav", "Pink noise", "1/f (pink) noise, RMS 0.08, seed 2, 4 s",
         lambda: pink_noise(2, 4.0, 0.08)),
    Clip("pink_noise_seed3.wav", "Pink noise", "1/f (pink) noise, RMS 0.12, seed 3, 2 s",
         lambda: pink_noise(3, 2.0, 0.12)),
    Clip("chirp_linear_300_3000hz.wav", "Chirp tone",
         "linear up-sweep 300 to 3000 Hz, 2 s", lambda: chirp(300, 3000, 2.0, kind="linear")),
    Clip("chirp_exp_100_6000hz.wav", "Chirp tone",
         "exponential up-sweep 100 to 6000 Hz, 4 s",
         lambda: chirp(100, 6000, 4.0, kind="exponential")),
    Clip("chirp_down_5000_500hz.wav", "Chirp tone",
         "exponential down-sweep 5000 to 500 Hz, 3 s",
         lambda: chirp(5000, 500, 3.0, kind="exponential")),
    Clip("silence_digital.wav", "Silence", "digital silence (all samples zero), 2 s",
         lambda: silence(2.0)),
    Clip("silence_floor_60db.wav", "Silence",
         "near silence: white noise at -60 dBFS RMS, seed 1, 3 s",
         lambda: silence(3.0, rms=10 ** (-60 / 20), seed=1)),
    Clip("silence_floor_70db.wav", "Silence",
         "near silence: white noise at -70 dBFS RMS, seed 2, 4 s",
         lambda: silence(4.0, rms=10 ** (-70 / 20), seed=2)),
    Clip("siren_wail_12s.wav", "Siren",
         "wail: sweep 600-1400 Hz and back every 4 s, odd harmonics, 12 s (longer than one "
         "10.24 s AST window)", lambda: siren_wail(12.0, 600, 1400, 4.0)),
    Clip("siren_yelp.wav", "Siren",
         "yelp: rising sweeps 700-1600 Hz every 0.3 s, odd harmonics, 3 s",
         lambda: siren_yelp(3.0, 700, 1600, 0.3)),
    Clip("siren_two_tone.wav", "Siren",
         "two-tone hi-lo: 600/450 Hz alternating every 0.5 s, odd harmonics, 4 s",
         lambda: siren_two_tone(4.0, 600, 450, 0.5)),
    Clip("clicks_5hz.wav", "Clicking", "2 ms clicks at 5 per second, seed 1, 3 s",
         lambda: click_train(3.0, rate=5, seed=1, regular=True)),
    Clip("clicks_12hz.wav", "Clicking", "2 ms clicks at 12 per second, seed 2, 2 s",
         lambda: click_train(2.0, rate=12, seed=2, regular=True)),
    Clip("clicks_random.wav", "Clicking",
         "2 ms clicks at random (Poisson) times, 8 per second on average, seed 3, 4 s",
         lambda: click_train(4.0, rate=8, seed=3, regular=False)),
    Clip("beeps_1000hz.wav", "Beep, bleep", "1000 Hz beeps, 0.15 s on / 0.15 s off, 3 s",
         lambda: beeps(3.0, 1000, 0.15, 0.15)),
    Clip("beeps_2000hz_triple.wav", "Beep, bleep",
         "2000 Hz beeps in groups of three (0.1 s on / 0.1 s off, 1 s pause), 3 s",
         lambda: beeps(3.0, 2000, 0.1, 0.1, group=3)),
    Clip("beeps_800hz_slow.wav", "Beep, bleep", "800 Hz beeps, 0.4 s on / 0.6 s off, 3 s",
         lambda: beeps(3.0, 800, 0.4, 0.6)),
]  # fmt: skip

# Labels are what a listener hears (data/samples/ATTRIBUTION.md), not model outputs.
REAL = [
    Clip("../samples/bird_robin_inspectorj_456440.ogg",
         "Bird;Bird vocalization, bird call, bird song;Chirp, tweet",
         "one call of an English robin, 2.7 s, 44.1 kHz stereo (InspectorJ, freesound 456440, "
         "CC BY 3.0)"),
    Clip("../samples/music_kevin_macleod_vibe_ace.ogg", "Music;Jazz",
         "'Vibe Ace', a jazz piece by Kevin MacLeod, 61.5 s, 22.05 kHz mono (CC BY 3.0)"),
    Clip("../samples/orchestra_brahms_hungarian_dance_5.ogg",
         "Music;Orchestra;Bowed string instrument;Classical music",
         "Brahms, Hungarian Dance no. 5, US Army Strings, 45.8 s, 44.1 kHz stereo (Musopen, "
         "public domain)"),
    Clip("../samples/speech_librispeech_198-209-0000.ogg",
         "Speech;Female speech, woman speaking;Narration, monologue",
         "a woman reading Sense and Sensibility, 13.9 s, 22.05 kHz mono (LibriSpeech, "
         "CC BY 4.0)"),
]  # fmt: skip


def audioset_mids() -> dict[str, str]:
    """Display name -> mid, from the package's AudioSet class table."""
    with open(CLASS_TABLE, newline="", encoding="utf-8") as f:
        return {row["display_name"]: row["mid"] for row in csv.DictReader(f)}


def to_int16(x: np.ndarray) -> np.ndarray:
    """Round to 16-bit PCM here (scale 32767), so the bytes do not depend on libsndfile."""
    return np.round(np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)


def manifest_text() -> str:
    """The manifest as CSV text; folds go round-robin so each class spreads over folds."""
    mids = audioset_mids()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for i, clip in enumerate(SYNTHETIC + REAL):
        names = clip.label.split(";")
        unknown = [name for name in names if name not in mids]
        if unknown:
            raise SystemExit(f"{clip.file}: {unknown} not in {CLASS_TABLE.name}")
        writer.writerow(
            [
                clip.file,
                clip.label,
                ";".join(mids[name] for name in names),
                "synthetic" if clip.make is not None else "real",
                i % N_FOLDS + 1,
                clip.description,
            ]
        )
    return buf.getvalue()


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for clip in SYNTHETIC:
        path = out / clip.file
        x = clip.make()
        if np.max(np.abs(x)) > 1.0:
            log.warning("%s: clipped (peak %.2f)", clip.file, np.max(np.abs(x)))
        sf.write(path, to_int16(x), SR, subtype="PCM_16", format="WAV")
        total += path.stat().st_size
    (out / "manifest.csv").write_text(manifest_text(), encoding="utf-8")
    for clip in REAL:
        if not (out / clip.file).is_file():
            log.warning("%s: listed in the manifest but missing", (out / clip.file).resolve())
    log.info("wrote %d clips (%.2f MB) and manifest.csv to %s", len(SYNTHETIC), total / 1e6, out)


def check(out: Path) -> list[str]:
    """What in ``out`` differs from a fresh generation (1 LSB allowed for float rounding)."""
    problems = []
    for clip in SYNTHETIC:
        path = out / clip.file
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        data, sr = sf.read(path, dtype="int16")
        want = to_int16(clip.make())
        if sr != SR or data.shape != want.shape:
            problems.append(f"{path}: {sr} Hz, {data.shape} samples; want {SR} Hz, {want.shape}")
        elif np.max(np.abs(data.astype(np.int32) - want)) > 1:
            problems.append(f"{path}: samples differ from a fresh generation")
    manifest = out / "manifest.csv"
    if not manifest.is_file() or manifest.read_text(encoding="utf-8") != manifest_text():
        problems.append(f"{manifest}: missing or out of date")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--check", action="store_true", help="verify the folder instead of writing; exit 1 if stale"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        problems = check(args.out)
        for problem in problems:
            log.error(problem)
        if not problems:
            log.info("%s is up to date", args.out)
        return 1 if problems else 0
    write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
