"""The shared retry policy: each wait follows the answer just refused (its Retry-After, else
full-jitter backoff), the bounds hold, and every retry is reported to the engine's watcher."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest

from connectors.common import HttpClient, RetryPolicy
from engine.errors import RetriableHttpError, TransportError
from engine.retries import watching_retries


def _answers(*responses: httpx.Response) -> httpx.MockTransport:
    queue: Iterator[httpx.Response] = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return next(queue)

    return httpx.MockTransport(handler)


def _refused(status: int, retry_after: float | None = None) -> httpx.Response:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return httpx.Response(status, json={"error": {"code": "Busy", "message": "try later"}}, headers=headers)


def _client(transport: httpx.MockTransport, sleeps: list[float], **options: float) -> HttpClient:
    retry = RetryPolicy(sleep=sleeps.append, rng=random.Random(7), **options)  # type: ignore[arg-type]
    return HttpClient("bc", "http://bc.test/", transport=transport, retry=retry)


def test_each_wait_is_the_retry_after_of_the_answer_just_refused() -> None:
    sleeps: list[float] = []
    transport = _answers(_refused(429, 1), _refused(429, 5), _refused(503, 9), _refused(429, 13), httpx.Response(200, json={}))

    with _client(transport, sleeps, max_total_seconds=600.0) as http:
        http.request("GET", "items")

    assert sleeps == [1.0, 5.0, 9.0, 13.0]


def test_an_answer_without_retry_after_backs_off_instead_of_repeating_the_previous_one() -> None:
    sleeps: list[float] = []
    transport = _answers(_refused(429, 7), _refused(503), httpx.Response(200, json={}))

    with _client(transport, sleeps, base=0.5) as http:
        http.request("GET", "items")

    assert sleeps[0] == 7.0
    assert 0.0 <= sleeps[1] <= 1.0, "the 503 said nothing: full jitter under base * 2^(2-1), not the 429's 7 s again"


def test_backoff_is_full_jitter_under_a_doubling_ceiling() -> None:
    sleeps: list[float] = []
    transport = _answers(*(_refused(503) for _ in range(5)), httpx.Response(200, json={}))

    with _client(transport, sleeps, base=0.5, cap=30.0) as http:
        http.request("GET", "items")

    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert len(sleeps) == 5
    assert all(0.0 <= wait <= ceiling for wait, ceiling in zip(sleeps, ceilings, strict=True))
    assert len(set(sleeps)) == 5


def test_a_retry_after_beyond_the_cap_is_cut_to_the_cap() -> None:
    sleeps: list[float] = []
    transport = _answers(_refused(429, 86_400), httpx.Response(200, json={}))

    with _client(transport, sleeps, max_retry_after=120.0, max_total_seconds=600.0) as http:
        http.request("GET", "items")

    assert sleeps == [120.0]


def test_the_total_bound_counts_the_wait_about_to_be_slept() -> None:
    sleeps: list[float] = []
    transport = _answers(_refused(429, 4), _refused(429, 4), _refused(429, 4), _refused(429, 4))

    with _client(transport, sleeps, max_attempts=10, max_total_seconds=10.0) as http, pytest.raises(RetriableHttpError) as caught:
        http.request("GET", "items")

    assert caught.value.status == 429
    assert sleeps == [4.0, 4.0], "a third wait would end past 10 s: the error is raised instead"


def test_the_attempt_bound_counts_the_first_try() -> None:
    sleeps: list[float] = []
    transport = _answers(*(_refused(503) for _ in range(3)))

    with _client(transport, sleeps, max_attempts=3) as http, pytest.raises(RetriableHttpError):
        http.request("GET", "items")

    assert len(sleeps) == 2


def test_every_retry_is_reported_to_the_watcher_of_this_thread() -> None:
    sleeps: list[float] = []
    seen: list[tuple[str, float, int]] = []
    transport = _answers(_refused(429, 3), _refused(503, 2), httpx.Response(200, json={}))

    with _client(transport, sleeps) as http, watching_retries(lambda error, wait, attempt: seen.append((type(error).__name__, wait, attempt))):
        http.request("GET", "items")

    assert seen == [("RetriableHttpError", 3.0, 1), ("RetriableHttpError", 2.0, 2)]


def test_no_watcher_after_the_block() -> None:
    seen: list[float] = []
    transport = _answers(_refused(503, 1), httpx.Response(200, json={}), _refused(503, 1), httpx.Response(200, json={}))

    with _client(transport, []) as http:
        with watching_retries(lambda error, wait, attempt: seen.append(wait)):
            http.request("GET", "items")
        http.request("GET", "items")

    assert seen == [1.0]


def test_a_failing_watcher_does_not_fail_the_call() -> None:
    def broken(error: BaseException, wait: float, attempt: int) -> None:
        raise RuntimeError("audit down")

    transport = _answers(_refused(503, 1), httpx.Response(200, json={"ok": True}))

    with _client(transport, []) as http, watching_retries(broken):
        assert http.json(http.request("GET", "items")) == {"ok": True}


def test_a_dropped_connection_is_retried_and_reported() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json={})

    seen: list[str] = []
    with _client(httpx.MockTransport(handler), []) as http, watching_retries(lambda error, wait, attempt: seen.append(type(error).__name__)):
        http.request("GET", "items")

    assert seen == [TransportError.__name__]
