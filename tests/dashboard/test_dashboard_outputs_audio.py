"""The Outputs page plays only audio files inside the audio root recorded at ingest."""

from __future__ import annotations

import wave
from pathlib import Path

from sqlalchemy import insert

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.store import tables as t


def _attach_audio(workspace: Path, path: str, root: str | None) -> None:
    app = AppContext(Settings(workspace=workspace))
    with app.store.transaction() as conn:
        conn.execute(insert(t.query_audio).values(interaction_id="i-hostile", path=path))
        if root is not None:
            conn.execute(insert(t.query_audio_roots).values(interaction_id="i-hostile", root=root))
    app.store.engine.dispose()


def _wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return path


def _outputs_page(render, workspace: Path):
    at = render(workspace, "outputs.py")
    at.selectbox(key="outputs_pick").set_value("i-hostile").run()
    assert not at.exception
    return at


def test_a_file_outside_the_audio_root_is_not_served(render, tiny_workspace, tmp_path):
    root = tmp_path / "audio"
    root.mkdir()
    _attach_audio(tiny_workspace, "/etc/passwd", str(root))
    at = _outputs_page(render, tiny_workspace)
    assert len(at.get("audio")) == 0
    assert any("audio not played" in c.value for c in at.caption)


def test_a_path_without_a_recorded_root_is_not_served(render, tiny_workspace, tmp_path):
    _attach_audio(tiny_workspace, str(_wav(tmp_path / "q.wav")), None)
    at = _outputs_page(render, tiny_workspace)
    assert len(at.get("audio")) == 0
    assert any("no audio root" in c.value for c in at.caption)


def test_a_non_audio_file_inside_the_root_is_not_served(render, tiny_workspace, tmp_path):
    root = tmp_path / "audio"
    root.mkdir()
    (root / "notes.wav").write_text("not audio at all")
    _attach_audio(tiny_workspace, str(root / "notes.wav"), str(root))
    at = _outputs_page(render, tiny_workspace)
    assert len(at.get("audio")) == 0
    assert any("not an audio file" in c.value for c in at.caption)


def test_an_audio_file_inside_the_root_plays(render, tiny_workspace, tmp_path):
    root = tmp_path / "audio"
    root.mkdir()
    _attach_audio(tiny_workspace, str(_wav(root / "q.wav")), str(root))
    at = _outputs_page(render, tiny_workspace)
    assert len(at.get("audio")) == 1
