"""An inbound mapping knows the entity its routes write its payload to: the project gives it
the entity's shape (from the connector), `mlc validate` refuses a payload key the entity does
not have, and every render checks the values' types (engine/mapping/payload.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from config_support import ENVIRON, ORDER_MAPPING, ORDERS_ROUTE, write_project

from engine.config.project import validate_project
from engine.errors import MappingError
from engine.mapping.inbound import render_payload

BODY = {"BEG": {"BEG03": "PO-1", "BEG05": "20240603"}, "PO1_loop": [{"PO1": {"PO102": "5"}}]}


def _project(tmp_path: Path, files: dict[str, str | None] | None = None) -> tuple[object, list[str]]:
    project, found = validate_project(write_project(tmp_path, files), ENVIRON)
    return project, [f.line() for f in found]


def test_the_mapping_of_a_route_writing_to_bc_sales_orders_is_checked_against_it(tmp_path: Path) -> None:
    project, found = _project(tmp_path)
    assert found == []
    mapping = project.mappings["order-850"]  # type: ignore[attr-defined]
    assert mapping.target is not None and mapping.target.entity == "BC salesOrders"
    assert mapping.target.types["orderDate"].kind == "date"
    assert mapping.target.lists["salesOrderLines"].types["quantity"].kind == "decimal"
    assert project.mappings["invoice-810"].target is None  # type: ignore[attr-defined]  # outbound: nothing to check


def test_a_payload_value_of_the_wrong_type_fails_the_render_of_the_projects_mapping(tmp_path: Path) -> None:
    text = ORDER_MAPPING.replace('  customerNumber: "{{ partner.erp.bc.customer }}"\n', '  customerNumber: "{{ partner.erp.bc.customer }}"\n  orderDate: "{{ doc.BEG.BEG05 | x12_date }}"\n')
    project, found = _project(tmp_path, {"mappings/order-850/mapping.yaml": text})
    assert found == []
    partner = project.partners["acme"].data  # type: ignore[attr-defined]
    with pytest.raises(MappingError, match=r"^po\.edi: mappings/order-850/mapping\.yaml:8 \(orderDate\): the payload field orderDate got '20240603': an X12 date"):
        render_payload(project.mappings["order-850"], BODY, partner=partner, now=datetime(2024, 6, 3), document="po.edi")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            '  customerNumber: "{{ partner.erp.bc.customer }}"\n',
            '  customerNumbr: "{{ partner.erp.bc.customer }}"\n',
            "mappings/order-850/mapping.yaml:7:3: error mapping-payload-field 'customerNumbr' is not a field of BC salesOrders; did you mean customerNumber?",
            id="header-key",
        ),
        pytest.param(
            '      quantity: "{{ line.PO1.PO102 | number }}"\n',
            '      qty: "{{ line.PO1.PO102 | number }}"\n',
            "mappings/order-850/mapping.yaml:12:7: error mapping-payload-field 'qty' is not a field of BC salesOrderLines",
            id="line-key",
        ),
    ],
)
def test_a_payload_key_the_entity_does_not_have_is_a_validate_error_at_the_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in ORDER_MAPPING
    project, found = _project(tmp_path, {"mappings/order-850/mapping.yaml": ORDER_MAPPING.replace(old, new)})
    assert project is None and found == [expected]


def test_the_runtimes_own_keys_are_not_the_entitys(tmp_path: Path) -> None:
    text = ORDER_MAPPING.replace("output:\n", "output:\n  _note: kept in the audit\n  '@odata.etag': W/x\n")
    _, found = _project(tmp_path, {"mappings/order-850/mapping.yaml": text})
    assert found == []


def test_a_mapping_written_to_two_entities_is_checked_against_neither_and_validate_says_so(tmp_path: Path) -> None:
    second = ORDERS_ROUTE.replace("entity: salesOrders", "entity: purchaseOrders")
    project, found = _project(tmp_path, {"schedules/orders-too.yaml": second})
    assert [line for line in found if "mapping-target" in line] == [
        "mappings/order-850/mapping.yaml:5:1: warning mapping-target mapping order-850 is written to BC purchaseOrders "
        "(route orders-too), BC salesOrders (route orders): its payload is checked against none of them"
    ]
    assert project is not None and project.mappings["order-850"].target is None  # type: ignore[attr-defined]
