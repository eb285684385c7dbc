"""The sandbox mapping values run in: Jinja's `ImmutableSandboxedEnvironment`, bounded.

A mapping is configuration, but a mistake in one must not take the worker down: `'x' * 10**10`,
`2 ** 10 ** 9`, `'%999999999s' % x`, `[0] * 10**9` or loops nested over a big document would
otherwise run out of memory or never end. Jinja's sandbox already refuses unsafe attributes
and ranges over `MAX_RANGE` items; this module adds bounds through the sandbox's own hooks
(`intercepted_binops`/`call_binop`, `call`, `wrap_str_format`, the filter table) and through
one node transformation (every `{% for %}` iterates through `iterations`):

- no single operation makes a text or a list longer than `Limits.size` (repetition, `%` and
  `format` widths and precisions, `center`, `indent`, `replace`, `join`, `pad`, str methods);
- no integer grows past `Limits.int_bits` through `**` or `*`;
- one document's render runs at most `Limits.iterations` loop iterations (`for_each` items and
  Jinja loops together) and `Limits.seconds` seconds, checked as loops iterate and calls are
  made (`Budget`).

Each refusal is a `MappingError` saying which bound was hit; the value that hit it adds its
mapping file and line (`Value.evaluate_jinja`), a `for_each` its own. The translated code of
`engine.mapping.expressions` calls the same checks (`binop`, `call`), so both paths refuse
alike. Why hand-written: Jinja offers the hooks, not the bounds; no maintained library bounds a
Jinja sandbox.
"""

from __future__ import annotations

import operator
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from engine.errors import MappingError


@dataclass(frozen=True)
class Limits:
    """The bounds of mapping evaluation (see the module docstring)."""

    size: int = 10_000_000
    """Characters of a text, items of a list, that one operation may make."""
    int_bits: int = 14_000
    """Bits of an integer made by `**` or `*` (about 4,300 digits: Python's own limit for
    converting an integer to text)."""
    iterations: int = 10_000_000
    """Loop iterations and calls per document: `for_each` items, Jinja `{% for %}` iterations,
    calls made in Jinja (macros, methods)."""
    seconds: float = 60.0
    """Time to render one document."""


_LIMITS = [Limits()]


def current_limits() -> Limits:
    """The bounds in force."""
    return _LIMITS[0]


@contextmanager
def limits(**changes: Any) -> Iterator[Limits]:
    """Other bounds for the duration of the block (tests; a process-wide setting)."""
    previous = _LIMITS[0]
    _LIMITS[0] = replace(previous, **changes)
    try:
        yield _LIMITS[0]
    finally:
        _LIMITS[0] = previous


class Budget:
    """What one document's render may still spend: loop iterations and time."""

    __slots__ = ("deadline", "limits", "steps")

    def __init__(self, bounds: Limits | None = None) -> None:
        self.limits = bounds or current_limits()
        self.deadline = time.monotonic() + self.limits.seconds
        self.steps = 0

    def step(self) -> None:
        """One loop iteration or call; every 256th looks at the clock."""
        self.steps += 1
        if self.steps > self.limits.iterations:
            raise MappingError(
                f"rendering one document took more than {self.limits.iterations:,} loop iterations and calls "
                "(the limit; loops nested over a big document?)"
            )
        if not self.steps & 255 and time.monotonic() > self.deadline:
            raise MappingError(f"rendering one document took more than {self.limits.seconds:g} s (the limit)")


_BUDGET: ContextVar[Budget | None] = ContextVar("mapping_budget", default=None)


@contextmanager
def document_budget() -> Iterator[Budget]:
    """The budget of the document being rendered: a new one, unless one is open already."""
    budget = _BUDGET.get()
    if budget is not None:
        yield budget
        return
    budget = Budget()
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _step() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.step()


def iterations(iterable: Iterable[Any]) -> Iterator[Any]:
    """What a Jinja `{% for %}` iterates: `iterable`, each item counted against the budget."""
    budget = _BUDGET.get() or Budget()
    for item in iterable:
        budget.step()
        yield item


# --- sizes --------------------------------------------------------------------------------


