"""Fixtures for the state-store contract tests (helpers in store_support.py).

`database_url` is parametrised over every backend: `sqlite` (a new file in tmp_path) and
`postgresql` (on the server at MLC_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test; skipped when unreachable, a failure when CI=true).
On PostgreSQL each test process has a schema of its own, migrated once and emptied before
every test, so parallel workers (`pytest -n`) never meet. `fresh_database_url` is an empty
database without tables (a new schema per test), for the migration tests. `store` is a `Store`
opened on `database_url` with a `FakeClock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_support import FakeClock, empty_all_tables, postgres_schema, require_postgres

from engine.store import Store

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: 'sqlite' or 'postgresql'."""
    name: str = request.param
    if name == "postgresql":
        require_postgres()
    return name


@pytest.fixture(scope="session")
def _postgres_worker_url() -> Iterator[str]:
    """One migrated schema per test process (xdist worker), emptied before each test."""
    require_postgres()
    with postgres_schema() as url:
        Store.open(url, state_dir=Path(".")).close()
        yield url


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL to a migrated, empty database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'mlc.db'}"
    url: str = request.getfixturevalue("_postgres_worker_url")
    empty_all_tables(url)
    return url


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to a database with no tables at all, for the migration tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'mlc.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to an empty PostgreSQL schema, for tests that only make sense there."""
    require_postgres()
    with postgres_schema() as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    """The store's clock, standing at 2024-05-01 12:00 UTC until moved."""
    return FakeClock()


@pytest.fixture
def store(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    """A migrated, empty store on the backend under test."""
    with Store.open(database_url, state_dir=tmp_path, clock=clock) as opened:
        yield opened
