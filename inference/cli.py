"""`arenalens transcribe`, `arenalens infer run|pair|systems`, and the inference part of `arenalens demo`."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from arenalens.cli_output import text_table
from arenalens.context import AppContext
from arenalens.display import display_name, join_words
from inference import persist
from inference.errors import InferenceError
from inference.infer import pair_systems, run_system, write_blind_pairs
from inference.speech import answers_folder
from inference.systems import default_systems_file, get_system, load_systems
from inference.transcribe import DEFAULT_MODEL, evaluate_transcripts, load_references
from inference.transcribe_stage import run_transcription


@click.command("transcribe")
@click.option(
    "--model",
    default=DEFAULT_MODEL,
    show_default=True,
    help="Whisper name or path ('default' = bundled tiny.en).",
)
@click.option(
    "--backend",
    type=click.Choice(["faster-whisper", "transformers"]),
    default="faster-whisper",
    show_default=True,
)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: GPU when available).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Transcribe at most N queries."
)
@click.option(
    "--eval",
    "references",
    type=click.Path(path_type=Path),
    default=None,
    help="Reference transcripts (CSV/TSV/JSONL: interaction_id, reference) to compute WER against.",
)
@click.pass_obj
def transcribe_command(
    app: AppContext,
    model: str,
    backend: str,
    device: str | None,
    batch_size: int,
    limit: int | None,
    references: Path | None,
) -> None:
    """Transcribe spoken queries and spoken answers that have no transcript yet (bad audio is
    reported, not fatal)."""
    refs = load_references(references) if references else None  # fail on a bad file before any work
    summary, pending = run_transcription(app.store, model, backend, device, batch_size, limit)
    if summary is None:
        click.echo("transcribe: no audio without a transcript")
    else:
        answers = f", {summary.answers} of them spoken answers" if summary.answers else ""
        click.echo(
            f"transcribe: {summary.transcribed} of {pending} transcribed ({summary.audio_seconds:.1f} s of audio{answers}), {len(summary.failed)} failed"
        )
        for interaction_id, reason in summary.failed:
            click.echo(f"  failed {interaction_id}: {reason}")
    if refs is not None:
        report = evaluate_transcripts(persist.transcripts_frame(app.store), refs)
        if report.items == 0:
            raise InferenceError(
                f"{references}: none of its {len(refs)} ids has a stored transcript"
            )
        click.echo(
            f"WER {report.wer:.3f} over {report.items} transcripts ({report.missing} references without a transcript)"
        )
        for name, wer in sorted(report.by_model.items()):
            click.echo(f"  {name}: WER {wer:.3f}")


@click.group("infer")
def infer_group() -> None:
    """Run declared systems over the queries and build blind A/B pairs from their outputs."""


def _systems_file(app: AppContext, systems_file: Path | None) -> Path:
    return systems_file or default_systems_file(app.settings.workspace)


@infer_group.command("run")
@click.option("--system", "system_name", required=True, help="System name from the systems file.")
@click.option(
    "--systems-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Systems YAML (default: <workspace>/systems.yaml, else data/systems.yaml).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Answer at most N pending queries."
)
@click.option(
    "--backend",
    type=click.Choice(["transformers", "openai", "vllm"]),
    default=None,
    help="Override the LLM backend the system declares.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Override the system's batch size (shrinks itself on OOM).",
)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: GPU when available).")
@click.option("--ray", "use_ray", is_flag=True, help="Run as a Ray Data job, one actor per GPU.")
@click.pass_obj
def infer_run_command(
    app: AppContext,
    system_name: str,
    systems_file: Path | None,
    limit: int | None,
    backend: str | None,
    batch_size: int | None,
    device: str | None,
    use_ray: bool,
) -> None:
    """Answer every query the system has not answered yet (resumable; one output per query and
    system). Turns of a conversation are answered in order, each system seeing its own earlier
    answers; a system with `output: speech` also speaks each answer into <workspace>/answers/."""
    path = _systems_file(app, systems_file)
    spec = get_system(load_systems(path), system_name, str(path))
    summary = run_system(
        app.store,
        spec,
        limit=limit,
        batch_size=batch_size,
        backend=backend,
        device=device,
        use_ray=use_ray,
        answers_dir=answers_folder(app.settings.workspace),
    )
    click.echo(
        f"infer {spec.name}: {summary.written - len(summary.errors)} answered, {len(summary.errors)} failed, "
        f"{summary.skipped} already done (run {summary.run_id})"
    )
    for interaction_id, error in summary.errors[:10]:
        click.echo(f"  failed {interaction_id}: {error}")
    if summary.requested and len(summary.errors) == summary.requested:
        raise InferenceError(
            f"system {spec.name!r}: all {summary.requested} queries failed; first: {summary.errors[0][1]}"
        )


@infer_group.command("pair")
@click.argument("system_a")
@click.argument("system_b")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the blind pairs (no system names) as JSONL for raters, audio beside it.",
)
@click.option(
    "--key",
    "key_out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the unblinding key (pair id -> model_a, model_b) as JSONL.",
)
@click.option(
    "--seed", type=int, default=None, help="Side-shuffling seed (default: settings seed)."
)
@click.pass_obj
def infer_pair_command(
    app: AppContext,
    system_a: str,
    system_b: str,
    out: Path | None,
    key_out: Path | None,
    seed: int | None,
) -> None:
    """Blind A/B pairs from two systems' outputs on the same queries (sides shuffled, key kept in
    the store). The blind file carries both answers' text and audio and, for a turn of a
    conversation, the turns before it; audio is copied beside it into <name>-audio/."""
    from inference.pairs import audio_folder, write_key_file

    store = app.store
    seed = app.settings.seed if seed is None else seed
    pairs, added = pair_systems(store, system_a, system_b, seed)
    click.echo(
        f"pair {system_a} vs {system_b}: {len(pairs)} blind pairs ({added} new) from queries both answered"
    )
    if out:
        write_blind_pairs(store, pairs, out, answers_folder(app.settings.workspace))
        folder = audio_folder(out)
        heard = f" (their audio in {folder})" if folder.is_dir() else ""
        click.echo(f"  blind pairs for raters: {out}{heard}")
    if key_out:
        write_key_file(pairs, key_out)
        click.echo(f"  unblinding key: {key_out}")


@infer_group.command("systems")
@click.option("--systems-file", type=click.Path(path_type=Path), default=None)
@click.pass_obj
def infer_systems_command(app: AppContext, systems_file: Path | None) -> None:
    """List declared systems and how many outputs each has in the workspace."""
    path = _systems_file(app, systems_file)
    systems = load_systems(path)
    counts = persist.output_counts(app.store).set_index("system")
    click.echo(f"systems in {path}:")
    rows = [
        {
            "system": name,
            "kind": display_name(spec.kind),
            "model": spec.model_id,
            "outputs": int(counts.loc[name, "outputs"]) if name in counts.index else 0,
        }
        for name, spec in systems.items()
    ]
    click.echo(text_table(pd.DataFrame(rows), headings={"outputs": "outputs stored"}))
    extra = sorted(set(counts.index) - set(systems))
    if extra:
        click.echo(f"outputs from systems not in this file: {join_words(extra)}")


COMMANDS: list[click.Command] = [transcribe_command, infer_group]


# Spoken answers the demo transcribes (every spoken query is): enough to show transcripts and
# speaking rates from them; `arenalens transcribe` does the rest.
DEMO_ANSWER_TRANSCRIPTS = 4


def demo(app: AppContext) -> str:
    """Transcribe the sample's audio (when it has any) and report which systems' outputs exist."""
    parts: list[str] = []
    queries = len(persist.audio_frame(app.store, without_transcript=True))
    answers = len(persist.response_audio_pending(app.store))
    if len(persist.audio_frame(app.store)) or answers:
        summary, _ = run_transcription(
            app.store, limit=queries + DEMO_ANSWER_TRANSCRIPTS, progress=False
        )
        if summary is not None:
            spoken = f" and {summary.answers}/{answers} spoken answers" if answers else ""
            parts.append(
                f"transcribed {summary.transcribed - summary.answers}/{queries} audio queries"
                f"{spoken} ({len(summary.failed)} failed)"
            )
        else:
            parts.append("audio queries already transcribed")
        # Spoken sample queries also carry the text that was spoken: a free WER check.
        typed = app.store.interactions_frame(["id", "query_text"]).dropna(subset=["query_text"])
        report = evaluate_transcripts(
            persist.transcripts_frame(app.store),
            dict(zip(typed["id"], typed["query_text"], strict=True)),
        )
        if report.items:
            parts.append(f"WER {report.wer:.2f} against the spoken text")
    else:
        parts.append("no query audio to transcribe")
    counts = persist.output_counts(app.store)
    if len(counts):
        listed = ", ".join(f"{r.system} ({r.outputs})" for r in counts.itertuples())
        parts.append(f"model outputs: {listed}")
    else:
        parts.append("no model outputs yet (arenalens infer run --system NAME)")
    return "inference: " + "; ".join(parts)
