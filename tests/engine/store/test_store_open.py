"""Opening the store: where it lives, which URLs it takes, and how it reports failures."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from store_support import T0

import engine.store
from engine.errors import StoreError
from engine.store import Store
from engine.store.database import resolve_url


def test_public_api_is_sorted_and_importable() -> None:
    assert engine.store.__all__ == sorted(engine.store.__all__)
    for name in engine.store.__all__:
        assert hasattr(engine.store, name)


def test_no_url_means_a_sqlite_file_in_the_state_dir_created_on_first_open(tmp_path: Path) -> None:
    state_dir = tmp_path / "project" / ".mlc"
    with Store.open(None, state_dir=state_dir) as store:
        store.enqueue("r", "K", kind="810")
        assert store.url == f"sqlite:///{state_dir / 'mlc.db'}"
        assert store.dialect == "sqlite"
    with sqlite3.connect(state_dir / "mlc.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("SELECT count(*) FROM jobs").fetchone() == (1,)


def test_sqlite_connections_enforce_foreign_keys(tmp_path: Path) -> None:
    with (
        Store.open(None, state_dir=tmp_path) as store,
        pytest.raises(StoreError, match="FOREIGN KEY constraint failed"),
    ):
        store.put_artifact(12345, "input", "x.json", b"{}", "application/json")


def test_reopening_keeps_the_data_and_migrates_nothing(tmp_path: Path) -> None:
    with Store.open(None, state_dir=tmp_path) as store:
        job = store.enqueue("r", "K", kind="810").job
    with Store.open(None, state_dir=tmp_path) as store:
        assert store.get(job.id) == job


def test_open_without_create_refuses_a_missing_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no state store at .*mlc\.db"):
        Store.open(None, state_dir=tmp_path, create=False)
    assert not (tmp_path / "mlc.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("postgresql://u:p@db:5432/mlc", "postgresql+psycopg://u:***@db:5432/mlc", id="plain-postgresql"),
        pytest.param("postgres://u@db/mlc", "postgresql+psycopg://u@db/mlc", id="postgres-alias"),
        pytest.param("postgresql+psycopg://u@db/mlc", "postgresql+psycopg://u@db/mlc", id="psycopg"),
        pytest.param("sqlite:////var/lib/mlc/state.db", "sqlite:////var/lib/mlc/state.db", id="sqlite-file"),
    ],
)
def test_urls_are_normalised_to_the_supported_drivers(url: str, expected: str) -> None:
    assert resolve_url(url, Path("/unused")).render_as_string(hide_password=True) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("mysql://u:hunter22@db/mlc", "unsupported scheme 'mysql'", id="mysql"),
        pytest.param("sqlite://", "names no file", id="sqlite-memory"),
        pytest.param("not a url", "is not a database URL", id="garbage"),
    ],
)
def test_unsupported_urls_are_refused_with_the_valid_forms(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        Store.open(url, state_dir=tmp_path)
    assert "postgresql://" in str(caught.value)
    assert "hunter22" not in str(caught.value)


def test_an_unreachable_database_is_a_store_error_naming_the_masked_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql://mlc:hunter22@127.0.0.1:1/mlc", state_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith("state store postgresql+psycopg://mlc:***@127.0.0.1:1/mlc could not be migrated")
    assert "refused" in message
    assert "hunter22" not in message
    assert "\n" not in message
    assert "sqlalche.me" not in message


def test_repr_and_url_mask_the_password(postgres_url: str, tmp_path: Path) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:hunter22@", 1)
    with Store.open(with_password, state_dir=tmp_path) as store:
        assert "hunter22" not in repr(store)
        assert "hunter22" not in store.url
        assert store.url.startswith("postgresql+psycopg://postgres:***@")
        assert store.dialect == "postgresql"


def test_a_database_error_becomes_a_one_line_store_error(store: Store) -> None:
    with pytest.raises(StoreError) as caught:
        store.put_artifact(404, "input", "x.json", b"{}", "application/json")
    message = str(caught.value)
    assert message.startswith(f"state store {store.url} failed: ")
    assert "foreign key" in message.lower()
    assert "\n" not in message
    assert "INSERT INTO" not in message


@pytest.mark.parametrize("value", [pytest.param(object(), id="object"), pytest.param(float("nan"), id="nan")])
def test_a_payload_that_is_not_json_is_refused_on_every_backend(store: Store, value: object) -> None:
    with pytest.raises(StoreError, match=r"^payload of job r/K is not JSON: "):
        store.enqueue("r", "K", kind="810", payload={"value": value})
    assert store.jobs() == []


def test_an_unknown_state_is_refused_with_the_valid_ones(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown JobState 'finished'; expected one of pending, running, done"):
        store.jobs(state="finished")


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="naive datetime 2024-05-01T12:00:00"):
        store.claim("w1", now=datetime(2024, 5, 1, 12, 0))


def test_a_transaction_cannot_be_used_after_it_ended(store: Store) -> None:
    with store.transaction() as tx:
        tx.enqueue("r", "K", kind="810")
    with pytest.raises(StoreError, match="enqueue: the transaction has ended"):
        tx.enqueue("r", "K2", kind="810")


def test_a_transaction_commits_together_or_not_at_all(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.enqueue("r", "K", kind="810")
        tx.advance_cursor("r", "2024-05-01", expected=None)
        raise RuntimeError("render failed")
    assert store.jobs() == []
    assert store.cursor("r") is None


def test_timestamps_come_back_timezone_aware_in_utc(store: Store) -> None:
    job = store.enqueue("r", "K", kind="810", not_before=T0.astimezone()).job
    assert store.get(job.id).not_before == T0
    assert store.get(job.id).not_before.utcoffset() is not None
