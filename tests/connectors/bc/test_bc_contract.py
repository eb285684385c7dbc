"""The Business Central connector contract, run against the emulator over real HTTP and through
MockTransport edge answers (the `backend` fixture)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from bc_support import COMPANY, SECRET, Backend, Receiver
from conftest import Expect

from connectors.bc import parse_notifications
from engine.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ProtocolError,
    RemoteValidationError,
    RetriableHttpError,
    TransportError,
    UnauthorizedError,
)

BC_401 = json.dumps(
    {
        "error": {
            "code": "Authentication_InvalidCredentials",
            "message": "The server has rejected the client credentials.",
        }
    }
)
STALE = json.dumps(
    {"error": {"code": "Request_EntityChanged", "message": "Another user has already changed the record."}}
)


# -- tokens ------------------------------------------------------------------------------------


def test_token_is_fetched_once_and_reused(backend: Backend) -> None:
    bc = backend.connector()
    bc.companies()
    list(bc.list_changed("customers"))
    bc.get("items", "1896-S")
    assert backend.token_requests() == 1
    token_call = backend.sent("oauth2")[0].request
    form = dict(pair.split("=", 1) for pair in token_call.content.decode().split("&"))
    assert form["grant_type"] == "client_credentials"
    assert unquote(form["scope"]) == "https://api.businesscentral.dynamics.com/.default"
    assert token_call.url.path == "/entra/cronus.example/oauth2/v2.0/token"
    assert all(e.request.headers["Authorization"].startswith("Bearer ") for e in backend.sent("/bc/"))


def test_token_is_renewed_shortly_before_it_expires(backend: Backend) -> None:
    now = [1000.0]
    bc = backend.connector(clock=lambda: now[0], token_skew=60)
    bc.companies()
    now[0] += 3599 - 61
    bc.companies()
    assert backend.token_requests() == 1
    now[0] += 2
    bc.companies()
    assert backend.token_requests() == 2


def test_expired_token_mid_run_is_refreshed_once(backend: Backend) -> None:
    bc = backend.connector(page_size=2)
    pages = bc.list_changed("salesInvoices")
    first = [next(pages), next(pages)]
    backend.state.expire_all_tokens()
    rest = list(pages)
    assert [r["number"] for r in first + rest] == ["103001", "103002", "103003", "S-INV-1004"]
    assert backend.token_requests() == 2
    assert [e.response.status_code for e in backend.sent("salesInvoices") if e.response] == [200, 401, 200]


def test_401_then_success_refreshes_the_token(backend: Backend) -> None:
    bc = backend.connector()
    bc.companies()
    backend.inject(r"GET .*/companies$", 401, body=BC_401)
    assert bc.companies()[0]["id"] == COMPANY
    assert backend.token_requests() == 2


def test_second_401_after_refresh_raises_authentication_error(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    backend.inject(r"GET .*/companies$", 401, body=BC_401, times=2)
    with expect(UnauthorizedError, match="refused again after one refresh") as info:
        bc.companies()
    assert isinstance(info.value, AuthenticationError)
    assert info.value.code == "Authentication_InvalidCredentials"
    assert backend.token_requests() == 2
    assert len(backend.sent(r"GET .*/companies$")) == 2


def test_wrong_client_secret_is_refused_without_echoing_it(backend: Backend, expect: Expect) -> None:
    bc = backend.connector(secret="not-the-right-secret-42")
    with expect(AuthenticationError, match="invalid_client") as info:
        bc.companies()
    assert "not-the-right-secret-42" not in str(info.value)
    assert "mlc-demo-client" in str(info.value)
    assert not backend.sent("/bc/")


def test_throttled_token_endpoint_is_retried(backend: Backend) -> None:
    bc = backend.connector()
    backend.inject(r"POST .*/token$", 429, retry_after=3, entra=True)
    bc.companies()
    assert backend.sleeps == [3.0]
    assert backend.token_requests() == 2


# -- reading -----------------------------------------------------------------------------------


def test_list_follows_next_link_verbatim(backend: Backend) -> None:
    for n in range(3):
        backend.state.add_record("customers", {"displayName": f"Walk-in {n}", "city": "Atlanta"})
    bc = backend.connector(page_size=2)
    numbers = [c["number"] for c in bc.list_changed("customers")]
    assert len(numbers) == 6
    pages = backend.sent(r"GET .*/customers$")
    assert len(pages) == 3
    for previous, following in itertools.pairwise(pages):
        assert str(following.request.url) == previous.json()["@odata.nextLink"]
    assert "@odata.nextLink" not in pages[-1].json()
    assert all(e.request.headers["Prefer"] == "odata.maxpagesize=2" for e in pages)


def test_list_changed_filters_on_last_modified_and_is_oldest_first(backend: Backend) -> None:
    bc = backend.connector()
    since = datetime(2024, 5, 3, 9, 41, 27, 530000, tzinfo=UTC)
    found = list(bc.list_changed("salesInvoices", since))
    assert [r["number"] for r in found] == ["103003", "S-INV-1004"]
    query = unquote(backend.sent(r"GET .*/salesInvoices$")[0].request.url.query.decode())
    assert "$filter=lastModifiedDateTime gt 2024-05-03T09:41:27.530Z" in query
    assert "$orderby=lastModifiedDateTime asc" in query
    changed = backend.state.modify_record("salesInvoices", "103001", {"externalDocumentNumber": "ACME-PO-5001A"})
    later = list(bc.list_changed("salesInvoices", since))
    assert [r["number"] for r in later] == ["103003", "S-INV-1004", "103001"]
    assert later[-1]["lastModifiedDateTime"] == changed["lastModifiedDateTime"]


def test_list_expands_document_lines(backend: Backend) -> None:
    bc = backend.connector()
    invoice = next(iter(bc.list_changed("salesInvoices")))
    assert "$expand=salesInvoiceLines" in unquote(backend.sent("salesInvoices")[0].request.url.query.decode())
    lines = invoice["salesInvoiceLines"]
    assert [line["sequence"] for line in lines] == [10000, 20000, 30000, 40000]
    assert [line["lineType"] for line in lines] == ["Item", "Item", "Item", "Comment"]
    assert all(line["@odata.etag"].startswith('W/"') for line in lines)
    assert sum(line["amountIncludingTax"] for line in lines) == pytest.approx(invoice["totalAmountIncludingTax"])
    assert "salesInvoiceLines" not in next(iter(bc.list_changed("salesInvoices", expand="")))


def test_get_by_id_and_by_number(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    by_number = bc.get("purchaseOrders", "106001")
    assert by_number["vendorNumber"] == "V10000"
    assert [line["lineObjectNumber"] for line in by_number["purchaseOrderLines"]] == ["1896-S", "1900-S", "1908-S"]
    by_id = bc.get("purchaseOrders", by_number["id"])
    assert by_id == by_number
    assert "$filter=number eq '106001'" in unquote(backend.sent("purchaseOrders")[0].request.url.query.decode())
    with expect(NotFoundError, match="no items record has number 'NOPE'"):
        bc.get("items", "NOPE")
    with expect(NotFoundError) as info:
        bc.get("items", "00000000-0000-0000-0000-00000000abcd")
    assert info.value.code == "Internal_RecordNotFound"


# -- writing -----------------------------------------------------------------------------------


def test_create_deep_inserts_lines(backend: Backend) -> None:
    bc = backend.connector()
    order = bc.create(
        "salesOrders",
        {
            "customerNumber": "C10000",
            "externalDocumentNumber": "ACME-PO-7001",
            "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 4},
                {"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 8},
            ],
        },
    )
    post = backend.sent(r"POST .*/salesOrders")
    assert len(post) == 1 and post[0].response is not None and post[0].response.status_code == 201
    assert "$expand=salesOrderLines" in str(post[0].request.url), "the lines come back in the create's answer"
    assert backend.sent(r"GET .*/salesOrders") == [], "no second request reads them"
    assert json.loads(post[0].request.content)["salesOrderLines"][0]["lineObjectNumber"] == "1896-S"
    assert order["number"] == "S-ORD-101003"
    assert order["status"] == "Draft"
    assert [line["sequence"] for line in order["salesOrderLines"]] == [10000, 20000]
    assert order["totalAmountExcludingTax"] == pytest.approx(4 * 1000.80 + 8 * 192.80)
    assert backend.state.view("salesOrders", order["id"])["externalDocumentNumber"] == "ACME-PO-7001"


def test_create_with_an_unknown_item_fails_clearly_and_creates_nothing(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    payload = {"customerNumber": "C10000", "salesOrderLines": [{"lineObjectNumber": "AC-LAMP-99", "quantity": 1}]}
    with expect(RemoteValidationError, match="AC-LAMP-99") as info:
        bc.create("salesOrders", payload)
    assert info.value.status == 400
    assert len(backend.state.records("salesOrders")) == 2


def test_update_sends_if_match_with_the_record_etag(backend: Backend) -> None:
    bc = backend.connector()
    order = bc.get("salesOrders", "S-ORD-101002", expand="")
    updated = bc.update("salesOrders", order["id"], {"requestedDeliveryDate": "2024-06-01"}, etag=order["@odata.etag"])
    patch = backend.sent("PATCH")[0].request
    assert patch.headers["If-Match"] == order["@odata.etag"]
    assert json.loads(patch.content) == {"requestedDeliveryDate": "2024-06-01"}
    assert updated["requestedDeliveryDate"] == "2024-06-01"
    assert updated["@odata.etag"] != order["@odata.etag"]


def test_update_of_a_line_by_number_reads_its_etag_first(backend: Backend) -> None:
    bc = backend.connector()
    backend.state.reopen("purchaseOrders", "106001")  # a quantity changes only on an Open order
    po = bc.get("purchaseOrders", "106001")
    line = po["purchaseOrderLines"][1]
    changed = bc.update("purchaseOrderLines", line["id"], {"quantity": 15, "expectedReceiptDate": "2024-05-28"})
    assert changed["quantity"] == 15
    assert backend.sent("PATCH")[0].request.headers["If-Match"] == line["@odata.etag"]
    assert bc.get("purchaseOrders", "106001")["totalAmountExcludingTax"] == pytest.approx(
        10 * 780.70 + 15 * 150.40 + 5 * 148.30
    )


def test_stale_etag_is_reread_and_the_change_reapplied_once(backend: Backend) -> None:
    bc = backend.connector()
    old = bc.get("customers", "C20000")
    backend.state.modify_record("customers", "C20000", {"phoneNumber": "+1 404-555-0100"})
    updated = bc.update("customers", old["id"], {"creditLimit": 175000.0}, etag=old["@odata.etag"])
    assert updated["creditLimit"] == 175000.0
    assert updated["phoneNumber"] == "+1 404-555-0100"
    calls = [(e.request.method, e.response.status_code if e.response else None) for e in backend.sent("customers")]
    assert calls[1:] == [("PATCH", 409), ("GET", 200), ("PATCH", 200)]


def test_stale_etag_twice_raises_conflict_error(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    old = bc.get("customers", "C20000")
    backend.inject(r"PATCH .*/customers\(", 409, body=STALE, times=2)
    with expect(ConflictError, match="changed by someone else again") as info:
        bc.update("customers", old["id"], {"creditLimit": 1.0}, etag=old["@odata.etag"])
    assert info.value.code == "Request_EntityChanged"
    assert len(backend.sent("PATCH")) == 2


# -- throttling, outages, broken answers -------------------------------------------------------


def test_429_with_retry_after_waits_what_the_server_said(backend: Backend) -> None:
    bc = backend.connector()
    bc.companies()
    backend.inject(r"GET .*/companies$", 429, retry_after=7)
    bc.companies()
    assert backend.sleeps == [7.0]


def test_429_without_retry_after_backs_off_exponentially_with_jitter(backend: Backend) -> None:
    bc = backend.connector()
    backend.inject(r"GET .*/customers$", 429, times=3)
    assert len(list(bc.list_changed("customers"))) == 3
    assert len(backend.sleeps) == 3
    for attempt, wait in enumerate(backend.sleeps, start=1):
        assert 0 <= wait <= 0.5 * 2 ** (attempt - 1)


@pytest.mark.parametrize("status", [503, 504], ids=["503", "504"])
def test_unavailable_and_gateway_timeout_are_retried(backend: Backend, status: int) -> None:
    bc = backend.connector()
    backend.inject(r"GET .*/items$", status, times=2)
    assert len(list(bc.list_changed("items"))) == 8
    assert len(backend.sleeps) == 2


def test_retries_stop_at_the_attempt_and_time_bounds(backend: Backend, expect: Expect) -> None:
    bc = backend.connector(retry=backend.retry(max_attempts=10, max_total_seconds=10.0))
    backend.inject(r"GET .*/items$", 429, retry_after=4, times=10)
    with expect(RetriableHttpError) as info:
        list(bc.list_changed("items"))
    assert info.value.status == 429
    assert backend.sleeps == [4.0, 4.0]
    assert len(backend.sent(r"GET .*/items$")) == 3


def test_timeout_is_retried(backend: Backend) -> None:
    bc = backend.connector(timeout=0.3)
    backend.inject_timeout(r"GET .*/vendors$")
    assert [v["number"] for v in bc.list_changed("vendors")] == ["V10000", "V20000", "V30000"]
    assert len(backend.sleeps) == 1


def test_dropped_connection_is_retried(backend: Backend) -> None:
    bc = backend.connector()
    backend.inject_drop(r"GET .*/vendors$")
    assert len(list(bc.list_changed("vendors"))) == 3
    assert len(backend.sleeps) == 1


def test_create_is_not_resent_after_a_timeout(backend: Backend, expect: Expect) -> None:
    bc = backend.connector(timeout=0.3)
    backend.inject_timeout(r"POST .*/customers$")
    with expect(TransportError, match="timed out"):
        bc.create("customers", {"displayName": "Once Only LLC"})
    assert len(backend.sent(r"POST .*/customers$")) == 1


def test_create_is_resent_after_a_429(backend: Backend) -> None:
    bc = backend.connector()
    backend.inject(r"POST .*/customers$", 429, retry_after=1)
    created = bc.create("customers", {"displayName": "Throttled Twice LLC"})
    assert created["number"] == "C40000"
    assert [n["displayName"] for n in backend.state.records("customers")].count("Throttled Twice LLC") == 1


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        pytest.param('{"value": [{"id": ', "application/json", "malformed JSON", id="truncated-json"),
        pytest.param("<html><body>Service Unavailable</body></html>", "text/html", "expected JSON", id="html-page"),
    ],
)
def test_unusable_200_body_raises_protocol_error_with_status_and_excerpt(
    backend: Backend, expect: Expect, body: str, content_type: str, needle: str
) -> None:
    bc = backend.connector()
    backend.inject(r"GET .*/items$", 200, body=body, content_type=content_type)
    with expect(ProtocolError) as info:
        list(bc.list_changed("items"))
    text = str(info.value)
    assert "HTTP 200" in text
    assert body[:12] in text
    if backend.kind == "mock":
        assert needle in text


def test_html_error_page_raises_status_error_with_excerpt(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    backend.inject(r"GET .*/items$", 404, body="<html><h1>404 - Not Found</h1></html>", content_type="text/html")
    with expect(NotFoundError) as info:
        list(bc.list_changed("items"))
    assert info.value.status == 404
    assert "<html><h1>404 - Not Found" in info.value.excerpt


def test_200_with_an_error_body_raises_protocol_error(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    body = json.dumps({"error": {"code": "Internal_ServerError", "message": "Something went wrong."}})
    backend.inject(r"GET .*/items$", 200, body=body)
    with expect(ProtocolError, match="HTTP 200 with an error body Internal_ServerError: Something went wrong"):
        list(bc.list_changed("items"))


def test_bc_error_body_becomes_code_and_message(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    with expect(RemoteValidationError) as info:
        bc.create("salesInvoices", {"externalDocumentNumber": "X"})
    assert info.value.code == "Application_DialogException"
    assert "A customerNumber or a customerID must be provided." in str(info.value)
    assert info.value.method == "POST" and info.value.url.split("?")[0].endswith("/salesInvoices")


def test_an_error_echoing_the_secret_is_masked(backend: Backend, expect: Expect) -> None:
    bc = backend.connector()
    body = json.dumps({"error": {"code": "BadRequest", "message": f"client_secret={SECRET} is not allowed here"}})
    backend.inject(r"GET .*/items$", 400, body=body)
    with expect(RemoteValidationError) as info:
        list(bc.list_changed("items"))
    assert "client_secret=***" in str(info.value)


# -- webhooks ----------------------------------------------------------------------------------


def test_subscription_lifecycle_with_validation_handshake(backend: Backend, receiver: Receiver) -> None:
    backend.state.set_clock(datetime(2024, 6, 3, 8, 0, tzinfo=UTC))
    bc = backend.connector()
    created = bc.subscriptions.create("salesInvoices", receiver.url, "opaque-client-state-1")
    assert len(receiver.validations) == 1
    assert created.resource == f"/api/v2.0/companies({COMPANY})/salesInvoices"
    assert created.expires == datetime(2024, 6, 6, 8, 0, tzinfo=UTC)
    assert [s.id for s in bc.subscriptions.list()] == [created.id]

    backend.state.advance_clock(timedelta(days=2, hours=12))
    renewed = bc.subscriptions.renew(created)
    assert renewed.expires == datetime(2024, 6, 8, 20, 0, tzinfo=UTC)
    assert len(receiver.validations) == 2
    patch = backend.sent("PATCH")[0].request
    assert patch.headers["If-Match"] == created.etag
    assert patch.url.path.endswith(f"/api/v2.0/subscriptions('{created.id}')")

    bc.subscriptions.delete(renewed)
    assert backend.sent("DELETE")[0].request.headers["If-Match"] == renewed.etag
    assert bc.subscriptions.list() == []


def test_failed_handshake_creates_no_subscription(backend: Backend, receiver: Receiver, expect: Expect) -> None:
    receiver.handshake = "wrong"
    bc = backend.connector()
    with expect(RemoteValidationError, match="did not echo the validation token"):
        bc.subscriptions.create("salesInvoices", receiver.url, "opaque-client-state-2")
    assert bc.subscriptions.list() == []


def test_renew_expiring_renews_only_subscriptions_due(backend: Backend, receiver: Receiver) -> None:
    state = backend.state
    state.set_clock(datetime(2024, 6, 3, 8, 0, tzinfo=UTC))
    bc = backend.connector()
    bc.subscriptions.now = state.clock.now
    early = bc.subscriptions.create("salesInvoices", receiver.url, "state-a")
    state.advance_clock(timedelta(days=1))
    late = bc.subscriptions.create("salesOrders", receiver.url, "state-b")
    state.advance_clock(timedelta(days=1, hours=18))
    renewed = bc.subscriptions.renew_expiring(within=timedelta(hours=12))
    assert [s.id for s in renewed] == [early.id]
    assert renewed[0].expires == state.clock.now() + timedelta(days=3)
    still = {s.id: s.expires for s in bc.subscriptions.list()}
    assert still[late.id] == late.expires


def test_posting_an_invoice_notifies_the_subscriber(backend: Backend, receiver: Receiver) -> None:
    bc = backend.connector()
    subscription = bc.subscriptions.create("salesInvoices", receiver.url, "opaque-client-state-3")
    draft = backend.state.view("salesInvoices", "S-INV-1004")
    backend.state.post_invoice("S-INV-1004")
    backend.state.advance_clock(timedelta(seconds=backend.state.config.notification_window + 1))
    assert backend.state.deliver_pending() == 1
    notes = parse_notifications(receiver.bodies[0], client_state="opaque-client-state-3")
    assert [(n.subscription_id, n.change_type) for n in notes] == [(subscription.id, "updated")]
    assert notes[0].resource == f"api/v2.0/companies({COMPANY})/salesInvoices({draft['id']})"
    records = bc.subscriptions.records(notes[0])
    assert records[0]["id"] == draft["id"]
    assert records[0]["number"] == "103004"
    assert records[0]["status"] == "Open"
    assert len(records[0]["salesInvoiceLines"]) == 2


def test_many_changes_in_one_window_send_one_collection_notification(backend: Backend, receiver: Receiver) -> None:
    backend.state.config.collection_threshold = 3
    bc = backend.connector()
    bc.subscriptions.create("customers", receiver.url, "opaque-client-state-4")
    for n in range(4):
        backend.state.add_record("customers", {"displayName": f"Bulk Customer {n}"})
    assert backend.state.deliver_pending(force=True) == 1
    (note,) = parse_notifications(receiver.bodies[0])
    assert note.change_type == "collection"
    assert note.resource.startswith(f"api/v2.0/companies({COMPANY})/customers?$filter=lastModifiedDateTime%20gt%20")
    fetched = bc.subscriptions.records(note)
    assert sorted(c["displayName"] for c in fetched) == [f"Bulk Customer {n}" for n in range(4)]
