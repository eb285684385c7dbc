"""Jobs: enqueue once per (route, key), claim, and every state change, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_support import T0, FakeClock

from engine.errors import StoreError
from engine.store import JobState, NewJob, Store


def test_enqueue_creates_a_pending_job_due_now(store: Store) -> None:
    job, created = store.enqueue(
        "bc-810", "INV-1", kind="810", partner="acme", payload={"number": "INV-1"}, source_ref="bc:invoice/1"
    )
    assert created
    assert (job.route, job.key, job.kind, job.partner) == ("bc-810", "INV-1", "810", "acme")
    assert job.state is JobState.PENDING
    assert job.attempts == 0
    assert job.payload == {"number": "INV-1"}
    assert job.source_ref == "bc:invoice/1"
    assert job.not_before == job.created_at == T0
    assert store.get(job.id) == job


def test_enqueuing_the_same_route_and_key_twice_is_a_no_op(store: Store, clock: FakeClock) -> None:
    first, created = store.enqueue("bc-810", "INV-1", kind="810", payload={"version": 1})
    clock.advance(minutes=5)
    second, created_again = store.enqueue("bc-810", "INV-1", kind="810", payload={"version": 2})
    assert created and not created_again
    assert second == first
    assert second.payload == {"version": 1}
    assert len(store.jobs()) == 1


def test_the_same_key_on_another_route_is_another_job(store: Store) -> None:
    a, _ = store.enqueue("bc-810", "1001", kind="810")
    b, created = store.enqueue("gp-810", "1001", kind="810")
    assert created and a.id != b.id


def test_enqueue_many_reports_which_jobs_were_new(store: Store) -> None:
    store.enqueue("r", "B", kind="810")
    results = store.enqueue_many("r", [NewJob("A", "810"), NewJob("B", "810"), NewJob("C", "810", partner="acme")])
    assert [(e.job.key, e.created) for e in results] == [("A", True), ("B", False), ("C", True)]


def test_claim_takes_due_jobs_oldest_first_and_marks_them_running(store: Store) -> None:
    ids = [store.enqueue("r", f"K{i}", kind="810").job.id for i in range(3)]
    claimed = store.claim("w1", limit=2)
    assert [job.id for job in claimed] == ids[:2]
    for job in claimed:
        assert job.state is JobState.RUNNING
        assert job.attempts == 1
        assert job.claimed_by == "w1"
        assert job.claimed_at == job.heartbeat_at == T0
    assert [job.id for job in store.claim("w2", limit=5)] == ids[2:]
    assert store.claim("w3", limit=5) == []


def test_claim_skips_jobs_not_due_yet(store: Store, clock: FakeClock) -> None:
    later = store.enqueue("r", "later", kind="810", not_before=T0 + timedelta(minutes=10)).job
    assert store.claim("w1") == []
    assert store.claim("w1", now=T0 + timedelta(minutes=10)) == [store.get(later.id)]


def test_claim_can_be_limited_to_routes(store: Store) -> None:
    store.enqueue("a", "1", kind="810")
    b = store.enqueue("b", "1", kind="810").job
    assert [job.id for job in store.claim("w1", limit=10, routes=["b"])] == [b.id]
    assert store.claim("w1", limit=10, routes=[]) == []


def test_complete_stores_the_result(store: Store) -> None:
    job = store.enqueue("r", "K", kind="810").job
    store.claim("w1")
    done = store.complete(job.id, result={"file": "ACME_810_K.edi"})
    assert done.state is JobState.DONE
    assert done.result == {"file": "ACME_810_K.edi"}


def test_complete_many_marks_each_job_done_with_its_own_result_in_one_statement(store: Store, clock: FakeClock) -> None:
    jobs = [store.enqueue("r", f"K{n}", kind="document").job for n in range(3)]
    claimed = store.claim("w1", limit=3)
    clock.advance(minutes=1)
    done = store.complete_many([(job, {"file": f"{job.key}.edi"}) for job in claimed], worker_id="w1")
    assert [job.id for job in done] == [job.id for job in jobs]
    assert [store.get(job.id) for job in jobs] == done
    assert [(job.state, job.result, job.updated_at) for job in done] == [(JobState.DONE, {"file": f"K{n}.edi"}, T0 + timedelta(minutes=1)) for n in range(3)]


def test_complete_many_is_refused_when_one_job_is_not_held_by_the_worker(store: Store) -> None:
    jobs = [store.enqueue("r", f"K{n}", kind="document").job for n in range(3)]
    claimed = store.claim("w1", limit=3)
    store.defer(jobs[1].id, reason="released", not_before=T0, worker_id="w1")
    store.claim_one(jobs[1].id, "w2")
    with pytest.raises(StoreError, match=r"cannot complete 1 of jobs \[\d+, \d+, \d+\]: no longer running or not held by 'w1'"):
        store.complete_many([(job, {}) for job in claimed], worker_id="w1")
    assert [store.get(job.id).state for job in jobs] == [JobState.RUNNING] * 3  # nothing committed


def test_retry_schedules_the_job_and_a_later_claim_counts_the_attempt(store: Store) -> None:
    job = store.enqueue("r", "K", kind="810").job
    store.claim("w1")
    failed = store.retry(job.id, error="HTTP 503", not_before=T0 + timedelta(seconds=30))
    assert failed.state is JobState.FAILED
    assert failed.last_error == "HTTP 503"
    assert failed.claimed_by is None
    assert store.claim("w1", now=T0 + timedelta(seconds=29)) == []
    (again,) = store.claim("w2", now=T0 + timedelta(seconds=30))
    assert again.attempts == 2
    assert again.claimed_by == "w2"


def test_dead_letter_keeps_the_reason_and_is_never_claimed(store: Store, clock: FakeClock) -> None:
    job = store.enqueue("r", "K", kind="810").job
    store.claim("w1")
    dead = store.dead_letter(job.id, error="unknown item 'X-1'")
    assert dead.state is JobState.DEAD
    assert dead.last_error == "unknown item 'X-1'"
    assert store.claim("w1", now=clock.advance(days=30)) == []


def test_skip_keeps_the_reason(store: Store) -> None:
    job = store.enqueue("r", "K", kind="810").job
    skipped = store.skip(job.id, "invoice has no EDI partner")
    assert skipped.state is JobState.SKIPPED
    assert skipped.last_error == "invoice has no EDI partner"
    assert store.claim("w1") == []


def test_requeue_makes_a_dead_job_pending_with_attempts_reset(store: Store, clock: FakeClock) -> None:
    job = store.enqueue("r", "K", kind="810").job
    store.claim("w1")
    store.dead_letter(job.id, error="period closed")
    revived = store.requeue(job.id, now=clock.advance(hours=1))
    assert revived.state is JobState.PENDING
    assert revived.attempts == 0
    assert revived.not_before == clock.now
    assert [j.id for j in store.claim("w1")] == [job.id]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param(lambda s, i: s.complete(i), "cannot complete job 1: it is pending, not running", id="complete"),
        pytest.param(
            lambda s, i: s.retry(i, error="x", not_before=T0),
            "cannot retry job 1: it is pending, not running",
            id="retry",
        ),
        pytest.param(
            lambda s, i: s.dead_letter(i, error="x"), "cannot dead-letter job 1: it is pending, not running", id="dead"
        ),
        pytest.param(
            lambda s, i: s.requeue(i),
            "cannot requeue job 1: it is pending, not done or dead or skipped or failed or review",
            id="requeue",
        ),
    ],
)
def test_a_state_change_from_the_wrong_state_is_refused(store: Store, action: object, message: str) -> None:
    job = store.enqueue("r", "K", kind="810").job
    assert job.id == 1
    with pytest.raises(StoreError) as caught:
        action(store, job.id)  # type: ignore[operator]
    assert str(caught.value) == message
    assert store.get(job.id) == job


def test_a_worker_cannot_complete_a_job_another_worker_holds(store: Store) -> None:
    job = store.enqueue("r", "K", kind="810").job
    store.claim("w1")
    with pytest.raises(StoreError, match="it is held by 'w1', not 'w2'"):
        store.complete(job.id, worker_id="w2")
    assert store.complete(job.id, worker_id="w1").state is JobState.DONE


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda s: s.get(404), id="get"),
        pytest.param(lambda s: s.complete(404), id="complete"),
        pytest.param(lambda s: s.skip(404, "x"), id="skip"),
        pytest.param(lambda s: s.requeue(404), id="requeue"),
    ],
)
def test_an_unknown_job_id_is_a_store_error(store: Store, action: object) -> None:
    with pytest.raises(StoreError, match=r"^job 404 does not exist$"):
        action(store)  # type: ignore[operator]


def test_release_stale_returns_jobs_of_silent_workers_to_pending(store: Store) -> None:
    a = store.enqueue("r", "A", kind="810").job
    b = store.enqueue("r", "B", kind="810").job
    store.claim("dead-worker", limit=2, now=T0)
    assert store.heartbeat(b.id, "dead-worker", now=T0 + timedelta(minutes=4))
    released = store.release_stale(T0 + timedelta(minutes=3), now=T0 + timedelta(minutes=5))
    assert released == 1
    assert store.get(a.id).state is JobState.PENDING
    assert store.get(a.id).claimed_by is None
    assert store.get(b.id).state is JobState.RUNNING
    (reclaimed,) = store.claim("w2", now=T0 + timedelta(minutes=5))
    assert (reclaimed.id, reclaimed.attempts) == (a.id, 2)


def test_heartbeat_reports_a_lost_job(store: Store) -> None:
    job = store.enqueue("r", "A", kind="810").job
    store.claim("w1", now=T0)
    store.release_stale(T0 + timedelta(minutes=1))
    store.claim("w2", now=T0 + timedelta(minutes=1))
    assert not store.heartbeat(job.id, "w1")
    assert store.heartbeat(job.id, "w2")


def test_heartbeat_all_extends_every_running_job_of_the_worker_and_no_one_else_s(store: Store) -> None:
    mine = [store.enqueue("r", key, kind="810").job for key in ("A", "B")]
    theirs = store.enqueue("r", "C", kind="810").job
    done = store.enqueue("r", "D", kind="810").job
    store.claim("w1", limit=2, now=T0)
    store.claim("w2", limit=2, now=T0)  # C and D
    store.complete(done.id, worker_id="w2")
    assert store.heartbeat_all("w1", now=T0 + timedelta(minutes=4)) == 2
    assert store.release_stale(T0 + timedelta(minutes=3), now=T0 + timedelta(minutes=5)) == 1  # only w2's C was silent
    assert [store.get(job.id).state for job in mine] == [JobState.RUNNING, JobState.RUNNING]
    assert store.get(theirs.id).state is JobState.PENDING
    assert store.heartbeat_all("nobody") == 0


def test_jobs_lists_newest_first_filtered_by_state_and_route(store: Store) -> None:
    a = store.enqueue("r1", "A", kind="810").job
    b = store.enqueue("r2", "B", kind="810").job
    c = store.enqueue("r1", "C", kind="810").job
    store.skip(c.id, "nothing to send")
    assert [j.id for j in store.jobs()] == [c.id, b.id, a.id]
    assert [j.id for j in store.jobs(state="pending")] == [b.id, a.id]
    assert [j.id for j in store.jobs(state=JobState.PENDING, route="r1")] == [a.id]
    assert [j.id for j in store.jobs(limit=1)] == [c.id]


def test_job_counts_name_every_state(store: Store) -> None:
    store.enqueue("r", "A", kind="810")
    b = store.enqueue("r", "B", kind="810").job
    store.skip(b.id, "no partner")
    counts = store.job_counts()
    assert counts[JobState.PENDING] == 1
    assert counts[JobState.SKIPPED] == 1
    assert counts[JobState.DEAD] == 0
    assert set(counts) == set(JobState)


def test_find_jobs_by_id_key_source_ref_and_file_name(store: Store) -> None:
    a = store.enqueue("bc-810", "INV-1", kind="810").job
    b = store.enqueue("cleo-850", "file-77", kind="850", source_ref="inbox/PO_77.edi").job
    store.put_artifact(a.id, "output", "ACME_810_INV-1.edi", b"ISA*...", "application/edi-x12")
    assert [j.id for j in store.find_jobs("INV-1")] == [a.id]
    assert [j.id for j in store.find_jobs("inbox/PO_77.edi")] == [b.id]
    assert [j.id for j in store.find_jobs(str(b.id))] == [b.id]
    assert [j.id for j in store.find_jobs("ACME_810_INV-1.edi")] == [a.id]
    assert store.find_jobs("nothing") == []
