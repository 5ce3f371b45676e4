"""Votes an arena needs before its leaderboard can say something, per pair scheduling rule.

Simulated arenas (known strengths) are run vote by vote batch under each rule of
`arena.scheduler` (uniform, Chatbot Arena's variance rule, our adaptive rule) until
  (a) the estimated top three are the true top three, in order, and the 95% intervals of
      first and second, and of second and third, do not overlap;
  (b) the mean width of the 95% rating intervals is at most 30 points.
The stopping criteria are checked every K votes (the scheduler also refreshes its fit then, as
a busy arena would between batches). Intervals are the Fisher-information ones of the
scheduler's own Bradley–Terry fit, the same for every rule.

Arenas: ratings drawn like a leaderboard (normal, 100 points sd; the top four at least
`--min-gap` points apart so that (a) is reachable), ties from Davidson's model (10-20% of
votes), and raters with their own taste per system and a side preference, as in the
user-clustered ranking tests. The adaptive rule's settings were chosen with `--tune` on seeds
from 1000 on; the table is measured on seeds 0 to arenas - 1. For (b) the table also gives the
best any fixed design could do knowing the true strengths (`width_bound`): how much room there is.

    nice -n 10 python benchmarks/arena_scheduler.py            # the README table
    nice -n 10 python benchmarks/arena_scheduler.py --tune     # the grid the defaults came from
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena.scheduler import (  # noqa: E402
    ELO_SCALE,
    SchedulerConfig,
    VoteCounts,
    fit_strengths,
    pair_probabilities,
)

RULES = ("uniform", "variance", "adaptive")
CRITERIA = ("top3", "width30")
# the adaptive settings tried (focus, sharpness, focus_ranks, per_se), in the order they were
TUNING_GRID = {
    "first": list(itertools.product([0.0, 2.0, 4.0, 8.0, 16.0], [1.0, 1.5, 2.0], [0], [False])),
    "second": [
        (0.0, 1.0, 0, False),
        (0.0, 1.0, 0, True),
        (4.0, 1.0, 3, True),
        (16.0, 1.0, 3, True),
        (4.0, 1.0, 3, False),
    ],
    "third": [
        (16.0, 1.0, 3, True),
        (32.0, 1.0, 3, True),
        (8.0, 1.0, 3, True),
        (16.0, 1.0, 3, False),
        (16.0, 1.5, 3, True),
    ],
    "fourth": [(16.0, 1.0, 3, True), (16.0, 1.5, 3, True), (16.0, 2.0, 3, True)],
}
CRITERION_NAMES = {
    "top3": "(a) true top three, in order, intervals apart",
    "width30": "(b) mean 95% interval width at most 30 points",
}


@dataclass(frozen=True)
class Arena:
    """One simulated arena: true strengths, tie propensity and its raters' biases."""

    theta: np.ndarray  # natural log scale
    nu: float  # Davidson's tie parameter
    taste: np.ndarray  # (raters, systems) per-rater taste
    side: np.ndarray  # (raters,) preference for side A
    activity: np.ndarray  # (raters,) share of votes each rater casts


def make_arena(
    seed: int,
    m: int,
    spread: float = 100.0,
    min_gap: float = 20.0,
    raters: int = 200,
    taste_sd: float = 0.3,
    side_sd: float = 0.3,
) -> Arena:
    """Ratings ~ normal(0, spread points), top four at least `min_gap` apart; biased raters."""
    rng = np.random.default_rng([seed, m])
    while True:
        ratings = np.sort(rng.normal(0.0, spread, m))[::-1]
        if np.all(-np.diff(ratings[: min(4, m)]) >= min_gap):
            break
    ratings = rng.permutation(ratings)
    activity = rng.lognormal(0.0, 1.0, raters)
    return Arena(
        theta=ratings / ELO_SCALE,
        nu=float(rng.uniform(0.25, 0.5)),
        taste=rng.normal(0.0, taste_sd, (raters, m)),
        side=rng.normal(0.0, side_sd, raters),
        activity=activity / activity.sum(),
    )


