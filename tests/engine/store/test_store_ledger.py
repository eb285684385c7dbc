"""What came in (inbound files, interchanges) and what went out (groups waiting for a 997)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from store_support import T0, FakeClock

from engine.errors import StoreError
from engine.store import LedgerState, NewGroup, Store

SHA = hashlib.sha256(b"ISA*00*...").hexdigest()
OTHER_SHA = hashlib.sha256(b"ISA*00*... changed").hexdigest()


def test_an_unknown_file_is_not_seen(store: Store) -> None:
    assert store.ledger_seen("inbox/PO_1.edi", SHA) is None


def test_a_recorded_file_is_seen_with_its_state(store: Store) -> None:
    entry, created = store.ledger_record("inbox/PO_1.edi", SHA, partner="acme", route="cleo-850", state="received")
    assert created
    assert store.ledger_seen("inbox/PO_1.edi", SHA) == entry
    assert (entry.partner, entry.route, entry.state) == ("acme", "cleo-850", LedgerState.RECEIVED)
    assert entry.received_at == T0


def test_recording_a_file_twice_returns_the_first_entry(store: Store, clock: FakeClock) -> None:
    first, _ = store.ledger_record("inbox/PO_1.edi", SHA, partner="acme")
    clock.advance(minutes=1)
    again, created = store.ledger_record("inbox/PO_1.edi", SHA.upper(), partner="globex")
    assert not created
    assert again == first


def test_the_same_file_id_with_other_content_is_another_file(store: Store) -> None:
    store.ledger_record("inbox/PO_1.edi", SHA)
    assert store.ledger_seen("inbox/PO_1.edi", OTHER_SHA) is None
    assert store.ledger_record("inbox/PO_1.edi", OTHER_SHA)[1]


def test_ledger_update_moves_the_file_on(store: Store, clock: FakeClock) -> None:
    job = store.enqueue("cleo-850", "inbox/PO_1.edi", kind="850").job
    store.ledger_record("inbox/PO_1.edi", SHA)
    clock.advance(minutes=2)
    processed = store.ledger_update("inbox/PO_1.edi", SHA, state=LedgerState.PROCESSED, job_id=job.id)
    assert (processed.state, processed.job_id, processed.updated_at) == (LedgerState.PROCESSED, job.id, clock.now)
    failed = store.ledger_update("inbox/PO_1.edi", SHA, state="failed", error="not X12")
    assert (failed.state, failed.error, failed.job_id) == (LedgerState.FAILED, "not X12", job.id)


def test_updating_an_unrecorded_file_is_an_error(store: Store) -> None:
    with pytest.raises(StoreError, match=r"inbound file 'nope\.edi' with SHA-256 \w+ is not in the ledger"):
        store.ledger_update("nope.edi", SHA, state="archived")


def test_an_unknown_ledger_state_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown LedgerState 'deleted'; expected one of received, processed"):
        store.ledger_record("inbox/PO_1.edi", SHA, state="deleted")


def test_an_interchange_is_a_duplicate_once_recorded(store: Store) -> None:
    assert not store.interchange_seen("ZZ", "ACME", 42)
    assert store.interchange_record("ZZ", "ACME", 42, file_id="inbox/PO_1.edi")
    assert store.interchange_seen("ZZ", "ACME", 42)
    assert not store.interchange_record("ZZ", "ACME", 42)


def test_interchanges_compare_without_isa_padding_and_leading_zeros(store: Store) -> None:
    store.interchange_record("ZZ", "ACME           ", "000000042")
    assert store.interchange_seen("ZZ", "ACME", 42)
    assert not store.interchange_seen("01", "ACME", 42)
    assert not store.interchange_seen("ZZ", "GLOBEX", 42)
    assert not store.interchange_seen("ZZ", "ACME", 43)


def test_a_control_number_that_is_not_a_number_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="interchange control number 'ABC' is not a number"):
        store.interchange_record("ZZ", "ACME", "ABC")


def _send_group(store: Store, group_control: int, *, filename: str = "OUT_1.edi", sent_minutes: int = 0) -> None:
    store.record_outbound_group(
        "acme",
        "MLC",
        "ACME",
        "IN",
        group_control,
        ["0001", "0002"],
        7,
        filename,
        sent_at=T0 + timedelta(minutes=sent_minutes),
    )


def test_an_unacknowledged_group_is_listed_once_old_enough(store: Store) -> None:
    _send_group(store, 5)
    assert store.unacknowledged(T0) == []
    (group,) = store.unacknowledged(T0 + timedelta(hours=24))
    assert (group.group_control, group.set_ids, group.interchange_control) == (5, ("0001", "0002"), 7)
    assert group.ack_status is None


def test_a_997_acknowledges_the_matching_group(store: Store, clock: FakeClock) -> None:
    _send_group(store, 5)
    _send_group(store, 6, filename="OUT_2.edi", sent_minutes=1)
    assert store.acknowledge_group("MLC", "ACME", 5, "A", "inbox/997_1.edi", now=clock.advance(hours=1))
    (left,) = store.unacknowledged(T0 + timedelta(days=1))
    assert left.group_control == 6


def test_a_997_for_an_unknown_group_matches_nothing(store: Store) -> None:
    _send_group(store, 5)
    assert not store.acknowledge_group("MLC", "ACME", 99, "A")
    assert not store.acknowledge_group("ACME", "MLC", 5, "A")
    assert len(store.unacknowledged(T0 + timedelta(days=1))) == 1


def test_an_invalid_997_status_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="997 status 'Z' is not one of A, E, P, R"):
        store.acknowledge_group("MLC", "ACME", 5, "Z")


def test_recording_a_group_control_number_twice_is_an_error(store: Store) -> None:
    _send_group(store, 5)
    with pytest.raises(StoreError, match="outbound group 5 of partner 'acme' from 'MLC' to 'ACME' was recorded before"):
        _send_group(store, 5, filename="OUT_again.edi")


def test_groups_recorded_together_are_each_waiting_for_their_997(store: Store) -> None:
    store.record_outbound_groups(
        [NewGroup("acme", " MLC ", "ACME", "IN", n, ("0001",), n, f"OUT_{n}.edi", sent_at=T0) for n in (5, 6, 7)]
    )
    assert sorted(group.group_control for group in store.unacknowledged(T0 + timedelta(days=1))) == [5, 6, 7]
    assert store.acknowledge_group("MLC", "ACME", 6, "A")


def test_groups_recorded_together_name_the_ones_recorded_before_and_record_none(store: Store) -> None:
    _send_group(store, 6)
    with pytest.raises(StoreError, match=r"^outbound group\(s\) 6 of partner 'acme' from 'MLC' to 'ACME' were recorded before"), store.transaction() as tx:
        tx.record_outbound_groups([NewGroup("acme", "MLC", "ACME", "IN", n, ("0001",), n, f"OUT_{n}.edi", sent_at=T0) for n in (5, 6, 7)])
    assert [group.group_control for group in store.unacknowledged(T0 + timedelta(days=1))] == [6]


def test_partners_sharing_gs_ids_keep_their_own_groups(store: Store) -> None:
    _send_group(store, 5)
    store.record_outbound_group("acme-west", "MLC", "ACME", "IN", 5, ["0001"], 3, "OUT_W.edi", sent_at=T0)
    assert store.acknowledge_group("MLC", "ACME", 5, "A", partner="acme-west")
    (left,) = store.unacknowledged(T0 + timedelta(days=1))
    assert left.partner == "acme"


def test_a_ta1_rejecting_our_interchange_rejects_its_groups(store: Store, clock: FakeClock) -> None:
    _send_group(store, 5)  # interchange 7
    _send_group(store, 6, filename="OUT_2.edi", sent_minutes=1)
    assert store.acknowledge_interchange("acme", 7, "R", "inbox/ta1.edi", now=clock.advance(hours=1)) == 2
    assert store.unacknowledged(T0 + timedelta(days=1)) == []


def test_a_ta1_accepting_our_interchange_leaves_its_groups_waiting_for_their_997(store: Store) -> None:
    _send_group(store, 5)
    assert store.acknowledge_interchange("acme", 7, "A", "inbox/ta1.edi") == 1
    (group,) = store.unacknowledged(T0 + timedelta(days=1))
    assert group.ack_status is None


def test_a_ta1_for_an_interchange_we_never_sent_matches_nothing(store: Store) -> None:
    _send_group(store, 5)
    assert store.acknowledge_interchange("acme", 8, "R") == 0
    assert store.acknowledge_interchange("globex", 7, "R") == 0
    assert len(store.unacknowledged(T0 + timedelta(days=1))) == 1
    with pytest.raises(StoreError, match="TA1 status 'X'"):
        store.acknowledge_interchange("acme", 7, "X")
