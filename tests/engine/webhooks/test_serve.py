"""engine.cli.serve: the worker pool, the service's parts and their life cycle (the process
with its signals is tested end to end in tests/e2e/test_webhooks.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from webhook_support import SECRETS

from engine.cli.serve import Doorbell, Service, WorkerPool
from engine.console import ConsoleSettings
from engine.errors import SecretError, StoreError, UsageError
from engine.metrics import Metrics
from engine.runtime import Runtime
from engine.store import JobState
from engine.webhooks import WebhookSettings


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.01)
    return found


def test_the_doorbell_wakes_a_waiter_only_for_rings_it_has_not_seen() -> None:
    bell = Doorbell()
    seen = bell.rings
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(bell.wait(seen, timeout=10)))
    waiter.start()
    bell.ring()
    waiter.join(timeout=10)

    assert woke == [seen + 1]
    assert bell.wait(seen + 1, timeout=0) == seen + 1  # nothing new: returns at the timeout


def test_workers_run_due_jobs_and_record_their_outcomes(runtime: Runtime, metrics: Metrics) -> None:
    pool = WorkerPool(runtime, 2, idle_seconds=0.05, metrics=metrics)
    pool.start()
    try:
        job, _ = runtime.store.enqueue("bc-invoices-to-810", "odd-1", kind="no-such-kind")
        pool.doorbell.ring()
        dead = eventually(lambda: runtime.store.get(job.id).state is JobState.DEAD)
    finally:
        pool.stop(timeout=10)

    assert dead and pool.alive() == 0
    assert "this engine runs document, fetch, file and transaction jobs" in (runtime.store.get(job.id).last_error or "")
    rendered = metrics.render()[0]
    assert b'mlc_jobs_finished_total{route="bc-invoices-to-810",state="dead"} 1.0' in rendered
    assert b'mlc_job_duration_seconds_count{kind="no-such-kind",route="bc-invoices-to-810"} 1.0' in rendered
    timed = next(line for line in rendered.splitlines() if line.startswith(b"mlc_job_duration_seconds_sum"))
    assert float(timed.rsplit(b" ", 1)[1]) > 0  # the job's own time, measured by Runtime.work


def test_a_worker_outlives_a_store_that_does_not_answer(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    real_work = runtime.work
    failures = iter([StoreError("database is locked"), RuntimeError("a bug outside any job")])

    def flaky(**kwargs: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_work(**kwargs)

    monkeypatch.setattr(runtime, "work", flaky)
    pool = WorkerPool(runtime, 1, idle_seconds=0.01)
    pool.start()
    try:
        job, _ = runtime.store.enqueue("bc-invoices-to-810", "odd-2", kind="no-such-kind")
        eventually(lambda: runtime.store.get(job.id).state is JobState.DEAD)
        assert pool.alive() == 1
    finally:
        pool.stop(timeout=10)


def test_at_least_one_worker_is_needed(runtime: Runtime) -> None:
    with pytest.raises(UsageError, match="at least 1"):
        WorkerPool(runtime, 0)


def test_a_service_without_webhooks_schedules_routes_and_maintenance_and_stops_cleanly(runtime: Runtime) -> None:
    service = Service(runtime, secrets=SECRETS.__getitem__, workers=2, idle_seconds=0.05)
    service.start()
    try:
        jobs = {job.id: job for job in service.scheduler.jobs()}
        assert service.url is None and service.keeper is None
        assert service.scheduled == sorted(runtime.project.routes)
        assert {"maintenance:release-stale", "maintenance:heartbeat", "maintenance:lookup-cache"} <= set(jobs)
        assert "maintenance:subscriptions" not in jobs
        assert service.workers.alive() == 2 and service.scheduler.running
        assert "10 route(s) scheduled; 2 worker(s); store sqlite" in service.summary()
    finally:
        service.stop()
    assert service.workers.alive() == 0 and not service.scheduler.running
    service.stop()  # twice is harmless


def test_a_service_with_webhooks_serves_them_and_survives_subscriptions_it_cannot_make(runtime: Runtime, example_project: Any) -> None:
    settings = WebhookSettings.for_project(example_project)  # no public URL: http://HOST:PORT
    service = Service(runtime, secrets=SECRETS.__getitem__, routes=(), webhooks=settings, port=0, idle_seconds=0.05)
    service.start()
    try:
        assert service.url is not None and service.keeper is not None
        assert service.webhooks is not None and service.webhooks.notification_url("bc") == service.url + "/webhooks/bc"
        health = httpx.get(service.url + "/healthz")
        assert health.status_code == 200
        assert health.json()["checks"] == {"store": "ok", "workers": "ok", "scheduler": "ok"}
        assert "maintenance:subscriptions" in {job.id for job in service.scheduler.jobs()}
        failed = [e for e in runtime.store.audit_trail("bc/salesInvoices") if e.detail and e.detail["action"] == "failed"]
        assert len(failed) == 1  # the fake BC has no subscriptions endpoint: logged and audited, not fatal
        echo = httpx.post(service.url + "/webhooks/bc", params={"validationToken": "abc"})
        assert echo.text == "abc"
    finally:
        service.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(service.url + "/healthz", timeout=2)


def test_a_service_whose_webhook_secret_is_missing_does_not_start(runtime: Runtime, example_project: Any) -> None:
    secrets = {k: v for k, v in SECRETS.items() if k != "cleo-webhook-secret"}
    service = Service(runtime, secrets=secrets.__getitem__, webhooks=WebhookSettings.for_project(example_project), port=0)

    with pytest.raises(SecretError, match="cleo-webhook-secret"):
        service.start()

    assert service.served is None and service.workers.alive() == 0 and not service.scheduler.running


def test_a_port_in_use_is_a_one_line_usage_error(runtime: Runtime, example_project: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = Service(runtime, secrets=SECRETS.__getitem__, webhooks=WebhookSettings.for_project(example_project), port=port)
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            service.start()
    assert service.workers.alive() == 0


def test_heartbeat_keeps_this_process_s_running_jobs_alive_and_no_one_else_s(runtime: Runtime) -> None:
    mine, _ = runtime.store.enqueue("bc-invoices-to-810", "hb-1", kind="document")
    theirs, _ = runtime.store.enqueue("bc-invoices-to-810", "hb-2", kind="document")
    runtime.store.claim(runtime.worker_id, limit=1)
    runtime.store.claim("another-host:1", limit=1)
    before = {j.id: j.heartbeat_at for j in runtime.store.jobs(state=JobState.RUNNING)}
    service = Service(runtime, secrets=SECRETS.__getitem__)

    try:
        assert service.heartbeat() == 1
    finally:
        service.stop()

    after = {j.id: j.heartbeat_at for j in runtime.store.jobs(state=JobState.RUNNING)}
    assert after[mine.id] > before[mine.id]  # type: ignore[operator]
    assert after[theirs.id] == before[theirs.id]


@pytest.mark.parametrize(("console", "served"), [(None, False), (ConsoleSettings(), True), (ConsoleSettings(enabled=False), False)], ids=["not-given", "on", "off"])
def test_a_service_serves_the_console_only_when_it_is_on(runtime: Runtime, example_project: Any, console: ConsoleSettings | None, served: bool) -> None:
    settings = WebhookSettings.for_project(example_project)
    service = Service(runtime, secrets=SECRETS.__getitem__, routes=(), webhooks=settings, port=0, idle_seconds=0.05, console=console)
    service.start()
    try:
        assert service.url is not None
        login = httpx.get(service.url + "/console/login")
        assert login.status_code == (200 if served else 404)
        assert ("maintenance:console-references" in {job.id for job in service.scheduler.jobs()}) is served
        assert ("console on" in service.summary()) is served
    finally:
        service.stop()
