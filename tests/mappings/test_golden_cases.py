"""Every golden case of the shipped mappings (`mappings/*/cases/*`), as `mlc test` runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.mapping.cases import Case, discover, run_case

ROOT = Path(__file__).resolve().parents[2]
CASES = discover(ROOT)


@pytest.fixture(scope="module")
def project() -> Any:
    from engine.config.project import validate_project

    loaded, findings = validate_project(ROOT)
    errors = [f.line() for f in findings if f.level == "error"]
    assert loaded is not None and not errors, errors
    return loaded


def test_every_standard_mapping_has_at_least_two_passing_cases() -> None:
    from engine.library import mapping_names

    mappings = list(mapping_names())
    assert mappings
    counts = {m: sum(1 for c in CASES if c.mapping == m and not _expects_error(c)) for m in mappings}
    assert all(n >= 2 for n in counts.values()), counts


def _expects_error(case: Case) -> bool:
    settings = case.path / "case.yaml"
    return settings.is_file() and "expect_error" in settings.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.label) for c in CASES])
def test_golden_case(project: Any, case: Case) -> None:
    result = run_case(project, case)
    assert result.passed, f"{result.detail}\n{result.diff}"


@pytest.mark.parametrize("expected", [pytest.param(p, id=str(p.relative_to(ROOT / "mappings"))) for p in sorted(ROOT.glob("mappings/*/cases/*/expected.edi"))])
def test_every_outbound_golden_file_passes_the_x12_check(expected: Path) -> None:
    from engine.x12.document import check

    with expected.open("rb") as stream:
        report = check(stream, str(expected))
    assert report.problems == [], [p.line(str(expected)) for p in report.problems]
