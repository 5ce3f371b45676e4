"""Bradley–Terry speed: 1,000,000 votes, 50 models, 10% ties, 1,000 bootstrap rounds.

Times the vectorised path (aggregate -> fit -> batched-Newton bootstrap -> CIs and ranks) and,
in the same run, the straightforward baseline: refit each bootstrap round separately with scipy
L-BFGS on the unique rows (the approach of widely used open implementations, serial here), once
from zeros as they do and once warm-started at the point estimate.

    .venv/bin/python benchmarks/ranking_bt.py [--votes N] [--models M] [--rounds R] [--baseline-rounds B]

Set OPENBLAS_NUM_THREADS=1 to keep BLAS from spawning threads for tiny vectors (it makes the
baseline's L-BFGS much slower on a busy 2-core machine; the vectorised path hardly uses BLAS).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from arenalens.stats import percentile_interval
from ranking.bootstrap import bootstrap_bradley_terry, resample_pair_counts
from ranking.bradley_terry import (
    aggregate_votes,
    fit_bradley_terry,
    rank_from_intervals,
    to_ratings,
)
from ranking.leaderboard import RankingOptions, rank_votes


def simulate(
    n_votes: int, n_models: int, tie_share: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Votes as model-name arrays plus A's score, from known strengths (ties at `tie_share`)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.6, n_models)
    names = np.array([f"model-{k:03d}" for k in range(n_models)], dtype=object)
    a = rng.integers(0, n_models, n_votes)
    b = (a + rng.integers(1, n_models, n_votes)) % n_models
    tie = rng.random(n_votes) < tie_share
    win = rng.random(n_votes) < expit(theta[a] - theta[b])
    return names[a], names[b], np.where(tie, 0.5, win.astype(float))


def lbfgs_refit(
    pair_i: np.ndarray, pair_j: np.ndarray, counts: np.ndarray, n_models: int, x0: np.ndarray
) -> np.ndarray:
    """One BT fit by scipy L-BFGS on unique rows (ties half), with analytic gradient."""
    wins = counts[:, 0] + 0.5 * counts[:, 1]
    n = counts.sum(axis=1)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        d = theta[pair_i] - theta[pair_j]
        value = -(wins * log_expit(d) + (n - wins) * log_expit(-d)).sum() + 0.5 * theta.sum() ** 2
        g_d = -(wins - n * expit(d))
        grad = np.bincount(pair_i, g_d, n_models) - np.bincount(pair_j, g_d, n_models) + theta.sum()
        return value, grad

    return minimize(
        objective, x0, jac=True, method="L-BFGS-B", options={"gtol": 1e-8, "maxiter": 1000}
    ).x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument(
        "--baseline-rounds", type=int, default=1000, help="rounds the baseline really runs"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=3, help="vectorised runs; the best is reported"
    )
    args = parser.parse_args()

    a, b, score = simulate(args.votes, args.models, 0.10, args.seed)
    print(f"{args.votes:,} votes, {args.models} models, 10% ties, {args.rounds} bootstrap rounds")

    walls, cpus, boot_cpus = [], [], []
    for _ in range(args.repeats):
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        pc = aggregate_votes(a, b, score)
        t1 = time.perf_counter()
        fit = fit_bradley_terry(pc)
        t2 = time.perf_counter()
        cpu2 = time.process_time()
        boot = bootstrap_bradley_terry(fit, args.rounds, seed=args.seed)
        low, high = percentile_interval(to_ratings(boot.theta))
        ranks = rank_from_intervals(low, high)
        t3 = time.perf_counter()
        walls.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
        cpus.append(time.process_time() - cpu0)
        boot_cpus.append(time.process_time() - cpu2)
        assert boot.rounds_not_converged == 0 and len(ranks) == args.models
    agg, fit_s, boot_s, fast_total = min(walls, key=lambda w: w[3])
    print(
        f"vectorised (best of {args.repeats}): aggregate {agg:.3f} s ({pc.counts.size} unique rows), "
        f"fit {fit_s:.3f} s ({fit.iterations} Newton iterations), bootstrap + CIs + ranks {boot_s:.3f} s; "
        f"total {fast_total:.3f} s wall, {min(cpus):.3f} s CPU"
    )

    t4 = time.perf_counter()
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=args.rounds, seed=args.seed))
    t5 = time.perf_counter()
    print(
        f"rank_votes end to end (+ win-rate matrix with CIs, sandwich): {t5 - t4:.3f} s, {len(board.ratings)} models"
    )

    rounds = min(args.baseline_rounds, args.rounds)
    label = (
        "measured"
        if rounds == args.rounds
        else f"{rounds} rounds measured, scaled to {args.rounds}"
    )
    for name, warm in (
        ("cold start (zeros each round, as FastChat/arena-rank)", False),
        ("warm start", True),
    ):
        rng = np.random.default_rng(args.seed)
        cpu6 = time.process_time()
        t6 = time.perf_counter()
        counts = resample_pair_counts(pc, rounds, rng)
        x0 = fit.theta if warm else np.zeros(pc.n_models)
        thetas = np.stack(
            [lbfgs_refit(pc.pair_i, pc.pair_j, counts[r], pc.n_models, x0) for r in range(rounds)]
        )
        base_low, base_high = percentile_interval(to_ratings(thetas))
        t7 = time.perf_counter()
        base_cpu = (time.process_time() - cpu6) * args.rounds / rounds
        baseline = (t7 - t6) * args.rounds / rounds + agg + fit_s
        print(
            f"baseline, scipy L-BFGS refit per round on unique rows, serial, {name}: "
            f"{baseline:.2f} s wall ({label}); speed-up {baseline / fast_total:.1f}x wall; "
            f"bootstrap part CPU {base_cpu:.2f} s vs vectorised {min(boot_cpus):.2f} s"
        )
        if rounds >= 200:
            width_fast, width_base = (high - low).mean(), (base_high - base_low).mean()
            print(
                f"  mean 95% CI width: vectorised {width_fast:.2f}, baseline {width_base:.2f} rating points"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
