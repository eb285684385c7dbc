"""Business rules of a guide: Jinja expressions over one transaction, with typed values.

A rule is `{id, at, equals, says}` or `{id, at, expect, says}`. `at` is the element the rule
is about (where a violation points); `equals` is an expression whose value `at` must equal
(numbers compared by value); `expect` an expression that must be true. Expressions run in
Jinja's sandbox (the language of mappings) with these functions over the transaction:

    value('TDS01')              the first TDS01, typed (below); none when absent
    values('IT1/IT102')         every IT102, typed
    count('IT1')                how many IT1 segments (or loops) the address selects
    present('N1[ST]')           whether the address selects anything
    total('IT1', 'IT102', 'IT104')   the sum over the IT1 segments of IT102 x IT104
    total('SAC[A]', 'SAC05')    the sum of SAC05 over the SAC segments with SAC01 A

Typed: numeric elements are Decimals with their implied decimals applied (an N2 `367750` is
3677.50; R as written), others text. A missing element in a `total` product counts as 0.

Evaluation is bounded: powers, repeated text or lists and numbers are capped, so a mistake
in a guide is a clear error, never a worker taken down.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.config import Location
from engine.errors import ConfigError, MappingError
from engine.guides.address import Address, Node, parse_address, select
from engine.x12.definition import ElementDef, TransactionSetDef

__all__ = ["FUNCTIONS", "Rule", "RuleContext", "compile_rule"]

FUNCTIONS = ("count", "present", "total", "value", "values")
_MAX_SIZE = 100_000
_MAX_EXPONENT = 100


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with `**` and `*` bounded (see the module docstring)."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float | Decimal) and abs(float(right)) > _MAX_EXPONENT:
                raise MappingError(f"the exponent {right} is larger than {_MAX_EXPONENT}")
            return operator.pow(left, right)
        for size, count in ((left, right), (right, left)):
            if isinstance(size, str | list | tuple) and isinstance(count, int) and len(size) * count > _MAX_SIZE:
                raise MappingError(f"repeating a text or list {count} times makes more than {_MAX_SIZE} items")
        return operator.mul(left, right)


@cache
def _environment() -> _BoundedEnvironment:
    return _BoundedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class Rule:
    """One compiled rule (module docstring)."""

    id: str
    at: str
    says: str
    kind: str
    """`equals` or `expect`."""
    text: str
    location: Location
    evaluate: Callable[[dict[str, Any]], Any]
    calls: tuple[tuple[str, tuple[str, ...]], ...]
    """(function, its literal address arguments) for the load-time check of addresses."""

    def addresses(self) -> list[tuple[str, bool]]:
        """Every address the rule names, and whether it must be an element address."""
        found: list[tuple[str, bool]] = [(self.at, True)]
        for name, args in self.calls:
            for index, text in enumerate(args):
                found.append((text, name in ("value", "values") or (name == "total" and index > 0)))
        return found


def compile_rule(spec: Any, location: Location) -> Rule:
    """A rule from its (schema-valid) guide entry; ConfigError for a Jinja syntax error."""
    kind = "equals" if "equals" in spec else "expect"
    raw = str(spec[kind]).strip()
    text = raw[2:-2].strip() if raw.startswith("{{") and raw.endswith("}}") else raw
    try:
        expression, calls = _compiled(text)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"rule {spec.get('id')!r}: the {kind} expression is not valid Jinja: {exc.message}") from None
    return Rule(
        id=str(spec["id"]),
        at=str(spec["at"]),
        says=str(spec.get("says") or ""),
        kind=kind,
        text=text,
        location=location,
        evaluate=expression,
        calls=calls,
    )


@lru_cache(maxsize=1024)
def _compiled(text: str) -> tuple[Callable[[dict[str, Any]], Any], tuple[tuple[str, tuple[str, ...]], ...]]:
    """The expression `text` compiled, and the calls of `FUNCTIONS` it makes with their literal
    arguments: once per process for every rule with this text (500 partner guides repeating
    the same invoice-total rule). The environment is this module's one; what differs between
    rules (id, place in its guide, the partner) is on each `Rule`."""
    env = _environment()
    parsed = env.parse("{{ " + text + " }}")
    expression = env.compile_expression(text, undefined_to_none=False)
    calls: list[tuple[str, tuple[str, ...]]] = []
    for call in parsed.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in FUNCTIONS:
            args = tuple(a.value for a in call.args if isinstance(a, nodes.Const) and isinstance(a.value, str))
            calls.append((call.node.name, args))
    return expression, tuple(calls)


class RuleContext:
    """The functions of the module docstring over one indexed transaction."""

    def __init__(self, root: Node, definition: TransactionSetDef | None) -> None:
        self.root = root
        self.definition = definition
        self._types: dict[str, ElementDef | None] = {}

    def names(self) -> dict[str, Any]:
        return {"count": self.count, "present": self.present, "total": self.total, "value": self.value, "values": self.values}

    def typed(self, element_id: str, text: str) -> Any:
        """The value of element `element_id` written as `text`, by its type (module docstring)."""
        if element_id not in self._types:
            self._types[element_id] = self._element(element_id)
        element = self._types[element_id]
        if element is None or not (element.type == "R" or element.type.startswith("N")):
            return text
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise MappingError(f"{element_id} {text!r} is not a number") from None
        if element.type.startswith("N") and element.type != "N0":
            number = number.scaleb(-int(element.type[1:]))
        return number

    def _element(self, element_id: str) -> ElementDef | None:
        if self.definition is None:
            return None
        tag, position = element_id[:-2], int(element_id[-2:])
        segment = self.definition.segments.get(tag)
        if segment is None or position > len(segment.elements):
            return None
        found = segment.elements[position - 1]
        return found if isinstance(found, ElementDef) else None

    def values(self, text: str) -> list[Any]:
        address = _address(text)
        if address.element is None:
            raise MappingError(f"values({text!r}): an element address is needed, such as {address.segment}01")
        _, found = select(self.root, address)
        return [self.typed(address.element, value) for _, value in found]

    def value(self, text: str) -> Any:
        found = self.values(text)
        return found[0] if found else None

    def count(self, text: str) -> int:
        address = _address(text)
        scopes, found = select(self.root, address)
        return len(found) if address.element else len(scopes)

    def present(self, text: str) -> bool:
        return self.count(text) > 0

    def total(self, text: str, *elements: str) -> Decimal:
        if not elements:
            raise MappingError(f"total({text!r}) needs the element(s) to add up, such as total('IT1', 'IT102', 'IT104')")
        address = _address(text)
        scopes, _ = select(self.root, address)
        result = Decimal(0)
        for scope in scopes:
            product = Decimal(1)
            for element_id in elements:
                raw = scope.head.data.get(element_id)
                if not isinstance(raw, str) or raw == "":
                    product = Decimal(0)
                    break
                value = self.typed(element_id, raw)
                product *= value if isinstance(value, Decimal) else Decimal(0)
            result += product
        return result


@cache
def _address(text: str) -> Address:
    try:
        return parse_address(text)
    except ConfigError as exc:
        raise MappingError(exc.message) from None


def evaluate(rule: Rule, context: RuleContext) -> tuple[bool, Any, Any]:
    """(passed, the `at` value, the expected value) of a rule on one transaction."""
    names = context.names()
    try:
        result = rule.evaluate(names)
        actual = context.value(rule.at)
    except (UndefinedError, TypeError, ArithmeticError, MappingError) as exc:
        message = exc.message if isinstance(exc, MappingError) else str(exc)
        raise MappingError(f"rule {rule.id} ({rule.location}) could not be evaluated: {message}") from None
    if rule.kind == "expect":
        return bool(result), actual, None
    return _same(actual, result), actual, result


def _same(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is expected
    try:
        return Decimal(str(actual)) == Decimal(str(expected))
    except InvalidOperation:
        return str(actual) == str(expected)
