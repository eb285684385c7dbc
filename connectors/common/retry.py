"""Retry policy shared by every connector: which errors to retry and how long to wait.

Built on tenacity. A `TransientError` (429, 408, 5xx, timeouts, dropped connections) is
retried; the wait is the server's Retry-After when it gave one, otherwise exponential backoff
with full jitter; a bound on attempts and on total time keeps a run from hanging on a system
that stays down. Sleeping is injectable so tests never wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from engine.errors import RetriableHttpError, TransientError

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """How a connector retries transient failures.

    `max_attempts` counts the first try; `max_total_seconds` bounds the whole sequence
    (time spent plus the next wait); `base`/`cap` shape the exponential backoff;
    `max_retry_after` caps a server's Retry-After so a hostile value cannot stall a worker.
    """

    max_attempts: int = 6
    max_total_seconds: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False)
    on_retry: Callable[[BaseException, float], None] | None = field(default=None, repr=False)

    def wait_for(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait before attempt `attempt + 1` after `exc`."""
        if isinstance(exc, RetriableHttpError) and exc.retry_after is not None:
            return max(0.0, min(exc.retry_after, self.max_retry_after))
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)

    def _wait(self, state: RetryCallState) -> float:
        upcoming = getattr(state, "mlc_upcoming_wait", None)
        if isinstance(upcoming, float):
            return upcoming
        exc = state.outcome.exception() if state.outcome else None
        return self.wait_for(state.attempt_number, exc)

    def _stop(self, state: RetryCallState) -> bool:
        # idle_for sums the waits (also when sleep is injected); seconds_since_start is wall time.
        elapsed = max(state.seconds_since_start or 0.0, state.idle_for)
        if state.attempt_number >= self.max_attempts or elapsed >= self.max_total_seconds:
            return True
        # The bound covers the next wait too: decide it here (tenacity asks stop before wait)
        # and hand the same value to _wait, so the jitter is drawn once.
        exc = state.outcome.exception() if state.outcome else None
        upcoming = float(self.wait_for(state.attempt_number, exc))
        setattr(state, "mlc_upcoming_wait", upcoming)  # noqa: B010 - RetryCallState has no slot for it
        return elapsed + upcoming > self.max_total_seconds

    def _before_sleep(self, state: RetryCallState) -> None:
        if self.on_retry and state.outcome and state.next_action:
            exc = state.outcome.exception()
            if exc is not None:
                self.on_retry(exc, state.next_action.sleep)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn`, retrying transient errors; the last error is re-raised as it was."""
        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(fn)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
