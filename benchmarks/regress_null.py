"""Is `regress` calibrated? Simulated arenas where benchmarks do, and do not, predict preference.

Null arenas: 6-12 models, strengths drawn independently of five benchmark scores (two of them
correlated, as real benchmark suites are), votes from Bradley–Terry. For each arena:

- before: what `regress` printed as significant until issue 22, any benchmark term of the
  vote-level logistic fit (after the VIF screen) with p < 0.05;
- after: any benchmark that `ranking.model_inference.benchmark_tests` declares to predict
  preference (exact permutation over models, Holm, at least 8 models), and the same test with
  the minimum lowered to 6 models (the permutation test's own calibration).

Signal arenas: benchmark 0 correlates `--effect` with model strength; the detection rate by
number of models is the share of arenas in which benchmark 0 is declared.

Uses the pure functions (no store, no CLI):

    nice -n 10 .venv/bin/python benchmarks/regress_null.py [--arenas 200] [--votes-per-model 100]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.special import expit

from ranking.bradley_terry import aggregate_votes, fit_bradley_terry, winner_scores
from ranking.model_inference import benchmark_tests, detection_rate
from ranking.regression import vif_screen

N_BENCHMARKS = 5
STRENGTH_SD = 0.6  # logit scale; Talk Arena's six models span about +-0.8


def simulate(
    n_models: int, votes_per_model: int, effect: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(benchmarks (models, k), vote A indices, vote B indices, A won?)."""
    bench = rng.normal(size=(n_models, N_BENCHMARKS))
    bench[:, 2] = 0.7 * bench[:, 1] + 0.3 * bench[:, 2]  # a correlated pair
    noise = rng.normal(size=n_models)
    strength = STRENGTH_SD * (effect * bench[:, 0] + np.sqrt(1 - effect**2) * noise)
    n_votes = votes_per_model * n_models // 2
    a = rng.integers(0, n_models, n_votes)
    b = (a + rng.integers(1, n_models, n_votes)) % n_models
    won = rng.random(n_votes) < expit(strength[a] - strength[b])
    return bench, a, b, won


def vote_level_any_significant(
    bench: np.ndarray, a: np.ndarray, b: np.ndarray, won: np.ndarray
) -> bool:
    """The pre-issue-22 verdict: any benchmark term of the vote-level logit with p < 0.05."""
    from statsmodels.discrete.discrete_model import Logit

    z = (bench - bench.mean(axis=0)) / bench.std(axis=0)
    diff = z[a] - z[b]
    keep, _ = vif_screen(diff, [str(k) for k in range(diff.shape[1])])
    exog = np.column_stack([np.ones(len(a)), diff[:, keep]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = Logit(won.astype(float), exog).fit(disp=0, maxiter=200)
    return bool((np.asarray(fit.pvalues)[1:] < 0.05).any())


def strengths(n_models: int, a: np.ndarray, b: np.ndarray, won: np.ndarray) -> np.ndarray:
    """Bradley–Terry strengths in model order."""
    names = np.array([f"m{k:03d}" for k in range(n_models)], dtype=object)
    pc = aggregate_votes(names[a], names[b], winner_scores(np.where(won, "model_a", "model_b")))
    theta = fit_bradley_terry(pc).theta
    return theta[[pc.models.index(n) for n in names]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arenas", type=int, default=200)
    parser.add_argument("--votes-per-model", type=int, default=100)
    parser.add_argument("--effect", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    names = [f"benchmark {k}" for k in range(N_BENCHMARKS)]
    start = time.perf_counter()

    before = after = after_six = 0
    for _ in range(args.arenas):
        m = int(rng.integers(6, 13))
        bench, a, b, won = simulate(m, args.votes_per_model, 0.0, rng)
        before += vote_level_any_significant(bench, a, b, won)
        theta = strengths(m, a, b, won)
        after += any(t.significant for t in benchmark_tests(bench, theta, names, intervals=False))
        after_six += any(
            t.significant
            for t in benchmark_tests(bench, theta, names, min_models=6, intervals=False)
        )
    n = args.arenas
    print(f"null arenas: {n} of 6-12 models, {N_BENCHMARKS} benchmarks unrelated to preference, "
          f"{args.votes_per_model} votes per model")  # fmt: skip
    print(
        f"  any benchmark reported significant, before (per-vote logit p < 0.05): {before / n:.1%}"
    )
    print(f"  after (permutation over models, Holm, at least 8 models):           {after / n:.1%}")
    print(
        f"  after, minimum lowered to 6 models:                                {after_six / n:.1%}"
    )

    print(f"signal arenas: benchmark 0 correlates {args.effect:g} with model strength; "
          f"{args.arenas // 4} arenas per size")  # fmt: skip
    print(
        "  models  detected (simulated votes)  detected (precise ratings, power model)  false hits"
    )
    for m in (6, 8, 10, 12, 16, 24, 32):
        hits = false = 0
        reps = max(args.arenas // 4, 10)
        for _ in range(reps):
            bench, a, b, won = simulate(m, args.votes_per_model, args.effect, rng)
            tests = benchmark_tests(
                bench, strengths(m, a, b, won), names, min_models=6, intervals=False
            )
            hits += tests[0].significant
            false += any(t.significant for t in tests[1:])
        model = detection_rate(m, args.effect, N_BENCHMARKS)
        print(f"  {m:>6}  {hits / reps:>26.0%}  {model:>40.0%}  {false / reps:>10.0%}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
