"""The types of BC's fields (connectors/bc/field_types.py, from the API v2.0 resource pages) cover
every field the emulator serves, and the payload shape of a write carries them."""

from __future__ import annotations

import pytest

from connectors.bc import field_types, payload_shape
from connectors.bc.emulator.schema import ENTITY_SETS, LINE_TYPES
from engine.plugins import FIELD_KINDS


@pytest.mark.parametrize("entity", sorted(ENTITY_SETS))
def test_every_field_of_every_entity_set_and_its_lines_has_a_documented_type(entity: str) -> None:
    found = ENTITY_SETS[entity]
    assert set(found.fields) <= set(field_types.TYPES[entity]), sorted(set(found.fields) - set(field_types.TYPES[entity]))
    if found.lines and found.line_fields is not None:
        assert set(found.line_fields) == set(field_types.LINE_FIELD_TYPES[found.lines])


@pytest.mark.parametrize("entity", sorted(ENTITY_SETS))
def test_the_payload_shape_of_a_write_is_closed_and_typed_with_its_lines(entity: str) -> None:
    shape = payload_shape(entity)
    assert shape is not None and shape.closed
    assert {t.kind for t in shape.types.values()} <= set(FIELD_KINDS)
    assert set(shape.types) >= set(ENTITY_SETS[entity].fields)
    lines = ENTITY_SETS[entity].lines
    if lines:
        assert lines in shape.fields and shape.lists[lines].types["quantity"].source == "Edm.Decimal"


def test_the_documented_kinds_reach_the_shape() -> None:
    orders = payload_shape("salesOrders")
    assert orders is not None
    kinds = {name: orders.types[name].kind for name in ("orderDate", "customerId", "partialShipping", "discountAmount", "lastModifiedDateTime", "customerNumber", "status")}
    assert kinds == {
        "orderDate": "date", "customerId": "guid", "partialShipping": "boolean", "discountAmount": "decimal",
        "lastModifiedDateTime": "datetime", "customerNumber": "string", "status": "enum",
    }
    line_type = orders.lists["salesOrderLines"].types["lineType"]
    assert line_type.values == LINE_TYPES and line_type.source == "NAV.invoiceLineAggLineType"
    assert orders.lists["salesOrderLines"].types["sequence"].kind == "integer"
    assert payload_shape("subscriptions") is None
