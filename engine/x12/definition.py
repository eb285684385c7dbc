"""Transaction-set definitions: the X12 grammar as data, compiled once into frozen objects.

Definitions live as YAML under `engine/x12/definitions/<version>/`:

    elements.yaml     data-element dictionary: "353": {type: ID, min: 2, max: 2, name: ...}
    composites.yaml   composite elements: C040: {name: ..., components: [{de: "128", usage: M}, ...]}
    segments.yaml     segment dictionary: BEG: {name: ..., elements: [{de: "353", usage: M,
                      codes: [...]}, {composite: C040, usage: O}, ...], syntax: [P0405, R0203]}
    <set>.yaml        one transaction set: id, name, functional_group and its structure between
                      ST and SE: a list of {segment: BEG, usage: M, max: 1} and
                      {loop: N1, usage: O, repeat: 200, body: [...]} (hierarchical: true on the
                      856 HL loop). `max`/`repeat` are an integer or ">1" for unbounded.

Why our own YAML and not pyx12's XML map format: pyx12 maps describe HIPAA implementation
guides (segments told apart by their code values, implementation names), are verbose to edit
by hand, and pyx12's validator over them is far too slow for the hot path (about 6,500
segments/s). The YAML keeps the standard's own vocabulary (data-element numbers, usage,
max use, syntax notes) in files an integrator can read, and compiles into the tables the
fast walker in `engine.x12.structure` uses; pyx12 stays a second opinion in the tests
(tests/engine/x12/test_pyx12_differential.py).

A group's GS08 may carry an implementation suffix (`004010VICS`, `004010X348`): such a group
is read against the base version, the first six characters.

Lookups never build a path from file content: ST01 must be three digits and GS08 an X12
version code (six digits, then at most six letters or digits) before anything is looked up
(`lookup_problem` says why a value is refused), and only the (version, set) pairs found in
this package's own listing (`available`) are ever opened.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from engine.errors import X12DefinitionError

UNBOUNDED = 0
"""`max_use` / `repeat` value meaning ">1" (no upper bound)."""

SET_ID_RE = re.compile(r"[0-9]{3}")
"""ST01: a transaction set identifier code is three digits."""
VERSION_RE = re.compile(r"[0-9]{6}[A-Za-z0-9]{0,6}")
"""GS08: version, release and industry identifier (`004010`, `004010VICS`, `005010X222A1`)."""

ELEMENT_TYPES = frozenset({"AN", "ID", "DT", "TM", "R", "B", "N", *(f"N{d}" for d in range(10))})
_SYNTAX_RE = re.compile(r"^([PRCEL])((?:\d\d){2,})$")


@dataclass(frozen=True, slots=True)
class ElementDef:
    """One simple data element at one position of a segment (or composite)."""

    ref: str
    name: str
    type: str
    min_len: int
    max_len: int
    usage: str = "O"
    codes: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class CompositeDef:
    """A composite data element (e.g. C040) at one position of a segment."""

    ref: str
    name: str
    components: tuple[ElementDef, ...]
    usage: str = "O"


@dataclass(frozen=True, slots=True)
class SyntaxRule:
    """An X12 syntax note over element positions (1-based): P paired, R required, C
    conditional, E exclusion, L list conditional."""

    kind: str
    positions: tuple[int, ...]
    lowest: int = 0
    """The smallest position named (rules on absent elements are skipped quickly)."""

    def __str__(self) -> str:
        return self.kind + "".join(f"{p:02d}" for p in self.positions)


@dataclass(frozen=True, slots=True)
class SegmentDef:
    """A segment of the dictionary: its elements by position (index 0 is element 01)."""

    id: str
    name: str
    elements: tuple[ElementDef | CompositeDef, ...]
    syntax: tuple[SyntaxRule, ...] = ()
    keys: tuple[str, ...] = ()
    """The element ids by position (`BEG01`, `BEG02`, ...), precomputed for the hot path."""

    def element_id(self, position: int) -> str:
        """The element id used as a key in the parsed tree, e.g. `BEG03`."""
        return f"{self.id}{position:02d}"


@dataclass(frozen=True, slots=True)
class SegmentUse:
    """A segment at one place of a transaction set's structure."""

    segment: SegmentDef
    usage: str
    max_use: int

    @property
    def id(self) -> str:
        return self.segment.id


