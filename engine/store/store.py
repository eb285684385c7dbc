"""`Store`: the state store's facade, opened once per process and shared by its threads.

    store = Store.open(os.environ.get("MLC_DATABASE_URL"), state_dir=project / ".mlc")
    job, created = store.enqueue("bc-invoices-810", "INV-1001", kind="810", partner="acme")
    for job in store.claim("worker-1", limit=10):
        ...

Each method runs in a transaction of its own; `transaction()` groups several into one unit of
work (see `engine.store.transaction`). Every failure is a `StoreError` with a one-line message
that names the database with its password masked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from engine.errors import StoreError
from engine.store.database import Database, resolve_url
from engine.store.transaction import Clock, Mask, Transaction

P = ParamSpec("P")
R = TypeVar("R")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _in_transaction(
    method: Callable[Concatenate[Transaction, P], R], *, write: bool = True
) -> Callable[Concatenate[Store, P], R]:
    """`Transaction.method` as a `Store` method running in a transaction of its own."""

    @functools.wraps(method)
    def run(store: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with store._begin(write=write) as tx:
            return method(tx, *args, **kwargs)

    return run


class Store:
    """The state store: jobs, cursors, ledgers, control numbers, groups, audit, artifacts, leases.

    Open it with `Store.open`; close it (or use it as a context manager) to release its
    connections. Safe to share between threads.
    """

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._mask: Mask | None = None

    def mask_audit(self, mask: Mask | None) -> None:
        """Mask every text of every audit row written from now on with `mask` (the project's
        secret values; `Runtime` sets it): whoever writes an audit row, no secret is stored."""
        self._mask = mask

    @classmethod
    def open(
        cls,
        url: str | None,
        *,
        state_dir: Path,
        clock: Clock | None = None,
        create: bool = True,
    ) -> Store:
        """Connect to the store at `url` and migrate its schema to the current revision.

        `url` None means the SQLite file `<state_dir>/mlc.db`; `postgresql://...` (normalised to
        psycopg 3) or `sqlite:///path` name another database. `clock` gives the time stamped on
        rows when a method is not given one (default: the system clock, UTC). With
        `create=False`, a SQLite file that does not exist yet is an error instead of being
        created (for read-only commands such as peeking control numbers).
        """
        database = Database(resolve_url(url, Path(state_dir)))
        if not create and database.url.drivername == "sqlite" and not Path(str(database.url.database)).exists():
            raise StoreError(f"no state store at {database.url.database}: nothing has run in this project yet")
        try:
            database.migrate()
        except BaseException:
            database.dispose()
            raise
        return cls(database, clock or _utc_now)

    @property
    def url(self) -> str:
        """The database URL, password masked: safe to print."""
        return self._database.display

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._database.dialect

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection; the store can no longer be used."""
        self._database.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A unit of work: every operation on the yielded `Transaction` commits together when
        the block ends, or none does if it raises."""
        return self._begin(write=True)

    def reading(self) -> AbstractContextManager[Transaction]:
        """A read-only unit of work: its queries see one snapshot, and on SQLite it takes no
        write lock (the operator console's pages read through it)."""
        return self._begin(write=False)

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[Transaction]:
        tx: Transaction | None = None
        try:
            with self._database.begin(write=write) as connection:
                tx = Transaction(connection, self._database, self._clock, self._mask)
                try:
                    yield tx
                finally:
                    tx.closed = True
        except SQLAlchemyError as exc:
            raise self._database.error(exc) from exc

    enqueue = _in_transaction(Transaction.enqueue)
    enqueue_many = _in_transaction(Transaction.enqueue_many)
    enqueue_many_and_advance = _in_transaction(Transaction.enqueue_many_and_advance)
    claim = _in_transaction(Transaction.claim)
    claim_one = _in_transaction(Transaction.claim_one)
    children = _in_transaction(Transaction.children, write=False)
    defer = _in_transaction(Transaction.defer)
    heartbeat = _in_transaction(Transaction.heartbeat)
    heartbeat_all = _in_transaction(Transaction.heartbeat_all)
    release_stale = _in_transaction(Transaction.release_stale)
    complete = _in_transaction(Transaction.complete)
    complete_many = _in_transaction(Transaction.complete_many)
    retry = _in_transaction(Transaction.retry)
    dead_letter = _in_transaction(Transaction.dead_letter)
    review = _in_transaction(Transaction.review)
    skip = _in_transaction(Transaction.skip)
    requeue = _in_transaction(Transaction.requeue)
    get = _in_transaction(Transaction.get, write=False)
    jobs = _in_transaction(Transaction.jobs, write=False)
    job_counts = _in_transaction(Transaction.job_counts, write=False)
    find_jobs = _in_transaction(Transaction.find_jobs, write=False)

    cursor = _in_transaction(Transaction.cursor, write=False)
    advance_cursor = _in_transaction(Transaction.advance_cursor)

    ledger_seen = _in_transaction(Transaction.ledger_seen, write=False)
    ledger_for_file = _in_transaction(Transaction.ledger_for_file, write=False)
    ledger_record = _in_transaction(Transaction.ledger_record)
    ledger_update = _in_transaction(Transaction.ledger_update)
    interchange_seen = _in_transaction(Transaction.interchange_seen, write=False)
    interchange_record = _in_transaction(Transaction.interchange_record)

    next_control = _in_transaction(Transaction.next_control)
    next_controls = _in_transaction(Transaction.next_controls)
    give_back_controls = _in_transaction(Transaction.give_back_controls)
    peek_control = _in_transaction(Transaction.peek_control, write=False)
    peek_controls = _in_transaction(Transaction.peek_controls, write=False)

    record_outbound_group = _in_transaction(Transaction.record_outbound_group)
    record_outbound_groups = _in_transaction(Transaction.record_outbound_groups)
    acknowledge_group = _in_transaction(Transaction.acknowledge_group)
    acknowledge_interchange = _in_transaction(Transaction.acknowledge_interchange)
    unacknowledged = _in_transaction(Transaction.unacknowledged, write=False)

    audit = _in_transaction(Transaction.audit)
    audit_many = _in_transaction(Transaction.audit_many)
    audit_trail = _in_transaction(Transaction.audit_trail, write=False)
    job_events = _in_transaction(Transaction.job_events, write=False)

    put_artifact = _in_transaction(Transaction.put_artifact)
    put_artifacts = _in_transaction(Transaction.put_artifacts)
    artifacts = _in_transaction(Transaction.artifacts, write=False)
    artifact = _in_transaction(Transaction.artifact, write=False)
    put_artifact_stream = _in_transaction(Transaction.put_artifact_stream)

    record_acknowledgment = _in_transaction(Transaction.record_acknowledgment)
    acknowledgments = _in_transaction(Transaction.acknowledgments, write=False)
    artifact_range = _in_transaction(Transaction.artifact_range, write=False)

    try_lease = _in_transaction(Transaction.try_lease)
    release_lease = _in_transaction(Transaction.release_lease)

    reserve_rate = _in_transaction(Transaction.reserve_rate)
    rate_tat = _in_transaction(Transaction.rate_tat, write=False)
