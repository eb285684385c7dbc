"""Every flow of DESIGN.md end to end: the real engine, real HTTP, the emulators' seed data."""

from __future__ import annotations

import io
from pathlib import Path

from world import World

from engine.store import JobState
from engine.x12 import document


def test_run_once_carries_every_flow_and_second_run_sends_nothing_again(world: World, tmp_path: Path) -> None:
    with world.runtime(tmp_path) as runtime:
        first = runtime.run_once()
        states = {(o.job.route, o.job.key): o.state for o in first["work"].outcomes}
        second = runtime.run_once()

    # flow 1: posted invoices of partner customers only
    assert set(world.outbox("acme")) >= {"810_acme_103001.edi", "850_acme_S-ORD-101001.edi"}
    assert "810_contoso_103002.edi" in world.outbox("contoso")
    # the sales order route's lookup read the BC items: their GTINs are in the PO1s
    assert b"VP*1896-S*BP*AC-DESK-01*UK*00012345000010~" in world.outbox("acme")["850_acme_S-ORD-101001.edi"]
    # flows 2, 3, 6: BC orders and GP documents to the partners' outboxes
    assert {"850_globex_106001.edi", "850_globex_PO2101.edi"} <= set(world.outbox("globex"))
    assert {"850_initech_106002.edi", "po_initech_PO2102.json", "vendor_initech_INITECH0001_2024-05-03T083000.json"} <= set(world.outbox("initech"))
    for partner in ("acme", "contoso", "globex", "initech"):
        for name, content in world.outbox(partner).items():
            if name.endswith(".edi"):
                assert document.check(io.BytesIO(content), name).ok, name
    # flow 4: the 850 became a BC sales order; the one with an unknown item created nothing
    orders = [o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7001"]
    assert len(orders) == 1 and orders[0]["customerNumber"] == "C10000"
    assert not [o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7002"]
    dead = [key for (route, key), state in states.items() if state is JobState.DEAD]
    assert len(dead) == 1 and "7002" in dead[0]
    # flow 5: the 855 on the Released order 106001 set the dates BC allows and holds the rest
    po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
    lines = {line["lineObjectNumber"]: line for line in po["purchaseOrderLines"]}
    assert lines["1900-S"]["quantity"] == 20 and lines["1908-S"]["quantity"] == 5
    assert lines["1896-S"]["expectedReceiptDate"] == "2024-05-15" and lines["1900-S"]["expectedReceiptDate"] == "2024-05-20"
    review = [key for (route, key), state in states.items() if state is JobState.REVIEW]
    assert len(review) == 1 and "855_106001" in review[0]
    # flow 7: the 856 became a GP receipt in Work
    receipts = world.gp_records("purchaseReceipts")
    assert [r["VendorDocumentNumber"] for r in receipts] == ["GLX-SHP-2101"]
    assert receipts[0]["TransactionState"] == "Work"
    # flow 8: a 997 for every inbound group (acme 850s, globex 855/856; none for the 997 file)
    assert sum(1 for n in world.outbox("acme") if n.startswith("997_")) == 2
    assert sum(1 for n in world.outbox("globex") if n.startswith("997_")) == 2
    # the unknown item's set is rejected in its 997 (its own job dead, replayable from the store)
    assert b"AK5*R*5~" in world.outbox("acme")["997_acme_000000702.edi"]
    assert b"AK5*A~" in world.outbox("acme")["997_acme_000000701.edi"]
    # processed files left the inbox, the one whose only set was dead-lettered too
    assert world.inbox("acme") == {}
    assert "850_ACME-PO-7002_unknown_item.edi" in world.archive("acme")
    assert world.inbox("globex") == {}
    # the second run found nothing new and did nothing
    assert second["work"].outcomes == []
    assert all(p.enqueued == 0 for p in second["polls"].values())


def test_an_855_held_on_a_released_order_is_applied_by_a_replay_once_the_order_is_reopened(world: World, tmp_path: Path) -> None:
    from engine.runtime.replay import replay

    with world.runtime(tmp_path) as runtime:
        runtime.run_once(["cleo-855-to-bc-purchase-orders"])
        (job,) = runtime.store.jobs(state="review")
        (held,) = runtime.store.acknowledgments(state="review")
        assert [(line.line_number, line.held) for line in held.held_lines] == [("2", ("quantity",)), ("3", ("quantity",))]
        assert held.held_lines[0].differences["quantity"] == (20.0, 15.0)
        assert "855_106001.edi" in world.archive("globex")  # the file itself is done with
        # a replay while the order is still Released holds the same lines again
        assert replay(runtime, job.id).state is JobState.REVIEW

        world.bc.reopen("purchaseOrders", "106001")  # what a buyer does in BC after agreeing
        outcome = replay(runtime, job.id)

        assert outcome.state is JobState.DONE, outcome.detail
        assert runtime.store.acknowledgments(job.id)[0].state == "applied"
        assert runtime.store.acknowledgments(state="review") == []
        events = [event.event for event in runtime.store.job_events(job.id)]
        assert events.count("held") == 2 and events.count("review") == 2 and events[-1] == "done"
    po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
    lines = {line["lineObjectNumber"]: line for line in po["purchaseOrderLines"]}
    assert lines["1900-S"]["quantity"] == 15 and lines["1908-S"]["quantity"] == 0
    assert sum(1 for name in world.outbox("globex") if name.startswith("997_")) == 1  # the 997 was not sent again
