"""`mlc run --once`, `mlc jobs`, `mlc audit`, `mlc replay` as an operator runs them: the example
project, the emulators (`world.environ`), a state directory of the test's own and the secrets in
the project's encrypted store. Exit codes: 0 ok, 1 failure, 2 usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from tests.e2e.world import DEMO_SECRETS, REPO_ROOT, World, copy_project, edit

Mlc = Callable[..., Result]

UNKNOWN_ITEM_FILE = "850_ACME-PO-7002_unknown_item.edi"


@pytest.fixture
def world() -> Iterator[World]:
    with World.start() as running:
        yield running


@pytest.fixture
def environ(world: World, tmp_path: Path) -> dict[str, str]:
    """The operator's environment: emulator URLs, a state directory, a master key, the project."""
    key = CliRunner().invoke(cli, ["secrets", "keygen"]).stdout.strip()
    return {
        **world.environ,
        "MLC_PROJECT": str(REPO_ROOT),
        "MLC_STATE_DIR": str(tmp_path / "state"),
        "MLC_MASTER_KEY": key,
        "MLC_DATABASE_URL": "",
        "MLC_DEBUG": "",
        "COLUMNS": "250",
    }


@pytest.fixture
def mlc(environ: dict[str, str]) -> Mlc:
    """`mlc ARGS...` in-process, in the operator's environment; the demo secrets already stored."""

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, env=environ)

    for name, value in DEMO_SECRETS.items():
        stored = run("secrets", "set", name, input=value)
        assert stored.exit_code == 0, stored.output
    return run


def _dead_line(result: Result) -> str:
    return next(line for line in result.stderr.splitlines() if line.startswith("dead: "))


def _job_id(mlc: Mlc, key: str) -> int:
    rows = json.loads(mlc("jobs", "--format", "json", "--limit", "100").stdout)
    return int(next(row["id"] for row in rows if key in row["key"]))


# -- mlc run --once -------------------------------------------------------------------------------


