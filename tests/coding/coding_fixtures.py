"""Hand-made small arenas and a deterministic keyword labeler for the coding tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from arenalens.labeler.base import (
    AssignmentResult,
    GroupName,
    LabelAssignment,
    LabelDefinition,
    Labeler,
)
from arenalens.store import Store
from arenalens.store import tables as t

MODELS = ("GPT-4o", "Gemini-1.5-Pro", "Qwen2-Audio", "DiVA-8B")

# feedback text -> the codes a careful human gives it
FEEDBACK = [
    ("B was way too short, A explained it step by step.", {"detail"}),
    ("A got the capital wrong.", {"accuracy"}),
    ("B sounded so robotic, A felt like a real person.", {"human_likeness"}),
    ("A was rude to me.", {"language"}),
    ("B actually answered my question.", {"helpfulness"}),
    ("A was more detailed and the facts were correct.", {"detail", "accuracy"}),
    ("I just liked B more.", {"other"}),
    ("B misheard me and answered a different question.", {"accuracy"}),
    ("Too long, I wanted a quick answer.", {"detail"}),
    ("The other one sounded scripted.", {"human_likeness"}),
]

KEYWORDS = {
    "detail": ("short", "step by step", "detailed", "too long"),
    "accuracy": ("wrong", "correct", "misheard"),
    "human_likeness": ("robotic", "real person", "scripted"),
    "language": ("rude",),
    "helpfulness": ("answered my question",),
    "other": ("liked",),
}


def make_arena(store: Store, n: int = 40, seed: int = 0) -> list[dict]:
    """Insert `n` battles with feedback cycling through FEEDBACK; returns their truth rows."""
    interactions, feedback, truth = [], [], []
    for i in range(n):
        text, codes = FEEDBACK[i % len(FEEDBACK)]
        a, b = MODELS[i % len(MODELS)], MODELS[(i + 1 + seed) % len(MODELS)]
        winner = ("model_a", "model_b", "model_a", "tie")[i % 4]
        iid = f"int-{i:04d}"
        interactions.append(
            {
                "id": iid,
                "query_text": f"question number {i}",
                "model_a": a,
                "model_b": b,
                "response_a": f"answer A {i}",
                "response_b": f"answer B {i}",
                "winner": winner,
                "extra": {"gold_codes": sorted(codes)},
                "content_hash": hashlib.sha256(iid.encode()).hexdigest(),
            }
        )
        feedback.append({"id": f"fb-{i:04d}", "interaction_id": iid, "text": text})
        truth.append({"feedback_id": f"fb-{i:04d}", "codes": codes, "winner": winner})
    store.insert_ignore(t.interactions, interactions)
    store.insert_ignore(t.feedback, feedback)
    return truth


class KeywordLabeler(Labeler):
    """Deterministic stand-in labeler: a code applies when one of its keywords occurs."""

    def __init__(
        self,
        *,
        bad_evidence: Sequence[str] = (),
        with_attributes: bool = False,
        fail_after_calls: int | None = None,
    ):
        self.name = "keyword-test-labeler"
        self.calls = 0
        self.texts_seen: list[str] = []
        self.bad_evidence = set(bad_evidence)
        self.with_attributes = with_attributes
        self.fail_after_calls = fail_after_calls

    def name_group(self, in_group, out_group, *, instructions: str = "") -> GroupName:
        return GroupName("group", "a group", labeler=self.name)

    def assign_labels(
        self,
        texts,
        label_set: Sequence[LabelDefinition],
        *,
        context=None,
        instructions="",
        attribute_choices=None,
    ):
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        self.texts_seen.extend(texts)
        names = {label.name for label in label_set}
        results = []
        for text in texts:
            labels = []
            for code, words in KEYWORDS.items():
                hit = next((w for w in words if w in text.lower()), None)
                if hit is None or code not in names:
                    continue
                start = text.lower().find(hit)
                evidence = (
                    "a paraphrase not in the text"
                    if code in self.bad_evidence
                    else text[start : start + len(hit)]
                )
                attributes = (
                    {"side": "preferred", "polarity": "positive"} if self.with_attributes else {}
                )
                labels.append(
                    LabelAssignment(
                        code, evidence, 0.9, rationale=f"mentions {hit!r}", attributes=attributes
                    )
                )
            results.append(AssignmentResult(labels=labels, labeler=self.name))
        return results


def save_annotations_worker(url: str, worker: int, count: int, barrier) -> None:
    """Child process of the concurrency test: wait for the others, then save `count` annotations."""
    from coding.annotations import AnnotationQueue
    from coding.codebook import load_codebook

    store = Store.open(url)
    queue = AnnotationQueue(store, load_codebook())
    barrier.wait(timeout=120)
    for i in range(count):
        queue.save(
            f"annotator-{worker}",
            f"fb-{i % 10:04d}",
            {"detail": i % 2 == 0},
            note=f"{worker}/{i}",
            source="api",
        )
    store.engine.dispose()


def annotate_with_gold(store: Store):
    """Code the arena (a labeler that never finds `accuracy`), then annotate a 30-item random
    sample with the gold codes; returns the codebook."""
    from coding.annotations import AnnotationQueue
    from coding.codebook import load_codebook
    from coding.coder import code_feedback
    from coding.sampling import create_validation_sample

    codebook = load_codebook()
    code_feedback(store, KeywordLabeler(bad_evidence=["accuracy"]), codebook, progress=False)
    create_validation_sample(store, codebook, ["ann"], size=30, seed=0)
    queue = AnnotationQueue(store, codebook)
    gold = {f["id"]: f["extra"]["gold_codes"] for f in store.feedback_frame().to_dict("records")}
    while (item := queue.next_item("ann")) is not None:
        queue.save("ann", item.feedback_id, {code: True for code in gold[item.feedback_id]})
    return codebook
