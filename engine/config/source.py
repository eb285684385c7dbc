"""YAML files with positions: every node's line and column kept for error messages.

PyYAML's SafeLoader builds plain Python values and forgets where they came from. Problems in
a project must be reported as `path:line:col`, so `load_yaml` composes the node graph once,
constructs the data from it with the safe constructor, and walks both together to record the
position of every mapping key and every value by its pointer (the tuple of keys and indexes
from the root, as `jsonschema` reports `error.absolute_path`).

libyaml's parser (`CSafeLoader`) is used when PyYAML was built with it: it keeps the same
marks and is about seven times faster, which matters for projects of hundreds of partners.
A key written twice in one mapping is kept (the last one wins, as in PyYAML) and recorded in
`YamlSource.duplicates`, so the linter can report it. A file that cannot be read or parsed
raises `YamlFileError`, a `ConfigError` that also carries the location and the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError

Pointer = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file: 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class YamlSource:
    """The data of one YAML file and the position of each of its nodes."""

    path: str
    data: Any
    values: dict[Pointer, tuple[int, int]] = field(default_factory=dict, repr=False)
    keys: dict[Pointer, tuple[int, int]] = field(default_factory=dict, repr=False)
    duplicates: list[tuple[Pointer, tuple[int, int]]] = field(default_factory=list, repr=False)
    """Keys written more than once in the same mapping: the pointer and the later key's place."""
    files: dict[Pointer, str] = field(default_factory=dict, repr=False)
    """The file a node came from when it is not `path` (a mapping overlay merged onto the
    mapping it extends keeps each node's own file: engine.config.overlay)."""

    def with_data(self, data: Any) -> YamlSource:
        """The same file and positions with other data of the same shape (e.g. interpolated)."""
        return YamlSource(self.path, data, self.values, self.keys, self.duplicates, self.files)

    def where(self, pointer: Pointer = (), *, key: bool = False) -> Location:
        """The location of the value at `pointer` (or of its key with `key=True`).

        A pointer that does not exist (a missing required key) falls back to its nearest
        existing parent, which is where the fix belongs.
        """
        table = self.keys if key else self.values
        probe = tuple(pointer)
        while probe:
            if probe in table:
                line, col = table[probe]
                return Location(self.files.get(probe, self.path), line, col)
            if probe in self.values:
                line, col = self.values[probe]
                return Location(self.files.get(probe, self.path), line, col)
            probe = probe[:-1]
        line, col = self.values.get((), (1, 1))
        return Location(self.path, line, col)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _record(
    loader: yaml.SafeLoader, node: yaml.Node, data: Any, pointer: Pointer, source: YamlSource, seen: set[int]
) -> None:
    source.values[pointer] = _mark(node)
    if id(node) in seen:  # an alias: its positions were recorded where the anchor is
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        written: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            if isinstance(key, str | int) and key in data:
                child = (*pointer, key)
                if key in written:
                    source.duplicates.append((child, _mark(key_node)))
                written.add(key)
                source.keys[child] = _mark(key_node)
                _record(loader, value_node, data[key], child, source, seen)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for index, (item_node, item) in enumerate(zip(node.value, data, strict=False)):
            _record(loader, item_node, item, (*pointer, index), source, seen)


class YamlFileError(ConfigError):
    """A YAML file that cannot be read or parsed: `location`, `code` and `detail` as a lint
    finding needs them; the message is the finding's line."""

    def __init__(self, location: Location, code: str, detail: str) -> None:
        self.location = location
        self.code = code
        self.detail = detail
        super().__init__(f"{location}: error {code} {detail}")


_PLAIN = (
    ("did not find expected ',' or ']'", "a list opened with [ is not closed here; text holding [ ] , { } or : inside a [...] list must be quoted"),
    ("did not find expected ',' or '}'", "a mapping opened with { is not closed here; text holding [ ] , { } or : inside a {...} mapping must be quoted"),
    ("mapping values are not allowed in this context", "a ': ' inside a value starts another key here; quote the value (\"a: b\") or fix the indentation"),
    ("found character that cannot start any token", "a character that cannot start a value here: a tab used for indentation (YAML indents with spaces only), or @ or ` at the start of a text (quote it)"),
    ("mapping values are not allowed here", "a ': ' inside a value starts another key here; quote the value (\"a: b\") or fix the indentation"),
    ("could not find expected ':'", "a line that is neither 'key: value' nor a list item '- ...'; check the indentation, or quote text that runs over several lines"),
    ("found character '\\t' that cannot start any token", "a tab character: YAML indents with spaces only"),
    ("found undefined alias", "an alias (*name) refers to no anchor (&name) written above it"),
    ("expected <block end>, but found", "this line's indentation does not fit the lines above it (a key or item at a level that was closed)"),
    ("found unexpected end of stream", "the file ends inside a quoted text: a quote is not closed"),
    ("found unknown escape character", "an unknown backslash escape inside double quotes; use single quotes for text with backslashes"),
    ("expected a comment or a line break", "text follows a closed quote or bracket on the same line; quote the whole value"),
)
"""PyYAML's problems in plain words (the original follows in parentheses)."""


def plain_yaml_problem(problem: str, context: str | None = None) -> str:
    """A PyYAML problem said in plain words, with PyYAML's own words after it."""
    said = problem if not context else f"{context}: {problem}"
    for known, plain in _PLAIN:
        if known in said:
            return f"{plain} (YAML: {problem})"
    return problem


def parse_yaml(text: str, path: str) -> YamlSource:
    """Parse YAML text; a syntax error is a YamlFileError at its line and column."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        source = YamlSource(path, data)
        if node is not None:
            _record(loader, node, data, (), source, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1, 1)
        raise YamlFileError(location, "yaml-syntax", plain_yaml_problem(str(exc.problem or exc), exc.context)) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(Location(path, 1, 1), "yaml-syntax", str(exc).replace("\n", " ")) from None
    finally:
        loader.dispose()
    return source


def load_yaml(path: Path, display: str | None = None) -> YamlSource:
    """Read and parse one YAML file; `display` is the path shown in messages."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(Location(shown, 1, 1), "yaml-encoding", f"the file is not UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise YamlFileError(Location(shown, 1, 1), "io", f"cannot read the file: {exc.strerror}") from None
    return parse_yaml(text, shown)
