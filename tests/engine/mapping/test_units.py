"""The `x12_unit` filter: partner table first, then the built-in table, then valid 355 codes
unchanged; any other unit fails the render naming the unit, the line and the table to add it to."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import MappingError
from engine.mapping import templates
from engine.mapping.outbound import Controls, render_outbound
from engine.mapping.units import BUILT_IN
from engine.x12.codelists import unit_codes, unit_list_version
from engine.x12.definition import segment_dictionary
from tests.engine.mapping.mapping_support import NOW, compiled, partner

CONTROLS = Controls(isa=1, gs=1, st=1)

INVOICE_810 = """
    direction: outbound
    transaction_set: "810"
    segments:
      - BIG: {BIG01: "20240502", BIG02: "103001"}
      - for_each: "$.lines[*]"
        as: line
        segments:
          - IT1: {IT101: "{{ loop.index }}", IT102: "{{ line.qty }}", IT103: "{{ line.unit | x12_unit }}", IT104: "{{ line.price }}"}
      - TDS: {TDS01: "100"}
"""


def _doc(*units: str) -> dict[str, Any]:
    return {"lines": [{"qty": 1, "unit": unit, "price": 1.0} for unit in units]}


def _units(text: str) -> list[str]:
    return [line.split("*")[3] for line in text.splitlines() if line.startswith("IT1*")]


def _partner(uom: dict[str, str] | None = None, **x12: Any) -> dict[str, Any]:
    chosen = partner(**x12)
    if uom is None:
        chosen["xref"].pop("uom")
    else:
        chosen["xref"]["uom"] = uom
    return chosen


@pytest.fixture(params=[True, False], ids=["translated", "jinja"])
def translated(request: pytest.FixtureRequest) -> Any:
    """Every case through the translated expression and through Jinja alone."""
    with templates.translation(request.param):
        yield request.param


def test_the_partner_table_wins_over_the_built_in_table_and_over_a_valid_code(translated: bool) -> None:
    chosen = _partner({"PC": "PCS", "CS": "CA"})  # the partner says pieces are PC, and CA (a valid code) goes out as CS
    rendered = render_outbound(compiled(INVOICE_810), _doc("PCS", "CA", "HOUR"), partner=chosen, now=NOW, controls=CONTROLS)
    assert _units(rendered.text) == ["PC", "CS", "HR"]


@pytest.mark.parametrize(("unit", "code"), [pytest.param(u, c, id=u) for u, c in sorted(BUILT_IN.items())])
def test_a_built_in_unit_goes_out_as_its_x12_code_without_a_partner_table(unit: str, code: str) -> None:
    rendered = render_outbound(compiled(INVOICE_810), _doc(unit), partner=_partner(None), now=NOW, controls=CONTROLS)
    assert _units(rendered.text) == [code]
    assert code in unit_codes("004010")  # every built-in target is itself a valid code


@pytest.mark.parametrize("unit", ["CA", "KG", "EA", "DZ", "01", "ZZ"])
def test_a_valid_x12_unit_code_passes_through_unchanged(translated: bool, unit: str) -> None:
    rendered = render_outbound(compiled(INVOICE_810), _doc(unit), partner=_partner({"EA": "PCS"}), now=NOW, controls=CONTROLS)
    assert _units(rendered.text) == [unit]


def test_an_unknown_unit_fails_naming_the_unit_the_line_the_mapping_line_and_the_partner_table(translated: bool) -> None:
    with pytest.raises(MappingError) as caught:
        render_outbound(compiled(INVOICE_810), _doc("PCS", "CASE"), partner=_partner({"EA": "PCS"}), now=NOW, controls=CONTROLS, document="invoice 103001")
    message = str(caught.value)
    assert message.startswith("invoice 103001: mappings/m/mapping.yaml:9 (IT103): line 2 of the document: the unit of measure 'CASE' has no X12 code: ")
    assert "partner acme's cross-reference table 'uom' (partners/acme.yaml, xref: uom:) does not map it" in message
    assert "it is not an X12 004010 unit code (element 355; X12 has CA Case)" in message
    assert message.endswith("Add it to partners/acme.yaml under xref: uom: as <X12 code>: CASE")


def test_an_unknown_unit_of_a_partner_without_a_uom_table_says_the_table_is_missing() -> None:
    with pytest.raises(MappingError, match=r"partner acme has no cross-reference table 'uom' \(partners/acme.yaml has no xref: uom:\)"):
        render_outbound(compiled(INVOICE_810), _doc("Pallet"), partner=_partner(None), now=NOW, controls=CONTROLS)


def test_a_unit_is_never_guessed_as_ea() -> None:
    for unit in ("XX", "pcs", "Ea", "CASES"):
        with pytest.raises(MappingError, match=f"the unit of measure {unit!r} has no X12 code"):
            render_outbound(compiled(INVOICE_810), _doc(unit), partner=_partner({"EA": "PCS"}), now=NOW, controls=CONTROLS)


def test_the_partners_version_decides_which_codes_are_valid() -> None:
    only_005010, only_004010 = "JT", "FC"  # Tin (new in 005010); 1000 Cubic Feet (gone in 005010)
    assert only_005010 not in unit_codes("004010") and only_005010 in unit_codes("005010")
    assert only_004010 in unit_codes("004010") and only_004010 not in unit_codes("005010")
    on_005010 = _partner({"EA": "PCS"}, version="005010")
    rendered = render_outbound(compiled(INVOICE_810), _doc(only_005010), partner=on_005010, now=NOW, controls=CONTROLS)
    assert _units(rendered.text) == [only_005010]
    with pytest.raises(MappingError, match="it is not an X12 005010 unit code"):
        render_outbound(compiled(INVOICE_810), _doc(only_004010), partner=on_005010, now=NOW, controls=CONTROLS)
    with pytest.raises(MappingError, match="it is not an X12 004010 unit code"):
        render_outbound(compiled(INVOICE_810), _doc(only_005010), partner=_partner({"EA": "PCS"}), now=NOW, controls=CONTROLS)


def test_the_355_lists_are_complete_and_a_version_without_one_reads_004010s() -> None:
    assert (len(unit_codes("004010")), len(unit_codes("005010"))) == (794, 844)
    assert unit_codes("004010VICS") is unit_codes("004010")
    assert unit_list_version("003050") == "004010"
    assert all(len(code) == 2 and name for code, name in unit_codes("005010").items())


def test_the_unit_lists_do_not_change_what_the_validator_accepts_at_any_position() -> None:
    # The 355 list decides what x12_unit lets out; no segment position checks codes against it,
    # and no other element gained or lost a code list.
    for version in ("004010", "005010"):
        for segment in segment_dictionary(version).values():
            for element in segment.elements:
                if getattr(element, "ref", None) == "355":
                    assert element.codes is None, f"{version} {segment.id}"  # type: ignore[union-attr]
