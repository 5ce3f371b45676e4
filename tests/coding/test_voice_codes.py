"""Codebook 2.0: voice-specific loss reasons, coded by the offline coder on spoken-answer
feedback, while the codes calibrated on HALIE keep their calibration."""

from __future__ import annotations

import pytest

from arenalens.embeddings import Embedder
from coding.codebook import load_codebook
from coding.zeroshot import CalibratedCoder

VOICE_CODES = ("prosody", "speaking_rate", "voice_fit", "audio_quality")

# Hand-written for this test (not from ../shared, not the codebook's examples): a listener's
# reasons about how an answer sounded, each with the code it states.
SPOKEN_FEEDBACK = [
    ("A spoke with no expression at all, every sentence sounded the same.", "prosody"),
    ("It put the accent on the wrong part of my last name.", "prosody"),
    ("A talked so slowly that I lost patience.", "speaking_rate"),
    ("The first one spoke so quickly that I missed half of the recipe.", "speaking_rate"),
    ("B's voice sounded sad when telling me I won.", "voice_fit"),
    ("It used a happy bubbly voice to tell me about the funeral arrangements.", "voice_fit"),
    ("There was static all over A's answer and the end got cut off.", "audio_quality"),
    ("The volume of B was so low I had to turn it all the way up.", "audio_quality"),
    ("B sounded like an actual person talking to me, A was clearly a computer.", "human_likeness"),
    ("It talked like a robot reading a script.", "human_likeness"),
]
TEXT_FEEDBACK = [
    "A gave me a recipe that was missing the oven temperature.",
    "B responded fast, A made me wait.",
    "I asked for quiet places to study and A listed loud cafes.",
    "A was more emotional support than advice, which I didn't need.",
]


@pytest.fixture(scope="module")
def coder() -> CalibratedCoder:
    return CalibratedCoder(Embedder(), load_codebook())


def test_codebook_two_adds_voice_reasons_and_moves_audio_out_of_other():
    codebook = load_codebook()
    assert codebook.version == "2.0"
    for name in VOICE_CODES:
        code = codebook.code(name)
        assert code.definition and code.include and code.exclude and code.cues
        assert len(code.positive_examples) >= 5 and len(code.negative_examples) >= 3
    other = codebook.code("other")
    assert "audio" not in other.definition and "audio" not in other.cues
    assert "The audio of the second one was crackling." in other.negative_examples
    assert any("voice" in example for example in codebook.code("human_likeness").positive_examples)


def test_codes_calibrated_on_halie_keep_their_calibration(coder: CalibratedCoder):
    """The first four codes are unchanged in what their features depend on."""
    for name in ("helpfulness", "detail", "accuracy", "language"):
        assert name not in coder.uncalibrated
    for name in (*VOICE_CODES, "human_likeness"):
        assert coder.decision_sources()[name] == "zero-shot (uncalibrated)"


def test_offline_coder_codes_what_a_listener_says_about_the_voice(coder: CalibratedCoder):
    texts = [text for text, _ in SPOKEN_FEEDBACK]
    for (text, wanted), scores in zip(SPOKEN_FEEDBACK, coder.score(texts), strict=True):
        present = {s.code for s in scores if s.decision == "present"}
        assert wanted in present, (text, present)


def test_feedback_on_the_text_gets_no_voice_reason(coder: CalibratedCoder):
    for text, scores in zip(TEXT_FEEDBACK, coder.score(TEXT_FEEDBACK), strict=True):
        present = {s.code for s in scores if s.decision == "present"}
        assert not present & {*VOICE_CODES, "human_likeness"}, (text, present)


def test_prevalence_by_answer_form_finds_voice_reasons_on_spoken_answers_only(
    store, coder: CalibratedCoder, tmp_path
):
    """Feedback on the speech arena's spoken answers talks about pace and static; feedback on
    its text answers about answers and facts (`tests/speech_arena.py`)."""
    from speech_arena import load_speech_arena

    from coding.coder import code_feedback
    from coding.prevalence import prevalence_table

    load_speech_arena(store, tmp_path / "arena", n_text=30, n_conversations=24)
    codebook = load_codebook()
    code_feedback(store, coder, codebook, progress=False)
    table = prevalence_table(store, codebook, by="output_modality").set_index(["group", "code"])
    assert set(table.index.get_level_values("group")) == {"speech", "text"}
    assert table.loc[("speech", "speaking_rate"), "n_items"] == 18  # 3 of every 4 have feedback
    assert table.loc[("text", "speaking_rate"), "n_items"] == 20  # 2 of every 3
    assert table.loc[("speech", "speaking_rate"), "machine_rate"] >= 0.5
    assert table.loc[("speech", "audio_quality"), "machine_rate"] >= 0.25
    for code in VOICE_CODES:
        assert table.loc[("text", code), "machine_rate"] == 0.0
