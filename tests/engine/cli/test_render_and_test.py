"""`mlc render` (dry run) and `mlc test` (golden cases) on the shipped project and on copies of it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from engine.store import Store

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "connectors/cleo/emulator/seed"
INVOICE_CASE = REPO / "mappings/bc-sales-invoice-to-810/cases/acme-103001"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No project, debug or database from the environment; the state directory is a fresh one
    (no store in it until a test makes one)."""
    for name in ("MLC_PROJECT", "MLC_DEBUG", "MLC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "state"
    monkeypatch.setenv("MLC_STATE_DIR", str(state))
    return state


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--project", str(REPO)])


def test_render_of_an_inbound_file_prints_the_erp_payload_and_picks_the_partner_from_the_isa() -> None:
    result = run("render", "x12-850-to-bc-sales-order", "--input", str(SEED / "850_ACME-PO-7001.edi"))
    assert result.exit_code == 0, result.output
    expected = (REPO / "mappings/x12-850-to-bc-sales-order/cases/acme-po-7001/expected.json").read_text()
    assert json.loads(result.stdout) == json.loads(expected)
    assert "for partner acme" in result.stderr


def test_render_of_an_erp_document_prints_x12_that_passes_the_check(tmp_path: Path) -> None:
    result = run("render", "bc-sales-invoice-to-810", "--input", str(INVOICE_CASE / "input.json"), "--now", "2024-05-03T09:30")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ISA*00*")
    assert "*240503*0930*U*00401*000000001*0*P*>~" in result.stdout  # a dry run consumes no control numbers
    out = tmp_path / "out.edi"
    out.write_text(result.stdout)
    check = CliRunner().invoke(cli, ["x12", "check", str(out)])
    assert check.exit_code == 0, check.output


def test_render_shows_the_next_control_numbers_of_the_state_store_without_consuming_them(clean_environment: Path) -> None:
    clean_environment.mkdir()
    with Store.open(None, state_dir=clean_environment) as store:
        for kind, count in (("isa", 41), ("gs", 7), ("st", 2)):
            store.next_control("acme", kind, count=count)
    for _ in range(2):  # twice: the numbers are peeked, not taken
        result = run("render", "bc-sales-invoice-to-810", "--input", str(INVOICE_CASE / "input.json"), "--now", "2024-05-03T09:30")
        assert result.exit_code == 0, result.output
        assert "*240503*0930*U*00401*000000042*0*P*>~GS*IN*MLCONNECT*ACMERETAIL*20240503*0930*8*X*004010~" in result.stdout.replace("\n", "")
        assert "ST*810*0003~" in result.stdout
        assert "ISA13 42, GS06 8, ST02 3 (peeked, not consumed)" in result.stderr
    with Store.open(None, state_dir=clean_environment) as store:
        assert [store.peek_control("acme", kind) for kind in ("isa", "gs", "st")] == [42, 8, 3]


def test_render_names_what_it_looked_for_when_no_partner_matches(tmp_path: Path) -> None:
    doc = json.loads((INVOICE_CASE / "input.json").read_text())
    doc["customerNumber"] = "C30000"
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(doc))
    result = run("render", "bc-sales-invoice-to-810", "--input", str(source))
    assert result.exit_code == 1
    assert "no partner matches bc.customer 'C30000' (route bc-invoices-to-810)" in result.stderr


