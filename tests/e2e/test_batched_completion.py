"""A worker renders a claim batch's new document jobs before the first upload and stores them in
one transaction, and writes their completions in one transaction after the batch: two commits
for the batch instead of two per document. Every job ends done with its audit trail in order; a
render that fails dies alone and leaves no gap in the control numbers; another worker taking a
partner's numbers meanwhile gives that partner's documents the numbers of the batch's block (their
bodies wrapped again), a store that refuses the batch's write costs renders again, never a number
twice; a job whose claim was lost
meanwhile does not keep the others from completing; `settle_within_seconds` bounds how long a
completion waits; a stopping worker puts the rest of its batch back, and the next run sends
their stored outputs. Each on SQLite and on PostgreSQL. (Crash safety with completions written
late is the SIGKILL test of test_crash.py: a re-run re-sends the stored output, which the outbox
already holds.)"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from world import FAST, World

from benchmarks.emulated import post_invoices
from engine.runtime import Runtime
from engine.store import JobState
from engine.x12.document import check
from tests.engine.store.store_support import postgres_schema, require_postgres

ROUTE = "bc-invoices-to-810"


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The store of the test's runtime: None (SQLite in tmp_path) or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    with postgres_schema() as url:
        yield url
INVOICES = 23  # besides the seed's two: 25 documents, batches of 10, 10 and 5


@contextmanager
def counting_commits() -> Iterator[list[int]]:
    """A list that grows by one at each database commit in this process while the block runs."""
    commits: list[int] = []

    def count(_connection: Any) -> None:
        commits.append(1)

    event.listen(Engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(Engine, "commit", count)


def before_each_upload(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, hook: Callable[[int], None]) -> None:
    """Call `hook(uploads so far)` before each upload to the runtime's Cleo mailboxes."""
    files = runtime.systems.files("cleo")
    upload = files.upload
    uploads: list[str] = []

    def hooked(folder: str, name: str, content: bytes, **kwargs: Any) -> Any:
        hook(len(uploads))
        uploads.append(name)
        return upload(folder, name, content, **kwargs)

    monkeypatch.setattr(files, "upload", hooked)


def test_a_batch_of_documents_completes_in_one_transaction(world: World, tmp_path: Path, database: str | None) -> None:
    post_invoices(world.bc, INVOICES)
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10)) as runtime:
        documents = runtime.poll(ROUTE).enqueued
        with counting_commits() as commits:
            result = runtime.work(routes=[ROUTE])
        committed = len(commits)
        trails = {o.job.key: [e.event for e in runtime.store.job_events(o.job.id)] for o in result.outcomes}

    assert documents == INVOICES + 2
    assert [o.state for o in result.outcomes] == [JobState.DONE] * documents
    assert len({o.job.id for o in result.outcomes}) == documents
    assert all(o.seconds > 0 for o in result.outcomes)  # each job's own time (the service's metrics)
    batches = 3
    # per batch a claim, the read of the control numbers the renders use, the renders' outputs
    # and the completions; and the claim that found none
    assert committed == batches * 4 + 1
    assert set(map(tuple, trails.values())) == {("enqueued", "render", "upload", "done")}
    assert len(world.outbox("acme")) + len(world.outbox("contoso")) >= documents


def test_settle_within_zero_writes_each_completion_before_the_next_job(world: World, tmp_path: Path, database: str | None) -> None:
    post_invoices(world.bc, 8)
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10, settle_within_seconds=0.0)) as runtime:
        documents = runtime.poll(ROUTE).enqueued
        with counting_commits() as commits:
            result = runtime.work(routes=[ROUTE])

    assert [o.state for o in result.outcomes] == [JobState.DONE] * documents
    # two claims (the second finds none), the batch's read of its control numbers and its
    # outputs, each document's completion
    assert len(commits) == 2 + 2 + documents


