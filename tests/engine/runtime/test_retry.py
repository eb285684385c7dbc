"""What happens to a job follows from the class of its error: transient errors are retried with
exponential backoff (at least the server's Retry-After) until `max_attempts`, then dead-lettered
with "gave up after N attempts"; every other error dead-letters at once with its reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from runtime_fakes import NOW

from engine.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    MappingError,
    NotFoundError,
    ProtocolError,
    RefusedOperationError,
    RemoteValidationError,
    RetriableHttpError,
    StoreBusyError,
    StoreError,
    TransportError,
    UnauthorizedError,
    X12EnvelopeError,
)
from engine.retries import report_retry
from engine.runtime import Context, Runtime, RuntimeSettings
from engine.runtime.poll import enqueue_file
from engine.store import JobState, LedgerState

MakeRuntime = Callable[..., Runtime]
URL = "https://bc.example/api/salesOrders"


def _http(kind: type[Any], status: int, **extra: Any) -> Any:
    return kind("refused", system="bc", status=status, method="POST", url=URL, **extra)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        pytest.param(1, 1.0, 2.0, id="first-retry-about-the-base"),
        pytest.param(2, 2.0, 4.0, id="doubles"),
        pytest.param(4, 8.0, 16.0, id="doubles-again"),
        pytest.param(10, 300.0, 600.0, id="capped-at-the-maximum"),
        pytest.param(0, 1.0, 2.0, id="attempt-zero-as-the-first"),
    ],
)
def test_the_backoff_doubles_per_attempt_up_to_the_cap_with_jitter_in_the_upper_half(make_runtime: MakeRuntime, attempt: int, low: float, high: float) -> None:
    runtime = make_runtime(settings=RuntimeSettings(backoff_seconds=2.0, backoff_max_seconds=600.0))

    waits = [runtime.backoff(attempt) for _ in range(200)]

    assert all(low <= wait <= high for wait in waits)
    assert len(set(waits)) > 1, "jittered, so workers do not retry in step"


@pytest.mark.parametrize(
    ("error", "low", "high"),
    [
        pytest.param(_http(RetriableHttpError, 503), 1.0, 2.0, id="no-retry-after-the-backoff"),
        pytest.param(_http(RetriableHttpError, 429, retry_after=30.0), 30.0, 30.0, id="retry-after-longer-than-the-backoff"),
        pytest.param(_http(RetriableHttpError, 429, retry_after=0.5), 1.0, 2.0, id="retry-after-shorter-than-the-backoff"),
        pytest.param(_http(RetriableHttpError, 429, retry_after=86_400.0), 600.0, 600.0, id="retry-after-capped-at-the-maximum"),
        pytest.param(TransportError("timed out", system="cleo"), 1.0, 2.0, id="timeout-the-backoff"),
        pytest.param(StoreBusyError("database is locked"), 1.0, 2.0, id="busy-store-the-backoff"),
    ],
)
def test_a_retry_waits_the_backoff_or_the_servers_retry_after_when_longer(make_runtime: MakeRuntime, error: Exception, low: float, high: float) -> None:
    runtime = make_runtime(settings=RuntimeSettings(backoff_seconds=2.0, backoff_max_seconds=600.0))

    waits = [runtime.retry_wait(1, error) for _ in range(50)]

    assert all(low <= wait <= high for wait in waits)


@pytest.mark.parametrize(
    ("error", "state", "status"),
    [
        pytest.param(_http(RetriableHttpError, 429, retry_after=3.0), JobState.FAILED, 429, id="throttled-429"),
        pytest.param(_http(RetriableHttpError, 503), JobState.FAILED, 503, id="unavailable-503"),
        pytest.param(_http(RetriableHttpError, 408), JobState.FAILED, 408, id="request-timeout-408"),
        pytest.param(TransportError("GET x timed out (ReadTimeout)", system="gp"), JobState.FAILED, None, id="timeout"),
        pytest.param(StoreBusyError("database is locked"), JobState.FAILED, None, id="store-busy"),
        pytest.param(StoreError("unknown JobState 'x'"), JobState.DEAD, None, id="store-refusal-not-retried"),
        pytest.param(_http(ConflictError, 409), JobState.DEAD, 409, id="stale-etag-after-the-re-read-409"),
        pytest.param(_http(RemoteValidationError, 400), JobState.DEAD, 400, id="remote-validation-400"),
        pytest.param(_http(UnauthorizedError, 401), JobState.DEAD, 401, id="credentials-refused-401"),
        pytest.param(_http(NotFoundError, 404), JobState.DEAD, 404, id="not-found-404"),
        pytest.param(AuthenticationError("the token endpoint refused the client", system="bc"), JobState.DEAD, None, id="no-token"),
        pytest.param(ProtocolError("expected JSON, got an HTML page", system="cleo"), JobState.DEAD, None, id="unusable-answer"),
        pytest.param(RefusedOperationError("only Work documents are written", system="gp"), JobState.DEAD, None, id="refused-by-the-connector"),
        pytest.param(MappingError("the field 'doc.number' is missing"), JobState.DEAD, None, id="mapping"),
        pytest.param(X12EnvelopeError("no IEA", source="x.edi", position=4), JobState.DEAD, None, id="broken-envelope"),
        pytest.param(ConfigError("no route 'x'"), JobState.DEAD, None, id="configuration"),
    ],
)
def test_the_error_class_decides_retry_or_dead_letter_and_the_audit_keeps_the_status(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, error: Exception, state: JobState, status: int | None
) -> None:
    runtime = make_runtime(settings=RuntimeSettings(max_attempts=3))
    job = _claimed(runtime, monkeypatch, error)

    outcome = runtime.run_job(job)

    stored = runtime.store.get(job.id)
    event = runtime.store.job_events(job.id)[-1]
    assert outcome.state is state is stored.state
    assert stored.last_error == str(error) == outcome.detail
    assert (event.event, event.status, event.job_id) == ("retry" if state is JobState.FAILED else "dead", status, job.id)
    if state is JobState.FAILED:
        assert stored.not_before > NOW and event.detail is not None and event.detail["attempt"] == 1


def test_a_transient_error_at_the_last_attempt_dead_letters_with_gave_up_after_n_attempts(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime(settings=RuntimeSettings(max_attempts=3))
    error = _http(RetriableHttpError, 503)
    job = _claimed(runtime, monkeypatch, error)
    outcomes = [runtime.run_job(job)]
    for _ in range(2):
        job = runtime.store.claim("test-worker", limit=1, now=NOW + timedelta(hours=1))[0]
        outcomes.append(runtime.run_job(job))

    assert [o.state for o in outcomes] == [JobState.FAILED, JobState.FAILED, JobState.DEAD]
    stored = runtime.store.get(job.id)
    assert stored.attempts == 3 and stored.last_error == f"gave up after 3 attempts: {error}"
    events = runtime.store.job_events(job.id)
    assert [(e.event, e.status) for e in events] == [("retry", 503), ("retry", 503), ("dead", 503)]


def test_an_unexpected_exception_dead_letters_the_job_naming_it_and_the_worker_goes_on(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime()
    job = _claimed(runtime, monkeypatch, KeyError("lines"))

    outcome = runtime.run_job(job)

    assert outcome.state is JobState.DEAD
    assert outcome.detail == "internal error KeyError: 'lines'"


def test_secrets_are_masked_in_the_error_the_job_keeps_and_in_its_audit(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime(mask=lambda text: text.replace("hunter2", "***"))
    job = _claimed(runtime, monkeypatch, MappingError("login hunter2 refused"))

    runtime.run_job(job)

    stored = runtime.store.get(job.id)
    assert stored.last_error == "login *** refused"
    assert "hunter2" not in str(runtime.store.job_events(job.id)[-1].detail)


def _raising(error: BaseException) -> Callable[..., Any]:
    def execute(context: Context, job: Any) -> dict[str, Any]:
        raise error

    return execute


def _claimed(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> Any:
    """A claimed document job whose execution raises `error`."""
    monkeypatch.setattr("engine.runtime.runtime.execute", _raising(error))
    runtime.store.enqueue("bc-invoices-to-810", "103001", kind="document", partner="acme", payload={"record": {}})
    return runtime.store.claim("test-worker", limit=1, now=NOW)[0]


def test_each_retry_inside_a_connector_leaves_an_audit_row_at_once(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime()
    throttled = _http(RetriableHttpError, 429, retry_after=7.0)
    seen_during: list[list[str]] = []

    def execute(context: Context, job: Any) -> dict[str, Any]:
        for attempt in (1, 2):
            report_retry(throttled, 7.0, attempt)
            seen_during.append([e.event for e in context.store.job_events(job.id)])
        return {"summary": "sent"}

    monkeypatch.setattr("engine.runtime.runtime.execute", execute)
    runtime.store.enqueue("bc-invoices-to-810", "103001", kind="document", partner="acme", payload={"record": {}})
    job = runtime.store.claim("test-worker", limit=1, now=NOW)[0]

    outcome = runtime.run_job(job)

    events = runtime.store.job_events(job.id)
    retries = [e for e in events if e.event == "connector-retry"]
    assert outcome.state is JobState.DONE
    assert seen_during == [["connector-retry"], ["connector-retry", "connector-retry"]], "each row is written before the job ends"
    assert [(e.status, e.detail["attempt"], e.detail["retry_in_s"], e.detail["system"]) for e in retries if e.detail] == [(429, 1, 7.0, "bc"), (429, 2, 7.0, "bc")]
    report_retry(throttled, 1.0, 1)  # outside the job: nobody watches, nothing is written
    assert len([e for e in runtime.store.job_events(job.id) if e.event == "connector-retry"]) == 2


def test_a_dead_file_job_marks_its_inbound_file_failed_in_the_ledger(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime()
    route = runtime.route("cleo-850-to-bc-sales-orders")
    job = enqueue_file(runtime.context, route, "acme", "850_x.edi", b"not x12", connection="cleo", folder="acme/inbox", file_id="F-1")
    assert job is not None
    monkeypatch.setattr("engine.runtime.runtime.execute", _raising(MappingError("no usable interchange")))
    claimed = runtime.store.claim("test-worker", limit=1, now=NOW)[0]

    assert runtime.run_job(claimed).state is JobState.DEAD

    (entry,) = runtime.store.ledger_for_file("F-1")
    assert entry.state is LedgerState.FAILED
    assert entry.error == "no usable interchange" and entry.job_id == job.id


def test_every_audit_row_is_masked_whoever_writes_it(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime(mask=lambda text: text.replace("hunter2", "***"))

    runtime.store.audit(None, "subscription", key="bc/salesOrders", detail={"message": "state hunter2", "nested": [{"url": "https://x/?s=hunter2"}]})
    with runtime.store.transaction() as tx:
        tx.audit(None, "poll", route="r", detail={"message": "login hunter2"})
    runtime.audit(None, "poll", "as hunter2", route="r", key="r", detail={"note": "hunter2"})

    rows = runtime.store.audit_trail("bc/salesOrders") + runtime.store.audit_trail("r")
    assert rows and "hunter2" not in str([row.detail for row in rows])
    assert rows[0].detail == {"message": "state ***", "nested": [{"url": "https://x/?s=***"}]}
