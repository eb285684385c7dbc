"""`mlc init DIR`: a new project of one's own, apart from the engine.

    mlc init DIR [--route NAME]... [--all-routes] [--partner ID] [--identity QUAL/ID] [--force]

writes a project that validates and whose `mlc test` passes:

- `connections.yaml`: the systems (bc, cleo, gp) pointing at the emulators unless `MLC_*_URL`
  is set, and our X12 identity (`--identity`, default ZZ/MLCONNECT);
- `schedules/<route>.yaml`: the routes picked, from the standard routes shipped with mlc
  (`engine/library/routes/`); default: invoices to 810 and inbound 850s to sales orders;
- `partners/<id>.yaml`: one example partner taking part in those routes, with the ERP keys,
  cross-reference tables and sets they need (the demo world's: BC customer C10000, vendor
  V10000, GP vendor GLOBEX0001, so `mlc demo --project DIR` finds documents for it);
- `mappings/<mapping>/cases/example/`: one golden case per route, from the shipped samples,
  its expected output rendered once at init (review it like any `--update`); inbound samples
  carry the example partner's ISA sender id. The mappings themselves are not copied: routes
  name the shipped ones;
- `README.md` describing the layout, and `.gitignore` for the state directory.

Nothing is overwritten: a DIR that already holds project files is refused unless `--force`.
"""

from __future__ import annotations

import re
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import click
import yaml

from engine import library
from engine.config.project import load_project
from engine.errors import ConfigError, UsageError
from engine.mapping.cases import Case, run_case

DEFAULT_ROUTES = ("bc-invoices-to-810", "cleo-850-to-bc-sales-orders")
PROJECT_FILES = ("connections.yaml", "partners", "schedules", "mappings")


def _routes_dir() -> Traversable:
    from importlib import resources

    return resources.files("engine.library").joinpath("routes")


def standard_routes() -> dict[str, dict[str, Any]]:
    """The routes shipped with mlc by name (their YAML data)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in sorted(_routes_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            found[entry.name.removesuffix(".yaml")] = yaml.safe_load(entry.read_text(encoding="utf-8"))
    return found


def _transactions(routes: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The sets and directions the partner exchanges on `routes`, plus the 997s we send."""
    wanted: dict[str, set[str]] = {"997": {"outbound"}}
    for route in routes.values():
        file = library.mapping_file(str(route["mapping"]))
        data = yaml.safe_load(file.read_text(encoding="utf-8")) if file is not None else {}
        if data.get("direction") in ("outbound", "inbound") and data.get("transaction_set"):
            wanted.setdefault(str(data["transaction_set"]), set()).add(str(data["direction"]))
    return [{"set": s, "direction": "both" if len(d) == 2 else d.pop()} for s, d in sorted(wanted.items())]


def _partner_text(partner: str, routes: dict[str, dict[str, Any]]) -> str:
    sets = "\n".join(f'  - {{set: "{t["set"]}", direction: {t["direction"]}}}' for t in _transactions(routes))
    listed = "\n".join(f"  - {name}" for name in routes)
    return f"""# yaml-language-server: $schema={_schema("partner")}
# One trading partner (`mlc schema partner` prints the schema; docs/project-format.md in the
# ml-connector repository explains every key). Add a partner: copy this file, change the ids.
id: {partner}
name: Example Partner
x12:
  qualifier: ZZ
  id: {_x12_id(partner)}              # its ISA06/ISA08 id
  version: "004010"
  delimiters: {{element: "*", component: ">", segment: "~", repetition: "^"}}
cleo:
  connection: cleo
  inbox: {partner}/inbox           # files from the partner to us
  outbox: {partner}/outbox         # files we send
  archive: {partner}/archive
transactions:
{sets}
routes:
{listed}
erp:                                 # the ERP numbers that identify it (the demo world's)
  bc: {{customer: C10000, vendor: V10000}}
  gp: {{vendor: GLOBEX0001}}
xref:                                # its codes -> ours
  items: {{AC-DESK-01: 1896-S, AC-CHAIR-02: 1900-S}}
  uom: {{EA: PCS}}
# overrides:
#   mappings: {{bc-sales-invoice-to-810: {partner}-810}}   # its own variant: an overlay (extends:)
"""


