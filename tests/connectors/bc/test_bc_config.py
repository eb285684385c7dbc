"""Business Central connection settings, token endpoint edge answers, notification parsing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bc_support import COMPANY, SECRET

from connectors.bc import BcConfig, BcConnector, connect, parse_notifications
from connectors.bc.webhooks import Notification
from connectors.common import RetryPolicy
from engine.errors import (
    AuthenticationError,
    ConfigError,
    ProtocolError,
    RetriableHttpError,
    SecretError,
    UnauthorizedError,
)

VALID: dict[str, Any] = {
    "type": "bc",
    "tenant": "cronus.example",
    "environment": "production",
    "company_id": COMPANY,
    "client_id": "mlc-demo-client",
    "secret": "bc-client-secret",
}


def test_config_builds_the_documented_urls() -> None:
    config = BcConfig.from_mapping({**VALID, "api_base": "https://bc.example/", "authority": "https://login.example/"})
    assert config.api_root == "https://bc.example/v2.0/cronus.example/production/api/v2.0/"
    assert config.token_url == "https://login.example/cronus.example/oauth2/v2.0/token"
    assert config.company_path == f"companies({COMPANY})"
    assert BcConfig.from_mapping(VALID).scope == "https://api.businesscentral.dynamics.com/.default"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"tenant": ""}, "'tenant' is required", id="empty-tenant"),
        pytest.param({"company_id": "CRONUS"}, "'company_id' must be the company GUID", id="company-name"),
        pytest.param({"page_size": 50000}, "between 1 and 20000", id="page-size"),
        pytest.param({"client_secret": "x"}, "unknown key 'client_secret'", id="secret-in-yaml"),
        pytest.param({"api_base": "ftp://x"}, "'api_base' must be an http(s) URL", id="scheme"),
        pytest.param({"auth": "basic"}, "'auth' must be 'client_credentials'", id="auth-kind"),
        pytest.param({"timeout": "fast"}, "'timeout' has the wrong type", id="timeout-type"),
    ],
)
def test_config_problems_are_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        BcConfig.from_mapping({**VALID, **changes})


def test_config_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        BcConfig.from_mapping({"tenant": "t", "page_size": 0, "colour": "blue"})
    text = str(info.value)
    for fragment in (
        "'environment' is required",
        "'company_id' is required",
        "'secret' is required",
        "colour",
        "page_size",
    ):
        assert fragment in text


def test_connect_resolves_the_secret_by_name() -> None:
    asked: list[str] = []

    def resolve(name: str) -> str:
        asked.append(name)
        return ""

    with pytest.raises(SecretError, match="bc-client-secret"):
        connect(VALID, resolve)
    assert asked == ["bc-client-secret"]


# -- token endpoint edge answers (pure MockTransport) --------------------------------------------


def _connector(token_answer: httpx.Response, sleeps: list[float] | None = None) -> BcConnector:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return token_answer
        return httpx.Response(200, json={"value": []})

    retry = RetryPolicy(max_attempts=2, sleep=(sleeps if sleeps is not None else []).append)
    return BcConnector(BcConfig.from_mapping(VALID), SECRET, transport=httpx.MockTransport(handler), retry=retry)


def test_entra_401_invalid_client_is_an_authentication_error() -> None:
    body = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
    with _connector(httpx.Response(401, json=body)) as bc, pytest.raises(AuthenticationError) as info:
        bc.companies()
    assert "invalid_client: AADSTS7000215" in str(info.value)
    assert SECRET not in str(info.value)
    assert isinstance(info.value, UnauthorizedError)
    assert (info.value.status, info.value.code, info.value.method) == (401, "invalid_client", "POST")
    assert info.value.url.endswith("/token")


def test_entra_400_refusal_carries_its_status_and_is_not_retried() -> None:
    sleeps: list[float] = []
    body = {"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found in the directory."}
    with _connector(httpx.Response(400, json=body), sleeps) as bc, pytest.raises(UnauthorizedError) as info:
        bc.companies()
    assert (info.value.status, info.value.code) == (400, "unauthorized_client")
    assert "AADSTS700016" in str(info.value) and "HTTP 400" in str(info.value)
    assert sleeps == []


def test_html_from_the_token_endpoint_is_a_protocol_error() -> None:
    page = httpx.Response(200, text="<html>Sign in</html>", headers={"Content-Type": "text/html"})
    with _connector(page) as bc, pytest.raises(ProtocolError, match="token answer is not a JSON object"):
        bc.companies()


def test_token_answer_without_access_token_is_a_protocol_error() -> None:
    answer = httpx.Response(200, json={"token_type": "Bearer"})
    with _connector(answer) as bc, pytest.raises(ProtocolError, match="no Bearer access_token") as info:
        bc.companies()
    assert SECRET not in str(info.value)


def test_token_endpoint_outage_is_retried_then_reported() -> None:
    sleeps: list[float] = []
    answer = httpx.Response(503, text="down", headers={"Retry-After": "2"})
    with _connector(answer, sleeps) as bc, pytest.raises(RetriableHttpError, match="HTTP 503") as info:
        bc.companies()
    assert sleeps == [2.0]
    assert SECRET not in str(info.value)


# -- notifications -------------------------------------------------------------------------------


def _body(**changes: Any) -> bytes:
    item = {
        "subscriptionId": "abc",
        "clientState": "s3cr3t-state",
        "expirationDateTime": "2024-06-04T10:00:00Z",
        "resource": f"api/v2.0/companies({COMPANY})/salesInvoices(5d7f2a10-0000-4000-8000-000000000001)",
        "changeType": "updated",
        "lastModifiedDateTime": "2024-06-01T10:00:31.117Z",
        **changes,
    }
    return json.dumps({"value": [item]}).encode()


def test_notifications_are_parsed_and_their_client_state_checked() -> None:
    (note,) = parse_notifications(_body(), client_state="s3cr3t-state")
    assert note.change_type == "updated"
    assert note.last_modified == datetime(2024, 6, 1, 10, 0, 31, 117000, tzinfo=UTC)
    with pytest.raises(AuthenticationError, match="wrong clientState") as info:
        parse_notifications(_body(), client_state="other")
    assert "s3cr3t-state" not in str(info.value)
    with pytest.raises(ProtocolError, match="changeType 'moved'"):
        parse_notifications(_body(changeType="moved"))
    with pytest.raises(ProtocolError, match="not JSON"):
        parse_notifications(b"<html>")


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param("https://evil.example/v2.0/cronus.example/production/api/v2.0/companies(x)/customers", id="host"),
        pytest.param("api/v2.0/companies(00000000-0000-0000-0000-000000000000)/customers", id="company"),
    ],
)
def test_notification_resources_outside_our_company_are_never_fetched(resource: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"value": []})

    with BcConnector(BcConfig.from_mapping(VALID), SECRET, transport=httpx.MockTransport(handler)) as bc:
        note = Notification("abc", "", datetime.now(UTC), resource, "updated", datetime.now(UTC))
        with pytest.raises(ProtocolError):
            bc.subscriptions.records(note)
    assert sent == []


def test_the_connector_is_a_record_system() -> None:
    from engine.ports import RecordSystem

    with BcConnector(
        BcConfig.from_mapping(VALID), SECRET, transport=httpx.MockTransport(lambda r: httpx.Response(200))
    ) as bc:
        assert isinstance(bc, RecordSystem)
