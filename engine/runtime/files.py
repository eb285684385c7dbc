"""Inbound files: a partner's X12 file -> one job per transaction set -> 997 -> archived, exactly once.

A `file` job (its input is the file's bytes, stored once when the poll took it) coordinates;
each transaction set of the file is a unit of work of its own (`engine.runtime.transactions`):

1. Read the file once, as a stream (`walk`: each set is parsed, checked and dropped), checking
   envelopes and definitions. A file that is not X12 or whose envelope is broken fails (dead
   letter) with the reason. The ISA sender must be the partner whose inbox held the file. An
   interchange whose sender and ISA13 were processed before is a resend: flagged in the audit
   and not processed again (partners do resend).
2. Every valid set that a route of the partner takes becomes a `transaction` job keyed
   `<file job key>|<ISA13>.<GS06>.<ST02>` on that route (enqueued in batches; enqueuing again
   after a crash is a no-op). Its payload holds the byte range of the set in the stored file,
   not a copy. A set with syntax errors is rejected in the 997 and gets no job.
3. The file job works its sets itself, one by one (`mlc run --once` shows transactions done /
   total), each through the runtime like any job: one bad order (an unknown item, an ERP
   refusal) dead-letters that order's job only, and the others are created. Sets taken by
   other workers meanwhile are theirs; a set waiting for a retry is waited for: the file job is
   put back (`Waiting`, no attempt spent) until every set is done or dead.
4. The 997s, once every set has its outcome: one per fresh inbound interchange (not for 997
   groups), with the partner's persisted control numbers, rendered once (stored, reused on a
   re-run) and uploaded to the outbox. Sets with syntax errors and sets whose job was
   dead-lettered are rejected (AK5 R; see `engine.runtime.slices.business_problems` for the
   codes of an ERP-side refusal), the others accepted. TA1s in the file are matched to the
   interchanges we sent, after the sets.
5. Only then is the file moved to the partner's archive folder, and the job, the ledger and the
   interchanges are marked done in one transaction. A set whose write held changes its target
   refuses in the record's state (an 855 on a Released order: `target.locked`) ends in the
   review state instead of done; for the file it is finished (accepted in the 997), and
   `mlc replay` of the set applies the held changes once the record can take them.

A crash anywhere re-runs the file job from its stored input: its sets' jobs exist already
(done ones stay done; a set killed mid-write finds the order it created, by the route's
`unique` fields), the 997 bytes are reused (the upload of the same bytes is a no-op), the move
finds the file already archived. Replaying the file job re-runs every set (creates find what
they created, updates apply again); replaying one set's job re-runs that set alone.
"""

from __future__ import annotations

import io
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine.config.project import Partner, Project
from engine.config.route import FolderSource, Route
from engine.errors import ConfigError, MappingError, NotFoundError, Waiting, X12Error
from engine.guides import check_interchange
from engine.ports import RemoteFile
from engine.runtime.audit import elapsed_ms
from engine.runtime.context import Context
from engine.runtime.slices import SegmentSpans, business_problems, envelope_text, segments_of, transaction_text
from engine.runtime.transactions import business_number, refuse_broken
from engine.store import Job, JobState, LedgerState, NewJob
from engine.x12 import ack
from engine.x12 import problems as P
from engine.x12.document import CheckedTransaction, walk
from engine.x12.problems import Problem
from engine.x12.reader import Group, Interchange

__all__ = ["child_prefix", "inbound_route_for", "run_file"]


class _StoreControls:
    """`engine.x12.ack.ControlNumbers` from the partner's persisted sequences, in a transaction."""

    def __init__(self, tx: Any, partner: str) -> None:
        self.tx, self.partner = tx, partner

    def next_interchange(self) -> int:
        return int(self.tx.next_control(self.partner, "isa"))

    def next_group(self) -> int:
        return int(self.tx.next_control(self.partner, "gs"))

    def next_transaction(self) -> int:
        return int(self.tx.next_control(self.partner, "st"))


def inbound_route_for(project: Project, partner: Partner, set_id: str) -> Route | None:
    """The inbound route the partner takes for transaction set `set_id`, if any."""
    for route in project.routes.values():
        if not isinstance(route.source, FolderSource) or not project.takes_part(partner, route):
            continue
        sets: Collection[str] | None = route.source.sets
        if sets is None:
            mapping = project.mappings.get(project.mapping_for(route.mapping, partner))
            sets = [mapping.transaction_set] if mapping is not None else []
        if set_id in sets:
            return route
    return None


