from __future__ import annotations

import pytest

from engine.errors import MappingError
from engine.mapping.inbound import document_key, render_payload
from tests.engine.mapping.mapping_support import NOW, compiled, partner

ORDER_850 = """
    direction: inbound
    transaction_set: "850"
    key: "{{ doc.BEG.BEG03 }}"
    output:
      externalDocumentNumber: "{{ doc.BEG.BEG03 }}"
      customerNumber: "{{ partner.erp.bc.customer }}"
      orderDate: "{{ doc.BEG.BEG05 | iso_date }}"
      requestedDeliveryDate:
        value: "{{ doc.DTM | qualified('DTM01', '002', 'DTM02') | iso_date }}"
        when: "{{ doc.DTM is defined and doc.DTM | qualified('DTM01', '002', 'DTM02') }}"
      sender: "{{ interchange.sender.id }}"
      salesOrderLines:
        for_each: "$.PO1_loop[*]"
        as: line
        item:
          lineType: Item
          lineObjectNumber: "{{ line.PO1 | product_id('BP') | xref('items') }}"
          quantity: "{{ line.PO1.PO102 | number }}"
          tags: ["fixed", "{{ loop.index }}"]
"""

BODY = {
    "BEG": {"BEG01": "00", "BEG02": "SA", "BEG03": "ACME-PO-7001", "BEG05": "20240603"},
    "DTM": [{"DTM01": "002", "DTM02": "20240617"}],
    "PO1_loop": [
        {"PO1": {"PO101": "1", "PO102": "5", "PO103": "EA", "PO106": "BP", "PO107": "AC-DESK-01"}},
        {"PO1": {"PO101": "2", "PO102": "12.5", "PO103": "EA", "PO106": "BP", "PO107": "AC-CHAIR-02"}},
    ],
}
INTERCHANGE = {"sender": {"qualifier": "ZZ", "id": "ACMERETAIL"}}


def test_an_inbound_template_becomes_the_erp_payload() -> None:
    payload = render_payload(compiled(ORDER_850), BODY, partner=partner(), now=NOW, interchange=INTERCHANGE)
    assert payload == {
        "externalDocumentNumber": "ACME-PO-7001",
        "customerNumber": "C10000",
        "orderDate": "2024-06-03",
        "requestedDeliveryDate": "2024-06-17",
        "sender": "ACMERETAIL",
        "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 5, "tags": ["fixed", 1]},
            {"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 12.5, "tags": ["fixed", 2]},
        ],
    }


def test_an_optional_key_is_left_out_when_its_condition_is_false() -> None:
    body = {k: v for k, v in BODY.items() if k != "DTM"}
    payload = render_payload(compiled(ORDER_850), body, partner=partner(), now=NOW, interchange=INTERCHANGE)
    assert "requestedDeliveryDate" not in payload


def test_every_unknown_item_is_named_and_nothing_is_returned() -> None:
    body = dict(BODY)
    body["PO1_loop"] = [
        {"PO1": {"PO101": "1", "PO102": "5", "PO106": "BP", "PO107": "AC-LAMP-99"}},
        {"PO1": {"PO101": "2", "PO102": "1", "PO106": "BP", "PO107": "AC-DESK-01"}},
        {"PO1": {"PO101": "3", "PO102": "1", "PO106": "BP", "PO107": "AC-SOFA-77"}},
    ]
    with pytest.raises(MappingError) as caught:
        render_payload(compiled(ORDER_850), body, partner=partner(), now=NOW, interchange=INTERCHANGE, document="po.edi")
    assert str(caught.value) == (
        "po.edi: not in partner 'acme' cross-reference: AC-LAMP-99, AC-SOFA-77 (table 'items'); "
        "add them to partners/acme.yaml under xref: items"
    )


def test_a_missing_segment_names_the_field_and_the_mapping_line() -> None:
    body = {k: v for k, v in BODY.items() if k != "BEG"}
    with pytest.raises(MappingError, match=r"^po.edi: mappings/m/mapping.yaml:6 \(externalDocumentNumber\): the field 'doc.BEG' is missing"):
        render_payload(compiled(ORDER_850), body, partner=partner(), now=NOW, interchange=INTERCHANGE, document="po.edi")


def test_the_document_key_comes_from_the_mapping() -> None:
    assert document_key(compiled(ORDER_850), BODY, partner=partner()) == "ACME-PO-7001"


