"""Ingest: interactions (canonical or Talk Arena), benchmark scores and model aliases."""

from arenalens.ingest.benchmarks_io import (
    ingest_aliases,
    ingest_benchmark_scores,
    read_aliases,
    read_benchmark_scores,
)
from arenalens.ingest.pipeline import IngestReport, ingest_interactions, write_records
from arenalens.ingest.readers import FORMATS, detect_format

__all__ = [
    "FORMATS",
    "IngestReport",
    "detect_format",
    "ingest_aliases",
    "ingest_benchmark_scores",
    "ingest_interactions",
    "read_aliases",
    "read_benchmark_scores",
    "write_records",
]
