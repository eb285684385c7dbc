"""Cross-file checks: every name one file gives another file must exist and fit.

- connections named by partners (`cleo.connection`) and routes (source, target, lookups,
  webhook triggers) exist in connections.yaml (`unknown-connection`);
- mappings named by routes and by partner overrides (both sides) exist (`unknown-mapping`);
  an override replaces a mapping by one of the same direction and set (`override-mismatch`);
- routes listed by partners exist (`unknown-route`), and route names are unique
  (`duplicate-route`);
- a route's source and target fit its mapping's direction (`route-direction`): outbound and
  json mappings read an ERP entity and write to the partner's outbox, inbound mappings read
  the partners' inboxes; a Cleo source's `sets` include the mapping's set (`route-sets`); a
  webhook names the entity the route reads (`route-webhook`);
- a partner taking part in a route with an X12 mapping lists that set and direction in
  `transactions` (`partner-transactions`) and uses the X12 version the mapping is written
  for (`x12-version`), except that an inbound mapping reads a file of another version that
  has a definition of its set (the tree comes from the file's own definition): then each
  place the mapping reads that differs between the two versions is a warning
  (`x12-version-difference`: a segment place gone, an element gone or of another type, a
  newly required segment or element; lengths alone are not reported);
- golden cases name known partners (`unknown-partner`).

Checks read the interpolated data defensively: a file with schema errors is still checked for
the references it does have, so one run reports everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.files import ProjectFile
from engine.config.lint import Finding
from engine.config.partner import Partner
from engine.config.source import Pointer, YamlSource
from engine.x12 import definition as definitions
from engine.x12.definition import base_version

__all__ = ["Catalog", "MappingInfo", "check_references", "known"]

_SHOWN = 20
_TREE_NAME = re.compile(r"\b([A-Z][A-Z0-9]{1,2})(?:_loop|[0-9]{2})?\b")
"""Segment ids, element ids (`BEG03`) and loop keys (`N9_loop`) in a mapping's text."""


@dataclass(frozen=True)
class MappingInfo:
    """What routes need to know of a mapping: its direction, X12 set and version."""

    direction: str | None
    transaction_set: str | None
    version: str
    reads: frozenset[str] = field(default=frozenset(), compare=False)
    """The segment ids the mapping's text names (element ids and loop keys count for their
    segment): what an inbound mapping reads of the tree."""

    @classmethod
    def of(cls, data: Any) -> MappingInfo:
        """From a mapping file's data (any shape)."""
        if not isinstance(data, dict):
            return cls(None, None, "004010")
        direction = data.get("direction")
        set_id = data.get("transaction_set")
        return cls(
            direction if isinstance(direction, str) else None,
            set_id if isinstance(set_id, str) and direction != "json" else None,
            str(data.get("version") or "004010"),
            frozenset(_TREE_NAME.findall(" ".join(_texts(data)))),
        )


