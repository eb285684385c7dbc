"""Every flow under faults, end to end against the emulators (real HTTP): throttling, 5xx,
timeouts, expiring tokens, a stale ETag, bad documents, a closed GP period, re-deliveries and
retries that run out. Each test ends with the effects counted at the emulators (no file stored
twice, no record created twice) and the audit trail of the documents involved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from effects import SEED_OUTBOX, Effects, StepClock, assert_audited, file_job, message, set_jobs, settle, steps, trail
from sqlalchemy import select
from world import DEMO_SECRETS, World

from connectors.common import RetryPolicy
from engine.runtime import RuntimeSettings
from engine.runtime.replay import replay
from engine.store import JobState
from engine.store.models import audit_events

SALES_ORDER_ROUTE = "cleo-850-to-bc-sales-orders"
INBOUND_ROUTES = [SALES_ORDER_ROUTE, "cleo-855-to-bc-purchase-orders", "cleo-856-to-gp", "cleo-997-inbound"]
UNKNOWN_ITEM_FILE = "850_ACME-PO-7002_unknown_item.edi"
BC = r"/bc/v2\.0/cronus\.example/production/api/v2\.0/companies\([^)]*\)"
GP = r"/gp/GPService/Tenants\(DefaultTenant\)/Companies\(TWO\)"
CLEO_UPLOAD = r"POST /cleo/api/folders/[^/]+/files"


def orders_for(world: World, po_number: str) -> list[dict[str, Any]]:
    return [o for o in world.bc_records("salesOrders") if o.get("externalDocumentNumber") == po_number]


INVOICES, SALES_ORDERS, PURCHASE_ORDERS = "bc-invoices-to-810", "bc-sales-orders-to-850", "bc-purchase-orders-to-850"
ACKNOWLEDGMENTS, RECEIPTS, ACKS_997 = "cleo-855-to-bc-purchase-orders", "cleo-856-to-gp", "cleo-997-inbound"
GP_850, GP_JSON, GP_VENDORS = "gp-purchase-orders-to-850", "gp-purchase-orders-to-json", "gp-vendors-to-json"


def assert_routes_done(world: World, routes: list[str] | None = None) -> None:
    """What a complete run of `routes` (default: every route) over the seed world leaves behind
    (see test_flows.py)."""
    done = set(routes or [INVOICES, SALES_ORDERS, PURCHASE_ORDERS, SALES_ORDER_ROUTE, ACKNOWLEDGMENTS, RECEIPTS, ACKS_997, GP_850, GP_JSON, GP_VENDORS])
    expected: dict[str, set[str]] = {partner: set() for partner in SEED_OUTBOX}
    if INVOICES in done:
        expected["acme"].add("810_acme_103001.edi")
        expected["contoso"].add("810_contoso_103002.edi")
    if SALES_ORDERS in done:
        expected["acme"].add("850_acme_S-ORD-101001.edi")
    if PURCHASE_ORDERS in done:
        expected["globex"].add("850_globex_106001.edi")
        expected["initech"].add("850_initech_106002.edi")
    if GP_850 in done:
        expected["globex"].add("850_globex_PO2101.edi")
    if GP_JSON in done:
        expected["initech"].add("po_initech_PO2102.json")
    if GP_VENDORS in done:
        expected["initech"].add("vendor_initech_INITECH0001_2024-05-03T083000.json")
    if SALES_ORDER_ROUTE in done:
        expected["acme"] |= {"997_acme_000000701.edi", "997_acme_000000702.edi"}
        assert len(orders_for(world, "ACME-PO-7001")) == 1
        assert world.inbox("acme") == {} and UNKNOWN_ITEM_FILE in world.archive("acme")  # its one set dead, the file taken
    if ACKNOWLEDGMENTS in done:
        expected["globex"].add("997_globex_000000311.edi")
        po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
        # 106001 is Released: the 855's dates are applied, its quantity changes held for review
        assert {line["lineObjectNumber"]: line["quantity"] for line in po["purchaseOrderLines"]} == {"1896-S": 10, "1900-S": 20, "1908-S": 5}
        assert [line["expectedReceiptDate"] for line in po["purchaseOrderLines"]][:2] == ["2024-05-15", "2024-05-20"]
        assert "855_106001.edi" in world.archive("globex")
    if RECEIPTS in done:
        expected["globex"].add("997_globex_000000312.edi")
        assert [r["VendorDocumentNumber"] for r in world.gp_records("purchaseReceipts")] == ["GLX-SHP-2101"]
        assert "856_PO2101.edi" in world.archive("globex")
    if ACKS_997 in done:
        assert "997_outbound.edi" in world.archive("globex")
    for partner, names in expected.items():
        assert set(world.outbox(partner)) == names, partner


def plan(world: World, system: str) -> Any:
    return {"bc": world.bc.bc_faults, "entra": world.bc.entra_faults, "cleo": world.cleo_faults, "gp": world.gp.faults}[system]


# -- throttling and server errors the connectors wait out --------------------------------------


@pytest.mark.parametrize(
    ("system", "match", "status", "retry_after", "routes"),
    [
        pytest.param("bc", rf"GET {BC}/salesInvoices", 429, 2, [INVOICES], id="bc-429-retry-after-on-the-invoice-poll"),
        pytest.param("bc", rf"GET {BC}/(salesOrders|purchaseOrders)", 429, None, [SALES_ORDERS, PURCHASE_ORDERS], id="bc-429-without-retry-after-on-order-polls"),
        pytest.param("bc", rf"POST {BC}/salesOrders", 429, 1, [SALES_ORDER_ROUTE], id="bc-429-on-the-sales-order-create"),
        pytest.param("bc", rf"PATCH {BC}/purchaseOrderLines", 503, None, [ACKNOWLEDGMENTS], id="bc-503-on-the-855-line-patch"),
        pytest.param("bc", rf"GET {BC}/items", 504, None, [SALES_ORDER_ROUTE], id="bc-504-on-the-item-lookup"),
        pytest.param("entra", r"POST /entra/", 503, None, [INVOICES, ACKNOWLEDGMENTS], id="entra-503-on-the-token-request"),
        pytest.param("cleo", CLEO_UPLOAD, 429, 3, [INVOICES, GP_JSON], id="cleo-429-retry-after-on-uploads"),
        pytest.param("cleo", r"GET /cleo/api/folders/[^/]+/files", 429, None, [SALES_ORDER_ROUTE, ACKNOWLEDGMENTS], id="cleo-429-without-retry-after-on-listings"),
        pytest.param("cleo", r"GET /cleo/api/files/[^/]+/content", 502, None, [SALES_ORDER_ROUTE, RECEIPTS], id="cleo-502-on-downloads"),
        pytest.param("cleo", r"PATCH /cleo/api/files/", 500, None, [SALES_ORDER_ROUTE, ACKS_997], id="cleo-500-on-the-archive-move"),
        pytest.param("cleo", r"POST /cleo/api/authentication", 429, 1, [SALES_ORDERS], id="cleo-429-on-the-token-request"),
        pytest.param("gp", rf"GET {GP}/Purchasing/PurchaseOrders", 429, 5, [GP_850, GP_JSON], id="gp-429-retry-after-on-the-po-poll"),
        pytest.param("gp", rf"GET {GP}/Purchasing/Vendors", 500, None, [GP_VENDORS], id="gp-500-on-the-vendor-poll"),
        pytest.param("gp", rf"POST {GP}/Purchasing/PurchaseReceipts", 429, None, [RECEIPTS], id="gp-429-on-the-receipt-create"),
    ],
)
def test_a_burst_of_throttling_or_server_errors_is_waited_out_and_every_flow_completes_once(
    world: World, tmp_path: Path, system: str, match: str, status: int, retry_after: int | None, routes: list[str]
) -> None:
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append)
    faults = plan(world, system)
    faults.add("status", match=match, times=3, status=status, retry_after=retry_after)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, retry=policy, clock=clock) as runtime:
        settle(runtime, clock, routes=routes)
        assert_audited(runtime)
        dead = runtime.store.jobs(state="dead")

    assert len(faults.served) == 3, "the burst reached the emulator"
    if retry_after is not None:
        assert waits == [float(retry_after)] * 3, "the server's Retry-After is what the connector waited"
    else:
        assert len(waits) == 3 and all(0 <= wait <= policy.cap for wait in waits)
    assert_routes_done(world, routes)
    assert [job.key.split("/")[-1].split("@")[0] for job in dead] == ([UNKNOWN_ITEM_FILE] if SALES_ORDER_ROUTE in routes else [])
    effects.assert_nothing_twice()


def test_the_answer_to_a_sales_order_create_is_lost_and_the_retried_job_finds_the_order(world: World, tmp_path: Path) -> None:
    """BC created the order but the answer never came (a 500 after the write): the connector
    does not resend the POST; the job's retry finds the order by its unique fields."""
    create = world.bc.create
    lost: list[str] = []

    def create_then_fail(entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        record = create(entity, payload)
        if not lost:
            lost.append(str(record["number"]))
            raise RuntimeError("the connection broke before the answer was sent")
        return record

    world.bc.create = create_then_fail  # type: ignore[method-assign]
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[SALES_ORDER_ROUTE])
        assert_audited(runtime)
        events = trail(runtime, "850_ACME-PO-7001.edi")

    orders = orders_for(world, "ACME-PO-7001")
    assert [o["number"] for o in orders] == lost
    retry = next(e for e in events if e.event == "retry")
    assert retry.status == 500 and retry.job_id is not None
    duplicate = next(e for e in events if e.event == "duplicate")
    assert f"salesOrders {lost[0]} already exists" in message(duplicate)
    assert steps(events)[-2:] == ["archive", "done"]
    effects.assert_nothing_twice()


