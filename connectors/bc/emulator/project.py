"""The Business Central emulator seeded for a project: every partner's customer and vendor.

The demo world's seed holds the example partners' BC customers (C10000...) and vendors. A
project's own partners name other numbers (`erp.bc.customer`, `erp.bc.vendor`); an order from
such a partner could never be created (the route requires its customer). `seed_project` adds a
customer or vendor of that number, named after the partner, for each one the seed lacks.
"""

from __future__ import annotations

from typing import Any

from connectors.bc.emulator.state import BcEmulatorState

__all__ = ["partner_keys", "seed_project"]


def partner_keys(project: Any) -> list[tuple[str, str, str]]:
    """(entity set, number, name) of every BC customer and vendor the project's partners name."""
    found: list[tuple[str, str, str]] = []
    for _, partner in sorted(project.partners.items()):
        bc = (partner.data.get("erp") or {}).get("bc") or {}
        entries = bc if isinstance(bc, list) else [bc]
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for kind, entity in (("customer", "customers"), ("vendor", "vendors")):
                values = entry.get(kind)
                for number in values if isinstance(values, list) else [values]:
                    if isinstance(number, str | int) and str(number):
                        found.append((entity, str(number), str(partner.data.get("name") or partner.id)))
    return found


def seed_project(state: BcEmulatorState, project: Any) -> list[str]:
    """Add the customers and vendors of `project` the state lacks; their numbers."""
    added: list[str] = []
    for entity, number, name in partner_keys(project):
        if state.lookup(entity, number) is None:
            state.add_record(entity, {"number": number, "displayName": name})
            added.append(number)
    return added
