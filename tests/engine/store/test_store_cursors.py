"""Cursors move by compare-and-set, and together with the jobs they cover."""

from __future__ import annotations

import pytest

from engine.errors import StoreError
from engine.store import NewJob, Store


def test_a_cursor_is_none_until_first_set(store: Store) -> None:
    assert store.cursor("bc-810") is None
    assert store.advance_cursor("bc-810", "2024-05-01T00:00:00Z", expected=None)
    assert store.cursor("bc-810") == "2024-05-01T00:00:00Z"


def test_advance_only_moves_from_the_expected_value(store: Store) -> None:
    store.advance_cursor("r", "A", expected=None)
    assert not store.advance_cursor("r", "C", expected="B")
    assert not store.advance_cursor("r", "C", expected=None)
    assert store.cursor("r") == "A"
    assert store.advance_cursor("r", "B", expected="A")
    assert store.cursor("r") == "B"


def test_cursors_are_per_route(store: Store) -> None:
    store.advance_cursor("a", "1", expected=None)
    assert store.cursor("b") is None


def test_enqueue_many_and_advance_enqueues_and_moves_the_cursor(store: Store) -> None:
    batch = store.enqueue_many_and_advance(
        "bc-810", [NewJob("INV-1", "810"), NewJob("INV-2", "810")], "2024-05-01T10:00:00Z", expected=None
    )
    assert batch.advanced
    assert [(e.job.key, e.created) for e in batch.jobs] == [("INV-1", True), ("INV-2", True)]
    assert store.cursor("bc-810") == "2024-05-01T10:00:00Z"
    again = store.enqueue_many_and_advance(
        "bc-810",
        [NewJob("INV-2", "810"), NewJob("INV-3", "810")],
        "2024-05-01T11:00:00Z",
        expected="2024-05-01T10:00:00Z",
    )
    assert [(e.job.key, e.created) for e in again.jobs] == [("INV-2", False), ("INV-3", True)]


def test_enqueue_many_and_advance_writes_nothing_when_the_cursor_moved_meanwhile(store: Store) -> None:
    store.advance_cursor("r", "B", expected=None)
    batch = store.enqueue_many_and_advance("r", [NewJob("K1", "810")], "C", expected="A")
    assert not batch.advanced
    assert batch.jobs == ()
    assert store.jobs() == []
    assert store.cursor("r") == "B"


def test_a_failure_midway_leaves_neither_jobs_nor_cursor(store: Store) -> None:
    store.advance_cursor("r", "A", expected=None)
    jobs = [NewJob("K1", "810"), NewJob("K2", "810", payload={"bad": object()}), NewJob("K3", "810")]
    with pytest.raises(StoreError, match="payload of job r/K2 is not JSON"):
        store.enqueue_many_and_advance("r", jobs, "B", expected="A")
    assert store.jobs() == []
    assert store.cursor("r") == "A"
