"""The stages of arenalens: one registry that the CLI, the store, errors, the dashboard and the
tests read (instead of each keeping its own list).

It names modules, it does not import them: the core must not import a stage, and
`arenalens --help` must not pay for importing one. Order is the order `arenalens demo` runs them
(inference first: transcripts feed the taxonomy). The import layers themselves (taxonomy ->
coding -> ranking, inference beside them) are contracts in pyproject.toml.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stage:
    """A stage package and what the rest of arenalens looks up in it."""

    name: str
    # top-level command -> its one-line help, so `arenalens --help` lists it without an import
    # (tests/test_stages.py checks each line against the command's own docstring)
    commands: dict[str, str] = field(default_factory=dict)
    has_tables: bool = True

    @property
    def cli_module(self) -> str:
        """Module with `COMMANDS` (click commands) and optionally `demo(app) -> str`."""
        return f"{self.name}.cli"

    @property
    def tables_module(self) -> str | None:
        """Module defining the stage's tables on `arenalens.store.tables.metadata`."""
        return f"{self.name}.tables" if self.has_tables else None


STAGES: tuple[Stage, ...] = (
    Stage(
        "inference",
        {
            "transcribe": "Transcribe spoken queries and spoken answers that have no "
            "transcript yet (bad audio is reported, not fatal).",
            "infer": "Run declared systems over the queries and build blind A/B pairs "
            "from their outputs.",
        },
    ),
    Stage(
        "taxonomy",
        {
            "taxonomy": "Queries -> clusters -> named hierarchy -> categories and text- vs "
            "audio-primary share.",
        },
    ),
    Stage(
        "coding",
        {
            "code": "Code voters' feedback into loss reasons (resumable: reruns code only what "
            "is missing).",
            "codebook": "Show the codebook in use (codes, definitions, version) and the "
            "versions coded in the workspace.",
            "annotate": "Human validation of the machine's codes: sample, export/import CSV, "
            "progress, adjudicate.",
            "agreement": "Per code: machine-vs-human Cohen's kappa (bootstrap CI), agreement, "
            "precision/recall; human alpha.",
            "prevalence": "Prevalence of each loss reason: raw machine rate and the "
            "prediction-powered rate, with 95% CIs.",
        },
    ),
    Stage(
        "ranking",
        {
            "rank": "Bradley–Terry leaderboard with user-clustered bootstrap and sandwich "
            "confidence intervals, an optional style/latency-controlled board, the fragility "
            "of the order and a status per model.",
            "regress": "Do static benchmarks predict preferences? Per benchmark, Kendall τ "
            "with a permutation test over models (corrected across benchmarks) and "
            "leave-one-model-out prediction; how many models a clear answer would take; the "
            "vote-level fits as descriptions.",
        },
    ),
    Stage(
        "arena",
        {
            "arena": "Run a blind voting campaign: campaigns, personal links, pairs and the "
            "rater app (separate from the dashboard).",
        },
    ),
    Stage(
        "dashboard",
        {
            "dashboard": "Serve the dashboard on http://127.0.0.1:PORT (or --address) until "
            "stopped (Ctrl-C)."
        },
        has_tables=False,
    ),
)


def stage(name: str) -> Stage:
    """The registered stage called `name`."""
    for candidate in STAGES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no stage named {name!r}; stages: {', '.join(s.name for s in STAGES)}")
