"""engine.scheduling: routes' triggers as APScheduler jobs, tested by computing fire times and
calling the tick directly (never by waiting for a schedule); one poll per tick across workers."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.config.project import Project, load_project
from engine.config.route import Route
from engine.errors import StoreError, TransportError
from engine.metrics import Metrics
from engine.runtime import PollResult, Runtime
from engine.runtime.systems import Systems
from engine.scheduling import INTERVAL_ORIGIN, Scheduler, Tick, lease_seconds, route_trigger
from engine.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent / "store"))
from store_support import FakeClock, postgres_schema, require_postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 5, 2, 10, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def project() -> Project:
    return load_project(REPO_ROOT, environ={})


def fire_times(trigger: Any, start: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `start`, as APScheduler computes them (UTC)."""
    found: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        moment = trigger.get_next_fire_time(previous, now)
        found.append(moment.astimezone(UTC))
        previous, now = moment, moment
    return found


def with_triggers(route: Route, *triggers: dict[str, Any]) -> Route:
    return dataclasses.replace(route, triggers=list(triggers))


def at(hour: int, minute: int, day: int = 2) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


# -- triggers -----------------------------------------------------------------------------------


def test_a_crontab_fires_on_its_minutes(project: Project) -> None:
    trigger = route_trigger(project.routes["bc-invoices-to-810"])  # webhook + "*/15 * * * *"

    assert fire_times(trigger, NOW, 3) == [at(10, 15), at(10, 30), at(10, 45)]


def test_an_interval_counts_from_a_fixed_origin_so_every_worker_ticks_together(project: Project) -> None:
    trigger = route_trigger(project.routes["bc-purchase-orders-to-850"])  # {minutes: 10}

    assert fire_times(trigger, NOW, 3) == [at(10, 10), at(10, 20), at(10, 30)]
    assert fire_times(trigger, NOW + timedelta(seconds=1), 1) == fire_times(route_trigger(project.routes["bc-purchase-orders-to-850"]), NOW, 1)
    assert INTERVAL_ORIGIN.year == 2000


def test_cron_in_a_time_zone_follows_its_clock_across_the_dst_change(project: Project) -> None:
    trigger = route_trigger(project.routes["gp-purchase-orders-to-850"])  # "0 6 * * *" America/Chicago

    assert fire_times(trigger, NOW, 2) == [at(11, 0, day=2), at(11, 0, day=3)]  # CDT: UTC-5
    winter = datetime(2024, 11, 2, 12, 0, tzinfo=UTC)
    assert fire_times(trigger, winter, 2) == [datetime(2024, 11, 3, 12, 0, tzinfo=UTC), datetime(2024, 11, 4, 12, 0, tzinfo=UTC)]  # CST: UTC-6


def test_a_weekly_cron_with_a_day_name_fires_on_that_day(project: Project) -> None:
    trigger = route_trigger(project.routes["gp-purchase-orders-to-json"])  # "0 6 * * mon" America/Chicago

    [first, second] = fire_times(trigger, NOW, 2)

    assert first.astimezone(ZoneInfo("America/Chicago")).strftime("%a %H:%M") == "Mon 06:00"
    assert second - first == timedelta(days=7)


def test_several_triggers_of_a_route_fire_at_the_union_of_their_times(project: Project) -> None:
    route = with_triggers(project.routes["bc-invoices-to-810"], {"cron": "0 * * * *"}, {"interval": {"minutes": 25}}, {"webhook": {"connection": "bc", "resource": "salesInvoices"}})

    assert fire_times(route_trigger(route), at(10, 2), 5) == [at(10, 5), at(10, 30), at(10, 55), at(11, 0), at(11, 20)]


def test_a_webhook_only_route_has_no_schedule(project: Project) -> None:
    route = with_triggers(project.routes["bc-invoices-to-810"], {"webhook": {"connection": "bc", "resource": "salesInvoices"}})

    assert route_trigger(route) is None


