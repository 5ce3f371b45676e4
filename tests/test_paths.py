"""Path confinement: user-supplied paths stay inside their root and audio must look like audio."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from arenalens.paths import (
    UnsafePathError,
    audio_header_ok,
    confine_audio,
    confine_path,
    is_audio_file,
)


def wav_bytes(samples: int = 160) -> bytes:
    """A minimal valid 16-bit mono PCM WAV."""
    data = b"\x00\x00" * samples
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "arena"
    (folder / "audio").mkdir(parents=True)
    (folder / "audio" / "q1.wav").write_bytes(wav_bytes())
    (tmp_path / "secret.wav").write_bytes(wav_bytes())
    return folder


def test_relative_path_inside_the_root_resolves(root: Path) -> None:
    assert confine_path("audio/q1.wav", root) == (root / "audio" / "q1.wav").resolve()
    assert confine_path("audio/../audio/q1.wav", root) == (root / "audio" / "q1.wav").resolve()


@pytest.mark.parametrize("path", ["../secret.wav", "../../../../etc/passwd", "/etc/passwd"])
def test_paths_leaving_the_root_are_refused(root: Path, path: str) -> None:
    with pytest.raises(UnsafePathError, match="outside the allowed folder"):
        confine_path(path, root)


def test_absolute_path_inside_the_root_is_accepted(root: Path) -> None:
    inside = (root / "audio" / "q1.wav").resolve()
    assert confine_path(str(inside), root) == inside


def test_symlink_escaping_the_root_is_refused(root: Path) -> None:
    (root / "audio" / "link.wav").symlink_to(root.parent / "secret.wav")
    with pytest.raises(UnsafePathError, match="outside the allowed folder"):
        confine_audio("audio/link.wav", root)


def test_symlinked_directory_escaping_the_root_is_refused(root: Path) -> None:
    (root / "etc").symlink_to("/etc")
    with pytest.raises(UnsafePathError, match="outside"):
        confine_path("etc/passwd", root)


def test_nul_and_symlink_loops_are_refused_cleanly(root: Path) -> None:
    with pytest.raises(UnsafePathError, match="NUL"):
        confine_path("audio/q1.wav\x00.png", root)
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(UnsafePathError):
        confine_audio("loop", root)


def test_non_audio_file_is_refused(root: Path) -> None:
    (root / "notes.wav").write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert not is_audio_file(root / "notes.wav")
    with pytest.raises(UnsafePathError, match="not an audio file"):
        confine_audio("notes.wav", root)


def test_missing_file_and_directories_are_refused(root: Path) -> None:
    with pytest.raises(UnsafePathError, match="file not found"):
        confine_audio("audio/none.wav", root)
    with pytest.raises(UnsafePathError, match="file not found"):
        confine_audio("audio", root)


def test_fifo_is_not_opened(root: Path) -> None:
    os.mkfifo(root / "pipe.wav")
    assert not is_audio_file(root / "pipe.wav")  # would block if it were opened


@pytest.mark.parametrize(
    "header",
    [
        wav_bytes()[:12],
        b"fLaC\x00\x00\x00\x22",
        b"OggS\x00\x02",
        b"ID3\x04\x00\x00",
        b"\xff\xfb\x90\x64",  # MPEG-1 layer III frame
        b"\x1a\x45\xdf\xa3\x9f",  # WebM
        b"\x00\x00\x00\x20ftypM4A \x00",
        b"FORM\x00\x00\x00\x00AIFF",
    ],
)
def test_audio_headers_are_recognised(header: bytes) -> None:
    assert audio_header_ok(header)


@pytest.mark.parametrize(
    "header",
    [b"RIFF\x00\x00\x00\x00AVI ", b"\x7fELF\x02\x01", b"%PDF-1.7", b"<html>", b"", b"\xff"],
)
def test_other_headers_are_not_audio(header: bytes) -> None:
    assert not audio_header_ok(header)


def test_confine_audio_returns_the_resolved_file(root: Path) -> None:
    assert confine_audio("audio/q1.wav", root) == (root / "audio" / "q1.wav").resolve()
