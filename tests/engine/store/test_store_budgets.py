"""Rate budgets in the state store, on every backend: the same grant times as the GCRA in
memory, refusals that take nothing, and several workers (threads, processes) sharing one store
that together never exceed the budget. Times are passed in: nothing sleeps."""

from __future__ import annotations

import bisect
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from store_support import VirtualClock, pace_requests

from engine.config.rate_limit import Rate, RateLimit
from engine.pacing import MemorySlots, Pacer, Refused, StoreSlots, Want
from engine.store import Store

T0 = 1_800_000_000.0
"""A wall time (seconds since the epoch) as the workers' clocks would give."""

BC, CLEO = Want("bc", Rate(50, 1.0)), Want("cleo", Rate(10, 1.0, burst=3))
AUTH = Want("cleo POST /api/authentication", Rate(2, 1.0))

SCRIPT: list[tuple[float, list[Want], float]] = [
    (T0, [BC], 60), (T0, [BC], 60), (T0, [BC], 60), (T0 + 1, [BC], 60), (T0 + 1.001, [BC], 60),
    (T0, [CLEO], 60), (T0, [CLEO], 60), (T0, [CLEO], 60), (T0, [CLEO], 60), (T0 + 0.5, [CLEO], 60),
    (T0 + 0.5, [CLEO, AUTH], 60), (T0 + 0.5, [CLEO, AUTH], 60), (T0 + 0.5, [CLEO, AUTH], 0.6), (T0 + 0.5, [CLEO, AUTH], 60),
    (T0 + 100, [Want("bc", Rate(1, 60.0))], 0), (T0 + 100, [Want("bc", Rate(1, 60.0))], 30),
]
"""(now, budgets, max_wait) of successive requests: spacing, an idle budget, a burst, a request
under two budgets, a refusal, a changed budget."""


def play(slots: StoreSlots | MemorySlots) -> list[float | str]:
    outcomes: list[float | str] = []
    for now, wants, max_wait in SCRIPT:
        try:
            outcomes.append(slots.reserve(wants, now=now, max_wait=max_wait) - T0)
        except Refused as refused:
            outcomes.append(f"refused {refused.want.name} until {refused.at - T0:.4f}")
    return outcomes


def test_the_store_grants_the_turns_the_gcra_computes(store: Store) -> None:
    expected = play(MemorySlots())
    assert expected[:5] == pytest.approx([0.0, 0.02, 0.04, 1.0, 1.02])
    assert expected[12] == "refused cleo POST /api/authentication until 1.5000"
    got = play(StoreSlots(store))
    assert [round(x, 9) if isinstance(x, float) else x for x in got] == [round(x, 9) if isinstance(x, float) else x for x in expected]


def test_a_refused_request_takes_no_slot_of_any_of_its_budgets(store: Store) -> None:
    slots = StoreSlots(store)
    endpoint = Want("cleo /api/files", Rate(1, 10.0))
    slots.reserve([CLEO, endpoint], now=T0, max_wait=1.0)
    with pytest.raises(Refused):
        slots.reserve([CLEO, endpoint], now=T0, max_wait=1.0)
    with store.transaction() as tx:
        assert tx.rate_tat("cleo") == pytest.approx(T0 + CLEO.rate.spacing)
        assert tx.rate_tat("cleo /api/files") == pytest.approx(T0 + 10.0)


def test_a_budget_never_used_has_no_row(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.rate_tat("gp") is None
        assert tx.reserve_rate("gp", now=T0, spacing=0.5, max_wait=0) == T0
        assert tx.rate_tat("gp") == T0 + 0.5


def spaced(sent: list[float], requests: int, per: float) -> None:
    """Every window of `per` seconds holds at most `requests` of the send times."""
    ordered = sorted(sent)
    for i, start in enumerate(ordered):
        assert bisect.bisect_left(ordered, start + per - 1e-6) - i <= requests


def test_threads_sharing_a_store_take_every_slot_once_and_stay_under_the_budget(store: Store) -> None:
    threads, each = 6, 40
    start = threading.Barrier(threads)

    def worker(_: int) -> list[float]:
        clock = VirtualClock(T0)
        pacer = Pacer("bc", RateLimit(Rate(50, 1.0)), StoreSlots(store), clock=clock, sleep=clock.sleep)
        start.wait()
        sent = []
        for _ in range(each):
            pacer.pace("GET", "/companies")
            sent.append(clock.now)
        return sent

    with ThreadPoolExecutor(threads) as pool:
        sent = [t for times in pool.map(worker, range(threads)) for t in times]
    # every request arrived before the budget was idle again: the slots are back to back
    assert sorted(sent) == pytest.approx([T0 + i * 0.02 for i in range(threads * each)])
    spaced(sent, 50, 1.0)


def test_two_worker_processes_sharing_a_store_together_stay_under_the_budget(store: Store, database_url: str, tmp_path: Path) -> None:
    processes, each = 2, 60
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(processes, mp_context=context) as pool:
        start = manager.Barrier(processes)
        futures = [pool.submit(pace_requests, database_url, str(tmp_path), 20, 1.0, each, start, T0) for _ in range(processes)]
        per_process = [future.result() for future in futures]
    sent = [t for times in per_process for t in times]
    assert all(len(times) == each for times in per_process)
    assert sorted(sent) == pytest.approx([T0 + i * 0.05 for i in range(processes * each)])
    spaced(sent, 20, 1.0)