def _too_big(what: str, size: int) -> MappingError:
    return MappingError(f"{what} would be {size:,} long; mapping evaluation is limited to {current_limits().size:,}")


def check_size(what: str, size: int) -> None:
    if size > current_limits().size:
        raise _too_big(what, size)


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_SPEC = re.compile(r"^(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?")


def _ints(args: Any) -> list[int]:
    values = list(args.values()) if isinstance(args, dict) else list(args) if isinstance(args, tuple | list) else [args]
    return [v for v in values if type(v) is int]


def check_percent(text: str, args: Any) -> None:
    """`text % args`: no width or precision past the size bound."""
    limit = current_limits().size
    for match in _PERCENT.finditer(text):
        for part in match.groups():
            if part == "*":
                wide = [v for v in _ints(args) if abs(v) > limit]
                if wide:
                    raise _too_big("a '*' width or precision of a % format", abs(wide[0]))
            elif part and int(part) > limit:
                raise _too_big(f"the width or precision of {match.group(0)!r}", int(part))


def check_format(text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """`text.format(...)`: no width or precision past the size bound (nested ones included)."""
    limit = current_limits().size
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format raises the same error itself
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            wide = [v for v in _ints(args) + _ints(kwargs) if abs(v) > limit]
            if wide:
                raise _too_big("a nested width or precision of a format", abs(wide[0]))
            continue
        match = _SPEC.match(spec)
        for part in match.groups() if match else ():
            if part and int(part) > limit:
                raise _too_big(f"the width or precision of {{:{spec}}}", int(part))


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def check_binop(symbol: str, left: Any, right: Any) -> None:
    """Refuse `left <symbol> right` when its result would pass a bound."""
    if symbol == "**":
        if type(left) is int and type(right) is int and right > 0 and abs(left) > 1:
            bits = (abs(left).bit_length() - 1) * right + 1
            if bits > current_limits().int_bits:
                raise MappingError(
                    f"{left} ** {right} would be an integer of about {bits:,} bits; mapping evaluation is "
                    f"limited to {current_limits().int_bits:,}"
                )
    elif symbol == "*":
        if isinstance(left, int) and isinstance(right, int):
            bits = abs(left).bit_length() + abs(right).bit_length()
            if bits > current_limits().int_bits:
                raise MappingError(f"a product of about {bits:,} bits; mapping evaluation is limited to {current_limits().int_bits:,}")
        elif isinstance(right, int) and isinstance(left, str | list | tuple):
            check_size(f"{type(left).__name__} * {right}", _length(left) * right)
        elif isinstance(left, int) and isinstance(right, str | list | tuple):
            check_size(f"{left} * {type(right).__name__}", _length(right) * left)
    elif symbol == "%" and isinstance(left, str):
        check_percent(left, right)


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {"*": operator.mul, "**": operator.pow, "%": operator.mod}


def binop(symbol: str, left: Any, right: Any) -> Any:
    """`left <symbol> right` for `*`, `**` and `%`, within the bounds."""
    check_binop(symbol, left, right)
    return _OPERATORS[symbol](left, right)


_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        found = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        check_size("the text of replace()", len(text) + found * (len(new) - len(old)))


def _check_join(separator: Any, items: Any) -> None:
    if isinstance(separator, str) and isinstance(items, list | tuple):
        check_size("the text of join()", len(separator) * max(len(items) - 1, 0))


def check_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a str method call whose result would pass the size bound."""
    owner = getattr(func, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(func, "__name__", "")
    if name in _WIDTH_METHODS:
        wide = [v for v in _ints(args) + _ints(kwargs) if v > current_limits().size]
        if wide:
            raise _too_big(f"the text of {name}()", wide[0])
    elif name == "replace" and args:
        _check_replace(owner, *args[:3])
    elif name == "join" and args:
        _check_join(owner, args[0])


# --- the environment -----------------------------------------------------------------------


def _bounded_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters whose result can be far bigger than their input, each behind a check of
    its arguments (the filter itself runs as it is)."""

    def guard(name: str, check: Callable[..., None]) -> None:
        function = filters[name]
        skip = 0 if _PassArg.from_obj(function) is None else 1  # the context Jinja passes first

        @wraps(function)  # keeps Jinja's pass_context / pass_eval_context marks
        def bounded(*args: Any, **kwargs: Any) -> Any:
            check(*args[skip:], **kwargs)
            return function(*args, **kwargs)

        filters[name] = bounded

    def width(position: int, keyword: str) -> Callable[..., None]:
        def check(*args: Any, **kwargs: Any) -> None:
            value = kwargs.get(keyword, args[position] if len(args) > position else None)
            if type(value) is int:
                check_size(f"a width of {value}", value)

        return check

    def indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
        if type(width) is int and isinstance(value, str):
            check_size("the text of indent()", len(value) + width * (value.count("\n") + 1))
        elif isinstance(width, str) and isinstance(value, str):
            check_size("the text of indent()", len(value) + len(width) * (value.count("\n") + 1))

    def percent(value: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(value, str):
            check_percent(value, kwargs or args)

    def join(value: Any, separator: Any = "", *args: Any, **kwargs: Any) -> None:
        _check_join(kwargs.get("d", separator), value if isinstance(value, list | tuple) else None)

    def replace(value: Any, old: Any, new: Any, count: Any = None) -> None:
        _check_replace(value if isinstance(value, str) else "", old, new, -1 if count is None else count)

    def wordwrap(value: Any, width: Any = 79, *args: Any, **kwargs: Any) -> None:
        wrap = kwargs.get("wrapstring", args[1] if len(args) > 1 else None)
        if isinstance(value, str) and isinstance(wrap, str) and type(width) is int and width > 0:
            check_size("the text of wordwrap()", len(value) + len(value) // width * len(wrap))

    def tojson(value: Any, indent: Any = None) -> None:
        if type(indent) is int:
            check_size(f"an indent of {indent}", indent)

    guard("center", width(1, "width"))
    guard("batch", width(1, "linecount"))
    guard("wordwrap", wordwrap)
    guard("tojson", tojson)
    guard("indent", indent)
    guard("format", percent)
    guard("replace", replace)
    guard("join", join)
    guard("slice", width(1, "slices"))
    guard("pad", width(1, "width"))
    return filters


class MappingEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, reading dict keys before attributes, within `Limits`."""

    intercepted_binops = frozenset(_OPERATORS)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        value = super().getattr(obj, attribute)
        if type(value) in (str, list) and len(value) > current_limits().size:
            raise _too_big(f"the value of {attribute!r}", len(value))  # grown in a namespace, say
        return value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # Jinja's own signature
        _step()
        check_call(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str | list) and len(result) > current_limits().size:
            raise _too_big("the result of a call", len(result))  # a macro's output, say
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_map:
                check_format(text, (), args[0] if args and isinstance(args[0], dict) else {})
            else:
                check_format(text, args, kwargs)
            return wrapped(*args, **kwargs)

        return bounded


def environment(filters: dict[str, Any], globals: dict[str, Any]) -> MappingEnvironment:
    """The mapping environment: StrictUndefined, no autoescape, `filters` and `globals` added,
    the size-amplifying filters bounded, no `lipsum` (text generation has no place in a
    mapping)."""
    env = MappingEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(filters)
    env.filters = _bounded_filters(dict(env.filters))
    env.globals.update(globals)
    env.globals.pop("lipsum", None)
    return env


def bounded_loops(tree: nodes.Template) -> nodes.Template:
    """`tree` with every `{% for %}` iterating through `iterations` (counted, timed)."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(nodes.ImportedName(f"{__name__}.iterations"), [loop.iter], [], None, None, lineno=loop.lineno)
    return tree


def render_bounded(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """`template.render(variables)`, its output held to the size bound as it is written."""
    context = template.new_context(dict(variables))
    parts: list[str] = []
    size = 0
    limit = current_limits().size
    for part in template.root_render_func(context):
        size += len(part)
        if size > limit:
            raise _too_big("the text of this template", size)
        parts.append(part)
    return "".join(parts)
