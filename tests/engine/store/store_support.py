"""Helpers for the state-store tests: a settable clock, PostgreSQL schemas per test, and
functions run in other processes (importable by name, so `spawn` can find them)."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import psycopg
import pytest
from sqlalchemy.engine import make_url

from engine.store import Store
from engine.store.models import metadata

POSTGRES_URL = os.environ.get("MLC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class BarrierLike(Protocol):
    """A `threading.Barrier` or a manager's proxy of one."""

    def wait(self, timeout: float | None = None) -> int: ...


T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def require_postgres() -> None:
    """Skip (fail when CI=true) unless the PostgreSQL test server answers."""
    problem = _postgres_problem()
    if problem is None:
        return
    message = f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem}); set MLC_TEST_POSTGRES_URL"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; it is required in CI")
    pytest.skip(message)


@functools.cache
def _postgres_problem() -> str | None:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose tables live in a fresh schema of their own, dropped afterwards, so tests
    running in parallel never see each other's rows."""
    schema = f"mlc_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def empty_all_tables(url: str) -> None:
    """Delete every row of the store at `url` (PostgreSQL) and restart its id sequences
    (quicker than TRUNCATE on tables this small)."""
    statements = []
    for table in reversed(metadata.sorted_tables):
        statements.append(f'DELETE FROM "{table.name}"')
        if "id" in table.c:
            statements.append(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)")
    with psycopg.connect(_libpq(url)) as connection:
        for statement in statements:
            connection.execute(statement)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def take_control_numbers(url: str, state_dir: str, partner: str, count: int, start: BarrierLike) -> list[int]:
    """Run in another process: open the store, wait for the others, take `count` ISA numbers."""
    with Store.open(url, state_dir=Path(state_dir)) as store:
        start.wait()
        return [store.next_control(partner, "isa") for _ in range(count)]


class VirtualClock:
    """A worker's own wall time for pacing tests: it moves only by what the worker sleeps."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def pace_requests(url: str, state_dir: str, requests: int, per: float, count: int, start: BarrierLike, t0: float) -> list[float]:
    """Run in another process: pace `count` requests of connection "bc" under `requests` per
    `per` through the store at `url`, on a virtual clock starting at `t0`; their send times."""
    from engine.config.rate_limit import Rate, RateLimit
    from engine.pacing import Pacer, StoreSlots

    with Store.open(url, state_dir=Path(state_dir)) as store:
        clock = VirtualClock(t0)
        pacer = Pacer("bc", RateLimit(Rate(requests, per)), StoreSlots(store), clock=clock, sleep=clock.sleep)
        start.wait()
        sent = []
        for _ in range(count):
            pacer.pace("GET", "/companies")
            sent.append(clock.now)
        return sent
