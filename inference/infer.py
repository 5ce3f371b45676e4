"""The `infer` stage: run one declared system over the workspace's queries, resumably."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arenalens.paths import UnsafePathError, confine_audio
from arenalens.store import Store
from inference import persist
from inference.conversations import conversation_histories, turn_rounds
from inference.errors import InferenceError
from inference.generators import (
    GenerationRequest,
    GenerationResult,
    Generator,
    generate_all,
    make_generator,
)
from inference.pairs import PairContext, make_blind_pairs, write_blind_file
from inference.speech import (
    SpokenAnswer,
    Synthesizer,
    keep_spoken_answer,
    make_synthesizer,
    speak_answers,
)
from inference.systems import SystemSpec
from inference.transcribe import (
    Transcriber,
    make_transcriber,
    transcribe_items,
    transcriber_model_name,
)


@dataclass
class InferSummary:
    """What one `infer run` did."""

    system: str
    run_id: int
    requested: int = 0
    skipped: int = 0
    written: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "run_id": self.run_id,
            "requested": self.requested,
            "skipped_finished": self.skipped,
            "written": self.written,
            "errors": len(self.errors),
            "first_errors": [f"{i}: {e}" for i, e in self.errors[:5]],
        }


@dataclass
class PreparedInputs:
    """Requests ready for generation plus what each one's input was (stored in params)."""

    requests: list[GenerationRequest]
    input_info: dict[str, dict[str, Any]]
    failed: list[tuple[str, str]]


def _file_size(path: str) -> float:
    """Stand-in for a missing duration when sorting by length (bytes grow with seconds)."""
    try:
        return float(os.path.getsize(path)) / 32_000  # ~seconds of 16 kHz 16-bit mono
    except OSError:
        return 0.0


def prepare_inputs(
    inputs: pd.DataFrame,
    spec: SystemSpec,
    transcriber_factory: Callable[[], Transcriber] | None = None,
    on_transcripts: Callable[[list[dict[str, Any]]], None] | None = None,
) -> PreparedInputs:
    """Turn query rows into requests: audio for end-to-end (an endpoint also reads typed
    queries), ASR (or typed) text for pipelines."""
    requests: list[GenerationRequest] = []
    info: dict[str, dict[str, Any]] = {}
    failed: list[tuple[str, str]] = []
    if spec.kind == "end_to_end":
        for row in inputs.itertuples():
            if isinstance(row.audio_path, str):
                duration = getattr(row, "duration_s", None)
                length = float(duration) if pd.notna(duration) else _file_size(row.audio_path)
                requests.append(
                    GenerationRequest(row.interaction_id, audio_path=row.audio_path, length=length)
                )
                info[row.interaction_id] = {"input": "audio"}
            elif spec.on_endpoint and isinstance(row.query_text, str) and row.query_text.strip():
                text = row.query_text
                requests.append(
                    GenerationRequest(row.interaction_id, text=text, length=float(len(text)))
                )
                info[row.interaction_id] = {"input": "typed", "input_text": text}
        return PreparedInputs(requests, info, failed)

    wanted = transcriber_model_name(spec.asr.backend, spec.asr.model) if spec.asr else None
    texts: dict[str, tuple[str, str]] = {}  # id -> (text, source)
    needs_asr: list[tuple[str, str]] = []
    for row in inputs.itertuples():
        if isinstance(row.audio_path, str):
            if isinstance(row.transcript, str) and row.transcript_model == wanted:
                texts[row.interaction_id] = (row.transcript, "transcript")
                continue
            if transcriber_factory is not None:
                needs_asr.append((row.interaction_id, row.audio_path))
                continue
        if isinstance(row.query_text, str) and row.query_text.strip():
            texts[row.interaction_id] = (row.query_text, "typed")
    if needs_asr and transcriber_factory is not None:
        transcriber = transcriber_factory()
        has_transcript = set(inputs.loc[inputs["transcript"].notna(), "interaction_id"])

        def keep(rows: list[dict[str, Any]]) -> None:
            for r in rows:
                texts[r["interaction_id"]] = (r["text"], "asr")
            fresh = [r for r in rows if r["interaction_id"] not in has_transcript]
            if fresh and on_transcripts:
                on_transcripts(fresh)  # stored per batch: a crash keeps what was recognised

        asr = transcribe_items(
            needs_asr, transcriber, batch_size=spec.batch_size, on_batch=keep, progress=False
        )
        typed = dict(zip(inputs["interaction_id"], inputs["query_text"], strict=True))
        for interaction_id, reason in asr.failed:
            fallback = typed.get(interaction_id)
            if reason == "no speech recognised" and isinstance(fallback, str) and fallback.strip():
                texts[interaction_id] = (fallback, "typed")
            else:
                failed.append((interaction_id, reason))
    failed_ids = {i for i, _ in failed}
    for interaction_id in inputs["interaction_id"]:
        if interaction_id in failed_ids:
            continue
        if interaction_id not in texts:
            failed.append((interaction_id, "no query text and no usable audio"))
            continue
        text, source = texts[interaction_id]
        requests.append(GenerationRequest(interaction_id, text=text, length=float(len(text))))
        info[interaction_id] = {
            "input": source,
            "input_text": text,
            "asr_model": wanted if source != "typed" else None,
        }
    return PreparedInputs(requests, info, failed)


