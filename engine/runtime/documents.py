"""Outbound documents: an ERP record -> X12 (or a JSON payload) -> the partner's outbox folder.

The steps of a `document` job, each audited:

1. The partner and the mapping (the route's, or the partner's override) and the route's
   lookups (reference data, cached for the run).
2. Render, in one store transaction with the partner's control numbers (ISA13, GS06, ST02), the
   output artifact and, for a partner that sends 997s (its `transactions` list 997 inbound),
   the outbound group awaiting its 997 (the input is the job's payload, stored when the job was
   enqueued: it is not stored a second time). The render validates the transaction against its
   definition and the partner's guide; an invalid file is never stored or sent. When the
   transaction rolls back, the control numbers were not consumed. A worker renders the new
   documents of its claim batch together before uploading the first (`render_documents`, from
   `Runtime.work`), and stores them in one such transaction: one commit for the batch; a render
   among them that fails takes no numbers, so no gap is left.
3. Upload under the route's deterministic file name. The stored output is reused when the job
   runs again (a retry, a worker killed after the render): the same bytes with the same
   control numbers, and the upload of a file already there with the same content is a no-op,
   so a crash anywhere sends each document exactly once. A different file of that name is a
   conflict, never overwritten. Only such a re-run asks the file store whether the file is
   there (`may_exist`); a first render's upload is one request.

`mlc replay` of a document job renders again from the job's payload with today's mapping and
new control numbers; the file name then carries the replay number (`810_acme_103001.r1.edi`),
because the partner may already hold the first file.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from engine.config import Partner
from engine.config.route import EntitySource, FolderTarget, Route
from engine.errors import ConfigError, MappingError
from engine.guides import Violation, check_rendered, origin_in_mapping
from engine.mapping import CompiledMapping, Controls, Rendered, render_outbound, render_payload, renumbered
from engine.mapping.dryrun import dump_json
from engine.mapping.templates import base_context
from engine.runtime.audit import elapsed_ms
from engine.runtime.context import Context
from engine.runtime.lookups import resolve_lookups
from engine.runtime.poll import admit
from engine.store import AuditRow, Job, NewArtifact, NewGroup, Store, Transaction

__all__ = ["DocumentPlan", "may_have_rendered", "output_role", "plan_document", "render_documents", "replay_generation", "run_document", "run_fetch", "versioned_name"]

X12_MEDIA = "application/edi-x12"
JSON_MEDIA = "application/json"


def replay_generation(store: Store, job: Job) -> int:
    """How many times the job was replayed (`mlc replay` records a `replay` event)."""
    return sum(1 for event in store.job_events(job.id) if event.event == "replay")


def may_have_rendered(job: Job) -> bool:
    """Whether an earlier run of the job may have stored an output: false only on the first
    claim of a job that never ran (attempts 1, no result, no error). A job released from a
    worker that died is claimed again with attempts 2; a replayed job keeps its result or error."""
    return job.attempts != 1 or job.result is not None or job.last_error is not None


def output_role(generation: int) -> str:
    """The artifact role of a render: `output`, then `output.r1`, `output.r2` after replays."""
    return "output" if generation == 0 else f"output.r{generation}"


def versioned_name(name: str, generation: int) -> str:
    """`810_acme_103001.edi` for the first render, `810_acme_103001.r1.edi` after one replay."""
    if generation == 0:
        return name
    path = PurePosixPath(name)
    return f"{path.stem}.r{generation}{path.suffix}"


@dataclass
class DocumentPlan:
    """A document job's render and upload as decided before either (`plan_document`): which
    mapping, the file's name and folder, the lookups, and the output rendered before (`stored`,
    when the job may have rendered: it is re-sent instead of rendered again). `content` is set
    once the render committed (`render_documents`)."""

    job: Job
    route: Route
    partner: Partner
    mapping_name: str
    mapping: CompiledMapping
    record: dict[str, Any]
    lookups: dict[str, Any]
    connection: str
    folder: str
    filename: str
    role: str
    stored: bytes | None
    content: bytes | None = None

    @property
    def document(self) -> str:
        return f"{self.route.name} {self.job.key}"

    @property
    def x12(self) -> bool:
        """An X12 render (it takes control numbers), not a JSON payload."""
        return self.mapping.direction == "outbound"


def plan_document(context: Context, job: Job) -> DocumentPlan:
    """What the document job `job` renders and where it goes (`DocumentPlan`)."""
    payload = job.payload or {}
    if payload.get("admit_error"):
        raise MappingError(str(payload["admit_error"]))
    record = payload.get("record")
    if not isinstance(record, dict):
        raise MappingError(f"job {job.id} carries no document (payload keys: {sorted(payload)})")
    route = context.route(job.route)
    partner = context.partner(job.partner)
    mapping_name = context.project.mapping_for(route.mapping, partner)
    target = route.target
    if not isinstance(target, FolderTarget):
        raise ConfigError(f"route {route.name}: a document goes to a partner's outbox; this route's target is {target.kind}, not a folder")
    # The first render is the common case: only a job that may have rendered before (claimed
    # before, retried, finished, replayed) asks whether it did and how often it was replayed (a
    # replay of a job that never rendered keeps the plain name: nothing was sent).
    stored = context.store.artifact(job.id, "output") if may_have_rendered(job) else None
    generation = replay_generation(context.store, job) if stored is not None else 0
    role = output_role(generation)
    if generation:
        stored = context.store.artifact(job.id, role)
    lookups = resolve_lookups(route, record, partner.data, context.systems, context.lookups)
    filename = versioned_name(str(target.filename.evaluate(base_context(doc=record, partner=partner.data, lookups=lookups))), generation)
    folder = str(partner.data["cleo"][target.folder])
    return DocumentPlan(
        job, route, partner, mapping_name, context.project.mappings[mapping_name], record, lookups,
        target.connection, folder, filename, role, stored.content if stored is not None else None,
    )


@dataclass
class _Output:
    """One plan rendered, not yet stored."""

    plan: DocumentPlan
    content: bytes
    media: str
    group: NewGroup | None
    row: AuditRow
    rendered: Rendered | None = None
    """The interchange (X12): what `_again` wraps again when its numbers were taken."""


def render_documents(context: Context, plans: Sequence[DocumentPlan]) -> dict[int, Exception]:
    """Render every plan that has no stored output and store the outputs in one transaction:
    each output, its outbound group and its render event written with one statement per kind
    for all of them (one commit for a batch of documents instead of one each). A render that
    fails (its mapping, its definition or the partner's guide) takes no control numbers and is
    listed (job id -> error) while the others commit; `content` is set on the plans rendered,
    once committed. A store error fails the whole transaction (nothing is set): StoreError.

    Several plans are rendered before the transaction, with the numbers their partners' counters
    show (`peek_controls`); the transaction then takes a block per partner (in partner order, the
    lock order every worker shares) and stores the outputs. So the counters stay locked only
    while the outputs are written, not while the batch renders, and a worker rendering for the
    same partners waits that long at most. If another worker took numbers of a partner meanwhile
    (or its block wrapped past 999999999 to 1), that partner's documents get the numbers of the
    block taken, inside the transaction: each body as rendered, wrapped again (`renumbered`), or
    rendered again when its mapping reads `control`. Should one of those fail, or
    a single plan be rendered, the plans are rendered under the locks, one at a time, each taking
    its numbers (a render that fails there gives them back)."""
    todo = [plan for plan in plans if plan.stored is None and plan.content is None]
    done = _render_ahead_of_locks(context, todo) if len(todo) > 1 else None
    outputs, failed = done if done is not None else _render_under_locks(context, todo)
    for output in outputs:
        output.plan.content = output.content
    return failed


class _NumbersMoved(Exception):
    """A document rendered again, with the numbers of its partner's block (another worker took
    the ones it was rendered with), failed: the batch is rendered under the locks instead."""


def _render_ahead_of_locks(context: Context, plans: list[DocumentPlan]) -> tuple[list[_Output], dict[int, Exception]] | None:
    """`render_documents` rendering before its transaction; None when a render again failed."""
    needed = Counter(plan.partner.id for plan in plans if plan.x12)
    shown: dict[str, dict[str, int]] = {}
    if needed:
        with context.store.reading() as tx:
            shown = {partner: tx.peek_controls(partner) for partner in needed}
    free = {partner: dict(numbers) for partner, numbers in shown.items()}
    outputs: list[_Output] = []
    failed: dict[int, Exception] = {}
    for plan in plans:
        numbers = free[plan.partner.id] if plan.x12 else None
        try:
            outputs.append(_render(context, plan, dict(numbers) if numbers is not None else None))
        except Exception as exc:
            failed[plan.job.id] = exc
            continue
        if numbers is not None:
            free[plan.partner.id] = _following(numbers)
    used = Counter(output.plan.partner.id for output in outputs if output.plan.x12)
    try:
        with context.store.transaction() as tx:
            blocks = {partner: tx.next_controls(partner, count=used[partner]) for partner in sorted(used)}
            moved = {partner: dict(first) for partner, first in blocks.items() if first != shown[partner]}
            if moved:
                outputs = [_again(context, output, moved) for output in outputs]
            _store(tx, outputs)
    except _NumbersMoved:
        return None
    return outputs, failed


def _again(context: Context, output: _Output, moved: dict[str, dict[str, int]]) -> _Output:
    """`output` with the next numbers of its partner's block (`moved`: partner -> the next
    numbers of its block, advanced here) when another worker took the numbers it was rendered
    with: its body wrapped again with them (`renumbered`), or rendered again when its mapping
    reads `control`; _NumbersMoved when that fails (the block would keep a gap)."""
    numbers = moved.get(output.plan.partner.id)
    if numbers is None or not output.plan.x12:
        return output
    started = time.perf_counter()
    try:
        assert output.rendered is not None
        wrapped = renumbered(output.plan.mapping, output.rendered, _controls(numbers))
        again = _render(context, output.plan, dict(numbers)) if wrapped is None else _x12_output(context, output.plan, wrapped, started)
    except Exception as exc:
        raise _NumbersMoved(output.plan.partner.id) from exc
    moved[output.plan.partner.id] = _following(numbers)
    return again


def _controls(numbers: dict[str, int]) -> Controls:
    """The control numbers a partner's counters gave (isa, gs, st) for a render."""
    return Controls(isa=numbers["isa"], gs=numbers["gs"], st=numbers["st"])


