"""Cached, read-only loaders for the pages: one module per stage, the cache in `cache`.

Every loader goes through the same Store methods and stage `persist` functions the CLI uses;
pages call them as `loaders.<stage>.<loader>(app, ...)`.
"""

from dashboard.loaders import cache, coding, inference, ranking, raters, taxonomy, workspace

__all__ = ["cache", "coding", "inference", "ranking", "raters", "taxonomy", "workspace"]
