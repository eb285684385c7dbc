"""A big 856 through `x12-856-to-gp`: is the inbound path linear in the HL count? (issue 13, part 2)

Generates one 856 of S -> O -> P packs -> 4 items each (the shape that was quadratic: 0.8 s
for 1,000 packs, 10.5 s for 4,000), at two sizes, and times in this process what
`mlc render x12-856-to-gp` does: read and check the file (`engine.x12.document.walk`), then
render the receipt payload (`render_payload`). Prints, for each size, the CPU seconds of each
step (best of --repeat runs) and the time per 1,000 HL segments, then the ratio of the two
per-1,000-HL times: about 1.0 is linear, about the size ratio is quadratic.

Goal: the per-1,000-HL ratio between the two sizes under 1.3.
Run: .venv/bin/python benchmarks/hl_856.py [--packs 1000] [--factor 4]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config.project import load_project  # noqa: E402
from engine.mapping.inbound import render_payload  # noqa: E402
from engine.x12.document import CheckedTransaction, group_facts, interchange_facts, walk  # noqa: E402

ITEMS_PER_PACK = 4
NOW = datetime(2024, 5, 21, 10, 15)


def ship_notice(packs: int, orders: int = 1) -> tuple[bytes, int]:
    """One interchange holding one 856: a shipment, `orders` orders, `packs` packs spread over
    them, 4 items per pack. Returns the bytes and the number of HL segments."""
    body = [
        "BSN*00*GLX-SHP-BIG*20240521*1015*0001",
        "HL*1**S*1",
        "TD1*CTN25*3****G*52*LB",
        "TD5*B*2*FDEG*M*FedEx Ground",
        "REF*BM*BOL-2107-01",
        "DTM*011*20240521",
        "N1*SF*Globex Supply Co.*92*GLOBEXSUP",
        "N1*ST*Fabrikam, Inc.*92*TWO",
    ]
    hl = 1
    order_ids = []
    for order in range(orders):
        hl += 1
        order_ids.append(hl)
        body += [f"HL*{hl}*1*O*1", f"PRF*PO{2101 + order}***20240502"]
        for pack in range(order * packs // orders, (order + 1) * packs // orders):
            hl += 1
            pack_id = hl
            body += [f"HL*{pack_id}*{order_ids[-1]}*P*1", f"MAN*GM*{pack:020d}"]
            for item in range(ITEMS_PER_PACK):
                hl += 1
                line = pack * ITEMS_PER_PACK + item + 1
                body += [f"HL*{hl}*{pack_id}*I*0", f"LIN*{line}*BP*{('100XLG', '128 SDRAM')[item % 2]}", f"SN1*{line}*{item + 1}*EA"]
    body.append(f"CTT*{hl - 1 - orders - packs}")
    isa = "ISA*00*          *00*          *ZZ*GLOBEXSUP      *ZZ*MLCONNECT      *240521*1015*U*00401*000000325*0*P*>~\n"
    text = (
        isa
        + "GS*SH*GLOBEXSUP*MLCONNECT*20240521*1015*325*X*004010~\n"
        + "ST*856*0001~\n"
        + "~\n".join(body)
        + f"~\nSE*{len(body) + 2}*0001~\nGE*1*325~\nIEA*1*000000325~\n"
    )
    return text.encode(), hl


def run(packs: int) -> tuple[int, float, float]:
    """(HL count, CPU seconds reading and checking, CPU seconds rendering) for one file of
    `packs` (CPU time of this process: the machine is shared)."""
    project = load_project(ROOT)
    mapping = project.mappings["x12-856-to-gp"]
    partner = project.partners["globex"].data
    data, hl_count = ship_notice(packs)
    start = time.process_time()
    checked = [e for e in walk(io.BytesIO(data), "bench.edi") if isinstance(e, CheckedTransaction)]
    read = time.process_time() - start
    assert len(checked) == 1 and not [p for p in checked[0].problems if p.level == "error"], checked[0].problems[:3]
    transaction = checked[0]
    start = time.process_time()
    payload = render_payload(
        mapping,
        transaction.parsed.tree,
        partner=partner,
        now=NOW,
        interchange=interchange_facts(transaction.raw.group.interchange),
        group=group_facts(transaction.raw.group),
        document="bench.edi",
    )
    rendered = time.process_time() - start
    assert len(payload["Lines"]) == packs * ITEMS_PER_PACK and payload["PurchaseOrderId"] == "PO2101", payload.get("PurchaseOrderId")
    return hl_count, read, rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", type=int, default=1000, help="packs in the smaller file (4 items each)")
    parser.add_argument("--factor", type=int, default=4, help="how many times bigger the second file is")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (the best is shown)")
    args = parser.parse_args()
    run(50)  # warm up: definitions, scanners, compiled mapping
    results = []
    for packs in (args.packs, args.packs * args.factor):
        runs = [run(packs) for _ in range(args.repeat)]
        hl_count, read, rendered = min(runs, key=lambda r: r[1] + r[2])
        per_1000 = (read + rendered) / hl_count * 1000
        results.append(per_1000)
        print(
            f"856 of {packs:>6,} packs ({hl_count:>7,} HL): read+check {read:6.2f} s, render {rendered:6.2f} s CPU, "
            f"{per_1000 * 1000:7.1f} ms per 1,000 HL"
        )
    ratio = results[1] / results[0]
    verdict = "linear" if ratio < 1.3 else "NOT linear"
    print(f"  per-1,000-HL ratio, {args.factor}x the HL count: {ratio:.2f} ({verdict}; 1.0 is linear, {args.factor:.1f} quadratic)")


if __name__ == "__main__":
    main()
