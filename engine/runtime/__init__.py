"""The runtime: routes running for real against the state store and the connected systems.

    systems.py    one connector per connection, through the plugins
    runtime.py    Runtime: poll, work, run_once; retry / dead-letter by error class
    poll.py       sources -> jobs (cursor and ledger in the same transaction)
    execute.py    the job kinds: document, fetch, file
    documents.py  ERP record -> X12/JSON -> partner outbox (exactly once)
    files.py      inbound file -> 997 -> ERP writes -> archive (exactly once)
    targets.py    ERP create (unique check) / update (change sets) / 997 matching
    lookups.py    route reference data, cached per run
"""

from __future__ import annotations

from engine.runtime.poll import PollResult
from engine.runtime.runtime import JobOutcome, Runtime, RuntimeSettings, WorkResult
from engine.runtime.systems import Systems

__all__ = ["JobOutcome", "PollResult", "Runtime", "RuntimeSettings", "Systems", "WorkResult"]
