"""The entity sets the Business Central emulator serves, as data: fields, defaults, rules.

Field lists follow the API v2.0 resource pages (reference section 1.2). Each field maps to
the value a new record gets when the payload leaves it out; `read_only` fields are computed
by the server and refused in POST and PATCH bodies. Internal bookkeeping (the `posted` flag
of invoices, the release state of documents, the ETag version) lives in keys starting with
`_`, which are never served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.bc import field_types

ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def _address(prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}AddressLine1": "",
        f"{prefix}AddressLine2": "",
        f"{prefix}City": "",
        f"{prefix}Country": "",
        f"{prefix}State": "",
        f"{prefix}PostCode": "",
    }


_TOTALS = {
    "discountAmount": 0.0,
    "discountAppliedBeforeTax": False,
    "totalAmountExcludingTax": 0.0,
    "totalTaxAmount": 0.0,
    "totalAmountIncludingTax": 0.0,
}
_COMMON_DOC = {
    "shortcutDimension1Code": "",
    "shortcutDimension2Code": "",
    "currencyId": ZERO_GUID,
    "currencyCode": "USD",
    "pricesIncludeTax": False,
    "paymentTermsId": ZERO_GUID,
    "shipmentMethodId": ZERO_GUID,
}
_SALES_PARTY = {
    "customerId": ZERO_GUID,
    "customerNumber": "",
    "customerName": "",
    "billToName": "",
    "billToCustomerId": ZERO_GUID,
    "billToCustomerNumber": "",
    "shipToName": "",
    "shipToContact": "",
    **_address("sellTo"),
    **_address("billTo"),
    **_address("shipTo"),
}

SALES_INVOICE = {
    "id": "",
    "number": "",
    "externalDocumentNumber": "",
    "invoiceDate": "",
    "postingDate": "",
    "dueDate": "",
    "customerPurchaseOrderReference": "",
    **_SALES_PARTY,
    **_COMMON_DOC,
    "orderId": ZERO_GUID,
    "orderNumber": "",
    "salesperson": "",
    "remainingAmount": 0.0,
    **_TOTALS,
    "status": "Draft",
    "lastModifiedDateTime": "",
    "phoneNumber": "",
    "email": "",
}
SALES_ORDER = {
    "id": "",
    "number": "",
    "externalDocumentNumber": "",
    "orderDate": "",
    "postingDate": "",
    **_SALES_PARTY,
    **_COMMON_DOC,
    "salesperson": "",
    "partialShipping": True,
    "requestedDeliveryDate": "",
    **_TOTALS,
    "fullyShipped": False,
    "status": "Draft",
    "lastModifiedDateTime": "",
    "phoneNumber": "",
    "email": "",
}
PURCHASE_ORDER = {
    "id": "",
    "number": "",
    "orderDate": "",
    "postingDate": "",
    "vendorId": ZERO_GUID,
    "vendorNumber": "",
    "vendorName": "",
    "payToName": "",
    "payToVendorId": ZERO_GUID,
    "payToVendorNumber": "",
    "shipToName": "",
    "shipToContact": "",
    **_address("buyFrom"),
    **_address("payTo"),
    **_address("shipTo"),
    **_COMMON_DOC,
    "purchaser": "",
    "requestedReceiptDate": "",
    **_TOTALS,
    "fullyReceived": False,
    "status": "Draft",
    "lastModifiedDateTime": "",
}

_LINE = {
    "id": "",
    "documentId": "",
    "sequence": 0,
    "itemId": ZERO_GUID,
    "accountId": ZERO_GUID,
    "lineType": "Item",
    "lineObjectNumber": "",
    "description": "",
    "description2": "",
    "unitOfMeasureId": ZERO_GUID,
    "unitOfMeasureCode": "",
    "quantity": 0,
}
_LINE_AMOUNTS = {
    "discountAmount": 0.0,
    "discountPercent": 0.0,
    "discountAppliedBeforeTax": False,
    "amountExcludingTax": 0.0,
    "taxCode": "",
    "taxPercent": 0.0,
    "totalTaxAmount": 0.0,
    "amountIncludingTax": 0.0,
    "invoiceDiscountAllocation": 0.0,
    "netAmount": 0.0,
    "netTaxAmount": 0.0,
    "netAmountIncludingTax": 0.0,
}
SALES_LINE = {
    **_LINE,
    "unitPrice": 0.0,
    **_LINE_AMOUNTS,
    "shipmentDate": "",
    "itemVariantId": ZERO_GUID,
    "locationId": ZERO_GUID,
}
SALES_ORDER_LINE = {
    **SALES_LINE,
    "shippedQuantity": 0,
    "invoicedQuantity": 0,
    "invoiceQuantity": 0,
    "shipQuantity": 0,
}
PURCHASE_LINE = {
    **_LINE,
    "directUnitCost": 0.0,
    **_LINE_AMOUNTS,
    "expectedReceiptDate": "",
    "itemVariantId": ZERO_GUID,
    "locationId": ZERO_GUID,
    "receivedQuantity": 0,
    "invoicedQuantity": 0,
    "invoiceQuantity": 0,
    "receiveQuantity": 0,
}

CUSTOMER = {
    "id": "",
    "number": "",
    "displayName": "",
    "type": "Company",
    "addressLine1": "",
    "addressLine2": "",
    "city": "",
    "state": "",
    "country": "US",
    "postalCode": "",
    "phoneNumber": "",
    "email": "",
    "website": "",
    "salespersonCode": "",
    "balanceDue": 0.0,
    "creditLimit": 0.0,
    "taxLiable": True,
    "taxAreaId": ZERO_GUID,
    "taxAreaDisplayName": "",
    "taxRegistrationNumber": "",
    "currencyId": ZERO_GUID,
    "currencyCode": "USD",
    "paymentTermsId": ZERO_GUID,
    "shipmentMethodId": ZERO_GUID,
    "paymentMethodId": ZERO_GUID,
    "blocked": " ",
    "lastModifiedDateTime": "",
}
ITEM = {
    "id": "",
    "number": "",
    "displayName": "",
    "displayName2": "",
    "type": "Inventory",
    "itemCategoryId": ZERO_GUID,
    "itemCategoryCode": "",
    "blocked": False,
    "gtin": "",
    "inventory": 0,
    "unitPrice": 0.0,
    "priceIncludesTax": False,
    "unitCost": 0.0,
    "taxGroupId": ZERO_GUID,
    "taxGroupCode": "",
    "baseUnitOfMeasureId": ZERO_GUID,
    "baseUnitOfMeasureCode": "PCS",
    "generalProductPostingGroupId": ZERO_GUID,
    "generalProductPostingGroupCode": "",
    "inventoryPostingGroupId": ZERO_GUID,
    "inventoryPostingGroupCode": "",
    "lastModifiedDateTime": "",
}
VENDOR = {
    "id": "",
    "number": "",
    "displayName": "",
    "addressLine1": "",
    "addressLine2": "",
    "city": "",
    "state": "",
    "country": "US",
    "postalCode": "",
    "phoneNumber": "",
    "email": "",
    "website": "",
    "taxRegistrationNumber": "",
    "currencyId": ZERO_GUID,
    "currencyCode": "USD",
    "irs1099Code": "",
    "paymentTermsId": ZERO_GUID,
    "paymentMethodId": ZERO_GUID,
    "taxLiable": False,
    "blocked": " ",
    "balance": 0.0,
    "lastModifiedDateTime": "",
}

_DOC_READ_ONLY = frozenset(
    {
        "id",
        "status",
        "lastModifiedDateTime",
        "remainingAmount",
        "totalAmountExcludingTax",
        "totalTaxAmount",
        "totalAmountIncludingTax",
        "orderId",
        "orderNumber",
        "fullyShipped",
        "fullyReceived",
    }
)
_LINE_READ_ONLY = frozenset(
    {
        "id",
        "documentId",
        "amountExcludingTax",
        "taxPercent",
        "totalTaxAmount",
        "amountIncludingTax",
        "invoiceDiscountAllocation",
        "netAmount",
        "netTaxAmount",
        "netAmountIncludingTax",
        "shippedQuantity",
        "invoicedQuantity",
        "receivedQuantity",
    }
)
_MASTER_READ_ONLY = frozenset({"id", "lastModifiedDateTime", "balanceDue", "balance", "inventory"})


@dataclass(frozen=True)
class EntitySet:
    """One company-scoped entity set: its fields, lines, party and number series."""

    name: str
    type_name: str
    fields: dict[str, Any]
    read_only: frozenset[str]
    series: str
    lines: str | None = None
    line_type_name: str | None = None
    line_fields: dict[str, Any] | None = None
    party: str | None = None
    price_field: str = "unitPrice"
    webhooks: bool = True


ENTITY_SETS: dict[str, EntitySet] = {
    s.name: s
    for s in (
        EntitySet(
            "salesInvoices",
            "salesInvoice",
            SALES_INVOICE,
            _DOC_READ_ONLY,
            "salesInvoiceDraft",
            "salesInvoiceLines",
            "salesInvoiceLine",
            SALES_LINE,
            "customers",
        ),
        EntitySet(
            "salesOrders",
            "salesOrder",
            SALES_ORDER,
            _DOC_READ_ONLY,
            "salesOrder",
            "salesOrderLines",
            "salesOrderLine",
            SALES_ORDER_LINE,
            "customers",
        ),
        EntitySet(
            "purchaseOrders",
            "purchaseOrder",
            PURCHASE_ORDER,
            _DOC_READ_ONLY,
            "purchaseOrder",
            "purchaseOrderLines",
            "purchaseOrderLine",
            PURCHASE_LINE,
            "vendors",
            price_field="directUnitCost",
            webhooks=False,
        ),
        EntitySet("customers", "customer", CUSTOMER, _MASTER_READ_ONLY, "customer"),
        EntitySet("items", "item", ITEM, _MASTER_READ_ONLY, "item"),
        EntitySet("vendors", "vendor", VENDOR, _MASTER_READ_ONLY, "vendor"),
    )
}
LINE_SETS: dict[str, EntitySet] = {s.lines: s for s in ENTITY_SETS.values() if s.lines}
"""Flat line sets (`companies({cid})/salesInvoiceLines({id})`) by name, to their document set."""
LINE_READ_ONLY = _LINE_READ_ONLY
LINE_TYPES = field_types.LINE_TYPES

UNPOSTED_STATUS = {"Pending Approval": "In Review", "Released": "Open", "Pending Prepayment": "Open"}
"""Sales Header status -> API status; anything else is "Draft" (Sales Invoice Aggregator)."""
POSTED_STATUS = {"Cancelled": "Canceled", "Corrective": "Corrective", "Closed": "Paid"}
"""Posted invoice state -> API status; anything else is "Open"."""


def derive_status(record: dict[str, Any]) -> str:
    """The API `status` from the internal flags, as codeunit 5477 does it."""
    if record.get("_posted"):
        return POSTED_STATUS.get(str(record.get("_postedState", "")), "Open")
    return UNPOSTED_STATUS.get(str(record.get("_release", "Open")), "Draft")
