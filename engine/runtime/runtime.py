"""`Runtime`: a project, its state store and its connected systems, and what a worker does.

    runtime = Runtime(project, store, systems)
    runtime.poll("bc-invoices-to-810")        # source -> filter -> jobs (cursor advanced with them)
    runtime.work()                            # claim due jobs and run each: mapping -> validate -> target
    runtime.run_once()                        # both, for every route (mlc run --once, mlc demo)

What happens to a job follows from the class of the error it meets (engine/errors.py): a
`TransientError` (429, 5xx, timeouts, a `StoreBusyError`: the database locked or timed out) is
retried with exponential backoff (equal jitter) until `max_attempts`, then dead-lettered; anything
else, other store errors included, dead-letters it at once with the reason. An unexpected
exception is a bug, but it too only dead-letters the job (with the exception named), so one bad
document never stops a worker. A job whose result lists `review` items (changes its target
held: engine.runtime.targets) ends in the review state, not done. Every step is an audit event.
Jobs are claimed `claim_batch` at a time; the batch's new document jobs are rendered in one
transaction before the first is uploaded, and their completions are written in one transaction
after it (`Runtime.work`).

The steps (`engine.runtime.poll`, `engine.runtime.execute` and the modules it dispatches to) are
given the runtime's `context` (`engine.runtime.context.Context`), built once here; they never
import this module.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.config.project import Partner, Project
from engine.config.route import Route
from engine.errors import MlcError, StoreBusyError, StoreError, TransientError, Waiting
from engine.retries import watching_retries
from engine.runtime.audit import Audit, elapsed_ms
from engine.runtime.context import Context, InboxOwners, JobOutcome
from engine.runtime.documents import DocumentPlan, may_have_rendered, plan_document, render_documents, run_document
from engine.runtime.execute import execute
from engine.runtime.lookups import LookupCache
from engine.runtime.poll import PollResult, poll_route
from engine.runtime.systems import Systems
from engine.store import AuditRow, Job, JobState, LedgerState, Store, Transaction

__all__ = ["Runtime", "RuntimeSettings", "WorkResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeSettings:
    """How hard the runtime tries. Defaults suit production; tests shorten the backoff."""

    max_attempts: int = 5
    """Attempts of a job meeting transient errors before it is dead-lettered."""
    backoff_seconds: float = 2.0
    """The first retry waits between half this and this, then twice as long each time (jitter
    over the upper half of each step, so a retry never comes much sooner than the step says)."""
    backoff_max_seconds: float = 600.0
    stale_after_seconds: float = 300.0
    """A running job with no heartbeat for this long belongs to a dead worker: it is released."""
    cursor_overlap_seconds: float = 5.0
    """Polls re-read this much before the cursor: late commits with an older timestamp are not
    missed (the jobs' unique keys make the re-read records no-ops)."""
    claim_batch: int = 10
    settle_within_seconds: float = 1.0
    """The longest a done document job waits for its completion to be written with others of its
    claim batch (`Runtime.work`)."""
    ack_overdue_hours: float = 24.0
    """An outbound group with no 997 after this long is overdue (`mlc jobs --unacknowledged`)."""


@dataclass
class WorkResult:
    """What a `work()` call did: outcomes in order."""

    outcomes: list[JobOutcome] = field(default_factory=list)

    def count(self, state: JobState) -> int:
        return sum(1 for outcome in self.outcomes if outcome.state is state)


def default_worker_id() -> str:
    """`host:pid`: names the worker process in claims and audit events (its worker threads
    share one runtime, so they claim under the same id)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Runtime:
    """A project's routes running against its state store and systems (module docstring)."""

    def __init__(
        self,
        project: Project,
        store: Store,
        systems: Systems,
        *,
        clock: Callable[[], datetime] | None = None,
        settings: RuntimeSettings | None = None,
        worker_id: str | None = None,
        mask: Callable[[str], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.project = project
        self.store = store
        self.systems = systems
        self.settings = settings or RuntimeSettings()
        self.worker_id = worker_id or default_worker_id()
        self.lookups = LookupCache()
        if mask is not None:
            store.mask_audit(mask)  # every audit row, whoever writes it, is masked by the store
        self.audit = Audit(store)
        """Record an audit event (`engine.runtime.audit.Audit`): the one way to write audit rows."""
        self.context = Context(
            project=project,
            store=store,
            systems=systems,
            audit=self.audit,
            mask=mask or (lambda text: text),
            clock=clock or (lambda: datetime.now(UTC)),
            worker_id=self.worker_id,
            lookups=self.lookups,
            inbox_owners=InboxOwners(),
            cursor_overlap=timedelta(seconds=self.settings.cursor_overlap_seconds),
            worker=self,
        )
        """What the steps of a poll or a job are given (`engine.runtime.context`)."""
        self._random = random.Random()
        self._stop = threading.Event()
        self.sleep = sleep
        self._threads = threading.local()
        """Per worker thread (`mlc serve` runs several on one runtime): the outcomes of the jobs
        run inside the job in hand (`note_outcome`)."""
        self.progress: Callable[[Job, int, int], None] | None = None
        """Called as a big job advances (a file job: its transactions finished, of how many);
        `mlc run --once` shows it."""

    # -- small services ------------------------------------------------------------------

    def now(self) -> datetime:
        """The runtime's clock, timezone-aware UTC."""
        return self.context.now()

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced (before it reaches an audit row or a log)."""
        return self.context.mask(text)

    def route(self, name: str) -> Route:
        return self.context.route(name)

    def partner(self, partner_id: str | None) -> Partner:
        return self.context.partner(partner_id)

    def report_progress(self, job: Job, done: int, total: int) -> None:
        """Tell `progress` (when set) how far a big job is."""
        if self.progress is not None:
            self.progress(job, done, total)

    def stop(self) -> None:
        """Ask `work()` to return once the job in hand is done: the completions of its batch are
        written, and the batch's jobs not yet run go back to pending."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- polling ---------------------------------------------------------------------------

    def poll(self, route_name: str) -> PollResult:
        """Read the route's source once and enqueue a job per new document (`engine.runtime.poll`)."""
        with watching_retries(self._retry_watcher(None, route=route_name, key=route_name)):
            return poll_route(self.context, self.route(route_name))

    # -- working ---------------------------------------------------------------------------

    def work(self, *, routes: Iterable[str] | None = None, limit: int | None = None) -> WorkResult:
        """Claim and run due jobs until none is due (or `limit` jobs ran); what happened.

        The batch's document jobs that never rendered are rendered first, together, in one
        transaction (`_render_ahead`): a worker that stops or dies before uploading them leaves
        their outputs stored, and the re-run sends those (the same bytes and control numbers).
        The completions of a batch's document jobs are written together, in one transaction
        after the batch (or sooner, once the oldest has waited `settle_within_seconds`): one
        commit for up to `claim_batch` documents instead of one each. A document is safe to
        complete late: a worker that dies before the write leaves the job running, it is
        released and run again, and the re-run re-sends the stored output (the same bytes and
        control numbers), which the file store finds already there and does not store twice.
        Only a file the mailbox took away within that second would be stored again, with the
        same ISA13, which the partner's translator can tell for a duplicate interchange (when
        each completion had its own commit, that window was the moment between an upload and
        its commit).
        """
        result = WorkResult()
        wanted = list(routes) if routes is not None else None
        while not self.stopping and (limit is None or len(result.outcomes) < limit):
            batch = self.settings.claim_batch if limit is None else min(self.settings.claim_batch, limit - len(result.outcomes))
            jobs = self.store.claim(self.worker_id, limit=batch, routes=wanted, now=self.now())
            if not jobs:
                break
            ahead = self._render_ahead(jobs)
            unsettled: list[_Finished] = []
            try:
                for index, job in enumerate(jobs):
                    if self.stopping:
                        self._put_back(jobs[index:])
                        break
                    if unsettled and time.perf_counter() - unsettled[0].finished > self.settings.settle_within_seconds:
                        self._settle(unsettled, result)
                    if not self._still_mine(job):
                        continue
                    started = time.perf_counter()
                    finished = self._execute(job, started, ahead.get(job.id))
                    if isinstance(finished, _Finished) and job.kind in SETTLED_LATE and finished.plainly_done:
                        finished.slot = len(result.outcomes)
                        unsettled.append(finished)
                        result.outcomes.append(JobOutcome(job, JobState.RUNNING, "completion not yet written"))
                        continue
                    outcome = finished if isinstance(finished, JobOutcome) else self._finish(finished)
                    outcome.seconds = time.perf_counter() - started
                    result.outcomes.extend(self._nested())  # the sets a file job ran, before the file itself
                    self._nested().clear()
                    result.outcomes.append(outcome)
            finally:
                self._settle(unsettled, result)
        return result

    def _render_ahead(self, jobs: list[Job]) -> dict[int, DocumentPlan | Exception]:
        """Render the batch's document jobs that never rendered before together, in one
        transaction (`render_documents`), before the first of them is uploaded: job id -> its
        plan (rendered), or the error its plan or render met, raised when the job's turn comes
        as if met then. A job with an output stored before re-sends it instead (not here). When
        the shared transaction fails, each job renders on its own when its turn comes."""
        fresh = [job for job in jobs if job.kind == "document" and not may_have_rendered(job)]
        if len(fresh) < 2:
            return {}
        ahead: dict[int, DocumentPlan | Exception] = {}
        for job in fresh:
            try:
                with watching_retries(self._retry_watcher(job)):
                    ahead[job.id] = plan_document(self.context, job)
            except Exception as exc:
                ahead[job.id] = exc
        try:
            ahead.update(render_documents(self.context, [plan for plan in ahead.values() if isinstance(plan, DocumentPlan)]))
        except StoreError as exc:
            log.warning("the renders of jobs %s could not be written together (%s); rendering them one by one", [job.id for job in fresh], exc)
        return ahead

    def _settle(self, unsettled: list[_Finished], result: WorkResult) -> None:
        """Write the completions of `unsettled` (document jobs done: `work`) in one transaction,
        each in its place in `result`; one by one when the shared transaction fails (a job
        whose claim was lost meanwhile must not keep the others from completing)."""
        if not unsettled:
            return
        try:
            with self.store.transaction() as tx:
                done = tx.complete_many([(finished.job, finished.result) for finished in unsettled], worker_id=self.worker_id)
                tx.audit_many([row for finished in unsettled for row in self._done_rows(finished)])
            outcomes = [JobOutcome(job, JobState.DONE, str(finished.result.get("summary", ""))) for job, finished in zip(done, unsettled, strict=True)]
        except StoreError as exc:
            log.warning("the completions of jobs %s could not be written together (%s); writing them one by one", [f.job.id for f in unsettled], exc)
            outcomes = [self._finish_if_mine(finished) for finished in unsettled]
        for finished, outcome in zip(unsettled, outcomes, strict=True):
            outcome.seconds = finished.finished - finished.started
            result.outcomes[finished.slot] = outcome
            self.audit.forget(finished.job)
        unsettled.clear()

    def _put_back(self, jobs: list[Job]) -> None:
        """Return claimed jobs this worker will not run (it is stopping) to pending, due now,
        their attempts not counted; left to be released as stale when the store refuses."""
        try:
            with self.store.transaction() as tx:
                for job in jobs:
                    tx.defer(job.id, reason="put back unrun: the worker that claimed it stopped", not_before=self.now(), worker_id=self.worker_id)
        except StoreError as exc:
            log.warning("jobs %s: could not put them back (%s); they are released when their claims go stale", [job.id for job in jobs], exc)

    def note_outcome(self, outcome: JobOutcome) -> None:
        """Report the outcome of a job run inside another one (a file job runs its transaction
        sets' jobs): it is listed in the `WorkResult` of this thread's `work()` call, as any job is."""
        self._nested().append(outcome)

    def _nested(self) -> list[JobOutcome]:
        """This thread's outcomes noted by `note_outcome` since its last job."""
        nested: list[JobOutcome] = self._threads.__dict__.setdefault("nested", [])
        return nested

    def _still_mine(self, job: Job) -> bool:
        """Whether a job claimed in a batch is still this worker's when its turn comes: a job
        that waited long behind slow ones gets a heartbeat first, so it is not released as
        stale meanwhile; if it was released and taken by another worker, it is left to that one."""
        claimed = job.claimed_at or job.updated_at
        if (self.now() - claimed).total_seconds() < self.settings.stale_after_seconds / 4:
            return True
        if self.store.heartbeat(job.id, self.worker_id, now=self.now()):
            return True
        log.warning("job %s (%s %s) was released while it waited in this worker's batch; another worker has it", job.id, job.route, job.key)
        return False

    def release_stale(self) -> int:
        """Return jobs held by workers that stopped beating to pending; how many."""
        cutoff = self.now() - timedelta(seconds=self.settings.stale_after_seconds)
        released = self.store.release_stale(cutoff, now=self.now())
        if released:
            self.audit(None, "released", f"{released} job(s) of a worker that stopped were released", detail={"count": released})
        return released

    def run_job(self, job: Job) -> JobOutcome:
        """Run one claimed job to done, retry or dead letter (never raises for the job's errors)."""
        started = time.perf_counter()
        finished = self._execute(job, started)
        return finished if isinstance(finished, JobOutcome) else self._finish(finished)

    def _execute(self, job: Job, started: float, ahead: DocumentPlan | Exception | None = None) -> JobOutcome | _Finished:
        """Run the job: its outcome when it failed (retry, wait, dead: written, and what was kept
        for it dropped), else what it returned, to be written by `_finish` (or `_complete` in a
        shared transaction). `ahead`: what `_render_ahead` did for it."""
        try:
            with watching_retries(self._retry_watcher(job)):
                if isinstance(ahead, Exception):
                    raise ahead
                result = execute(self.context, job) if ahead is None else run_document(self.context, job, ahead)
        except Exception as exc:
            try:
                return self._failed(job, exc, started)
            finally:
                self.audit.forget(job)  # written with the outcome, or lost with it when the store refused
        return _Finished(job, result, started, time.perf_counter())

    def _failed(self, job: Job, exc: Exception, started: float) -> JobOutcome:
        """Write the outcome of a job that raised `exc` (module docstring: its class decides)."""
        if isinstance(exc, TransientError):
            return self._retry_or_die(job, exc, started)
        if isinstance(exc, Waiting):
            return self._wait(job, exc, started)
        if isinstance(exc, MlcError):
            return self._dead(job, str(exc), started, status=getattr(exc, "status", None), refusal=getattr(exc, "refusal", None))
        # a bug: the job dies, the worker goes on
        log.exception("job %s (%s %s) failed unexpectedly", job.id, job.route, job.key, exc_info=exc)
        return self._dead(job, f"internal error {type(exc).__name__}: {exc}", started)

    def _finish(self, finished: _Finished) -> JobOutcome:
        """Write the outcome of a job that returned (done, skipped or in review) in a transaction of its own."""
        try:
            with self.store.transaction() as tx:
                rows: list[AuditRow] = []
                outcome = self._complete(tx, finished, rows)
                tx.audit_many(rows)
            return outcome
        finally:
            self.audit.forget(finished.job)

    def _finish_if_mine(self, finished: _Finished) -> JobOutcome:
        """`_finish`, or, when the store refuses (the claim was lost meanwhile: released as stale,
        taken by another worker), the job left running: it is that worker's to finish."""
        try:
            return self._finish(finished)
        except StoreError as exc:
            log.warning("job %s: could not write its completion (%s); another worker has it or it is released when its claim goes stale", finished.job.id, exc)
            return JobOutcome(finished.job, JobState.RUNNING, str(exc))

    def _complete(self, tx: Transaction, finished: _Finished, rows: list[AuditRow]) -> JobOutcome:
        """Write the outcome of a job that returned in `tx`; its audit rows added to `rows`."""
        job, result, started = finished.job, finished.result, finished.started
        if result.get("skipped"):
            done = tx.skip(job.id, str(result["skipped"]))
            rows += self.audit.outcome_rows(job, "skipped", str(result["skipped"]), duration_ms=elapsed_ms(started))
            return JobOutcome(done, JobState.SKIPPED, str(result["skipped"]))
        if result.get("review"):
            reason = "; ".join(str(item) for item in result["review"])
            parked = tx.review(job.id, result=result, reason=self.mask(reason), worker_id=self.worker_id)
            rows += self.audit.outcome_rows(job, "review", reason, duration_ms=elapsed_ms(started), detail={"summary": result.get("summary")})
            return JobOutcome(parked, JobState.REVIEW, reason)
        done = tx.complete(job.id, result=result, worker_id=self.worker_id)
        rows += self._done_rows(finished)
        return JobOutcome(done, JobState.DONE, str(result.get("summary", "")))

    def _done_rows(self, finished: _Finished) -> list[AuditRow]:
        return self.audit.outcome_rows(finished.job, "done", duration_ms=round((finished.finished - finished.started) * 1000, 3), detail=finished.result)

    def _retry_watcher(self, job: Job | None, **where: Any) -> Callable[[BaseException, float, int], None]:
        """An audit row (`connector-retry`) for each retry a connector makes inside a job or a
        poll, written at once: the trail shows a throttled system while the job still waits."""

        def watch(error: BaseException, wait: float, attempt: int) -> None:
            self.audit(
                job, "connector-retry", str(error), status=getattr(error, "status", None),
                detail={"system": getattr(error, "system", None), "attempt": attempt, "retry_in_s": round(wait, 3)}, **where,
            )

        return watch

    def _retry_or_die(self, job: Job, exc: Exception, started: float) -> JobOutcome:
        message = self.mask(str(exc))
        status = getattr(exc, "status", None)
        if job.attempts >= self.settings.max_attempts:
            return self._dead(job, f"gave up after {job.attempts} attempts: {message}", started, status=status, refusal=getattr(exc, "refusal", None))
        wait = self.retry_wait(job.attempts, exc)
        not_before = self.now() + timedelta(seconds=wait)
        try:
            with self.store.transaction() as tx:
                failed = tx.retry(job.id, error=message, not_before=not_before, worker_id=self.worker_id)
                self.audit.outcome(
                    job, "retry", message, tx=tx, status=status, duration_ms=elapsed_ms(started),
                    detail={"attempt": job.attempts, "retry_in_s": round(wait, 3)},
                )
        except StoreError:
            log.warning("job %s: could not schedule its retry (%s); it is released when its claim goes stale", job.id, message)
            return JobOutcome(job, JobState.RUNNING, message)
        return JobOutcome(failed, JobState.FAILED, message)

    def _wait(self, job: Job, exc: Waiting, started: float) -> JobOutcome:
        """Put the job back until `exc.not_before`, its attempt not counted (`Waiting`)."""
        message = self.mask(str(exc))
        with self.store.transaction() as tx:
            waiting = tx.defer(job.id, reason=message, not_before=exc.not_before, worker_id=self.worker_id)
            self.audit.outcome(job, "waiting", message, tx=tx, duration_ms=elapsed_ms(started), detail={"until": exc.not_before.isoformat()})
        return JobOutcome(waiting, JobState.PENDING, message)

    def _dead(self, job: Job, message: str, started: float, status: int | None = None, refusal: str | None = None) -> JobOutcome:
        """Dead-letter the job with `message`; `refusal`: the remote's own words when a system
        refused it (`HttpStatusError.refusal`), kept on the dead event apart from the framing
        (what the 997 of an inbound set looks in: `engine.runtime.files`)."""
        message = self.mask(message)
        detail = {"refusal": self.mask(refusal)} if refusal else None
        try:
            with self.store.transaction() as tx:
                dead = tx.dead_letter(job.id, error=message, worker_id=self.worker_id)
                self.audit.outcome(job, "dead", message, tx=tx, status=status, duration_ms=elapsed_ms(started), detail=detail)
                _ledger_failed(tx, job, message)
        except StoreError as exc:
            # The claim was lost meanwhile (released as stale, taken by another worker), or the
            # database is down: the job is not this worker's to settle; it goes on elsewhere or
            # is released when its claim goes stale.
            log.warning("job %s: could not dead-letter it (%s): %s", job.id, exc, message)
            return JobOutcome(job, JobState.RUNNING, message)
        return JobOutcome(dead, JobState.DEAD, message)

    def backoff(self, attempt: int) -> float:
        """Seconds before retry `attempt` + 1: exponential, capped, drawn uniformly from the
        upper half of the step ("equal jitter": between ceiling/2 and the ceiling)."""
        ceiling = min(self.settings.backoff_max_seconds, self.settings.backoff_seconds * (2 ** max(0, attempt - 1)))
        return self._random.uniform(ceiling / 2, ceiling)

    def retry_wait(self, attempt: int, exc: BaseException) -> float:
        """Seconds before retry `attempt` + 1 after `exc`: the backoff, or the server's Retry-After
        when that is longer (429/503: the connector gave up waiting in-process; capped at
        `backoff_max_seconds`)."""
        wait = self.backoff(attempt)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
            wait = max(wait, min(float(retry_after), self.settings.backoff_max_seconds))
        return wait

    # -- a whole run ---------------------------------------------------------------------

    def run_once(self, routes: Iterable[str] | None = None) -> dict[str, Any]:
        """Poll every chosen route once, then work until no job is due; per-route counts.

        A route whose poll fails (its system down or throttling past the connector's retries) is
        audited (`poll-failed` keyed by the route name, with the HTTP status: `mlc audit <route>`)
        and listed in `poll_errors`; the other
        routes are polled and every due job is worked all the same. A folder route that could not
        read some partners' folders lists them in `partner_errors` (route -> partner -> reason).
        """
        names = list(routes) if routes is not None else sorted(self.project.routes)
        self.lookups.clear()
        self.release_stale()
        polls: dict[str, PollResult] = {}
        poll_errors: dict[str, str] = {}
        for name in names:
            try:
                polls[name] = self.poll(name)
            except Exception as exc:  # the next run polls it again; it never stops the others
                if not isinstance(exc, MlcError):
                    log.exception("poll of route %s failed unexpectedly", name)
                poll_errors[name] = self.mask(str(exc) if isinstance(exc, MlcError) else f"internal error {type(exc).__name__}: {exc}")
                self.audit(None, "poll-failed", poll_errors[name], route=name, key=name, status=getattr(exc, "status", None))
        worked = self.work(routes=names if routes is not None else None)
        partner_errors = {name: dict(poll.partner_errors) for name, poll in polls.items() if poll.partner_errors}
        return {"polls": polls, "poll_errors": poll_errors, "partner_errors": partner_errors, "work": worked}


SETTLED_LATE = frozenset({"document"})
"""Job kinds whose completion `Runtime.work` writes with others of its batch (its docstring)."""


@dataclass
class _Finished:
    """A job that ran and returned `result`; its outcome not yet written."""

    job: Job
    result: dict[str, Any]
    started: float
    finished: float
    """`time.perf_counter()` when it started and when it returned (the done event's duration)."""
    slot: int = -1
    """Its place in the `WorkResult` of `Runtime.work`, held until its outcome is written."""

    @property
    def plainly_done(self) -> bool:
        """Done, neither skipped nor in review."""
        return not self.result.get("skipped") and not self.result.get("review")


def _ledger_failed(tx: Transaction, job: Job, message: str) -> None:
    """A dead file job's inbound file is `failed` in the ledger (with the reason), not left
    `received` as if it were still on its way; a replay that succeeds marks it processed."""
    payload = job.payload or {}
    ledger_id, digest = payload.get("ledger_id") or payload.get("file_id"), payload.get("sha256")
    if job.kind != "file" or not ledger_id or not digest:
        return
    try:
        tx.ledger_update(str(ledger_id), str(digest), state=LedgerState.FAILED, job_id=job.id, error=message)
    except StoreError as exc:
        if isinstance(exc, StoreBusyError):
            raise
        log.warning("job %s: its inbound file %s is not in the ledger (%s)", job.id, ledger_id, exc)