def pending_inputs(
    store: Store, spec: SystemSpec, limit: int | None = None
) -> tuple[pd.DataFrame, int]:
    """Queries the system has not answered yet (first `limit` by id) and how many were skipped."""
    inputs = persist.inference_inputs(store)
    if spec.kind == "end_to_end":
        if not spec.on_endpoint:  # a local audio LM hears audio only; an endpoint reads text too
            inputs = inputs[inputs["audio_path"].notna()]
        audio = persist.audio_frame(store)[["interaction_id", "duration_s"]]
        inputs = inputs.merge(audio, on="interaction_id", how="left")
    finished = persist.finished_ids(store, spec.name)
    todo = inputs[~inputs["interaction_id"].isin(finished)]
    skipped = len(inputs) - len(todo)
    if limit is not None:
        todo = todo.head(limit)
    return todo.reset_index(drop=True), skipped


def run_system(
    store: Store,
    spec: SystemSpec,
    *,
    limit: int | None = None,
    batch_size: int | None = None,
    backend: str | None = None,
    device: str | None = None,
    use_ray: bool = False,
    generator: Generator | None = None,
    transcriber: Transcriber | None = None,
    progress: bool = True,
    answers_dir: Path | None = None,
    synthesizer: Synthesizer | None = None,
) -> InferSummary:
    """Answer every pending query with `spec`, writing each finished batch before the next starts.

    Turns of a conversation are answered in order, each with the conversation so far (the
    user's turns and this system's own answers). A system with `output: speech` also speaks
    each answer into a WAV under `answers_dir` (the workspace's `answers/` folder)."""
    if spec.output == "speech" and answers_dir is None:
        raise InferenceError(f"system {spec.name!r} answers aloud: it needs a folder for its audio")
    if spec.speaks_itself and use_ray:
        raise InferenceError(
            f"system {spec.name!r} answers aloud through its endpoint: run it without --ray "
            f"(the endpoint is queried concurrently: raise llm.concurrency instead)"
        )
    todo, skipped = pending_inputs(store, spec, limit)
    config = {"system": spec.params_record(), "limit": limit, "backend": backend, "ray": use_ray}
    lease = f"{persist.INFER_STAGE}:{spec.name}"  # one process per system; systems side by side
    with store.run(persist.INFER_STAGE, config, model=spec.model_id, lease=lease) as run:
        run_id = run.id
        summary = InferSummary(spec.name, run_id, requested=len(todo), skipped=skipped)
        asr = spec.asr
        made: dict[str, Any] = {}  # models built once, on first use, for every round

        def asr_factory() -> Transcriber:
            if "asr" not in made:
                made["asr"] = transcriber or make_transcriber(asr.backend, asr.model, device)
            return made["asr"]

        def speaker() -> Synthesizer:
            if "tts" not in made:
                assert spec.tts is not None  # validated by SystemSpec
                made["tts"] = synthesizer or make_synthesizer(spec.tts)
            return made["tts"]

        params = spec.params_record()
        model_revision: list[str | None] = [None]
        input_info: dict[str, dict[str, Any]] = {}

        def write(results: list[GenerationResult]) -> None:
            spoken: dict[str, SpokenAnswer] = {}
            if spec.speaks_itself and answers_dir is not None:
                for r in results:
                    if r.audio is not None and not r.error:
                        spoken[r.item_id] = keep_spoken_answer(
                            r.item_id, r.audio, answers_dir, spec.name, r.first_audio_s
                        )
                    r.audio = None  # kept on disk: a long run does not hold every answer's audio
            elif spec.output == "speech" and answers_dir is not None:
                said = [(r.item_id, r.text) for r in results if r.text and not r.error]
                spoken = speak_answers(said, speaker(), answers_dir, spec.name)
            rows = []
            for r in results:
                row = {
                    "interaction_id": r.item_id,
                    "system": spec.name,
                    "output_text": r.text,
                    "error": r.error,
                    "latency_s": r.latency_s,
                    "prompt_tokens": r.prompt_tokens,
                    "completion_tokens": r.completion_tokens,
                    "model_revision": model_revision[0],
                    "params": {**params, **input_info.get(r.item_id, {})},
                    "run_id": run_id,
                    **_spoken_columns(r, spoken.get(r.item_id), spec),
                }
                rows.append(row)
                if row["error"]:
                    summary.errors.append((r.item_id, row["error"]))
            persist.write_outputs(store, rows)
            summary.written += len(rows)

        for depth, rows in turn_rounds(todo):
            history_failed: list[tuple[str, str]] = []
            histories: dict[str, tuple[tuple[str, str], ...]] = {}
            if depth > 1:
                turns = persist.system_turns(store, spec.name, rows["conversation_id"].unique())
                histories, history_failed = conversation_histories(turns, rows, spec.name)
                rows = rows[rows["interaction_id"].isin(histories)].reset_index(drop=True)
            prepared = prepare_inputs(
                rows,
                spec,
                asr_factory if asr is not None else None,
                on_transcripts=lambda found: persist.write_transcripts(
                    store, [{**r, "run_id": run_id} for r in found]
                ),
            )
            input_info.update(prepared.input_info)
            for request in prepared.requests:
                request.history = histories.get(request.item_id, ())
            failed = prepared.failed + history_failed
            if failed:
                write([GenerationResult(i, None, error=e) for i, e in failed])
            if prepared.requests:
                _generate(
                    prepared.requests, spec, made, write, model_revision,
                    batch_size=batch_size, backend=backend, device=device, use_ray=use_ray,
                    generator=generator, progress=progress,
                )  # fmt: skip
        run.summary.update(summary.as_dict())
    return summary


