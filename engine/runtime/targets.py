"""Writing a mapped inbound document to its target: an ERP create or update, or the store.

**create** (`operation: create`): the route's `unique` fields (one name or a list, e.g.
`[customerNumber, externalDocumentNumber]`: the partner's customer and its PO number) are read
from the payload and looked up first (`RecordSystem.find_by`); a record that exists is not
created again, and the outcome says so (`duplicate`). A re-delivered 850 or a job re-run after a
crash therefore never creates a second order.

**require** (`require: {items: "$.salesOrderLines[*].lineObjectNumber", customers: "$.customerNumber"}`):
before a create or update, every key the JSONPath finds in the payload must exist in that
entity set of the target system (read once per run through the lookup cache). The keys that
do not resolve are named together and nothing is written: an 850 whose item passed the
partner's cross-reference but is unknown to Business Central creates no half an order.

**update** (`operation: update`): `match` (a template over `output` and `partner`) names the
record (its number). The payload is the change set: top-level keys are PATCHed on the record
(with its ETag in If-Match), except keys starting with `_` (information kept in the artifact
and the audit, not sent) and lists of objects carrying `_match`, which are changes of the
document's lines: each line is found by the `_match` fields (`{lineObjectNumber: 1896-S}`)
and PATCHed on the line entity set of the same name (`purchaseOrderLines`) with the line's
own ETag. A line that is not there fails the document naming it, before anything is written.
Updates with the same values are harmless, so a re-run changes nothing twice.

**locked** (`locked: {when: "{{ record.status != 'Draft' }}", allows: [expectedReceiptDate]}`):
when `when` is true of the record as read (a Released Business Central order, whose lines
refuse quantity and cost changes: TestStatusOpen), only the `allows` fields are sent; every
other change that differs from the record is **held**: nothing of it is written, the outcome is
`held` and the job ends in the review state (`mlc jobs --state review`), to be replayed once
the record was reopened. An unlocked record takes the change set whole, as above.

**acknowledgment** (`acknowledgment: {quantity: quantity, price: directUnitCost, date:
expectedReceiptDate}`): a payload with `_acknowledgment` (the 855 mapping's) is recorded in the
store line by line (`Store.acknowledgments`): our line's quantity, price and date as read,
next to the partner's (the change's field of that name, else its `_<name>`), with the fields
applied and held.

**store** (`store: acknowledgments`): an inbound 997 (the `x12-997-to-ack-status` payload) is
matched to the outbound group it acknowledges (our GS02/GS03, its AK102).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.config import Partner
from engine.config.route import AcknowledgmentFields, EntityTarget, Route, StoreTarget
from engine.errors import ConfigError, MappingError
from engine.mapping.templates import base_context, truthy
from engine.runtime.context import Context
from engine.runtime.lookups import MISSING
from engine.store import AcknowledgmentLine, Job

__all__ = ["WriteOutcome", "check_required", "write"]


@dataclass
class WriteOutcome:
    """What a write did: the audit event (`create`, `duplicate`, `update`, `held`, `ack`), a one-line
    message and details for the audit row."""

    event: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


def write(context: Context, route: Route, partner: Partner, output: Any, job: Job, *, source: str) -> WriteOutcome:
    """Write one mapped document to the route's target (module docstring)."""
    target = route.target
    if not isinstance(output, dict):
        raise MappingError(f"{source}: mapping {route.mapping} produced {type(output).__name__}, not an object to write")
    if isinstance(target, StoreTarget):
        return _acknowledge(context, partner, output, source)
    if not isinstance(target, EntityTarget):
        raise ConfigError(f"route {route.name}: its target is a partner {target.folder} folder; only ERP and store targets are written to")
    _require(context, target, output, source)
    if target.operation == "create":
        return _create(context, target, output, source)
    return _update(context, route, partner, target, output, source, job)


def check_required(context: Context, route: Route, output: Any, source: str) -> None:
    """The route's `require` keys of one mapped document, without writing anything: a file's
    documents are all checked before the first is written (MappingError naming what is missing)."""
    if isinstance(route.target, EntityTarget) and isinstance(output, dict):
        _require(context, route.target, output, source)


def _require(context: Context, target: EntityTarget, output: dict[str, Any], source: str) -> None:
    connection = target.connection
    missing: list[str] = []
    for entity, path in target.require.items():
        keys = sorted({str(match.value) for match in path.find(output) if match.value not in (None, "")})
        for key in keys:
            if context.lookups.get(context.systems, connection, entity, key) is MISSING:
                missing.append(f"{entity} {key!r}")
    if missing:
        raise MappingError(f"{source}: not found in {connection}: {', '.join(missing)}; nothing was written")


