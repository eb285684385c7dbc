from __future__ import annotations

import io
from typing import Any

import pytest

from engine.errors import MappingError
from engine.mapping.outbound import Controls, render_outbound, render_segments, renumbered
from tests.engine.mapping.mapping_support import NOW, compiled, partner

CONTROLS = Controls(isa=1001, gs=1001, st=1)

INVOICE_810 = """
    direction: outbound
    transaction_set: "810"
    segments:
      - BIG: {BIG01: "{{ doc.date }}", BIG02: "{{ doc.number }}"}
      - for_each: "$.lines[?(@.type != 'Comment')]"
        as: line
        segments:
          - IT1: {IT101: "{{ loop.index }}", IT102: "{{ line.qty }}", IT103: EA, IT104: "{{ line.price }}"}
          - PID: {PID01: F, PID05: "{{ line.text }}"}
            when: "{{ line.text }}"
      - TDS: {TDS01: "{{ doc.total }}"}
      - CTT: {CTT01: "{{ count('IT1') }}", CTT02: "{{ total('IT102') }}"}
"""

DOC: dict[str, Any] = {
    "date": "2024-05-02",
    "number": "103001",
    "total": 1060.0,
    "lines": [
        {"type": "Item", "qty": 2, "price": 500.0, "text": "ATHENS Desk"},
        {"type": "Comment", "text": "call ahead"},
        {"type": "Item", "qty": 1.5, "price": 40.25, "text": ""},
    ],
}


def body(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith(("ISA", "GS", "GE", "IEA"))]


def test_an_outbound_mapping_renders_a_complete_interchange() -> None:
    rendered = render_outbound(compiled(INVOICE_810), DOC, partner=partner(), now=NOW, controls=CONTROLS)
    assert rendered.text.splitlines() == [
        "ISA*00*          *00*          *ZZ*MLCONNECT      *ZZ*ACMERETAIL     *240503*0930*U*00401*000001001*0*P*>~",
        "GS*IN*MLCONNECT*ACMERETAIL*20240503*0930*1001*X*004010~",
        "ST*810*0001~",
        "BIG*20240502*103001~",
        "IT1*1*2*EA*500~",
        "PID*F****ATHENS Desk~",
        "IT1*2*1.5*EA*40.25~",
        "TDS*106000~",
        "CTT*2*3.5~",
        "SE*8*0001~",
        "GE*1*1001~",
        "IEA*1*000001001~",
    ]
    assert (rendered.set_id, rendered.functional_id, rendered.segment_count) == ("810", "IN", 8)


def test_rendering_is_pure_the_same_input_gives_the_same_bytes() -> None:
    mapping = compiled(INVOICE_810)
    first = render_outbound(mapping, DOC, partner=partner(), now=NOW, controls=CONTROLS).text
    assert render_outbound(mapping, DOC, partner=partner(), now=NOW, controls=CONTROLS).text == first


@pytest.mark.parametrize(
    "x12", [{}, {"version": "005010", "delimiters": {"element": "|", "component": "^", "segment": "\n", "repetition": "~"}}], ids=["004010", "005010"]
)
def test_a_body_wrapped_again_with_other_numbers_is_the_render_with_those_numbers(x12: dict[str, Any]) -> None:
    mapping = compiled(INVOICE_810)
    assert not mapping.reads_controls
    other = Controls(isa=999999999, gs=42, st=123456)
    doc = {**DOC, "lines": [{**DOC["lines"][0], "text": "A*B"}]}  # a delimiter in data: a note of the wrap
    first = render_outbound(mapping, doc, partner=partner(**x12), now=NOW, controls=CONTROLS)
    again = renumbered(mapping, first, other)
    assert again is not None
    expected = render_outbound(mapping, doc, partner=partner(**x12), now=NOW, controls=other)
    assert again.text == expected.text != first.text
    assert (again.controls, again.notes, again.segment_count, again.tree()) == (other, expected.notes, expected.segment_count, expected.tree())


def test_a_mapping_that_reads_its_control_numbers_is_rendered_again_not_wrapped_again() -> None:
    reads = compiled(INVOICE_810.replace('BIG02: "{{ doc.number }}"', 'BIG02: "{{ doc.number }}-{{ control.st }}"'))
    loops = compiled(INVOICE_810.replace('IT103: EA', 'IT103: "{% set c = control %}{{ c.gs }}"'))
    assert reads.reads_controls and loops.reads_controls
    first = render_outbound(reads, DOC, partner=partner(), now=NOW, controls=CONTROLS)
    assert "BIG*20240502*103001-0001~" in first.text
    assert renumbered(reads, first, Controls(isa=7, gs=7, st=7)) is None
    # a field of the document named like the context variable is not the variable
    assert not compiled(INVOICE_810.replace("doc.number", "doc.control.number")).reads_controls


