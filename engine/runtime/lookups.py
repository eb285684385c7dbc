"""Reference data for mappings: the `lookups:` a route declares, resolved through the
connectors and cached for the run (an item read for one invoice is not read again for the next).

    lookups:
      customer: {connection: bc, entity: customers, key: "{{ doc.customerNumber }}"}
      items: {connection: bc, entity: items, key: "{{ item.lineObjectNumber }}",
              for_each: "$.salesInvoiceLines[?(@.lineType == 'Item')]"}

A lookup without `for_each` is one record (`lookups.customer.addressLine1`); with `for_each`
it is a mapping from each key to its record (`lookups.items[line.lineObjectNumber].gtin`).
Every key that does not resolve is collected, and the document fails once with all of them
named: nothing is rendered from half the reference data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from engine.config.route import Route
from engine.errors import MappingError, NotFoundError
from engine.mapping.templates import base_context
from engine.runtime.systems import Systems

__all__ = ["MISSING", "LookupCache", "resolve_lookups"]

MISSING: Any = object()
"""What `LookupCache.get` returns for a key the system does not have."""


class LookupCache:
    """Records read for lookups, by (connection, entity, key); `clear()` starts a new run.

    An entry (a record, or `MISSING`) is kept for `max_age_seconds` (5 minutes, a usual poll
    interval): the documents of one poll share each read, and a long-running service (`mlc
    serve`, which never starts a "new run") still sees an item added to the ERP, or a changed
    customer, within that time instead of never.
    """

    def __init__(self, *, max_age_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._records: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self.reads = 0

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def get(self, systems: Systems, connection: str, entity: str, key: str) -> Any:
        """The record, or `MISSING` when the system has none with that key."""
        slot = (connection, entity, key)
        now = self._clock()
        with self._lock:
            found = self._records.get(slot)
        if found is not None and now - found[0] < self.max_age_seconds:
            return found[1]
        try:
            record: Any = systems.records(connection).get(entity, key)
        except NotFoundError:
            record = MISSING
        with self._lock:
            self._records[slot] = (now, record)
            self.reads += 1
        return record


def resolve_lookups(route: Route, doc: Any, partner: dict[str, Any], systems: Systems, cache: LookupCache) -> dict[str, Any]:
    """Every lookup of `route` for one document; MappingError naming every unresolved key."""
    resolved: dict[str, Any] = {}
    missing: list[str] = []
    for name, lookup in route.lookups.items():
        if lookup.for_each is None:
            key = _key(lookup.key.evaluate(base_context(doc=doc, partner=partner)))
            record = cache.get(systems, lookup.connection, lookup.entity, key)
            if record is MISSING:
                missing.append(f"{name}: no {lookup.entity} record {key!r}")
            resolved[name] = record
            continue
        table: dict[str, Any] = {}
        for match in lookup.for_each.find(doc):
            key = _key(lookup.key.evaluate(base_context(doc=doc, partner=partner, item=match.value)))
            if key in table:
                continue
            record = cache.get(systems, lookup.connection, lookup.entity, key)
            if record is MISSING:
                missing.append(f"{name}: no {lookup.entity} record {key!r}")
            table[key] = record
        resolved[name] = table
    if missing:
        raise MappingError(f"reference data does not resolve in {route.name}: {'; '.join(missing)}")
    return resolved


def _key(value: Any) -> str:
    if value is None or value == "":
        raise MappingError("a lookup key is empty")
    return str(value)
