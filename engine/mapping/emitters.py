"""An outbound mapping's segment list as generated Python: one function per mapping, at load.

Rendering value by value (`outbound._walk`) costs a `Value.evaluate` and a formatter call per
element and a dispatch per node; an IT1 of nine elements is nine of each, for every line of
every invoice. The renderer is the segment list written out as one function: `when:`
conditions and loops as statements, and each segment whose values are all literals or
translated expressions (`engine.mapping.expressions`) as one list display: each expression
inline, literal elements formatted once at load, the common case of each element type
formatted inline (text that fits, an integer that fits), everything else through the
element's own formatter, the function the walk calls. A call several values of a segment
write is evaluated once when one of them always evaluates it (`hoist_calls`).

A segment's code is optimistic like the expressions in it: when it raises (a missing field, a
value its formatter refuses), the renderer forgets what the attempt recorded and renders that
segment value by value, which gives the segment or the error exactly as before. Each segment
the generated code writes is also passed through the checker of its place
(`engine.x12.scanners.checker`); when all pass, the definition check after rendering only
has the order of the segments left to decide (`outbound._check`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.mapping.compile import ElementNode, LoopNode, SegmentNode
from engine.mapping.expressions import Namespace, hoist_calls, literal_text
from engine.mapping.formatting import FormatState, Formatter, plain
from engine.mapping.templates import FALSY, Value
from engine.x12.definition import ElementDef, TransactionSetDef
from engine.x12.scanners import always, checker

Renderer = Callable[[dict[str, Any], Any], None]

_TEXT_TYPES = frozenset({"AN", "ID", "B"})
"""Element types formatted by `formatting`'s text formatter."""


def _constant(value: Value, fmt: Formatter) -> str | None:
    """A literal's formatted text, when it is the same under either overlong policy and
    formatting it records nothing."""
    results = []
    for truncate in (True, False):
        state = FormatState(truncate)
        try:
            results.append(fmt(value.literal, state))
        except Exception:
            return None
        if state.notes:
            return None
    return results[0] if results[0] == results[1] else None


def _formatted(value: Value, fmt: Formatter, spec: ElementDef | None, source: Namespace) -> str | None:
    """The source of one formatted element value, or None when the value is left to Jinja."""
    if value.is_literal:
        constant = _constant(value, fmt)
        if constant is not None:
            return repr(constant) if literal_text(constant) else source.bind("L", constant)
        return f"{source.bind('F', fmt)}({source.bind('L', value.literal)}, fs)"
    if value.python is None:
        return None
    source.names.update(value.python.names)
    expr = value.python.source
    if fmt is plain:
        return f"('' if (_v := {expr}) is None else str(_v))"
    call = source.bind("F", fmt)
    if spec is not None and spec.type in _TEXT_TYPES:
        fits = f"<= {spec.max_len}"
        return f"(_v if type(_v := {expr}) is str and len(_v) {fits} else _s if type(_v) is int and len(_s := str(_v)) {fits} else {call}(_v, fs))"
    if spec is not None and spec.type == "R":
        bound = 10**spec.max_len
        return f"(str(_v) if type(_v := {expr}) is int and -{bound} < _v < {bound} else {call}(_v, fs))"
    return f"{call}({expr}, fs)"


def _element(element: ElementNode, source: Namespace) -> str | None:
    if isinstance(element.value, list):
        assert isinstance(element.format, list)
        specs = element.spec.components if element.spec is not None and not isinstance(element.spec, ElementDef) else ()
        parts = []
        for index, (value, fmt) in enumerate(zip(element.value, element.format, strict=True)):
            spec = specs[index] if index < len(specs) else None
            part = _formatted(value, fmt, spec, source)
            if part is None:
                return None
            parts.append(part)
        return "[" + ", ".join(parts) + "]"
    assert not isinstance(element.format, list)
    spec = element.spec if isinstance(element.spec, ElementDef) else None
    return _formatted(element.value, element.format, spec, source)


def _values(node: SegmentNode) -> list[Value]:
    values: list[Value] = []
    for element in node.elements:
        values.extend(element.value if isinstance(element.value, list) else [element.value])
    return values


def _constants(node: SegmentNode) -> dict[int, str]:
    """The elements of a segment whose text is always the same (formatted literals)."""
    constants: dict[int, str] = {}
    for element in node.elements:
        if isinstance(element.value, Value) and element.value.is_literal and not isinstance(element.format, list):
            constant = _constant(element.value, element.format)
            if constant is not None:
                constants[element.position] = constant
    return constants