# -- timeouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "setting", "match", "routes"),
    [
        pytest.param("bc", "timeout", rf"GET {BC}/purchaseOrders", [PURCHASE_ORDERS], id="bc-purchase-order-poll"),
        pytest.param("bc", "timeout", rf"PATCH {BC}/purchaseOrderLines", [ACKNOWLEDGMENTS], id="bc-855-line-patch"),
        pytest.param("cleo", "timeout_seconds", r"GET /cleo/api/files/[^/]+/content", [SALES_ORDER_ROUTE, RECEIPTS], id="cleo-download"),
        pytest.param("gp", "timeout", rf"GET {GP}/Purchasing/Vendors", [GP_VENDORS], id="gp-vendor-poll"),
    ],
)
def test_a_request_that_times_out_is_sent_again_and_the_flow_completes(
    world: World, tmp_path: Path, system: str, setting: str, match: str, routes: list[str]
) -> None:
    project = world.project()
    project.connections[system][setting] = 0.1
    faults = plan(world, system)
    faults.add("delay", match=match, times=1, seconds=0.3)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, project=project, clock=clock) as runtime:
        settle(runtime, clock, routes=routes)
        assert_audited(runtime)

    assert [kind for kind, _ in faults.served] == ["delay"]
    assert_routes_done(world, routes)
    effects.assert_nothing_twice()


