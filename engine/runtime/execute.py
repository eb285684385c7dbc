"""Running one claimed job, by its kind: the dispatch table of the worker.

    document  an ERP record (as polled, or fetched for a webhook) -> X12 or JSON -> partner outbox
    fetch     a webhook notification: read the record, admit it as a poll would -> a document job
    file      an inbound file: a transaction job per set, worked; then the 997, archived
    transaction  one inbound transaction set of a file -> its ERP record

Each returns the job's result (a JSON object stored with it); `{"skipped": reason}` marks the
job skipped. Errors propagate to `Runtime.run_job`, which decides retry or dead letter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError
from engine.store import Job

if TYPE_CHECKING:
    from engine.runtime.runtime import Runtime

__all__ = ["execute"]


def execute(runtime: Runtime, job: Job) -> dict[str, Any]:
    """Run `job` (claimed by this worker) and return its result."""
    if job.kind == "document":
        from engine.runtime.documents import run_document

        return run_document(runtime, job)
    if job.kind == "fetch":
        from engine.runtime.documents import run_fetch

        return run_fetch(runtime, job)
    if job.kind == "file":
        from engine.runtime.files import run_file

        return run_file(runtime, job)
    if job.kind == "transaction":
        from engine.runtime.transactions import run_transaction

        return run_transaction(runtime, job)
    raise ConfigError(f"job {job.id} has kind {job.kind!r}; this engine runs document, fetch, file and transaction jobs")
