"""What a file job needs of the store to work its transaction sets one by one, on every backend:
claim one given job, list a file's set jobs by key prefix, wait without spending an attempt,
and read one set's bytes from the file stored once."""

from __future__ import annotations

from datetime import timedelta

from store_support import FakeClock

from engine.store import JobState, NewJob, Store


def test_claim_one_takes_a_due_job_and_nothing_else(store: Store, clock: FakeClock) -> None:
    due, _ = store.enqueue("r", "f|1", kind="transaction")
    later, _ = store.enqueue("r", "f|2", kind="transaction", not_before=clock.now + timedelta(minutes=5))

    claimed = store.claim_one(due.id, "w1")
    assert claimed is not None and claimed.state is JobState.RUNNING and claimed.claimed_by == "w1" and claimed.attempts == 1
    assert store.claim_one(due.id, "w2") is None, "running elsewhere"
    assert store.claim_one(later.id, "w1") is None, "not due yet"
    clock.advance(minutes=6)
    assert store.claim_one(later.id, "w1") is not None


def test_children_are_the_jobs_under_a_key_prefix_oldest_first(store: Store) -> None:
    store.enqueue_many("r", [NewJob(key=f"inbox/a.edi@1|{n}", kind="transaction") for n in (3, 1, 2)])
    store.enqueue("r", "inbox/a.edi@1#other|1", kind="transaction")  # another copy of the file: not a child
    store.enqueue("r", "inbox/a.edi@1", kind="file")

    assert [job.key for job in store.children("inbox/a.edi@1|")] == ["inbox/a.edi@1|3", "inbox/a.edi@1|1", "inbox/a.edi@1|2"]


def test_defer_puts_a_running_job_back_to_wait_without_spending_an_attempt(store: Store, clock: FakeClock) -> None:
    job, _ = store.enqueue("r", "file", kind="file")
    claimed = store.claim("w1", limit=1)[0]
    assert claimed.attempts == 1

    waiting = store.defer(job.id, reason="waiting for 2 of 3 sets", not_before=clock.now + timedelta(seconds=30), worker_id="w1")

    assert waiting.state is JobState.PENDING and waiting.attempts == 0 and waiting.claimed_by is None
    assert waiting.last_error == "waiting for 2 of 3 sets"
    assert store.claim("w1", limit=1) == []
    clock.advance(seconds=31)
    assert store.claim("w1", limit=1)[0].attempts == 1


def test_artifact_range_reads_bytes_of_the_newest_artifact_without_the_rest(store: Store) -> None:
    job, _ = store.enqueue("r", "file", kind="file")
    content = b"ISA*...~GS*...~ST*850*0001~BEG*00~SE*3*0001~\xc3\xa9ST*850*0002~SE*2*0002~"
    store.put_artifact(job.id, "input", "a.edi", content, media_type="application/edi-x12")
    start = content.index(b"ST*850*0002")

    assert store.artifact_range(job.id, "input", start, len(content) - start) == b"ST*850*0002~SE*2*0002~"
    assert store.artifact_range(job.id, "input", 0, 3) == b"ISA"
    assert store.artifact_range(job.id, "input", content.index(b"\xc3"), 2) == b"\xc3\xa9", "byte offsets, not characters"
    assert store.artifact_range(job.id, "output", 0, 3) is None


def test_artifact_range_of_an_artifact_stored_in_chunks_reads_across_chunk_borders(store: Store) -> None:
    """A file pushed to the webhook is stored in chunks (`put_artifact_stream`): a set's bytes
    may start in one chunk and end in another."""
    job, _ = store.enqueue("r", "push", kind="file")
    pieces = [b"ISA*00~GS*PO~", b"ST*850*0001~BE", b"G*00~SE*3*0001~", b"", b"ST*850*0002~SE*2*0002~GE~IEA~"]
    content = b"".join(pieces)
    store.put_artifact_stream(job.id, "input", "push.edi", iter(pieces), media_type="application/edi-x12")

    for start, end in [(0, 3), (13, 40), (content.index(b"ST*850*0002"), len(content)), (14, 15), (0, len(content)), (len(content) - 2, len(content) + 10)]:
        assert store.artifact_range(job.id, "input", start, end - start) == content[start:end], (start, end)
    assert store.artifact_range(job.id, "input", len(content) + 5, 3) == b""
