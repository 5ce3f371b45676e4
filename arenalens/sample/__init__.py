"""The synthetic sample arena: a seeded generator of votes, queries, feedback and benchmark scores."""

from arenalens.sample.generate import (
    DEFAULT_SEED,
    SampleArena,
    generate_sample_arena,
)
from arenalens.sample.write import write_sample_arena

__all__ = ["DEFAULT_SEED", "SampleArena", "generate_sample_arena", "write_sample_arena"]