@dataclass
class _SetEntry:
    """One transaction set of the file as the 997 will report it."""

    set_id: str
    control: str
    errors: list[Problem] = field(default_factory=list)
    child_key: str | None = None
    """The key of its transaction job; None when it has none (rejected, or no route takes it)."""
    range: tuple[int, int] | None = None


@dataclass
class _Plan:
    """What reading the file found: its fresh interchanges, resends, sets and their jobs."""

    fresh: list[Interchange] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    groups: list[tuple[Interchange, Group, list[_SetEntry]]] = field(default_factory=list)
    jobs: dict[str, list[NewJob]] = field(default_factory=dict)
    """Route -> the transaction jobs to enqueue on it."""
    numbers: dict[str, str] = field(default_factory=dict)
    """Transaction job key -> the set's own number (an 850's BEG03), when its mapping names one."""
    rejected: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    terminator: str = "~"
    element: str = "*"
    component: str = ">"


ENQUEUE_BATCH = 500
"""Transaction jobs enqueued per store transaction."""
HEARTBEAT_EVERY = 25
"""A file job working its sets tells the store it is alive every this many sets."""
WAIT_ELSEWHERE_SECONDS = 5.0
"""How long a file job waits before looking again at sets another worker is running."""


def child_prefix(job: Job) -> str:
    """The key prefix of a file job's transaction jobs."""
    return f"{job.key}|"


def run_file(context: Context, job: Job) -> dict[str, Any]:
    """Run a file job (module docstring)."""
    payload = job.payload or {}
    partner = context.partner(job.partner)
    stored = context.store.artifact(job.id, "input")
    if stored is None:
        raise MappingError(f"job {job.id}: the file's bytes were not stored; it cannot be processed")
    name = str(payload.get("name") or stored.name)
    plan = _read_plan(context, job, partner, stored.content, name)
    del stored  # the plan holds byte ranges, not the file

    # 2-3: the sets' jobs, then work them
    for route_name, new_jobs in plan.jobs.items():
        for first in range(0, len(new_jobs), ENQUEUE_BATCH):
            with context.store.transaction() as tx:
                created = 0
                for item in tx.enqueue_many(route_name, new_jobs[first : first + ENQUEUE_BATCH]):
                    if item.created:
                        created += 1
                        # keyed by the set's own number: `mlc audit PO-4711` and the console's
                        # search find the set's job even when its mapping fails later
                        number = plan.numbers.get(item.job.key) or item.job.key
                        context.audit(item.job, "enqueued", tx=tx, key=number, detail={"file_job": job.id, "file": name, "source": item.job.source_ref})
                if created:
                    context.audit(job, "split", f"{created} transaction set(s) of {name} enqueued on {route_name}", tx=tx, detail={"route": route_name, "count": created})
    if job.result and "transactions" in job.result:  # replayed after it finished: every set runs again
        for child in context.store.children(child_prefix(job)):
            if child.state in _FINAL and child.kind == "transaction":
                context.store.requeue(child.id, now=context.now())
                context.audit(child, "replay", f"replay of file job {job.id} (was {child.state.value}: {child.last_error or 'no error'})")
    outcomes = _work_sets(context, job, plan)
    if plan.unhandled and not outcomes and not plan.rejected:
        raise ConfigError(
            f"{name}: no route of partner {partner.id} takes transaction set(s) {', '.join(sorted({u.split()[0] for u in plan.unhandled}))}; "
            "add one (schedules/) or the set to a route's sets, then replay the job"
        )

    for interchange in plan.fresh:
        for _, ta1 in interchange.ta1:
            _match_ta1(context, job, partner, name, ta1)

    # 4: the 997s, once every set has its outcome
    acks = _send_acks(context, job, partner, _group_acks(plan, outcomes, context, job)) if partner.data["x12"].get("acknowledge", True) else []

    # 5: archive, then mark everything done together
    archived = _archive(context, job, partner, payload, name)
    with context.store.transaction() as tx:
        for interchange in plan.fresh:
            tx.interchange_record(interchange.sender_qualifier, interchange.sender_id.strip(), interchange.control_number, file_id=str(payload.get("file_id") or name), job_id=job.id)
        ledger_id = payload.get("ledger_id") or payload.get("file_id")
        if ledger_id and payload.get("sha256"):
            tx.ledger_update(str(ledger_id), str(payload["sha256"]), state=LedgerState.ARCHIVED if archived else LedgerState.PROCESSED, job_id=job.id)
    done = [child for child in outcomes.values() if child.state is not JobState.DEAD]
    dead = [child for child in outcomes.values() if child.state is JobState.DEAD]
    if outcomes:
        summary = f"{len(done)} of {len(outcomes)} transaction set(s) written" + (f", {len(dead)} dead-lettered (jobs {', '.join(str(c.id) for c in dead[:10])}{' ...' if len(dead) > 10 else ''})" if dead else "")
    else:
        summary = "resend, not processed again" if plan.duplicates else "nothing to write"
    return {
        "file": name,
        "transactions": len(outcomes),
        "written": len(done),
        "dead": [child.key for child in dead[:100]],
        "acks": acks,
        "rejected": plan.rejected,
        "unhandled": plan.unhandled,
        "duplicates": plan.duplicates,
        "archived": archived,
        "summary": summary,
    }