def test_a_job_whose_claim_was_lost_leaves_the_other_completions_written(world: World, tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    post_invoices(world.bc, 3)
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10)) as runtime:
        runtime.poll(ROUTE)
        stolen: list[int] = []

        def lose_the_first_claim(uploaded: int) -> None:
            if uploaded == 3:  # the first job's claim is lost to another worker meanwhile
                first = min(runtime.store.jobs(route=ROUTE), key=lambda job: job.id)
                runtime.store.defer(first.id, reason="released", not_before=runtime.now() - timedelta(seconds=1), worker_id=runtime.worker_id)
                assert runtime.store.claim_one(first.id, "other-worker", now=runtime.now()) is not None
                stolen.append(first.id)

        before_each_upload(runtime, monkeypatch, lose_the_first_claim)
        result = runtime.work(routes=[ROUTE])
        stored = {job.id: job for job in runtime.store.jobs(route=ROUTE)}
        trails = {job_id: [e.event for e in runtime.store.job_events(job_id)] for job_id in stored}

    states = {o.job.id: o.state for o in result.outcomes}
    assert states.pop(stolen[0]) is JobState.RUNNING
    assert set(states.values()) == {JobState.DONE} and len(states) == 4
    assert stored[stolen[0]].state is JobState.RUNNING and stored[stolen[0]].claimed_by == "other-worker"
    assert all(stored[job_id].state is JobState.DONE for job_id in states)
    # written one by one after the shared transaction failed, each with the upload kept for it
    assert all(trails[job_id] == ["enqueued", "render", "upload", "done"] for job_id in states)
    assert trails[stolen[0]] == ["enqueued", "render"]  # its upload was kept for the completion it could not write


def test_a_stopping_worker_finishes_its_job_in_hand_and_puts_the_rest_of_its_batch_back(world: World, tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    post_invoices(world.bc, 8)
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10)) as runtime:
        runtime.poll(ROUTE)
        # while the second document is uploaded, a signal arrives
        before_each_upload(runtime, monkeypatch, lambda uploaded: runtime.stop() if uploaded == 1 else None)
        result = runtime.work(routes=[ROUTE])
        jobs = sorted(runtime.store.jobs(route=ROUTE), key=lambda job: job.id)

        rendered = {job.id: runtime.store.artifact(job.id, "output") for job in jobs}
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10)) as runtime:  # the next run
        again = runtime.work(routes=[ROUTE])
        trails = {job.id: [e.event for e in runtime.store.job_events(job.id)] for job in jobs}
        sent = {name: content for partner in ("acme", "contoso") for name, content in world.outbox(partner).items()}

    assert [o.state for o in result.outcomes] == [JobState.DONE, JobState.DONE]
    assert [job.state for job in jobs] == [JobState.DONE] * 2 + [JobState.PENDING] * 8
    assert all(job.attempts == 0 and job.claimed_by is None for job in jobs[2:])
    # the batch was rendered before its first upload: the next run sends those outputs as stored
    assert all(rendered[job.id] is not None for job in jobs)
    assert [o.state for o in again.outcomes] == [JobState.DONE] * 8
    assert all(trails[job.id][:3] == ["enqueued", "render", "upload"] for job in jobs[:2])
    for job in jobs[2:]:
        assert trails[job.id][:2] == ["enqueued", "render"] and trails[job.id][-3:] == ["render", "upload", "done"]  # the second render: "reusing"
        stored = rendered[job.id]
        assert stored is not None and sent[stored.name] == stored.content


def isa13(content: bytes) -> int:
    return int(content.decode().split("*")[13])


