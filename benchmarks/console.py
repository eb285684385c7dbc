"""The operator console's server time per page (issue 12) on a store of 100,000 jobs and
1,000,000 audit events, on SQLite and on PostgreSQL.

The store is filled through SQLAlchemy Core in bulk (jobs of every route and partner of the
example project, ten audit events per job, an input artifact per job, outbound groups with and
without their 997, received interchanges, polls and poll failures), and the console's search
index (`job_references`) is filled with the PO numbers of the inputs as `catch_up` would
write them; `catch_up`'s own rate is measured on the last artifacts. Each page is then asked
for through Starlette's test client, in process, so the time is the server's: routing, the
login check (one user read), the queries, the template. Printed per page: the median and p95
of `--runs` requests after two warm-ups, and the ratio to `/healthz` (one primary-key read, the
cheapest answer of the same app) measured in the same run.

Goal: every page under 100 ms. The replay preview is not timed here: it renders the document
through its mapping and reads BC/GP reference data, so its time is the mapping's, not the store's.

Run: .venv/bin/python benchmarks/console.py [--jobs 100000] [--events 10] [--runs 15]
     [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import psycopg  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from engine.config.project import load_project  # noqa: E402
from engine.console import add_user, build_console, catch_up  # noqa: E402
from engine.console.security import LoginLimiter  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.runtime.setup import open_runtime  # noqa: E402
from engine.store.models import (  # noqa: E402
    artifacts,
    audit_events,
    console_state,
    control_numbers,
    interchanges,
    job_references,
    jobs,
    outbound_groups,
)
from engine.webhooks import WebhookSettings, build_app  # noqa: E402

POSTGRES_URL = os.environ.get("MLC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
GOAL_MS = 100.0
CHUNK = 20_000
EVENTS = ("enqueued", "fetch", "render", "validate", "upload", "map", "create", "retry", "done", "archive")
USER = ("bench", "benchmark password")


def _x12(po: str, isa13: int) -> bytes:
    return (
        f"ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*{isa13:09d}*0*P*>~"
        f"GS*PO*ACMERETAIL*MLCONNECT*20240603*0930*{isa13}*X*004010~ST*850*0001~BEG*00*SA*{po}**20240603~"
        "PO1*1*5*EA*1000.8*PE*BP*AC-DESK-01~PID*F****ATHENS Desk~CTT*1~SE*6*0001~"
        f"GE*1*{isa13}~IEA*1*{isa13:09d}~"
    ).encode()


def fill(runtime: Runtime, count: int, events_per_job: int) -> dict[str, Any]:
    """Bulk-fill the store; what a page asks for (a PO number, an ISA13, a job id...)."""
    project = runtime.project
    routes = sorted(project.routes)
    partners = sorted(project.partners)
    now = datetime.now(UTC)
    start = now - timedelta(days=30)
    states = ["done"] * 90 + ["dead"] * 5 + ["skipped"] * 3 + ["failed"] * 2
    database = runtime.store._database  # the benchmark writes in bulk, beneath the store's API
    with database.begin() as connection:
        for first in range(1, count + 1, CHUNK):
            batch = range(first, min(count, first + CHUNK - 1) + 1)
            stamps = {i: start + timedelta(seconds=i * 30 * 86400 / count) for i in batch}
            connection.execute(insert(jobs), [
                {
                    "id": i, "route": routes[i % len(routes)], "key": f"inbox/850_BENCH-PO-{i:06d}.edi@{i:012x}" if i % 2 else f"DOC-{i:06d}",
                    "kind": "file" if i % 2 else "document", "partner": partners[i % len(partners)], "state": states[i % len(states)],
                    "attempts": 1, "last_error": "not found in bc: items '1900-S'" if states[i % len(states)] == "dead" else None,
                    "payload": None, "result": {"summary": "ok"}, "source_ref": f"f{i}", "not_before": stamps[i],
                    "claimed_by": None, "claimed_at": None, "heartbeat_at": None, "created_at": stamps[i], "updated_at": stamps[i],
                }
                for i in batch
            ])
            connection.execute(insert(artifacts), [
                {"job_id": i, "role": "input", "name": f"850_BENCH-PO-{i:06d}.edi", "media_type": "application/edi-x12", "sha256": "0" * 64,
                 "size": 400, "content": _x12(f"BENCH-PO-{i:06d}", i), "created_at": stamps[i]}
                for i in batch
            ])
            connection.execute(insert(job_references), [{"job_id": i, "kind": "po", "value": f"BENCH-PO-{i:06d}"} for i in batch])
            connection.execute(insert(audit_events), [
                {"job_id": i, "at": stamps[i] + timedelta(milliseconds=n), "event": EVENTS[n % len(EVENTS)], "route": routes[i % len(routes)],
                 "key": f"DOC-{i:06d}", "partner": partners[i % len(partners)], "status": 200 if n % 3 == 0 else None,
                 "duration_ms": 12.5, "detail": {"message": f"step {n} of job {i}", "bytes": 400}}
                for i in batch for n in range(events_per_job)
            ])
            connection.execute(insert(outbound_groups), [
                {"partner": partners[i % len(partners)], "sender_id": "MLCONNECT", "receiver_id": f"P{i % len(partners)}", "functional_id": "IN",
                 "group_control": i, "set_ids": ["0001"], "interchange_control": i, "filename": f"810_{i:06d}.edi", "job_id": i,
                 "sent_at": stamps[i], "ack_status": None if i % 50 == 0 else "A", "ack_file": None if i % 50 == 0 else f"997_{i}.edi",
                 "acknowledged_at": None if i % 50 == 0 else stamps[i]}
                for i in batch if i % 2 == 0
            ])
            connection.execute(insert(interchanges), [
                {"sender_qualifier": "ZZ", "sender_id": "ACMERETAIL", "control_number": i, "file_id": f"f{i}", "job_id": i, "received_at": stamps[i]}
                for i in batch if i % 2
            ])
        polls = [
            {"job_id": None, "at": start + timedelta(minutes=n), "event": "poll-failed" if n % 40 == 0 else "poll", "route": routes[n % len(routes)],
             "key": routes[n % len(routes)], "partner": None, "status": 503 if n % 40 == 0 else None, "duration_ms": 40.0, "detail": {"read": 3, "enqueued": 1}}
            for n in range(20_000)
        ]
        connection.execute(insert(audit_events), polls)
        connection.execute(insert(control_numbers), [{"partner": p, "kind": k, "next_value": 1000, "updated_at": now} for p in partners for k in ("isa", "gs", "st")])
        # The index as catch_up leaves it, but for its last artifacts (timed below).
        connection.execute(insert(console_state), [{"name": "references", "value": str(max(0, count - 2000)), "updated_at": now}])
    if database.is_postgresql:
        with database.begin() as connection:
            connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('jobs', 'id'), (SELECT max(id) FROM jobs))")
        # What autovacuum does soon after a bulk load (statistics, the visibility map that lets
        # counts read the indexes alone); VACUUM cannot run inside a transaction.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with database.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    dead = count - (count % 100) + 96 if count >= 100 else 1
    return {"po": f"BENCH-PO-{count // 2 | 1:06d}", "isa13": str(count // 3 | 1), "job": count // 2, "dead": dead, "route": routes[0], "partner": partners[0], "middle": count // 2}


def _time(client: TestClient, path: str, runs: int) -> tuple[float, float]:
    for _ in range(2):
        answer = client.get(path)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        client.get(path)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def measure(label: str, url: str, count: int, events_per_job: int, runs: int) -> list[tuple[str, float, float]]:
    state = Path(tempfile.mkdtemp(prefix="mlc-console-bench-"))
    project = load_project(REPO_ROOT, environ={})
    with open_runtime(REPO_ROOT, project=project, environ={"MLC_STATE_DIR": str(state)}, database=url, secrets=lambda name: "unused") as runtime:
        began = time.perf_counter()
        facts = fill(runtime, count, events_per_job)
        print(f"{label}: filled {count:,} jobs, {count * events_per_job + 20_000:,} audit events, {count:,} artifacts in {time.perf_counter() - began:.0f} s", flush=True)
        began = time.perf_counter()
        indexed = catch_up(runtime.store, now=runtime.now(), limit=2000)
        rate = indexed / (time.perf_counter() - began)
        print(f"{label}: catch_up indexed {indexed} artifacts at {rate:,.0f} artifacts/s", flush=True)
        add_user(runtime.store, *USER, role="operator", now=runtime.now())
        app = build_app(runtime, WebhookSettings.for_project(project), secrets=lambda _name: "x" * 32, console=build_console(runtime, limiter=LoginLimiter()))
        pages = {
            "overview": "/console/",
            "jobs (newest)": "/console/jobs",
            "jobs state=dead": "/console/jobs?state=dead",
            f"jobs route={facts['route']}": f"/console/jobs?route={facts['route']}",
            f"jobs partner={facts['partner']}": f"/console/jobs?partner={facts['partner']}",
            "jobs 7-day range": f"/console/jobs?from={(runtime.now() - timedelta(days=10)).date()}&to={(runtime.now() - timedelta(days=3)).date()}",
            "jobs page at the middle": f"/console/jobs?before={facts['middle']}",
            "search PO number": f"/console/jobs?q={facts['po']}",
            "search ISA13": f"/console/jobs?q={facts['isa13']}",
            "search job id": f"/console/jobs?q={facts['job']}",
            "search, no match": "/console/jobs?q=NO-SUCH-NUMBER",
            "document page": f"/console/jobs/{facts['job']}",
            "partners": "/console/partners",
        }
        results = []
        with TestClient(app) as client:
            login = client.get("/console/login").text
            token = re.search(r'name="csrf" value="([^"]+)"', login)
            assert token
            client.post("/console/login", data={"csrf": token.group(1), "name": USER[0], "password": USER[1]})
            baseline = _time(client, "/healthz", runs)
            results.append(("/healthz (baseline)", *baseline))
            for name, path in pages.items():
                results.append((name, *_time(client, path, runs)))
    return results


@contextmanager
def postgres_database(url: str) -> Iterator[str | None]:
    schema = f"mlc_bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        print(f"PostgreSQL at {url} is not reachable ({str(exc).splitlines()[0]}): skipped")
        yield None
        return
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def report(label: str, results: list[tuple[str, float, float]]) -> bool:
    base = results[0][1]
    print(f"\n{label}: server time per page (ms), {len(results) - 1} pages, goal < {GOAL_MS:.0f} ms")
    print(f"{'page':40} {'median':>8} {'p95':>8} {'x healthz':>10}")
    ok = True
    for name, median, p95 in results:
        flag = "" if median < GOAL_MS else "  over the goal"
        ok = ok and median < GOAL_MS
        print(f"{name:40} {median:8.1f} {p95:8.1f} {median / base:10.1f}{flag}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10, help="audit events per job")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", default=POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="mlc-console-bench-") as directory:
        ok &= report("SQLite", measure("SQLite", f"sqlite:///{Path(directory) / 'mlc.db'}", args.jobs, args.events, args.runs))
    if not args.no_postgres:
        with postgres_database(args.postgres) as url:
            if url is not None:
                ok &= report("PostgreSQL", measure("PostgreSQL", url, args.jobs, args.events, args.runs))
    print(json.dumps({"goal_met": ok}))


if __name__ == "__main__":
    main()
