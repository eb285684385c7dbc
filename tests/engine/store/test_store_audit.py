"""Audit trails, stored artifacts and leases."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from store_support import T0, FakeClock

from engine.errors import StoreError
from engine.store import NewArtifact, Store


def test_audit_trail_by_document_key_lists_the_jobs_events_in_order(store: Store, clock: FakeClock) -> None:
    job = store.enqueue("bc-810", "INV-1", kind="810").job
    other = store.enqueue("bc-810", "INV-2", kind="810").job
    store.audit(job.id, "fetched", route="bc-810", key="INV-1", status=200, duration_ms=12.5)
    store.audit(other.id, "fetched", key="INV-2")
    store.audit(job.id, "uploaded", status=201, detail={"file": "ACME_810_INV-1.edi"}, at=T0 + timedelta(seconds=2))
    trail = store.audit_trail("INV-1")
    assert [(e.event, e.status) for e in trail] == [("fetched", 200), ("uploaded", 201)]
    assert trail[0].duration_ms == 12.5
    assert trail[0].route == "bc-810"
    assert trail[1].detail == {"file": "ACME_810_INV-1.edi"}
    assert trail[1].at == T0 + timedelta(seconds=2)


def test_audit_many_records_events_in_order_masked_like_one_by_one(store: Store, clock: FakeClock) -> None:
    job = store.enqueue("bc-810", "INV-1", kind="810").job
    store.mask_audit(lambda text: text.replace("s3cret", "***"))
    store.audit_many([(job.id, "upload", {"key": "INV-1", "detail": {"message": "sent with s3cret"}}), (job.id, "done", {"key": "INV-1", "duration_ms": 4.0})])
    trail = store.audit_trail("INV-1")
    assert [(e.event, e.detail, e.duration_ms) for e in trail] == [("upload", {"message": "sent with ***"}, None), ("done", None, 4.0)]


def test_an_audit_event_with_a_field_it_does_not_have_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match=r"audit event 'done': no such field\(s\) \['stauts'\]"):
        store.audit_many([(None, "done", {"stauts": 200})])
    assert store.audit_trail("done") == []


def test_audit_trail_by_job_id(store: Store) -> None:
    job = store.enqueue("bc-810", "INV-1", kind="810").job
    store.audit(job.id, "rendered")
    assert [e.event for e in store.audit_trail(str(job.id))] == ["rendered"]
    assert [e.event for e in store.job_events(job.id)] == ["rendered"]


def test_audit_trail_by_outbound_file_name(store: Store) -> None:
    job = store.enqueue("bc-810", "INV-1", kind="810").job
    store.audit(job.id, "uploaded")
    store.record_outbound_group("acme", "MLC", "ACME", "IN", 1, ["0001"], 1, "ACME_810_INV-1.edi", job_id=job.id)
    assert [e.event for e in store.audit_trail("ACME_810_INV-1.edi")] == ["uploaded"]


def test_audit_trail_by_inbound_file_id_and_events_without_a_job(store: Store) -> None:
    job = store.enqueue("cleo-850", "PO-9", kind="850", source_ref="inbox/PO_9.edi").job
    store.audit(job.id, "parsed")
    store.audit(None, "duplicate interchange", key="inbox/PO_9.edi", partner="acme")
    events = store.audit_trail("inbox/PO_9.edi")
    assert [(e.event, e.job_id) for e in events] == [("parsed", job.id), ("duplicate interchange", None)]


def test_audit_trail_of_nothing_is_empty(store: Store) -> None:
    store.audit(None, "poll", route="bc-810")
    assert store.audit_trail("INV-404") == []


def test_artifacts_keep_the_exact_bytes_with_their_hash(store: Store) -> None:
    job = store.enqueue("r", "K", kind="810").job
    content = bytes(range(256)) * 4097 + b"\r\n~\x00"
    stored = store.put_artifact(job.id, "output", "out.edi", content, "application/edi-x12")
    (read,) = store.artifacts(job.id)
    assert read == stored
    assert read.content == content
    assert read.sha256 == hashlib.sha256(content).hexdigest()
    assert read.size == len(content)


def test_artifacts_stored_together_keep_each_its_bytes_and_hash(store: Store) -> None:
    jobs = [store.enqueue("r", f"K{n}", kind="810").job for n in range(3)]
    store.put_artifacts([NewArtifact(job.id, "output", f"out{job.id}.edi", f"ISA*{job.id}~".encode(), "application/edi-x12") for job in jobs])
    for job in jobs:
        (read,) = store.artifacts(job.id)
        assert (read.role, read.name, read.content, read.media_type) == ("output", f"out{job.id}.edi", f"ISA*{job.id}~".encode(), "application/edi-x12")
        assert read.sha256 == hashlib.sha256(read.content).hexdigest() and read.size == len(read.content)
    with pytest.raises(StoreError, match="content must be bytes, not str"):
        store.put_artifacts([NewArtifact(jobs[0].id, "output", "x.edi", "text", "application/edi-x12")])  # type: ignore[arg-type]


def test_the_newest_artifact_of_a_role_wins(store: Store) -> None:
    job = store.enqueue("r", "K", kind="810").job
    store.put_artifact(job.id, "input", "in.json", b'{"a": 1}', "application/json")
    store.put_artifact(job.id, "output", "out.edi", b"first", "application/edi-x12")
    store.put_artifact(job.id, "output", "out.edi", b"replayed", "application/edi-x12")
    output = store.artifact(job.id, "output")
    assert output is not None and output.content == b"replayed"
    assert [a.role for a in store.artifacts(job.id)] == ["input", "output", "output"]
    assert store.artifact(job.id, "ack") is None


def test_a_lease_is_held_by_one_holder_until_it_expires(store: Store) -> None:
    assert store.try_lease("poll:bc-810", "w1", 30, now=T0)
    assert not store.try_lease("poll:bc-810", "w2", 30, now=T0 + timedelta(seconds=29))
    assert store.try_lease("poll:bc-810", "w2", 30, now=T0 + timedelta(seconds=30))
    assert not store.try_lease("poll:bc-810", "w1", 30, now=T0 + timedelta(seconds=31))


def test_a_holder_renews_its_lease(store: Store) -> None:
    assert store.try_lease("poll:r", "w1", 30, now=T0)
    assert store.try_lease("poll:r", "w1", 30, now=T0 + timedelta(seconds=20))
    assert not store.try_lease("poll:r", "w2", 30, now=T0 + timedelta(seconds=40))


def test_a_released_lease_is_free_and_only_its_holder_can_release_it(store: Store) -> None:
    assert store.try_lease("poll:r", "w1", 30, now=T0)
    assert not store.release_lease("poll:r", "w2")
    assert not store.try_lease("poll:r", "w2", 30, now=T0)
    assert store.release_lease("poll:r", "w1")
    assert store.try_lease("poll:r", "w2", 30, now=T0)


def test_leases_are_independent_by_name(store: Store) -> None:
    assert store.try_lease("poll:a", "w1", 30, now=T0)
    assert store.try_lease("poll:b", "w2", 30, now=T0)