@pytest.mark.parametrize("batch", [pytest.param(10, id="batch"), pytest.param(1, id="one-at-a-time")])
def test_a_render_that_fails_dies_alone_and_leaves_no_gap_in_the_control_numbers(world: World, tmp_path: Path, database: str | None, batch: int) -> None:
    """In a batch it takes no numbers (rendered before them); alone, it gives back the ones it took."""
    post_invoices(world.bc, 3)
    # an acme invoice without the PO number its guide requires (BIG04), between the others
    draft = world.bc.add_record("salesInvoices", {"customerNumber": "C10000", "externalDocumentNumber": "", "salesInvoiceLines": [{"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}]})
    bad = str(world.bc.post_invoice(draft["id"])["number"])
    post_invoices(world.bc, 3)
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=batch)) as runtime:
        documents = runtime.poll(ROUTE).enqueued
        with counting_commits() as commits:
            result = runtime.work(routes=[ROUTE])
        states = {o.job.key: o.state for o in result.outcomes}
        dead = next(o for o in result.outcomes if o.job.key == bad)
        trail = [e.event for e in runtime.store.job_events(dead.job.id)]
        acme = sorted(isa13(content) for content in world.outbox("acme").values())

    assert documents == 9
    assert states.pop(bad) is JobState.DEAD and set(states.values()) == {JobState.DONE}
    assert "BIG04" in dead.detail
    assert trail == ["enqueued", "dead"]  # no render event: nothing was rendered for it
    assert acme == list(range(acme[0], acme[0] + len(acme)))  # no gap where the failed render was
    if batch == 10:  # a claim, the read of the numbers, the batch's outputs, the dead job's
        assert len(commits) == 6  # outcome, the batch's completions, the empty claim


def test_a_batch_whose_shared_render_fails_renders_each_document_on_its_own(world: World, tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.errors import StoreBusyError
    from engine.store import Transaction

    post_invoices(world.bc, 4)
    put_artifacts = Transaction.put_artifacts
    failures: list[int] = []

    def busy_once(tx: Transaction, artifacts: Any) -> None:
        if len(artifacts) > 1 and not failures:
            failures.append(len(artifacts))
            raise StoreBusyError("database is locked")
        put_artifacts(tx, artifacts)

    monkeypatch.setattr(Transaction, "put_artifacts", busy_once)
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10)) as runtime:
        documents = runtime.poll(ROUTE).enqueued
        result = runtime.work(routes=[ROUTE])
        trails = {o.job.key: [e.event for e in runtime.store.job_events(o.job.id)] for o in result.outcomes}
        sent = {name: content for partner in ("acme", "contoso") for name, content in world.outbox(partner).items()}

    assert failures == [documents]
    assert [o.state for o in result.outcomes] == [JobState.DONE] * documents
    assert set(map(tuple, trails.values())) == {("enqueued", "render", "upload", "done")}
    assert len(sent) == documents
    acme = sorted(isa13(content) for name, content in sent.items() if "_acme_" in name)
    assert acme == list(range(acme[0], acme[0] + len(acme)))  # the rolled-back batch consumed no numbers


@pytest.mark.parametrize("reads_controls", [False, True], ids=["wrapped-again", "rendered-again"])
def test_a_batch_whose_numbers_another_worker_took_meanwhile_gives_that_partners_documents_the_numbers_of_its_block(
    world: World, tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch, reads_controls: bool
) -> None:
    import engine.runtime.documents as documents

    post_invoices(world.bc, 6)
    render = documents.render_outbound
    renders: list[int] = []
    taken: list[dict[str, int]] = []
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10)) as runtime:
        for mapping in runtime.project.mappings.values():
            # a mapping one of whose values reads `control` (compile decides it; tested with the mapping engine)
            monkeypatch.setattr(mapping, "reads_controls", reads_controls)
        total = runtime.poll(ROUTE).enqueued

        def other_worker_meanwhile(*args: Any, **kwargs: Any) -> Any:
            renders.append(1)
            if len(renders) == 2:  # while the batch renders, another worker sends an acme document
                taken.append(runtime.store.next_controls("acme"))
            return render(*args, **kwargs)

        monkeypatch.setattr(documents, "render_outbound", other_worker_meanwhile)
        result = runtime.work(routes=[ROUTE])
        outbox = world.outbox("acme")
        events = {o.job.id: runtime.store.job_events(o.job.id) for o in result.outcomes if o.job.partner == "acme"}

    assert [o.state for o in result.outcomes] == [JobState.DONE] * total
    acme_documents = sum(1 for o in result.outcomes if o.job.partner == "acme")
    # acme's documents wrapped again with the numbers of its block (their bodies as rendered), or
    # rendered again when the mapping reads its numbers; contoso's kept
    assert len(renders) == total + (acme_documents if reads_controls else 0)
    # the batch's acme documents follow the number the other worker took, with no gap, each a
    # sound interchange whose render event names the numbers it carries
    acme = sorted(isa13(content) for content in outbox.values())
    assert acme == list(range(taken[0]["isa"] + 1, taken[0]["isa"] + 1 + len(acme)))
    for name, content in outbox.items():
        report = check(io.BytesIO(content), name)
        assert report.ok, [p.line(name) for p in report.errors]
    rendered = sorted(e.detail["controls"]["isa"] for trail in events.values() for e in trail if e.event == "render")
    assert rendered == acme


def test_a_batch_of_x12_and_json_documents_for_one_partner_renders_each_as_its_mapping_says(world: World, tmp_path: Path, database: str | None) -> None:
    # the seed's initech documents: a BC purchase order as an 850, a GP purchase order and a GP
    # vendor as JSON payloads, claimed in one batch
    routes = ["bc-purchase-orders-to-850", "gp-purchase-orders-to-json", "gp-vendors-to-json"]
    with world.runtime(tmp_path, database=database, settings=replace(FAST, claim_batch=10)) as runtime:
        polled = sum(runtime.poll(route).enqueued for route in routes)
        result = runtime.work(routes=routes)
        sent = world.outbox("initech")

    assert polled == len(result.outcomes) >= 3
    assert {o.state for o in result.outcomes} == {JobState.DONE}
    x12 = [name for name in sent if name.endswith(".edi")]
    payloads = [name for name in sent if name.endswith(".json")]
    assert x12 and len(payloads) >= 2
    assert all(sent[name].startswith(b"ISA*") for name in x12) and all(sent[name].lstrip().startswith(b"{") for name in payloads)
