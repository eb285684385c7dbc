"""Helpers for the webhook server tests: secrets, notification bodies, a fake BC on a
MockTransport (the Entra token endpoint and a collection served in two pages), X12 files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]
COMPANY = "f64eba74-dacd-4854-a584-1834f68cfc3a"
CLIENT_STATE = "unit-client-state-0123456789"
PUSH_SECRET = "unit-push-secret-0123456789"
SECRETS = {
    "bc-client-secret": "demo-bc-secret",
    "cleo-password": "demo-cleo-secret",
    "gp-password": "demo-gp-secret",
    "bc-webhook-secret": CLIENT_STATE,
    "cleo-webhook-secret": PUSH_SECRET,
}
INVOICE_ID = "5d7f2a10-1111-4c3e-9a55-0123456789ab"
ORDER_ID = "6e8a3b21-2222-4d4f-8b66-123456789abc"
STAMP = "2024-05-02T10:00:31.117Z"


def note(
    change: str = "updated",
    *,
    entity: str = "salesInvoices",
    record: str | None = INVOICE_ID,
    state: str | None = CLIENT_STATE,
    stamp: str = STAMP,
    resource: str | None = None,
    company: str = COMPANY,
) -> dict[str, Any]:
    """One notification entry as BC sends it."""
    if resource is None:
        resource = f"api/v2.0/companies({company})/{entity}"
        if record is not None:
            resource += f"({record})"
    item: dict[str, Any] = {
        "subscriptionId": "6a2b0000000000000000000000000000",
        "expirationDateTime": "2024-05-05T10:00:00Z",
        "resource": resource,
        "changeType": change,
        "lastModifiedDateTime": stamp,
    }
    if state is not None:
        item["clientState"] = state
    return item


def body(*items: dict[str, Any]) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def collection(since: str = "2024-05-02T10:00:00Z") -> dict[str, Any]:
    return note("collection", record=None, resource=f"/api/v2.0/companies({COMPANY})/salesInvoices?$filter=lastModifiedDateTime%20gt%20{since}")


class FakeBc:
    """Business Central on a MockTransport: tokens, and a salesInvoices collection in two pages.

    `fail_with` makes every API call (not the token) answer that status.
    """

    def __init__(self) -> None:
        self.records = [
            {"id": "0a000000-0000-4000-8000-000000000001", "number": "103001", "lastModifiedDateTime": "2024-05-02T10:00:01Z"},
            {"id": "0a000000-0000-4000-8000-000000000002", "number": "103002", "lastModifiedDateTime": "2024-05-02T10:00:02Z"},
            {"id": "0a000000-0000-4000-8000-000000000003", "number": "103003", "lastModifiedDateTime": "2024-05-02T10:00:03Z"},
        ]
        self.requests: list[httpx.Request] = []
        self.fail_with: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/oauth2/v2.0/token"):
            return httpx.Response(200, json={"access_token": "unit-token", "token_type": "Bearer", "expires_in": 3599})
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, json={"error": {"code": "Internal_ServerError", "message": "down"}})
        if request.url.path.endswith("/salesInvoices"):
            query = parse_qs(request.url.query.decode())
            if "$skiptoken" in query:
                return httpx.Response(200, json={"value": self.records[2:]})
            assert query["$filter"] == ["lastModifiedDateTime gt 2024-05-02T10:00:00Z"], query
            assert query["$expand"] == ["salesInvoiceLines"], query
            next_link = str(request.url.copy_add_param("$skiptoken", "page2"))
            return httpx.Response(200, json={"value": self.records[:2], "@odata.nextLink": next_link})
        return httpx.Response(404, json={"error": {"code": "BadRequest_NotFound", "message": f"no {request.url.path}"}})

    def api_calls(self) -> list[httpx.Request]:
        return [r for r in self.requests if not r.url.path.endswith("/token")]


def edi_856(sender: str = "GLOBEXSUP", qualifier: str = "ZZ") -> bytes:
    """A small but complete 856 interchange from `qualifier/sender`."""
    isa = f"ISA*00*          *00*          *{qualifier}*{sender:<15}*ZZ*MLCONNECT      *240502*1005*U*00401*000000901*0*P*>~"
    segments = [
        isa,
        "GS*SH*GLOBEXSUP*MLCONNECT*20240502*1005*901*X*004010",
        "ST*856*0001",
        "BSN*00*UNIT-SHP-1*20240502*1005",
        "HL*1**S",
        "SE*4*0001",
        "GE*1*901",
        "IEA*1*000000901",
    ]
    return ("~".join(s.rstrip("~") for s in segments) + "~").encode()
