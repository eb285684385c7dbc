"""What `mlc validate` finds in a mapping by reading it with the files around it.

The mapping compiler checks a mapping on its own (its Jinja, its JSONPaths, its element ids).
These checks read it together with the routes that use it, the partners taking part, the
source entity's fields (from the connector plugin, `EntityShape`) and the set's definition,
and find what used to pass and render wrong or empty documents:

- `mapping-field`: a field a template names (`doc.shipToNmae`, `line.unitOfMeasureCod`) that
  the source entity does not have (outbound: the ERP entity read by the routes, with its
  expanded lines; inbound: the parsed X12 tree of the set's definition), with "did you mean";
- `mapping-for-each`: a `for_each` JSONPath whose first key is no list of the entity (an
  error at the `for_each` line, not at a later element);
- `mapping-xref`: a cross-reference table that no partner using the mapping defines;
- `mapping-literal`: a constant that is not valid for its element (type, date, time, codes,
  length; a unit not in the complete 355 list of the set's version), e.g. `DTM02: "06/03/2024"`;
- `mapping-loop-position` (warning): a segment written after a `for_each` loop whose
  definition puts that segment inside the loop, so the X12 reader takes it as part of the
  last iteration (a header SAC after the IT1 loop reads as the last line's allowance);
- `mapping-mandatory`: a mandatory segment of the set no entry writes, or a mandatory element
  an entry of its segment does not write;
- `mapping-payload-field` (`check_payload_fields`): a key of an inbound payload that the entity
  it is written to does not have (its values' types are checked at render,
  `engine.mapping.payload`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource
from engine.x12 import definition as definitions
from engine.x12.codelists import UNIT_ELEMENT, unit_codes, unit_list_version
from engine.x12.definition import CompositeDef, ElementDef, LoopDef, SegmentUse, TransactionSetDef

__all__ = ["Shape", "check_mapping", "check_payload_fields", "erp_shape", "segment_entries", "x12_shape"]

_ENV = Environment()
_FIRST_KEY = re.compile(r"^\$\.([A-Za-z_@][\w@.-]*?)(?:\[|\.|$)")


@functools.lru_cache(maxsize=16_384)
def _parsed(text: str) -> nodes.Template:
    """The Jinja syntax tree of a template text (only read here: shared by every mapping that
    writes the same text, as 500 partners' overlays of one mapping do)."""
    return _ENV.parse(text)


@dataclass
class Shape:
    """What a template may read below a name: its fields and the shape below each (None:
    anything), and for lists the shape of their items."""

    label: str
    fields: dict[str, Shape | None] = field(default_factory=dict)
    list_item: Shape | None = None
    """For a list field: the shape of its items (a template indexes or loops over them)."""


def erp_shape(entity: Any) -> Shape:
    """A Shape from a connector's `EntityShape`."""
    shape = Shape(entity.entity)
    for name in entity.fields:
        shape.fields[name] = None
    for name, lines in entity.lists.items():
        shape.fields[name] = Shape(f"the list {name}", list_item=erp_shape(lines))
    return shape


def x12_shape(definition: TransactionSetDef) -> Shape:
    """The parsed tree of a transaction set (what inbound mappings read as `doc`)."""
    return _loop_shape(definition.body, definition.label)


def _loop_shape(loop: LoopDef, label: str) -> Shape:
    shape = Shape(label)
    for node in loop.body:
        if isinstance(node, SegmentUse):
            segment = Shape(f"segment {node.id}", {node.segment.element_id(i + 1): None for i in range(len(node.segment.elements))})
            shape.fields[node.id] = segment if node.max_use == 1 else Shape(f"the {node.id} segments", list_item=segment)
        else:
            item = _loop_shape(node, f"the {node.key}")
            shape.fields[node.key] = Shape(f"the {node.key}", list_item=item)
    return shape


def check_mapping(
    source: YamlSource,
    doc: Shape | None,
    xref_tables: Mapping[str, Iterable[str]] | None,
) -> list[Finding]:
    """Every finding of the module docstring for one mapping.

    `doc`: the shape of its input (None when unknown: fields are not checked); `xref_tables`:
    partner id -> the tables it defines, for the partners using the mapping (None: unknown)."""
    data = source.data if isinstance(source.data, dict) else {}
    checker = _Checker(source, xref_tables)
    direction = data.get("direction")
    set_id = data.get("transaction_set")
    definition = definitions.load(definitions.base_version(str(data.get("version") or "004010")), str(set_id)) if isinstance(set_id, str) else None
    if direction == "inbound" and definition is not None:
        doc = x12_shape(definition)
    names: dict[str, Shape | None] = {"doc": doc}
    checker.template(data.get("key"), ("key",), names)
    if direction == "outbound" and isinstance(data.get("segments"), list):
        checker.segments(data["segments"], ("segments",), names, definition)
        if definition is not None:
            checker.mandatory(data["segments"], definition)
    elif isinstance(data.get("output"), dict | list):
        checker.output(data["output"], ("output",), names)
    return checker.findings


class _Checker:
    def __init__(self, source: YamlSource, xref_tables: Mapping[str, Iterable[str]] | None) -> None:
        self.source = source
        self.findings: list[Finding] = []
        self.tables = {p: set(t) for p, t in xref_tables.items()} if xref_tables is not None else None

    def add(self, pointer: Pointer, code: str, message: str, level: str = "error") -> None:
        self.findings.append(Finding(self.source.where(pointer), code, message, level))

    # -- templates -------------------------------------------------------------------------

    def template(self, text: Any, pointer: Pointer, names: Mapping[str, Shape | None]) -> None:
        if not isinstance(text, str) or ("{{" not in text and "{%" not in text):
            return
        try:
            tree = _parsed(text)
        except TemplateSyntaxError:
            return  # the compiler reports it
        reported: set[str] = set()
        for chain in _chains(tree):
            shape = names.get(chain[0])
            if chain[0] not in names or shape is None:
                continue
            walked = chain[0]
            for step in chain[1:]:
                if isinstance(step, int):
                    if shape.list_item is None:
                        break
                    shape = shape.list_item
                    walked += f"[{step}]"
                    continue
                if shape.list_item is not None and step not in shape.fields:
                    break  # an attribute of a list (a filter's result, a method): not a field
                if not str(step).replace("@", "").replace(".", "").isidentifier():
                    break  # a key no record has on purpose (a template raising a clear "missing" error)
                if step not in shape.fields:
                    if walked not in reported:
                        reported.add(walked)
                        close = difflib.get_close_matches(step, list(shape.fields), n=1)
                        hint = f"; did you mean {walked}.{close[0]}?" if close else ""
                        self.add(pointer, "mapping-field", f"{walked}.{step}: {shape.label} has no field {step!r}{hint}")
                    break
                below = shape.fields[step]
                walked += f".{step}"
                if below is None:
                    break
                shape = below
        for table, optional in _xref_tables(tree):
            self.xref(table, pointer, optional)

    def xref(self, table: str, pointer: Pointer, optional: bool) -> None:
        """An error for a table no partner using the mapping defines; with a `default=` (the
        mapping expects partners without it), a warning only when it looks misspelled."""
        if self.tables is None or not self.tables:
            return
        if any(table in tables for tables in self.tables.values()):
            return
        known = sorted(set().union(*self.tables.values()))
        close = difflib.get_close_matches(table, known, n=1)
        if optional and not close:
            return
        hint = f"; did you mean {close[0]!r}?" if close else ""
        self.add(
            pointer,
            "mapping-xref",
            f"the cross-reference table {table!r} is defined by no partner using this mapping "
            f"({', '.join(sorted(self.tables))}; their tables: {', '.join(known) or 'none'}){hint}",
            "warning" if optional else "error",
        )

    def for_each(self, path: Any, pointer: Pointer, names: Mapping[str, Shape | None]) -> Shape | None:
        """The shape of one item of the list a `for_each` walks (None when unknown)."""
        doc = names.get("doc")
        if not isinstance(path, str) or doc is None:
            return None
        match = _FIRST_KEY.match(path)
        if match is None:
            return None
        key = match.group(1).split(".")[0]
        target = doc.fields.get(key)
        lists = sorted(name for name, shape in doc.fields.items() if shape is not None and shape.list_item is not None)
        if key not in doc.fields or target is None or target.list_item is None:
            close = difflib.get_close_matches(key, lists, n=1)
            hint = f"; did you mean $.{close[0]}?" if close else ""
            what = "has no field" if key not in doc.fields else "has no list"
            self.add(pointer, "mapping-for-each", f"for_each {path!r}: {doc.label} {what} {key!r} to loop over (its lists: {', '.join(lists) or 'none'}){hint}")
            return None
        return target.list_item

    # -- outbound --------------------------------------------------------------------------

    def segments(self, items: list[Any], pointer: Pointer, names: Mapping[str, Shape | None], definition: TransactionSetDef | None) -> None:
        loops = _loops_by_trigger(definition) if definition else {}
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            where = (*pointer, index)
            self.template(item.get("when"), (*where, "when"), names)
            if "for_each" in item:
                alias = str(item.get("as") or "item")
                inner = {**names, alias: self.for_each(item["for_each"], (*where, "for_each"), names)}
                raw_body = item.get("segments")
                body: list[Any] = raw_body if isinstance(raw_body, list) else []
                self.segments(body, (*where, "segments"), inner, definition)
                self.loop_position(items, index, body, loops, pointer)
                continue
            for tag, elements in item.items():
                if tag == "when" or not isinstance(elements, dict):
                    continue
                segment = definition.segments.get(tag) if definition else None
                for element_id, value in elements.items():
                    at = (*where, tag, element_id)
                    if isinstance(value, list):
                        for position, component in enumerate(value):
                            self.template(component, (*at, position), names)
                        continue
                    self.template(value, at, names)
                    if segment is not None and definition is not None:
                        self.literal(value, at, segment, str(element_id), definition.version)

    def literal(self, value: Any, pointer: Pointer, segment: Any, element_id: str, version: str) -> None:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return
        text = str(value)
        if "{{" in text or "{%" in text or text == "":
            return
        position = int(element_id[len(segment.id) :]) if element_id[len(segment.id) :].isdigit() else 0
        if not 1 <= position <= len(segment.elements):
            return
        element = segment.elements[position - 1]
        if isinstance(element, CompositeDef):
            return
        problem = _literal_problem(text, element, version)
        if problem:
            self.add(pointer, "mapping-literal", f"{element_id}: the constant {text!r} {problem}")

    def loop_position(self, items: list[Any], index: int, body: list[Any], loops: dict[str, LoopDef], pointer: Pointer) -> None:
        first = _first_tag(body)
        loop = loops.get(first) if first else None
        if loop is None:
            return
        inside = {n.id for n in loop.body if isinstance(n, SegmentUse)} | {n.trigger for n in loop.body if isinstance(n, LoopDef)}
        for later in range(index + 1, len(items)):
            tag = _first_tag([items[later]])
            if tag is None or tag not in inside or tag == first:
                return
            self.add(
                (*pointer, later),
                "mapping-loop-position",
                f"{tag} comes right after the {first} loop (for_each at line {self.source.where((*pointer, index, 'for_each')).line}), and "
                f"{tag} is part of the {loop.key} in the definition: the receiver reads it as part of the last {first} "
                f"iteration. Write it inside the for_each for each {first}, or after a segment that ends the loop",
                "warning",
            )

    def mandatory(self, items: list[Any], definition: TransactionSetDef) -> None:
        written = _written_tags(items)
        for node in definition.body.body:
            tag = node.id if isinstance(node, SegmentUse) else node.trigger
            if node.usage == "M" and tag not in ("ST", "SE") and tag not in written:
                self.add(("segments",), "mapping-mandatory", f"{definition.label} requires segment {tag}, and no entry of the mapping writes it")
        for pointer, tag, elements in segment_entries(items, ("segments",)):
            segment = definition.segments.get(tag)
            if segment is None:
                continue
            for position, element in enumerate(segment.elements, start=1):
                element_id = segment.element_id(position)
                if element.usage == "M" and element_id not in elements:
                    name = element.name if isinstance(element, ElementDef | CompositeDef) else element_id
                    self.add((*pointer, tag), "mapping-mandatory", f"{tag}: {element_id} ({name}) is mandatory in {definition.label}, and this entry does not write it")

    # -- inbound ---------------------------------------------------------------------------

    def output(self, value: Any, pointer: Pointer, names: Mapping[str, Shape | None]) -> None:
        if isinstance(value, str):
            self.template(value, pointer, names)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.output(item, (*pointer, index), names)
        elif isinstance(value, dict):
            if "for_each" in value:
                alias = str(value.get("as") or "item")
                inner = {**names, alias: self.for_each(value["for_each"], (*pointer, "for_each"), names)}
                self.template(value.get("when"), (*pointer, "when"), names)
                self.output(value.get("item"), (*pointer, "item"), inner)
                return
            for key, item in value.items():
                self.output(item, (*pointer, key), names)


def check_payload_fields(source: YamlSource, shape: Any) -> list[Finding]:
    """`mapping-payload-field`: a key of an inbound or JSON mapping's `output` that the entity it
    is written to (`shape`, an `engine.plugins.EntityShape`) does not have, with "did you mean".
    Keys starting with `_` (the runtime's own) and `@odata.` are not the entity's; an open shape
    (its field list incomplete) refuses none."""
    data = source.data if isinstance(source.data, dict) else {}
    findings: list[Finding] = []

    def walk(value: Any, pointer: Pointer, entity: Any) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*pointer, index), entity)
            return
        if not isinstance(value, dict):
            return
        if "for_each" in value:
            walk(value.get("item"), (*pointer, "item"), entity)
            return
        if set(value) == {"value", "when"}:
            walk(value["value"], (*pointer, "value"), entity)
            return
        for key, item in value.items():
            text = str(key)
            if text.startswith(("_", "@odata.")):
                continue
            if entity.closed and text not in entity.fields:
                close = difflib.get_close_matches(text, sorted(entity.fields), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                findings.append(
                    Finding(source.where((*pointer, key), key=True), "mapping-payload-field", f"{text!r} is not a field of {entity.entity}{hint}")
                )
                continue
            lines = entity.lists.get(text)
            if lines is not None:
                walk(item, (*pointer, key), lines)

    walk(data.get("output"), ("output",), shape)
    return findings


def _chains(tree: nodes.Template) -> list[list[Any]]:
    """Every `name.a.b[0].c` access of a template, outermost first, as [name, a, b, 0, c]."""
    inner: set[int] = set()
    accesses: list[Any] = list(tree.find_all((nodes.Getattr, nodes.Getitem)))
    for node in accesses:
        inner.add(id(node.node))
    chains = []
    for node in accesses:
        if id(node) in inner:
            continue
        steps: list[Any] = []
        current: Any = node
        while isinstance(current, nodes.Getattr | nodes.Getitem):
            if isinstance(current, nodes.Getattr):
                steps.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str | int):
                steps.append(current.arg.value)
            else:
                steps = []  # an index computed at render: stop checking below it
            current = current.node
        if isinstance(current, nodes.Name) and steps:
            chains.append([current.name, *reversed(steps)])
    return chains


