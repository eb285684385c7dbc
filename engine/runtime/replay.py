"""`mlc replay JOB`: run a job again from its stored input, with today's mapping.

First the preview: the job's stored input rendered now (control numbers peeked, not taken)
next to what was stored before, as a segment-per-line diff. Then, unless only the preview is
wanted, the job is requeued with a `replay` audit event and run: a document job renders anew
with fresh control numbers (its file name carries the replay number, `.r1`, since the partner
may hold the first file); a file job re-runs every step and its dead-lettered sets, and what
was done before stays done (creates find their records, the 997 bytes are reused); a
transaction job (one set of a file) maps and writes that set alone, from the file stored once.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import MlcError, UsageError
from engine.mapping import Controls, render_outbound, render_payload
from engine.mapping.cases import diff_outputs
from engine.mapping.dryrun import dump_json
from engine.runtime.context import Context, JobOutcome
from engine.runtime.documents import output_role, replay_generation
from engine.runtime.files import child_prefix
from engine.runtime.lookups import resolve_lookups
from engine.runtime.runtime import Runtime
from engine.runtime.transactions import read_transaction
from engine.store import Job, JobState
from engine.x12.document import group_facts, interchange_facts

__all__ = ["ReplayPreview", "preview", "replay"]


@dataclass
class ReplayPreview:
    """What a replay would produce now, and how it differs from what was stored."""

    job: Job
    output: str
    diff: str
    error: str | None = None


def preview(runtime: Runtime, job_id: int) -> ReplayPreview:
    """The job's stored input through today's mapping, beside its stored output."""
    context = runtime.context
    job = context.store.get(job_id)
    context.lookups.clear()  # a replay follows a fix, perhaps of the reference data: read it afresh
    try:
        if job.kind == "document":
            return _preview_document(context, job)
        if job.kind == "file":
            return _preview_file(context, job)
        if job.kind == "transaction":
            return _preview_transaction(context, job)
    except MlcError as exc:
        return ReplayPreview(job, "", "", context.mask(str(exc)))
    raise UsageError(f"job {job_id} is a {job.kind} job; only document, file and transaction jobs have an input to replay")


def _preview_document(context: Context, job: Job) -> ReplayPreview:
    record = (job.payload or {}).get("record")  # the document as enqueued: the job's payload
    route = context.route(job.route)
    partner = context.partner(job.partner)
    mapping = context.project.mappings[context.project.mapping_for(route.mapping, partner)]
    before = context.store.artifact(job.id, output_role(replay_generation(context.store, job)))
    previous = before.content.decode("utf-8") if before else ""
    if mapping.direction == "outbound":
        controls = Controls(**context.store.peek_controls(partner.id))
        lookups = resolve_lookups(route, record, partner.data, context.systems, context.lookups)
        now_text = render_outbound(mapping, record, partner=partner.data, now=context.now(), controls=controls, lookups=lookups, document=f"{route.name} {job.key}").text
        suffix = ".edi"
    else:
        now_text = dump_json(render_payload(mapping, record, partner=partner.data, now=context.now(), document=f"{route.name} {job.key}"))
        suffix = ".json"
    return ReplayPreview(job, now_text, diff_outputs(previous, now_text, before.name if before else "(nothing stored)", suffix))


def _preview_file(context: Context, job: Job) -> ReplayPreview:
    children = [child for child in context.store.children(child_prefix(job)) if child.kind == "transaction"]
    outputs, diffs = [], []
    for child in children:
        shown = _preview_transaction(context, child)
        if shown.error:
            return ReplayPreview(job, "", "", shown.error)
        outputs.append(shown.output)
        if shown.diff:
            diffs.append(shown.diff)
    return ReplayPreview(job, "".join(outputs), "\n".join(diffs))


def _preview_transaction(context: Context, job: Job) -> ReplayPreview:
    checked = read_transaction(context.store, job)
    partner = context.partner(job.partner)
    route = context.route(job.route)
    mapping = context.project.mappings[context.project.mapping_for(route.mapping, partner)]
    group = checked.raw.group
    name = str((job.payload or {}).get("file", "?"))
    text = dump_json(
        render_payload(
            mapping, checked.parsed.tree, partner=partner.data, now=context.now(),
            interchange=interchange_facts(group.interchange), group=group_facts(group),
            document=f"{name} (ST02 {checked.raw.control_number})",
        )
    )
    before = context.store.artifact(job.id, "output")
    return ReplayPreview(job, text, diff_outputs(before.content.decode("utf-8") if before else "", text, before.name if before else "(nothing stored)", ".json"))


def replay(runtime: Runtime, job_id: int) -> JobOutcome:
    """Requeue the job (a `replay` event) and run it now (with any other due job of its route)."""
    job = runtime.store.get(job_id)
    runtime.lookups.clear()  # the reference data as it is now (an item added to BC since)
    if job.state is JobState.RUNNING:
        raise UsageError(f"job {job_id} is running (worker {job.claimed_by}); replay it once it has finished")
    runtime.store.requeue(job_id, now=runtime.now())
    runtime.audit(job, "replay", f"replay requested (was {job.state.value}: {job.last_error or 'no error'})")
    # Work the route's due jobs (ours among them: it is due now); others due are due anyway.
    for outcome in runtime.work(routes=[job.route]).outcomes:
        if outcome.job.id == job_id:
            return outcome
    current = runtime.store.get(job_id)
    return JobOutcome(current, current.state, "queued: another worker took it first")
