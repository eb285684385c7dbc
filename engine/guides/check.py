"""Checking one transaction against its partner's guide, and saying where a fault came from.

`violations(set_guide, body)` returns every violation of the guide's requirements, codes,
lengths and rules in one parsed transaction body (the tree of `mlc x12 parse`); each names
the rule (its guide line), the segment (its position in the transaction, ST being 1) and the
element. `origin_in_mapping` finds the mapping line that writes a segment's element, so an
outbound violation also names the line (and through its template, the ERP field) to fix.
`check_or_raise` is what the runtime calls: a GuideError listing the violations
(`check_rendered` for a document we rendered, `check_interchange` for text read back).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.config import Location, YamlSource
from engine.config.mapping_checks import segment_entries
from engine.errors import GuideError
from engine.guides.address import index, missing, parse_address, qualifier_position, select
from engine.guides.guide import Guide, SetGuide
from engine.guides.rules import RuleContext, evaluate
from engine.x12.document import parse

__all__ = ["Violation", "check_interchange", "check_or_raise", "check_rendered", "origin_in_mapping", "violations"]

_SHOWN = 5


@dataclass(frozen=True)
class Violation:
    """One broken requirement of a guide in one transaction."""

    rule: str
    """What was broken: `require REF[IA]`, `codes IT103`, `max_length N102`, `rule tds-total`."""
    where: Location
    """The guide line of the requirement."""
    segment: str
    element: str | None
    qualifier: str | None
    position: int | None
    """The segment's position in the transaction (ST is 1), when the segment exists."""
    message: str
    place: str | None = None
    """Where the fault is, when not at `segment`/`element` (a segment missing from a loop)."""

    def line(self, origin: str | None = None) -> str:
        at = self.element or self.segment
        place = self.place or (f"{at} (segment {self.position})" if self.position else at)
        text = f"{place}: {self.message} [guide {self.rule}, {self.where}]"
        return f"{text}; {origin}" if origin else text


def violations(guide: SetGuide, body: dict[str, Any]) -> list[Violation]:
    """Every violation of `guide` in one transaction body (module docstring)."""
    root = index(body)
    found: list[Violation] = []
    reported: set[tuple[int, str]] = set()
    for address, where in guide.require:
        for scope, step, selected_by in missing(root, address):
            if (id(scope), str(step)) in reported:
                continue  # N1[ST] missing is one violation, however many N1[ST]/... paths need it
            reported.add((id(scope), str(step)))
            what = step.element or str(step)
            place = None
            inside = ""
            if scope.loop and scope is not root:
                qualified = f"[{selected_by.qualifier}]" if selected_by is not None and selected_by.qualifier else ""
                inside = f" in the {scope.tag}{qualified} loop"
                place = f"{scope.tag}{qualified} loop (segment {scope.head.position})"
            found.append(
                Violation(
                    f"require {address}", where, step.tag, step.element, step.qualifier,
                    scope.head.position or None, f"the partner requires {what}{inside}, and it is missing", place,
                )
            )
    for address, allowed, where in guide.codes:
        _, values = select(root, address)
        for segment, value in values:
            if value not in allowed:
                found.append(
                    Violation(
                        f"codes {address}", where, segment.tag, address.element, address.qualifier, segment.position,
                        f"{value!r} is not a code the partner accepts (valid: {', '.join(sorted(allowed))})",
                    )
                )
    for address, limit, where in guide.max_length:
        _, values = select(root, address)
        for segment, value in values:
            if len(value) > limit:
                found.append(
                    Violation(
                        f"max_length {address}", where, segment.tag, address.element, address.qualifier, segment.position,
                        f"{value!r} is {len(value)} characters; the partner accepts at most {limit}",
                    )
                )
    context = RuleContext(root, guide.definition)
    for rule in guide.rules:
        passed, actual, expected = evaluate(rule, context)
        if passed:
            continue
        tag = rule.at.split("/")[-1][:-2]
        at_address = parse_address(rule.at)
        _, at = select(root, at_address)
        written = at[0][0] if at else None
        said = f" ({rule.says})" if rule.says else ""
        if rule.kind == "equals":
            message = f"is {_shown(actual)}, the partner's rule{said} gives {_shown(expected)}"
        else:
            message = f"breaks the partner's rule{said}: {rule.text}"
        found.append(
            Violation(
                f"rule {rule.id}", rule.location, tag, rule.at.split("/")[-1], at_address.qualifier,
                written.position if written else None, message,
            )
        )
    return found


