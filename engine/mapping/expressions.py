"""Mapping expressions as Python: the common Jinja shapes translated once, at load.

A value evaluated through Jinja costs a `Context`, a generator and a dict copy per call, and
most mapping values are a few field reads with a filter, `or`, `x if c else y`, a comparison
or a call of `count()`/`total()`. `translate` turns such an expression into the source of one
Python expression doing the same operations with the same functions: the sandbox's own
`getattr`/`getitem` on anything but a dict, the environment's filters and tests, the context's
functions. Anything else (an unknown call, `hl()`, a pass-context filter of Jinja's own, a
conditional without `else`) is not translated and stays on Jinja.

The generated code is optimistic: it never carries an undefined value along. Where Jinja would
hold an `Undefined` (a missing key, a sandbox refusal), the generated code raises, and the
caller evaluates the value again through Jinja, which then gives the result or the error, with
its message, exactly as before. The one place a missing field is a value rather than an error
is the operand of `default`, whose last step is read tolerantly, as Jinja does. So whenever the
Python returns, it returns what Jinja returns; the only side effect it can have before raising
is an `xref` miss recorded twice, which the miss report lists once.

Why not Jinja's own generated code: it runs every read through `environment.getattr`, builds
a `Context` per evaluation, and cannot be inlined into the segment emitters (see `emitters`),
which is where the time goes in a 20-line document.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.nodes import EvalContext
from jinja2.parser import Parser
from jinja2.runtime import str_join
from jinja2.utils import _PassArg

from engine.mapping import filters

MISSING: Any = object()
"""What a tolerant read gives for an absent field (only ever seen by `default`)."""

_BINARY = {
    nodes.Add: "+",
    nodes.Sub: "-",
    nodes.Mul: "*",
    nodes.Div: "/",
    nodes.FloorDiv: "//",
    nodes.Mod: "%",
    nodes.Pow: "**",
    nodes.And: "and",
    nodes.Or: "or",
}
_UNARY = {nodes.Neg: "-", nodes.Pos: "+", nodes.Not: "not "}
_COMPARE = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in", "notin": "not in"}
_CALLS = frozenset({"count", "total", "fail", "hl_parent"})
"""Context functions a translated expression may call: the engine's own, without side
effects (`hl()` numbers segments, so it is never evaluated twice)."""
_JINJA_FILTERS = frozenset(
    {"abs", "capitalize", "d", "default", "float", "int", "join", "length", "count", "lower", "replace", "round",
     "string", "title", "trim", "upper"}
)
"""Jinja's filters a translated expression may use: none of them returns an undefined value."""
_LASTING = frozenset({"dig", "product_id", "qualified", "number", "iso_date", "iso_time", "x12_date", "x12_time"})
"""Filters whose result, given constant arguments, is a value of their input, one of those
arguments, or a new text or number: never a new container."""
_COUNTER = itertools.count()


class Missing(Exception):
    """Raised by translated code where Jinja would go on with an undefined value."""


class _Unsupported(Exception):
    """The expression has a shape `translate` does not handle: it stays on Jinja."""


@dataclass(frozen=True)
class PyExpr:
    """The Python source of one expression over a context dict named `c`, and the names its
    source refers to (helpers, filters, constants: merged into the generated module).

    `calls` are the sources of its filter and function calls, each with whether it is always
    evaluated (not under `and`/`or` or in a branch of `if`): code generated for several
    expressions over one context may evaluate a call they share once (see `emitters`).
    `lasting` are those whose result is never a new container (a value of the document or of
    a constant, or a text or number), so two values may hold the same result as they would
    hold equal ones.
    """

    source: str
    names: dict[str, Any]
    calls: tuple[tuple[str, bool], ...] = ()
    lasting: frozenset[str] = frozenset()

    def function(self) -> Any:
        """The expression as a function of the context."""
        namespace = dict(self.names)
        exec(compile(f"def _value(c):\n    return {self.source}\n", "<mapping expression>", "exec"), namespace)
        return namespace["_value"]


LOOP_ATTRIBUTES = frozenset({"index", "index0", "length", "first", "last", "revindex"})
"""The public attributes of the `loop` variable: the sandbox reads them as plain attributes."""


