"""Personal details in text shown to people are masked; the data itself is not touched."""

from __future__ import annotations

import pandas as pd
import pytest

from arenalens.privacy import mask_columns, mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail me at john.doe+x@mail.example.co.uk now", "mail me at [email] now"),
        ("call +44 20 7946 0958 or (555) 123-4567", "call [phone] or [phone]"),
        ("see https://x.com/a?token=abc&u=1 please", "see [url] please"),
        ("card 4111111111111111 expires", "card [number] expires"),
        ("my id is 98765432", "my id is [phone]"),
    ],
)
def test_personal_details_are_masked(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "in 2024 we had 3 cats, version 1.2.3, pi 3.14",
        "what happened on 2024-01-15 and in 2020-2021?",
        "see https://example.com/plain-page for details",
        "order 123456 shipped",
        "is this ok?",
    ],
)
def test_ordinary_numbers_dates_and_plain_links_are_kept(text):
    assert mask_pii(text) == text


def test_mask_columns_copies_and_can_be_turned_off():
    frame = pd.DataFrame({"query": ["write to a@b.org"], "central_texts": [["call 555 123 4567"]]})
    masked = mask_columns(frame, ["query", "central_texts"])
    assert masked.loc[0, "query"] == "write to [email]"
    assert masked.loc[0, "central_texts"] == ["call [phone]"]
    assert frame.loc[0, "query"] == "write to a@b.org"  # the input is untouched
    assert mask_columns(frame, ["query"], enabled=False) is frame


TRICKY_TEXTS = [
    "mail me at john.doe+x@mail.example.co.uk now",
    "call +44 20 7946 0958 or (555) 123-4567",
    "SEE WWW.X.COM/A?TOKEN=ABC please",
    "see Https://x.com/a?token=abc&u=1 please",
    "see https://example.com/plain-page for details, ok?",
    "card 4111111111111111 expires",
    "fullwidth phone １２３４５６７８９ here",
    "arabic-indic ٠١٢٣٤٥٦٧٨ digits",
    "what happened on 2024-01-15 and in 2020-2021?",
    "in 2024 we had 3 cats, version 1.2.3, pi 3.14",
    "a question? no link",
    "",
    None,
]


@pytest.mark.parametrize("storage", ["pyarrow", "python"])
def test_masking_a_text_column_equals_masking_each_value(storage):
    """The column path narrows to candidate values first; it must mask exactly what
    `mask_pii` masks, Unicode digits included."""
    texts = pd.Series(TRICKY_TEXTS * 3, dtype=pd.StringDtype(storage, na_value=float("nan")))
    out = mask_columns(pd.DataFrame({"query": texts}), ["query"])["query"]
    expected = [mask_pii(t) if isinstance(t, str) else t for t in texts]
    assert out.isna().tolist() == texts.isna().tolist()
    assert [v for v in out if isinstance(v, str)] == [v for v in expected if isinstance(v, str)]
    assert "１２３４５６７８９" not in " ".join(v for v in out if isinstance(v, str))
