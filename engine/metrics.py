"""Prometheus metrics of a running service (`mlc serve`): GET /metrics renders them.

    mlc_jobs{state}                             jobs in each state, read from the store at scrape time
    mlc_store_up                                1 when that read worked, else 0
    mlc_jobs_finished_total{route,state}        jobs run by this process, by outcome (done, failed, dead, skipped)
    mlc_job_retries_total{route}                runs that ended in a retry (a transient error, backoff scheduled)
    mlc_job_duration_seconds{route,kind}        time to run one job (claim to outcome)
    mlc_job_latency_seconds{route}              enqueued to done or dead (queueing, retries and running)
    mlc_polls_total{route,outcome}              scheduler ticks: polled, elsewhere (another worker held the lease), failed
    mlc_partner_poll_failures_total{route,partner}  polls that could not read one partner's folder (missing, forbidden, unreachable)
    mlc_webhook_requests_total{endpoint,status} webhook calls answered
    mlc_http_requests_total{system,status}      HTTP calls to external systems ("error" when no response came)
    mlc_rate_budget_wait_seconds{connection}    how long each paced request waited for its turn (engine/pacing)
    mlc_rate_budget_refused_total{connection}   requests not sent: their turn was more than max_wait away

HTTP calls are counted where they happen, in the connectors' shared client
(`connectors.common.client`), which reports every response to `report_http_call`; the engine
never imports connectors, so the hook lives here and connectors call it. Rate-budget waits are
reported the same way, by `engine.pacing.Pacer` (`report_rate_wait`). Each `Metrics` keeps
its own registry (several can live in one process, as in tests) and listens to HTTP calls and
rate-budget waits until `close()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.errors import MlcError

if TYPE_CHECKING:  # the store (SQLAlchemy) is not imported by connectors that only report HTTP calls
    from engine.store import JobState, Store

__all__ = [
    "HttpObserver",
    "Metrics",
    "RateObserver",
    "add_http_observer",
    "add_rate_observer",
    "remove_http_observer",
    "remove_rate_observer",
    "report_http_call",
    "report_rate_wait",
]

log = logging.getLogger(__name__)

HttpObserver = Callable[[str, str, "int | None"], None]
"""Called with (system, method, status) for every HTTP response of a connector; status None
when no response came (timeout, refused connection)."""

_observers: list[HttpObserver] = []
_observers_lock = threading.Lock()

RateObserver = Callable[[str, "float | None"], None]
"""Called with (connection, seconds waited) for every request paced under a rate budget;
seconds None when the request was refused (its turn was more than max_wait away)."""

_rate_observers: list[RateObserver] = []

JOB_SECONDS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
RATE_WAIT_BUCKETS = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_SECONDS_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


def add_http_observer(observer: HttpObserver) -> None:
    """Call `observer` for every HTTP call a connector makes from now on."""
    with _observers_lock:
        _observers.append(observer)


def remove_http_observer(observer: HttpObserver) -> None:
    """Stop calling `observer` (no error if it was not registered)."""
    with _observers_lock:
        if observer in _observers:
            _observers.remove(observer)


def report_http_call(system: str, method: str, status: int | None) -> None:
    """A connector made an HTTP call (connectors call this; observers never break the call)."""
    with _observers_lock:
        observers = list(_observers)
    for observer in observers:
        try:
            observer(system, method, status)
        except Exception:  # a broken metric must never fail a business call
            log.exception("an HTTP metrics observer failed")


def add_rate_observer(observer: RateObserver) -> None:
    """Call `observer` for every request paced under a rate budget from now on."""
    with _observers_lock:
        _rate_observers.append(observer)


def remove_rate_observer(observer: RateObserver) -> None:
    """Stop calling `observer` (no error if it was not registered)."""
    with _observers_lock:
        if observer in _rate_observers:
            _rate_observers.remove(observer)


def report_rate_wait(connection: str, seconds: float | None) -> None:
    """A request of `connection` waited `seconds` for its turn (None: refused); never raises."""
    with _observers_lock:
        observers = list(_rate_observers)
    for observer in observers:
        try:
            observer(connection, seconds)
        except Exception:  # a broken metric must never fail a business call
            log.exception("a rate-budget metrics observer failed")


class _StoreCollector(Collector):
    """`mlc_jobs{state}` and `mlc_store_up`, read from the store when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("mlc_jobs", "Jobs in the state store, by state", labels=["state"])
        up = GaugeMetricFamily("mlc_store_up", "Whether the state store answered the last scrape (1) or not (0)")
        try:
            counts = self._store.job_counts()
        except MlcError as exc:
            log.warning("metrics: the state store did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        for state, count in sorted(counts.items(), key=lambda item: item[0].value):
            jobs.add_metric([state.value], count)
        up.add_metric([], 1)
        yield jobs
        yield up


class Metrics:
    """The service's metrics (module docstring); `render()` is the /metrics body."""

    def __init__(self, store: Store | None = None) -> None:
        self.registry = CollectorRegistry()
        if store is not None:
            self.registry.register(_StoreCollector(store))
        self.jobs_finished = Counter(
            "mlc_jobs_finished", "Jobs run by this process, by outcome", ["route", "state"], registry=self.registry
        )
        self.retries = Counter(
            "mlc_job_retries", "Job runs that ended in a retry (transient error, backoff scheduled)", ["route"], registry=self.registry
        )
        self.job_seconds = Histogram(
            "mlc_job_duration_seconds", "Time to run one job, to its outcome", ["route", "kind"],
            buckets=JOB_SECONDS_BUCKETS, registry=self.registry,
        )
        self.job_latency = Histogram(
            "mlc_job_latency_seconds", "Time from enqueueing a job to its final outcome (done or dead)", ["route"],
            buckets=LATENCY_SECONDS_BUCKETS, registry=self.registry,
        )
        self.polls = Counter("mlc_polls", "Scheduler ticks of a route, by outcome", ["route", "outcome"], registry=self.registry)
        self.partner_poll_failures = Counter(
            "mlc_partner_poll_failures", "Polls that could not read one partner's folder", ["route", "partner"], registry=self.registry
        )
        self.webhook_requests = Counter(
            "mlc_webhook_requests", "Webhook requests answered, by endpoint and status", ["endpoint", "status"], registry=self.registry
        )
        self.http_requests = Counter(
            "mlc_http_requests", "HTTP calls to external systems, by system and status", ["system", "status"], registry=self.registry
        )
        self.rate_waits = Histogram(
            "mlc_rate_budget_wait_seconds", "Time each paced request waited for its turn under its connection's rate budget", ["connection"],
            buckets=RATE_WAIT_BUCKETS, registry=self.registry,
        )
        self.rate_refused = Counter(
            "mlc_rate_budget_refused", "Requests not sent: their turn under the rate budget was more than max_wait away", ["connection"],
            registry=self.registry,
        )
        add_http_observer(self._http_call)
        add_rate_observer(self._rate_wait)

    def close(self) -> None:
        """Stop counting HTTP calls and rate-budget waits (the registry stays readable)."""
        remove_http_observer(self._http_call)
        remove_rate_observer(self._rate_wait)

    def _rate_wait(self, connection: str, seconds: float | None) -> None:
        if seconds is None:
            self.rate_refused.labels(connection=connection).inc()
        else:
            self.rate_waits.labels(connection=connection).observe(seconds)

    def _http_call(self, system: str, method: str, status: int | None) -> None:
        self.http_requests.labels(system=system, status=str(status) if status is not None else "error").inc()

    def job_finished(self, route: str, kind: str, state: JobState, seconds: float, created_at: datetime | None = None, now: datetime | None = None) -> None:
        """Record one job run: its outcome, how long it ran, and (when final) its whole latency."""
        self.jobs_finished.labels(route=route, state=state.value).inc()
        self.job_seconds.labels(route=route, kind=kind).observe(max(0.0, seconds))
        if state.value == "failed":
            self.retries.labels(route=route).inc()
        if created_at is not None and state.value in ("done", "dead"):
            moment = now or datetime.now(UTC)
            self.job_latency.labels(route=route).observe(max(0.0, (moment - created_at).total_seconds()))

    def poll(self, route: str, outcome: str) -> None:
        """Record one scheduler tick of `route`: polled, elsewhere or failed."""
        self.polls.labels(route=route, outcome=outcome).inc()

    def partner_poll_failed(self, route: str, partner: str) -> None:
        """Record one poll of `route` that could not read `partner`'s folder (the others were polled)."""
        self.partner_poll_failures.labels(route=route, partner=partner).inc()

    def webhook(self, endpoint: str, status: int) -> None:
        """Record one answered webhook request."""
        self.webhook_requests.labels(endpoint=endpoint, status=str(status)).inc()

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