def _read_plan(context: Context, job: Job, partner: Partner, content: bytes, name: str) -> _Plan:
    """Steps 1-2 of the module docstring: one streaming read of the file."""
    earlier = job.result or {}
    plan = _Plan()
    spans: SegmentSpans | None = None
    seen: dict[int, bool] = {}  # id(interchange) -> fresh
    entries: dict[int, list[_SetEntry]] = {}  # id(group) -> its sets
    prefix = child_prefix(job)
    interchanges = 0

    def judge(interchange: Interchange) -> bool:
        fresh = seen.get(id(interchange))
        if fresh is not None:
            return fresh
        owner = context.project.match_partner("x12.sender", f"{interchange.sender_qualifier}/{interchange.sender_id.strip()}")
        if owner is None or owner.id != partner.id:
            who = f"partner {owner.id}" if owner else "no partner"
            raise ConfigError(
                f"{name}: ISA sender {interchange.sender_qualifier}/{interchange.sender_id.strip()} is {who}, "
                f"but the file came in the inbox of partner {partner.id}"
            )
        # A job run again after it was done processed its fresh interchanges itself: they are its own, not resends.
        own = "transactions" in earlier and interchange.control_number not in (earlier.get("duplicates") or [])
        fresh = own or not context.store.interchange_seen(interchange.sender_qualifier, interchange.sender_id.strip(), interchange.control_number)
        if not fresh:
            plan.duplicates.append(interchange.control_number)
            context.audit(job, "duplicate", f"interchange {interchange.control_number} from {interchange.sender_id.strip()} was processed before: a resend, not processed again", detail={"isa13": interchange.control_number})
        seen[id(interchange)] = fresh
        return fresh

    for event in walk(io.BytesIO(content), name):
        if isinstance(event, CheckedTransaction):
            raw = event.raw
            group, interchange = raw.group, raw.group.interchange
            if spans is None:
                delimiters = interchange.delimiters
                spans = SegmentSpans(content, delimiters.segment)
                plan.terminator, plan.element, plan.component = delimiters.segment, delimiters.element, delimiters.component
            span = spans.transaction(raw)
            if not judge(interchange):
                continue
            set_id, control = raw.set_id, raw.control_number
            entry = _SetEntry(set_id, control, range=span)
            entries.setdefault(id(group), []).append(entry)
            errors = [p for p in event.problems if p.level == "error" or p.code == P.TS_NOT_SUPPORTED]
            if errors:
                entry.errors = errors
                first_error = next((p for p in errors if p.level == "error"), None)
                if first_error is not None:
                    plan.rejected.append(f"{set_id} {control}: {first_error.line(name)}")
                    context.audit(job, "rejected", f"transaction {set_id} {control} is invalid and was rejected in the 997: {first_error.line(name)}", detail={"set": set_id, "st02": control, "errors": len(errors)})
                    continue
            route = inbound_route_for(context.project, partner, set_id)
            if route is None:
                plan.unhandled.append(f"{set_id} {control}")
                continue
            entry.child_key = f"{prefix}{interchange.control_number}.{group.control_number}.{control}"
            number = business_number(context.project.mappings.get(context.project.mapping_for(route.mapping, partner)), event, partner.data)
            if number:
                plan.numbers[entry.child_key] = number
            child_payload: dict[str, Any] = {
                "file_job": job.id,
                "file": name,
                "set": set_id,
                "st02": control,
                "gs06": group.control_number,
                "isa13": interchange.control_number,
                "envelope": envelope_text(interchange, group),
            }
            if span is not None:
                child_payload["range"] = [span[0], span[1]]
            else:
                child_payload["text"] = transaction_text(raw)
            plan.jobs.setdefault(route.name, []).append(
                NewJob(key=entry.child_key, kind="transaction", partner=partner.id, payload=child_payload, source_ref=name)
            )
        elif isinstance(event, Group):
            refuse_broken(event, name)
            sets = entries.pop(id(event), [])
            if event.functional_id != "FA" and judge(event.interchange):
                plan.groups.append((event.interchange, event, sets))
        else:
            interchanges += 1
            refuse_broken(event, name)
            if judge(event):
                plan.fresh.append(event)
    if not interchanges:
        raise X12Error("the file holds no complete interchange", source=name)
    return plan


