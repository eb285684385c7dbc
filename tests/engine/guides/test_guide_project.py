"""Guides in a project: named by partner files, checked by `mlc validate`, applied at render."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from engine.config.project import load_project, validate_project
from engine.errors import GuideError
from engine.mapping.dryrun import dry_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "config"))
from config_support import ACME, CONTOSO, ENVIRON, INVOICE_MAPPING, write_project

NOW = datetime(2024, 5, 2, 12, 0)
INVOICE = {
    "number": "INV-100001",
    "invoiceDate": "2024-05-02",
    "customerNumber": "C10000",
    "totalAmountIncludingTax": 50,
    "salesInvoiceLines": [{"quantity": 2, "unitPrice": 10}, {"quantity": 3, "unitPrice": 10}],
}
ORDER = (
    "ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*000000701*0*P*>~\n"
    "GS*PO*ACMERETAIL*MLCONNECT*20240603*0930*701*X*004010~\n"
    "ST*850*0001~\nBEG*00*SA*PO-1**20240603~\nPO1*1*5*EA*10*PE*BP*AC-DESK-01~\nCTT*1~\nSE*5*0001~\n"
    "GE*1*701~\nIEA*1*000000701~\n"
)

GUIDE = """\
sets:
  "810":
    direction: outbound
    max_length: {BIG02: 8}
    rules:
      - id: total
        at: TDS01
        equals: "{{ total('IT1', 'IT102', 'IT104') }}"
  "850":
    direction: inbound
    require:
      - REF[DP]
"""


MAPPING = INVOICE_MAPPING.replace('IT102: "{{ line.quantity }}", ', 'IT102: "{{ line.quantity }}", IT103: EA, ')
"""The base project's invoice mapping with a unit on the lines (line numbers are asserted)."""


def with_guide(root: Path, guide: str = GUIDE, *, acme: str | None = None) -> Path:
    files = {"guides/acme.yaml": guide, "partners/acme.yaml": acme or ("guide: guides/acme.yaml\n" + ACME), "mappings/invoice-810/mapping.yaml": MAPPING}
    return write_project(root, files)


def problems(root: Path) -> list[str]:
    _, findings = validate_project(root, ENVIRON)
    return [f.line() for f in findings]


def test_a_partner_file_names_its_guide_and_the_project_compiles_it(tmp_path: Path) -> None:
    project = load_project(with_guide(tmp_path), environ=ENVIRON)
    guide = project.partners["acme"].guide
    assert guide is not None and guide.path == "guides/acme.yaml" and sorted(guide.sets) == ["810", "850"]
    assert project.partners["contoso"].guide is None


def test_an_outbound_render_breaking_the_guide_names_the_rule_the_element_and_the_mapping_line(tmp_path: Path) -> None:
    project = load_project(with_guide(tmp_path), environ=ENVIRON)
    with pytest.raises(GuideError) as caught:
        dry_run(project, "invoice-810", json.dumps(INVOICE).encode(), "invoice.json", partner="acme", now=NOW)
    message = caught.value.message
    assert "breaks partner acme's guide for the 810 (1 violation(s))" in message
    assert "BIG02 (segment 2): 'INV-100001' is 10 characters; the partner accepts at most 8 [guide max_length BIG02, guides/acme.yaml:4:18]" in message
    assert "written by mappings/invoice-810/mapping.yaml:8:14 (BIG02: {{ doc.number }})" in message


def test_a_total_rule_catches_a_document_whose_lines_do_not_add_up(tmp_path: Path) -> None:
    project = load_project(with_guide(tmp_path, GUIDE.replace("{BIG02: 8}", "{BIG02: 22}")), environ=ENVIRON)
    wrong = {**INVOICE, "totalAmountIncludingTax": 49.5}
    with pytest.raises(GuideError, match=r"TDS01 \(segment 5\): is 49.50, the partner's rule gives 50 .*written by mappings/invoice-810/mapping.yaml:13:\d+ \(TDS01: "):
        dry_run(project, "invoice-810", json.dumps(wrong).encode(), "invoice.json", partner="acme", now=NOW)
    rendered = dry_run(project, "invoice-810", json.dumps(INVOICE).encode(), "invoice.json", partner="acme", now=NOW)
    assert "TDS*5000~" in rendered.output


