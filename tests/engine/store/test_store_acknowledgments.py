"""The review job state, order acknowledgments (855) line by line, and artifacts stored from a
stream: on every backend, and on a store migrated from revision 0001."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from engine.errors import StoreError
from engine.store import AcknowledgmentLine, JobState, Store
from engine.store.database import Database, alembic_config, resolve_url


def _line(number: str, *, held: tuple[str, ...] = (), theirs_quantity: float | None = 10.0) -> AcknowledgmentLine:
    return AcknowledgmentLine(
        line_number=number, item=f"ITEM-{number}", status="changed" if held else "accepted", status_code="IQ" if held else "IA",
        ours_quantity=10.0, theirs_quantity=theirs_quantity, ours_price=12.5, theirs_price=None,
        ours_date="2024-05-21", theirs_date="2024-05-28", applied=("expectedReceiptDate",), held=held,
    )


def _running(store: Store) -> int:
    job, _ = store.enqueue("cleo-855", "inbox/855.edi@1", kind="file", partner="globex")
    (claimed,) = store.claim("w1", limit=1)
    assert claimed.id == job.id
    return job.id


def test_a_job_in_review_keeps_its_result_and_reason_and_is_never_claimed(store: Store) -> None:
    job_id = _running(store)

    parked = store.review(job_id, result={"summary": "1 line held"}, reason="106001: 1 line needs the order reopened", worker_id="w1")

    assert parked.state is JobState.REVIEW and parked.result == {"summary": "1 line held"}
    assert parked.last_error == "106001: 1 line needs the order reopened" and parked.claimed_by is None
    assert store.claim("w2", limit=10) == []
    assert [job.id for job in store.jobs(state="review")] == [job_id]
    assert store.job_counts()[JobState.REVIEW] == 1
    assert store.requeue(job_id).state is JobState.PENDING


def test_only_a_running_job_goes_to_review(store: Store) -> None:
    job, _ = store.enqueue("cleo-855", "k", kind="file")
    with pytest.raises(StoreError, match="cannot review job 1: it is pending, not running"):
        store.review(job.id, reason="x")


def test_an_acknowledgment_is_recorded_with_its_lines_and_a_replay_replaces_it(store: Store) -> None:
    job_id = _running(store)
    store.record_acknowledgment(
        job_id, route="cleo-855", partner="globex", document="106001", control="0001", ack_type="AC",
        vendor_order="GSO-88001", acknowledged_on="2024-05-03", state="review", note="1 line held",
        lines=[_line("1"), _line("2", held=("quantity",), theirs_quantity=15.0)],
    )

    (found,) = store.acknowledgments(state="review")
    assert (found.job_id, found.document, found.ack_type, found.vendor_order, found.state) == (job_id, "106001", "AC", "GSO-88001", "review")
    assert [line.line_number for line in found.lines] == ["1", "2"]
    (held,) = found.held_lines
    assert held.held == ("quantity",) and held.applied == ("expectedReceiptDate",)
    assert held.differences == {"quantity": (10.0, 15.0), "date": ("2024-05-21", "2024-05-28")}

    store.record_acknowledgment(
        job_id, route="cleo-855", partner="globex", document="106001", control="0001", ack_type="AC", state="applied", lines=[_line("1"), _line("2")]
    )
    assert store.acknowledgments(state="review") == []
    (again,) = store.acknowledgments(job_id)
    assert again.state == "applied" and again.received_at == found.received_at and len(again.lines) == 2


def test_an_unknown_acknowledgment_state_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown acknowledgment state 'maybe'"):
        store.record_acknowledgment(None, route="r", partner=None, document="1", control="1", ack_type="AC", state="maybe")


def test_an_artifact_stored_from_chunks_reads_back_whole_with_its_hash(store: Store) -> None:
    job, _ = store.enqueue("push", "k", kind="file")
    pieces = [b"ISA*00*", b"", b"x" * 70000, b"~IEA*1*1~"]

    stored = store.put_artifact_stream(job.id, "input", "push.edi", iter(pieces), media_type="application/edi-x12")

    whole = b"".join(pieces)
    read = store.artifact(job.id, "input")
    assert read is not None and read.content == whole and read.size == len(whole) == stored.size
    assert read.sha256 == stored.sha256 == hashlib.sha256(whole).hexdigest()
    assert [a.content for a in store.artifacts(job.id)] == [whole]


def test_a_store_at_revision_0001_keeps_its_jobs_and_takes_the_review_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(resolve_url(url, tmp_path))
    try:
        with database.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            connection.execute(
                text(
                    "INSERT INTO jobs (route, key, kind, state, attempts, not_before, created_at, updated_at) "
                    "VALUES ('cleo-855', 'old', 'file', 'running', 1, :at, :at, :at)"
                ),
                {"at": "2024-05-06 12:00:00.000000"},
            )
            # 0001's constraint knows no review state
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.execute(text("UPDATE jobs SET state = 'review'"))
    finally:
        database.dispose()

    with Store.open(url, state_dir=tmp_path) as store:  # opening migrates to the newest revision
        (old,) = store.jobs()
        assert (old.key, old.state) == ("old", JobState.RUNNING)
        assert store.review(old.id, reason="held").state is JobState.REVIEW
