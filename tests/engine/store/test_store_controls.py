"""Control numbers: gap-free, never reused, per partner and kind, wrapping after 999999999."""

from __future__ import annotations

import pytest

from engine.errors import StoreError
from engine.store import Store
from engine.store.controls import MAX_CONTROL


def test_control_numbers_start_at_one_and_count_up_without_gaps(store: Store) -> None:
    assert [store.next_control("acme", "isa") for _ in range(5)] == [1, 2, 3, 4, 5]


def test_each_partner_and_kind_has_its_own_counter(store: Store) -> None:
    store.next_control("acme", "isa")
    store.next_control("acme", "isa")
    assert store.next_control("acme", "gs") == 1
    assert store.next_control("globex", "isa") == 1
    assert store.next_control("acme", "st") == 1
    assert store.next_control("acme", "isa") == 3


def test_a_block_returns_its_first_number_and_consumes_all_of_it(store: Store) -> None:
    assert store.next_control("acme", "st", count=10) == 1
    assert store.next_control("acme", "st", count=5) == 11
    assert store.next_control("acme", "st") == 16


def test_peek_shows_the_next_number_without_consuming_it(store: Store) -> None:
    assert store.peek_control("acme", "isa") == 1
    assert store.peek_control("acme", "isa") == 1
    assert store.next_control("acme", "isa") == 1
    assert store.peek_control("acme", "isa") == 2
    assert store.next_control("acme", "isa") == 2


def test_isa13_wraps_from_999999999_to_1(store: Store) -> None:
    store.next_control("acme", "isa", count=MAX_CONTROL - 2)
    assert store.peek_control("acme", "isa") == 999_999_998
    assert store.next_control("acme", "isa") == 999_999_998
    assert store.next_control("acme", "isa") == 999_999_999
    assert store.peek_control("acme", "isa") == 1
    assert store.next_control("acme", "isa") == 1
    assert store.next_control("acme", "isa") == 2


def test_a_block_that_would_pass_the_maximum_starts_again_at_one(store: Store) -> None:
    store.next_control("acme", "st", count=MAX_CONTROL - 2)
    assert store.next_control("acme", "st", count=5) == 1
    assert store.next_control("acme", "st") == 6


def test_numbers_taken_in_a_rolled_back_transaction_are_not_consumed(store: Store) -> None:
    store.next_control("acme", "isa")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        assert tx.next_control("acme", "isa") == 2
        assert tx.next_control("acme", "gs") == 1
        raise RuntimeError("upload failed before commit")
    assert store.next_control("acme", "isa") == 2
    assert store.next_control("acme", "gs") == 1


def test_numbers_taken_in_a_transaction_commit_with_the_rest_of_it(store: Store) -> None:
    job = store.enqueue("r", "INV-1", kind="810", partner="acme").job
    store.claim("w1")
    with store.transaction() as tx:
        isa = tx.next_control("acme", "isa")
        gs = tx.next_control("acme", "gs")
        st = tx.next_control("acme", "st", count=3)
        tx.put_artifact(job.id, "output", "out.edi", b"ISA*...", "application/edi-x12")
        tx.complete(job.id, result={"isa": isa, "gs": gs, "st": st})
        tx.audit(job.id, "rendered")
    assert store.get(job.id).result == {"isa": 1, "gs": 1, "st": 1}
    assert store.peek_control("acme", "st") == 4


def test_a_block_of_each_kind_and_a_peek_at_all_kinds(store: Store) -> None:
    assert store.peek_controls("acme") == {"isa": 1, "gs": 1, "st": 1}
    store.next_control("acme", "gs", count=4)
    assert store.peek_controls("acme") == {"isa": 1, "gs": 5, "st": 1}
    assert store.next_controls("acme", count=3) == {"isa": 1, "gs": 5, "st": 1}
    assert store.peek_controls("acme") == {"isa": 4, "gs": 8, "st": 4}
    store.next_control("acme", "st", count=MAX_CONTROL - 4)
    assert store.peek_controls("acme", ("st",)) == {"st": 999_999_999}
    assert store.next_controls("acme", ("st",), count=2) == {"st": 1}  # a block that would pass the maximum starts at 1


