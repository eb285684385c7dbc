"""Partner guides in the real runtime: a document breaking its partner's guide is dead with the
rule, segment, element and mapping line named, nothing is sent or created, and a replay after
the fix goes through. The guide is written by the test (not the example project's own)."""

from __future__ import annotations

from pathlib import Path

import yaml
from effects import StepClock, settle
from world import World, copy_project

from engine.runtime.replay import replay
from engine.store import JobState

INVOICE = "810_acme_103001.edi"
ORDER_FILE = "850_ACME-PO-7001.edi"


def guided(tmp_path: Path, guide: str) -> Path:
    """The example project with partner acme's guide replaced by `guide`."""
    project = copy_project(tmp_path / "project")
    (project / "guides").mkdir(exist_ok=True)
    (project / "guides" / "test-acme.yaml").write_text(guide, encoding="utf-8")
    partner_file = project / "partners" / "acme.yaml"
    data = yaml.safe_load(partner_file.read_text(encoding="utf-8"))
    data["guide"] = "guides/test-acme.yaml"
    partner_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return project


def test_an_invoice_breaking_the_guide_is_dead_naming_the_rule_and_mapping_line_and_is_not_uploaded(world: World, tmp_path: Path) -> None:
    strict = guided(tmp_path, 'sets:\n  "810":\n    require: ["REF[DP]"]\n    max_length: {BIG02: 4}\n')
    clock = StepClock()
    with world.runtime(tmp_path, root=strict, clock=clock) as runtime:
        settle(runtime, clock, routes=["bc-invoices-to-810"])
        job = runtime.store.find_jobs("103001")[0]
    assert job.state is JobState.DEAD
    error = job.last_error or ""
    assert "breaks partner acme's guide for the 810 (2 violation(s))" in error
    assert "REF: the partner requires REF[DP], and it is missing [guide require REF[DP], guides/test-acme.yaml:3:15]" in error
    assert "BIG02 (segment 2): '103001' is 6 characters; the partner accepts at most 4" in error
    assert "bc-sales-invoice-to-810/mapping.yaml:" in error and "(BIG02: {{ doc.number }})" in error  # the shipped mapping, <mlc>/...
    assert INVOICE not in world.outbox("acme")

    relaxed = guided(tmp_path / "fixed", 'sets:\n  "810":\n    require: ["REF[IA]"]\n')
    with world.runtime(tmp_path, root=relaxed, clock=clock) as runtime:
        outcome = replay(runtime, job.id)
    assert outcome.state is JobState.DONE
    assert INVOICE in world.outbox("acme")


def test_an_inbound_order_breaking_the_guide_creates_nothing_and_stays_for_a_replay(world: World, tmp_path: Path) -> None:
    strict = guided(tmp_path, 'sets:\n  "850":\n    direction: inbound\n    codes: {PO103: [CA]}\n')
    clock = StepClock()
    with world.runtime(tmp_path, root=strict, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-850-to-bc-sales-orders"])
        (job,) = [job for job in runtime.store.find_jobs(ORDER_FILE) if job.kind == "transaction"]
    assert job.state is JobState.DEAD
    assert "PO103 (segment " in (job.last_error or "") and "'EA' is not a code the partner accepts (valid: CA)" in (job.last_error or "")
    assert not [o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7001"]
    # the set's job stays dead for a replay (the file is stored with its file job); the 997 rejects it
    acks = [content for name, content in world.outbox("acme").items() if name.startswith("997_")]
    assert any(b"AK5*R" in content for content in acks)
