"""`Audit`: the one way the runtime writes audit rows, and `elapsed_ms` for their durations.

    audit(job, "upload", "acme/outbox/810_acme_103001.edi", duration_ms=elapsed_ms(started))
    audit(job, "map", "850 0001 through x12-850-to-bc", tx=tx)        # commits with tx
    audit(job, "upload", "...", with_outcome=True)                    # commits with the job's outcome

Every text of every row is masked by the store (`Store.mask_audit`, set by the `Runtime` from the
project's secrets), so a step never writes a secret, whether it calls this or not.
"""

from __future__ import annotations

import time
from typing import Any

from engine.store import AuditRow, Job, Store, Transaction

__all__ = ["Audit", "elapsed_ms"]


class Audit:
    """Audit rows for jobs of one store; events kept for a job's outcome until it is settled."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._kept: dict[int, list[tuple[str, dict[str, Any]]]] = {}

    def __call__(
        self, job: Job | None, event: str, message: str = "", *, tx: Transaction | None = None, with_outcome: bool = False, **fields: Any
    ) -> None:
        """Record an audit event for `job` (its route, key and partner unless `fields` say
        otherwise); in `tx` when given (the event then commits with the state change it records).
        `with_outcome` keeps the event for the transaction of the job's outcome (done, retry,
        dead: `outcome`), where it is recorded first: one commit less per step, for steps that
        are idempotent anyway (an upload); a worker that dies before the outcome loses it, and
        the re-run records the step again."""
        values = _values(job, message, fields)
        if with_outcome and job is not None and tx is None:
            self._kept.setdefault(job.id, []).append((event, values))
            return
        (tx or self._store).audit(job.id if job else None, event, **values)

    def row(self, job: Job, event: str, message: str = "", **fields: Any) -> AuditRow:
        """The row `__call__` would record, for `Transaction.audit_many` (the events of several
        jobs' steps written in one statement: a batch's renders)."""
        return (job.id, event, _values(job, message, fields))

    def outcome(self, job: Job, event: str, message: str = "", *, tx: Transaction, **fields: Any) -> None:
        """Record the event of the job's outcome (`done`, `retry`, `dead`...) in `tx`, after the
        events kept for it (`with_outcome=True`): all in one statement."""
        tx.audit_many(self.outcome_rows(job, event, message, **fields))

    def outcome_rows(self, job: Job, event: str, message: str = "", **fields: Any) -> list[AuditRow]:
        """What `outcome` records, for `Transaction.audit_many` (the outcomes of several jobs in
        one statement); the kept events stay kept until `forget` (once the rows are committed)."""
        kept = self._kept.get(job.id, [])
        return [*((job.id, name, values) for name, values in kept), (job.id, event, _values(job, message, fields))]

    def forget(self, job: Job) -> None:
        """Drop what is kept for the job (its run ended without an outcome written)."""
        self._kept.pop(job.id, None)


def _values(job: Job | None, message: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `Transaction.audit` for an event of `job`."""
    detail = dict(fields.pop("detail", None) or {})
    if message:
        detail["message"] = message
    return {
        "route": fields.pop("route", job.route if job else None),
        "key": fields.pop("key", job.key if job else None),
        "partner": fields.pop("partner", job.partner if job else None),
        "detail": detail or None,
        **fields,
    }


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a `time.perf_counter()` reading), for audit durations."""
    return round((time.perf_counter() - started) * 1000, 3)
