"""One pass over a transaction's segments: the loop tree and every definition problem.

Segments are placed by their id alone (never by code values), walking the definition the way
X12 prescribes: look forward in the current loop, then in the enclosing loops; a loop's first
segment starts a new iteration. Because code values never decide the placement, a bad code is
one element error and not a cascade of "segment not found" errors.

Root causes, not echoes:
- a segment out of order is reported once, and counts as present for the mandatory check;
- an unknown segment is reported once and skipped without moving the position;
- a missing mandatory segment is reported when its loop closes, once.

The tree: each segment is an object keyed by element id (`"BEG03": "PO-4711"`), empty elements
omitted, composites as lists; a segment that may repeat (max use > 1) is always a list, a loop
that may repeat is always a list named `<first segment>_loop`. The 856 HL loop (hierarchical)
is nested by HL02 parent: each HL iteration holds its children under `HL_loop`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.x12 import problems as P
from engine.x12.definition import (
    UNBOUNDED,
    CompositeDef,
    ElementDef,
    LoopDef,
    SegmentDef,
    SegmentUse,
    TransactionSetDef,
    segment_dictionary,
)
from engine.x12.elements import check_value
from engine.x12.problems import Problem
from engine.x12.scanners import Scanner, scanner

Tree = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _CompiledLoop:
    """A loop with its forward-lookup tables: `lookup[i]` maps a segment id to the first node
    at index >= i it can start (a segment node, or a child loop by its trigger)."""

    loop: LoopDef
    lookup: tuple[dict[str, int], ...]
    children: dict[int, _CompiledLoop]
    mandatory: tuple[int, ...]


def _compile(loop: LoopDef, is_root: bool) -> _CompiledLoop:
    body = loop.body
    tables: list[dict[str, int]] = [{} for _ in range(len(body) + 1)]
    for index in range(len(body) - 1, -1, -1):
        table = dict(tables[index + 1])
        node = body[index]
        tag = node.id if isinstance(node, SegmentUse) else node.trigger
        if is_root or index > 0:  # a loop's own trigger always starts a new iteration
            table[tag] = index
        tables[index] = table
    children = {i: _compile(n, False) for i, n in enumerate(body) if isinstance(n, LoopDef)}
    mandatory = tuple(i for i, n in enumerate(body) if n.usage == "M")
    return _CompiledLoop(loop, tuple(tables), children, mandatory)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything compiled once per definition (kept by object identity: hashing the frozen
    definition tree on every transaction would cost more than walking it)."""

    root: _CompiledLoop
    all_ids: frozenset[str]
    hierarchical: bool
    scanners: dict[str, Scanner]
    """Each segment's scanner by segment id, generated on first use."""


_PLANS: dict[int, tuple[TransactionSetDef, _Plan]] = {}


def _plan(definition: TransactionSetDef) -> _Plan:
    cached = _PLANS.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    nodes = list(definition.body.walk())
    plan = _Plan(
        _compile(definition.body, True),
        frozenset(node.id for node in nodes if isinstance(node, SegmentUse)),
        any(isinstance(node, LoopDef) and node.hierarchical for node in nodes),
        {},
    )
    _PLANS[id(definition)] = (definition, plan)
    return plan


@dataclass(slots=True)
class _Frame:
    """One open loop iteration while walking."""

    compiled: _CompiledLoop
    obj: Tree
    index: int = 0
    counts: dict[int, int] = field(default_factory=dict)
    reported: set[int] = field(default_factory=set)


@dataclass
class ParsedTransaction:
    """A transaction's tree (or its flat segment list when it has no definition) and problems."""

    set_id: str
    control_number: str
    definition: TransactionSetDef | None
    tree: Tree
    problems: list[Problem]


