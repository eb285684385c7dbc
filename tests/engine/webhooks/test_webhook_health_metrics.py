"""GET /healthz and GET /metrics; the metrics themselves (engine.metrics), HTTP calls counted
by the connectors' shared client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from webhook_support import SECRETS, body, note

from connectors.common.client import HttpClient
from connectors.common.retry import RetryPolicy
from engine.errors import StoreError, TransportError
from engine.metrics import Metrics, add_http_observer, remove_http_observer, report_http_call
from engine.runtime import Runtime
from engine.store import JobState
from engine.webhooks import WebhookSettings, build_app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) -> value."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


# -- /healthz ------------------------------------------------------------------------------------


def test_healthz_is_200_when_the_store_answers(client: httpx.Client) -> None:
    answer = client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"store": "ok"}}


def test_healthz_is_503_with_the_reason_when_the_store_does_not_answer(client: httpx.Client, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(route: str) -> Any:
        raise StoreError("state store postgresql://mlc:***@db/mlc: connection refused")

    monkeypatch.setattr(runtime.store, "cursor", down)
    answer = client.get("/healthz")

    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "checks": {"store": "state store postgresql://mlc:***@db/mlc: connection refused"}}


def test_healthz_reports_the_service_s_own_checks(server: Any, runtime: Runtime, settings: WebhookSettings) -> None:
    url, mount = server

    def broken() -> str | None:
        raise RuntimeError("boom")

    mount.app = build_app(runtime, settings, secrets=SECRETS.__getitem__, health={"workers": lambda: "1 of 2 workers are running", "scheduler": broken})
    answer = httpx.get(url + "/healthz")

    assert answer.status_code == 503
    assert answer.json()["checks"] == {"store": "ok", "workers": "1 of 2 workers are running", "scheduler": "the check failed: RuntimeError"}


# -- /metrics ------------------------------------------------------------------------------------


def test_metrics_page_is_prometheus_text_with_jobs_by_state_read_at_scrape_time(client: httpx.Client, runtime: Runtime) -> None:
    before = samples(client.get("/metrics").text)
    runtime.store.enqueue("bc-invoices-to-810", "103001", kind="document")
    runtime.store.enqueue("bc-invoices-to-810", "103002", kind="document")
    [claimed] = runtime.store.claim("w1", limit=1)
    runtime.store.dead_letter(claimed.id, error="unit")

    answer = client.get("/metrics")
    after = samples(answer.text)

    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert before[("mlc_jobs", (("state", "pending"),))] == 0
    assert after[("mlc_jobs", (("state", "pending"),))] == 1
    assert after[("mlc_jobs", (("state", "dead"),))] == 1
    assert after[("mlc_store_up", ())] == 1


def test_metrics_count_webhook_answers_by_endpoint_and_status(client: httpx.Client) -> None:
    client.post("/webhooks/bc", content=body(note()))
    client.post("/webhooks/bc", content=b"{")
    client.post("/webhooks/bc", params={"validationToken": "t"})

    found = samples(client.get("/metrics").text)

    assert found[("mlc_webhook_requests_total", (("endpoint", "bc"), ("status", "200")))] == 1
    assert found[("mlc_webhook_requests_total", (("endpoint", "bc"), ("status", "400")))] == 1
    assert found[("mlc_webhook_requests_total", (("endpoint", "bc-validation"), ("status", "200")))] == 1


def test_store_up_is_0_when_the_store_does_not_answer_a_scrape(runtime: Runtime, metrics: Metrics, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(route: str | None = None) -> Any:
        raise StoreError("database is locked")

    monkeypatch.setattr(runtime.store, "job_counts", down)
    found = samples(metrics.render()[0].decode())

    assert found[("mlc_store_up", ())] == 0
    assert not any(name == "mlc_jobs" for name, _ in found)


def test_job_outcomes_count_retries_durations_and_latency(metrics: Metrics) -> None:
    now = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    metrics.job_finished("r", "document", JobState.FAILED, 0.2, now - timedelta(seconds=5), now)
    metrics.job_finished("r", "document", JobState.DONE, 0.3, now - timedelta(seconds=30), now)
    metrics.job_finished("r", "fetch", JobState.DEAD, 0.1, now - timedelta(seconds=90), now)

    found = samples(metrics.render()[0].decode())

    assert found[("mlc_job_retries_total", (("route", "r"),))] == 1
    assert found[("mlc_jobs_finished_total", (("route", "r"), ("state", "done")))] == 1
    assert found[("mlc_job_duration_seconds_count", (("kind", "document"), ("route", "r")))] == 2
    assert found[("mlc_job_duration_seconds_sum", (("kind", "document"), ("route", "r")))] == pytest.approx(0.5)
    assert found[("mlc_job_latency_seconds_count", (("route", "r"),))] == 2  # the retry is not final
    assert found[("mlc_job_latency_seconds_sum", (("route", "r"),))] == pytest.approx(120.0)


# -- HTTP calls of the connectors ----------------------------------------------------------------


@pytest.fixture
def standalone() -> Iterator[Metrics]:
    collected = Metrics()
    yield collected
    collected.close()


def test_every_response_of_the_shared_http_client_is_counted_by_system_and_status(standalone: Metrics) -> None:
    statuses = iter([429, 503, 200])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(statuses), json={}))
    with HttpClient("cleo", "http://cleo.test/", transport=transport, retry=RetryPolicy(sleep=lambda _s: None)) as http:
        http.request("GET", "folders")

    found = samples(standalone.render()[0].decode())

    for status in ("429", "503", "200"):
        assert found[("mlc_http_requests_total", (("status", status), ("system", "cleo")))] == 1


def test_a_call_that_got_no_response_is_counted_as_error(standalone: Metrics) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with HttpClient("gp", "http://gp.test/", transport=httpx.MockTransport(refuse)) as http, pytest.raises(TransportError):
        http.request("GET", "x", retry=False)

    assert samples(standalone.render()[0].decode())[("mlc_http_requests_total", (("status", "error"), ("system", "gp")))] == 1


def test_closed_metrics_stop_counting_and_a_broken_observer_never_fails_a_call(standalone: Metrics) -> None:
    def broken(system: str, method: str, status: int | None) -> None:
        raise RuntimeError("observer bug")

    standalone.close()
    add_http_observer(broken)
    try:
        report_http_call("bc", "GET", 200)  # does not raise
    finally:
        remove_http_observer(broken)

    assert not any(name == "mlc_http_requests_total" for name, _ in samples(standalone.render()[0].decode()))