@dataclass(frozen=True, slots=True)
class LoopDef:
    """A loop (or the body of the transaction set itself, `id` "ST"): nodes in order."""

    id: str
    usage: str
    repeat: int
    body: tuple[SegmentUse | LoopDef, ...]
    hierarchical: bool = False

    @property
    def trigger(self) -> str:
        """The id of the segment that starts an iteration of this loop."""
        first = self.body[0]
        return first.id if isinstance(first, SegmentUse) else first.trigger

    @property
    def key(self) -> str:
        """The key of this loop in the parsed tree, e.g. `PO1_loop`."""
        return f"{self.id}_loop"

    def walk(self) -> Iterator[SegmentUse | LoopDef]:
        """Every node below this loop, depth first."""
        for node in self.body:
            yield node
            if isinstance(node, LoopDef):
                yield from node.walk()


@dataclass(frozen=True, slots=True)
class TransactionSetDef:
    """One transaction set of one version, e.g. 004010 850."""

    id: str
    version: str
    name: str
    functional_group: str
    body: LoopDef
    segments: dict[str, SegmentDef] = field(repr=False, compare=False, hash=False, default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.version} {self.id}"


def base_version(gs08: str) -> str:
    """The standard version a GS08 value is read against: `004010VICS` -> `004010`."""
    return gs08[:6]


def lookup_problem(version: str, set_id: str) -> str | None:
    """Why (`version`, `set_id`) read from a file cannot be looked up, or None when both are
    well formed (which does not mean a definition exists)."""
    if not SET_ID_RE.fullmatch(set_id):
        return f"ST01 {set_id[:40]!r} is not a transaction set identifier (three digits, e.g. 850)"
    if not VERSION_RE.fullmatch(version):
        return f"GS08 {version[:40]!r} is not an X12 version code (six digits and an optional suffix, e.g. 004010 or 005010X222A1)"
    return None


@cache
def _shipped() -> dict[str, frozenset[str]]:
    """The shipped definitions: version directory -> its transaction set ids, from the
    package's own listing (the only names ever opened)."""
    found: dict[str, set[str]] = {}
    base = resources.files("engine.x12.definitions")
    for version_dir in base.iterdir():
        if not version_dir.is_dir() or not VERSION_RE.fullmatch(version_dir.name):
            continue
        sets = found.setdefault(version_dir.name, set())
        for entry in version_dir.iterdir():
            stem = entry.name.removesuffix(".yaml")
            if entry.name.endswith(".yaml") and SET_ID_RE.fullmatch(stem):
                sets.add(stem)
    return {version: frozenset(sets) for version, sets in found.items()}


def _bound(value: Any, where: str) -> int:
    if value == ">1":
        return UNBOUNDED
    if isinstance(value, int) and value >= 1:
        return value
    raise X12DefinitionError(f"{where}: expected a positive integer or '>1', found {value!r}")


