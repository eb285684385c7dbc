"""Parse + map 20-line 850s through x12-850-to-bc-sales-order vs a hand-written parser/mapper."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 6, 3, 9, 30)
PARTS = ("AC-DESK-01", "AC-CHAIR-02")
ISA = "ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*000000701*0*P*>~\n"


def orders(count: int, lines: int = 20) -> bytes:
    """One interchange, one group, `count` 850s of `lines` PO1 lines each."""
    out = [ISA, "GS*PO*ACMERETAIL*MLCONNECT*20240603*0930*701*X*004010~\n"]
    for n in range(1, count + 1):
        body = [
            f"BEG*00*SA*ACME-PO-{n:06d}**20240603",
            "REF*DP*042",
            "DTM*002*20240617",
            "N1*BY*Acme Retail Inc.*92*ACMERETAIL",
            "N1*ST*Acme DC 7*92*0007",
            "N3*1200 W Industrial Dr",
            "N4*Chicago*IL*60607*US",
        ]
        for line in range(1, lines + 1):
            body.append(f"PO1*{line}*{line % 7 + 1}*EA*{10 + line * 2.5:g}*PE*BP*{PARTS[line % 2]}")
            body.append(f"PID*F****Item {line} of order {n}")
        body.append(f"CTT*{lines}")
        out.append(f"ST*850*{n:04d}~\n")
        out.extend(segment + "~\n" for segment in body)
        out.append(f"SE*{len(body) + 2}*{n:04d}~\n")
    out.append(f"GE*{count}*701~\nIEA*1*000000701~\n")
    return "".join(out).encode()


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def hand_written(data: bytes, partner: dict[str, Any]) -> list[dict[str, Any]]:
    """The same payloads, from a split-based reader and direct dict building."""
    items = partner["xref"]["items"]
    uoms = partner["xref"]["uom"]
    customer = partner["erp"]["bc"]["customer"]
    payloads: list[dict[str, Any]] = []
    order: dict[str, Any] = {}
    ship_to: dict[str, str] | None = None
    in_ship_to = False
    line: dict[str, Any] | None = None
    for raw in data.decode().split("~\n"):
        elements = raw.split("*")
        tag = elements[0]
        if tag == "ST":
            order = {"customerNumber": customer}
            ship_to, in_ship_to, lines = None, False, []
        elif tag == "BEG":
            order["externalDocumentNumber"] = elements[3]
            order["orderDate"] = f"{elements[5][:4]}-{elements[5][4:6]}-{elements[5][6:]}"
        elif tag == "DTM" and elements[1] == "002":
            order["requestedDeliveryDate"] = f"{elements[2][:4]}-{elements[2][4:6]}-{elements[2][6:]}"
        elif tag == "N1":
            in_ship_to = elements[1] == "ST"
            if in_ship_to:
                ship_to = {"shipToName": elements[2]}
        elif tag == "N3" and in_ship_to and ship_to is not None:
            ship_to["shipToAddressLine1"] = elements[1]
            ship_to["shipToAddressLine2"] = elements[2] if len(elements) > 2 else ""
        elif tag == "N4" and in_ship_to and ship_to is not None:
            ship_to.update(shipToCity=elements[1], shipToState=elements[2], shipToPostCode=elements[3], shipToCountry=elements[4])
        elif tag == "PO1":
            if ship_to is not None and "salesOrderLines" not in order:
                order.update(ship_to)
                order["salesOrderLines"] = lines
            line = {
                "lineType": "Item",
                "lineObjectNumber": items[elements[7]],
                "quantity": _number(elements[2]),
                "unitPrice": _number(elements[4]),
                "unitOfMeasureCode": uoms[elements[3]],
            }
            lines.append(line)
        elif tag == "PID" and line is not None and elements[1] == "F":
            line["description"] = elements[5]
        elif tag == "SE":
            payloads.append(order)
    return payloads


def run_850(count: int, timed: Callable[..., float]) -> None:
    from engine.config.project import load_project
    from engine.mapping.inbound import render_payload
    from engine.x12.document import CheckedTransaction, group_facts, interchange_facts, walk
    from engine.x12.reader import read_events

    project = load_project(ROOT)
    mapping = project.mappings["x12-850-to-bc-sales-order"]
    partner = project.partners["acme"].data
    data = orders(count)

    def declarative() -> list[Any]:
        out = []
        for event in walk(io.BytesIO(data), "bench.edi"):
            if isinstance(event, CheckedTransaction):
                if any(p.level == "error" for p in event.problems):
                    raise AssertionError(event.problems)
                group = event.raw.group
                out.append(
                    render_payload(
                        mapping,
                        event.parsed.tree,
                        partner=partner,
                        now=NOW,
                        interchange=interchange_facts(group.interchange),
                        group=group_facts(group),
                    )
                )
        return out

    ours = declarative()
    assert ours == hand_written(data, partner), "the declarative and hand-written payloads differ"
    print(f"850: {count} 850s of 20 lines, parsed and mapped (identical JSON checked on all)")
    ours_t = timed("declarative (read + check + map)", count, declarative)
    floor_t = timed("hand-written (split + dicts)", count, lambda: hand_written(data, partner))
    print(f"  ratio declarative / hand-written: {ours_t / floor_t:.2f}x")

    # Where the declarative time goes: the envelope reader alone, the reader with each
    # transaction placed in its tree and checked, the mapping alone on those trees.
    trees = [(e.parsed.tree, e.raw.group) for e in walk(io.BytesIO(data), "bench.edi") if isinstance(e, CheckedTransaction)]

    def read_only() -> None:
        for _ in read_events(io.BytesIO(data), "bench.edi"):
            pass

    def read_and_check() -> None:
        for _ in walk(io.BytesIO(data), "bench.edi"):
            pass

    def map_only() -> None:
        for tree, group in trees:
            render_payload(
                mapping,
                tree,
                partner=partner,
                now=NOW,
                interchange=interchange_facts(group.interchange),
                group=group_facts(group),
            )

    def map_unchecked() -> None:
        target, mapping.target = mapping.target, None
        try:
            map_only()
        finally:
            mapping.target = target

    print("  where the declarative time goes:")
    timed("  reading the envelope (tokenizer, reader)", count, read_only)
    timed("  + transaction tree and definition check", count, read_and_check)
    checked_t = timed("  mapping the trees (payload builder, checked against BC salesOrders)", count, map_only)
    unchecked_t = timed("  mapping the trees, payload not checked (no target)", count, map_unchecked)
    print(f"  ratio checked / unchecked payload: {checked_t / unchecked_t:.2f}x")
