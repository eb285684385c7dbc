"""The GP emulator's in-memory world: companies with vendors, items, purchase orders,
purchase receipts and a fiscal calendar, plus the Windows accounts mapped to GP users.

Seeded from `seed/*.json` (company TWO, "Fabrikam, Inc.", per docs/demo-world.md). The rules
GP applies are here, raised as `GpFault` (status, GP error code, GP message): unknown vendor or
item, duplicate keys, changes to History documents, receipts against History POs, and receipt
dates in a closed or missing fiscal period. Every change stamps `ModifiedDate` from the clock.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from connectors.gp import paths

SEED_COMPANY = "TWO"

# GP error codes used by the emulator [U: real SBA codes unknown].
E_NOT_AUTHENTICATED = 1401
E_NO_COMPANY_ACCESS = 1403
E_COMPANY_NOT_FOUND = 1404
E_RECORD_NOT_FOUND = 2001
E_DUPLICATE_KEY = 2002
E_INVALID_FIELD = 2003
E_VENDOR_NOT_FOUND = 2101
E_ITEM_NOT_FOUND = 2102
E_DOCUMENT_NOT_WORK = 3001
E_DOCUMENT_CLOSED = 3002
E_PO_NOT_FOUND = 3003
E_PO_LINE_NOT_FOUND = 3004
E_DUPLICATE_VENDOR_DOCUMENT = 3005
E_PERIOD_CLOSED = 4150
E_PERIOD_MISSING = 4151
E_BAD_QUERY = 5001
E_BAD_BODY = 5002
E_METHOD = 5003

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FILTER_RE = re.compile(
    rf"^\s*{paths.MODIFIED_FIELD}\s+(?P<op>gt|ge|lt|le|eq)\s+'?(?P<value>\d{{4}}-\d{{2}}-\d{{2}}(?:T[\d:.]+)?)Z?'?\s*$",
    re.IGNORECASE,
)
_ORDERBY_RE = re.compile(r"^\s*(?P<field>\w+)(?:\s+(?P<dir>asc|desc))?\s*$", re.IGNORECASE)
_MAX_TOP = 1000


class GpFault(Exception):
    """A refusal in GP's terms: HTTP status, GP error code and GP's message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class WindowsUser:
    """A domain account the emulator knows; `gp_user` None means not mapped to a GP user."""

    domain: str
    user: str
    password: str
    gp_user: str | None
    companies: tuple[str, ...]

    @property
    def account(self) -> str:
        return f"{self.domain}\\{self.user}"


@dataclass
class Company:
    """One GP company database: records per entity name, keyed by upper-cased key."""

    company_id: str
    name: str
    info: dict[str, Any]
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        return self.records.setdefault(entity, {})


def _seed(name: str) -> Any:
    return json.loads(resources.files("connectors.gp.emulator.seed").joinpath(name).read_text("utf-8"))


def load_users() -> list[WindowsUser]:
    """The Windows accounts of the seed (`seed/users.json`)."""
    return [
        WindowsUser(u["Domain"], u["User"], u["Password"], u.get("GpUserId"), tuple(u.get("Companies", ())))
        for u in _seed("users.json")
    ]


