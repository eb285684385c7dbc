"""Declarative mapping vs hand-written code, and project loading (issue 3).

1. Render 2,000 Business Central invoices of 20 lines each through `bc-sales-invoice-to-810`,
   and, in the same run, through a hand-written function producing the identical bytes (the
   floor; checked byte for byte first). The declarative path also checks every transaction
   against its definition, which the floor does not, so a third line times the floor plus
   that same check to show where the time goes.
2. Parse and map 2,000 20-line 850s through `x12-850-to-bc-sales-order`, against a
   hand-written parser + mapper producing the identical JSON.
3. Load and validate a project of 500 partners and 40 routes.

Goals: declarative within 3x of hand-written, under 2 ms per 20-line document either way;
the 500-partner project in under 2 s.
Run: .venv/bin/python benchmarks/render.py [--docs 2000]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config.source import load_yaml  # noqa: E402
from engine.mapping.compile import load_mapping  # noqa: E402
from engine.mapping.outbound import Controls, render_outbound  # noqa: E402

NOW = datetime(2024, 5, 3, 9, 30)
CASE = ROOT / "mappings/bc-sales-invoice-to-810/cases/acme-103001"


def partner() -> dict[str, Any]:
    return {
        "id": "acme",
        "x12": {
            "qualifier": "ZZ",
            "id": "ACMERETAIL",
            "application_id": "ACMERETAIL",
            "version": "004010",
            "usage": "production",
            "identity": {"qualifier": "ZZ", "id": "MLCONNECT", "application_id": "MLCONNECT"},
            "delimiters": {"element": "*", "component": ">", "segment": "~"},
            "overlong": "truncate",
            "delimiter_in_data": "replace",
        },
        "erp": {"bc": {"customer": "C10000"}},
        "xref": {"items": {"AC-DESK-01": "1896-S", "AC-CHAIR-02": "1900-S"}, "uom": {"EA": "PCS"}},
        "settings": {},
    }


def invoices(count: int, lines: int = 20) -> list[dict[str, Any]]:
    """`count` invoices shaped like the golden case's (the real API shape), `lines` item lines."""
    base = json.loads((CASE / "input.json").read_text())
    template_line = base["salesInvoiceLines"][0]
    docs = []
    for n in range(count):
        doc = copy.deepcopy(base)
        doc["number"] = f"{200000 + n}"
        doc["salesInvoiceLines"] = []
        for i in range(lines):
            line = dict(template_line)
            line.update(
                sequence=10000 * (i + 1),
                lineObjectNumber=("1896-S", "1900-S", "1906-S", "1908-S")[i % 4],
                description=f"Item {i} ATHENS Desk",
                quantity=i % 7 + 1,
                unitPrice=round(10.5 + i * 3.25, 2),
            )
            doc["salesInvoiceLines"].append(line)
        doc["salesInvoiceLines"].append({"lineType": "Comment", "description": "deliver to dock 3"})
        docs.append(doc)
    return docs


# --- the hand-written floor: the same bytes, written directly ------------------------------


def _r(value: Any) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return text[:-2] if text.endswith(".0") else text


