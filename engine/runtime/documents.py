"""Outbound documents: an ERP record -> X12 (or a JSON payload) -> the partner's outbox folder.

The steps of a `document` job, each audited:

1. The partner and the mapping (the route's, or the partner's override) and the route's
   lookups (reference data, cached for the run).
2. Render, in one store transaction with the partner's control numbers (ISA13, GS06, ST02), the
   output artifact and, for a partner that sends 997s (its `transactions` list 997 inbound),
   the outbound group awaiting its 997 (the input is the job's payload, stored when the job was
   enqueued: it is not stored a second time). The render validates
   the transaction against its definition; an invalid file is never stored or sent. When the
   transaction rolls back, the control numbers were not consumed.
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
from pathlib import PurePosixPath
from typing import Any

from engine.config.route import EntitySource, FolderTarget
from engine.errors import ConfigError, MappingError
from engine.guides import check_rendered, origin_in_mapping
from engine.mapping import Controls, render_outbound, render_payload
from engine.mapping.dryrun import dump_json
from engine.mapping.templates import base_context
from engine.runtime.audit import elapsed_ms
from engine.runtime.context import Context
from engine.runtime.lookups import resolve_lookups
from engine.runtime.poll import admit
from engine.store import Job, Store

__all__ = ["output_role", "replay_generation", "run_document", "run_fetch", "versioned_name"]

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


def run_document(context: Context, job: Job) -> dict[str, Any]:
    """Run a document job (module docstring)."""
    payload = job.payload or {}
    if payload.get("admit_error"):
        raise MappingError(str(payload["admit_error"]))
    record = payload.get("record")
    if not isinstance(record, dict):
        raise MappingError(f"job {job.id} carries no document (payload keys: {sorted(payload)})")
    route = context.route(job.route)
    partner = context.partner(job.partner)
    mapping_name = context.project.mapping_for(route.mapping, partner)
    mapping = context.project.mappings[mapping_name]
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
    document = f"{route.name} {job.key}"

    if stored is not None:
        content = stored.content
        context.audit(job, "render", f"reusing the output rendered before ({len(content)} bytes, same control numbers)", detail={"file": filename, "reused": True})
    else:
        started = time.perf_counter()
        with context.store.transaction() as tx:
            notes: list[str] = []
            controls: Controls | None = None
            if mapping.direction == "outbound":
                taken = tx.next_controls(partner.id)
                controls = Controls(isa=taken["isa"], gs=taken["gs"], st=taken["st"])
                rendered = render_outbound(
                    mapping, record, partner=partner.data, now=context.now(), controls=controls, lookups=lookups, document=document
                )
                written = context.project.mapping_sources.get(mapping_name)
                check_rendered(partner.guide, rendered.set_id, "outbound", rendered.tree, document, (lambda v: origin_in_mapping(written, v)) if written else None)
                content = rendered.text.encode("utf-8")
                notes = rendered.notes
                if partner.exchanges("997", "inbound"):  # only partners that send 997s are waited for
                    tx.record_outbound_group(
                        partner.id,
                        rendered.sender.id,
                        rendered.receiver.id,
                        rendered.functional_id,
                        controls.gs,
                        [rendered.set_id],
                        controls.isa,
                        filename,
                        job_id=job.id,
                        sent_at=context.now(),
                    )
                media = X12_MEDIA
            else:
                output = render_payload(mapping, record, partner=partner.data, now=context.now(), lookups=lookups, document=document)
                content = dump_json(output).encode("utf-8")
                media = JSON_MEDIA
            tx.put_artifact(job.id, role, filename, content, media_type=media)
            detail: dict[str, Any] = {"mapping": mapping_name, "file": filename, "bytes": len(content)}
            if controls is not None:
                detail["controls"] = {"isa": controls.isa, "gs": controls.gs, "st": controls.st}
            if notes:
                detail["notes"] = notes
            context.audit(job, "render", tx=tx, duration_ms=elapsed_ms(started), detail=detail)
    started = time.perf_counter()
    files = context.systems.files(target.connection)
    # Only a job that rendered before (a retry, a worker killed after the render) may have
    # uploaded this file already; a first attempt uploads without asking the folder first.
    remote = files.upload(folder, filename, content, may_exist=stored is not None)
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

