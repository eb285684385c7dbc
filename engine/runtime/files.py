"""Inbound files: a partner's X12 file -> 997 -> ERP records -> archived, exactly once.

The steps of a `file` job (its input is the file's bytes, stored when the poll took it):

1. Read every interchange, checking envelopes and definitions. A file that is not X12 or
   whose envelope is broken fails (dead letter) with the reason; other files are unaffected.
   The ISA sender must be the partner whose inbox held the file.
2. An interchange whose sender and ISA13 were processed before is a resend: flagged in the
   audit and not processed again (partners do resend).
3. The 997s: one per inbound interchange (not for 997 groups), with the partner's persisted
   control numbers, rendered once (stored, reused on a re-run) and uploaded to the outbox.
   A transaction with errors is rejected there and not mapped.
4. Every accepted transaction is mapped by the route the partner takes for its set (several
   inbound routes may read one inbox); all are mapped, and the ERP keys their routes require
   looked up, before anything is written, so one bad document (an unknown item) leaves nothing
   half-created in the ERP.
5. The writes (`engine.runtime.targets`): a create is checked first against the route's
   `unique` fields (a re-delivered 850 does not create a second order, and the audit says so);
   updates are idempotent; 997s are matched to our outbound groups in the store.
6. Only then is the file moved to the partner's archive folder, and the job, the ledger and the
   interchanges are marked done in one transaction. A write that held changes its target
   refuses in the record's state (an 855 on a Released order: `target.locked`) puts the job in
   the review state instead of done, with the file archived all the same: everything else is
   finished, and `mlc replay` applies the held changes once the record can take them.

A crash between any two steps re-runs the job from its stored input: the 997 bytes are reused
(the upload of the same bytes is a no-op), creates find what they created, the move finds
the file already archived.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.config.project import Partner
from engine.config.route import Route
from engine.errors import ConfigError, MappingError, MlcError, NotFoundError, X12Error
from engine.guides.check import check_interchange, check_or_raise
from engine.mapping.dryrun import dump_json
from engine.mapping.inbound import document_key, render_payload
from engine.ports import RemoteFile
from engine.runtime.runtime import elapsed_ms
from engine.runtime.targets import check_required, write
from engine.store import Job, LedgerState
from engine.x12 import ack
from engine.x12.document import CheckedTransaction, group_facts, interchange_facts, walk
from engine.x12.reader import Group, Interchange

if TYPE_CHECKING:
    from engine.runtime.runtime import Runtime

__all__ = ["ReadFile", "inbound_route_for", "read_interchanges", "run_file"]


@dataclass
class ReadFile:
    """The interchanges and checked transactions of one inbound file."""

    interchanges: list[Interchange] = field(default_factory=list)
    transactions: list[CheckedTransaction] = field(default_factory=list)
    events: list[CheckedTransaction | Group | Interchange] = field(default_factory=list)
    """Everything read, in order: the 997s are built from it without reading the file again."""


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


def inbound_route_for(runtime: Runtime, partner: Partner, set_id: str) -> Route | None:
    """The inbound route the partner takes for transaction set `set_id`, if any."""
    for route in runtime.project.routes.values():
        if route.source_kind != "folder" or not runtime.project.takes_part(partner, route):
            continue
        sets = route.data["source"].get("sets")
        if sets is None:
            mapping = runtime.project.mappings.get(runtime.project.mapping_for(route.mapping, partner))
            sets = [mapping.transaction_set] if mapping is not None else []
        if set_id in sets:
            return route
    return None


def read_interchanges(content: bytes, name: str) -> ReadFile:
    """Every interchange and transaction of the file, checked; an X12Error when the file is not
    X12 or an interchange or group envelope is broken (the file then fails as a whole)."""
    found = ReadFile()
    for event in walk(io.BytesIO(content), name):
        found.events.append(event)
        if isinstance(event, CheckedTransaction):
            found.transactions.append(event)
        elif isinstance(event, Interchange):
            errors = [p for p in event.problems if p.level == "error"]
            if errors:
                raise X12Error(f"the interchange is broken: {errors[0].line(name)}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""), source=name)
            found.interchanges.append(event)
        elif isinstance(event, Group):
            errors = [p for p in event.problems if p.level == "error"]
            if errors:
                raise X12Error(f"a functional group is broken: {errors[0].line(name)}", source=name)
    if not found.interchanges:
        raise X12Error("the file holds no complete interchange", source=name)
    return found


def run_file(runtime: Runtime, job: Job) -> dict[str, Any]:
    """Run a file job (module docstring)."""
    payload = job.payload or {}
    partner = runtime.partner(job.partner)
    stored = runtime.store.artifact(job.id, "input")
    if stored is None:
        raise MappingError(f"job {job.id}: the file's bytes were not stored; it cannot be processed")
    name = str(payload.get("name") or stored.name)
    content = stored.content
    read = read_interchanges(content, name)

    # 1-2: the sender, and resends. A job replayed after it was done processed its fresh
    # interchanges itself: they are its own, not resends, and every step runs again.
    earlier = job.result or {}
    own = {i.control_number for i in read.interchanges} - set(earlier.get("duplicates") or []) if "written" in earlier else set()
    fresh: list[Interchange] = []
    duplicates: list[str] = []
    for interchange in read.interchanges:
        owner = runtime.project.match_partner("x12.sender", f"{interchange.sender_qualifier}/{interchange.sender_id.strip()}")
        if owner is None or owner.id != partner.id:
            who = f"partner {owner.id}" if owner else "no partner"
            raise ConfigError(
                f"{name}: ISA sender {interchange.sender_qualifier}/{interchange.sender_id.strip()} is {who}, "
                f"but the file came in the inbox of partner {partner.id}"
            )
        if interchange.control_number not in own and runtime.store.interchange_seen(interchange.sender_qualifier, interchange.sender_id.strip(), interchange.control_number):
            duplicates.append(interchange.control_number)
            runtime.audit(job, "duplicate", f"interchange {interchange.control_number} from {interchange.sender_id.strip()} was processed before: a resend, not processed again", detail={"isa13": interchange.control_number})
        else:
            fresh.append(interchange)
    for interchange in fresh:
        for _, ta1 in interchange.ta1:
            _match_ta1(runtime, job, partner, name, ta1)
    fresh_ids = {id(interchange) for interchange in fresh}
    transactions = [t for t in read.transactions if id(t.raw.group.interchange) in fresh_ids]

    # 3: the 997s
    fresh_keys = {_ident(interchange) for interchange in fresh}
    acks = _send_acks(runtime, job, partner, read, fresh_keys) if partner.data["x12"].get("acknowledge", True) else []

    # 4: map everything first
    planned: list[tuple[Route, CheckedTransaction, Any]] = []
    rejected: list[str] = []
    unhandled: list[str] = []
    for checked in transactions:
        set_id, control = checked.raw.set_id, checked.raw.control_number
        errors = [p for p in checked.problems if p.level == "error"]
        if errors:
            rejected.append(f"{set_id} {control}: {errors[0].line(name)}")
            runtime.audit(job, "rejected", f"transaction {set_id} {control} is invalid and was rejected in the 997: {errors[0].line(name)}", detail={"set": set_id, "st02": control, "errors": len(errors)})
            continue
        route = inbound_route_for(runtime, partner, set_id)
        if route is None:
            unhandled.append(f"{set_id} {control}")
            continue
        check_or_raise(partner.guide, set_id, "inbound", checked.parsed.tree, f"{name} (ST02 {control})")
        mapping_name = runtime.project.mapping_for(route.mapping, partner)
        mapping = runtime.project.mappings[mapping_name]
        group = checked.raw.group
        started = time.perf_counter()
        output = render_payload(
            mapping,
            checked.parsed.tree,
            partner=partner.data,
            now=runtime.now(),
            interchange=interchange_facts(group.interchange),
            group=group_facts(group),
            document=f"{name} (ST02 {control})",
        )
        runtime.store.put_artifact(job.id, f"output.{set_id}.{control}", f"{name}#{control}.json", dump_json(output).encode("utf-8"), media_type="application/json")
        number = _business_number(mapping, checked, partner) or job.key
        # the event carries the document's own number (an 850's BEG03): `mlc audit PO-4711` finds the file's job
        runtime.audit(job, "map", f"{set_id} {control} through {mapping_name}", key=number, duration_ms=elapsed_ms(started), detail={"route": route.name, "set": set_id, "st02": control})
        planned.append((route, checked, output))
    if unhandled and not planned and not rejected:
        raise ConfigError(
            f"{name}: no route of partner {partner.id} takes transaction set(s) {', '.join(sorted({u.split()[0] for u in unhandled}))}; "
            "add one (schedules/) or the set to a route's sets, then replay the job"
        )

    # 5: the writes, once the keys every document requires resolve (nothing half-written)
    for route, checked, output in planned:
        check_required(runtime, route, output, f"{name} ST02 {checked.raw.control_number}")
    results = []
    review: list[str] = []
    for route, checked, output in planned:
        started = time.perf_counter()
        outcome = write(runtime, route, partner, output, job, source=f"{name} ST02 {checked.raw.control_number}")
        created = outcome.detail.get("created") or outcome.detail.get("existing")
        # keyed by the ERP document created (or found): `mlc audit 101005` finds it too
        runtime.audit(job, outcome.event, outcome.message, key=str(created) if created else job.key, duration_ms=elapsed_ms(started), detail={"route": route.name, **outcome.detail})
        results.append(outcome.message)
        if outcome.event == "held":
            review.append(outcome.message)

    # 6: archive, then mark everything done together
    archived = _archive(runtime, job, partner, payload, name)
    with runtime.store.transaction() as tx:
        for interchange in fresh:
            tx.interchange_record(interchange.sender_qualifier, interchange.sender_id.strip(), interchange.control_number, file_id=str(payload.get("file_id") or name), job_id=job.id)
        ledger_id = payload.get("ledger_id") or payload.get("file_id")
        if ledger_id and payload.get("sha256"):
            tx.ledger_update(str(ledger_id), str(payload["sha256"]), state=LedgerState.ARCHIVED if archived else LedgerState.PROCESSED, job_id=job.id)
    summary = "; ".join(results) or ("resend, not processed again" if duplicates else "nothing to write")
    return {
        "file": name,
        "written": results,
        "review": review,
        "acks": acks,
        "rejected": rejected,
        "unhandled": unhandled,
        "duplicates": duplicates,
        "archived": archived,
        "summary": summary,
    }


def _business_number(mapping: Any, checked: CheckedTransaction, partner: Partner) -> str:
    """The transaction's own number by the mapping's `key:` (BEG03 of an 850), or empty."""
    try:
        return document_key(mapping, checked.parsed.tree, partner=partner.data)
    except MlcError:
        return ""


def _ident(interchange: Interchange) -> tuple[str, str, str]:
    return (interchange.sender_qualifier, interchange.sender_id.strip(), interchange.control_number)


def _match_ta1(runtime: Runtime, job: Job, partner: Partner, name: str, ta1: list[str]) -> None:
    """A TA1 from the partner, matched to the interchange we sent (TA101 = our ISA13), like a
    997 to a group; a TA1 with errors of its own was reported by the reader and is skipped."""
    control, status = (ta1[1] if len(ta1) > 1 else ""), (ta1[4] if len(ta1) > 4 else "")
    if not (control.isascii() and control.isdigit() and len(control) == 9) or status not in ("A", "E", "R"):
        return
    note = ta1[5] if len(ta1) > 5 else ""
    groups = runtime.store.acknowledge_interchange(partner.id, int(control), status, ack_file=name)
    verdict = {"A": "accepted", "E": "accepted with errors", "R": "rejected"}[status]
    matched = f"{groups} group(s) of it" if groups else "no interchange we sent (ignored)"
    runtime.audit(
        job,
        "ta1",
        f"TA1 for our interchange {control}: {verdict} (note {note or '-'}); matches {matched}",
        detail={"isa13": control, "status": status, "note": note, "groups": groups},
    )


def _send_acks(runtime: Runtime, job: Job, partner: Partner, read: ReadFile, fresh: set[tuple[str, str, str]]) -> list[str]:
    """Render (once, stored) and upload the 997s for the fresh interchanges; their file names."""
    outbox = str(partner.data["cleo"]["outbox"])
    files = runtime.systems.files(str(partner.data["cleo"]["connection"]))
    sent: list[str] = []
    for interchange, groups in ack.collect_events(read.events):
        if _ident(interchange) not in fresh:
            continue
        role = f"ack.{interchange.control_number}"
        stored = runtime.store.artifact(job.id, role)
        may_exist = stored is not None  # only an ack rendered by an earlier attempt may be uploaded already
        if stored is None:
            with runtime.store.transaction() as tx:
                text = ack.build_997(
                    interchange, groups, _StoreControls(tx, partner.id), runtime.now(), newline=bool(partner.data["x12"].get("newline", True))
                )
                if text is None:
                    continue  # a file of 997s: nothing to acknowledge
                ack_name = f"997_{partner.id}_{interchange.control_number}.edi"
                check_interchange(partner.guide, text, "outbound", ack_name)
                stored = tx.put_artifact(job.id, role, ack_name, text.encode("utf-8"), media_type="application/edi-x12")
                runtime.audit(job, "render", tx=tx, detail={"file": ack_name, "ack_for": interchange.control_number})
        started = time.perf_counter()
        files.upload(outbox, stored.name, stored.content, may_exist=may_exist)
        runtime.audit(job, "upload", f"{outbox}/{stored.name}", duration_ms=elapsed_ms(started), detail={"file": f"{outbox}/{stored.name}", "ack_for": interchange.control_number})
        sent.append(f"{outbox}/{stored.name}")
    return sent


def _archive(runtime: Runtime, job: Job, partner: Partner, payload: dict[str, Any], name: str) -> str | None:
    """Move the file from the inbox to the partner's archive folder (or delete it if none)."""
    file_id = payload.get("file_id")
    if not file_id:
        return None  # pushed to our endpoint, never in an inbox
    files = runtime.systems.files(str(payload.get("connection") or partner.data["cleo"]["connection"]))
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
    runtime.audit(job, "archive", where, duration_ms=elapsed_ms(started))
    return where

