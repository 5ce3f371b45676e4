"""Pure helpers behind the Annotate page: the queue's cursor and the highlighted feedback.

No Streamlit here, so the rules (which item comes next, how evidence is marked up safely)
are testable on their own; the page only renders what these return.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from arenalens import display

# Keys bound on the Annotate page (Streamlit button shortcuts; C and R are reserved by it).
SAVE_KEY = "Enter"
SKIP_KEY = "S"
NEXT_KEY = "J"
PREVIOUS_KEY = "K"
# the arrow keys move too (a page script presses Next/Previous; KeyboardEvent.key names)
NEXT_ARROW = "ArrowRight"
PREVIOUS_ARROW = "ArrowLeft"
MAX_CODE_KEYS = 10  # codes get keys 1-9, then 0 (the codebook's ten); any further: the mouse
# side and polarity of the code last switched on (a page script clicks the choice)
SIDE_KEYS = {"P": "preferred", "X": "rejected", "B": "both", "U": "unclear"}
POLARITY_KEYS = {"+": "positive", "-": "negative"}
# what a side says about polarity: praise of the preferred answer, criticism of the rejected
IMPLIED_POLARITY = {"preferred": "positive", "rejected": "negative"}
# a code switched on by hand starts as a loss reason: about the rejected answer, negative
DEFAULT_SIDE, DEFAULT_POLARITY = "rejected", "negative"


def consistent(side: str | None, polarity: str | None) -> tuple[str | None, str | None]:
    """A side and polarity that do not contradict each other ('preferred' with 'negative'
    becomes 'preferred' with 'positive'): the side decides where it implies a polarity."""
    side, polarity = side or None, polarity or None
    return side, IMPLIED_POLARITY.get(side or "", polarity)


def start_attributes(prefill: dict | None) -> tuple[str, str]:
    """The side and polarity a code's row starts with: the saved or machine answer made
    consistent, else the loss-reason default (rejected, negative)."""
    side, polarity = consistent((prefill or {}).get("side"), (prefill or {}).get("polarity"))
    return side or DEFAULT_SIDE, polarity or IMPLIED_POLARITY.get(side or "", DEFAULT_POLARITY)


def code_key(index: int) -> str | None:
    """The number key toggling the code at `index` (0-based): 1-9, then 0 for the tenth (as on
    the keyboard's number row), or None past it."""
    return str((index + 1) % 10) if index < MAX_CODE_KEYS else None


# -- the queue's cursor ----------------------------------------------------------
def next_open(
    order: Sequence[str], done: Iterable[str], skipped: Iterable[str], after: str | None = None
) -> str | None:
    """The next item to annotate after `after` (wrapping round): not done and not skipped;
    when only skipped items are left they come back; None when every item is done."""
    done, skipped = set(done), set(skipped)
    if not order:
        return None
    start = order.index(after) + 1 if after in order else 0
    rotated = [*order[start:], *order[:start]]
    for wanted in (
        lambda i: i not in done and i not in skipped,
        lambda i: i not in done and i != after,
        lambda i: i not in done,
    ):
        found = next((item for item in rotated if wanted(item)), None)
        if found is not None:
            return found
    return None


def step(order: Sequence[str], current: str | None, delta: int) -> str | None:
    """The item `delta` places from `current` in queue order (clamped to the ends)."""
    if not order:
        return None
    if current not in order:
        return order[0]
    index = min(max(order.index(current) + delta, 0), len(order) - 1)
    return order[index]


# -- the feedback with the machine's evidence marked ------------------------------
@dataclass(frozen=True)
class Span:
    """A stretch of the feedback text and the codes whose evidence covers it (none: plain)."""

    text: str
    codes: tuple[str, ...] = ()


def evidence_spans(text: str, evidence: Sequence[tuple[str, str]]) -> list[Span]:
    """Split `text` into plain and evidence stretches; `evidence` is (code, quoted text).

    Evidence is found verbatim (else ignoring case); overlapping evidence of several codes
    is merged into one stretch naming all of them; evidence not in the text is left out.
    """
    marks: list[tuple[int, int, str]] = []
    for code, quote in evidence:
        quote = (quote or "").strip()
        if not quote:
            continue
        start = text.find(quote)
        if start >= 0:
            marks.append((start, start + len(quote), code))
        elif found := re.search(re.escape(quote), text, re.IGNORECASE):
            marks.append((found.start(), found.end(), code))
    cuts = sorted({0, len(text), *(m[0] for m in marks), *(m[1] for m in marks)})
    spans: list[Span] = []
    for begin, end in zip(cuts, cuts[1:], strict=False):
        codes = tuple(
            dict.fromkeys(code for lo, hi, code in sorted(marks) if lo <= begin and end <= hi)
        )
        if spans and spans[-1].codes == codes:
            spans[-1] = Span(spans[-1].text + text[begin:end], codes)
        else:
            spans.append(Span(text[begin:end], codes))
    return spans


# Styling of the feedback box (our markup only; st.html it once per page that shows one).
FEEDBACK_CSS = """<style>
.al-feedback { white-space: pre-wrap; max-height: 7.5em; overflow-y: auto; padding: .45rem .6rem;
  border: 1px solid rgba(49, 51, 63, .2); border-radius: .5rem; line-height: 1.45; }
.al-feedback mark { background: #ffe08a; padding: 0 .1em; border-radius: .2em; }
.al-feedback sup.al-code { font-size: .68em; color: #8a6100; margin: 0 .25em 0 .1em; }
</style>"""


def highlighted_html(text: str, evidence: Sequence[tuple[str, str]]) -> str:
    """The feedback as HTML: every character of user text escaped, evidence in <mark> tags
    titled with its codes in words (the only markup added is ours)."""
    parts = []
    for span in evidence_spans(text, evidence):
        body = html.escape(span.text)
        if span.codes:
            names = html.escape(", ".join(display.display_name(c) for c in span.codes))
            parts.append(
                f'<mark title="machine evidence: {names}">{body}</mark>'
                f'<sup class="al-code">{names}</sup>'
            )
        else:
            parts.append(body)
    return f'<div class="al-feedback">{"".join(parts)}</div>'


# -- agreement: how much a kappa can be trusted -------------------------------------
MIN_KAPPA_ITEMS = 20  # below this a kappa (and its bootstrap CI) says little


def kappa_reliability(per_code: pd.DataFrame, min_items: int = MIN_KAPPA_ITEMS) -> pd.DataFrame:
    """Per code: whether its kappa rests on enough items and whether its CI says anything.

    Adds `few_items` (n below `min_items`), `ci_degenerate` (a bootstrap CI of zero width,
    e.g. [1, 1] when every resample agreed: no evidence of certainty) and `reading`, one
    plain line for the table.
    """
    frame = per_code.copy()
    n = frame["n"].fillna(0).astype(int)
    low, high = frame["kappa_low"], frame["kappa_high"]
    frame["few_items"] = n < min_items
    frame["ci_degenerate"] = low.notna() & high.notna() & ((high - low).abs() < 1e-9)
    readings = []
    for row in frame.itertuples():
        if pd.isna(row.kappa):
            readings.append("no κ (too few items, or one label only)")
        elif row.few_items:
            readings.append(f"only {row.n} items: too few to judge (need ≥{min_items})")
        elif row.ci_degenerate or pd.isna(row.kappa_low):
            readings.append("CI not informative (resamples all alike)")
        else:
            readings.append(f"95% CI {row.kappa_low:.2f} to {row.kappa_high:.2f}")
    frame["reading"] = readings
    return frame
