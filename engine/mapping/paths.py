"""`for_each` paths and the JSONPath expressions of mappings and routes, compiled once.

A `for_each` is JSONPath from the document (`$.lines[*]`) or from a variable in scope
(`line.parts[*]`, `order..HL_loop`), read with jsonpath-ng. The common shapes are read
directly, without jsonpath-ng's match objects: `$.a.b[*]` (a list of the document),
`$.a.b[?(@.f.g == 'x')]` (`!=` too) and the descent `$..k`, `$..k[*]`, `$..k[?(@.f.g == 'x')]`
(an 856's `$..HL_loop[?(@.HL.HL03 == 'I')]`: jsonpath-ng makes a match object for every node
of the tree, several seconds on a big ship notice). A filter is read directly when the items
are objects whose field is text or absent, a descent when the tree holds JSON values only;
otherwise jsonpath-ng reads the path. The direct reading gives what jsonpath-ng gives, in its
order (the tests compare both).
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

from engine.config import Finding, Pointer, YamlSource
from engine.errors import MappingError

_VARIABLE_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.S)
_SIMPLE_ROOT_PATH = re.compile(r"^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\[\*\]$")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_FILTER = rf"\[\?\(@((?:\.{_NAME})+) *(==|!=) *'([^'\\]*)'\)\]"
_SELECT_PATH = re.compile(rf"^\$((?:\.{_NAME})+){_FILTER}$")
_DESCENT_PATH = re.compile(rf"^\$\.\.({_NAME})(\[\*\]|{_FILTER})?$")
_LEAVES = (str, int, float, bool, type(None))
_ABSENT: Any = object()


@lru_cache(maxsize=1024)
def compile_jsonpath(path: str) -> Any:
    """A jsonpath-ng expression (with filters), compiled once per process for every path of
    this text (jsonpath-ng's parser is the same for all); MappingError on a bad path."""
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


Filter = tuple[tuple[str, ...], bool, str]
"""A filter `[?(@.f.g == 'text')]` read directly: (fields, equal (else `!=`), text)."""


@dataclass(frozen=True)
class Path:
    """A compiled `for_each` JSONPath: from the document (`$...`) or from a variable in scope."""

    text: str
    variable: str | None
    keys: tuple[str, ...] | None
    """`$.a.b[*]` read directly (the common case) without jsonpath-ng."""
    expression: Any
    selection: tuple[tuple[str, ...], Filter] | None = None
    """`$.a.b[?(@.f == 'x')]` (or `!=`) as (keys, filter): read directly when the list's items
    are objects whose field is text or absent, otherwise by `expression`."""
    descent: tuple[str, str | Filter | None] | None = None
    """`$..k`, `$..k[*]`, `$..k[?(...)]` as (k, None / "*" / filter): read directly when the
    tree holds JSON values only (and the filter can be), otherwise by `expression`."""

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
        found: list[Any] | None = None
        if self.selection is not None:
            found = _select(start, *self.selection)
            if found is not None:
                return found
        if self.descent is not None:
            found = _descend(start, *self.descent)
        if found is None:
            found = [match.value for match in self.expression.find(start)]
        if len(found) == 1 and isinstance(found[0], list):
            return list(found[0])
        return found


def _kept(candidates: Any, fields: tuple[str, ...], equal: bool, text: str) -> list[Any] | None:
    """The candidates jsonpath-ng's filter `[?(@.f.g == 'text')]` (`!=` when not `equal`)
    keeps, or None for a shape left to jsonpath-ng: an RFC 9535 comparison of two texts is
    Python's, and an absent field equals nothing (so only `!=` keeps the item)."""
    kept = []
    for item in candidates:
        found = item
        for field in fields:
            if type(found) is not dict:
                return None
            found = found.get(field, _ABSENT)
            if found is _ABSENT:
                break
        if found is _ABSENT:
            if not equal:
                kept.append(item)
        elif type(found) is str:
            if (found == text) is equal:
                kept.append(item)
        else:
            return None
    return kept


def _select(start: Any, keys: tuple[str, ...], condition: Filter) -> list[Any] | None:
    value = start
    for key in keys:
        if type(value) is not dict or key not in value:
            return None
        value = value[key]
    if type(value) is not list:
        return None
    return _kept(value, *condition)


def _descend(start: Any, key: str, step: str | Filter | None) -> list[Any] | None:
    """What jsonpath-ng finds for `$..key` (then `[*]` or the filter) on `start`: the values
    under `key` at any depth, in its order (depth first, pre-order), or None for a tree that
    holds something other than JSON values."""
    found: list[Any] = []
    stack = [start]
    while stack:
        value = stack.pop()
        if type(value) is dict:
            if key in value:
                found.append(value[key])
            children: Any = value.values()
        elif type(value) is list:
            children = value
        else:
            continue
        for child in reversed(children):
            if type(child) is dict or type(child) is list:
                stack.append(child)
            elif not isinstance(child, _LEAVES):
                return None
    if step is None:
        return found
    results: list[Any] = []
    for value in found:
        if type(value) is dict:
            candidates: Any = list(value.values())
        elif type(value) is list:
            candidates = value
        else:
            continue
        if step == "*":
            results.extend(candidates)
            continue
        assert not isinstance(step, str)
        kept = _kept(candidates, *step)
        if kept is None:
            return None
        results.extend(kept)
    return results


def _condition(fields: str, op: Any, literal: str) -> tuple[Any, Filter]:
    """A filter as jsonpath-ng builds it, and as `_kept` reads it."""
    names = tuple(fields[1:].split("."))
    target: Any = jsonpath.This()
    for name in names:
        target = jsonpath.Child(target, jsonpath.Fields(name))
    # op is one of _FILTER's operators; jsonpath-ng >= 1.17 types it as a Literal
    return jsonpath_filter.Filter([jsonpath_filter.Expression(target, op, literal)]), (names, op == "==", literal)


def _selection(text: str, expression: Any) -> tuple[tuple[str, ...], Filter] | None:
    """The parts of a `$.a.b[?(@.f == 'x')]` path, when jsonpath-ng reads it as exactly that."""
    match = _SELECT_PATH.match(text)
    if not match or jsonpath.auto_id_field is not None:
        return None
    keys = tuple(match.group(1)[1:].split("."))
    shape: Any = jsonpath.Root()
    for key in keys:
        shape = jsonpath.Child(shape, jsonpath.Fields(key))
    node, condition = _condition(match.group(2), match.group(3), match.group(4))
    return (keys, condition) if expression == jsonpath.Child(shape, node) else None


def _descent(text: str, expression: Any) -> tuple[str, str | Filter | None] | None:
    """The parts of a `$..k`, `$..k[*]` or `$..k[?(@.f == 'x')]` path, when jsonpath-ng reads
    it as exactly that."""
    match = _DESCENT_PATH.match(text)
    if not match or jsonpath.auto_id_field is not None:
        return None
    key, suffix = match.group(1), match.group(2)
    shape: Any = jsonpath.Descendants(jsonpath.Root(), jsonpath.Fields(key))
    step: str | Filter | None = None
    if suffix == "[*]":
        shape, step = jsonpath.Child(shape, jsonpath.Wildcard()), "*"
    elif suffix:
        node, step = _condition(match.group(3), match.group(4), match.group(5))
        shape = jsonpath.Child(shape, node)
    return (key, step) if expression == shape else None


def compile_path(text: str) -> Path:
    """A `for_each` path; MappingError when it is not valid JSONPath. Compiled once per
    process for every loop of this text (and jsonpath-ng's `auto_id_field` setting, which
    decides whether a path is read directly): a `Path` holds the text alone, a loop's place
    is passed to `Path.items`."""
    return _compile_path(text, jsonpath.auto_id_field)


@lru_cache(maxsize=1024)
def _compile_path(text: str, auto_id_field: Any) -> Path:
    text = text.strip()
    if text.startswith("$"):
        simple = _SIMPLE_ROOT_PATH.match(text)
        if simple:
            return Path(text, None, tuple(simple.group(1)[1:].split(".")), None)
        expression = compile_jsonpath(text)
        return Path(text, None, None, expression, _selection(text, expression), _descent(text, expression))
    match = _VARIABLE_PATH.match(text)
    if not match:
        raise MappingError(f"invalid JSONPath {text!r}: start with $ (the document) or a variable name")
    rest = match.group(2)
    if rest in ("", "[*]"):
        return Path(text, match.group(1), None, None)
    if rest.startswith(".."):  # recursive descent from the variable: `order..HL_loop`
        expression = compile_jsonpath("$" + rest)
        return Path(text, match.group(1), None, expression, None, _descent("$" + rest, expression))
    return Path(text, match.group(1), None, compile_jsonpath(rest.removeprefix(".")))