def literal_text(value: Any) -> bool:
    """Whether a constant may be written into generated code as its repr: None, a bool, an
    int, or text without a parenthesis. (Every call in generated code has one, so a call's
    source can never occur inside a written text: `hoist_calls` replaces sources as text.)"""
    return value is None or type(value) in (int, bool) or (type(value) is str and "(" not in value)


class Namespace:
    """The names one generated function refers to: helpers, values, constants."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}

    def bind(self, prefix: str, value: Any) -> str:
        """A new name for `value` in the namespace."""
        name = f"_{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def function(self, lines: list[str], name: str, where: str) -> Any:
        """Compile `lines` (the definition of `name`) in this namespace; the function."""
        exec(compile("\n".join(lines) + "\n", where, "exec"), self.names)
        return self.names[name]


def hoist_calls(
    always: set[str],
    codes: list[str],
    namespace: Namespace,
    reference: Callable[[str], str] = str,
    keep: frozenset[int] = frozenset(),
    lasting: frozenset[str] = frozenset(),
) -> tuple[list[str], list[tuple[str, str]]]:
    """Calls written more than once in `codes` (generated over one context), to evaluate once.

    Only calls in `always` (the calls some code evaluates on every path, from `PyExpr.calls`)
    are taken: evaluating one first then does what evaluating the codes one by one does
    anyway, since a translated call's result depends on the context alone and its only effect
    is a recorded cross-reference miss (listed once). Returns the codes reading the hoisted
    names (`reference(name)` is what replaces the call; codes whose index is in `keep` keep
    a call that is their whole source, unless it is `lasting`) and the `(name, source)`
    assignments, in order.
    """
    assignments: list[tuple[str, str]] = []
    for text in sorted(always, key=len, reverse=True):
        uses = sum(code.count(text) for code in codes) + sum(source.count(text) for _, source in assignments)
        if uses < 2:
            continue
        name = namespace.bind("S", None)
        replacement = reference(name)
        own = text not in lasting
        codes = [
            code if own and index in keep and code == text else code.replace(text, replacement)
            for index, code in enumerate(codes)
        ]
        assignments = [(n, source.replace(text, replacement)) for n, source in assignments]
        assignments.insert(0, (name, text))
    return codes, assignments


def runtime(environment: jinja2.Environment, loop_type: type) -> dict[str, Any]:
    """The helpers translated code calls, bound to `environment` and to the class of the
    `loop` variable."""
    assert all(hasattr(loop_type, name) for name in LOOP_ATTRIBUTES)
    undefined = jinja2.Undefined
    getattr_ = environment.getattr
    getitem = environment.getitem

    def strict_getattr(obj: Any, name: str) -> Any:
        value = getattr_(obj, name)
        if isinstance(value, undefined):
            raise Missing(name)
        return value

    def tolerant_getattr(obj: Any, name: str) -> Any:
        if type(obj) is dict:
            return obj.get(name, MISSING)
        value = getattr_(obj, name)
        return MISSING if isinstance(value, undefined) else value

    def tolerant_getitem(obj: Any, key: Any) -> Any:
        value = getitem(obj, key)
        return MISSING if isinstance(value, undefined) else value

    def default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
        # jinja2.filters.do_default, with MISSING for an undefined value
        if value is MISSING or (boolean and not value):
            return default_value
        return value

    return {
        "_ga": strict_getattr,
        "_gat": tolerant_getattr,
        "_git": tolerant_getitem,
        "_dflt": default,
        "_MISSING": MISSING,
        "_str_join": str_join,
        "_evalctx": EvalContext(environment),
        "_ENV": environment,
        "_Loop": loop_type,
    }


def parse(environment: jinja2.Environment, source: str) -> nodes.Expr | None:
    """The expression `source` as Jinja parses it (as `compile_expression` does), or None."""
    parser = Parser(environment, source, state="variable")
    try:
        expr = parser.parse_expression()
    except jinja2.TemplateSyntaxError:
        return None
    return expr if parser.stream.eos else None


def translate(environment: jinja2.Environment, expr: nodes.Expr, helpers: dict[str, Any]) -> PyExpr | None:
    """The Python of one parsed expression, or None when it has a shape left to Jinja."""
    translator = _Translator(environment, helpers)
    try:
        source = translator.strict(expr)
    except _Unsupported:
        return None
    return PyExpr(source, translator.names, tuple(translator.calls), frozenset(translator.lasting))


def translate_template(environment: jinja2.Environment, text: str, helpers: dict[str, Any]) -> PyExpr | None:
    """A template of text and `{{ }}` expressions (no statements), rendered as Jinja renders
    it: the text as the lexer left it, each expression's value through `str`."""
    try:
        tree = environment.parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    translator = _Translator(environment, helpers)
    parts = []
    try:
        for node in tree.body[0].nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(repr(node.data) if literal_text(node.data) else translator.constant(node.data))
            else:
                parts.append(f"str({translator.strict(node)})")
    except _Unsupported:
        return None
    return PyExpr("(" + " + ".join(parts or ["''"]) + ")", translator.names)


