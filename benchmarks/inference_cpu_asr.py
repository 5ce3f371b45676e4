"""CPU figure for the default ASR backend: realtime factor and WER of bundled Whisper tiny.en.

Uses the real LibriVox recordings of Debian's pocketsphinx-testdata (apt-get install
pocketsphinx-testdata). Run: python benchmarks/inference_cpu_asr.py [--threads 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from inference.audio import SAMPLE_RATE, load_audio
from inference.transcribe import FasterWhisperTranscriber, word_error_rate

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (LIBRIVOX / "transcription").is_file():
        print(
            "needs Debian's pocketsphinx-testdata (apt-get install pocketsphinx-testdata)",
            file=sys.stderr,
        )
        return 3
    refs = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, file_id = line.rsplit("(", 1)
        refs[file_id.strip(") ")] = text.replace("<s>", "").replace("</s>", "").strip()
    ids = sorted(refs)
    audios = [load_audio(LIBRIVOX / f"{i}.wav") for i in ids]
    seconds = sum(len(a) for a in audios) / SAMPLE_RATE
    transcriber = FasterWhisperTranscriber(cpu_threads=args.threads)
    transcriber.transcribe(audios[:1])  # warm-up
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        results = transcriber.transcribe(audios)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    print(
        json.dumps(
            {
                "model": transcriber.model_name,
                "cpu_threads": args.threads,
                "cpus_visible": os.cpu_count(),
                "recordings": len(ids),
                "audio_seconds": round(seconds, 2),
                "best_seconds": round(best, 3),
                "realtime_factor": round(best / seconds, 4),
                "wer": round(word_error_rate([refs[i] for i in ids], [r.text for r in results]), 4),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
