"""A partner's guide compiled once: its requirements per transaction set, checked at load.

A guide (what Stedi calls a guide, an implementation guide in X12 terms) states what one
partner requires beyond the standard. It is the `guide:` of a partner file, inline or as the
path of a file in the project (`guides/acme.yaml`, relative to the project root):

    sets:
      "810":
        direction: both               # inbound | outbound | both (default): which documents
        require: [REF[IA], N1[ST]/N3, DTM[011], BIG04]
        codes: {IT103: [EA, CA], BIG07: [DI]}
        max_length: {N102: 35}
        rules:
          - id: tds-total
            at: TDS01
            equals: "{{ total('IT1', 'IT102', 'IT104') + total('TXI', 'TXI02') - total('SAC[A]', 'SAC05') }}"
            says: TDS01 is the sum of quantity x price of the lines, plus tax, less allowances

Addresses are those of `engine.guides.address`. `compile_guide` checks every address against
the set's definition for the partner's version (segment and element ids, with "did you mean"),
tighter lengths against the standard's maximum, codes against the standard's code list
(a warning: partners use mutually defined codes), and the rules' Jinja syntax and the
addresses they name, and returns each problem as a `Finding` at its line.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config import Finding, Location, Pointer, YamlSource
from engine.errors import ConfigError
from engine.guides.address import Address, parse_address
from engine.guides.rules import Rule, compile_rule
from engine.x12 import definition as definitions
from engine.x12.definition import CompositeDef, ElementDef, TransactionSetDef

__all__ = ["Guide", "SetGuide", "compile_guide"]

DIRECTIONS = ("inbound", "outbound", "both")


@dataclass
class SetGuide:
    """The requirements of one transaction set."""

    set_id: str
    direction: str
    definition: TransactionSetDef | None
    require: list[tuple[Address, Location]] = field(default_factory=list)
    codes: list[tuple[Address, frozenset[str], Location]] = field(default_factory=list)
    max_length: list[tuple[Address, int, Location]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)

    def applies(self, direction: str) -> bool:
        """Whether documents going `direction` (seen from us) are checked."""
        return self.direction in (direction, "both")


@dataclass
class Guide:
    """One partner's guide: `path` is where it is written (a file, or the partner file)."""

    partner: str
    path: str
    sets: dict[str, SetGuide]

    def for_set(self, set_id: str, direction: str) -> SetGuide | None:
        """The requirements of `set_id` for documents going `direction`, if the guide has any."""
        found = self.sets.get(set_id)
        return found if found is not None and found.applies(direction) else None


def compile_guide(source: YamlSource, pointer: Pointer, partner: str, version: str) -> tuple[Guide | None, list[Finding]]:
    """The guide at `pointer` of `source` (schema-valid data) for a partner on X12 `version`;
    None when it has an error. See the module docstring for what is checked."""
    findings: list[Finding] = []
    data = _at(source.data, pointer)
    sets: dict[str, SetGuide] = {}
    raw_sets = data.get("sets") if isinstance(data, dict) else None
    for set_id, raw in (raw_sets or {}).items():
        set_pointer = (*pointer, "sets", set_id)
        definition = definitions.load(definitions.base_version(version), str(set_id))
        if definition is None:
            findings.append(
                Finding(
                    source.where(set_pointer, key=True),
                    "guide-no-definition",
                    f"transaction set {set_id} has no definition for version {version}: its guide is checked without element types or the standard's ids",
                    "warning",
                )
            )
        compiler = _SetCompiler(source, set_pointer, definition, findings)
        sets[str(set_id)] = compiler.compile(str(set_id), raw if isinstance(raw, dict) else {})
    if any(f.level == "error" for f in findings):
        return None, findings
    return Guide(partner, source.path, sets), findings


def _at(data: Any, pointer: Pointer) -> Any:
    for part in pointer:
        data = data[part]
    return data