def test_run_once_carries_every_route_prints_the_summary_and_exits_1_naming_the_dead_job(mlc: Mlc, world: World) -> None:
    result = mlc("run", "--once")

    assert result.exit_code == 1
    for route in ("bc-invoices-to-810", "cleo-850-to-bc-sales-orders", "cleo-856-to-gp", "gp-vendors-to-json"):
        assert route in result.stdout
    assert _dead_line(result).startswith("dead: job ") and "cleo-850-to-bc-sales-orders" in _dead_line(result)
    assert "AC-LAMP-99" in _dead_line(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "810_acme_103001.edi" in world.outbox("acme") and "850_globex_PO2101.edi" in world.outbox("globex")
    assert "demo-bc-secret" not in result.output and "demo-cleo-secret" not in result.output


def test_run_once_of_a_route_that_succeeds_exits_0_and_a_second_run_sends_nothing_again(mlc: Mlc, world: World) -> None:
    first = mlc("run", "--once", "--route", "bc-invoices-to-810")
    outbox = world.outbox("acme")
    second = mlc("run", "--once", "--route", "bc-invoices-to-810")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert first.stderr == "" and second.stderr == ""
    assert world.outbox("acme") == outbox and "810_acme_103001.edi" in outbox
    assert "810_contoso_103002.edi" in world.outbox("contoso")
    jobs = json.loads(mlc("jobs", "--format", "json").stdout)
    assert sorted(row["key"] for row in jobs) == ["103001", "103002"]


def test_run_once_with_an_unknown_route_is_a_usage_error_listing_the_routes(mlc: Mlc) -> None:
    result = mlc("run", "--once", "--route", "no-such-route")

    assert result.exit_code == 2
    assert result.stderr.startswith("mlc: usage: ") and "no-such-route" in result.stderr
    assert "bc-invoices-to-810" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_once_exits_1_naming_the_route_whose_poll_failed_and_runs_the_others(mlc: Mlc, world: World) -> None:
    world.bc.bc_faults.add("status", match=r"GET /bc/.*/salesInvoices", times=100, status=403)

    result = mlc("run", "--once", "--route", "bc-invoices-to-810", "--route", "bc-sales-orders-to-850")

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("poll failed: bc-invoices-to-810: ") and "HTTP 403" in lines[0]
    assert "850_acme_S-ORD-101001.edi" in world.outbox("acme")
    assert "810_acme_103001.edi" not in world.outbox("acme")
    audit = json.loads(mlc("audit", "bc-invoices-to-810", "--format", "json").stdout)
    assert [(row["event"], row["status"], row["job"]) for row in audit] == [("poll-failed", 403, "")]


def test_run_once_without_the_stored_secrets_fails_naming_the_secret_never_a_value(environ: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["run", "--once", "--route", "bc-invoices-to-810"], env=environ)

    assert result.exit_code == 1
    assert "bc-client-secret" in result.stderr
    assert "Traceback" not in result.output


# -- mlc jobs ------------------------------------------------------------------------------------


def test_jobs_lists_every_job_and_filters_by_state_as_json(mlc: Mlc) -> None:
    mlc("run", "--once")

    table = mlc("jobs")
    dead = mlc("jobs", "--state", "dead", "--format", "json")
    done = mlc("jobs", "--state", "done", "--route", "cleo-850-to-bc-sales-orders", "--format", "json")

    every_done = json.loads(mlc("jobs", "--state", "done", "--format", "json", "--limit", "1000").stdout)
    assert table.exit_code == 0 and "dead 1" in table.stdout and f"done {len(every_done)}" in table.stdout and "review 1" in table.stdout
    assert "103001" in table.stdout and "S-ORD-101001" in table.stdout
    assert dead.exit_code == 0
    rows = json.loads(dead.stdout)
    assert len(rows) == 1 and rows[0]["state"] == "dead" and rows[0]["route"] == "cleo-850-to-bc-sales-orders"
    assert UNKNOWN_ITEM_FILE in rows[0]["key"] and "AC-LAMP-99" in rows[0]["error"] and rows[0]["attempts"] == 1
    assert set(rows[0]) == {"id", "route", "key", "partner", "state", "attempts", "updated", "error"}
    # both files are done (the dead set is a job of its own); the good set of 7001 too
    assert sorted(row["key"].split("/")[-1].split("@")[0] for row in json.loads(done.stdout)) == ["850_ACME-PO-7001.edi", "850_ACME-PO-7001.edi", UNKNOWN_ITEM_FILE]


def test_jobs_before_anything_ran_says_so_and_exits_1(mlc: Mlc) -> None:
    result = mlc("jobs")

    assert result.exit_code == 1
    assert result.stderr.startswith("mlc: error: ") and "nothing has run in this project yet" in result.stderr


def test_jobs_with_an_unknown_state_is_a_usage_error(mlc: Mlc) -> None:
    result = mlc("jobs", "--state", "lost")

    assert result.exit_code == 2 and "lost" in result.stderr


# -- mlc audit -----------------------------------------------------------------------------------


INVOICES = "bc-invoices-to-810"


@pytest.mark.parametrize(
    ("route", "key", "expected"),
    [
        pytest.param(INVOICES, "103001", ["enqueued", "render", "upload", "done"], id="document-number"),
        pytest.param(INVOICES, "810_acme_103001.edi", ["enqueued", "render", "upload", "done"], id="outbound-file-name"),
        pytest.param(
            "cleo-850-to-bc-sales-orders", UNKNOWN_ITEM_FILE, ["received", "enqueued", "split", "dead", "render", "upload", "archive", "done"],
            id="inbound-file-name",  # the file's job and its one set's job (dead: the 997 rejects it)
        ),
        pytest.param(INVOICES, "job:103002", ["enqueued", "render", "upload", "done"], id="job-id"),
    ],
)
def test_audit_shows_the_trail_of_a_document_number_a_file_name_or_a_job_id(mlc: Mlc, route: str, key: str, expected: list[str]) -> None:
    mlc("run", "--once", "--route", route)
    if key.startswith("job:"):
        key = str(_job_id(mlc, key.removeprefix("job:")))

    table = mlc("audit", key)
    rows = json.loads(mlc("audit", key, "--format", "json").stdout)

    assert table.exit_code == 0, table.output
    assert [row["event"] for row in rows] == expected
    assert len({row["job"] for row in rows}) == (2 if "split" in expected else 1) and rows[0]["job"] != ""
    assert f"audit trail of {key}" in table.stdout
    for event in expected:
        assert event in table.stdout
    if "dead" in expected:
        assert "AC-LAMP-99" in next(row for row in rows if row["event"] == "dead")["detail"]


def test_audit_finds_an_inbound_document_by_its_po_number_and_by_the_erp_document_it_created(mlc: Mlc) -> None:
    mlc("run", "--once", "--route", "cleo-850-to-bc-sales-orders")

    by_po = json.loads(mlc("audit", "ACME-PO-7001", "--format", "json").stdout)
    created = [row for row in by_po if row["event"] == "create"]
    assert len(created) == 1 and "map" in [row["event"] for row in by_po]
    number = created[0]["key"]
    assert number and number != "ACME-PO-7001" and f"created salesOrders {number}" in created[0]["detail"]
    by_order = json.loads(mlc("audit", number, "--format", "json").stdout)
    assert {row["job"] for row in by_order} == {created[0]["job"]}
    plain = mlc("audit", "ACME-PO-7001", "--format", "plain").stdout.splitlines()
    assert plain[0].split("\t") == ["at", "job", "route", "key", "event", "status", "ms", "detail"]
    assert len(plain) == len(by_po) + 1


def test_audit_of_an_http_failure_shows_the_status(mlc: Mlc, world: World) -> None:
    world.gp.close_period("2024-05")
    mlc("run", "--once", "--route", "cleo-856-to-gp")

    rows = json.loads(mlc("audit", "856_PO2101.edi", "--format", "json").stdout)

    dead = [row for row in rows if row["event"] == "dead"]
    assert len(dead) == 1 and dead[0]["status"] == 400
    assert "fiscal period 2024-05" in dead[0]["detail"]


def test_audit_of_a_key_nothing_refers_to_exits_1_with_one_line(mlc: Mlc) -> None:
    mlc("run", "--once", "--route", "bc-invoices-to-810")

    result = mlc("audit", "NO-SUCH-DOCUMENT")

    assert result.exit_code == 1
    assert result.stderr.strip() == "mlc: error: nothing in the audit trail for 'NO-SUCH-DOCUMENT' (a document number, file name or job id)"


# -- mlc replay ----------------------------------------------------------------------------------


def test_replay_preview_shows_the_difference_to_todays_mapping_and_runs_nothing(mlc: Mlc, world: World, tmp_path: Path) -> None:
    mlc("run", "--once", "--route", "gp-purchase-orders-to-json")
    job = _job_id(mlc, "PO2102")
    project = copy_project(tmp_path / "project")
    (project / "mappings/gp-purchase-order-to-json/mapping.yaml").write_text(  # the project's own variant of the shipped mapping
        'extends: gp-purchase-order-to-json\noutput:\n  vendorName: "{{ doc.VendorName | upper }}"\n', encoding="utf-8"
    )

    result = mlc("replay", str(job), "--preview", "--project", str(project))
    audit = json.loads(mlc("audit", str(job), "--format", "json").stdout)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"job {job}: gp-purchase-orders-to-json PO2102 (done, 1 attempt(s))")
    assert "difference to the stored output" in result.stdout
    assert '-  "vendorName": "Initech Parts",' in result.stdout and '+  "vendorName": "INITECH PARTS",' in result.stdout
    assert "replay" not in [row["event"] for row in audit]
    assert set(world.outbox("initech")) == {"po_initech_PO2102.json"}


