"""GP's rules for the emulator's records, raised as `GpFault` in GP's terms.

Unknown vendor or item, duplicate keys, changes to History documents, receipts against History
or closed purchase orders, receipt dates in a closed or missing fiscal period, reused vendor
document numbers. Lines are numbered in steps of 16384 as GP does, so a document holds at most
131,071 of them (its line numbers are Long Integers: `paths.LINE_NUMBER_MAX`). The functions
take a `Company` and change the record they are given; `GpState` holds the lock and stamps
dates.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

from connectors.gp import paths
from connectors.gp.emulator.company import (
    E_BAD_BODY,
    E_DOCUMENT_CLOSED,
    E_DOCUMENT_NOT_WORK,
    E_DUPLICATE_KEY,
    E_DUPLICATE_VENDOR_DOCUMENT,
    E_INVALID_FIELD,
    E_ITEM_NOT_FOUND,
    E_PERIOD_CLOSED,
    E_PERIOD_MISSING,
    E_PO_LINE_NOT_FOUND,
    E_PO_NOT_FOUND,
    E_TOO_MANY_LINES,
    E_VENDOR_NOT_FOUND,
    Company,
    GpFault,
)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def create_vendor(company: Company, body: dict[str, Any]) -> dict[str, Any]:
    """A new vendor: VendorId and Name required, the id unused."""
    require_text(body, "VendorId", "vendor")
    require_text(body, "Name", "vendor")
    if body["VendorId"].upper() in company.table("vendors"):
        raise GpFault(409, E_DUPLICATE_KEY, f"The vendor ID {body['VendorId']} already exists.")
    body.setdefault("IsActive", True)
    body.setdefault("IsOnHold", False)
    return body


def create_purchase_order(company: Company, body: dict[str, Any], today: date) -> dict[str, Any]:
    """A new Work purchase order: numbered (PO2103, ...) unless given, then checked."""
    require_work(body, "purchase order")
    key = body.get("PurchaseOrderId") or next_number(company.table("purchaseOrders"), "PO", 2103)
    if str(key).upper() in company.table("purchaseOrders"):
        raise GpFault(409, E_DUPLICATE_KEY, f"The purchase order number {key} already exists.")
    body["PurchaseOrderId"] = key
    body.setdefault(paths.PO_STATUS_FIELD, "New")
    body.setdefault("Type", "Standard")
    body.setdefault("Date", today.isoformat())
    return check_purchase_order(company, body)


def check_purchase_order(company: Company, po: dict[str, Any]) -> dict[str, Any]:
    """Vendor and items exist, quantities positive, dates valid; lines completed from the item."""
    vendor = company.table("vendors").get(str(po.get("VendorId", "")).upper())
    if vendor is None:
        raise GpFault(400, E_VENDOR_NOT_FOUND, f"The vendor ID {po.get('VendorId')!s} does not exist.")
    po["VendorId"] = vendor["VendorId"]
    po.setdefault("VendorName", vendor.get("Name"))
    for name in ("Date", "RequiredDate"):
        _check_date(po, name)
    lines = po.get(paths.LINES_KEY, [])
    if not isinstance(lines, list):
        raise GpFault(400, E_BAD_BODY, f"{paths.LINES_KEY} must be a list.")
    number_lines(lines)
    for line in lines:
        item = company.table("items").get(str(line.get("ItemId", "")).upper())
        if item is None:
            raise GpFault(400, E_ITEM_NOT_FOUND, f"The item number {line.get('ItemId')!s} does not exist.")
        line["ItemId"] = item["ItemId"]
        quantity = _positive(line, "QuantityOrdered", "purchase order line")
        line.setdefault("ItemDescription", item.get("Description"))
        line.setdefault("QuantityCanceled", 0)
        line.setdefault("UnitCost", item.get("CurrentCost", 0))
        line.setdefault("UofM", item.get("BaseUofM", "Each"))
        line.setdefault("SiteId", item.get("DefaultSiteId", "WAREHOUSE"))
        line.setdefault("InventoryAccount", item.get("InventoryAccount"))
        line.setdefault("RequiredDate", po.get("RequiredDate"))
        for name in ("PromisedDate", "PromisedShipDate", "RequiredDate"):
            _check_date(line, name)
        line["ExtendedCost"] = round(quantity * float(line["UnitCost"]), 2)
    po[paths.LINES_KEY] = lines
    po["Subtotal"] = round(sum(line["ExtendedCost"] for line in lines), 2)
    return po


def create_receipt(company: Company, body: dict[str, Any]) -> dict[str, Any]:
    """A new Work receipt of a shipment: numbered (RCT1001, ...) unless given, then checked."""
    require_work(body, "purchase receipt")
    key = body.get("ReceiptId") or next_number(company.table("purchaseReceipts"), "RCT", 1001)
    if str(key).upper() in company.table("purchaseReceipts"):
        raise GpFault(409, E_DUPLICATE_KEY, f"The receipt number {key} already exists.")
    body["ReceiptId"] = key
    body.setdefault("ReceiptType", "Shipment")
    return check_receipt(company, body)


def check_receipt(company: Company, receipt: dict[str, Any]) -> dict[str, Any]:
    """Date in an open period; each line on a Work, open PO of the vendor; document number unused."""
    _check_date(receipt, paths.RECEIPT_DATE_FIELD, required=True)
    check_period(company, receipt[paths.RECEIPT_DATE_FIELD])
    lines = receipt.get(paths.LINES_KEY)
    if not isinstance(lines, list) or not lines:
        raise GpFault(400, E_BAD_BODY, "A receipt needs at least one line.")
    number_lines(lines)
    vendor_id = receipt.get("VendorId")
    for line in lines:
        po_id = line.get(paths.RECEIPT_PO_FIELD) or receipt.get(paths.RECEIPT_PO_FIELD)
        po = company.table("purchaseOrders").get(str(po_id or "").upper())
        if po is None:
            raise GpFault(400, E_PO_NOT_FOUND, f"The purchase order {po_id!s} does not exist.")
        if po.get(paths.TRANSACTION_STATE_FIELD) != paths.WORK_STATE:
            raise GpFault(
                400,
                E_DOCUMENT_NOT_WORK,
                f"The purchase order {po['PurchaseOrderId']} is in {po.get(paths.TRANSACTION_STATE_FIELD)}; "
                "items cannot be received against it.",
            )
        if po.get(paths.PO_STATUS_FIELD) in ("Closed", "Canceled"):
            raise GpFault(
                400,
                E_DOCUMENT_CLOSED,
                f"The purchase order {po['PurchaseOrderId']} is {po[paths.PO_STATUS_FIELD]}; "
                "items cannot be received against it.",
            )
        vendor_id = vendor_id or po["VendorId"]
        if po["VendorId"] != vendor_id:
            raise GpFault(
                400,
                E_INVALID_FIELD,
                f"The purchase order {po['PurchaseOrderId']} belongs to vendor {po['VendorId']}, not {vendor_id}.",
            )
        po_line = _find_po_line(po, line)
        line[paths.RECEIPT_PO_FIELD] = po["PurchaseOrderId"]
        line["PoLineNumber"] = po_line[paths.LINE_NUMBER_FIELD]
        line["ItemId"] = po_line["ItemId"]
        _positive(line, "QuantityShipped", "receipt line")
        for name in ("UofM", "UnitCost", "SiteId", "InventoryAccount"):
            line.setdefault(name, po_line.get(name))
    receipt["VendorId"] = vendor_id
    document = receipt.get("VendorDocumentNumber")
    if document:
        for other in company.table("purchaseReceipts").values():
            if (
                other.get("ReceiptId") != receipt.get("ReceiptId")
                and other.get("VendorId") == vendor_id
                and other.get("VendorDocumentNumber") == document
            ):
                raise GpFault(
                    400,
                    E_DUPLICATE_VENDOR_DOCUMENT,
                    f"The vendor document number {document} has already been used for vendor {vendor_id} "
                    f"(receipt {other['ReceiptId']}).",
                )
    return receipt


def check_period(company: Company, day: str) -> None:
    """GP's validation of a posting date against the Purchasing fiscal periods."""
    period_id = day[:7]
    period = company.table("fiscalPeriods").get(period_id)
    if period is None:
        raise GpFault(
            400,
            E_PERIOD_MISSING,
            f"The date {day} is not in a fiscal period that has been set up for the Purchasing series.",
        )
    if period["Closed"]:
        raise GpFault(
            400,
            E_PERIOD_CLOSED,
            f"The receipt date {day} falls in fiscal period {period_id} ({period['Name']}), which is closed "
            "for the Purchasing series. Reopen the period in Fiscal Periods Setup or use another date.",
        )


