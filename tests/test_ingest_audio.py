"""query_audio paths are confined to the audio root at ingest and must be audio files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from test_paths import wav_bytes

from arenalens.cli import main
from arenalens.errors import IngestError
from arenalens.ingest import ingest_interactions
from arenalens.paths import confine_audio
from arenalens.store import Store
from arenalens.store import tables as t


@pytest.fixture
def arena(tmp_path: Path) -> Path:
    """arena/ with audio/q1.wav, beside outside/secret.wav and outside/notes.txt."""
    folder = tmp_path / "arena"
    (folder / "audio").mkdir(parents=True)
    (folder / "audio" / "q1.wav").write_bytes(wav_bytes())
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.wav").write_bytes(wav_bytes())
    (tmp_path / "outside" / "notes.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    return folder


def write_records(folder: Path, *audio: str) -> Path:
    path = folder / "arena.jsonl"
    lines = [{"id": "ok", "query_text": "hello"}]
    lines += [{"id": f"q{k}", "query_audio": value} for k, value in enumerate(audio)]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


def stored_audio(store: Store) -> list[tuple[str, str]]:
    query = select(t.query_audio.c.path, t.query_audio_roots.c.root).join(
        t.query_audio_roots,
        t.query_audio_roots.c.interaction_id == t.query_audio.c.interaction_id,
    )
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def test_audio_inside_the_files_folder_is_stored_resolved_with_its_root(
    store: Store, arena: Path
) -> None:
    report = ingest_interactions(store, write_records(arena, "audio/q1.wav"), progress=False)

    assert report.audio_added == 1
    [(path, root)] = stored_audio(store)
    assert Path(path) == (arena / "audio" / "q1.wav").resolve() and Path(root) == arena.resolve()
    assert confine_audio(path, root) == Path(path)  # what the dashboard re-checks


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        ("../../../../etc/passwd", "outside the allowed folder"),
        ("../outside/secret.wav", "outside the allowed folder"),
        ("/etc/passwd", "outside the allowed folder"),
        ("audio/escape.wav", "outside the allowed folder"),  # symlink to ../outside
        ("audio/notes.wav", "not an audio file"),
        ("audio/none.wav", "file not found"),
        ("audio", "file not found"),
    ],
)
def test_audio_outside_the_root_or_not_audio_is_refused_naming_the_line(
    store: Store, arena: Path, audio: str, message: str
) -> None:
    (arena / "audio" / "escape.wav").symlink_to(arena.parent / "outside" / "secret.wav")
    (arena / "audio" / "notes.wav").write_text("not audio at all\n")
    path = write_records(arena, audio)

    with pytest.raises(IngestError, match=rf"arena.jsonl line 2: field 'query_audio': .*{message}"):
        ingest_interactions(store, path, progress=False)

    assert store.count(t.interactions) == 0 and store.count(t.query_audio) == 0


def test_audio_root_option_widens_or_narrows_the_allowed_folder(
    db_url: str, arena: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_records(arena, "../outside/secret.wav")
    args = ["--workspace", str(tmp_path / "ws"), "--db", db_url, "ingest", "--json"]

    with pytest.raises(SystemExit) as refused:
        main([*args, str(path)])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 2: field 'query_audio'" in err

    main([*args, "--audio-root", str(arena.parent), str(path)])
    [report] = json.loads(capsys.readouterr().out)
    assert report["audio_added"] == 1 and report["audio_root"] == str(arena.parent.resolve())


def test_missing_audio_root_is_one_line(sqlite_store: Store, arena: Path) -> None:
    with pytest.raises(IngestError, match="audio root .* is not a folder"):
        ingest_interactions(
            sqlite_store,
            write_records(arena, "audio/q1.wav"),
            audio_root=arena / "nope",
            progress=False,
        )


def test_demo_audio_is_recorded_with_its_root(
    sample_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample arena's spoken queries are playable by the dashboard's re-check."""
    from arenalens.app import demo

    def speak(text: str, wav: Path, **_: object) -> None:  # espeak-ng stand-in
        Path(wav).parent.mkdir(parents=True, exist_ok=True)
        Path(wav).write_bytes(wav_bytes())

    monkeypatch.setattr(demo, "espeak_available", lambda: True)
    monkeypatch.setattr(demo, "synthesize_speech", speak)

    added = demo.synthesise_audio(sample_app.store, tmp_path / "audio", limit=2)

    rows = stored_audio(sample_app.store)
    assert added == 2 and len(rows) == 2
    for path, root in rows:
        assert Path(root) == (tmp_path / "audio").resolve()
        assert confine_audio(path, root) == Path(path)
