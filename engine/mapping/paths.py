"""`for_each` paths and the JSONPath expressions of mappings and routes, compiled once.

A `for_each` is JSONPath from the document (`$.lines[*]`) or from a variable in scope
(`line.parts[*]`, `order..HL_loop`), read with jsonpath-ng. The common shapes are read
directly, without jsonpath-ng's match objects: `$.a.b[*]` (a list of the document) and
`$.a.b[?(@.f == 'x')]` (`!=` too) when the list holds objects whose field is text or absent;
for those the direct reading gives what jsonpath-ng gives (the tests compare both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonpath_ng import jsonpath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import filter as jsonpath_filter
from jsonpath_ng.ext.parser import parse as parse_jsonpath

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource
from engine.errors import MappingError

_VARIABLE_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.S)
_SIMPLE_ROOT_PATH = re.compile(r"^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\[\*\]$")
_SELECT_PATH = re.compile(
    r"^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\[\?\(@\.([A-Za-z_][A-Za-z0-9_]*) *(==|!=) *'([^'\\]*)'\)\]$"
)
_ABSENT: Any = object()


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


@dataclass(frozen=True)
class Path:
    """A compiled `for_each` JSONPath: from the document (`$...`) or from a variable in scope."""

    text: str
    variable: str | None
    keys: tuple[str, ...] | None
    """`$.a.b[*]` read directly (the common case) without jsonpath-ng."""
    expression: Any
    selection: tuple[tuple[str, ...], str, bool, str] | None = None
    """`$.a.b[?(@.f == 'x')]` (or `!=`) as (keys, field, equal, text): read directly when the
    list's items are objects whose field is text or absent, otherwise by `expression`."""

    def items(self, context: dict[str, Any], where: str) -> list[Any]:
        if self.variable is None:
            start = context["doc"]
        else:
            try:
                start = context[self.variable]
            except KeyError:
                raise MappingError(f"{where}: {self.variable!r} is not defined for {self.text!r}") from None
        if self.keys is not None:
            value = start
            for key in self.keys:
                if not isinstance(value, dict) or key not in value:
                    return []
                value = value[key]
            if value is None:
                return []
            return value if isinstance(value, list) else [value]
        if self.expression is None:
            return start if isinstance(start, list) else ([] if start is None else [start])
        if self.selection is not None:
            selected = _select(start, *self.selection)
            if selected is not None:
                return selected
        found = [match.value for match in self.expression.find(start)]
        if len(found) == 1 and isinstance(found[0], list):
            return list(found[0])
        return found


def _select(start: Any, keys: tuple[str, ...], field: str, equal: bool, text: str) -> list[Any] | None:
    """The items jsonpath-ng's filter `[?(@.field == 'text')]` (`!=` when not `equal`) keeps,
    or None for a shape left to jsonpath-ng: an RFC 9535 comparison of two texts is Python's,
    and an absent field equals nothing (so only `!=` keeps the item)."""
    value = start
    for key in keys:
        if type(value) is not dict or key not in value:
            return None
        value = value[key]
    if type(value) is not list:
        return None
    kept = []
    for item in value:
        if type(item) is not dict:
            return None
        found = item.get(field, _ABSENT)
        if found is _ABSENT:
            if not equal:
                kept.append(item)
        elif type(found) is str:
            if (found == text) is equal:
                kept.append(item)
        else:
            return None
    return kept


def _selection(text: str, expression: Any) -> tuple[tuple[str, ...], str, bool, str] | None:
    """The parts of a `$.a.b[?(@.f == 'x')]` path, when jsonpath-ng reads it as exactly that."""
    match = _SELECT_PATH.match(text)
    if not match:
        return None
    keys = tuple(match.group(1)[1:].split("."))
    field, literal = match.group(2), match.group(4)
    op: Any = match.group(3)  # one of _SELECT_PATH's operators; jsonpath-ng >= 1.17 types it as a Literal
    shape: Any = jsonpath.Root()
    for key in keys:
        shape = jsonpath.Child(shape, jsonpath.Fields(key))
    condition = jsonpath_filter.Expression(jsonpath.Child(jsonpath.This(), jsonpath.Fields(field)), op, literal)
    shape = jsonpath.Child(shape, jsonpath_filter.Filter([condition]))
    if expression != shape or jsonpath.auto_id_field is not None:
        return None
    return keys, field, op == "==", literal


def compile_path(text: str) -> Path:
    """A `for_each` path; MappingError when it is not valid JSONPath."""
    text = text.strip()
    if text.startswith("$"):
        simple = _SIMPLE_ROOT_PATH.match(text)
        if simple:
            return Path(text, None, tuple(simple.group(1)[1:].split(".")), None)
        expression = compile_jsonpath(text)
        return Path(text, None, None, expression, _selection(text, expression))
    match = _VARIABLE_PATH.match(text)
    if not match:
        raise MappingError(f"invalid JSONPath {text!r}: start with $ (the document) or a variable name")
    rest = match.group(2)
    if rest in ("", "[*]"):
        return Path(text, match.group(1), None, None)
    if rest.startswith(".."):  # recursive descent from the variable: `order..HL_loop`
        return Path(text, match.group(1), None, compile_jsonpath("$" + rest))
    return Path(text, match.group(1), None, compile_jsonpath(rest.removeprefix(".")))
