"""Rendering an outbound mapping: one ERP document -> one X12 interchange, purely.

`render_outbound` is a pure function of the document, the partner profile, the control numbers
and the clock it is given: the same input gives the same bytes. It walks the compiled segment
list (loops, `when:` conditions, element formatting by type), checks the transaction against
its definition, and wraps it in the partner's envelope (ISA/GS/ST/SE/GE/IEA with counts and
control numbers). Any problem raises MappingError naming the document, the mapping line, the
segment and the element; nothing partial is ever returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.errors import MappingError, X12WriteError
from engine.mapping.compile import CompiledMapping, LoopNode, SegmentNode
from engine.mapping.formatting import FormatState
from engine.mapping.sandbox import Budget, document_budget
from engine.mapping.templates import LoopInfo, Value, base_context, truthy
from engine.x12.conformance import conforms, ordered
from engine.x12.definition import TransactionSetDef, base_version
from engine.x12.definition import load as load_definition
from engine.x12.delimiters import Delimiters
from engine.x12.envelope import GroupSpec, InterchangeSpec, Party, TransactionSpec, build, st_control
from engine.x12.structure import parse_transaction
from engine.x12.writer import DelimiterPolicy, Segment

USAGE = {"production": "P", "test": "T"}


@dataclass(frozen=True)
class Controls:
    """The control numbers of one interchange: ISA13, GS06, ST02 (injected, never invented)."""

    isa: int
    gs: int
    st: int


@dataclass
class Rendered:
    """One rendered interchange and what happened on the way."""

    text: str
    set_id: str
    functional_id: str
    controls: Controls
    segment_count: int
    sender: Party
    receiver: Party
    wrap: _Wrap = field(repr=False)
    """What the body was wrapped with besides the numbers (`renumbered` wraps it again)."""
    notes: list[str] = field(default_factory=list)
    """Truncations and delimiter replacements, for the audit trail."""
    body: list[Segment] = field(default_factory=list, repr=False)
    """The segments between ST and SE, as rendered."""
    definition: TransactionSetDef | None = field(default=None, repr=False)
    """The definition the body was checked against (the partner's version's)."""
    component: str = ">"

    def tree(self) -> dict[str, Any]:
        """The transaction's body as the parse tree reads it (`mlc x12 parse`, the inbound
        mappings and the partner guides read this shape), built from the rendered segments
        instead of from the text read back. A value holding a delimiter is shown as rendered,
        before the delimiter policy replaced it in the text."""
        assert self.definition is not None
        control = st_control(self.controls.st)
        return parse_transaction(
            _framed(self.set_id, control, self.body, self.component), self.definition, self.component, 1, self.definition.version
        ).tree


class _Frame:
    __slots__ = ("hl",)

    def __init__(self) -> None:
        self.hl: int | None = None


class _State:
    """What a render has written so far: segments, counts, HL numbers, unresolved xrefs."""

    def __init__(self, truncate: bool, budget: Budget) -> None:
        self.budget = budget
        self.cache: dict[Any, Any] = {}
        """What filters keep for the rest of the render (`hl_ancestor`'s index)."""
        self.segments: list[Segment] = []
        self.counts: dict[str, int] = {}
        self.hl_counter = 0
        self.frames: list[_Frame] = [_Frame()]
        self.format = FormatState(truncate)
        self.unresolved: list[tuple[str, str]] = []
        self.checked = True
        """Whether each segment so far passed the checker of its place
        (`engine.x12.scanners.checker`): then only the order of the segments is left for the
        definition check."""

    def count(self, tag: str) -> int:
        return self.counts.get(tag, 0)

    def total(self, element_id: str) -> int | float:
        tag, position = element_id[:-2], int(element_id[-2:])
        total = Decimal(0)
        for segment in self.segments:
            if segment[0] == tag and len(segment) > position and segment[position] not in ("", None):
                total += Decimal(str(segment[position]))
        return int(total) if total == total.to_integral_value() else float(total)

    def hl(self) -> int:
        self.hl_counter += 1
        self.frames[-1].hl = self.hl_counter
        return self.hl_counter

    def hl_parent(self) -> int | str:
        for frame in reversed(self.frames[:-1]):
            if frame.hl is not None:
                return frame.hl
        return ""


def selected(items: list[Any], alias: str, when: Value | None, context: dict[str, Any]) -> list[Any]:
    """The items of a loop whose `when:` holds, evaluated per item (so `loop.index` counts
    only the items kept: line numbers stay consecutive)."""
    if when is None:
        return items
    kept = []
    probe = dict(context)
    for item in items:
        probe[alias] = item
        if truthy(when.evaluate(probe)):
            kept.append(item)
    return kept


def step(budget: Budget, where: str) -> None:
    """One item of the `for_each` at `where`, counted against the document's budget."""
    try:
        budget.step()
    except MappingError as exc:
        raise MappingError(f"{where}: {exc.message}") from None


def _walk(nodes: list[SegmentNode | LoopNode], context: dict[str, Any], state: _State) -> None:
    for node in nodes:
        if type(node) is SegmentNode:
            if node.when is None or truthy(node.when.evaluate(context)):
                _emit(node, context, state)
            continue
        assert isinstance(node, LoopNode)
        items = selected(node.path.items(context, node.where), node.alias, node.when, context)
        length = len(items)
        inner = dict(context)  # one context for every item: nothing keeps it past its item
        for index, item in enumerate(items):
            step(state.budget, node.where)
            inner[node.alias] = item
            inner["loop"] = LoopInfo(index, length)
            state.frames.append(_Frame())
            _walk(node.body, inner, state)
            state.frames.pop()


def _emit(node: SegmentNode, context: dict[str, Any], state: _State) -> None:
    segment: Segment = node.blank.copy()
    fmt_state = state.format
    for position, value, fmt in node.scalars:
        try:
            segment[position] = fmt(value.evaluate(context), fmt_state)
        except MappingError as exc:
            if exc.message.startswith(value.where):
                raise
            raise MappingError(f"{value.where}: {exc.message}") from None
    for position, values, fmts in node.composites:
        segment[position] = [fmt(value.evaluate(context), fmt_state) for value, fmt in zip(values, fmts, strict=True)]
    state.segments.append(segment)
    state.counts[node.tag] = state.counts.get(node.tag, 0) + 1
    if node.check is None or not node.check(segment):
        state.checked = False


def render_segments(
    mapping: CompiledMapping,
    doc: Any,
    *,
    partner: dict[str, Any],
    now: datetime,
    controls: Controls,
    lookups: dict[str, Any] | None = None,
    truncate: bool = True,
) -> tuple[list[Segment], list[str]]:
    """The body segments (between ST and SE) of one document, and the formatting notes."""
    state = _render(mapping, doc, partner=partner, now=now, controls=controls, lookups=lookups, truncate=truncate)
    return state.segments, state.format.notes


def _render(
    mapping: CompiledMapping,
    doc: Any,
    *,
    partner: dict[str, Any],
    now: datetime,
    controls: Controls,
    lookups: dict[str, Any] | None,
    truncate: bool,
) -> _State:
    with document_budget() as budget:
        state = _State(truncate, budget)
        _walk(mapping.segments, _context(state, doc, partner, now, controls, lookups), state)
    if state.unresolved:
        raise MappingError(unresolved_message(partner, state.unresolved))
    return state


def _context(
    state: _State, doc: Any, partner: dict[str, Any], now: datetime, controls: Controls, lookups: dict[str, Any] | None
) -> dict[str, Any]:
    return base_context(
        doc=doc,
        partner=partner,
        lookups=lookups or {},
        now=now,
        control={"isa": controls.isa, "gs": controls.gs, "st": st_control(controls.st)},
        count=state.count,
        total=state.total,
        hl=state.hl,
        hl_parent=state.hl_parent,
        _state=state,
    )


def unresolved_message(partner: dict[str, Any], misses: list[tuple[str, str]]) -> str:
    by_table: dict[str, list[str]] = {}
    for table, key in misses:
        if key not in by_table.setdefault(table, []):
            by_table[table].append(key)
    parts = [f"{', '.join(keys)} (table {table!r})" for table, keys in by_table.items()]
    partner_id = partner.get("id", "?")
    return (
        f"not in partner {partner_id!r} cross-reference: " + "; ".join(parts)
        + f"; add them to partners/{partner_id}.yaml under xref: {', '.join(by_table)}"
    )


def party(x12: dict[str, Any]) -> Party:
    """An envelope party from a partner's (or our) x12 settings."""
    return Party(str(x12["qualifier"]), str(x12["id"]), x12.get("application_id") or None)


def delimiters_of(x12: dict[str, Any], version: str) -> Delimiters:
    """The partner's delimiters; the repetition separator exists only from 00501 (ISA11)."""
    chosen = x12.get("delimiters") or {}
    return Delimiters(
        element=chosen.get("element", "*"),
        component=chosen.get("component", ">"),
        segment=chosen.get("segment", "~"),
        repetition=chosen.get("repetition", "^") if version >= "005" else None,
    )


def render_outbound(
    mapping: CompiledMapping,
    doc: Any,
    *,
    partner: dict[str, Any],
    now: datetime,
    controls: Controls,
    lookups: dict[str, Any] | None = None,
    document: str = "document",
) -> Rendered:
    """One document as a complete, checked interchange for `partner` (its `Partner.data`)."""
    if mapping.direction != "outbound" or mapping.definition is None or mapping.transaction_set is None:
        raise MappingError(f"mapping {mapping.name} is not an outbound X12 mapping")
    x12 = partner.get("x12") or {}
    version = str(x12.get("version", mapping.version))
    target: TransactionSetDef | None = mapping.definition
    if base_version(version) != base_version(mapping.version):
        # A mapping written for one version renders for a partner on another where the segments
        # it writes are the same (mlc validate warns where they differ): the body is checked
        # against the partner's version, in full.
        target = load_definition(base_version(version), mapping.transaction_set)
        if target is None:
            raise MappingError(
                f"{document}: partner {partner.get('id')!r} uses X12 {version} but mapping {mapping.name} "
                f"is written for {mapping.version}, and {version} has no {mapping.transaction_set} definition"
            )
    try:
        state = _render(
            mapping,
            doc,
            partner=partner,
            now=now,
            controls=controls,
            lookups=lookups,
            truncate=x12.get("overlong", "truncate") == "truncate",
        )
    except MappingError as exc:
        raise MappingError(f"{document}: {exc.message}") from None
    delimiters = delimiters_of(x12, version)
    body, notes = state.segments, state.format.notes
    _check(mapping, body, delimiters, controls, document, checked=state.checked and target is mapping.definition, definition=target)
    return _wrapped(mapping, _Wrap(x12, version, now, tuple(notes), document), body, target, controls)


@dataclass(frozen=True)
class _Wrap:
    """What a rendered body is wrapped with besides its control numbers (`renumbered`)."""

    x12: dict[str, Any]
    """The partner's x12 settings."""
    version: str
    now: datetime
    notes: tuple[str, ...]
    """The body's formatting notes."""
    document: str


def renumbered(mapping: CompiledMapping, rendered: Rendered, controls: Controls) -> Rendered | None:
    """`rendered` with other control numbers: the body as it was rendered and checked, wrapped
    again (envelope, ST02/SE02). None when a value of the mapping reads `control`: then the body
    may differ with the numbers and the document must be rendered again.

    The body's definition check is not repeated: the numbers are no part of it (an ST02 of
    `st_control` always has a valid width), so it would find what it found."""
    if mapping.reads_controls:
        return None
    return _wrapped(mapping, rendered.wrap, rendered.body, rendered.definition, controls)


def _wrapped(mapping: CompiledMapping, wrap: _Wrap, body: list[Segment], definition: TransactionSetDef | None, controls: Controls) -> Rendered:
    """The checked `body` as a complete interchange with `controls`."""
    assert mapping.definition is not None and mapping.transaction_set is not None
    x12 = wrap.x12
    delimiters = delimiters_of(x12, wrap.version)
    ours = x12.get("identity") or {}
    sender, receiver = party(ours), party(x12)
    policy = DelimiterPolicy(x12.get("delimiter_in_data", "replace"))
    spec = InterchangeSpec(
        sender=sender,
        receiver=receiver,
        control_number=controls.isa,
        version="00501" if wrap.version >= "005" else "00401",
        usage=USAGE.get(str(x12.get("usage", "production")), "P"),
        ack_requested="1" if x12.get("ack_requested") else "0",
        groups=[
            GroupSpec(
                functional_id=mapping.definition.functional_group,
                control_number=controls.gs,
                version=wrap.version,
                transactions=[TransactionSpec(mapping.transaction_set, st_control(controls.st), body)],
            )
        ],
    )
    try:
        text = build(spec, delimiters, wrap.now, policy, newline=bool(x12.get("newline", True)))
    except X12WriteError as exc:
        raise MappingError(f"{wrap.document}: {exc.message}") from None
    return Rendered(
        text=text,
        set_id=mapping.transaction_set,
        functional_id=mapping.definition.functional_group,
        controls=controls,
        segment_count=len(body) + 2,
        sender=sender,
        receiver=receiver,
        notes=[*wrap.notes, *policy.replaced],
        body=body,
        definition=definition,
        component=delimiters.component,
        wrap=wrap,
    )


def _check(
    mapping: CompiledMapping,
    body: list[Segment],
    delimiters: Delimiters,
    controls: Controls,
    document: str,
    *,
    checked: bool = False,
    definition: TransactionSetDef | None = None,
) -> None:
    """The rendered transaction against its definition (the mapping's, or `definition`: the
    partner's version's); errors name segment and element.

    `checked`: every segment passed the checker of its place as it was rendered, so only the
    order of the segments is left to decide.
    """
    definition = definition or mapping.definition
    assert definition is not None and mapping.transaction_set is not None
    if (checked and ordered(body, definition)) or conforms(body, definition):
        return  # no error: the full check below would find none (see engine.x12.conformance)
    segments = _framed(mapping.transaction_set, st_control(controls.st), body, delimiters.component)
    parsed = parse_transaction(segments, definition, delimiters.component, 1, definition.version)
    errors = [p for p in parsed.problems if p.level == "error"]
    if errors:
        shown = "; ".join(_describe(p) for p in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise MappingError(
            f"{document}: mapping {mapping.name} ({mapping.path}) produced an invalid {definition.label}: {shown}{more}"
        )


def _framed(set_id: str, control: str, body: list[Segment], component: str) -> list[list[str]]:
    """ST, the body (composites joined, trailing empty elements dropped) and SE, as read."""
    segments: list[list[str]] = [["ST", set_id, control]]
    for segment in body:
        segments.append([v if isinstance(v, str) else component.join(v) for v in _trimmed(segment)])
    segments.append(["SE", str(len(body) + 2), control])
    return segments


def _trimmed(segment: Segment) -> Segment:
    end = len(segment)
    while end > 1 and segment[end - 1] in ("", []):
        end -= 1
    return segment[:end]


def _describe(problem: Any) -> str:
    where = problem.segment_id or ""
    if problem.element:
        where += f"{problem.element:02d}"
    if problem.ts_position:
        where += f" (segment {problem.ts_position})"
    return f"{where}: {problem.message}" if where else problem.message
