"""`engine.runtime.replay` end to end: the preview (stored output beside today's mapping), and
the re-run of document and file jobs, against the emulators (real HTTP)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from effects import Effects, StepClock, assert_audited, message, set_jobs, settle, steps, trail
from world import World, copy_project, edit

from engine.errors import UsageError
from engine.runtime.replay import preview, replay
from engine.store import JobState
from engine.x12 import document

UNKNOWN_ITEM_FILE = "850_ACME-PO-7002_unknown_item.edi"


def _isa13(content: bytes) -> str:
    text = content.decode()
    return text.split(text[3])[13]


def test_replaying_a_sent_invoice_renders_it_anew_under_a_versioned_name_and_keeps_the_first_file(world: World, tmp_path: Path) -> None:
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["bc-invoices-to-810"])
        job = runtime.store.find_jobs("103001")[0]
        first = world.outbox("acme")["810_acme_103001.edi"]
        outcome = replay(runtime, job.id)
        second = replay(runtime, job.id)
        assert_audited(runtime)
        events = trail(runtime, "103001")

    assert outcome.state is JobState.DONE and outcome.detail == "acme/outbox/810_acme_103001.r1.edi"
    assert second.state is JobState.DONE and second.detail == "acme/outbox/810_acme_103001.r2.edi"
    outbox = world.outbox("acme")
    assert outbox["810_acme_103001.edi"] == first, "the partner's first file is never touched"
    replayed = [outbox["810_acme_103001.r1.edi"], outbox["810_acme_103001.r2.edi"]]
    assert all(document.check(io.BytesIO(content), "810").ok for content in replayed)
    assert len({_isa13(first), *map(_isa13, replayed)}) == 3, "each replay takes new control numbers"
    assert steps(events).count("replay") == 2 and steps(events).count("upload") == 3
    assert effects.stored["acme/outbox/810_acme_103001.edi"] == 1


def test_the_preview_of_a_document_shows_todays_mapping_change_and_takes_no_control_number_or_file(world: World, tmp_path: Path) -> None:
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["gp-purchase-orders-to-json", "bc-invoices-to-810"])
        json_job = runtime.store.find_jobs("PO2102")[0]
        x12_job = runtime.store.find_jobs("103001")[0]
        unchanged = preview(runtime, json_job.id)
    project = copy_project(tmp_path / "project")
    (project / "mappings/gp-purchase-order-to-json/mapping.yaml").write_text(  # the project's own variant of the shipped mapping
        'extends: gp-purchase-order-to-json\noutput:\n  vendorName: "{{ doc.VendorName | upper }}"\n', encoding="utf-8"
    )
    with world.runtime(tmp_path, root=project, clock=clock) as runtime:
        controls = runtime.store.peek_control("acme", "isa")
        changed = preview(runtime, json_job.id)
        x12 = preview(runtime, x12_job.id)
        assert runtime.store.peek_control("acme", "isa") == controls
        jobs_after = [runtime.store.get(json_job.id), runtime.store.get(x12_job.id)]

    assert unchanged.error is None and unchanged.diff == ""
    assert changed.error is None
    changes = [line for line in changed.diff.splitlines()[2:] if line[:1] in "+-"]
    assert changes == ['-  "vendorName": "Initech Parts",', '+  "vendorName": "INITECH PARTS",']
    assert x12.error is None and "ISA*00*" in x12.output and _isa13(x12.output.encode()) == f"{controls:09d}"
    assert [job.state for job in jobs_after] == [JobState.DONE, JobState.DONE]
    assert set(world.outbox("initech")) == {"po_initech_PO2102.json"}


def test_the_preview_of_a_file_whose_mapping_fails_names_the_reason(world: World, tmp_path: Path) -> None:
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-850-to-bc-sales-orders"])
        job = set_jobs(runtime, UNKNOWN_ITEM_FILE)[0]
        shown = preview(runtime, job.id)

    assert shown.error is not None and "AC-LAMP-99" in shown.error
    assert shown.job.id == job.id and shown.job.state is JobState.DEAD


def test_a_dead_850_replayed_after_the_partner_cross_reference_is_fixed_creates_its_order_once(
    world: World, tmp_path: Path
) -> None:
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-850-to-bc-sales-orders"])
        job = set_jobs(runtime, UNKNOWN_ITEM_FILE)[0]
    project = copy_project(tmp_path / "project")
    edit(project / "partners/acme.yaml", "    AC-CHAIR-02: 1900-S\n", "    AC-CHAIR-02: 1900-S\n    AC-LAMP-99: 1906-S\n")
    with world.runtime(tmp_path, root=project, clock=clock) as runtime:
        shown = preview(runtime, job.id)
        outcome = replay(runtime, job.id)
        assert_audited(runtime)
        events = runtime.store.job_events(job.id)

    assert shown.error is None and '"lineObjectNumber": "1906-S"' in shown.output
    assert outcome.state is JobState.DONE and outcome.detail.startswith("created salesOrders ")
    orders = [o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7002"]
    assert len(orders) == 1
    assert sorted(line["lineObjectNumber"] for line in orders[0]["salesOrderLines"]) == ["1896-S", "1906-S"]
    assert UNKNOWN_ITEM_FILE not in world.inbox("acme") and UNKNOWN_ITEM_FILE in world.archive("acme")
    names = steps(events)
    assert names == ["enqueued", "dead", "replay", "map", "create", "done"], "the set alone runs again, from the file stored once"
    assert "was dead" in message(events[names.index("replay")])
    assert effects.stored["acme/outbox/997_acme_000000702.edi"] == 1, "the 997 that rejected the set went out once"
    effects.assert_nothing_twice()


def test_replaying_a_done_855_applies_it_again_to_the_purchase_order(world: World, tmp_path: Path) -> None:
    world.bc.reopen("purchaseOrders", "106001")  # an Open order: the 855 is applied whole, the job done
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-855-to-bc-purchase-orders"])
        job = set_jobs(runtime, "855_106001.edi")[0]
        po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
        changed = next(line for line in po["purchaseOrderLines"] if line["lineObjectNumber"] == "1900-S")
        world.bc.patch_line("purchaseOrderLines", changed["id"], {"quantity": 20}, "*")  # someone undid the change
        outcome = replay(runtime, job.id)
        events = runtime.store.job_events(job.id)

    po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
    assert {line["lineObjectNumber"]: line["quantity"] for line in po["purchaseOrderLines"]}["1900-S"] == 15
    assert outcome.state is JobState.DONE and outcome.detail == "updated purchaseOrders 106001: 3 line(s)"
    assert "duplicate" not in steps(events), "its own interchange is not a resend"
    assert steps(events).count("update") == 2


def test_a_running_job_cannot_be_replayed_and_a_fetch_job_has_no_input_to_preview(world: World, tmp_path: Path) -> None:
    with world.runtime(tmp_path) as runtime:
        runtime.poll("bc-invoices-to-810")
        running = runtime.store.claim("another-worker", limit=1, now=runtime.now())[0]
        fetch, _ = runtime.store.enqueue("bc-invoices-to-810", "notification:1", kind="fetch", payload={"id": "x"})
        with pytest.raises(UsageError, match=f"job {running.id} is running \\(worker another-worker\\)"):
            replay(runtime, running.id)
        with pytest.raises(UsageError, match="only document, file and transaction jobs have an input to replay"):
            preview(runtime, fetch.id)
        assert runtime.store.get(running.id).state is JobState.RUNNING


def test_a_dead_850_replayed_after_its_missing_item_is_added_to_bc_reads_the_reference_data_again(world: World, tmp_path: Path) -> None:
    chair = next(item for item in world.bc_records("items") if item["number"] == "1900-S")
    world.bc.delete_record("items", "1900-S")
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-850-to-bc-sales-orders"])
        job = set_jobs(runtime, "850_ACME-PO-7001.edi")[0]
        assert job.state is JobState.DEAD and "items '1900-S'" in (job.last_error or "")
        world.bc.add_record("items", {k: v for k, v in chair.items() if k in ("number", "displayName", "type", "unitPrice", "baseUnitOfMeasureCode")})

        outcome = replay(runtime, job.id)  # the same runtime: its lookup cache still says 1900-S is missing
        assert_audited(runtime)

    assert outcome.state is JobState.DONE, outcome.detail
    assert len([o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7001"]) == 1
    effects.assert_nothing_twice()
