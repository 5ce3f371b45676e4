"""Masking of personal details in text shown to people (dashboard, `taxonomy show`, exports
meant for sharing): e-mail addresses, card numbers, IBANs, phone numbers, IP addresses, URLs
with a query string, secret-looking tokens and long digit runs become placeholders. The same
rule covers text *derived* from user text (cluster names, keywords, descriptions, candidate
reasons): `is_personal_data` keeps such tokens out of keywords, and `mask_derived_columns`
masks names and drops personal keywords at every output. The stored data is never changed;
`privacy_mask_pii` turns the masking of shown text off."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

_SEP = r"[ \-]"
# Order matters: an e-mail or URL may contain digits that the later patterns would mask.
PII_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[email]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("[url]", re.compile(r"(?:https?://|www\.)[^\s?#]+\?\S+", re.IGNORECASE)),
    # DE89 3704 0044 0532 0130 00, GB82WEST12345698765432: country, check digits, 11-30 more
    (
        "[iban]",
        re.compile(
            r"(?<!\w)[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?!\w)"
        ),
    ),
    # 4111 1111 1111 1111, 4111-1111-1111-1111, 378282246310005: 13 to 19 digits, Luhn-valid
    ("[card]", re.compile(rf"(?<![\w+])\d(?:{_SEP}?\d){{12,18}}(?![\w])")),
    ("[ip]", re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")),
    # API keys, session tokens, hashes: 20+ letters and digits (both) in one run
    ("[token]", re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{20,}(?![\w-])")),
    # +44 20 7946 0958, (555) 123-4567, 415-555-1234: 8 to 15 digits with separators
    ("[phone]", re.compile(r"(?<![\w+])\+?(?:\(?\d[\d().\- ]{6,}\d)(?!\w)")),
    ("[number]", re.compile(r"\d{7,}")),
)
PLACEHOLDERS = frozenset(placeholder for placeholder, _ in PII_PATTERNS)
_ANY_DIGIT_OR_AT = re.compile(r"[\d@?]")
_URL_START = r"(?i)https?://|www\."  # where a masked URL starts (the "[url]" pattern)
# a digit as the patterns' `\d` means it (any Unicode decimal digit), spelled for Python's re
# and for RE2 (pyarrow-backed text; RE2 documents its own `\d` as 0-9 only)
_DIGIT = {False: r"\d", True: r"\p{Nd}"}
_LONG_RUN = r"[A-Za-z0-9_-]{20,}"  # where a token may be (RE2-safe)
# dates and year ranges look like phone numbers but are not personal: 2024-01-15, 2020-2021
_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{4} ?- ?\d{4}")
_ANY_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+|mailto:\S+", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_MAYBE_PERSONAL = re.compile(r"[\d@:/\[.]")  # what any personal term holds at least one of
# any run of digits and separators with 5+ digits: an account, order or card number to a keyword
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/]*\d){4,}")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _iban_valid(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[2:4].isdigit():
        return False
    moved = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1
    except ValueError:
        return False


def _card_like(match: re.Match[str]) -> str:
    digits = "".join(ch for ch in match.group(0) if ch.isdigit())
    return "[card]" if digits.isascii() and _luhn_valid(digits) else match.group(0)


def _iban_like(match: re.Match[str]) -> str:
    return "[iban]" if _iban_valid(match.group(0)) else match.group(0)


def _ip_like(match: re.Match[str]) -> str:
    parts = match.group(0).split(".")
    return "[ip]" if all(int(p) <= 255 for p in parts) else match.group(0)


def _phone_like(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if not 8 <= digits <= 15 or _DATE_LIKE.fullmatch(found.strip()):
        return found
    return "[phone]"


_CHECKS = {"[card]": _card_like, "[iban]": _iban_like, "[ip]": _ip_like, "[phone]": _phone_like}


def mask_pii(text: str) -> str:
    """`text` with e-mails, IBANs, card numbers, IP addresses, tokens, phone numbers, URLs with
    query strings and 7+ digit runs masked."""
    if not isinstance(text, str) or not _ANY_DIGIT_OR_AT.search(text):
        return text
    for placeholder, pattern in PII_PATTERNS:
        text = pattern.sub(_CHECKS.get(placeholder, placeholder), text)
    return text


def is_personal_data(term: str) -> bool:
    """Whether a keyword or name part is (or holds) a personal detail: anything `mask_pii`
    masks, a placeholder, a URL, an id-like word (letters with 3+ digits, e.g. abc123) or a
    run of 5+ digits. Such terms never become keywords or names."""
    text = str(term)
    if not _MAYBE_PERSONAL.search(text):  # most terms: letters and spaces only
        return False
    if mask_pii(text) != text or _ANY_URL.search(text) or any(p in text for p in PLACEHOLDERS):
        return True
    for word in _WORD.findall(text):
        digits = sum(ch.isdigit() for ch in word)
        if digits >= 5 or (digits >= 3 and digits < len(word)):
            return True
    return False


def text_for_keywords(text: str) -> str:
    """`text` without personal details and links (placeholders dropped too), for keyword
    extraction: neither "4111", "john" (of john@x.org) nor "https" can become a keyword."""
    text = str(text)
    if ":" in text or "www." in text.lower():
        text = _ANY_URL.sub(" ", text)
    if not _ANY_DIGIT_OR_AT.search(text):  # most texts: nothing more to take out
        return text
    masked = _DIGIT_RUN.sub(" ", mask_pii(text))
    if "[" in masked:
        for placeholder in PLACEHOLDERS:
            masked = masked.replace(placeholder, " ")
    return masked


def safe_keywords(keywords: Sequence[str] | None) -> list[str]:
    """`keywords` without the personal ones (order kept)."""
    return [k for k in (keywords or []) if isinstance(k, str) and not is_personal_data(k)]


def safe_derived_text(text: str) -> str:
    """A name, description or candidate reason derived from user text, personal details masked."""
    return mask_pii(text) if isinstance(text, str) else text


# Columns of text derived from user text (names, descriptions); keywords are filtered instead.
DERIVED_TEXT_COLUMNS = ["name", "auto_name", "parent_name", "description", "cluster_name"]
KEYWORD_COLUMNS = ["keywords"]


def mask_derived_columns(
    frame: pd.DataFrame, columns: Sequence[str] = (), enabled: bool = True
) -> pd.DataFrame:
    """A copy of `frame` with derived names/descriptions (DERIVED_TEXT_COLUMNS plus `columns`)
    masked and personal keywords dropped from KEYWORD_COLUMNS."""
    if not enabled or frame.empty:
        return frame
    out = mask_columns(frame, [*DERIVED_TEXT_COLUMNS, *columns])
    present = [c for c in KEYWORD_COLUMNS if c in out.columns]
    if present:
        out = out.copy() if out is frame else out
        for column in present:
            out[column] = out[column].map(_safe_keyword_value)
    return out


def _safe_keyword_value(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return safe_keywords(value)
    if isinstance(value, str):
        return ", ".join(safe_keywords(value.split(", ")))
    return value


def mask_columns(frame: pd.DataFrame, columns: list[str], enabled: bool = True) -> pd.DataFrame:
    """A copy of `frame` with `mask_pii` applied to the text (or list-of-text) `columns` present."""
    present = [c for c in columns if c in frame.columns]
    if not enabled or frame.empty or not present:
        return frame
    out = frame.copy()
    for column in present:
        out[column] = _mask_series(out[column])
    return out


def _mask_series(values: pd.Series) -> pd.Series:
    """`values` masked. A text column is first narrowed, in vectorised passes, to the values
    that can hold a detail (an '@'; a '?' after http:// or www.; 7 or more digits; 4 or more
    digits and a dot between two; a digit and a 20+ character run), ~2% of real text: value by value, 100k queries and their
    two responses took 1.7 s."""
    if not isinstance(values.dtype, pd.StringDtype):  # lists of text, mixed objects
        return values.map(_mask_value)
    text = values.str
    digit = _DIGIT[values.dtype.storage == "pyarrow"]
    digits = text.count(digit).fillna(0)
    candidates = (
        text.contains("@", regex=False, na=False)
        | (text.contains("?", regex=False, na=False) & text.contains(_URL_START, na=False))
        | (digits >= 7)
    )
    # an IP address (4+ digits and dots) or a token (a digit in a 20+ character run): checked
    # only on the few values with some digits (a regex over every value took 6 s per 300k)
    some = (digits >= 1) & ~candidates
    if some.any():
        few = values[some].str
        candidates[some] = (few.contains(rf"{digit}\.{digit}", na=False) & (digits[some] >= 4)) | (
            few.contains(_LONG_RUN, na=False)
        )
    if not candidates.any():
        return values
    out = values.copy()
    out[candidates] = values[candidates].map(mask_pii)
    return out


def _mask_value(value: object) -> object:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, (list, tuple)):
        return [mask_pii(v) if isinstance(v, str) else v for v in value]
    return value