def simulate_votes(
    arena: Arena, ia: np.ndarray, ib: np.ndarray, user: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A's score (1, 0.5, 0) for each vote, from Davidson's model with the rater's biases."""
    eta = (
        arena.theta[ia]
        - arena.theta[ib]
        + arena.taste[user, ia]
        - arena.taste[user, ib]
        + arena.side[user]
    )
    win_a, win_b = np.exp(eta / 2), np.exp(-eta / 2)
    u = rng.random(len(ia)) * (win_a + win_b + arena.nu)
    return np.where(u < win_a, 1.0, np.where(u < win_a + arena.nu, 0.5, 0.0))


def run_arena(
    arena: Arena, config: SchedulerConfig, seed: int, batch: int, cap: int
) -> dict[str, int]:
    """Votes at the first check where each criterion held (`cap` when it never did)."""
    rng = np.random.default_rng([seed, 7])
    m = len(arena.theta)
    truth = np.argsort(-arena.theta)[:3]
    counts = VoteCounts.empty([f"s{k}" for k in range(m)])
    balance = np.zeros((len(arena.activity), m))
    reached: dict[str, int] = {}
    votes, theta = 0, None
    while True:
        fit = fit_strengths(counts, theta0=theta)
        theta = fit.theta
        if votes > 0:
            rating, low, high = fit.ratings()
            if "top3" not in reached:
                top = np.argsort(-rating)[:3]
                apart = low[top[0]] > high[top[1]] and low[top[1]] > high[top[2]]
                if apart and np.array_equal(top, truth):
                    reached["top3"] = votes
            if "width30" not in reached and np.mean(high - low) <= 30.0:
                reached["width30"] = votes
        if len(reached) == len(CRITERIA) or votes >= cap:
            break
        i, j, prob = pair_probabilities(counts, config, fit)
        pick = rng.choice(len(prob), size=batch, p=prob)
        x, y = i[pick], j[pick]
        user = rng.choice(len(arena.activity), size=batch, p=arena.activity)
        # the scheduler's side rule, with each rater's balance as at the start of the batch
        lean = balance[user, x] - balance[user, y]
        x_first = (lean < 0) | ((lean == 0) & (rng.random(batch) < 0.5))
        ia, ib = np.where(x_first, x, y), np.where(x_first, y, x)
        np.add.at(balance, (user, ia), 1.0)
        np.add.at(balance, (user, ib), -1.0)
        counts.add(ia, ib, simulate_votes(arena, ia, ib, user, rng))
        votes += batch
    return {c: reached.get(c, cap) for c in CRITERIA}


def width_bound(theta: np.ndarray, iterations: int = 300) -> float:
    """Votes the best fixed design needs for a given mean interval width, as a share of what
    uniform pairs need, knowing the true strengths (an oracle: no scheduler can beat it).

    Mean width is proportional to the mean standard error, which shrinks as 1 / sqrt(votes); so
    the share is (mean se of the best design / mean se of the uniform one) squared, both at one
    vote in all. The best design over pair shares x is found by multiplicative updates
    (x proportional to x times the gradient), as for A-optimal designs.
    """
    m = len(theta)
    i, j = np.triu_indices(m, 1)
    d = theta[i] - theta[j]
    info = 0.25 / np.cosh(d / 2) ** 2  # p (1 - p) per vote
    centre = np.eye(m) - 1.0 / m

    def mean_se(x: np.ndarray) -> tuple[float, np.ndarray]:
        lap = np.zeros((m, m))
        lap[i, j] = lap[j, i] = -x * info
        lap[np.arange(m), np.arange(m)] = -lap.sum(axis=1)
        cov = centre @ np.linalg.pinv(lap) @ centre
        se = np.sqrt(np.diag(cov))
        cov_u = cov[:, i] - cov[:, j]
        gradient = info * ((cov_u**2) / (2 * se[:, None])).sum(axis=0)  # minus d(sum se)/dx
        return float(se.mean()), gradient

    uniform = np.full(len(i), 1.0 / len(i))
    x = uniform.copy()
    for _ in range(iterations):
        _, g = mean_se(x)
        x = x * np.sqrt(g / (x @ g))
        x /= x.sum()
    return (mean_se(x)[0] / mean_se(uniform)[0]) ** 2


def run_grid(
    sizes: list[int], seeds: range, configs: dict[str, SchedulerConfig], args: argparse.Namespace
) -> dict[tuple[int, str], np.ndarray]:
    """(systems, rule) -> (arenas, criteria) votes needed."""
    out: dict[tuple[int, str], np.ndarray] = {}
    for m in sizes:
        batch, cap = args.batch_per_system * m, args.cap_per_system * m
        arenas = [make_arena(seed, m, args.spread, args.min_gap) for seed in seeds]
        for name, config in configs.items():
            start = time.perf_counter()
            rows = [
                [run_arena(a, config, seed, batch, cap)[c] for c in CRITERIA]
                for a, seed in zip(arenas, seeds, strict=True)
            ]
            out[(m, name)] = np.array(rows)
            print(f"  {m} systems, {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return out


def table(
    results: dict[tuple[int, str], np.ndarray],
    sizes: list[int],
    caps: dict[int, int],
    bounds: dict[int, float],
) -> str:
    """Markdown: median votes per rule and criterion, reduction vs uniform, gap vs variance."""
    lines = [
        "| systems | criterion | uniform | Chatbot Arena's variance rule | adaptive (ours) "
        "| adaptive vs uniform | adaptive vs variance rule | best fixed design knowing the truth, "
        "vs uniform | arenas where adaptive needed fewer votes than uniform / than variance rule "
        "| arenas not there by the cap (uniform / variance / adaptive) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in sizes:
        for c, criterion in enumerate(CRITERIA):
            med = {r: float(np.median(results[(m, r)][:, c])) for r in RULES}
            censored = " / ".join(str(int((results[(m, r)][:, c] >= caps[m]).sum())) for r in RULES)
            vs_uniform = med["adaptive"] / med["uniform"] - 1.0
            vs_variance = med["adaptive"] / med["variance"] - 1.0
            bound = f"{bounds[m] - 1.0:+.0%}" if criterion == "width30" else "-"
            ours = results[(m, "adaptive")][:, c]
            fewer = (
                f"{(ours < results[(m, 'uniform')][:, c]).mean():.0%} / "
                f"{(ours < results[(m, 'variance')][:, c]).mean():.0%}"
            )
            lines.append(
                f"| {m} | {CRITERION_NAMES[criterion]} | {med['uniform']:,.0f} "
                f"| {med['variance']:,.0f} | {med['adaptive']:,.0f} | {vs_uniform:+.0%} "
                f"| {vs_variance:+.0%} | {bound} | {fewer} | {censored} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="6,12,20,30", help="numbers of systems, comma-separated")
    parser.add_argument("--arenas", type=int, default=50, help="arenas per size (median over them)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--batch-per-system", type=int, default=10, help="K = this x systems")
    parser.add_argument("--cap-per-system", type=int, default=20_000, help="vote cap per system")
    parser.add_argument("--spread", type=float, default=100.0, help="rating sd, points")
    parser.add_argument("--min-gap", type=float, default=20.0, help="top-four gaps, points")
    parser.add_argument("--tune", action="store_true", help="grid over the adaptive settings")
    parser.add_argument("--grid", default="fourth", choices=sorted(TUNING_GRID))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    caps = {m: args.cap_per_system * m for m in sizes}
    if args.tune:
        seeds = range(1000 if args.first_seed == 0 else args.first_seed, 1000 + args.arenas)
        base = SchedulerConfig()
        grid = {
            f"focus {f:g} on {r or 'all'} ranks, sharpness {s:g}, per se {p}": replace(
                base, focus=f, sharpness=s, focus_ranks=r, per_se=p
            )
            for f, s, r, p in TUNING_GRID[args.grid]
        }
        configs = {r: SchedulerConfig(rule=r) for r in ("uniform", "variance")} | grid
        results = run_grid(sizes, seeds, configs, args)
        for name in configs:
            ratio = [
                np.median(results[(m, name)][:, c]) / np.median(results[(m, "uniform")][:, c])
                for m in sizes
                for c in range(len(CRITERIA))
            ]
            print(
                f"{name}: median votes / uniform's, per size (top three, width): "
                + ", ".join(f"{x:.2f}" for x in ratio)
                + f"; worst {max(ratio):.2f}"
            )
        return
    seeds = range(args.first_seed, args.first_seed + args.arenas)
    configs = {r: SchedulerConfig(rule=r) for r in RULES}
    start = time.perf_counter()
    results = run_grid(sizes, seeds, configs, args)
    print(
        f"{args.arenas} arenas per size (seeds {seeds.start}-{seeds.stop - 1}), checks every "
        f"{args.batch_per_system} x systems votes, cap {args.cap_per_system:,} x systems votes, "
        f"{time.perf_counter() - start:.0f} s\n"
    )
    bounds = {
        m: float(
            np.median(
                [
                    width_bound(make_arena(seed, m, args.spread, args.min_gap).theta)
                    for seed in seeds
                ]
            )
        )
        for m in sizes
    }
    print(table(results, sizes, caps, bounds))


if __name__ == "__main__":
    main()
