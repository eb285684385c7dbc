"""Cursors: each route's watermark (a lastModifiedDateTime, a GP ModifiedDate...), as text.

A cursor only moves by compare-and-set: `advance` names the value it read, and nothing changes
when another writer moved the cursor in between. Enqueuing the jobs a poll found and moving the
cursor past them happen in one transaction (`Transaction.enqueue_many_and_advance`), so a crash
can neither lose documents (cursor moved, jobs missing) nor leave half a batch.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.sql.dml import ReturningInsert

from engine.store.database import dialect_insert
from engine.store.models import UtcDateTime, cursors

_READ = select(cursors.c.value).where(cursors.c.route == bindparam("route_"))
_MOVE = (
    update(cursors)
    .where(cursors.c.route == bindparam("route_"), cursors.c.value == bindparam("expected"))
    .values(value=bindparam("new_value"), updated_at=bindparam("now", type_=UtcDateTime()))
    .returning(cursors.c.route)
)


def read(connection: Connection, route: str) -> str | None:
    """The route's cursor, or None before its first advance."""
    value: str | None = connection.execute(_READ, {"route_": route}).scalar_one_or_none()
    return value


def advance(connection: Connection, route: str, value: str, *, expected: str | None, now: datetime) -> bool:
    """Set the cursor to `value` if it is still `expected` (None: not set yet); whether it moved."""
    if expected is None:
        first = {"route": route, "value": value, "updated_at": now}
        return connection.execute(_create_statement(connection.dialect.name), first).first() is not None
    params = {"route_": route, "expected": expected, "new_value": value, "now": now}
    return connection.execute(_MOVE, params).first() is not None


@functools.cache
def _create_statement(dialect: str) -> ReturningInsert[Any]:
    insert = dialect_insert(dialect, cursors)
    return insert.on_conflict_do_nothing(index_elements=[cursors.c.route]).returning(cursors.c.route)
