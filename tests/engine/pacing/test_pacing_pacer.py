"""`Pacer`: a connection's requests wait for their turn (injected clock and sleep: nothing
sleeps), a turn past max_wait is a transient `RateBudgetError`, waits reach the metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.config.rate_limit import Rate, RateLimit
from engine.errors import RateBudgetError, TransientError
from engine.metrics import Metrics, add_rate_observer, remove_rate_observer
from engine.pacing import MemorySlots, Pacer, rate_limit_of


class Clock:
    """Wall time that moves only when the pacer sleeps."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def observed() -> Iterator[list[tuple[str, float | None]]]:
    seen: list[tuple[str, float | None]] = []

    def observer(connection: str, seconds: float | None) -> None:
        seen.append((connection, seconds))

    add_rate_observer(observer)
    yield seen
    remove_rate_observer(observer)


def pacer(limit: RateLimit, clock: Clock, slots: MemorySlots | None = None) -> Pacer:
    return Pacer("bc", limit, slots or MemorySlots(), clock=clock, sleep=clock.sleep)


def test_the_calling_thread_sleeps_until_its_turn(clock: Clock, observed: list[tuple[str, float | None]]) -> None:
    paced = pacer(RateLimit(Rate(10, 1.0)), clock)
    waits = [paced.pace("GET", "/companies") for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.1, 0.1])
    assert clock.slept == pytest.approx([0.1, 0.1, 0.1])
    assert [connection for connection, _ in observed] == ["bc"] * 4


def test_two_pacers_on_one_store_of_slots_share_the_budget(clock: Clock) -> None:
    slots = MemorySlots()
    first, second = pacer(RateLimit(Rate(10, 1.0)), clock, slots), pacer(RateLimit(Rate(10, 1.0)), clock, slots)
    first.pace("GET", "/a")
    assert second.pace("GET", "/b") == pytest.approx(0.1)


def test_a_request_under_no_budget_is_not_held(clock: Clock, observed: list[tuple[str, float | None]]) -> None:
    limit = rate_limit_of({"rate_limit": {"endpoints": {"POST /login": {"requests": 1, "per": 1}}}}, None)
    assert limit is not None
    assert pacer(limit, clock).pace("GET", "/anything") == 0.0
    assert clock.slept == [] and observed == []


def test_a_turn_past_max_wait_is_a_transient_error_and_nothing_waits(clock: Clock, observed: list[tuple[str, float | None]]) -> None:
    paced = pacer(RateLimit(Rate(1, 60.0), max_wait=5.0), clock)
    paced.pace("POST", "/salesOrders")
    with pytest.raises(RateBudgetError) as raised:
        paced.pace("POST", "/salesOrders")
    error = raised.value
    assert isinstance(error, TransientError)
    assert error.system == "bc"
    assert error.retry_after == pytest.approx(60.0)
    assert str(error) == (
        "bc: POST /salesOrders not sent: its turn under the rate budget 'bc' (1 per 60s) is 60.0s away, more than max_wait 5s"
    )
    assert clock.slept == []
    assert observed[-1] == ("bc", None)


def test_waits_and_refusals_are_metrics(clock: Clock) -> None:
    metrics = Metrics()
    try:
        # time stands still while the pacer sleeps, so the third request's turn is 0.5 s away
        paced = Pacer("bc", RateLimit(Rate(4, 1.0), max_wait=0.3), MemorySlots(), clock=clock, sleep=lambda seconds: None)
        waits = [paced.pace("GET", "/items"), paced.pace("GET", "/items")]
        with pytest.raises(RateBudgetError):
            paced.pace("GET", "/items")
        body = metrics.render()[0].decode()
    finally:
        metrics.close()
    assert waits == [0.0, 0.25]
    assert 'mlc_rate_budget_wait_seconds_count{connection="bc"} 2.0' in body
    assert 'mlc_rate_budget_wait_seconds_sum{connection="bc"} 0.25' in body
    assert 'mlc_rate_budget_refused_total{connection="bc"} 1.0' in body


ENTRY: dict[str, Any] = {"type": "bc"}


def default(entry: Any) -> dict[str, Any]:
    return {"requests": 6000, "per": "300s"}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(ENTRY, RateLimit(Rate(6000, 300.0)), id="the-connector-default"),
        pytest.param({**ENTRY, "rate_limit": {"requests": 50, "per": 1}}, RateLimit(Rate(50, 1.0)), id="the-entry-wins"),
        pytest.param({**ENTRY, "rate_limit": False}, None, id="false-turns-the-default-off"),
    ],
)
def test_a_connection_takes_its_own_budget_else_its_connectors_default(entry: dict[str, Any], expected: RateLimit | None) -> None:
    assert rate_limit_of(entry, default) == expected


def test_a_connector_without_a_default_leaves_the_connection_unpaced() -> None:
    assert rate_limit_of(ENTRY, None) is None
    assert rate_limit_of(ENTRY, lambda entry: None) is None
