"""Personal details in text shown to people are masked; the data itself is not touched."""

from __future__ import annotations

import pandas as pd
import pytest

from arenalens.privacy import (
    is_personal_data,
    mask_columns,
    mask_derived_columns,
    mask_pii,
    text_for_keywords,
)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail me at john.doe+x@mail.example.co.uk now", "mail me at [email] now"),
        ("call +44 20 7946 0958 or (555) 123-4567", "call [phone] or [phone]"),
        ("see https://x.com/a?token=abc&u=1 please", "see [url] please"),
        ("card 4111111111111111 expires", "card [card] expires"),
        ("card 4111 1111 1111 1111 expires", "card [card] expires"),
        ("card 4111-1111-1111-1111 expires", "card [card] expires"),
        ("amex 3782 822463 10005 ok", "amex [card] ok"),
        ("Call 415-555-1234 now", "Call [phone] now"),
        ("iban DE89 3704 0044 0532 0130 00 please", "iban [iban] please"),
        ("iban GB82WEST12345698765432.", "iban [iban]."),
        ("from 192.168.23.45 today", "from [ip] today"),
        ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc here", "key [token] here"),
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
        "not a card: 4111 1111 1111 1112",  # fails the Luhn check
        "not an iban: DE00 3704 0044 0532 0130 00",  # wrong check digits
        "version 1.2.3 of the app, 999.1.2.3",
        "a long word: internationalisation_and_localisation",  # letters only
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
    "card 4111 1111 1111 1111 and 4111-1111-1111-1111",
    "iban DE89 3704 0044 0532 0130 00 from 10.0.0.1",
    "token sk_live_4eC39HqLyjWDarjtT1zdp7dc",
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


@pytest.mark.parametrize(
    "term",
    ["4111111111111111", "john.doe@example.com", "abc123", "user 98765", "[phone]",
     "https://x.example/a", "415-555-1234", "gb82west12345698765432"],
)  # fmt: skip
def test_personal_terms_are_recognised(term):
    assert is_personal_data(term)


@pytest.mark.parametrize("term", ["weather forecast", "covid19", "mp3", "2024", "iphone 15"])
def test_ordinary_terms_are_not_personal(term):
    assert not is_personal_data(term)


def test_text_for_keywords_leaves_no_part_of_a_detail():
    text = "mail john.smith@example.com, card 4111 1111 1111 1111, https://x.example/r?t=1 now"
    words = text_for_keywords(text).split()
    assert words == ["mail", ",", "card", ",", "now"]


def test_keywords_never_hold_personal_data():
    """c-TF-IDF keywords of texts full of personal details: only the ordinary words."""
    from arenalens.labeler.keywords import ctfidf_scores

    group = [
        "charge my card 4111 1111 1111 1111 and call 415-555-1234",
        "charge card 4111-1111-1111-1111 email jane.roe@mailbox.example",
        "reset https://bank.example/reset?token=abc123 charge card",
        "pay from iban GB82WEST12345698765432 with token abc123",
    ]
    terms = [term for term, _ in ctfidf_scores(group, ["weather today", "play a song"])]
    assert "charge" in terms and "card" in terms
    personal = ("4111", "1111", "415", "jane", "mailbox", "abc123", "https", "bank example",
                "gb82", "token abc123")  # fmt: skip
    assert [t for t in terms if any(p in t for p in personal)] == []


def test_derived_columns_are_masked_and_personal_keywords_dropped():
    frame = pd.DataFrame(
        {
            "name": ["Call 415-555-1234 now"],
            "parent_name": ["Email john@example.com"],
            "description": ["marked by: card, 4111111111111111"],
            "keywords": [["card", "4111111111111111", "abc123", "payment"]],
            "size": [3],
        }
    )
    out = mask_derived_columns(frame)
    assert out.loc[0, "name"] == "Call [phone] now"
    assert out.loc[0, "parent_name"] == "Email [email]"
    assert out.loc[0, "description"] == "marked by: card, [card]"
    assert out.loc[0, "keywords"] == ["card", "payment"]
    assert mask_derived_columns(frame, enabled=False) is frame


def test_examples_sent_to_an_llm_are_masked():
    """The naming prompt's in- and out-group examples and the coding prompt's few-shot
    examples (other people's texts) go to the endpoint with personal details masked."""
    import numpy as np

    from arenalens.labeler.llm import LLMLabeler
    from arenalens.labeler.llm_client import LLMClient
    from coding.fewshot import FewShotExamples

    client = LLMClient(base_url="http://127.0.0.1:9/v1", model="never-called")
    messages = LLMLabeler(client)._name_messages(
        ["charge card 4111 1111 1111 1111 and call 415-555-1234"],
        ["send it to jane.roe@mailbox.example"],
        "",
    )
    prompt = " ".join(m["content"] for m in messages)
    assert "[card]" in prompt and "[phone]" in prompt and "[email]" in prompt
    assert "4111" not in prompt and "555-1234" not in prompt and "jane.roe" not in prompt

    class Embedder:
        def encode(self, texts, show_progress=False):
            return np.ones((len(texts), 2))

    examples = FewShotExamples.build(Embedder(), ["my iban is GB82WEST12345698765432"], [["x"]])
    shown = examples.for_batch(["another text"], 1)
    assert "[iban]" in shown and "GB82" not in shown