def test_a_gateway_timeout_on_the_receipt_create_is_retried_and_writes_one_receipt(world: World, tmp_path: Path) -> None:
    world.gp.faults.add("timeout", match=rf"POST {GP}/Purchasing/PurchaseReceipts", times=2, seconds=0.0)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=INBOUND_ROUTES)
        assert_audited(runtime)

    assert len(world.gp.faults.served) == 2
    assert [r["VendorDocumentNumber"] for r in world.gp_records("purchaseReceipts")] == ["GLX-SHP-2101"]
    effects.assert_nothing_twice()


# -- tokens expiring between the poll and the work --------------------------------------------------


def _poll_then_work(world: World, tmp_path: Path, between: Callable[[], None], routes: list[str] | None = None) -> list[JobState]:
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        for name in routes or sorted(runtime.project.routes):
            runtime.poll(name)
        between()
        outcomes = runtime.work().outcomes
        assert_audited(runtime)
        return [o.state for o in outcomes]


def test_an_expired_bc_token_mid_run_is_replaced_and_every_bc_write_goes_through(world: World, tmp_path: Path) -> None:
    effects = Effects.watch(world)
    requests_before: list[int] = []

    def expire() -> None:
        requests_before.append(world.bc.token_requests)
        world.bc.expire_all_tokens()

    states = _poll_then_work(world, tmp_path, expire)

    assert world.bc.token_requests == requests_before[0] + 1, "one new token, not one per request"
    assert states.count(JobState.DEAD) == 1  # the seed's unknown item, nothing else
    assert_routes_done(world)
    effects.assert_nothing_twice()


@pytest.mark.parametrize(
    ("revoke_refresh", "grant"),
    [
        pytest.param(False, "refresh_token", id="access-token-expired-refreshed"),
        pytest.param(True, "password", id="refresh-token-revoked-signs-in-again"),
    ],
)
def test_an_expired_cleo_token_mid_run_is_renewed_and_every_file_goes_through(
    world: World, tmp_path: Path, revoke_refresh: bool, grant: str
) -> None:
    effects = Effects.watch(world)
    grants_before: list[str] = []

    def expire() -> None:
        grants_before.extend(world.cleo.grants)
        world.cleo.expire_tokens()
        if revoke_refresh:
            world.cleo.revoke_refresh_tokens()

    states = _poll_then_work(world, tmp_path, expire)

    assert grants_before == ["password"]
    assert grant in list(world.cleo.grants)[1:]
    assert states.count(JobState.DEAD) == 1
    assert_routes_done(world)
    effects.assert_nothing_twice()


# -- a stale ETag on the 855 PATCH ------------------------------------------------------------------


