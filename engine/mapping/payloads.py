"""Inbound and JSON payloads as generated Python: the output template of a mapping, at load.

Rendering the output template node by node (`inbound._render`) costs a recursive call per
node and a `Value.evaluate` per value, and the values of one template often repeat a call: an
850's seven ship-to fields each select the ST party with the same `where`, a line's item
number asks `product_id('BP')` twice. The builder is the template written out as one Python
function: objects, lists, optional keys and loops as statements, each translated value inline
(`engine.mapping.expressions`), and a call that several values over one context write, and
one of them always evaluates, evaluated once at the start of that context.

Each value keeps its own fallback: when its Python raises (or a shared call it reads did), it
is evaluated through Jinja, which gives the value or the error, with its message, as before.
So the builder's payload is the node-by-node payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.mapping.compile import ForNode, ListNode, ObjectNode, OptionalNode
from engine.mapping.expressions import Namespace, hoist_calls
from engine.mapping.templates import FALSY, Value

Builder = Callable[[dict[str, Any]], Any]

_FAILED: Any = object()
"""What a shared call holds when it raised: the values reading it go to Jinja."""


class SharedCallFailed(Exception):
    """Raised where a value reads a shared call that raised (the value then goes to Jinja)."""


def _failed() -> Any:
    raise SharedCallFailed


class _Scope:
    """The values of a template evaluated over one context (a loop's item opens another),
    each with whether it is evaluated on every path, and the shared calls of the scope."""

    def __init__(self) -> None:
        self.values: list[tuple[Value, bool, bool]] = []
        """(value, always evaluated, read for truthiness only)"""
        self.sources: dict[int, str] = {}
        """The source each value is generated with (shared calls replaced), by id."""

    def collect(self, node: Any, always: bool) -> None:
        kind = type(node)
        if kind is Value:
            self.values.append((node, always, False))
        elif kind is ObjectNode:
            for _, child in node.items:
                self.collect(child, always)
        elif kind is ListNode:
            for child in node.items:
                self.collect(child, always)
        elif kind is OptionalNode:
            if node.when is not None:
                self.values.append((node.when, always, True))
            self.collect(node.value, always and node.when is None)


def _reads_loop(node: Any) -> bool:
    """Whether anything evaluated for an item of a loop reads `loop` (when nothing does, the
    builder does not make the loop variable: no value could tell)."""
    kind = type(node)
    if kind is Value:
        return bool(node.reads("loop"))
    if kind is ObjectNode:
        return any(_reads_loop(child) for _, child in node.items)
    if kind is ListNode:
        return any(_reads_loop(child) for child in node.items)
    if kind is OptionalNode:
        return _reads_loop(node.when) or _reads_loop(node.value)
    if kind is ForNode:
        return node.path.variable == "loop" or _reads_loop(node.when) or _reads_loop(node.item)
    return False


class _Builder:
    def __init__(self, helpers: dict[str, Any]) -> None:
        self.namespace = Namespace()
        self.namespace.names.update(helpers)
        self.namespace.names.update({"_FALSY": FALSY, "_FAILED": _FAILED, "_failed": _failed})
        self.lines: list[str] = []
        self.counter = 0
        self.scope = _Scope()

    def write(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def variable(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def open_scope(self, node: Any, indent: int) -> _Scope:
        """Collect the values of the scope starting at `node`, write its shared calls."""
        scope = _Scope()
        scope.collect(node, True)
        translated = [(value, always, test) for value, always, test in scope.values if value.python is not None]
        always: set[str] = set()
        for value, is_always, _ in translated:
            assert value.python is not None
            self.namespace.names.update(value.python.names)
            if is_always:
                always.update(text for text, sure in value.python.calls if sure)
        codes = [value.python.source for value, _, _ in translated if value.python is not None]
        keep = frozenset(i for i, (_, _, test) in enumerate(translated) if not test)
        lasting = frozenset().union(*(value.python.lasting for value, _, _ in translated if value.python is not None))
        codes, hoisted = hoist_calls(
            always, codes, self.namespace, lambda name: f"({name} if {name} is not _FAILED else _failed())", keep, lasting
        )
        for (value, _, _), code in zip(translated, codes, strict=True):
            scope.sources[id(value)] = code
        for name, text in hoisted:
            self.write(indent, "try:")
            self.write(indent + 1, f"{name} = {text}")
            self.write(indent, "except Exception:")
            self.write(indent + 1, f"{name} = _FAILED")
        return scope

    def value(self, value: Value, target: str, indent: int) -> None:
        ident = self.namespace.bind("V", value)
        if value.is_literal:
            self.write(indent, f"{target} = {ident}.literal")
            return
        source = self.scope.sources.get(id(value))
        if source is None:
            self.write(indent, f"{target} = {ident}.evaluate(c)")
            return
        self.write(indent, "try:")
        self.write(indent + 1, f"{target} = {source}")
        self.write(indent, "except Exception:  # Jinja: the value or the error")
        self.write(indent + 1, f"{target} = {ident}.evaluate_jinja(c)")

    def node(self, node: Any, target: str, indent: int) -> None:
        """Statements setting `target` to what `inbound._render` returns for `node`."""
        kind = type(node)
        if kind is Value:
            self.value(node, target, indent)
        elif kind is ObjectNode:
            result = self.variable("r")
            self.write(indent, f"{result} = {{}}")
            for key, child in node.items:
                if type(child) is OptionalNode:
                    item = self.variable("x")
                    self.node(child, item, indent)
                    self.write(indent, f"if {item} is not _OMIT:")
                    self.write(indent + 1, f"{result}[{key!r}] = {item}")
                else:
                    self.node(child, f"{result}[{key!r}]", indent)
            self.write(indent, f"{target} = {result}")
        elif kind is ListNode:
            result = self.variable("r")
            self.write(indent, f"{result} = []")
            for child in node.items:
                item = self.variable("x")
                self.node(child, item, indent)
                self.write(indent, f"if {item} is not _OMIT:")
                self.write(indent + 1, f"{result}.append({item})")
            self.write(indent, f"{target} = {result}")
        elif kind is OptionalNode:
            if node.when is None:
                self.node(node.value, target, indent)
                return
            test = self.variable("w")
            self.value(node.when, test, indent)
            self.write(indent, f"if (({test}.strip().lower() not in _FALSY) if isinstance({test}, str) else {test}):")
            self.node(node.value, target, indent + 1)
            self.write(indent, "else:")
            self.write(indent + 1, f"{target} = _OMIT")
        elif kind is ForNode:
            self.loop(node, target, indent)
        else:
            self.write(indent, f"{target} = {self.namespace.bind('L', node)}")

    def loop(self, node: ForNode, target: str, indent: int) -> None:
        ident = self.namespace.bind("P", node)
        items, outer, result = self.variable("items"), self.variable("outer"), self.variable("r")
        index, item, length = self.variable("index"), self.variable("item"), self.variable("length")
        self.write(indent, f"{items} = _selected({ident}.path.items(c, {ident}.where), {node.alias!r}, {ident}.when, c)")
        self.write(indent, f"{length} = len({items})")
        self.write(indent, f"{result} = []")
        self.write(indent, f"{outer} = c")
        self.write(indent, "c = dict(c)  # one context for every item: nothing keeps it past its item")
        self.write(indent, f"for {index}, {item} in enumerate({items}):")
        self.write(indent + 1, f"c[{node.alias!r}] = {item}")
        if _reads_loop(node.item):
            self.write(indent + 1, f"c['loop'] = _LoopInfo({index}, {length})")
        enclosing = self.scope
        self.scope = self.open_scope(node.item, indent + 1)
        value = self.variable("x")
        self.node(node.item, value, indent + 1)
        self.write(indent + 1, f"{result}.append({value})")
        self.scope = enclosing
        self.write(indent, f"c = {outer}")
        self.write(indent, f"{target} = {result}")


def builder(output: Any, helpers: dict[str, Any]) -> Builder:
    """The output template as one generated function of the render context, returning what
    the node-by-node rendering returns (`helpers`: its `_selected`, `_LoopInfo`, `_OMIT`)."""
    build = _Builder(helpers)
    build.write(0, "def _build(c):")
    build.scope = build.open_scope(output, 1)
    build.node(output, "result", 1)
    build.write(1, "return result")
    function: Builder = build.namespace.function(build.lines, "_build", "<payload template>")
    return function