def _schema(kind: str) -> str:
    """The installed schema file of `kind`, for the `yaml-language-server` comment of the files
    written (editors complete and check them; `mlc schema KIND` prints the same schema)."""
    from importlib import resources

    return str(resources.files("engine.config.schemas").joinpath(f"{kind}.schema.json"))


def _x12_id(partner: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", partner.upper())[:15] or "PARTNER"


README = """# {name}: an ml-connector project

This directory is a project of one's own for ml-connector (`mlc`, the `ml-connector` package):
keep it in a repository of your own and run the installed `mlc` against it
(`mlc validate --project .`, or `export MLC_PROJECT=$PWD`).

```
connections.yaml          the systems (bc, cleo, gp) and our X12 identity; secrets are named here
                          and stored encrypted with `mlc secrets set NAME`, never written
partners/<id>.yaml        one trading partner per file: ISA/GS ids, delimiters, Cleo folders, the
                          sets it exchanges, its ERP numbers, cross-reference tables, overrides
schedules/<route>.yaml    one route per file: trigger, source, filter, mapping, target
mappings/<name>/          a mapping of your own (mapping.yaml), or an overlay of a shipped one
                          (`extends: bc-sales-invoice-to-810` + changes), and golden cases:
mappings/<name>/cases/<case>/  input.json|input.edi, expected.edi|expected.json, case.yaml
```

The routes name mappings shipped with mlc ({mappings}); they are not copied here. A
`mappings/<name>/` directory with only `cases/` holds golden cases of the shipped mapping.

- `mlc validate`: every problem of every file, `path:line:col`;
- `mlc test`: the golden cases (`mlc test --update MAPPING/CASE` rewrites one, review the diff);
- `mlc render MAPPING --input FILE [--partner ID]`: a dry run;
- `mlc demo --project .`: every route end to end against the emulators;
- add a partner: copy `partners/{partner}.yaml`, give it its own ids, folders and ERP numbers;
- a partner needing a different document: `mappings/<partner>-810/mapping.yaml` with
  `extends: bc-sales-invoice-to-810` and `changes:` (remove, replace, add, set, addressed as
  `REF[IA]`, `N1_loop[ST]`, `IT1_loop/PID`), named in the partner's `overrides.mappings`.
"""


def _check_target(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    taken = [name for name in PROJECT_FILES if (target / name).exists()]
    if taken and not force:
        raise UsageError(f"{target} already holds {', '.join(taken)}; choose an empty directory or give --force")


def _write_case(target: Path, mapping: str, partner: str, x12_id: str) -> Path | None:
    sample = library.sample_dir(mapping)
    if sample is None:
        return None
    case_dir = target / "mappings" / mapping / "cases" / "example"
    case_dir.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load(sample.joinpath("case.yaml").read_text(encoding="utf-8")) or {}
    settings["partner"] = partner
    settings["description"] = f"Sample from the demo world, for partner {partner}: " + str(settings.get("description", "")).strip()
    for name in ("input.json", "input.edi"):
        entry = sample.joinpath(name)
        if entry.is_file():
            content = entry.read_bytes()
            if name.endswith(".edi"):
                content = _as_sender(content, x12_id)
            (case_dir / name).write_bytes(content)
    header = f"# yaml-language-server: $schema={_schema('case')}\n"
    (case_dir / "case.yaml").write_text(header + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    return case_dir


def _as_sender(content: bytes, x12_id: str) -> bytes:
    """An inbound sample as sent by the example partner: its id in ISA05/06 and GS02."""
    text = content.decode("utf-8")
    element, terminator = text[3], text[105]
    segments = text.split(terminator)
    isa = segments[0].split(element)
    isa[5], isa[6] = "ZZ", x12_id.ljust(15)
    segments[0] = element.join(isa)
    for index, segment in enumerate(segments):
        fields = segment.split(element)
        if fields[0].strip() == "GS" and len(fields) > 2:
            fields[2] = x12_id
            segments[index] = element.join(fields)
    return terminator.join(segments).encode("utf-8")


def init_project(target: Path, routes: list[str], partner: str, identity: tuple[str, str], *, force: bool = False) -> list[str]:
    """Write a new project into `target` (module docstring); the cases written."""
    shipped = standard_routes()
    unknown = [r for r in routes if r not in shipped]
    if unknown:
        raise UsageError(f"unknown route {', '.join(unknown)} (standard routes: {', '.join(shipped)})")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", partner):
        raise UsageError(f"--partner {partner!r}: a partner id is lower-case letters, digits, - and _")
    _check_target(target, force)
    chosen = {name: shipped[name] for name in routes}
    target.mkdir(parents=True, exist_ok=True)
    connections = library_text("init/connections.yaml")
    connections = connections.replace("$schema=engine/config/schemas/connections.schema.json", f"$schema={_schema('connections')}")
    connections = re.sub(r"(identity:[^\n]*\n  qualifier: )ZZ(\n  id: )MLCONNECT(\n  application_id: )MLCONNECT", rf'\g<1>"{identity[0]}"\g<2>"{identity[1]}"\g<3>"{identity[1]}"', connections)
    connections = connections.replace("# The systems of the example project.", "# The systems of this project.")
    (target / "connections.yaml").write_text(connections, encoding="utf-8")
    (target / "schedules").mkdir(exist_ok=True)
    for name in chosen:
        text = library_text(f"routes/{name}.yaml").replace("$schema=../../config/schemas/route.schema.json", f"$schema={_schema('route')}")
        (target / "schedules" / f"{name}.yaml").write_text(text, encoding="utf-8")
    (target / "partners").mkdir(exist_ok=True)
    (target / "partners" / f"{partner}.yaml").write_text(_partner_text(partner, chosen), encoding="utf-8")
    mappings = sorted({str(r["mapping"]) for r in chosen.values()})
    written = [d for m in mappings if (d := _write_case(target, m, partner, _x12_id(partner))) is not None]
    (target / "README.md").write_text(README.format(name=target.resolve().name, mappings=", ".join(mappings), partner=partner), encoding="utf-8")
    gitignore = target / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".mlc/\n", encoding="utf-8")
    project = load_project(target)
    cases = []
    for case_dir in written:
        case = Case(case_dir.parent.parent.name, case_dir.name, case_dir)
        result = run_case(project, case, update=True)
        if not result.passed:
            raise ConfigError(f"mlc init: the sample case {case.label} does not render: {result.detail}")
        cases.append(case.label)
    return cases


def library_text(relative: str) -> str:
    """A text file shipped in engine/library."""
    from importlib import resources

    return resources.files("engine.library").joinpath(relative).read_text(encoding="utf-8")


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--route", "routes", multiple=True, help=f"A standard route to start with (repeatable; default: {', '.join(DEFAULT_ROUTES)}).")
@click.option("--all-routes", is_flag=True, help="Every standard route.")
@click.option("--partner", default="example", show_default=True, help="The id of the example partner.")
@click.option("--identity", default="ZZ/MLCONNECT", show_default=True, help="Our X12 identity, QUALIFIER/ID.")
@click.option("--force", is_flag=True, help="Write into a directory that already holds project files.")
def init_command(directory: Path, routes: tuple[str, ...], all_routes: bool, partner: str, identity: str, force: bool) -> None:
    """Create a new project in DIRECTORY: connections, one example partner, the routes picked,
    a golden case per route and a README of the layout."""
    qualifier, _, our_id = identity.partition("/")
    if not qualifier or not our_id or len(qualifier) > 2 or len(our_id) > 15:
        raise UsageError(f"--identity {identity!r}: QUALIFIER/ID, e.g. ZZ/MLCONNECT (qualifier 2, id up to 15 characters)")
    picked = list(standard_routes()) if all_routes else list(routes or DEFAULT_ROUTES)
    cases = init_project(directory, picked, partner, (qualifier, our_id), force=force)
    click.echo(f"created the project {directory}: partner {partner}, {len(picked)} route(s) ({', '.join(picked)}), {len(cases)} golden case(s)")
    click.echo(f"next: mlc validate --project {directory}; mlc test --project {directory}; mlc demo --project {directory}", err=True)


COMMANDS = [init_command]
