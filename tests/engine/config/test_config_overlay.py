"""Mapping overlays (`extends:`): changes addressed by segment id and qualifier, merged on the
YAML data before compiling, with every mistake reported at the overlay's line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from engine.config.overlay import merge
from engine.config.project import validate_project
from engine.config.source import parse_yaml
from tests.engine.config.config_support import ENVIRON, write_project

BASE = textwrap.dedent(
    """\
    name: base-810
    direction: outbound
    transaction_set: "810"
    segments:
      - BIG: {BIG01: "{{ doc.invoiceDate }}", BIG02: "{{ doc.number }}"}
      - REF: {REF01: IA, REF02: "{{ doc.customerNumber }}"}
      - REF: {REF01: DP, REF02: "042"}
      - N1: {N101: BT, N102: "{{ doc.billToName }}"}
      - N3: {N301: "{{ doc.billToAddressLine1 }}"}
      - N4: {N401: "{{ doc.billToCity }}"}
      - N1: {N101: ST, N102: "{{ doc.shipToName }}"}
        when: "{{ doc.shipToName }}"
      - N3: {N301: "{{ doc.shipToAddressLine1 }}"}
      - for_each: "$.lines[*]"
        as: line
        segments:
          - IT1: {IT101: "{{ loop.index }}", IT102: "{{ line.quantity }}", IT108: BP, IT109: "{{ line.part }}"}
          - PID: {PID01: F, PID05: "{{ line.description }}"}
      - TDS: {TDS01: "{{ doc.total }}"}
    """
)


def overlaid(changes: str) -> tuple[Any, list[str]]:
    overlay = parse_yaml("extends: base-810\nchanges:\n" + textwrap.indent(textwrap.dedent(changes), "  "), "mappings/o/mapping.yaml")
    merged, findings = merge(parse_yaml(BASE, "<mlc>/mappings/base-810/mapping.yaml"), overlay, "o")
    return merged, [f"{f.location}: {f.code} {f.message}" for f in findings]


def ids(segments: list[dict[str, Any]]) -> list[str]:
    found = []
    for item in segments:
        if "for_each" in item:
            found.append("[" + " ".join(ids(item["segments"])) + "]")
        else:
            seg = next(k for k in item if k != "when")
            first = (item[seg] or {}).get(f"{seg}01")
            found.append(f"{seg}[{first}]" if isinstance(first, str) and "{" not in first else seg)
    return found


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param("- remove: REF[DP]\n", "BIG REF[IA] N1[BT] N3 N4 N1[ST] N3 [IT1 PID[F]] TDS", id="remove-by-qualifier"),
        pytest.param("- remove: N1_loop[BT]\n", "BIG REF[IA] REF[DP] N1[ST] N3 [IT1 PID[F]] TDS", id="remove-a-flat-n1-group"),
        pytest.param("- remove: IT1_loop/PID\n", "BIG REF[IA] REF[DP] N1[BT] N3 N4 N1[ST] N3 [IT1] TDS", id="remove-in-a-loop"),
        pytest.param("- remove: IT1_loop\n", "BIG REF[IA] REF[DP] N1[BT] N3 N4 N1[ST] N3 TDS", id="remove-a-whole-loop"),
        pytest.param(
            "- add: {ITD: {ITD01: '05'}}\n  after: N1_loop[ST]\n", "BIG REF[IA] REF[DP] N1[BT] N3 N4 N1[ST] N3 ITD[05] [IT1 PID[F]] TDS", id="add-after-a-group"
        ),
        pytest.param("- add: {DTM: {DTM01: '011'}}\n  before: REF[IA]\n", "BIG DTM[011] REF[IA] REF[DP] N1[BT] N3 N4 N1[ST] N3 [IT1 PID[F]] TDS", id="add-before"),
        pytest.param("- add: {N4: {N401: x}}\n  into: N1_loop[ST]\n", "BIG REF[IA] REF[DP] N1[BT] N3 N4 N1[ST] N3 N4[x] [IT1 PID[F]] TDS", id="add-into-a-group"),
        pytest.param("- add: [{SAC: {SAC01: A}}]\n  into: IT1_loop\n", "BIG REF[IA] REF[DP] N1[BT] N3 N4 N1[ST] N3 [IT1 PID[F] SAC[A]] TDS", id="add-into-a-loop"),
        pytest.param(
            "- replace: N1_loop[BT]\n  with: [{N1: {N101: RE}}, {N3: {N301: x}}]\n", "BIG REF[IA] REF[DP] N1[RE] N3[x] N1[ST] N3 [IT1 PID[F]] TDS", id="replace-a-group"
        ),
    ],
)
def test_changes_address_segments_loops_and_groups(changes: str, expected: str) -> None:
    merged, findings = overlaid(changes)
    assert findings == []
    assert " ".join(ids(merged.data["segments"])) == expected


def test_set_changes_elements_and_when_and_null_removes() -> None:
    merged, findings = overlaid(
        """\
        - set: {REF02: V-1}
          at: REF[IA]
        - set: {when: null, N103: "92"}
          at: N1_loop[ST]/N1
        - remove: IT1_loop/IT1/IT109
        - replace: IT1_loop/IT1/IT108
          with: VP
        """
    )
    assert findings == []
    segments = merged.data["segments"]
    assert segments[1] == {"REF": {"REF01": "IA", "REF02": "V-1"}}
    assert segments[6] == {"N1": {"N101": "ST", "N102": "{{ doc.shipToName }}", "N103": "92"}}
    assert segments[8]["segments"][0]["IT1"] == {"IT101": "{{ loop.index }}", "IT102": "{{ line.quantity }}", "IT108": "VP"}


def test_merged_nodes_keep_the_file_and_line_they_were_written_in() -> None:
    merged, _ = overlaid("- add: {ITD: {ITD01: '05'}}\n  after: BIG\n")
    assert str(merged.where(("segments", 1, "ITD", "ITD01"))) == "mappings/o/mapping.yaml:3:24"
    assert str(merged.where(("segments", 2, "REF", "REF02"))) == "<mlc>/mappings/base-810/mapping.yaml:6:29"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            "- remove: REF[ZZ]\n",
            "mappings/o/mapping.yaml:3:13: overlay-no-match 'REF[ZZ]' addresses nothing: no REF[ZZ] (there: BIG, REF[IA], REF[DP], N1[BT], N3, N4, N1[ST], IT1_loop, TDS)",
            id="no-such-qualifier",
        ),
        pytest.param(
            "- remove: IT1_loop/SAC\n",
            "mappings/o/mapping.yaml:3:13: overlay-no-match 'IT1_loop/SAC' addresses nothing: no SAC in IT1_loop (there: IT1, PID[F])",
            id="nothing-in-the-loop",
        ),
        pytest.param(
            "- remove: N3\n",
            "mappings/o/mapping.yaml:3:13: overlay-ambiguous 'N3': N3 matches 2 items (<mlc>/mappings/base-810/mapping.yaml:9:5, <mlc>/mappings/base-810/mapping.yaml:13:5); add a qualifier or the loop (N1_loop[ST]/N3)",
            id="ambiguous",
        ),
        pytest.param(
            "- remove: BIG/BIG99x\n",
            "mappings/o/mapping.yaml:3:13: overlay-address 'BIG/BIG99x': 'BIG99x' is not a step (a segment id such as REF, REF[IA] or N1_loop[ST]; an element id such as BIG07 last)",
            id="bad-step",
        ),
        pytest.param(
            "- remove: BIG/BIG07\n", "mappings/o/mapping.yaml:3:13: overlay-no-match 'BIG/BIG07' addresses nothing: the segment has no BIG07", id="absent-element"
        ),
        pytest.param(
            "- set: {TDS01: x}\n  at: REF[IA]\n",
            "mappings/o/mapping.yaml:3:18: overlay-change 'TDS01' is not an element of REF (set REF01, REF02, ... or when)",
            id="wrong-element",
        ),
        pytest.param(
            "- add: {X: 1}\n  into: TDS\n", "mappings/o/mapping.yaml:4:11: overlay-address 'TDS' is a segment; 'into' needs a loop (IT1_loop, N1_loop[ST])", id="into-a-segment"
        ),
    ],
)
def test_a_change_that_addresses_nothing_is_reported_at_its_line(changes: str, expected: str) -> None:
    _, findings = overlaid(changes)
    assert findings == [expected]


OVERLAY = """\
extends: invoice-810
changes:
  - add: {REF: {REF01: IA, REF02: "{{ partner.settings.vendor }}"}}
    after: BIG
  - remove: TDS