@pytest.mark.parametrize(
    ("tick", "grace", "expected"),
    [
        pytest.param(at(10, 15), 300.0, 300.0, id="quarter-hour-capped-by-grace"),
        pytest.param(at(10, 15), 3600.0, 450.0, id="half-the-gap"),
        pytest.param(at(10, 29) + timedelta(seconds=59, microseconds=500000), 300.0, 1.0, id="never-below-one-second"),
    ],
)
def test_the_poll_lease_lasts_half_the_gap_to_the_next_tick_at_most_the_grace(project: Project, tick: datetime, grace: float, expected: float) -> None:
    trigger = route_trigger(project.routes["bc-invoices-to-810"])

    assert lease_seconds(trigger, tick, grace) == pytest.approx(expected)


# -- the scheduler's jobs -------------------------------------------------------------------------


class Recorder:
    """Stands in for `Runtime.poll` (the tick's job is the lease, then the call)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    def __call__(self, route: str) -> PollResult:
        self.calls.append(route)
        if self.error is not None:
            raise self.error
        return PollResult(route, read=2, enqueued=1)


def make_runtime(project: Project, store: Store, clock: FakeClock, worker: str = "w1") -> Runtime:
    runtime = Runtime(project, store, Systems(project, lambda name: ""), clock=clock, worker_id=worker)
    runtime.poll = Recorder()  # type: ignore[method-assign]
    return runtime


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at(10, 15))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'mlc.db'}", state_dir=tmp_path) as opened:
        yield opened


@pytest.fixture
def runtime(project: Project, store: Store, clock: FakeClock) -> Runtime:
    return make_runtime(project, store, clock)


def test_every_route_with_a_cron_or_interval_is_one_job_without_overlap_with_coalesced_misfires(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime)
    added = scheduler.add_routes()
    scheduler.start()  # job defaults are applied when the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.jobs()}
    finally:
        scheduler.shutdown()

    assert added == sorted(runtime.project.routes)
    assert set(jobs) == {f"route:{name}" for name in added}
    for job in jobs.values():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 300)
    assert fire_times(jobs["route:bc-invoices-to-810"].trigger, NOW, 1) == [at(10, 15)]


def test_only_the_chosen_routes_are_scheduled_and_an_unknown_one_fails_at_once(runtime: Runtime) -> None:
    assert Scheduler(runtime, routes=["gp-vendors-to-json"]).add_routes() == ["gp-vendors-to-json"]
    assert Scheduler(runtime, routes=[]).add_routes() == []
    with pytest.raises(Exception, match="no route 'nope'"):
        Scheduler(runtime, routes=["nope"])


def test_maintenance_runs_on_its_interval_and_its_failures_are_contained(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime, routes=[])
    ran: list[str] = []

    def fails() -> None:
        ran.append("fails")
        raise StoreError("database is locked")

    scheduler.every("release-stale", 150, fails)
    [job] = scheduler.jobs()
    job.func()  # what the scheduler runs: the error is logged, not raised

    assert ran == ["fails"]
    assert job.trigger.interval == timedelta(seconds=150)


def test_the_scheduler_starts_and_shuts_down_without_running_a_tick(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime)
    scheduler.add_routes()
    scheduler.start()
    try:
        assert scheduler.running
        assert all(job.next_run_time is not None for job in scheduler.jobs())
    finally:
        scheduler.shutdown()
    assert not scheduler.running


# -- one tick -----------------------------------------------------------------------------------


def test_a_tick_polls_the_route_then_wakes_the_workers_and_counts_it(runtime: Runtime) -> None:
    woken: list[Tick] = []
    metrics = Metrics()
    scheduler = Scheduler(runtime, on_poll=woken.append, metrics=metrics)
    scheduler.add_routes()

    tick = scheduler.tick("bc-invoices-to-810")

    assert (tick.outcome, tick.poll) == ("polled", PollResult("bc-invoices-to-810", read=2, enqueued=1))
    assert runtime.poll.calls == ["bc-invoices-to-810"]  # type: ignore[attr-defined]
    assert woken == [tick]
    assert b'mlc_polls_total{outcome="polled",route="bc-invoices-to-810"} 1.0' in metrics.render()[0]
    metrics.close()


def test_a_second_scheduler_at_the_same_tick_does_not_poll_again(project: Project, store: Store, clock: FakeClock) -> None:
    first = Scheduler(make_runtime(project, store, clock, "w1"))
    second_runtime = make_runtime(project, store, clock, "w2")
    woken: list[str] = []
    second = Scheduler(second_runtime, on_poll=lambda tick: woken.append(tick.route))
    first.add_routes()
    second.add_routes()

    assert first.tick("bc-invoices-to-810").outcome == "polled"
    clock.advance(seconds=20)  # the other worker's tick runs a little late
    assert second.tick("bc-invoices-to-810").outcome == "elsewhere"
    assert second_runtime.poll.calls == [] and woken == []  # type: ignore[attr-defined]
    assert second.tick("bc-purchase-orders-to-850").outcome == "polled"  # another route is its own lease
    assert woken == ["bc-purchase-orders-to-850"]


def test_at_the_next_tick_the_lease_is_free_again_for_whichever_worker_comes_first(project: Project, store: Store, clock: FakeClock) -> None:
    first = Scheduler(make_runtime(project, store, clock, "w1"))
    second = Scheduler(make_runtime(project, store, clock, "w2"))
    first.add_routes()
    second.add_routes()
    first.tick("bc-invoices-to-810")

    clock.advance(minutes=15)

    assert second.tick("bc-invoices-to-810").outcome == "polled"
    assert first.tick("bc-invoices-to-810").outcome == "elsewhere"


def test_the_same_process_ticking_again_within_its_lease_polls_again(runtime: Runtime, clock: FakeClock) -> None:
    scheduler = Scheduler(runtime)
    scheduler.add_routes()
    scheduler.tick("cleo-856-to-gp")
    clock.advance(seconds=5)

    assert scheduler.tick("cleo-856-to-gp").outcome == "polled"  # a holder renews its own lease


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param(TransportError("GET http://gp/ timed out", system="gp"), "gp: GET http://gp/ timed out", id="connector"),
        pytest.param(ValueError("a bug"), "internal error ValueError: a bug", id="bug"),
    ],
)
def test_a_failed_poll_is_audited_and_never_raised_into_the_scheduler(runtime: Runtime, error: Exception, message: str) -> None:
    runtime.poll = Recorder(error)  # type: ignore[method-assign]
    woken: list[Tick] = []
    scheduler = Scheduler(runtime, on_poll=woken.append)
    scheduler.add_routes()

    tick = scheduler.tick("gp-vendors-to-json")

    assert (tick.outcome, tick.error) == ("failed", message)
    assert woken == []
    [event] = runtime.store.audit_trail("gp-vendors-to-json")
    assert (event.event, event.route, event.detail) == ("poll-failed", "gp-vendors-to-json", {"message": message})


def test_a_store_that_cannot_give_the_lease_fails_the_tick_without_polling(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> bool:
        raise StoreError("database is locked")

    monkeypatch.setattr(runtime.store, "try_lease", down)
    scheduler = Scheduler(runtime)

    tick = scheduler.tick("gp-vendors-to-json")

    assert (tick.outcome, tick.error) == ("failed", "database is locked")
    assert runtime.poll.calls == []  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_on_postgresql_one_of_several_workers_ticking_at_once_polls(project: Project, tmp_path: Path) -> None:
    require_postgres()
    workers = 4
    clock = FakeClock(at(10, 15))
    with postgres_schema() as url:
        stores = [Store.open(url, state_dir=tmp_path) for _ in range(workers)]
        try:
            runtimes = [make_runtime(project, store, clock, f"w{i}") for i, store in enumerate(stores)]
            schedulers = [Scheduler(runtime) for runtime in runtimes]
            for scheduler in schedulers:
                scheduler.add_routes()
            barrier = threading.Barrier(workers)
            ticks: list[Tick] = []

            def tick(scheduler: Scheduler) -> None:
                barrier.wait(timeout=10)
                ticks.append(scheduler.tick("bc-invoices-to-810"))

            threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        finally:
            for store in stores:
                store.close()

    assert sorted(t.outcome for t in ticks) == ["elsewhere"] * (workers - 1) + ["polled"]
    assert sum(len(r.poll.calls) for r in runtimes) == 1  # type: ignore[attr-defined]