class _Walker:
    def __init__(self, definition: TransactionSetDef, component: str, elements: bool = True) -> None:
        self.definition = definition
        self.component = component
        self.elements = elements
        """False: place segments by id only, without reading or checking their elements."""
        self.problems: list[Problem] = []
        self.plan = _plan(definition)
        self.scanners = self.plan.scanners
        self.all_ids = self.plan.all_ids
        self.places: dict[int, tuple[int, int]] = {}

    def problem(self, message: str, scope: str, code: str, position: int, seg_id: str, ts_pos: int, **kw: Any) -> None:
        self.problems.append(
            Problem(message, scope, code, position=position, segment_id=seg_id, ts_position=ts_pos, **kw)
        )

    def walk(self, segments: list[list[str]], first_position: int) -> Tree:
        root: Tree = {}
        stack = [_Frame(self.plan.root, root, 0)]
        body_end = len(segments) - 1 if segments and segments[-1][0] == "SE" else len(segments)
        for offset in range(1, body_end):
            seg = segments[offset]
            tag = seg[0]
            position = first_position + offset
            ts_pos = offset + 1
            level = len(stack) - 1
            found = -1
            while level >= 0:
                frame = stack[level]
                found = frame.compiled.lookup[frame.index].get(tag, -1)
                if found >= 0:
                    break
                level -= 1
            if found < 0:
                self._unexpected(stack, tag, position, ts_pos)
                continue
            while len(stack) - 1 > level:
                self._close(stack.pop(), position, tag, ts_pos)
            frame = stack[-1]
            node = frame.compiled.loop.body[found]
            frame.index = found
            uses = frame.counts.get(found, 0) + 1
            frame.counts[found] = uses
            if isinstance(node, SegmentUse):
                if node.max_use != UNBOUNDED and uses > node.max_use and found not in frame.reported:
                    frame.reported.add(found)
                    self.problem(
                        f"{tag} appears {uses} times here, at most {node.max_use} allowed",
                        "segment",
                        P.SEG_EXCEEDS_MAX_USE,
                        position,
                        tag,
                        ts_pos,
                        loop_id=frame.compiled.loop.id,
                    )
                self._place(frame.obj, tag, node.max_use, self._segment(seg, node.segment, position, ts_pos))
            else:
                child = frame.compiled.children[found]
                loop = child.loop
                if loop.repeat != UNBOUNDED and uses > loop.repeat and found not in frame.reported:
                    frame.reported.add(found)
                    self.problem(
                        f"loop {loop.id} repeats {uses} times here, at most {loop.repeat} allowed",
                        "segment",
                        P.SEG_LOOP_OVER_MAX,
                        position,
                        tag,
                        ts_pos,
                        loop_id=loop.id,
                    )
                obj: Tree = {}
                if loop.hierarchical:
                    self.places[id(obj)] = (position, ts_pos)
                self._place(frame.obj, loop.key, loop.repeat, obj)
                child_frame = _Frame(child, obj, 0, {0: 1})
                stack.append(child_frame)
                first = loop.body[0]
                assert isinstance(first, SegmentUse)
                obj[tag] = (
                    self._segment(seg, first.segment, position, ts_pos)
                    if first.max_use == 1
                    else [self._segment(seg, first.segment, position, ts_pos)]
                )
        end_position = first_position + len(segments) - 1
        end_tag = segments[-1][0] if segments else "SE"
        while stack:
            self._close(stack.pop(), end_position, end_tag, len(segments))
        if self.plan.hierarchical and self.elements:
            self._nest_hierarchies(self.definition.body, root)
        return root

    @staticmethod
    def _place(obj: Tree, key: str, max_use: int, value: Any) -> None:
        if max_use == 1:
            if key in obj:
                existing = obj[key]
                obj[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
            else:
                obj[key] = value
        else:
            existing = obj.get(key)
            if existing is None:
                obj[key] = [value]
            elif isinstance(existing, list):
                existing.append(value)
            else:
                obj[key] = [existing, value]

    def _unexpected(self, stack: list[_Frame], tag: str, position: int, ts_pos: int) -> None:
        # Out of order within an open loop: report once, and count it as present.
        for frame in reversed(stack):
            for index, node in enumerate(frame.compiled.loop.body):
                if isinstance(node, SegmentUse) and node.id == tag:
                    frame.counts[index] = frame.counts.get(index, 0) + 1
                    after = frame.compiled.loop.body[frame.index]
                    after_id = after.id if isinstance(after, SegmentUse) else after.trigger
                    loop_id = frame.compiled.loop.id
                    where = "the transaction set" if loop_id == "ST" else f"loop {loop_id}"
                    self.problem(
                        f"{tag} is out of order: it belongs before {after_id} in {where}",
                        "segment",
                        P.SEG_OUT_OF_ORDER,
                        position,
                        tag,
                        ts_pos,
                        loop_id=frame.compiled.loop.id,
                    )
                    return
        if tag in self.all_ids:
            message = f"{tag} is not expected here (it belongs to another loop of {self.definition.label})"
            code = P.SEG_UNEXPECTED
        elif tag in segment_dictionary(self.definition.version):
            message = f"{tag} is not part of transaction set {self.definition.label}"
            code = P.SEG_NOT_IN_SET
        else:
            message = f"{tag} is not a known segment id"
            code = P.SEG_UNRECOGNIZED
        self.problem(message, "segment", code, position, tag, ts_pos)

    def _close(self, frame: _Frame, position: int, tag: str, ts_pos: int) -> None:
        loop = frame.compiled.loop
        for index in frame.compiled.mandatory:
            if frame.counts.get(index):
                continue
            node = loop.body[index]
            what = f"segment {node.id}" if isinstance(node, SegmentUse) else f"loop {node.id}"
            where = "the transaction set" if loop.id == "ST" else f"loop {loop.id}"
            missing = node.id if isinstance(node, SegmentUse) else node.trigger
            self.problem(
                f"mandatory {what} is missing in {where} (found {tag} at this position)",
                "segment",
                P.SEG_MANDATORY_MISSING,
                position,
                missing,
                ts_pos,
                loop_id=loop.id,
                found_id=tag,
            )

    def _segment(self, seg: list[str], definition: SegmentDef, position: int, ts_pos: int) -> Tree:
        if not self.elements:
            return {}
        scan = self.scanners.get(definition.id)
        if scan is None:
            scan = self.scanners[definition.id] = scanner(definition)
        clean = scan(seg, self.component)
        if clean is not None:
            return clean  # no problem: the scanner read it (see engine.x12.scanners)
        return self._read_segment(seg, definition, position, ts_pos)

    def _read_segment(self, seg: list[str], definition: SegmentDef, position: int, ts_pos: int) -> Tree:
        """A segment's tree object, recording each of its problems."""
        out: Tree = {}
        specs = definition.elements
        keys = definition.keys
        count = len(specs)
        tag = seg[0]
        errors = 0
        for pos in range(1, len(seg)):
            value = seg[pos]
            if pos > count:
                if value:
                    self.problem(
                        f"{tag} has {len(seg) - 1} elements, {tag} defines {count}: {value!r} at {tag}{pos:02d}",
                        "element",
                        P.EL_TOO_MANY,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        bad_value=value[:99],
                    )
                    errors += 1
                    break  # one problem for the surplus, not one per extra element
                continue
            spec = specs[pos - 1]
            key = keys[pos - 1]
            if not value:
                if spec.usage == "M":
                    self.problem(
                        f"mandatory element {key} ({spec.ref} {spec.name}) is missing",
                        "element",
                        P.EL_MANDATORY_MISSING,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        element_ref=spec.ref,
                    )
                    errors += 1
                continue
            if isinstance(spec, CompositeDef):
                parts = value.split(self.component)
                out[key] = parts
                errors += self._composite(parts, spec, key, position, tag, ts_pos, pos)
                continue
            if self.component in value:
                out[key] = value.split(self.component)
            else:
                out[key] = value
            el_type = spec.type
            if (el_type == "AN" or el_type == "ID") and spec.min_len <= len(value) <= spec.max_len:
                codes = spec.codes
                if codes is None or value in codes:
                    continue  # the common case, decided without a call
            errors += self._check(value, spec, key, position, tag, ts_pos, pos)
        if count and len(seg) - 1 < count:
            for pos in range(len(seg), count + 1):
                spec = specs[pos - 1]
                if spec.usage == "M":
                    self.problem(
                        f"mandatory element {tag}{pos:02d} ({spec.ref} {spec.name}) is missing",
                        "element",
                        P.EL_MANDATORY_MISSING,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        element_ref=spec.ref,
                    )
        length = len(seg)
        for rule in definition.syntax:
            if rule.lowest >= length and rule.kind != "R":
                continue  # every element the rule names is absent: only R can be violated
            present = [p < length and seg[p] != "" for p in rule.positions]
            found = present.count(True)
            kind = rule.kind
            if not (
                (kind == "P" and 0 < found < len(present))
                or (kind == "R" and found == 0)
                or (kind == "E" and found > 1)
                or (kind == "C" and present[0] and found < len(present))
                or (kind == "L" and present[0] and found == 1)
            ):
                continue
            violation = _syntax_violation(kind, present, tag, rule.positions)
            if violation:
                code = P.EL_EXCLUSION_VIOLATED if rule.kind == "E" else P.EL_CONDITIONAL_MISSING
                at = _syntax_fault(kind, present, rule.positions)
                at_spec = specs[at - 1]
                self.problem(
                    f"{violation} (syntax note {rule})",
                    "element",
                    code,
                    position,
                    tag,
                    ts_pos,
                    element=at,
                    element_ref=at_spec.ref if isinstance(at_spec, ElementDef) else None,
                )
        return out

    def _check(
        self,
        value: str,
        spec: ElementDef,
        label: str,
        position: int,
        tag: str,
        ts_pos: int,
        element: int,
        component: int | None = None,
    ) -> int:
        """Check one non-empty value; record its problem and return 1, or return 0."""
        failure = check_value(value, spec, label)
        if not failure:
            return 0
        code, message = failure
        self.problem(
            message,
            "element",
            code,
            position,
            tag,
            ts_pos,
            element=element,
            component=component,
            element_ref=spec.ref,
            bad_value=value[:99],
        )
        return 1

    def _composite(
        self, parts: list[str], spec: CompositeDef, key: str, position: int, tag: str, ts_pos: int, pos: int
    ) -> int:
        errors = 0
        for index, component in enumerate(parts, start=1):
            label = f"{key}-{index}"
            if index > len(spec.components):
                if component:
                    self.problem(
                        f"{key} ({spec.ref}) has {len(parts)} components, {spec.ref} defines {len(spec.components)}",
                        "element",
                        P.EL_TOO_MANY,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        component=index,
                    )
                    errors += 1
                    break  # one problem for the surplus, not one per extra component
                continue
            comp_spec: ElementDef = spec.components[index - 1]
            if not component:
                if comp_spec.usage == "M":
                    self.problem(
                        f"mandatory component {label} ({comp_spec.ref} {comp_spec.name}) is missing",
                        "element",
                        P.EL_MANDATORY_MISSING,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        component=index,
                        element_ref=comp_spec.ref,
                    )
                    errors += 1
                continue
            errors += self._check(component, comp_spec, label, position, tag, ts_pos, pos, index)
        return errors

    def _nest_hierarchies(self, loop: LoopDef, obj: Tree) -> None:
        for node in loop.body:
            if not isinstance(node, LoopDef) or node.key not in obj:
                continue
            value = obj[node.key]
            items = value if isinstance(value, list) else [value]
            for item in items:
                self._nest_hierarchies(node, item)
            if node.hierarchical and isinstance(value, list):
                obj[node.key] = self._nest(node, value)

    def _text(self, value: str | list[str]) -> str:
        """An element value as it was in the file (a stray component separator made a list)."""
        return value if isinstance(value, str) else self.component.join(value)

    def _nest(self, loop: LoopDef, items: list[Tree]) -> list[Tree]:
        trigger = loop.trigger
        by_id: dict[str, Tree] = {}
        roots: list[Tree] = []
        for item in items:
            header = item.get(trigger, {})
            hl_id = self._text(header.get(f"{trigger}01", ""))
            parent_id = self._text(header.get(f"{trigger}02", ""))
            position, ts_pos = self.places.get(id(item), (0, 0))
            if hl_id in by_id:
                self.problem(
                    f"{trigger}01 {hl_id!r} is used twice: hierarchical ids must be unique",
                    "element",
                    P.EL_INVALID_CODE,
                    position,
                    trigger,
                    ts_pos,
                    element=1,
                    bad_value=hl_id,
                )
            parent = by_id.get(parent_id) if parent_id else None
            if parent_id and parent is None:
                self.problem(
                    f"{trigger}02 {parent_id!r} names no earlier {trigger}01 (in {trigger} {hl_id!r})",
                    "element",
                    P.EL_INVALID_CODE,
                    position,
                    trigger,
                    ts_pos,
                    element=2,
                    bad_value=parent_id,
                )
            if parent is None:
                roots.append(item)
            else:
                parent.setdefault(loop.key, []).append(item)
            by_id[hl_id] = item
        return roots


def _syntax_violation(kind: str, present: list[bool], tag: str, positions: tuple[int, ...]) -> str | None:
    names = [f"{tag}{p:02d}" for p in positions]
    if kind == "P" and any(present) and not all(present):
        return f"{', '.join(names)} must all be present if any is"
    if kind == "R" and not any(present):
        return f"at least one of {', '.join(names)} is required"
    if kind == "E" and sum(present) > 1:
        return f"only one of {', '.join(names)} may be present"
    if kind == "C" and present[0] and not all(present[1:]):
        return f"{', '.join(names[1:])} required when {names[0]} is present"
    if kind == "L" and present[0] and not any(present[1:]):
        return f"one of {', '.join(names[1:])} required when {names[0]} is present"
    return None


def _syntax_fault(kind: str, present: list[bool], positions: tuple[int, ...]) -> int:
    """The element a violated syntax note is reported on (AK401): the first element the note
    requires that is missing, or for an exclusion the second element present."""
    if kind == "E":
        return [p for p, here in zip(positions, present, strict=True) if here][1]
    start = 1 if kind in ("C", "L") else 0
    missing = [p for p, here in zip(positions[start:], present[start:], strict=True) if not here]
    return missing[0] if missing else positions[0]


def flat_segments(segments: list[list[str]], component: str, version: str) -> list[Tree]:
    """The body of a transaction with no definition: its segments in order, no loops."""
    dictionary = segment_dictionary(version)
    body: list[Tree] = []
    end = len(segments) - 1 if segments and segments[-1][0] == "SE" else len(segments)
    for seg in segments[1:end]:
        tag = seg[0]
        seg_def = dictionary.get(tag)
        values: Tree = {}
        for pos in range(1, len(seg)):
            value = seg[pos]
            if not value:
                continue
            spec = seg_def.elements[pos - 1] if seg_def and pos <= len(seg_def.elements) else None
            if isinstance(spec, CompositeDef) or component in value:
                values[f"{tag}{pos:02d}"] = value.split(component)
            else:
                values[f"{tag}{pos:02d}"] = value
        body.append({tag: values})
    return body


def structure_problems(tags: list[str], definition: TransactionSetDef) -> list[Problem]:
    """The problems of a transaction body's segment ids alone, as `parse_transaction` reports
    them: order, unknown segments, repeats, missing mandatory segments and loops. (Not the
    HL nesting of a hierarchical set, which reads HL01/HL02.)"""
    walker = _Walker(definition, "", elements=False)
    walker.walk([["ST"], *([tag] for tag in tags), ["SE"]], 1)
    return walker.problems


def parse_transaction(
    segments: list[list[str]],
    definition: TransactionSetDef | None,
    component: str,
    first_position: int,
    version: str = "",
) -> ParsedTransaction:
    """Build the tree of one transaction (ST..SE) and check it against its definition."""
    st = segments[0]
    set_id = st[1] if len(st) > 1 else ""
    control = st[2] if len(st) > 2 else ""
    if definition is None:
        return ParsedTransaction(set_id, control, None, {"segments": flat_segments(segments, component, version)}, [])
    walker = _Walker(definition, component)
    tree = walker.walk(segments, first_position)
    return ParsedTransaction(set_id, control, definition, tree, walker.problems)
