"""Outcomes of jobs run inside another job (a file job's transaction sets) are listed in the
`WorkResult` of the thread that ran them: `mlc serve` runs several worker threads on one runtime."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.runtime import JobOutcome, Runtime
from engine.store import JobState

MakeRuntime = Callable[..., Runtime]


def test_outcomes_noted_by_a_thread_are_listed_in_that_thread_s_work_only(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    runtime.store.enqueue("bc-invoices-to-810", "odd-1", kind="no-such-kind")  # dies at once: an outcome of this work()
    inner, _ = runtime.store.enqueue("cleo-850-to-bc-sales-orders", "set-1", kind="transaction")
    other = threading.Thread(target=runtime.note_outcome, args=(JobOutcome(inner, JobState.DONE, "noted by another thread"),))
    other.start()
    other.join()
    runtime.note_outcome(JobOutcome(inner, JobState.DONE, "noted by this thread"))

    result = runtime.work(routes=["bc-invoices-to-810"])

    assert [(o.job.key, o.detail) for o in result.outcomes][:1] == [("set-1", "noted by this thread")]
    assert [o.job.key for o in result.outcomes] == ["set-1", "odd-1"]