def _following(numbers: dict[str, int]) -> dict[str, int]:
    """The control numbers of the next document after one rendered with `numbers`."""
    return {kind: number + 1 for kind, number in numbers.items()}


def _render_under_locks(context: Context, plans: list[DocumentPlan]) -> tuple[list[_Output], dict[int, Exception]]:
    """`render_documents` rendering inside its transaction, each plan taking its numbers (the
    plans in partner order: the lock order every worker shares)."""
    outputs: list[_Output] = []
    failed: dict[int, Exception] = {}
    with context.store.transaction() as tx:
        for plan in sorted(plans, key=lambda plan: plan.partner.id):
            taken = tx.next_controls(plan.partner.id) if plan.x12 else None
            try:
                outputs.append(_render(context, plan, taken))
            except Exception as exc:
                if taken is not None:
                    tx.give_back_controls(plan.partner.id, taken)
                failed[plan.job.id] = exc
        _store(tx, outputs)
    return outputs, failed


def _render(context: Context, plan: DocumentPlan, numbers: dict[str, int] | None) -> _Output:
    """Render one plan (X12 with `numbers`: isa, gs, st; or a JSON payload) and check it against
    its definition and the partner's guide; raises what the render or the check met."""
    started = time.perf_counter()
    job, partner, mapping = plan.job, plan.partner, plan.mapping
    if plan.x12:
        assert numbers is not None, f"{plan.document}: an X12 render needs its control numbers"
        out = render_outbound(mapping, plan.record, partner=partner.data, now=context.now(), controls=_controls(numbers), lookups=plan.lookups, document=plan.document)
        return _x12_output(context, plan, out, started)
    output = render_payload(mapping, plan.record, partner=partner.data, now=context.now(), lookups=plan.lookups, document=plan.document)
    content = dump_json(output).encode("utf-8")
    detail: dict[str, Any] = {"mapping": plan.mapping_name, "file": plan.filename, "bytes": len(content)}
    return _Output(plan, content, JSON_MEDIA, None, context.audit.row(job, "render", duration_ms=elapsed_ms(started), detail=detail))


