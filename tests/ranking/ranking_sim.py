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
