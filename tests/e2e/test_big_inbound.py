"""A file of many 850s in one interchange, transaction by transaction, end to end against the
emulators: each set is a job of its own, so one order with an item nobody knows and one order
Business Central refuses dead-letter alone, every other order is created, the 997 accepts the
good sets and rejects those two, and a replay of a bad one creates it later without touching
the others. (Memory and time on 2,000 orders: benchmarks/big_inbound.py.)
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from effects import Effects, StepClock, assert_audited, file_job, set_jobs, settle
from world import World, copy_project, edit

from benchmarks.emulated import acme_850, acme_850_batch
from engine.runtime.replay import replay
from engine.store import JobState

ROUTE = "cleo-850-to-bc-sales-orders"
BC = r"/bc/v2\.0/cronus\.example/production/api/v2\.0/companies\([^)]*\)"
FIRST, COUNT = 8001, 30
UNKNOWN = FIRST + 17  # its second line names AC-NO-SUCH-ITEM, in no cross-reference


def _only(world: World, name: str, content: bytes) -> None:
    """Acme's inbox holding this file alone (the seed's 850s would take the injected faults)."""
    for stored in world.cleo.files_in(world.cleo.folder_by_path("acme/inbox").id):
        world.cleo.delete(stored.id)
    world.cleo.put_file("acme/inbox", name, content)


def _numbers() -> list[str]:
    return [f"ACME-PO-{n}" for n in range(FIRST, FIRST + COUNT)]


def test_one_bad_order_and_one_refused_order_fail_alone_and_the_997_rejects_only_them(world: World, tmp_path: Path) -> None:
    batch = acme_850_batch(FIRST, COUNT, unknown_item=frozenset({UNKNOWN}))
    _only(world, batch.name, batch.content)
    world.bc.bc_faults.add("status", match=rf"POST {BC}/salesOrders", times=1, status=400, body='{"error":{"code":"BadRequest","message":"The order cannot be created now."}}')
    effects = Effects.watch(world)
    clock = StepClock()
    progress: list[tuple[int, int]] = []
    with world.runtime(tmp_path / "state", clock=clock) as runtime:
        runtime.progress = lambda job, done, total: progress.append((done, total)) if batch.name in job.key else None
        settle(runtime, clock, routes=[ROUTE])
        assert_audited(runtime)
        sets = {job.key.rsplit(".", 1)[-1]: job for job in set_jobs(runtime, batch.name)}
        file = file_job(runtime, batch.name)
        inputs = [a for a in runtime.store.artifacts(file.id) if a.role == "input"]

    created = Counter(order.get("externalDocumentNumber") for order in world.bc_records("salesOrders"))
    refused, unknown = "0001", f"{UNKNOWN - FIRST + 1:04d}"
    assert len(sets) == COUNT
    assert {st02 for st02, job in sets.items() if job.state is JobState.DEAD} == {refused, unknown}
    assert "The order cannot be created now." in (sets[refused].last_error or "") and sets[refused].attempts == 1
    assert "AC-NO-SUCH-ITEM" in (sets[unknown].last_error or "")
    good = [n for n in _numbers() if n not in (f"ACME-PO-{FIRST}", f"ACME-PO-{UNKNOWN}")]
    assert {n: created[n] for n in _numbers()} == {n: (1 if n in good else 0) for n in _numbers()}
    # the 997: every good set accepted, the refused one with AK502 5, the unknown item pointed at
    ack = world.outbox("acme")[batch.ack_name].decode().replace("\n", "")
    assert ack.count("AK5*A~") == COUNT - 2 and ack.count("AK5*R*5~") == 2
    assert "AK2*850*0001~AK5*R*5~" in ack
    assert f"AK2*850*{unknown}~AK3*PO1*8**8~AK4*7**7*AC-NO-SUCH-ITEM~AK5*R*5~" in ack
    assert f"AK9*P*{COUNT}*{COUNT}*{COUNT - 2}~" in ack
    # the file: stored once, its job done, archived; progress was reported up to 30 / 30
    assert file.state is JobState.DONE and batch.name in world.archive("acme") and world.inbox("acme") == {}
    assert len(inputs) == 1 and all("text" not in (job.payload or {}) for job in sets.values()), "each set reads its bytes from the one stored file"
    assert progress[-1] == (COUNT, COUNT) and [done for done, _ in progress] == sorted(done for done, _ in progress)
    effects.assert_nothing_twice()

    # the partner's cross-reference gains the item: replaying that set creates it, and only it
    project = copy_project(tmp_path / "project")
    edit(project / "partners/acme.yaml", "    AC-CHAIR-02: 1900-S\n", "    AC-CHAIR-02: 1900-S\n    AC-NO-SUCH-ITEM: 1906-S\n")
    with world.runtime(tmp_path / "state", root=project, clock=clock) as runtime:
        fixed = replay(runtime, sets[unknown].id)
        again = replay(runtime, sets[refused].id)
        others = {job.id: job.state for job in set_jobs(runtime, batch.name) if job.id not in (sets[unknown].id, sets[refused].id)}

    created = Counter(order.get("externalDocumentNumber") for order in world.bc_records("salesOrders"))
    assert fixed.state is JobState.DONE and fixed.detail.startswith("created salesOrders ")
    assert again.state is JobState.DONE and again.detail.startswith("created salesOrders ")
    assert {n: created[n] for n in _numbers()} == dict.fromkeys(_numbers(), 1)
    assert set(others.values()) == {JobState.DONE}
    effects.assert_nothing_twice()


def test_a_set_waiting_for_a_retry_holds_the_997_until_it_is_created(world: World, tmp_path: Path) -> None:
    batch = acme_850_batch(FIRST, 5)
    _only(world, batch.name, batch.content)
    world.bc.bc_faults.add("status", match=rf"POST {BC}/salesOrders", times=6, status=503)
    clock = StepClock()
    with world.runtime(tmp_path / "state", clock=clock) as runtime:
        runtime.run_once([ROUTE])
        waiting = file_job(runtime, batch.name)
        ack_before = batch.ack_name in world.outbox("acme")
        settle(runtime, clock, routes=[ROUTE])
        assert_audited(runtime)
        done = file_job(runtime, batch.name)

    assert waiting.state is JobState.PENDING and "waiting for 1 of 5 transaction set(s)" in (waiting.last_error or "")
    assert not ack_before, "no 997 while a set is still retrying"
    assert done.state is JobState.DONE and done.attempts == 1, "waiting spent no attempt"
    assert world.outbox("acme")[batch.ack_name].decode().count("AK5*A~") == 5
    created = Counter(order.get("externalDocumentNumber") for order in world.bc_records("salesOrders"))
    assert [created[f"ACME-PO-{n}"] for n in range(FIRST, FIRST + 5)] == [1] * 5


def test_a_file_whose_interchanges_end_segments_differently_carries_the_text_of_the_sets_it_cannot_slice(world: World, tmp_path: Path) -> None:
    # Where byte ranges of the stored file cannot describe a set (its interchange ends segments
    # with another character than the file's first), its job carries the set's text instead.
    first, second = acme_850(8201), acme_850(8202)
    content = first.content + second.content.replace(b"~\n", b"|\n")
    _only(world, "850_TWO-TERMINATORS.edi", content)
    clock = StepClock()
    with world.runtime(tmp_path / "state", clock=clock) as runtime:
        settle(runtime, clock, routes=[ROUTE])
        jobs = sorted(set_jobs(runtime, "850_TWO-TERMINATORS.edi"), key=lambda job: job.id)
    assert [job.state for job in jobs] == [JobState.DONE, JobState.DONE]
    assert ["range" in (job.payload or {}) for job in jobs] == [True, False]
    assert (jobs[1].payload or {})["text"].startswith("ST*850*0001|")
    created = Counter(order.get("externalDocumentNumber") for order in world.bc_records("salesOrders"))
    assert created["ACME-PO-8201"] == created["ACME-PO-8202"] == 1
