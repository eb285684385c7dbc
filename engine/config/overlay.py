"""Mapping overlays: a mapping that `extends:` another one and changes it in a few lines.

A partner variant of a standard mapping is an overlay, not a fork:

    name: northwind-810
    extends: bc-sales-invoice-to-810        # a shipped mapping or one of the project's
    changes:
      - remove: N1_loop[RI]                 # the N1*RI group: N1 and its N2/N3/N4/REF/PER items
      - replace: REF[IA]
        with: {REF: {REF01: IA, REF02: "{{ partner.settings.vendor_number }}"}}
      - add: {ITD: {ITD01: "05", ITD07: "30"}}
        after: N1_loop[ST]
      - set: {BIG07: PR}                    # add or replace elements (null removes one)
        at: BIG
      - remove: IT1_loop/IT1/IT108          # one element

The merge happens on the YAML data, before the mapping is compiled (`merge`): the result is a
`YamlSource` of mapping data whose every node keeps the file and position it came from (the
base's nodes point into the base mapping, the overlay's into the overlay), so a compile error
or a render error names the line that wrote the value.

Addresses are `/`-separated steps, each a segment id with an optional qualifier in brackets:

- `REF`, `REF[IA]`, `DTM[011]`: a segment item of the current list whose first element
  (REF01, DTM01) is that literal;
- `IT1_loop`, `N1_loop[ST]`: a `for_each` item whose first segment is IT1 (its `segments` are
  the next step's list), or a segment item N1[ST] together with the items after it that the
  transaction set's definition puts in the N1 loop (N2, N3, N4, REF, PER...): mappings write
  the N1 loop flat, as the segments appear;
- a last step that is an element id (`BIG07`, `IT1_loop/IT1/IT108`) addresses that element.

A step must match exactly one item. A change that addresses nothing is `overlay-no-match`,
one that matches several is `overlay-ambiguous`; both name the addresses that do exist there.
Changes apply in order, each to the result of the ones before it.

Inbound and json mappings change their `output` template: the overlay's `output` is merged
into the base's key by key (a nested mapping merges, anything else replaces, `null` removes
the key). `key` and `description` replace the base's; `direction`, `transaction_set` and
`version` are the base's and cannot change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource
from engine.x12 import definition as definitions

__all__ = ["Node", "is_overlay", "merge"]

_STEP = re.compile(r"^(?P<seg>[A-Z][A-Z0-9]{1,2})(?P<loop>_loop)?(?:\[(?P<qual>[^\]\[/]+)\])?$")
_ELEMENT = re.compile(r"^(?P<seg>[A-Z][A-Z0-9]{1,2})[0-9]{2}$")
_ANCHORS = ("after", "before", "into")
_FIXED = ("direction", "transaction_set", "version")


def is_overlay(data: Any) -> bool:
    """Whether a mapping file's data is an overlay (it has `extends:`)."""
    return isinstance(data, dict) and "extends" in data


@dataclass
class Node:
    """A value of the merged tree and where it was written (`src` at `ptr`); mappings and
    lists hold Nodes."""

    value: Any
    src: YamlSource
    ptr: Pointer


def lift(src: YamlSource, ptr: Pointer, data: Any) -> Node:
    """`data` (found in `src` at `ptr`) as a Node tree."""
    if isinstance(data, dict):
        return Node({k: lift(src, (*ptr, k), v) for k, v in data.items()}, src, ptr)
    if isinstance(data, list):
        return Node([lift(src, (*ptr, i), v) for i, v in enumerate(data)], src, ptr)
    return Node(data, src, ptr)


def _lower(node: Node, ptr: Pointer, out: YamlSource) -> Any:
    place = node.src.values.get(node.ptr)
    if place is not None:
        out.values[ptr] = place
        out.files[ptr] = node.src.files.get(node.ptr, node.src.path)
    key = node.src.keys.get(node.ptr)
    if key is not None:
        out.keys[ptr] = key
    if isinstance(node.value, dict):
        return {k: _lower(v, (*ptr, k), out) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_lower(v, (*ptr, i), out) for i, v in enumerate(node.value)]
    return node.value


