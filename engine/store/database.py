"""Connecting to the state store's database: URLs, the SQLAlchemy engine, migrations, errors.

- No URL: a SQLite file `<state_dir>/mlc.db`, created on first use. `sqlite:///path` names
  another file. SQLite runs in WAL mode with foreign keys on and a busy timeout; every write
  transaction starts with `BEGIN IMMEDIATE`, so writers queue for the database lock up front
  instead of failing when a read transaction tries to become a write one.
- `postgresql://` or `postgresql+psycopg://`: PostgreSQL through psycopg 3. Query parameters
  go to libpq, e.g. `?options=-csearch_path%3Dmlc` to keep the tables in schema `mlc`. A pooled
  connection that sat idle for `IDLE_PING_SECONDS` is pinged when it is checked out again
  (SQLAlchemy's pessimistic disconnect handling, done in a `checkout` event), and replaced when
  the server has dropped it (a restart, an idle timeout); one back in use within that time is
  not, which is what a busy worker's connections are: a ping before every transaction was a
  round trip per transaction. A connection dropped within the interval fails its statement
  with a `StoreBusyError`, the pool discards it and its idle siblings, and the job is retried.
- Migrations run to the newest Alembic revision when the store is opened, from the scripts
  inside this package (no alembic.ini). On PostgreSQL a transaction-scoped advisory lock makes
  workers that start together migrate one after the other.
- SQLAlchemy and driver errors never leave the package: `Database.error` turns them into a
  one-line `StoreError` naming the URL with its password masked; an error of the moment (SQLite
  locked or busy past the busy timeout, a PostgreSQL lock or statement timeout, deadlock,
  serialization failure or lost connection, a pool checkout timeout) is a `StoreBusyError`,
  which the runtime retries with backoff; every other store error fails the job.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from engine.errors import StoreBusyError, StoreError
from engine.secrets import mask

SQLITE_FILENAME = "mlc.db"
BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10
IDLE_PING_SECONDS = 5.0
"""A PostgreSQL connection idle in the pool this long is pinged before it is used again."""
MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every worker ("mlc" in ASCII).
MIGRATION_LOCK_KEY = 0x6D6C63

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300"})
"""PostgreSQL answers of the moment: serialization failure, deadlock, lock not available (lock
timeout), query canceled (statement timeout), server shutting down or starting, too many
connections. Class 08 (connection exceptions) is transient too."""

_VALID = "postgresql://..., postgresql+psycopg://... or sqlite:///path (or no URL for <state dir>/mlc.db)"


def resolve_url(url: str | None, state_dir: Path) -> URL:
    """The SQLAlchemy URL for `url`: SQLite under `state_dir` when None, psycopg for PostgreSQL."""
    if url is None:
        return URL.create("sqlite", database=str(Path(state_dir) / SQLITE_FILENAME))
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"state store URL {mask_url_text(url)!r} is not a database URL; expected {_VALID}") from exc
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError(
                f"state store URL {url!r} names no file: an in-memory SQLite store would forget everything; expected {_VALID}"
            )
        return parsed.set(drivername="sqlite")
    raise StoreError(
        f"state store URL {display_url(parsed)!r} has the unsupported scheme {parsed.drivername!r}; expected {_VALID}"
    )


def display_url(url: URL) -> str:
    """`url` as text with its password replaced by `***`."""
    return url.render_as_string(hide_password=True)


def mask_url_text(url: str) -> str:
    """A URL given as text, with any password masked even if it does not parse."""
    try:
        return display_url(make_url(url))
    except ArgumentError:
        return "<unparseable URL>"


class Database:
    """The engine of one state-store database, and how to begin a transaction on it."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.display = display_url(url)
        self.dialect = "sqlite" if url.drivername == "sqlite" else "postgresql"
        self._password = url.password if isinstance(url.password, str) else None
        self.engine = _create_engine(url, self.dialect)

    @property
    def is_postgresql(self) -> bool:
        """True on PostgreSQL (row locks, SKIP LOCKED), False on SQLite (one writer at a time)."""
        return self.dialect == "postgresql"

    @contextmanager
    def begin(self, *, write: bool = True) -> Iterator[Connection]:
        """A connection inside a transaction, committed when the block ends normally.

        On SQLite a write transaction takes the write lock at once (`BEGIN IMMEDIATE`); a read
        transaction (`write=False`) takes none and reads a snapshot.
        """
        with self.engine.connect() as connection:
            if not write and not self.is_postgresql:
                connection = connection.execution_options(mlc_begin="DEFERRED")  # a write begins IMMEDIATE (`_on_begin`)
            with connection.begin():
                yield connection

    def error(self, exc: BaseException, action: str = "failed") -> StoreError:
        """A one-line `StoreError` for `exc`, naming the masked URL; secrets never in it."""
        message = mask(f"state store {self.display} {action}: {_describe(exc)}", [self._password] if self._password else [])
        return StoreBusyError(message) if is_transient(exc) else StoreError(message)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is there already)."""
        try:
            with self.begin(write=True) as connection:
                if self.is_postgresql:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                command.upgrade(alembic_config(connection), "head")
        except (SQLAlchemyError, CommandError) as exc:
            error = self.error(exc, "could not be migrated to the current schema")
            if isinstance(exc, CommandError) and "Can't locate revision" in str(exc):
                error = StoreError(f"{error} (a newer version of ml-connector has migrated this database)")
            raise error from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the scripts in this package, built in code.

    With `connection`, `env.py` migrates through it (inside the caller's transaction).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _create_engine(url: URL, dialect: str) -> Engine:
    if dialect == "sqlite":
        return _sqlite_engine(url)
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    engine = create_engine(url, connect_args=connect_args)
    _ping_after_idle(engine)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Ping a connection at checkout when it was idle `IDLE_PING_SECONDS` (module docstring)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["mlc_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("mlc_idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure of the ping: the pool connects anew (up to three times)
            raise DisconnectionError(f"the pooled connection did not answer a ping: {exc}") from exc


def _sqlite_engine(url: URL) -> Engine:
    assert url.database is not None
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Leave transactions to us (the pysqlite driver would begin them lazily and DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            _enable_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("mlc_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the database file to WAL (a setting kept in the file, so once is enough).

    The switch needs the database to itself, and SQLite answers "database is locked" at once,
    without its busy handler, while another connection is in a transaction: that happens when
    several workers open a new store together. Retry until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is of the moment, so the same work may succeed later (module docstring)."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    inner = exc.orig
    if isinstance(inner, sqlite3.OperationalError):
        text = str(inner).lower()
        return "locked" in text or "busy" in text
    sqlstate = getattr(inner, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith("08")
    # psycopg's OperationalError without a SQLSTATE: the server could not be reached or went away.
    return isinstance(exc, OperationalError)


def _describe(exc: BaseException) -> str:
    """The driver's own message (one line), without SQLAlchemy's statement and help link."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        inner: BaseException = exc.orig
    elif isinstance(exc, DBAPIError) and exc.orig is not None:
        inner = exc.orig
    else:
        inner = exc
    lines = [line.strip() for line in str(inner).splitlines()]
    # PostgreSQL's "LINE 2: <statement>" and caret lines point into SQL the user never wrote.
    kept = [line for line in lines if line and not line.startswith(("LINE ", "^"))]
    return "; ".join(kept) or type(inner).__name__


def dialect_insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT on `table` with the ON CONFLICT clauses of `dialect` ('postgresql' or 'sqlite').

    The store builds each statement once per dialect (`functools.cache`) with bound parameters
    and executes it with a dict of values: building a statement costs ten times more CPU than
    running it, and a worker runs a handful per document.
    """
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
