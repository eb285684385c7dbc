"""Helpers of the console's route tests: a seeded store, a logged-in test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.testclient import TestClient

from engine.console import add_user, build_console
from engine.console.security import LoginLimiter
from engine.runtime import Runtime
from engine.webhooks import WebhookSettings, build_app

SECRET = "s3cr3t-token-value-9f8e"
PO_NUMBER = "PO-UNIT-4711"
ISA13 = "000004242"
OPERATOR = ("olga", "operator password 1")
VIEWER = ("victor", "viewer password 22")
FILLERS = 120


class Clock:
    """A monotonic clock the login limiter reads; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def x12_850(po: str, isa13: str = ISA13, extra: str = "") -> bytes:
    segments = [
        f"ISA*00*          *00*          *ZZ*PARTNER        *ZZ*MLCONNECT      *240603*0930*U*00401*{isa13}*0*P*>",
        "GS*PO*PARTNER*MLCONNECT*20240603*0930*42*X*004010",
        "ST*850*0001",
        f"BEG*00*SA*{po}**20240603",
        f"REF*DP*042{extra}",
        "PO1*1*5*EA*10.5*PE*BP*PART-1",
        "CTT*1",
        "SE*6*0001",
        "GE*1*42",
        f"IEA*1*{isa13}",
    ]
    return ("~\n".join(segments) + "~\n").encode()


@dataclass
class Seeded:
    """What `seed` stored: the job ids a test looks for."""

    dead_file: int
    done_document: int
    running: int
    fetch: int
    routes: list[str]
    partners: list[str]
    outbound_file: str


def _dead(runtime: Runtime, job_id: int, error: str) -> None:
    store = runtime.store
    claimed = store.claim("unit-worker", limit=1000, now=runtime.now())
    for job in claimed:
        if job.id == job_id:
            store.dead_letter(job.id, error=error, worker_id="unit-worker")
        else:
            store.complete(job.id, result={"summary": "done"}, worker_id="unit-worker")


def seed(runtime: Runtime) -> Seeded:
    """A store with one dead inbound file job (an 850 with a PO number inside, a secret in its
    error and events), one done outbound document with its group, a running job, a fetch job,
    filler jobs to page through, polls and a poll failure, and control numbers."""
    store = runtime.store
    routes = sorted(runtime.project.routes)
    partners = sorted(runtime.project.partners)
    now = runtime.now()
    file_job, _ = store.enqueue(routes[0], "inbox/850_unit.edi@abc123", kind="file", partner=partners[0], source_ref="f-1")
    store.put_artifact(file_job.id, "input", "850_unit.edi", x12_850(PO_NUMBER), "application/edi-x12")
    store.audit(file_job.id, "received", route=routes[0], key=file_job.key, partner=partners[0], detail={"file": "inbox/850_unit.edi", "message": f"read with {SECRET}"})
    store.audit(file_job.id, "create", route=routes[0], key=file_job.key, partner=partners[0], status=404, duration_ms=12.5, detail={"message": "BC answered 404"})
    _dead(runtime, file_job.id, f"not found in bc: items 'PART-1' (token {SECRET})")
    store.audit(file_job.id, "dead", route=routes[0], key=file_job.key, partner=partners[0], detail={"message": "not found in bc: items 'PART-1'"})

    document, _ = store.enqueue(routes[1], "INV-9001", kind="document", partner=partners[1], payload={"record": {"number": "INV-9001", "externalDocumentNumber": "CUST-PO-77"}})
    outbound_file = "810_unit_INV-9001.edi"
    store.put_artifact(document.id, "output", outbound_file, x12_850("INV-9001", "000000777"), "application/edi-x12")
    store.record_outbound_group(partners[1], "MLCONNECT", "PARTNER", "IN", 77, ["0001"], 777, outbound_file, job_id=document.id, sent_at=now - timedelta(hours=1))
    store.acknowledge_group("MLCONNECT", "PARTNER", 77, "A", "997_for_INV-9001.edi", partner=partners[1], now=now)
    store.record_outbound_group(partners[1], "MLCONNECT", "PARTNER", "IN", 78, ["0001"], 778, "810_unit_old.edi", job_id=None, sent_at=now - timedelta(days=3))
    for index in range(FILLERS):
        store.enqueue(routes[index % len(routes)], f"DOC-{index:04d}", kind="document", partner=partners[index % len(partners)])
    _dead(runtime, -1, "")  # every other job done
    running, _ = store.enqueue(routes[0], "RUN-1", kind="document", partner=partners[0])
    store.claim("another-worker", limit=1, routes=[routes[0]], now=runtime.now())
    fetch, _ = store.enqueue(routes[1], "notification:1", kind="fetch", payload={"id": "x"})
    store.audit(None, "poll", route=routes[0], key=routes[0], detail={"read": 3, "enqueued": 2})
    store.audit(None, "poll-failed", route=routes[1], key=routes[1], status=503, detail={"message": "cleo answered 503"})
    store.next_control(partners[0], "isa", count=41)
    for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
        add_user(store, name, password, role=role, now=now)
    return Seeded(file_job.id, document.id, running.id, fetch.id, routes, partners, outbound_file)


@contextmanager
def client_for(runtime: Runtime, limiter: LoginLimiter | None = None, *, https: bool = False, reapply: Any = None) -> Iterator[TestClient]:
    app = build_app(runtime, WebhookSettings.for_project(runtime.project), secrets=lambda _name: "x" * 32, console=build_console(runtime, limiter=limiter, reapply=reapply))
    with TestClient(app, base_url="https://testserver" if https else "http://testserver", follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def log_in(client: TestClient, user: tuple[str, str]) -> str:
    """Log `user` in; the CSRF token of the new session."""
    token = csrf_of(client.get("/console/login").text)
    answer = client.post("/console/login", data={"csrf": token, "name": user[0], "password": user[1], "next": "/console/"})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console/").text)