def _segment(node: SegmentNode, source: Namespace) -> tuple[list[str], str] | None:
    """The segment as statements and a list display over the context `c`, or None when a
    value of it stays on Jinja."""
    codes = []
    for element in node.elements:
        code = _element(element, source)
        if code is None:
            return None
        codes.append(code)
    always = {text for value in _values(node) if value.python for text, sure in value.python.calls if sure}
    codes, hoisted = hoist_calls(always, codes, source)
    assignments = [f"{name} = {text}" for name, text in hoisted]
    slots = [repr(node.tag)] + ["''"] * node.width
    for element, code in zip(node.elements, codes, strict=True):
        slots[element.position] = code
    return assignments, "[" + ", ".join(slots) + "]"


class _Renderer:
    """Writes the body of the generated function, node by node."""

    def __init__(self, helpers: dict[str, Any], definition: TransactionSetDef) -> None:
        self.definition = definition
        self.source = Namespace()
        self.source.names.update(helpers)
        self.lines: list[str] = []
        self.depth = 0

    def write(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def condition(self, when: Value, indent: int) -> None:
        """`if truthy(when):` over the context `c` (the caller writes the block under it)."""
        ident = self.source.bind("W", when)
        if when.python is None:
            self.write(indent, f"w = {ident}.evaluate(c)")
        else:
            self.source.names.update(when.python.names)
            self.write(indent, "try:")
            self.write(indent + 1, f"w = {when.python.source}")
            self.write(indent, "except Exception:")
            self.write(indent + 1, f"w = {ident}.evaluate_jinja(c)")
        self.write(indent, "if ((w.strip().lower() not in _FALSY) if isinstance(w, str) else w):")  # truthy()

    def nodes(self, nodes: list[SegmentNode | LoopNode], indent: int) -> None:
        if not nodes:
            self.write(indent, "pass")
        for node in nodes:
            if isinstance(node, LoopNode):
                self.loop(node, indent)
                continue
            inner = indent
            if node.when is not None:
                self.condition(node.when, indent)
                inner += 1
            self.segment(node, inner)

    def segment(self, node: SegmentNode, indent: int) -> None:
        ident = self.source.bind("N", node)
        generated = _segment(node, self.source)
        if generated is None:
            self.write(indent, f"_emit({ident}, c, st)")
            self.write(indent, "st.checked = False")
            return
        assignments, code = generated
        segment_def = self.definition.segments.get(node.tag)
        check = checker(segment_def, node.width, _constants(node)) if segment_def is not None else None
        self.write(indent, "marks = len(notes), len(unresolved)")
        self.write(indent, "try:")
        for assignment in assignments:
            self.write(indent + 1, assignment)
        self.write(indent + 1, f"s = {code}")
        self.write(indent, "except Exception:  # value by value: the segment or the error")
        self.write(indent + 1, "del notes[marks[0]:], unresolved[marks[1]:]")
        self.write(indent + 1, f"_emit({ident}, c, st)")
        self.write(indent + 1, "st.checked = False")
        self.write(indent, "else:")
        self.write(indent + 1, "segments.append(s)")
        self.write(indent + 1, f"counts[{node.tag!r}] = counts.get({node.tag!r}, 0) + 1")
        if check is None:
            self.write(indent + 1, "st.checked = False")
        elif check is not always:
            self.write(indent + 1, f"if not {self.source.bind('K', check)}(s):")
            self.write(indent + 2, "st.checked = False")

    def loop(self, node: LoopNode, indent: int) -> None:
        self.depth += 1
        d = self.depth
        ident = self.source.bind("P", node)
        when = self.source.bind("PW", node.when)
        self.write(indent, f"items{d} = _selected({ident}.path.items(c, {ident}.where), {node.alias!r}, {when}, c)")
        self.write(indent, f"length{d} = len(items{d})")
        self.write(indent, f"outer{d} = c")
        self.write(indent, "c = dict(c)  # one context for every item: nothing keeps it past its item")
        self.write(indent, f"for index{d}, item{d} in enumerate(items{d}):")
        self.write(indent + 1, f"c[{node.alias!r}] = item{d}")
        self.write(indent + 1, f"c['loop'] = _LoopInfo(index{d}, length{d})")
        self.write(indent + 1, "frames.append(_Frame())")
        self.nodes(node.body, indent + 1)
        self.write(indent + 1, "frames.pop()")
        self.write(indent, f"c = outer{d}")
        self.depth -= 1


def renderer(nodes: list[SegmentNode | LoopNode], definition: TransactionSetDef, helpers: dict[str, Any]) -> Renderer:
    """The segment list of an outbound mapping as one generated function `(context, render
    state)`, doing what the value-by-value walk does (`helpers`: that walk's `_emit`,
    `_selected`, `_Frame`, `_LoopInfo`)."""
    render = _Renderer(helpers, definition)
    render.source.names["_FALSY"] = FALSY
    render.write(0, "def _render(c, st):")
    render.write(1, "notes, unresolved = st.format.notes, st.unresolved")
    render.write(1, "segments, counts, frames, fs = st.segments, st.counts, st.frames, st.format")
    render.nodes(nodes, 1)
    function: Renderer = render.source.function(render.lines, "_render", "<outbound mapping>")
    return function
