"""What a partner guide costs per document (issue 11, part 3).

Renders N invoices of 20 lines through `bc-sales-invoice-to-810` for the example partner acme
(the baseline, measured in the same run), then the same renders followed by the guide check
the worker runs before upload (read the text back, then every requirement, code, length and
rule of `guides/acme.yaml`), and prints time per document and the ratio. Also checks N
inbound 850s of 20 lines against the guide's 850 set, next to reading them.

Run: .venv/bin/python benchmarks/guides.py [--docs 2000]
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config.project import load_project  # noqa: E402
from engine.guides import check_interchange, check_or_raise  # noqa: E402
from engine.mapping.outbound import Controls, render_outbound  # noqa: E402
from engine.x12.document import parse  # noqa: E402

NOW = datetime(2024, 5, 3, 9, 30)
CASE = ROOT / "mappings/bc-sales-invoice-to-810/cases/acme-103001"


def invoices(count: int) -> list[dict[str, Any]]:
    base = json.loads((CASE / "input.json").read_text(encoding="utf-8"))
    line = base["salesInvoiceLines"][0]
    docs = []
    for number in range(count):
        doc = copy.deepcopy(base)
        doc["number"] = f"{200000 + number}"
        doc["salesInvoiceLines"] = [dict(line, sequence=10000 * (i + 1)) for i in range(20)]
        total = sum(float(x["quantity"]) * float(x["unitPrice"]) for x in doc["salesInvoiceLines"])
        doc["totalAmountExcludingTax"] = round(total, 2)
        doc["totalTaxAmount"] = 0
        doc["totalAmountIncludingTax"] = round(total, 2)
        docs.append(doc)
    return docs


def order(lines: int) -> str:
    body = ["BEG*00*SA*PO-1**20240603", "N1*ST*Acme DC 7*92*0007"]
    body += [f"PO1*{i + 1}*5*EA*10*PE*BP*AC-DESK-01" for i in range(lines)]
    body.append(f"CTT*{lines}")
    segments = ["ST*850*0001", *body, f"SE*{len(body) + 2}*0001"]
    return (
        "ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*000000701*0*P*>~"
        "GS*PO*ACMERETAIL*MLCONNECT*20240603*0930*701*X*004010~" + "~".join(segments) + "~GE*1*701~IEA*1*000000701~"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=2000)
    args = parser.parse_args()
    project = load_project(ROOT)
    acme = project.partners["acme"]
    assert acme.guide is not None, "the example partner acme has a guide"
    mapping = project.mappings["bc-sales-invoice-to-810"]
    docs = invoices(args.docs)

    started = time.perf_counter()
    texts = [render_outbound(mapping, doc, partner=acme.data, now=NOW, controls=Controls(1, 1, 1)).text for doc in docs]
    render = (time.perf_counter() - started) / len(docs)

    started = time.perf_counter()
    for doc in docs:
        text = render_outbound(mapping, doc, partner=acme.data, now=NOW, controls=Controls(1, 1, 1)).text
        check_interchange(acme.guide, text, "outbound", doc["number"])
    guided = (time.perf_counter() - started) / len(docs)
    assert texts

    inbound = order(20).encode()
    started = time.perf_counter()
    trees = [parse(io.BytesIO(inbound), "order.edi") for _ in range(args.docs)]
    read = (time.perf_counter() - started) / len(trees)
    started = time.perf_counter()
    for tree in trees:
        check_or_raise(acme.guide, "850", "inbound", tree["interchanges"][0]["groups"][0]["transactions"][0]["body"], "order.edi")
    checked = (time.perf_counter() - started) / len(trees)

    print(f"810, 20 lines, {args.docs} documents, partner acme's guide (guides/acme.yaml)")
    print(f"  render alone (baseline)     {render * 1000:7.3f} ms/doc")
    print(f"  render + guide check        {guided * 1000:7.3f} ms/doc   ratio {guided / render:5.2f}x")
    print(f"850, 20 lines, {args.docs} documents")
    print(f"  read (baseline)             {read * 1000:7.3f} ms/doc")
    print(f"  guide check of the tree     {checked * 1000:7.3f} ms/doc   ratio {checked / read:5.2f}x of reading")


if __name__ == "__main__":
    main()
