"""Polling a route's source: new documents become jobs, exactly once.

An **entity source** (BC, GP) lists the records changed since the route's cursor (minus a small
overlap), oldest first. Each record goes through the route's filter and partner selection
(`admit`); admitted records become jobs keyed by the route's `key` (the document number by
default) carrying the record as read. The jobs and the new cursor are written in one
transaction (`enqueue_many_and_advance`): the cursor never passes a record whose job is not
safely stored, and a record seen again is a no-op. Documents that the filter leaves out, and
documents of customers or vendors that are not partners (or not in this route), are skipped:
counted and audited, never failed, and never keyed (a draft may be posted later).

A **folder source** (the partners' Cleo inboxes) lists the inbox of every partner taking part
in the route, partner by partner: a partner whose folder is missing, forbidden or unreachable
is recorded (`partner_errors`, a `poll-partner-failed` audit event keyed by the partner id) and
the other partners are polled all the same. A file not in the inbound ledger is downloaded once; its bytes, a ledger entry
(file id + SHA-256) and a job go into the store in one transaction. A file already in the
ledger is not downloaded again. A file whose first transaction set belongs to another inbound
route of the partner is left for that route (counted in `others`); the runtime remembers its
owner by connection, file id and size (`Context.inbox_owners`), so later polls of this route
do not download it again while it waits for its own route. The job processes every transaction set of the file (each
through the route the partner takes for that set), so several inbound routes may read one
inbox without splitting or doubling a file.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from engine.config import Partner
from engine.config.route import EntitySource, FolderSource, Route
from engine.errors import MappingError, MlcError, X12Error
from engine.mapping.templates import truthy
from engine.runtime.context import Context
from engine.runtime.files import inbound_route_for
from engine.store import Job, NewJob
from engine.x12.delimiters import detect

__all__ = ["Admission", "PollResult", "StreamedFile", "admit", "enqueue_file", "parse_stamp", "poll_route"]

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    """What one poll of a route found."""

    route: str
    read: int = 0
    enqueued: int = 0
    already: int = 0
    skipped: int = 0
    skipped_reasons: list[str] = field(default_factory=list)
    others: int = 0
    """Inbox files left for another route (they hold a set this route does not take)."""
    cursor: str | None = None
    partner_errors: dict[str, str] = field(default_factory=dict)
    """Partners whose folder could not be read this poll (missing, forbidden, unreachable), with
    the reason; the other partners were polled all the same."""


@dataclass
class Admission:
    """A record admitted as a job, or skipped with the reason."""

    job: NewJob | None
    reason: str = ""


def parse_stamp(value: Any) -> datetime | None:
    """A cursor field value (`2024-05-02T14:03:11.217Z`, GP's naive `2024-05-01T00:00:00`) as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def admit(context: Context, route: Route, record: dict[str, Any]) -> Admission:
    """The route's filter, partner selection and key applied to one source record.

    A record the route's templates cannot evaluate (a missing field) is still admitted, as a
    job that fails with the reason: an unexpected document shape must be seen, not dropped.
    """
    fallback = _label(route, record)
    variables = route.context(doc=record)
    try:
        if route.filter is not None and not truthy(route.filter.evaluate(variables)):
            return Admission(None, f"{fallback}: left out by the route's filter")
        partner = None
        if route.partner_by is not None and route.partner_key is not None:
            key = route.partner_key.evaluate(variables)
            partner = context.project.match_partner(route.partner_by, str(key))
            if partner is None:
                return Admission(None, f"{fallback}: {route.partner_by} {key!r} is not a trading partner")
            if not context.project.takes_part(partner, route):
                return Admission(None, f"{fallback}: partner {partner.id} does not take part in route {route.name}")
            variables["partner"] = partner.data
        job_key = route.key.evaluate(variables) if route.key is not None else record.get("number")
        if job_key in (None, ""):
            raise MappingError(f"{route.name}: the document key is empty for record {fallback}")
    except MappingError as exc:
        payload = {"record": record, "admit_error": exc.message}
        return Admission(NewJob(key=f"unreadable:{fallback}", kind="document", payload=payload, source_ref=_ref(record)))
    return Admission(
        NewJob(
            key=str(job_key),
            kind="document",
            partner=partner.id if partner else None,
            payload={"record": record},
            source_ref=_ref(record),
        )
    )


def _label(route: Route, record: dict[str, Any]) -> str:
    """How a record is named in skip reasons: its key when the key needs no partner, else its number or id."""
    if route.key is not None:
        try:
            value = route.key.evaluate(route.context(doc=record))
            if value not in (None, ""):
                return str(value)
        except MappingError:
            pass
    return str(record.get("number") or record.get("id") or "?")


def _ref(record: dict[str, Any]) -> str | None:
    ref = record.get("id")
    return str(ref) if ref is not None else None


def poll_route(context: Context, route: Route) -> PollResult:
    """Poll the route's source once (module docstring)."""
    if isinstance(route.source, FolderSource):
        return _poll_folders(context, route)
    return _poll_entity(context, route, route.source)


def _poll_entity(context: Context, route: Route, source: EntitySource) -> PollResult:
    result = PollResult(route.name)
    system = context.systems.records(source.connection)
    cursor_field = source.cursor
    expected = context.store.cursor(route.name) if cursor_field else None
    since = parse_stamp(expected)
    if since is not None:
        since -= context.cursor_overlap
    newest, newest_text = since, expected
    jobs: list[NewJob] = []
    skipped: list[str] = []
    for record in system.list_changed(source.entity, since, expand=source.expand):
        result.read += 1
        written = record.get(cursor_field) if cursor_field else None
        stamp = parse_stamp(written)
        if stamp is not None and (newest is None or stamp > newest):
            newest, newest_text = stamp, str(written)
        admission = admit(context, route, record)
        if admission.job is None:
            skipped.append(admission.reason)
        else:
            jobs.append(admission.job)
    with context.store.transaction() as tx:
        if cursor_field and newest_text is not None and newest_text != expected:
            batch = tx.enqueue_many_and_advance(route.name, jobs, newest_text, expected=expected)
            enqueued = list(batch.jobs) if batch.advanced else []
            if not batch.advanced:
                context.audit(None, "poll", "another worker moved the cursor first; its poll enqueued these records", tx=tx, route=route.name)
        else:
            enqueued = tx.enqueue_many(route.name, jobs)
        for item in enqueued:
            if item.created:
                context.audit(item.job, "enqueued", tx=tx, detail={"source": item.job.source_ref})
        for reason in skipped:
            context.audit(None, "skipped", reason, tx=tx, route=route.name, key=reason.split(":", 1)[0])
        result.enqueued = sum(1 for item in enqueued if item.created)
        result.already = sum(1 for item in enqueued if not item.created)
        result.skipped = len(skipped)
        result.skipped_reasons = skipped
        result.cursor = newest_text
        context.audit(
            None,
            "poll",
            tx=tx,
            route=route.name,
            detail={"read": result.read, "enqueued": result.enqueued, "already": result.already, "skipped": result.skipped, "cursor": newest_text},
        )
    return result


def _poll_folders(context: Context, route: Route) -> PollResult:
    result = PollResult(route.name)
    for partner in context.project.partners_for(route):
        try:
            _poll_partner_inbox(context, route, partner, result)
        except Exception as exc:  # one partner's folder (missing, forbidden, unreachable) never stops the others
            if not isinstance(exc, MlcError):
                log.exception("poll of route %s failed for partner %s unexpectedly", route.name, partner.id)
            message = context.mask(str(exc) if isinstance(exc, MlcError) else f"internal error {type(exc).__name__}: {exc}")
            result.partner_errors[partner.id] = message
            context.audit(
                None, "poll-partner-failed", f"partner {partner.id}: {message}", route=route.name, key=partner.id, partner=partner.id,
                status=getattr(exc, "status", None), detail={"folder": str(partner.data["cleo"].get("inbox", ""))},
            )
    detail: dict[str, Any] = {"read": result.read, "enqueued": result.enqueued, "already": result.already}
    if result.partner_errors:
        detail["partner_errors"] = dict(result.partner_errors)
    context.audit(None, "poll", route=route.name, detail=detail)
    return result


def _poll_partner_inbox(context: Context, route: Route, partner: Partner, result: PollResult) -> None:
    """One partner's inbox: its new files become jobs (counted in `result`)."""
    cleo = partner.data["cleo"]
    files = context.systems.files(files_name(cleo, route))
    folder = str(cleo["inbox"])
    for remote in files.list_files(folder):
        result.read += 1
        if context.store.ledger_for_file(remote.id):
            result.already += 1
            continue
        seen = (files_name(cleo, route), remote.id, remote.size)
        if (context.inbox_owners.owner(seen) or route.name) != route.name:
            result.others += 1  # read before: another route takes it (no second download)
            continue
        content = files.download(remote)
        owner = _owner(context, route, partner, content)
        if owner is not route:
            result.others += 1  # another inbound route of this partner takes this set
            context.inbox_owners.remember(seen, owner.name)
            continue
        if enqueue_file(context, route, partner.id, remote.name, content, connection=files_name(cleo, route), folder=folder, file_id=remote.id):
            result.enqueued += 1
        else:
            result.already += 1


class StreamedFile(Protocol):
    """A file held outside memory (a push spooled to disk): its digest, size and bytes again."""

    @property
    def sha256(self) -> str: ...

    @property
    def size(self) -> int: ...

    def chunks(self) -> Iterator[bytes]: ...


def enqueue_file(
    context: Context,
    route: Route,
    partner: str,
    name: str,
    content: bytes | StreamedFile,
    *,
    connection: str | None = None,
    folder: str | None = None,
    file_id: str | None = None,
) -> Job | None:
    """Take one inbound file: ledger entry (file id + SHA-256), job and the file's bytes, in one
    transaction; None when the ledger already has it. A file pushed to our endpoint (a Cleo
    HTTP action) has no inbox id: its ledger id is `push:<name>`, and it is never archived; its
    bytes come as a `StreamedFile`, stored chunk by chunk, never joined in memory."""
    if isinstance(content, bytes):
        digest, size = hashlib.sha256(content).hexdigest(), len(content)
    else:
        digest, size = content.sha256, content.size
    ledger_id = file_id or f"push:{name}"
    with context.store.transaction() as tx:
        _, created = tx.ledger_record(ledger_id, digest, partner=partner, route=route.name)
        if not created:
            return None
        payload = {"connection": connection, "folder": folder, "file_id": file_id, "ledger_id": ledger_id, "name": name, "sha256": digest}
        key = f"{folder or 'push'}/{name}@{digest[:12]}"
        job, fresh = tx.enqueue(route.name, key, kind="file", partner=partner, payload=payload, source_ref=ledger_id)
        if not fresh:
            # The same name and bytes came before as another file (the partner sent it again): a
            # job of its own, which finds the interchange processed and archives this copy.
            job, _ = tx.enqueue(route.name, f"{key}#{ledger_id}", kind="file", partner=partner, payload=payload, source_ref=ledger_id)
        if isinstance(content, bytes):
            tx.put_artifact(job.id, "input", name, content, media_type="application/edi-x12")
        else:
            tx.put_artifact_stream(job.id, "input", name, content.chunks(), media_type="application/edi-x12")
        tx.ledger_update(ledger_id, digest, state="received", job_id=job.id)
        context.audit(job, "received", tx=tx, detail={"file": f"{folder or 'push'}/{name}", "bytes": size, "sha256": digest})
    return job


def _owner(context: Context, route: Route, partner: Partner, content: bytes) -> Route:
    """The route that takes an inbox file: the one the partner takes for the file's first
    transaction set, else this route (a file no route takes, or not X12, fails in its job)."""
    text = content[:65536].decode("utf-8", errors="replace")
    try:
        delimiters = detect(text.lstrip("\ufeff"))[0]
    except X12Error:
        return route
    found = re.search(re.escape(delimiters.segment) + r"\s*ST" + re.escape(delimiters.element) + r"([0-9]{3})", text)
    if found is None:
        return route
    set_id = found.group(1)
    return inbound_route_for(context.project, partner, set_id) or route


def files_name(cleo: dict[str, Any], route: Route) -> str:
    """The connection of a partner's Cleo folders (its own, else the route source's)."""
    return str(cleo.get("connection") or route.source.connection)
