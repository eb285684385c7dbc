"""Scale-out: several `mlc serve` processes on one PostgreSQL store share the jobs of a run, and
no job is done twice.

Three `mlc serve` processes (two worker threads each, `--worker-id w1..w3`) start on an empty
store; once all three run, 300 posted BC invoices and 20 inbound 850s are polled into it, and
they work the jobs (each upload takes the Cleo emulator 30 ms more, so the run lasts long enough
for every process to take part whatever the machine). The test stops them (SIGTERM) once every
job is finished. Each job was claimed once (attempts 1) by one process and has one `done` event;
every process did a share; every file was uploaded once, valid, with no control number used
twice; each 850 created one sales order.

Needs the PostgreSQL test server (MLC_TEST_POSTGRES_URL): skipped with the reason when it is
unreachable, a failure in CI.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter, deque
from pathlib import Path

import pytest
import sqlalchemy
from delivery import delivery_problems
from sqlalchemy.engine import make_url
from world import World

from benchmarks.emulated import ROOT, acme_850, mlc, post_invoices, worker_environ
from engine.store import JobState, Store
from tests.engine.store.store_support import postgres_schema, require_postgres

pytestmark = pytest.mark.postgres

INVOICES = 300
ORDERS = 20
WORKERS = ("w1", "w2", "w3")
DEADLINE = 120.0
"""Seconds the workers may take to finish every job (a hang, not a timing check)."""
WEBHOOK_SECRETS = {"bc-webhook-secret": "scale-out-client-state-0123456789", "cleo-webhook-secret": "scale-out-push-secret-9876543210"}


def test_serve_processes_on_one_postgres_store_share_the_jobs_and_do_none_twice(world: World, tmp_path: Path) -> None:
    require_postgres()
    invoices = post_invoices(world.bc, INVOICES)
    orders = [acme_850(6001 + n) for n in range(ORDERS)]
    for order in orders:
        world.cleo.put_file("acme/inbox", order.name, order.content)
    for stored in world.cleo.files_in(world.cleo.folder_by_path("acme/inbox").id):
        if "unknown_item" in stored.name:
            world.cleo.delete(stored.id)  # the seed's unknown-item 850 dead-letters by design
    world.cleo.requests = deque()  # the whole upload log
    world.bc.close()  # no webhook notifications: the jobs of the run are the polled ones

    with postgres_schema() as url:
        environ = worker_environ(world.environ, tmp_path / "state", database=url, secrets=WEBHOOK_SECRETS)
        Store.open(url, state_dir=tmp_path / "state").close()  # migrated once, not by three processes at once
        processes = []
        for worker in WORKERS:
            with (tmp_path / f"{worker}.log").open("wb") as log:
                command = mlc("serve", "--port", "0", "--workers", "2", "--worker-id", worker)
                processes.append(subprocess.Popen(command, env=environ, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + DEADLINE
        while not all("mlc: running" in (tmp_path / f"{worker}.log").read_text(errors="replace") for worker in WORKERS):
            exited = [worker for worker, process in zip(WORKERS, processes, strict=True) if process.poll() is not None]
            if exited or time.monotonic() > deadline:
                for process in processes:
                    process.kill()
                pytest.fail(f"mlc serve {exited or 'did not start'}: {(tmp_path / f'{(exited or WORKERS)[0]}.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        world.cleo_faults.add("delay", match=r"^POST .*/folders/[^/]+/files$", times=10_000, seconds=0.03)
        with world.runtime(tmp_path / "poller", database=url) as runtime:
            enqueued = sum(runtime.poll(route).enqueued for route in sorted(runtime.project.routes))
        assert enqueued >= INVOICES + ORDERS
        with Store.open(url, state_dir=tmp_path / "state") as store:
            try:
                deadline = time.monotonic() + DEADLINE
                while any(store.job_counts()[state] for state in (JobState.PENDING, JobState.RUNNING, JobState.FAILED)):
                    exited = [worker for worker, process in zip(WORKERS, processes, strict=True) if process.poll() is not None]
                    assert not exited, f"worker(s) {exited} stopped: {(tmp_path / f'{exited[0]}.log').read_text(errors='replace')[-2000:]}"
                    assert time.monotonic() < deadline, f"jobs still open after {DEADLINE:.0f} s: {store.job_counts()}"
                    time.sleep(0.05)
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            jobs = store.jobs(limit=100_000)
            counts = store.job_counts()
        database = sqlalchemy.create_engine(make_url(url).set(drivername="postgresql+psycopg"))
        try:
            with database.connect() as connection:
                done = connection.execute(sqlalchemy.text("SELECT job_id, count(*) FROM audit_events WHERE event = 'done' GROUP BY job_id"))
                done_events: Counter[int] = Counter(dict(done.all()))
        finally:
            database.dispose()

    logs = {worker: (tmp_path / f"{worker}.log").read_text(errors="replace") for worker in WORKERS}
    assert [process.returncode for process in processes] == [0] * len(WORKERS), logs
    # every job done, but the seed 855 held for review on the Released order 106001 (BC's rule)
    in_review = [job for job in jobs if job.state is JobState.REVIEW]
    assert len(in_review) == 1 and "855_106001" in in_review[0].key
    jobs = [job for job in jobs if job.state is not JobState.REVIEW]
    assert {state: n for state, n in counts.items() if n} == {JobState.DONE: len(jobs), JobState.REVIEW: 1}
    assert [job.id for job in jobs if job.attempts != 1] == []  # each job claimed exactly once
    assert {job.id: done_events[job.id] for job in jobs} == {job.id: 1 for job in jobs}
    shares = Counter(job.claimed_by for job in jobs)
    assert set(shares) == set(WORKERS) and all(shares[worker] > 0 for worker in WORKERS), shares
    expected = {
        "acme": {i.filename for i in invoices if i.partner == "acme"} | {o.ack_name for o in orders},
        "contoso": {i.filename for i in invoices if i.partner == "contoso"},
    }
    assert delivery_problems(world, expected) == []
    created = Counter(order.get("externalDocumentNumber") for order in world.bc_records("salesOrders"))
    assert {order.po_number: created[order.po_number] for order in orders} == {order.po_number: 1 for order in orders}
    print(f"{len(jobs)} jobs; per worker {dict(sorted(shares.items()))}")
