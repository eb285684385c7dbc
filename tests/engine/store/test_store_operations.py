"""Every store operation is one function, bound twice: on `Transaction` (guarded, its database
errors translated) and on `Store` (in a transaction of its own), with one signature and one
docstring."""

from __future__ import annotations

import inspect

import pytest

from engine.errors import StoreError
from engine.store import Store, Transaction

OPERATIONS = sorted(
    name for name, value in vars(Transaction).items() if not name.startswith("_") and callable(value) and name != "now"
)


def test_every_transaction_operation_is_a_store_method_with_its_signature_and_docstring() -> None:
    assert len(OPERATIONS) > 40
    for name in OPERATIONS:
        on_store, on_transaction = getattr(Store, name), getattr(Transaction, name)
        assert inspect.signature(on_store) == inspect.signature(on_transaction), name
        assert on_store.__doc__, f"{name} has no docstring"
        assert on_store.__doc__ == on_transaction.__doc__, name


def test_the_store_has_no_operation_the_transaction_lacks() -> None:
    facade = {"close", "mask_audit", "open", "reading", "transaction"}
    on_store = {name for name, value in vars(Store).items() if not name.startswith("_") and callable(value)}
    assert on_store - facade == set(OPERATIONS)


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_is_refused_once_its_transaction_has_ended(store: Store, name: str) -> None:
    with store.transaction() as tx:
        pass
    with pytest.raises(StoreError, match=f"^{name}: the transaction has ended$"):
        getattr(tx, name)()


def test_a_database_error_is_a_store_error_where_the_operation_met_it(store: Store) -> None:
    met: list[Exception] = []
    with pytest.raises(RuntimeError, match="roll back"), store.transaction() as tx:
        try:
            tx.put_artifact(12345, "input", "x.json", b"{}", "application/json")  # no job 12345
        except Exception as exc:
            met.append(exc)
        raise RuntimeError("roll back")
    assert len(met) == 1
    assert isinstance(met[0], StoreError)
    assert str(met[0]).startswith(f"state store {store.url} failed: ")
