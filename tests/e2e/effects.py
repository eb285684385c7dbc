"""What the end-to-end fault and replay tests check after a run: the effects the runtime had on
the emulated systems (files stored in Cleo, records created in BC and GP) counted at the
emulators themselves, and the audit trail of a document.

    effects = Effects.watch(world)          # before the run
    ...
    effects.assert_nothing_twice()          # no file stored twice, no record created twice

`StepClock` is the runtime's clock in tests that let retries come due without sleeping.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from world import World

from engine.runtime import Runtime
from engine.store import AuditEvent, Job, JobState
from engine.x12 import document

SEED_OUTBOX = {
    "acme": {"810_acme_103001.edi", "850_acme_S-ORD-101001.edi", "997_acme_000000701.edi", "997_acme_000000702.edi"},
    "contoso": {"810_contoso_103002.edi"},
    "globex": {"850_globex_106001.edi", "850_globex_PO2101.edi", "997_globex_000000311.edi", "997_globex_000000312.edi"},
    "initech": {"850_initech_106002.edi", "po_initech_PO2102.json", "vendor_initech_INITECH0001_2024-05-03T083000.json"},
}
"""Every file a complete run over the seed world sends, by partner."""

PARTNERS = tuple(SEED_OUTBOX)
REPLAYED = re.compile(r"\.r[0-9]+\.[a-z]+$")
HTTP_STATUS = re.compile(r"-> HTTP ([0-9]{3})")


class StepClock:
    """A runtime clock that moves only when told to. It starts a minute ahead of the real time:
    the store stamps new jobs due at its own (real) time, and they must be due for this clock."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Effects:
    """Successful writes counted at the emulators (see the module docstring)."""

    world: World
    stored: Counter[str] = field(default_factory=Counter)
    """Cleo uploads the emulator stored, by `folder/name`."""
    created: Counter[str] = field(default_factory=Counter)
    """Records the ERPs created, by `system entity document` (BC: externalDocumentNumber or
    number; GP: VendorDocumentNumber or the key)."""

    @classmethod
    def watch(cls, world: World) -> Effects:
        effects = cls(world)
        cleo_upload, bc_create, gp_create = world.cleo.upload, world.bc.create, world.gp.state.create

        def upload(folder_id: str, name: str, content: bytes) -> Any:
            stored = cleo_upload(folder_id, name, content)
            effects.stored[f"{world.cleo.folder(folder_id).path}/{name}"] += 1
            return stored

        def create_bc(entity: str, payload: dict[str, Any]) -> dict[str, Any]:
            record = bc_create(entity, payload)
            effects.created[f"bc {entity} {record.get('externalDocumentNumber') or record['number']}"] += 1
            return record

        def create_gp(company: Any, entity: str, body: Any) -> dict[str, Any]:
            record = gp_create(company, entity, body)
            effects.created[f"gp {entity} {record.get('VendorDocumentNumber') or record}"] += 1
            return record

        world.cleo.upload = upload  # type: ignore[method-assign]
        world.bc.create = create_bc  # type: ignore[method-assign]
        world.gp.state.create = create_gp  # type: ignore[method-assign]
        return effects

    def assert_nothing_twice(self) -> None:
        """No file stored twice, no record created twice, no document sent under two names."""
        assert [name for name, count in self.stored.items() if count > 1] == []
        assert [key for key, count in self.created.items() if count > 1] == []
        orders = Counter(o.get("externalDocumentNumber") for o in self.world.bc_records("salesOrders") if o.get("externalDocumentNumber"))
        assert [number for number, count in orders.items() if count > 1] == []
        receipts = Counter(r.get("VendorDocumentNumber") for r in self.world.gp_records("purchaseReceipts"))
        assert [number for number, count in receipts.items() if count > 1] == []
        for partner in PARTNERS:
            controls = Counter[str]()
            for name, content in self.world.outbox(partner).items():
                assert not REPLAYED.search(name), f"{partner}/outbox/{name} is a replayed copy"
                if name.endswith(".edi"):
                    assert document.check(io.BytesIO(content), name).ok, name
                    text = content.decode()
                    controls[text.split(text[3])[13]] += 1  # ISA13
            assert [isa13 for isa13, count in controls.items() if count > 1] == [], f"{partner}: an interchange sent twice"

    def outbox_names(self) -> dict[str, set[str]]:
        return {partner: set(self.world.outbox(partner)) for partner in PARTNERS}


def assert_audited(runtime: Runtime) -> None:
    """Every job's audit trail: its own events (job id set), in the order its kind goes through
    them, ending with its state; every retry or dead letter caused by an HTTP error carries the
    status; every attempt but the last is a retry."""
    for job in runtime.store.jobs(limit=10_000):
        events = runtime.store.job_events(job.id)
        names = steps(events)
        assert names and all(event.job_id == job.id for event in events), (job.key, names)
        assert names[0] == ("received" if job.kind == "file" else "enqueued"), (job.key, names)
        if job.state is JobState.DONE:
            assert names[-1] == "done", (job.key, names)
            last_run = names[max((i for i, n in enumerate(names) if n in ("retry", "replay")), default=0) :]
            if job.kind == "document":
                assert last_run.index("render") < last_run.index("upload"), (job.key, names)
            elif job.kind == "transaction":
                assert last_run.index("map") < len(last_run) - 2 and names[-2] in ("create", "duplicate", "update", "ack"), (job.key, names)
            else:
                assert names[-2] == "archive", (job.key, names)
        elif job.state is JobState.DEAD:
            assert names[-1] == "dead" and message(events[-1]) == job.last_error, (job.key, names)
        elif job.state is JobState.FAILED:
            assert names[-1] == "retry" and message(events[-1]) == job.last_error, (job.key, names)
        for event in events:
            if event.event in ("retry", "dead"):
                status = HTTP_STATUS.search(message(event))
                assert event.status == (int(status.group(1)) if status else None), (job.key, event)
        since_replay = names[len(names) - names[::-1].index("replay") :] if "replay" in names else names
        assert since_replay.count("retry") == job.attempts - (0 if job.state is JobState.FAILED else 1), (job.key, names, job.attempts)


def set_jobs(runtime: Runtime, file: str) -> list[Job]:
    """The transaction-set jobs of an inbound file (each set of a file is a job of its own)."""
    return [job for job in runtime.store.find_jobs(file) if job.kind == "transaction"]


def file_job(runtime: Runtime, file: str) -> Job:
    """The file job of an inbound file (the one that read it, sent its 997 and archived it)."""
    return next(job for job in runtime.store.find_jobs(file) if job.kind == "file")


def trail(runtime: Runtime, key: str) -> list[AuditEvent]:
    """The audit trail of `key` (a document number, file name or job id)."""
    return runtime.store.audit_trail(key)


def steps(events: list[AuditEvent]) -> list[str]:
    """The event names of a trail, in order."""
    return [event.event for event in events]


def message(event: AuditEvent) -> str:
    return str((event.detail or {}).get("message", ""))


def settle(runtime: Runtime, clock: StepClock, *, routes: list[str] | None = None, rounds: int = 10) -> None:
    """Poll the routes once, then work until no job waits for a retry (moving the clock past
    each backoff instead of sleeping)."""
    runtime.run_once(routes)
    for _ in range(rounds):
        waiting = runtime.store.jobs(state="failed", limit=1000)
        if not waiting:
            return
        clock.advance(hours=1)
        runtime.work()
    raise AssertionError(f"jobs still waiting for a retry after {rounds} rounds: {[j.key for j in runtime.store.jobs(state='failed')]}")
