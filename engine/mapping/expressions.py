"""Mapping values as Python: the Jinja expression of a value translated once, at load.

A value evaluated through Jinja costs a `Context`, a generator and a dict copy per call, and
most mapping values are a few field reads with a filter, `or`, `x if c else y`, a comparison
or a call of `count()`/`total()`. `translate` turns such an expression, as Jinja parsed it,
into a Python function of the render context built with `ast` (never by editing source text).
It does the same operations with the same functions: the sandbox's own `getattr`/`getitem`
(`environment.getattr` on anything but a dict), the environment's filters and tests as they
are (bounded ones included), the sandbox's `call` for methods, the bounded operators of
`engine.mapping.sandbox` for `*`, `**` and `%`. Anything else (a Jinja statement, `hl()`, a
filter or call that needs a Jinja context, an inline `if` without `else`) is not translated
and stays on Jinja.

The translated code is optimistic: it never carries an undefined value along. Where Jinja
would hold an `Undefined` (a missing key, a sandbox refusal, a filter's undefined result), it
raises, and the caller (`Value.evaluate`) evaluates the value again through Jinja, which gives
the result or the error, with its message. The one place a missing field is a value rather
than an error is the operand of `default`, of the tests `defined`/`undefined` and of the
engine's filters that take a missing value as empty (`filters.TOLERANT`): its last step reads
tolerantly, as Jinja does, giving Jinja's own undefined object to the filter or test. So whenever the Python returns, it returns what Jinja returns; the only side effect it
can have before raising is an `xref` miss recorded twice, which the miss report lists once.
"""

from __future__ import annotations

import ast
import itertools
import warnings
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.nodes import EvalContext
from jinja2.parser import Parser
from jinja2.runtime import str_join
from jinja2.utils import _PassArg

from engine.mapping import filters, sandbox

Compiled = Callable[[dict[str, Any]], Any]
"""A translated value: a function of the render context."""

_BINARY: dict[type[nodes.BinExpr], ast.operator] = {
    nodes.Add: ast.Add(),
    nodes.Sub: ast.Sub(),
    nodes.Div: ast.Div(),
    nodes.FloorDiv: ast.FloorDiv(),
}
_BOUNDED = {nodes.Mul: "*", nodes.Pow: "**", nodes.Mod: "%"}
"""Operators whose result can outgrow memory: evaluated by `sandbox.binop`."""
_UNARY: dict[type[nodes.UnaryExpr], ast.unaryop] = {nodes.Neg: ast.USub(), nodes.Pos: ast.UAdd(), nodes.Not: ast.Not()}
_COMPARE: dict[str, ast.cmpop] = {
    "eq": ast.Eq(),
    "ne": ast.NotEq(),
    "gt": ast.Gt(),
    "gteq": ast.GtE(),
    "lt": ast.Lt(),
    "lteq": ast.LtE(),
    "in": ast.In(),
    "notin": ast.NotIn(),
}
_CALLS = frozenset({"count", "total", "fail", "hl_parent", "range", "dict"})
"""Context functions a translated expression may call: none has a side effect (`hl()`
numbers segments, so it is never evaluated twice)."""
_NEVER_UNDEFINED = frozenset(
    {"abs", "capitalize", "center", "count", "float", "format", "indent", "int", "join", "length", "lower",
     "replace", "round", "string", "title", "trim", "truncate", "upper", "wordcount", "wordwrap"}
)
"""Jinja filters that never return an undefined value (the results of the others are checked)."""
_LOOP_ATTRIBUTES = frozenset({"index", "index0", "length", "first", "last", "revindex"})
_COUNTER = itertools.count()


class Missing(Exception):
    """Raised by translated code where Jinja would go on with an undefined value."""


class _Unsupported(Exception):
    """The expression has a shape `translate` does not handle: it stays on Jinja."""


