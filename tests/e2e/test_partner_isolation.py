"""One partner's fault stops only that partner, end to end against the emulators.

Inbound: a poll reads the partners' inboxes one by one; a partner whose folder is missing,
forbidden or unreachable is recorded (the `mlc run` summary's `partner_errors`, a
`poll-partner-failed` audit event keyed by the partner id) and the others are polled and worked.
The failing partner is `aaa-newco`, a partner added to the project whose id sorts first, so it
is polled before acme and contoso. Outbound: a partner whose outbox refuses uploads
dead-letters that partner's jobs only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from effects import Effects, StepClock, settle, trail
from world import World, copy_project

from engine.store import JobState

SALES_ORDER_ROUTE = "cleo-850-to-bc-sales-orders"
INVOICES = "bc-invoices-to-810"
NEWCO = "aaa-newco"

NEWCO_PARTNER = """\
id: aaa-newco
name: New Co
description: A partner just added, whose Cleo folders are not (or not yet) open to us.
x12:
  qualifier: ZZ
  id: NEWCO
  version: "004010"
  usage: production
cleo:
  connection: cleo
  inbox: aaa-newco/inbox
  outbox: aaa-newco/outbox
  archive: aaa-newco/archive
transactions:
  - {set: "850", direction: inbound}
  - {set: "997", direction: outbound}
routes:
  - cleo-850-to-bc-sales-orders
erp:
  bc: {customer: C90000}
xref:
  uom:
    EA: PCS
"""


def _with_newco(tmp_path: Path) -> Path:
    project = copy_project(tmp_path / "project")
    (project / "partners" / f"{NEWCO}.yaml").write_text(NEWCO_PARTNER, encoding="utf-8")
    return project


def _missing(world: World) -> None:
    """The partner's inbox does not exist in the mailbox at all."""


def _forbidden(world: World) -> None:
    world.cleo.add_folder(f"{NEWCO}/inbox", permissions=())


def _unreachable(world: World) -> None:
    folder = world.cleo.add_folder(f"{NEWCO}/inbox")
    world.cleo_faults.add("status", match=rf"GET /cleo/api/folders/{folder.id}/files", times=1000, status=503)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        pytest.param(_missing, "no folder 'aaa-newco/inbox'", id="missing-folder"),
        pytest.param(_forbidden, "HTTP 403", id="forbidden-folder"),
        pytest.param(_unreachable, "HTTP 503", id="unreachable-folder"),
    ],
)
def test_a_partner_whose_inbox_fails_is_recorded_and_the_other_partners_are_polled(
    world: World, tmp_path: Path, fault: Callable[[World], None], reason: str
) -> None:
    fault(world)
    effects = Effects.watch(world)
    with world.runtime(tmp_path / "state", root=_with_newco(tmp_path)) as runtime:
        summary = runtime.run_once([SALES_ORDER_ROUTE])
        events = trail(runtime, NEWCO)
        jobs = runtime.store.jobs(route=SALES_ORDER_ROUTE, limit=100)

    assert list(summary["partner_errors"]) == [SALES_ORDER_ROUTE]
    assert list(summary["partner_errors"][SALES_ORDER_ROUTE]) == [NEWCO]
    assert reason in summary["partner_errors"][SALES_ORDER_ROUTE][NEWCO]
    assert summary["poll_errors"] == {}
    failed = [e for e in events if e.event == "poll-partner-failed"]
    assert len(failed) == 1 and failed[0].route == SALES_ORDER_ROUTE and failed[0].partner == NEWCO
    assert reason in str((failed[0].detail or {}).get("message"))
    # acme's inbox was read as if nothing happened: its good 850 became an order, its 997 went out
    assert len([o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7001"]) == 1
    assert "997_acme_000000701.edi" in world.outbox("acme")
    assert {j.partner for j in jobs} == {"acme"}
    effects.assert_nothing_twice()


def test_the_run_summary_names_the_failing_partner(world: World, tmp_path: Path) -> None:
    from engine.cli.run import run_problems

    _forbidden(world)
    with world.runtime(tmp_path / "state", root=_with_newco(tmp_path)) as runtime:
        summary = runtime.run_once([SALES_ORDER_ROUTE])
    lines = [line for line in run_problems(summary) if line.startswith("poll failed")]
    assert len(lines) == 1
    assert lines[0].startswith(f"poll failed: {SALES_ORDER_ROUTE}: partner {NEWCO}: ") and "HTTP 403" in lines[0]


def test_the_scheduler_counts_a_partner_poll_failure_in_the_metrics(world: World, tmp_path: Path) -> None:
    from engine.metrics import Metrics
    from engine.scheduling import Scheduler

    _forbidden(world)
    metrics = Metrics()
    try:
        with world.runtime(tmp_path / "state", root=_with_newco(tmp_path)) as runtime:
            scheduler = Scheduler(runtime, metrics=metrics)
            tick = scheduler.tick(SALES_ORDER_ROUTE)
        body = metrics.render()[0].decode()
    finally:
        metrics.close()
    assert tick.outcome == "polled" and tick.poll is not None and list(tick.poll.partner_errors) == [NEWCO]
    assert f'mlc_partner_poll_failures_total{{partner="{NEWCO}",route="{SALES_ORDER_ROUTE}"}} 1.0' in body


def test_a_partner_whose_outbox_refuses_uploads_dead_letters_only_its_own_jobs(world: World, tmp_path: Path) -> None:
    world.cleo.set_permissions("acme/outbox", ("download",))
    clock = StepClock()
    effects = Effects.watch(world)
    with world.runtime(tmp_path / "state", clock=clock) as runtime:
        settle(runtime, clock, routes=[INVOICES])
        jobs: dict[str, Any] = {j.key: j for j in runtime.store.jobs(route=INVOICES, limit=100)}

    assert jobs["103001"].partner == "acme" and jobs["103001"].state is JobState.DEAD
    assert "403" in (jobs["103001"].last_error or "")
    assert jobs["103002"].partner == "contoso" and jobs["103002"].state is JobState.DONE
    assert set(world.outbox("contoso")) == {"810_contoso_103002.edi"}
    assert "810_acme_103001.edi" not in world.outbox("acme")
    effects.assert_nothing_twice()
