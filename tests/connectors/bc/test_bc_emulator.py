"""Behaviour of the Entra and Business Central emulators themselves: seed, auth, OData, rules."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from bc_support import COMPANY, SECRET, Backend, Receiver
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.bc import plugin
from connectors.bc.emulator import reset_shared_state, shared_state
from connectors.common import serve_in_thread

SCOPE = "https://api.businesscentral.dynamics.com/.default"


class Raw:
    """Plain httpx against the served emulator, with a valid token."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.http = httpx.Client(timeout=5)
        self.root = f"{backend.url}/bc/v2.0/cronus.example/production/api/v2.0"
        self.company = f"{self.root}/companies({COMPANY})"
        self.token = self.http.post(
            f"{backend.url}/entra/cronus.example/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "mlc-demo-client",
                "client_secret": SECRET,
                "scope": SCOPE,
            },
        ).json()["access_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        url = path if path.startswith("http") else f"{self.company}/{path}"
        return self.http.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def raw(emulator_backend: Backend) -> Raw:
    return Raw(emulator_backend)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# -- seed ----------------------------------------------------------------------------------------


def test_seed_follows_the_demo_world(emulator_backend: Backend) -> None:
    state = emulator_backend.state
    customers = {c["number"]: (c["displayName"], c["city"], c["state"]) for c in state.records("customers")}
    assert customers == {
        "C10000": ("Acme Retail Inc.", "Chicago", "IL"),
        "C20000": ("Contoso Stores", "Atlanta", "GA"),
        "C30000": ("Fabrikam Outlet", "Miami", "FL"),
    }
    vendors = {v["number"]: v["displayName"] for v in state.records("vendors")}
    assert vendors == {"V10000": "Globex Supply Co.", "V20000": "Initech Parts", "V30000": "Northwind Traders"}
    items = {
        i["number"]: (i["displayName"], i["baseUnitOfMeasureCode"], i["unitPrice"], i["gtin"])
        for i in state.records("items")
    }
    assert items["1896-S"] == ("ATHENS Desk", "PCS", 1000.80, "00012345000010")
    assert items["1968-S"] == ("MEXICO Swivel Chair, black", "PCS", 190.10, "00012345000065")
    assert items["70000"] == ("Side Panel", "PCS", 25.00, "")
    assert items["SVC-INSTALL"] == ("Installation", "HOUR", 95.00, "")
    assert state.view("items", "SVC-INSTALL")["type"] == "Service"
    invoices = {i["number"]: i for i in state.records("salesInvoices")}
    assert {n: (i["customerNumber"], i["status"]) for n, i in invoices.items()} == {
        "103001": ("C10000", "Open"),
        "103002": ("C20000", "Open"),
        "103003": ("C30000", "Paid"),
        "S-INV-1004": ("C10000", "Draft"),
    }
    assert invoices["103001"]["externalDocumentNumber"] == "ACME-PO-5001"
    assert [line["lineType"] for line in invoices["103001"]["salesInvoiceLines"]] == ["Item"] * 3 + ["Comment"]
    assert len(invoices["103002"]["salesInvoiceLines"]) == 2
    orders = {
        o["number"]: (o["customerNumber"], o["status"], len(o["salesOrderLines"])) for o in state.records("salesOrders")
    }
    assert orders == {"S-ORD-101001": ("C10000", "Open", 2), "S-ORD-101002": ("C20000", "Draft", 1)}
    pos = {p["number"]: p for p in state.records("purchaseOrders")}
    assert {n: (p["vendorNumber"], p["status"]) for n, p in pos.items()} == {
        "106001": ("V10000", "Open"),
        "106002": ("V20000", "Open"),
        "106003": ("V30000", "Draft"),
    }
    assert [(line["lineObjectNumber"], line["quantity"]) for line in pos["106001"]["purchaseOrderLines"]] == [
        ("1896-S", 10),
        ("1900-S", 20),
        ("1908-S", 5),
    ]
    assert len(pos["106002"]["purchaseOrderLines"]) == 1


@pytest.mark.parametrize("entity", ["salesInvoices", "salesOrders", "purchaseOrders"])
def test_seed_totals_add_up_from_the_lines(emulator_backend: Backend, entity: str) -> None:
    lines_name = {"salesInvoices": "salesInvoiceLines", "salesOrders": "salesOrderLines"}.get(
        entity, "purchaseOrderLines"
    )
    price = "directUnitCost" if entity == "purchaseOrders" else "unitPrice"
    for doc in emulator_backend.state.records(entity):
        net = tax = Decimal(0)
        for line in doc[lines_name]:
            expected = _cents(Decimal(str(line["quantity"])) * Decimal(str(line[price])))
            assert Decimal(str(line["amountExcludingTax"])) == expected
            line_tax = _cents(expected * Decimal(str(line["taxPercent"])) / 100)
            assert Decimal(str(line["totalTaxAmount"])) == line_tax
            assert Decimal(str(line["amountIncludingTax"])) == expected + line_tax
            assert line["sequence"] % 10000 == 0
            net, tax = net + expected, tax + line_tax
        assert Decimal(str(doc["totalAmountExcludingTax"])) == net
        assert Decimal(str(doc["totalTaxAmount"])) == tax
        assert Decimal(str(doc["totalAmountIncludingTax"])) == net + tax


def test_sales_tax_follows_the_customer_area_and_item_tax_group(emulator_backend: Backend) -> None:
    invoice = emulator_backend.state.view("salesInvoices", "S-INV-1004")
    rates = {line["lineObjectNumber"]: line["taxPercent"] for line in invoice["salesInvoiceLines"]}
    assert rates == {"70000": 10.25, "SVC-INSTALL": 0.0}
    contoso = emulator_backend.state.view("salesInvoices", "103002")
    assert {line["taxPercent"] for line in contoso["salesInvoiceLines"]} == {8.9}


# -- Entra ---------------------------------------------------------------------------------------

_GOOD = {"grant_type": "client_credentials", "client_id": "mlc-demo-client", "client_secret": SECRET, "scope": SCOPE}


@pytest.mark.parametrize(
    ("tenant", "changes", "error", "code"),
    [
        pytest.param("cronus.example", {"client_secret": "nope"}, "invalid_client", 7000215, id="wrong-secret"),
        pytest.param("cronus.example", {"client_id": "someone-else"}, "unauthorized_client", 700016, id="unknown-app"),
        pytest.param(
            "cronus.example", {"scope": "https://graph.microsoft.com/.default"}, "invalid_scope", 1002012, id="scope"
        ),
        pytest.param("cronus.example", {"grant_type": "password"}, "unsupported_grant_type", 70003, id="grant"),
        pytest.param("other.example", {}, "invalid_request", 90002, id="tenant"),
    ],
)
def test_entra_refuses_with_the_documented_error_shape(
    emulator_backend: Backend, tenant: str, changes: dict[str, str], error: str, code: int
) -> None:
    response = httpx.post(f"{emulator_backend.url}/entra/{tenant}/oauth2/v2.0/token", data={**_GOOD, **changes})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    assert SECRET not in response.text


def test_entra_accepts_basic_client_authentication(emulator_backend: Backend) -> None:
    basic = base64.b64encode(f"mlc-demo-client:{SECRET}".encode()).decode()
    response = httpx.post(
        f"{emulator_backend.url}/entra/cronus.example/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["access_token"]


def test_token_lifetime_is_configurable_and_expired_tokens_get_401(emulator_backend: Backend) -> None:
    state = emulator_backend.state
    state.config.token_lifetime = 5
    state.set_clock(datetime(2024, 6, 1, tzinfo=UTC))
    raw = Raw(emulator_backend)
    assert raw.call("GET", f"{raw.root}/companies").status_code == 200
    state.advance_clock(timedelta(seconds=6))
    response = raw.call("GET", f"{raw.root}/companies")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Authentication_InvalidCredentials"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_missing_or_unknown_bearer_token_gets_401(raw: Raw) -> None:
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        response = httpx.get(f"{raw.root}/companies", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["message"].startswith("The server has rejected the client credentials.")


# -- OData ---------------------------------------------------------------------------------------


def test_top_gives_no_next_link_even_with_a_smaller_page_size(raw: Raw) -> None:
    body = raw.call("GET", "items?$top=3", headers={"Prefer": "odata.maxpagesize=1"}).json()
    assert len(body["value"]) == 3
    assert "@odata.nextLink" not in body


def test_server_pages_at_its_maximum_without_a_prefer_header(raw: Raw) -> None:
    raw.backend.state.config.max_page_size = 3
    first = raw.call("GET", "items").json()
    assert len(first["value"]) == 3
    link = first["@odata.nextLink"]
    assert link.startswith(f"{raw.company}/items?$skiptoken=")
    numbers = [i["number"] for i in first["value"]]
    while link:
        page = raw.call("GET", link).json()
        numbers += [i["number"] for i in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(numbers) == 8 == len(set(numbers))


def test_a_forged_skiptoken_is_refused(raw: Raw) -> None:
    response = raw.call("GET", "items?$skiptoken=not-ours")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest_InvalidToken"


@pytest.mark.parametrize(
    ("entity", "query", "expected"),
    [
        pytest.param("salesInvoices", "status eq 'Open'", ["103001", "103002"], id="status"),
        pytest.param("salesInvoices", "customerNumber eq 'C10000'", ["103001", "S-INV-1004"], id="customer"),
        pytest.param("salesOrders", "number eq 'S-ORD-101002'", ["S-ORD-101002"], id="number"),
        pytest.param(
            "salesInvoices", "lastModifiedDateTime ge 2024-05-03T11:12:05.004Z", ["103003", "S-INV-1004"], id="ge"
        ),
        pytest.param("purchaseOrders", "status eq 'Open' and vendorNumber eq 'V20000'", ["106002"], id="and"),
        pytest.param("customers", "displayName eq 'Contoso Stores'", ["C20000"], id="quoted-space"),
    ],
)
def test_filters_the_connector_relies_on(raw: Raw, entity: str, query: str, expected: list[str]) -> None:
    body = raw.call("GET", entity, params={"$filter": query}).json()
    assert [r["number"] for r in body["value"]] == expected


@pytest.mark.parametrize(
    "query", ["contains(displayName, 'Acme')", "number eq 'C10000' or number eq 'C20000'", "nope eq 1"]
)
def test_unsupported_filters_are_refused_clearly(raw: Raw, query: str) -> None:
    response = raw.call("GET", "customers", params={"$filter": query})
    assert response.status_code == 400
    assert "filter" in response.json()["error"]["message"] or "property" in response.json()["error"]["message"]


def test_every_entity_and_line_carries_an_etag(raw: Raw) -> None:
    body = raw.call("GET", "salesOrders?$expand=salesOrderLines").json()
    for order in body["value"]:
        assert order["@odata.etag"].startswith('W/"')
        assert all(line["@odata.etag"].startswith('W/"') for line in order["salesOrderLines"])
    assert body["@odata.context"].endswith(f"$metadata#companies({COMPANY})/salesOrders")


# -- writes and documents ------------------------------------------------------------------------


def test_patch_needs_if_match(raw: Raw) -> None:
    customer = raw.call("GET", "customers?$filter=number eq 'C30000'").json()["value"][0]
    missing = raw.call("PATCH", f"customers({customer['id']})", json={"creditLimit": 1})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "BadRequest_InvalidToken"
    stale = raw.call("PATCH", f"customers({customer['id']})", json={"creditLimit": 1}, headers={"If-Match": 'W/"old"'})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "Request_EntityChanged"
    star = raw.call("PATCH", f"customers({customer['id']})", json={"creditLimit": 1}, headers={"If-Match": "*"})
    assert star.status_code == 200


def test_unknown_and_read_only_properties_are_refused(raw: Raw) -> None:
    unknown = raw.call("POST", "customers", json={"displayName": "X", "colour": "red"})
    assert unknown.status_code == 400 and "'colour' does not exist" in unknown.json()["error"]["message"]
    not_an_object = raw.call("POST", "customers", json=["displayName"])
    assert not_an_object.status_code == 400 and "JSON object" in not_an_object.json()["error"]["message"]
    computed = raw.call("POST", "salesOrders", json={"customerNumber": "C10000", "totalAmountIncludingTax": 5})
    assert computed.status_code == 400 and "read-only" in computed.json()["error"]["message"]


def test_invoices_created_through_the_api_are_drafts_until_posted(raw: Raw) -> None:
    refused = raw.call("POST", "salesInvoices", json={"customerNumber": "C20000", "status": "Open"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("Invoices created through the API must be in Draft state.")
    created = raw.call(
        "POST",
        "salesInvoices",
        json={"customerNumber": "C20000", "salesInvoiceLines": [{"itemId": _item(raw, "1920-S"), "quantity": 1}]},
    )
    assert created.status_code == 201
    invoice = created.json()
    assert (invoice["number"], invoice["status"]) == ("S-INV-1005", "Draft")
    assert created.headers["Location"].endswith(f"/salesInvoices({invoice['id']})")
    posted = raw.call("POST", f"salesInvoices({invoice['id']})/Microsoft.NAV.post")
    assert posted.status_code == 204 and posted.content == b""
    after = raw.call("GET", f"salesInvoices({invoice['id']})").json()
    assert (after["id"], after["number"], after["status"]) == (invoice["id"], "103004", "Open")
    modify = raw.call(
        "PATCH", f"salesInvoices({invoice['id']})", json={"externalDocumentNumber": "Y"}, headers={"If-Match": "*"}
    )
    assert modify.status_code == 400
    assert modify.json()["error"]["message"].startswith("The invoice has been posted and can no longer be modified.")
    assert raw.call("POST", f"salesInvoices({invoice['id']})/Microsoft.NAV.post").status_code == 400


def _item(raw: Raw, number: str) -> str:
    return str(raw.backend.state.view("items", number)["id"])


@pytest.mark.parametrize(
    ("flags", "status"),
    [
        pytest.param({"_posted": False, "_release": "Open"}, "Draft", id="draft"),
        pytest.param({"_posted": False, "_release": "Pending Approval"}, "In Review", id="in-review"),
        pytest.param({"_posted": False, "_release": "Released"}, "Open", id="released-unposted"),
        pytest.param({"_posted": True, "_postedState": "Open"}, "Open", id="posted"),
        pytest.param({"_posted": True, "_postedState": "Closed"}, "Paid", id="paid"),
        pytest.param({"_posted": True, "_postedState": "Cancelled"}, "Canceled", id="cancelled"),
        pytest.param({"_posted": True, "_postedState": "Corrective"}, "Corrective", id="corrective"),
    ],
)
def test_invoice_status_is_derived_as_business_central_does(
    emulator_backend: Backend, flags: dict[str, Any], status: str
) -> None:
    assert emulator_backend.state.modify_record("salesInvoices", "S-INV-1004", flags)["status"] == status


def test_line_changes_recompute_the_document_and_bump_both_etags(raw: Raw) -> None:
    raw.backend.state.reopen("purchaseOrders", "106001")
    order = raw.call("GET", "purchaseOrders?$filter=number eq '106001'&$expand=purchaseOrderLines").json()["value"][0]
    line = order["purchaseOrderLines"][2]
    changed = raw.call(
        "PATCH", f"purchaseOrderLines({line['id']})", json={"quantity": 0}, headers={"If-Match": line["@odata.etag"]}
    )
    assert changed.status_code == 200 and changed.json()["@odata.etag"] != line["@odata.etag"]
    after = raw.call("GET", f"purchaseOrders({order['id']})").json()
    assert after["@odata.etag"] != order["@odata.etag"]
    assert after["totalAmountExcludingTax"] == pytest.approx(order["totalAmountExcludingTax"] - 5 * 148.30)
    assert after["lastModifiedDateTime"] > order["lastModifiedDateTime"]


# -- webhooks ------------------------------------------------------------------------------------


def _subscribe(raw: Raw, receiver: Receiver, entity: str) -> httpx.Response:
    body = {
        "notificationUrl": receiver.url,
        "resource": f"/api/v2.0/companies({COMPANY})/{entity}",
        "clientState": "cs",
    }
    return raw.call("POST", f"{raw.root}/subscriptions", json=body)


def test_purchase_orders_cannot_be_subscribed(raw: Raw, receiver: Receiver) -> None:
    response = _subscribe(raw, receiver, "purchaseOrders")
    assert response.status_code == 400
    assert "does not support webhook" in response.json()["error"]["message"]
    assert receiver.validations == []


def test_subscriptions_expire_after_three_days(raw: Raw, receiver: Receiver) -> None:
    state = raw.backend.state
    state.set_clock(datetime(2024, 6, 1, tzinfo=UTC))
    state.config.token_lifetime = 10 * 24 * 3600
    raw = Raw(raw.backend)
    assert _subscribe(raw, receiver, "customers").status_code == 201
    state.advance_clock(timedelta(days=3))
    assert raw.call("GET", f"{raw.root}/subscriptions").json()["value"] == []


def test_subscriber_server_errors_are_retried_and_refusals_delete_the_subscription(
    raw: Raw, receiver: Receiver
) -> None:
    state = raw.backend.state
    assert _subscribe(raw, receiver, "items").status_code == 201
    receiver.status = 503
    state.modify_record("items", "70000", {"unitPrice": 26.0})
    assert state.deliver_pending(force=True) == 1
    assert [d.outcome for d in state.notifier.deliveries] == ["retry"]
    receiver.status = 200
    assert state.deliver_pending(force=True) == 1
    assert [d.outcome for d in state.notifier.deliveries] == ["retry", "delivered"]
    assert receiver.notifications[0] == receiver.notifications[1]
    receiver.status = 410
    state.modify_record("items", "70000", {"unitPrice": 27.0})
    state.deliver_pending(force=True)
    assert state.notifier.deliveries[-1].outcome == "deleted"
    assert raw.call("GET", f"{raw.root}/subscriptions").json()["value"] == []


def test_notifications_wait_for_the_batching_window(raw: Raw, receiver: Receiver) -> None:
    state = raw.backend.state
    state.set_clock(datetime(2024, 6, 1, tzinfo=UTC))
    raw = Raw(raw.backend)
    assert _subscribe(raw, receiver, "salesOrders").status_code == 201
    order = state.view("salesOrders", "S-ORD-101002")  # Open: its quantities may change
    line = order["salesOrderLines"][0]
    response = raw.call(
        "PATCH", f"salesOrderLines({line['id']})", json={"quantity": 6}, headers={"If-Match": line["@odata.etag"]}
    )
    assert response.status_code == 200
    assert state.deliver_pending() == 0
    state.advance_clock(timedelta(seconds=state.config.notification_window))
    assert state.deliver_pending() == 1
    (item,) = receiver.notifications[0]["value"]
    assert item["resource"] == f"api/v2.0/companies({COMPANY})/salesOrders({order['id']})"
    assert item["clientState"] == "cs" and item["changeType"] == "updated"


# -- plugin --------------------------------------------------------------------------------------


def test_plugin_emulators_share_one_state_when_mounted_like_mlc_emulate() -> None:
    reset_shared_state()
    try:
        assert [(s.prefix, s.base_path) for s in plugin.emulators] == [
            ("entra", "/"),
            ("bc", "/v2.0/cronus.example/production/api/v2.0"),
        ]
        app = Starlette(routes=[Mount(f"/{spec.prefix}", app=spec.build()) for spec in plugin.emulators])
        with serve_in_thread(app) as served:
            config = {
                "tenant": "cronus.example",
                "environment": "production",
                "company_id": COMPANY,
                "client_id": "mlc-demo-client",
                "secret": "bc",
                "authority": f"{served.url}/entra",
                "api_base": f"{served.url}/bc",
            }
            assert plugin.connect is not None
            with plugin.connect(config, {"bc": SECRET}.__getitem__) as bc:
                assert bc.get("customers", "C10000")["displayName"] == "Acme Retail Inc."
        assert shared_state().token_requests == 1
    finally:
        reset_shared_state()


def test_public_names_are_sorted() -> None:
    import connectors.bc
    import connectors.bc.emulator

    def isort_style(name: str) -> tuple[int, str]:  # what ruff's RUF022 enforces
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    for module in (connectors.bc, connectors.bc.emulator):
        assert list(module.__all__) == sorted(module.__all__, key=isort_style)
        assert all(hasattr(module, name) for name in module.__all__)


# -- status rules (TestStatusOpen) and the leniencies removed ---------------------------------------


def _po_line(raw: Raw, number: str, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    order = raw.call("GET", f"purchaseOrders?$filter=number eq '{number}'&$expand=purchaseOrderLines").json()["value"][0]
    return order, order["purchaseOrderLines"][index]


RELEASED_106001 = "Status must be equal to 'Open'  in Purchase Header: Document Type=Order, No.=106001. Current value is 'Released'."


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"quantity": 15}, id="quantity"),
        pytest.param({"directUnitCost": 99.5}, id="unit-cost"),
        pytest.param({"quantity": 20, "expectedReceiptDate": "2024-05-28"}, id="quantity-with-an-allowed-date"),
        pytest.param({"lineObjectNumber": "1908-S"}, id="item"),
    ],
)
def test_a_released_purchase_order_refuses_line_changes_as_test_status_open_does(raw: Raw, change: dict[str, Any]) -> None:
    order, line = _po_line(raw, "106001", 1)
    assert order["status"] == "Open"  # the API's word for BC's Released

    response = raw.call("PATCH", f"purchaseOrderLines({line['id']})", json=change, headers={"If-Match": line["@odata.etag"]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "Internal_TestFieldCode"
    assert error["message"].startswith(RELEASED_106001 + "  CorrelationId:  ")
    assert _po_line(raw, "106001", 1)[1] == line  # nothing changed, not even the ETag


def test_a_released_purchase_order_takes_a_new_expected_receipt_date(raw: Raw) -> None:
    _, line = _po_line(raw, "106001", 1)
    response = raw.call(
        "PATCH", f"purchaseOrderLines({line['id']})", json={"expectedReceiptDate": "2024-05-28"}, headers={"If-Match": line["@odata.etag"]}
    )
    assert response.status_code == 200 and response.json()["expectedReceiptDate"] == "2024-05-28"


def test_lines_of_a_released_document_cannot_be_added_or_deleted(raw: Raw) -> None:
    order, line = _po_line(raw, "106001", 2)
    deleted = raw.call("DELETE", f"purchaseOrderLines({line['id']})", headers={"If-Match": line["@odata.etag"]})
    added = raw.call("POST", f"purchaseOrders({order['id']})/purchaseOrderLines", json={"lineObjectNumber": "1896-S", "quantity": 1})
    for response in (deleted, added):
        assert response.status_code == 400 and response.json()["error"]["message"].startswith(RELEASED_106001)
    assert len(_po_line(raw, "106001", 0)[0]["purchaseOrderLines"]) == 3


def test_a_released_sales_order_names_the_sales_header(raw: Raw) -> None:
    order = raw.call("GET", "salesOrders?$filter=number eq 'S-ORD-101001'&$expand=salesOrderLines").json()["value"][0]
    line = order["salesOrderLines"][0]
    response = raw.call("PATCH", f"salesOrderLines({line['id']})", json={"unitPrice": 1.0}, headers={"If-Match": line["@odata.etag"]})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        "Status must be equal to 'Open'  in Sales Header: Document Type=Order, No.=S-ORD-101001. Current value is 'Released'."
    )


def test_a_reopened_order_takes_quantity_changes_and_shows_draft(raw: Raw) -> None:
    state = raw.backend.state
    assert state.reopen("purchaseOrders", "106001")["status"] == "Draft"
    _, line = _po_line(raw, "106001", 1)
    response = raw.call("PATCH", f"purchaseOrderLines({line['id']})", json={"quantity": 15}, headers={"If-Match": line["@odata.etag"]})
    assert response.status_code == 200 and response.json()["quantity"] == 15
    assert state.release("purchaseOrders", "106001")["status"] == "Open"


def test_purchase_orders_have_no_reopen_action_in_api_v2(raw: Raw) -> None:
    order, _ = _po_line(raw, "106001", 0)
    response = raw.call("POST", f"purchaseOrders({order['id']})/Microsoft.NAV.reopen")
    assert response.status_code == 400 and "not supported" in response.json()["error"]["message"]


def test_document_lines_are_not_listed_without_a_document_filter(raw: Raw) -> None:
    refused = raw.call("GET", "purchaseOrderLines")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Application_DialogException"
    assert refused.json()["error"]["message"].startswith("You must specify a document id to get the lines.")
    order, _ = _po_line(raw, "106002", 0)
    listed = raw.call("GET", f"purchaseOrderLines?$filter=documentId eq {order['id']}")
    assert listed.status_code == 200
    assert [line["lineObjectNumber"] for line in listed.json()["value"]] == ["70000"]


def test_a_client_state_over_250_characters_is_refused(raw: Raw, receiver: Receiver) -> None:
    body = {"notificationUrl": receiver.url, "resource": f"/api/v2.0/companies({COMPANY})/customers", "clientState": "x" * 251}
    response = raw.call("POST", f"{raw.root}/subscriptions", json=body)
    assert response.status_code == 400 and "250" in response.json()["error"]["message"]
    assert receiver.validations == []
    body["clientState"] = "x" * 250
    assert raw.call("POST", f"{raw.root}/subscriptions", json=body).status_code == 201


def test_an_http_notification_url_needs_the_explicit_loopback_setting(raw: Raw, receiver: Receiver) -> None:
    raw.backend.state.config.allow_loopback_http = False  # BC's own rule: https only
    refused = _subscribe(raw, receiver, "customers")
    assert refused.status_code == 400 and "https" in refused.json()["error"]["message"]
    assert receiver.validations == []
    raw.backend.state.config.allow_loopback_http = True
    assert _subscribe(raw, receiver, "customers").status_code == 201
    remote = {"notificationUrl": "http://hooks.example.com/bc", "resource": f"/api/v2.0/companies({COMPANY})/customers", "clientState": "cs"}
    assert raw.call("POST", f"{raw.root}/subscriptions", json=remote).status_code == 400  # loopback only


def test_a_deep_insert_answers_the_header_and_the_lines_only_when_expanded(raw: Raw) -> None:
    lines = [{"itemId": _item(raw, "1920-S"), "quantity": 1}]
    plain = raw.call("POST", "salesOrders", json={"customerNumber": "C20000", "salesOrderLines": lines})
    expanded = raw.call("POST", "salesOrders", params={"$expand": "salesOrderLines"}, json={"customerNumber": "C20000", "salesOrderLines": lines})

    assert plain.status_code == expanded.status_code == 201
    assert "salesOrderLines" not in plain.json()
    assert [line["quantity"] for line in expanded.json()["salesOrderLines"]] == [1]


def test_a_notification_carries_the_moment_stamped_on_the_record(
    raw: Raw, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a clock that moves a millisecond at every reading: the stamp and the notification read it once
    state = raw.backend.state
    assert _subscribe(raw, receiver, "items").status_code == 201
    ticks = iter(datetime(2024, 6, 1, tzinfo=UTC) + timedelta(milliseconds=n) for n in range(10_000))
    monkeypatch.setattr(state.clock, "now", lambda: next(ticks))
    state.modify_record("items", "70000", {"unitPrice": 26.0})
    assert state.deliver_pending(force=True) == 1
    [notified] = receiver.notifications[-1]["value"]
    assert notified["lastModifiedDateTime"] == state.view("items", "70000")["lastModifiedDateTime"]