def plain(node: Node) -> Any:
    """The data of a Node tree."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


# -- items and addresses ----------------------------------------------------------------------


def _segment_id(item: Node) -> str | None:
    """The segment id of a segment item (None for a loop or anything else)."""
    if not isinstance(item.value, dict) or "for_each" in item.value:
        return None
    ids = [k for k in item.value if k != "when"]
    return str(ids[0]) if len(ids) == 1 else None


def _qualifier(item: Node, seg: str) -> str | None:
    elements = item.value.get(seg)
    first = elements.value.get(f"{seg}01") if elements is not None and isinstance(elements.value, dict) else None
    if first is None or isinstance(first.value, dict | list):
        return None
    text = str(first.value)
    return None if "{{" in text or "{%" in text else text


def _first_segment(item: Node) -> Node | None:
    body = item.value.get("segments") if isinstance(item.value, dict) else None
    children: list[Node] = body.value if body is not None and isinstance(body.value, list) else []
    for child in children:
        if _segment_id(child) is not None:
            return child
        if isinstance(child.value, dict) and "for_each" in child.value:
            return _first_segment(child)
        return None
    return None


def _label(item: Node) -> str | None:
    """The address step of an item in its list: `REF[IA]`, `IT1_loop`, `BIG`."""
    seg = _segment_id(item)
    if seg is None and isinstance(item.value, dict) and "for_each" in item.value:
        first = _first_segment(item)
        if first is None:
            return None
        seg = _segment_id(first)
        qual = _qualifier(first, str(seg))
        return f"{seg}_loop" + (f"[{qual}]" if qual else "")
    if seg is None:
        return None
    qual = _qualifier(item, seg)
    return seg + (f"[{qual}]" if qual else "")


@dataclass
class _Span:
    """Items `start:end` of a list Node; `body` is the list the next step looks in."""

    items: Node
    start: int
    end: int
    body: tuple[Node, int, int] | None
    """(list, start, end) the next step searches; None: only an element step may follow."""

    @property
    def item(self) -> Node:
        return self.items.value[self.start]  # type: ignore[no-any-return]


@dataclass
class _Element:
    item: Node
    segment: str
    element: str


class _Resolver:
    def __init__(self, members: Callable[[str], frozenset[str]]) -> None:
        self.members = members

    def spans(self, step: str, where: tuple[Node, int, int]) -> list[_Span]:
        match = _STEP.match(step)
        assert match is not None
        seg, loop, qual = match["seg"], match["loop"], match["qual"]
        items, lo, hi = where
        found: list[_Span] = []
        values: list[Node] = items.value
        for index in range(lo, hi):
            item = values[index]
            if loop and isinstance(item.value, dict) and "for_each" in item.value:
                first = _first_segment(item)
                if first is not None and _segment_id(first) == seg and (qual is None or _qualifier(first, seg) == qual):
                    body = item.value["segments"]
                    found.append(_Span(items, index, index + 1, (body, 0, len(body.value))))
                continue
            if _segment_id(item) != seg or (qual is not None and _qualifier(item, seg) != qual):
                continue
            if loop:
                members = self.members(seg)
                end = index + 1
                while end < hi and (other := _segment_id(values[end])) is not None and other != seg and other in members:
                    end += 1
                found.append(_Span(items, index, end, (items, index, end)))
            else:
                found.append(_Span(items, index, index + 1, None))
        return found

    def labels(self, where: tuple[Node, int, int]) -> list[str]:
        items, lo, hi = where
        seen: list[str] = []
        for item in items.value[lo:hi]:
            label = _label(item)
            if label and label not in seen:
                seen.append(label)
        return seen


class _Overlay:
    """Applies one overlay's changes; findings are placed in the overlay file."""

    def __init__(self, overlay: YamlSource, members: Callable[[str], frozenset[str]]) -> None:
        self.overlay = overlay
        self.resolver = _Resolver(members)
        self.findings: list[Finding] = []

    def find(self, pointer: Pointer, code: str, message: str) -> None:
        self.findings.append(Finding(self.overlay.where(pointer), code, message))

    def resolve(self, address: Any, pointer: Pointer, segments: Node) -> _Span | _Element | None:
        """The one place `address` names in `segments`, or None (with a finding)."""
        if not isinstance(address, str) or not address.strip():
            self.find(pointer, "overlay-address", f"an address is text such as REF[IA] or IT1_loop/PID, found {address!r}")
            return None
        steps = [s.strip() for s in address.strip().strip("/").split("/")]
        where: tuple[Node, int, int] | None = (segments, 0, len(segments.value))
        span: _Span | None = None
        walked: list[str] = []
        for position, step in enumerate(steps):
            last = position == len(steps) - 1
            element = _ELEMENT.match(step)
            if element and last:
                if span is None:
                    # a bare element id: its segment, looked up as the step before it
                    span = self._one(element["seg"], where, walked, address, pointer)
                    if span is None:
                        return None
                seg = _segment_id(span.item)
                if seg is None or span.end - span.start != 1 or element["seg"] != seg:
                    self.find(pointer, "overlay-address", f"{address!r}: {step} is not an element of {'/'.join(walked) or 'that item'}")
                    return None
                return _Element(span.item, seg, step)
            if not _STEP.match(step):
                self.find(
                    pointer,
                    "overlay-address",
                    f"{address!r}: {step!r} is not a step (a segment id such as REF, REF[IA] or N1_loop[ST]; an element id such as BIG07 last)",
                )
                return None
            if where is None:
                self.find(pointer, "overlay-address", f"{address!r}: {'/'.join(walked)} is a segment; only an element id can follow it")
                return None
            span = self._one(step, where, walked, address, pointer)
            if span is None:
                return None
            walked.append(step)
            where = span.body
        return span

    def _one(self, step: str, where: tuple[Node, int, int] | None, walked: list[str], address: str, pointer: Pointer) -> _Span | None:
        assert where is not None
        found = self.resolver.spans(step, where)
        inside = f" in {'/'.join(walked)}" if walked else ""
        if not found:
            there = ", ".join(self.resolver.labels(where)) or "nothing"
            self.find(pointer, "overlay-no-match", f"{address!r} addresses nothing: no {step}{inside} (there: {there})")
            return None
        if len(found) > 1:
            lines = ", ".join(str(s.item.src.where(s.item.ptr)) for s in found)
            self.find(
                pointer,
                "overlay-ambiguous",
                f"{address!r}: {step}{inside} matches {len(found)} items ({lines}); add a qualifier or the loop (N1_loop[ST]/N3)",
            )
            return None
        return found[0]

    def items(self, raw: Any, pointer: Pointer) -> list[Node] | None:
        """The items an `add`/`with` brings (one item or a list), lifted from the overlay."""
        if isinstance(raw, dict):
            return [lift(self.overlay, pointer, raw)]
        if isinstance(raw, list) and all(isinstance(i, dict) for i in raw):
            return [lift(self.overlay, (*pointer, i), item) for i, item in enumerate(raw)]
        self.find(pointer, "overlay-change", f"expected a segment item ({{SEG: {{SEG01: value}}}}), a loop (for_each) or a list of them, found {raw!r}")
        return None

    def apply(self, change: Any, pointer: Pointer, segments: Node) -> None:
        if not isinstance(change, dict):
            return  # the overlay schema reports it
        if "remove" in change:
            target = self.resolve(change["remove"], (*pointer, "remove"), segments)
            if isinstance(target, _Span):
                del target.items.value[target.start : target.end]
            elif isinstance(target, _Element):
                elements = target.item.value[target.segment]
                if not isinstance(elements.value, dict) or target.element not in elements.value:
                    self.find((*pointer, "remove"), "overlay-no-match", f"{change['remove']!r} addresses nothing: the segment has no {target.element}")
                else:
                    del elements.value[target.element]
        elif "replace" in change:
            target = self.resolve(change["replace"], (*pointer, "replace"), segments)
            if isinstance(target, _Span):
                new = self.items(change.get("with"), (*pointer, "with"))
                if new is not None:
                    target.items.value[target.start : target.end] = new
            elif isinstance(target, _Element):
                self._set_elements(target.item, target.segment, {target.element: change.get("with")}, (*pointer, "with"), single=True)
        elif "add" in change:
            anchors = [a for a in _ANCHORS if a in change]
            new = self.items(change["add"], (*pointer, "add"))
            if new is None or len(anchors) != 1:
                return  # the schema asks for exactly one anchor
            anchor = anchors[0]
            target = self.resolve(change[anchor], (*pointer, anchor), segments)
            if isinstance(target, _Element):
                self.find((*pointer, anchor), "overlay-address", f"{change[anchor]!r} is an element; add segments {anchor} a segment or loop")
            elif isinstance(target, _Span):
                if anchor == "into":
                    if target.body is None:
                        self.find((*pointer, anchor), "overlay-address", f"{change[anchor]!r} is a segment; 'into' needs a loop (IT1_loop, N1_loop[ST])")
                        return
                    body, _, end = target.body
                    body.value[end:end] = new
                else:
                    at = target.end if anchor == "after" else target.start
                    target.items.value[at:at] = new
        elif "set" in change:
            target = self.resolve(change.get("at"), (*pointer, "at"), segments)
            values = change["set"]
            if not isinstance(values, dict) or target is None:
                return
            if isinstance(target, _Element):
                self.find((*pointer, "at"), "overlay-address", f"{change['at']!r} is an element; 'set' changes the elements of a segment (at: BIG)")
            elif target.end - target.start != 1:
                self.find((*pointer, "at"), "overlay-address", f"{change['at']!r} is a group of {target.end - target.start} items; 'set' changes one segment or loop")
            else:
                item = target.item
                seg = _segment_id(item)
                if seg is None:
                    self._set_loop(item, values, (*pointer, "set"))
                else:
                    self._set_elements(item, seg, values, (*pointer, "set"))

    def _set_elements(self, item: Node, seg: str, values: dict[str, Any], pointer: Pointer, *, single: bool = False) -> None:
        elements = item.value[seg]
        if not isinstance(elements.value, dict):
            elements.value = {}
        for key, raw in values.items():
            here = pointer if single else (*pointer, key)
            if key == "when":
                if raw is None:
                    item.value.pop("when", None)
                else:
                    item.value["when"] = lift(self.overlay, here, raw)
            elif not (isinstance(key, str) and (m := _ELEMENT.match(key)) and m["seg"] == seg):
                self.find(here, "overlay-change", f"{key!r} is not an element of {seg} (set {seg}01, {seg}02, ... or when)")
            elif raw is None:
                elements.value.pop(key, None)
            else:
                elements.value[key] = lift(self.overlay, here, raw)

    def _set_loop(self, item: Node, values: dict[str, Any], pointer: Pointer) -> None:
        for key, raw in values.items():
            if key not in ("for_each", "as", "when"):
                self.find((*pointer, key), "overlay-change", f"{key!r}: 'set' on a loop changes for_each, as or when")
            elif raw is None and key != "for_each":
                item.value.pop(key, None)
            else:
                item.value[key] = lift(self.overlay, (*pointer, key), raw)


