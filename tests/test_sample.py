"""The synthetic sample arena: reproducible, shaped like the paper, and consistent with its truth."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from arenalens.sample import DEFAULT_SEED, generate_sample_arena, write_sample_arena
from arenalens.sample.__main__ import main as sample_main
from arenalens.sample.banks import FOREIGN
from arenalens.sample.feedback import PHRASES
from arenalens.sample.responses import FLAW_CODE, FOREIGN_REPLIES, ROBOTIC
from arenalens.sample.systems import CODES, SYSTEMS

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "sample_arena"
SHIPPED_FILES = (
    "interactions.jsonl",
    "conversations.jsonl",
    "benchmarks.csv",
    "aliases.yaml",
    "audio_queries.txt",
    "truth.json",
    "README.md",
)
SYSTEM_NAMES = {s.name for s in SYSTEMS}
PAPER_CATEGORY_SHARES = {
    "knowledge": 0.50,
    "advice": 0.17,
    "chit_chat": 0.16,
    "task_execution": 0.10,
}
ENGLISH_RENDERINGS = {i["en"] for banks in FOREIGN.values() for sub in banks for i in sub.items}
OPENERS = "honestly |tbh |ok so |meh |well |i mean |hmm "
PAPER_CODE_SHARES = {
    "detail": 0.31,
    "helpfulness": 0.24,
    "language": 0.12,
    "accuracy": 0.11,
    "human_likeness": 0.11,
}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    lines = (SHIPPED / "interactions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SHIPPED / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def aliases() -> dict[str, str]:
    return yaml.safe_load((SHIPPED / "aliases.yaml").read_text(encoding="utf-8"))["aliases"]


def canonical(name: str, aliases: dict[str, str]) -> str:
    return aliases.get(name, name)


def test_regenerating_reproduces_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    write_sample_arena(tmp_path, seed=DEFAULT_SEED)
    for name in SHIPPED_FILES:
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), (
            f"{name} differs from a fresh generation: run `python -m arenalens.sample --out data/sample_arena`"
        )


def test_another_seed_gives_another_arena() -> None:
    first, second = (
        generate_sample_arena(seed=1, n_interactions=200),
        generate_sample_arena(seed=2, n_interactions=200),
    )
    assert [r["query_text"] for r in first.records] != [r["query_text"] for r in second.records]


def test_module_command_writes_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_main(["--out", str(tmp_path / "arena"), "-n", "150", "--seed", "7"])
    for name in SHIPPED_FILES:
        assert (tmp_path / "arena" / name).is_file()
    assert len((tmp_path / "arena" / "interactions.jsonl").read_text().splitlines()) == 150
    assert "wrote" in capsys.readouterr().out


def test_shipped_files_stay_small() -> None:
    assert sum((SHIPPED / name).stat().st_size for name in SHIPPED_FILES) < 5_000_000


def test_records_have_the_canonical_and_truth_fields(records: list[dict]) -> None:
    assert len(records) >= 2000
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    required = {
        "id",
        "timestamp",
        "user_id",
        "language",
        "query_text",
        "model_a",
        "model_b",
        "response_a",
        "response_b",
        "winner",
        "gold_category",
        "gold_modality",
        "gold_codes",
        "gold_subtopic",
    }
    for record in records:
        assert required <= record.keys(), record["id"]
        assert record["synthetic"] is True
        assert record["winner"] in ("model_a", "model_b", "tie")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["timestamp"])
        assert (
            record["query_text"].strip()
            and record["response_a"].strip()
            and record["response_b"].strip()
        )
    timestamps = [r["timestamp"] for r in records]
    assert timestamps == sorted(timestamps)


def test_users_are_many_with_skewed_activity(records: list[dict]) -> None:
    per_user = Counter(r["user_id"] for r in records)
    assert 250 <= len(per_user) <= 300
    counts = sorted(per_user.values(), reverse=True)
    assert counts[0] >= 10 * np.median(counts)


def test_category_shares_are_near_the_paper(records: list[dict]) -> None:
    shares = Counter(r["gold_category"] for r in records)
    for category, target in PAPER_CATEGORY_SHARES.items():
        assert abs(shares[category] / len(records) - target) < 0.03, category
    audio_categories = (shares["paralinguistic"] + shares["other"]) / len(records)
    assert 0.04 <= audio_categories <= 0.10
    assert set(shares) == {
        "knowledge",
        "advice",
        "chit_chat",
        "task_execution",
        "paralinguistic",
        "other",
    }


def test_about_three_quarters_of_queries_are_text_primary(records: list[dict]) -> None:
    text_share = sum(r["gold_modality"] == "text_primary" for r in records) / len(records)
    assert 0.72 <= text_share <= 0.80
    assert all(
        r["gold_modality"] == "audio_primary"
        for r in records
        if r["gold_category"] == "paralinguistic"
    )
    audio_elsewhere = {r["gold_category"] for r in records if r["gold_modality"] == "audio_primary"}
    assert {"advice", "chit_chat"} <= audio_elsewhere


def test_queries_are_diverse_spoken_style(records: list[dict]) -> None:
    queries = [r["query_text"] for r in records]
    assert len(set(queries)) >= 0.9 * len(queries)
    subtopics = Counter(r["gold_subtopic"] for r in records)
    assert len(subtopics) >= 50
    assert max(subtopics.values()) < 0.06 * len(records)
    spoken = sum(bool(re.match(r"(?i)(um|uh|hey|so|okay|hmm|yo|alright)\b", q)) for q in queries)
    assert spoken >= 0.3 * len(queries)


def test_some_queries_are_genuinely_in_other_languages(records: list[dict]) -> None:
    foreign = [r for r in records if r["language"] != "en"]
    assert 0.02 <= len(foreign) / len(records) <= 0.12
    languages = Counter(r["language"] for r in foreign)
    assert {"es", "fr", "de", "zh"} <= set(languages)
    for record in foreign:
        if record["language"] == "zh":
            assert re.search(r"[\u4e00-\u9fff]", record["query_text"]), record["query_text"]
    spanish = [r["query_text"] for r in foreign if r["language"] == "es"]
    assert any(re.search(r"¿|capital de|temporizador|cocinar|hola", q) for q in spanish)


def test_all_six_systems_battle_and_aliases_matter(
    records: list[dict], aliases: dict[str, str]
) -> None:
    raw_names = Counter(name for r in records for name in (r["model_a"], r["model_b"]))
    assert {canonical(n, aliases) for n in raw_names} == SYSTEM_NAMES
    aliased = sum(count for name, count in raw_names.items() if name in aliases)
    assert 0.02 <= aliased / (2 * len(records)) <= 0.10
    assert set(aliases.values()) == SYSTEM_NAMES
    assert all(
        canonical(r["model_a"], aliases) != canonical(r["model_b"], aliases) for r in records
    )


def test_ties_take_ten_to_fifteen_percent(records: list[dict]) -> None:
    ties = sum(r["winner"] == "tie" for r in records) / len(records)
    assert 0.10 <= ties <= 0.16


def fit_bradley_terry(records: list[dict], aliases: dict[str, str]) -> dict[str, float]:
    """Plain MM fit (ties count half a win each way), centred log-strengths."""
    names = sorted(SYSTEM_NAMES)
    index = {n: i for i, n in enumerate(names)}
    wins = np.zeros((len(names), len(names)))
    for r in records:
        a, b = index[canonical(r["model_a"], aliases)], index[canonical(r["model_b"], aliases)]
        score = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5}[r["winner"]]
        wins[a, b] += score
        wins[b, a] += 1 - score
    games = wins + wins.T
    pi = np.ones(len(names))
    for _ in range(500):
        pi = wins.sum(axis=1) / (games / (pi[:, None] + pi[None, :])).sum(axis=1)
        pi /= np.exp(np.log(pi).mean())
    return dict(zip(names, np.log(pi), strict=True))


def test_true_strengths_are_recoverable_from_the_votes(
    records: list[dict], truth: dict, aliases: dict[str, str]
) -> None:
    fitted = fit_bradley_terry(records, aliases)
    true = truth["strengths"]
    assert max(fitted, key=fitted.get) == "Whisper+Llama3 pipeline" == max(true, key=true.get)
    order_fitted = sorted(fitted, key=fitted.get)
    order_true = sorted(true, key=true.get)
    ranks = [order_true.index(name) for name in order_fitted]
    assert np.corrcoef(ranks, range(len(ranks)))[0, 1] >= 0.8
    names = sorted(SYSTEM_NAMES)
    # a rough check (ties as half wins shrink the scale; the ranking stage does the real fit)
    assert np.corrcoef([fitted[n] for n in names], [true[n] for n in names])[0, 1] >= 0.9


def test_pipeline_wins_most_overall_but_less_on_audio_primary(
    records: list[dict], aliases: dict[str, str]
) -> None:
    def win_rates(subset: list[dict]) -> dict[str, float]:
        wins, games = Counter(), Counter()
        for r in subset:
            for side in ("model_a", "model_b"):
                name = canonical(r[side], aliases)
                games[name] += 1
                wins[name] += 1.0 if r["winner"] == side else 0.5 if r["winner"] == "tie" else 0.0
        return {n: wins[n] / games[n] for n in games}

    overall = win_rates(records)
    assert max(overall, key=overall.get) == "Whisper+Llama3 pipeline"
    audio = win_rates([r for r in records if r["gold_modality"] == "audio_primary"])
    text = win_rates([r for r in records if r["gold_modality"] == "text_primary"])
    assert audio["Whisper+Llama3 pipeline"] < text["Whisper+Llama3 pipeline"] - 0.05


def test_feedback_on_about_45_percent_of_votes(records: list[dict]) -> None:
    share = sum("feedback" in r for r in records) / len(records)
    assert abs(share - 0.45) < 0.03


def test_gold_codes_present_exactly_when_feedback_is(records: list[dict]) -> None:
    for record in records:
        has_feedback = bool(record.get("feedback"))
        assert bool(record["gold_codes"]) == has_feedback, record["id"]
        assert set(record["gold_codes"]) <= set(CODES)
        assert 0 <= len(record["gold_codes"]) <= 2
        assert {t["code"] for t in record["gold_code_targets"]} == set(record["gold_codes"])


def test_loss_reason_shares_are_near_the_paper(records: list[dict]) -> None:
    mentions = Counter(code for r in records for code in r["gold_codes"])
    total = sum(mentions.values())
    for code, target in PAPER_CODE_SHARES.items():
        assert abs(mentions[code] / total - target) < 0.04, code
    assert 0.05 <= mentions["other"] / total <= 0.16
    feedback = [r for r in records if r["gold_codes"]]
    assert 0.1 <= sum(len(r["gold_codes"]) == 2 for r in feedback) / len(feedback) <= 0.3


def test_feedback_wording_varies_and_sometimes_praises_the_winner(records: list[dict]) -> None:
    texts = [r["feedback"] for r in records if "feedback" in r]
    assert len(set(texts)) >= 0.85 * len(texts)
    targets = [t for r in records for t in r["gold_code_targets"]]
    positive = sum(t["polarity"] == "positive" for t in targets) / len(targets)
    assert 0.15 <= positive <= 0.5
    assert {t["about"] for t in targets} == {"rejected", "preferred", "both"}
    assert any(re.search(r"\b(first|second|other) (one|model|answer)\b", t) for t in texts)


def test_feedback_names_the_side_it_criticises(records: list[dict]) -> None:
    """Where feedback says "A <complaint>", A really lost (or it was a tie)."""
    complaints = {phrase for flaw in PHRASES.values() for phrase in flaw["neg"]}
    checked = 0
    for record in records:
        text = record.get("feedback", "")
        for side, other_winner in (("A", "model_b"), ("B", "model_a")):
            match = re.match(
                rf"^(?:{OPENERS})?(?:model |response |option )?{side} (.+?)(?:$|[.!,+]| and | lol| imo| smh)",
                text,
                flags=re.IGNORECASE,
            )
            if match and match.group(1) in complaints:
                checked += 1
                assert record["winner"] in (other_winner, "tie"), (record["id"], text)
    assert checked >= 100


def test_losing_responses_show_the_flaws_the_feedback_describes(records: list[dict]) -> None:
    lengths: dict[str, list[float]] = {"detail_long": [], "detail_short": []}
    for record in records:
        if record["winner"] == "tie":
            continue
        loser = "model_b" if record["winner"] == "model_a" else "model_a"
        flaws = record["gold_response_flaws"][loser]
        assert record["gold_response_flaws"][record["winner"]] == []
        if "feedback" in record:
            assert {FLAW_CODE[f] for f in flaws} == set(record["gold_codes"]), record["id"]
        response = record["response_" + loser[-1]]
        winner_response = record["response_" + record["winner"][-1]]
        for flaw in lengths:
            if flaw in flaws:
                lengths[flaw].append(len(response) / len(winner_response))
        if "wrong_language" in flaws:
            if record["language"] == "en":
                replies = [reply for options in FOREIGN_REPLIES.values() for reply in options]
                assert any(response.startswith(reply) for reply in replies), record["id"]
            else:
                assert response in ENGLISH_RENDERINGS, record["id"]
        if "robotic" in flaws:
            markers = [template.split("{base}")[0].strip() for template in ROBOTIC]
            assert any(marker and marker in response for marker in markers), record["id"]
    assert np.median(lengths["detail_long"]) > 2.0
    assert np.median(lengths["detail_short"]) < 0.6


def test_benchmarks_cover_the_systems_and_track_strength_loosely(truth: dict) -> None:
    with (SHIPPED / "benchmarks.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert set(rows[0]) == {"model", "dataset", "task", "metric", "score", "higher_is_better"}
    assert {r["model"] for r in rows} == SYSTEM_NAMES
    datasets = {(r["dataset"], r["task"]) for r in rows}
    assert 10 <= len(datasets) <= 14
    assert len(rows) == len(datasets) * len(SYSTEM_NAMES)
    assert all(0 <= float(r["score"]) <= 100 for r in rows)
    assert {r["higher_is_better"] for r in rows} == {"true", "false"}
    mean_score = {
        name: np.mean(
            [
                float(r["score"])
                for r in rows
                if r["model"] == name and r["higher_is_better"] == "true"
            ]
        )
        for name in SYSTEM_NAMES
    }
    names = sorted(SYSTEM_NAMES)
    correlation = np.corrcoef(
        [mean_score[n] for n in names], [truth["strengths"][n] for n in names]
    )[0, 1]
    assert 0.2 < correlation < 0.999


def test_audio_queries_are_english_and_exist(records: list[dict]) -> None:
    ids = (SHIPPED / "audio_queries.txt").read_text().split()
    by_id = {r["id"]: r for r in records}
    assert 15 <= len(ids) <= 25 and len(set(ids)) == len(ids)
    assert all(by_id[i]["language"] == "en" for i in ids)
    assert len({by_id[i]["gold_category"] for i in ids}) >= 4


def test_truth_and_readme_say_synthetic_and_match_the_data(
    records: list[dict], truth: dict
) -> None:
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "python -m arenalens.sample --out data/sample_arena" in readme
    for name in SYSTEM_NAMES:
        assert name in readme and name in truth["strengths"]
    assert truth["synthetic"] is True and truth["seed"] == DEFAULT_SEED
    assert truth["realised"]["interactions"] == len(records)
    assert math.isclose(
        truth["realised"]["feedback_share"],
        sum("feedback" in r for r in records) / len(records),
        abs_tol=1e-4,
    )
    assert truth["ranking"][0] == "Whisper+Llama3 pipeline"


def test_no_template_slot_is_left_unfilled(records: list[dict]) -> None:
    for record in records:
        for name in ("query_text", "response_a", "response_b", "feedback"):
            text = record.get(name, "")
            assert "{" not in text and "}" not in text and "  " not in text, (
                record["id"],
                name,
                text,
            )


def test_tiny_arenas_generate_and_bad_sizes_are_refused(tmp_path: Path) -> None:
    tiny = generate_sample_arena(seed=3, n_interactions=12)
    assert len(generate_sample_arena(seed=5, n_interactions=1).records) == 1
    assert len(tiny.records) == 12 and len(tiny.audio_ids) <= 12
    with pytest.raises(ValueError, match="n_interactions"):
        generate_sample_arena(n_interactions=0)
    with pytest.raises(SystemExit):
        sample_main(["--out", str(tmp_path), "-n", "-5"])
