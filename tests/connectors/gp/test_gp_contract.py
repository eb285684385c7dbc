"""The GP connector contract: against the emulator over real HTTP, and MockTransport edge shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from gp_support import PASSWORD, CountingTransport, Served, mock_client

from connectors.gp import GpClient
from connectors.gp.auth import NtlmAuth
from connectors.gp.emulator.company import GpFault
from connectors.gp.emulator.rules import merge_lines, number_lines
from engine.errors import (
    AuthenticationError,
    ConfigError,
    NotFoundError,
    ProtocolError,
    RefusedOperationError,
    RemoteValidationError,
    RetriableHttpError,
    SecretError,
    TransportError,
    UnauthorizedError,
)
from engine.ports import RecordSystem

# --- authentication ----------------------------------------------------------------------------


def test_connector_is_a_record_system(gp: Served) -> None:
    assert isinstance(gp.connect(), RecordSystem)


def test_ntlm_handshake_authenticates_the_connection_once(gp: Served) -> None:
    client = gp.connect()
    assert client.company()["Name"] == "Fabrikam, Inc."
    assert client.get("vendors", "GLOBEX0001")["Name"] == "Globex Supply Co."
    assert [v["VendorId"] for v in client.list_changed("vendors")]
    # One handshake for three requests: the keep-alive connection stayed authenticated.
    assert gp.emulator.auth.handshakes == 1
    assert isinstance(client.auth, NtlmAuth)
    assert client.auth.handshakes == 1


def test_ntlm_reauthenticates_when_the_server_forgets_the_connection(gp: Served) -> None:
    client = gp.connect()
    client.company()
    httpx.post(f"{gp.url}/_test/connections/forget").raise_for_status()  # force-expire mid-run
    assert client.get("items", "100XLG")["Description"] == "Green Phone"
    assert gp.emulator.auth.handshakes == 2


def test_ntlm_wrong_password_raises_authentication_error(gp: Served) -> None:
    client = gp.connect(password="not-the-password")
    with pytest.raises(AuthenticationError) as caught:
        client.company()
    assert isinstance(caught.value, UnauthorizedError)
    assert caught.value.status == 401
    assert "FABRIKAM\\svc-mlc" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert gp.emulator.auth.handshakes == 0


def test_ntlm_unknown_account_is_refused(gp: Served) -> None:
    with pytest.raises(UnauthorizedError):
        gp.connect(username="nobody").company()


def test_windows_account_not_mapped_to_a_gp_user_is_refused(gp: Served) -> None:
    client = gp.connect(username="kiosk", password="demo-unmapped-secret")
    with pytest.raises(UnauthorizedError, match="not mapped to a Microsoft Dynamics GP user"):
        client.company()
    assert gp.emulator.auth.handshakes == 1  # NTLM itself succeeded; GP refused the account


def test_ntlm_handshake_carries_a_post_body_on_every_leg(gp: Served) -> None:
    created = gp.connect().create(
        "vendors", {"VendorId": "NEWCO0001", "Name": "Newco Ltd.", "Address": {"City": "Zürich"}}
    )
    assert created["VendorId"] == "NEWCO0001"
    assert created["Address"]["City"] == "Zürich"


def test_basic_auth_mode_sends_domain_backslash_user(gp: Served) -> None:
    client = gp.connect(auth="basic")
    assert client.get("vendors", "INITECH0001")["Name"] == "Initech Parts"
    assert gp.emulator.auth.handshakes == 0


def test_basic_auth_wrong_password_is_refused_without_echoing_it(gp: Served) -> None:
    with pytest.raises(UnauthorizedError) as caught:
        gp.connect(password="bad-basic-secret", auth="basic").company()
    assert "bad-basic-secret" not in str(caught.value)
    assert "bad-basic-secret" not in caught.value.excerpt


def test_missing_secret_is_a_secret_error(gp: Served) -> None:
    def resolver(name: str) -> str:
        raise KeyError(name)

    from connectors.gp import connect

    with pytest.raises(SecretError, match="gp-password"):
        connect(gp.config(), resolver)


# --- URLs ----------------------------------------------------------------------------------------


def test_company_name_with_spaces_commas_and_accents_is_url_encoded(gp: Served, counting: CountingTransport) -> None:
    name = "Compañía de Prueba, S.A. (Norte)/Sur"
    gp.emulator.add_company("PRUEBA", name)
    gp.emulator.put("vendors", {"VendorId": "PROV0001", "Name": "Proveedor Uno"}, company="PRUEBA")
    client = gp.connect(company=name, transport=counting)
    assert [v["VendorId"] for v in client.list_changed("vendors")] == ["PROV0001"]
    assert client.company()["CompanyId"] == "PRUEBA"
    path = counting.sent[0][1]
    assert "/Companies(Compa%C3%B1%C3%ADa%20de%20Prueba%2C%20S.A.%20%28Norte%29%2FSur)/Purchasing/Vendors" in path


def test_company_is_found_by_name_or_by_database_id(gp: Served) -> None:
    assert gp.connect(company="TWO").company()["Name"] == "Fabrikam, Inc."
    assert gp.connect(company="Fabrikam, Inc.").company()["CompanyId"] == "TWO"


def test_unknown_company_is_not_found(gp: Served) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        gp.connect(company="THREE").company()


def test_company_without_access_is_refused(gp: Served) -> None:
    gp.emulator.add_company("SECRET", "Secret Holdings", grant=False)
    with pytest.raises(UnauthorizedError, match="does not have access"):
        gp.connect(company="SECRET").company()


def test_keys_with_spaces_are_url_encoded(gp: Served, counting: CountingTransport) -> None:
    assert gp.connect(transport=counting).get("items", "128 SDRAM")["Description"] == "128 meg SDRAM"
    assert counting.sent[-1][1].endswith("/Inventory/Items(128%20SDRAM)")


# --- reading -------------------------------------------------------------------------------------


def test_list_changed_filters_on_modified_date(gp: Served, counting: CountingTransport) -> None:
    client = gp.connect(transport=counting)
    since = datetime(2024, 5, 1, tzinfo=UTC)
    assert [v["VendorId"] for v in client.list_changed("vendors", since)] == ["INITECH0001"]
    assert [p["PurchaseOrderId"] for p in client.list_changed("purchaseOrders", since)] == ["PO2101", "PO2102"]
    assert "$filter=ModifiedDate%20gt%202024-05-01T00:00:00" in counting.sent[-1][1]


def test_list_changed_without_since_lists_everything_oldest_first(gp: Served) -> None:
    orders = list(gp.connect().list_changed("purchaseOrders"))
    assert [p["PurchaseOrderId"] for p in orders] == ["PO2000", "PO2101", "PO2102"]


def test_modified_record_shows_up_after_the_cursor(gp: Served) -> None:
    client = gp.connect()
    cursor = max(datetime.fromisoformat(v["ModifiedDate"]) for v in client.list_changed("vendors"))
    assert list(client.list_changed("vendors", cursor)) == []
    gp.clock.now = datetime(2026, 3, 2, 10, 30, 0)
    gp.emulator.modify("vendors", "ACETRAVE0001", {"Name": "A Travel Company Ltd."})
    changed = list(client.list_changed("vendors", cursor))
    assert [(v["VendorId"], v["ModifiedDate"]) for v in changed] == [("ACETRAVE0001", "2026-03-02T10:30:00")]


def test_aware_since_is_sent_in_utc(gp: Served, counting: CountingTransport) -> None:
    from datetime import timedelta, timezone

    since = datetime(2024, 5, 3, 10, 30, tzinfo=timezone(timedelta(hours=2)))  # = 08:30 UTC
    assert [v["VendorId"] for v in gp.connect(transport=counting).list_changed("vendors", since)] == []
    assert "2024-05-03T08:30:00" in counting.sent[-1][1]


def test_list_pages_with_top_and_skip(gp: Served, counting: CountingTransport) -> None:
    client = gp.connect(transport=counting, page_size=1)
    assert [p["PurchaseOrderId"] for p in client.list_changed("purchaseOrders")] == ["PO2000", "PO2101", "PO2102"]
    lists = [path for _, path, status in counting.answered if "PurchaseOrders?" in path and status == 200]
    assert len(lists) == 4  # three full pages, then an empty one
    assert "$skip=2" in lists[2]


def test_purchase_order_lines_carry_item_quantity_cost_dates_site_and_account(gp: Served) -> None:
    po = gp.connect().get("purchaseOrders", "PO2101")
    assert po["TransactionState"] == "Work"
    assert po["Status"] == "Released"
    assert [
        (
            line["ItemId"],
            line["QuantityOrdered"],
            line["UnitCost"],
            line["UofM"],
            line["PromisedDate"],
            line["RequiredDate"],
            line["SiteId"],
            line["InventoryAccount"],
        )
        for line in po["Lines"]
    ] == [
        ("100XLG", 10, 45.0, "Each", "2024-05-17", "2024-05-20", "WAREHOUSE", "000-1300-00"),
        ("128 SDRAM", 25, 36.0, "Each", "2024-05-17", "2024-05-20", "WAREHOUSE", "100-1300-00"),
    ]


def test_listed_purchase_orders_carry_their_lines(gp: Served) -> None:
    orders = {p["PurchaseOrderId"]: p for p in gp.connect().list_changed("purchaseOrders", expand="Lines")}
    assert [line["ItemId"] for line in orders["PO2102"]["Lines"]] == ["HDWR-SRG-0001"]


def test_unknown_record_is_not_found(gp: Served) -> None:
    with pytest.raises(NotFoundError, match="PO9999"):
        gp.connect().get("purchaseOrders", "PO9999")


def test_unknown_entity_and_expand_are_config_errors(gp: Served) -> None:
    client = gp.connect()
    with pytest.raises(ConfigError, match="valid entities: fiscalPeriods, items, purchaseOrders"):
        client.get("salesOrders", "X")
    with pytest.raises(ConfigError, match="inline"):
        client.get("purchaseOrders", "PO2101", expand="Vendor")


# --- writing -------------------------------------------------------------------------------------


def test_create_purchase_order_creates_a_work_document_with_numbered_lines(gp: Served) -> None:
    created = gp.connect().create(
        "purchaseOrders",
        {
            "VendorId": "INITECH0001",
            "Date": "2026-03-02",
            "Lines": [
                {"ItemId": "HDWR-SRG-0001", "QuantityOrdered": 4, "UnitCost": 70.0, "InventoryAccount": "300-1300-00"},
                {"ItemId": "100XLG", "QuantityOrdered": 2, "PromisedDate": "2026-03-20"},
            ],
        },
    )
    assert created["PurchaseOrderId"] == "PO2103"
    assert created["TransactionState"] == "Work"
    assert [line["LineNumber"] for line in created["Lines"]] == [16384, 32768]
    assert created["Lines"][1]["UnitCost"] == 45.0  # the item's current cost
    assert created["Subtotal"] == 370.0
    assert created["ModifiedDate"] == "2026-03-02T09:00:00"


def test_update_changes_a_work_purchase_order(gp: Served, counting: CountingTransport) -> None:
    client = gp.connect(transport=counting)
    updated = client.update("purchaseOrders", "PO2102", {"Lines": [{"LineNumber": 16384, "QuantityOrdered": 20}]})
    assert updated["Lines"][0]["QuantityOrdered"] == 20
    assert updated["Subtotal"] == 1525.2
    assert [m for m, _ in counting.sent if m != "GET"] == ["PATCH"]


def test_update_of_a_vendor_needs_no_state_check(gp: Served, counting: CountingTransport) -> None:
    gp.connect(transport=counting).update("vendors", "GLOBEX0001", {"IsOnHold": True})
    assert {m for m, _ in counting.sent} == {"PATCH"}
    assert gp.emulator.record("vendors", "GLOBEX0001")["IsOnHold"] is True


@pytest.mark.parametrize("state", ["History", "Posted", "Open"])
@pytest.mark.parametrize("entity", ["purchaseOrders", "purchaseReceipts"])
def test_create_of_a_non_work_document_is_refused_before_any_request(entity: str, state: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={})

    client = mock_client(handler)
    with pytest.raises(RefusedOperationError, match=f"'PO9000' in state '{state}'"):
        client.create(entity, {"PurchaseOrderId": "PO9000", "ReceiptId": "PO9000", "TransactionState": state})
    assert sent == []


def test_update_of_a_history_purchase_order_is_refused_after_reading_only(
    gp: Served, counting: CountingTransport
) -> None:
    client = gp.connect(transport=counting)
    with pytest.raises(RefusedOperationError, match="'PO2000': it is in state 'History'"):
        client.update("purchaseOrders", "PO2000", {"RequiredDate": "2026-04-01"})
    assert counting.writes() == []
    assert gp.emulator.record("purchaseOrders", "PO2000")["RequiredDate"] == "2023-11-28"


def test_posting_through_an_update_is_refused_before_any_request() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"PurchaseOrderId": "PO2101", "TransactionState": "Work"})

    with pytest.raises(RefusedOperationError, match="to state 'History'"):
        mock_client(handler).update("purchaseOrders", "PO2101", {"TransactionState": "History"})
    assert sent == []


def test_read_only_entities_are_never_written() -> None:
    sent: list[httpx.Request] = []
    client = mock_client(lambda r: sent.append(r) or httpx.Response(201, json={}))  # type: ignore[func-returns-value]
    with pytest.raises(RefusedOperationError, match="read-only"):
        client.create("items", {"ItemId": "NEW"})
    with pytest.raises(RefusedOperationError, match="read-only"):
        client.update("fiscalPeriods", "2024-01", {"Closed": False})
    assert sent == []


# --- receipts and fiscal periods ----------------------------------------------------------------

RECEIPT = {
    "PurchaseOrderId": "PO2101",
    "VendorDocumentNumber": "SHP-900",
    "ReceiptDate": "2024-01-15",
    "Lines": [
        {"PoLineNumber": 16384, "ItemId": "100XLG", "QuantityShipped": 10},
        {"ItemId": "128 SDRAM", "QuantityShipped": 20},
    ],
}


def test_receipt_in_a_closed_period_carries_gps_message_then_succeeds_after_reopening(gp: Served) -> None:
    client = gp.connect()
    with pytest.raises(RemoteValidationError) as caught:
        client.create("purchaseReceipts", RECEIPT)
    assert caught.value.status == 400
    assert caught.value.code == "4150"
    assert "fiscal period 2024-01 (January 2024), which is closed" in str(caught.value)

    gp.emulator.reopen_period("2024-01")
    receipt = client.create("purchaseReceipts", RECEIPT)
    assert receipt["TransactionState"] == "Work"
    assert receipt["VendorId"] == "GLOBEX0001"
    assert [(line["PoLineNumber"], line["ItemId"], line["QuantityShipped"]) for line in receipt["Lines"]] == [
        (16384, "100XLG", 10),
        (32768, "128 SDRAM", 20),
    ]
    assert client.get("purchaseReceipts", receipt["ReceiptId"])["VendorDocumentNumber"] == "SHP-900"


def test_closing_a_period_through_the_test_api_blocks_receipts(gp: Served) -> None:
    httpx.post(f"{gp.url}/_test/fiscal-periods/2024-05/close").raise_for_status()
    with pytest.raises(RemoteValidationError, match="2024-05"):
        gp.connect().create("purchaseReceipts", {**RECEIPT, "ReceiptDate": "2024-05-20"})


def test_receipt_against_a_history_purchase_order_is_rejected_by_gp(gp: Served) -> None:
    receipt = {
        "PurchaseOrderId": "PO2000",
        "ReceiptDate": "2024-05-20",
        "Lines": [{"ItemId": "100XLG", "QuantityShipped": 1}],
    }
    with pytest.raises(RemoteValidationError, match="PO2000 is in History"):
        gp.connect().create("purchaseReceipts", receipt)


def test_receipt_with_a_reused_vendor_document_number_is_rejected(gp: Served) -> None:
    client = gp.connect()
    receipt = {**RECEIPT, "ReceiptDate": "2024-05-20"}
    client.create("purchaseReceipts", receipt)
    with pytest.raises(RemoteValidationError, match="SHP-900 has already been used"):
        client.create("purchaseReceipts", receipt)


def test_receipt_for_an_item_not_on_the_order_is_rejected(gp: Served) -> None:
    receipt = {**RECEIPT, "ReceiptDate": "2024-05-20", "Lines": [{"ItemId": "HDWR-SRG-0001", "QuantityShipped": 1}]}
    with pytest.raises(RemoteValidationError, match="not on purchase order PO2101"):
        gp.connect().create("purchaseReceipts", receipt)


# --- retries and edge shapes ---------------------------------------------------------------------


def test_429_and_503_are_retried_with_the_injected_sleep(gp: Served) -> None:
    gp.emulator.faults.add("status", match="Vendors", status=429, retry_after=7)
    gp.emulator.faults.add("status", match="Vendors", status=503)
    assert gp.connect().get("vendors", "GLOBEX0001")["VendorId"] == "GLOBEX0001"
    assert gp.sleeps[0] == 7.0
    assert len(gp.sleeps) == 2


def test_a_dropped_connection_is_retried(gp: Served) -> None:
    gp.emulator.faults.add("drop", match="PurchaseOrders")
    assert len(list(gp.connect().list_changed("purchaseOrders"))) == 3
    assert len(gp.sleeps) == 1


def test_a_server_that_stays_down_raises_a_retriable_error(gp: Served) -> None:
    gp.emulator.faults.add("status", match="Vendors", status=503, times=10)
    with pytest.raises(RetriableHttpError):
        gp.connect().get("vendors", "GLOBEX0001")
    assert len(gp.sleeps) == 3


def test_429_without_retry_after_backs_off() -> None:
    answers = [httpx.Response(429), httpx.Response(200, json={"VendorId": "GLOBEX0001"})]
    sleeps: list[float] = []
    client = mock_client(lambda r: answers.pop(0), sleeps=sleeps)
    assert client.get("vendors", "GLOBEX0001")["VendorId"] == "GLOBEX0001"
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.5


@pytest.mark.parametrize(
    ("response", "message"),
    [
        pytest.param(
            httpx.Response(200, text='{"VendorId": "GLOBEX0001", ', headers={"Content-Type": "application/json"}),
            "malformed JSON",
            id="malformed-json",
        ),
        pytest.param(
            httpx.Response(200, text="<html><body>Sign in</body></html>", headers={"Content-Type": "text/html"}),
            "expected JSON, got text/html",
            id="html-login-page",
        ),
        pytest.param(
            httpx.Response(200, json={"ErrorCode": 2001, "Message": "The vendor ID does not exist."}),
            "answered success with an error body (2001: The vendor ID does not exist.)",
            id="200-with-error-body",
        ),
        pytest.param(httpx.Response(200, json=["not", "an", "object"]), "expected a vendor object", id="json-array"),
        pytest.param(httpx.Response(200, json={"Name": "No key"}), "'VendorId' is missing", id="missing-key"),
    ],
)
def test_unusable_bodies_raise_protocol_error(response: httpx.Response, message: str) -> None:
    client = mock_client(lambda r: response)
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.get("vendors", "GLOBEX0001")


def test_list_with_an_error_body_raises_protocol_error() -> None:
    client = mock_client(lambda r: httpx.Response(200, json={"ErrorCode": 5001, "Message": "Bad filter."}))
    with pytest.raises(ProtocolError, match="Bad filter"):
        list(client.list_changed("vendors"))


def test_list_accepts_a_bare_array() -> None:
    client = mock_client(lambda r: httpx.Response(200, json=[{"VendorId": "A"}]))
    assert list(client.list_changed("vendors")) == [{"VendorId": "A"}]


def test_server_ignoring_skip_is_a_protocol_error() -> None:
    client = mock_client(lambda r: httpx.Response(200, json={"value": [{"VendorId": "A"}]}), page_size=1)
    with pytest.raises(ProtocolError, match="ignores \\$skip"):
        list(client.list_changed("vendors"))


def test_html_error_page_on_500_is_retried_then_reported() -> None:
    page = httpx.Response(500, text="<html><h1>Server Error in '/GPService' Application.</h1></html>")
    sleeps: list[float] = []
    with pytest.raises(RetriableHttpError) as caught:
        mock_client(lambda r: page, sleeps=sleeps).get("vendors", "GLOBEX0001")
    assert caught.value.status == 500
    assert "Server Error" in caught.value.excerpt
    assert len(sleeps) == 2


def test_ntlm_401_then_success_when_the_server_accepts_the_negotiate_leg() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        if "Authorization" not in request.headers:
            return httpx.Response(401, headers=[("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")])
        return httpx.Response(200, json={"VendorId": "GLOBEX0001"})

    client = mock_client(handler, auth="ntlm")
    assert client.get("vendors", "GLOBEX0001")["VendorId"] == "GLOBEX0001"
    assert seen[0] is None
    assert seen[1] is not None and seen[1].startswith("NTLM TlRMTVNTUA")  # base64 of "NTLMSSP\0"


def test_ntlm_uses_negotiate_when_only_negotiate_is_offered() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "Authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": "Negotiate"})
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"VendorId": "GLOBEX0001"})

    mock_client(handler, auth="ntlm").get("vendors", "GLOBEX0001")
    assert seen[0].startswith("Negotiate TlRMTVNTUA")


def test_garbage_ntlm_challenge_is_an_authentication_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "Authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": "NTLM"})
        return httpx.Response(401, headers={"WWW-Authenticate": "NTLM bm90IGEgY2hhbGxlbmdl"})

    with pytest.raises(AuthenticationError, match="challenge is unusable"):
        mock_client(handler, auth="ntlm").get("vendors", "GLOBEX0001")


def test_transport_errors_are_translated() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransportError, match="ConnectError"):
        mock_client(handler).get("vendors", "GLOBEX0001")


def test_the_password_never_appears_in_any_error_message() -> None:
    echo = json.dumps({"ErrorCode": 1, "Message": f"login {PASSWORD} failed", "Details": [PASSWORD]})
    failures: list[Exception] = []
    for response in (
        httpx.Response(400, text=echo, headers={"Content-Type": "application/json"}),
        httpx.Response(401, text=echo, headers={"Content-Type": "application/json"}),
        httpx.Response(503, text=f"<html>{PASSWORD}</html>"),
        httpx.Response(200, text=f"<html>{PASSWORD}</html>"),
        httpx.Response(200, text=f'{{"broken": "{PASSWORD}'),
        httpx.Response(200, json={"ErrorCode": 1, "Message": PASSWORD}),
    ):
        with pytest.raises(Exception) as caught:
            mock_client(lambda r, response=response: response).get("vendors", "GLOBEX0001")  # type: ignore[misc]
        failures.append(caught.value)
    assert len(failures) == 6
    for failure in failures:
        text = str(failure) + repr(failure) + getattr(failure, "excerpt", "")
        assert PASSWORD not in text, failure
    assert PASSWORD not in repr(mock_client(lambda r: httpx.Response(200)))


def test_client_repr_names_the_account_not_the_password(gp: Served) -> None:
    client: GpClient = gp.connect()
    assert "svc-mlc" in repr(client)
    assert PASSWORD not in repr(client) + repr(client.auth)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "status", "status": 500}, id="500"),
        pytest.param({"kind": "status", "status": 504}, id="504"),
        pytest.param({"kind": "drop"}, id="answer-dropped"),
    ],
)
def test_a_create_is_not_resent_when_gp_may_have_written_it(gp: Served, fault: dict[str, Any]) -> None:
    gp.emulator.reopen_period("2024-01")
    kind = fault.pop("kind")
    gp.emulator.faults.add(kind, match="POST .*PurchaseReceipts", **fault)
    with pytest.raises((RetriableHttpError, TransportError)):
        gp.connect().create("purchaseReceipts", RECEIPT)
    assert gp.sleeps == []  # not resent: the caller looks for the record before trying again
    assert len(_receipts(gp, "SHP-900")) <= 1


def _receipts(gp: Served, vendor_document: str) -> list[dict[str, Any]]:
    state = gp.emulator.state
    return [r for r in state.list(state.find_company("TWO"), "purchaseReceipts", {}) if r["VendorDocumentNumber"] == vendor_document]


def test_a_throttled_create_is_resent(gp: Served) -> None:
    gp.emulator.reopen_period("2024-01")
    gp.emulator.faults.add("status", match="POST .*PurchaseReceipts", status=429, retry_after=2)
    receipt = gp.connect().create("purchaseReceipts", RECEIPT)
    assert receipt["VendorDocumentNumber"] == "SHP-900"
    assert gp.sleeps == [2.0]
    assert len(_receipts(gp, "SHP-900")) == 1


def test_a_receipt_with_more_lines_than_gps_long_integer_line_numbers_hold_is_refused(gp: Served) -> None:
    gp.emulator.reopen_period("2024-01")
    lines = [{"ItemId": "100XLG", "QuantityShipped": 1}] * 131_072  # one past 2,147,483,647 // 16384
    with pytest.raises(RemoteValidationError) as caught:
        gp.connect().create("purchaseReceipts", {**RECEIPT, "Lines": lines})
    assert caught.value.status == 400
    assert caught.value.code == "3006"
    assert "131,072 lines" in str(caught.value) and "at most 131,071" in str(caught.value)


def test_gp_numbers_131071_lines_and_no_more() -> None:
    lines: list[dict[str, object]] = [{} for _ in range(131_071)]
    number_lines(lines)
    assert lines[-1]["LineNumber"] == 131_071 * 16384 <= 2_147_483_647
    with pytest.raises(GpFault, match="at most 131,071 lines"):
        number_lines([{} for _ in range(131_072)])


def test_lines_added_past_the_highest_line_number_gp_holds_are_refused_naming_the_documents_lines() -> None:
    current = [{"LineNumber": 131_070 * 16384, "ItemId": "100XLG"}]
    with pytest.raises(GpFault, match="The document has 3 lines"):
        merge_lines(current, [{"ItemId": "100XLG"}, {"ItemId": "128 SDRAM"}])  # the second would be 131,072 x 16384