def _generate(
    requests: list[GenerationRequest],
    spec: SystemSpec,
    made: dict[str, Any],
    write: Callable[[list[GenerationResult]], None],
    model_revision: list[str | None],
    *,
    batch_size: int | None,
    backend: str | None,
    device: str | None,
    use_ray: bool,
    generator: Generator | None,
    progress: bool,
) -> None:
    """Answer `requests` locally or on Ray, handing each finished batch to `write`."""
    size = batch_size or spec.batch_size
    if use_ray:
        from inference.ray_runner import run_on_ray

        model_revision[0] = spec.revision or (spec.llm.revision if spec.llm else None)
        run_on_ray(requests, spec, size, on_batch=write, backend=backend, progress=progress)
        return
    if "generator" not in made:
        made["generator"] = generator or make_generator(spec, backend=backend, device=device)
    gen = made["generator"]
    model_revision[0] = gen.model_revision

    def write_with_revision(results: list[GenerationResult]) -> None:
        model_revision[0] = gen.model_revision
        write(results)

    generate_all(
        requests,
        gen,
        size,
        on_batch=write_with_revision,
        progress=progress,
        max_batch_length=spec.max_batch_length,
    )


def _spoken_columns(
    result: GenerationResult, spoken: SpokenAnswer | None, spec: SystemSpec
) -> dict[str, Any]:
    """The audio columns of an output (and its error when a spoken answer could not be made):
    time to first audio is the answer's generation time plus the synthesiser's first audio, or,
    for a model that answers aloud itself, the time from its request to its first audio."""
    if spec.output != "speech" or result.error:
        return {}
    if spoken is None:  # nothing to say: an empty answer
        return {"error": "empty answer: nothing to speak"}
    if spoken.error:
        return {"error": spoken.error}
    first = spoken.first_audio_s
    if first is not None and not spec.speaks_itself:
        first += result.latency_s or 0.0
    return {
        "output_audio": spoken.path,
        "audio_duration_s": spoken.duration_s,
        "time_to_first_audio_s": first,
    }