def _work_sets(context: Context, job: Job, plan: _Plan) -> dict[str, Job]:
    """Step 3: run every set's job that is due, then wait (`Waiting`) for any still unfinished;
    the sets' jobs by key once all are done or dead."""
    keys = [entry.child_key for _, _, sets in plan.groups for entry in sets if entry.child_key]
    if not keys:
        return {}
    wanted = set(keys)
    children = {child.key: child for child in context.store.children(child_prefix(job)) if child.key in wanted}
    total, finished = len(keys), sum(1 for child in children.values() if child.state in _FINAL)
    context.worker.report_progress(job, finished, total)
    for count, key in enumerate(keys, start=1):
        child = children.get(key)
        if child is None or child.state in _FINAL:
            continue
        claimed = context.store.claim_one(child.id, context.worker_id, now=context.now())
        if claimed is not None:
            outcome = context.worker.run_job(claimed)
            context.worker.note_outcome(outcome)
            children[key] = outcome.job
            if outcome.job.state in _FINAL:
                finished += 1
            context.worker.report_progress(job, finished, total)
        if count % HEARTBEAT_EVERY == 0:
            context.store.heartbeat(job.id, context.worker_id, now=context.now())
        if context.worker.stopping:
            break
    children = {child.key: child for child in context.store.children(child_prefix(job)) if child.key in wanted}
    waiting = [child for child in children.values() if child.state not in _FINAL]
    if waiting or len(children) < total:
        now = context.now()
        mine = [c for c in waiting if c.state is JobState.RUNNING and c.claimed_by == context.worker_id]
        elsewhere = [c for c in waiting if c.state is JobState.RUNNING and c.claimed_by != context.worker_id]
        due = [c.not_before for c in waiting if c.state is not JobState.RUNNING and c.not_before is not None]
        if mine or len(children) < total or context.worker.stopping:
            until = now
        elif elsewhere:
            until = now + timedelta(seconds=WAIT_ELSEWHERE_SECONDS)
        else:
            until = max(now, min(due)) if due else now
        raise Waiting(f"waiting for {len(waiting) or total - len(children)} of {total} transaction set(s) to finish", until)
    return children


_FINAL = (JobState.DONE, JobState.DEAD, JobState.SKIPPED, JobState.REVIEW)
"""A set in one of these states has its outcome (a set held for review was understood: the
997 accepts it)."""


def _group_acks(plan: _Plan, outcomes: dict[str, Job], context: Context, job: Job) -> list[tuple[Interchange, list[ack.GroupAck]]]:
    """Per fresh interchange, its groups' acknowledgment: syntax errors as read, and the sets
    whose job was dead-lettered rejected with the codes that fit (`business_problems`)."""
    by_interchange: dict[int, tuple[Interchange, list[ack.GroupAck]]] = {id(i): (i, []) for i in plan.fresh}
    for interchange, group, sets in plan.groups:
        acks: list[ack.TransactionAck] = []
        for entry in sets:
            errors = list(entry.errors)
            child = outcomes.get(entry.child_key or "")
            if child is not None and child.state is JobState.DEAD:
                errors += business_problems(_refusal(context, child), _segments(context, job, entry, plan), plan.component)
            acks.append(ack.TransactionAck(entry.set_id, entry.control, errors))
        if id(interchange) in by_interchange:
            by_interchange[id(interchange)][1].append(ack.GroupAck(group, acks))
    return list(by_interchange.values())


def _refusal(context: Context, child: Job) -> str:
    """Why a set's job is dead, for its 997: the ERP's own words when an answer of the ERP
    refused it (kept on the dead event, without the request that framed them), else the job's
    error."""
    for event in reversed(context.store.job_events(child.id)):
        if event.event == "dead":
            said = (event.detail or {}).get("refusal")
            if isinstance(said, str) and said.strip():
                return said
            break
    return child.last_error or "dead-lettered"