def test_a_line_changed_between_our_read_and_our_patch_is_read_again_and_the_855_applied(world: World, tmp_path: Path) -> None:
    world.bc.reopen("purchaseOrders", "106001")  # an Open order takes the whole 855 (and the colleague's edit)
    patch_line = world.bc.patch_line
    raced: list[str] = []

    def colleague_first(line_set: str, line_id: str, changes: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        if not raced:  # a BC user saves the line after we read it: our If-Match is now stale
            raced.append(line_id)
            patch_line(line_set, line_id, {"description": "edited by purchasing"}, "*")
        return patch_line(line_set, line_id, changes, if_match)

    world.bc.patch_line = colleague_first  # type: ignore[method-assign]
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-855-to-bc-purchase-orders"])
        assert_audited(runtime)
        events = trail(runtime, "855_106001.edi")
        job = runtime.store.find_jobs("855_106001.edi")[0]

    po = next(p for p in world.bc_records("purchaseOrders") if p["number"] == "106001")
    lines = {line["lineObjectNumber"]: line for line in po["purchaseOrderLines"]}
    assert lines["1896-S"]["expectedReceiptDate"] == "2024-05-15"
    assert lines["1900-S"]["quantity"] == 15 and lines["1908-S"]["quantity"] == 0
    raced_line = next(line for line in lines.values() if line["id"] == raced[0])
    assert raced_line["description"] == "edited by purchasing", "the other user's change is kept"
    assert job.state is JobState.DONE and job.attempts == 1
    assert "update" in steps(events) and "retry" not in steps(events)


def test_a_line_changed_again_during_the_re_apply_dead_letters_the_855_with_the_conflict(world: World, tmp_path: Path) -> None:
    world.bc.reopen("purchaseOrders", "106001")  # an Open order takes the whole 855 (and the colleague's edit)
    patch_line = world.bc.patch_line

    def colleague_every_time(line_set: str, line_id: str, changes: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        patch_line(line_set, line_id, {"description": "edited by purchasing"}, "*")
        return patch_line(line_set, line_id, changes, if_match)

    world.bc.patch_line = colleague_every_time  # type: ignore[method-assign]
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=["cleo-855-to-bc-purchase-orders"])
        assert_audited(runtime)
        job = set_jobs(runtime, "855_106001.edi")[0]
        dead = runtime.store.job_events(job.id)[-1]

    assert job.state is JobState.DEAD and job.attempts == 1, "a conflict is not retried blindly"
    assert "was changed by someone else again while the update was re-applied" in (job.last_error or "")
    assert dead.event == "dead" and dead.status == 409
    assert b"AK5*R*5~" in world.outbox("globex")["997_globex_000000311.edi"], "the 997 rejects the set"


@pytest.mark.parametrize(
    ("system", "match", "routes"),
    [
        pytest.param("bc", rf"GET {BC}/salesOrders", [SALES_ORDERS], id="bc-order-poll"),
        pytest.param("cleo", r"GET /cleo/api/folders/[^/]+/files", [SALES_ORDER_ROUTE, ACKNOWLEDGMENTS], id="cleo-listing"),
        pytest.param("gp", rf"GET {GP}/Purchasing/PurchaseOrders", [GP_850], id="gp-po-poll"),
    ],
)
def test_a_connection_dropped_mid_answer_is_read_again_and_the_flow_completes(world: World, tmp_path: Path, system: str, match: str, routes: list[str]) -> None:
    faults = plan(world, system)
    faults.add("drop", match=match, times=2)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=routes)
        assert_audited(runtime)

    assert [kind for kind, _ in faults.served] == ["drop", "drop"]
    assert_routes_done(world, routes)
    effects.assert_nothing_twice()


# -- documents that cannot be written --------------------------------------------------------------


def test_an_850_with_an_item_missing_from_the_cross_reference_is_dead_with_the_item_named_and_nothing_created(
    world: World, tmp_path: Path
) -> None:
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[SALES_ORDER_ROUTE])
        assert_audited(runtime)
        job = set_jobs(runtime, UNKNOWN_ITEM_FILE)[0]
        events = runtime.store.job_events(job.id)
        file = file_job(runtime, UNKNOWN_ITEM_FILE)
        file_events = runtime.store.job_events(file.id)

    assert job.state is JobState.DEAD and job.attempts == 1
    assert "AC-LAMP-99" in (job.last_error or "")
    assert orders_for(world, "ACME-PO-7002") == []
    assert steps(events) == ["enqueued", "dead"], "nothing was mapped to BC"
    assert "AC-LAMP-99" in message(events[-1])
    assert file.state is JobState.DONE and steps(file_events) == ["received", "split", "render", "upload", "archive", "done"]
    ack = world.outbox("acme")["997_acme_000000702.edi"].replace(b"\n", b"")
    assert b"AK2*850*0001~AK3*PO1*10**8~AK4*7**7*AC-LAMP-99~AK5*R*5~AK9*R*1*1*0~" in ack, "the 997 points at the unknown item"
    assert UNKNOWN_ITEM_FILE in world.archive("acme"), "the set is stored for a replay; the file leaves the inbox"
    effects.assert_nothing_twice()


