"""`mlc validate` finds what used to pass and render wrong documents (engine/config/mapping_checks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import ACME, CONTOSO, ENVIRON, INVOICE_MAPPING, ORDER_MAPPING, write_project

from engine.config.project import validate_project


def findings(root: Path) -> list[str]:
    _, found = validate_project(root, ENVIRON)
    return [f.line() for f in found if f.code.startswith("mapping-")]


def with_invoice(tmp_path: Path, old: str, new: str) -> list[str]:
    assert old in INVOICE_MAPPING
    return findings(write_project(tmp_path, {"mappings/invoice-810/mapping.yaml": INVOICE_MAPPING.replace(old, new)}))


def test_the_base_project_has_no_finding(tmp_path: Path) -> None:
    assert findings(write_project(tmp_path)) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            'BIG02: "{{ doc.number }}"',
            'BIG02: "{{ doc.numbr }}"',
            "mappings/invoice-810/mapping.yaml:8:14: error mapping-field doc.numbr: BC salesInvoices has no field 'numbr'; did you mean doc.number?",
            id="misspelled-header-field",
        ),
        pytest.param(
            'IT102: "{{ line.quantity }}"',
            'IT102: "{{ line.quantiy }}"',
            "mappings/invoice-810/mapping.yaml:12:49: error mapping-field line.quantiy: BC salesInvoiceLines has no field 'quantiy'; did you mean line.quantity?",
            id="misspelled-line-field",
        ),
        pytest.param(
            '"$.salesInvoiceLines[*]"',
            '"$.salesInvoiceLine[*]"',
            "mappings/invoice-810/mapping.yaml:9:15: error mapping-for-each for_each '$.salesInvoiceLine[*]': BC salesInvoices has no field 'salesInvoiceLine' to loop over (its lists: salesInvoiceLines); did you mean $.salesInvoiceLines?",
            id="for-each-unknown-list",
        ),
        pytest.param(
            '"$.salesInvoiceLines[*]"',
            '"$.customerNumber"',
            "mappings/invoice-810/mapping.yaml:9:15: error mapping-for-each for_each '$.customerNumber': BC salesInvoices has no list 'customerNumber' to loop over",
            id="for-each-not-a-list",
        ),
        pytest.param(
            'BIG01: "{{ doc.invoiceDate }}"',
            'BIG01: "06/03/2024"',
            "mappings/invoice-810/mapping.yaml:7:14: error mapping-literal BIG01: the constant '06/03/2024' is not a date of 373 (CCYYMMDD, digits only)",
            id="literal-date",
        ),
        pytest.param(
            'BIG01: "{{ doc.invoiceDate }}"',
            'BIG01: "20240231"',
            "mappings/invoice-810/mapping.yaml:7:14: error mapping-literal BIG01: the constant '20240231' is not a calendar date",
            id="literal-impossible-date",
        ),
        pytest.param(
            'IT104: "{{ line.unitPrice }}"',
            'IT104: "12,50"',
            "mappings/invoice-810/mapping.yaml:12:79: error mapping-literal IT104: the constant '12,50' is not a number (type R of 212)",
            id="literal-number",
        ),
        pytest.param(
            'IT102: "{{ line.quantity }}", ',
            'IT102: "{{ line.quantity }}", IT103: EACH, ',
            "mappings/invoice-810/mapping.yaml:12:79: error mapping-literal IT103: the constant 'EACH' is not an X12 004010 unit code (element 355; an ERP unit goes through | x12_unit)",
            id="literal-unit",
        ),
        pytest.param(
            'IT102: "{{ line.quantity }}", ',
            'IT102: "{{ line.quantity }}", IT103: CA, ',
            None,
            id="literal-unit-valid",
        ),
        pytest.param(
            'BIG02: "{{ doc.number }}"',
            'BIG02: "{{ doc.number }}"\n      BIG01: "{{ doc.invoiceDate }}"',
            None,
            id="no-finding",
        ),
    ],
)
def test_static_mistakes_of_an_outbound_mapping_are_found_at_their_line(tmp_path: Path, old: str, new: str, expected: str | None) -> None:
    found = with_invoice(tmp_path, old, new)
    if expected is None:
        assert [f for f in found if " error " in f] == []
    else:
        assert any(f.startswith(expected) for f in found), found


def test_a_cross_reference_table_no_partner_defines_is_an_error_and_a_near_miss_with_a_default_a_warning(tmp_path: Path) -> None:
    found = with_invoice(tmp_path, 'IT101: "{{ loop.index }}"', "IT101: \"{{ loop.index }}\", IT107: \"{{ line.lineObjectNumber | xref('itemz') }}\"")
    assert any(" error mapping-xref the cross-reference table 'itemz' is defined by no partner using this mapping (acme, contoso; their tables: items); did you mean 'items'?" in f for f in found), found
    optional = with_invoice(tmp_path / "b", 'IT101: "{{ loop.index }}"', "IT101: \"{{ loop.index }}\", IT107: \"{{ line.lineObjectNumber | xref('itemz', default='') }}\"")
    assert any(" warning mapping-xref the cross-reference table 'itemz'" in f for f in optional), optional
    unrelated = with_invoice(tmp_path / "c", 'IT101: "{{ loop.index }}"', "IT101: \"{{ loop.index }}\", IT107: \"{{ line.lineObjectNumber | xref('gtin', default='') }}\"")
    assert not [f for f in unrelated if "mapping-xref" in f]


def test_only_partners_taking_part_in_a_route_count_for_its_mappings_cross_reference_tables(tmp_path: Path) -> None:
    """The partners whose tables a mapping may use are those `Project.partners_for` gives its
    routes: contoso lists no routes and exchanges no 850, so its `gtin` table does not make the
    850 mapping's `xref('gtin')` valid (it would fail at render for acme, the one partner on it)."""
    mapping = ORDER_MAPPING.replace('quantity: "{{ line.PO1.PO102 | number }}"', "itemId: \"{{ line.PO1.PO107 | xref('gtin') }}\"")
    found = findings(write_project(tmp_path, {"mappings/order-850/mapping.yaml": mapping, "partners/contoso.yaml": CONTOSO + "xref:\n  gtin: {A: B}\n"}))
    assert any(" error mapping-xref the cross-reference table 'gtin' is defined by no partner using this mapping (acme; their tables: items)" in f for f in found), found


