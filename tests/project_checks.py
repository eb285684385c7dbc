"""The checks the engine's tests make of a project on disk, for any project.

The example project at the repository root is a fixture of the engine's tests; nothing here
assumes its contents (how many partners, cases or routes, which delimiters): each check
derives what it expects from the project it is given. tests/test_user_project.py runs them
on a copy of the example project grown the way an integrator grows one (a partner with `^`
separators, an overlay mapping, a golden case), so a user's project never breaks them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from engine.cli.main import cli
from engine.config.project import Project, validate_project
from engine.mapping.cases import discover, run_case


def check_validates(root: Path) -> Project:
    """`mlc validate` passes and its summary counts the project's own partner files."""
    project, findings = validate_project(root)
    errors = [f.line() for f in findings if f.level == "error"]
    assert project is not None and not errors, errors
    result = CliRunner().invoke(cli, ["validate", "--project", str(root)])
    assert result.exit_code == 0, result.output
    partners = len(list((root / "partners").glob("*.yaml")))
    assert result.stderr.startswith(f"project OK: {partners} partner{'' if partners == 1 else 's'}, "), result.stderr
    return project


def check_golden_cases_pass(root: Path) -> int:
    """Every golden case passes, through the library and through `mlc test`; how many."""
    project = check_validates(root)
    cases = discover(root)
    failed = [f"{c.label}: {r.detail}\n{r.diff}" for c in cases if not (r := run_case(project, c)).passed]
    assert not failed, failed
    result = CliRunner().invoke(cli, ["test", "--project", str(root), "--format", "plain"])
    assert result.exit_code == 0, result.output
    match = re.search(r"(\d+) of (\d+) cases passed", result.stderr)
    assert match is not None and match[1] == match[2] == str(len(cases)), result.stderr
    return len(cases)


def check_golden_x12(root: Path) -> int:
    """Every X12 file of the golden cases reads with its own delimiters, and every expected
    one passes the envelope and definition checks; how many files."""
    from engine.x12.document import check
    from engine.x12.tokenizer import tokenize

    files = sorted([*root.glob("mappings/*/cases/*/expected.edi"), *root.glob("mappings/*/cases/*/input.edi")])
    for path in files:
        with path.open("rb") as stream:
            segments = [elements[0] for _, elements in tokenize(stream, str(path))]
        assert segments[0] == "ISA" and segments[-1] == "IEA", path
        if path.name == "expected.edi":
            with path.open("rb") as stream:
                report = check(stream, str(path))
            assert report.problems == [], [p.line(str(path)) for p in report.problems]
    return len(files)


def check_emulator_folders(root: Path) -> list[str]:
    """The Cleo emulator seeded from the project has every partner's folders; which."""
    from connectors.cleo.emulator.project import project_state

    project = check_validates(root)
    state = project_state(project)
    folders = []
    for partner in project.partners.values():
        cleo: dict[str, Any] = partner.data["cleo"]
        for key in ("inbox", "outbox", "archive"):
            if cleo.get(key):
                assert state.folder_by_path(str(cleo[key])) is not None
                folders.append(str(cleo[key]))
    return folders


def check_all(root: Path) -> None:
    """Every project-facing check of the engine's suite."""
    check_golden_cases_pass(root)
    check_golden_x12(root)
    check_emulator_folders(root)
