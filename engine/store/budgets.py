"""Rate budgets: the GCRA state of each budget, shared by every worker of a store.

The generic cell rate algorithm keeps one number per budget, its theoretical arrival time
`tat`: the moment the budget would be idle again if requests came no faster than `spacing`
apart. A request arriving at `now` takes its slot at `max(tat, now)`, pushes `tat` one spacing
further, and may be sent once `now >= slot - tolerance` (the burst allowance). One statement
decides, so two workers can never take the same slot:

    INSERT INTO rate_budgets (name, tat, spacing) VALUES (:name, :now + :spacing, :spacing)
    ON CONFLICT (name) DO UPDATE SET
        tat = CASE WHEN <reset> THEN excluded.tat ELSE rate_budgets.tat + excluded.spacing END,
        spacing = excluded.spacing
    WHERE <reset> OR rate_budgets.tat - :tolerance - :now <= :max_wait
    RETURNING tat

`<reset>` is `rate_budgets.tat < :now` (the budget was idle: no credit is saved up beyond the
tolerance) or a different `spacing` (the budget was changed in connections.yaml: the backlog
computed under the old one is dropped). The WHERE clause refuses a slot further away than
`max_wait` without taking it: nothing is returned and `tat` is left as it was. On PostgreSQL the
conflicting row is locked by the upsert, so workers queue on that one row; on SQLite the write
transaction holds the database lock. Times come from the caller (as for leases), so the tests
compute grant times without waiting; workers on several hosts need clocks kept by NTP (a skew
of d seconds moves single grants by d, never the rate).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import Double, bindparam, case, or_, select
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.elements import BindParameter

from engine.store.database import dialect_insert
from engine.store.models import rate_budgets

if TYPE_CHECKING:
    from engine.store.transaction import Transaction

__all__ = ["rate_tat", "reserve_rate"]


def reserve_rate(tx: Transaction, name: str, *, now: float, spacing: float, tolerance: float = 0.0, max_wait: float) -> float | None:
    """Take the next slot of budget `name`: its time (the request may go at `slot - tolerance`,
    not before `now`), or None when that is more than `max_wait` after `now` (nothing taken)."""
    values = {
        "name": name,
        "tat": now + spacing,
        "spacing": spacing,
        "now_": now,
        "tolerance_": tolerance,
        "max_wait_": max_wait,
    }
    row = tx.connection.execute(_reserve_statement(tx.connection.dialect.name), values).first()
    return None if row is None else float(row[0]) - spacing


def rate_tat(tx: Transaction, name: str) -> float | None:
    """The theoretical arrival time of budget `name`, None when it has never granted a slot."""
    value = tx.connection.execute(_CURRENT, {"name_": name}).scalar()
    return None if value is None else float(value)


_CURRENT = select(rate_budgets.c.tat).where(rate_budgets.c.name == bindparam("name_"))


@functools.cache
def _reserve_statement(dialect: str) -> ReturningInsert[Any]:
    insert = dialect_insert(dialect, rate_budgets)
    stored, wanted = rate_budgets.c, insert.excluded
    now: BindParameter[float] = bindparam("now_", type_=Double())
    tolerance: BindParameter[float] = bindparam("tolerance_", type_=Double())
    max_wait: BindParameter[float] = bindparam("max_wait_", type_=Double())
    reset = or_(stored.tat < now, stored.spacing != wanted.spacing)
    return insert.on_conflict_do_update(
        index_elements=[stored.name],
        set_={"tat": case((reset, wanted.tat), else_=stored.tat + wanted.spacing), "spacing": wanted.spacing},
        where=or_(reset, stored.tat - tolerance - now <= max_wait),
    ).returning(stored.tat)
