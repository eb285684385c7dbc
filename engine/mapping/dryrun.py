"""Dry runs: one input file through one mapping, as a route would, with nothing sent or stored.

`mlc render` and the golden cases (`mlc test`, pytest) both come through here, so a case
tests exactly what a render shows. The partner is the one given, or resolved from the
document as a route would: for ERP JSON through the `partner:` selection of the routes that
use the mapping (a BC customer number, a GP vendor id...), for X12 by the ISA sender.
Control numbers and the clock are injected; a render never consumes control numbers.

A partner whose file overrides the named mapping (`overrides.mappings`) is rendered through
its override, as a route would: `DryRun.mapping` is the mapping used, `DryRun.requested` the
one named (`mlc render` says which it used).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError, MappingError
from engine.guides import check_or_raise, check_rendered, origin_in_mapping
from engine.mapping.compile import CompiledMapping
from engine.mapping.inbound import render_payload
from engine.mapping.outbound import Controls, render_outbound
from engine.mapping.templates import base_context
from engine.x12.document import CheckedTransaction, group_facts, interchange_facts, walk
from engine.x12.reader import Interchange

if TYPE_CHECKING:
    from engine.config.project import Partner, Project

DEFAULT_CONTROLS = Controls(isa=1, gs=1, st=1)


@dataclass
class DryRun:
    """What a dry run produced: X12 text or a JSON payload, for which partner, with notes."""

    mapping: str
    partner: str
    output: str
    media_type: str
    notes: list[str] = field(default_factory=list)
    requested: str = ""
    """The mapping named by the caller; `mapping` differs when the partner overrides it."""

    @property
    def overridden(self) -> bool:
        """Whether the partner's override was used instead of the mapping named."""
        return bool(self.requested) and self.requested != self.mapping


def load_json(data: bytes, source: str) -> Any:
    """An ERP document from JSON bytes; a clear error when it is not JSON."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MappingError(f"{source}: not a JSON document ({exc})") from None


def partner_for_document(project: Project, mapping: str, doc: Any, source: str) -> Partner:
    """The partner a route using `mapping` would pick for an ERP document."""
    tried: list[str] = []
    for route in project.routes.values():
        if route.partner_by is None or route.partner_key is None or not _uses(project, route.mapping, mapping):
            continue
        key = route.partner_key.evaluate(base_context(doc=doc))
        tried.append(f"{route.partner_by} {key!r} (route {route.name})")
        found = project.match_partner(route.partner_by, str(key))
        if found is not None:
            return found
    if not tried:
        raise MappingError(
            f"{source}: no route uses mapping {mapping} to say how its partner is chosen; give --partner "
            f"(partners: {', '.join(sorted(project.partners))})"
        )
    raise MappingError(f"{source}: no partner matches {'; '.join(tried)}; give --partner or add the key to a partner file")


def _uses(project: Project, route_mapping: Any, mapping: str) -> bool:
    if route_mapping == mapping:
        return True
    return any(
        (p.data.get("overrides") or {}).get("mappings", {}).get(route_mapping) == mapping for p in project.partners.values()
    )


def render_erp_document(
    project: Project,
    mapping: CompiledMapping,
    data: bytes,
    source: str,
    *,
    partner: str | None = None,
    now: datetime,
    controls: Controls = DEFAULT_CONTROLS,
    lookups: dict[str, Any] | None = None,
) -> DryRun:
    """ERP JSON -> X12 (outbound) or a JSON payload (json mappings)."""
    doc = load_json(data, source)
    chosen = _partner(project, partner) if partner else partner_for_document(project, mapping.name, doc, source)
    mapping = _for_partner(project, mapping, chosen)
    if mapping.direction == "outbound":
        rendered = render_outbound(
            mapping, doc, partner=chosen.data, now=now, controls=controls, lookups=lookups, document=source
        )
        written = project.mapping_sources.get(mapping.name)
        check_rendered(chosen.guide, rendered.set_id, "outbound", rendered.tree, source, (lambda v: origin_in_mapping(written, v)) if written else None)
        return DryRun(mapping.name, chosen.id, rendered.text, "application/edi-x12", rendered.notes)
    payload = render_payload(mapping, doc, partner=chosen.data, now=now, lookups=lookups, document=source)
    return DryRun(mapping.name, chosen.id, dump_json(payload), "application/json")


def _for_partner(project: Project, mapping: CompiledMapping, partner: Partner) -> CompiledMapping:
    """The mapping `partner` uses where `mapping` is named (its override, if it has one)."""
    used = project.mapping_for(mapping.name, partner)
    return project.mappings.get(used, mapping) if used != mapping.name else mapping


def _partner(project: Project, partner_id: str) -> Partner:
    try:
        return project.partners[partner_id]
    except KeyError:
        raise MappingError(
            f"unknown partner {partner_id!r} (partners: {', '.join(sorted(project.partners))})"
        ) from None


_PAYLOAD_JSON = json.JSONEncoder(indent=2, ensure_ascii=False, sort_keys=False)
"""The JSON form of payloads everywhere (it keeps no state between calls)."""

JSON_CHUNK = 1 << 20
"""About how many characters of a payload's JSON `json_chunks` encodes at a time."""


