"""Rendering inbound and JSON mappings: a parsed X12 transaction (or ERP JSON) -> a payload.

The mapping's `output` is a template of the payload: mappings and lists are copied with their
values rendered, `{for_each, as, when, item}` becomes a list, `{value, when}` is a key that is
left out when its condition is false. Like outbound rendering this is pure, and every
cross-reference miss of one document is collected and reported together (an 850 with two
unknown items names both), so nothing is created from a half-resolved document. When the
mapping knows the entity its payload is written to (`CompiledMapping.target`), each value is
checked against its field's type as it is rendered (`engine.mapping.payload`): an X12 date
where the ERP wants `YYYY-MM-DD`, text where it wants a number, fail the document naming the
field, the value and the mapping line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.errors import MappingError
from engine.mapping.compile import CompiledMapping, ForNode, ListNode, ObjectNode, OptionalNode
from engine.mapping.outbound import selected, step, unresolved_message
from engine.mapping.payload import Check, PayloadError, field_check, is_checked, shown
from engine.mapping.sandbox import Budget, document_budget
from engine.mapping.templates import LoopInfo, Value, base_context, truthy
from engine.plugins import EntityShape

_OMIT = object()


class _State:
    """The render state: the document's budget, the unresolved keys the `xref` filter
    reports, what filters keep for the rest of the render (`hl_ancestor`'s index)."""

    __slots__ = ("budget", "cache", "unresolved")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.cache: dict[Any, Any] = {}
        self.unresolved: list[tuple[str, str]] = []


def _render(node: Any, context: dict[str, Any], state: _State, shape: EntityShape | None = None) -> Any:
    """`node` rendered; with `shape` (the entity the payload is written to, `mapping.target`)
    each value is checked against its field (`engine.mapping.payload`)."""
    kind = type(node)
    if kind is Value:
        return node.evaluate(context)
    if kind is ObjectNode:
        if shape is not None:
            return _checked_object(node, context, state, shape)
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
            try:
                out.append(_render(node.item, inner, state, shape))
            except PayloadError as exc:
                raise exc.within(f"[{index}]") from None
        return out
    if kind is OptionalNode:
        if node.when is not None and not truthy(node.when.evaluate(context)):
            return _OMIT
        return _render(node.value, context, state, shape)
    if kind is ListNode:
        out = []
        for index, child in enumerate(node.items):
            try:
                value = _render(child, context, state, shape)
            except PayloadError as exc:
                raise exc.within(f"[{index}]") from None
            if value is not _OMIT:
                out.append(value)
        return out
    return node


def _checked_object(node: ObjectNode, context: dict[str, Any], state: _State, shape: EntityShape) -> dict[str, Any]:
    """An object of the payload, each of the entity's fields checked against its type; the
    runtime's own keys (`_...`) are rendered unchecked. Unknown keys are `mlc validate`'s
    (`mapping-payload-field`), found before anything renders."""
    plan = node.plans.get(id(shape))
    if plan is None or plan[0] is not shape:
        plan = node.plans[id(shape)] = (shape, _plan(node, shape))
    result = {}
    for key, child, checked, lines, check in plan[1]:
        if not checked:
            value = _render(child, context, state)
        else:
            try:
                value = _render(child, context, state, lines)
            except PayloadError as exc:
                raise exc.within(key) from None
            if value is not _OMIT:
                if lines is not None:
                    if type(value) is not list:
                        raise PayloadError(key, f"got {shown(value)}: not a list; {shape.entity}.{key} takes a list of {lines.entity}", where_of(child))
                elif check is not None:
                    problem = check(value)
                    if problem is not None:
                        raise PayloadError(key, problem, where_of(child))
        if value is not _OMIT:
            result[key] = value
    return result


def _plan(node: ObjectNode, shape: EntityShape) -> list[tuple[str, Any, bool, EntityShape | None, Check | None]]:
    """For each key of `node`: whether it is the entity's, the shape of its lines, its check."""
    return [
        (key, child, is_checked(key), shape.lists.get(key), field_check(shape, key))
        for key, child in node.items
    ]


def where_of(node: Any) -> str:
    """The mapping line (`path:line (label)`) a template node's value comes from."""
    if type(node) is Value:
        return node.where
    if type(node) is OptionalNode:
        return where_of(node.value)
    if type(node) is ForNode:
        return node.where
    children = [child for _, child in node.items] if type(node) is ObjectNode else node.items if type(node) is ListNode else []
    return next((found for found in map(where_of, children) if found), "")


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
            output = _render(mapping.output, context, state, mapping.target)
    except MappingError as exc:
        raise MappingError(f"{document}: {exc.message}") from None
    except PayloadError as exc:
        raise MappingError(f"{document}: {exc.message()}") from None
    if state.unresolved:
        raise MappingError(f"{document}: {unresolved_message(partner, state.unresolved)}")
    return output


def document_key(mapping: CompiledMapping, doc: Any, *, partner: dict[str, Any], default: str = "") -> str:
    """The document key the mapping declares (`key:`), e.g. an 850's BEG03."""
    if mapping.key is None:
        return default
    value = mapping.key.evaluate(base_context(doc=doc, partner=partner))
    return "" if value is None else str(value)
