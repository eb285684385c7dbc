"""`mlc validate`: every finding as `path:line:col: level CODE message` (or JSON), a summary
on stderr, exit 1 on errors; `--project` or MLC_PROJECT choose the project."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "config"))
from config_support import CONTOSO, INVOICES_ROUTE, write_project

REPO = Path(__file__).resolve().parents[3]
BROKEN = {
    "schedules/invoices.yaml": INVOICES_ROUTE.replace("mapping: invoice-810", "mapping: nope").replace("*/15", "*/75"),
    "partners/contoso.yaml": CONTOSO.replace("C20001", "C10000"),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLC_PROJECT", "MLC_DEBUG", "TEST_BC_URL"):
        monkeypatch.delenv(name, raising=False)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["validate", *args], env=env)


def test_a_valid_project_prints_nothing_and_a_summary(tmp_path: Path) -> None:
    result = run("--project", str(write_project(tmp_path)))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "project OK: 2 partners, 2 mappings, 2 routes\n"


def test_every_error_is_one_line_sorted_by_file_with_a_summary_and_exit_1(tmp_path: Path) -> None:
    result = run("--project", str(write_project(tmp_path, BROKEN)))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "partners/contoso.yaml:12:27: error duplicate-erp-key erp.bc.customer[1]: bc.customer 'C10000' is claimed by "
        "partner 'acme' (partners/acme.yaml) and by 'contoso'",
        "schedules/invoices.yaml:4:11: error cron-invalid invalid crontab '*/75 * * * *': Error validating expression "
        "'*/75': the step value (75) is higher than the total range of the expression (59) (5 fields: minute hour day "
        "month day-of-week)",
        "schedules/invoices.yaml:15:10: error unknown-mapping route invoices: no mapping 'nope' "
        "(mappings/nope/mapping.yaml; mappings: invoice-810, order-850)",
    ]
    assert result.stderr == "3 errors in 2 files\n"


def test_json_format_is_a_list_of_finding_objects(tmp_path: Path) -> None:
    result = run("--project", str(write_project(tmp_path, BROKEN)), "--format", "json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)
    assert [(f["path"], f["line"], f["column"], f["level"], f["code"]) for f in findings] == [
        ("partners/contoso.yaml", 12, 27, "error", "duplicate-erp-key"),
        ("schedules/invoices.yaml", 4, 11, "error", "cron-invalid"),
        ("schedules/invoices.yaml", 15, 10, "error", "unknown-mapping"),
    ]
    assert all(set(f) == {"path", "line", "column", "level", "code", "message"} for f in findings)


def test_json_format_of_a_valid_project_is_an_empty_list(tmp_path: Path) -> None:
    result = run("--project", str(write_project(tmp_path)), "--format", "json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_warnings_alone_pass(tmp_path: Path) -> None:
    result = run("--project", str(write_project(tmp_path, {"partners/initech.yml": "name: Initech\n"})))
    assert result.exit_code == 0
    assert result.stdout.startswith("partners/initech.yml:1:1: warning file-ignored ")
    assert result.stderr == "project OK: 2 partners, 2 mappings, 2 routes (1 warning)\n"


def test_the_project_comes_from_mlc_project_then_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = write_project(tmp_path / "good")
    bad = write_project(tmp_path / "bad", BROKEN)
    assert run(env={"MLC_PROJECT": str(bad)}).exit_code == 1
    assert run("--project", str(good), env={"MLC_PROJECT": str(bad)}).exit_code == 0, "--project wins"
    monkeypatch.chdir(good)
    assert run().exit_code == 0


def test_environment_variables_are_read_for_interpolation(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    result = run("--project", str(root), env={"TEST_BC_URL": "not-a-url"})
    assert result.exit_code == 1
    assert "connections.yaml:5:3: error connection-config connection 'bc': bc connection: 'api_base' must be an http(s) URL" in result.stdout


def test_a_missing_project_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run("--project", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_the_shipped_example_project_is_valid() -> None:
    result = run("--project", str(REPO))
    assert result.exit_code == 0, result.stdout
    partners = len(list((REPO / "partners").glob("*.yaml")))  # the example project is a fixture: its size may change
    assert result.stderr.startswith(f"project OK: {partners} partner{'' if partners == 1 else 's'}, ")
