"""Compiling a mapping file once, at load: templates, JSONPath loops, element formatters.

`compile_mapping` turns `mappings/<name>/mapping.yaml` into a `CompiledMapping` and reports
every problem it finds as a `Finding` at the file, line and column where it was written:
Jinja syntax, unknown filters, invalid JSONPath, a transaction set without a definition, a
segment the set does not use, an element id the segment does not have, a loop variable that
shadows a reserved name. Rendering then never meets an error that loading could have found.

The structure itself (which keys exist, their types) is the mapping JSON Schema's job
(`engine/config/schemas/mapping.schema.json`); here a malformed item is reported once as
`mapping-structure` and skipped, so one run still lists every other problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.config import Finding, Pointer, YamlSource
from engine.errors import MappingError
from engine.mapping.formatting import FormatState, Formatter, formatter, plain
from engine.mapping.paths import Path, check_jsonpath, compile_path
from engine.mapping.templates import TemplateCompiler, Value
from engine.plugins import EntityShape
from engine.x12 import definition as definitions
from engine.x12.definition import CompositeDef, ElementDef, SegmentDef, TransactionSetDef
from engine.x12.scanners import Checker, checker

DIRECTIONS = ("outbound", "inbound", "json")
RESERVED = frozenset({"doc", "partner", "lookups", "now", "control", "interchange", "group", "loop", "output"})
_ELEMENT_ID = re.compile(r"^([A-Z][A-Z0-9]{1,2})(\d{2})$")
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")


@dataclass
class ElementNode:
    """One element (or composite) of an outbound segment."""

    position: int
    value: Value | list[Value]
    format: Formatter | list[Formatter]
    id: str
    spec: ElementDef | CompositeDef | None = None


@dataclass
class SegmentNode:
    """One outbound segment: `blank` is the segment with its constant elements already
    formatted, `elements` the others; `check` is the checker of its place (`None`: no
    definition), see `engine.x12.scanners.checker`."""

    tag: str
    elements: list[ElementNode]
    when: Value | None
    where: str
    width: int
    blank: list[Any] = field(default_factory=list)
    check: Checker | None = None
    scalars: tuple[tuple[int, Value, Formatter], ...] = ()
    """(position, value, formatter) of the elements that are one value."""
    composites: tuple[tuple[int, list[Value], list[Formatter]], ...] = ()
    """(position, values, formatters) of the composite elements."""


def constant_text(value: Value, fmt: Formatter) -> str | None:
    """A literal's formatted text, when it is the same under either overlong policy and
    formatting it records nothing."""
    if not value.is_literal:
        return None
    results = []
    for truncate in (True, False):
        state = FormatState(truncate)
        try:
            results.append(fmt(value.literal, state))
        except MappingError:
            return None
        if state.notes:
            return None
    return results[0] if results[0] == results[1] else None


def _segment_node(tag: str, elements: list[ElementNode], when: Value | None, where: str, seg_def: SegmentDef | None) -> SegmentNode:
    elements.sort(key=lambda e: e.position)
    width = max((e.position for e in elements), default=0)
    blank: list[Any] = [tag, *[""] * width]
    rendered: list[ElementNode] = []
    constants: dict[int, str] = {}
    for element in elements:
        text = None if isinstance(element.value, list) or isinstance(element.format, list) else constant_text(element.value, element.format)
        if text is None:
            rendered.append(element)
        else:
            blank[element.position] = constants[element.position] = text
    check = checker(seg_def, width, constants) if seg_def is not None else None
    scalars = tuple((e.position, e.value, e.format) for e in rendered if isinstance(e.value, Value) and not isinstance(e.format, list))
    composites = tuple((e.position, e.value, e.format) for e in rendered if isinstance(e.value, list) and isinstance(e.format, list))
    return SegmentNode(tag, rendered, when, where, width, blank, check, scalars, composites)


@dataclass
class LoopNode:
    path: Path
    alias: str
    when: Value | None
    body: list[SegmentNode | LoopNode]
    where: str


@dataclass
class CompiledMapping:
    """A loaded mapping, ready to render documents."""

    name: str
    direction: str
    description: str
    source: YamlSource
    transaction_set: str | None = None
    version: str = "004010"
    definition: TransactionSetDef | None = None
    key: Value | None = None
    segments: list[SegmentNode | LoopNode] = field(default_factory=list)
    output: Any = None
    target: EntityShape | None = None
    """The entity an inbound or JSON payload is written to, with its field types: set when the
    project is loaded from the routes that use the mapping (`engine.config.project`), so every
    render checks the payload against it (`engine.mapping.payload`). None: not checked."""
    reads_controls: bool = True
    """Whether a value of the mapping reads `control` (its ISA13, GS06, ST02): when none does,
    an outbound document's body is the same whatever its numbers, and a document rendered
    with numbers another worker took meanwhile is only wrapped again (`renumbered`)."""

    @property
    def path(self) -> str:
        return self.source.path


class _Compiler(TemplateCompiler):
    def __init__(self, source: YamlSource, name: str) -> None:
        super().__init__(source)
        self.name = name
        self.placed: dict[str, SegmentDef] = {}
        """The segments of the transaction set's definition (their checkers check rendered
        segments)."""

    def value(self, raw: Any, pointer: Pointer, label: str = "") -> Value | None:
        if isinstance(raw, dict | list):
            self.find(pointer, "mapping-structure", f"expected a value (text, number or template), found {raw!r}")
            return None
        return self.compile_value(raw, pointer, label)

    def path(self, raw: Any, pointer: Pointer) -> Path | None:
        problems = check_jsonpath(raw, self.source, pointer) if isinstance(raw, str) and raw.startswith("$") else []
        if problems:
            self.findings.extend(problems)
            return None
        try:
            return compile_path(str(raw))
        except MappingError as exc:
            self.find(pointer, "jsonpath-syntax", exc.message)
            return None

    def alias(self, raw: Any, pointer: Pointer) -> str:
        alias = "item" if raw is None else raw
        if not isinstance(alias, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
            self.find(pointer, "mapping-alias", f"'as' must be a variable name, found {alias!r}")
            return "item"
        if alias in RESERVED:
            self.find(pointer, "mapping-alias", f"'as: {alias}' would hide the reserved name {alias!r}")
        return alias

    # --- outbound -------------------------------------------------------------------------

    def segments(self, items: Any, pointer: Pointer, dictionary: dict[str, SegmentDef], used: set[str]) -> list[Any]:
        nodes: list[SegmentNode | LoopNode] = []
        if not isinstance(items, list):
            self.find(pointer, "mapping-structure", "'segments' must be a list")
            return nodes
        for index, item in enumerate(items):
            here = (*pointer, index)
            if not isinstance(item, dict):
                self.find(here, "mapping-structure", f"a segment item must be a mapping, found {item!r}")
                continue
            when = self.value(item["when"], (*here, "when")) if "when" in item else None
            if "for_each" in item:
                path = self.path(item["for_each"], (*here, "for_each"))
                body = self.segments(item.get("segments"), (*here, "segments"), dictionary, used)
                alias = self.alias(item.get("as"), (*here, "as"))
                if path is not None:
                    nodes.append(LoopNode(path, alias, when, body, self.where(here)))
                continue
            tags = [k for k in item if k != "when"]
            if len(tags) != 1:
                self.find(here, "mapping-structure", f"a segment item has one segment id key (and 'when'), found {tags}")
                continue
            node = self.segment(tags[0], item[tags[0]], (*here, tags[0]), dictionary, used, when)
            if node is not None:
                nodes.append(node)
        return nodes

    def segment(
        self, tag: Any, raw: Any, pointer: Pointer, dictionary: dict[str, SegmentDef], used: set[str], when: Value | None
    ) -> SegmentNode | None:
        if not isinstance(tag, str) or not _SEGMENT_ID.match(tag):
            self.find(pointer, "mapping-segment", f"{tag!r} is not a segment id")
            return None
        if tag in ("ST", "SE", "GS", "GE", "ISA", "IEA"):
            self.find(pointer, "mapping-segment", f"{tag} is written by the engine, not by the mapping")
            return None
        seg_def = dictionary.get(tag)
        if used and tag not in used:
            self.find(pointer, "mapping-segment", f"segment {tag} is not used by this transaction set")
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.find(pointer, "mapping-structure", f"segment {tag}: expected a mapping of element ids, found {raw!r}")
            return None
        elements: list[ElementNode] = []
        for key, value in raw.items():
            here = (*pointer, key)
            match = _ELEMENT_ID.match(str(key))
            if not match or match.group(1) != tag:
                self.find(here, "mapping-element", f"{key!r} is not an element id of {tag} (such as {tag}01)")
                continue
            position = int(match.group(2))
            spec: ElementDef | CompositeDef | None = None
            if seg_def is not None:
                if not 1 <= position <= len(seg_def.elements):
                    self.find(here, "mapping-element", f"{tag} has {len(seg_def.elements)} elements; there is no {key}")
                    continue
                spec = seg_def.elements[position - 1]
            label = f"{key}"
            if isinstance(value, list):
                components = [self.value(v, (*here, i), f"{key}-{i + 1}") for i, v in enumerate(value)]
                if isinstance(spec, CompositeDef) and len(components) > len(spec.components):
                    self.find(here, "mapping-element", f"{key} has {len(spec.components)} components, found {len(components)}")
                    continue
                if any(c is None for c in components):
                    continue
                formats: list[Formatter] = [
                    formatter(spec.components[i], f"{key}-{i + 1}") if isinstance(spec, CompositeDef) else plain
                    for i in range(len(components))
                ]
                elements.append(ElementNode(position, [c for c in components if c is not None], formats, str(key), spec))
                continue
            if isinstance(spec, CompositeDef):
                self.find(here, "mapping-element", f"{key} is the composite {spec.ref}: give its components as a list")
                continue
            compiled = self.value(value, here, label)
            if compiled is None:
                continue
            elements.append(ElementNode(position, compiled, formatter(spec, str(key)) if spec else plain, str(key), spec))
        return _segment_node(tag, elements, when, self.where(pointer, tag), self.placed.get(tag))

    # --- inbound / json templates -------------------------------------------------------------

    def template(self, raw: Any, pointer: Pointer) -> Any:
        if isinstance(raw, dict):
            if "for_each" in raw:
                unknown = set(raw) - {"for_each", "as", "when", "item"}
                if unknown or "item" not in raw:
                    self.find(pointer, "mapping-structure", "a loop has 'for_each', 'item' and optionally 'as', 'when'")
                    return None
                path = self.path(raw["for_each"], (*pointer, "for_each"))
                alias = self.alias(raw.get("as"), (*pointer, "as"))
                when = self.value(raw["when"], (*pointer, "when")) if "when" in raw else None
                item = self.template(raw["item"], (*pointer, "item"))
                return ForNode(path, alias, when, item, self.where(pointer)) if path is not None else None
            if set(raw) == {"value", "when"}:
                return OptionalNode(self.template(raw["value"], (*pointer, "value")), self.value(raw["when"], (*pointer, "when")))
            return ObjectNode([(str(k), self.template(v, (*pointer, k))) for k, v in raw.items()])
        if isinstance(raw, list):
            return ListNode([self.template(v, (*pointer, i)) for i, v in enumerate(raw)])
        return self.value(raw, pointer, str(pointer[-1]) if pointer else "")


@dataclass
class ObjectNode:
    items: list[tuple[str, Any]]
    plans: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)
    """The checks of its keys against an entity, by the entity shape's id, made on first use
    (`engine.mapping.inbound`)."""


@dataclass
class ListNode:
    items: list[Any]


@dataclass
class OptionalNode:
    value: Any
    when: Value | None


@dataclass
class ForNode:
    path: Path
    alias: str
    when: Value | None
    item: Any
    where: str



def compile_mapping(source: YamlSource, name: str) -> tuple[CompiledMapping | None, list[Finding]]:
    """Compile one mapping file; every problem found is returned, the mapping only if none."""
    compiler = _Compiler(source, name)
    data = source.data
    if not isinstance(data, dict):
        compiler.find((), "mapping-structure", "a mapping file is a YAML mapping (name, direction, ...)")
        return None, compiler.findings
    declared = data.get("name")
    if declared is not None and declared != name:
        compiler.find(("name",), "mapping-name", f"the mapping is in mappings/{name}/ but is named {declared!r}")
    direction = data.get("direction")
    if direction not in DIRECTIONS:
        compiler.find(("direction",), "mapping-direction", f"direction must be one of {', '.join(DIRECTIONS)}, found {direction!r}")
        return None, compiler.findings
    mapping = CompiledMapping(name, direction, str(data.get("description", "")), source)
    mapping.version = str(data.get("version", "004010"))
    if direction in ("outbound", "inbound"):
        set_id = data.get("transaction_set")
        mapping.transaction_set = None if set_id is None else str(set_id)
        mapping.definition = definitions.load(mapping.version, mapping.transaction_set) if mapping.transaction_set else None
        if mapping.definition is None:
            known = ", ".join(f"{v} {s}" for v, s in definitions.available())
            compiler.find(
                ("transaction_set",) if set_id else (),
                "mapping-definition",
                f"transaction set {set_id!r} has no definition for version {mapping.version} (available: {known})",
            )
    if "key" in data:
        mapping.key = compiler.value(data["key"], ("key",), "key")
    if direction == "outbound":
        dictionary = definitions.segment_dictionary(mapping.version)
        used = set(mapping.definition.segments) if mapping.definition else set()
        compiler.placed = dict(mapping.definition.segments) if mapping.definition else {}
        mapping.segments = compiler.segments(data.get("segments"), ("segments",), dictionary, used)
    else:
        if "output" not in data:
            compiler.find((), "mapping-structure", f"an {direction} mapping needs 'output' (the template of the payload)")
        mapping.output = compiler.template(data.get("output"), ("output",))
    if compiler.findings:
        return None, compiler.findings
    mapping.reads_controls = "control" in compiler.names
    return mapping, []


def load_mapping(source: YamlSource, name: str) -> CompiledMapping:
    """Compile one mapping or raise MappingError listing its problems."""
    mapping, findings = compile_mapping(source, name)
    if mapping is None:
        raise MappingError("; ".join(f.line() for f in findings[:10]) + (" ..." if len(findings) > 10 else ""))
    return mapping

