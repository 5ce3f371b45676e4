"""Load spoken queries (WAV/FLAC/MP3/anything ffmpeg reads) as 16 kHz mono float32 arrays."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from math import gcd
from pathlib import Path

import numpy as np

from arenalens.paths import HEADER_BYTES, audio_duration_s
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


def pcm16_wav(pcm: bytes, sample_rate: int) -> bytes:
    """Mono 16-bit little-endian PCM samples as a WAV file's bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm[: len(pcm) - len(pcm) % 2])
    return buffer.getvalue()


def _is_mp3(header: bytes) -> bool:
    # an ID3v2 tag, or an MPEG frame sync with a layer set (ADTS AAC has layer 0)
    return header.startswith(b"ID3") or (
        len(header) >= 2 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0 and header[1] & 0x06
    )


def audio_for_upload(path: str | Path) -> tuple[bytes, str]:
    """A query's audio as an OpenAI-compatible endpoint takes it (`input_audio`): the file's
    bytes and 'wav' or 'mp3' when it is one of those, else decoded (`load_audio`) and sent as
    16 kHz 16-bit WAV; AudioError when it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"{path}: cannot read the audio file ({exc.strerror or exc})") from exc
    header = data[:HEADER_BYTES]
    if header[:4] == b"RIFF" and header[8:12] == b"WAVE":
        return data, "wav"
    if _is_mp3(header):
        return data, "mp3"
    samples = load_audio(path)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return pcm16_wav(pcm, SAMPLE_RATE), "wav"


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
