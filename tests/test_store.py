"""The store: schema creation, versioning, runs, upserts — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text, update

from arenalens.store import SCHEMA_VERSION, Store, StoreError
from arenalens.store import tables as t


def test_open_creates_schema_and_records_version(store: Store) -> None:
    status = store.status()
    assert status["schema_version"] == SCHEMA_VERSION
    assert status["interactions"] == 0 and status["stages"] == {}


def test_reopening_is_harmless(store: Store, db_url: str) -> None:
    store.insert_ignore(
        t.interactions, [{"id": "x", "query_text": "hi", "extra": {}, "content_hash": "h"}]
    )
    again = Store.open(db_url)
    assert again.count(t.interactions) == 1
    again.engine.dispose()


def test_newer_schema_is_refused_with_instructions(store: Store, db_url: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(t.schema_info)
            .where(t.schema_info.c.key == "schema_version")
            .values(value=str(SCHEMA_VERSION + 1))
        )
    with pytest.raises(StoreError, match="newer than this arenalens"):
        Store.open(db_url)


def test_older_schema_without_migration_says_what_to_do(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arenalens.store import store as store_module

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="no migration from schema"):
        Store.open(db_url)


def test_older_schema_is_upgraded_by_its_migration(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arenalens.store import store as store_module

    applied = []
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(store_module.MIGRATIONS, SCHEMA_VERSION, lambda conn: applied.append(True))
    upgraded = Store.open(db_url)
    assert applied == [True]
    with upgraded.engine.connect() as conn:
        version = conn.execute(
            select(t.schema_info.c.value).where(t.schema_info.c.key == "schema_version")
        ).scalar_one()
    assert int(version) == SCHEMA_VERSION + 1
    upgraded.engine.dispose()


def test_runs_record_config_model_code_version_and_time(store: Store) -> None:
    run_id = store.start_run(
        "taxonomy", {"min_cluster_size": 10, "seed": 0}, model="all-MiniLM-L6-v2"
    )
    store.finish_run(run_id, summary={"clusters": 12})
    run = store.latest_run("taxonomy")
    assert run is not None and run["id"] == run_id
    assert run["config"] == {"min_cluster_size": 10, "seed": 0}
    assert run["code_version"].startswith("0.1.0") and run["started_at"] is not None
    assert store.status()["stages"]["taxonomy"]["runs"] == 1


def test_failed_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.insert_ignore(
            t.interactions,
            [{"id": "a", "query_text": "q", "extra": {}, "content_hash": "h"}],
            conn=conn,
        )
        raise RuntimeError("boom")
    assert store.count(t.interactions) == 0


def test_upsert_replaces_values_of_existing_keys(store: Store) -> None:
    store.set_aliases({"gpt4o": "GPT-4o"})
    store.set_aliases({"gpt4o": "GPT-4o-2024"})
    assert store.aliases() == {"gpt4o": "GPT-4o-2024"}


def test_foreign_keys_are_enforced(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        store.insert_ignore(t.feedback, [{"id": "f", "interaction_id": "missing", "text": "x"}])


def test_database_url_password_is_redacted_in_errors() -> None:
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql://user:secret@127.0.0.1:1/none")
    assert "secret" not in str(caught.value)


def test_insert_ignore_keeps_columns_that_only_some_rows_name(store: Store) -> None:
    rows = [
        {"id": "a", "query_text": "q", "extra": {}, "content_hash": "1"},
        {"id": "b", "query_text": "q", "response_a": "kept", "extra": {}, "content_hash": "2"},
    ]
    assert store.insert_ignore(t.interactions, rows) == 2
    frame = store.interactions_frame().set_index("id")
    assert frame.loc["b", "response_a"] == "kept"


def test_frames_without_extra_match_the_full_frames_less_that_column(store: Store) -> None:
    rows = [
        {"id": "a", "query_text": "q1", "user_id": "u", "winner": "A", "extra": {"k": 1},
         "model_a": "m1", "model_b": "m2", "content_hash": "1"},
        {"id": "b", "query_text": None, "winner": None, "extra": {}, "content_hash": "2"},
    ]  # fmt: skip
    store.insert_ignore(t.interactions, rows)
    for read in (store.interactions_frame, store.queries_frame, store.votes_frame):
        full, lean = read(), read(include_extra=False)
        assert full["extra"].tolist()[0] == {"k": 1} and "extra" not in lean
        assert lean.equals(full.drop(columns=["extra"])), read.__name__


def test_schema_3_workspace_loses_the_unused_user_index(store: Store, db_url: str) -> None:
    """A workspace made by schema 3 (with a user_id index) opens upgraded: index gone, votes
    kept, schema current."""
    store.insert_ignore(t.interactions, [{"id": "v1", "user_id": "u1", "model_a": "A",
                                          "model_b": "B", "winner": "tie", "extra": {},
                                          "content_hash": "h1"}])  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_interactions_user_id ON interactions (user_id)"))
        conn.execute(
            update(t.schema_info).where(t.schema_info.c.key == "schema_version").values(value="3")
        )
    store.engine.dispose()
    upgraded = Store.open(db_url)
    indexes = {index["name"] for index in inspect(upgraded.engine).get_indexes("interactions")}
    assert "ix_interactions_user_id" not in indexes and "ix_interactions_votes" in indexes
    assert upgraded.status()["schema_version"] == SCHEMA_VERSION and upgraded.status()["votes"] == 1
    upgraded.engine.dispose()
