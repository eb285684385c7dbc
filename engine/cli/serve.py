"""`mlc serve`: the scheduler, the webhook server and the workers of one process.

    mlc serve [--project DIR] [--database URL] [--host H] [--port P] [--public-url URL]
              [--workers N] [--worker-id ID]

`Service` is what runs:

- the webhook server (`engine.webhooks`, uvicorn in a thread) when webhooks are on; it starts
  first, because creating a BC subscription makes BC call it back (validation handshake). Once
  the scheduler and the workers run, the subscriptions are made or renewed
  (`SubscriptionKeeper.ensure`), then checked again every hour; the public URL is
  `--public-url`, else connections.yaml `server.public_url`, else `http://HOST:PORT`;
- the operator console at `/console/` of the same server (`engine.console`), unless
  connections.yaml says `server: {console: {enabled: false}}`;
- the scheduler (`engine.scheduling`): each route's cron/interval polls, under the store lease
  `poll:<route>`, plus maintenance: stale jobs released, heartbeats for the jobs this process
  runs, the lookup cache emptied (reference data is re-read every few minutes);
- N worker threads sharing one `Runtime`, each a loop of `Runtime.work(limit=claim_batch)` (up
  to `claim_batch` jobs per claim, whose document completions are written together, each job
  timed for the metrics) that waits a short while when nothing is due, or until a poll or a
  webhook enqueued something.

SIGINT or SIGTERM stops it cleanly: the server stops taking calls, the scheduler finishes the
ticks in hand, each worker finishes its job in hand (the rest of its batch goes back to pending);
a second signal interrupts at once.
`run_scheduled` is the same without the web server (`mlc run` without `--once`).
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from engine.cli.mapping import project_root
from engine.config.project import load_project
from engine.console import ConsoleSettings, build_console, catch_up
from engine.errors import MlcError, UsageError
from engine.metrics import Metrics
from engine.runtime import Runtime
from engine.runtime.replay import replay
from engine.runtime.setup import open_runtime, project_secrets
from engine.scheduling import Scheduler, Tick
from engine.server import ServedApp, serve_in_thread
from engine.webhooks import SubscriptionKeeper, WebhookSettings, build_app
from engine.webhooks.subscriptions import CHECK_EVERY_SECONDS

__all__ = ["COMMANDS", "Doorbell", "Service", "WorkerPool", "run_scheduled", "serve"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_WORKERS = 2
IDLE_SECONDS = 1.0
"""How long an idle worker waits before looking for due jobs again (retries come due unannounced)."""
LOOKUP_CACHE_SECONDS = 300.0
REFERENCES_SECONDS = 30.0
"""How often the console's search index reads the artifacts stored since (engine.console.references)."""


class Doorbell:
    """Wakes idle workers when jobs were enqueued (by a poll or a webhook)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rings = 0

    def ring(self, *_: object) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()

    @property
    def rings(self) -> int:
        with self._condition:
            return self._rings

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until it rang after `seen` rings (or `timeout`); the rings now."""
        with self._condition:
            self._condition.wait_for(lambda: self._rings != seen, timeout)
            return self._rings