def _xref_tables(tree: nodes.Template) -> list[tuple[str, bool]]:
    """(table, whether the call has a `default=`) of every `xref('table', ...)`."""
    return [
        (f.args[0].value, any(k.key == "default" for k in f.kwargs))
        for f in tree.find_all(nodes.Filter)
        if f.name == "xref" and f.args and isinstance(f.args[0], nodes.Const) and isinstance(f.args[0].value, str)
    ]


def _loops_by_trigger(definition: TransactionSetDef) -> dict[str, LoopDef]:
    return {loop.trigger: loop for loop in definition.body.walk() if isinstance(loop, LoopDef)}


def _first_tag(items: list[Any]) -> str | None:
    for item in items:
        if isinstance(item, dict):
            if "for_each" in item:
                return _first_tag(item.get("segments") or [])
            for key, value in item.items():
                if key != "when" and isinstance(value, dict):
                    return str(key)
    return None


def _written_tags(items: list[Any]) -> set[str]:
    return {tag for _, tag, _ in segment_entries(items, ())}


def segment_entries(items: Any, pointer: Pointer) -> list[tuple[Pointer, str, dict[str, Any]]]:
    """(pointer of the item, segment id, its elements) of every segment entry of an outbound
    mapping's `segments` list, loops included, in file order."""
    found: list[tuple[Pointer, str, dict[str, Any]]] = []
    if not isinstance(items, list):
        return found
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if "for_each" in item:
            found.extend(segment_entries(item.get("segments"), (*pointer, index, "segments")))
            continue
        for key, value in item.items():
            if key != "when" and isinstance(value, dict):
                found.append(((*pointer, index), str(key), value))
    return found


