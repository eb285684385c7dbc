"""The types of Business Central API v2.0 fields, as the resource pages give them.

Each entity set's fields by the Type column of its page under
`dev-itpro/api-reference/v2.0/resources/` (MicrosoftDocs/dynamics365smb-devitpro-pb): `GUID`,
`string`, `date` (Edm.Date, `YYYY-MM-DD`), `datetime` (Edm.DateTimeOffset), `decimal`,
`integer`, `boolean`, and the enums `NAV.<name>`. The pages give no maximum lengths, so none is
stated here. The values of an enum are stated only where a source gives them: the line type
(api-shapes: `Comment`, `Account`, `Item`, `Resource`, `Value` [U], `Fixed Asset`, `Charge`);
other enums are checked as text.

`engine` reads these through the plugin's `payload_shape` (`connectors.bc.entity_shape`) to
check an inbound mapping's payload before it is sent.
"""

from __future__ import annotations

__all__ = ["ENUM_VALUES", "LINE_FIELD_TYPES", "LINE_TYPES", "TYPES"]

LINE_TYPES = ("Comment", "Account", "Item", "Resource", "Value", "Fixed Asset", "Charge")
"""`lineType` of document lines (NAV.invoiceLineAggLineType)."""

ENUM_VALUES: dict[str, tuple[str, ...]] = {"NAV.invoiceLineAggLineType": LINE_TYPES}


def _types(groups: dict[str, str]) -> dict[str, str]:
    """{type: "field field ..."} -> {field: type}."""
    return {name: kind for kind, names in groups.items() for name in names.split()}


