"""File-path confinement, in one place: user-supplied paths resolve inside a root or are refused.

Ingest checks every `query_audio` path with `confine_audio` against the audio root (the input
file's folder, or `--audio-root`) and stores the resolved path with that root; the dashboard
calls the same function on the stored pair before it plays a file.
"""

from __future__ import annotations

import os
from pathlib import Path

# Leading bytes of the audio containers a voice arena records: (offset, magic).
AUDIO_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"fLaC"),  # FLAC
    (0, b"OggS"),  # Ogg (Opus, Vorbis, Speex)
    (0, b"ID3"),  # MP3 with an ID3v2 tag
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM (browser recordings)
    (0, b"#!AMR"),  # AMR
    (0, b"caff"),  # Core Audio Format
    (0, b".snd"),  # Sun/NeXT AU
)
RIFF_AUDIO_FORMS = (b"WAVE",)
AIFF_FORMS = (b"AIFF", b"AIFC")
MP4_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"mp42", b"isom", b"dash", b"mp41")
HEADER_BYTES = 12


class UnsafePathError(ValueError):
    """A path leads outside its root, does not exist, or is not the kind of file expected."""


def confine_path(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str],
    base: str | os.PathLike[str] | None = None,
) -> Path:
    """`path` (relative to `base`, default `root`, unless absolute) resolved with symlinks
    followed; refused with `UnsafePathError` unless the result lies inside the resolved `root`."""
    text = os.fspath(path)
    if any("\x00" in os.fspath(p) for p in (text, root, base or "")):
        raise UnsafePathError(f"{_cut(text)}: a path cannot contain a NUL character")
    try:
        allowed = Path(root).resolve()
        start = Path(base).resolve() if base is not None else allowed
        candidate = Path(text) if Path(text).is_absolute() else start / text
        resolved = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # too long, symlink loop
        raise UnsafePathError(f"{_cut(text)}: cannot resolve the path ({exc})") from exc
    if not resolved.is_relative_to(allowed):
        raise UnsafePathError(
            f"{_cut(text)} resolves to {_cut(str(resolved))}, outside the allowed folder {allowed}"
        )
    return resolved


def audio_header_ok(header: bytes) -> bool:
    """True when the first bytes of a file are those of a known audio container."""
    if any(header[offset:].startswith(magic) for offset, magic in AUDIO_SIGNATURES):
        return True
    if header[:4] == b"RIFF" and header[8:12] in RIFF_AUDIO_FORMS:
        return True
    if header[:4] == b"FORM" and header[8:12] in AIFF_FORMS:
        return True
    if header[4:8] == b"ftyp" and header[8:12] in MP4_AUDIO_BRANDS:
        return True
    # MPEG audio frame (MP3 without a tag, ADTS AAC): 11 sync bits set
    return len(header) >= 2 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0


def is_audio_file(path: str | os.PathLike[str]) -> bool:
    """True for a regular file whose header is a known audio container (WAV, FLAC, Ogg, MP3...)."""
    try:
        if not os.path.isfile(path):  # before opening: a FIFO would block the open
            return False
        with open(path, "rb") as handle:
            return audio_header_ok(handle.read(HEADER_BYTES))
    except (OSError, ValueError):
        return False


def confine_audio(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str],
    base: str | os.PathLike[str] | None = None,
) -> Path:
    """A playable audio file inside `root`: confined (see `confine_path`), existing, and with an
    audio header; otherwise `UnsafePathError` saying which of these failed."""
    resolved = confine_path(path, root, base)
    if not resolved.is_file():
        raise UnsafePathError(f"{_cut(os.fspath(path))}: file not found ({resolved})")
    if not is_audio_file(resolved):
        raise UnsafePathError(
            f"{_cut(os.fspath(path))}: not an audio file (expected WAV, FLAC, Ogg, MP3, "
            f"WebM, M4A, AIFF or AMR by its first bytes)"
        )
    return resolved


def audio_duration_s(path: str | os.PathLike[str]) -> float | None:
    """Seconds of audio in a file, read from its header by libsndfile (WAV, FLAC, Ogg, AIFF,
    MP3...); None when the header does not say (the transcribe stage measures it then)."""
    try:
        import soundfile

        seconds = float(soundfile.info(os.fspath(path)).duration)
    except Exception:  # noqa: BLE001 - any unreadable header: unknown, not an error
        return None
    return seconds if seconds > 0 and seconds == seconds else None


def _cut(text: str, limit: int = 80) -> str:
    """Quote a user-supplied string for a message, cut to `limit` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"
