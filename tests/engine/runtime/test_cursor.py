"""Polling an entity source: the cursor advances to the newest record read, each poll re-reads an
overlap before it (late commits are not missed, re-read records are no-ops), skipped records
move it too, and a poll that fails part-way moves nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from runtime_fakes import FakeRecords

from engine.errors import RetriableHttpError
from engine.runtime import Runtime
from engine.runtime.poll import parse_stamp

MakeRuntime = Callable[..., Runtime]
INVOICES = "bc-invoices-to-810"


def _invoice(number: str, stamp: str, customer: str = "C10000", status: str = "Open") -> dict[str, Any]:
    return {"id": f"id-{number}", "number": number, "status": status, "customerNumber": customer, "lastModifiedDateTime": stamp}


def _keys(runtime: Runtime) -> list[str]:
    return sorted(job.key for job in runtime.store.jobs(route=INVOICES))


def test_the_first_poll_reads_everything_and_the_cursor_takes_the_newest_stamp_as_given(make_runtime: MakeRuntime) -> None:
    bc = FakeRecords({"salesInvoices": [_invoice("103002", "2024-05-02T10:00:00.500Z"), _invoice("103001", "2024-05-02T09:00:00Z")]})
    runtime = make_runtime(bc=bc)

    result = runtime.poll(INVOICES)

    assert bc.since == [None]
    assert (result.read, result.enqueued, result.already, result.skipped) == (2, 2, 0, 0)
    assert result.cursor == "2024-05-02T10:00:00.500Z" == runtime.store.cursor(INVOICES)
    assert _keys(runtime) == ["103001", "103002"]


@pytest.mark.parametrize(
    ("overlap", "late_stamp", "picked_up"),
    [
        pytest.param(5.0, "2024-05-02T09:59:57Z", True, id="late-commit-inside-the-overlap-is-read"),
        pytest.param(5.0, "2024-05-02T09:59:54Z", False, id="older-than-the-overlap-is-not"),
        pytest.param(0.0, "2024-05-02T09:59:59Z", False, id="no-overlap-misses-a-late-commit"),
    ],
)
def test_the_next_poll_reads_from_the_cursor_minus_the_overlap(make_runtime: MakeRuntime, overlap: float, late_stamp: str, picked_up: bool) -> None:
    from engine.runtime import RuntimeSettings

    bc = FakeRecords({"salesInvoices": [_invoice("103001", "2024-05-02T10:00:00Z")]})
    runtime = make_runtime(bc=bc, settings=RuntimeSettings(cursor_overlap_seconds=overlap))
    runtime.poll(INVOICES)
    bc.records["salesInvoices"].append(_invoice("103005", late_stamp))  # committed late, stamped earlier

    result = runtime.poll(INVOICES)

    assert bc.since[-1] == parse_stamp("2024-05-02T10:00:00Z") - timedelta(seconds=overlap)  # type: ignore[operator]
    assert result.enqueued == (1 if picked_up else 0)
    assert result.already == (1 if overlap else 0), "the record at the cursor is re-read (a no-op) only with an overlap"
    assert ("103005" in _keys(runtime)) is picked_up
    assert runtime.store.cursor(INVOICES) == "2024-05-02T10:00:00Z", "an older stamp never moves the cursor back"


def test_a_newer_record_moves_the_cursor_and_a_re_read_record_enqueues_nothing(make_runtime: MakeRuntime) -> None:
    bc = FakeRecords({"salesInvoices": [_invoice("103001", "2024-05-02T10:00:00Z")]})
    runtime = make_runtime(bc=bc)
    runtime.poll(INVOICES)
    bc.records["salesInvoices"] = [_invoice("103001", "2024-05-02T10:00:00Z"), _invoice("103006", "2024-05-02T11:30:00Z")]

    second = runtime.poll(INVOICES)
    third = runtime.poll(INVOICES)

    assert (second.enqueued, second.already, second.cursor) == (1, 1, "2024-05-02T11:30:00Z")
    assert (third.read, third.enqueued, third.already, third.cursor) == (1, 0, 1, "2024-05-02T11:30:00Z")
    assert _keys(runtime) == ["103001", "103006"]


def test_skipped_records_move_the_cursor_are_audited_and_get_no_job(make_runtime: MakeRuntime) -> None:
    bc = FakeRecords(
        {
            "salesInvoices": [
                _invoice("103001", "2024-05-02T10:00:00Z"),
                _invoice("S-INV-1004", "2024-05-02T11:00:00Z"),
                _invoice("103003", "2024-05-02T12:00:00Z", customer="C30000"),
            ]
        }
    )
    runtime = make_runtime(bc=bc)

    result = runtime.poll(INVOICES)

    assert (result.enqueued, result.skipped, result.cursor) == (1, 2, "2024-05-02T12:00:00Z")
    assert result.skipped_reasons == ["S-INV-1004: left out by the route's filter", "103003: bc.customer 'C30000' is not a trading partner"]
    assert _keys(runtime) == ["103001"]
    skipped = [event for key in ("S-INV-1004", "103003") for event in runtime.store.audit_trail(key)]
    assert [(e.event, e.job_id, e.route) for e in skipped] == [("skipped", None, INVOICES)] * 2


def test_a_poll_that_fails_part_way_enqueues_nothing_and_leaves_the_cursor(make_runtime: MakeRuntime) -> None:
    bc = FakeRecords({"salesInvoices": [_invoice("103001", "2024-05-02T10:00:00Z")]})
    runtime = make_runtime(bc=bc)
    runtime.poll(INVOICES)
    bc.records["salesInvoices"] += [_invoice("103007", "2024-05-02T11:00:00Z"), _invoice("103008", "2024-05-02T12:00:00Z")]
    bc.fail_after = 1
    bc.failure = RetriableHttpError("throttled", system="bc", status=429, method="GET", url="fake:/salesInvoices")

    with pytest.raises(RetriableHttpError):
        runtime.poll(INVOICES)

    assert runtime.store.cursor(INVOICES) == "2024-05-02T10:00:00Z"
    assert _keys(runtime) == ["103001"]
    bc.fail_after = None
    assert runtime.poll(INVOICES).enqueued == 2, "the next poll reads what the failed one could not store"


def test_gp_naive_modified_dates_drive_the_cursor_as_utc(make_runtime: MakeRuntime) -> None:
    vendor = {"VendorId": "INITECH0001", "IsActive": True}
    gp = FakeRecords(
        {"vendors": [{**vendor, "ModifiedDate": "2024-05-03T08:30:00"}, {**vendor, "VendorId": "GLOBEX0001", "ModifiedDate": "2024-05-01T07:00:00"}]},
        stamp="ModifiedDate",
    )
    runtime = make_runtime(gp=gp)
    first = runtime.poll("gp-vendors-to-json")
    gp.records["vendors"][0]["ModifiedDate"] = "2024-05-04T09:00:00"  # the vendor record changed again

    result = runtime.poll("gp-vendors-to-json")

    assert gp.since[-1] == parse_stamp("2024-05-03T08:29:55")
    assert result.enqueued == 1 and result.cursor == "2024-05-04T09:00:00"
    assert first.skipped_reasons == ["GLOBEX0001@2024-05-01T07:00:00: partner globex does not take part in route gp-vendors-to-json"]
    assert sorted(job.key for job in runtime.store.jobs(route="gp-vendors-to-json")) == [
        "INITECH0001@2024-05-03T08:30:00",
        "INITECH0001@2024-05-04T09:00:00",
    ]
