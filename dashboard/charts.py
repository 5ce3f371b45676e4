"""Charts shared by the pages: one place for the "estimate with its interval" row chart.

Ratings with their CIs (Leaderboard), Kendall τ and regression coefficients (Benchmarks), win
and loss-reason shares per cluster (Use cases) all draw one row per label: the interval as a
rule from `low` to `high`, the estimate as a point on it.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

RATING_AXIS = "rating (Elo scale), 95% CI"


def interval_tooltips(estimate: str, number_format: str) -> list[alt.Tooltip]:
    """Hover text of an estimate with its interval (`ci_low`, `ci_high`), in one number format."""
    return [
        alt.Tooltip(f"{name}:Q", format=number_format) for name in (estimate, "ci_low", "ci_high")
    ]


#: hover text of a rating point: model, rank, rating with its CI, votes
RATING_TOOLTIP = ["model", "rank", *interval_tooltips("rating", ".0f"), "votes"]


def interval_chart(
    frame: pd.DataFrame,
    *,
    label: str,
    estimate: str,
    x_title: str,
    low: str = "ci_low",
    high: str = "ci_high",
    order: list[str] | alt.EncodingSortField | None = None,
    x_scale: alt.Scale | None = None,
    x_format: str | None = None,
    colour: alt.Color | None = None,
    point_colour: Any = None,
    offset: alt.YOffset | str | None = None,
    shape: alt.Shape | None = None,
    tooltip: list | None = None,
    step: int = 26,
    point_size: int = 80,
    rule: dict[str, Any] | None = None,
    reference: float | None = None,
) -> alt.Chart:
    """One row per `label` (in `order`, whole names up to 320 px): a rule from `low` to `high`
    and a filled point at `estimate`.

    `colour` colours rules and points (e.g. one colour per cluster, with `offset` putting the
    groups side by side in a row); `point_colour` colours only the points; `rule` holds the
    rule's mark properties (default: 3 px, 60% opaque); `reference` draws a dashed vertical
    line there (e.g. 0 for coefficients)."""
    encoding: dict[str, Any] = {
        "y": alt.Y(f"{label}:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    }
    if colour is not None:
        encoding["color"] = colour
    if offset is not None:
        encoding["yOffset"] = offset
    base = alt.Chart(frame).encode(**encoding)
    axis = alt.Axis(format=x_format) if x_format else alt.Undefined
    rules = base.mark_rule(
        **(rule if rule is not None else {"strokeWidth": 3, "opacity": 0.6})
    ).encode(
        x=alt.X(f"{low}:Q", title=x_title, scale=x_scale or alt.Undefined, axis=axis),
        x2=f"{high}:Q",
    )
    marks: dict[str, Any] = {"x": f"{estimate}:Q"}
    if point_colour is not None:
        marks["color"] = point_colour
    if shape is not None:
        marks["shape"] = shape
    if tooltip is not None:
        marks["tooltip"] = tooltip
    points = base.mark_point(filled=True, size=point_size).encode(**marks)
    layers = [rules, points]
    if reference is not None:
        line = (
            alt.Chart(pd.DataFrame({"x": [reference]}))
            .mark_rule(strokeDash=[4, 4], color="gray")
            .encode(x="x:Q")
        )
        layers.insert(0, line)
    return alt.layer(*layers).properties(height=alt.Step(step))


# -- map labels -------------------------------------------------------------------------------
LABEL_FONT_PX = 11
CHAR_WIDTH = 0.62  # average glyph width of the default sans-serif, in font sizes (a safe upper end)


def label_box(text: str, font_px: int = LABEL_FONT_PX) -> tuple[float, float]:
    """(width, height) in pixels that a one-line label of `text` takes (an upper estimate)."""
    return len(text) * font_px * CHAR_WIDTH + 6, font_px + 6


def place_labels(
    centres: pd.DataFrame,
    width: int,
    height: int,
    *,
    domain_x: tuple[float, float],
    domain_y: tuple[float, float],
    font_px: int = LABEL_FONT_PX,
    limit: int = 30,
) -> pd.DataFrame:
    """Greedy, largest first: each label (column `label`, at `x`, `y`, sized by `size`) goes at
    its cluster's centre or just above, below, right or left of it, at the first spot whose box
    stays inside the plot and overlaps no label placed before; a label with no free spot is left
    off (the cluster keeps its hover). Returns the placed rows with `lx`, `ly` (data units) and
    the pixel box `left, top, right, bottom`."""
    x0, x1 = domain_x
    y0, y1 = domain_y
    sx = width / ((x1 - x0) or 1.0)
    sy = height / ((y1 - y0) or 1.0)
    placed: list[tuple[float, float, float, float]] = []
    rows = []
    for row in centres.sort_values("size", ascending=False).itertuples(index=False):
        if len(rows) >= limit:
            break
        w, h = label_box(str(row.label), font_px)
        px, py = (row.x - x0) * sx, (y1 - row.y) * sy  # pixels, y downwards
        for dx, dy in ((0, 0), (0, -h), (0, h), (w / 2 + 4, 0), (-w / 2 - 4, 0)):
            box = (px + dx - w / 2, py + dy - h / 2, px + dx + w / 2, py + dy + h / 2)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
            if inside and not any(
                box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed
            ):
                placed.append(box)
                rows.append(
                    {
                        **row._asdict(),
                        "lx": x0 + (px + dx) / sx,
                        "ly": y1 - (py + dy) / sy,
                        "left": box[0],
                        "top": box[1],
                        "right": box[2],
                        "bottom": box[3],
                    }
                )
                break
    columns = [*centres.columns, "lx", "ly", "left", "top", "right", "bottom"]
    return pd.DataFrame(rows, columns=columns)
