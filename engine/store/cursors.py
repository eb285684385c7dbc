"""Cursors: each route's watermark (a lastModifiedDateTime, a GP ModifiedDate...), as text.

A cursor only moves by compare-and-set: `advance_cursor` names the value it read, and nothing
changes when another writer moved the cursor in between. Enqueuing the jobs a poll found and
moving the cursor past them happen in one transaction (`enqueue_many_and_advance` in
`engine.store.jobs`), so a crash can neither lose documents (cursor moved, jobs missing) nor
leave half a batch.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.sql.dml import ReturningInsert

from engine.store.database import dialect_insert
from engine.store.models import UtcDateTime, cursors

if TYPE_CHECKING:
    from engine.store.transaction import Transaction

_READ = select(cursors.c.value).where(cursors.c.route == bindparam("route_"))
_MOVE = (
    update(cursors)
    .where(cursors.c.route == bindparam("route_"), cursors.c.value == bindparam("expected"))
    .values(value=bindparam("new_value"), updated_at=bindparam("now", type_=UtcDateTime()))
    .returning(cursors.c.route)
)


def cursor(tx: Transaction, route: str) -> str | None:
    """The route's watermark, or None before the first advance."""
    value: str | None = tx.connection.execute(_READ, {"route_": route}).scalar_one_or_none()
    return value


def advance_cursor(tx: Transaction, route: str, value: str, *, expected: str | None) -> bool:
    """Compare-and-set the route's cursor from `expected` to `value` (None: not set yet);
    whether it moved."""
    now = tx.now()
    if expected is None:
        first = {"route": route, "value": value, "updated_at": now}
        return tx.connection.execute(_create_statement(tx.connection.dialect.name), first).first() is not None
    params = {"route_": route, "expected": expected, "new_value": value, "now": now}
    return tx.connection.execute(_MOVE, params).first() is not None


@functools.cache
def _create_statement(dialect: str) -> ReturningInsert[Any]:
    insert = dialect_insert(dialect, cursors)
    return insert.on_conflict_do_nothing(index_elements=[cursors.c.route]).returning(cursors.c.route)
