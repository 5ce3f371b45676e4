"""Do two leaderboards order the same models alike? Kendall τ between two boards (the text-out
and speech-out boards of `rank --by output_modality`), with an interval and a plain caveat.

The interval answers "how sure is this order for these models": each board's ratings are redrawn
within their own 95% intervals (normal, independent across models and boards: the two boards are
fitted on disjoint votes) and τ recomputed. It does not resample models: with the handful of
systems an arena compares, which models were chosen is not a sample of anything. The
permutation p says whether the agreement could be chance; with 4 or fewer models no order can
make it small, and the caveat says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from arenalens import display
from arenalens.display import plural
from arenalens.stats import Z95, percentile_interval
from ranking.model_inference import kendall_tau_rows, permutation_p_values

MIN_SHARED_MODELS = 3  # below this, two boards have no order to compare
DRAWS = 2_000


@dataclass(frozen=True)
class BoardAgreement:
    """Kendall τ between two boards over the models both rank, its interval and caveat."""

    first: str
    second: str
    models: tuple[str, ...]
    tau: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    caveat: str
    only_first: tuple[str, ...] = ()
    only_second: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """'The text-out and speech-out boards order 5 shared models alike: τ = 0.60 (…)'."""
        if math.isnan(self.tau):
            return f"The {self.first} and {self.second} boards cannot be compared: {self.caveat}"
        strength = (
            "alike"
            if self.tau >= 0.7
            else "similarly"
            if self.tau >= 0.3
            else "differently"
            if self.tau > -0.3
            else "in opposite ways"
        )
        interval = (
            f" (95% interval {self.ci_low:.2f} to {self.ci_high:.2f}"
            f", permutation p {self.p_value:.2f})"
            if self.ci_low is not None and self.p_value is not None
            else ""
        )
        return (
            f"The {self.first} and {self.second} boards order their {len(self.models)} shared "
            f"models {strength}: Kendall τ = {self.tau:.2f}{interval}. {self.caveat}"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sentence"] = self.sentence
        return out


def _sd(frame: pd.DataFrame) -> np.ndarray:
    """Each rating's standard deviation from its 95% interval (0 where the interval is missing)."""
    width = (frame["ci_high"] - frame["ci_low"]).to_numpy(dtype=float)
    return np.nan_to_num(np.clip(width, 0, None) / (2 * Z95))


def board_agreement(
    first: pd.DataFrame,
    second: pd.DataFrame,
    names: tuple[str, str] = ("first", "second"),
    *,
    draws: int = DRAWS,
    seed: int = 0,
    level: float = 0.95,
) -> BoardAgreement:
    """τ between two boards (frames with model, rating, ci_low, ci_high) over shared models."""
    a = first.drop_duplicates("model").set_index("model")
    b = second.drop_duplicates("model").set_index("model")
    shared = sorted(set(a.index) & set(b.index))
    only_a = tuple(sorted(set(a.index) - set(b.index)))
    only_b = tuple(sorted(set(b.index) - set(a.index)))
    if len(shared) < MIN_SHARED_MODELS:
        return BoardAgreement(
            *names, tuple(shared), float("nan"), None, None, None,
            (
                ("no model is" if not shared else f"only {plural(len(shared), 'model')} "
                 f"{'is' if len(shared) == 1 else 'are'}")
                + f" ranked on both (at least {MIN_SHARED_MODELS} needed)"
            ),
            only_a, only_b,
        )  # fmt: skip
    a, b = a.loc[shared], b.loc[shared]
    x, y = a["rating"].to_numpy(float), b["rating"].to_numpy(float)
    tau = float(kendall_tau_rows(x[None], y[None])[0])
    rng = np.random.default_rng(seed)
    shape = (draws, len(shared))
    taus = kendall_tau_rows(
        x + rng.standard_normal(shape) * _sd(a), y + rng.standard_normal(shape) * _sd(b)
    )
    taus = taus[np.isfinite(taus)]
    low, high = (float(v) for v in percentile_interval(taus, level)) if len(taus) else (None, None)
    _, p, _ = permutation_p_values(x[:, None], y, seed)
    n = len(shared)
    smallest_p = 2 / math.factorial(n) if n <= 8 else 0.0
    pairs = n * (n - 1) // 2
    caveat = (
        f"With {n} models one swapped neighbouring pair moves τ by {2 / pairs:.2f}; the interval "
        "redraws each rating within its own 95% interval and keeps these models (it does not "
        "resample which models were compared)."
    )
    if smallest_p > 0.05:
        caveat += (
            f" With only {n} models no order can be told from chance (even perfect agreement "
            f"has permutation p {smallest_p:.2f}): read τ as a description, not evidence."
        )
    return BoardAgreement(
        *names, tuple(shared), tau, low, high, float(p[0]), caveat, only_a, only_b
    )  # fmt: skip


ANSWER_FORMS = ("text", "speech")  # the values of `output_modality`


def answer_form_agreement(ratings: pd.DataFrame, seed: int = 0) -> BoardAgreement | None:
    """τ between the text-answer and spoken-answer boards of `rank --by output_modality`, from
    their ratings (slice_value, model, rating, ci_low, ci_high, rank; rank 0 = too few votes,
    left out), or None unless both boards exist."""
    if ratings.empty or not set(ANSWER_FORMS) <= set(ratings["slice_value"]):
        return None
    ranked = ratings[ratings["rank"] > 0]
    boards = [ranked[ranked["slice_value"] == form] for form in ANSWER_FORMS]
    names = [display.display_value("output_modality", form).lower() for form in ANSWER_FORMS]
    return board_agreement(boards[0], boards[1], (names[0], names[1]), seed=seed)