def test_an_inbound_document_breaking_the_guide_is_refused_before_it_is_mapped(tmp_path: Path) -> None:
    project = load_project(with_guide(tmp_path), environ=ENVIRON)
    with pytest.raises(GuideError, match=r"order.edi \(ST02 0001\): breaks partner acme's guide for the 850 .*REF: the partner requires REF\[DP\]"):
        dry_run(project, "order-850", ORDER.encode(), "order.edi", now=NOW)
    fixed = ORDER.replace("BEG*00*SA*PO-1**20240603~\n", "BEG*00*SA*PO-1**20240603~\nREF*DP*042~\n").replace("SE*5*", "SE*6*")
    assert json.loads(dry_run(project, "order-850", fixed.encode(), "order.edi", now=NOW).output)["externalDocumentNumber"] == "PO-1"


@pytest.mark.parametrize(
    ("guide", "expected"),
    [
        pytest.param('sets:\n  "810":\n    require: [REFF]\n', "guides/acme.yaml:3:15: error guide-address 'REFF': REFF is not a segment of 004010 810; did you mean REF?", id="unknown-segment"),
        pytest.param('sets:\n  "810":\n    require: [BIG99]\n', "guides/acme.yaml:3:15: error guide-address 'BIG99': segment BIG has elements BIG01 to BIG10", id="element-position"),
        pytest.param('sets:\n  "810":\n    max_length: {BIG02: 40}\n', "guides/acme.yaml:3:18: error guide-length BIG02: the standard allows 1 to 22 characters for BIG02; a guide may only tighten the maximum, found 40", id="looser-length"),
        pytest.param('sets:\n  "855":\n    codes: {ACK01: [IA, Q9]}\n', "guides/acme.yaml:3:13: warning guide-code ACK01: Q9 not in the standard's codes of ACK01 (a mutually defined code?)", id="code-outside-standard"),
        pytest.param('sets:\n  "810":\n    max_length: {N1: 5}\n', "guides/acme.yaml:3:18: error guide-address 'N1' names a segment; an element id is needed here (such as N101)", id="segment-where-element-needed"),
        pytest.param('sets:\n  "810":\n    rules:\n      - {id: r, at: TDS01, equals: "{{ total(\'IT1\' }}"}\n', "guides/acme.yaml:4:9: error guide-rule rule 'r': the equals expression is not valid Jinja", id="rule-syntax"),
        pytest.param('sets:\n  "810":\n    rules:\n      - {id: r, at: TDS01, equals: "{{ total(\'IT2\', \'IT102\') }}"}\n', "guides/acme.yaml:4:9: error guide-address 'IT2': IT2 is not a segment of 004010 810", id="rule-address"),
        pytest.param('sets:\n  "999":\n    require: [ZZ1]\n', "guides/acme.yaml:2:3: warning guide-no-definition transaction set 999 has no definition for version 004010", id="set-without-definition"),
    ],
)
def test_validate_reports_each_guide_problem_at_its_line(tmp_path: Path, guide: str, expected: str) -> None:
    found = problems(with_guide(tmp_path, guide))
    assert any(line.startswith(expected) for line in found), found


def test_a_missing_guide_file_and_a_path_leaving_the_project_are_errors_at_the_partner_file(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"partners/acme.yaml": "guide: guides/none.yaml\n" + ACME, "partners/contoso.yaml": "guide: ../../etc/passwd.yaml\n" + CONTOSO})
    found = problems(root)
    assert any(line.startswith("partners/acme.yaml:1:8: error missing-file guide: the file guides/none.yaml does not exist") for line in found), found
    assert any(line.startswith("partners/contoso.yaml:1:8: error schema guide: guide is a .yaml path inside the project") for line in found), found


def test_an_inline_guide_is_checked_at_its_lines_in_the_partner_file(tmp_path: Path) -> None:
    inline = 'guide:\n  sets:\n    "810":\n      require: [REFF]\n      codes: {BIG07: DI}\n'
    found = problems(write_project(tmp_path, {"partners/acme.yaml": inline + ACME}))
    assert any(line.startswith("partners/acme.yaml:5:22: error schema sets.810.codes.BIG07 must be a list") for line in found), found
    ok = load_project(write_project(tmp_path, {"partners/acme.yaml": 'guide:\n  sets:\n    "810":\n      require: ["REF[IA]"]\n' + ACME}), environ=ENVIRON)
    guide = ok.partners["acme"].guide
    assert guide is not None and guide.path == "partners/acme.yaml"


def test_a_guide_file_shared_by_two_partners_is_read_once_and_reports_once(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "guides/retail.yaml": 'sets:\n  "810":\n    require: [REFF]\n',
            "partners/acme.yaml": "guide: guides/retail.yaml\n" + ACME,
            "partners/contoso.yaml": "guide: guides/retail.yaml\n" + CONTOSO,
        },
    )
    found = [line for line in problems(root) if "guide-address" in line]
    assert len(found) == 1, found
