"""Big inbound files through the real runtime (issue 13 part 2): one interchange of many 850s
from acme in its Cleo inbox, worked by `mlc run --once --route cleo-850-to-bc-sales-orders` as
users run it (a subprocess on a fresh SQLite store; the emulators in processes of their own,
benchmarks/emulated.py).

For each size (200 and 2,000 orders by default; the smallest is the baseline) it prints the
worker's wall time, its peak RSS (`wait4`'s ru_maxrss of that very process) and the RSS ratio
to the baseline, the sales orders BC holds afterwards, and the 997's AK5 verdicts. One order
per file names an item acme's cross-reference does not know: it must fail alone (the other
orders created, the 997 rejecting that set only).

With `--ship-notice-packs N` it also sends one 856 from globex (one transaction set: a shipment,
one order, N packs of 4 items each, the shape of benchmarks/hl_856.py; 32,767 packs is 9.3 MB
and 131,068 lines, the most one GP receipt holds: GP numbers lines 16384 apart in a Long
Integer, so 131,071 at most, and the emulator refuses more, as GP does) through `mlc run --once
--route cleo-856-to-gp` and prints the same figures for it. One set is one unit of work: its
parsed tree and the GP receipt it maps to (4 lines per pack) are held whole, so its memory grows
with the set, unlike a file of many sets.
What is not held besides: the set's bytes (read from the store a chunk at a time), its segment
lists once the tree is built, its tree once the receipt is rendered, the receipt's JSON (stored
in pieces). About 20 bytes of tree per byte of 856 remain (dicts and element strings, the
parse-tree contract), read twice: by the file job's check, then by the set's job.

Goals: peak worker RSS under 150 MB, and within 1.3x between the 200- and 2,000-order files.
Run: .venv/bin/python benchmarks/big_inbound.py [--sizes 200,2000] [--ship-notice-packs 32767]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.emulated import EmulatorProcesses, acme_850_batch, mlc, worker_environ  # noqa: E402
from benchmarks.hl_856 import ITEMS_PER_PACK, ship_notice  # noqa: E402

ROUTE = "cleo-850-to-bc-sales-orders"
RSS_GOAL_MB = 150.0
RATIO_GOAL = 1.3


def run_size(count: int, first: int) -> dict[str, float | int | str]:
    """One file of `count` orders through a fresh store and fresh emulators."""
    bad = first + count // 2
    batch = acme_850_batch(first, count, unknown_item=frozenset({bad}))
    with EmulatorProcesses.start() as emulators, tempfile.TemporaryDirectory(prefix="mlc-big-") as state:
        emulators.clear("acme/inbox")  # only this file: the seed's 850s are not the point here
        emulators.put("acme/inbox", batch.name, batch.content)
        environ = worker_environ(emulators.environ, Path(state) / "state")
        started = time.perf_counter()
        with open(Path(state) / "worker.log", "wb") as log:
            process = subprocess.Popen(mlc("run", "--once", "--route", ROUTE), env=environ, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        output = (Path(state) / "worker.log").read_text(encoding="utf-8", errors="replace")
        orders = emulators.order_numbers()
        emulator_cpu = emulators.cpu_seconds()
        acks = [content.decode() for name, content in emulators.files("acme/outbox").items() if name.startswith("997_")]
    verdicts = re.findall(r"AK5\*([AR])", "".join(acks))
    return {
        "orders": count,
        "wall_s": wall,
        "rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "bc_cpu_s": emulator_cpu["bc"],
        "cleo_cpu_s": emulator_cpu["cleo"],
        "created": sum(1 for number in orders if number in {f"ACME-PO-{n}" for n in range(first, first + count)}),
        "bad_created": sum(1 for number in orders if number == f"ACME-PO-{bad}"),
        "ak5_a": verdicts.count("A"),
        "ak5_r": verdicts.count("R"),
        "exit": process.returncode,
        "tail": output.strip().splitlines()[-1] if output.strip() else "",
    }


def run_ship_notice(packs: int) -> dict[str, float | int | str]:
    """One 856 of `packs` packs from globex through `cleo-856-to-gp` on a fresh store."""
    content, hl_count = ship_notice(packs)
    with EmulatorProcesses.start() as emulators, tempfile.TemporaryDirectory(prefix="mlc-big-") as state:
        emulators.clear("globex/inbox")
        emulators.put("globex/inbox", "856_GLX-SHP-BIG.edi", content)
        environ = worker_environ(emulators.environ, Path(state) / "state")
        started = time.perf_counter()
        with open(Path(state) / "worker.log", "wb") as log:
            process = subprocess.Popen(mlc("run", "--once", "--route", "cleo-856-to-gp"), env=environ, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        output = (Path(state) / "worker.log").read_text(encoding="utf-8", errors="replace")
        acks = [c.decode() for name, c in emulators.files("globex/outbox").items() if name.startswith("997_")]
    return {
        "mb": len(content) / 1_000_000,
        "hl": hl_count,
        "items": packs * ITEMS_PER_PACK,
        "wall_s": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "accepted": "".join(acks).count("AK5*A"),
        "exit": os.waitstatus_to_exitcode(status),
        "tail": output.strip().splitlines()[-1] if output.strip() else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="200,2000", help="Comma-separated order counts; the first is the baseline.")
    parser.add_argument("--ship-notice-packs", type=int, default=0, help="Also one 856 of this many packs (32767: 9.3 MB, the most one GP receipt holds).")
    args = parser.parse_args()
    if args.ship_notice_packs:
        notice = run_ship_notice(args.ship_notice_packs)
        print(
            f"856 of {notice['mb']:.1f} MB ({notice['hl']:,} HL, {notice['items']:,} items): wall {float(notice['wall_s']):.1f} s, "
            f"worker CPU {float(notice['cpu_s']):.1f} s, peak RSS {float(notice['rss_mb']):.0f} MB, 997 AK5 A {notice['accepted']}, "
            f"exit {notice['exit']}; worker: {notice['tail']}"
        )
    sizes = [int(size) for size in args.sizes.split(",")]
    results = [run_size(size, 10_000 * (n + 1)) for n, size in enumerate(sizes)]
    base = results[0]
    print(
        f"{'orders':>7} {'wall s':>8} {'ms/order':>9} {'worker CPU ms/order':>20} {'BC emulator CPU s':>18} "
        f"{'peak RSS MB':>12} {'RSS x base':>11} {'created':>8} {'AK5 A':>6} {'AK5 R':>6} {'exit':>5}"
    )
    for result in results:
        ratio = float(result["rss_mb"]) / float(base["rss_mb"])
        per_order = float(result["wall_s"]) * 1000 / int(result["orders"])
        cpu_per_order = float(result["cpu_s"]) * 1000 / int(result["orders"])
        print(
            f"{result['orders']:>7} {float(result['wall_s']):>8.1f} {per_order:>9.2f} {cpu_per_order:>20.2f} {float(result['bc_cpu_s']):>18.1f} "
            f"{float(result['rss_mb']):>12.1f} {ratio:>11.2f} "
            f"{result['created']:>8} {result['ak5_a']:>6} {result['ak5_r']:>6} {result['exit']:>5}"
        )
    worst = max(float(r["rss_mb"]) for r in results)
    ratio = float(results[-1]["rss_mb"]) / float(base["rss_mb"])
    print(f"peak RSS {worst:.1f} MB (goal < {RSS_GOAL_MB:.0f} MB): {'ok' if worst < RSS_GOAL_MB else 'MISSED'}")
    print(f"RSS {results[-1]['orders']} / {base['orders']} orders = {ratio:.2f}x (goal <= {RATIO_GOAL}x): {'ok' if ratio <= RATIO_GOAL else 'MISSED'}")
    for result in results:
        expected = int(result["orders"]) - 1
        print(
            f"{result['orders']} orders: {result['created']} created (expected {expected}), the bad one created {result['bad_created']} time(s); "
            f"997 AK5 A {result['ak5_a']} / R {result['ak5_r']} (expected {expected} / 1); worker: {result['tail']}"
        )


if __name__ == "__main__":
    main()
