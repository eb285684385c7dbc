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

**store** (`store: acknowledgments`): an inbound 997 (the `x12-997-to-ack-status` payload) is
matched to the outbound group it acknowledges (our GS02/GS03, its AK102).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.config.project import Partner
from engine.config.route import Route
from engine.errors import ConfigError, MappingError
from engine.mapping.templates import base_context
from engine.runtime.lookups import MISSING
from engine.store import Job

if TYPE_CHECKING:
    from engine.runtime.runtime import Runtime

__all__ = ["WriteOutcome", "check_required", "write"]


@dataclass
class WriteOutcome:
    """What a write did: the audit event (`create`, `duplicate`, `update`, `ack`), a one-line
    message and details for the audit row."""

    event: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


def write(runtime: Runtime, route: Route, partner: Partner, output: Any, job: Job, *, source: str) -> WriteOutcome:
    """Write one mapped document to the route's target (module docstring)."""
    target = route.data["target"]
    if not isinstance(output, dict):
        raise MappingError(f"{source}: mapping {route.mapping} produced {type(output).__name__}, not an object to write")
    if "store" in target:
        return _acknowledge(runtime, partner, output, source)
    entity = str(target["entity"])
    if route.require:
        _require(runtime, route, str(target["connection"]), output, source)
    if target["operation"] == "create":
        return _create(runtime, target, entity, output, source)
    return _update(runtime, route, partner, target, entity, output, source)


def check_required(runtime: Runtime, route: Route, output: Any, source: str) -> None:
    """The route's `require` keys of one mapped document, without writing anything: a file's
    documents are all checked before the first is written (MappingError naming what is missing)."""
    target = route.data["target"]
    if route.require and isinstance(output, dict) and "entity" in target:
        _require(runtime, route, str(target["connection"]), output, source)


def _require(runtime: Runtime, route: Route, connection: str, output: dict[str, Any], source: str) -> None:
    missing: list[str] = []
    for entity, path in route.require.items():
        keys = sorted({str(match.value) for match in path.find(output) if match.value not in (None, "")})
        for key in keys:
            if runtime.lookups.get(runtime.systems, connection, entity, key) is MISSING:
                missing.append(f"{entity} {key!r}")
    if missing:
        raise MappingError(f"{source}: not found in {connection}: {', '.join(missing)}; nothing was written")


def _create(runtime: Runtime, target: dict[str, Any], entity: str, output: dict[str, Any], source: str) -> WriteOutcome:
    system = runtime.systems.records(str(target["connection"]))
    body = {k: v for k, v in output.items() if not k.startswith("_")}
    unique = target.get("unique")
    fields = [unique] if isinstance(unique, str) else list(unique or [])
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


def _update(runtime: Runtime, route: Route, partner: Partner, target: dict[str, Any], entity: str, output: dict[str, Any], source: str) -> WriteOutcome:
    if route.target_match is None:
        raise ConfigError(f"route {route.name}: an update target needs match:")
    key = route.target_match.evaluate(base_context(output=output, partner=partner.data))
    if key in (None, ""):
        raise MappingError(f"{source}: the route's match gives no record key to update")
    system = runtime.systems.records(str(target["connection"]))
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
    changed: list[str] = []
    patches: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # every line is found before anything is written
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
            if values:
                patches.append((line_set, found[0], values))
        changed.append(f"{len(changes)} line(s)")
    if header:
        system.update(entity, record_id, header, etag=record.get("@odata.etag"))
        changed.insert(0, f"{len(header)} field(s)")
    for line_set, line, values in patches:
        system.update(line_set, str(line["id"]), values, etag=line.get("@odata.etag"))
    return WriteOutcome("update", f"updated {entity} {key}: {', '.join(changed) or 'nothing to change'}", {"entity": entity, "updated": str(key)})


def _acknowledge(runtime: Runtime, partner: Partner, output: dict[str, Any], source: str) -> WriteOutcome:
    try:
        group_control = int(output["groupControlNumber"])
        status = str(output["statusCode"])
        sender = str(output["sender"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError(f"{source}: the 997 payload lacks groupControlNumber, statusCode or sender ({exc})") from None
    ours = str(output.get("receiver") or partner.data["x12"]["identity"].get("application_id") or partner.data["x12"]["identity"]["id"])
    matched = runtime.store.acknowledge_group(ours, sender, group_control, status, ack_file=source, partner=partner.id)
    if not matched:
        return WriteOutcome("ack", f"997 for group {group_control} from {sender} matches no group we sent (ignored)", {"group": group_control, "matched": False})
    return WriteOutcome("ack", f"group {group_control} acknowledged by {sender}: {status}", {"group": group_control, "status": status, "matched": True})