def dump_json(value: Any) -> str:
    """The JSON form of payloads everywhere (stable: golden files compare as text)."""
    return _PAYLOAD_JSON.encode(value) + "\n"


def json_chunks(value: Any, size: int = JSON_CHUNK) -> Iterator[bytes]:
    """`dump_json(value).encode("utf-8")` in pieces of about `size` bytes: the JSON of a
    receipt of 144,000 lines is stored without joining it in memory (an indented encoding
    builds a list of every token before joining them)."""
    pieces: list[str] = []
    held = 0
    for piece in _PAYLOAD_JSON.iterencode(value):
        pieces.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(pieces).encode("utf-8")
            pieces, held = [], 0
    pieces.append("\n")
    yield "".join(pieces).encode("utf-8")


def transactions(data: bytes, source: str) -> list[CheckedTransaction]:
    """Every transaction of an X12 file, read and checked; envelope errors refuse the file."""
    found: list[CheckedTransaction] = []
    for event in walk(io.BytesIO(data), source):
        if isinstance(event, CheckedTransaction):
            found.append(event)
        elif isinstance(event, Interchange):
            errors = [p for p in event.problems if p.level == "error"]
            if errors:
                raise MappingError(f"{source}: {errors[0].line(source)}")
    return found


def partner_for_interchange(project: Project, interchange: Interchange, source: str) -> Partner:
    """The partner whose ISA qualifier and id sent this interchange."""
    key = f"{interchange.sender_qualifier}/{interchange.sender_id}"
    try:
        return project.find_partner("x12.sender", key)
    except ConfigError as exc:
        raise MappingError(f"{source}: {exc.message}") from None


def render_x12_document(
    project: Project,
    mapping: CompiledMapping,
    data: bytes,
    source: str,
    *,
    partner: str | None = None,
    now: datetime,
    lookups: dict[str, Any] | None = None,
) -> DryRun:
    """X12 -> the ERP payload of every transaction of the mapping's set (one, or a list)."""
    payloads: list[Any] = []
    chosen: Partner | None = _partner(project, partner) if partner else None
    for checked in transactions(data, source):
        if checked.parsed.set_id != mapping.transaction_set:
            continue
        errors = [p for p in checked.problems if p.level == "error"]
        if errors:
            shown = "; ".join(p.line(source) for p in errors[:3])
            raise MappingError(f"{source}: transaction {checked.parsed.control_number} is invalid: {shown}")
        group = checked.raw.group
        interchange = group.interchange
        owner = chosen or partner_for_interchange(project, interchange, source)
        if chosen is None:
            mapping = _for_partner(project, mapping, owner)
        document = f"{source} (ST02 {checked.parsed.control_number})"
        check_or_raise(owner.guide, checked.parsed.set_id, "inbound", checked.parsed.tree, document)
        payloads.append(
            render_payload(
                mapping,
                checked.parsed.tree,
                partner=owner.data,
                now=now,
                lookups=lookups,
                interchange=interchange_facts(interchange),
                group=group_facts(group),
                document=document,
            )
        )
        chosen = chosen or owner
    if not payloads:
        raise MappingError(f"{source}: holds no {mapping.transaction_set} transaction for mapping {mapping.name}")
    output = payloads[0] if len(payloads) == 1 else payloads
    assert chosen is not None
    return DryRun(mapping.name, chosen.id, dump_json(output), "application/json")


def dry_run(
    project: Project,
    mapping_name: str,
    data: bytes,
    source: str,
    *,
    partner: str | None = None,
    now: datetime,
    controls: Controls = DEFAULT_CONTROLS,
    lookups: dict[str, Any] | None = None,
) -> DryRun:
    """Render `data` through the named mapping (the direction decides what the input is)."""
    try:
        mapping = project.mappings[mapping_name]
    except KeyError:
        raise MappingError(
            f"unknown mapping {mapping_name!r} (mappings: {', '.join(sorted(project.mappings))})"
        ) from None
    if mapping.direction == "inbound":
        if partner:
            mapping = _for_partner(project, mapping, _partner(project, partner))
        result = render_x12_document(project, mapping, data, source, partner=partner, now=now, lookups=lookups)
    else:
        result = render_erp_document(project, mapping, data, source, partner=partner, now=now, controls=controls, lookups=lookups)
    result.requested = mapping_name
    return result
