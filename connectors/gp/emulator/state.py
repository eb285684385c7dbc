"""The GP emulator's in-memory world: companies with vendors, items, purchase orders,
purchase receipts and a fiscal calendar, plus the Windows accounts mapped to GP users.

Seeded from `seed/*.json` (company TWO, "Fabrikam, Inc.", per docs/demo-world.md). Lists are
filtered (`$filter=ModifiedDate gt ...`), ordered and paged here; GP's rules on records are in
`rules`. Every change stamps `ModifiedDate` from the injectable clock.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from connectors.gp import paths
from connectors.gp.emulator import rules
from connectors.gp.emulator.company import (
    E_BAD_BODY,
    E_BAD_QUERY,
    E_COMPANY_NOT_FOUND,
    E_DOCUMENT_CLOSED,
    E_DOCUMENT_NOT_WORK,
    E_INVALID_FIELD,
    E_METHOD,
    E_RECORD_NOT_FOUND,
    Company,
    GpFault,
)

SEED_COMPANY = "TWO"

_FILTER_RE = re.compile(
    rf"^\s*{paths.MODIFIED_FIELD}\s+(?P<op>gt|ge|lt|le|eq)\s+'?(?P<value>\d{{4}}-\d{{2}}-\d{{2}}(?:T[\d:.]+)?)Z?'?\s*$",
    re.IGNORECASE,
)
_ORDERBY_RE = re.compile(r"^\s*(?P<field>\w+)(?:\s+(?P<dir>asc|desc))?\s*$", re.IGNORECASE)


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
        """`DOMAIN\\user`."""
        return f"{self.domain}\\{self.user}"


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
        top = _int_option(query, paths.TOP_PARAM, paths.MAX_PAGE_SIZE)
        return records[skip : skip + min(top, paths.MAX_PAGE_SIZE)]

    def get(self, company: Company, entity: str, key: str) -> dict[str, Any]:
        """One record by key (any case), or a 404 GpFault."""
        with self.lock:
            return copy.deepcopy(self._find(company, entity, key))

    def create(self, company: Company, entity: str, body: Any) -> dict[str, Any]:
        """POST: the record as stored (keys assigned, lines numbered, dates stamped)."""
        if not isinstance(body, dict):
            raise GpFault(400, E_BAD_BODY, "The request body must be a JSON object.")
        with self.lock:
            body = copy.deepcopy(body)
            if entity == "vendors":
                record = rules.create_vendor(company, body)
            elif entity == "purchaseOrders":
                record = rules.create_purchase_order(company, body, self.clock().date())
            elif entity == "purchaseReceipts":
                record = rules.create_receipt(company, body)
            else:
                raise GpFault(405, E_METHOD, f"Creating {_spec(entity).label} records is not supported.")
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
                merged[paths.LINES_KEY] = rules.merge_lines(current.get(paths.LINES_KEY, []), lines)
            merged.pop(paths.CREATED_FIELD, None)
            if entity == "purchaseOrders":
                merged = rules.check_purchase_order(company, merged)
            elif entity == "purchaseReceipts":
                merged = rules.check_receipt(company, merged)
            else:
                rules.require_text(merged, "Name", "vendor")
            merged[paths.CREATED_FIELD] = current.get(paths.CREATED_FIELD)
            merged[paths.MODIFIED_FIELD] = self._stamp()
            company.table(entity)[str(current[spec.key]).upper()] = merged
            return copy.deepcopy(merged)

    # --- rules ----------------------------------------------------------------------------------

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