def test_test_usage_and_partner_delimiters_reach_the_envelope() -> None:
    chosen = partner(usage="test", delimiters={"element": "|", "component": "^", "segment": "\n"})
    text = render_outbound(compiled(INVOICE_810), DOC, partner=chosen, now=NOW, controls=CONTROLS).text
    assert text.startswith("ISA|00|")
    assert "|T|^\n" in text.splitlines()[0] + "\n"
    assert "BIG|20240502|103001\n" in text


def test_a_missing_field_names_the_document_the_mapping_line_and_the_field() -> None:
    doc = {k: v for k, v in DOC.items() if k != "number"}
    with pytest.raises(MappingError) as caught:
        render_outbound(compiled(INVOICE_810), doc, partner=partner(), now=NOW, controls=CONTROLS, document="inv.json")
    assert str(caught.value).startswith("inv.json: mappings/m/mapping.yaml:5 (BIG02): the field 'doc.number' is missing")


def test_a_missing_required_segment_is_refused_with_the_segment_named() -> None:
    mapping = compiled(
        """
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {BIG01: "{{ doc.date }}", BIG02: "{{ doc.number }}"}
          - CTT: {CTT01: "1"}
        """
    )
    with pytest.raises(MappingError, match=r"produced an invalid 004010 810: .*TDS"):
        render_outbound(mapping, DOC, partner=partner(), now=NOW, controls=CONTROLS)


def test_an_empty_required_element_is_refused_with_the_element_named() -> None:
    doc = dict(DOC, number="")
    with pytest.raises(MappingError, match=r"invalid 004010 810: BIG02"):
        render_outbound(compiled(INVOICE_810), doc, partner=partner(), now=NOW, controls=CONTROLS)


def test_a_delimiter_in_data_is_replaced_and_recorded() -> None:
    doc = dict(DOC, lines=[{"type": "Item", "qty": 1, "price": 1, "text": "Desk*large~new"}])
    rendered = render_outbound(compiled(INVOICE_810), doc, partner=partner(), now=NOW, controls=CONTROLS)
    assert "PID*F****Desk large new~" in rendered.text
    assert any("PID05" in note for note in rendered.notes)


def test_a_delimiter_in_data_is_refused_under_the_reject_policy() -> None:
    doc = dict(DOC, lines=[{"type": "Item", "qty": 1, "price": 1, "text": "Desk*large"}])
    with pytest.raises(MappingError, match=r"PID05 contains the delimiter '\*'"):
        render_outbound(
            compiled(INVOICE_810), doc, partner=partner(delimiter_in_data="reject"), now=NOW, controls=CONTROLS
        )


def test_overlong_text_follows_the_partner_policy() -> None:
    long_text = "x" * 90
    doc = dict(DOC, lines=[{"type": "Item", "qty": 1, "price": 1, "text": long_text}])
    mapping = compiled(INVOICE_810)
    rendered = render_outbound(mapping, doc, partner=partner(), now=NOW, controls=CONTROLS)
    assert f"PID*F****{'x' * 80}~" in rendered.text
    assert rendered.notes == [f"PID05: truncated {long_text!r} to 80 characters"]
    with pytest.raises(MappingError, match=r"PID05: 'x+' is 90 characters; the element allows at most 80"):
        render_outbound(mapping, doc, partner=partner(overlong="refuse"), now=NOW, controls=CONTROLS)


def test_a_004010_mapping_renders_for_a_005010_partner_in_its_envelope_and_checked_against_005010() -> None:
    rendered = render_outbound(compiled(INVOICE_810), DOC, partner=partner(version="005010"), now=NOW, controls=CONTROLS)
    assert "*00501*" in rendered.text.splitlines()[0] and "*X*005010~" in rendered.text
    from engine.x12.document import check

    report = check(io.BytesIO(rendered.text.encode()), "out.edi")
    assert report.ok, [p.message for p in report.errors]


def test_a_partner_on_a_version_without_the_sets_definition_is_refused() -> None:
    with pytest.raises(MappingError, match="uses X12 003040 but mapping m is written for 004010, and 003040 has no 810 definition"):
        render_outbound(compiled(INVOICE_810), DOC, partner=partner(version="003040"), now=NOW, controls=CONTROLS)


def test_the_partners_newline_setting_decides_line_breaks() -> None:
    joined = render_outbound(compiled(INVOICE_810), DOC, partner=partner(newline=False), now=NOW, controls=CONTROLS)
    assert "\n" not in joined.text
    assert "~\n" in render_outbound(compiled(INVOICE_810), DOC, partner=partner(), now=NOW, controls=CONTROLS).text


