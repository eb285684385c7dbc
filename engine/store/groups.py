"""Outbound functional groups, kept until their 997 arrives.

Each group we send is recorded with our GS02 (sender), GS03 (receiver) and GS06 (group control
number). An inbound 997 names the group it acknowledges in AK1 (functional id, GS06) and comes
from the partner, so its GS02/GS03 are ours swapped: the caller passes our group's sender and
receiver to `acknowledge_group`. Groups with no 997 after a while are listed by `unacknowledged`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, String, bindparam, or_, select, update
from sqlalchemy.sql.dml import ReturningInsert

from engine.errors import StoreError
from engine.store.database import dialect_insert
from engine.store.models import UtcDateTime, outbound_groups
from engine.store.records import NewGroup, OutboundGroup, utc

if TYPE_CHECKING:
    from engine.store.transaction import Transaction

# AK901 / AK501 codes: accepted, accepted with errors, partially accepted, rejected, and the
# codes some translators send for rejections by message authentication and security.
ACK_STATUSES = ("A", "E", "P", "R", "M", "W", "X")


def record_outbound_group(
    tx: Transaction,
    partner: str,
    sender_id: str,
    receiver_id: str,
    functional_id: str,
    group_control: int,
    set_ids: Sequence[str],
    interchange_control: int,
    filename: str,
    job_id: int | None = None,
    sent_at: datetime | None = None,
) -> OutboundGroup:
    """Record a group we sent, to match its 997 later; `StoreError` if that group control
    number was recorded before for the same partner, sender and receiver (a reused control
    number)."""
    group = NewGroup(partner, sender_id, receiver_id, functional_id, group_control, tuple(set_ids), interchange_control, filename, job_id, sent_at)
    row = tx.connection.execute(_record_statement(tx.connection.dialect.name), _values(tx, group)).one_or_none()
    if row is None:
        raise StoreError(f"outbound group {_named(group)} was recorded before: a group control number was reused")
    return _group(row)


def record_outbound_groups(tx: Transaction, groups: Sequence[NewGroup]) -> None:
    """`record_outbound_group` for several groups in one executemany (the groups of a batch of
    renders); `StoreError` naming them if any was recorded before (then the transaction must
    not commit: the others were recorded)."""
    if not groups:
        return
    rows = tx.connection.execute(_record_statement(tx.connection.dialect.name), [_values(tx, group) for group in groups]).all()
    if len(rows) != len(groups):
        recorded = {(row.partner, row.sender_id, row.receiver_id, row.group_control) for row in rows}
        reused = [group for group in groups if (group.partner, group.sender_id.strip(), group.receiver_id.strip(), group.group_control) not in recorded]
        raise StoreError(f"outbound group(s) {', '.join(_named(group) for group in reused)} were recorded before: a group control number was reused")


def _values(tx: Transaction, group: NewGroup) -> dict[str, Any]:
    return {
        "partner": group.partner,
        "sender_id": group.sender_id.strip(),
        "receiver_id": group.receiver_id.strip(),
        "functional_id": group.functional_id,
        "group_control": group.group_control,
        "set_ids": list(group.set_ids),
        "interchange_control": group.interchange_control,
        "filename": group.filename,
        "job_id": group.job_id,
        "sent_at": tx.now(group.sent_at),
    }


def _named(group: NewGroup) -> str:
    return f"{group.group_control} of partner {group.partner!r} from {group.sender_id.strip()!r} to {group.receiver_id.strip()!r}"


def acknowledge_group(
    tx: Transaction,
    sender_id: str,
    receiver_id: str,
    group_control: int,
    status: str,
    ack_file: str | None = None,
    *,
    partner: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Match a 997 to our group (our GS02/GS03, its AK102 group control number), of
    `partner` when given (several partners may share GS ids); whether one matched. The group
    keeps the 997's status (AK901); a later 997 for the same group replaces it."""
    at = tx.now(now)
    if status not in ACK_STATUSES:
        raise StoreError(f"997 status {status!r} is not one of {', '.join(ACK_STATUSES)} (AK901)")
    params = {
        "sender": sender_id.strip(),
        "receiver": receiver_id.strip(),
        "group": group_control,
        "status": status,
        "file": ack_file,
        "partner_": partner,
        "now": at,
    }
    return tx.connection.execute(_ACKNOWLEDGE, params).first() is not None


def acknowledge_interchange(
    tx: Transaction,
    partner: str,
    interchange_control: int,
    status: str,
    ack_file: str | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Match a TA1 to the groups of our interchange `interchange_control` to `partner`
    (`R` rejects them); how many groups it names. A TA1 `R` rejected the whole interchange:
    its groups are marked `R`, as a rejecting 997 would. `A` and `E` accept the envelope only,
    so the groups still wait for their 997."""
    at = tx.now(now)
    if status not in ("A", "E", "R"):
        raise StoreError(f"TA1 status {status!r} is not one of A, E, R (TA104)")
    where = (outbound_groups.c.partner == partner, outbound_groups.c.interchange_control == interchange_control)
    if status != "R":
        return len(tx.connection.execute(select(outbound_groups.c.id).where(*where)).all())
    statement = (
        update(outbound_groups)
        .where(*where)
        .values(ack_status="R", ack_file=ack_file, acknowledged_at=at)
        .returning(outbound_groups.c.id)
    )
    return len(tx.connection.execute(statement).all())


def unacknowledged(tx: Transaction, older_than: datetime) -> list[OutboundGroup]:
    """Groups sent before `older_than` with no 997 yet, oldest first."""
    query = (
        select(outbound_groups)
        .where(outbound_groups.c.ack_status.is_(None), outbound_groups.c.sent_at < utc(older_than))
        .order_by(outbound_groups.c.sent_at, outbound_groups.c.id)
    )
    return [_group(row) for row in tx.connection.execute(query)]


_ACKNOWLEDGE = (
    update(outbound_groups)
    .where(
        outbound_groups.c.sender_id == bindparam("sender"),
        outbound_groups.c.receiver_id == bindparam("receiver"),
        outbound_groups.c.group_control == bindparam("group"),
        or_(bindparam("partner_", type_=String()).is_(None), outbound_groups.c.partner == bindparam("partner_")),
    )
    .values(
        ack_status=bindparam("status"),
        ack_file=bindparam("file", type_=String()),
        acknowledged_at=bindparam("now", type_=UtcDateTime()),
    )
    .returning(outbound_groups.c.id)
)


@functools.cache
def _record_statement(dialect: str) -> ReturningInsert[Any]:
    insert = dialect_insert(dialect, outbound_groups)
    return insert.on_conflict_do_nothing(
        index_elements=[
            outbound_groups.c.partner,
            outbound_groups.c.sender_id,
            outbound_groups.c.receiver_id,
            outbound_groups.c.group_control,
        ]
    ).returning(*outbound_groups.c)


def _group(row: Row[Any]) -> OutboundGroup:
    return OutboundGroup(
        id=row.id,
        partner=row.partner,
        sender_id=row.sender_id,
        receiver_id=row.receiver_id,
        functional_id=row.functional_id,
        group_control=row.group_control,
        set_ids=tuple(row.set_ids),
        interchange_control=row.interchange_control,
        filename=row.filename,
        job_id=row.job_id,
        sent_at=row.sent_at,
        ack_status=row.ack_status,
        ack_file=row.ack_file,
        acknowledged_at=row.acknowledged_at,
    )