class _Dictionary:
    """The element, composite and segment dictionaries of one version."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.elements: dict[str, dict[str, Any]] = _load_yaml(version, "elements.yaml")
        self.composites: dict[str, dict[str, Any]] = _load_yaml(version, "composites.yaml", optional=True)
        raw_segments: dict[str, dict[str, Any]] = _load_yaml(version, "segments.yaml")
        self.segments = {seg_id: self._segment(seg_id, raw) for seg_id, raw in raw_segments.items()}

    def _element(self, spec: dict[str, Any], where: str) -> ElementDef:
        if "de" not in spec:
            # An element whose data-element number no public source we could read confirms:
            # its type and lengths are given in place (segments.yaml says where they are from).
            if not {"type", "min", "max"} <= spec.keys():
                raise X12DefinitionError(f"{self.version} {where}: an element needs 'de' or its own type, min and max")
            spec = {**spec, "de": ""}
            entry: dict[str, Any] | None = {"type": spec["type"], "min": spec["min"], "max": spec["max"], "name": spec.get("name", where)}
        else:
            entry = self.elements.get(str(spec["de"]))
        ref = str(spec["de"])
        if entry is None:
            raise X12DefinitionError(f"{self.version} {where}: data element {ref} is not in elements.yaml")
        el_type = entry["type"]
        if el_type not in ELEMENT_TYPES:
            raise X12DefinitionError(f"{self.version} element {ref}: unknown type {el_type!r}")
        codes = spec.get("codes", entry.get("codes"))
        return ElementDef(
            ref=ref,
            name=entry.get("name", ref),
            type="N0" if el_type == "N" else el_type,
            min_len=int(spec.get("min", entry["min"])),
            max_len=int(spec.get("max", entry["max"])),
            usage=spec.get("usage", "O"),
            codes=frozenset(str(c) for c in codes) if codes else None,
        )

    def _segment(self, seg_id: str, raw: dict[str, Any]) -> SegmentDef:
        elements: list[ElementDef | CompositeDef] = []
        for index, spec in enumerate(raw.get("elements", []), start=1):
            where = f"{seg_id}{index:02d}"
            if "composite" in spec:
                comp_ref = spec["composite"]
                comp = self.composites.get(comp_ref)
                if comp is None:
                    raise X12DefinitionError(f"{self.version} {where}: composite {comp_ref} is not defined")
                components = tuple(self._element(c, f"{where}-{n}") for n, c in enumerate(comp["components"], start=1))
                elements.append(CompositeDef(comp_ref, comp.get("name", comp_ref), components, spec.get("usage", "O")))
            else:
                elements.append(self._element(spec, where))
        rules = []
        for note in raw.get("syntax", []):
            match = _SYNTAX_RE.match(str(note))
            if not match:
                raise X12DefinitionError(f"{self.version} {seg_id}: bad syntax note {note!r}")
            digits = match.group(2)
            positions = tuple(int(digits[i : i + 2]) for i in range(0, len(digits), 2))
            if max(positions) > len(elements):
                raise X12DefinitionError(f"{self.version} {seg_id}: syntax note {note} names a missing element")
            rules.append(SyntaxRule(match.group(1), positions, min(positions)))
        keys = tuple(f"{seg_id}{pos:02d}" for pos in range(1, len(elements) + 1))
        return SegmentDef(seg_id, raw.get("name", seg_id), tuple(elements), tuple(rules), keys)


def _load_yaml(version: str, name: str, optional: bool = False) -> dict[str, Any]:
    if version not in _shipped():
        raise X12DefinitionError(f"no definitions are shipped for version {version[:40]!r}")
    path = resources.files("engine.x12.definitions").joinpath(version, name)
    if not path.is_file():
        if optional:
            return {}
        raise X12DefinitionError(f"no {name} for version {version}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise X12DefinitionError(f"{version}/{name}: expected a mapping at the top level")
    return {str(k): v for k, v in data.items()}


@cache
def _dictionary(version: str) -> _Dictionary:
    return _Dictionary(version)


def _nodes(raw_nodes: list[dict[str, Any]], dictionary: _Dictionary, where: str) -> tuple[SegmentUse | LoopDef, ...]:
    nodes: list[SegmentUse | LoopDef] = []
    for raw in raw_nodes:
        if "segment" in raw:
            seg_id = raw["segment"]
            seg = dictionary.segments.get(seg_id)
            if seg is None:
                raise X12DefinitionError(f"{where}: segment {seg_id} is not in segments.yaml")
            nodes.append(SegmentUse(seg, raw.get("usage", "O"), _bound(raw.get("max", 1), f"{where} {seg_id}")))
        elif "loop" in raw:
            loop_where = f"{where} loop {raw['loop']}"
            body = _nodes(raw["body"], dictionary, loop_where)
            if not body or not isinstance(body[0], SegmentUse):
                raise X12DefinitionError(f"{loop_where}: a loop must begin with a segment")
            nodes.append(
                LoopDef(
                    id=str(raw["loop"]),
                    usage=raw.get("usage", "O"),
                    repeat=_bound(raw.get("repeat", 1), loop_where),
                    body=body,
                    hierarchical=bool(raw.get("hierarchical", False)),
                )
            )
        else:
            raise X12DefinitionError(f"{where}: a node needs 'segment' or 'loop', found {sorted(raw)}")
    return tuple(nodes)


def load(version: str, set_id: str) -> TransactionSetDef | None:
    """The definition of `set_id` in `version` (a GS08 value is accepted), or None: also for
    values that are not a set id and a version code (`lookup_problem` says why)."""
    if lookup_problem(version, set_id) is not None:
        return None
    base = base_version(version)
    if set_id not in _shipped().get(base, ()):
        return None
    return _load(base, set_id)


@cache
def _load(version: str, set_id: str) -> TransactionSetDef | None:
    root = resources.files("engine.x12.definitions").joinpath(version, f"{set_id}.yaml")
    raw = yaml.safe_load(root.read_text(encoding="utf-8"))
    dictionary = _dictionary(version)
    where = f"{version}/{set_id}.yaml"
    body = LoopDef("ST", "M", 1, _nodes(raw["structure"], dictionary, where))
    used = {node.id: node.segment for node in body.walk() if isinstance(node, SegmentUse)}
    return TransactionSetDef(
        id=str(raw.get("id", set_id)),
        version=version,
        name=str(raw.get("name", set_id)),
        functional_group=str(raw["functional_group"]),
        body=body,
        segments=used,
    )


def segment_dictionary(version: str) -> dict[str, SegmentDef]:
    """Every segment defined for `version` (empty when the version has no dictionary)."""
    version = base_version(version)
    if not VERSION_RE.fullmatch(version) or version not in _shipped():
        return {}
    return _dictionary(version).segments


@dataclass(frozen=True, slots=True)
class Difference:
    """Where one transaction set differs between two versions, at one segment place."""

    segment: str
    path: str
    """The place as the parse tree names it: loop keys, then the segment id (`N9_loop/MSG`)."""
    kind: str
    """`place` (the place is gone), `element` (an element gone, or its number or type changed),
    `mandatory` (newly required) or `length` (only the lengths changed)."""
    message: str


def _places(body: LoopDef, prefix: str = "", required: bool = True) -> dict[str, tuple[SegmentUse, bool]]:
    """Each segment place by its tree path, with whether it is required (it and every loop
    around it mandatory)."""
    places: dict[str, tuple[SegmentUse, bool]] = {}
    for node in body.body:
        if isinstance(node, SegmentUse):
            places.setdefault(prefix + node.id, (node, required and node.usage == "M"))
        else:
            places.update(_places(node, f"{prefix}{node.key}/", required and node.usage == "M"))
    return places


def _shape(element: ElementDef | CompositeDef) -> tuple[str, str]:
    if isinstance(element, CompositeDef):
        return f"composite {element.ref}", f"composite {element.ref}"
    return f"{element.ref or '?'} {element.type}", f"{element.ref or '?'} {element.type} {element.min_len}/{element.max_len}"


def differences(set_id: str, from_version: str, to_version: str) -> list[Difference] | None:
    """What a mapping written for `set_id` in `from_version` meets in `to_version`: segment
    places that are gone, elements gone or of another number or type, newly required segments
    and elements, changed lengths. None when either version has no definition of the set."""
    old, new = load(from_version, set_id), load(to_version, set_id)
    if old is None or new is None:
        return None
    found: list[Difference] = []
    old_places, new_places = _places(old.body), _places(new.body)
    for path, (use, was_required) in old_places.items():
        if path not in new_places:
            elsewhere = [p for p in new_places if p.rsplit("/", 1)[-1] == use.id]
            where = f"; {use.id} is at {', '.join(elsewhere)} there" if elsewhere else ""
            found.append(Difference(use.id, path, "place", f"{path} is not in {new.label}{where}"))
            continue
        there, required = new_places[path]
        old_elements, new_elements = use.segment.elements, there.segment.elements
        for position, element in enumerate(old_elements, start=1):
            key = f"{use.id}{position:02d}"
            if position > len(new_elements):
                found.append(Difference(use.id, path, "element", f"{key} is not in {new.label}"))
                continue
            (before, before_full), (after, after_full) = _shape(element), _shape(new_elements[position - 1])
            if before_full != after_full:
                kind = "element" if before != after else "length"
                found.append(Difference(use.id, path, kind, f"{key} is {before_full} in {old.label}, {after_full} in {new.label}"))
        for position in range(len(old_elements) + 1, len(new_elements) + 1):
            if new_elements[position - 1].usage == "M":
                found.append(Difference(use.id, path, "mandatory", f"{use.id}{position:02d} is new and mandatory in {new.label}"))
        if required and not was_required:
            found.append(Difference(use.id, path, "mandatory", f"{path} is mandatory in {new.label}"))
    for path, (use, required) in new_places.items():
        if path not in old_places and required:
            found.append(Difference(use.id, path, "mandatory", f"{path} is new and mandatory in {new.label}"))
    return found


@cache
def functional_group_of(set_id: str) -> str | None:
    """The functional group (GS01) a transaction set belongs in, with or without a definition
    (definitions/functional-groups.yaml), or None when the set is not listed."""
    path = resources.files("engine.x12.definitions").joinpath("functional-groups.yaml")
    table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    value = table.get(set_id)
    return str(value) if value else None


def available() -> list[tuple[str, str]]:
    """Every (version, set id) pair that has a definition."""
    return sorted((version, set_id) for version, sets in _shipped().items() for set_id in sets)