def test_loop_items_can_be_filtered_with_when() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          lines:
            for_each: "$.Lines[*]"
            as: line
            when: "{{ line.QuantityOrdered > line.QuantityCanceled }}"
            item: "{{ line.ItemId }}"
        """
    )
    doc = {"Lines": [{"ItemId": "A", "QuantityOrdered": 2, "QuantityCanceled": 0}, {"ItemId": "B", "QuantityOrdered": 1, "QuantityCanceled": 1}]}
    assert render_payload(mapping, doc, partner=partner(), now=NOW) == {"lines": ["A"]}


def test_a_field_called_like_a_dict_method_is_the_field() -> None:
    mapping = compiled(
        """
        direction: json
        output: {n: "{{ doc.items | length }}", v: "{{ doc.values }}"}
        """
    )
    assert render_payload(mapping, {"items": [1, 2], "values": "x"}, partner=partner(), now=NOW) == {"n": 2, "v": "x"}


def test_the_sandbox_refuses_unsafe_attribute_access() -> None:
    mapping = compiled(
        """
        direction: json
        output: {x: "{{ doc.__class__.__mro__ }}"}
        """
    )
    with pytest.raises(MappingError):
        render_payload(mapping, {}, partner=partner(), now=NOW)


@pytest.mark.parametrize(
    "template",
    [pytest.param("{{ doc['x'] }}", id="subscript"), pytest.param("{{ doc.a or doc.x }}", id="or"), pytest.param("{{ doc.x | default(doc.y) }}", id="default-of-missing")],
)
def test_an_undefined_result_is_a_mapping_error(template: str) -> None:
    mapping = compiled(f'direction: json\noutput: {{v: "{template}"}}\n')
    with pytest.raises(MappingError, match=r"mappings/m/mapping\.yaml:2"):
        render_payload(mapping, {"a": ""}, partner=partner(), now=NOW)


def test_recursive_descent_from_a_loop_variable() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          orders:
            for_each: "$.HL_loop[*]"
            as: shipment
            item:
              items:
                for_each: "shipment..LIN"
                as: lin
                item: "{{ lin.LIN03 }}"
        """
    )
    doc = {"HL_loop": [{"HL": {}, "HL_loop": [{"HL_loop": [{"LIN": {"LIN03": "A"}}, {"LIN": {"LIN03": "B"}}]}]}]}
    assert render_payload(mapping, doc, partner=partner(), now=NOW) == {"orders": [{"items": ["A", "B"]}]}


def test_fail_stops_the_render_with_the_mappings_message() -> None:
    mapping = compiled('direction: json\noutput: {v: "{{ doc.x or fail(\'no x in this document\') }}"}\n')
    with pytest.raises(MappingError, match="no x in this document"):
        render_payload(mapping, {"x": ""}, partner=partner(), now=NOW)


def _hl(number: int, parent: int | None, level: str, **rest: object) -> dict[str, object]:
    header = {"HL01": str(number), "HL03": level}
    if parent is not None:
        header["HL02"] = str(parent)
    return {"HL": header, **rest}


def test_hl_ancestor_finds_the_order_level_above_an_item_directly_or_through_its_pack() -> None:
    mapping = compiled(
        """
        direction: inbound
        transaction_set: "856"
        output:
          lines:
            for_each: "$..HL_loop[?(@.HL.HL03 == 'I')]"
            as: item
            item: "{{ (item | hl_ancestor('O')).PRF.PRF01 }}"
        """
    )
    doc = {
        "HL_loop": [
            _hl(1, None, "S", HL_loop=[
                _hl(2, 1, "O", PRF={"PRF01": "PO-1"}, HL_loop=[_hl(3, 2, "I")]),
                _hl(4, 1, "O", PRF={"PRF01": "PO-2"}, HL_loop=[_hl(5, 4, "P", HL_loop=[_hl(6, 5, "I"), _hl(7, 5, "I")])]),
            ])
        ]
    }
    assert render_payload(mapping, doc, partner=partner(), now=NOW) == {"lines": ["PO-1", "PO-2", "PO-2"]}
    orphan = {"HL_loop": [_hl(1, None, "S", HL_loop=[_hl(2, 1, "P", HL_loop=[_hl(3, 2, "I")])])]}
    with pytest.raises(MappingError, match=r"HL 3 \(I\) has no level 'O' above it \(levels above: 2 \(P\), 1 \(S\)\)"):
        render_payload(mapping, orphan, partner=partner(), now=NOW)