def _literal_problem(text: str, element: ElementDef, version: str) -> str | None:
    kind = element.type
    if kind == "DT":
        if not text.isdigit() or len(text) not in (6, 8):
            return f"is not a date of {element.ref} ({'CCYYMMDD' if element.max_len == 8 else 'YYMMDD'}, digits only)"
        try:
            date(int(text[:4]) if len(text) == 8 else 2000 + int(text[:2]), int(text[-4:-2]), int(text[-2:]))
        except ValueError:
            return "is not a calendar date"
    elif kind == "TM":
        if not text.isdigit() or len(text) not in (4, 6, 7, 8) or int(text[:2]) > 23 or int(text[2:4]) > 59:
            return f"is not a time of {element.ref} (HHMM or HHMMSS, digits only)"
    elif kind.startswith("N"):
        if not re.fullmatch(r"-?\d+", text):
            return f"is not a whole number (type {kind} of {element.ref}: implied decimals, no point)"
    elif kind == "R":
        if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", text):
            return f"is not a number (type R of {element.ref})"
    elif kind == "ID" and element.ref == UNIT_ELEMENT and text not in unit_codes(version):
        return f"is not an X12 {unit_list_version(version)} unit code (element {UNIT_ELEMENT}; an ERP unit goes through | x12_unit)"
    elif kind == "ID" and element.codes and text not in element.codes:
        shown = ", ".join(sorted(element.codes)[:12]) + (", ..." if len(element.codes) > 12 else "")
        return f"is not a code of {element.ref} {element.name} (valid: {shown})"
    if kind in ("AN", "ID") and not element.min_len <= len(text) <= element.max_len:
        return f"is {len(text)} characters; {element.ref} takes {element.min_len} to {element.max_len}"
    return None
