"""`rank --where EXPR`: a small, safe, pandas-query-like filter over vote fields and metadata.

The expression is parsed with Python's `ast` and evaluated column-wise on a DataFrame; only
names, constants, lists, comparisons (==, !=, <, <=, >, >=, in, not in), arithmetic (+ - * /)
and boolean logic (and/or/not, &, |, ~) are allowed, so nothing in it can run code.
A vote whose referenced field is missing does not match, and is counted apart.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ranking.errors import RankingError

COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass
class WhereResult:
    """Which rows match, and how many votes were left out for which reason."""

    mask: np.ndarray
    missing: dict[str, int]  # field -> votes left out because they lack it
    not_matching: int  # votes that have every field but do not match

    def excluded(self, expression: str) -> dict[str, int]:
        """reason -> votes left out, e.g. {'lack language': 3, "do not match 'x > 1'": 40}."""
        out = {f"lack {field}": n for field, n in self.missing.items() if n}
        if self.not_matching:
            out[f"do not match {expression!r}"] = self.not_matching
        return out


def parse_where(expression: str) -> ast.Expression:
    """Parse and validate EXPR; raises RankingError naming what is not allowed."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise RankingError(f"--where {expression!r}: not a valid expression ({exc.msg})") from exc
    allowed = (
        ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Invert,
        ast.Compare, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.BinOp,
        ast.BitAnd, ast.BitOr, *COMPARE, *ARITHMETIC, ast.In, ast.NotIn,
    )  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise RankingError(
                f"--where {expression!r}: {type(node).__name__} is not allowed; use field names, "
                "numbers, 'strings', comparisons, in [...], and/or/not"
            )
    return tree


def where_fields(expression: str) -> list[str]:
    """Field names that EXPR refers to, in order of first use."""
    names = [n.id for n in ast.walk(parse_where(expression)) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(n for n in names if n not in ("True", "False", "None")))


def _numeric_if_possible(values: pd.Series) -> pd.Series:
    """Numbers stored as text (PostgreSQL's ->> returns text) become numbers; others stay."""
    converted = pd.to_numeric(values, errors="coerce")
    if converted.notna().sum() == values.notna().sum():
        return converted
    return values


def evaluate_where(
    frame: pd.DataFrame, expression: str, weights: np.ndarray | None = None
) -> WhereResult:
    """Rows of `frame` matching EXPR (columns are fields); missing fields never match."""
    tree = parse_where(expression)
    fields = where_fields(expression)
    unknown = [f for f in fields if f not in frame.columns]
    if unknown:
        raise RankingError(
            f"--where {expression!r}: no vote has {', '.join(unknown)}; "
            f"available: {', '.join(sorted(map(str, frame.columns)))}"
        )
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, float)
    columns = {f: _numeric_if_possible(frame[f].reset_index(drop=True)) for f in fields}

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return columns[node.id]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            return [value(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp):
            inner = value(node.operand)
            if isinstance(node.op, ast.USub):
                return -inner
            return ~_boolean(inner)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.BitAnd | ast.BitOr):
                left, right = _boolean(value(node.left)), _boolean(value(node.right))
                return left & right if isinstance(node.op, ast.BitAnd) else left | right
            try:
                return ARITHMETIC[type(node.op)](value(node.left), value(node.right))
            except TypeError as exc:
                raise RankingError(f"--where {expression!r}: arithmetic on non-numbers") from exc
        if isinstance(node, ast.BoolOp):
            parts = [_boolean(value(v)) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = out & p if isinstance(node.op, ast.And) else out | p
            return out
        if isinstance(node, ast.Compare):
            left = value(node.left)
            out = None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = value(right_node)
                out_k = _compare(op, left, right, expression)
                out = out_k if out is None else out & out_k
                left = right
            return out
        raise RankingError(f"--where {expression!r}: cannot evaluate {type(node).__name__}")

    result = _boolean(value(tree.body))
    if isinstance(result, pd.Series):
        result = result.fillna(False)
    mask = np.asarray(result, dtype=bool)
    if mask.ndim == 0:
        mask = np.full(len(frame), bool(mask))
    missing: dict[str, int] = {}
    lacking_any = np.zeros(len(frame), bool)
    for f in fields:
        lacks = columns[f].isna().to_numpy() & ~lacking_any
        missing[f] = int(round(w[lacks & ~mask].sum()))
        lacking_any |= columns[f].isna().to_numpy()
    not_matching = int(round(w[~mask & ~lacking_any].sum()))
    return WhereResult(mask, missing, not_matching)


def _boolean(values: Any) -> Any:
    """Nullable booleans: a comparison with a missing field is unknown (Kleene logic, as SQL)."""
    if isinstance(values, pd.Series):
        return values.astype("boolean")
    return values


def _compare(op: ast.cmpop, left: Any, right: Any, expression: str) -> Any:
    if isinstance(op, ast.In | ast.NotIn):
        if not isinstance(right, list):
            raise RankingError(
                f"--where {expression!r}: 'in' needs a list, e.g. lang in ['en', 'th']"
            )
        if not isinstance(left, pd.Series):
            return (left in right) == isinstance(op, ast.In)
        hit = left.isin(right).astype("boolean")
        if isinstance(op, ast.NotIn):
            hit = ~hit
        hit[left.isna()] = pd.NA
        return hit
    try:
        out = COMPARE[type(op)](left, right)
    except TypeError as exc:
        raise RankingError(
            f"--where {expression!r}: cannot compare {_kind(left)} with {_kind(right)}"
        ) from exc
    if isinstance(out, pd.Series):
        out = out.astype("boolean")
        for side in (left, right):
            if isinstance(side, pd.Series):
                out[side.isna().to_numpy()] = pd.NA
    return out


def _kind(value: Any) -> str:
    if isinstance(value, pd.Series):
        return "numbers" if pd.api.types.is_numeric_dtype(value) else "text"
    return type(value).__name__
