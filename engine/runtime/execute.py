"""Running one claimed job, by its kind: the dispatch table of the worker.

    document  an ERP record (as polled, or fetched for a webhook) -> X12 or JSON -> partner outbox
    fetch     a webhook notification: read the record, admit it as a poll would -> a document job
    file      an inbound file: a transaction job per set, worked; then the 997, archived
    transaction  one inbound transaction set of a file -> its ERP record

Each returns the job's result (a JSON object stored with it); `{"skipped": reason}` marks the
job skipped. Errors propagate to `Runtime.run_job`, which decides retry or dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import ConfigError
from engine.runtime.context import Context
from engine.runtime.documents import run_document, run_fetch
from engine.runtime.files import run_file
from engine.runtime.transactions import run_transaction
from engine.store import Job

__all__ = ["execute"]

_KINDS: dict[str, Callable[[Context, Job], dict[str, Any]]] = {
    "document": run_document,
    "fetch": run_fetch,
    "file": run_file,
    "transaction": run_transaction,
}


def execute(context: Context, job: Job) -> dict[str, Any]:
    """Run `job` (claimed by this worker) and return its result."""
    run = _KINDS.get(job.kind)
    if run is None:
        raise ConfigError(f"job {job.id} has kind {job.kind!r}; this engine runs document, fetch, file and transaction jobs")
    return run(context, job)
