"""The console's search index: business numbers read from stored artifacts."""

from __future__ import annotations

from console_support import x12_850

from engine.console import catch_up
from engine.console.references import extract
from engine.runtime import Runtime
from engine.store.models import job_references


def test_numbers_are_read_from_x12_and_erp_json() -> None:
    assert extract(x12_850("PO-1", "000000123")) >= {("po", "PO-1"), ("isa13", "000000123"), ("gs06", "42")}
    found = extract(b'{"number": "S-1", "externalDocumentNumber": "PO-9", "PONumber": "PO-10", "description": "not a number", "lines": [{"number": 1}]}')
    assert found == {("number", "S-1"), ("number", "PO-9"), ("number", "PO-10")}
    assert extract(b"plain text") == set() and extract(b"{not json") == set()


def test_catch_up_indexes_each_artifact_once_in_batches(runtime: Runtime) -> None:
    store = runtime.store
    job, _ = store.enqueue(sorted(runtime.project.routes)[0], "file-1", kind="file")
    for index in range(5):
        store.put_artifact(job.id, "input", f"f{index}.edi", x12_850(f"PO-{index}"), "application/edi-x12")
    assert catch_up(store, now=runtime.now(), limit=3) == 3
    assert catch_up(store, now=runtime.now(), limit=3) == 2
    assert catch_up(store, now=runtime.now(), limit=3) == 0
    with store.reading() as tx:
        values = {row.value for row in tx.connection.execute(job_references.select().where(job_references.c.kind == "po"))}
    assert values == {f"PO-{index}" for index in range(5)}


def test_catch_up_indexes_the_erp_document_of_each_document_job_once(runtime: Runtime) -> None:
    # an outbound document job stores no input artifact: its ERP document is its payload
    store = runtime.store
    route = sorted(runtime.project.routes)[0]
    for index in range(3):
        store.enqueue(route, f"INV-{index}", kind="document", payload={"record": {"number": f"INV-{index}", "externalDocumentNumber": f"CUST-{index}"}})
    assert catch_up(store, now=runtime.now(), limit=2) == 2
    assert catch_up(store, now=runtime.now(), limit=2) == 1
    assert catch_up(store, now=runtime.now(), limit=2) == 0
    with store.reading() as tx:
        values = {row.value for row in tx.connection.execute(job_references.select().where(job_references.c.kind == "number"))}
    assert values == {f"{prefix}-{index}" for prefix in ("INV", "CUST") for index in range(3)}
