"""Rendering inbound and JSON mappings: a parsed X12 transaction (or ERP JSON) -> a payload.

The mapping's `output` is a template of the payload: mappings and lists are copied with their
values rendered, `{for_each, as, when, item}` becomes a list, `{value, when}` is a key that is
left out when its condition is false. Like outbound rendering this is pure, and every
cross-reference miss of one document is collected and reported together (an 850 with two
unknown items names both), so nothing is created from a half-resolved document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.errors import MappingError
from engine.mapping.compile import CompiledMapping, ForNode, ListNode, ObjectNode, OptionalNode
from engine.mapping.outbound import selected, unresolved_message
from engine.mapping.payloads import Builder, builder
from engine.mapping.templates import LoopInfo, Value, base_context, truthy

_OMIT = object()


class _Misses:
    """The render state the `xref` filter reports unresolved keys to."""

    __slots__ = ("unresolved",)

    def __init__(self) -> None:
        self.unresolved: list[tuple[str, str]] = []


def _render(node: Any, context: dict[str, Any]) -> Any:
    kind = type(node)
    if kind is Value:
        return node.evaluate(context)
    if kind is ObjectNode:
        result = {}
        for key, child in node.items:
            value = _render(child, context)
            if value is not _OMIT:
                result[key] = value
        return result
    if kind is ForNode:
        items = selected(node.path.items(context, node.where), node.alias, node.when, context)
        out = []
        length = len(items)
        for index, item in enumerate(items):
            inner = dict(context)
            inner[node.alias] = item
            inner["loop"] = LoopInfo(index, length)
            out.append(_render(node.item, inner))
        return out
    if kind is OptionalNode:
        if node.when is not None and not truthy(node.when.evaluate(context)):
            return _OMIT
        return _render(node.value, context)
    if kind is ListNode:
        return [value for value in (_render(child, context) for child in node.items) if value is not _OMIT]
    return node


def payload_builder(output: Any) -> Builder:
    """The output template as one generated function returning what `_render` returns (see
    `engine.mapping.payloads`)."""
    return builder(output, {"_selected": selected, "_LoopInfo": LoopInfo, "_OMIT": _OMIT})


def render_payload(
    mapping: CompiledMapping,
    doc: Any,
    *,
    partner: dict[str, Any],
    now: datetime,
    lookups: dict[str, Any] | None = None,
    interchange: dict[str, Any] | None = None,
    group: dict[str, Any] | None = None,
    document: str = "document",
) -> Any:
    """The payload for one document (`doc`: a transaction body, or ERP JSON for `json`)."""
    if mapping.direction == "outbound":
        raise MappingError(f"mapping {mapping.name} is outbound; it renders X12, not a payload")
    misses = _Misses()
    context = base_context(
        doc=doc,
        partner=partner,
        lookups=lookups or {},
        now=now,
        interchange=interchange or {},
        group=group or {},
        _state=misses,
    )
    try:
        output = mapping.builder(context) if mapping.builder is not None else _render(mapping.output, context)
    except MappingError as exc:
        raise MappingError(f"{document}: {exc.message}") from None
    if misses.unresolved:
        raise MappingError(f"{document}: {unresolved_message(partner, misses.unresolved)}")
    return output


def document_key(mapping: CompiledMapping, doc: Any, *, partner: dict[str, Any], default: str = "") -> str:
    """The document key the mapping declares (`key:`), e.g. an 850's BEG03."""
    if mapping.key is None:
        return default
    value = mapping.key.evaluate(base_context(doc=doc, partner=partner))
    return "" if value is None else str(value)
