"""`engine.runtime.targets.write`: the change-set rules of updates (what is PATCHed, on which
record and line, with which ETag), creates checked against the route's unique fields, the keys
a route requires, and 997s matched to the groups we sent."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from runtime_fakes import FakeRecords

from engine.errors import MappingError
from engine.runtime import Runtime
from engine.runtime.targets import check_required, write
from engine.store import Job

MakeRuntime = Callable[..., Runtime]
ACKS = "cleo-855-to-bc-purchase-orders"
ORDERS = "cleo-850-to-bc-sales-orders"

PURCHASE_ORDER = {
    "id": "po-106001",
    "number": "106001",
    "@odata.etag": 'W/"po-1"',
    "status": "Draft",  # BC's Open (editable) order; a Released one is "Open" in the API
    "requestedReceiptDate": "2024-05-15",
    "purchaseOrderLines": [
        {"id": "line-1", "sequence": 10000, "lineObjectNumber": "1896-S", "quantity": 10, "@odata.etag": 'W/"l-1"'},
        {"id": "line-2", "sequence": 20000, "lineObjectNumber": "1900-S", "quantity": 20, "@odata.etag": 'W/"l-2"'},
        {"id": "line-3", "sequence": 30000, "lineObjectNumber": "1900-S", "quantity": 5, "@odata.etag": 'W/"l-3"'},
    ],
}


def _bc(status: str = "Draft") -> FakeRecords:
    return FakeRecords(
        {
            "purchaseOrders": [{**copy.deepcopy(PURCHASE_ORDER), "status": status}],
            "customers": [{"number": "C10000"}, {"number": "C20000"}],
            "items": [{"number": "1896-S"}, {"number": "1900-S"}],
            "salesOrders": [{"number": "S-ORD-101003", "customerNumber": "C10000", "externalDocumentNumber": "ACME-PO-7001"}],
        }
    )


def _job(runtime: Runtime, route: str, partner: str) -> Job:
    job, _ = runtime.store.enqueue(route, f"{partner}/inbox/file.edi@0", kind="file", partner=partner)
    return job


def _write(runtime: Runtime, route: str, partner: str, output: Any) -> Any:
    return write(runtime.context, runtime.route(route), runtime.project.partners[partner], output, _job(runtime, route, partner), source="file.edi ST02 0001")


def _line(match: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {"_match": match, "_status": "accepted", **values}


# -- updates: the change set ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "writes"),
    [
        pytest.param(
            {
                "_purchaseOrderNumber": "106001",
                "_acknowledgment": {"type": "AC"},
                "requestedReceiptDate": "2024-05-20",
                "purchaseOrderLines": [_line({"lineObjectNumber": "1896-S"}, quantity=10, expectedReceiptDate="2024-05-15")],
            },
            [
                ("update", "purchaseOrders", "po-106001", {"requestedReceiptDate": "2024-05-20"}, 'W/"po-1"'),
                ("update", "purchaseOrderLines", "line-1", {"quantity": 10, "expectedReceiptDate": "2024-05-15"}, 'W/"l-1"'),
            ],
            id="header-fields-then-lines-each-with-its-own-etag-underscore-keys-never-sent",
        ),
        pytest.param(
            {"_purchaseOrderNumber": "106001", "purchaseOrderLines": [_line({"lineObjectNumber": "1896-S"}, quantity=0)]},
            [("update", "purchaseOrderLines", "line-1", {"quantity": 0}, 'W/"l-1"')],
            id="lines-only-no-header-patch",
        ),
        pytest.param(
            {"_purchaseOrderNumber": "106001", "purchaseOrderLines": [_line({"lineObjectNumber": "1896-S"}), _line({"sequence": 20000}, quantity=15)]},
            [("update", "purchaseOrderLines", "line-2", {"quantity": 15}, 'W/"l-2"')],
            id="a-line-change-with-nothing-to-send-is-not-patched",
        ),
        pytest.param(
            {"_purchaseOrderNumber": "106001", "purchaseOrderLines": [_line({"lineObjectNumber": "1900-S", "sequence": 30000}, quantity=4)]},
            [("update", "purchaseOrderLines", "line-3", {"quantity": 4}, 'W/"l-3"')],
            id="a-line-matched-on-two-fields",
        ),
        pytest.param(
            {"_purchaseOrderNumber": "106001", "shipToContacts": [{"name": "Dock 7"}]},
            [("update", "purchaseOrders", "po-106001", {"shipToContacts": [{"name": "Dock 7"}]}, 'W/"po-1"')],
            id="a-list-without-match-is-a-header-value",
        ),
    ],
)
def test_an_update_patches_the_header_and_each_matched_line_with_its_etag(
    make_runtime: MakeRuntime, output: dict[str, Any], writes: list[tuple[Any, ...]]
) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)

    outcome = _write(runtime, ACKS, "globex", output)

    assert bc.writes() == writes
    assert outcome.event == "update" and outcome.message.startswith("updated purchaseOrders 106001: ")
    assert bc.calls[0][:3] == ("get", "purchaseOrders", "106001")


@pytest.mark.parametrize(
    ("output", "says"),
    [
        pytest.param(
            {"_purchaseOrderNumber": "106001", "requestedReceiptDate": "2024-05-20", "purchaseOrderLines": [
                _line({"lineObjectNumber": "1896-S"}, quantity=10), _line({"lineObjectNumber": "1999-X"}, quantity=1)]},
            "purchaseOrders 106001 has no line with {'lineObjectNumber': '1999-X'} (lines: 1896-S, 1900-S, 1900-S)",
            id="a-line-the-order-does-not-have",
        ),
        pytest.param(
            {"_purchaseOrderNumber": "106001", "purchaseOrderLines": [{"_match": "1896-S", "quantity": 1}]},
            "a purchaseOrderLines change needs _match as {field: value}, got '1896-S'",
            id="match-not-an-object",
        ),
        pytest.param(
            {"_purchaseOrderNumber": "106001", "salesOrderLines": [_line({"lineObjectNumber": "1896-S"}, quantity=1)]},
            "purchaseOrders 106001 has no salesOrderLines to change",
            id="a-line-set-the-record-does-not-have",
        ),
        pytest.param(
            {"_purchaseOrderNumber": "", "requestedReceiptDate": "2024-05-20"},
            "the route's match gives no record key to update",
            id="no-record-key",
        ),
    ],
)
def test_an_update_that_cannot_be_applied_whole_fails_naming_why_and_writes_nothing(make_runtime: MakeRuntime, output: dict[str, Any], says: str) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)

    with pytest.raises(MappingError) as raised:
        _write(runtime, ACKS, "globex", output)

    assert says in str(raised.value) and str(raised.value).startswith("file.edi ST02 0001: ")
    assert bc.writes() == []


# -- a locked (Released) record: dates applied, the rest held for review ------------------------------


def _po_ack(*lines: dict[str, Any]) -> dict[str, Any]:
    return {"_purchaseOrderNumber": "106001", "_acknowledgment": {"type": "AC", "vendorOrderNumber": "GSO-88001"}, "purchaseOrderLines": list(lines)}


ACCEPTED = {"_match": {"lineObjectNumber": "1896-S"}, "_lineNumber": "1", "_status": "accepted", "_statusCode": "IA", "quantity": 10, "expectedReceiptDate": "2024-05-15"}
CHANGED = {"_match": {"sequence": 20000}, "_lineNumber": "2", "_status": "changed", "_statusCode": "IQ", "quantity": 15, "expectedReceiptDate": "2024-05-20", "_directUnitCost": 149.0}
REJECTED = {"_match": {"sequence": 30000}, "_lineNumber": "3", "_status": "rejected", "_statusCode": "IR", "quantity": 0}


def test_a_released_order_takes_the_dates_and_holds_the_quantities_for_review(make_runtime: MakeRuntime) -> None:
    bc = _bc(status="Open")  # the API's word for Released
    runtime = make_runtime(bc=bc)
    job = _job(runtime, ACKS, "globex")

    outcome = write(runtime.context, runtime.route(ACKS), runtime.project.partners["globex"], _po_ack(ACCEPTED, CHANGED, REJECTED), job, source="file.edi ST02 0001")

    assert bc.writes() == [
        ("update", "purchaseOrderLines", "line-1", {"expectedReceiptDate": "2024-05-15"}, 'W/"l-1"'),
        ("update", "purchaseOrderLines", "line-2", {"expectedReceiptDate": "2024-05-20"}, 'W/"l-2"'),
    ]
    assert outcome.event == "held"
    assert "line 2 (1900-S) quantity; line 3 (1900-S) quantity" in outcome.message and "applied expectedReceiptDate" in outcome.message
    assert outcome.detail["held"][0] == {"line": "2 (1900-S)", "fields": ["quantity"], "ours": {"quantity": 20}, "theirs": {"quantity": 15}}
    (ack,) = runtime.store.acknowledgments(job.id)
    assert (ack.state, ack.document, ack.control, ack.ack_type, ack.vendor_order) == ("review", "106001", "0001", "AC", "GSO-88001")
    assert [(line.line_number, line.status, line.applied, line.held) for line in ack.lines] == [
        ("1", "accepted", ("expectedReceiptDate",), ()),
        ("2", "changed", ("expectedReceiptDate",), ("quantity",)),
        ("3", "rejected", (), ("quantity",)),
    ]
    assert ack.lines[1].differences == {"quantity": (20.0, 15.0), "price": (None, 149.0), "date": (None, "2024-05-20")}
    assert ack.lines[2].theirs_quantity == 0.0 and ack.lines[2].ours_quantity == 5.0


def test_an_open_order_takes_the_whole_acknowledgment_and_records_it_applied(make_runtime: MakeRuntime) -> None:
    bc = _bc(status="Draft")
    runtime = make_runtime(bc=bc)
    job = _job(runtime, ACKS, "globex")

    outcome = write(runtime.context, runtime.route(ACKS), runtime.project.partners["globex"], _po_ack(ACCEPTED, CHANGED, REJECTED), job, source="file.edi ST02 0001")

    assert outcome.event == "update"
    assert [call[2:4] for call in bc.writes()] == [
        ("line-1", {"quantity": 10, "expectedReceiptDate": "2024-05-15"}),
        ("line-2", {"quantity": 15, "expectedReceiptDate": "2024-05-20"}),
        ("line-3", {"quantity": 0}),
    ]
    (ack,) = runtime.store.acknowledgments(job.id)
    assert ack.state == "applied" and ack.held_lines == ()


def test_a_released_order_with_only_accepted_lines_is_simply_updated(make_runtime: MakeRuntime) -> None:
    bc = _bc(status="Open")
    runtime = make_runtime(bc=bc)
    job = _job(runtime, ACKS, "globex")

    outcome = write(runtime.context, runtime.route(ACKS), runtime.project.partners["globex"], _po_ack(ACCEPTED), job, source="file.edi ST02 0001")

    assert outcome.event == "update"  # the same quantity is not a change: nothing is held
    assert bc.writes() == [("update", "purchaseOrderLines", "line-1", {"expectedReceiptDate": "2024-05-15"}, 'W/"l-1"')]
    assert runtime.store.acknowledgments(job.id)[0].state == "applied"


def test_a_payload_that_is_not_an_object_is_refused(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime(bc=_bc())

    with pytest.raises(MappingError, match="mapping x12-855-to-bc-order-update produced list, not an object to write"):
        _write(runtime, ACKS, "globex", [{"_purchaseOrderNumber": "106001"}])


# -- creates: unique fields and required keys ---------------------------------------------------------


def _order(po: str, customer: str = "C10000", items: tuple[str, ...] = ("1896-S",)) -> dict[str, Any]:
    return {
        "customerNumber": customer,
        "externalDocumentNumber": po,
        "_note": "kept in the artifact, never sent",
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": item, "quantity": 1} for item in items],
    }


def test_a_create_sends_the_payload_without_its_underscore_keys_after_checking_the_unique_fields(make_runtime: MakeRuntime) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)

    outcome = _write(runtime, ORDERS, "acme", _order("ACME-PO-7005", items=("1896-S", "1900-S")))

    assert bc.calls[-2] == ("find_by", "salesOrders", {"customerNumber": "C10000", "externalDocumentNumber": "ACME-PO-7005"})
    created = bc.writes()
    assert len(created) == 1 and created[0][:2] == ("create", "salesOrders")
    assert "_note" not in created[0][2] and created[0][2]["externalDocumentNumber"] == "ACME-PO-7005"
    assert (outcome.event, outcome.message) == ("create", "created salesOrders NEW-2")


def test_a_create_whose_unique_fields_match_a_record_is_a_duplicate_and_creates_nothing(make_runtime: MakeRuntime) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)

    outcome = _write(runtime, ORDERS, "acme", _order("ACME-PO-7001"))

    assert bc.writes() == []
    assert outcome.event == "duplicate"
    assert outcome.message == "salesOrders S-ORD-101003 already exists for customerNumber 'C10000', externalDocumentNumber 'ACME-PO-7001': not created again"
    assert outcome.detail["existing"] == "S-ORD-101003"


def test_a_create_without_a_unique_field_value_fails_naming_the_field(make_runtime: MakeRuntime) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)
    order = _order("")

    with pytest.raises(MappingError, match="the payload has no externalDocumentNumber, the field"):
        _write(runtime, ORDERS, "acme", order)
    assert bc.writes() == []


@pytest.mark.parametrize(
    ("order", "missing"),
    [
        pytest.param(_order("ACME-PO-7006", items=("1896-S", "9999-X", "1906-S")), "items '1906-S', items '9999-X'", id="two-unknown-items-named-together"),
        pytest.param(_order("ACME-PO-7007", customer="C99999"), "customers 'C99999'", id="unknown-customer"),
        pytest.param(_order("ACME-PO-7008", customer="C99999", items=("0000",)), "customers 'C99999', items '0000'", id="customer-and-item"),
    ],
)
def test_keys_the_route_requires_that_do_not_resolve_are_all_named_and_nothing_is_written(make_runtime: MakeRuntime, order: dict[str, Any], missing: str) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)

    with pytest.raises(MappingError) as raised:
        _write(runtime, ORDERS, "acme", order)

    assert str(raised.value) == f"file.edi ST02 0001: not found in bc: {missing}; nothing was written"
    assert [call for call in bc.calls if call[0] in ("find_by", "create")] == []


def test_required_keys_are_read_once_per_run(make_runtime: MakeRuntime) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)

    _write(runtime, ORDERS, "acme", _order("ACME-PO-7010", items=("1896-S", "1900-S", "1896-S")))
    _write(runtime, ORDERS, "acme", _order("ACME-PO-7011", items=("1900-S",)))

    reads = [call[1:3] for call in bc.calls if call[0] == "get"]
    assert sorted(reads) == [("customers", "C10000"), ("items", "1896-S"), ("items", "1900-S")]


# -- 997s: matched to the groups we sent -----------------------------------------------------------


def _ack(group: int, status: str = "A") -> dict[str, Any]:
    return {"functionalId": "PO", "groupControlNumber": group, "statusCode": status, "sender": "GLOBEXSUP", "receiver": "MLCONNECT"}


def test_a_997_is_matched_to_the_group_we_sent_and_an_unknown_group_is_ignored(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    with runtime.store.transaction() as tx:
        tx.record_outbound_group("globex", "MLCONNECT", "GLOBEXSUP", "PO", 1001, ["850"], 1001, "850_globex_106001.edi")

    matched = _write(runtime, "cleo-997-inbound", "globex", _ack(1001, "P"))
    unknown = _write(runtime, "cleo-997-inbound", "globex", _ack(4242))

    assert (matched.event, matched.message) == ("ack", "group 1001 acknowledged by GLOBEXSUP: P")
    assert matched.detail == {"group": 1001, "status": "P", "matched": True}
    assert unknown.message == "997 for group 4242 from GLOBEXSUP matches no group we sent (ignored)"
    assert unknown.detail["matched"] is False


def test_a_997_payload_without_its_group_is_refused(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()

    with pytest.raises(MappingError, match="the 997 payload lacks groupControlNumber, statusCode or sender"):
        _write(runtime, "cleo-997-inbound", "globex", {"statusCode": "A", "sender": "GLOBEXSUP"})


def test_required_keys_are_checked_without_writing_and_routes_without_require_read_nothing(make_runtime: MakeRuntime) -> None:
    bc = _bc()
    runtime = make_runtime(bc=bc)

    with pytest.raises(MappingError, match="not found in bc: items '9999-X'; nothing was written"):
        check_required(runtime.context, runtime.route(ORDERS), _order("ACME-PO-7012", items=("9999-X",)), "file.edi ST02 0002")
    check_required(runtime.context, runtime.route(ORDERS), _order("ACME-PO-7013"), "file.edi ST02 0001")
    check_required(runtime.context, runtime.route(ACKS), {"_purchaseOrderNumber": "106001"}, "file.edi ST02 0001")

    assert bc.writes() == [] and not any(call[0] == "find_by" for call in bc.calls)
    assert sorted(call[1:3] for call in bc.calls) == [("customers", "C10000"), ("items", "1896-S"), ("items", "9999-X")]
