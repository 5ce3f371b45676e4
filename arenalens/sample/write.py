"""Write the sample arena's files: battles, conversations, benchmarks, aliases, truth, README."""

from __future__ import annotations

import json
from pathlib import Path

from arenalens.sample.conversations import (
    conversation_truth,
    generate_conversations,
    readme_section,
)
from arenalens.sample.generate import DEFAULT_SEED, N_INTERACTIONS, generate_sample_arena
from arenalens.sample.truth import render_readme


def write_sample_arena(
    out_dir: Path | str, seed: int = DEFAULT_SEED, n_interactions: int = N_INTERACTIONS
) -> dict[str, Path]:
    """Generate and write every sample-arena file into `out_dir`; returns the paths written."""
    arena = generate_sample_arena(seed, n_interactions)
    conversations = generate_conversations(seed)
    arena.truth["conversations"] = conversation_truth(conversations)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out / name
        for name in (
            "interactions.jsonl",
            "conversations.jsonl",
            "benchmarks.csv",
            "aliases.yaml",
            "audio_queries.txt",
            "truth.json",
            "README.md",
        )
    }
    lines = [json.dumps(record, ensure_ascii=False) for record in arena.records]
    paths["interactions.jsonl"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    talks = [json.dumps(record, ensure_ascii=False) for record in conversations]
    paths["conversations.jsonl"].write_text("\n".join(talks) + "\n", encoding="utf-8")
    header = "model,dataset,task,metric,score,higher_is_better"
    bench_lines = [
        f"{r['model']},{r['dataset']},{r['task']},{r['metric']},{r['score']},{r['higher_is_better']}"
        for r in arena.benchmarks
    ]
    paths["benchmarks.csv"].write_text("\n".join([header, *bench_lines]) + "\n", encoding="utf-8")
    alias_lines = [
        "# Vote-log names some sample records use, mapped to canonical system names.",
        "aliases:",
    ]
    alias_lines += [f'  {alias}: "{name}"' for alias, name in arena.aliases.items()]
    paths["aliases.yaml"].write_text("\n".join(alias_lines) + "\n", encoding="utf-8")
    paths["audio_queries.txt"].write_text("\n".join(arena.audio_ids) + "\n", encoding="utf-8")
    paths["truth.json"].write_text(
        json.dumps(arena.truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    readme = render_readme(arena) + readme_section(arena.truth["conversations"])
    paths["README.md"].write_text(readme, encoding="utf-8")
    return paths
