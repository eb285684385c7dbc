"""`Pacer`: holds each request of one connection until its turn under the connection's rate
budget, so the engine stays under the budget instead of being answered 429.

    pacer = Pacer("bc", RateLimit(Rate(6000, 300.0)), StoreSlots(store))
    pacer.pace("GET", "/companies(...)/salesInvoices")   # sleeps until the turn, then returns

A connector's HTTP client calls `pace` before every request it sends, retries and token
requests to the same system included (`connectors.common.client`). The turn is taken in
`Slots` (the state store for a runtime, so every worker sharing it counts), then the calling
thread sleeps until it: other threads are not held meanwhile. A turn further than the budget's
`max_wait` is refused with a `RateBudgetError` (transient: the job is retried later) and
nothing is sent. A 429 that comes all the same is retried as before (`connectors.common.retry`).

Budget names in the store are the connection's name, and `<connection> <endpoint pattern>` for
an endpoint's own budget; two connections reaching the same system count apart. Each wait is
reported to `engine.metrics.report_rate_wait` (`mlc_rate_budget_wait_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from engine.config import rate_limit as rate_limits
from engine.config.rate_limit import RateLimit
from engine.errors import RateBudgetError
from engine.metrics import report_rate_wait
from engine.pacing.slots import Refused, Slots, Want

__all__ = ["Pacer", "rate_limit_of"]


class Pacer:
    """Paces the requests of connection `connection` under `limit` (module docstring).

    `clock` is wall time in seconds (shared by every process on a host, and across hosts kept
    by NTP); `sleep` waits. Both are injectable so tests compute turns without waiting.
    """

    def __init__(
        self,
        connection: str,
        limit: RateLimit,
        slots: Slots,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.limit = limit
        self.slots = slots
        self._clock = clock
        self._sleep = sleep

    def pace(self, method: str, path: str) -> float:
        """Wait for the turn of a request (`path` relative to the connection's base URL); the
        seconds waited. `RateBudgetError` when the turn is more than `max_wait` away."""
        wants = [Want(self.connection + suffix, rate) for suffix, rate in self.limit.budgets(method, path)]
        if not wants:
            return 0.0
        now = self._clock()
        try:
            at = self.slots.reserve(wants, now=now, max_wait=self.limit.max_wait)
        except Refused as refused:
            report_rate_wait(self.connection, None)
            wait = refused.at - now
            raise RateBudgetError(
                f"{method} {path} not sent: its turn under the rate budget {refused.want.name!r} "
                f"({refused.want.rate.describe()}) is {wait:.1f}s away, more than max_wait {self.limit.max_wait:g}s",
                system=self.connection,
                retry_after=wait,
            ) from None
        wait = max(0.0, at - now)
        if wait > 0:
            self._sleep(wait)
        report_rate_wait(self.connection, wait)
        return wait


def rate_limit_of(entry: Mapping[str, Any], default: Callable[[Mapping[str, Any]], Any] | None) -> RateLimit | None:
    """The budget of a connection entry: its `rate_limit:` (false: none), else the connector's
    `default` for the entry (ConnectorPlugin.default_rate_limit), else none."""
    if "rate_limit" in entry:
        return rate_limits.parse(entry["rate_limit"], "rate_limit")
    value = default(entry) if default is not None else None
    return rate_limits.parse(value, "the connector's default rate_limit") if value is not None else None
