"""End to end through the real runtime (issue 5): posted Business Central invoices -> X12 810s in
the partners' Cleo outboxes, worked by separate worker processes, the emulators in processes of
their own (benchmarks/emulated.py: BC and Cleo each in one).

The same invoices (2,000 of 20 lines by default) go through each configuration on a fresh
store with empty outboxes:

    mlc run --once, SQLite        the command as users run it (start-up, poll and work; wait4 CPU)
    SQLite, 1 worker, kept        poll by one process, then work by one; the outbox keeps every file
    SQLite, 1 worker              the same, Cleo taking each file away once delivered (as it does)
    PostgreSQL, 1 worker          the same on PostgreSQL (skipped when it is unreachable)
    PostgreSQL, 2 workers         the poll, then two processes working at once

The two PostgreSQL configurations run alternately, `--rounds` times (2 by default: 1, 2, 1, 2
workers), and the two-worker ratio is taken from the sums of their wall times: on a shared
machine one round's ratio moved by 0.1 from run to run.

"Kept" shows whether the work per document grows with the outbox: a first upload sends one
request (no look-up of its name, no token request: the token is reused until near expiry), so
it should not; the other rows let Cleo deliver (empty) the outboxes as it goes.

A worker process opens the runtime as `mlc run --once` does (`open_runtime`: project, stored
secrets, store) and runs `Runtime.poll` or `Runtime.work`; its HTTP round trips are timed by
the transport. For each phase the benchmark prints documents/s, the engine's CPU per document
(the worker processes' CPU: the emulators run elsewhere, so it is the engine's own, connectors
included), where the workers' wall time went (CPU, waiting on HTTP, the rest: mostly the
database), each emulator's CPU as a share of the phase's wall time (near 100%: that emulator is
the bottleneck), and how busy the machine's CPUs were (every process, other users' included:
near 100%, the machine is the bottleneck). Baselines measured in the same run: the render alone
(`render_outbound` of the same invoices in this process), one bare httpx POST of a document's
bytes and one bare durable SQLite commit (the render, the POST and 0.2 commits are the floor a
document cannot go under while it is uploaded by httpx, its render committed before the upload
with the nine others of its claim batch, and its completion with them after), and one worker for
the two-worker ratio.

Each configuration also prints the HTTP requests per document for each system (Entra, BC, GP,
Cleo), counted by the workers' transports over the poll and the work, and the SQL statements
and commits per document of the work (counted by SQLAlchemy events in the workers), and the
share of documents whose control numbers another worker took while their batch rendered (they
are wrapped again with the numbers of their batch's block, `engine.mapping.renumbered`).

Goals: engine CPU under 3 ms per document; Cleo 1.0 request per document; two workers on
PostgreSQL at least 1.7x one worker when the emulator is not the bottleneck. The ratio is
printed with the machine's ceiling for it: what the two-worker phase would reach with every CPU
busy, at its CPU cost per document (workers, emulators and PostgreSQL together).
Run: .venv/bin/python benchmarks/end_to_end.py [--invoices 2000] [--lines 20] [--rounds 2] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.emulated import EmulatorProcesses, mlc, worker_environ  # noqa: E402
from engine.runtime import RuntimeSettings  # noqa: E402

ROUTE = "bc-invoices-to-810"
OUTBOXES = ("acme/outbox", "contoso/outbox")
POSTGRES_URL = os.environ.get("MLC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# -- the worker process ----------------------------------------------------------------------


SYSTEM_URLS = {"entra": "MLC_ENTRA_URL", "bc": "MLC_BC_URL", "gp": "MLC_GP_URL", "cleo": "MLC_CLEO_URL"}
"""Each system's base URL, from the environment the emulators gave the workers."""


