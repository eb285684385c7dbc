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

Where segments go depends on their ids alone, so it is decided once per sequence of ids:
`_Walker.read` walks a body whose sequence it has not met (recording where each segment went)
and replays a sequence met before without a structure problem, reading only the elements
(`engine.x12.segments`, after each segment's scanner, `engine.x12.scanners`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.x12 import problems as P
from engine.x12.definition import (
    UNBOUNDED,
    CompositeDef,
    LoopDef,
    SegmentDef,
    SegmentUse,
    TransactionSetDef,
    segment_dictionary,
)
from engine.x12.problems import Problem
from engine.x12.scanners import Scanner, scanner
from engine.x12.segments import ElementReader

Tree = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _CompiledLoop:
    """A loop with its forward-lookup tables: `lookup[i]` maps a segment id to the first node
    at index >= i it can start (a segment node, or a child loop by its trigger)."""

    loop: LoopDef
    lookup: tuple[dict[str, int], ...]
    children: dict[int, _CompiledLoop]
    mandatory: tuple[int, ...]
    key: str
    """`loop.key`, the loop's name in the tree."""
    first: SegmentUse
    """The segment that starts an iteration."""


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
    first = body[0]
    assert isinstance(first, SegmentUse)  # definition.py refuses a loop that starts otherwise
    return _CompiledLoop(loop, tuple(tables), children, mandatory, loop.key, first)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything compiled once per definition (kept by object identity: hashing the frozen
    definition tree on every transaction would cost more than walking it)."""

    root: _CompiledLoop
    all_ids: frozenset[str]
    hierarchical: bool
    scanners: dict[str, Scanner]
    """Each segment's scanner by segment id, generated on first use."""
    programs: dict[tuple[str, ...], tuple[_Step, ...] | None]
    """Where each segment of a body goes, by the body's sequence of segment ids (None: that
    sequence has a structure problem); see `_Walker.replay`."""


_Step = tuple[int, int, str, int, int]
"""One segment of a program: (loops closed before it, 0 for a segment / 1 for a loop it
starts, the key it is placed under, that key's max use or repeat, the max use of the loop's
first segment)."""

_PROGRAMS_KEPT = 512
_UNSEEN: Any = object()
_READ: list[str] = []
"""What a consumed segment is replaced with (`parse_transaction(consume=True)`)."""


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
        {},
    )
    _PLANS[id(definition)] = (definition, plan)
    return plan


class _Frame:
    """One open loop iteration while walking."""

    __slots__ = ("compiled", "counts", "index", "obj", "reported")

    def __init__(self, compiled: _CompiledLoop, obj: Tree, index: int = 0, counts: dict[int, int] | None = None) -> None:
        self.compiled = compiled
        self.obj = obj
        self.index = index
        self.counts: dict[int, int] = {} if counts is None else counts
        self.reported: set[int] | None = None
        """Nodes already reported as repeated too often (made on the first report)."""

    def first_report(self, found: int) -> bool:
        """True the first time node `found` is reported as repeated too often."""
        if self.reported is None:
            self.reported = set()
        if found in self.reported:
            return False
        self.reported.add(found)
        return True


@dataclass
class ParsedTransaction:
    """A transaction's tree (or its flat segment list when it has no definition) and problems."""

    set_id: str
    control_number: str
    definition: TransactionSetDef | None
    tree: Tree
    problems: list[Problem]