def _x12_output(context: Context, plan: DocumentPlan, out: Rendered, started: float) -> _Output:
    """A rendered interchange checked against the partner's guide, with its group and render event."""
    job, partner = plan.job, plan.partner
    check_rendered(partner.guide, out.set_id, "outbound", out.tree, plan.document, _origin(context, plan.mapping_name))
    content = out.text.encode("utf-8")
    controls = out.controls
    group: NewGroup | None = None
    if partner.exchanges("997", "inbound"):  # only partners that send 997s are waited for
        group = NewGroup(
            partner.id, out.sender.id, out.receiver.id, out.functional_id, controls.gs, (out.set_id,), controls.isa,
            plan.filename, job_id=job.id, sent_at=context.now(),
        )
    detail: dict[str, Any] = {"mapping": plan.mapping_name, "file": plan.filename, "controls": {"isa": controls.isa, "gs": controls.gs, "st": controls.st}}
    if out.notes:
        detail["notes"] = out.notes
    detail["bytes"] = len(content)
    return _Output(plan, content, X12_MEDIA, group, context.audit.row(job, "render", duration_ms=elapsed_ms(started), detail=detail), out)


def _store(tx: Transaction, outputs: list[_Output]) -> None:
    """Write the outputs, their groups and their render events: one statement per kind."""
    tx.record_outbound_groups([output.group for output in outputs if output.group is not None])
    tx.put_artifacts([NewArtifact(output.plan.job.id, output.plan.role, output.plan.filename, output.content, output.media) for output in outputs])
    tx.audit_many([output.row for output in outputs])


