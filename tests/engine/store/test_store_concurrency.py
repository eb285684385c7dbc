"""Concurrency: many threads (and processes) on one store take disjoint jobs, distinct control
numbers, and exactly one of each contested record or lease.

Threads start together at a barrier; nothing sleeps. On SQLite the writers queue on the database
lock; on PostgreSQL they run truly in parallel on row locks and SKIP LOCKED.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from store_support import T0, take_control_numbers

from engine.store import JobState, NewJob, Store

T = TypeVar("T")
THREADS = 8


def _together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(0..count-1)` on `count` threads released at the same moment."""
    start = threading.Barrier(count)

    def run(index: int) -> T:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_workers_claim_every_job_exactly_once(store: Store) -> None:
    total = THREADS * 200
    store.enqueue_many("r", [NewJob(f"DOC-{i}", "810") for i in range(total)])

    def work(index: int) -> list[int]:
        taken: list[int] = []
        while batch := store.claim(f"w{index}", limit=8, now=T0):
            with store.transaction() as tx:
                for job in batch:
                    tx.complete(job.id, worker_id=f"w{index}")
            taken.extend(job.id for job in batch)
        return taken

    claimed = [job_id for taken in _together(THREADS, work) for job_id in taken]
    assert len(claimed) == total
    assert len(set(claimed)) == total
    assert store.job_counts()[JobState.DONE] == total
    assert {job.attempts for job in store.jobs(limit=total)} == {1}


def test_a_claim_skips_jobs_locked_by_an_open_claim_without_waiting(postgres_url: str, tmp_path: Path) -> None:
    with Store.open(postgres_url, state_dir=tmp_path) as store:
        ids = [e.job.id for e in store.enqueue_many("r", [NewJob(f"K{i}", "810") for i in range(4)])]
        with store.transaction() as tx:
            first = tx.claim("w1", limit=2)
            second = store.claim("w2", limit=2)
        assert [job.id for job in first] == ids[:2]
        assert [job.id for job in second] == ids[2:]


def test_concurrent_next_control_is_gap_free_and_never_repeats(store: Store) -> None:
    per_thread = 100
    numbers = _together(THREADS, lambda _: [store.next_control("acme", "isa") for _ in range(per_thread)])
    taken = sorted(n for batch in numbers for n in batch)
    assert taken == list(range(1, THREADS * per_thread + 1))
    for batch in numbers:
        assert batch == sorted(batch)


def test_next_control_from_several_processes_is_gap_free(store: Store, database_url: str, tmp_path: Path) -> None:
    processes, per_process = 3, 60
    store.next_control("acme", "isa")
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(processes, mp_context=context) as pool:
        start = manager.Barrier(processes)
        futures = [
            pool.submit(take_control_numbers, database_url, str(tmp_path), "acme", per_process, start)
            for _ in range(processes)
        ]
        taken = sorted(n for future in futures for n in future.result())
    assert taken == list(range(2, processes * per_process + 2))


def test_concurrent_enqueues_of_one_key_create_one_job(store: Store) -> None:
    results = _together(THREADS, lambda i: store.enqueue("r", "INV-1", kind="810", payload={"thread": i}))
    assert sum(created for _, created in results) == 1
    assert len({job.id for job, _ in results}) == 1
    assert len(store.jobs()) == 1


def test_concurrent_interchange_records_find_one_winner(store: Store) -> None:
    results = _together(THREADS, lambda _: store.interchange_record("ZZ", "ACME", 42))
    assert Counter(results) == {True: 1, False: THREADS - 1}


def test_concurrent_ledger_records_find_one_winner(store: Store) -> None:
    results = _together(THREADS, lambda i: store.ledger_record("inbox/PO_1.edi", "ab" * 32, partner=f"p{i}"))
    assert sum(created for _, created in results) == 1
    assert len({entry.partner for entry, _ in results}) == 1


def test_concurrent_lease_attempts_find_one_holder(store: Store) -> None:
    results = _together(THREADS, lambda i: store.try_lease("poll:r", f"w{i}", 30, now=T0))
    assert Counter(results) == {True: 1, False: THREADS - 1}


def test_concurrent_takeovers_of_an_expired_lease_find_one_holder(store: Store) -> None:
    assert store.try_lease("poll:r", "dead-worker", 30, now=T0)
    later = T0.replace(minute=5)
    results = _together(THREADS, lambda i: store.try_lease("poll:r", f"w{i}", 30, now=later))
    assert Counter(results) == {True: 1, False: THREADS - 1}


def test_concurrent_cursor_advances_from_one_value_let_one_win(store: Store) -> None:
    store.advance_cursor("r", "A", expected=None)
    results = _together(
        THREADS,
        lambda i: store.enqueue_many_and_advance("r", [NewJob(f"K{i}", "810")], f"B{i}", expected="A").advanced,
    )
    assert Counter(results) == {True: 1, False: THREADS - 1}
    assert len(store.jobs()) == 1
    assert store.cursor("r") == f"B{store.jobs()[0].key[1:]}"