def test_replay_yes_reruns_a_dead_job_once_its_cause_is_fixed_and_exits_0(mlc: Mlc, world: World, tmp_path: Path) -> None:
    mlc("run", "--once", "--route", "cleo-850-to-bc-sales-orders")
    job = _job_id(mlc, UNKNOWN_ITEM_FILE)
    before = mlc("replay", str(job), "--preview")
    project = copy_project(tmp_path / "project")
    edit(project / "partners/acme.yaml", "    AC-CHAIR-02: 1900-S\n", "    AC-CHAIR-02: 1900-S\n    AC-LAMP-99: 1906-S\n")

    result = mlc("replay", str(job), "--yes", "--project", str(project))

    assert before.exit_code == 0 and "today's mapping fails on the stored input" in before.stdout and "AC-LAMP-99" in before.stdout
    assert result.exit_code == 0, result.output
    assert "today's mapping renders the same output as stored" not in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith(f"job {job}: done: created salesOrders ")
    assert [o["externalDocumentNumber"] for o in world.bc_records("salesOrders")].count("ACME-PO-7002") == 1
    assert UNKNOWN_ITEM_FILE in world.archive("acme")


def test_replay_of_a_job_that_fails_again_exits_1_with_the_reason(mlc: Mlc) -> None:
    mlc("run", "--once", "--route", "cleo-850-to-bc-sales-orders")
    job = _job_id(mlc, UNKNOWN_ITEM_FILE)

    result = mlc("replay", str(job), "--yes")

    assert result.exit_code == 1
    assert result.stdout.strip().splitlines()[-1].startswith(f"job {job}: dead: ") and "AC-LAMP-99" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        pytest.param(["replay", "999"], 1, "job 999 does not exist", id="unknown-job"),
        pytest.param(["replay", "first"], 2, "'first' is not a valid integer", id="not-a-job-id"),
        pytest.param(["replay"], 2, "Missing argument 'JOB_ID'", id="no-job-id"),
    ],
)
def test_replay_of_no_such_job_fails_with_one_line(mlc: Mlc, args: list[str], code: int, says: str) -> None:
    mlc("run", "--once", "--route", "bc-invoices-to-810")

    result = mlc(*args)

    assert result.exit_code == code
    assert says in result.stderr


