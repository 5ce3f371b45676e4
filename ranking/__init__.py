"""Ranking stage: Bradley–Terry leaderboards with honest uncertainty, and benchmarks vs preferences.

Entry points: `ranking.leaderboard.rank_votes` (votes -> leaderboard), `ranking.slices.rank_slices`,
`ranking.regression.regress_preferences`; CLI `arenalens rank` / `arenalens regress`;
stored results via `ranking.persist.ratings_frame` / `win_rates_frame` / `regression_terms_frame`.
"""