def _segments(context: Context, job: Job, entry: _SetEntry, plan: _Plan) -> list[list[str]]:
    if entry.range is None:
        return []
    body = context.store.artifact_range(job.id, "input", entry.range[0], entry.range[1] - entry.range[0]) or b""
    return segments_of(body, plan.terminator, plan.element)


def _match_ta1(context: Context, job: Job, partner: Partner, name: str, ta1: list[str]) -> None:
    """A TA1 from the partner, matched to the interchange we sent (TA101 = our ISA13), like a
    997 to a group; a TA1 with errors of its own was reported by the reader and is skipped."""
    control, status = (ta1[1] if len(ta1) > 1 else ""), (ta1[4] if len(ta1) > 4 else "")
    if not (control.isascii() and control.isdigit() and len(control) == 9) or status not in ("A", "E", "R"):
        return
    note = ta1[5] if len(ta1) > 5 else ""
    groups = context.store.acknowledge_interchange(partner.id, int(control), status, ack_file=name)
    verdict = {"A": "accepted", "E": "accepted with errors", "R": "rejected"}[status]
    matched = f"{groups} group(s) of it" if groups else "no interchange we sent (ignored)"
    context.audit(
        job,
        "ta1",
        f"TA1 for our interchange {control}: {verdict} (note {note or '-'}); matches {matched}",
        detail={"isa13": control, "status": status, "note": note, "groups": groups},
    )


def _send_acks(
    context: Context, job: Job, partner: Partner, prepared: list[tuple[Interchange, list[ack.GroupAck]]]
) -> list[str]:
    """Render (once, stored) and upload the 997s of `prepared` (the fresh interchanges, from
    `_group_acks`); their file names."""
    outbox = str(partner.data["cleo"]["outbox"])
    files = context.systems.files(str(partner.data["cleo"]["connection"]))
    sent: list[str] = []
    for interchange, groups in prepared:
        role = f"ack.{interchange.control_number}"
        stored = context.store.artifact(job.id, role)
        may_exist = stored is not None  # only an ack rendered by an earlier attempt may be uploaded already
        if stored is None:
            with context.store.transaction() as tx:
                text = ack.build_997(
                    interchange, groups, _StoreControls(tx, partner.id), context.now(), newline=bool(partner.data["x12"].get("newline", True))
                )
                if text is None:
                    continue  # a file of 997s: nothing to acknowledge
                ack_name = f"997_{partner.id}_{interchange.control_number}.edi"
                check_interchange(partner.guide, text, "outbound", ack_name)
                stored = tx.put_artifact(job.id, role, ack_name, text.encode("utf-8"), media_type="application/edi-x12")
                rejected = sum(1 for group in groups for txn in group.transactions if not txn.accepted)
                context.audit(job, "render", f"{ack_name}: {rejected} set(s) rejected" if rejected else ack_name, tx=tx, detail={"file": ack_name, "ack_for": interchange.control_number, "rejected": rejected})
        started = time.perf_counter()
        files.upload(outbox, stored.name, stored.content, may_exist=may_exist)
        context.audit(job, "upload", f"{outbox}/{stored.name}", duration_ms=elapsed_ms(started), detail={"file": f"{outbox}/{stored.name}", "ack_for": interchange.control_number})
        sent.append(f"{outbox}/{stored.name}")
    return sent


def _archive(context: Context, job: Job, partner: Partner, payload: dict[str, Any], name: str) -> str | None:
    """Move the file from the inbox to the partner's archive folder (or delete it if none)."""
    file_id = payload.get("file_id")
    if not file_id:
        return None  # pushed to our endpoint, never in an inbox
    files = context.systems.files(str(payload.get("connection") or partner.data["cleo"]["connection"]))
    remote = RemoteFile(id=str(file_id), name=name, folder=str(payload.get("folder", "")))
    archive = partner.data["cleo"].get("archive")
    started = time.perf_counter()
    try:
        if archive:
            moved = files.move(remote, str(archive))
            where = f"{archive}/{moved.name}"
        else:
            files.delete(remote)
            where = "deleted"
    except NotFoundError:
        if archive and any(f.name == name for f in files.list_files(str(archive))):
            where = f"{archive}/{name} (already there)"
        else:
            raise
    context.audit(job, "archive", where, duration_ms=elapsed_ms(started))
    return where

