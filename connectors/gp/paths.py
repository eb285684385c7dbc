"""Every assumed shape of the GP Service Based Architecture (SBA) API, in one module.

Only a few facts about SBA are confirmed in public sources (see
shared/reference/api-shapes.md section 3): the URL form
`https://host:port/GPService/Tenants(DefaultTenant)/Companies(<company>)/<Module>/<Resource>(<key>)`,
the verbs GET/POST/PATCH/DELETE, Windows (NTLM) or Basic authentication, and the GP business
objects with their `ModifiedDate` and `TransactionState` (Work / History). The resource paths
of purchase orders and receipts, the JSON field names, the list envelope, the query options
for filtering and paging, and the error body are **unconfirmed** ([U] below). They are all
here, and only here, so that the real shapes can be dropped in after checking them against a
live GP instance; the connector and the emulator both read them from this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# --- URLs -------------------------------------------------------------------------------------

SERVICE_ROOT = "/GPService"
"""[C] The SBA service root under the web site."""

DEFAULT_TENANT = "DefaultTenant"
"""[C] The tenant name of a single-tenant deployment."""

KEY_SAFE_CHARACTERS = ""
"""Characters left as they are when a company name or a key goes into `Name(...)`.

Public clients send `Tenants%28DefaultTenant%29` and `Companies(COMPA%C3%91IA%20DE%20PRUEBA)`,
so the server decodes percent-escapes inside the parentheses; escaping every reserved
character (`,`, `(`, `)`, `/`, `;`, ...) is therefore the safe choice. [I]"""

COMPOSITE_KEY_SEPARATOR = ";"
"""[C] Composite keys are `;`-separated inside the parentheses."""


def quote_key(value: str) -> str:
    """`value` percent-encoded (UTF-8) for use inside `Name(...)` in a URL path."""
    return quote(value, safe=KEY_SAFE_CHARACTERS)


def tenant_path(tenant: str = DEFAULT_TENANT) -> str:
    """`/GPService/Tenants(<tenant>)`: the base path every SBA resource lives under."""
    return f"{SERVICE_ROOT}/Tenants({quote_key(tenant)})"


def company_path(company: str, tenant: str = DEFAULT_TENANT) -> str:
    """`/GPService/Tenants(<tenant>)/Companies(<company>)`, the company URL-encoded.

    [C] the segment is the company *name* (e.g. "Fabrikam, Inc."); whether the SQL database
    id (e.g. `TWO`) is accepted too is [U]. The emulator accepts both.
    """
    return f"{tenant_path(tenant)}/Companies({quote_key(company)})"


@dataclass(frozen=True)
class Entity:
    """One entity set the connector exposes as a `RecordSystem` entity.

    `path` is relative to the company URL; `key` names the key field of a record; `stateful`
    entities carry a `TransactionState` and may only be written in the Work state;
    `writable` entities accept create/update through the connector.
    """

    name: str
    path: str
    key: str
    stateful: bool
    writable: bool
    label: str


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        # [I] from the documented RTM object list: Purchasing/Vendors, Inventory/Items.
        Entity("vendors", "Purchasing/Vendors", "VendorId", stateful=False, writable=True, label="vendor"),
        Entity("items", "Inventory/Items", "ItemId", stateful=False, writable=False, label="item"),
        # [U] POP purchase orders and receipts are not in the documented RTM list.
        Entity(
            "purchaseOrders",
            "Purchasing/PurchaseOrders",
            "PurchaseOrderId",
            stateful=True,
            writable=True,
            label="purchase order",
        ),
        Entity(
            "purchaseReceipts",
            "Purchasing/PurchaseReceipts",
            "ReceiptId",
            stateful=True,
            writable=True,
            label="purchase receipt",
        ),
        # [U] a read-only view of the fiscal calendar (the emulator serves it).
        Entity(
            "fiscalPeriods",
            "Financials/FiscalPeriods",
            "PeriodId",
            stateful=False,
            writable=False,
            label="fiscal period",
        ),
    )
}

COMPANIES_PATH = "Companies"
"""[C] The companies collection under the tenant."""


def record_path(entity: Entity, key: str) -> str:
    """`<Module>/<Resource>(<key>)` relative to the company URL, the key URL-encoded."""
    return f"{entity.path}({quote_key(key)})"


# --- Query options ----------------------------------------------------------------------------
# [U] No public evidence of OData query support in SBA; this OData-like form is an assumption.

FILTER_PARAM = "$filter"
ORDERBY_PARAM = "$orderby"
TOP_PARAM = "$top"
SKIP_PARAM = "$skip"
MAX_PAGE_SIZE = 1000
"""[U] The most records a list answers at once. The connector stops at the first short page,
so its page size must not exceed this (the configuration checks)."""
MODIFIED_FIELD = "ModifiedDate"
CREATED_FIELD = "CreatedDate"
MODIFIED_FILTER_OPERATOR = "gt"
ORDER_BY_MODIFIED = f"{MODIFIED_FIELD} asc"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""[U] GP stores dates without a zone; SBA datetimes are assumed naive UTC, to the second."""


