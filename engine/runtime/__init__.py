"""The runtime: routes running for real against the state store and the connected systems.

    systems.py       one connector per connection, through the plugins
    runtime.py       Runtime: poll, work, run_once; retry / dead-letter by error class
    context.py       Context: what the steps below are given (store, systems, project, clock, audit)
    audit.py         Audit: the one way to write audit rows; elapsed_ms
    poll.py          sources -> jobs (cursor and ledger in the same transaction)
    execute.py       the job kinds: document, fetch, file, transaction
    documents.py     ERP record -> X12/JSON -> partner outbox (exactly once)
    files.py         inbound file -> a job per transaction set -> 997 -> archive (exactly once)
    transactions.py  one inbound transaction set -> its ERP record
    targets.py       ERP create (unique check) / update (change sets) / 997 matching
    lookups.py       route reference data, cached per run
    slices.py        where each set of a stored file lies; 997 codes for refused sets
    replay.py        mlc replay: preview, then run a job again
    setup.py         open_runtime: the project, its store, its secrets, its systems

Imports run one way (runtime -> poll, execute; execute -> documents, files, transactions;
documents -> poll -> files -> transactions -> targets): the steps import `context`, never
`runtime`, and nothing imports inside a function (tests/test_import_cycles.py keeps it so).
"""

from __future__ import annotations

from engine.runtime.context import Context, JobOutcome
from engine.runtime.poll import PollResult
from engine.runtime.runtime import Runtime, RuntimeSettings, WorkResult
from engine.runtime.systems import Systems

__all__ = ["Context", "JobOutcome", "PollResult", "Runtime", "RuntimeSettings", "Systems", "WorkResult"]
