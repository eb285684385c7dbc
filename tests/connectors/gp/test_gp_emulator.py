"""The GP emulator checks NTLM for real, keeps GP's rules, and serves its test API."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
import spnego
from gp_support import PASSWORD, Served
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.common import RetryPolicy, serve_in_thread
from connectors.gp import connect
from connectors.gp.emulator import GpEmulator, build_app
from engine.errors import UnauthorizedError

COMPANY = "/GPService/Tenants(DefaultTenant)/Companies(TWO)"
VENDORS = f"{COMPANY}/Purchasing/Vendors"


def _b64(token: bytes) -> str:
    return base64.b64encode(token).decode()


def _ntlm_client(password: str = PASSWORD) -> spnego.ContextProxy:
    return spnego.client("FABRIKAM\\svc-mlc", password, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)


def _handshake(http: httpx.Client, scheme: str = "NTLM", password: str = PASSWORD) -> tuple[httpx.Response, str]:
    """Type 1 -> type 2 -> type 3 by hand on one keep-alive connection; the answer and the type 3."""
    context = _ntlm_client(password)
    first = http.get(VENDORS, headers={"Authorization": f"{scheme} {_b64(context.step() or b'')}"})
    assert first.status_code == 401
    challenge = first.headers["WWW-Authenticate"]
    assert challenge.startswith(f"{scheme} ")
    authenticate = f"{scheme} {_b64(context.step(base64.b64decode(challenge.split(' ', 1)[1])) or b'')}"
    return http.get(VENDORS, headers={"Authorization": authenticate}), authenticate


@pytest.fixture
def http(gp: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gp.url) as client:
        yield client


def test_request_without_credentials_gets_401_with_every_challenge(gp: Served, http: httpx.Client) -> None:
    response = http.get(VENDORS)
    assert response.status_code == 401
    assert response.headers.get_list("WWW-Authenticate") == ["Negotiate", "NTLM", 'Basic realm="GPService"']
    assert response.json()["ErrorCode"] == 1401


@pytest.mark.parametrize("scheme", ["NTLM", "Negotiate"])
def test_manual_handshake_authenticates_the_connection(gp: Served, http: httpx.Client, scheme: str) -> None:
    answer, _ = _handshake(http, scheme)
    assert answer.status_code == 200
    # Later requests on the same connection need no credentials at all.
    assert http.get(f"{VENDORS}(GLOBEX0001)").json()["Name"] == "Globex Supply Co."
    assert gp.emulator.auth.handshakes == 1


def test_wrong_password_fails_the_handshake(gp: Served, http: httpx.Client) -> None:
    answer, _ = _handshake(http, password="wrong")
    assert answer.status_code == 401
    assert http.get(VENDORS).status_code == 401


def test_type3_without_a_challenge_on_the_connection_is_refused(gp: Served, http: httpx.Client) -> None:
    answer, authenticate = _handshake(http)
    assert answer.status_code == 200
    with httpx.Client(base_url=gp.url) as other:  # another TCP connection: no negotiation there
        replay = other.get(VENDORS, headers={"Authorization": authenticate})
    assert replay.status_code == 401
    assert "without a challenge" in replay.json()["Message"]


def test_replayed_type3_after_a_fresh_challenge_is_refused(gp: Served, http: httpx.Client) -> None:
    _, authenticate = _handshake(http)
    with httpx.Client(base_url=gp.url) as other:
        fresh = _ntlm_client()
        assert other.get(VENDORS, headers={"Authorization": f"NTLM {_b64(fresh.step() or b'')}"}).status_code == 401
        replay = other.get(VENDORS, headers={"Authorization": authenticate})
        assert replay.status_code == 401
        assert other.get(VENDORS).status_code == 401


def test_type3_is_accepted_only_once(gp: Served, http: httpx.Client) -> None:
    answer, authenticate = _handshake(http)
    assert answer.status_code == 200
    assert http.get(VENDORS, headers={"Authorization": authenticate}).status_code == 401
    assert http.get(VENDORS).status_code == 401  # the replay also ended the connection's login


def test_non_ntlm_tokens_are_refused(gp: Served, http: httpx.Client) -> None:
    spnego_token = base64.b64encode(b"\x60\x28\x06\x06+\x06\x01\x05\x05\x02").decode()
    response = http.get(VENDORS, headers={"Authorization": f"Negotiate {spnego_token}"})
    assert response.status_code == 401
    assert "only raw NTLM tokens" in response.json()["Message"]
    assert http.get(VENDORS, headers={"Authorization": "NTLM not*base64"}).status_code == 401


def test_idle_connections_are_forgotten(gp: Served) -> None:
    now = [0.0]
    emulator = GpEmulator(idle_seconds=5)
    emulator.auth.clock = lambda: now[0]
    with serve_in_thread(emulator.app) as served, httpx.Client(base_url=served.url) as http:
        answer, _ = _handshake(http)
        assert answer.status_code == 200
        now[0] = 3.0
        assert http.get(VENDORS).status_code == 200
        now[0] = 9.0
        assert http.get(VENDORS).status_code == 401


def test_basic_is_neither_offered_nor_accepted_when_disabled() -> None:
    emulator = GpEmulator(basic=False)
    with serve_in_thread(emulator.app) as served:
        refused = httpx.get(served.url + VENDORS, auth=("FABRIKAM\\svc-mlc", PASSWORD))
        assert refused.status_code == 401
        assert "Basic" not in ",".join(refused.headers.get_list("WWW-Authenticate"))
        config = {
            "base_url": served.url,
            "company": "TWO",
            "version": "2016",
            "auth": "basic",
            "domain": "FABRIKAM",
            "username": "svc-mlc",
            "password_secret": "s",
        }
        with pytest.raises(UnauthorizedError):
            connect(config, lambda name: PASSWORD, retry=RetryPolicy(sleep=lambda s: None)).company()
        ntlm = connect({**config, "auth": "ntlm"}, lambda name: PASSWORD)
        assert ntlm.company()["CompanyId"] == "TWO"


def test_ntlm_can_be_disabled_leaving_basic() -> None:
    emulator = GpEmulator(ntlm=False)
    with serve_in_thread(emulator.app) as served:
        refused = httpx.get(served.url + VENDORS)
        assert refused.headers.get_list("WWW-Authenticate") == ['Basic realm="GPService"']
        assert httpx.get(served.url + VENDORS, auth=("fabrikam\\SVC-MLC", PASSWORD)).status_code == 200


def test_emulator_works_mounted_under_the_gp_prefix() -> None:
    app = Starlette(routes=[Mount("/gp", app=build_app())])
    with serve_in_thread(app) as served:
        config = {
            "base_url": served.url + "/gp",
            "company": "Fabrikam, Inc.",
            "version": "2015",
            "domain": "FABRIKAM",
            "username": "svc-mlc",
            "password_secret": "s",
        }
        client = connect(config, lambda name: PASSWORD)
        assert client.get("purchaseOrders", "PO2101")["VendorId"] == "GLOBEX0001"
        httpx.post(served.url + "/gp/_test/fiscal-periods/2024-01/reopen").raise_for_status()


def test_gp_refuses_changes_to_a_history_document(gp: Served) -> None:
    response = httpx.patch(
        gp.url + f"{COMPANY}/Purchasing/PurchaseOrders(PO2000)",
        json={"BuyerId": "X"},
        auth=("FABRIKAM\\svc-mlc", PASSWORD),
    )
    assert response.status_code == 400
    assert response.json() == {
        "ErrorCode": 3001,
        "Message": "The purchase order PO2000 is in History and cannot be changed.",
        "Details": [],
    }


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param("$filter=ModifiedDate ge 2024-05-02", 200, id="date-only"),
        pytest.param("$filter=ModifiedDate gt '2024-05-02T11:05:00Z'", 200, id="quoted-utc"),
        pytest.param("$filter=Name eq 'x'", 400, id="other-field"),
        pytest.param("$top=-1", 400, id="negative-top"),
        pytest.param("$expand=Lines", 400, id="unknown-option"),
    ],
)
def test_list_query_options(gp: Served, query: str, status: int) -> None:
    response = httpx.get(gp.url + f"{COMPANY}/Purchasing/PurchaseOrders?{query}", auth=("FABRIKAM\\svc-mlc", PASSWORD))
    assert response.status_code == status, response.text


def test_test_api_adds_and_modifies_records_bumping_modified_date(gp: Served) -> None:
    added = httpx.post(
        gp.url + "/_test/records/vendors", json={"VendorId": "WIDGET0001", "Name": "Widget Works"}
    ).json()
    assert added["ModifiedDate"] == "2026-03-02T09:00:00"
    gp.clock.now = gp.clock.now.replace(hour=11)
    changed = httpx.patch(gp.url + "/_test/records/items/128 SDRAM", json={"CurrentCost": 38.5}).json()
    assert (changed["CurrentCost"], changed["ModifiedDate"]) == (38.5, "2026-03-02T11:00:00")
    assert httpx.post(gp.url + "/_test/records/nothing", json={}).status_code == 404
    stats = httpx.get(gp.url + "/_test/stats").json()
    assert set(stats) == {"requests", "unauthorized", "handshakes"}
    httpx.post(gp.url + "/_test/reset").raise_for_status()
    assert gp.emulator.record("items", "128 SDRAM")["CurrentCost"] == 36.0


def test_test_api_adds_a_company(gp: Served) -> None:
    created = httpx.post(gp.url + "/_test/companies", json={"CompanyId": "TEST", "Name": "Test Co., Ltd."})
    assert created.status_code == 201
    assert gp.connect(company="Test Co., Ltd.").company()["CompanyId"] == "TEST"


def test_seed_follows_the_demo_world(gp: Served) -> None:
    client = gp.connect()
    assert {v["VendorId"]: v["Name"] for v in client.list_changed("vendors")} == {
        "GLOBEX0001": "Globex Supply Co.",
        "INITECH0001": "Initech Parts",
        "ACETRAVE0001": "A Travel Company",
    }
    assert {i["ItemId"]: i["Description"] for i in client.list_changed("items")} == {
        "100XLG": "Green Phone",
        "128 SDRAM": "128 meg SDRAM",
        "HDWR-SRG-0001": "Surge Protector Panel",
    }
    orders = {p["PurchaseOrderId"]: p for p in client.list_changed("purchaseOrders")}
    assert {k: (p["VendorId"], p["TransactionState"], p["Status"], len(p["Lines"])) for k, p in orders.items()} == {
        "PO2101": ("GLOBEX0001", "Work", "Released", 2),
        "PO2102": ("INITECH0001", "Work", "New", 1),
        "PO2000": ("GLOBEX0001", "History", "Closed", 1),
    }
    closed = [p["PeriodId"] for p in client.list_changed("fiscalPeriods") if p["Closed"]]
    assert closed == ["2024-01"]


def test_path_segments_that_are_not_utf8_are_not_found(gp: Served) -> None:
    response = httpx.get(
        gp.url + "/GPService/Tenants(DefaultTenant)/Companies(%FF)", auth=("FABRIKAM\\svc-mlc", PASSWORD)
    )
    assert response.status_code == 404
    assert response.json()["ErrorCode"] == 2001
