"""An inbound payload checked against the entity it is written to: each value against its
field's type and format, refused naming the field, the value, what is valid and the mapping line."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import MappingError
from engine.mapping import templates
from engine.mapping.inbound import render_payload
from engine.mapping.payload import field_problem
from engine.plugins import EntityShape, FieldType
from tests.engine.mapping.mapping_support import NOW, compiled, partner

LINES = EntityShape(
    "ERP orderLines",
    frozenset({"lineType", "lineObjectNumber", "quantity", "sequence"}),
    types={
        "lineType": FieldType("enum", ("Item", "Comment"), source="NAV.lineType"),
        "lineObjectNumber": FieldType("string", max_length=20),
        "quantity": FieldType("decimal", source="Edm.Decimal"),
        "sequence": FieldType("integer"),
    },
)
ORDERS = EntityShape(
    "ERP orders",
    frozenset({"externalDocumentNumber", "orderDate", "lines", "partialShipping", "customerId", "lastModifiedDateTime"}),
    {"lines": LINES},
    {
        "externalDocumentNumber": FieldType("string"),
        "orderDate": FieldType("date", source="Edm.Date"),
        "partialShipping": FieldType("boolean"),
        "customerId": FieldType("guid"),
        "lastModifiedDateTime": FieldType("datetime"),
    },
)

ORDER_850 = """
    direction: inbound
    transaction_set: "850"
    output:
      _number: "{{ doc.BEG.BEG03 }}"
      externalDocumentNumber: "{{ doc.BEG.BEG03 }}"
      orderDate: "{{ doc.BEG.BEG05 | DATE_FILTER }}"
      lines:
        for_each: "$.PO1_loop[*]"
        as: line
        item:
          _match: {number: 7}
          lineType: Item
          lineObjectNumber: "{{ line.PO1.PO107 }}"
          quantity: "{{ line.PO1.PO102 QUANTITY_FILTER }}"