class _SetCompiler:
    def __init__(self, source: YamlSource, pointer: Pointer, definition: TransactionSetDef | None, findings: list[Finding]) -> None:
        self.source = source
        self.pointer = pointer
        self.definition = definition
        self.findings = findings
        self.segments: dict[str, tuple[ElementDef | CompositeDef, ...]] = (
            {tag: segment.elements for tag, segment in definition.segments.items()} if definition is not None else {}
        )

    def error(self, where: Pointer, code: str, message: str, level: str = "error", *, key: bool = False) -> None:
        self.findings.append(Finding(self.source.where((*self.pointer, *where), key=key), code, message, level))

    def compile(self, set_id: str, raw: Mapping[str, Any]) -> SetGuide:
        direction = str(raw.get("direction", "both"))
        guide = SetGuide(set_id, direction, self.definition)
        for index, text in enumerate(raw.get("require") or []):
            address = self.address(text, ("require", index))
            if address is not None:
                guide.require.append((address, self.source.where((*self.pointer, "require", index))))
        for text, values in (raw.get("codes") or {}).items():
            address = self.address(text, ("codes", text), key=True, element=True)
            if address is not None:
                allowed = frozenset(str(v) for v in values)
                self.standard_codes(address, allowed, ("codes", text))
                guide.codes.append((address, allowed, self.source.where((*self.pointer, "codes", text), key=True)))
        for text, limit in (raw.get("max_length") or {}).items():
            address = self.address(text, ("max_length", text), key=True, element=True)
            if address is not None:
                self.tighter(address, int(limit), ("max_length", text))
                guide.max_length.append((address, int(limit), self.source.where((*self.pointer, "max_length", text), key=True)))
        for index, spec in enumerate(raw.get("rules") or []):
            where = ("rules", index)
            try:
                rule = compile_rule(spec, self.source.where((*self.pointer, *where)))
            except ConfigError as exc:
                self.error(where, "guide-rule", exc.message)
                continue
            problems = 0
            for text, element in rule.addresses():
                if self.address(text, where, element=element) is None:
                    problems += 1
            if not problems:
                guide.rules.append(rule)
        return guide

    def address(self, text: Any, where: Pointer, *, key: bool = False, element: bool = False) -> Address | None:
        try:
            address = parse_address(str(text))
        except ConfigError as exc:
            self.error(where, "guide-address", exc.message, key=key)
            return None
        if element and address.element is None:
            self.error(where, "guide-address", f"{text!r} names a segment; an element id is needed here (such as {address.segment}01)", key=key)
            return None
        if self.definition is None:
            return address
        for step in address.steps:
            if step.tag not in self.segments:
                close = difflib.get_close_matches(step.tag, list(self.segments), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                self.error(where, "guide-address", f"{text!r}: {step.tag} is not a segment of {self.definition.label}{hint}", key=key)
                return None
            if step.element is not None:
                position = int(step.element[len(step.tag) :])
                elements = self.segments[step.tag]
                if not 1 <= position <= len(elements):
                    self.error(where, "guide-address", f"{text!r}: segment {step.tag} has elements {step.tag}01 to {step.tag}{len(elements):02d}", key=key)
                    return None
        return address

    def element(self, address: Address) -> ElementDef | CompositeDef | None:
        if self.definition is None or address.element is None:
            return None
        return self.segments[address.segment][int(address.element[len(address.segment) :]) - 1]

    def standard_codes(self, address: Address, allowed: frozenset[str], where: Pointer) -> None:
        element = self.element(address)
        if isinstance(element, ElementDef) and element.codes:
            outside = sorted(allowed - element.codes)
            if outside:
                self.error(where, "guide-code", f"{address}: {', '.join(outside)} not in the standard's codes of {address.element} (a mutually defined code?)", "warning", key=True)

    def tighter(self, address: Address, limit: int, where: Pointer) -> None:
        element = self.element(address)
        if isinstance(element, ElementDef) and not element.min_len <= limit <= element.max_len:
            self.error(where, "guide-length", f"{address}: the standard allows {element.min_len} to {element.max_len} characters for {address.element}; a guide may only tighten the maximum, found {limit}", key=True)
