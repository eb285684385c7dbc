"""Reading the files of a project: discovery, YAML with positions, `${ENV}`, schema.

`read(root, relative, kind, environ)` is the first pass every project file goes through. It
never raises for bad input: a file that cannot be read or parsed, a key written twice, an
undefined variable and every schema violation all come back as findings, with the loaded
(interpolated) source when there is one, so later passes can still check the rest.

Project layout (docs/project-format.md): `connections.yaml`, `partners/*.yaml`,
`schedules/*.yaml`, `mappings/<name>/mapping.yaml`, `mappings/<name>/cases/<case>/case.yaml`.
A `.yml` file where `.yaml` is expected is reported (`file-ignored`, a warning) rather than
silently skipped. A mapping file with `extends:` is an overlay and is checked against the
overlay schema (engine.config.overlay). `read_library(name)` reads a shipped mapping
(engine.library) the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine import library
from engine.config import env, schema
from engine.config.lint import Finding
from engine.config.source import Location, YamlFileError, YamlSource, load_yaml, parse_yaml

__all__ = ["Layout", "ProjectFile", "discover", "ignored_findings", "read", "read_library"]


@dataclass
class ProjectFile:
    """One file after the first pass: `source` (interpolated) unless it could not be parsed."""

    relative: str
    kind: str
    source: YamlSource | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def schema_ok(self) -> bool:
        """Loaded, and no schema violation (env and duplicate-key problems aside)."""
        return self.source is not None and not any(f.code.startswith("schema") for f in self.findings)

    @property
    def stem(self) -> str:
        """The file stem (`acme` for partners/acme.yaml); for mappings, the directory name."""
        if self.relative.startswith(library.DISPLAY_PREFIX):
            return Path(self.relative).parent.name
        path = Path(self.relative)
        return path.parent.name if path.name == "mapping.yaml" else path.stem


@dataclass
class Layout:
    """The project files found, relative to the root, by kind (sorted)."""

    connections: str | None
    partners: list[str]
    routes: list[str]
    mappings: dict[str, str | None]
    """Mapping name (directory) -> its mapping.yaml, None when the directory has none."""
    cases: list[str]
    ignored: list[str]


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def discover(root: Path) -> Layout:
    """Find every project file under `root`."""
    ignored: list[str] = []
    connections = "connections.yaml" if (root / "connections.yaml").is_file() else None
    if connections is None and (root / "connections.yml").is_file():
        ignored.append("connections.yml")

    def listing(folder: str) -> list[str]:
        base = root / folder
        if not base.is_dir():
            return []
        ignored.extend(_relative(p, root) for p in sorted(base.glob("*.yml")))
        return [_relative(p, root) for p in sorted(base.glob("*.yaml")) if p.is_file()]

    mappings: dict[str, str | None] = {}
    cases: list[str] = []
    base = root / "mappings"
    if base.is_dir():
        for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            file = folder / "mapping.yaml"
            mappings[folder.name] = _relative(file, root) if file.is_file() else None
            if not file.is_file() and (folder / "mapping.yml").is_file():
                ignored.append(_relative(folder / "mapping.yml", root))
            cases.extend(_relative(c, root) for c in sorted(folder.glob("cases/*/case.yaml")))
    return Layout(connections, listing("partners"), listing("schedules"), mappings, cases, ignored)


def read(root: Path, relative: str, kind: str, environ: Mapping[str, str] | None) -> ProjectFile:
    """Load one file: YAML, duplicate keys, `${ENV}` interpolation, then its schema."""
    try:
        raw = load_yaml(root / relative, relative)
    except YamlFileError as exc:
        return ProjectFile(relative, kind, None, [Finding(exc.location, exc.code, exc.detail)])
    return _checked(raw, relative, kind, environ)


def read_library(name: str, environ: Mapping[str, str] | None) -> ProjectFile | None:
    """A shipped mapping (engine.library) read like a project file; None when there is none."""
    file = library.mapping_file(name)
    if file is None:
        return None
    display = library.display_path(name)
    try:
        raw = parse_yaml(file.read_text(encoding="utf-8"), display)
    except YamlFileError as exc:
        return ProjectFile(display, "mapping", None, [Finding(exc.location, exc.code, exc.detail)])
    return _checked(raw, display, "mapping", environ)


def _checked(raw: YamlSource, relative: str, kind: str, environ: Mapping[str, str] | None) -> ProjectFile:
    if kind == "mapping" and isinstance(raw.data, dict) and "extends" in raw.data:
        kind = "overlay"
    findings = [
        Finding(Location(relative, line, column), "duplicate-key", f"the key {pointer[-1]!r} is written twice in {schema.label(pointer[:-1])}; the last one would win")
        for pointer, (line, column) in raw.duplicates
    ]
    source, problems = env.interpolate(raw, environ)
    findings += problems
    findings += schema.check(source, kind)
    return ProjectFile(relative, kind, source, findings)


def ignored_findings(layout: Layout) -> list[Finding]:
    """A warning per `.yml` file that the project does not read."""
    return [
        Finding(Location(path, 1, 1), "file-ignored", "the project reads .yaml files only; rename it to .yaml", "warning")
        for path in layout.ignored
    ]
