"""A project directory loaded, checked and compiled once: connections, partners, routes, mappings.

`validate_project(root)` reads every file (`engine.config.files`: YAML with positions,
`${ENV}`, schema), checks each kind beyond its schema (connections by their plugins,
partners, routes, mappings through `engine.mapping.compile.compile_mapping`, golden case
settings) and across files (`engine.config.references`), and returns *every* finding at once,
sorted by file and position, with the `Project` when there is no error (warnings allowed).
`load_project(root)` is the same for code that needs a project: any error raises ConfigError.

The `Project` keeps:

- `root`; `connections` (name -> the interpolated entry); `identity` (our X12 identity, with
  `application_id` defaulting to `id`); `state` (connections.yaml `state`, maybe empty);
  `server` (connections.yaml `server`, maybe empty: `mlc serve`'s public URL and webhook secrets);
- `partners` (id -> `Partner`: `.id`, `.data` with every default applied, `.source`);
- `routes` (name -> `Route`: its typed `.source` and `.target`, compiled `Value`s and lookups);
- `mapping_sources` (name -> YamlSource, interpolated) and `mappings` (name ->
  `CompiledMapping`; an inbound or JSON mapping's `target` is the shape of the ERP entity its
  routes write it to, from the connector's `payload_shape`, which every render checks the
  payload against);
- partner resolution: `find_partner(by, key)` (ConfigError naming what was looked for and the
  known keys), `match_partner(by, key)` (None instead), `mapping_for(route_mapping, partner)`
  (partner overrides applied), `takes_part(partner, route)` and `partners_for(route)`.

A partner takes part in a route when it lists the route under `routes:`; a partner without
`routes:` takes part in every route whose X12 mapping (after its overrides) has a set and
direction listed in its `transactions` (JSON payload routes must be listed). Documents of
other partners are skipped by the runtime, as documents of non-partners are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import library
from engine.config import files as project_files
from engine.config import overlay, schema
from engine.config.connections import check_connections
from engine.config.lint import Finding
from engine.config.mapping_checks import Shape, check_mapping, check_payload_fields, erp_shape
from engine.config.partner import Partner, PartnerIndex, check_claims, check_partner, with_defaults
from engine.config.references import Catalog, MappingInfo, check_references, known
from engine.config.route import EntitySource, EntityTarget, Route, compile_route
from engine.config.schema import check as schema_check
from engine.config.source import Location, YamlSource
from engine.errors import ConfigError
from engine.guides import Guide, compile_guide
from engine.mapping import CompiledMapping, compile_mapping
from engine.plugins import EntityShape, discover

__all__ = ["Partner", "Project", "Route", "load_project", "mapping_for", "mapping_infos", "takes_part", "validate_project"]


@dataclass
class Project:
    """A loaded, valid project (see the module docstring)."""

    root: Path
    connections: dict[str, dict[str, Any]]
    identity: dict[str, Any]
    partners: dict[str, Partner]
    routes: dict[str, Route]
    mapping_sources: dict[str, YamlSource]
    mappings: dict[str, Any] = field(default_factory=dict)
    """Mapping name -> `engine.mapping.compile.CompiledMapping`."""
    state: dict[str, Any] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    _index: PartnerIndex | None = field(default=None, repr=False)
    _participants: dict[str, tuple[Partner, ...]] = field(default_factory=dict, repr=False)
    _infos: Callable[[str], MappingInfo] | None = field(default=None, repr=False)

    def _mapping_info(self, name: str) -> MappingInfo:
        if self._infos is None:
            self._infos = mapping_infos(self.mapping_sources)
        return self._infos(name)

    @property
    def index(self) -> PartnerIndex:
        """Partners by key, built on first use."""
        if self._index is None:
            self._index = PartnerIndex(self.partners.values())
        return self._index

    def find_partner(self, by: str, key: str) -> Partner:
        """The partner with `key` of kind `by` (`bc.customer`, `bc.vendor`, `gp.vendor`,
        `x12.sender` with `QUALIFIER/ID` or the bare ID); ConfigError when there is none."""
        return self.index.find(by, key)

    def match_partner(self, by: str, key: str) -> Partner | None:
        """Like `find_partner`, but None for a key no partner has (a non-partner document)."""
        return self.index.get(by, key)

    def mapping_for(self, route_mapping: str, partner: Partner) -> str:
        """The mapping used for `partner` where a route names `route_mapping`."""
        return mapping_for(route_mapping, partner)

    def takes_part(self, partner: Partner, route: Route | str) -> bool:
        """Whether `partner` takes part in the route (module docstring)."""
        name = route if isinstance(route, str) else route.name
        return any(p is partner for p in self.partners_for(name))

    def partners_for(self, route: Route | str) -> tuple[Partner, ...]:
        """Every partner taking part in the route, in id order."""
        name = route if isinstance(route, str) else route.name
        if name not in self._participants:
            found = self.routes.get(name)
            if found is None:
                raise ConfigError(f"no route {name!r} (routes: {known(self.routes)})")
            self._participants[name] = tuple(p for _, p in sorted(self.partners.items()) if self._takes_part(p, found))
        return self._participants[name]

    def _takes_part(self, partner: Partner, route: Route) -> bool:
        return takes_part(partner, route, self._mapping_info)


def load_project(root: Path | str, *, environ: Mapping[str, str] | None = None) -> Project:
    """The project at `root`; ConfigError (with the first problems) when it has any error."""
    project, findings = validate_project(root, environ)
    if project is None:
        errors = [f for f in findings if f.level == "error"]
        shown = "; ".join(f.line() for f in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ConfigError(f"the project {root} has {len(errors)} error(s), run mlc validate: {shown}{more}")
    return project


def _attach_guides(root: Path, partners: dict[str, Partner], read: Callable[[str, str], project_files.ProjectFile]) -> list[Finding]:
    """Compile each partner's `guide:` (inline, or a guide file read once however many
    partners name it) onto `Partner.guide`; the findings of every guide."""
    findings: list[Finding] = []
    files: dict[str, project_files.ProjectFile | None] = {}
    compiled: dict[tuple[str, str], Guide | None] = {}  # a shared file, per X12 version: compiled once
    for partner in partners.values():
        spec = partner.source.data.get("guide")
        version = str(partner.data["x12"]["version"])
        if isinstance(spec, str):
            if spec not in files:
                files[spec] = read(spec, "guide") if (root / spec).is_file() else None
                if files[spec] is None:
                    where = partner.source.where(("guide",))
                    findings.append(Finding(where, "missing-file", f"guide: the file {spec} does not exist in the project ({root})"))
            file = files[spec]
            if file is None or file.source is None or not file.schema_ok:
                continue
            source, pointer = file.source, ()
        elif isinstance(spec, dict):
            inline = YamlSource(
                partner.source.path,
                spec,
                {p[1:]: v for p, v in partner.source.values.items() if p[:1] == ("guide",)},
                {p[1:]: v for p, v in partner.source.keys.items() if p[:1] == ("guide",)},
            )
            problems = schema_check(inline, "guide")
            findings.extend(problems)
            if problems:
                continue
            source, pointer = inline, ()
        else:
            continue
        key = (spec, version) if isinstance(spec, str) else None
        if key is not None and key in compiled:
            shared = compiled[key]
            partner.guide = dataclasses.replace(shared, partner=partner.id) if shared is not None else None
            continue
        guide, problems = compile_guide(source, pointer, partner.id, version)
        findings.extend(problems)
        partner.guide = guide
        if key is not None:
            compiled[key] = guide
    return findings


def _check_mapping_uses(
    sources: Mapping[str, YamlSource], partners: Mapping[str, Partner], routes: Mapping[str, Route], connections: Mapping[str, Any]
) -> list[Finding]:
    """`engine.config.mapping_checks` on every mapping, with the source entity of the routes
    that use it and the cross-reference tables of the partners taking part."""
    try:
        plugins = discover()
    except ConfigError:
        plugins = {}  # reported as plugin-load by the connection checks
    shapes: dict[str, Shape | None] = {}
    for route in routes.values():
        connection = connections.get(route.source.connection, {})
        plugin = plugins.get(str(connection.get("type")))
        read = route.source
        entity, expand = (read.entity, read.expand) if isinstance(read, EntitySource) else (None, None)
        found = plugin.entity_shape(entity, expand) if plugin and plugin.entity_shape and entity else None
        shapes[route.name] = erp_shape(found) if found else None
    using, takers = _mapping_users(partners, routes, sources)
    findings: list[Finding] = []
    for name, source in sources.items():
        found_shapes = [shapes[r] for r in sorted(using.get(name, ()))]
        labels = {s.label if s else None for s in found_shapes}
        doc = found_shapes[0] if found_shapes and len(labels) == 1 else None
        users = [partners[p] for p in sorted(takers.get(name, ()))]
        tables = {p.id: list((p.data.get("xref") or {}).keys()) for p in users} if users else None
        findings.extend(check_mapping(source, doc, tables))
    return findings


def _attach_targets(
    mappings: Mapping[str, CompiledMapping], sources: Mapping[str, YamlSource], partners: Mapping[str, Partner],
    routes: Mapping[str, Route], connections: Mapping[str, Any],
) -> list[Finding]:
    """Give each inbound and JSON mapping the shape of the entity its routes write its payload
    to (`CompiledMapping.target`, from the connection's plugin, `payload_shape`), so every render
    checks the payload's values against their fields; and report, at the key, a payload key the
    entity does not have (`mapping-payload-field`). A mapping written to two different entities
    is checked against neither (a warning says so)."""
    try:
        plugins = discover()
    except ConfigError:
        plugins = {}  # reported as plugin-load by the connection checks
    written: dict[str, dict[str, tuple[EntityShape, str]]] = {}
    for route in routes.values():
        target = route.target
        if not isinstance(target, EntityTarget) or not isinstance(route.mapping, str):
            continue
        connection = connections.get(target.connection, {})
        plugin = plugins.get(str(connection.get("type")))
        if plugin is None or plugin.payload_shape is None:
            continue
        shape = plugin.payload_shape(target.entity)
        if shape is None:
            continue
        names = {route.mapping} | {mapping_for(route.mapping, p) for p in partners.values()}
        for name in names:
            written.setdefault(name, {})[shape.entity] = (shape, route.name)
    findings: list[Finding] = []
    for name, shapes in sorted(written.items()):
        mapping = mappings.get(name)
        if mapping is None or mapping.direction == "outbound":
            continue
        if len(shapes) > 1:
            listed = ", ".join(f"{entity} (route {route})" for entity, (_, route) in sorted(shapes.items()))
            findings.append(
                Finding(
                    mapping.source.where(("output",), key=True), "mapping-target",
                    f"mapping {name} is written to {listed}: its payload is checked against none of them", "warning",
                )
            )
            continue
        shape = next(iter(shapes.values()))[0]
        mapping.target = shape
        findings.extend(check_payload_fields(sources.get(name, mapping.source), shape))
    return findings
def mapping_for(route_mapping: str, partner: Partner) -> str:
    """The mapping used for `partner` where a route names `route_mapping` (its overrides)."""
    overrides = (partner.data.get("overrides") or {}).get("mappings") or {}
    return str(overrides.get(route_mapping, route_mapping))


def takes_part(partner: Partner, route: Route, mapping_info: Callable[[str], MappingInfo]) -> bool:
    """The participation rule (module docstring): the routes a partner lists, or, when it lists
    none, every route whose mapping (after its overrides) is an X12 set it exchanges in that
    direction. The loader's mapping checks and `Project.partners_for` both decide by it;
    `mapping_info` gives a mapping's direction and set by name (`mapping_infos`)."""
    if partner.routes is not None:
        return route.name in partner.routes
    info = mapping_info(mapping_for(route.mapping, partner))
    if info.direction not in ("outbound", "inbound") or not info.transaction_set:
        return False
    return partner.exchanges(info.transaction_set, info.direction)


def mapping_infos(sources: Mapping[str, YamlSource]) -> Callable[[str], MappingInfo]:
    """Each mapping's `MappingInfo` by name, read once per name."""
    cache: dict[str, MappingInfo] = {}

    def info(name: str) -> MappingInfo:
        if name not in cache:
            source = sources.get(name)
            cache[name] = MappingInfo.of(source.data if source else None)
        return cache[name]

    return info


def _mapping_users(
    partners: Mapping[str, Partner], routes: Mapping[str, Route], sources: Mapping[str, YamlSource]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Mapping name -> the routes through which it is used, and -> the partners using it.

    A route uses its own mapping and every mapping a partner replaces it with
    (`overrides.mappings`); a partner uses, on each route it takes part in (`takes_part`, the
    rule `Project.partners_for` follows), the mapping of the route after its overrides, and
    every mapping it names as an override. Built in one pass over partners x routes (a
    project of 500 partners with an overlay each asks this for 500 mappings)."""
    using: dict[str, set[str]] = {}
    takers: dict[str, set[str]] = {}
    info = mapping_infos(sources)
    for route in routes.values():
        using.setdefault(route.mapping, set()).add(route.name)
    replacing: dict[str, set[str]] = {}  # mapping -> the mappings partners replace it with
    for partner in partners.values():
        overrides = (partner.data.get("overrides") or {}).get("mappings") or {}
        for original, replacement in overrides.items():
            replacing.setdefault(str(original), set()).add(str(replacement))
            takers.setdefault(str(replacement), set()).add(partner.id)
        for route in routes.values():
            if takes_part(partner, route, info):
                takers.setdefault(mapping_for(route.mapping, partner), set()).add(partner.id)
    for route in routes.values():
        for replacement in replacing.get(route.mapping, ()):
            using.setdefault(replacement, set()).add(route.name)
    return using, takers


def _root_causes(findings: list[Finding], partner_files: list[project_files.ProjectFile]) -> list[Finding]:
    """The findings without those that only follow from a partner file that could not be read
    (a YAML or schema error there is the one error: the cases and routes naming the partner,
    and the cross-reference tables it would define, are not reported as well)."""
    broken = {f.stem for f in partner_files if f.source is None or not f.schema_ok}
    if not broken:
        return findings
    named = tuple(f"no partner {stem!r}" for stem in broken)
    return [
        f for f in findings
        if not (f.code == "unknown-partner" and any(n in f.message for n in named)) and f.code != "mapping-xref"
    ]


def _named_mappings(partner_files: list[project_files.ProjectFile], route_files: list[project_files.ProjectFile]) -> set[str]:
    """Every mapping name routes and partner overrides give (library mappings load by name)."""
    names: set[str] = set()
    for file in route_files:
        data = file.source.data if file.source else None
        if isinstance(data, dict) and isinstance(data.get("mapping"), str):
            names.add(data["mapping"])
    for file in partner_files:
        data = file.source.data if file.source else None
        overrides = (data.get("overrides") or {}).get("mappings") if isinstance(data, dict) and isinstance(data.get("overrides"), dict) else None
        if isinstance(overrides, dict):
            names.update(str(k) for k in overrides)
            names.update(v for v in overrides.values() if isinstance(v, str))
    return names


def _mapping_sources(
    layout: project_files.Layout,
    partner_files: list[project_files.ProjectFile],
    route_files: list[project_files.ProjectFile],
    read: Callable[[str, str], project_files.ProjectFile],
    environ: Mapping[str, str] | None,
    findings: list[Finding],
) -> dict[str, YamlSource]:
    """The mapping data of the project by name: its own mapping files, the shipped mappings
    it names (engine.library) and its overlays merged onto what they extend."""
    files: dict[str, project_files.ProjectFile] = {}
    for name, relative in layout.mappings.items():
        if relative is not None:
            file = read(relative, "mapping")
            if file.source is not None:
                files[name] = file
        elif library.mapping_file(name) is None:
            where = Location(f"mappings/{name}/mapping.yaml", 1, 1)
            findings.append(Finding(where, "missing-file", f"the mapping directory mappings/{name}/ has no mapping.yaml (and mlc ships no mapping {name!r})"))
    wanted = [*files, *(n for n, r in layout.mappings.items() if r is None), *sorted(_named_mappings(partner_files, route_files))]
    sources: dict[str, YamlSource] = {}
    failed: set[str] = set()

    def resolve(name: str, chain: tuple[str, ...]) -> YamlSource | None:
        if name in sources or name in failed:
            return sources.get(name)
        file = files.get(name)
        if file is None:
            shipped = project_files.read_library(name, environ)
            if shipped is None:
                failed.add(name)
                return None
            findings.extend(shipped.findings)
            file = files[name] = shipped
        assert file.source is not None
        if file.kind != "overlay":
            sources[name] = file.source
            return file.source
        failed.add(name)  # until merged: an overlay extending itself is a cycle
        target = file.source.data.get("extends") if isinstance(file.source.data, dict) else None
        if not isinstance(target, str):
            return None
        if target == name:
            # a project mapping that extends its own name changes the shipped mapping of that name
            shipped = project_files.read_library(name, environ)
            if shipped is not None:
                findings.extend(shipped.findings)
            base = shipped.source if shipped is not None else None
            if base is None:
                findings.append(Finding(file.source.where(("extends",)), "overlay-extends", f"extends its own name {name!r}, but mlc ships no mapping {name!r}"))
                return None
        elif target in chain:
            cycle = " -> ".join((*chain, name, target))
            findings.append(Finding(file.source.where(("extends",)), "overlay-extends", f"the overlays extend each other in a circle: {cycle}"))
            return None
        else:
            base = resolve(target, (*chain, name))
        if base is None or not isinstance(base.data, dict):
            if target not in files and library.mapping_file(target) is None:
                known_names = sorted({*files, *library.mapping_names()})
                findings.append(Finding(file.source.where(("extends",)), "overlay-extends", f"extends {target!r}: no such mapping in the project or shipped with mlc (mappings: {known(known_names)})"))
            return None
        merged, problems = overlay.merge(base, file.source, name)
        findings.extend(problems)
        if not problems:
            taken = {f.location for f in findings}
            findings.extend(f for f in schema.check(merged, "mapping") if f.location not in taken)
        failed.discard(name)
        sources[name] = merged
        return merged

    for name in wanted:
        resolve(name, ())
    return dict(sorted(sources.items()))


def validate_project(root: Path | str, environ: Mapping[str, str] | None = None) -> tuple[Project | None, list[Finding]]:
    """Every problem of the project at `root`, and the project when none is an error."""
    root = Path(root)
    layout = project_files.discover(root)
    findings = project_files.ignored_findings(layout)

    def read(relative: str, kind: str) -> project_files.ProjectFile:
        file = project_files.read(root, relative, kind, environ)
        findings.extend(file.findings)
        return file

    connections: dict[str, dict[str, Any]] = {}
    identity: dict[str, Any] = {}
    state: dict[str, Any] = {}
    server: dict[str, Any] = {}
    if layout.connections is None:
        findings.append(Finding(Location("connections.yaml", 1, 1), "missing-file", f"the project has no connections.yaml (looked in {root})"))
    else:
        file = read(layout.connections, "connections")
        data = file.source.data if file.source else None
        if file.source is not None and isinstance(data, dict):
            entries = data.get("connections")
            connections = {str(k): v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}
            identity = dict(data["identity"]) if isinstance(data.get("identity"), dict) else {}
            if isinstance(identity.get("id"), str):
                identity.setdefault("application_id", identity["id"])
            state = dict(data["state"]) if isinstance(data.get("state"), dict) else {}
            server = dict(data["server"]) if isinstance(data.get("server"), dict) else {}
            findings.extend(check_connections(file.source))

    partner_files = [read(relative, "partner") for relative in layout.partners]
    partners: dict[str, Partner] = {}
    for file in partner_files:
        if file.source is None or not isinstance(file.source.data, dict):
            continue
        findings.extend(check_partner(file.source.data, file.source, file.stem))
        if file.schema_ok:
            partners[file.stem] = Partner(file.stem, with_defaults(file.source.data, file.stem, identity), file.source)
    findings.extend(check_claims(partners.values()))
    findings.extend(_attach_guides(root, partners, read))

    route_files = [read(relative, "route") for relative in layout.routes]
    routes: dict[str, Route] = {}
    for file in route_files:
        if file.source is None:
            continue
        route, problems = compile_route(file.source, file.stem)
        findings.extend(problems)
        if route is not None and file.schema_ok:
            routes.setdefault(route.name, route)

    mapping_sources = _mapping_sources(layout, partner_files, route_files, read, environ, findings)
    mappings: dict[str, CompiledMapping] = {}
    for name, source in mapping_sources.items():
        compiled, problems = compile_mapping(source, name)
        taken = {f.location for f in findings}
        findings.extend(f for f in problems if f.location not in taken)
        if compiled is not None:
            mappings[name] = compiled

    findings.extend(_check_mapping_uses(mapping_sources, partners, routes, connections))
    findings.extend(_attach_targets(mappings, mapping_sources, partners, routes, connections))
    case_files = [read(relative, "case") for relative in layout.cases]
    catalog = Catalog(
        connections=connections,
        partner_files=[f for f in partner_files if f.source is not None],
        partners=partners,
        route_files=[f for f in route_files if f.source is not None],
        mappings={name: MappingInfo.of(source.data) for name, source in mapping_sources.items()},
        case_files=[f for f in case_files if f.source is not None],
    )
    findings.extend(check_references(catalog))
    findings = sorted(set(_root_causes(findings, partner_files)))
    if any(f.level == "error" for f in findings):
        return None, findings
    project = Project(root, connections, identity, partners, routes, mapping_sources, mappings, state, server)
    return project, findings
