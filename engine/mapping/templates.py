"""Jinja for mappings and routes: one sandboxed environment, compiled values, load-time checks.

Every value in a mapping or a route is compiled once, at load, into a `Value`:
- a literal (no `{{`/`{%`) is kept as it is;
- a value that is exactly one `{{ expression }}` keeps the expression's type (a number stays
  a number until the element type formats it); a plain dotted name (`{{ line.quantity }}`) is
  read directly, without a Jinja call, because most element values are just that;
- any other template renders to text.

The common expression shapes are also translated to Python (`engine.mapping.expressions`),
which the generated renderers inline; Jinja stays the reference each value falls back on.

The environment is Jinja's `ImmutableSandboxedEnvironment` with `StrictUndefined`: a template
can neither call unsafe attributes nor modify data, and a missing field is an error naming the
field and the mapping file and line, never an empty element; an expression whose result is
undefined (`{{ doc['x'] }}`, `{{ a or doc.x }}`) is the same error. On JSON objects `a.b` reads
the key `b` only (so a field called `items` or `values` is the field; dict methods are not
reachable from templates).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as parse_jsonpath

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource
from engine.errors import MappingError
from engine.mapping import filters
from engine.mapping.expressions import PyExpr, parse, runtime, translate, translate_template

_SIMPLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}$")
_SINGLE = re.compile(r"^\{\{(.*)\}\}$", re.S)


class MappingEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, reading dict keys before attributes."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _environment() -> MappingEnvironment:
    env = MappingEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(filters.FILTERS)
    env.globals.update(filters.GLOBALS)
    return env


ENVIRONMENT = _environment()


class LoopInfo:
    """The `loop` variable of a for_each: as in Jinja (index, index0, first, last, length)."""

    __slots__ = ("index", "index0", "length")

    def __init__(self, index0: int, length: int) -> None:
        self.index0 = index0
        self.index = index0 + 1
        self.length = length

    @property
    def first(self) -> bool:
        return self.index0 == 0

    @property
    def last(self) -> bool:
        return self.index == self.length

    @property
    def revindex(self) -> int:
        return self.length - self.index0


HELPERS = runtime(ENVIRONMENT, LoopInfo)
"""The helpers of translated expressions (see `engine.mapping.expressions`)."""


def is_template(text: str) -> bool:
    """Whether a string holds Jinja syntax (otherwise it is a literal)."""
    return "{{" in text or "{%" in text


class Value:
    """One compiled value of a mapping or route, with where it was written.

    `python` is the value as translated Python (None for a literal or a shape left to Jinja):
    `evaluate` runs it first and, when it raises, evaluates the value through Jinja, which
    gives the result or the error with its message (see `engine.mapping.expressions`).
    """

    __slots__ = ("_call", "_fast", "_path", "literal", "python", "text", "where")

    def __init__(self, text: Any, where: str) -> None:
        self.text = text
        self.where = where
        self.literal: Any = None
        self.python: PyExpr | None = None
        self._path: tuple[str, ...] | None = None
        self._call: Callable[[Mapping[str, Any]], Any] | None = None
        self._fast: Callable[[Mapping[str, Any]], Any] | None = None
        if not isinstance(text, str) or not is_template(text):
            self.literal = text
            return
        simple = _SIMPLE.match(text)
        single = _SINGLE.match(text)
        inner = single.group(1) if single and "}}" not in single.group(1) and "{{" not in single.group(1) else None
        if simple:
            self._path = tuple(simple.group(1).split("."))
        elif inner is not None:
            self._call = _expression(inner)
        else:
            template = ENVIRONMENT.from_string(text)
            self._call = template.render
            self.python = translate_template(ENVIRONMENT, text, HELPERS)
        if inner is not None:
            expr = parse(ENVIRONMENT, inner)
            self.python = translate(ENVIRONMENT, expr, HELPERS) if expr is not None else None

    @property
    def is_literal(self) -> bool:
        return self._path is None and self._call is None

    def reads(self, name: str) -> bool:
        """Whether the value reads the context variable `name` (`loop`, `line`...)."""
        if self.is_literal:
            return False
        tree = ENVIRONMENT.parse(self.text)
        return any(node.name == name for node in tree.find_all(nodes.Name) if node.ctx == "load")

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value for one document; errors name this value's place and the missing field."""
        fast = self._fast
        if fast is None and self.python is not None:
            fast = self._fast = self.python.function()  # made on first use: most are inlined
        if fast is not None:
            try:
                return fast(context)
            except Exception:
                pass
        return self.evaluate_jinja(context)

    def evaluate_jinja(self, context: Mapping[str, Any]) -> Any:
        """The value through Jinja (or the plain path reader) alone: the reference."""
        if self._path is not None:
            return self._lookup(context)
        if self._call is None:
            return self.literal
        try:
            result = self._call(context)
            if isinstance(result, jinja2.Undefined):
                result._fail_with_undefined_error()
            return result
        except jinja2.UndefinedError as exc:
            raise MappingError(f"{self.where}: {_undefined(exc)} in {self.text.strip()}") from None
        except MappingError as exc:
            raise MappingError(f"{self.where}: {exc.message}") from None
        except (TypeError, ValueError, ArithmeticError, jinja2.TemplateError, LookupError) as exc:
            raise MappingError(f"{self.where}: {self.text.strip()} failed: {exc}") from None

    def _lookup(self, context: Mapping[str, Any]) -> Any:
        assert self._path is not None
        head = self._path[0]
        try:
            value = context[head]
        except KeyError:
            raise MappingError(f"{self.where}: {head!r} is undefined in {self.text.strip()}") from None
        for depth, name in enumerate(self._path[1:], start=1):
            if type(value) is dict:
                try:
                    value = value[name]
                    continue
                except KeyError:
                    pass
            else:
                found = ENVIRONMENT.getattr(value, name)
                if not isinstance(found, jinja2.Undefined):
                    value = found
                    continue
            field = ".".join(self._path[: depth + 1])
            raise MappingError(
                f"{self.where}: the field {field!r} is missing ({'.'.join(self._path[:depth])} has "
                f"{_keys(value)})"
            )
        return value


