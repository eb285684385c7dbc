"""Replay from the console against the emulators, without a browser (Starlette's test client):
a dead 850 whose item is then added to BC is replayed by an operator and done, its order created
once, and the console's audit event names the operator."""

from __future__ import annotations

import re
from pathlib import Path

from effects import StepClock, settle
from starlette.testclient import TestClient
from world import World

from engine.console import add_user, build_console
from engine.store import JobState
from engine.webhooks import WebhookSettings, build_app


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_an_operator_replays_a_dead_850_from_the_console_after_its_item_is_added_to_bc(world: World, tmp_path: Path) -> None:
    chair = next(item for item in world.bc_records("items") if item["number"] == "1900-S")
    world.bc.delete_record("items", "1900-S")
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-850-to-bc-sales-orders"])
        add_user(runtime.store, "olga", "operator password 1", role="operator", now=runtime.now())
        app = build_app(runtime, WebhookSettings.for_project(runtime.project), secrets=lambda _name: "x" * 32, console=build_console(runtime))
        with TestClient(app, follow_redirects=False) as client:
            token = _csrf(client.get("/console/login").text)
            assert client.post("/console/login", data={"csrf": token, "name": "olga", "password": "operator password 1"}).status_code == 303
            found = client.get("/console/jobs", params={"q": "ACME-PO-7001"}).text
            ids = sorted({int(i) for i in re.findall(r'href="/console/jobs/(\d+)"', found)})
            # the file's job (done: the 997 rejected the set) and the set's own job (dead)
            states = {i: runtime.store.get(i).state for i in ids}
            assert sorted(states.values(), key=str) == sorted([JobState.DONE, JobState.DEAD], key=str)
            (job_id,) = [i for i, state in states.items() if state is JobState.DEAD]
            page = client.get(f"/console/jobs/{job_id}").text
            assert "items &#39;1900-S&#39;" in page and 'id="last-error"' in page
            preview = client.get(f"/console/jobs/{job_id}/replay").text
            assert 'id="replay"' in preview and "1900-S" in preview

            world.bc.add_record("items", {k: v for k, v in chair.items() if k in ("number", "displayName", "type", "unitPrice", "baseUnitOfMeasureCode")})
            answer = client.post(f"/console/jobs/{job_id}/replay", data={"csrf": _csrf(preview)})
            assert answer.status_code == 303
            done = client.get(answer.headers["location"]).text
        assert 'id="outcome">replay: done: created salesOrders' in done
        assert runtime.store.get(job_id).state is JobState.DONE
        events = runtime.store.job_events(job_id)
        names = [e.event for e in events]
        assert names[names.index("console-replay") + 1] == "replay"
        assert (events[names.index("console-replay")].detail or {})["user"] == "olga"
    assert len([o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == "ACME-PO-7001"]) == 1


def test_an_operator_sees_the_held_855_lines_and_re_applies_them_once_the_order_is_reopened(world: World, tmp_path: Path) -> None:
    from engine.runtime.replay import replay

    with world.runtime(tmp_path) as runtime:
        runtime.run_once(["cleo-855-to-bc-purchase-orders"])
        (job,) = runtime.store.jobs(state="review")
        add_user(runtime.store, "olga", "operator password 1", role="operator", now=runtime.now())
        console = build_console(runtime, reapply=replay)
        app = build_app(runtime, WebhookSettings.for_project(runtime.project), secrets=lambda _name: "x" * 32, console=console)
        with TestClient(app, follow_redirects=False) as client:
            token = _csrf(client.get("/console/login").text)
            assert client.post("/console/login", data={"csrf": token, "name": "olga", "password": "operator password 1"}).status_code == 303
            page = client.get(f"/console/jobs/{job.id}").text
            assert "20.0 -&gt; 15.0" in page and 'id="reapply"' in page  # line 2: our quantity next to the partner's
            world.bc.reopen("purchaseOrders", "106001")
            answer = client.post(f"/console/jobs/{job.id}/reapply", data={"csrf": _csrf(page)})
            assert answer.status_code == 303
        assert runtime.store.get(job.id).state is JobState.DONE
        events = runtime.store.job_events(job.id)
        names = [e.event for e in events]
        assert "console-reapply" in names and (events[names.index("console-reapply")].detail or {})["user"] == "olga"
    po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
    assert {line["lineObjectNumber"]: line["quantity"] for line in po["purchaseOrderLines"]}["1900-S"] == 15
