"""Leases: named, expiring locks held by one worker, e.g. "poll route X" for one tick.

One statement decides, so two workers can never both win:
`INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE expires_at <= now OR holder = me`. On
PostgreSQL the conflicting row is locked and re-checked by the upsert; on SQLite the write
transaction holds the database lock. A holder renews its lease by taking it again; an expired
lease goes to whoever asks next. Times come from the caller, so expiry is testable without
waiting and does not depend on the database server's clock.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, or_
from sqlalchemy.sql.dml import ReturningInsert

from engine.errors import StoreError
from engine.store.database import dialect_insert
from engine.store.models import leases

if TYPE_CHECKING:
    from engine.store.transaction import Transaction


def try_lease(tx: Transaction, name: str, holder: str, ttl_seconds: float, *, now: datetime | None = None) -> bool:
    """Take or renew the lease `name` for `holder` (until now + `ttl_seconds`); whether
    `holder` now holds it."""
    at = tx.now(now)
    if ttl_seconds <= 0:
        raise StoreError(f"lease {name!r}: the time to live must be positive, not {ttl_seconds}")
    values = {"name": name, "holder": holder, "acquired_at": at, "expires_at": at + timedelta(seconds=ttl_seconds)}
    return tx.connection.execute(_take_statement(tx.connection.dialect.name), values).first() is not None


def release_lease(tx: Transaction, name: str, holder: str) -> bool:
    """Give the lease up if `holder` holds it; whether it did."""
    return tx.connection.execute(_RELEASE, {"name_": name, "holder_": holder}).first() is not None


_RELEASE = (
    delete(leases)
    .where(leases.c.name == bindparam("name_"), leases.c.holder == bindparam("holder_"))
    .returning(leases.c.name)
)


@functools.cache
def _take_statement(dialect: str) -> ReturningInsert[Any]:
    insert = dialect_insert(dialect, leases)
    wanted = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[leases.c.name],
        set_={"holder": wanted.holder, "acquired_at": wanted.acquired_at, "expires_at": wanted.expires_at},
        where=or_(leases.c.expires_at <= wanted.acquired_at, leases.c.holder == wanted.holder),
    ).returning(leases.c.name)