def _create(context: Context, target: EntityTarget, output: dict[str, Any], source: str) -> WriteOutcome:
    entity = target.entity
    system = context.systems.records(target.connection)
    body = {k: v for k, v in output.items() if not k.startswith("_")}
    fields = target.unique
    if fields:
        missing = [name for name in fields if body.get(name) in (None, "")]
        if missing:
            raise MappingError(f"{source}: the payload has no {', '.join(missing)}, the field(s) that keep a re-delivered document from being created twice")
        keys = {name: body[name] for name in fields}
        existing = system.find_by(entity, keys, expand="")
        if existing is not None:
            number = existing.get("number") or existing.get("id") or existing
            shown = ", ".join(f"{k} {v!r}" for k, v in keys.items())
            return WriteOutcome("duplicate", f"{entity} {number} already exists for {shown}: not created again", {"entity": entity, "existing": str(number), **{"unique": keys}})
    created = system.create(entity, body)
    number = created.get("number") or created.get("id") or created.get("ReceiptId")
    return WriteOutcome("create", f"created {entity} {number}", {"entity": entity, "created": str(number)})


def _update(context: Context, route: Route, partner: Partner, target: EntityTarget, output: dict[str, Any], source: str, job: Job) -> WriteOutcome:
    if target.match is None:
        raise ConfigError(f"route {route.name}: an update target needs match:")
    entity = target.entity
    key = target.match.evaluate(base_context(output=output, partner=partner.data))
    if key in (None, ""):
        raise MappingError(f"{source}: the route's match gives no record key to update")
    system = context.systems.records(target.connection)
    header: dict[str, Any] = {}
    line_sets: dict[str, list[dict[str, Any]]] = {}
    for name, value in output.items():
        if name.startswith("_"):
            continue
        if isinstance(value, list) and value and all(isinstance(item, dict) and "_match" in item for item in value):
            line_sets[name] = value
        else:
            header[name] = value
    record = system.get(entity, str(key), expand=",".join(line_sets) if line_sets else "")
    record_id = str(record.get("id") or key)
    locked = _locked(target, record, output, partner)
    allows = target.locked.allows if target.locked is not None else frozenset()
    changed: list[str] = []
    patches: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # every line is found before anything is written
    lines_seen: list[tuple[dict[str, Any], dict[str, Any], list[str], list[str]]] = []
    for line_set, changes in line_sets.items():
        lines = record.get(line_set)
        if not isinstance(lines, list):
            raise MappingError(f"{source}: {entity} {key} has no {line_set} to change")
        for change in changes:
            match = change["_match"]
            if not isinstance(match, dict) or not match:
                raise MappingError(f"{source}: a {line_set} change needs _match as {{field: value}}, got {match!r}")
            found = [line for line in lines if all(line.get(f) == v for f, v in match.items())]
            if not found:
                raise MappingError(f"{source}: {entity} {key} has no line with {match} (lines: {', '.join(str(line.get('lineObjectNumber') or line.get('sequence')) for line in lines)})")
            values = {f: v for f, v in change.items() if not f.startswith("_")}
            send, held = _split(values, found[0], allows) if locked else (values, [])
            if send:
                patches.append((line_set, found[0], send))
            lines_seen.append((change, found[0], sorted(send), held))
        changed.append(f"{len(changes)} line(s)")
    header_send, header_held = _split(header, record, allows) if locked else (header, [])
    if header_send:
        system.update(entity, record_id, header_send, etag=record.get("@odata.etag"))
        changed.insert(0, f"{len(header_send)} field(s)")
    for line_set, line, values in patches:
        system.update(line_set, str(line["id"]), values, etag=line.get("@odata.etag"))
    held_lines = [(change, line, held) for change, line, _send, held in lines_seen if held]
    detail: dict[str, Any] = {"entity": entity, "updated": str(key)}
    if isinstance(output.get("_acknowledgment"), dict) and target.acknowledgment is not None:
        detail["acknowledgment"] = _record_acknowledgment(context, job, route, partner, target.acknowledgment, output, str(key), lines_seen, header_held, source)
    if not held_lines and not header_held:
        return WriteOutcome("update", f"updated {entity} {key}: {', '.join(changed) or 'nothing to change'}", detail)
    reason = (target.locked.reason if target.locked is not None else None) or "the record refuses these changes in its current state"
    shown = [f"line {_line_label(change, line)} {', '.join(held)}" for change, line, held in held_lines]
    if header_held:
        shown.insert(0, f"header {', '.join(header_held)}")
    applied = f"applied {', '.join(sorted({f for _c, _l, send, _h in lines_seen for f in send} | set(header_send))) or 'nothing'}"
    message = f"{entity} {key}: held for review ({reason}): {'; '.join(shown)}; {applied}"
    detail["held"] = [
        {"line": _line_label(change, line), "fields": held, "ours": {f: line.get(f) for f in held}, "theirs": {f: change.get(f) for f in held}}
        for change, line, held in held_lines
    ]
    if header_held:
        detail["held_header"] = {f: {"ours": record.get(f), "theirs": header[f]} for f in header_held}
    return WriteOutcome("held", message, detail)


