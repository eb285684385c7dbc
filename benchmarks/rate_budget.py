"""Rate budgets (issue 13 part 1): several worker processes sharing one state store hold a
configured request rate against a system that would answer faster, through the real client.

The Business Central emulator runs in a process of its own (benchmarks/emulated.py). Each
worker is a process that opens the store, connects BC through the plugin (`connectors.bc.connect`,
the real `HttpClient`) with a `Pacer` on `StoreSlots`, as the runtime does, and looks an item up
(`find`: one GET) as fast as the pacer lets it until the run's end. Every worker records when
each request went (wall time after its turn) and how long taking the turn in the store took.

For each configuration the benchmark prints:

    unpaced             the same workers without a budget: what the emulator serves (the baseline;
                        above the budget, or holding the budget would prove nothing)
    achieved/configured requests per second over the run (first to last request) / the budget;
                        goal: within 5%
    busiest window      the most turns (the times the budget granted) in any sliding second / the
                        budget (never more), and the same for the sends as they left: a send
                        leaves a little after its turn (the lag is printed), so a late one can
                        share a window with the send a second after it (budget + 1; see
                        docs/requests.md on keeping a budget a little under the server's limit)
    store per grant     wall and CPU time of one turn taken in the store (one write transaction:
                        the GCRA upsert), mean and 95th percentile, and its share of the worker's
                        wall time; with the same figure for one worker alone, without contention

Run: .venv/bin/python benchmarks/rate_budget.py [--rate 50] [--seconds 10] [--workers 2 4]
     [--postgres URL] (PostgreSQL is skipped when it is unreachable)
"""

from __future__ import annotations

import argparse
import bisect
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.emulated import DEMO_SECRETS, EmulatorProcesses  # noqa: E402
from engine.config.rate_limit import Rate, RateLimit  # noqa: E402
from engine.pacing import Pacer, StoreSlots, Want  # noqa: E402

COMPANY = "f64eba74-dacd-4854-a584-1834f68cfc3a"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class WorkerResult:
    """What one worker did: send times, and the wall and CPU seconds of each turn in the store."""

    sent: list[float] = field(default_factory=list)
    turns: list[float] = field(default_factory=list)
    grant_wall: list[float] = field(default_factory=list)
    grant_cpu: list[float] = field(default_factory=list)
    wall: float = 0.0


class TimedSlots:
    """`StoreSlots` with the wall and CPU time of each reservation recorded (one thread per worker,
    so the process's CPU clock is this thread's)."""

    def __init__(self, inner: StoreSlots, result: WorkerResult) -> None:
        self.inner = inner
        self.result = result

    def reserve(self, wants: Sequence[Want], *, now: float, max_wait: float) -> float:
        wall, cpu = time.perf_counter(), time.process_time()
        at = self.inner.reserve(wants, now=now, max_wait=max_wait)
        self.result.grant_wall.append(time.perf_counter() - wall)
        self.result.grant_cpu.append(time.process_time() - cpu)
        self.result.turns.append(at)
        return at


def _bc_entry(emulators: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "bc",
        "tenant": "cronus.example",
        "environment": "production",
        "company_id": COMPANY,
        "client_id": "mlc-demo-client",
        "secret": "bc-client-secret",
        "authority": emulators["MLC_ENTRA_URL"],
        "api_base": emulators["MLC_BC_URL"],
    }


class SendTimes(httpx.BaseTransport):
    """Real HTTP, recording when each request to BC (not Entra) leaves."""

    def __init__(self, result: WorkerResult) -> None:
        self.inner = httpx.HTTPTransport()
        self.result = result

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/entra/" not in request.url.path:
            self.result.sent.append(time.time())
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _worker(emulators: dict[str, str], database: str | None, state_dir: str, limit: RateLimit | None, start_at: float, until: float) -> WorkerResult:
    """One worker process: requests as fast as the budget lets it between `start_at` and `until`."""
    from connectors.bc import connect
    from engine.store import Store

    result = WorkerResult()
    with Store.open(database, state_dir=Path(state_dir)) as store:
        pacer = Pacer("bc", limit, TimedSlots(StoreSlots(store), result)) if limit is not None else None
        connector = connect(_bc_entry(emulators), DEMO_SECRETS.__getitem__, SendTimes(result), pacer=pacer)
        try:
            connector.find("items", "1896-S")  # the token and the connection, before the clock starts
            result.sent.clear()
            result.turns.clear()
            result.grant_wall.clear()
            result.grant_cpu.clear()
            time.sleep(max(0.0, start_at - time.time()))
            began = time.perf_counter()
            while time.time() < until:
                connector.find("items", "1896-S")
            result.wall = time.perf_counter() - began
        finally:
            connector.close()
    return result


