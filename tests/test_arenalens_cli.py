"""The `arenalens` command as users run it: exit codes, messages, JSON contracts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from arenalens.app.cli import main_group

STATUS_KEYS = {
    "interactions",
    "votes",
    "queries",
    "audio",
    "feedback",
    "systems",
    "benchmark_scores",
    "stages",
}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (exit codes, stderr)."""
    return subprocess.run(
        [sys.executable, "-c", "from arenalens.app.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_status_json_on_empty_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(main_group, ["--workspace", str(tmp_path), "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert STATUS_KEYS <= set(status)
    assert status["interactions"] == 0 and status["stages"] == {}


def test_ingest_then_status_counts_votes(tmp_path: Path, shared_data: Path) -> None:
    runner = CliRunner()
    workspace = ["--workspace", str(tmp_path)]
    result = runner.invoke(
        main_group, [*workspace, "ingest", str(shared_data / "talkarena" / "live_votes.json")]
    )
    assert result.exit_code == 0, result.output
    assert "303 new interactions" in result.output
    status = json.loads(runner.invoke(main_group, [*workspace, "status", "--json"]).output)
    assert (status["votes"], status["systems"], status["ties"]) == (303, 8, 84)


def test_bad_file_exits_nonzero_with_one_line_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "model_a": "x", "model_b": "y", "winner": "A"}\n')
    result = run_cli("--workspace", str(tmp_path / "ws"), "ingest", str(bad))
    assert result.returncode == 2
    assert f"error: {bad} line 1: field 'winner'" in result.stderr
    assert "Traceback" not in result.stderr


def test_aliases_commands_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    workspace = ["--workspace", str(tmp_path)]
    alias_file = tmp_path / "aliases.yaml"
    alias_file.write_text("pipe_l3.0: Whisper+llama3\nqwen2: Qwen2-audio\n")
    assert (
        runner.invoke(main_group, [*workspace, "aliases", "load", str(alias_file)]).exit_code == 0
    )
    assert (
        runner.invoke(main_group, [*workspace, "aliases", "add", "gpt4o", "GPT4o"]).exit_code == 0
    )
    listed = json.loads(runner.invoke(main_group, [*workspace, "aliases", "list", "--json"]).output)
    assert listed == {"pipe_l3.0": "Whisper+llama3", "qwen2": "Qwen2-audio", "gpt4o": "GPT4o"}


def test_config_file_in_workspace_is_read_and_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "arenalens.yaml").write_text("llm_api_key: sk-secret\n")
    result = CliRunner().invoke(main_group, ["--workspace", str(tmp_path), "status"])
    assert result.exit_code != 0
    shown = f"{result.output}{result.exception}"  # the ConfigError `main` prints as one line
    assert "must come from the environment" in shown
    assert "sk-secret" not in shown


def test_command_reference_is_current() -> None:
    """docs/CLI.md documents every command as the CLI describes itself."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TARGET.read_text() == module.render_reference(), (
        "run: python scripts/cli_reference.py"
    )
    for command in (
        "taxonomy build",
        "annotate sample",
        "rank",
        "infer run",
        "dashboard",
        "ingest",
    ):
        assert f"## `arenalens {command}`" in module.TARGET.read_text()


def test_aliases_load_prints_what_it_mapped_and_the_readme_names_the_talk_arena_file(
    tmp_path: Path,
) -> None:
    repo = Path(__file__).resolve().parents[1]
    shipped = repo / "data" / "talkarena_aliases.yaml"
    assert "data/talkarena_aliases.yaml" in (repo / "README.md").read_text(encoding="utf-8")
    result = CliRunner().invoke(
        main_group, ["--workspace", str(tmp_path / "ws"), "aliases", "load", str(shipped)]
    )
    assert result.exit_code == 0, result.output
    assert "6 aliases stored" in result.output
    lines = {" ".join(line.split()) for line in result.output.splitlines()}
    assert "gpt4o means GPT4o" in lines and "diva_3_8b means Diva" in lines
