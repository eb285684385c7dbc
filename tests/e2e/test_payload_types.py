"""An inbound payload of the wrong type in the real runtime: an 850 mapping whose date filter is
used the wrong way round (`x12_date` on an X12 date) renders `20240603` as BC's orderDate. The job
set's job is dead at once with the field, the value and the mapping line named, no sales order is
created, the 997 rejects the set, and a replay after the mapping is fixed creates the order."""

from __future__ import annotations

from pathlib import Path

from effects import StepClock, settle
from world import REPO_ROOT, World, copy_project

from engine.runtime.replay import replay
from engine.store import JobState

ROUTE = "cleo-850-to-bc-sales-orders"
ORDER_FILE = "850_ACME-PO-7001.edi"
SHIPPED = REPO_ROOT / "engine/library/mappings/x12-850-to-bc-sales-order/mapping.yaml"
RIGHT = 'orderDate: "{{ doc.BEG.BEG05 | iso_date }}"'


def _orders(world: World) -> list[str]:
    return [o["number"] for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7001"]


def test_an_x12_date_written_as_the_erp_date_is_dead_naming_the_field_and_a_replay_after_the_fix_creates_the_order(world: World, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    own = project / "mappings/x12-850-to-bc-sales-order/mapping.yaml"
    shipped = SHIPPED.read_text(encoding="utf-8")
    own.write_text(shipped.replace(RIGHT, RIGHT.replace("iso_date", "x12_date")), encoding="utf-8")
    clock = StepClock()
    with world.runtime(tmp_path, root=project, clock=clock) as runtime:
        settle(runtime, clock, routes=[ROUTE])
        (job,) = [job for job in runtime.store.find_jobs(ORDER_FILE) if job.kind == "transaction"]

    assert job.state is JobState.DEAD and job.attempts == 1, job
    error = job.last_error or ""
    assert "mappings/x12-850-to-bc-sales-order/mapping.yaml:" in error and "(orderDate): the payload field orderDate got '20240603'" in error
    assert "BC salesOrders.orderDate (Edm.Date) takes a date YYYY-MM-DD" in error
    assert _orders(world) == [], "nothing is created from a payload BC would misread"
    assert any(b"AK5*R" in content for name, content in world.outbox("acme").items() if name.startswith("997_"))

    own.unlink()  # the fix: the project uses the shipped mapping again
    with world.runtime(tmp_path, root=project, clock=clock) as runtime:
        outcome = replay(runtime, job.id)
    assert outcome.state is JobState.DONE
    assert len(_orders(world)) == 1
