"""Retry policy shared by every connector: which errors to retry and how long to wait.

Built from tenacity's own pieces: `retry_if_exception_type(TransientError)` decides what is
retried (429, 408, 5xx, timeouts, dropped connections), except a `RateBudgetError` (the
request's turn under the rate budget is too far away: it already waited `max_wait`, so the job
is retried later instead); `stop_after_attempt` combined with a
bound on the whole sequence (`stop_before_total`) keeps a run from hanging on a system that
stays down; the wait (`wait_retry_after`) is the Retry-After of the answer that was *just*
refused when it carried one, otherwise exponential backoff with full jitter (a uniform draw
between 0 and `base * 2^(attempt-1)`, capped: tenacity's `wait_random_exponential`, with the
random source injectable). Tenacity asks the wait before the stop for each attempt, so the
stop bound sees the wait that is about to be slept (`RetryCallState.upcoming_sleep`); nothing
is stored on tenacity's state. Sleeping is injectable so tests never wait.

Every retry (each sleep about to happen) is reported to `engine.retries.report_retry`, so the
runtime can leave an audit row per retry of the job in hand, not only when the retries give up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from engine.errors import RateBudgetError, RetriableHttpError, TransientError
from engine.retries import report_retry

T = TypeVar("T")

__all__ = ["RetryPolicy", "parse_retry_after", "stop_before_total", "wait_full_jitter", "wait_retry_after"]


class wait_full_jitter(wait_random_exponential):
    """tenacity's full-jitter exponential wait with an injectable random source (seeded in tests)."""

    def __init__(self, *, multiplier: float, max: float, rng: random.Random) -> None:
        super().__init__(multiplier=multiplier, max=max)
        self.rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.rng.uniform(0, wait_exponential.__call__(self, retry_state))


class wait_retry_after(wait_base):
    """The server's Retry-After of the attempt that just failed (capped), else `fallback`."""

    def __init__(self, fallback: wait_base, *, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RetriableHttpError) and exc.retry_after is not None:
            return max(0.0, min(float(exc.retry_after), self.cap))
        return float(self.fallback(retry_state))


class stop_before_total(stop_base):
    """Stop when the time so far plus the wait about to be slept would pass `max_total` seconds.

    tenacity's `stop_before_delay` counts wall time only; here the time so far is the larger of
    the wall time and the waits slept (`idle_for`), so the bound holds with an injected sleep too.
    """

    def __init__(self, max_total: float) -> None:
        self.max_total = max_total

    def __call__(self, retry_state: RetryCallState) -> bool:
        elapsed = max(retry_state.seconds_since_start or 0.0, retry_state.idle_for)
        return elapsed + retry_state.upcoming_sleep > self.max_total


@dataclass
class RetryPolicy:
    """How a connector retries transient failures.

    `max_attempts` counts the first try; `max_total_seconds` bounds the whole sequence
    (time spent plus the next wait); `base`/`cap` shape the exponential backoff;
    `max_retry_after` caps a server's Retry-After so a hostile value cannot stall a worker.
    `on_retry(error, wait)` is called before each sleep (besides `engine.retries`' observers).
    """

    max_attempts: int = 6
    max_total_seconds: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False)
    on_retry: Callable[[BaseException, float], None] | None = field(default=None, repr=False)

    def wait(self) -> wait_base:
        """The tenacity wait of this policy (Retry-After first, else full-jitter backoff)."""
        return wait_retry_after(wait_full_jitter(multiplier=self.base, max=self.cap, rng=self.rng), cap=self.max_retry_after)

    def stop(self) -> stop_base:
        """The tenacity stop of this policy (attempts, or the total time with the next wait)."""
        return stop_after_attempt(self.max_attempts) | stop_before_total(self.max_total_seconds)

    def _before_sleep(self, state: RetryCallState) -> None:
        if state.outcome is None or state.next_action is None:
            return
        exc = state.outcome.exception()
        if exc is None:
            return
        wait = state.next_action.sleep
        if self.on_retry is not None:
            self.on_retry(exc, wait)
        report_retry(exc, wait, state.attempt_number)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn`, retrying transient errors; the last error is re-raised as it was."""
        retrying = Retrying(
            stop=self.stop(),
            wait=self.wait(),
            retry=retry_if_exception_type(TransientError) & retry_if_not_exception_type(RateBudgetError),
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
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
