"""The state store: jobs, cursors, ledgers, control numbers, 997 matching, audit, artifacts, leases.

SQLite by default (a file under the project's state directory), PostgreSQL for several workers;
schema migrations with Alembic run when the store is opened. Start at `Store.open`.

    store.py        the facade, one transaction per call
    transaction.py  the unit of work: several operations in one transaction
    records.py      the values handed out (Job, LedgerEntry, AuditEvent, Artifact...) and
                    the checks on values handed in
    models.py       the tables; migrations/ creates them
    database.py     URLs, engines, migrations, error translation
    jobs.py, cursors.py, controls.py, ledger.py, groups.py, audit.py, artifacts.py, leases.py,
    acknowledgments.py
                    one concept each: its operations, each written once as a function of
                    the `Transaction` (its signature, checks and statements), which
                    `Transaction` and `Store` bind by name
"""

from __future__ import annotations

from engine.store.records import (
    Acknowledgment,
    AcknowledgmentLine,
    Artifact,
    AuditEvent,
    AuditRow,
    EnqueueBatch,
    Enqueued,
    Job,
    JobState,
    LedgerEntry,
    LedgerState,
    NewArtifact,
    NewGroup,
    NewJob,
    OutboundGroup,
)
from engine.store.store import Store
from engine.store.transaction import Transaction

__all__ = [
    "Acknowledgment",
    "AcknowledgmentLine",
    "Artifact",
    "AuditEvent",
    "AuditRow",
    "EnqueueBatch",
    "Enqueued",
    "Job",
    "JobState",
    "LedgerEntry",
    "LedgerState",
    "NewArtifact",
    "NewGroup",
    "NewJob",
    "OutboundGroup",
    "Store",
    "Transaction",
]