def require_work(body: dict[str, Any], label: str) -> None:
    """Documents are created in Work (unposted) only."""
    state = body.setdefault(paths.TRANSACTION_STATE_FIELD, paths.WORK_STATE)
    if state != paths.WORK_STATE:
        raise GpFault(400, E_DOCUMENT_NOT_WORK, f"A {label} can only be created in the Work state, not {state}.")


def next_number(table: dict[str, dict[str, Any]], prefix: str, first: int) -> str:
    """The next document number after the highest `<prefix><digits>` key (at least `first`)."""
    numbers = [int(k[len(prefix) :]) for k in table if k.startswith(prefix) and k[len(prefix) :].isdigit()]
    return f"{prefix}{max([first - 1, *numbers]) + 1}"


def number_lines(lines: list[Any]) -> None:
    """Give lines without a LineNumber the next multiple of 16384."""
    used = [line.get(paths.LINE_NUMBER_FIELD) for line in lines if isinstance(line, dict)]
    top = max([0, *(n for n in used if isinstance(n, int))])
    for line in lines:
        if not isinstance(line, dict):
            raise GpFault(400, E_BAD_BODY, "Every line must be a JSON object.")
        if not isinstance(line.get(paths.LINE_NUMBER_FIELD), int):
            top += paths.LINE_NUMBER_STEP
            _check_line_number(top, len(lines))
            line[paths.LINE_NUMBER_FIELD] = top