CONTOSO_UNKNOWN_ITEM = (
    "ISA*00*          *00*          *01*123456789      *ZZ*MLCONNECT      *240605*1410*U*00401*000000413*0*P*>~\n"
    "GS*PO*123456789*MLCONNECT*20240605*1410*413*X*004010~\n"
    "ST*850*0413~\n"
    "BEG*00*SA*CS-44121**20240605~\n"
    "N1*BY*Contoso Stores*1*123456789~\n"
    "PO1*1*3*EA*281.4*PE*VP*1906-S~\n"
    "PO1*2*1*EA*10*PE*VP*9999-X~\n"
    "CTT*2*4~\n"
    "SE*7*0413~\n"
    "GE*1*413~\n"
    "IEA*1*000000413~\n"
)


@pytest.mark.parametrize(
    ("setup", "partner", "file", "po_number", "missing"),
    [
        pytest.param(
            lambda world: world.bc.delete_record("items", "1900-S"),
            "acme", "850_ACME-PO-7001.edi", "ACME-PO-7001", "items '1900-S'",
            id="acme-part-number-crossreferenced-to-a-deleted-bc-item",
        ),
        pytest.param(
            lambda world: world.cleo.put_file("contoso/inbox", "850_CS-44121.edi", CONTOSO_UNKNOWN_ITEM.encode()),
            "contoso", "850_CS-44121.edi", "CS-44121", "items '9999-X'",
            id="contoso-vendor-part-number-unknown-to-bc",
        ),
    ],
)
def test_an_850_item_that_passes_the_cross_reference_but_is_not_in_bc_is_named_by_require_and_nothing_created(
    world: World, tmp_path: Path, setup: Callable[[World], Any], partner: str, file: str, po_number: str, missing: str
) -> None:
    setup(world)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[SALES_ORDER_ROUTE])
        assert_audited(runtime)
        job = set_jobs(runtime, file)[0]
        events = runtime.store.job_events(job.id)

    assert job.state is JobState.DEAD
    assert missing in (job.last_error or "") and "nothing was written" in (job.last_error or "")
    assert orders_for(world, po_number) == []
    assert file in world.archive(partner)
    assert events[-1].event == "dead" and missing in message(events[-1])
    assert "create" not in steps(events)
    effects.assert_nothing_twice()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        pytest.param("notes.edi", b"this is not x12", "not X12", id="not-x12"),
        pytest.param("empty.edi", b"", "empty", id="empty-file"),
        pytest.param(
            "850_truncated.edi",
            b"ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*000000709*0*P*>~\n"
            b"GS*PO*ACMERETAIL*MLCONNECT*20240603*0930*709*X*004010~\nST*850*0001~\nBEG*00*SA*ACME-PO-7009**20240603~\n",
            "truncated",
            id="interchange-cut-off",
        ),
        pytest.param(
            "850_foreign_sender.edi",
            b"ISA*00*          *00*          *ZZ*GLOBEXSUP      *ZZ*MLCONNECT      *240603*0930*U*00401*000000710*0*P*>~\n"
            b"GS*PO*GLOBEXSUP*MLCONNECT*20240603*0930*710*X*004010~\nST*850*0001~\nBEG*00*SA*X-1**20240603~\n"
            b"PO1*1*1*EA*1*PE*VP*1896-S~\nCTT*1~\nSE*5*0001~\nGE*1*710~\nIEA*1*000000710~\n",
            "GLOBEXSUP",
            id="sender-is-another-partner",
        ),
    ],
)
def test_a_malformed_inbound_file_is_dead_with_the_reason_and_the_other_files_of_the_poll_are_processed(
    world: World, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    world.cleo.put_file("acme/inbox", name, content)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[SALES_ORDER_ROUTE])
        assert_audited(runtime)
        job = runtime.store.find_jobs(name)[0]
        events = trail(runtime, name)

    assert job.state is JobState.DEAD and job.attempts == 1
    assert reason in (job.last_error or "") and name in (job.last_error or "")
    assert "Traceback" not in (job.last_error or "") and "\n" not in (job.last_error or "")
    assert events[-1].event == "dead" and events[-1].job_id == job.id
    assert name in world.inbox("acme")
    assert len(orders_for(world, "ACME-PO-7001")) == 1, "the good file of the same poll was processed"
    assert "850_ACME-PO-7001.edi" in world.archive("acme")
    effects.assert_nothing_twice()