def _locked(target: EntityTarget, record: dict[str, Any], output: dict[str, Any], partner: Partner) -> bool:
    """Whether the record as read takes only the `locked.allows` fields (`locked.when`)."""
    if target.locked is None:
        return False
    return truthy(target.locked.when.evaluate(base_context(record=record, output=output, partner=partner.data)))


def _split(values: dict[str, Any], current: dict[str, Any], allows: frozenset[str]) -> tuple[dict[str, Any], list[str]]:
    """(what a locked record takes, the fields it would refuse): an allowed field is sent; any
    other is held when it differs from the record's value, and left out when it is the same."""
    send = {f: v for f, v in values.items() if f in allows}
    held = sorted(f for f, v in values.items() if f not in allows and current.get(f) != v)
    return send, held


def _line_label(change: dict[str, Any], line: dict[str, Any]) -> str:
    number = change.get("_lineNumber") or line.get("sequence") or ""
    item = line.get("lineObjectNumber") or ""
    return f"{number} ({item})" if item else str(number)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _record_acknowledgment(
    context: Context,
    job: Job,
    route: Route,
    partner: Partner,
    fields: AcknowledgmentFields,
    output: dict[str, Any],
    key: str,
    lines_seen: list[tuple[dict[str, Any], dict[str, Any], list[str], list[str]]],
    header_held: list[str],
    source: str,
) -> dict[str, Any]:
    """The partner's acknowledgment, line by line, next to the record as read (the store's
    `acknowledgments`); its state is `review` when anything was held."""
    ack = output["_acknowledgment"]

    def theirs(change: dict[str, Any], name: str | None) -> Any:
        if not name:
            return None
        return change.get(name, change.get(f"_{name}"))

    lines: list[AcknowledgmentLine] = []
    for change, line, applied, held in lines_seen:
        quantity, price, date = fields.quantity, fields.price, fields.date
        lines.append(
            AcknowledgmentLine(
                line_number=str(change.get("_lineNumber") or line.get("sequence") or ""),
                item=str(line.get("lineObjectNumber") or ""),
                status=str(change.get("_status") or ""),
                status_code=str(change.get("_statusCode") or ""),
                ours_quantity=_number(line.get(quantity)) if quantity else None,
                theirs_quantity=_number(theirs(change, quantity)),
                ours_price=_number(line.get(price)) if price else None,
                theirs_price=_number(theirs(change, price)),
                ours_date=str(line.get(date)) if date and line.get(date) not in (None, "") else None,
                theirs_date=str(theirs(change, date)) if theirs(change, date) not in (None, "") else None,
                applied=tuple(applied),
                held=tuple(held),
            )
        )
    state = "review" if header_held or any(line.held for line in lines) else "applied"
    control = source.rsplit("ST02 ", 1)[-1] if "ST02 " in source else ""
    note = f"header fields held: {', '.join(header_held)}" if header_held else None
    with context.store.transaction() as tx:
        ack_id = tx.record_acknowledgment(
            job.id,
            route=route.name, partner=partner.id, document=key, control=control,
            ack_type=str(ack.get("type") or ""), vendor_order=_text(ack.get("vendorOrderNumber")),
            acknowledged_on=_text(ack.get("acknowledgedOn")), state=state, note=note, lines=lines,
        )
    return {"id": ack_id, "state": state, "lines": len(lines), "held": sum(1 for line in lines if line.held)}


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _acknowledge(context: Context, partner: Partner, output: dict[str, Any], source: str) -> WriteOutcome:
    try:
        group_control = int(output["groupControlNumber"])
        status = str(output["statusCode"])
        sender = str(output["sender"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError(f"{source}: the 997 payload lacks groupControlNumber, statusCode or sender ({exc})") from None
    ours = str(output.get("receiver") or partner.data["x12"]["identity"].get("application_id") or partner.data["x12"]["identity"]["id"])
    matched = context.store.acknowledge_group(ours, sender, group_control, status, ack_file=source, partner=partner.id)
    if not matched:
        return WriteOutcome("ack", f"997 for group {group_control} from {sender} matches no group we sent (ignored)", {"group": group_control, "matched": False})
    return WriteOutcome("ack", f"group {group_control} acknowledged by {sender}: {status}", {"group": group_control, "status": status, "matched": True})