def check_or_raise(guide: Guide | None, set_id: str, direction: str, body: dict[str, Any], document: str, origin: Callable[[Violation], str | None] | None = None) -> None:
    """Raise a GuideError naming every violation (up to five shown) of `guide` in the body."""
    if guide is None:
        return
    set_guide = guide.for_set(set_id, direction)
    if set_guide is None:
        return
    found = violations(set_guide, body)
    if not found:
        return
    shown = "; ".join(v.line(origin(v) if origin else None) for v in found[:_SHOWN])
    more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
    raise GuideError(f"{document}: breaks partner {guide.partner}'s guide for the {set_id} ({len(found)} violation(s)): {shown}{more}", found)


def check_rendered(
    guide: Guide | None, set_id: str, direction: str, body: Callable[[], dict[str, Any]], document: str,
    origin: Callable[[Violation], str | None] | None = None,
) -> None:
    """`check_or_raise` on one transaction we rendered, its body built by `body` (an outbound
    render's `Rendered.tree`: the tree of the rendered segments, not of the text read back)
    only when the partner's guide has requirements for the set."""
    if guide is None or guide.for_set(set_id, direction) is None:
        return
    check_or_raise(guide, set_id, direction, body(), document, origin)


def check_interchange(guide: Guide | None, text: str, direction: str, document: str, origin: Callable[[Violation], str | None] | None = None) -> None:
    """`check_or_raise` on every transaction of an X12 interchange we wrote (an outbound
    render, read back: the guide reads the same tree inbound mappings read)."""
    if guide is None or not guide.sets:
        return
    tree = parse(io.BytesIO(text.encode("utf-8")), document)
    for interchange in tree["interchanges"]:
        for group in interchange["groups"]:
            for transaction in group["transactions"]:
                if guide.for_set(str(transaction["set"]), direction) is not None:
                    check_or_raise(guide, str(transaction["set"]), direction, transaction["body"], document, origin)


def origin_in_mapping(source: YamlSource, violation: Violation) -> str | None:
    """Where in the mapping the fault comes from, as a phrase for `Violation.line`: the entry
    that writes the element (`written by path:line:col (ELEMENT: template)`), the entry of a
    missing segment that did not produce it (its `when:`), or that no entry writes it."""
    items = source.data.get("segments") if isinstance(source.data, dict) else None
    candidates = [((*at, tag), elements) for at, tag, elements in segment_entries(items, ("segments",)) if tag == violation.segment]
    wanted = violation.segment + (f"[{violation.qualifier}]" if violation.qualifier else "")
    qualifier_key = f"{violation.segment}{qualifier_position(violation.segment):02d}"
    if violation.qualifier is not None:
        candidates = [c for c in candidates if str(c[1].get(qualifier_key, "")) == violation.qualifier]
    if not candidates:
        return f"no entry of {source.path} writes {wanted}"
    pointer, elements = candidates[0]
    if violation.element and violation.element in elements:
        value = elements[violation.element]
        text = value if isinstance(value, str) else str(value)
        return f"written by {source.where((*pointer, violation.element))} ({violation.element}: {text.strip()})"
    if violation.element:
        return f"the {wanted} entry at {source.where(pointer, key=True)} does not write {violation.element}"
    return f"the {wanted} entry at {source.where(pointer, key=True)} did not produce it (its when: or for_each)"


def _shown(value: Any) -> str:
    return "nothing" if value is None else str(value)

