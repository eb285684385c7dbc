"""The golden cases through the fast path: no fallback to Jinja, no Python warning, and the
same outputs with the translations turned off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from golden_support import expects_error

from engine.mapping import templates
from engine.mapping.cases import Case, discover, run_case

ROOT = Path(__file__).resolve().parents[2]
CASES = discover(ROOT)


def _project() -> Any:
    from engine.config.project import validate_project

    loaded, findings = validate_project(ROOT)
    assert loaded is not None and not [f for f in findings if f.level == "error"]
    return loaded


@pytest.fixture(scope="module")
def project() -> Any:
    return _project()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.label) for c in CASES if not expects_error(c)])
def test_a_golden_case_renders_without_falling_back_to_jinja(project: Any, case: Case) -> None:
    templates.FALLBACKS.clear()
    result = run_case(project, case)
    assert result.passed, result.detail
    assert dict(templates.FALLBACKS) == {}  # every value went through its translation


@pytest.mark.parametrize("case", [pytest.param(c, id=c.label) for c in CASES])
def test_a_golden_case_renders_the_same_through_jinja_alone(project: Any, case: Case) -> None:
    templates.FALLBACKS.clear()
    with templates.translation(False):
        result = run_case(project, case)
    assert result.passed, f"{result.detail}\n{result.diff}"
    assert templates.FALLBACKS or expects_error(case)  # the switch sent the values to Jinja


_EVERY_CASE = """
import sys
from pathlib import Path
from engine.config.project import load_project
from engine.mapping.cases import discover, run_case
root = Path(sys.argv[1])
project = load_project(root)
failed = [f"{c.label}: {r.detail}" for c in discover(root) if not (r := run_case(project, c)).passed]
print(len(discover(root)), "cases", "; ".join(failed) or "all passed")
sys.exit(1 if failed else 0)
"""


def test_loading_the_project_and_rendering_every_golden_case_prints_no_warning() -> None:
    # In a fresh interpreter with every warning an error: templates compile once per process
    # (engine.mapping.templates), so in this one they may have been compiled, and warned, already.
    done = subprocess.run([sys.executable, "-W", "error", "-c", _EVERY_CASE, str(ROOT)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, ""), done.stdout + done.stderr
    assert done.stdout.strip() == f"{len(CASES)} cases all passed"