SHIPMENT_856 = """
    direction: outbound
    transaction_set: "856"
    segments:
      - BSN: {BSN01: "00", BSN02: "{{ doc.id }}", BSN03: "{{ doc.date }}", BSN04: "{{ doc.time }}", BSN05: "0001"}
      - HL: {HL01: "{{ hl() }}", HL03: S, HL04: "1"}
      - TD1: {TD101: CTN25, TD102: "{{ doc.cartons }}"}
      - for_each: "$.orders[*]"
        as: order
        segments:
          - HL: {HL01: "{{ hl() }}", HL02: "{{ hl_parent() }}", HL03: O, HL04: "1"}
          - PRF: {PRF01: "{{ order.po }}"}
          - for_each: "order.items[*]"
            as: item
            segments:
              - HL: {HL01: "{{ hl() }}", HL02: "{{ hl_parent() }}", HL03: I, HL04: "0"}
              - LIN: {LIN02: BP, LIN03: "{{ item.sku }}"}
              - SN1: {SN102: "{{ item.qty }}", SN103: EA}
      - CTT: {CTT01: "{{ count('HL') }}"}
"""


def test_nested_loops_build_the_856_hierarchy_with_parent_ids() -> None:
    doc = {
        "id": "SHP-1",
        "date": "2024-05-12",
        "time": "14:00",
        "cartons": 2,
        "orders": [
            {"po": "PO-1", "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]},
            {"po": "PO-2", "items": [{"sku": "C", "qty": 3}]},
        ],
    }
    segments, _ = render_segments(compiled(SHIPMENT_856), doc, partner=partner(), now=NOW, controls=CONTROLS)
    hls = [seg[1:5] for seg in segments if seg[0] == "HL"]
    assert hls == [
        ["1", "", "S", "1"],
        ["2", "1", "O", "1"],
        ["3", "2", "I", "0"],
        ["4", "2", "I", "0"],
        ["5", "1", "O", "1"],
        ["6", "5", "I", "0"],
    ]
    assert segments[-1] == ["CTT", "6"]
    rendered = render_outbound(compiled(SHIPMENT_856), doc, partner=partner(), now=NOW, controls=CONTROLS)
    assert "BSN*00*SHP-1*20240512*1400*0001~" in rendered.text


def test_an_unknown_cross_reference_names_every_missing_key() -> None:
    mapping = compiled(
        """
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {BIG01: "20240502", BIG02: "1"}
          - for_each: "$.lines[*]"
            segments:
              - IT1: {IT101: "{{ loop.index }}", IT102: "1", IT103: EA, IT104: "1", IT106: BP, IT107: "{{ item | xref('items', reverse=true) }}"}
          - TDS: {TDS01: "1"}
        """
    )
    with pytest.raises(MappingError, match=r"not in partner 'acme' cross-reference: 1999-S, 1998-S \(table 'items'\)"):
        render_outbound(mapping, {"lines": ["1896-S", "1999-S", "1998-S"]}, partner=partner(), now=NOW, controls=CONTROLS)


def test_composites_are_written_with_the_component_separator() -> None:
    mapping = compiled(
        """
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {BIG01: "20240502", BIG02: "1"}
          - TDS: {TDS01: "1"}
          - SAC: {SAC01: C, SAC02: D240, SAC05: "{{ doc.freight }}"}
        """
    )
    text = render_outbound(mapping, {"freight": 12.5}, partner=partner(), now=NOW, controls=CONTROLS).text
    assert "SAC*C*D240***1250~" in text


def test_a_loop_condition_is_checked_per_item_and_numbering_stays_consecutive() -> None:
    mapping = compiled(
        """
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {BIG01: "20240502", BIG02: "1"}
          - for_each: "$.lines[*]"
            as: line
            when: "{{ line.q > 0 }}"
            segments:
              - IT1: {IT101: "{{ loop.index }}", IT102: "{{ line.q }}", IT103: EA, IT104: "1"}
          - TDS: {TDS01: "1"}
        """
    )
    segments, _ = render_segments(mapping, {"lines": [{"q": 0}, {"q": 2}, {"q": 0}, {"q": 3}]}, partner=partner(), now=NOW, controls=CONTROLS)
    assert [s[1:3] for s in segments if s[0] == "IT1"] == [["1", "2"], ["2", "3"]]


def test_an_overlong_identifier_is_refused_even_under_truncate_while_free_text_is_cut() -> None:
    long_number = "INV-" + "9" * 30  # BIG02 Invoice Number allows 22: a cut number names another invoice
    with pytest.raises(MappingError, match=r"BIG02: '" + long_number + r"' is 34 characters; the element allows at most 22"):
        render_outbound(compiled(INVOICE_810), dict(DOC, number=long_number), partner=partner(), now=NOW, controls=CONTROLS)
