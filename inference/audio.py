"""Load spoken queries (WAV/FLAC/MP3/anything ffmpeg reads) as 16 kHz mono float32 arrays."""

from __future__ import annotations

import shutil
import subprocess
from math import gcd
from pathlib import Path

import numpy as np

from arenalens.paths import audio_duration_s
from inference.errors import AudioError

SAMPLE_RATE = 16_000


def resample(samples: np.ndarray, source_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (band-limited, no aliasing) between integer sample rates."""
    if source_rate == target_rate:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    divisor = gcd(int(source_rate), int(target_rate))
    up, down = int(target_rate) // divisor, int(source_rate) // divisor
    return resample_poly(samples, up, down).astype(np.float32)


def _read_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return samples, int(rate)


def _read_with_pyav(path: Path, target_rate: int) -> tuple[np.ndarray, int]:
    from faster_whisper.audio import decode_audio

    return decode_audio(str(path), sampling_rate=target_rate)[:, None], target_rate


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file as mono float32 at `sample_rate`; AudioError when missing, unreadable or empty."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        samples, rate = _read_with_soundfile(path)
    except Exception as first_exc:  # libsndfile refused it: try PyAV (ffmpeg) before giving up
        try:
            samples, rate = _read_with_pyav(path, sample_rate)
            if samples.size == 0:
                raise ValueError("ffmpeg decoded no samples")
        except Exception as exc:
            raise AudioError(
                f"{path}: unreadable audio (expected WAV, FLAC, MP3 or another format ffmpeg "
                f"decodes): {first_exc}; {exc}"
            ) from exc
    if samples.size == 0:
        raise AudioError(f"{path}: empty audio (0 samples)")
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if not np.any(np.abs(mono) > 1e-6):
        raise AudioError(f"{path}: empty audio (only silence, {len(mono) / rate:.2f} s)")
    return resample(mono, rate, sample_rate)


def audio_duration(path: str | Path) -> float | None:
    """Duration in seconds: from the header (`arenalens.paths.audio_duration_s`), else by
    decoding the file; None when it cannot be read."""
    seconds = audio_duration_s(path)
    if seconds is not None:
        return seconds
    try:
        return len(load_audio(path)) / SAMPLE_RATE
    except AudioError:
        return None


def espeak_available() -> bool:
    """Whether the `espeak-ng` synthesiser (Debian package espeak-ng) is on PATH."""
    return shutil.which("espeak-ng") is not None


def synthesize_speech(
    text: str, path: str | Path, voice: str = "en-us", words_per_minute: int = 160
) -> Path:
    """Write `text` spoken by espeak-ng to a WAV file (for tests and the sample arena)."""
    if not espeak_available():
        raise AudioError("espeak-ng is not installed (apt-get install espeak-ng)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), "--", text],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 or not path.is_file():
        raise AudioError(f"espeak-ng failed for {text[:40]!r}: {result.stderr.strip()}")
    return path
