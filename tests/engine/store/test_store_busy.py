"""A database that cannot answer now (locked, a lock timeout) is a `StoreBusyError`, which is
transient, so the runtime retries the job; any other store error is a plain `StoreError`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from store_support import FakeClock, _libpq

from engine.errors import StoreBusyError, StoreError, TransientError
from engine.store import Store


def test_a_sqlite_database_locked_past_the_busy_timeout_is_a_transient_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engine.store.database.BUSY_TIMEOUT_SECONDS", 0.05)
    url = f"sqlite:///{tmp_path / 'mlc.db'}"
    with Store.open(url, state_dir=tmp_path, clock=FakeClock()) as store:
        holder = sqlite3.connect(tmp_path / "mlc.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreBusyError, match="locked") as caught:
                store.enqueue("route", "key-1", kind="document")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert isinstance(caught.value, TransientError)
        job, created = store.enqueue("route", "key-1", kind="document")  # once the lock is gone, the same call works
        assert created and job.key == "key-1"


def test_a_refusal_of_the_store_is_not_transient(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'mlc.db'}", state_dir=tmp_path, clock=FakeClock()) as store:
        with pytest.raises(StoreError) as caught:
            store.ledger_update("F-404", "00" * 32, state="processed")
        assert not isinstance(caught.value, TransientError)


@pytest.mark.postgres
def test_a_postgresql_lock_timeout_is_a_transient_store_error(postgres_url: str) -> None:
    with Store.open(postgres_url, state_dir=Path("."), clock=FakeClock()) as store:
        job, _ = store.enqueue("route", "key-1", kind="document")
        with psycopg.connect(_libpq(postgres_url)) as holder:
            holder.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE", (job.id,))
            with pytest.raises(StoreBusyError, match="lock timeout") as caught, store.transaction() as tx:
                tx.connection.execute(text("SET LOCAL lock_timeout = '50ms'"))
                tx.connection.execute(text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": job.id})
            holder.rollback()
        assert isinstance(caught.value, TransientError)


def _backend_pid(store: Store) -> int:
    with store.transaction() as tx:
        return int(tx.connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(postgres_url: str, pid: int) -> None:
    with psycopg.connect(_libpq(postgres_url), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


@pytest.mark.postgres
def test_a_pooled_postgresql_connection_idle_past_the_interval_is_pinged_and_replaced_when_the_server_dropped_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.store.database.IDLE_PING_SECONDS", 0.0)  # every checkout is after the interval
    with Store.open(postgres_url, state_dir=Path("."), clock=FakeClock()) as store:
        dropped = _backend_pid(store)
        _terminate(postgres_url, dropped)  # a server restart or idle timeout, while the connection sat in the pool
        job, created = store.enqueue("route", "key-1", kind="document")  # no error: the ping found it gone
        assert created and job.key == "key-1"
        assert _backend_pid(store) != dropped


@pytest.mark.postgres
def test_a_pooled_postgresql_connection_back_in_use_within_the_interval_is_not_pinged(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engine.store.database.IDLE_PING_SECONDS", 3600.0)
    with Store.open(postgres_url, state_dir=Path("."), clock=FakeClock()) as store:
        dialect = store._database.engine.dialect
        pings: list[object] = []
        real_ping = dialect.do_ping
        monkeypatch.setattr(dialect, "do_ping", lambda connection: pings.append(connection) or real_ping(connection))
        for n in range(5):
            store.enqueue("route", f"key-{n}", kind="document")
        assert pings == []  # a busy worker's transactions: no round trip before each
        # Dropped within the interval: the statement fails as a transient error (the job is retried),
        # the pool discards the connection, and the next transaction runs on a new one.
        dropped = _backend_pid(store)
        _terminate(postgres_url, dropped)
        with pytest.raises(StoreBusyError):
            store.enqueue("route", "key-lost", kind="document")
        _, created = store.enqueue("route", "key-lost", kind="document")
        assert created and _backend_pid(store) != dropped
