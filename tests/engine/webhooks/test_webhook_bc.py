"""POST /webhooks/bc: the validation handshake, clientState, notifications -> fetch jobs,
collections read page by page, deletions audited, malformed bodies refused, our failures 503."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from webhook_support import CLIENT_STATE, COMPANY, INVOICE_ID, ORDER_ID, STAMP, FakeBc, body, collection, note

from engine.errors import StoreError
from engine.runtime import Runtime
from engine.store import JobState
from engine.webhooks import fetch_key
from engine.webhooks.app import MAX_NOTIFICATION_BYTES

INVOICES = "bc-invoices-to-810"
ORDERS = "bc-sales-orders-to-850"


def _jobs(runtime: Runtime) -> list[tuple[str, str, str]]:
    return sorted((j.route, j.key, j.kind) for j in runtime.store.jobs(limit=1000))


# -- the handshake -----------------------------------------------------------------------------


def test_validation_handshake_echoes_the_token_as_plain_text(client: httpx.Client, runtime: Runtime) -> None:
    answer = client.post("/webhooks/bc", params={"validationToken": "tok-4711 with spaces&more"})

    assert answer.status_code == 200
    assert answer.text == "tok-4711 with spaces&more"
    assert answer.headers["content-type"].startswith("text/plain")
    assert _jobs(runtime) == []


def test_validation_handshake_refuses_a_token_longer_than_1024_characters(client: httpx.Client) -> None:
    answer = client.post("/webhooks/bc", params={"validationToken": "x" * 1025})

    assert answer.status_code == 400
    assert "1 to 1024 characters" in answer.text


def test_the_connection_may_be_named_in_the_path_and_an_unknown_one_is_404(client: httpx.Client) -> None:
    assert client.post("/webhooks/bc/bc", params={"validationToken": "t"}).text == "t"

    answer = client.post("/webhooks/bc/gp", params={"validationToken": "t"})

    assert answer.status_code == 404
    assert "/webhooks/bc/gp" in answer.text


def test_the_handshake_is_answered_by_get_too_and_a_get_without_token_is_405(client: httpx.Client) -> None:
    answer = client.get("/webhooks/bc", params={"validationToken": "t0ken"})
    assert answer.status_code == 200 and answer.text == "t0ken"
    assert client.post("/webhooks/bc", params={"validationToken": "t0ken"}).text == "t0ken"
    refused = client.get("/webhooks/bc")
    assert refused.status_code == 405 and "validation handshake" in refused.text
    assert client.put("/webhooks/bc", params={"validationToken": "t"}).status_code == 405


def test_a_json_body_nested_100000_levels_is_a_400_with_one_log_line(client: httpx.Client, runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    answer = client.post("/webhooks/bc", content=b"[" * 100_000 + b"]" * 100_000)
    nested_object = client.post("/webhooks/bc", content=b'{"value": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001)

    for response in (answer, nested_object):
        assert response.status_code == 400 and "nested too deeply" in response.text
        assert response.text.count("\n") == 1
    logged = [r for r in caplog.records if r.name.startswith("engine.webhooks")]
    assert len(logged) == 2 and all(r.exc_info is None and "\n" not in r.getMessage() for r in logged)
    assert not any("RecursionError" in r.getMessage() or r.exc_info for r in caplog.records)
    assert _jobs(runtime) == []


# -- clientState -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        pytest.param("wrong-client-state-0123456789", id="wrong"),
        pytest.param(None, id="missing"),
        pytest.param(CLIENT_STATE[:-1], id="prefix"),
        pytest.param(CLIENT_STATE + "x", id="longer"),
    ],
)
def test_a_notification_without_our_client_state_is_refused_and_enqueues_nothing(client: httpx.Client, runtime: Runtime, state: str | None) -> None:
    good = note(record=ORDER_ID)
    answer = client.post("/webhooks/bc", content=body(good, note(state=state)))

    assert answer.status_code == 403
    assert "clientState" in answer.text and CLIENT_STATE not in answer.text
    assert _jobs(runtime) == []


# -- notifications -> fetch jobs ---------------------------------------------------------------


def test_an_updated_invoice_becomes_one_fetch_job_on_the_route_watching_invoices(client: httpx.Client, runtime: Runtime) -> None:
    answer = client.post("/webhooks/bc", content=body(note("updated")))

    assert answer.status_code == 200
    assert answer.json() == {"enqueued": 1, "already": 0, "deleted": 0, "ignored": 0}
    [job] = runtime.store.jobs()
    assert (job.route, job.kind, job.key, job.payload, job.source_ref) == (INVOICES, "fetch", f"fetch:{INVOICE_ID}@{STAMP}", {"id": INVOICE_ID}, INVOICE_ID)
    assert job.state is JobState.PENDING
    [event] = runtime.store.job_events(job.id)
    assert event.event == "notified" and event.detail == {"change": "updated", "subscription": "6a2b0000000000000000000000000000", "lastModifiedDateTime": STAMP}


def test_the_same_change_notified_twice_is_one_job_and_a_later_change_is_another(client: httpx.Client, runtime: Runtime) -> None:
    first = client.post("/webhooks/bc", content=body(note("created")))
    again = client.post("/webhooks/bc", content=body(note("created")))
    later = client.post("/webhooks/bc", content=body(note("updated", stamp="2024-05-02T11:00:00Z")))

    assert [first.json()["enqueued"], again.json()["already"], later.json()["enqueued"]] == [1, 1, 1]
    assert _jobs(runtime) == [
        (INVOICES, fetch_key(INVOICE_ID, "2024-05-02T10:00:31.117Z"), "fetch"),
        (INVOICES, fetch_key(INVOICE_ID, "2024-05-02T11:00:00Z"), "fetch"),
    ]


def test_one_post_may_batch_several_entity_sets_and_each_goes_to_its_route(client: httpx.Client, runtime: Runtime) -> None:
    quoted = note(entity="salesOrders", resource=f"/api/v2.0/companies({COMPANY})/salesOrders('{ORDER_ID}')")
    answer = client.post("/webhooks/bc", content=body(note(), quoted))

    assert answer.json()["enqueued"] == 2
    assert _jobs(runtime) == [(INVOICES, fetch_key(INVOICE_ID, STAMP), "fetch"), (ORDERS, fetch_key(ORDER_ID, STAMP), "fetch")]


def test_a_body_starting_with_a_utf8_bom_is_read(client: httpx.Client, runtime: Runtime) -> None:
    answer = client.post("/webhooks/bc", content=b"\xef\xbb\xbf" + body(note()))

    assert answer.status_code == 200 and answer.json()["enqueued"] == 1


def test_an_absolute_resource_url_is_understood(client: httpx.Client, runtime: Runtime) -> None:
    absolute = f"https://api.businesscentral.dynamics.com/v2.0/cronus.example/production/api/v2.0/companies({COMPANY})/salesInvoices({INVOICE_ID})"
    answer = client.post("/webhooks/bc", content=body(note(resource=absolute)))

    assert answer.status_code == 200 and answer.json()["enqueued"] == 1


def test_a_deleted_record_is_audited_not_fetched(client: httpx.Client, runtime: Runtime) -> None:
    answer = client.post("/webhooks/bc", content=body(note("deleted")))

    assert answer.json() == {"enqueued": 0, "already": 0, "deleted": 1, "ignored": 0}
    assert _jobs(runtime) == []
    [event] = runtime.store.audit_trail(INVOICE_ID)
    assert (event.event, event.route, event.key) == ("deleted", INVOICES, INVOICE_ID)
    assert event.detail is not None and "nothing is sent" in event.detail["message"]


def test_a_notification_for_an_entity_set_no_route_watches_is_acknowledged_and_ignored(client: httpx.Client, runtime: Runtime) -> None:
    answer = client.post("/webhooks/bc", content=body(note(entity="customers")))

    assert answer.status_code == 200 and answer.json()["ignored"] == 1
    assert _jobs(runtime) == []


def test_a_collection_notification_is_read_through_every_page_and_each_record_is_fetched(
    client: httpx.Client, runtime: Runtime, fake_bc: FakeBc
) -> None:
    answer = client.post("/webhooks/bc", content=body(collection()))

    assert answer.status_code == 200 and answer.json()["enqueued"] == 3
    assert _jobs(runtime) == sorted((INVOICES, fetch_key(r["id"], r["lastModifiedDateTime"]), "fetch") for r in fake_bc.records)
    assert len(fake_bc.api_calls()) == 2  # two pages, the second by @odata.nextLink
    assert all(r.headers["Authorization"] == "Bearer unit-token" for r in fake_bc.api_calls())


def test_a_collection_that_cannot_be_read_is_503_so_bc_retries_and_nothing_is_enqueued(
    client: httpx.Client, runtime: Runtime, fake_bc: FakeBc
) -> None:
    fake_bc.fail_with = 503
    answer = client.post("/webhooks/bc", content=body(note(record=ORDER_ID), collection()))

    assert answer.status_code == 503
    assert _jobs(runtime) == []


def test_an_unexpected_failure_is_a_generic_500_and_the_server_keeps_serving(client: httpx.Client, runtime: Runtime, fake_bc: FakeBc) -> None:
    fake_bc.fail_with = 404  # not a transient error: the connector says the collection does not exist
    first = client.post("/webhooks/bc", content=body(collection()))
    then = client.post("/webhooks/bc", content=body(note()))

    assert first.status_code == 503
    assert then.status_code == 200


def test_the_store_being_unavailable_is_503(client: httpx.Client, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> Any:
        raise StoreError("state store postgresql://mlc:***@db/mlc: connection refused")

    monkeypatch.setattr(runtime.store, "transaction", down)
    answer = client.post("/webhooks/bc", content=body(note()))

    assert answer.status_code == 503
    assert answer.text == "temporarily unavailable: retry later\n"


def test_a_bug_in_a_handler_is_a_generic_500_without_details(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.webhooks.app as app_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(app_module, "accept_notifications", broken)
    answer = client.post("/webhooks/bc", content=body(note()))

    assert answer.status_code == 500
    assert "secret detail" not in answer.text and "internal error" in answer.text
    assert client.post("/webhooks/bc", params={"validationToken": "still-up"}).text == "still-up"


# -- malformed bodies ----------------------------------------------------------------------------


MALFORMED = [
    pytest.param(b"", "not JSON", id="empty"),
    pytest.param(b"{not json", "not JSON", id="not-json"),
    pytest.param(b"\xff\xfe\x00", "not JSON", id="binary"),
    pytest.param(b"[1, 2]", 'no "value" list', id="a-list"),
    pytest.param(b'{"items": []}', 'no "value" list', id="no-value"),
    pytest.param(b'{"value": {"a": 1}}', 'no "value" list', id="value-not-a-list"),
    pytest.param(b'{"value": ["x"]}', "value[0] is not an object", id="entry-not-an-object"),
    pytest.param(body(note("renamed")), "changeType 'renamed'", id="change-type"),
    pytest.param(body(note(resource="companies/salesInvoices")), "not api/v2.0/companies", id="resource"),
    pytest.param(body(note(resource=None, record="103001")), "does not name one record by its id", id="key-not-a-guid"),
    pytest.param(body(note(record=None)), "does not name one record", id="update-of-a-collection"),
    pytest.param(body(note("collection")), "collection notification naming one record", id="collection-of-one"),
    pytest.param(body(note(stamp="yesterday")), "lastModifiedDateTime 'yesterday'", id="stamp"),
    pytest.param(body(note(company="00000000-0000-0000-0000-000000000000")), "not f64eba74", id="other-company"),
]


@pytest.mark.parametrize(("content", "reason"), MALFORMED)
def test_a_malformed_notification_is_a_clear_400_and_enqueues_nothing(client: httpx.Client, runtime: Runtime, content: bytes, reason: str) -> None:
    answer = client.post("/webhooks/bc", content=content)

    assert answer.status_code == 400, answer.text
    assert reason in answer.text
    assert answer.text.count("\n") == 1  # one line
    assert _jobs(runtime) == []


def test_a_body_over_the_limit_is_413(client: httpx.Client, runtime: Runtime) -> None:
    declared = client.post("/webhooks/bc", content=b" " * (MAX_NOTIFICATION_BYTES + 1))
    streamed = client.post("/webhooks/bc", content=iter([b" " * 65536] * (MAX_NOTIFICATION_BYTES // 65536 + 1)))  # chunked, no length

    assert MAX_NOTIFICATION_BYTES == 1024 * 1024
    assert declared.status_code == 413 and streamed.status_code == 413
    assert _jobs(runtime) == []
    assert client.post("/webhooks/bc", content=json.dumps({"value": [note()]})).status_code == 200  # still serving


def test_a_valid_batch_after_many_refusals_still_works(client: httpx.Client, runtime: Runtime) -> None:
    for param in MALFORMED:
        client.post("/webhooks/bc", content=param.values[0])
    answer = client.post("/webhooks/bc", content=json.dumps({"value": [note()]}))

    assert answer.status_code == 200 and len(_jobs(runtime)) == 1
