"""`mlc init DIR`: a project of one's own that validates and whose `mlc test` passes; the
Northwind worked example (docs/northwind) added to it passes validate, test and demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from tests.project_checks import check_all

REPO = Path(__file__).resolve().parents[3]
NORTHWIND = REPO / "docs" / "northwind"


def init(*args: str) -> None:
    result = CliRunner().invoke(cli, ["init", *args])
    assert result.exit_code == 0, result.output


def test_init_writes_a_project_that_validates_and_passes_its_cases(tmp_path: Path) -> None:
    init(str(tmp_path / "p"))
    root = tmp_path / "p"
    assert sorted(p.name for p in (root / "schedules").iterdir()) == ["bc-invoices-to-810.yaml", "cleo-850-to-bc-sales-orders.yaml"]
    assert [p.name for p in (root / "partners").iterdir()] == ["example.yaml"]
    assert not list(root.glob("mappings/*/mapping.yaml")), "the shipped mappings are used by name, not copied"
    assert "connections.yaml" in (root / "README.md").read_text(encoding="utf-8")
    check_all(root)


def test_init_with_every_route_and_a_partner_id_of_ones_own(tmp_path: Path) -> None:
    init(str(tmp_path / "p"), "--all-routes", "--partner", "shop-1", "--identity", "01/123456789")
    root = tmp_path / "p"
    assert len(list(root.glob("schedules/*.yaml"))) == len(list((REPO / "engine/library/routes").glob("*.yaml")))
    assert "id: SHOP1" in (root / "partners/shop-1.yaml").read_text(encoding="utf-8")
    assert "ISA*00*          *00*          *01*123456789      *ZZ*SHOP1" in (root / "mappings/bc-sales-invoice-to-810/cases/example/expected.edi").read_text(encoding="utf-8")
    check_all(root)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--route", "nope"], "unknown route nope (standard routes: bc-invoices-to-810", id="unknown-route"),
        pytest.param(["--partner", "Bad Id"], "a partner id is lower-case letters", id="bad-partner-id"),
        pytest.param(["--identity", "ZZ"], "QUALIFIER/ID", id="bad-identity"),
    ],
)
def test_init_refuses_bad_choices_as_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "p"), *args])
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_init_never_overwrites_a_project_without_force(tmp_path: Path) -> None:
    init(str(tmp_path))
    again = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert again.exit_code == 2 and "already holds connections.yaml" in again.stderr
    init(str(tmp_path), "--force")


def test_the_northwind_example_added_to_an_init_project_validates_tests_and_runs_in_the_demo(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init(str(root))
    shutil.copytree(NORTHWIND / "partners", root / "partners", dirs_exist_ok=True)
    shutil.copytree(NORTHWIND / "mappings", root / "mappings", dirs_exist_ok=True)
    overlay = (root / "mappings/northwind-810/mapping.yaml").read_text(encoding="utf-8")
    assert len(overlay.splitlines()) < 30
    check_all(root)

    rendered = CliRunner().invoke(
        cli, ["render", "bc-sales-invoice-to-810", "--input", str(root / "mappings/northwind-810/cases/nw-103010/input.json"), "--partner", "northwind", "--project", str(root)]
    )
    assert rendered.exit_code == 0, rendered.output
    assert "through northwind-810 (partner northwind's override of bc-sales-invoice-to-810)" in rendered.stderr
    assert "REF^IA^V-88231~" in rendered.stdout and "N1^RE^" in rendered.stdout and "ITD^05^3" in rendered.stdout

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env["TMPDIR"] = str(tmp_path)
    demo = subprocess.run([str(Path(sys.executable).parent / "mlc"), "demo", "--project", str(root)], env=env, capture_output=True, text=True, timeout=180, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "northwind/outbox/997_northwind_000008801.edi" in demo.stdout, "Northwind's sample 850 was read through its overlay"
    assert "every flow worked" in demo.stderr


def test_the_starter_routes_and_connections_are_the_example_projects() -> None:
    import yaml

    for route in (REPO / "engine/library/routes").glob("*.yaml"):
        assert yaml.safe_load(route.read_text(encoding="utf-8")) == yaml.safe_load((REPO / "schedules" / route.name).read_text(encoding="utf-8")), route.name
    starter = (REPO / "engine/library/init/connections.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(starter) == yaml.safe_load((REPO / "connections.yaml").read_text(encoding="utf-8"))
