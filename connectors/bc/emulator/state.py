"""The in-memory state of the Business Central and Entra emulators, and its test-facing API.

One `BcEmulatorState` holds everything both emulated services share: the seeded company and
its entity sets, the tokens the Entra app issued (which the BC app accepts), webhook
subscriptions and pending notifications, the fault plans, and an injectable clock. The
ASGI apps (`entra.py`, `api.py`) only translate HTTP to calls on this object; tests call the
same object directly to change records behind the connector's back, post invoices, expire
tokens or move the clock. `shared_state()` is the process-wide one both apps use when they are
built without a state (the plugins, `mlc emulate`).

All access goes through one re-entrant lock: the apps run in uvicorn's thread, tests in theirs.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from connectors.bc.emulator import documents
from connectors.bc.emulator.notifications import Notifier
from connectors.bc.emulator.odata import ODataError, bad_request, format_datetime
from connectors.bc.emulator.schema import ENTITY_SETS, LINE_SETS, EntitySet
from connectors.common import FaultPlan

DEMO_CLIENT_ID = "mlc-demo-client"
DEMO_CLIENT_SECRET = "demo-bc-secret"
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"


@dataclass
class EmulatorConfig:
    """Knobs of the emulators; the defaults are the demo world's and BC's documented limits.

    `notification_window` is BC's 30-second batching wait, kept short here;
    `collection_threshold` is how many changed records in one window turn the notifications
    into one `collection` notification (BC: 1,000).
    """

    tenant: str = "cronus.example"
    environment: str = "production"
    clients: dict[str, str] = field(default_factory=lambda: {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET})
    scope: str = BC_SCOPE
    token_lifetime: int = 3599
    max_page_size: int = 20000
    notification_window: float = 2.0
    collection_threshold: int = 1000
    subscription_lifetime: timedelta = timedelta(days=3)
    max_subscriptions: int = 200
    notification_retry_delay: timedelta = timedelta(seconds=30)
    notification_retry_for: timedelta = timedelta(hours=36)
    http_timeout: float = 5.0
    seed_dir: Path | None = None
    allow_loopback_http: bool = False
    """Accept http notification URLs on a loopback host (BC wants https): for tests and the
    demo, whose webhook server listens on plain http on 127.0.0.1."""


class Clock:
    """The emulators' notion of now: real UTC time, or a frozen instant tests move."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen = start
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The current instant (aware, UTC)."""
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            return base + self._offset

    def set(self, moment: datetime) -> None:
        """Freeze the clock at `moment`."""
        with self._lock:
            self._frozen = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            self._offset = timedelta(0)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (frozen or not)."""
        with self._lock:
            self._offset += delta


@dataclass
class IssuedToken:
    """An access token the Entra emulator handed out."""

    token: str
    client_id: str
    tenant: str
    expires: datetime


def _next_in_series(value: str) -> str:
    match = re.search(r"(\d+)(?!.*\d)", value)
    if match is None:
        return value + "1"
    digits = match.group(1)
    return value[: match.start()] + str(int(digits) + 1).zfill(len(digits)) + value[match.end() :]


