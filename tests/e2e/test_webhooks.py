"""`mlc serve`'s webhook path end to end: the BC emulator validates our URL, subscribes, and
notifies; invoices posted in BC reach the partner's Cleo outbox as 810s with no poll at all.

The service runs with no scheduled route (`routes=()`), so only notifications can move a
document. Waiting is on conditions (`eventually`), never on a schedule.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from world import DEMO_SECRETS, FAST, REPO_ROOT, World, no_wait_retry

from engine.cli.serve import Service
from engine.masterkey import KeySource, MasterKey
from engine.runtime import Runtime
from engine.runtime.setup import open_runtime
from engine.secrets import JsonFileSecretStore
from engine.store import JobState
from engine.webhooks import WebhookSettings

CLIENT_STATE = "e2e-client-state-0123456789abcdef"
PUSH_SECRET = "e2e-push-secret-fedcba9876543210"
SECRETS = {**DEMO_SECRETS, "bc-webhook-secret": CLIENT_STATE, "cleo-webhook-secret": PUSH_SECRET}


class MovableClock:
    """The runtime's clock: real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def eventually(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "the condition") -> Any:
    """Poll `check` (short naps) until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.02)


@contextmanager
def serving(world: World, tmp_path: Path, clock: MovableClock | None = None, page_size: int | None = None) -> Iterator[tuple[Service, Runtime]]:
    environ = {**world.environ, "MLC_STATE_DIR": str(tmp_path)}
    project = world.project()
    if page_size is not None:
        project.connections["bc"]["page_size"] = page_size
    with open_runtime(
        REPO_ROOT,
        project=project,
        environ=environ,
        database=f"sqlite:///{tmp_path / 'mlc.db'}",
        secrets=SECRETS.__getitem__,
        settings=FAST,
        clock=clock,
        retry=no_wait_retry(),
    ) as runtime:
        settings = WebhookSettings.for_project(runtime.project)
        service = Service(runtime, secrets=SECRETS.__getitem__, routes=(), webhooks=settings, workers=2, host="127.0.0.1", port=0, idle_seconds=0.05)
        service.start()
        try:
            yield service, runtime
        finally:
            service.stop()


def _draft_invoice(world: World) -> dict[str, Any]:
    return next(i for i in world.bc_records("salesInvoices") if i["number"] == "S-INV-1004")


def test_service_subscribes_through_the_validation_handshake_for_every_webhook_route(world: World, tmp_path: Path) -> None:
    with serving(world, tmp_path) as (service, _runtime):
        subscriptions = list(world.bc.notifier.subscriptions.values())
        assert service.url is not None
        assert sorted(s.entity for s in subscriptions) == ["salesInvoices", "salesOrders"]
        assert {s.notification_url for s in subscriptions} == {service.url + "/webhooks/bc"}
        assert {s.client_state for s in subscriptions} == {CLIENT_STATE}
        metrics = httpx.get(service.url + "/metrics").text
    assert 'mlc_webhook_requests_total{endpoint="bc-validation",status="200"} 2.0' in metrics


def test_a_posted_invoice_arrives_in_cleo_as_an_810_without_any_poll(world: World, tmp_path: Path) -> None:
    draft = _draft_invoice(world)
    with serving(world, tmp_path) as (service, runtime):
        posted = world.bc.post_invoice(draft["id"])
        assert world.bc.deliver_pending(force=True) >= 1
        name = f"810_acme_{posted['number']}.edi"
        content = eventually(lambda: world.outbox("acme").get(name), what=f"{name} in acme/outbox")
        eventually(lambda: all(j.state is JobState.DONE for j in runtime.store.jobs(route="bc-invoices-to-810")), what="every job done")
        jobs = runtime.store.jobs(route="bc-invoices-to-810")
        cursor = runtime.store.cursor("bc-invoices-to-810")
        assert service.url is not None
        metrics = httpx.get(service.url + "/metrics").text

    assert content.startswith(b"ISA") and b"BIG*" in content and posted["number"].encode() in content
    # no poll ran: the cursor never moved, and the seed's posted invoices were not sent
    assert cursor is None
    assert "810_acme_103001.edi" not in world.outbox("acme")
    assert sorted((j.kind, j.key, j.state) for j in jobs) == [
        ("document", posted["number"], JobState.DONE),
        ("fetch", f"fetch:{posted['id']}@{posted['lastModifiedDateTime']}", JobState.DONE),
    ]
    assert 'mlc_webhook_requests_total{endpoint="bc",status="200"}' in metrics
    assert 'mlc_http_requests_total{status="200",system="bc"}' in metrics
    assert 'mlc_jobs_finished_total{route="bc-invoices-to-810",state="done"} 2.0' in metrics
    assert 'mlc_jobs{state="done"} 2.0' in metrics


def test_a_collection_notification_is_read_page_by_page_and_every_record_is_sent(world: World, tmp_path: Path) -> None:
    world.bc.config.collection_threshold = 1  # two changes in one window make one collection notification
    draft = _draft_invoice(world)
    with serving(world, tmp_path, page_size=1) as (_service, runtime):
        posted = world.bc.post_invoice(draft["id"])
        changed = world.bc.modify_record("salesInvoices", "103002", {"externalDocumentNumber": "CONTOSO-PO-9"})
        world.bc.deliver_pending(force=True)
        eventually(lambda: f"810_acme_{posted['number']}.edi" in world.outbox("acme"), what="the acme 810")
        eventually(lambda: "810_contoso_103002.edi" in world.outbox("contoso"), what="the contoso 810")
        fetches = [j for j in runtime.store.jobs(route="bc-invoices-to-810") if j.kind == "fetch"]
        notified = [e for j in fetches for e in runtime.store.job_events(j.id) if e.event == "notified"]

    sent = [d for d in world.bc.notifier.deliveries if d.outcome == "delivered"]
    assert [[item["changeType"] for item in d.items] for d in sent] == [["collection"]]
    assert sorted(j.payload["id"] for j in fetches if j.payload) == sorted([posted["id"], changed["id"]])
    assert {e.detail["change"] for e in notified if e.detail} == {"collection"}


def test_subscriptions_are_renewed_a_day_before_they_expire_and_keep_notifying(world: World, tmp_path: Path) -> None:
    clock = MovableClock()
    with serving(world, tmp_path, clock) as (service, _runtime):
        assert service.keeper is not None
        first = {s.entity: s.expires for s in world.bc.notifier.subscriptions.values()}
        assert {c.action for c in service.keeper.ensure()} == {"kept"}

        clock.offset = timedelta(days=2, hours=1)  # less than a day left
        world.bc.advance_clock(timedelta(days=2, hours=1))
        changes = service.keeper.ensure()
        assert {(c.entity, c.action) for c in changes} == {("salesInvoices", "renewed"), ("salesOrders", "renewed")}
        renewed = {s.entity: s.expires for s in world.bc.notifier.subscriptions.values()}
        assert all(renewed[entity] > first[entity] + timedelta(days=2) for entity in first)

        world.bc.advance_clock(timedelta(days=1))  # past the first expiry: only a renewed subscription lives
        posted = world.bc.post_invoice(_draft_invoice(world)["id"])
        world.bc.deliver_pending(force=True)
        eventually(lambda: f"810_acme_{posted['number']}.edi" in world.outbox("acme"), what="the 810 after renewal")
        assert service.url is not None
        metrics = httpx.get(service.url + "/metrics").text
    assert 'mlc_webhook_requests_total{endpoint="bc-validation",status="200"} 4.0' in metrics


def test_a_file_pushed_by_a_cleo_http_action_becomes_a_gp_receipt_without_any_poll(world: World, tmp_path: Path) -> None:
    name, content = next((n, c) for n, c in world.inbox("globex").items() if b"ST*856*" in c)
    with serving(world, tmp_path) as (service, runtime):
        assert service.url is not None
        refused = httpx.post(service.url + "/webhooks/cleo/cleo-856-to-gp", content=content, params={"name": name})
        answer = httpx.post(
            service.url + "/webhooks/cleo/cleo-856-to-gp", content=content, headers={"X-MLC-Secret": PUSH_SECRET}, params={"name": name}
        )
        receipts = eventually(lambda: world.gp_records("purchaseReceipts"), what="the GP receipt")
        job = eventually(lambda: (j := runtime.store.get(answer.json()["job"])).state is JobState.DONE and j, what="the file job done")

    assert refused.status_code == 401
    assert answer.status_code == 202 and answer.json()["partner"] == "globex"
    assert [(r["VendorDocumentNumber"], r["TransactionState"]) for r in receipts] == [("GLX-SHP-2101", "Work")]
    assert job.kind == "file" and job.route == "cleo-856-to-gp"
    assert any(n.startswith("997_") for n in world.outbox("globex"))
    assert name in world.inbox("globex")  # a pushed file has no inbox entry of ours to archive


# -- the processes: mlc serve and mlc run under signals -------------------------------------------


class Process:
    """A command run in the background, its stderr lines collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def line(self, marker: str) -> str:
        def seen() -> str | None:
            if self.proc.poll() is not None and not any(marker in line for line in self.lines):
                pytest.fail(f"the process ended ({self.proc.returncode}) before {marker!r}: " + " | ".join(self.lines[-5:]))
            return next((line for line in self.lines if marker in line), None)

        found: str = eventually(seen, timeout=60, what=f"{marker!r} on stderr")
        return found

    def stop(self, signum: int) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _process_env(world: World, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(world.environ, MLC_STATE_DIR=str(tmp_path), MLC_MASTER_KEY=MasterKey.generate().encoded())
    store = JsonFileSecretStore(tmp_path / "secrets.json", KeySource.from_environ(env).cipher())
    for name, value in SECRETS.items():
        store.set(name, value)
    return env


def test_mlc_serve_runs_as_a_process_takes_notifications_and_stops_cleanly_on_sigterm(world: World, tmp_path: Path) -> None:
    mlc = str(Path(sys.executable).parent / "mlc")
    process = Process([mlc, "serve", "--port", "0", "--workers", "2"], _process_env(world, tmp_path))
    try:
        running = process.line("mlc: running:")
        url = re.search(r"webhooks on (http://127\.0\.0\.1:\d+)", running)
        assert url is not None, running
        assert f"BC notifications to {url[1]}/webhooks/bc" in running
        assert httpx.get(url[1] + "/healthz").json()["status"] == "ok"
        assert {s.notification_url for s in world.bc.notifier.subscriptions.values()} == {url[1] + "/webhooks/bc"}

        posted = world.bc.post_invoice(_draft_invoice(world)["id"])
        world.bc.deliver_pending(force=True)
        eventually(lambda: f"810_acme_{posted['number']}.edi" in world.outbox("acme"), what="the 810 sent by mlc serve")

        code = process.stop(signal.SIGTERM)
    finally:
        process.kill()
    assert code == 0, process.lines[-5:]
    assert "mlc: SIGTERM: stopping (finishing the jobs in hand)" in process.lines
    assert process.lines[-1] == "mlc: stopped"
    assert not any(CLIENT_STATE in line or PUSH_SECRET in line for line in process.lines)


def test_mlc_run_without_once_runs_the_schedule_until_sigint(world: World, tmp_path: Path) -> None:
    mlc = str(Path(sys.executable).parent / "mlc")
    process = Process([mlc, "run", "--route", "gp-vendors-to-json"], _process_env(world, tmp_path))
    try:
        running = process.line("mlc: running:")
        code = process.stop(signal.SIGINT)
    finally:
        process.kill()
    assert "1 route(s) scheduled; 2 worker(s)" in running and "webhooks" not in running
    assert code == 0 and process.lines[-1] == "mlc: stopped"
