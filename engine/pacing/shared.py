"""`StoreSlots`: rate budgets kept in the state store, so every worker (thread or process, on
any host) sharing the store paces under one budget.

Each request takes its slots in one short write transaction: one upsert per budget
(engine/store/budgets.py, the same GCRA step as `engine.pacing.slots.step`), all of a
request's budgets or none. Measured on this machine (benchmarks/rate_budget.py, docs/requests.md):
about 1 ms of wall time per grant for one worker on an idle machine, 2-5 ms with 2-4 workers on
a loaded one, and 0.6-0.9 ms of CPU, on SQLite (mostly the commit) and on PostgreSQL over
loopback (begin, upsert, commit). Against Business Central online, whose budget spaces
requests 50 ms apart, that is a few percent of a turn, so a grant per request is kept: reserving batches
of slots per worker would save round trips but lose every slot a worker reserved and did not
use in time, so workers with uneven work would fall short of the rate.

Why no library: `limits` and `throttled-py` keep their counters in memory, Redis, Memcached or
MongoDB, none in SQL; `pyrate-limiter` has SQLite and PostgreSQL buckets, but they log one row
per request and count the window on every acquire, open their own connections (a
`psycopg_pool` pool, a raw `sqlite3` connection with a file lock) and create their tables
outside our migrations, and the PostgreSQL bucket takes `LOCK TABLE ... NOWAIT`, refusing a
request whenever another worker holds the lock. The GCRA here is one row per budget and one
statement per grant, in the store's own transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.pacing.slots import Refused, Want

if TYPE_CHECKING:
    from engine.store import Store

__all__ = ["StoreSlots"]


class StoreSlots:
    """Slots kept in `store` (see the module docstring); safe to share between threads."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def reserve(self, wants: Sequence[Want], *, now: float, max_wait: float) -> float:
        """See `engine.pacing.Slots.reserve`; a `StoreError` when the store fails."""
        send = now
        with self._store.transaction() as tx:
            for want in wants:
                slot = tx.reserve_rate(
                    want.name, now=now, spacing=want.rate.spacing, tolerance=want.rate.tolerance, max_wait=max_wait
                )
                if slot is None:
                    tat = tx.rate_tat(want.name)
                    # Raising rolls the transaction back: slots taken for earlier wants are released.
                    raise Refused(want, (tat if tat is not None else now) - want.rate.tolerance)
                send = max(send, slot - want.rate.tolerance)
        return send
