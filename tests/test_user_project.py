"""A user's project never breaks the engine's tests: the example project, copied and grown as
an integrator grows one, passes every project-facing check of the suite (tests/project_checks)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.project_checks import (
    check_all,
    check_emulator_folders,
    check_golden_cases_pass,
    check_golden_x12,
    check_validates,
)

REPO = Path(__file__).resolve().parents[1]
PARTS = ("connections.yaml", "partners", "guides", "mappings", "schedules")

ZENITH = """\
id: zenith
name: Zenith Markets
x12:
  qualifier: ZZ
  id: ZENITHMKT
  version: "004010"
  delimiters: {element: "^", component: "<", segment: "~", repetition: "|"}
cleo: {connection: cleo, inbox: zenith/in, outbox: zenith/out, archive: zenith/done}
transactions:
  - {set: "810", direction: outbound}
  - {set: "850", direction: inbound}
  - {set: "997", direction: outbound}
erp:
  bc: {customer: C50000}
xref:
  items: {ZN-1: 1896-S}
  uom: {EA: PCS}
overrides:
  mappings: {bc-sales-invoice-to-810: zenith-810}
"""

ZENITH_810 = """\
extends: bc-sales-invoice-to-810
changes:
  - remove: N1_loop[BT]
  - set: {BIG07: PR}
    at: BIG
"""

ZENITH_850 = (
    "ISA^00^          ^00^          ^ZZ^ZENITHMKT      ^ZZ^MLCONNECT      ^240603^0930^U^00401^000000901^0^P^<~"
    "GS^PO^ZENITHMKT^MLCONNECT^20240603^0930^901^X^004010~ST^850^0001~BEG^00^SA^ZN-PO-1^^20240603~"
    "PO1^1^2^EA^10^PE^BP^ZN-1~CTT^1^2~SE^5^0001~GE^1^901~IEA^1^000000901~"
)


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grown")
    for part in PARTS:
        source = REPO / part
        shutil.copytree(source, root / part) if source.is_dir() else shutil.copy(source, root / part)
    (root / "partners/zenith.yaml").write_text(ZENITH, encoding="utf-8")
    overlay = root / "mappings/zenith-810"
    (overlay / "cases/zn-103001").mkdir(parents=True)
    (overlay / "mapping.yaml").write_text(ZENITH_810, encoding="utf-8")
    invoice = (REPO / "mappings/bc-sales-invoice-to-810/cases/acme-103001/input.json").read_text(encoding="utf-8")
    (overlay / "cases/zn-103001/input.json").write_text(invoice.replace('"C10000"', '"C50000"'), encoding="utf-8")
    (overlay / "cases/zn-103001/case.yaml").write_text('partner: zenith\nnow: "2024-05-03T09:30:00"\n', encoding="utf-8")
    order = root / "mappings/x12-850-to-bc-sales-order/cases/zenith-zn-po-1"
    order.mkdir(parents=True)
    (order / "input.edi").write_text(ZENITH_850, encoding="utf-8")
    from click.testing import CliRunner

    from engine.cli.main import cli

    result = CliRunner().invoke(cli, ["test", "--update", "zenith-810/zn-103001", "zenith-zn-po-1", "--project", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_the_grown_project_writes_the_new_partners_delimiters(grown: Path) -> None:
    text = (grown / "mappings/zenith-810/cases/zn-103001/expected.edi").read_text(encoding="utf-8")
    assert text.startswith("ISA^00^") and "^<~" in text.splitlines()[0]
    assert "BIG^20240502^103001^^ACME-PO-5001^^^PR~" in text and "N1^BT" not in text


def test_the_grown_project_passes_every_project_facing_check(grown: Path) -> None:
    check_all(grown)


def test_each_check_sees_the_new_partner(grown: Path) -> None:
    assert "zenith/in" in check_emulator_folders(grown)
    assert check_golden_x12(grown) >= 2
    assert check_golden_cases_pass(grown) >= 2
    assert "zenith" in check_validates(grown).partners


def test_the_example_project_passes_the_same_checks() -> None:
    check_all(REPO)


def test_an_x12_fixture_reader_of_the_suite_reads_any_delimiters(grown: Path) -> None:
    import sys

    sys.path.insert(0, str(REPO / "tests/engine/x12"))
    from x12_support import file_segments

    segments = file_segments(grown / "mappings/x12-850-to-bc-sales-order/cases/zenith-zn-po-1/input.edi")
    assert [s[0] for s in segments] == ["ISA", "GS", "ST", "BEG", "PO1", "CTT", "SE", "GE", "IEA"]
