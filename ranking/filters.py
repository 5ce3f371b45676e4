"""`rank --where EXPR`: a small, safe, pandas-query-like filter over vote fields and metadata.

The expression is parsed with Python's `ast` and evaluated column-wise on a DataFrame; only
names, literals (text, numbers, lists after `in`), comparisons (==, !=, <, <=, >, >=, in, not in)
and boolean logic (and/or/not, &, |, ~) are allowed, with bounded sizes, so nothing in it can run
code, divide by zero or allocate more than the expression itself.
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
#: Bounds on what an expression may ask for, so no filter can exhaust memory or the parser.
MAX_EXPRESSION_CHARS = 20_000
MAX_LITERAL_CHARS = 200
MAX_LIST_ITEMS = 1000
MAX_NESTING = 20
HINT = "use field names, numbers, 'strings', comparisons, in [...], and/or/not"


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


def _shown(expression: str) -> str:
    """EXPR as an error message quotes it: whole when short, else its start and its length."""
    if len(expression) <= 80:
        return repr(expression)
    return f"{expression[:60]!r}... ({len(expression):,} characters)"


def parse_where(expression: str) -> ast.Expression:
    """Parse and validate EXPR; raises RankingError naming what is not allowed.

    The grammar: a condition is a comparison (`field == 'x'`, `a < b < 3`, `f in [...]`), or
    conditions joined by and/or/&/| or negated by not/~; a comparison's sides are field names
    and literals (text, numbers, True/False/None, a list of literals after `in`). Nothing else:
    no arithmetic, calls or attributes, and bounded lengths and nesting."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise RankingError(
            f"--where {_shown(expression)}: longer than {MAX_EXPRESSION_CHARS:,} characters"
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else "nested too deeply"
        raise RankingError(
            f"--where {_shown(expression)}: not a valid expression ({reason})"
        ) from None
    _check_condition(tree.body, expression, depth=0)
    return tree


#: How a refused construct is named to the person who wrote it.
CONSTRUCTS = {
    ast.Call: "calling a function",
    ast.Attribute: "an attribute (.name)",
    ast.Subscript: "indexing ([...])",
    ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.Lambda: "a lambda",
    ast.IfExp: "if/else",
    ast.NamedExpr: "an assignment (:=)",
    ast.JoinedStr: "an f-string",
    ast.Constant: "a literal alone",
    ast.Dict: "a dict",
    ast.Set: "a set",
}


def _refuse(expression: str, node: ast.AST, what: str | None = None) -> RankingError:
    what = what or f"{CONSTRUCTS.get(type(node), 'this construct')} is not allowed"
    return RankingError(f"--where {_shown(expression)}: {what}; {HINT}")


def _check_condition(node: ast.AST, expression: str, depth: int) -> None:
    """`node` is a condition: a comparison or a boolean combination of conditions."""
    if depth > MAX_NESTING:
        raise _refuse(expression, node, f"nested deeper than {MAX_NESTING} levels")
    if isinstance(node, ast.BoolOp):
        for part in node.values:
            _check_condition(part, expression, depth + 1)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
        _check_condition(node.operand, expression, depth + 1)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr):
        _check_condition(node.left, expression, depth + 1)
        _check_condition(node.right, expression, depth + 1)
    elif isinstance(node, ast.Compare):
        _check_value(node.left, expression)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.List | ast.Tuple):
                _check_list(right, expression)
            elif type(op) in COMPARE or isinstance(op, ast.In | ast.NotIn):
                _check_value(right, expression)
            else:  # `is`, `is not`
                raise _refuse(expression, node, "'is' is not allowed (use ==)")
    elif isinstance(node, ast.Name):
        raise _refuse(expression, node, f"{node.id} alone is not a condition (compare it)")
    elif isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC_NAMES:
        raise _refuse(expression, node, "arithmetic is not allowed")
    else:
        raise _refuse(expression, node)


ARITHMETIC_NAMES = {
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult,
    ast.LShift, ast.RShift, ast.BitXor,
}  # fmt: skip


def _check_value(node: ast.AST, expression: str) -> None:
    """`node` is one side of a comparison: a field name or a literal."""
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.Constant):
        _check_literal(node, expression)
        return
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and _is_number(node.operand.value)
    ):
        _check_literal(node.operand, expression)
        return
    if isinstance(node, ast.List | ast.Tuple):
        raise _refuse(expression, node, "a list belongs only after 'in' or 'not in'")
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC_NAMES:
        raise _refuse(expression, node, "arithmetic is not allowed")
    raise _refuse(expression, node)


def _check_list(node: ast.List | ast.Tuple, expression: str) -> None:
    if len(node.elts) > MAX_LIST_ITEMS:
        raise _refuse(expression, node, f"a list longer than {MAX_LIST_ITEMS:,} items")
    for element in node.elts:
        if isinstance(element, ast.Name):
            raise _refuse(expression, element, "a list after 'in' holds literals, not fields")
        _check_value(element, expression)


def _check_literal(node: ast.Constant, expression: str) -> None:
    value = node.value
    if not (value is None or isinstance(value, str | bool) or _is_number(value)):
        raise _refuse(expression, node, f"the literal {type(value).__name__} is not allowed")
    if isinstance(value, str) and len(value) > MAX_LITERAL_CHARS:
        raise _refuse(expression, node, f"a text longer than {MAX_LITERAL_CHARS} characters")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
            if isinstance(node.op, ast.USub | ast.UAdd):  # only on a number literal
                return -inner if isinstance(node.op, ast.USub) else inner
            return ~_boolean(inner)
        if isinstance(node, ast.BinOp):  # & and |: parse_where admits no other operator
            left, right = _boolean(value(node.left)), _boolean(value(node.right))
            return left & right if isinstance(node.op, ast.BitAnd) else left | right
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