class WorkerPool:
    """`count` threads running the runtime's due jobs (module docstring)."""

    def __init__(
        self,
        runtime: Runtime,
        count: int,
        *,
        idle_seconds: float = IDLE_SECONDS,
        doorbell: Doorbell | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if count < 1:
            raise UsageError(f"--workers must be at least 1, got {count}")
        self.runtime = runtime
        self.count = count
        self.idle_seconds = idle_seconds
        self.doorbell = doorbell or Doorbell()
        self.metrics = metrics
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"mlc-worker-{index + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def alive(self) -> int:
        """How many worker threads are running."""
        return sum(1 for thread in self._threads if thread.is_alive())

    def stop(self, timeout: float | None = None) -> None:
        """Ask every worker to finish its job in hand, and wait for them."""
        self.runtime.stop()
        self.doorbell.ring()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        runtime = self.runtime
        seen = self.doorbell.rings
        while not runtime.stopping:
            try:
                result = runtime.work(limit=runtime.settings.claim_batch)
            except MlcError as exc:  # the store is unreachable: wait and try again
                log.warning("worker: %s", runtime.mask(str(exc)))
                seen = self.doorbell.wait(seen, self.idle_seconds)
                continue
            except Exception:  # a bug outside any job: keep the worker alive
                log.exception("worker loop failed")
                seen = self.doorbell.wait(seen, self.idle_seconds)
                continue
            if not result.outcomes:
                seen = self.doorbell.wait(seen, self.idle_seconds)
                continue
            if self.metrics is not None:
                for outcome in result.outcomes:
                    job = outcome.job
                    self.metrics.job_finished(job.route, job.kind, outcome.state, outcome.seconds, job.created_at, runtime.now())


class Service:
    """Scheduler, webhook server and workers over one runtime (module docstring).

    `webhooks` None runs no web server (`mlc run`); `routes` limits the scheduled routes
    (default: all; `()` schedules none, e.g. to test webhooks alone).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        secrets: Callable[[str], str],
        routes: Iterable[str] | None = None,
        webhooks: WebhookSettings | None = None,
        workers: int = DEFAULT_WORKERS,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        idle_seconds: float = IDLE_SECONDS,
        console: ConsoleSettings | None = None,
    ) -> None:
        self.runtime = runtime
        self.console = console if console is not None and console.enabled else None
        self.secrets = secrets
        self.webhooks = webhooks
        self.host = host
        self.port = port
        self.doorbell = Doorbell()
        self.metrics = Metrics(runtime.store)
        self.scheduler = Scheduler(runtime, routes=routes, on_poll=self._polled, metrics=self.metrics)
        self.workers = WorkerPool(runtime, workers, idle_seconds=idle_seconds, doorbell=self.doorbell, metrics=self.metrics)
        self.keeper: SubscriptionKeeper | None = None
        self.served: ServedApp | None = None
        self.scheduled: list[str] = []
        self._stopped = False

    def _polled(self, tick: Tick) -> None:
        if tick.poll is not None and tick.poll.enqueued:
            self.doorbell.ring()

    @property
    def url(self) -> str | None:
        """Where the webhook server listens (None without one)."""
        return self.served.url if self.served is not None else None

    def start(self) -> None:
        """Start everything, webhook server first (module docstring)."""
        try:
            if self.webhooks is not None:
                self._start_server(self.webhooks)
            self.scheduled = self.scheduler.add_routes()
            self._add_maintenance()
            self.scheduler.start()
            self.workers.start()
            if self.keeper is not None:
                # After the polls and workers run (a BC that does not answer only delays this),
                # and with the server listening (BC calls it back to validate the URL).
                self.keeper.ensure()
        except BaseException:
            self.stop()
            raise

    def _start_server(self, settings: WebhookSettings) -> None:
        settings.check_secrets(self.secrets)
        app = build_app(
            self.runtime, settings, secrets=self.secrets, metrics=self.metrics, on_enqueue=self.doorbell.ring,
            health={"workers": self._workers_problem, "scheduler": self._scheduler_problem},
            console=build_console(self.runtime, self.console, reapply=replay) if self.console is not None else None,
        )
        try:
            self.served = serve_in_thread(app, host=self.host, port=self.port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        if not settings.public_url:
            host = socket.getfqdn() if self.host in ("", "0.0.0.0", "::") else self.host
            settings = settings.with_public_url(f"http://{host}:{self.served.port}")
        self.webhooks = settings
        if settings.watches:
            self.keeper = SubscriptionKeeper(self.runtime, settings, self.secrets)

    def _add_maintenance(self) -> None:
        stale = self.runtime.settings.stale_after_seconds
        self.scheduler.every("release-stale", max(1.0, stale / 2), self.runtime.release_stale)
        self.scheduler.every("heartbeat", max(1.0, stale / 3), self.heartbeat)
        self.scheduler.every("lookup-cache", LOOKUP_CACHE_SECONDS, self.runtime.lookups.clear)
        if self.keeper is not None:
            self.scheduler.every("subscriptions", CHECK_EVERY_SECONDS, self.keeper.ensure)
        if self.console is not None and self.served is not None:
            self.scheduler.every("console-references", REFERENCES_SECONDS, self._index_references)

    def _index_references(self) -> int:
        """Index the business numbers of the artifacts stored since the last tick (console search)."""
        return catch_up(self.runtime.store, now=self.runtime.now())

    def heartbeat(self) -> int:
        """Mark the jobs this process is running as alive (so no one releases them); how many."""
        return self.runtime.store.heartbeat_all(self.runtime.worker_id, now=self.runtime.now())

    def _workers_problem(self) -> str | None:
        if self._stopped or self.workers.alive() == self.workers.count:
            return None
        return f"{self.workers.alive()} of {self.workers.count} workers are running"

    def _scheduler_problem(self) -> str | None:
        return None if self._stopped or self.scheduler.running else "the scheduler is not running"

    def stop(self) -> None:
        """Stop taking calls, stop ticking, let the workers finish their jobs in hand."""
        if self._stopped:
            return
        self._stopped = True
        if self.served is not None:
            self.served.stop()
        self.scheduler.shutdown(wait=True)
        self.workers.stop()
        self.metrics.close()

    def summary(self) -> str:
        """One line saying what runs."""
        parts = [f"{len(self.scheduled)} route(s) scheduled", f"{self.workers.count} worker(s)"]
        if self.served is not None and self.webhooks is not None:
            parts.append(f"webhooks on {self.served.url}")
            if self.console is not None:
                parts.append(f"console on {self.served.url}/console/")
            if self.webhooks.watches:
                parts.append(f"BC notifications to {self.webhooks.notification_url(self.webhooks.bc_connections()[0])}")
        parts.append(f"store {self.runtime.store.url}")
        return "; ".join(parts)


def _until_signalled(service: Service, echo: Callable[[str], None]) -> None:
    """Run `service` until SIGINT or SIGTERM (a second one interrupts at once)."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        echo(f"mlc: {signal.Signals(signum).name}: stopping (finishing the jobs in hand)")
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handle)
    try:
        try:
            service.start()
            echo(f"mlc: running: {service.summary()}; stop with Ctrl-C")
            while not stop.wait(1.0):
                pass
        finally:
            service.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    echo("mlc: stopped")


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per tick