def _check_line_number(number: int, lines: int) -> None:
    """GP's line sequence numbers are Long Integers: a document cannot outgrow them."""
    if number > paths.LINE_NUMBER_MAX:
        most = paths.LINE_NUMBER_MAX // paths.LINE_NUMBER_STEP
        raise GpFault(
            400,
            E_TOO_MANY_LINES,
            f"The document has {lines:,} lines; its line sequence numbers would pass {paths.LINE_NUMBER_MAX:,} "
            f"(at most {most:,} lines, numbered {paths.LINE_NUMBER_STEP} apart).",
        )


def merge_lines(current: list[dict[str, Any]], changes: Any) -> list[dict[str, Any]]:
    """PATCH semantics for lines: change those named by LineNumber, append the others."""
    if not isinstance(changes, list):
        raise GpFault(400, E_BAD_BODY, f"{paths.LINES_KEY} must be a list.")
    merged = {line[paths.LINE_NUMBER_FIELD]: copy.deepcopy(line) for line in current}
    added: list[dict[str, Any]] = []
    for change in changes:
        if not isinstance(change, dict):
            raise GpFault(400, E_BAD_BODY, "Every line must be a JSON object.")
        number = change.get(paths.LINE_NUMBER_FIELD)
        if number is None:
            added.append(copy.deepcopy(change))
        elif number in merged:
            merged[number].update(copy.deepcopy(change))
        else:
            raise GpFault(400, E_PO_LINE_NOT_FOUND, f"The line {number} does not exist on this document.")
    lines = list(merged.values())
    top = max([0, *merged])
    for line in added:
        top += paths.LINE_NUMBER_STEP
        _check_line_number(top, len(merged) + len(added))  # `lines` grows in this loop
        line[paths.LINE_NUMBER_FIELD] = top
        lines.append(line)
    return lines


def _find_po_line(po: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """The PO line a receipt line receives: by PoLineNumber, else by ItemId."""
    lines = po.get(paths.LINES_KEY, [])
    number = line.get("PoLineNumber")
    item = line.get("ItemId")
    if number is not None:
        found = [p for p in lines if p.get(paths.LINE_NUMBER_FIELD) == number]
        if not found:
            raise GpFault(400, E_PO_LINE_NOT_FOUND, f"The purchase order {po['PurchaseOrderId']} has no line {number}.")
        if item and str(item).upper() != str(found[0]["ItemId"]).upper():
            raise GpFault(
                400,
                E_INVALID_FIELD,
                f"Line {number} of purchase order {po['PurchaseOrderId']} is for item {found[0]['ItemId']}, "
                f"not {item}.",
            )
        match: dict[str, Any] = found[0]
        return match
    if not item:
        raise GpFault(400, E_BAD_BODY, "A receipt line needs PoLineNumber or ItemId.")
    found = [p for p in lines if str(p.get("ItemId", "")).upper() == str(item).upper()]
    if not found:
        raise GpFault(400, E_PO_LINE_NOT_FOUND, f"The item {item} is not on purchase order {po['PurchaseOrderId']}.")
    first: dict[str, Any] = found[0]
    return first


def require_text(body: dict[str, Any], name: str, label: str) -> None:
    """`body[name]` must be non-empty text."""
    if not isinstance(body.get(name), str) or not body[name].strip():
        raise GpFault(400, E_BAD_BODY, f"A {label} needs {name}.")


def _positive(line: dict[str, Any], name: str, label: str) -> float:
    """`line[name]` must be a number above zero; returned as float."""
    value = line.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise GpFault(400, E_INVALID_FIELD, f"The {label} {name} must be a number above zero, got {value!r}.")
    return float(value)


def _check_date(record: dict[str, Any], name: str, *, required: bool = False) -> None:
    """`record[name]` must be a YYYY-MM-DD date (a datetime is cut to its date)."""
    value = record.get(name)
    if value in (None, ""):
        if required:
            raise GpFault(400, E_BAD_BODY, f"{name} is required.")
        return
    if not isinstance(value, str):
        raise GpFault(400, E_INVALID_FIELD, f"{name} must be a date (YYYY-MM-DD), got {value!r}.")
    text = value[:10]
    try:
        date.fromisoformat(text)
    except ValueError:
        raise GpFault(400, E_INVALID_FIELD, f"{name} must be a date (YYYY-MM-DD), got {value!r}.") from None
    if not _DATE_RE.match(text):
        raise GpFault(400, E_INVALID_FIELD, f"{name} must be a date (YYYY-MM-DD), got {value!r}.")
    record[name] = text
