"""Every flow end to end with the partners' mailboxes on a real OpenSSH sshd (SFTP), BC and GP
on their emulators: the same outcomes as over REST (test_flows.py), files published once each
by rename, processed inbound files archived, a second run doing nothing."""

from __future__ import annotations

import io
from pathlib import Path

from sftp_world import sftp_project, sftp_runtime
from world import World

from connectors.cleo.sshd import LocalSshd
from engine.store import JobState
from engine.x12 import document


def test_every_flow_runs_over_sftp_and_a_second_run_sends_nothing_again(world: World, sshd: LocalSshd, tmp_path: Path) -> None:
    sshd.reset(seed=True)
    root = sftp_project(tmp_path / "project", sshd)
    with sftp_runtime(world, sshd, root, tmp_path / "state") as runtime:
        first = runtime.run_once()
        states = {(o.job.route, o.job.key): o.state for o in first["work"].outcomes}
        second = runtime.run_once()
        sessions = runtime.systems.files("cleo").sessions_opened  # type: ignore[attr-defined]

    outbox = {partner: sshd.folder(f"{partner}/outbox") for partner in ("acme", "contoso", "globex", "initech")}
    # flows 1, 2: BC invoices and sales orders as 810 / 850 files uploaded over SFTP
    assert {"810_acme_103001.edi", "850_acme_S-ORD-101001.edi"} <= set(outbox["acme"])
    assert "810_contoso_103002.edi" in outbox["contoso"]
    # flows 3, 6: BC purchase orders and GP documents
    assert {"850_globex_106001.edi", "850_globex_PO2101.edi"} <= set(outbox["globex"])
    assert {"850_initech_106002.edi", "po_initech_PO2102.json", "vendor_initech_INITECH0001_2024-05-03T083000.json"} <= set(outbox["initech"])
    for partner, files in outbox.items():
        assert not [name for name in files if name.startswith(".")], f"{partner}: a temporary file was left"
        for name, content in files.items():
            if name.endswith(".edi"):
                assert document.check(io.BytesIO(content), name).ok, name
        assert set(sshd.renames_into(f"{partner}/outbox").values()) <= {1}, f"{partner}: a file was published twice"
        assert set(sshd.renames_into(f"{partner}/outbox")) == set(files)
    # flow 4: the 850 read over SFTP became one BC sales order; the unknown item created nothing
    orders = [o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7001"]
    assert len(orders) == 1 and orders[0]["customerNumber"] == "C10000"
    assert not [o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7002"]
    dead = [key for (route, key), state in states.items() if state is JobState.DEAD]
    assert len(dead) == 1 and "7002" in dead[0]
    # flow 5: the 855 changed the BC purchase order
    po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
    lines = {line["lineObjectNumber"]: line for line in po["purchaseOrderLines"]}
    assert lines["1896-S"]["expectedReceiptDate"] == "2024-05-15"
    # flow 7: the 856 became a GP receipt in Work
    assert [r["VendorDocumentNumber"] for r in world.gp_records("purchaseReceipts")] == ["GLX-SHP-2101"]
    # flow 8: the 997s
    assert sum(1 for n in outbox["acme"] if n.startswith("997_")) == 2
    assert sum(1 for n in outbox["globex"] if n.startswith("997_")) == 2
    # every file was archived by rename, the one whose set failed too (its set's job is dead for
    # a replay, read from the file stored in the state store; the 997 rejected it)
    assert sshd.folder("acme/inbox") == {}
    assert {"850_ACME-PO-7001.edi", "850_ACME-PO-7002_unknown_item.edi"} <= set(sshd.folder("acme/archive"))
    assert sshd.folder("globex/inbox") == {}
    # the second run found nothing new; both runs used one SSH session
    assert second["work"].outcomes == []
    assert all(p.enqueued == 0 for p in second["polls"].values())
    assert sessions == 1