def fiscal_periods(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Monthly Purchasing periods for the years in `spec`, closed where `spec["Closed"]` says."""
    closed = set(spec.get("Closed", ()))
    periods = []
    for year in spec["Years"]:
        for month in range(1, 13):
            period_id = f"{year}-{month:02d}"
            periods.append(
                {
                    "PeriodId": period_id,
                    "Year": year,
                    "Period": month,
                    "Name": date(year, month, 1).strftime("%B %Y"),
                    "StartDate": f"{year}-{month:02d}-01",
                    "EndDate": f"{year}-{month:02d}-{monthrange(year, month)[1]:02d}",
                    "Series": "Purchasing",
                    "Closed": period_id in closed,
                }
            )
    return periods


def utc_now() -> datetime:
    """The default clock: naive UTC, to the second (how GP stamps ModifiedDate here)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class GpState:
    """Everything the emulator knows, guarded by one lock (served from another thread)."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.companies: dict[str, Company] = {}
        self.users: list[WindowsUser] = []
        self.reset()

    # --- seeding and test controls -------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed."""
        with self.lock:
            self.users = load_users()
            self.companies = {}
            for info in _seed("companies.json"):
                self.add_company(info["CompanyId"], info["Name"], info)
            company = self.companies[SEED_COMPANY.upper()]
            for entity, name in (
                ("vendors", "vendors.json"),
                ("items", "items.json"),
                ("purchaseOrders", "purchase_orders.json"),
                ("purchaseReceipts", "purchase_receipts.json"),
            ):
                spec = paths.ENTITIES[entity]
                for record in _seed(name):
                    company.table(entity)[str(record[spec.key]).upper()] = record

    def add_company(self, company_id: str, name: str, info: dict[str, Any] | None = None) -> Company:
        """A new, empty company (with the seed's fiscal calendar)."""
        with self.lock:
            company = Company(company_id, name, {**(info or {}), "CompanyId": company_id, "Name": name})
            for period in fiscal_periods(_seed("fiscal_periods.json")):
                company.table("fiscalPeriods")[period["PeriodId"]] = period
            self.companies[company_id.upper()] = company
            return company

    def find_company(self, segment: str) -> Company:
        """The company named in a URL: by name (exact) or by database id (any case)."""
        with self.lock:
            for company in self.companies.values():
                if company.name == segment:
                    return company
            company_or_none = self.companies.get(segment.upper())
        if company_or_none is None:
            raise GpFault(404, E_COMPANY_NOT_FOUND, f"The company '{segment}' does not exist in this tenant.")
        return company_or_none

    def set_period_closed(self, company: Company, period_id: str, closed: bool) -> dict[str, Any]:
        """Close or reopen a fiscal period (test control)."""
        with self.lock:
            period = company.table("fiscalPeriods").get(period_id)
            if period is None:
                raise GpFault(404, E_RECORD_NOT_FOUND, f"The fiscal period '{period_id}' is not set up.")
            period["Closed"] = closed
            return copy.deepcopy(period)

    def put(self, company: Company, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a record as given, stamping ModifiedDate (test control)."""
        spec = _spec(entity)
        if not isinstance(record, dict) or not record.get(spec.key):
            raise GpFault(400, E_BAD_BODY, f"A {spec.label} needs its key field {spec.key}.")
        with self.lock:
            stored = copy.deepcopy(record)
            now = self._stamp()
            stored.setdefault(paths.CREATED_FIELD, now)
            stored[paths.MODIFIED_FIELD] = now
            company.table(entity)[str(stored[spec.key]).upper()] = stored
            return copy.deepcopy(stored)

    def modify(self, company: Company, entity: str, key: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change fields of a record without any rule (test control), stamping ModifiedDate."""
        with self.lock:
            record = self._find(company, entity, key)
            record.update(copy.deepcopy(changes))
            record[paths.MODIFIED_FIELD] = self._stamp()
            return copy.deepcopy(record)

    # --- the API --------------------------------------------------------------------------------

    def list(self, company: Company, entity: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Records filtered by `$filter`, ordered by `$orderby`, paged by `$top`/`$skip`."""
        spec = _spec(entity)
        unknown = sorted(set(query) - {paths.FILTER_PARAM, paths.ORDERBY_PARAM, paths.TOP_PARAM, paths.SKIP_PARAM})
        if unknown:
            raise GpFault(400, E_BAD_QUERY, f"The query option(s) {', '.join(unknown)} are not supported.")
        with self.lock:
            records = [copy.deepcopy(r) for r in company.table(entity).values()]
        if paths.FILTER_PARAM in query:
            records = _apply_filter(records, query[paths.FILTER_PARAM])
        field_name, descending = spec.key, False
        if paths.ORDERBY_PARAM in query:
            match = _ORDERBY_RE.match(query[paths.ORDERBY_PARAM])
            if not match:
                raise GpFault(400, E_BAD_QUERY, f"The $orderby '{query[paths.ORDERBY_PARAM]}' is not valid.")
            field_name = match.group("field")
            descending = (match.group("dir") or "asc").lower() == "desc"
        records.sort(key=lambda r: (str(r.get(field_name, "")), str(r.get(spec.key, ""))), reverse=descending)
        skip = _int_option(query, paths.SKIP_PARAM, 0)
        top = _int_option(query, paths.TOP_PARAM, _MAX_TOP)
        return records[skip : skip + min(top, _MAX_TOP)]

    def get(self, company: Company, entity: str, key: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._find(company, entity, key))

    def create(self, company: Company, entity: str, body: Any) -> dict[str, Any]:
        """POST: the record as stored (keys assigned, lines numbered, dates stamped)."""
        if not isinstance(body, dict):
            raise GpFault(400, E_BAD_BODY, "The request body must be a JSON object.")
        creators = {
            "vendors": self._create_vendor,
            "purchaseOrders": self._create_purchase_order,
            "purchaseReceipts": self._create_receipt,
        }
        if entity not in creators:
            raise GpFault(405, E_METHOD, f"Creating {_spec(entity).label} records is not supported.")
        with self.lock:
            record = creators[entity](company, copy.deepcopy(body))
            now = self._stamp()
            record[paths.CREATED_FIELD] = now
            record[paths.MODIFIED_FIELD] = now
            company.table(entity)[str(record[_spec(entity).key]).upper()] = record
            return copy.deepcopy(record)

    def update(self, company: Company, entity: str, key: str, changes: Any) -> dict[str, Any]:
        """PATCH: header fields replaced, lines merged by LineNumber (new ones appended)."""
        spec = _spec(entity)
        if not isinstance(changes, dict):
            raise GpFault(400, E_BAD_BODY, "The request body must be a JSON object.")
        if entity not in ("vendors", "purchaseOrders", "purchaseReceipts"):
            raise GpFault(405, E_METHOD, f"Changing {spec.label} records is not supported.")
        with self.lock:
            current = self._find(company, entity, key)
            if spec.stateful and current.get(paths.TRANSACTION_STATE_FIELD) != paths.WORK_STATE:
                raise GpFault(
                    400,
                    E_DOCUMENT_NOT_WORK,
                    f"The {spec.label} {current[spec.key]} is in {current.get(paths.TRANSACTION_STATE_FIELD)} and "
                    "cannot be changed.",
                )
            if entity == "purchaseOrders" and current.get(paths.PO_STATUS_FIELD) in ("Closed", "Canceled"):
                raise GpFault(
                    400,
                    E_DOCUMENT_CLOSED,
                    f"The purchase order {current[spec.key]} is {current[paths.PO_STATUS_FIELD]} "
                    "and cannot be changed.",
                )
            for fixed in (spec.key, paths.CREATED_FIELD, paths.MODIFIED_FIELD, paths.TRANSACTION_STATE_FIELD):
                if fixed in changes and changes[fixed] != current.get(fixed):
                    raise GpFault(400, E_INVALID_FIELD, f"The field {fixed} cannot be changed.")
            merged = copy.deepcopy(current)
            lines = changes.get(paths.LINES_KEY)
            merged.update({k: copy.deepcopy(v) for k, v in changes.items() if k != paths.LINES_KEY})
            if lines is not None:
                merged[paths.LINES_KEY] = _merge_lines(current.get(paths.LINES_KEY, []), lines)
            merged.pop(paths.CREATED_FIELD, None)
            validate = {"purchaseOrders": self._check_purchase_order, "purchaseReceipts": self._check_receipt}
            if entity in validate:
                merged = validate[entity](company, merged)
            elif entity == "vendors":
                _require_text(merged, "Name", "vendor")
            merged[paths.CREATED_FIELD] = current.get(paths.CREATED_FIELD)
            merged[paths.MODIFIED_FIELD] = self._stamp()
            company.table(entity)[str(current[spec.key]).upper()] = merged
            return copy.deepcopy(merged)

    # --- rules ----------------------------------------------------------------------------------

    def _create_vendor(self, company: Company, body: dict[str, Any]) -> dict[str, Any]:
        _require_text(body, "VendorId", "vendor")
        _require_text(body, "Name", "vendor")
        if body["VendorId"].upper() in company.table("vendors"):
            raise GpFault(409, E_DUPLICATE_KEY, f"The vendor ID {body['VendorId']} already exists.")
        body.setdefault("IsActive", True)
        body.setdefault("IsOnHold", False)
        return body

    def _create_purchase_order(self, company: Company, body: dict[str, Any]) -> dict[str, Any]:
        self._require_work(body, "purchase order")
        key = body.get("PurchaseOrderId") or _next_number(company.table("purchaseOrders"), "PO", 2103)
        if str(key).upper() in company.table("purchaseOrders"):
            raise GpFault(409, E_DUPLICATE_KEY, f"The purchase order number {key} already exists.")
        body["PurchaseOrderId"] = key
        body.setdefault(paths.PO_STATUS_FIELD, "New")
        body.setdefault("Type", "Standard")
        body.setdefault("Date", self.clock().date().isoformat())
        return self._check_purchase_order(company, body)

    def _check_purchase_order(self, company: Company, po: dict[str, Any]) -> dict[str, Any]:
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
        _number_lines(lines)
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

    def _create_receipt(self, company: Company, body: dict[str, Any]) -> dict[str, Any]:
        self._require_work(body, "purchase receipt")
        key = body.get("ReceiptId") or _next_number(company.table("purchaseReceipts"), "RCT", 1001)
        if str(key).upper() in company.table("purchaseReceipts"):
            raise GpFault(409, E_DUPLICATE_KEY, f"The receipt number {key} already exists.")
        body["ReceiptId"] = key
        body.setdefault("ReceiptType", "Shipment")
        return self._check_receipt(company, body)

    def _check_receipt(self, company: Company, receipt: dict[str, Any]) -> dict[str, Any]:
        _check_date(receipt, paths.RECEIPT_DATE_FIELD, required=True)
        self._check_period(company, receipt[paths.RECEIPT_DATE_FIELD])
        lines = receipt.get(paths.LINES_KEY)
        if not isinstance(lines, list) or not lines:
            raise GpFault(400, E_BAD_BODY, "A receipt needs at least one line.")
        _number_lines(lines)
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

    def _check_period(self, company: Company, day: str) -> None:
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

    @staticmethod
    def _require_work(body: dict[str, Any], label: str) -> None:
        state = body.setdefault(paths.TRANSACTION_STATE_FIELD, paths.WORK_STATE)
        if state != paths.WORK_STATE:
            raise GpFault(400, E_DOCUMENT_NOT_WORK, f"A {label} can only be created in the Work state, not {state}.")

    def _find(self, company: Company, entity: str, key: str) -> dict[str, Any]:
        record = company.table(entity).get(key.upper())
        if record is None:
            spec = _spec(entity)
            raise GpFault(404, E_RECORD_NOT_FOUND, f"The {spec.label} '{key}' does not exist.")
        return record

    def _stamp(self) -> str:
        return paths.format_datetime(self.clock())


def _spec(entity: str) -> paths.Entity:
    return paths.ENTITIES[entity]


def _apply_filter(records: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    match = _FILTER_RE.match(text)
    if not match:
        raise GpFault(
            400,
            E_BAD_QUERY,
            f"The filter '{text}' is not supported; use {paths.MODIFIED_FIELD} gt|ge|lt|le|eq <date or datetime>.",
        )
    raw = match.group("value")
    try:
        value = datetime.fromisoformat(raw).replace(microsecond=0)
    except ValueError:
        raise GpFault(400, E_BAD_QUERY, f"The date '{raw}' in the filter is not valid.") from None
    limit = paths.format_datetime(value)
    compare: dict[str, Callable[[str], bool]] = {
        "gt": lambda v: v > limit,
        "ge": lambda v: v >= limit,
        "lt": lambda v: v < limit,
        "le": lambda v: v <= limit,
        "eq": lambda v: v == limit,
    }
    test = compare[match.group("op").lower()]
    return [r for r in records if test(str(r.get(paths.MODIFIED_FIELD, "")))]


def _int_option(query: dict[str, str], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name])
    except ValueError:
        value = -1
    if value < 0:
        raise GpFault(400, E_BAD_QUERY, f"The query option {name} must be a whole number, got '{query[name]}'.")
    return value


def _next_number(table: dict[str, dict[str, Any]], prefix: str, first: int) -> str:
    numbers = [int(k[len(prefix) :]) for k in table if k.startswith(prefix) and k[len(prefix) :].isdigit()]
    return f"{prefix}{max([first - 1, *numbers]) + 1}"


def _number_lines(lines: list[Any]) -> None:
    used = [line.get(paths.LINE_NUMBER_FIELD) for line in lines if isinstance(line, dict)]
    top = max([0, *(n for n in used if isinstance(n, int))])
    for line in lines:
        if not isinstance(line, dict):
            raise GpFault(400, E_BAD_BODY, "Every line must be a JSON object.")
        if not isinstance(line.get(paths.LINE_NUMBER_FIELD), int):
            top += paths.LINE_NUMBER_STEP
            line[paths.LINE_NUMBER_FIELD] = top


def _merge_lines(current: list[dict[str, Any]], changes: Any) -> list[dict[str, Any]]:
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
        line[paths.LINE_NUMBER_FIELD] = top
        lines.append(line)
    return lines


def _find_po_line(po: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
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


def _require_text(body: dict[str, Any], name: str, label: str) -> None:
    if not isinstance(body.get(name), str) or not body[name].strip():
        raise GpFault(400, E_BAD_BODY, f"A {label} needs {name}.")


def _positive(line: dict[str, Any], name: str, label: str) -> float:
    value = line.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise GpFault(400, E_INVALID_FIELD, f"The {label} {name} must be a number above zero, got {value!r}.")
    return float(value)


def _check_date(record: dict[str, Any], name: str, *, required: bool = False) -> None:
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
