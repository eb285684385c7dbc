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