SALES_INVOICE = _types(  # resources/dynamics_salesinvoice.md
    {
        "GUID": (
            "id customerId billToCustomerId currencyId orderId paymentTermsId shipmentMethodId "
            "disputeStatusId"
        ),
        "boolean": "pricesIncludeTax discountAppliedBeforeTax",
        "date": "invoiceDate postingDate dueDate promisedPayDate",
        "datetime": "lastModifiedDateTime",
        "decimal": "remainingAmount discountAmount totalAmountExcludingTax totalTaxAmount totalAmountIncludingTax",
        "string": (
            "number externalDocumentNumber customerPurchaseOrderReference customerNumber customerName "
            "billToName billToCustomerNumber shipToName shipToContact sellToAddressLine1 sellToAddressLine2 "
            "sellToCity sellToCountry sellToState sellToPostCode billToAddressLine1 billToAddressLine2 "
            "billToCity billToCountry billToState billToPostCode shipToAddressLine1 shipToAddressLine2 "
            "shipToCity shipToCountry shipToState shipToPostCode shortcutDimension1Code "
            "shortcutDimension2Code currencyCode orderNumber salesperson disputeStatus phoneNumber email"
        ),
        "NAV.invoiceEntityAggregateStatus": "status",
    }
)
SALES_INVOICE_LINE = _types(  # resources/dynamics_salesinvoiceline.md
    {
        "GUID": "id documentId itemId accountId unitOfMeasureId itemVariantId locationId",
        "boolean": "discountAppliedBeforeTax",
        "date": "shipmentDate",
        "decimal": (
            "quantity unitPrice discountAmount discountPercent amountExcludingTax taxPercent totalTaxAmount "
            "amountIncludingTax invoiceDiscountAllocation netAmount netTaxAmount netAmountIncludingTax"
        ),
        "integer": "sequence",
        "string": "lineObjectNumber description description2 unitOfMeasureCode taxCode",
        "NAV.invoiceLineAggLineType": "lineType",
    }
)
SALES_ORDER = _types(  # resources/dynamics_salesorder.md
    {
        "GUID": "id customerId billToCustomerId currencyId paymentTermsId shipmentMethodId",
        "boolean": "pricesIncludeTax partialShipping discountAppliedBeforeTax fullyShipped",
        "date": "orderDate postingDate requestedDeliveryDate",
        "datetime": "lastModifiedDateTime",
        "decimal": "discountAmount totalAmountExcludingTax totalTaxAmount totalAmountIncludingTax",
        "string": (
            "number externalDocumentNumber customerNumber customerName billToName billToCustomerNumber "
            "shipToName shipToContact sellToAddressLine1 sellToAddressLine2 sellToCity sellToCountry "
            "sellToState sellToPostCode billToAddressLine1 billToAddressLine2 billToCity billToCountry "
            "billToState billToPostCode shipToAddressLine1 shipToAddressLine2 shipToCity shipToCountry "
            "shipToState shipToPostCode shortcutDimension1Code shortcutDimension2Code currencyCode "
            "salesperson phoneNumber email"
        ),
        "NAV.salesOrderEntityBufferStatus": "status",
    }
)
SALES_ORDER_LINE = _types(  # resources/dynamics_salesorderline.md
    {
        "GUID": "id documentId itemId accountId unitOfMeasureId itemVariantId locationId",
        "boolean": "discountAppliedBeforeTax",
        "date": "shipmentDate",
        "decimal": (
            "quantity unitPrice discountAmount discountPercent amountExcludingTax taxPercent totalTaxAmount "
            "amountIncludingTax invoiceDiscountAllocation netAmount netTaxAmount netAmountIncludingTax "
            "shippedQuantity invoicedQuantity invoiceQuantity shipQuantity"
        ),
        "integer": "sequence",
        "string": "lineObjectNumber description description2 unitOfMeasureCode taxCode",
        "NAV.invoiceLineAggLineType": "lineType",
    }
)
PURCHASE_ORDER = _types(  # resources/dynamics_purchaseorder.md
    {
        "GUID": "id vendorId payToVendorId currencyId paymentTermsId shipmentMethodId",
        "boolean": "pricesIncludeTax discountAppliedBeforeTax fullyReceived",
        "date": "orderDate postingDate requestedReceiptDate",
        "datetime": "lastModifiedDateTime",
        "decimal": "discountAmount totalAmountExcludingTax totalTaxAmount totalAmountIncludingTax",
        "string": (
            "number vendorNumber vendorName payToName payToVendorNumber shipToName shipToContact "
            "buyFromAddressLine1 buyFromAddressLine2 buyFromCity buyFromCountry buyFromState buyFromPostCode "
            "payToAddressLine1 payToAddressLine2 payToCity payToCountry payToState payToPostCode "
            "shipToAddressLine1 shipToAddressLine2 shipToCity shipToCountry shipToState shipToPostCode "
            "shortcutDimension1Code shortcutDimension2Code currencyCode purchaser"
        ),
        "NAV.purchaseOrderEntityBufferStatus": "status",
    }
)
PURCHASE_ORDER_LINE = _types(  # resources/dynamics_purchaseorderline.md
    {
        "GUID": "id documentId itemId accountId unitOfMeasureId itemVariantId locationId",
        "boolean": "discountAppliedBeforeTax",
        "date": "expectedReceiptDate",
        "decimal": (
            "quantity directUnitCost discountAmount discountPercent amountExcludingTax taxPercent "
            "totalTaxAmount amountIncludingTax invoiceDiscountAllocation netAmount netTaxAmount "
            "netAmountIncludingTax receivedQuantity invoicedQuantity invoiceQuantity receiveQuantity"
        ),
        "integer": "sequence",
        "string": "lineObjectNumber description description2 unitOfMeasureCode taxCode",
        "NAV.invoiceLineAggLineType": "lineType",
    }
)
CUSTOMER = _types(  # resources/dynamics_customer.md
    {
        "GUID": "id taxAreaId currencyId paymentTermsId shipmentMethodId paymentMethodId",
        "boolean": "taxLiable",
        "datetime": "lastModifiedDateTime",
        "decimal": "balanceDue creditLimit",
        "string": (
            "number displayName addressLine1 addressLine2 city state country postalCode phoneNumber email "
            "website salespersonCode taxAreaDisplayName taxRegistrationNumber currencyCode"
        ),
        "NAV.contactType": "type",
        "NAV.customerBlocked": "blocked",
    }
)
ITEM = _types(  # resources/dynamics_item.md
    {
        "GUID": (
            "id itemCategoryId taxGroupId baseUnitOfMeasureId generalProductPostingGroupId "
            "inventoryPostingGroupId"
        ),
        "boolean": "blocked priceIncludesTax",
        "datetime": "lastModifiedDateTime",
        "decimal": "inventory unitPrice unitCost",
        "string": (
            "number displayName displayName2 itemCategoryCode gtin taxGroupCode baseUnitOfMeasureCode "
            "generalProductPostingGroupCode inventoryPostingGroupCode"
        ),
        "NAV.itemType": "type",
    }
)
VENDOR = _types(  # resources/dynamics_vendor.md
    {
        "GUID": "id currencyId paymentTermsId paymentMethodId",
        "boolean": "taxLiable",
        "datetime": "lastModifiedDateTime",
        "decimal": "balance",
        "string": (
            "number displayName addressLine1 addressLine2 city state country postalCode phoneNumber email "
            "website taxRegistrationNumber currencyCode irs1099Code"
        ),
        "NAV.vendorBlocked": "blocked",
    }
)

TYPES: dict[str, dict[str, str]] = {
    "salesInvoices": SALES_INVOICE,
    "salesOrders": SALES_ORDER,
    "purchaseOrders": PURCHASE_ORDER,
    "customers": CUSTOMER,
    "items": ITEM,
    "vendors": VENDOR,
}
"""Entity set -> field -> type."""

LINE_FIELD_TYPES: dict[str, dict[str, str]] = {
    "salesInvoiceLines": SALES_INVOICE_LINE,
    "salesOrderLines": SALES_ORDER_LINE,
    "purchaseOrderLines": PURCHASE_ORDER_LINE,
}
"""Line set -> field -> type."""