# -- the installed command -------------------------------------------------------------------------


def test_the_mlc_command_runs_once_and_reports_through_exit_codes(mlc: Mlc, environ: dict[str, str], world: World) -> None:
    """The console script in a process of its own (secrets stored through the fixture)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLC_")}, **environ}
    command = str(Path(sys.executable).parent / "mlc")

    run = subprocess.run([command, "run", "--once"], env=env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    audit = subprocess.run([command, "audit", "103002", "--format", "json"], env=env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)

    assert run.returncode == 1 and "AC-LAMP-99" in run.stderr
    assert audit.returncode == 0 and [row["event"] for row in json.loads(audit.stdout)][-1] == "done"
    assert "810_contoso_103002.edi" in world.outbox("contoso")


# -- the 855 review state ----------------------------------------------------------------------------


def test_an_855_held_for_review_is_listed_with_its_differences_audited_and_replayed_once_reopened(mlc: Mlc, world: World) -> None:
    run = mlc("run", "--once", "--route", "cleo-855-to-bc-purchase-orders")
    assert run.exit_code == 0, run.output
    assert "review: job " in run.stdout and "held for review" in run.stdout

    listed = mlc("jobs", "--state", "review")
    rows = json.loads(mlc("jobs", "--state", "review", "--format", "json").stdout)

    assert listed.exit_code == 0
    assert "acknowledgments held for review" in listed.stdout
    assert "20 -> 15" in listed.stdout and "5 -> 0" in listed.stdout  # line 2 changed, line 3 rejected
    (row,) = rows
    assert row["state"] == "review" and "855_106001" in row["key"] and "reopen it" in row["error"]
    (held,) = row["differences"]
    assert held["document"] == "106001" and held["acknowledgment"] == "AC"
    assert [(line["line"], line["status"], line["held"]) for line in held["lines"]] == [
        ("1", "accepted (IA)", []), ("2", "changed (IQ)", ["quantity"]), ("3", "rejected (IR)", ["quantity"])
    ]
    assert held["lines"][1]["ours"]["quantity"] == 20 and held["lines"][1]["theirs"] == {"quantity": 15, "price": None, "date": "2024-05-20"}

    audit = mlc("audit", "855_106001.edi")
    events = [r["event"] for r in json.loads(mlc("audit", "855_106001.edi", "--format", "json").stdout)]
    # the set's own job holds the changes; its file job then sends the 997 and archives the file
    assert "acknowledgments held for review" in audit.stdout
    assert events.index("held") < events.index("review") < events.index("archive") and events[-1] == "done"

    still = mlc("replay", str(row["id"]), "--yes")
    assert still.exit_code == 1 and "review" in still.stdout  # the order is still Released

    world.bc.reopen("purchaseOrders", "106001")
    replayed = mlc("replay", str(row["id"]), "--yes")

    assert replayed.exit_code == 0, replayed.output
    assert json.loads(mlc("jobs", "--state", "review", "--format", "json").stdout) == []
    lines = {line["lineObjectNumber"]: line["quantity"] for line in world.bc.view("purchaseOrders", "106001")["purchaseOrderLines"]}
    assert lines == {"1896-S": 10, "1900-S": 15, "1908-S": 0}
