"""`engine.runtime.poll.admit`: a source record through the route's filter, partner selection
and key; skipped records say why, records the templates cannot read become failing jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from engine.runtime import Runtime
from engine.runtime.poll import admit, parse_stamp

MakeRuntime = Callable[..., Runtime]

INVOICES = "bc-invoices-to-810"


def _invoice(number: str, status: str = "Open", customer: str = "C10000") -> dict[str, Any]:
    return {"id": f"id-{number}", "number": number, "status": status, "customerNumber": customer}


@pytest.mark.parametrize(
    ("route", "record", "key", "partner"),
    [
        pytest.param(INVOICES, _invoice("103001"), "103001", "acme", id="posted-invoice-of-a-partner-customer"),
        pytest.param(INVOICES, _invoice("103002", "Paid", "C20000"), "103002", "contoso", id="paid-invoice-of-another-partner"),
        pytest.param(INVOICES, _invoice("103010", "Corrective"), "103010", "acme", id="corrective-invoice"),
        pytest.param(
            "gp-vendors-to-json",
            {"VendorId": "INITECH0001", "ModifiedDate": "2024-05-03T08:30:00", "IsActive": True},
            "INITECH0001@2024-05-03T08:30:00",
            "initech",
            id="gp-vendor-keyed-by-each-change",
        ),
        pytest.param(
            "gp-purchase-orders-to-850",
            {"PurchaseOrderId": "PO2101", "VendorId": "GLOBEX0001", "TransactionState": "Work", "Status": "Released"},
            "PO2101",
            "globex",
            id="gp-work-purchase-order",
        ),
    ],
)
def test_an_admitted_record_becomes_a_document_job_keyed_by_the_route_for_its_partner(
    make_runtime: MakeRuntime, route: str, record: dict[str, Any], key: str, partner: str
) -> None:
    runtime = make_runtime()

    admission = admit(runtime.context, runtime.route(route), record)

    assert admission.reason == ""
    assert admission.job is not None
    assert (admission.job.key, admission.job.kind, admission.job.partner) == (key, "document", partner)
    assert admission.job.payload == {"record": record}


@pytest.mark.parametrize(
    ("route", "record", "reason"),
    [
        pytest.param(INVOICES, _invoice("S-INV-1004"), "S-INV-1004: left out by the route's filter", id="open-draft-series-invoice"),
        pytest.param(INVOICES, _invoice("103011", "Draft"), "103011: left out by the route's filter", id="draft-invoice"),
        pytest.param(INVOICES, _invoice("103012", "Canceled"), "103012: left out by the route's filter", id="canceled-invoice"),
        pytest.param(INVOICES, _invoice("103003", "Open", "C30000"), "103003: bc.customer 'C30000' is not a trading partner", id="customer-not-a-partner"),
        pytest.param(
            "bc-sales-orders-to-850",
            {"number": "S-ORD-101009", "status": "Open", "customerNumber": "C20000"},
            "S-ORD-101009: partner contoso does not take part in route bc-sales-orders-to-850",
            id="partner-not-in-the-route",
        ),
        pytest.param(
            "gp-purchase-orders-to-850",
            {"PurchaseOrderId": "PO2000", "VendorId": "GLOBEX0001", "TransactionState": "History", "Status": "Closed"},
            "PO2000: left out by the route's filter",
            id="gp-history-purchase-order",
        ),
        pytest.param(
            "gp-vendors-to-json",
            {"VendorId": "ACETRAVE0001", "ModifiedDate": "2024-05-03T08:30:00", "IsActive": True},
            "ACETRAVE0001@2024-05-03T08:30:00: gp.vendor 'ACETRAVE0001' is not a trading partner",
            id="gp-vendor-not-a-partner",
        ),
        pytest.param(
            "gp-vendors-to-json",
            {"VendorId": "GLOBEX0001", "ModifiedDate": "2024-05-03T08:30:00", "IsActive": False},
            "GLOBEX0001@2024-05-03T08:30:00: left out by the route's filter",
            id="inactive-gp-vendor",
        ),
    ],
)
def test_a_record_the_route_leaves_out_is_skipped_with_a_reason_naming_it(
    make_runtime: MakeRuntime, route: str, record: dict[str, Any], reason: str
) -> None:
    runtime = make_runtime()

    admission = admit(runtime.context, runtime.route(route), record)

    assert admission.job is None
    assert admission.reason == reason


@pytest.mark.parametrize(
    ("record", "key", "missing"),
    [
        pytest.param({"id": "id-1", "number": "103020", "status": "Open"}, "unreadable:103020", "customerNumber", id="no-customer-number"),
        pytest.param({"id": "id-2", "number": "103021", "customerNumber": "C10000"}, "unreadable:103021", "status", id="no-status-for-the-filter"),
    ],
)
def test_a_record_the_templates_cannot_read_becomes_a_job_that_fails_with_the_missing_field(
    make_runtime: MakeRuntime, record: dict[str, Any], key: str, missing: str
) -> None:
    runtime = make_runtime()

    admission = admit(runtime.context, runtime.route(INVOICES), record)

    assert admission.job is not None and admission.job.key == key
    assert admission.job.partner is None
    payload = admission.job.payload or {}
    assert payload["record"] == record and missing in payload["admit_error"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2024-05-02T14:03:11.217Z", datetime(2024, 5, 2, 14, 3, 11, 217000, tzinfo=UTC), id="bc-utc-with-milliseconds"),
        pytest.param("2024-05-01T00:00:00", datetime(2024, 5, 1, tzinfo=UTC), id="gp-naive-taken-as-utc"),
        pytest.param("2024-05-02T16:03:11+02:00", datetime(2024, 5, 2, 16, 3, 11, tzinfo=timezone(timedelta(hours=2))), id="with-offset"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="missing"),
        pytest.param(20240502, None, id="not-text"),
        pytest.param("yesterday", None, id="not-a-timestamp"),
    ],
)
def test_parse_stamp_reads_cursor_values_as_aware_datetimes(value: Any, expected: datetime | None) -> None:
    parsed = parse_stamp(value)

    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None
