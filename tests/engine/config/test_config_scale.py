"""A project of 500 partners and 40 routes loads and validates (the time is measured by the
benchmark, not asserted here)."""

from __future__ import annotations

from pathlib import Path

from config_support import ENVIRON, generate_project

from engine.config.project import validate_project


def test_a_project_of_500_partners_and_40_routes_loads_and_validates(tmp_path: Path) -> None:
    project, findings = validate_project(generate_project(tmp_path, partners=500, routes=40), ENVIRON)
    assert findings == []
    assert project is not None
    assert (len(project.partners), len(project.routes)) == (500, 40)
    assert project.find_partner("bc.customer", "C000499").id == "p000499"
    assert project.find_partner("x12.sender", "ZZ/P000123").id == "p000123"
    assert len(project.partners_for("route-000")) == 500
