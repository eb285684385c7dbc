"""Client-side rate budgets: the engine paces each connection's requests under the budget of
connections.yaml `rate_limit:` (engine/config/rate_limit.py), across every worker sharing the
state store.

    slots.py    the `Slots` interface, the GCRA step, `MemorySlots` (one process)
    shared.py   `StoreSlots`: the budgets in the state store (every worker of the store)
    pacer.py    `Pacer`: a connection's requests wait for their turn (what connectors call)
"""

from __future__ import annotations

from engine.pacing.pacer import Pacer, rate_limit_of
from engine.pacing.shared import StoreSlots
from engine.pacing.slots import MemorySlots, Refused, Slots, Want, step

__all__ = ["MemorySlots", "Pacer", "Refused", "Slots", "StoreSlots", "Want", "rate_limit_of", "step"]
