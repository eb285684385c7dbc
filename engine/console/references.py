"""The business numbers of each job, for the console's search: PO, invoice, shipment and
document numbers, ISA13 and GS06 control numbers, read from the job's stored artifacts and,
for an outbound document job, from the ERP document it carries (its payload).

A job's key is often its number already (`103001`), but an inbound file job is keyed by its
file name, and the PO number of the 850 inside it is known only from the file. `catch_up`
reads the artifacts stored since it last ran (oldest first, a bounded batch per call) and keeps
what it finds in `job_references` (job id, kind, value); its places are the `references` row
of `console_state` and, for the document jobs' payloads, the `references.documents` row. It
runs before each console search and every half minute in `mlc serve`, so a number is
searchable at most a moment after its document was stored. Several servers may run
it together: a reference found twice is kept once.

What is read: X12 (ISA13, GS06, BEG03, BAK03, BIG02/BIG04, PRF01, BSN02, REF02 of PO/IV/CO/VN
references) and ERP JSON (every scalar field of the document whose name ends in `number`,
`Number`, `No` or `reference`/`Reference`, e.g. `number`, `externalDocumentNumber`,
`PONumber`, `customerPurchaseOrderReference`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from engine.errors import MlcError
from engine.store import Store
from engine.store.database import dialect_insert
from engine.store.models import artifacts, console_state, job_references, jobs
from engine.x12.tokenizer import tokenize

__all__ = ["BATCH", "catch_up", "extract"]

BATCH = 500
"""Artifacts read per call."""
MAX_SEGMENTS = 20_000
MAX_PER_ARTIFACT = 200
MAX_VALUE_CHARS = 80
_CURSOR = "references"
_DOCUMENTS_CURSOR = "references.documents"

_X12 = {("BEG", 3): "po", ("BAK", 3): "po", ("BIG", 2): "invoice", ("BIG", 4): "po", ("PRF", 1): "po", ("BSN", 2): "shipment"}
_REF_KINDS = {"PO": "po", "IV": "invoice", "CO": "order", "VN": "order"}


def extract(content: bytes, media_type: str = "") -> set[tuple[str, str]]:
    """The (kind, value) business numbers in one artifact's bytes."""
    head = content[:64].lstrip()
    if head.startswith(b"ISA"):
        found = set(_from_x12(content))
    elif head.startswith((b"{", b"[")):
        try:
            found = set(_from_json(json.loads(content)))
        except (ValueError, UnicodeDecodeError):
            return set()
    else:
        return set()
    return _kept(found)


def _kept(found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(kind, value) for kind, value in list(found)[:MAX_PER_ARTIFACT] if 0 < len(value) <= MAX_VALUE_CHARS}


def _from_x12(content: bytes) -> Iterator[tuple[str, str]]:
    try:
        for position, elements in tokenize(io.BytesIO(content), "<artifact>"):
            if position > MAX_SEGMENTS:
                return
            tag = elements[0]
            if tag == "ISA" and len(elements) > 13:
                yield "isa13", elements[13].strip()
            elif tag == "GS" and len(elements) > 6:
                yield "gs06", elements[6].strip()
            elif tag == "REF" and len(elements) > 2 and elements[1] in _REF_KINDS:
                yield _REF_KINDS[elements[1]], elements[2].strip()
            else:
                for (segment, index), kind in _X12.items():
                    if tag == segment and len(elements) > index:
                        yield kind, elements[index].strip()
    except (MlcError, UnicodeDecodeError):
        return


def _from_json(document: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    if depth > 1:
        return
    if isinstance(document, list):
        for item in document[:50]:
            yield from _from_json(item, depth + 1)
        return
    if not isinstance(document, dict):
        return
    for name, value in document.items():
        if isinstance(value, str | int) and not isinstance(value, bool) and _is_number_field(str(name)):
            yield "number", str(value).strip()
        elif isinstance(value, dict) and name in ("record", "document", "header"):
            yield from _from_json(value, depth + 1)


def _is_number_field(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(("number", "reference")) or name.endswith("No") or lowered in ("ponumber", "docnumbr", "ponumbe")


def catch_up(store: Store, *, now: datetime, limit: int = BATCH) -> int:
    """Index the artifacts and document jobs stored since the last call (at most `limit` of
    each); how many were read."""
    with store.reading() as tx:
        start = _cursor(tx.connection, _CURSOR)
        rows = tx.connection.execute(
            select(artifacts.c.id, artifacts.c.job_id, artifacts.c.media_type)
            .where(artifacts.c.id > start)
            .order_by(artifacts.c.id)
            .limit(limit)
        ).all()
        documents_start = _cursor(tx.connection, _DOCUMENTS_CURSOR)
        documents = tx.connection.execute(
            select(jobs.c.id, jobs.c.payload)
            .where(jobs.c.id > documents_start, jobs.c.kind == "document")
            .order_by(jobs.c.id)
            .limit(limit)
        ).all()
    if not rows and not documents:
        return 0
    found: list[dict[str, Any]] = []
    for row in rows:
        content = _content(store, row.id)
        for kind, value in extract(content, row.media_type):
            found.append({"job_id": row.job_id, "kind": kind, "value": value})
    for document in documents:
        # the ERP document a document job renders is its payload (it is not stored again as an artifact)
        for kind, value in _kept(set(_from_json(document.payload))):
            found.append({"job_id": document.id, "kind": kind, "value": value})
    with store.transaction() as tx:
        if found:
            statement = dialect_insert(store.dialect, job_references).on_conflict_do_nothing(index_elements=["job_id", "kind", "value"])
            tx.connection.execute(statement, found)
        if rows:
            _advance(tx.connection, _CURSOR, rows[-1].id, now)
        if documents:
            _advance(tx.connection, _DOCUMENTS_CURSOR, documents[-1].id, now)
    return len(rows) + len(documents)


def _content(store: Store, artifact_id: int) -> bytes:
    # One artifact at a time: a batch of large files is never held in memory together.
    with store.reading() as tx:
        value = tx.connection.execute(select(artifacts.c.content).where(artifacts.c.id == artifact_id)).scalar_one()
    return bytes(value)


def _cursor(connection: Connection, name: str) -> int:
    value = connection.execute(select(console_state.c.value).where(console_state.c.name == name)).scalar_one_or_none()
    return int(value) if value is not None and value.isdigit() else 0


def _advance(connection: Connection, name: str, last_id: int, now: datetime) -> None:
    statement = dialect_insert(connection.dialect.name, console_state)
    connection.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at}),
        {"name": name, "value": str(last_id), "updated_at": now},
    )