def test_a_segment_after_a_loop_that_the_definition_puts_in_the_loop_is_a_warning(tmp_path: Path) -> None:
    found = with_invoice(tmp_path, '  - TDS: {TDS01: "{{ doc.totalAmountIncludingTax }}"}', '  - SAC: {SAC01: A, SAC02: C310, SAC05: "{{ doc.discountAmount }}"}\n  - TDS: {TDS01: "{{ doc.totalAmountIncludingTax }}"}')
    assert any(
        f.startswith("mappings/invoice-810/mapping.yaml:13:5: warning mapping-loop-position SAC comes right after the IT1 loop (for_each at line 9), and SAC is part of the IT1_loop")
        for f in found
    ), found
    after_tds = with_invoice(tmp_path / "b", '  - TDS: {TDS01: "{{ doc.totalAmountIncludingTax }}"}', '  - TDS: {TDS01: "{{ doc.totalAmountIncludingTax }}"}\n  - SAC: {SAC01: A, SAC02: C310, SAC05: "{{ doc.discountAmount }}"}')
    assert not [f for f in after_tds if "mapping-loop-position" in f]


def test_a_mandatory_segment_or_element_no_entry_writes_is_an_error(tmp_path: Path) -> None:
    found = with_invoice(tmp_path, '  - TDS: {TDS01: "{{ doc.totalAmountIncludingTax }}"}\n', "")
    assert any(" error mapping-mandatory 004010 810 requires segment TDS, and no entry of the mapping writes it" in f for f in found), found
    element = with_invoice(tmp_path / "b", '      BIG02: "{{ doc.number }}"\n', "")
    assert any(f.startswith("mappings/invoice-810/mapping.yaml:7:7: error mapping-mandatory BIG: BIG02 (Invoice Number) is mandatory in 004010 810") for f in element), element


def test_inbound_templates_are_checked_against_the_sets_definition(tmp_path: Path) -> None:
    mapping = ORDER_MAPPING.replace('quantity: "{{ line.PO1.PO102 | number }}"', 'quantity: "{{ line.PO1.PO012 | number }}"').replace("doc.BEG.BEG03 }}\"\n  customer", "doc.BGN.BEG03 }}\"\n  customer")
    found = findings(write_project(tmp_path, {"mappings/order-850/mapping.yaml": mapping}))
    assert any("error mapping-field doc.BGN: 004010 850 has no field 'BGN'; did you mean doc.BEG?" in f for f in found), found
    assert any("error mapping-field line.PO1.PO012: segment PO1 has no field 'PO012'" in f for f in found), found


def test_an_overlay_is_checked_against_the_entity_of_the_route_whose_mapping_it_replaces(tmp_path: Path) -> None:
    # acme's invoices go through its overlay; the project's other route (inbound orders) reads
    # no ERP entity and does not decide what the overlay's templates may read
    overlay = 'extends: invoice-810\nchanges:\n  - set: {BIG04: "{{ doc.customerPurchaseOrderRefrence }}"}\n    at: BIG\n'
    acme = ACME + "overrides:\n  mappings: {invoice-810: acme-810}\n"
    found = findings(write_project(tmp_path, {"mappings/acme-810/mapping.yaml": overlay, "partners/acme.yaml": acme}))
    assert any(
        f.startswith("mappings/acme-810/mapping.yaml:3:")
        and "error mapping-field doc.customerPurchaseOrderRefrence: BC salesInvoices has no field 'customerPurchaseOrderRefrence'; did you mean doc.customerPurchaseOrderReference?" in f
        for f in found
    ), found