def _texts(data: Any) -> Iterable[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield str(key)
            yield from _texts(value)
    elif isinstance(data, list):
        for item in data:
            yield from _texts(item)


@dataclass
class Catalog:
    """Everything the checks look at, as loaded (files with sources only)."""

    connections: Mapping[str, Any]
    partner_files: list[ProjectFile]
    partners: Mapping[str, Partner]
    route_files: list[ProjectFile]
    mappings: Mapping[str, MappingInfo]
    case_files: list[ProjectFile]


def known(names: Iterable[str]) -> str:
    """A list of names for messages, cut after twenty."""
    ordered = sorted(names)
    text = ", ".join(ordered[:_SHOWN]) or "none"
    return text + (f", ... ({len(ordered) - _SHOWN} more)" if len(ordered) > _SHOWN else "")


def _get(data: Any, *path: str | int) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


class _Checker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.findings: list[Finding] = []

    def find(self, source: YamlSource, pointer: Pointer, code: str, message: str) -> None:
        self.findings.append(Finding(source.where(pointer), code, message))

    def connection(self, source: YamlSource, pointer: Pointer, owner: str) -> None:
        name = _get(source.data, *pointer)
        if isinstance(name, str) and name not in self.catalog.connections:
            self.find(source, pointer, "unknown-connection", f"{owner}: no connection {name!r} in connections.yaml (connections: {known(self.catalog.connections)})")

    def mapping(self, source: YamlSource, pointer: Pointer, owner: str, *, key: bool = False) -> MappingInfo | None:
        name = pointer[-1] if key else _get(source.data, *pointer)
        if not isinstance(name, str):
            return None
        if name not in self.catalog.mappings:
            location = source.where(pointer, key=key)
            self.findings.append(
                Finding(location, "unknown-mapping", f"{owner}: no mapping {name!r} (mappings/{name}/mapping.yaml; mappings: {known(self.catalog.mappings)})")
            )
            return None
        return self.catalog.mappings[name]


def _route_names(files: list[ProjectFile]) -> dict[str, ProjectFile]:
    names: dict[str, ProjectFile] = {}
    for file in files:
        assert file.source is not None
        name = _get(file.source.data, "name")
        names.setdefault(name if isinstance(name, str) else file.stem, file)
    return names


def check_references(catalog: Catalog) -> list[Finding]:
    """Every cross-file problem of the project."""
    checker = _Checker(catalog)
    routes = _route_names(catalog.route_files)
    _check_routes(checker, catalog, routes)
    _check_partners(checker, catalog, routes)
    for file in catalog.case_files:
        assert file.source is not None
        partner = _get(file.source.data, "partner")
        if isinstance(partner, str) and partner not in catalog.partners:
            checker.find(file.source, ("partner",), "unknown-partner", f"no partner {partner!r} (partners: {known(catalog.partners)})")
    return checker.findings


def _check_routes(checker: _Checker, catalog: Catalog, routes: Mapping[str, ProjectFile]) -> None:
    seen: dict[str, str] = {}
    for file in catalog.route_files:
        source = file.source
        assert source is not None
        data = source.data
        name = _get(data, "name")
        name = name if isinstance(name, str) else file.stem
        if name in seen:
            checker.find(source, ("name",), "duplicate-route", f"the route name {name!r} is already used by {seen[name]}")
        seen.setdefault(name, file.relative)
        owner = f"route {name}"
        for pointer in (("source", "connection"), ("target", "connection")):
            checker.connection(source, pointer, owner)
        lookups = _get(data, "lookups")
        for lookup in lookups if isinstance(lookups, dict) else ():
            checker.connection(source, ("lookups", lookup, "connection"), owner)
        triggers = _get(data, "triggers")
        for index in range(len(triggers) if isinstance(triggers, list) else 0):
            checker.connection(source, ("triggers", index, "webhook", "connection"), owner)
            resource = _get(triggers, index, "webhook", "resource")
            entity = _get(data, "source", "entity")
            if isinstance(resource, str) and isinstance(entity, str) and resource != entity:
                checker.find(source, ("triggers", index, "webhook", "resource"), "route-webhook", f"{owner}: the webhook on {resource!r} would trigger a route that reads {entity!r}")
        info = checker.mapping(source, ("mapping",), owner)
        if info is not None:
            _check_shape(checker, source, owner, info)


def _check_shape(checker: _Checker, source: YamlSource, owner: str, info: MappingInfo) -> None:
    data = source.data
    src, target = _get(data, "source"), _get(data, "target")
    reads = "folder" if isinstance(src, dict) and "folder" in src else "entity" if isinstance(src, dict) else None
    writes = None
    if isinstance(target, dict):
        writes = "folder" if "folder" in target else "store" if "store" in target else "entity"
    expected = {"outbound": ("entity", ("folder",)), "json": ("entity", ("folder",)), "inbound": ("folder", ("entity", "store"))}
    if info.direction not in expected:
        return
    want_source, want_targets = expected[info.direction]
    what = {"entity": "an ERP entity", "folder": "a partner folder", "store": "the state store"}
    if reads is not None and reads != want_source:
        checker.find(source, ("source",), "route-direction", f"{owner}: an {info.direction} mapping reads {what[want_source]}, but the source is {what[reads]}")
    if writes is not None and writes not in want_targets:
        wanted = " or ".join(what[t] for t in want_targets)
        checker.find(source, ("target",), "route-direction", f"{owner}: an {info.direction} mapping writes to {wanted}, but the target is {what[writes]}")
    sets = _get(data, "source", "sets")
    if info.direction == "inbound" and isinstance(sets, list) and info.transaction_set and info.transaction_set not in sets:
        checker.find(source, ("source", "sets"), "route-sets", f"{owner}: the mapping reads {info.transaction_set}, which is not in sets {sets}")


def _check_partners(checker: _Checker, catalog: Catalog, routes: Mapping[str, ProjectFile]) -> None:
    route_mappings = _route_mappings(routes)
    for file in catalog.partner_files:
        source = file.source
        assert source is not None
        owner = f"partner {file.stem}"
        checker.connection(source, ("cleo", "connection"), owner)
        overrides = _get(source.data, "overrides", "mappings")
        for original, replacement in (overrides or {}).items() if isinstance(overrides, dict) else ():
            before = checker.mapping(source, ("overrides", "mappings", original), owner, key=True)
            after = checker.mapping(source, ("overrides", "mappings", original), owner)
            if before and after and (before.direction, before.transaction_set) != (after.direction, after.transaction_set):
                checker.find(
                    source,
                    ("overrides", "mappings", original),
                    "override-mismatch",
                    f"{owner}: {replacement!r} ({after.direction} {after.transaction_set or ''}) cannot replace {original!r} ({before.direction} {before.transaction_set or ''})".replace(" )", ")"),
                )
        listed = _get(source.data, "routes")
        for index, route in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(route, str) and route not in routes:
                checker.find(source, ("routes", index), "unknown-route", f"{owner}: no route {route!r} (routes: {known(routes)})")
        partner = catalog.partners.get(file.stem)
        if partner is not None:
            _check_participation(checker, catalog, partner, route_mappings)


def _route_mappings(routes: Mapping[str, ProjectFile]) -> list[tuple[str, str]]:
    found = []
    for name, file in routes.items():
        assert file.source is not None
        mapping = _get(file.source.data, "mapping")
        if isinstance(mapping, str):
            found.append((name, mapping))
    return found


def _check_participation(checker: _Checker, catalog: Catalog, partner: Partner, routes: list[tuple[str, str]]) -> None:
    source = partner.source
    explicit = partner.routes
    overrides = _get(partner.data, "overrides", "mappings") or {}
    version = str(partner.data["x12"]["version"])
    for name, route_mapping in routes:
        if explicit is not None and name not in explicit:
            continue
        info = catalog.mappings.get(overrides.get(route_mapping, route_mapping))
        if info is None or info.direction not in ("outbound", "inbound") or not info.transaction_set:
            continue
        direction = str(info.direction)
        exchanges = partner.exchanges(info.transaction_set, direction)
        if explicit is None:
            if not exchanges:
                continue
            pointer: Pointer = ("x12", "version")
        else:
            pointer = ("routes", explicit.index(name))
            if not exchanges:
                checker.find(
                    source,
                    pointer,
                    "partner-transactions",
                    f"partner {partner.id}: route {name} {'sends' if direction == 'outbound' else 'reads'} {info.transaction_set}, "
                    f"but transactions has no {{set: \"{info.transaction_set}\", direction: {direction}}}",
                )
        if base_version(version) != base_version(info.version):
            _check_version(checker, source, pointer, partner, name, info, version)


def _check_version(
    checker: _Checker, source: YamlSource, pointer: Pointer, partner: Partner, route: str, info: MappingInfo, version: str
) -> None:
    """A partner on another X12 version than a route's mapping (module docstring)."""
    assert info.transaction_set is not None
    found = definitions.differences(info.transaction_set, info.version, version) if info.direction in ("inbound", "outbound") else None
    if found is None:
        checker.find(
            source,
            pointer,
            "x12-version",
            f"partner {partner.id} uses X12 {version}, but route {route}'s mapping is written for {info.version} "
            f"(and {version} has no {info.transaction_set} definition to read or check it against)",
        )
        return
    verb = "reads" if info.direction == "inbound" else "writes"
    by_segment: dict[str, list[str]] = {}
    for difference in found:
        loops = [part.removesuffix("_loop") for part in difference.path.split("/")[:-1]]
        if difference.kind == "length" or not {difference.segment, *loops} <= info.reads:
            continue  # lengths do not change what is read; a place in a loop the mapping never names is not read
        messages = by_segment.setdefault(difference.segment, [])
        if difference.message not in messages:
            messages.append(difference.message)
    for segment, messages in by_segment.items():
        more = f" (and {len(messages) - 5} more)" if len(messages) > 5 else ""
        checker.findings.append(
            Finding(
                source.where(pointer),
                "x12-version-difference",
                f"partner {partner.id} uses X12 {version}; route {route}'s mapping is written for {info.version} "
                f"and {verb} {segment}: {'; '.join(messages[:5])}{more}",
                level="warning",
            )
        )
