"""Control numbers (ISA13, GS06, ST02) per partner and kind: gap-free and never reused.

Each (partner, kind) row holds the next value to hand out. Taking numbers is one statement,
`INSERT ... ON CONFLICT DO UPDATE SET next_value = <next> RETURNING next_value`, in the caller's
transaction:
- PostgreSQL: the upsert locks the row, so concurrent takers for one partner queue behind each
  other until the first transaction ends; numbers are consumed only if that transaction
  commits, so a rolled-back render leaves no gap and nothing is handed out twice.
- SQLite: the transaction already holds the database write lock (`BEGIN IMMEDIATE`).

Every kind is at most nine digits in X12 (ISA13 is N0 9/9, GS06 N0 1/9, ST02 AN 4/9), so every
counter wraps after 999999999 back to 1 (0 is never used). A block (`count` > 1) is always
contiguous: one that would pass 999999999 starts at 1 instead, leaving the few numbers at the
top unused for that round.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, TextClause, bindparam, select, text, update

from engine.errors import StoreError
from engine.store.models import UtcDateTime, control_numbers

if TYPE_CHECKING:
    from engine.store.transaction import Transaction

MAX_CONTROL = 999_999_999
KINDS = ("isa", "gs", "st")


def next_control(tx: Transaction, partner: str, kind: str, *, count: int = 1) -> int:
    """Consume `count` consecutive control numbers of `kind` (isa, gs, st); the first."""
    return next_controls(tx, partner, (kind,), count=count)[kind]


def next_controls(tx: Transaction, partner: str, kinds: tuple[str, ...] = KINDS, *, count: int = 1) -> dict[str, int]:
    """One control number of each of `kinds` (an outbound document's ISA13, GS06 and ST02), or a
    block of `count` of each (the documents of a batch), in one statement; kind -> the number
    (the block's first). The rows are
    taken in the order of `kinds` (on PostgreSQL, the order their locks are taken in: keep it
    the order single takes use, isa, gs, st)."""
    for kind in kinds:
        _check(kind)
    if len(set(kinds)) != len(kinds):
        raise StoreError(f"control-number kinds {kinds} name a kind twice: take a block with count=...")
    if not 1 <= count <= MAX_CONTROL:
        raise StoreError(f"cannot take {count} {'/'.join(kinds)} control numbers at once: between 1 and {MAX_CONTROL}")
    params = {"partner_": partner, "updated_at_": tx.now(), "count_": count}
    rows = tx.connection.execute(_take_statement(kinds), params).all()
    return {str(kind): int(after) - count for kind, after in rows}


def peek_controls(tx: Transaction, partner: str, kinds: tuple[str, ...] = KINDS) -> dict[str, int]:
    """The numbers `next_controls` would return next, without consuming them (one statement)."""
    for kind in kinds:
        _check(kind)
    stored = {str(kind): int(value) for kind, value in tx.connection.execute(_PEEK, {"partner_": partner, "kinds_": list(kinds)})}
    return {kind: value if (value := stored.get(kind)) is not None and value <= MAX_CONTROL else 1 for kind in kinds}


def give_back_controls(tx: Transaction, partner: str, taken: Mapping[str, int]) -> None:
    """Return control numbers taken for `partner` that will not be used (`taken`: what
    `next_controls` returned; a render of a batch that failed after taking them, while the
    batch goes on and commits), so the next document gets them and the sequence keeps no gap.
    A kind's counter is set back only while it still stands right after the number given back:
    numbers taken since (by this transaction or another) are never handed out twice."""
    for kind in taken:
        _check(kind)
    now = tx.now()
    tx.connection.execute(_GIVE_BACK, [{"partner_": partner, "kind_": kind, "value_": number, "updated_at_": now} for kind, number in taken.items()])


def peek_control(tx: Transaction, partner: str, kind: str) -> int:
    """The control number `next_control` would return next, without consuming it."""
    return peek_controls(tx, partner, (kind,))[kind]


_PEEK = select(control_numbers.c.kind, control_numbers.c.next_value).where(
    control_numbers.c.partner == bindparam("partner_"), control_numbers.c.kind.in_(bindparam("kinds_", expanding=True))
)

_GIVE_BACK = (
    update(control_numbers)
    .where(
        control_numbers.c.partner == bindparam("partner_"),
        control_numbers.c.kind == bindparam("kind_"),
        control_numbers.c.next_value == bindparam("value_") + 1,
    )
    .values(next_value=bindparam("value_"), updated_at=bindparam("updated_at_"))
)


@functools.cache
def _take_statement(kinds: tuple[str, ...]) -> TextClause:
    """`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` taking `:count_` numbers of each of
    `kinds` (checked kinds only) for `:partner_`: the same text on SQLite 3.35+ and PostgreSQL.
    A row's next value moves on by the count, or starts again at 1 when the block would pass
    MAX_CONTROL. Written as text: SQLAlchemy compiles a multi-row VALUES insert again on every
    call (it is not in its statement cache)."""
    table = control_numbers.name
    rows = ", ".join(f"(:partner_, '{kind}', 1 + :count_, :updated_at_)" for kind in kinds)
    statement = text(
        f"INSERT INTO {table} (partner, kind, next_value, updated_at) VALUES {rows} "
        "ON CONFLICT (partner, kind) DO UPDATE SET "
        f"next_value = CASE WHEN {table}.next_value + :count_ - 1 > {MAX_CONTROL} THEN :count_ + 1 ELSE {table}.next_value + :count_ END, "
        "updated_at = excluded.updated_at "
        "RETURNING kind, next_value"
    )
    return statement.bindparams(
        bindparam("updated_at_", type_=UtcDateTime()), bindparam("partner_"), bindparam("count_", type_=BigInteger())
    )


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise StoreError(f"unknown control-number kind {kind!r}; expected one of {', '.join(KINDS)}")
