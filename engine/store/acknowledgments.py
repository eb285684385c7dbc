"""Order acknowledgments (855): what a partner acknowledged, line by line, next to our order.

One row per acknowledged order and job (`acknowledgments`), one per line (`acknowledgment_lines`)
with our quantity, price and date beside the partner's, the fields written to the ERP and the
fields held because the ERP would refuse them (a Released Business Central order). Recording
the same acknowledgment again (a replay) replaces what was recorded for that job and order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, insert, select

from engine.errors import StoreError
from engine.store.models import ACKNOWLEDGMENT_STATES, acknowledgment_lines
from engine.store.models import acknowledgments as acknowledgment_table
from engine.store.records import Acknowledgment, AcknowledgmentLine

if TYPE_CHECKING:
    from engine.store.transaction import Transaction


def record_acknowledgment(
    tx: Transaction,
    job_id: int | None,
    *,
    route: str,
    partner: str | None,
    document: str,
    control: str,
    ack_type: str,
    vendor_order: str | None = None,
    acknowledged_on: str | None = None,
    state: str,
    note: str | None = None,
    lines: Sequence[AcknowledgmentLine] = (),
) -> int:
    """Record a partner's acknowledgment of order `document` (transaction `control`) with its
    lines, replacing what this job recorded for it before; the acknowledgment's id."""
    now = tx.now()
    connection = tx.connection
    if state not in ACKNOWLEDGMENT_STATES:
        raise StoreError(f"unknown acknowledgment state {state!r}; expected one of {', '.join(ACKNOWLEDGMENT_STATES)}")
    where = [acknowledgment_table.c.document == document, acknowledgment_table.c.control == control]
    where.append(acknowledgment_table.c.job_id == job_id if job_id is not None else acknowledgment_table.c.job_id.is_(None))
    earlier = connection.execute(select(acknowledgment_table.c.id, acknowledgment_table.c.received_at).where(*where)).one_or_none()
    received = now
    if earlier is not None:
        received = earlier.received_at
        connection.execute(delete(acknowledgment_lines).where(acknowledgment_lines.c.acknowledgment_id == earlier.id))
        connection.execute(delete(acknowledgment_table).where(acknowledgment_table.c.id == earlier.id))
    values = {
        "job_id": job_id,
        "route": route,
        "partner": partner,
        "document": document,
        "control": control,
        "ack_type": ack_type,
        "vendor_order": vendor_order,
        "acknowledged_on": acknowledged_on,
        "state": state,
        "note": note,
        "received_at": received,
        "updated_at": now,
    }
    ack_id: int = connection.execute(insert(acknowledgment_table).returning(acknowledgment_table.c.id), values).scalar_one()
    if lines:
        connection.execute(
            insert(acknowledgment_lines),
            [
                {
                    "acknowledgment_id": ack_id,
                    "position": position,
                    "line_number": line.line_number,
                    "item": line.item,
                    "status": line.status,
                    "status_code": line.status_code,
                    "ours_quantity": line.ours_quantity,
                    "theirs_quantity": line.theirs_quantity,
                    "ours_price": line.ours_price,
                    "theirs_price": line.theirs_price,
                    "ours_date": line.ours_date,
                    "theirs_date": line.theirs_date,
                    "applied": list(line.applied),
                    "held": list(line.held),
                }
                for position, line in enumerate(lines)
            ],
        )
    return ack_id


def acknowledgments(
    tx: Transaction, job_id: int | None = None, *, state: str | None = None, document: str | None = None, limit: int = 100
) -> list[Acknowledgment]:
    """Order acknowledgments (855s) as recorded, newest first, each with its lines: ours
    (quantity, price, date as the ERP had them) next to the partner's, the fields applied
    and the fields held for review.

    The query behind `mlc jobs --state review` and the console's review page:
    `acknowledgments(state="review")` is every acknowledgment waiting for a person,
    `acknowledgments(job_id)` those of one job; `Acknowledgment.held_lines` and
    `AcknowledgmentLine.differences` give the per-line differences to show.
    """
    connection = tx.connection
    query = select(acknowledgment_table).order_by(acknowledgment_table.c.id.desc()).limit(limit)
    if job_id is not None:
        query = query.where(acknowledgment_table.c.job_id == job_id)
    if state is not None:
        query = query.where(acknowledgment_table.c.state == state)
    if document is not None:
        query = query.where(acknowledgment_table.c.document == document)
    heads = list(connection.execute(query))
    if not heads:
        return []
    by_ack: dict[int, list[AcknowledgmentLine]] = {head.id: [] for head in heads}
    rows = connection.execute(
        select(acknowledgment_lines)
        .where(acknowledgment_lines.c.acknowledgment_id.in_(list(by_ack)))
        .order_by(acknowledgment_lines.c.acknowledgment_id, acknowledgment_lines.c.position)
    )
    for row in rows:
        by_ack[row.acknowledgment_id].append(_line(row))
    return [_acknowledgment(head, by_ack[head.id]) for head in heads]


def _line(row: Row[Any]) -> AcknowledgmentLine:
    return AcknowledgmentLine(
        line_number=row.line_number,
        item=row.item,
        status=row.status,
        status_code=row.status_code,
        ours_quantity=row.ours_quantity,
        theirs_quantity=row.theirs_quantity,
        ours_price=row.ours_price,
        theirs_price=row.theirs_price,
        ours_date=row.ours_date,
        theirs_date=row.theirs_date,
        applied=tuple(row.applied or ()),
        held=tuple(row.held or ()),
    )


def _acknowledgment(row: Row[Any], lines: list[AcknowledgmentLine]) -> Acknowledgment:
    return Acknowledgment(
        id=row.id,
        job_id=row.job_id,
        route=row.route,
        partner=row.partner,
        document=row.document,
        control=row.control,
        ack_type=row.ack_type,
        vendor_order=row.vendor_order,
        acknowledged_on=row.acknowledged_on,
        state=row.state,
        note=row.note,
        lines=tuple(lines),
        received_at=row.received_at,
        updated_at=row.updated_at,
    )
