"""The scheduler: each route's cron and interval triggers as one APScheduler 3 job.

    scheduler = Scheduler(runtime, on_poll=doorbell)
    scheduler.add_routes()                  # one job per route with a cron or interval trigger
    scheduler.every("release-stale", 150, runtime.release_stale)
    scheduler.start() ... scheduler.shutdown()

APScheduler stays behind this module (nothing else imports it at run time):

- A route's triggers as written (`route.triggers`) become one trigger: a `CronTrigger` per
  `cron` (5 fields, `CronTrigger.from_crontab`, in the trigger's `timezone`, default UTC), an
  `IntervalTrigger` per `interval`, combined by `AnyOf` when there are several: it fires when
  any of them would, each on its own times (APScheduler's `OrTrigger` counts an interval from
  the last fire of *any* trigger, so an hourly cron would shift a 25-minute interval). Webhook
  triggers are not scheduled (the webhook server enqueues those documents).
- Intervals count from a fixed origin (2000-01-01 in the trigger's zone), not from when the
  process started, so every worker of a cluster ticks at the same instants: `{minutes: 5}` fires
  at :00, :05, :10...
- Jobs run with `max_instances=1` (a route's poll never overlaps itself), `coalesce=True`
  (ticks missed while the process was busy or asleep run once, not once each) and a misfire
  grace time (a tick later than that is dropped; the next one comes).
- A tick polls the route only when this process wins the store lease `poll:<route>`: with
  several workers on one PostgreSQL store, one of them polls a route per tick. The lease is
  kept (not released) for half the time to the next tick, at most the misfire grace time, so
  a worker whose tick runs a little late does not poll the same tick again; it expires before
  the next tick. The poll only enqueues jobs: the workers run them (`on_poll` wakes them).

A tick never raises: a failed poll (a system down, the store busy) is logged and audited (event
`poll-failed` keyed by the route name, so `mlc audit <route>` shows it), and the next tick
tries again.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from engine.config.route import Route
from engine.errors import MlcError

if TYPE_CHECKING:
    from engine.metrics import Metrics
    from engine.runtime import PollResult, Runtime

__all__ = ["DEFAULT_MISFIRE_GRACE_SECONDS", "INTERVAL_ORIGIN", "AnyOf", "Scheduler", "Tick", "lease_seconds", "route_trigger"]

log = logging.getLogger(__name__)

DEFAULT_MISFIRE_GRACE_SECONDS = 300.0
"""A tick may run this late (a busy or suspended process); later ones are dropped."""

INTERVAL_ORIGIN = datetime(2000, 1, 1)
"""Intervals are counted from here (in the trigger's zone), so every worker ticks together."""

MIN_LEASE_SECONDS = 1.0


class AnyOf(BaseTrigger):  # type: ignore[misc]  # APScheduler ships no type hints
    """Fires whenever one of `triggers` would, each counted on its own (module docstring)."""

    def __init__(self, triggers: Iterable[Any]) -> None:
        self.triggers = list(triggers)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The earliest next time of any trigger, strictly after the previous fire."""
        after = now if previous_fire_time is None else max(now, previous_fire_time + timedelta(microseconds=1))
        upcoming = [t for t in (trigger.get_next_fire_time(None, after) for trigger in self.triggers) if t is not None]
        return min(upcoming) if upcoming else None

    def __str__(self) -> str:
        return "any of " + ", ".join(str(trigger) for trigger in self.triggers)

    def __repr__(self) -> str:
        return f"<AnyOf {self.triggers!r}>"


def route_trigger(route: Route) -> Any | None:
    """The APScheduler trigger of the route's cron and interval triggers; None when it has none
    (a webhook-only route)."""
    triggers: list[Any] = []
    for spec in route.triggers:
        zone = ZoneInfo(str(spec.get("timezone") or "UTC"))
        if "cron" in spec:
            triggers.append(CronTrigger.from_crontab(str(spec["cron"]), timezone=zone))
        elif "interval" in spec:
            every = {unit: int(amount) for unit, amount in dict(spec["interval"]).items()}
            triggers.append(IntervalTrigger(**every, start_date=INTERVAL_ORIGIN.replace(tzinfo=zone), timezone=zone))
    if not triggers:
        return None
    return triggers[0] if len(triggers) == 1 else AnyOf(triggers)


def lease_seconds(trigger: Any, now: datetime, misfire_grace_seconds: float) -> float:
    """How long a tick at `now` keeps the route's poll lease (module docstring)."""
    following = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
    if following is None:
        return max(MIN_LEASE_SECONDS, misfire_grace_seconds)
    half_gap = float((following - now).total_seconds()) / 2
    return max(MIN_LEASE_SECONDS, min(half_gap, misfire_grace_seconds))


@dataclass(frozen=True)
class Tick:
    """What one scheduler tick of a route did: `outcome` is polled, elsewhere or failed."""

    route: str
    outcome: str
    poll: PollResult | None = None
    error: str = ""


class Scheduler:
    """A background scheduler of route polls and maintenance jobs (module docstring).

    `routes` limits the scheduled routes (default: every route of the project); `on_poll` is
    called after each tick that polled (e.g. to wake idle workers); `metrics` counts ticks.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        routes: Iterable[str] | None = None,
        misfire_grace_seconds: float = DEFAULT_MISFIRE_GRACE_SECONDS,
        on_poll: Callable[[Tick], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.runtime = runtime
        self.route_names = sorted(routes) if routes is not None else sorted(runtime.project.routes)
        for name in self.route_names:
            runtime.route(name)  # an unknown name fails here, before anything is scheduled
        self.misfire_grace_seconds = misfire_grace_seconds
        self.on_poll = on_poll
        self.metrics = metrics
        self.holder = f"{runtime.worker_id}/{uuid.uuid4().hex[:8]}"
        """The lease holder: unique per scheduler, even for workers given the same id."""
        self._triggers: dict[str, Any] = {}
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max(4, min(20, len(self.route_names) + 4)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(misfire_grace_seconds)},
        )

    # -- jobs --------------------------------------------------------------------------------

    def add_routes(self) -> list[str]:
        """Schedule every chosen route that has a cron or interval trigger; their names."""
        added: list[str] = []
        for name in self.route_names:
            trigger = route_trigger(self.runtime.route(name))
            if trigger is None:
                continue
            self._triggers[name] = trigger
            self._scheduler.add_job(self.tick, trigger, args=[name], id=f"route:{name}", name=f"poll {name}", replace_existing=True)
            added.append(name)
        return added

    def every(self, name: str, seconds: float, function: Callable[[], object]) -> None:
        """Run `function` every `seconds` (maintenance: stale jobs, subscriptions, heartbeats)."""

        def run() -> None:
            try:
                function()
            except Exception as exc:  # maintenance must not stop the scheduler
                log.warning("maintenance %s failed: %s", name, self.runtime.mask(str(exc)))

        self._scheduler.add_job(run, IntervalTrigger(seconds=seconds, timezone=UTC), id=f"maintenance:{name}", name=name, replace_existing=True)

    def jobs(self) -> list[Any]:
        """The scheduled APScheduler jobs (for inspection and tests)."""
        return list(self._scheduler.get_jobs())

    def trigger(self, route: str) -> Any:
        """The trigger a scheduled route runs on."""
        return self._triggers[route]

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start ticking in background threads."""
        self._scheduler.start()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop ticking; with `wait`, let running ticks finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    # -- one tick ----------------------------------------------------------------------------

    def tick(self, route: str) -> Tick:
        """Poll `route` if this process wins its lease for this tick (module docstring)."""
        runtime = self.runtime
        now = runtime.now()
        trigger = self._triggers.get(route) or route_trigger(runtime.route(route))
        ttl = lease_seconds(trigger, now, self.misfire_grace_seconds) if trigger is not None else self.misfire_grace_seconds
        try:
            won = runtime.store.try_lease(f"poll:{route}", self.holder, ttl, now=now)
        except MlcError as exc:
            return self._done(Tick(route, "failed", error=runtime.mask(str(exc))))
        if not won:
            return self._done(Tick(route, "elsewhere"))
        try:
            result = runtime.poll(route)
        except Exception as exc:  # a poll failure waits for the next tick; it never stops the scheduler
            message = runtime.mask(str(exc) if isinstance(exc, MlcError) else f"internal error {type(exc).__name__}: {exc}")
            if not isinstance(exc, MlcError):
                log.exception("poll of route %s failed unexpectedly", route)
            with contextlib.suppress(MlcError):  # the store itself is down: the log line is all we can leave
                runtime.audit(None, "poll-failed", message, route=route, key=route)
            return self._done(Tick(route, "failed", error=message))
        return self._done(Tick(route, "polled", poll=result))

    def _done(self, tick: Tick) -> Tick:
        if tick.outcome == "failed":
            log.warning("poll of route %s failed: %s", tick.route, tick.error)
        elif tick.outcome == "polled" and tick.poll is not None:
            log.info("polled %s: %d read, %d new job(s)", tick.route, tick.poll.read, tick.poll.enqueued)
        if tick.poll is not None:
            for partner, error in tick.poll.partner_errors.items():
                log.warning("poll of route %s could not read partner %s: %s", tick.route, partner, error)
                if self.metrics is not None:
                    self.metrics.partner_poll_failed(tick.route, partner)
        if self.metrics is not None:
            self.metrics.poll(tick.route, tick.outcome)
        if tick.outcome == "polled" and self.on_poll is not None:
            self.on_poll(tick)
        return tick