class _Translator:
    def __init__(self, environment: jinja2.Environment, helpers: dict[str, Any]) -> None:
        self.environment = environment
        self.names: dict[str, Any] = dict(helpers)
        self.conditional = 0
        """How many branches deep the node being translated is (0: always evaluated)."""
        self.calls: list[tuple[str, bool]] = []
        self.lasting: set[str] = set()

    def constant(self, value: Any) -> str:
        if literal_text(value) or (type(value) is float and value == value and abs(value) != float("inf")):
            return repr(value)
        name = f"_k{next(_COUNTER)}"
        self.names[name] = value
        return name

    def strict(self, node: nodes.Node) -> str:
        kind = type(node)
        if isinstance(node, nodes.Const):
            return self.constant(node.value)
        if isinstance(node, nodes.Name):
            return f"c[{node.name!r}]"
        if isinstance(node, nodes.Getattr):
            # One temporary for every read: it is assigned once its object is evaluated and
            # only read after that, so identical reads are identical text (see hoist_calls).
            obj, t, attr = self.strict(node.node), "_t", node.attr
            if attr in LOOP_ATTRIBUTES:  # what the sandbox's getattr gives for the loop variable
                return f"({t}[{attr!r}] if type({t} := {obj}) is dict else {t}.{attr} if type({t}) is _Loop else _ga({t}, {attr!r}))"
            return f"({t}[{attr!r}] if type({t} := {obj}) is dict else _ga({t}, {attr!r}))"
        if isinstance(node, nodes.Getitem):
            obj = self.strict(node.node)
            if isinstance(node.arg, nodes.Slice):
                return f"{obj}[{self.slice(node.arg)}]"
            # the sandbox's getitem tries `obj[key]` first; when that fails, Jinja decides
            return f"{obj}[{self.strict(node.arg)}]"
        if isinstance(node, nodes.BinExpr) and kind in _BINARY:
            left = self.strict(node.left)
            return f"({left} {_BINARY[kind]} {self.branch(node.right) if kind in (nodes.And, nodes.Or) else self.strict(node.right)})"
        if isinstance(node, nodes.UnaryExpr) and kind in _UNARY:
            return f"({_UNARY[kind]}{self.strict(node.node)})"
        if isinstance(node, nodes.Compare):
            ops = "".join(f" {_COMPARE[op.op]} {self.strict(op.expr)}" for op in node.ops)
            return f"({self.strict(node.expr)}{ops})"
        if isinstance(node, nodes.CondExpr):
            if node.expr2 is None:
                raise _Unsupported("an inline if without else is undefined when false")
            test = self.strict(node.test)
            return f"({self.branch(node.expr1)} if {test} else {self.branch(node.expr2)})"
        if isinstance(node, nodes.Concat):
            return "_str_join((" + "".join(f"{self.strict(n)}, " for n in node.nodes) + "))"
        if isinstance(node, nodes.List):
            return "[" + ", ".join(self.strict(n) for n in node.items) + "]"
        if isinstance(node, nodes.Tuple):
            return "(" + "".join(f"{self.strict(n)}, " for n in node.items) + ")"
        if isinstance(node, nodes.Dict):
            return "{" + ", ".join(f"{self.strict(p.key)}: {self.strict(p.value)}" for p in node.items) + "}"
        if isinstance(node, nodes.Filter | nodes.Test | nodes.Call):
            source = self.filter(node) if isinstance(node, nodes.Filter) else self.test(node) if isinstance(node, nodes.Test) else self.call(node)
            self.calls.append((source, self.conditional == 0))
            constant_arguments = all(isinstance(a, nodes.Const) for a in [*node.args, *(k.value for k in node.kwargs)])
            if isinstance(node, nodes.Filter) and node.name in _LASTING and constant_arguments:
                self.lasting.add(source)
            return source
        raise _Unsupported(kind.__name__)

    def branch(self, node: nodes.Node) -> str:
        """A node evaluated only on some paths."""
        self.conditional += 1
        try:
            return self.strict(node)
        finally:
            self.conditional -= 1

    def slice(self, node: nodes.Slice) -> str:
        parts = [self.strict(n) if n is not None else "" for n in (node.start, node.stop)]
        text = ":".join(parts)
        return text + (f":{self.strict(node.step)}" if node.step is not None else "")

    def tolerant(self, node: nodes.Node) -> str:
        """The operand of `default`: its last step gives MISSING instead of failing."""
        if type(node) is nodes.Name:
            return f"c.get({node.name!r}, _MISSING)"
        if type(node) is nodes.Getattr:
            return f"_gat({self.strict(node.node)}, {node.attr!r})"
        if type(node) is nodes.Getitem and not isinstance(node.arg, nodes.Slice):
            return f"_git({self.strict(node.node)}, {self.strict(node.arg)})"
        return self.strict(node)

    def arguments(self, node: nodes.Filter | nodes.Test | nodes.Call) -> str:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported("*args / **kwargs")
        args = [self.strict(a) for a in node.args]
        args += [f"{k.key}={self.strict(k.value)}" for k in node.kwargs]
        return "".join(f", {a}" for a in args)

    def function(self, prefix: str, name: str, func: Any) -> tuple[str, str]:
        """The namespace name of a filter or test, and what it is passed first (if anything)."""
        pass_arg = _PassArg.from_obj(func)
        if pass_arg is _PassArg.context:
            if func not in filters.FILTERS.values():
                raise _Unsupported(f"{name} needs a Jinja context")
            first = "c, "
        elif pass_arg is _PassArg.eval_context:
            first = "_evalctx, "
        elif pass_arg is _PassArg.environment:
            first = "_ENV, "
        else:
            first = ""
        ident = f"_{prefix}_{name}"
        self.names[ident] = func
        return ident, first

    def filter(self, node: nodes.Filter) -> str:
        name = node.name
        if node.node is None or (name not in filters.FILTERS and name not in _JINJA_FILTERS):
            raise _Unsupported(f"filter {name}")
        if name in ("default", "d"):
            quick = self.default_of_field(node)
            return quick if quick is not None else f"_dflt({self.tolerant(node.node)}{self.arguments(node)})"
        ident, first = self.function("f", name, self.environment.filters[name])
        if name == "number" and not node.args and not node.kwargs:
            # filters.number reads plain ASCII digits as int(); so does this, without the call
            return f"(int(_n) if type(_n := {self.strict(node.node)}) is str and _n.isdigit() and _n.isascii() else {ident}(_n))"
        return f"{ident}({first}{self.strict(node.node)}{self.arguments(node)})"

    def default_of_field(self, node: nodes.Filter) -> str | None:
        """`x.f | default(k)` with a constant k (not boolean): on a dict, `x.get('f', k)`."""
        field, args = node.node, node.args
        if not isinstance(field, nodes.Getattr) or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return None
        constants = [a.value for a in args if isinstance(a, nodes.Const)]
        if len(args) > 2 or len(constants) != len(args) or (len(args) == 2 and constants[1] is not False):
            return None
        fallback = self.constant(constants[0]) if constants else "''"
        if fallback.startswith("_k"):
            return None  # a constant of another type: the general path builds it per call
        obj, attr = self.strict(field.node), field.attr
        return f"(_t.get({attr!r}, {fallback}) if type(_t := {obj}) is dict else _dflt(_gat(_t, {attr!r}), {fallback}))"

    def test(self, node: nodes.Test) -> str:
        if node.name not in self.environment.tests:
            raise _Unsupported(f"test {node.name}")
        ident, first = self.function("test", str(next(_COUNTER)), self.environment.tests[node.name])
        return f"{ident}({first}{self.strict(node.node)}{self.arguments(node)})"

    def call(self, node: nodes.Call) -> str:
        if type(node.node) is not nodes.Name or node.node.name not in _CALLS:
            raise _Unsupported("call")
        args = self.arguments(node).removeprefix(", ")
        return f"c[{node.node.name!r}]({args})"
