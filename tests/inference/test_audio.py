"""Audio loading: formats, resampling, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from inference.audio import SAMPLE_RATE, audio_duration, load_audio, resample
from inference.errors import AudioError


def _tone(rate: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    time = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * time)).astype(np.float32)


def _peak_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3"])
def test_load_audio_reads_format_as_16k_mono(tmp_path: Path, suffix: str) -> None:
    stereo = np.stack([_tone(44_100), _tone(44_100)], axis=1)
    path = tmp_path / f"tone.{suffix}"
    soundfile.write(path, stereo, 44_100)
    samples = load_audio(path)
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) - SAMPLE_RATE) < 0.03 * SAMPLE_RATE  # mp3 adds encoder padding
    assert abs(_peak_frequency(samples, SAMPLE_RATE) - 440.0) < 3.0


def test_resample_keeps_pitch_and_duration() -> None:
    out = resample(_tone(22_050, 2.0, 1000.0), 22_050, 16_000)
    assert len(out) == 32_000
    assert abs(_peak_frequency(out, 16_000) - 1000.0) < 2.0


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "absent.wav")


def test_garbage_file_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF....not audio at all" * 10)
    with pytest.raises(AudioError, match=r"broken\.wav: unreadable audio"):
        load_audio(path)


def test_zero_length_and_silent_files_are_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 16_000)
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(16_000, dtype=np.float32), 16_000)
    with pytest.raises(AudioError, match="empty audio"):
        load_audio(empty)
    with pytest.raises(AudioError, match="only silence"):
        load_audio(silent)
    assert audio_duration(silent) == pytest.approx(1.0)