class BcEmulatorState:
    """Everything the Entra and BC emulators share (see the module docstring).

    `auto_deliver` starts a daemon thread that sends due webhook notifications; without it,
    tests call `deliver_pending()`. `http_transport` carries the emulator's own outgoing calls
    (validation handshakes, notifications).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        seed: bool = True,
        auto_deliver: bool = False,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.bc_faults = FaultPlan()
        self.entra_faults = FaultPlan()
        self.tokens: dict[str, IssuedToken] = {}
        self.token_requests = 0
        self.company: dict[str, Any] = {}
        self.company_info: dict[str, str] = {}
        self.payment_terms: dict[str, int] = {}
        self.tax_areas: dict[str, Decimal] = {}
        self.tax_groups: dict[str, bool] = {}
        self.series: dict[str, str] = {}
        self.sets: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITY_SETS}
        self._version = 0
        self.notifier = Notifier(self, transport=http_transport)
        if seed:
            self.load_seed(self.config.seed_dir)
        if auto_deliver:
            self.notifier.start()

    # -- seed -------------------------------------------------------------------------------

    def load_seed(self, directory: Path | None = None) -> None:
        """Load the demo world (docs/demo-world.md) from the seed JSON files."""
        base: Any = directory if directory is not None else resources.files("connectors.bc.emulator.seed")

        def read(name: str) -> Any:
            return json.loads((base / name).read_text(encoding="utf-8"))

        company = read("company.json")
        with self.lock:
            self.company = company["company"]
            self.company_info = company["companyInformation"]
            self.payment_terms = {t["id"]: int(t["dueDays"]) for t in company["paymentTerms"]}
            self.tax_areas = {k: Decimal(str(v)) for k, v in company["taxAreas"].items()}
            self.tax_groups = dict(company["taxGroups"])
            self.series = dict(company["numberSeries"])
            for name in ("customers", "vendors", "items"):
                es = ENTITY_SETS[name]
                for record in read(f"{name}.json"):
                    self._store(es, {**es.fields, **record}, stamp=False)
            for name in ("salesInvoices", "salesOrders", "purchaseOrders"):
                for seed_doc in read(f"{name}.json"):
                    self._load_document(ENTITY_SETS[name], seed_doc)

    def _load_document(self, es: EntitySet, seed_doc: dict[str, Any]) -> None:
        assert es.lines is not None
        payload = {k: v for k, v in seed_doc.items() if not k.startswith("_")}
        internal = {k: v for k, v in seed_doc.items() if k.startswith("_")}
        doc_id, number, modified = payload.pop("id"), payload.pop("number"), payload.pop("lastModifiedDateTime")
        seed_lines = sorted(payload.pop(es.lines), key=lambda line: int(line["sequence"]))
        payload[es.lines] = [{k: v for k, v in line.items() if k != "id"} for line in seed_lines]
        doc = documents.build_document(es, payload, self)
        doc.update(id=doc_id, number=number, lastModifiedDateTime=modified, **internal)
        for line, seed_line in zip(doc[es.lines], seed_lines, strict=True):
            line.update(id=seed_line["id"], documentId=doc_id, _version=self._bump())
        documents.recalculate(es, doc, self)
        self._store(es, doc, stamp=False)

    # -- Catalog (what documents.py needs) ----------------------------------------------------

    def lookup(self, entity: str, key: str) -> dict[str, Any] | None:
        """A stored record by id (any case) or number."""
        records = self.sets[entity]
        found = records.get(key.lower())
        if found is not None:
            return found
        for record in records.values():
            if record.get("number") == key:
                return record
        return None

    def tax_percent(self, customer: dict[str, Any], item: dict[str, Any] | None) -> Decimal:
        """The customer's tax-area rate when the customer and the item's tax group are taxable."""
        if not customer.get("taxLiable") or item is None or not self.tax_groups.get(str(item.get("taxGroupCode"))):
            return Decimal(0)
        return self.tax_areas.get(str(customer.get("taxAreaDisplayName")), Decimal(0))

    def due_days(self, payment_terms_id: str) -> int:
        """Days of the payment terms (30 when unknown)."""
        return self.payment_terms.get(payment_terms_id, 30)

    def today(self) -> date:
        """The emulator's current date (UTC)."""
        return self.clock.now().date()

    def new_id(self) -> str:
        """A fresh GUID."""
        return str(uuid.uuid4())

    @property
    def company_address(self) -> dict[str, str]:
        """Our company's name and address."""
        return self.company_info

    # -- records ------------------------------------------------------------------------------

    def _bump(self) -> int:
        self._version += 1
        return self._version

    def _store(self, es: EntitySet, record: dict[str, Any], *, stamp: bool = True) -> None:
        record["id"] = str(record["id"]).lower()
        record["_version"] = self._bump()
        if stamp:
            record["lastModifiedDateTime"] = format_datetime(self.clock.now())
        self.sets[es.name][record["id"]] = record

    def _touch(self, es: EntitySet, record: dict[str, Any], change: str) -> None:
        record["_version"] = self._bump()
        now = self.clock.now()  # one reading: the record and its notification carry the same moment
        record["lastModifiedDateTime"] = format_datetime(now)
        self.notifier.record_change(es.name, record["id"], change, now)

    def _take_number(self, series: str, entity: str) -> str:
        number = self.series[series]
        while self.lookup(entity, number) is not None:
            number = _next_in_series(number)
        self.series[series] = _next_in_series(number)
        return number

    def entity_set(self, name: str) -> EntitySet:
        """The definition of an entity set; 404 for an unknown one."""
        es = ENTITY_SETS.get(name)
        if es is None:
            raise ODataError(404, "BadRequest_NotFound", f"The entity set '{name}' is not part of API v2.0 here.")
        return es

    def require(self, es: EntitySet, key: str) -> dict[str, Any]:
        """The record `key` (id or number) of `es`; 404 Internal_RecordNotFound otherwise."""
        record = self.lookup(es.name, key)
        if record is None:
            raise ODataError(
                404,
                "Internal_RecordNotFound",
                f"The {es.type_name} does not exist. Identification fields and values: Id='{key}'",
            )
        return record

    def check_etag(self, record: dict[str, Any], if_match: str | None) -> None:
        """400 without If-Match, 409 when it is not the record's current ETag."""
        if not if_match:
            raise ODataError(
                400,
                "BadRequest_InvalidToken",
                "Could not validate the client concurrency token required by the service. "
                "Please provide a valid token in the client request.",
            )
        if if_match.strip() != "*" and if_match.strip() != documents.etag(record):
            raise ODataError(409, "Request_EntityChanged", "Another user has already changed the record.")

    def create(self, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST: store a new record (documents with their lines); return the stored record."""
        es = self.entity_set(entity)
        if not isinstance(payload, dict):
            raise bad_request("The request body must be a JSON object.")
        with self.lock:
            number = payload.get("number")
            if es.lines:
                record = documents.build_document(es, payload, self)
            else:
                record = documents.build_master(es, payload)
                record["id"] = self.new_id()
            if number:
                if self.lookup(entity, str(number)) is not None:
                    raise ODataError(
                        400,
                        "Internal_EntityWithSameKeyExists",
                        f"The record in table {es.type_name} already exists. "
                        f"Identification fields and values: No.='{number}'",
                    )
            else:
                record["number"] = self._take_number(es.series, entity)
            for line in record.get(es.lines or "", []):
                line["_version"] = self._bump()
            self._store(es, record)
            self.notifier.record_change(es.name, record["id"], "created", self.clock.now())
            return record

    def patch(self, entity: str, key: str, changes: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        """PATCH a header or master record (If-Match required)."""
        es = self.entity_set(entity)
        if not isinstance(changes, dict):
            raise bad_request("The request body must be a JSON object.")
        with self.lock:
            record = self.require(es, key)
            self.check_etag(record, if_match)
            if es.lines:
                documents.check_modifiable(es, record)
                if es.lines in changes:
                    raise bad_request(f"'{es.lines}' cannot be changed with the header; PATCH the lines themselves.")
            documents.check_properties(es.fields, es.read_only | {"number"}, changes, es.type_name, allow=())
            record.update({k: v for k, v in changes.items() if not k.startswith("@odata.")})
            if es.lines:
                party = "customer" if es.party == "customers" else "vendor"
                if f"{party}Id" in changes or f"{party}Number" in changes:
                    documents.fill_party(es, record, changes, self)
                documents.recalculate(es, record, self)
            self._touch(es, record, "updated")
            return record

    def delete(self, entity: str, key: str, if_match: str | None) -> None:
        """DELETE a record (If-Match checked when given); posted invoices cannot be deleted."""
        es = self.entity_set(entity)
        with self.lock:
            record = self.require(es, key)
            if if_match:
                self.check_etag(record, if_match)
            if record.get("_posted"):
                raise bad_request("You cannot delete a posted invoice.", "Application_DialogException")
            del self.sets[es.name][record["id"]]
            self.notifier.record_change(es.name, record["id"], "deleted", self.clock.now())

    def find_line(self, line_set: str, line_id: str) -> tuple[EntitySet, dict[str, Any], dict[str, Any]]:
        """(document set, document, line) of a line by id; 404 otherwise."""
        es = LINE_SETS[line_set]
        assert es.lines is not None
        for doc in self.sets[es.name].values():
            for line in doc[es.lines]:
                if line["id"] == line_id.lower():
                    return es, doc, line
        raise ODataError(
            404,
            "Internal_RecordNotFound",
            f"The {es.line_type_name} does not exist. Identification fields and values: Id='{line_id}'",
        )

    def add_line(self, entity: str, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a line to an existing document."""
        es = self.entity_set(entity)
        with self.lock:
            doc = self.require(es, key)
            documents.check_modifiable(es, doc)
            documents.check_status_open(es, doc)
            line = documents.add_line(es, doc, payload, self)
            line["_version"] = self._bump()
            documents.recalculate(es, doc, self)
            self._touch(es, doc, "updated")
            return line

    def patch_line(self, line_set: str, line_id: str, changes: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        """PATCH a line (If-Match against the line's ETag); the document is touched too."""
        with self.lock:
            es, doc, line = self.find_line(line_set, line_id)
            self.check_etag(line, if_match)
            documents.check_modifiable(es, doc)
            if isinstance(changes, dict):
                documents.check_status_open(es, doc, {k for k in changes if not k.startswith("@odata.")})
            documents.update_line(es, doc, line, changes, self)
            line["_version"] = self._bump()
            documents.recalculate(es, doc, self)
            self._touch(es, doc, "updated")
            return line

    def delete_line(self, line_set: str, line_id: str, if_match: str | None) -> None:
        """DELETE a line; the document is touched."""
        with self.lock:
            es, doc, line = self.find_line(line_set, line_id)
            assert es.lines is not None
            if if_match:
                self.check_etag(line, if_match)
            documents.check_modifiable(es, doc)
            documents.check_status_open(es, doc)
            doc[es.lines].remove(line)
            documents.recalculate(es, doc, self)
            self._touch(es, doc, "updated")

    def post(self, key: str) -> dict[str, Any]:
        """The bound action Microsoft.NAV.post: the draft becomes a posted invoice.

        The id stays, the number comes from the posted-invoice series, status becomes Open.
        """
        es = ENTITY_SETS["salesInvoices"]
        with self.lock:
            doc = self.require(es, key)
            if doc.get("_posted"):
                raise bad_request("The invoice has already been posted.", "Application_DialogException")
            if not any(line.get("lineType") != "Comment" and line.get("quantity") for line in doc["salesInvoiceLines"]):
                raise bad_request("There is nothing to post.", "Application_DialogException")
            doc["_posted"] = True
            doc["_postedState"] = "Open"
            doc["number"] = self._take_number("salesInvoicePosted", "salesInvoices")
            if not doc.get("postingDate"):
                doc["postingDate"] = self.today().isoformat()
            documents.recalculate(es, doc, self)
            self._touch(es, doc, "updated")
            return doc

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, client_id: str, tenant: str) -> IssuedToken:
        """Register and return a new access token (the Entra app calls this)."""
        with self.lock:
            token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(48)
            expires = self.clock.now() + timedelta(seconds=self.config.token_lifetime)
            issued = IssuedToken(token, client_id, tenant, expires)
            self.tokens[token] = issued
            self.token_requests += 1
            return issued

    def token_valid(self, token: str, tenant: str) -> bool:
        """Whether `token` was issued for `tenant` and has not expired."""
        with self.lock:
            issued = self.tokens.get(token)
            return issued is not None and issued.tenant == tenant and self.clock.now() < issued.expires

    # -- test-facing API ----------------------------------------------------------------------

    def add_record(self, entity: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a record as a BC user would (same rules as POST); return its JSON view."""
        record = self.create(entity, fields)
        return self.view(entity, record["id"])

    def modify_record(self, entity: str, key: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a record behind the API's back: no ETag check, any field (internal `_` ones too).

        The record gets a new ETag and lastModifiedDateTime, and a webhook change is recorded.
        """
        es = self.entity_set(entity)
        with self.lock:
            record = self.require(es, key)
            record.update(changes)
            if es.lines:
                documents.recalculate(es, record, self)
            self._touch(es, record, "updated")
            return self.view(entity, record["id"])

    def set_document_status(self, entity: str, key: str, status: str) -> dict[str, Any]:
        """Reopen or release a document as a BC user does in the client (Reopen / Release
        actions of the order page); return its JSON view.

        `status` is BC's header Status: "Open" (editable; the API shows "Draft"), "Released"
        (the API shows "Open"), "Pending Approval" ("In Review") or "Pending Prepayment". API
        v2.0 has no bound action for this on purchaseOrders (only Microsoft.NAV.receiveAndInvoice)
        nor on salesOrders (only Microsoft.NAV.shipAndInvoice), so it is not served over HTTP.
        """
        if status not in ("Open", "Released", "Pending Approval", "Pending Prepayment"):
            raise ValueError(f"unknown document status {status!r}")
        es = self.entity_set(entity)
        if es.name not in documents.HEADER_TABLES:
            raise ValueError(f"{entity} has no release status")
        with self.lock:
            record = self.require(es, key)
            documents.check_modifiable(es, record)
            record["_release"] = status
            self._touch(es, record, "updated")
            return self.view(entity, record["id"])

    def reopen(self, entity: str, key: str) -> dict[str, Any]:
        """The Reopen action: the document's Status becomes Open (`set_document_status`)."""
        return self.set_document_status(entity, key, "Open")

    def release(self, entity: str, key: str) -> dict[str, Any]:
        """The Release action: the document's Status becomes Released (`set_document_status`)."""
        return self.set_document_status(entity, key, "Released")

    def post_invoice(self, key: str) -> dict[str, Any]:
        """Post a draft sales invoice (as the Post action does); return its JSON view."""
        return self.view("salesInvoices", self.post(key)["id"])

    def delete_record(self, entity: str, key: str) -> None:
        """Delete a record (no ETag check)."""
        self.delete(entity, key, None)

    def view(self, entity: str, key: str) -> dict[str, Any]:
        """A record as the API serves it, lines expanded."""
        es = self.entity_set(entity)
        with self.lock:
            return documents.public(es, self.require(es, key), expand=True)

    def records(self, entity: str) -> list[dict[str, Any]]:
        """Every record of an entity set as served, lines expanded."""
        es = self.entity_set(entity)
        with self.lock:
            return [documents.public(es, record, expand=True) for record in self.sets[entity].values()]

    def expire_all_tokens(self) -> None:
        """Make every issued token expired (the next BC request answers 401)."""
        with self.lock:
            past = self.clock.now() - timedelta(seconds=1)
            for issued in self.tokens.values():
                issued.expires = past

    def set_clock(self, moment: datetime) -> None:
        """Freeze the emulator clock at `moment`."""
        self.clock.set(moment)

    def advance_clock(self, delta: timedelta) -> None:
        """Move the emulator clock forward."""
        self.clock.advance(delta)

    def deliver_pending(self, *, force: bool = False) -> int:
        """Send due webhook notifications now (all pending ones with `force`); return POSTs sent."""
        return self.notifier.deliver_pending(force=force)

    def close(self) -> None:
        """Stop the background delivery thread, if any."""
        self.notifier.stop()


_shared: BcEmulatorState | None = None
_shared_lock = threading.Lock()


def shared_state() -> BcEmulatorState:
    """The process-wide emulator state both plugin builders use (created, seeded, on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            # The demo's and `mlc emulate`'s world: its webhook server is plain http on loopback.
            _shared = BcEmulatorState(EmulatorConfig(allow_loopback_http=True), auto_deliver=True)
        return _shared


def reset_shared_state() -> None:
    """Forget the process-wide state (its delivery thread stops); the next use starts afresh."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
        _shared = None
