"""Jinja for mappings and routes: one sandboxed environment, compiled values, load-time checks.

Every value in a mapping or a route is compiled once, at load, into a `Value`:
- a literal (no `{{`/`{%`) is kept as it is;
- a value that is exactly one `{{ expression }}` keeps the expression's type (a number stays
  a number until the element type formats it);
- any other template renders to text.

Each value's expression is also translated to a Python function (`engine.mapping.expressions`),
which `Value.evaluate` runs first; Jinja stays the reference each value falls back on when its
translation raises or does not exist. `translation(False)` (or `MLC_TRANSLATE=0` in the
environment) turns the translations off, so everything goes through Jinja; `FALLBACKS` counts
the evaluations that went through Jinja (the tests hold it at zero over the golden inputs).

A text compiles once per process, however many values hold it (500 partner overlays of one
mapping repeat its texts 500 times): `compiled`, `read_names` and `template_problems` are
caches keyed by the text alone. That key is the whole input: the environment is this module's one
`ENVIRONMENT` (its filters, tests and globals fixed at import), the translation's helpers are
`HELPERS`, a value's variables (`doc`, a loop's alias) are names read from the render context,
and the bounds of `engine.mapping.sandbox` and the `translation` switch are read when a value
is evaluated, not when it is compiled. What differs between two values of one text, where
they are written, stays on each `Value` (`where`, used by every error message and by
`FALLBACKS`), and `check_template` places a cached problem at the line of the file holding
the value; nothing cached names a file.

The environment (`engine.mapping.sandbox`) is Jinja's `ImmutableSandboxedEnvironment` with
`StrictUndefined`, bounded: a template can neither call unsafe attributes nor modify data nor
outgrow memory or time, and a missing field is an error naming the field and the mapping file
and line, never an empty element; an expression whose result is undefined (`{{ doc['x'] }}`,
`{{ a or doc.x }}`) is the same error. On JSON objects `a.b` reads the key `b` only (so a field
called `items` or `values` is the field; dict methods are not reachable from templates).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes

from engine.config import Finding, Location, Pointer, YamlSource
from engine.errors import MappingError
from engine.mapping import filters, sandbox
from engine.mapping.expressions import Compiled, parse, runtime, translate, translate_template
from engine.mapping.paths import check_jsonpath as check_jsonpath
from engine.mapping.paths import compile_jsonpath as compile_jsonpath

_SIMPLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}$")
_SINGLE = re.compile(r"^\{\{(.*)\}\}$", re.S)

ENVIRONMENT = sandbox.environment(filters.FILTERS, filters.GLOBALS)

COMPILED_TEXTS = 4096
"""How many distinct template texts the compile caches keep (`compiled`, `read_names`, `template_problems`):
far more than a project's mappings hold, however many overlays repeat them."""


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

_TRANSLATE = [os.environ.get("MLC_TRANSLATE", "1").strip().lower() not in ("0", "false", "no", "off")]


@contextmanager
def translation(enabled: bool) -> Iterator[None]:
    """Values evaluated with their translations (True) or through Jinja alone (False), for
    the duration of the block (a process-wide switch: for tests and for comparing)."""
    previous = _TRANSLATE[0]
    _TRANSLATE[0] = enabled
    try:
        yield
    finally:
        _TRANSLATE[0] = previous


FALLBACKS: Counter[str] = Counter()
"""Evaluations that went through Jinja (or, for a plain field path, its reader), by the place
of the value (`path:line (label)`)."""


def is_template(text: str) -> bool:
    """Whether a string holds Jinja syntax (otherwise it is a literal)."""
    return "{{" in text or "{%" in text


class Value:
    """One compiled value of a mapping or route, with where it was written.

    `fast` is the value translated to Python (None for a literal or a shape left to Jinja):
    `evaluate` runs it first and, when it raises, evaluates the value through Jinja, which
    gives the result or the error with its message (see `engine.mapping.expressions`).
    """

    __slots__ = ("_jinja", "_path", "fast", "literal", "text", "where")

    def __init__(self, text: Any, where: str) -> None:
        self.text = text
        self.where = where
        self.literal: Any = None
        self.fast: Compiled | None = None
        self._path: tuple[str, ...] | None = None
        self._jinja: Callable[[Mapping[str, Any]], Any] | None = None
        if not isinstance(text, str) or not is_template(text):
            self.literal = text
            return
        self._path, self._jinja, self.fast = compiled(text)

    @property
    def is_literal(self) -> bool:
        return self._path is None and self._jinja is None

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value for one document; errors name this value's place and the missing field."""
        fast = self.fast
        if fast is not None and _TRANSLATE[0]:
            try:
                return fast(context)  # type: ignore[arg-type]
            except Exception:  # Jinja gives the value or the error and its message
                pass
        return self.evaluate_jinja(context)

    def evaluate_jinja(self, context: Mapping[str, Any]) -> Any:
        """The value through Jinja (or the plain path reader) alone: the reference."""
        if self._path is not None:
            FALLBACKS[self.where] += 1
            return self._lookup(context)
        if self._jinja is None:
            return self.literal
        FALLBACKS[self.where] += 1
        try:
            with sandbox.document_budget():
                result = self._jinja(context)
            if isinstance(result, jinja2.Undefined):
                result._fail_with_undefined_error()
            return result
        except jinja2.UndefinedError as exc:
            raise MappingError(f"{self.where}: {_undefined(exc)} in {self.text.strip()}") from None
        except MappingError as exc:
            raise MappingError(f"{self.where}: {exc.message}") from None
        except (TypeError, ValueError, ArithmeticError, jinja2.TemplateError, LookupError, RecursionError) as exc:
            raise MappingError(f"{self.where}: {self.text.strip()} failed: {exc}") from None
        except MemoryError:
            raise MappingError(f"{self.where}: {self.text.strip()} ran out of memory") from None

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