def _n2(value: Any) -> str:
    return str(int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def _date(iso: str) -> str:
    return iso[:10].replace("-", "")


def _seg(*elements: str) -> str:
    parts = list(elements)
    while parts and parts[-1] == "":
        parts.pop()
    return "*".join(parts) + "~\n"


UOM = {"PCS": "EA", "HOUR": "HR", "BOX": "BX"}


def hand_written_810(doc: dict[str, Any], p: dict[str, Any], isa: int) -> str:
    x12 = p["x12"]
    us = x12["identity"]
    back = {v: k for k, v in p["xref"]["items"].items()}
    uom_back = {v: k for k, v in p["xref"]["uom"].items()}
    body = [
        _seg("BIG", _date(doc["invoiceDate"]), doc["number"], "", doc["customerPurchaseOrderReference"] or doc["externalDocumentNumber"], "", "", "DI"),
        _seg("REF", "IA", doc["customerNumber"]),
        _seg("N1", "RI", "CRONUS USA, Inc.", "92", us["id"]),
        _seg("N1", "BT", doc["billToName"], "91", doc["billToCustomerNumber"]),
        _seg("N3", doc["billToAddressLine1"], doc["billToAddressLine2"]),
        _seg("N4", doc["billToCity"], doc["billToState"], doc["billToPostCode"], doc["billToCountry"]),
        _seg("N1", "ST", doc["shipToName"]),
        _seg("N3", doc["shipToAddressLine1"], doc["shipToAddressLine2"]),
        _seg("N4", doc["shipToCity"], doc["shipToState"], doc["shipToPostCode"], doc["shipToCountry"]),
        _seg("DTM", "011", _date(doc["postingDate"])),
    ]
    count = 0
    quantity = Decimal(0)
    for line in doc["salesInvoiceLines"]:
        if line["lineType"] == "Comment":
            continue
        count += 1
        quantity += Decimal(str(line["quantity"]))
        uom = uom_back.get(line["unitOfMeasureCode"]) or UOM.get(line["unitOfMeasureCode"], "EA")
        theirs = back.get(line["lineObjectNumber"], "")
        body.append(
            _seg("IT1", str(count), _r(line["quantity"]), uom, _r(line["unitPrice"]), "PE", "VP", line["lineObjectNumber"], "BP" if theirs else "", theirs)
        )
        if line["description"]:
            body.append(_seg("PID", "F", "", "", "", line["description"]))
    body.append(_seg("TDS", _n2(doc["totalAmountIncludingTax"]), _n2(doc["totalAmountExcludingTax"])))
    if doc["totalTaxAmount"]:
        body.append(_seg("TXI", "ST", _r(doc["totalTaxAmount"])))
    body.append(_seg("CTT", str(count), _r(int(quantity) if quantity == int(quantity) else float(quantity))))
    ymd, hm = NOW.strftime("%y%m%d"), NOW.strftime("%H%M")
    head = [
        f"ISA*00*{'':10}*00*{'':10}*{us['qualifier']}*{us['id']:<15}*{x12['qualifier']}*{x12['id']:<15}*{ymd}*{hm}*U*00401*{isa:09d}*0*P*>~\n",
        _seg("GS", "IN", us["application_id"], x12["application_id"], NOW.strftime("%Y%m%d"), hm, str(isa), "X", "004010"),
        _seg("ST", "810", "0001"),
    ]
    tail = [_seg("SE", str(len(body) + 2), "0001"), _seg("GE", "1", str(isa)), _seg("IEA", "1", f"{isa:09d}")]
    return "".join(head + body + tail)


def timed(label: str, count: int, run: Callable[[], None], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<46} {count / best:>9,.0f} docs/s  {best / count * 1000:>7.3f} ms/doc")
    return best


def bench_810(count: int) -> None:
    from engine.mapping.outbound import _check, delimiters_of

    mapping = load_mapping(load_yaml(ROOT / "engine/library/mappings/bc-sales-invoice-to-810/mapping.yaml"), "bc-sales-invoice-to-810")
    docs = invoices(count)
    p = partner()
    for i, doc in enumerate(docs[:50]):
        ours = render_outbound(mapping, doc, partner=p, now=NOW, controls=Controls(i + 1, i + 1, 1)).text
        theirs = hand_written_810(doc, p, i + 1)
        assert ours == theirs, f"outputs differ for {doc['number']}:\n{ours}\n---\n{theirs}"
    print(f"810: {count} BC invoices of 20 item lines (identical bytes checked on 50)")

    def declarative() -> None:
        for i, doc in enumerate(docs):
            render_outbound(mapping, doc, partner=p, now=NOW, controls=Controls(i + 1, i + 1, 1))

    def floor() -> None:
        for i, doc in enumerate(docs):
            hand_written_810(doc, p, i + 1)

    from engine.x12.writer import Segment

    delimiters = delimiters_of(p["x12"], "004010")

    def floor_checked() -> None:
        for i, doc in enumerate(docs):
            text = hand_written_810(doc, p, i + 1)
            lines = text.split("~\n")[3:-4]
            body: list[Segment] = [list(line.split("*")) for line in lines]
            _check(mapping, body, delimiters, Controls(1, 1, 1), "bench")

    ours_t = timed("declarative (render + definition check)", count, declarative)
    floor_t = timed("hand-written", count, floor)
    checked_t = timed("hand-written + the same definition check", count, floor_checked)
    print(f"  ratio declarative / hand-written: {ours_t / floor_t:.2f}x; / hand-written with check: {ours_t / checked_t:.2f}x")


def bench_850(count: int) -> None:
    path = ROOT / "engine/library/mappings/x12-850-to-bc-sales-order/mapping.yaml"
    if not path.is_file():
        print("850: mappings/x12-850-to-bc-sales-order is missing; skipped")
        return
    from benchmarks.render_850 import run_850

    run_850(count, timed)


def bench_project() -> None:
    from benchmarks.render_project import run_project

    run_project(ROOT, 500, 40, overlays=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    args = parser.parse_args()
    bench_810(args.docs)
    bench_850(args.docs)
    bench_project()


if __name__ == "__main__":
    main()