TWO_ORDERS = (
    "ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240610*0930*U*00401*000000720*0*P*>~\n"
    "GS*PO*ACMERETAIL*MLCONNECT*20240610*0930*720*X*004010~\n"
    "ST*850*0001~\nBEG*00*SA*ACME-PO-7020**20240610~\nPO1*1*5*EA*1000.8*PE*BP*AC-DESK-01~\nCTT*1*5~\nSE*5*0001~\n"
    "ST*850*0002~\nBEG*00*SA*ACME-PO-7021**20240610~\nPO1*1*2*EA*192.8*PE*BP*{item}~\nCTT*1*2~\nSE*5*0002~\n"
    "GE*2*720~\nIEA*1*000000720~\n"
)


@pytest.mark.parametrize(
    ("item", "setup", "missing"),
    [
        pytest.param("AC-LAMP-99", lambda world: None, "AC-LAMP-99", id="second-order-item-not-in-the-cross-reference"),
        pytest.param("AC-CHAIR-02", lambda world: world.bc.delete_record("items", "1900-S"), "items '1900-S'", id="second-order-item-not-in-bc"),
    ],
)
def test_a_file_of_two_orders_where_one_cannot_be_written_creates_the_other_and_rejects_that_one_in_the_997(
    world: World, tmp_path: Path, item: str, setup: Callable[[World], Any], missing: str
) -> None:
    setup(world)
    world.cleo.put_file("acme/inbox", "850_two_orders.edi", TWO_ORDERS.format(item=item).encode())
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[SALES_ORDER_ROUTE])
        assert_audited(runtime)
        jobs = {job.key.rsplit(".", 1)[-1]: job for job in set_jobs(runtime, "850_two_orders.edi")}

    assert jobs["0001"].state is JobState.DONE
    assert jobs["0002"].state is JobState.DEAD and missing in (jobs["0002"].last_error or "") and "0002" in (jobs["0002"].last_error or "")
    assert len(orders_for(world, "ACME-PO-7020")) == 1 and orders_for(world, "ACME-PO-7021") == []
    ack = world.outbox("acme")["997_acme_000000720.edi"].decode().replace("\n", "")
    assert "AK2*850*0001~AK5*A~AK2*850*0002~" in ack and "AK5*R*5~AK9*P*2*2*1~" in ack
    assert "850_two_orders.edi" in world.archive("acme")
    effects.assert_nothing_twice()


def test_refused_credentials_fail_the_polls_and_jobs_of_that_system_cleanly_and_never_show_the_secret(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(DEMO_SECRETS, "bc-client-secret", "wrong-bc-secret-4711")
    monkeypatch.setitem(DEMO_SECRETS, "gp-password", "wrong-gp-password-4711")
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        summary = runtime.run_once()
        assert_audited(runtime)
        with runtime.store.transaction() as tx:
            audit = [str(row) for row in tx.connection.execute(select(audit_events)).all()]
        jobs = {job.key.split("/")[-1].split("@")[0]: job for job in runtime.store.jobs(limit=100) if job.kind != "transaction"}
        jobs |= {f"{job.source_ref}#set": job for job in runtime.store.jobs(limit=100) if job.kind == "transaction"}

    assert set(summary["poll_errors"]) == {INVOICES, SALES_ORDERS, PURCHASE_ORDERS, GP_850, GP_JSON, GP_VENDORS}
    assert all("Entra refused the client credentials" in summary["poll_errors"][r] for r in (INVOICES, SALES_ORDERS, PURCHASE_ORDERS))
    assert all("HTTP 401" in summary["poll_errors"][r] and "check the secret 'gp-password'" in summary["poll_errors"][r] for r in (GP_850, GP_JSON, GP_VENDORS))
    assert jobs["855_106001.edi#set"].state is JobState.DEAD and jobs["855_106001.edi#set"].attempts == 1, "refused credentials are not retried"
    assert jobs["856_PO2101.edi#set"].state is JobState.DEAD and "HTTP 401" in (jobs["856_PO2101.edi#set"].last_error or "")
    assert jobs["997_outbound.edi"].state is JobState.DONE, "a route that needs neither system still runs"
    assert not any("wrong-" in text for text in [*audit, *summary["poll_errors"].values(), *(j.last_error or "" for j in jobs.values())])


def test_a_different_file_under_our_name_in_the_outbox_is_never_overwritten_and_the_job_is_dead_with_the_conflict(world: World, tmp_path: Path) -> None:
    world.cleo.put_file("acme/outbox", "810_acme_103001.edi", b"a file someone else put there")
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[INVOICES])
        assert_audited(runtime)
        job = runtime.store.find_jobs("103001")[0]
        dead = trail(runtime, "103001")[-1]

    assert job.state is JobState.DEAD and job.attempts == 1
    assert "a different file named '810_acme_103001.edi' is already in folder 'acme/outbox'" in (job.last_error or "")
    assert dead.status == 409
    assert world.outbox("acme")["810_acme_103001.edi"] == b"a file someone else put there"
    assert "810_contoso_103002.edi" in world.outbox("contoso")


