"""Coding reads a bounded start of each feedback text, however long the stored text is."""

from __future__ import annotations

from coding_fixtures import KeywordLabeler
from sqlalchemy import update

from arenalens.labeler.text import MAX_LABELLED_CHARS
from arenalens.store import Store
from arenalens.store import tables as t
from coding import persist
from coding.codebook import load_codebook
from coding.coder import code_feedback


def test_a_huge_stored_text_reaches_the_labeler_as_its_start(small_store: Store) -> None:
    # stored before ingest had length limits (or by another tool): 5 million characters
    huge = "B was too long and slow. " + "and on and on, " * 333_333
    with small_store.transaction() as conn:
        conn.execute(update(t.feedback).where(t.feedback.c.id == "fb-0000").values(text=huge))
    labeler = KeywordLabeler()
    codebook = load_codebook()
    code_feedback(small_store, labeler, codebook, progress=False)
    assert max(map(len, labeler.texts_seen)) <= MAX_LABELLED_CHARS
    assert huge[:MAX_LABELLED_CHARS] in labeler.texts_seen
    codes = persist.codes_frame(small_store, codebook.version_key)
    assert set(codes[codes["feedback_id"] == "fb-0000"]["code"]) >= {"detail"}
