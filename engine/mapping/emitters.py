"""Outbound segments as generated Python: one function per segment of a mapping, at load.

Rendering a segment value by value costs a `Value.evaluate` and a formatter call per element;
an IT1 of nine elements is nine of each, for every line of every invoice. When every value of
a segment is a literal or a translated expression (`engine.mapping.expressions`), the segment
is compiled into one function that builds the element list directly: each expression inline,
literal elements formatted once at load, and the common case of each element type formatted
inline (text that fits, an integer that fits); everything else goes through the element's own
formatter, the same function the value-by-value path calls.

An emitter is optimistic like the expressions in it: when it raises (a missing field, a value
its formatter refuses), the renderer forgets what the attempt recorded and renders the segment
value by value, which gives the segment or the error exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.mapping.formatting import FormatState, Formatter, plain
from engine.mapping.templates import Value
from engine.x12.definition import ElementDef

if TYPE_CHECKING:  # compile builds the emitters of the segments it compiles
    from engine.mapping.compile import ElementNode, SegmentNode

Emitter = Callable[[dict[str, Any], FormatState], list[Any]]

_TEXT_TYPES = frozenset({"AN", "ID", "B"})
"""Element types formatted by `formatting`'s text formatter."""


class _Source:
    """The namespace of one generated function: formatters and constants by generated name."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}

    def bind(self, prefix: str, value: Any) -> str:
        name = f"_{prefix}{len(self.names)}"
        self.names[name] = value
        return name


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
    return repr(results[0]) if results[0] == results[1] else None


def _formatted(value: Value, fmt: Formatter, spec: ElementDef | None, source: _Source) -> str | None:
    """The source of one formatted element value, or None when the value is left to Jinja."""
    if value.is_literal:
        constant = _constant(value, fmt)
        if constant is not None:
            return constant
        return f"{source.bind('F', fmt)}({source.bind('L', value.literal)}, fs)"
    if value.python is None:
        return None
    source.names.update(value.python.names)
    expr = value.python.source
    if fmt is plain:
        return f"('' if (_v := {expr}) is None else str(_v))"
    call = source.bind("F", fmt)
    if spec is not None and spec.type in _TEXT_TYPES:
        return f"(_v if type(_v := {expr}) is str and len(_v) <= {spec.max_len} else {call}(_v, fs))"
    if spec is not None and spec.type == "R":
        bound = 10**spec.max_len
        return f"(str(_v) if type(_v := {expr}) is int and -{bound} < _v < {bound} else {call}(_v, fs))"
    return f"{call}({expr}, fs)"


def _element(element: ElementNode, source: _Source) -> str | None:
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


def emitter(node: SegmentNode) -> Emitter | None:
    """The segment as one generated function `(context, format state) -> segment`, or None
    when a value of it stays on Jinja."""
    source = _Source()
    slots = [repr(node.tag)] + ["''"] * node.width
    for element in node.elements:
        code = _element(element, source)
        if code is None:
            return None
        slots[element.position] = code
    text = "def _emit(c, fs):\n    return [" + ", ".join(slots) + "]\n"
    namespace = dict(source.names)
    exec(compile(text, f"<segment {node.where}>", "exec"), namespace)
    emit: Emitter = namespace["_emit"]
    return emit