def _merge_output(base: Node, overlay: Node) -> Node:
    if not isinstance(base.value, dict) or not isinstance(overlay.value, dict):
        return overlay
    merged = dict(base.value)
    for key, child in overlay.value.items():
        if child.value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = _merge_output(merged[key], child)
        else:
            merged[key] = child
    return Node(merged, base.src, base.ptr)


def loop_members(version: str, transaction_set: Any) -> Callable[[str], frozenset[str]]:
    """For a segment id, the segment ids its loop holds in the set's definition (N1 -> N1,
    N2, N3, N4, REF, PER, DMG in the 810); empty when it starts no loop."""
    table = _loop_table(version, str(transaction_set)) if isinstance(transaction_set, str) else {}
    return lambda seg: table.get(seg, frozenset())


@cache
def _loop_table(version: str, transaction_set: str) -> dict[str, frozenset[str]]:
    found = definitions.load(version, transaction_set)
    table: dict[str, frozenset[str]] = {}
    if found is not None:
        for node in found.body.walk():
            if isinstance(node, definitions.LoopDef):
                table.setdefault(node.trigger, frozenset(n.id for n in node.body if isinstance(n, definitions.SegmentUse)))
    return table


def merge(base: YamlSource, overlay: YamlSource, name: str) -> tuple[YamlSource, list[Finding]]:
    """The mapping `overlay` (extending `base`, already merged itself when it is an overlay)
    describes, with every node's position kept; the findings are the overlay's mistakes."""
    assert isinstance(base.data, dict) and isinstance(overlay.data, dict)
    tree = lift(base, (), base.data)
    data: dict[str, Node] = tree.value
    patch: dict[str, Any] = overlay.data
    worker = _Overlay(overlay, loop_members(str(base.data.get("version") or "004010"), base.data.get("transaction_set")))
    for key in _FIXED:
        if key in patch and patch[key] != base.data.get(key):
            worker.find((key,), "overlay-change", f"an overlay keeps the {key} of {patch['extends']} ({base.data.get(key)!r}); found {patch[key]!r}")
    data.pop("name", None)
    for key in ("name", "description", "key"):
        if key in patch:
            data[key] = lift(overlay, (key,), patch[key])
    if "output" in patch:
        lifted = lift(overlay, ("output",), patch["output"])
        data["output"] = _merge_output(data["output"], lifted) if "output" in data else lifted
    changes = patch.get("changes")
    if isinstance(changes, list) and changes:
        segments = data.get("segments")
        if segments is None or not isinstance(segments.value, list):
            worker.find(("changes",), "overlay-change", f"{patch['extends']} has no segments to change (changes are for outbound mappings; inbound and json overlays give output)")
        else:
            for index, change in enumerate(changes):
                worker.apply(change, ("changes", index), segments)
    merged = YamlSource(overlay.path, None)
    merged.data = _lower(tree, (), merged)
    merged.values[()] = overlay.values.get((), (1, 1))
    merged.files.pop((), None)
    return merged, worker.findings
