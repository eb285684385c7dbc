"""GP's written bodies: only the field types GP is assumed to require (connectors/gp/paths.py,
as the emulator's rules check them), and open shapes, since no complete field list is known."""

from __future__ import annotations

from connectors.gp import paths, payload_shape


def test_a_receipt_is_open_and_types_only_its_date_and_the_shipped_quantity() -> None:
    shape = payload_shape("purchaseReceipts")
    assert shape is not None and not shape.closed
    assert {name: t.kind for name, t in shape.types.items()} == {"ReceiptDate": "date"}
    lines = shape.lists[paths.LINES_KEY]
    assert not lines.closed and {name: t.kind for name, t in lines.types.items()} == {"QuantityShipped": "decimal"}


def test_a_purchase_order_types_its_dates_and_ordered_quantity() -> None:
    shape = payload_shape("purchaseOrders")
    assert shape is not None and shape.types["RequiredDate"].kind == "date"
    assert shape.lists[paths.LINES_KEY].types["QuantityOrdered"].kind == "decimal"


def test_an_entity_without_known_types_has_no_payload_shape() -> None:
    assert payload_shape("vendors") is None and payload_shape("fiscalPeriods") is None