class TimedTransport(httpx.HTTPTransport):
    """An HTTP transport counting round trips per system and the time spent in them (wall, and
    this thread's CPU inside them: the rest of the wall time is waiting on the other side)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self.by_system: Counter[str] = Counter()
        self.wall = 0.0
        self.cpu = 0.0
        self._prefixes = sorted(((os.environ[env], name) for name, env in SYSTEM_URLS.items() if os.environ.get(env)), key=lambda p: -len(p[0]))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wall, cpu = time.perf_counter(), time.thread_time()
        response = super().handle_request(request)
        response.read()  # the body is part of the round trip
        self.wall += time.perf_counter() - wall
        self.cpu += time.thread_time() - cpu
        self.requests += 1
        url = str(request.url)
        self.by_system[next((name for prefix, name in self._prefixes if url.startswith(prefix)), "other")] += 1
        return response


def worker(role: str, worker_id: str, launched: float) -> None:
    """One worker process (`--worker ROLE`): open the runtime, say ready, wait for `go` on stdin,
    poll or work the route, print its figures as one JSON line."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    import engine.runtime.documents as document_jobs
    from engine.mapping import renumbered
    from engine.runtime.setup import open_runtime
    from engine.store import JobState

    database = Counter[str]()
    event.listen(Engine, "before_cursor_execute", lambda *_args: database.update(("statements",)))
    event.listen(Engine, "commit", lambda *_args: database.update(("commits",)))

    def counted(*args: Any, **kwargs: Any) -> Any:  # a document whose numbers the other worker took
        database.update(("renumbered",))
        return renumbered(*args, **kwargs)

    document_jobs.renumbered = counted  # type: ignore[attr-defined]
    figures: dict[str, Any] = {"worker": worker_id, "start_wall": time.time() - launched, "start_cpu": time.process_time()}
    transport = TimedTransport()
    opened = time.perf_counter(), time.process_time()
    with open_runtime(ROOT, worker_id=worker_id, transport=transport) as runtime:
        runtime.systems.files("cleo")
        runtime.systems.records("bc")
        figures.update(open_wall=time.perf_counter() - opened[0], open_cpu=time.process_time() - opened[1])
        print(json.dumps({"ready": worker_id}), flush=True)
        sys.stdin.readline()
        requests, http_wall, http_cpu = transport.requests, transport.wall, transport.cpu
        by_system = Counter(transport.by_system)
        wall, cpu = time.perf_counter(), time.process_time()
        database.clear()
        if role == "poll":
            documents = runtime.poll(ROUTE).enqueued
        else:
            result = runtime.work(routes=[ROUTE])
            documents = result.count(JobState.DONE)
            figures["not_done"] = len(result.outcomes) - documents
        figures.update(
            documents=documents,
            wall=time.perf_counter() - wall,
            cpu=time.process_time() - cpu,
            requests=transport.requests - requests,
            requests_by_system=dict(transport.by_system - by_system),
            http_wall=transport.wall - http_wall,
            http_cpu=transport.cpu - http_cpu,
            statements=database["statements"],
            commits=database["commits"],
            renumbered=database["renumbered"],
        )
    print(json.dumps(figures), flush=True)


# -- the benchmark ---------------------------------------------------------------------------


@dataclass
class Phase:
    """What the worker processes of one phase did together."""

    label: str
    workers: list[dict[str, Any]]
    wall: float
    emulator_cpu: dict[str, float]
    cleo_requests: Counter[str] = field(default_factory=Counter)
    polled_requests: Counter[str] = field(default_factory=Counter)
    """The requests of the poll phase before this work phase, per system (set by `configuration`)."""
    machine_busy: float | None = None
    """The share of all the machine's CPUs busy during the phase (every process, other users' too)."""

    @property
    def documents(self) -> int:
        return sum(int(w["documents"]) for w in self.workers)

    def total(self, name: str) -> float:
        return sum(float(w[name]) for w in self.workers)

    def requests_by_system(self) -> Counter[str]:
        """HTTP requests the workers of the phase sent, per system (as their transports counted)."""
        found: Counter[str] = Counter()
        for w in self.workers:
            found.update(w.get("requests_by_system") or {})
        return found


def start_workers(role: str, count: int, environ: dict[str, str]) -> list[subprocess.Popen[str]]:
    processes = []
    for index in range(count):
        command = [sys.executable, __file__, "--worker", role, "--worker-id", f"{role}-{index + 1}", "--launched", repr(time.time())]
        processes.append(subprocess.Popen(command, env=environ, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    return processes


def run_phase(label: str, role: str, count: int, environ: dict[str, str], emulators: EmulatorProcesses) -> Phase:
    """Start `count` worker processes, release them together, wait for all; their figures."""
    processes = start_workers(role, count, environ)
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"{label}: a worker failed to start (exit {process.wait()})")
    emulators.requests()
    before = emulators.cpu_seconds()
    machine = machine_cpu()
    started = time.perf_counter()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    figures = []
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"{label}: a worker failed (exit {process.wait()})")
        figures.append(json.loads(line))
    wall = time.perf_counter() - started
    busy = machine_busy(machine, machine_cpu())
    after = emulators.cpu_seconds()
    for process in processes:
        process.wait()
    kinds = Counter(_request_kind(line) for line in emulators.requests())
    return Phase(label, figures, wall, {name: after[name] - before[name] for name in after}, kinds, machine_busy=busy)


