"""Helpers shared by the arena tests (imported by conftest and tests)."""

from __future__ import annotations

import pandas as pd

from arena.pairs import PAIR_COLUMNS

HOSTILE = (
    "<script>alert(1)</script> **bold** [link](http://example.com) <img src=x onerror=alert(2)>"
)


def make_pairs(count: int, *, hostile: bool = False) -> pd.DataFrame:
    """`count` blind pairs of systems S1..S3 with distinct texts (hostile markup if asked)."""
    systems = ["S1", "S2", "S3"]
    rows = []
    for index in range(count):
        a, b = systems[index % 3], systems[(index + 1) % 3]
        mark = HOSTILE if hostile else ""
        rows.append(
            {
                "pair_id": f"p{index:03d}",
                "interaction_id": None,
                "query_text": f"question number {index} {mark}",
                "query_audio": None,
                "audio_root": None,
                "model_a": a,
                "model_b": b,
                "response_a": f"answer A{index} {mark}",
                "response_b": f"answer B{index} {mark}",
                "attention": False,
                "bad_side": None,
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