class _Walker:
    def __init__(self, definition: TransactionSetDef, component: str, elements: bool = True, consume: bool = False) -> None:
        self.definition = definition
        self.consume = consume
        """True: each body segment is replaced by `_READ` once read, freeing it while the tree grows."""
        self.component = component
        self.elements = elements
        """False: place segments by id only, without reading or checking their elements."""
        self.problems: list[Problem] = []
        self.plan = _plan(definition)
        self.scanners = self.plan.scanners
        self.all_ids = self.plan.all_ids
        self.places: dict[int, tuple[int, int]] = {}
        self.steps: list[_Step] | None = None
        """When a list, `walk` records where each segment went (see `replay`)."""
        self.elements_reader = ElementReader(component, self.problems)

    def problem(self, message: str, scope: str, code: str, position: int, seg_id: str, ts_pos: int, **kw: Any) -> None:
        self.problems.append(
            Problem(message, scope, code, position=position, segment_id=seg_id, ts_position=ts_pos, **kw)
        )

    def read(self, segments: list[list[str]], first_position: int) -> Tree:
        """The tree of a transaction, recording its problems: by `replay` when its sequence
        of segment ids is known to be sound, else by `walk`."""
        if self.plan.hierarchical:
            return self.walk(segments, first_position)
        body_end = len(segments) - 1 if segments and segments[-1][0] == "SE" else len(segments)
        tags = tuple([segment[0] for segment in segments[1:body_end]])
        programs = self.plan.programs
        program = programs.get(tags, _UNSEEN)  # one lookup: another thread may clear the table
        if program is _UNSEEN:
            if len(programs) >= _PROGRAMS_KEPT:
                programs.clear()
            program = programs[tags] = self._program(tags)
        if program is None:
            return self.walk(segments, first_position)
        return self.replay(segments, program, first_position)

    def _program(self, tags: tuple[str, ...]) -> tuple[_Step, ...] | None:
        """Where each segment of a body with these ids goes, or None when the ids alone have
        a structure problem."""
        walker = _Walker(self.definition, self.component, elements=False)
        walker.steps = []
        walker.walk([["ST"], *([tag] for tag in tags), ["SE"]], 1)
        return None if walker.problems else tuple(walker.steps)

    def replay(self, segments: list[list[str]], program: tuple[_Step, ...], first_position: int) -> Tree:
        """The tree of a transaction whose segment ids `walk` placed without a structure
        problem before: each segment goes where `program` says, its elements read as `walk`
        reads them (so element problems are found and recorded the same way, in order)."""
        root: Tree = {}
        stack = [root]
        scanners = self.scanners
        component = self.component
        definitions = self.definition.segments
        consume = self.consume
        for offset, (closed, kind, key, repeat, first_use) in enumerate(program, start=1):
            seg = segments[offset]
            if consume:
                segments[offset] = _READ
            tag = seg[0]
            if closed:
                del stack[-closed:]
            scan = scanners.get(tag)
            value = scan(seg, component) if scan is not None else None
            if value is None:
                value = self._segment(seg, definitions[tag], first_position + offset, offset + 1)
            obj = stack[-1]
            if kind:
                item: Tree = {tag: value if first_use == 1 else [value]}
                self._place(obj, key, repeat, item)
                stack.append(item)
            elif repeat == 1 and tag not in obj:
                obj[tag] = value
            else:
                self._place(obj, tag, repeat, value)
        return root

    def walk(self, segments: list[list[str]], first_position: int) -> Tree:
        root: Tree = {}
        stack = [_Frame(self.plan.root, root, 0)]
        body_end = len(segments) - 1 if segments and segments[-1][0] == "SE" else len(segments)
        scanners = self.scanners if self.elements else {}
        component = self.component
        steps = self.steps
        consume = self.consume
        end_tag = segments[-1][0] if segments else "SE"  # read before the last segment may be consumed
        for offset in range(1, body_end):
            seg = segments[offset]
            if consume:
                segments[offset] = _READ
            tag = seg[0]
            frame = stack[-1]
            found = frame.compiled.lookup[frame.index].get(tag, -1)
            depth = len(stack)
            if found < 0:  # not in the innermost loop: look in the enclosing ones
                position, ts_pos = first_position + offset, offset + 1
                level = len(stack) - 2
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
            node = frame.compiled.loop.body[found]
            frame.index = found
            uses = frame.counts.get(found, 0) + 1
            frame.counts[found] = uses
            if type(node) is SegmentUse:
                max_use = node.max_use
                if max_use != UNBOUNDED and uses > max_use and frame.first_report(found):
                    self.problem(
                        f"{tag} appears {uses} times here, at most {max_use} allowed",
                        "segment",
                        P.SEG_EXCEEDS_MAX_USE,
                        first_position + offset,
                        tag,
                        offset + 1,
                        loop_id=frame.compiled.loop.id,
                    )
                scan = scanners.get(tag)
                value = scan(seg, component) if scan is not None else None
                if value is None:
                    value = self._segment(seg, node.segment, first_position + offset, offset + 1)
                obj = frame.obj
                if max_use == 1 and tag not in obj:
                    obj[tag] = value
                else:
                    self._place(obj, tag, max_use, value)
                if steps is not None:
                    steps.append((depth - len(stack), 0, tag, max_use, 0))
            else:
                position, ts_pos = first_position + offset, offset + 1
                child = frame.compiled.children[found]
                loop = child.loop
                if loop.repeat != UNBOUNDED and uses > loop.repeat and frame.first_report(found):
                    self.problem(
                        f"loop {loop.id} repeats {uses} times here, at most {loop.repeat} allowed",
                        "segment",
                        P.SEG_LOOP_OVER_MAX,
                        position,
                        tag,
                        ts_pos,
                        loop_id=loop.id,
                    )
                obj = {}
                if loop.hierarchical:
                    self.places[id(obj)] = (position, ts_pos)
                self._place(frame.obj, child.key, loop.repeat, obj)
                stack.append(_Frame(child, obj, 0, {0: 1}))
                scan = scanners.get(tag)
                value = scan(seg, component) if scan is not None else None
                if value is None:
                    value = self._segment(seg, child.first.segment, position, ts_pos)
                obj[tag] = value if child.first.max_use == 1 else [value]
                if steps is not None:
                    steps.append((depth - len(stack) + 1, 1, child.key, loop.repeat, child.first.max_use))
        end_position = first_position + len(segments) - 1
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
        return self.elements_reader.read(seg, definition, position, ts_pos)

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
    consume: bool = False,
) -> ParsedTransaction:
    """Build the tree of one transaction (ST..SE) and check it against its definition.

    With `consume`, each body segment of `segments` is dropped (replaced by an empty list) as
    soon as it is placed, so the segments and the tree are not both held whole: for a caller
    that needs the tree alone (ST and SE stay)."""
    st = segments[0]
    set_id = st[1] if len(st) > 1 else ""
    control = st[2] if len(st) > 2 else ""
    if definition is None:
        return ParsedTransaction(set_id, control, None, {"segments": flat_segments(segments, component, version)}, [])
    walker = _Walker(definition, component, consume=consume)
    tree = walker.read(segments, first_position)
    return ParsedTransaction(set_id, control, definition, tree, walker.problems)
