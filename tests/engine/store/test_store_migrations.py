"""The Alembic revisions create exactly the tables of engine/store/models.py, on every backend."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect

from engine.errors import StoreError
from engine.store import Store
from engine.store.database import MIGRATIONS, Database, alembic_config, resolve_url
from engine.store.models import metadata

TABLES = {
    "acknowledgment_lines",
    "acknowledgments",
    "alembic_version",
    "artifact_chunks",
    "artifacts",
    "audit_events",
    "control_numbers",
    "console_state",
    "console_users",
    "cursors",
    "inbound_files",
    "interchanges",
    "job_references",
    "jobs",
    "leases",
    "outbound_groups",
    "rate_budgets",
}


def _diff(database_url: str, tmp_path: Path, target: MetaData) -> list[object]:
    database = Database(resolve_url(database_url, tmp_path))
    try:
        database.migrate()
        with database.begin() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), target))
    finally:
        database.dispose()


def test_migrations_create_exactly_the_models(fresh_database_url: str, tmp_path: Path) -> None:
    assert _diff(fresh_database_url, tmp_path, metadata) == []


def test_the_comparison_would_notice_a_model_change(fresh_database_url: str, tmp_path: Path) -> None:
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["leases"].append_column(Column("renewals", Integer, nullable=True))
    diff = _diff(fresh_database_url, tmp_path, changed)
    assert [entry[0] for entry in diff] == ["add_column"]  # type: ignore[index]


def test_migrations_create_every_table(fresh_database_url: str, tmp_path: Path) -> None:
    database = Database(resolve_url(fresh_database_url, tmp_path))
    try:
        database.migrate()
        with database.begin() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
    finally:
        database.dispose()


def test_downgrade_to_base_and_upgrade_again(fresh_database_url: str, tmp_path: Path) -> None:
    database = Database(resolve_url(fresh_database_url, tmp_path))
    try:
        database.migrate()
        with database.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        with database.begin() as connection:
            assert set(inspect(connection).get_table_names()) == {"alembic_version"}
        database.migrate()
        with database.begin() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
    finally:
        database.dispose()


def test_the_migration_scripts_live_inside_the_package() -> None:
    assert MIGRATIONS.parent == Path(__file__).resolve().parents[3] / "engine" / "store"
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert [p.name for p in sorted((MIGRATIONS / "versions").glob("v*.py"))] == ["v0001_initial.py", "v0002_acknowledgments.py", "v0003_console.py", "v0004_rate_budgets.py"]


def test_a_schema_from_a_newer_version_is_a_store_error(tmp_path: Path) -> None:
    Store.open(None, state_dir=tmp_path).close()
    with sqlite3.connect(tmp_path / "mlc.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match=r"could not be migrated to the current schema: .*'9999'"):
        Store.open(None, state_dir=tmp_path)


def test_workers_opening_a_new_database_together_all_succeed(fresh_database_url: str, tmp_path: Path) -> None:
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_store() -> None:
        start.wait()
        try:
            Store.open(fresh_database_url, state_dir=tmp_path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
