"""A transaction job reads its set from the stored file as a stream and stores its output's
JSON in pieces: the same bytes as reading the set whole and `dump_json`, never held whole."""

from __future__ import annotations

import pytest

from engine.errors import MappingError
from engine.mapping.dryrun import dump_json, json_chunks
from engine.runtime.slices import standalone, standalone_stream
from engine.runtime.transactions import transaction_bytes, transaction_stream
from engine.store import Store

ENVELOPE = (
    "ISA*00*          *00*          *ZZ*GLOBEXSUP      *ZZ*MLCONNECT      *240521*1015*U*00401*000000325*0*P*>~"
    "GS*SH*GLOBEXSUP*MLCONNECT*20240521*1015*325*X*004010~"
)
FILE = ENVELOPE.encode() + b"ST*856*0001~BSN*00*S1*20240521*1015~SE*3*0001~ST*856*0002~BSN*00*\xc3\xa9*20240521*1015~SE*3*0002~GE*2*325~IEA*1*000000325~"


@pytest.mark.parametrize("chunk_size", [pytest.param(1, id="one-byte-reads"), pytest.param(7, id="small-reads"), pytest.param(1 << 20, id="one-read")])
def test_standalone_stream_reads_the_bytes_standalone_joins(chunk_size: int) -> None:
    start = FILE.index(b"ST*856*0002")
    end = FILE.index(b"GE*")
    fetched: list[int] = []

    def fetch(offset: int, count: int) -> bytes:
        fetched.append(count)
        return FILE[offset : offset + count]

    with standalone_stream(ENVELOPE, fetch, start, end - start, "325", "000000325", chunk_size=chunk_size) as stream:
        assert stream.read() == standalone(ENVELOPE, FILE[start:end], "325", "000000325")
    assert max(fetched) <= max(chunk_size, 1), "the body is fetched a chunk at a time"


def test_a_set_job_reads_its_range_of_the_stored_file_as_one_file_of_its_own(store: Store) -> None:
    file_job, _ = store.enqueue("r", "file", kind="file")
    store.put_artifact_stream(file_job.id, "input", "a.edi", iter([FILE[:90], FILE[90:150], FILE[150:]]), media_type="application/edi-x12")
    start, end = FILE.index(b"ST*856*0002"), FILE.index(b"GE*")
    payload = {"file_job": file_job.id, "range": [start, end], "envelope": ENVELOPE, "gs06": "325", "isa13": "000000325"}
    job, _ = store.enqueue("r", "file|2", kind="transaction", payload=payload)

    assert transaction_bytes(store, job) == standalone(ENVELOPE, FILE[start:end], "325", "000000325")


def test_a_set_job_whose_file_is_gone_fails_naming_the_file_job(store: Store) -> None:
    payload = {"file_job": 999, "range": [0, 10], "envelope": ENVELOPE, "gs06": "325", "isa13": "000000325"}
    job, _ = store.enqueue("r", "file|1", kind="transaction", payload=payload)

    with pytest.raises(MappingError, match="the file of job 999 is not stored"):
        transaction_stream(store, job)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"Lines": [{"ItemId": f"é-{n}", "QuantityShipped": n / 3, "Note": None, "Ok": True} for n in range(500)]}, id="receipt"),
        pytest.param({}, id="empty"),
        pytest.param([1, "two", [], {}], id="list"),
    ],
)
def test_json_chunks_join_to_the_bytes_of_dump_json(value: object) -> None:
    chunks = list(json_chunks(value, size=100))

    assert b"".join(chunks) == dump_json(value).encode("utf-8")
    assert all(chunks)