def test_numbers_given_back_go_to_the_next_document_of_the_transaction(store: Store) -> None:
    store.next_controls("acme")
    with store.transaction() as tx:
        taken = tx.next_controls("acme")
        assert taken == {"isa": 2, "gs": 2, "st": 2}
        tx.give_back_controls("acme", taken)  # its render failed; the batch goes on
        assert tx.next_controls("acme") == taken
    assert store.next_controls("acme") == {"isa": 3, "gs": 3, "st": 3}


def test_numbers_are_given_back_only_while_none_was_taken_after_them(store: Store) -> None:
    first = store.next_controls("acme")
    store.next_controls("acme")
    store.give_back_controls("acme", first)  # another document has number 2 since: nothing changes
    assert store.next_controls("acme") == {"isa": 3, "gs": 3, "st": 3}


def test_numbers_given_back_across_the_wrap_go_out_again(store: Store) -> None:
    store.next_control("acme", "isa", count=MAX_CONTROL - 1)
    with store.transaction() as tx:
        assert tx.next_controls("acme", ("isa",)) == {"isa": 999_999_999}
        tx.give_back_controls("acme", {"isa": 999_999_999})
        assert tx.next_controls("acme", ("isa",)) == {"isa": 999_999_999}
        taken = tx.next_controls("acme", ("isa",))
        assert taken == {"isa": 1}
        tx.give_back_controls("acme", taken)
    assert store.next_control("acme", "isa") == 1


@pytest.mark.parametrize(
    ("kind", "count", "message"),
    [
        pytest.param("iea", 1, "unknown control-number kind 'iea'; expected one of isa, gs, st", id="unknown-kind"),
        pytest.param("isa", 0, "cannot take 0 isa control numbers at once: between 1 and 999999999", id="zero"),
        pytest.param("st", MAX_CONTROL + 1, "cannot take 1000000000 st control numbers", id="too-many"),
    ],
)
def test_invalid_requests_are_refused(store: Store, kind: str, count: int, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        store.next_control("acme", kind, count=count)
    assert str(caught.value).startswith(message)


def test_next_controls_takes_one_number_of_each_kind_in_one_statement_as_single_takes_would(store: Store) -> None:
    store.next_control("acme", "gs", count=4)
    assert store.next_controls("acme") == {"isa": 1, "gs": 5, "st": 1}
    assert store.next_controls("acme") == {"isa": 2, "gs": 6, "st": 2}
    assert store.next_control("acme", "isa") == 3, "the same counters as next_control"
    assert store.next_controls("globex", ("isa", "gs")) == {"isa": 1, "gs": 1}


def test_next_controls_wraps_each_kind_after_999999999(store: Store) -> None:
    store.next_control("acme", "isa", count=MAX_CONTROL - 1)
    assert store.next_controls("acme") == {"isa": MAX_CONTROL, "gs": 1, "st": 1}
    assert store.next_controls("acme") == {"isa": 1, "gs": 2, "st": 2}


def test_next_controls_in_a_rolled_back_transaction_consumes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        assert tx.next_controls("acme") == {"isa": 1, "gs": 1, "st": 1}
        raise RuntimeError("render failed")
    assert store.next_controls("acme") == {"isa": 1, "gs": 1, "st": 1}


@pytest.mark.parametrize("kinds", [("isa", "isa"), ("isa", "xx")], ids=["twice", "unknown"])
def test_next_controls_refuses_a_kind_twice_or_unknown(store: Store, kinds: tuple[str, ...]) -> None:
    with pytest.raises(StoreError):
        store.next_controls("acme", kinds)
