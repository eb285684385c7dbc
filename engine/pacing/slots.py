"""Where the turns of rate budgets are kept: the `Slots` interface, the GCRA step they share,
and `MemorySlots` (the budgets of one process). `StoreSlots` (engine/pacing/shared.py) keeps
them in the state store for every worker sharing it.

A budget is a generic cell rate algorithm (GCRA): one number per budget, its theoretical
arrival time `tat`. A request at `now` takes the slot `max(tat, now)`, moves `tat` one
`spacing` on, and may be sent at `max(now, slot - tolerance)`; a send time more than `max_wait`
away is refused and nothing is taken. Over any window of `per` seconds a budget of
`requests` / `per` (with its `burst`) grants at most `requests` (engine/config/rate_limit.py).
A request under several budgets (the connection's and an endpoint's) takes one slot of each,
all or none, and goes at the latest of their send times.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.config.rate_limit import Rate

__all__ = ["MemorySlots", "Refused", "Slots", "Want", "step"]


@dataclass(frozen=True)
class Want:
    """One slot wanted of the budget `name`, paced at `rate`."""

    name: str
    rate: Rate


class Refused(Exception):
    """The turn under budget `want` comes at `at` (seconds since the epoch), after `max_wait`."""

    def __init__(self, want: Want, at: float) -> None:
        super().__init__(f"{want.name}: next turn at {at}")
        self.want = want
        self.at = at


class Slots(Protocol):
    """Keeps the budgets' state; shared by every thread of a process (and, for `StoreSlots`,
    by every process on the store)."""

    def reserve(self, wants: Sequence[Want], *, now: float, max_wait: float) -> float:
        """Take one slot of every budget in `wants`; when the request may be sent (>= `now`).

        Raises `Refused` (taking nothing) when that is more than `max_wait` after `now`."""
        ...


def step(tat: float | None, spacing: float | None, now: float, rate: Rate) -> tuple[float, float]:
    """One GCRA grant: (the budget's new `tat`, the request's send time) from its stored `tat`
    and `spacing` (None for a budget never used). A stored spacing other than `rate`'s (the
    budget was changed) starts the budget afresh, as an idle one does."""
    slot = now if tat is None or tat < now or spacing != rate.spacing else tat
    return slot + rate.spacing, max(now, slot - rate.tolerance)


class MemorySlots:
    """The budgets of one process (no store: `mlc` commands that connect without a runtime)."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def reserve(self, wants: Sequence[Want], *, now: float, max_wait: float) -> float:
        """See `Slots.reserve`."""
        with self._lock:
            granted: dict[str, tuple[float, float]] = {}
            send = now
            for want in wants:
                tat, spacing = self._state.get(want.name, (None, None))
                new_tat, at = step(tat, spacing, now, want.rate)
                if at - now > max_wait:
                    raise Refused(want, at)
                granted[want.name] = (new_tat, want.rate.spacing)
                send = max(send, at)
            self._state.update(granted)
            return send
