"""Retries inside a connector, made visible to whoever is working: one report per retry.

A connector retries a throttled or failed request itself (`connectors.common.retry`) before
the error reaches the runtime; without a report, a job that waited out five 429s would show
nothing in its audit trail until the retries gave up. The connector calls `report_retry`
before each sleep; the runtime watches, for the job (or the poll) in hand, with
`watching_retries`, and writes an audit row per report. The engine never imports connectors,
so the hook lives here and connectors call it (as with `engine.metrics.report_http_call`).

The watcher is held in a context variable: each worker thread sees only the retries of the
work it runs itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["RetryWatcher", "report_retry", "watching_retries"]

log = logging.getLogger(__name__)

RetryWatcher = Callable[[BaseException, float, int], None]
"""Called with (the error just met, seconds about to be slept, the attempt that failed)."""

_watcher: ContextVar[RetryWatcher | None] = ContextVar("mlc_retry_watcher", default=None)


@contextmanager
def watching_retries(watcher: RetryWatcher) -> Iterator[None]:
    """Call `watcher` for every connector retry made in this thread (context) within the block."""
    token = _watcher.set(watcher)
    try:
        yield
    finally:
        _watcher.reset(token)


def report_retry(error: BaseException, wait: float, attempt: int) -> None:
    """A connector is about to sleep `wait` seconds and retry after `error` (never raises)."""
    watcher = _watcher.get()
    if watcher is None:
        return
    try:
        watcher(error, wait, attempt)
    except Exception:  # recording a retry must never fail the business call
        log.exception("a retry watcher failed")