@lru_cache(maxsize=COMPILED_TEXTS)
def compiled(text: str) -> tuple[tuple[str, ...] | None, Callable[[Mapping[str, Any]], Any] | None, Compiled | None]:
    """What the template `text` compiles to: (the field path of a plain `{{ a.b.c }}`, the
    Jinja callable, the translated function), compiled once per process for every value
    with this text (see `Value`)."""
    single = _SINGLE.match(text)
    inner = single.group(1) if single and "}}" not in single.group(1) and "{{" not in single.group(1) else None
    if inner is None:
        template = ENVIRONMENT.from_string(sandbox.bounded_loops(ENVIRONMENT.parse(text)))
        return None, lambda context: sandbox.render_bounded(template, context), translate_template(ENVIRONMENT, text, HELPERS)
    simple = _SIMPLE.match(text)
    path = tuple(simple.group(1).split(".")) if simple else None  # read by `_lookup`, whose errors list the keys
    jinja = None if simple else _expression(inner)
    expr = parse(ENVIRONMENT, inner)
    return path, jinja, translate(ENVIRONMENT, expr, HELPERS) if expr is not None else None


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
        self.names: set[str] = set()
        """The context names the file's templates read (`read_names`): an outbound mapping
        none of whose values reads `control` renders the same body whatever its control
        numbers (`CompiledMapping.reads_controls`)."""

    def find(self, pointer: Pointer, code: str, message: str) -> None:
        self.findings.append(Finding(self.source.where(pointer), code, message))

    def where(self, pointer: Pointer, label: str = "") -> str:
        location = self.source.where(pointer)
        return f"{location.path}:{location.line}" + (f" ({label})" if label else "")

    def compile_value(self, raw: Any, pointer: Pointer, label: str = "") -> Value | None:
        """A compiled value, or None after recording its Jinja problems."""
        location = self.source.where(pointer)
        if isinstance(raw, str) and is_template(raw):
            problems = _placed(raw, location)
            if problems:
                self.findings.extend(problems)
                return None
            self.names |= read_names(raw)
        return Value(raw, f"{location.path}:{location.line}" + (f" ({label})" if label else ""))


def check_template(text: Any, source: YamlSource, pointer: Pointer) -> list[Finding]:
    """Jinja syntax errors of one value, at the template's own line within the file.

    An unknown filter or test is an error too (Jinja reports those only when rendering).
    """
    if not isinstance(text, str) or not is_template(text):
        return []
    return _placed(text, source.where(pointer))


def _placed(text: str, location: Location) -> list[Finding]:
    """The problems of `text` (`template_problems`) placed in the file: a syntax error at
    its line within the template, the others at the value."""
    findings = []
    for code, message, lineno in template_problems(text):
        if lineno is None:
            findings.append(Finding(location, code, message))
            continue
        line = location.line + lineno - 1
        findings.append(Finding(Location(location.path, line, location.column if line == location.line else 1), code, message))
    return findings


@lru_cache(maxsize=COMPILED_TEXTS)
def read_names(text: str) -> frozenset[str]:
    """The context names template `text` reads (its undeclared variables: `doc`, `partner`,
    `control`, a loop's alias...); `text` has no syntax error (`template_problems`)."""
    return frozenset(meta.find_undeclared_variables(ENVIRONMENT.parse(text)))


@lru_cache(maxsize=COMPILED_TEXTS)
def template_problems(text: str) -> tuple[tuple[str, str, int | None], ...]:
    """The Jinja problems of the template `text` as (code, message, line within the text or
    None for the value's own place), found once per process for every value with this text;
    `check_template` places them in the file that holds the value."""
    try:
        tree = ENVIRONMENT.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return (("jinja-syntax", f"{exc.message} in {text.strip()!r}", exc.lineno or 1),)
    problems: list[tuple[str, str, int | None]] = []
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        table = ENVIRONMENT.filters if isinstance(node, nodes.Filter) else ENVIRONMENT.tests
        if node.name not in table:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            known = ", ".join(sorted(n for n in table if not n.startswith("_"))[:60])
            problems.append((f"jinja-unknown-{kind}", f"unknown {kind} {node.name!r} (known: {known})", None))
    return tuple(problems)