def pair_systems(store: Store, system_a: str, system_b: str, seed: int) -> tuple[pd.DataFrame, int]:
    """Blind A/B pairs from both systems' answers to the same queries, stored with their key;
    returns the pairs and how many were new."""
    outputs = persist.outputs_frame(store)
    outputs = outputs[outputs["system"].isin([system_a, system_b])] if len(outputs) else outputs
    if not len(outputs):
        raise InferenceError(
            f"no outputs for {system_a!r} or {system_b!r}; run `arenalens infer run --system NAME` first"
        )
    ids = sorted(set(outputs["interaction_id"]))
    pairs = make_blind_pairs(
        outputs, system_a, system_b, persist.query_texts(store, ids), seed=seed
    )
    with store.run(persist.PAIR_STAGE, {"systems": [system_a, system_b], "seed": seed}) as run:
        keys = ("pair_id", "interaction_id", "system_a", "system_b", "response_a", "response_b")
        rows = [
            {k: row[k] for k in keys} | {"extra": {"seed": seed}, "run_id": run.id}
            for row in pairs.to_dict("records")
        ]
        added = persist.write_pairs(store, rows)
        run.summary.update({"pairs": len(pairs), "new": added})
    return pairs, added


def _checked_audio(path: object, root: object, what: str) -> str | None:
    """A stored audio path re-checked inside the folder it may be read from (as the dashboard
    does before playing it); None without a path or a recorded root."""
    if not isinstance(path, str) or not isinstance(root, (str, Path)):
        return None
    try:
        return str(confine_audio(path, root))
    except UnsafePathError as exc:
        raise InferenceError(f"{what}: {exc}") from None


def write_blind_pairs(store: Store, pairs: pd.DataFrame, out: Path, answers_dir: Path) -> int:
    """The blind file for raters (`inference.pairs.write_blind_file`) with the answers' audio,
    the queries' audio and, for turns of conversations, the turns before; every audio file is
    re-checked where it may be read from: a query's inside the root it was ingested from, a
    system's answer inside `answers_dir`. Returns how many pairs were written."""
    systems = (set(pairs["system_a"]) | set(pairs["system_b"])) if len(pairs) else set()
    turns = store.conversation_turns_frame()[["id", "conversation_id", "turn", "query"]]
    paired = turns[turns["id"].isin(set(pairs["interaction_id"]))]
    turns = turns[turns["conversation_id"].isin(set(paired["conversation_id"]))]
    needed = set(pairs["interaction_id"]) | set(turns["id"])
    audio = persist.audio_frame(store)
    audio = audio[audio["interaction_id"].isin(needed)]
    query_audio = {
        r.interaction_id: _checked_audio(r.path, r.root, f"the audio of query {r.interaction_id}")
        for r in audio.itertuples()
    }
    outputs = persist.outputs_frame(store)
    outputs = outputs[
        outputs["interaction_id"].isin(set(turns["id"])) & outputs["system"].isin(systems)
    ]
    answers = {
        (r.interaction_id, r.system): (
            r.output_text,
            _checked_audio(
                r.output_audio, answers_dir, f"{r.system}'s answer to {r.interaction_id}"
            ),
        )
        for r in outputs.itertuples()
        if r.error is None
    }
    checked = pairs.copy()
    for side in ("a", "b"):
        checked[f"audio_{side}"] = [
            _checked_audio(path, answers_dir, f"{system}'s answer to {interaction_id}")
            for path, system, interaction_id in zip(
                pairs[f"audio_{side}"],
                pairs[f"system_{side}"],
                pairs["interaction_id"],
                strict=True,
            )
        ]
    return write_blind_file(checked, out, PairContext(query_audio, turns, answers))