def machine_cpu() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, in ticks (Linux /proc/stat; else None)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_busy(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _request_kind(line: str) -> str:
    method, _, path = line.partition(" ")
    path = path.partition("?")[0]
    if path.endswith("/files"):
        return f"{method} folder files"
    if "/authentication" in path:
        return f"{method} token"
    return f"{method} other"


@contextmanager
def postgres_schema(url: str) -> Iterator[str | None]:
    """A fresh schema on the PostgreSQL server at `url` (dropped after); None when unreachable."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"PostgreSQL at {url} is not reachable ({str(exc).splitlines()[0]}): its configurations are skipped")
        yield None
        return
    schema = f"mlc_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def fresh_outboxes(emulators: EmulatorProcesses) -> None:
    for folder in OUTBOXES:
        emulators.clear(folder)


def delivered(emulators: EmulatorProcesses) -> int:
    return sum(emulators.count(folder) for folder in OUTBOXES)


def render_floor(emulators: EmulatorProcesses) -> tuple[int, float]:
    """Render every posted invoice through the route's mapping in this process: (documents, CPU s)."""
    from engine.config.project import load_project
    from engine.mapping.outbound import Controls, render_outbound

    project = load_project(ROOT, environ=emulators.environ)
    route = project.routes[ROUTE]
    records = emulators.invoice_records()
    now = datetime.now(UTC)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for n, record in enumerate(records, 1):
            partner = project.match_partner(str(route.partner_by), str(record["customerNumber"]))
            assert partner is not None
            mapping = project.mappings[project.mapping_for(route.mapping, partner)]
            render_outbound(mapping, record, partner=partner.data, now=now, controls=Controls(n, n, 1), lookups={}, document=f"{ROUTE} {record['number']}")
        best = min(best, time.process_time() - started)
    return len(records), best


def request_floor(emulators: EmulatorProcesses, count: int = 500, size: int = 12_000) -> float:
    """This thread's CPU seconds per bare httpx POST of a document-sized body to the Cleo
    emulator (a kept-alive client, no engine code; the emulator refuses it at once, which
    costs the client what an accepted upload does)."""
    body = b"ISA" + b"x" * (size - 3)
    with httpx.Client(base_url=emulators.environ["MLC_CLEO_URL"]) as client:
        client.post("/api/authentication", content=body)
        started = time.thread_time()
        for _ in range(count):
            client.post("/api/authentication", content=body)
        return (time.thread_time() - started) / count


def commit_floor(folder: Path, count: int = 500, size: int = 12_000) -> float:
    """This thread's CPU seconds per SQLite transaction of one INSERT of a document-sized blob,
    committed durably (SQLAlchemy, WAL, synchronous FULL: as the store commits)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{folder / 'floor.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, content BLOB)"))
    body = b"x" * size
    started = time.thread_time()
    for _ in range(count):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO blobs (content) VALUES (:content)"), {"content": body})
    engine.dispose()
    return (time.thread_time() - started) / count


def cli_run(environ: dict[str, str], emulators: EmulatorProcesses) -> tuple[float, float, int]:
    """`mlc run --once --route ROUTE` as users run it: (wall s, CPU s from wait4, files delivered)."""
    before = emulators.cpu_seconds()
    started = time.perf_counter()
    process = subprocess.Popen(mlc("run", "--once", "--route", ROUTE), env=environ, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"mlc run --once failed: {process.stderr.read().decode() if process.stderr else ''}")
    after = emulators.cpu_seconds()
    print(
        f"  {'mlc run --once, SQLite (CLI)':<30} {delivered(emulators) / wall:>8,.0f} docs/s  wall {wall:6.1f} s  "
        f"CPU {(usage.ru_utime + usage.ru_stime) / max(delivered(emulators), 1) * 1000:5.2f} ms/doc (start-up included)  "
        f"emulator CPU bc {(after['bc'] - before['bc']) / wall:4.0%} cleo {(after['cleo'] - before['cleo']) / wall:4.0%}"
    )
    return wall, usage.ru_utime + usage.ru_stime, delivered(emulators)


def report(phase: Phase, documents: int) -> None:
    """One line for a phase (see the module docstring)."""
    cpu, wall_sum = phase.total("cpu"), phase.total("wall")
    http_wait = phase.total("http_wall") - phase.total("http_cpu")
    other = max(0.0, wall_sum - cpu - http_wait)
    emulator = "  ".join(f"{name} {seconds / phase.wall:4.0%}" for name, seconds in sorted(phase.emulator_cpu.items()))
    machine = f"  machine CPUs busy {phase.machine_busy:4.0%}" if phase.machine_busy is not None else ""
    print(
        f"  {phase.label:<30} {documents / phase.wall:>8,.0f} docs/s  wall {phase.wall:6.2f} s  "
        f"engine CPU {cpu / max(documents, 1) * 1000:5.2f} ms/doc  "
        f"time: CPU {cpu / wall_sum:4.0%}, HTTP wait {http_wait / wall_sum:4.0%}, db+other {other / wall_sum:4.0%}  "
        f"emulator CPU {emulator}{machine}"
    )


def configuration(label: str, workers: int, environ: dict[str, str], emulators: EmulatorProcesses, expected: int, *, deliver: bool = True) -> Phase:
    """Poll, then work with `workers` processes; both phases reported; the work phase returned."""
    fresh_outboxes(emulators)
    emulators.deliver(*(OUTBOXES if deliver else ()))
    poll = run_phase(f"{label}: poll", "poll", 1, environ, emulators)
    work = run_phase(f"{label}: work", "work", workers, environ, emulators)
    twice = emulators.deliver()
    if poll.documents != expected or work.documents != expected or delivered(emulators) != expected or twice:
        raise SystemExit(f"{label}: {poll.documents} enqueued, {work.documents} done, {delivered(emulators)} delivered ({twice} twice); expected {expected}")
    report(poll, poll.documents)
    report(work, work.documents)
    per_doc = {kind: count / expected for kind, count in sorted(work.cleo_requests.items())}
    print(
        f"    store work per document (work): {work.total('statements') / expected:.1f} SQL statements, {work.total('commits') / expected:.2f} commits;"
        f" given new numbers (another worker took the ones it was rendered with): {work.total('renumbered') / expected:.1%}"
    )
    start = work.workers[0]
    print(
        f"    HTTP requests per document (poll + work): {requests_line(poll, work, expected)}; Cleo's by kind (emulator log, work): "
        f"{', '.join(f'{kind} {n:.2f}' for kind, n in per_doc.items())}; start-up per process "
        f"(not above): {start['start_wall'] + start['open_wall']:.2f} s wall, {start['start_cpu'] + start['open_cpu']:.2f} s CPU"
    )
    work.polled_requests = poll.requests_by_system()
    return work


def requests_per_document(poll: Phase, work: Phase, documents: int) -> dict[str, float]:
    """HTTP requests per document and system over a configuration's poll and work phases."""
    total = poll.requests_by_system() + work.requests_by_system()
    return {system: total.get(system, 0) / max(documents, 1) for system in ("entra", "bc", "gp", "cleo")}


def requests_line(poll: Phase, work: Phase, documents: int) -> str:
    return ", ".join(f"{system} {n:.3f}" for system, n in requests_per_document(poll, work, documents).items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="PostgreSQL 1- and 2-worker phases, alternated (the ratio from their sums)")
    parser.add_argument("--postgres", default=POSTGRES_URL, help="PostgreSQL server (a schema of its own is created and dropped)")
    parser.add_argument("--worker", choices=("poll", "work"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.worker_id, args.launched)
        return

    print(f"End to end: {args.invoices} posted BC invoices of {args.lines} lines -> 810s in Cleo ({os.cpu_count()} CPUs)")
    started = time.perf_counter()
    with EmulatorProcesses.start(invoices=args.invoices, lines=args.lines) as emulators, tempfile.TemporaryDirectory() as tmp:
        print(f"  emulators ready in {time.perf_counter() - started:.1f} s (BC and Cleo in one process each)")
        documents, render_cpu = render_floor(emulators)
        print(f"  {'baseline: render alone':<30} {documents / render_cpu:>8,.0f} docs/s  CPU {render_cpu / documents * 1000:5.2f} ms/doc (mapping + definition check, in process)")
        request_ms, commit_ms = request_floor(emulators) * 1000, commit_floor(Path(tmp)) * 1000
        print(f"  {'baseline: one bare httpx POST':<30}          CPU {request_ms:5.2f} ms (a document's bytes to the Cleo emulator, no engine code)")
        print(f"  {'baseline: one SQLite commit':<30}          CPU {commit_ms:5.2f} ms (one INSERT of a document's bytes, WAL, durable)")
        expected = documents + 2  # the seed's posted invoices of acme and contoso (103001, 103002)

        fresh_outboxes(emulators)
        emulators.deliver(*OUTBOXES)
        cli_run(worker_environ(emulators.environ, Path(tmp, "cli")), emulators)
        emulators.deliver()

        kept = configuration("SQLite, 1 worker, kept", 1, worker_environ(emulators.environ, Path(tmp, "kept")), emulators, expected, deliver=False)
        sqlite = configuration("SQLite, 1 worker", 1, worker_environ(emulators.environ, Path(tmp, "sqlite")), emulators, expected)
        rounds: dict[int, list[Phase]] = {1: [], 2: []}
        for round_ in range(args.rounds):  # alternated, so that a drift of the machine's speed hits both
            for workers in (1, 2):
                with postgres_schema(args.postgres) as url:
                    if url is not None:
                        environ = worker_environ(emulators.environ, Path(tmp, f"pg{workers}-{round_}"), database=url)
                        label = f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}" + (f" (round {round_ + 1})" if args.rounds > 1 else "")
                        rounds[workers].append(configuration(label, workers, environ, emulators, expected))
        postgres = {workers: phases[0] for workers, phases in rounds.items() if phases}

        render_ms = render_cpu / documents * 1000
        commits = 2 / RuntimeSettings().claim_batch  # a share of its batch's renders and of its batch's completions
        floor_ms = render_ms + request_ms + commits * commit_ms
        print("Ratios")
        print(f"  the floor of one document (render + one bare POST + {commits:.1f} bare commits): {floor_ms:.2f} ms")
        for phase in (sqlite, kept, *postgres.values()):
            engine_ms = phase.total("cpu") / expected * 1000
            print(f"  engine CPU per document, {phase.label}: {engine_ms:.2f} ms = {engine_ms / render_ms:.0f}x the render alone, {engine_ms / floor_ms:.1f}x the floor (goal: under 3 ms)")
        for phase in (sqlite, *postgres.values()):
            total = phase.polled_requests + phase.requests_by_system()
            shown = ", ".join(f"{system} {total.get(system, 0) / expected:.3f}" for system in ("entra", "bc", "gp", "cleo"))
            print(f"  HTTP requests per document, {phase.label}: {shown} (goal: cleo 1.0)")
        print(f"  outbox kept / delivered (SQLite, 1 worker): {kept.wall / sqlite.wall:.2f}x the wall time, {kept.total('cpu') / sqlite.total('cpu'):.2f}x the CPU")
        if len(postgres) == 2:
            one, two = sum(phase.wall for phase in rounds[1]), sum(phase.wall for phase in rounds[2])
            cleo = sum(phase.emulator_cpu["cleo"] for phase in rounds[2]) / two
            each = ", ".join(f"{a.wall / b.wall:.2f}x" for a, b in zip(rounds[1], rounds[2], strict=True))
            print(
                f"  PostgreSQL work, 2 workers / 1 worker: {one / two:.2f}x{f' (rounds: {each})' if args.rounds > 1 else ''}"
                f"  (goal: at least 1.7x; the Cleo emulator was busy {cleo:.0%} of the time)"
            )
            if all(phase.machine_busy for phase in rounds[2]):
                # every process of the run (workers, emulators, PostgreSQL) shares the machine's
                # CPUs: at the CPU cost per document the 2-worker phase had, all of them busy
                # would give this ratio, whatever the workers did
                busy = sum(float(phase.machine_busy or 0) * phase.wall for phase in rounds[2]) / two
                print(f"    the machine's ceiling for that ratio: {one / (two * busy):.2f}x (its CPUs were {busy:.0%} busy in the 2-worker phases; the emulators and PostgreSQL share them)")
            print(f"  PostgreSQL / SQLite work, 1 worker: {sqlite.wall / postgres[1].wall:.2f}x the speed")
        print(f"  load average during the run: {' '.join(f'{n:.1f}' for n in os.getloadavg())} on {os.cpu_count()} CPUs")

if __name__ == "__main__":
    main()
