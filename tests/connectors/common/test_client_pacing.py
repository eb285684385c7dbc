"""The shared HTTP client and a rate budget: every request it sends waits for its turn first
(retries and an auth flow's resend included), paths relative to the base URL, and a turn too
far away is raised as it is, unretried, with nothing sent."""

from __future__ import annotations

from collections.abc import Generator

import httpx
import pytest

from connectors.common import HttpClient, RetryPolicy
from engine.errors import RateBudgetError

BASE = "http://bc.test/v2.0/cronus/production/api/v2.0/"


class RecordingPacer:
    """Records what it was asked to pace; refuses once `refuse` is set."""

    def __init__(self, refuse: bool = False) -> None:
        self.paced: list[str] = []
        self.refuse = refuse

    def pace(self, method: str, path: str) -> float:
        if self.refuse:
            raise RateBudgetError(f"{method} {path} not sent", system="bc", retry_after=90.0)
        self.paced.append(f"{method} {path}")
        return 0.0


def _client(handler: httpx.MockTransport, pacer: RecordingPacer, sleeps: list[float], auth: httpx.Auth | None = None) -> HttpClient:
    return HttpClient("bc", BASE, transport=handler, retry=RetryPolicy(sleep=sleeps.append), pacer=pacer, auth=auth)


def test_each_request_and_each_retry_waits_for_its_turn() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(503), httpx.Response(200, json={})])
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return next(answers)

    pacer, sleeps = RecordingPacer(), []
    with _client(httpx.MockTransport(handler), pacer, sleeps) as http:
        http.request("GET", "companies(1)/items?$top=1")
    assert pacer.paced == ["GET /companies(1)/items"] * 3
    assert len(sent) == 3 and sleeps[0] == 2.0


class ResendAfter401(httpx.Auth):
    """An auth flow that sends again with a new credential after a 401 (as BearerAuth does)."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer old"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = "Bearer new"
            yield request


def test_the_resend_of_an_auth_flow_is_paced_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401 if request.headers["Authorization"] == "Bearer old" else 200, json={})

    pacer = RecordingPacer()
    with _client(httpx.MockTransport(handler), pacer, [], auth=ResendAfter401()) as http:
        http.request("POST", "companies(1)/salesOrders", json={}, idempotent=False)
    assert pacer.paced == ["POST /companies(1)/salesOrders"] * 2


def test_a_turn_too_far_away_is_raised_unretried_and_nothing_is_sent() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    sleeps: list[float] = []
    with _client(httpx.MockTransport(handler), RecordingPacer(refuse=True), sleeps) as http, pytest.raises(RateBudgetError) as raised:
        http.request("GET", "companies")
    assert raised.value.retry_after == 90.0
    assert sent == [] and sleeps == []


def test_without_a_pacer_nothing_waits() -> None:
    with HttpClient("bc", BASE, transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}))) as http:
        assert http.request("GET", "companies").status_code == 200
