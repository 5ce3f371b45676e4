"""Vote simulators shared by the ranking tests (known strengths in, votes out)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit


def simulate_votes(
    theta: np.ndarray,
    n_votes: int,
    rng: np.random.Generator,
    nu: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Votes (model names A, B and A's score) from Davidson's model; nu = 0 gives plain BT."""
    m = len(theta)
    names = np.array([f"m{k}" for k in range(m)], dtype=object)
    a = rng.integers(0, m, n_votes)
    b = (a + rng.integers(1, m, n_votes)) % m
    d = theta[a] - theta[b]
    if nu == 0.0:
        score = (rng.random(n_votes) < expit(d)).astype(float)
    else:
        win_a, tie, win_b = np.exp(d / 2), np.full(n_votes, nu), np.exp(-d / 2)
        total = win_a + tie + win_b
        u = rng.random(n_votes) * total
        score = np.where(u < win_a, 1.0, np.where(u < win_a + tie, 0.5, 0.0))
    return names[a], names[b], score


def simulate_user_votes(
    theta: np.ndarray,
    n_users: int,
    votes_per_user: int,
    rng: np.random.Generator,
    taste_sd: float = 0.6,
    side_sd: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Votes from users with their own biases: a taste per model (some users always like one
    model's style) and a side preference (some users mostly pick A). Returns A, B, score, user."""
    m = len(theta)
    names = np.array([f"m{k}" for k in range(m)], dtype=object)
    user = np.repeat(np.arange(n_users), votes_per_user)
    n = len(user)
    taste = rng.normal(0.0, taste_sd, (n_users, m))
    side = rng.normal(0.0, side_sd, n_users)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    eta = theta[a] - theta[b] + taste[user, a] - taste[user, b] + side[user]
    score = (rng.random(n) < expit(eta)).astype(float)
    return names[a], names[b], score, user.astype(str).astype(object)


def population_strengths(
    theta: np.ndarray, taste_sd: float = 0.6, side_sd: float = 1.0, draws: int = 400_000
) -> np.ndarray:
    """The Bradley–Terry strengths the user-biased population converges to (the CI target):
    a BT fit to the expected win rates of every ordered pair, averaged over users' biases."""
    from scipy.optimize import minimize
    from scipy.special import log_expit

    rng = np.random.default_rng(123)
    m = len(theta)
    noise = rng.normal(0.0, 1.0, draws) * np.sqrt(2 * taste_sd**2 + side_sd**2)
    i, j = np.where(~np.eye(m, dtype=bool))
    p = np.array([expit(theta[a] - theta[b] + noise).mean() for a, b in zip(i, j, strict=True)])

    def loss(x: np.ndarray) -> float:
        d = x[i] - x[j]
        return -(p * log_expit(d) + (1 - p) * log_expit(-d)).sum() + x.sum() ** 2

    fitted = minimize(loss, np.zeros(m), method="BFGS", options={"gtol": 1e-10}).x
    return fitted - fitted.mean()