def runtime(environment: jinja2.Environment, loop_type: type) -> dict[str, Any]:
    """The helpers translated code calls, bound to `environment` and to the class of the
    `loop` variable."""
    undefined = jinja2.Undefined
    getattr_ = environment.getattr
    getitem = environment.getitem
    empty = environment.context_class(environment, {}, None, {})
    sandboxed_call = environment.call  # type: ignore[attr-defined]  # a sandboxed environment's

    def strict_getattr(obj: Any, name: str) -> Any:
        value = getattr_(obj, name)
        if isinstance(value, undefined):
            raise Missing(name)
        return value

    def tolerant_getattr(obj: Any, name: str) -> Any:
        return obj.get(name, _UNDEFINED) if type(obj) is dict else getattr_(obj, name)

    def defined(value: Any) -> Any:
        if isinstance(value, undefined):
            raise Missing("an undefined result")
        return value

    def call(function: Any, *args: Any, **kwargs: Any) -> Any:
        method = getattr(function, "__call__", None)  # noqa: B004 (a callable object's own method, for its pass mark)
        if _PassArg.from_obj(function) is not None or (method is not None and _PassArg.from_obj(method) is not None):
            raise Missing("a call that needs a Jinja context")
        return defined(sandboxed_call(empty, function, *args, **kwargs))  # the sandbox's call (bounded)

    _UNDEFINED = environment.undefined(name="a missing field")
    return {
        "_ga": strict_getattr,
        "_gat": tolerant_getattr,
        "_git": getitem,
        "_defined": defined,
        "_call": call,
        "_binop": sandbox.binop,
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


def translate(environment: jinja2.Environment, expr: nodes.Expr, helpers: dict[str, Any]) -> Compiled | None:
    """One parsed expression as a function of the context, or None when it stays on Jinja."""
    translator = _Translator(environment, helpers)
    try:
        return translator.function(translator.strict(expr))
    except _Unsupported:
        return None


def translate_template(environment: jinja2.Environment, text: str, helpers: dict[str, Any]) -> Compiled | None:
    """A template of text and `{{ }}` expressions (no statements), rendered as Jinja renders
    it: the text as the lexer left it, each expression's value through `str`."""
    try:
        tree = environment.parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    translator = _Translator(environment, helpers)
    parts: list[ast.expr] = []
    try:
        for node in tree.body[0].nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(ast.Constant(node.data))
            else:
                parts.append(_call(_name("str"), translator.strict(node)))
        return translator.function(_call(_attribute(ast.Constant(""), "join"), ast.Tuple(parts, ast.Load())))
    except _Unsupported:
        return None


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def _call(function: ast.expr, *args: ast.expr, keywords: list[ast.keyword] | None = None) -> ast.Call:
    return ast.Call(function, list(args), keywords or [])


def _attribute(value: ast.expr, name: str) -> ast.Attribute:
    return ast.Attribute(value, name, ast.Load())


def _is_type(value: ast.expr, type_name: str) -> ast.Compare:
    return ast.Compare(_call(_name("type"), value), [ast.Is()], [_name(type_name)])


class _Translator:
    def __init__(self, environment: jinja2.Environment, helpers: dict[str, Any]) -> None:
        self.environment = environment
        self.names: dict[str, Any] = dict(helpers)

    def function(self, body: ast.expr) -> Compiled:
        """`lambda c: body`, compiled in the namespace of its helpers and constants."""
        arguments = ast.arguments([], [ast.arg("c")], None, [], [], None, [])
        tree = ast.fix_missing_locations(ast.Expression(ast.Lambda(arguments, body)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a construct Python warns about stays on Jinja
            try:
                code = compile(tree, "<mapping value>", "eval")
            except (SyntaxError, SyntaxWarning) as exc:
                raise _Unsupported(str(exc)) from None
        function: Compiled = eval(code, dict(self.names))  # our own tree, compiled above
        return function

    def bind(self, value: Any) -> ast.Name:
        """A name for `value` in the function's namespace."""
        name = f"_k{next(_COUNTER)}"
        self.names[name] = value
        return _name(name)

    def constant(self, value: Any) -> ast.expr:
        # Only scalars become literals: a literal container, or a literal a subscript or call is
        # applied to, is a name (so Python never warns about `'text'[...]` or `1(...)`).
        if value is None or type(value) in (bool, int, float):
            return ast.Constant(value)
        return self.bind(value)

    def strict(self, node: nodes.Node) -> ast.expr:
        kind = type(node)
        if isinstance(node, nodes.Const):
            return self.constant(node.value)
        if isinstance(node, nodes.Name):
            return ast.Subscript(_name("c"), ast.Constant(node.name), ast.Load())
        if isinstance(node, nodes.Getattr):
            return self.getattr(self.strict(node.node), node.attr)
        if isinstance(node, nodes.Getitem):
            # the sandbox's getitem tries `obj[key]` first; when that fails, Jinja decides
            key = self.slice(node.arg) if isinstance(node.arg, nodes.Slice) else self.strict(node.arg)
            return ast.Subscript(self.strict(node.node), key, ast.Load())
        if kind in _BINARY:
            assert isinstance(node, nodes.BinExpr)
            return ast.BinOp(self.strict(node.left), _BINARY[kind], self.strict(node.right))
        if kind in _BOUNDED:
            assert isinstance(node, nodes.BinExpr)
            return _call(_name("_binop"), ast.Constant(_BOUNDED[kind]), self.strict(node.left), self.strict(node.right))
        if isinstance(node, nodes.And | nodes.Or):
            op = ast.And() if isinstance(node, nodes.And) else ast.Or()
            return ast.BoolOp(op, [self.strict(node.left), self.strict(node.right)])
        if kind in _UNARY:
            assert isinstance(node, nodes.UnaryExpr)
            return ast.UnaryOp(_UNARY[kind], self.strict(node.node))
        if isinstance(node, nodes.Compare):
            return ast.Compare(self.strict(node.expr), [_COMPARE[op.op] for op in node.ops], [self.strict(op.expr) for op in node.ops])
        if isinstance(node, nodes.CondExpr):
            if node.expr2 is None:
                raise _Unsupported("an inline if without else is undefined when false")
            return ast.IfExp(self.strict(node.test), self.strict(node.expr1), self.strict(node.expr2))
        if isinstance(node, nodes.Concat):
            return _call(_name("_str_join"), ast.Tuple([self.strict(n) for n in node.nodes], ast.Load()))
        if isinstance(node, nodes.List):
            return ast.List([self.strict(n) for n in node.items], ast.Load())
        if isinstance(node, nodes.Tuple):
            return ast.Tuple([self.strict(n) for n in node.items], ast.Load())
        if isinstance(node, nodes.Dict):
            return ast.Dict([self.strict(p.key) for p in node.items], [self.strict(p.value) for p in node.items])
        if isinstance(node, nodes.Filter):
            return self.filter(node)
        if isinstance(node, nodes.Test):
            return self.test(node)
        if isinstance(node, nodes.Call):
            return self.call(node)
        raise _Unsupported(kind.__name__)

    def getattr(self, obj: ast.expr, attr: str) -> ast.expr:
        """`obj.attr` as the sandbox reads it: a dict's key, else `environment.getattr`
        (the `loop` variable's own attributes directly)."""
        # One temporary for every read: assigned once its object is evaluated, read after that.
        held = ast.NamedExpr(ast.Name("_t", ast.Store()), obj)
        key = ast.Constant(attr)
        fallback: ast.expr = _call(_name("_ga"), _name("_t"), key)
        if attr in _LOOP_ATTRIBUTES:
            fallback = ast.IfExp(_is_type(_name("_t"), "_Loop"), _attribute(_name("_t"), attr), fallback)
        return ast.IfExp(_is_type(held, "dict"), ast.Subscript(_name("_t"), key, ast.Load()), fallback)

    def slice(self, node: nodes.Slice) -> ast.Slice:
        parts = [self.strict(n) if n is not None else None for n in (node.start, node.stop, node.step)]
        return ast.Slice(*parts)

    def tolerant(self, node: nodes.Node) -> ast.expr:
        """The operand of `default` and `defined`: its last step gives Jinja's undefined
        value instead of failing."""
        if type(node) is nodes.Name:
            return _call(_attribute(_name("c"), "get"), ast.Constant(node.name), self.bind(self.environment.undefined(name=node.name)))
        if type(node) is nodes.Getattr:
            return _call(_name("_gat"), self.strict(node.node), ast.Constant(node.attr))
        if type(node) is nodes.Getitem and not isinstance(node.arg, nodes.Slice):
            return _call(_name("_git"), self.strict(node.node), self.strict(node.arg))
        return self.strict(node)

    def arguments(self, node: nodes.Filter | nodes.Test | nodes.Call) -> tuple[list[ast.expr], list[ast.keyword]]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported("*args / **kwargs")
        return [self.strict(a) for a in node.args], [ast.keyword(str(k.key), self.strict(k.value)) for k in node.kwargs]

    def passed(self, name: str, function: Any) -> list[ast.expr]:
        """What a filter or test is passed before its value, as Jinja passes it."""
        pass_arg = _PassArg.from_obj(function)
        if pass_arg is _PassArg.context:
            if name not in filters.FILTERS:
                raise _Unsupported(f"{name} needs a Jinja context")
            return [_name("c")]  # the engine's own filters read the context as a mapping
        if pass_arg is _PassArg.eval_context:
            return [_name("_evalctx")]
        if pass_arg is _PassArg.environment:
            return [_name("_ENV")]
        return []

    def filter(self, node: nodes.Filter) -> ast.expr:
        name = node.name
        function = self.environment.filters.get(name)
        if node.node is None or function is None:
            raise _Unsupported(f"filter {name}")
        operand = self.tolerant(node.node) if name in ("default", "d") or name in filters.TOLERANT else self.strict(node.node)
        args, keywords = self.arguments(node)
        result = _call(self.bind(function), *self.passed(name, function), operand, *args, keywords=keywords)
        if name in filters.FILTERS or name in _NEVER_UNDEFINED or name in ("default", "d"):
            return result
        return _call(_name("_defined"), result)

    def test(self, node: nodes.Test) -> ast.expr:
        function = self.environment.tests.get(node.name)
        if function is None:
            raise _Unsupported(f"test {node.name}")
        operand = self.tolerant(node.node) if node.name in ("defined", "undefined") else self.strict(node.node)
        args, keywords = self.arguments(node)
        return _call(self.bind(function), *self.passed(node.name, function), operand, *args, keywords=keywords)

    def call(self, node: nodes.Call) -> ast.expr:
        args, keywords = self.arguments(node)
        if type(node.node) is nodes.Name and node.node.name in _CALLS:
            return _call(self.strict(node.node), *args, keywords=keywords)
        if type(node.node) is nodes.Getattr:  # a method: the sandbox decides whether it may be called
            return _call(_name("_call"), self.strict(node.node), *args, keywords=keywords)
        raise _Unsupported("call")