# -- a closed GP period, then replay --------------------------------------------------------------


def test_a_receipt_in_a_closed_gp_period_is_dead_with_gps_message_and_after_reopening_a_replay_writes_it_once(
    world: World, tmp_path: Path
) -> None:
    world.gp.close_period("2024-05")
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=INBOUND_ROUTES)
        assert_audited(runtime)
        job = set_jobs(runtime, "856_PO2101.edi")[0]
        dead = runtime.store.job_events(job.id)[-1]

        assert job.state is JobState.DEAD and job.attempts == 1
        assert "fiscal period 2024-05" in (job.last_error or "") and "closed" in (job.last_error or "")
        assert dead.event == "dead" and dead.status == 400 and dead.job_id == job.id
        assert "fiscal period 2024-05" in message(dead)
        # GP's own words, apart from the request that framed them: what the 997 looks in
        refusal = (dead.detail or {}).get("refusal", "")
        assert refusal.startswith("The receipt date ") and "fiscal period 2024-05" in refusal and "://" not in refusal and "HTTP" not in refusal
        assert world.gp_records("purchaseReceipts") == []
        assert b"AK5*R*5~" in world.outbox("globex")["997_globex_000000312.edi"]

        world.gp.reopen_period("2024-05")
        outcome = replay(runtime, job.id)
        again = replay(runtime, job.id)
        events = trail(runtime, "856_PO2101.edi")

    assert outcome.state is JobState.DONE and "created purchaseReceipts" in outcome.detail
    assert again.state is JobState.DONE and "already exists" in again.detail
    assert [r["VendorDocumentNumber"] for r in world.gp_records("purchaseReceipts")] == ["GLX-SHP-2101"]
    assert world.gp_records("purchaseReceipts")[0]["TransactionState"] == "Work"
    assert "856_PO2101.edi" in world.archive("globex") and "856_PO2101.edi" not in world.inbox("globex")
    assert steps(events).count("replay") == 2 and steps(events).count("create") == 1
    assert "997_globex_000000312.edi" in world.outbox("globex")
    effects.assert_nothing_twice()


# -- re-deliveries ---------------------------------------------------------------------------------


def _first_850() -> bytes:
    from importlib import resources

    return resources.files("connectors.cleo.emulator.seed").joinpath("850_ACME-PO-7001.edi").read_bytes()


def _new_interchange(content: bytes) -> bytes:
    return content.replace(b"000000701", b"000000801").replace(b"*701*", b"*801*").replace(b"GE*1*701", b"GE*1*801")


@pytest.mark.parametrize(
    ("name", "content", "event", "says"),
    [
        pytest.param("850_ACME-PO-7001_resent.edi", _first_850(), "duplicate", "interchange 000000701 from ACMERETAIL was processed before", id="same-content-new-name"),
        pytest.param("850_ACME-PO-7001.edi", _first_850(), "duplicate", "interchange 000000701 from ACMERETAIL was processed before", id="same-content-same-name"),
        pytest.param(
            "850_ACME-PO-7001_v2.edi", _first_850().replace(b"*240603*0930*", b"*240604*0800*"), "duplicate",
            "interchange 000000701 from ACMERETAIL was processed before", id="same-interchange-resent-with-a-new-date",
        ),
        pytest.param(
            "850_ACME-PO-7001_new_isa.edi", _new_interchange(_first_850()), "duplicate",
            "already exists for customerNumber 'C10000', externalDocumentNumber 'ACME-PO-7001'", id="same-po-in-a-new-interchange",
        ),
    ],
)
def test_a_redelivered_850_creates_no_second_order_and_the_audit_says_why(
    world: World, tmp_path: Path, name: str, content: bytes, event: str, says: str
) -> None:
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[SALES_ORDER_ROUTE])
        first = orders_for(world, "ACME-PO-7001")
        world.cleo.put_file("acme/inbox", name, content)
        settle(runtime, clock, routes=[SALES_ORDER_ROUTE])
        assert_audited(runtime)
        jobs = [j for j in runtime.store.jobs(route=SALES_ORDER_ROUTE) if "7002" not in j.key and j.kind == "file"]
        resend = max(jobs, key=lambda j: j.id)
        events = [e for j in [resend, *set_jobs(runtime, name)] if j.id >= resend.id for e in runtime.store.job_events(j.id)]

    assert len(jobs) == 2, "the re-delivery is a job of its own"
    assert resend.state is JobState.DONE
    assert orders_for(world, "ACME-PO-7001") == first and len(first) == 1
    flagged = [e for e in events if e.event == event]
    assert len(flagged) == 1 and says in message(flagged[0])
    assert "create" not in steps(events)
    assert name not in world.inbox("acme"), "the re-delivered file leaves the inbox"
    effects.assert_nothing_twice()


