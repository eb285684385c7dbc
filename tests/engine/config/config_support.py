"""A small valid project written into a temporary directory, and helpers to break it.

`write_project(root, **changes)` writes the base project below, with files replaced (text),
added, or removed (None). Line numbers in tests refer to these texts, so keep them stable.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from engine.config.lint import Finding

CONNECTIONS = """\
identity:
  qualifier: ZZ
  id: MLCONNECT
connections:
  bc:
    type: bc
    tenant: cronus.example
    environment: production
    company_id: f64eba74-dacd-4854-a584-1834f68cfc3a
    client_id: mlc-demo-client
    secret: bc-client-secret
    api_base: ${TEST_BC_URL:http://127.0.0.1:8765/bc}
  cleo:
    type: cleo
    base_url: http://127.0.0.1:8765/cleo
    username: mlc-demo
    password_secret: cleo-password
"""

ACME = """\
name: Acme Retail Inc.
x12:
  qualifier: ZZ
  id: ACMERETAIL
cleo:
  connection: cleo
  inbox: acme/inbox
  outbox: acme/outbox
transactions:
  - {set: "850", direction: inbound}
  - {set: "810", direction: outbound}
erp:
  bc: {customer: C10000}
xref:
  items: {AC-DESK-01: 1896-S}
"""

CONTOSO = """\
name: Contoso Stores
x12:
  qualifier: "01"
  id: "123456789"
cleo:
  connection: cleo
  inbox: contoso/inbox
  outbox: contoso/outbox
transactions:
  - {set: "810", direction: outbound}
erp:
  bc: {customer: [C20000, C20001]}
"""

INVOICES_ROUTE = """\
name: invoices
triggers:
  - webhook: {connection: bc, resource: salesInvoices}
  - cron: "*/15 * * * *"
source:
  connection: bc
  entity: salesInvoices
  expand: salesInvoiceLines
  cursor: lastModifiedDateTime
filter: "{{ doc.status in ['Open', 'Paid'] }}"
partner:
  by: bc.customer
  key: "{{ doc.customerNumber }}"
key: "{{ doc.number }}"
mapping: invoice-810
lookups:
  items: {connection: bc, entity: items, key: "{{ item.lineObjectNumber }}", for_each: "$.salesInvoiceLines[*]"}
target:
  connection: cleo
  folder: outbox
  filename: "810_{{ partner.id }}_{{ doc.number }}.edi"
"""

ORDERS_ROUTE = """\
triggers:
  - interval: {minutes: 5}
source:
  connection: cleo
  folder: inbox
  sets: ["850"]
mapping: order-850
target:
  connection: bc
  entity: salesOrders
  operation: create
  unique: externalDocumentNumber
"""

INVOICE_MAPPING = """\
name: invoice-810
direction: outbound
transaction_set: "810"
key: "{{ doc.number }}"
segments:
  - BIG:
      BIG01: "{{ doc.invoiceDate }}"
      BIG02: "{{ doc.number }}"
  - for_each: "$.salesInvoiceLines[*]"
    as: line
    segments:
      - IT1: {IT101: "{{ loop.index }}", IT102: "{{ line.quantity }}", IT104: "{{ line.unitPrice }}"}
  - TDS: {TDS01: "{{ doc.totalAmountIncludingTax }}"}
"""

ORDER_MAPPING = """\
name: order-850
direction: inbound
transaction_set: "850"
key: "{{ doc.BEG.BEG03 }}"
output:
  externalDocumentNumber: "{{ doc.BEG.BEG03 }}"
  customerNumber: "{{ partner.erp.bc.customer }}"
  salesOrderLines:
    for_each: "$.PO1_loop[*]"
    as: line
    item:
      quantity: "{{ line.PO1.PO102 | number }}"
"""

BASE: dict[str, str] = {
    "connections.yaml": CONNECTIONS,
    "partners/acme.yaml": ACME,
    "partners/contoso.yaml": CONTOSO,
    "schedules/invoices.yaml": INVOICES_ROUTE,
    "schedules/orders.yaml": ORDERS_ROUTE,
    "mappings/invoice-810/mapping.yaml": INVOICE_MAPPING,
    "mappings/order-850/mapping.yaml": ORDER_MAPPING,
}

ENVIRON: dict[str, str] = {}
"""Tests pass an explicit (empty) environment: the real one must not change results."""


def write_project(root: Path, files: dict[str, str | None] | None = None) -> Path:
    """The base project under `root` with `files` (relative path -> text, None removes)."""
    chosen: dict[str, str | None] = {**BASE, **(files or {})}
    for relative, text in chosen.items():
        if text is None:
            continue
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def lines(findings: list[Finding]) -> list[str]:
    """`path:line:col: level code` of each finding (messages left out)."""
    return [f"{f.location}: {f.level} {f.code}" for f in findings]


def generate_project(root: Path, partners: int = 500, routes: int = 40) -> Path:
    """The base project grown to `partners` partners and `routes` routes (for scale tests and
    the load benchmark): each partner has its own ISA id, BC customer and folders; routes
    alternate between the outbound invoice and the inbound order flows."""
    removed: dict[str, str | None] = dict.fromkeys(BASE)
    write_project(root, {**removed, "connections.yaml": CONNECTIONS, **{k: v for k, v in BASE.items() if k.startswith("mappings/")}})
    (root / "partners").mkdir()
    for number in range(partners):
        text = ACME.replace("ACMERETAIL", f"P{number:06d}").replace("C10000", f"C{number:06d}").replace("acme/", f"p{number:06d}/")
        text = text.replace("name: Acme Retail Inc.", f"name: Partner {number}")
        (root / "partners" / f"p{number:06d}.yaml").write_text(text, encoding="utf-8")
    (root / "schedules").mkdir()
    for number in range(routes):
        base = INVOICES_ROUTE if number % 2 == 0 else ORDERS_ROUTE
        text = base.replace("name: invoices\n", "")
        (root / "schedules" / f"route-{number:03d}.yaml").write_text(text, encoding="utf-8")
    return root
