"""One inbound transaction set as its own unit of work: X12 -> ERP record, exactly once.

A file job (`engine.runtime.files`) makes a `transaction` job of every valid set of its file,
keyed `<file job key>|<ISA13>.<GS06>.<ST02>` on the route the partner takes for the set. The
job reads only its own bytes from the file stored once with the file job (`payload.range`,
through `Store.artifact_range`), wrapped in the set's own ISA/GS, and then:

1. checks the set against the partner's guide, maps it (`render_payload`) and stores the
   result as its `output` artifact (the map event is keyed by the set's own number, an 850's
   BEG03, so `mlc audit PO-4711` finds it);
2. checks the route's `require` keys (customer, items) before anything is written;
3. writes it (`engine.runtime.targets.write`): a create is looked up first by the route's
   `unique` fields, so a re-run after a crash finds the order it created and never creates it
   twice. The write's event is keyed by the ERP document it created or found. A write that
   held changes the record refuses in its state (an 855 on a Released order) puts the job in
   the review state (`review` in its result).

A bad set (an item no cross-reference or ERP knows, an ERP refusal) dead-letters its own job
only; the file's other sets go on, and the 997 rejects this one. `mlc replay` of the job maps
it again from the stored file with today's mapping and reference data and creates it then.
"""

from __future__ import annotations

import io
import time
from typing import Any, BinaryIO

from engine.errors import MappingError, MlcError, X12Error
from engine.guides import check_or_raise
from engine.mapping import document_key, render_payload
from engine.mapping.dryrun import json_chunks
from engine.runtime.audit import elapsed_ms
from engine.runtime.context import Context
from engine.runtime.slices import standalone, standalone_stream
from engine.runtime.targets import check_required, write
from engine.store import Job, Store
from engine.x12.document import CheckedTransaction, group_facts, interchange_facts, walk
from engine.x12.reader import Group, Interchange

__all__ = ["business_number", "read_transaction", "refuse_broken", "run_transaction", "transaction_bytes", "transaction_stream"]


def transaction_bytes(store: Store, job: Job) -> bytes:
    """The set as a file of its own (its ISA/GS, the set's bytes from the stored file, GE/IEA)."""
    with transaction_stream(store, job) as stream:
        return stream.read()


def transaction_stream(store: Store, job: Job) -> BinaryIO:
    """`transaction_bytes` as a stream: the set's bytes are read from the stored file a chunk
    at a time (`Store.artifact_range`), never held whole."""
    payload = job.payload or {}
    envelope, gs06, isa13 = str(payload["envelope"]), str(payload["gs06"]), str(payload["isa13"])
    if "text" in payload:
        return io.BytesIO(standalone(envelope, str(payload["text"]).encode("utf-8"), gs06, isa13))
    start, end = (int(value) for value in payload["range"])
    file_job = int(payload["file_job"])

    def fetch(offset: int, count: int) -> bytes:
        found = store.artifact_range(file_job, "input", offset, count)
        if found is None or len(found) != count:
            raise MappingError(f"job {job.id}: the file of job {file_job} is not stored (whole); the set cannot be read")
        return found

    fetch(start, min(1, end - start))  # a file that is gone fails here, before anything is read
    return standalone_stream(envelope, fetch, start, end - start, gs06, isa13)


def refuse_broken(event: Interchange | Group, name: str) -> None:
    """An X12Error when the interchange or group envelope read has errors: the file (or the set
    read on its own) is not processed as if it were sound."""
    errors = [p for p in event.problems if p.level == "error"]
    if not errors:
        return
    if isinstance(event, Group):
        raise X12Error(f"a functional group is broken: {errors[0].line(name)}", source=name)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise X12Error(f"the interchange is broken: {errors[0].line(name)}{more}", source=name)


def read_transaction(store: Store, job: Job) -> CheckedTransaction:
    """The job's set, read and checked as the file job read it: an X12Error when its
    interchange or group envelope is broken (as a file's would fail whole)."""
    payload = job.payload or {}
    name = f"{payload.get('file', '?')} (ST02 {payload.get('st02', '?')})"
    found: list[CheckedTransaction] = []
    interchanges = 0
    with transaction_stream(store, job) as stream:
        for event in walk(stream, name, keep_segments=False):
            if isinstance(event, CheckedTransaction):
                found.append(event)
            else:
                refuse_broken(event, name)
                if isinstance(event, Interchange):
                    interchanges += 1
    if not interchanges:
        raise X12Error("the file holds no complete interchange", source=name)
    if len(found) != 1:
        raise MappingError(f"job {job.id}: expected one transaction set in {name}, read {len(found)}")
    return found[0]


def run_transaction(context: Context, job: Job) -> dict[str, Any]:
    """Run a transaction job (module docstring)."""
    payload = job.payload or {}
    partner = context.partner(job.partner)
    route = context.route(job.route)
    checked = read_transaction(context.store, job)
    name, control, set_id = str(payload.get("file", "?")), checked.raw.control_number, checked.raw.set_id
    source = f"{name} ST02 {control}"
    check_or_raise(partner.guide, set_id, "inbound", checked.parsed.tree, f"{name} (ST02 {control})")
    mapping_name = context.project.mapping_for(route.mapping, partner)
    mapping = context.project.mappings[mapping_name]
    group = checked.raw.group
    number = business_number(mapping, checked, partner.data) or job.key
    started = time.perf_counter()
    output = render_payload(
        mapping,
        checked.parsed.tree,
        partner=partner.data,
        now=context.now(),
        interchange=interchange_facts(group.interchange),
        group=group_facts(group),
        document=f"{name} (ST02 {control})",
    )
    del checked  # the tree is read: the payload and its JSON need not share memory with it
    with context.store.transaction() as tx:
        tx.put_artifact_stream(job.id, "output", f"{name}#{control}.json", json_chunks(output), media_type="application/json")
        context.audit(job, "map", f"{set_id} {control} through {mapping_name}", tx=tx, key=number, duration_ms=elapsed_ms(started), detail={"set": set_id, "st02": control, "file_job": payload.get("file_job")})
    check_required(context, route, output, source)
    started = time.perf_counter()
    outcome = write(context, route, partner, output, job, source=source)
    # Recorded with the job's outcome (one commit less per set): a worker dying before it re-runs
    # the set, whose create then finds its record by the route's unique fields and says so.
    created = outcome.detail.get("created") or outcome.detail.get("existing")
    context.audit(
        job, outcome.event, outcome.message, with_outcome=True, key=str(created) if created else job.key, duration_ms=elapsed_ms(started), detail=outcome.detail
    )
    result: dict[str, Any] = {"set": set_id, "st02": control, "file_job": payload.get("file_job"), "event": outcome.event, "written": outcome.message, "summary": outcome.message}
    if outcome.event == "held":
        result["review"] = [outcome.message]
    return result


def business_number(mapping: Any, checked: CheckedTransaction, partner: dict[str, Any]) -> str:
    """The transaction's own number by the mapping's `key:` (BEG03 of an 850), or empty."""
    if mapping is None:
        return ""
    try:
        return document_key(mapping, checked.parsed.tree, partner=partner)
    except MlcError:
        return ""