# -- retries that run out -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "match", "status", "route", "key"),
    [
        pytest.param("cleo", CLEO_UPLOAD, 503, "bc-invoices-to-810", "103001", id="cleo-upload-503"),
        pytest.param("bc", rf"POST {BC}/salesOrders", 429, SALES_ORDER_ROUTE, "850_ACME-PO-7001.edi", id="bc-create-429"),
        pytest.param("gp", rf"POST {GP}/Purchasing/PurchaseReceipts", 502, "cleo-856-to-gp", "856_PO2101.edi", id="gp-create-502"),
    ],
)
def test_a_job_whose_retries_run_out_is_dead_with_gave_up_after_n_attempts_and_every_retry_audited(
    world: World, tmp_path: Path, system: str, match: str, status: int, route: str, key: str
) -> None:
    faults = plan(world, system)
    faults.add("status", match=match, times=1000, status=status)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        settle(runtime, clock, routes=[route])
        assert_audited(runtime)
        job = (set_jobs(runtime, key) or runtime.store.find_jobs(key))[0]  # an inbound file: its set's job
        events = runtime.store.job_events(job.id)
        attempts = runtime.settings.max_attempts

    assert job.state is JobState.DEAD and job.attempts == attempts
    assert (job.last_error or "").startswith(f"gave up after {attempts} attempts: ")
    assert f"HTTP {status}" in (job.last_error or "")
    retries = [e for e in events if e.event == "retry"]
    assert len(retries) == attempts - 1
    assert all(e.status == status and e.job_id == job.id for e in retries)
    assert [e.detail["attempt"] for e in retries if e.detail] == list(range(1, attempts))
    assert events[-1].event == "dead" and events[-1].status == status
    assert effects.created == {} and not any(n.startswith(("810_", "850_")) for p in SEED_OUTBOX for n in world.outbox(p))
    effects.assert_nothing_twice()


def test_a_retry_after_longer_than_the_connector_waits_puts_the_job_off_for_at_least_that_long(world: World, tmp_path: Path) -> None:
    world.cleo_faults.add("status", match=CLEO_UPLOAD, times=1000, status=429, retry_after=900)
    clock = StepClock()
    patient = RuntimeSettings(max_attempts=4, backoff_seconds=0.01, backoff_max_seconds=3600)
    with world.runtime(tmp_path, clock=clock, settings=patient) as runtime:
        runtime.run_once(["bc-invoices-to-810"])
        assert_audited(runtime)
        job = runtime.store.find_jobs("103001")[0]
        retry = next(e for e in trail(runtime, "103001") if e.event == "retry")

    assert len(world.cleo_faults.served) == 2, "the connector gave up at once: 900 s is past its own bound"
    assert job.state is JobState.FAILED
    assert (job.not_before - clock.now).total_seconds() >= 900
    assert retry.status == 429 and retry.detail and retry.detail["retry_in_s"] >= 900


def test_a_source_that_stays_throttled_fails_its_poll_cleanly_and_every_other_route_runs(world: World, tmp_path: Path) -> None:
    world.bc.bc_faults.add("status", match=rf"GET {BC}/salesInvoices", times=1000, status=429)
    effects = Effects.watch(world)
    clock = StepClock()
    with world.runtime(tmp_path, clock=clock) as runtime:
        summary = runtime.run_once()
        failed = runtime.store.audit_trail("bc-invoices-to-810")
        world.bc.bc_faults.clear()
        later = runtime.run_once()
        assert_audited(runtime)

    assert "bc-invoices-to-810" not in summary["polls"]
    assert "HTTP 429" in summary["poll_errors"]["bc-invoices-to-810"]
    retries = [e for e in failed if e.event == "connector-retry"]
    assert retries and all((e.route, e.status, e.job_id) == ("bc-invoices-to-810", 429, None) for e in retries), "each retry of the poll is audited"
    assert [(e.event, e.route, e.status, e.job_id) for e in failed if e.event != "connector-retry"] == [("poll-failed", "bc-invoices-to-810", 429, None)]
    assert failed[-1].event == "poll-failed" and "HTTP 429" in message(failed[-1])
    assert {o.job.route for o in summary["work"].outcomes} >= {"bc-sales-orders-to-850", "cleo-850-to-bc-sales-orders", "gp-vendors-to-json"}
    assert later["polls"]["bc-invoices-to-810"].enqueued == 2
    assert_routes_done(world)
    effects.assert_nothing_twice()