"""

BODY: dict[str, Any] = {
    "BEG": {"BEG01": "00", "BEG02": "SA", "BEG03": "ACME-PO-7001", "BEG05": "20240603"},
    "PO1_loop": [
        {"PO1": {"PO101": "1", "PO102": "5", "PO103": "EA", "PO106": "BP", "PO107": "1896-S"}},
        {"PO1": {"PO101": "2", "PO102": "five", "PO103": "EA", "PO106": "BP", "PO107": "1900-S"}},
    ],
}


@pytest.fixture(params=[True, False], ids=["translated", "jinja"])
def translated(request: pytest.FixtureRequest) -> Any:
    with templates.translation(request.param):
        yield request.param


def _mapping(date_filter: str = "iso_date", quantity_filter: str = "| number") -> Any:
    mapping = compiled(ORDER_850.replace("DATE_FILTER", date_filter).replace("QUANTITY_FILTER", quantity_filter))
    mapping.target = ORDERS
    return mapping


def _body(*quantities: str) -> dict[str, Any]:
    lines = [{"PO1": {**BODY["PO1_loop"][0]["PO1"], "PO102": q}} for q in quantities]
    return {**BODY, "PO1_loop": lines}


def _render(mapping: Any, body: dict[str, Any]) -> Any:
    return render_payload(mapping, body, partner=partner(), now=NOW, document="po.edi")


def test_a_payload_of_the_right_types_renders_as_it_did(translated: bool) -> None:
    payload = _render(_mapping(), _body("5", "12.5"))
    assert payload["orderDate"] == "2024-06-03"
    assert [line["quantity"] for line in payload["lines"]] == [5, 12.5]
    assert payload["_number"] == "ACME-PO-7001" and payload["lines"][0]["_match"] == {"number": 7}  # the runtime's keys pass


def test_the_x12_date_filter_used_the_wrong_way_round_is_refused_naming_field_value_and_mapping_line(translated: bool) -> None:
    with pytest.raises(MappingError) as caught:
        _render(_mapping(date_filter="x12_date"), _body("5"))
    assert str(caught.value) == (
        "po.edi: mappings/m/mapping.yaml:7 (orderDate): the payload field orderDate got '20240603': an X12 date "
        "(CCYYMMDD), not an ERP date; ERP orders.orderDate (Edm.Date) takes a date "
        "YYYY-MM-DD (e.g. 2024-06-01; from an X12 date: | iso_date)"
    )


def test_a_quantity_that_is_not_a_number_is_refused_with_its_line(translated: bool) -> None:
    with pytest.raises(MappingError) as caught:
        _render(_mapping(quantity_filter=""), _body("five"))
    assert str(caught.value) == (
        "po.edi: mappings/m/mapping.yaml:15 (quantity): the payload field lines[0].quantity got 'five': text is not "
        "a number; ERP orderLines.quantity (Edm.Decimal) takes a number (from X12 text: | number)"
    )


def test_a_numeric_quantity_left_as_x12_text_is_refused_too() -> None:
    with pytest.raises(MappingError, match=r"the payload field lines\[0\]\.quantity got '5': text is not a number"):
        _render(_mapping(quantity_filter=""), _body("5"))


def test_a_number_written_as_text_is_refused_at_the_first_line_it_occurs_in() -> None:
    mapping = _mapping(quantity_filter="| number")
    body = _body("5", "7")
    body["PO1_loop"][1]["PO1"]["PO107"] = 1900  # a number where the entity takes text
    with pytest.raises(MappingError, match=r"the payload field lines\[1\]\.lineObjectNumber got 1900: a number, not text; ERP orderLines.lineObjectNumber takes text of at most 20 characters"):
        _render(mapping, body)


def test_without_a_target_nothing_is_checked() -> None:
    mapping = _mapping(date_filter="x12_date", quantity_filter="")
    mapping.target = None
    assert _render(mapping, _body("five"))["orderDate"] == "20240603"


def test_a_list_field_given_something_else_is_refused() -> None:
    mapping = compiled("""
        direction: inbound
        transaction_set: "850"
        output:
          lines: "{{ doc.BEG.BEG03 }}"
    """)
    mapping.target = ORDERS
    with pytest.raises(MappingError, match=r"the payload field lines got 'ACME-PO-7001': not a list; ERP orders.lines takes a list of ERP orderLines"):
        _render(mapping, BODY)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        pytest.param("orderDate", "2024-06-31", "not a day of the calendar", id="date-no-such-day"),
        pytest.param("orderDate", "06/03/2024", "not a date YYYY-MM-DD", id="date-us-format"),
        pytest.param("orderDate", "2024-06-03T00:00:00", "not a date YYYY-MM-DD", id="date-with-time"),
        pytest.param("orderDate", "", "not a date YYYY-MM-DD", id="date-empty"),
        pytest.param("orderDate", None, "null is not a value", id="date-null"),
        pytest.param("partialShipping", "true", "not true or false", id="boolean-as-text"),
        pytest.param("customerId", "C10000", "not a GUID", id="guid"),
        pytest.param("lastModifiedDateTime", "2024-06-03T10:00:00", "not a date and time with its zone", id="datetime-without-zone"),
    ],
)
def test_a_value_of_the_wrong_type_or_format_is_refused(field: str, value: Any, problem: str) -> None:
    found = field_problem(ORDERS, field, value)
    assert found is not None and problem in found, found


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        pytest.param("quantity", True, "true/false is not a number", id="decimal-bool"),
        pytest.param("quantity", float("nan"), "not a finite number", id="decimal-nan"),
        pytest.param("sequence", 10000.5, "not a whole number", id="integer-fraction"),
        pytest.param("lineType", "Items", "not one of its values", id="enum"),
        pytest.param("lineObjectNumber", "X" * 21, "21 characters, more than 20", id="string-too-long"),
    ],
)
def test_a_line_value_of_the_wrong_type_is_refused(field: str, value: Any, problem: str) -> None:
    found = field_problem(LINES, field, value)
    assert found is not None and problem in found, found


@pytest.mark.parametrize(
    ("shape", "field", "value"),
    [
        pytest.param(ORDERS, "orderDate", "2024-02-29", id="date"),
        pytest.param(ORDERS, "partialShipping", False, id="boolean"),
        pytest.param(ORDERS, "customerId", "00000000-0000-0000-0000-000000000000", id="guid"),
        pytest.param(ORDERS, "lastModifiedDateTime", "2024-06-03T10:00:00.217Z", id="datetime"),
        pytest.param(LINES, "quantity", 0, id="decimal-int"),
        pytest.param(LINES, "sequence", 10000, id="integer"),
        pytest.param(LINES, "lineType", "Comment", id="enum"),
        pytest.param(ORDERS, "externalDocumentNumber", "", id="empty-text"),
        pytest.param(ORDERS, "lines", "not typed", id="untyped"),
    ],
)
def test_a_value_of_the_right_type_passes(shape: EntityShape, field: str, value: Any) -> None:
    assert field_problem(shape, field, value) is None