def _origin(context: Context, mapping_name: str) -> Callable[[Violation], str | None] | None:
    """Where in the mapping a guide violation comes from (`origin_in_mapping`), when its source is known."""
    written = context.project.mapping_sources.get(mapping_name)
    return (lambda violation: origin_in_mapping(written, violation)) if written is not None else None


def run_document(context: Context, job: Job, plan: DocumentPlan | None = None) -> dict[str, Any]:
    """Run a document job (module docstring); `plan`: its plan, rendered already when its
    `content` is set (`render_documents` of the worker's batch)."""
    if plan is None:
        plan = plan_document(context, job)
    if plan.stored is not None:
        context.audit(job, "render", f"reusing the output rendered before ({len(plan.stored)} bytes, same control numbers)", detail={"file": plan.filename, "reused": True})
    elif plan.content is None:
        failed = render_documents(context, [plan])
        if job.id in failed:
            raise failed[job.id]
    content = plan.stored if plan.stored is not None else plan.content
    assert content is not None
    folder, filename = plan.folder, plan.filename
    started = time.perf_counter()
    files = context.systems.files(plan.connection)
    # Only a job that rendered before (a retry, a worker killed after the render) may have
    # uploaded this file already; a first attempt uploads without asking the folder first.
    remote = files.upload(folder, filename, content, may_exist=plan.stored is not None)
    context.audit(job, "upload", f"{folder}/{filename}", with_outcome=True, duration_ms=elapsed_ms(started), detail={"file": f"{folder}/{filename}", "id": remote.id, "bytes": len(content)})
    return {"file": f"{folder}/{filename}", "bytes": len(content), "summary": f"{folder}/{filename}"}


def run_fetch(context: Context, job: Job) -> dict[str, Any]:
    """A webhook notification: read the record and admit it as a poll would."""
    payload = job.payload or {}
    route = context.route(job.route)
    source = route.source
    if not isinstance(source, EntitySource):
        raise ConfigError(f"route {route.name} reads partner folders; a notification names an ERP record, which only an entity source reads")
    started = time.perf_counter()
    record = context.systems.records(source.connection).get(source.entity, str(payload["id"]), expand=source.expand)
    context.audit(job, "fetch", f"{source.entity}({payload['id']})", duration_ms=elapsed_ms(started))
    admission = admit(context, route, record)
    if admission.job is None:
        return {"skipped": admission.reason}
    new = admission.job
    enqueued, created = context.store.enqueue(
        route.name, new.key, kind=new.kind, partner=new.partner, payload=new.payload, source_ref=new.source_ref
    )
    verdict = "enqueued" if created else "already enqueued (by a poll or an earlier notification)"
    context.audit(job, "enqueue", f"document {new.key}: {verdict}", detail={"job": enqueued.id})
    return {"document_job": enqueued.id, "key": new.key, "created": created, "summary": f"{new.key} {verdict}"}

