"""Golden cases: `mappings/<name>/cases/<case>/`, run by `mlc test` and by pytest alike.

A case directory holds the input (`input.json` for ERP documents, `input.edi` for X12), the
expected output (`expected.edi` or `expected.json`) and optionally `case.yaml`:

    description: what the case shows
    partner: acme                 # else resolved from the document, as a route would
    now: "2024-05-03T09:30:00"    # the injected clock (default 2024-01-01T00:00:00)
    controls: {isa: 1001, gs: 1001, st: 1}
    lookups: {...}                # reference data a route would hand the mapping
    expect_error: "AC-LAMP-99"    # the render must fail with a message containing this

X12 outputs are compared as text, the difference shown segment per line. JSON outputs are
compared as JSON: numbers by value (`5`, `5.0` and `5.00` are equal; `true` is not `1`),
key order ignored; the difference is shown between both sides with sorted keys. `--update`
(re)writes the expected files from what the mapping renders now, to be reviewed in `git diff`;
`discover` selects whole mappings (`NAME`) or single cases (`NAME/CASE`, or a case name
that only one mapping has), so one case can be updated alone.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import load_yaml
from engine.errors import ConfigError, MlcError, X12Error
from engine.mapping.dryrun import dry_run
from engine.mapping.outbound import Controls
from engine.x12.delimiters import detect

if TYPE_CHECKING:
    from engine.config.project import Project

DEFAULT_NOW = datetime(2024, 1, 1)
INPUTS = ("input.json", "input.edi")
EXPECTED = ("expected.edi", "expected.json", "expected.error")


@dataclass
class Case:
    mapping: str
    name: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.mapping}/{self.name}"


@dataclass
class CaseResult:
    case: Case
    passed: bool
    detail: str = ""
    diff: str = ""


def discover(root: Path, mappings: list[str] | None = None) -> list[Case]:
    """Every case of the named mappings (all when None), in name order. A name may also be
    `MAPPING/CASE` or a case name that only one mapping has: that case alone."""
    base = root / "mappings"
    names = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    every: list[Case] = []
    for name in names:
        folder = base / name / "cases"
        if folder.is_dir():
            every.extend(Case(name, c.name, c) for c in sorted(folder.iterdir()) if c.is_dir())
    if not mappings:
        return every
    chosen: set[str] = set()
    unknown: list[str] = []
    for wanted in mappings:
        if wanted in names:
            chosen.update(c.label for c in every if c.mapping == wanted)
            continue
        found = [c for c in every if wanted in (c.label, c.name)]
        if len(found) > 1 and "/" not in wanted:
            raise ConfigError(f"the case name {wanted!r} is in several mappings: {', '.join(c.label for c in found)}; name it as MAPPING/CASE")
        if not found:
            unknown.append(wanted)
        chosen.update(c.label for c in found)
    if unknown:
        raise ConfigError(f"unknown mapping or case {', '.join(unknown)} (mappings: {', '.join(names)}; a case is MAPPING/CASE)")
    return [c for c in every if c.label in chosen]


def _settings(case: Case) -> dict[str, Any]:
    file = case.path / "case.yaml"
    if not file.is_file():
        return {}
    data = load_yaml(file).data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: a case file is a mapping (description, partner, now, controls, ...)")
    return data


def _input(case: Case) -> Path:
    for name in INPUTS:
        if (case.path / name).is_file():
            return case.path / name
    raise ConfigError(f"{case.path}: no input file ({' or '.join(INPUTS)})")


def _expected(case: Case) -> Path | None:
    for name in EXPECTED:
        if (case.path / name).is_file():
            return case.path / name
    return None


def run_case(project: Project, case: Case, *, update: bool = False) -> CaseResult:
    """Render one case and compare (or, with `update`, rewrite) its expected output."""
    try:
        settings = _settings(case)
        source = _input(case)
        now = settings.get("now") or DEFAULT_NOW
        now = datetime.fromisoformat(now) if isinstance(now, str) else now
        controls = Controls(**{"isa": 1, "gs": 1, "st": 1, **(settings.get("controls") or {})})
    except (MlcError, TypeError, ValueError) as exc:
        return CaseResult(case, False, f"bad case: {exc}")
    display = str(source.relative_to(project.root)) if source.is_relative_to(project.root) else str(source)
    expect_error = settings.get("expect_error")
    try:
        result = dry_run(
            project,
            case.mapping,
            source.read_bytes(),
            display,
            partner=settings.get("partner"),
            now=now,
            controls=controls,
            lookups=settings.get("lookups"),
        )
    except MlcError as exc:
        message = str(exc)
        if expect_error and str(expect_error) in message:
            if update:
                (case.path / "expected.error").write_text(message + "\n", encoding="utf-8")
            return CaseResult(case, True, "failed as expected")
        return CaseResult(case, False, f"render failed: {message}")
    if expect_error:
        return CaseResult(case, False, f"expected an error containing {expect_error!r}, but the render succeeded")
    expected_file = _expected(case)
    suffix = ".edi" if result.media_type == "application/edi-x12" else ".json"
    if update:
        if expected_file is not None and expected_file.suffix != suffix:
            expected_file.unlink()
        (case.path / f"expected{suffix}").write_text(result.output, encoding="utf-8")
        return CaseResult(case, True, "updated")
    if expected_file is None:
        return CaseResult(case, False, "no expected output (run with --update to write it)")
    expected = expected_file.read_text(encoding="utf-8")
    if expected_file.suffix == ".json" and suffix == ".json":
        return _compare_json(case, expected, result.output, expected_file.name)
    if expected == result.output:
        return CaseResult(case, True)
    return CaseResult(case, False, "output differs", diff_outputs(expected, result.output, expected_file.name, suffix))


def _compare_json(case: Case, expected: str, actual: str, name: str) -> CaseResult:
    try:
        wanted = json.loads(expected)
    except json.JSONDecodeError as exc:
        return CaseResult(case, False, f"{name} is not JSON: {exc}")
    got = json.loads(actual)
    if same_json(wanted, got):
        return CaseResult(case, True)
    return CaseResult(case, False, "output differs", diff_outputs(_canonical(wanted), _canonical(got), name, ".json"))


def same_json(left: object, right: object) -> bool:
    """JSON equality: numbers by value, objects regardless of key order, booleans apart from
    numbers (Python's `True == 1` is not JSON's)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(v, right[k]) for k, v in left.items())
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_json(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def _canonical(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def diff_outputs(expected: str, actual: str, name: str, suffix: str) -> str:
    """A unified diff of two outputs; X12 (suffix .edi) one segment per line."""
    if suffix == ".edi":
        expected_lines = _segments(expected)
        actual_lines = _segments(actual)
    else:
        expected_lines = expected.splitlines()
        actual_lines = actual.splitlines()
    return "\n".join(
        difflib.unified_diff(expected_lines, actual_lines, fromfile=name, tofile="rendered", lineterm="")
    )


def _segments(text: str) -> list[str]:
    """One segment per line, whatever the terminator (read from the ISA; `~` when the text
    has no usable ISA, as a hand-edited expected file may not)."""
    try:
        terminator = detect(text)[0].segment
    except X12Error:
        terminator = "~"
    return [s.strip() for s in text.split(terminator) if s.strip()]


@dataclass(frozen=True)
class Sample:
    """An inbound golden case as a file a partner would send: `mlc demo --project` drops it into
    the partner's Cleo inbox (`name` is `<set>_<case>.edi`)."""

    partner: str
    name: str
    content: bytes
    expect_error: str | None = None


def inbound_samples(project: Project) -> list[Sample]:
    """The X12 inputs of the project's golden cases with the partner each belongs to (its
    `case.yaml` partner, else the partner of the ISA sender); cases of no partner are left out."""
    found: list[Sample] = []
    for case in discover(project.root):
        source = case.path / "input.edi"
        if not source.is_file():
            continue
        try:
            settings = _settings(case)
        except MlcError:
            continue
        content = source.read_bytes()
        owner = settings.get("partner")
        if not isinstance(owner, str):
            try:
                isa = detect(content[:200].decode("ascii", errors="replace"))[1]
            except X12Error:
                continue
            match = project.match_partner("x12.sender", f"{isa[5].strip()}/{isa[6].strip()}")
            owner = match.id if match is not None else None
        if owner not in project.partners:
            continue
        mapping = project.mapping_sources.get(case.mapping)
        set_id = mapping.data.get("transaction_set") if mapping is not None and isinstance(mapping.data, dict) else None
        expect = settings.get("expect_error")
        found.append(Sample(str(owner), f"{set_id or 'x12'}_{case.name}.edi", content, str(expect) if expect else None))
    return found