"""
VALID_OVERLAY = OVERLAY.replace("  - remove: TDS\n", '  - set: {TDS01: "{{ doc.totalAmountExcludingTax }}"}\n    at: TDS\n')
"""OVERLAY without removing TDS, which the 810 requires (mlc validate: mapping-mandatory)."""


def test_a_project_overlay_compiles_and_a_partner_override_selects_it(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"mappings/acme-810/mapping.yaml": VALID_OVERLAY})
    project, findings = validate_project(root, ENVIRON)
    assert project is not None, [f.line() for f in findings]
    compiled = project.mappings["acme-810"]
    assert compiled.direction == "outbound" and compiled.transaction_set == "810"
    assert [next(iter(i)) for i in project.mapping_sources["acme-810"].data["segments"]] == ["BIG", "REF", "for_each", "TDS"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"mappings/acme-810/mapping.yaml": OVERLAY.replace("extends: invoice-810", "extends: nope-810")},
            "mappings/acme-810/mapping.yaml:1:10: error overlay-extends",
            id="unknown-base",
        ),
        pytest.param(
            {
                "mappings/a/mapping.yaml": "extends: b\nchanges: []\n",
                "mappings/b/mapping.yaml": "extends: a\nchanges: []\n",
            },
            "mappings/b/mapping.yaml:1:10: error overlay-extends",
            id="cycle",
        ),
        pytest.param(
            {"mappings/acme-810/mapping.yaml": OVERLAY.replace("  - remove: TDS", "  - remove: TDS[X]")},
            "mappings/acme-810/mapping.yaml:5:13: error overlay-no-match",
            id="no-match-in-validate",
        ),
        pytest.param(
            {"mappings/acme-810/mapping.yaml": OVERLAY.replace("REF01: IA", "REF77: IA")},
            "mappings/acme-810/mapping.yaml:3:24: error mapping-element",
            id="added-items-are-schema-checked-at-the-overlay-line",
        ),
        pytest.param(
            {"mappings/acme-810/mapping.yaml": OVERLAY + "direction: inbound\n"},
            "mappings/acme-810/mapping.yaml:6:12: error overlay-change",
            id="direction-is-kept",
        ),
    ],
)
def test_overlay_mistakes_are_reported_by_validate(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    _, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert expected in [f"{f.location}: {f.level} {f.code}" for f in findings], [f.line() for f in findings]


def test_an_inbound_overlay_merges_its_output_key_by_key(tmp_path: Path) -> None:
    overlay = """\
    extends: order-850
    output:
      customerNumber: null
      salesOrderLines:
        item:
          unitOfMeasureCode: "{{ line.PO1.PO103 }}"
    """
    project, findings = validate_project(write_project(tmp_path, {"mappings/nw-850/mapping.yaml": overlay}), ENVIRON)
    assert project is not None, [f.line() for f in findings]
    output = project.mapping_sources["nw-850"].data["output"]
    assert "customerNumber" not in output
    assert output["salesOrderLines"]["item"] == {"quantity": "{{ line.PO1.PO102 | number }}", "unitOfMeasureCode": "{{ line.PO1.PO103 }}"}


def test_a_shipped_mapping_is_used_by_name_and_extended(tmp_path: Path) -> None:
    overlay = "extends: bc-sales-invoice-to-810\nchanges:\n  - remove: N1_loop[BT]\n"
    project, findings = validate_project(write_project(tmp_path, {"mappings/mine/mapping.yaml": overlay}), ENVIRON)
    assert project is not None, [f.line() for f in findings]
    assert "bc-sales-invoice-to-810" in project.mappings
    n1 = [i["N1"]["N101"] for i in project.mapping_sources["mine"].data["segments"] if "N1" in i]
    assert n1 == ["RI", "ST"]