def serve(
    root: Path,
    *,
    database: str | None = None,
    routes: Iterable[str] | None = None,
    worker_id: str | None = None,
    webhooks: bool = True,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    public_url: str | None = None,
    workers: int = DEFAULT_WORKERS,
    echo: Callable[[str], None] = lambda line: click.echo(line, err=True),
) -> None:
    """Run the project's service until signalled (module docstring)."""
    _configure_logging()
    project = load_project(root)
    secrets = project_secrets(project)
    chosen = list(routes) if routes is not None else None
    with open_runtime(project.root, database=database, secrets=secrets, worker_id=worker_id, project=project) as runtime:
        for name in chosen or ():
            runtime.route(name)  # unknown names fail before anything starts
        settings = WebhookSettings.for_project(project, public_url=public_url, routes=chosen) if webhooks else None
        console = ConsoleSettings.from_server(project.server)
        service = Service(runtime, secrets=secrets, routes=chosen, webhooks=settings, workers=workers, host=host, port=port, console=console)
        _until_signalled(service, echo)


def run_scheduled(
    root: Path,
    *,
    routes: Iterable[str] | None,
    database: str | None,
    worker_id: str | None,
    webhooks: bool,
    workers: int = DEFAULT_WORKERS,
) -> None:
    """Run the routes on their schedules with workers (and the webhook server when `webhooks`)
    until signalled: `mlc run` without `--once`."""
    serve(root, database=database, routes=routes, worker_id=worker_id, webhooks=webhooks, workers=workers)


@click.command("serve")
@click.option("--project", help="The project directory (default: $MLC_PROJECT or the current directory).")
@click.option("--database", envvar="MLC_DATABASE_URL", help="State store URL (default: connections.yaml state.database_url, else SQLite in the state directory).")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="The address the webhook server listens on (0.0.0.0: every interface).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="The webhook server's port (0: any free port).")
@click.option("--public-url", envvar="MLC_PUBLIC_URL", help="The base URL BC reaches this server at (default: connections.yaml server.public_url, else http://HOST:PORT).")
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True, type=click.IntRange(1, 64), help="Worker threads running jobs.")
@click.option("--worker-id", help="The name this process claims jobs under (default host:pid).")
def serve_command(project: str | None, database: str | None, host: str, port: int, public_url: str | None, workers: int, worker_id: str | None) -> None:
    """Run the scheduler, the webhook server (BC notifications, Cleo pushes, /healthz, /metrics) and workers."""
    serve(project_root(project), database=database, worker_id=worker_id, host=host, port=port, public_url=public_url, workers=workers)


COMMANDS = [serve_command]