def run(emulators: dict[str, str], database: str | None, workers: int, limit: RateLimit | None, seconds: float) -> list[WorkerResult]:
    """`workers` processes against the emulator for `seconds`, sharing the store at `database`."""
    context = multiprocessing.get_context("spawn")
    state_dir = tempfile.mkdtemp(prefix="mlc-rate-")
    if database is None:
        database = f"sqlite:///{state_dir}/mlc.db"
    start_at = time.time() + 3.0  # room for the processes to start and connect
    with context.Pool(workers) as pool:
        jobs = [pool.apply_async(_worker, (emulators, database, state_dir, limit, start_at, start_at + seconds)) for _ in range(workers)]
        return [job.get(timeout=seconds + 120) for job in jobs]


def _busiest(times: list[float], window: float) -> int:
    """The most of `times` in any half-open window of `window` seconds (to a microsecond: turns
    `window` apart are computed in floating point)."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + window - 1e-6) - i for i, t in enumerate(ordered)), default=0)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values, default=0.0)


def report(name: str, emulators: dict[str, str], database: str | None, workers: int, rate: float, seconds: float) -> bool:
    """Print one configuration's figures; whether the achieved rate is within 5% of the budget."""
    unpaced = run(emulators, database, workers, None, min(seconds, 3.0))
    sent = [t for r in unpaced for t in r.sent]
    baseline = (len(sent) - 1) / (max(sent) - min(sent)) if len(sent) > 1 else 0.0

    limit = RateLimit(Rate(int(rate), 1.0))
    results = run(emulators, database, workers, limit, seconds)
    sent = sorted(t for r in results for t in r.sent)
    turns = sorted(t for r in results for t in r.turns)
    achieved = (len(sent) - 1) / (sent[-1] - sent[0])
    lag = [s - t for r in results for s, t in zip(r.sent, r.turns, strict=True)]
    walls = [w for r in results for w in r.grant_wall]
    cpus = [c for r in results for c in r.grant_cpu]
    share = sum(walls) / sum(r.wall for r in results)
    alone = run(emulators, database, 1, limit, min(seconds, 4.0))[0]
    ok = abs(achieved / rate - 1) <= 0.05 and _busiest(turns, 1.0) <= rate
    print(
        f"{name:<11} {workers} workers: unpaced {baseline:6.1f} req/s; budget {rate:.0f}/s: achieved {achieved:6.2f} req/s "
        f"= {achieved / rate:.3f} of the budget ({len(sent)} requests in {sent[-1] - sent[0]:.1f} s) -> {'within 5%' if ok else 'NOT within 5%'}"
    )
    print(
        f"{'':<11} busiest 1 s window: turns {_busiest(turns, 1.0)}/{rate:.0f}, sends {_busiest(sent, 1.0)}/{rate:.0f} "
        f"(a send leaves {statistics.mean(lag) * 1e3:.2f} ms after its turn, p99 {statistics.quantiles(lag, n=100)[-1] * 1e3:.2f} ms)"
    )
    print(
        f"{'':<11} store per grant: {statistics.mean(walls) * 1e3:.2f} ms wall (p95 {_p95(walls) * 1e3:.2f}), "
        f"{statistics.mean(cpus) * 1e3:.2f} ms CPU, {share:.1%} of the workers' wall time; one worker alone: "
        f"{statistics.mean(alone.grant_wall) * 1e3:.2f} ms wall, {statistics.mean(alone.grant_cpu) * 1e3:.2f} ms CPU"
    )
    return ok


def _postgres(url: str) -> str | None:
    """A fresh schema on the server at `url`, or None (with a note) when it is unreachable."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as connection:
            schema = f"mlc_rate_{uuid.uuid4().hex[:12]}"
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        print(f"PostgreSQL at {url} is not reachable ({str(exc).splitlines()[0]}): skipped")
        return None
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="the budget in requests per second (default 50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each paced run lasts (default 10)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4], help="worker processes per run (default 2 4)")
    parser.add_argument("--postgres", default=POSTGRES, help=f"PostgreSQL server (default {POSTGRES})")
    args = parser.parse_args()
    results = []
    with EmulatorProcesses.start() as emulators:
        backends: list[tuple[str, str | None]] = [("SQLite", None)]
        postgres = _postgres(args.postgres)
        if postgres is not None:
            backends.append(("PostgreSQL", postgres))
        for name, database in backends:
            for workers in args.workers:
                results.append(report(name, emulators.environ, database, workers, args.rate, args.seconds))
    print(f"goal: achieved rate within 5% of the configured one, no window of turns over it: {sum(results)}/{len(results)} runs")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
