"""`Context`: what the steps of a poll or a job are given, built once by the `Runtime`.

    runtime.py   -> poll.py, execute.py
    execute.py   -> documents.py, files.py, transactions.py
    documents.py -> poll.py -> files.py -> transactions.py -> targets.py
    each of them -> context.py (this module) -> audit.py, lookups.py, systems.py

The steps import this module, never `engine.runtime.runtime`: they read the project, write
the store, reach the systems and audit through the context, and a file job runs its sets'
jobs through the `Worker` hooks (the runtime, typed as no more than that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from engine.config.project import Partner, Project
from engine.config.route import Route
from engine.errors import ConfigError
from engine.runtime.audit import Audit
from engine.runtime.lookups import LookupCache
from engine.runtime.systems import Systems
from engine.store import Job, JobState, Store

__all__ = ["Context", "InboxOwners", "JobOutcome", "Worker"]


@dataclass
class JobOutcome:
    """What running one job did."""

    job: Job
    state: JobState
    detail: str = ""
    seconds: float = 0.0
    """How long the job ran (set by `Runtime.work`): its outcome's write included, except for a
    completion written with the others of its batch, and for a document rendered with the
    others of its batch (its render event keeps the render's own duration)."""


class Worker(Protocol):
    """What a file job asks of the worker running it (`Runtime`): run each of its sets' jobs as
    any job, list their outcomes, report progress, and stop early when asked."""

    def run_job(self, job: Job) -> JobOutcome: ...

    def note_outcome(self, outcome: JobOutcome) -> None: ...

    def report_progress(self, job: Job, done: int, total: int) -> None: ...

    @property
    def stopping(self) -> bool: ...


InboxFile = tuple[str, str, int | None]
"""An inbox file as polls recognise it without downloading it: (connection, file id, size)."""


@dataclass
class InboxOwners:
    """Inbox files read by a route they do not belong to -> the route that takes them, so other
    routes' polls do not download them again. Bounded: forgotten whole past `limit` files (the
    price is one download more per file)."""

    limit: int = 10_000
    _owners: dict[InboxFile, str] = field(default_factory=dict)

    def owner(self, file: InboxFile) -> str | None:
        return self._owners.get(file)

    def remember(self, file: InboxFile, route: str) -> None:
        if len(self._owners) >= self.limit:
            self._owners.clear()
        self._owners[file] = route


@dataclass(frozen=True)
class Context:
    """The project, its store and systems, the clock, the audit and the caches of one runtime."""

    project: Project
    store: Store
    systems: Systems
    audit: Audit
    """The one way to write audit rows (masked by the store)."""
    mask: Callable[[str], str]
    """`text` with every secret value replaced, for texts that go elsewhere (a job's error)."""
    clock: Callable[[], datetime]
    worker_id: str
    lookups: LookupCache
    inbox_owners: InboxOwners
    cursor_overlap: timedelta
    """Polls re-read this much before the cursor (`RuntimeSettings.cursor_overlap_seconds`)."""
    worker: Worker

    def now(self) -> datetime:
        """The runtime's clock, timezone-aware UTC."""
        moment = self.clock()
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def route(self, name: str) -> Route:
        try:
            return self.project.routes[name]
        except KeyError:
            raise ConfigError(f"no route {name!r} (routes: {', '.join(sorted(self.project.routes))})") from None

    def partner(self, partner_id: str | None) -> Partner:
        if partner_id is None or partner_id not in self.project.partners:
            raise ConfigError(f"the job names partner {partner_id!r}, which is not in the project (partners/{partner_id}.yaml?)")
        return self.project.partners[partner_id]