def query_string(params: dict[str, str | int]) -> str:
    """`?$filter=ModifiedDate%20gt%20...&$top=100`: spaces as %20, never `+` (OData servers
    read `+` literally)."""
    if not params:
        return ""
    return "?" + "&".join(f"{quote(key, safe='$')}={quote(str(value), safe=':')}" for key, value in params.items())


def format_datetime(value: datetime) -> str:
    """A datetime as GP writes it: naive, UTC, to the second (aware values converted to UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime(DATETIME_FORMAT)


def modified_since_filter(since: datetime) -> str:
    """`ModifiedDate gt 2024-05-01T00:00:00`: the filter for records changed after `since`."""
    return f"{MODIFIED_FIELD} {MODIFIED_FILTER_OPERATOR} {format_datetime(since)}"


# --- Bodies -----------------------------------------------------------------------------------

LIST_ITEMS_KEY = "value"
"""[U] The key holding the records of a list response (a bare JSON array is accepted too)."""

LINES_KEY = "Lines"
"""[U] Document lines are carried inline in the document, under this key."""

LINE_NUMBER_FIELD = "LineNumber"
LINE_NUMBER_STEP = 16384
"""[C] GP numbers appended document lines 16384 apart (LNITMSEQ and the other sequence columns:
16384 x the line number; an inserted line takes the midpoint; docs/requests.md cites the
sources; that receipt lines step so too is [I]). Whether the SBA/eConnect API shows them as
`LineNumber` is [U]."""
LINE_NUMBER_MAX = 2_147_483_647
"""[C] Those line sequence numbers are Dexterity Long Integers (the receipt line's RCPTLNNM in
POP10310 is LI_Sequence_Number), so one document holds at most 131,071 lines appended in steps
(`LINE_NUMBER_MAX // LINE_NUMBER_STEP`). GP's message when a document outgrows it is [U]."""

TRANSACTION_STATE_FIELD = "TransactionState"
WORK_STATE = "Work"
"""[C] Work = unposted, editable. History (and Posted/Open for posted documents) are read-only."""
WRITABLE_STATES = frozenset({WORK_STATE})

PO_STATUS_FIELD = "Status"
PO_LINE_FIELDS = (
    "LineNumber",
    "ItemId",
    "ItemDescription",
    "VendorItemNumber",
    "QuantityOrdered",
    "QuantityCanceled",
    "UnitCost",
    "ExtendedCost",
    "UofM",
    "PromisedDate",
    "PromisedShipDate",
    "RequiredDate",
    "SiteId",
    "InventoryAccount",
)
"""[U] Purchase-order line fields; `InventoryAccount` carries the cost center / GL account."""

