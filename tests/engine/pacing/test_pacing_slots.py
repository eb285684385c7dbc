"""The GCRA of rate budgets, computed with an injected clock: grant times, bursts, idle budgets,
refusals past max_wait, and the window guarantee (never more than `requests` per `per`)."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.rate_limit import Rate
from engine.pacing import MemorySlots, Refused, Want

FIFTY_PER_SECOND = Rate(50, 1.0)


def grants(slots: MemorySlots, want: Want, arrivals: list[float], max_wait: float = 3600.0) -> list[float]:
    return [slots.reserve([want], now=now, max_wait=max_wait) for now in arrivals]


def test_requests_arriving_together_go_one_spacing_apart() -> None:
    sent = grants(MemorySlots(), Want("bc", FIFTY_PER_SECOND), [100.0] * 5)
    assert sent == pytest.approx([100.0, 100.02, 100.04, 100.06, 100.08])


def test_a_request_after_its_turn_goes_at_once() -> None:
    sent = grants(MemorySlots(), Want("bc", FIFTY_PER_SECOND), [100.0, 100.5, 100.5, 101.0])
    assert sent == pytest.approx([100.0, 100.5, 100.52, 101.0])


def test_a_burst_goes_at_once_and_the_rest_keeps_the_window_total() -> None:
    rate = Rate(10, 1.0, burst=3)  # spacing 1/8 s
    sent = grants(MemorySlots(), Want("cleo", rate), [0.0] * 10)
    assert sent == pytest.approx([0, 0, 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875])
    assert sum(1 for t in sent if t < 1.0) == 10  # exactly the budget in the first second
    assert grants(MemorySlots(), Want("cleo", rate), [0.0] * 11)[-1] == pytest.approx(1.0)


def test_an_idle_budget_saves_up_no_more_than_its_burst() -> None:
    slots = MemorySlots()
    want = Want("cleo", Rate(10, 1.0, burst=2))
    grants(slots, want, [0.0])
    later = grants(slots, want, [3600.0] * 4)
    assert later == pytest.approx([3600.0, 3600.0, 3600 + 1 / 9, 3600 + 2 / 9])


def test_a_turn_past_max_wait_is_refused_and_takes_nothing() -> None:
    slots = MemorySlots()
    want = Want("bc", Rate(10, 1.0))  # spacing 0.1 s
    assert grants(slots, want, [0.0, 0.0], max_wait=0.1) == pytest.approx([0.0, 0.1])
    with pytest.raises(Refused) as refused:
        slots.reserve([want], now=0.0, max_wait=0.1)
    assert refused.value.want == want
    assert refused.value.at == pytest.approx(0.2)
    # the refused request took no slot: the next one gets the turn it would have had
    assert slots.reserve([want], now=0.1, max_wait=0.1) == pytest.approx(0.2)


def test_a_request_under_two_budgets_goes_at_the_later_turn() -> None:
    slots = MemorySlots()
    connection, endpoint = Want("cleo", Rate(100, 1.0)), Want("cleo POST /api/authentication", Rate(2, 1.0))
    sent = [slots.reserve([connection, endpoint], now=0.0, max_wait=10) for _ in range(3)]
    assert sent == pytest.approx([0.0, 0.5, 1.0])
    # the connection's budget gave one slot per request, 10 ms apart
    assert slots.reserve([connection], now=0.0, max_wait=10) == pytest.approx(0.03)


def test_a_refusal_under_one_budget_takes_no_slot_of_the_other() -> None:
    slots = MemorySlots()
    connection, endpoint = Want("cleo", Rate(100, 1.0)), Want("cleo /api/files", Rate(1, 10.0))
    slots.reserve([connection, endpoint], now=0.0, max_wait=1.0)
    with pytest.raises(Refused) as refused:
        slots.reserve([connection, endpoint], now=0.0, max_wait=1.0)
    assert refused.value.want == endpoint
    assert slots.reserve([connection], now=0.0, max_wait=1.0) == pytest.approx(0.01)


def test_a_changed_budget_starts_afresh() -> None:
    slots = MemorySlots()
    grants(slots, Want("bc", Rate(1, 60.0)), [0.0, 0.0])  # the next turn would be at 120 s
    assert slots.reserve([Want("bc", Rate(50, 1.0))], now=1.0, max_wait=1.0) == pytest.approx(1.0)


def test_budgets_of_different_names_count_apart() -> None:
    slots = MemorySlots()
    grants(slots, Want("bc", Rate(1, 60.0)), [0.0])
    assert slots.reserve([Want("gp", Rate(1, 60.0))], now=0.0, max_wait=0) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    requests=st.integers(min_value=1, max_value=40),
    burst_share=st.floats(min_value=0.0, max_value=1.0),
    per=st.sampled_from([0.5, 1.0, 60.0, 300.0]),
    gaps=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=200),
)
def test_no_window_of_per_seconds_ever_holds_more_than_the_budget(requests: int, burst_share: float, per: float, gaps: list[float]) -> None:
    rate = Rate(requests, per, burst=max(1, round(burst_share * requests)))
    arrivals, now = [], 0.0
    for gap in gaps:
        now += gap * per / requests
        arrivals.append(now)
    sent = grants(MemorySlots(), Want("x", rate), arrivals)
    assert all(s >= a for s, a in zip(sent, arrivals, strict=True))
    ordered = sorted(sent)
    for i, start in enumerate(ordered):
        inside = bisect.bisect_left(ordered, start + per - 1e-9) - i
        assert inside <= requests, (rate, start, inside)