def _expression(source: str) -> Callable[[Mapping[str, Any]], Any]:
    """A compiled expression called on our context dict as it is.

    Jinja's `TemplateExpression.__call__` copies the variables and the environment globals
    into a new dict on every call; our contexts already hold the globals (see `base_context`),
    so the compiled code runs on a `Context` whose parent is the dict itself.
    """
    template = ENVIRONMENT.compile_expression(source, undefined_to_none=False)._template
    root = template.root_render_func
    context_class = ENVIRONMENT.context_class
    name = template.name
    blocks = template.blocks

    def call(variables: Mapping[str, Any]) -> Any:
        context = context_class(ENVIRONMENT, variables, name, blocks)  # type: ignore[arg-type]
        for _ in root(context):
            pass
        return context.vars["result"]

    return call


def base_context(**variables: Any) -> dict[str, Any]:
    """A render context: Jinja's globals (range, dict, namespace...) plus `variables`."""
    context = dict(ENVIRONMENT.globals)
    context.update(variables)
    return context


def _keys(value: Any) -> str:
    if isinstance(value, dict):
        keys = sorted(str(k) for k in value)
        return "keys " + ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "") if keys else "no keys"
    return f"no such field (it is {type(value).__name__})"


def _undefined(exc: jinja2.UndefinedError) -> str:
    match = re.search(r"has no attribute '([^']+)'", exc.message or "")
    if match:
        return f"the field {match.group(1)!r} is missing"
    match = re.search(r"'([^']+)' is undefined", exc.message or "")
    if match:
        return f"{match.group(1)!r} is undefined"
    return exc.message or "undefined value"


FALSY = ("", "false", "0", "no", "none")
"""Texts a `when:` reads as false (stripped, lower-cased)."""


def truthy(value: Any) -> bool:
    """`when:` semantics: false, None, empty text/collections and the text 'false' are false."""
    if isinstance(value, str):
        return value.strip().lower() not in FALSY
    return bool(value)


# --- load-time checks ---------------------------------------------------------------------


class TemplateCompiler:
    """Compiles the values of one YAML file, collecting findings at their file positions.

    The mapping compiler and the route compiler both build on it, so a value's `where` (the
    `path:line (label)` a render error starts with) is written in one way.
    """

    def __init__(self, source: YamlSource) -> None:
        self.source = source
        self.findings: list[Finding] = []

    def find(self, pointer: Pointer, code: str, message: str) -> None:
        self.findings.append(Finding(self.source.where(pointer), code, message))

    def where(self, pointer: Pointer, label: str = "") -> str:
        location = self.source.where(pointer)
        return f"{location.path}:{location.line}" + (f" ({label})" if label else "")

    def compile_value(self, raw: Any, pointer: Pointer, label: str = "") -> Value | None:
        """A compiled value, or None after recording its Jinja problems."""
        problems = check_template(raw, self.source, pointer)
        if problems:
            self.findings.extend(problems)
            return None
        return Value(raw, self.where(pointer, label))



def check_template(text: Any, source: YamlSource, pointer: Pointer) -> list[Finding]:
    """Jinja syntax errors of one value, at the template's own line within the file.

    An unknown filter or test is an error too (Jinja reports those only when rendering).
    """
    if not isinstance(text, str) or not is_template(text):
        return []
    location = source.where(pointer)
    try:
        tree = ENVIRONMENT.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        line = location.line + (exc.lineno - 1 if exc.lineno else 0)
        at = type(location)(location.path, line, location.column if line == location.line else 1)
        return [Finding(at, "jinja-syntax", f"{exc.message} in {text.strip()!r}")]
    findings = []
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        table = ENVIRONMENT.filters if isinstance(node, nodes.Filter) else ENVIRONMENT.tests
        if node.name not in table:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            known = ", ".join(sorted(n for n in table if not n.startswith("_"))[:60])
            findings.append(Finding(location, f"jinja-unknown-{kind}", f"unknown {kind} {node.name!r} (known: {known})"))
    return findings


@lru_cache(maxsize=1024)
def compile_jsonpath(path: str) -> Any:
    """A jsonpath-ng expression (with filters), cached; MappingError on a bad path."""
    try:
        return parse_jsonpath(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:  # jsonpath-ng raises bare Exception too
        raise MappingError(f"invalid JSONPath {path!r}: {exc}") from None


def check_jsonpath(path: Any, source: YamlSource, pointer: Pointer) -> list[Finding]:
    """A finding if `path` is not a valid JSONPath."""
    if not isinstance(path, str):
        return [Finding(source.where(pointer), "jsonpath-type", f"a JSONPath must be text, found {path!r}")]
    try:
        compile_jsonpath(path)
    except MappingError as exc:
        return [Finding(source.where(pointer), "jsonpath-syntax", exc.message)]
    return []