def test_render_with_an_explicit_partner_uses_it() -> None:
    result = run("render", "bc-sales-invoice-to-810", "--input", str(INVOICE_CASE / "input.json"), "--partner", "contoso")
    assert result.exit_code == 0, result.output
    assert "*01*123456789      *" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["render", "nope", "--input", str(INVOICE_CASE / "input.json")], "unknown mapping 'nope'", id="unknown-mapping"),
        pytest.param(["render", "bc-sales-invoice-to-810", "--input", str(INVOICE_CASE / "input.json"), "--partner", "x"], "unknown partner 'x'", id="unknown-partner"),
        pytest.param(["render", "x12-850-to-bc-sales-order", "--input", str(SEED / "850_ACME-PO-7002_unknown_item.edi")], "AC-LAMP-99", id="unknown-item"),
        pytest.param(["render", "bc-sales-invoice-to-810", "--input", str(SEED / "850_ACME-PO-7001.edi")], "not a JSON document", id="x12-into-outbound"),
    ],
)
def test_render_failures_are_one_line_with_exit_1(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_render_with_a_bad_clock_is_a_usage_error() -> None:
    result = run("render", "bc-sales-invoice-to-810", "--input", str(INVOICE_CASE / "input.json"), "--now", "yesterday")
    assert result.exit_code == 2


def test_mlc_test_passes_every_shipped_case() -> None:
    result = run("test")
    assert result.exit_code == 0, result.output
    passed = re.search(r"(\d+) of (\d+) cases passed", result.stderr)
    assert passed is not None and passed[1] == passed[2] and int(passed[1]) > 0, result.stderr


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    for name in ("connections.yaml", "partners", "guides", "schedules", "mappings"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def test_mlc_test_shows_a_segment_per_line_diff_and_fails(project_copy: Path) -> None:
    expected = project_copy / "mappings/bc-sales-invoice-to-810/cases/acme-103001/expected.edi"
    expected.write_text(expected.read_text().replace("REF*IA*C10000~", "REF*IA*C99999~"))
    result = CliRunner().invoke(cli, ["test", "bc-sales-invoice-to-810", "--project", str(project_copy)])
    assert result.exit_code == 1
    assert "-REF*IA*C99999" in result.stdout and "+REF*IA*C10000" in result.stdout
    assert "2 of 3 cases passed" in result.stderr


def test_mlc_test_update_rewrites_the_expected_output(project_copy: Path) -> None:
    expected = project_copy / "mappings/bc-sales-invoice-to-810/cases/acme-103001/expected.edi"
    original = expected.read_text()
    expected.write_text("stale")
    update = CliRunner().invoke(cli, ["test", "bc-sales-invoice-to-810", "--update", "--project", str(project_copy)])
    assert update.exit_code == 0, update.output
    assert expected.read_text() == original


def test_mlc_test_of_an_unknown_mapping_names_the_known_ones() -> None:
    result = run("test", "nope")
    assert result.exit_code == 1
    assert "unknown mapping or case nope (mappings: bc-purchase-order-to-850" in result.stderr


def test_mlc_test_update_of_one_case_rewrites_that_case_only(tmp_path: Path) -> None:
    import shutil

    for name in ("connections.yaml", "partners", "guides", "schedules", "mappings"):
        source = REPO / name
        shutil.copytree(source, tmp_path / name) if source.is_dir() else shutil.copy(source, tmp_path / name)
    cases = tmp_path / "mappings/bc-sales-invoice-to-810/cases"
    one, other = cases / "acme-103001/expected.edi", cases / "contoso-103002/expected.edi"
    one.write_text("stale\n", encoding="utf-8")
    other.write_text("stale too\n", encoding="utf-8")

    result = CliRunner().invoke(cli, ["test", "--update", "bc-sales-invoice-to-810/acme-103001", "--project", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert one.read_text(encoding="utf-8").startswith("ISA*")
    assert other.read_text(encoding="utf-8") == "stale too\n"


def test_golden_json_is_compared_as_json_numbers_by_value_and_key_order_ignored() -> None:
    from engine.mapping.cases import same_json

    assert same_json({"a": 5, "b": [1.0, {"x": "y"}]}, {"b": [1, {"x": "y"}], "a": 5.00})
    assert not same_json({"a": True}, {"a": 1})
    assert not same_json({"a": "5"}, {"a": 5})
    assert not same_json([1, 2], [2, 1])


def _wrong_way_date(project: Path) -> int:
    """The project's own copy of the shipped 850 mapping with `x12_date` where `iso_date`
    belongs (an X12 date written as the ERP date); the line of orderDate."""
    shipped = (REPO / "engine/library/mappings/x12-850-to-bc-sales-order/mapping.yaml").read_text(encoding="utf-8")
    right = 'orderDate: "{{ doc.BEG.BEG05 | iso_date }}"'
    assert shipped.count(right) == 1
    own = project / "mappings/x12-850-to-bc-sales-order/mapping.yaml"
    own.write_text(shipped.replace(right, right.replace("iso_date", "x12_date")), encoding="utf-8")
    return next(number for number, text in enumerate(shipped.splitlines(), start=1) if right in text)


def test_an_inbound_date_filter_used_the_wrong_way_round_fails_render_and_test_naming_the_field_value_and_line(project_copy: Path) -> None:
    line = _wrong_way_date(project_copy)
    expected = (
        f"mappings/x12-850-to-bc-sales-order/mapping.yaml:{line} (orderDate): the payload field orderDate got "
        "'20240603': an X12 date (CCYYMMDD), not an ERP date; BC salesOrders.orderDate "
        "(Edm.Date) takes a date YYYY-MM-DD"
    )
    rendered = CliRunner().invoke(
        cli, ["render", "x12-850-to-bc-sales-order", "--input", str(SEED / "850_ACME-PO-7001.edi"), "--project", str(project_copy)]
    )
    assert rendered.exit_code == 1 and expected in rendered.stderr, rendered.output
    tested = CliRunner().invoke(cli, ["test", "x12-850-to-bc-sales-order/acme-po-7001", "--format", "json", "--project", str(project_copy)])
    assert tested.exit_code == 1, tested.output
    [case] = json.loads(tested.stdout)
    assert case["result"] == "FAIL" and expected in case["detail"], case
