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
from engine.mapping.outbound import selected, step, unresolved_message
from engine.mapping.sandbox import Budget, document_budget
from engine.mapping.templates import LoopInfo, Value, base_context, truthy

_OMIT = object()


class _State:
    """The render state: the document's budget, the unresolved keys the `xref` filter
    reports, what filters keep for the rest of the render (`hl_ancestor`'s index)."""

    __slots__ = ("budget", "cache", "unresolved")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.cache: dict[Any, Any] = {}
        self.unresolved: list[tuple[str, str]] = []


def _render(node: Any, context: dict[str, Any], state: _State) -> Any:
    kind = type(node)
    if kind is Value:
        return node.evaluate(context)
    if kind is ObjectNode:
        result = {}
        for key, child in node.items:
            value = _render(child, context, state)
            if value is not _OMIT:
                result[key] = value
        return result
    if kind is ForNode:
        items = selected(node.path.items(context, node.where), node.alias, node.when, context)
        out = []
        length = len(items)
        inner = dict(context)  # one context for every item: nothing keeps it past its item
        for index, item in enumerate(items):
            step(state.budget, node.where)
            inner[node.alias] = item
            inner["loop"] = LoopInfo(index, length)
            out.append(_render(node.item, inner, state))
        return out
    if kind is OptionalNode:
        if node.when is not None and not truthy(node.when.evaluate(context)):
            return _OMIT
        return _render(node.value, context, state)
    if kind is ListNode:
        return [value for value in (_render(child, context, state) for child in node.items) if value is not _OMIT]
    return node


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
    try:
        with document_budget() as budget:
            state = _State(budget)
            context = base_context(
                doc=doc,
                partner=partner,
                lookups=lookups or {},
                now=now,
                interchange=interchange or {},
                group=group or {},
                _state=state,
            )
            output = _render(mapping.output, context, state)
    except MappingError as exc:
        raise MappingError(f"{document}: {exc.message}") from None
    if state.unresolved:
        raise MappingError(f"{document}: {unresolved_message(partner, state.unresolved)}")
    return output


def document_key(mapping: CompiledMapping, doc: Any, *, partner: dict[str, Any], default: str = "") -> str:
    """The document key the mapping declares (`key:`), e.g. an 850's BEG03."""
    if mapping.key is None:
        return default
    value = mapping.key.evaluate(base_context(doc=doc, partner=partner))
    return "" if value is None else str(value)