PO_FIELDS = (
    "PurchaseOrderId",
    "VendorId",
    "VendorName",
    "Type",
    "Date",
    "RequiredDate",
    "Status",
    "TransactionState",
    "BuyerId",
    "CurrencyId",
    "PaymentTermsId",
    "ShippingMethodId",
    "Subtotal",
    "CreatedDate",
    "ModifiedDate",
    "Lines",
)
"""[U] Purchase-order header fields (what `mlc validate` checks a GP 850 mapping's `doc.` against)."""

VENDOR_FIELDS = (
    "VendorId",
    "Name",
    "ShortName",
    "CheckName",
    "ClassId",
    "CurrencyId",
    "PaymentTermsId",
    "ShippingMethodId",
    "IsActive",
    "IsOnHold",
    "IsOneTime",
    "Address",
    "CreatedDate",
    "ModifiedDate",
)
"""[U] Vendor fields (the RTM Vendor object; `Address` is a nested object)."""

ITEM_FIELDS = (
    "ItemId",
    "Description",
    "ShortDescription",
    "ItemType",
    "ClassId",
    "UofMSchedule",
    "BaseUofM",
    "StandardCost",
    "CurrentCost",
    "InventoryAccount",
    "DefaultSiteId",
    "CreatedDate",
    "ModifiedDate",
)
"""[U] Item fields (the RTM Item object)."""

RECEIPT_LINE_FIELDS = (
    "LineNumber",
    "PurchaseOrderId",
    "PoLineNumber",
    "ItemId",
    "QuantityShipped",
    "UofM",
    "UnitCost",
    "SiteId",
)
"""[U] Purchase-receipt (shipment receipt) line fields."""

RECEIPT_DATE_FIELD = "ReceiptDate"
RECEIPT_PO_FIELD = "PurchaseOrderId"

FIELD_TYPES: dict[str, dict[str, str]] = {
    "purchaseOrders": {"Date": "date", "RequiredDate": "date"},
    "purchaseReceipts": {RECEIPT_DATE_FIELD: "date"},
}
"""[U] The types GP is assumed to require of a written body, per entity: only those the
emulator's rules check (a date `YYYY-MM-DD`; emulator/rules.py `_check_date`). The other
fields' types are not known, and no complete field list of a written receipt is either."""

LINE_FIELD_TYPES: dict[str, dict[str, str]] = {
    "purchaseOrders": {"QuantityOrdered": "decimal", "PromisedDate": "date", "PromisedShipDate": "date", "RequiredDate": "date"},
    "purchaseReceipts": {"QuantityShipped": "decimal"},
}
"""[U] The same for the lines (`_positive` checks a quantity is a number)."""

# --- Errors -----------------------------------------------------------------------------------

ERROR_CODE_KEY = "ErrorCode"
ERROR_MESSAGE_KEY = "Message"
ERROR_DETAILS_KEY = "Details"
"""[U] The error body: `{"ErrorCode": 4150, "Message": "...", "Details": ["..."]}`."""


def error_body(code: int | str, message: str, details: list[str] | None = None) -> dict[str, Any]:
    """A GP error body in the assumed shape (built by the emulator, read by the connector)."""
    return {ERROR_CODE_KEY: code, ERROR_MESSAGE_KEY: message, ERROR_DETAILS_KEY: list(details or [])}


def read_error_body(body: Any) -> tuple[str | None, str] | None:
    """(code, message) from a GP error body, or None when `body` is not one."""
    if not isinstance(body, dict) or ERROR_MESSAGE_KEY not in body:
        return None
    code = body.get(ERROR_CODE_KEY)
    message = str(body[ERROR_MESSAGE_KEY])
    details = body.get(ERROR_DETAILS_KEY)
    if isinstance(details, list) and details:
        message += " (" + "; ".join(str(d) for d in details) + ")"
    return (None if code is None else str(code)), message


# --- Authentication ---------------------------------------------------------------------------

AUTH_SCHEMES_NTLM = ("Negotiate", "NTLM")
"""[C] Windows accounts: NTLM, offered directly or through Negotiate."""
BASIC_REALM = "GPService"
"""[U] The realm a Basic challenge names."""
