"""What the Business Central emulator does with a record it is asked to store.

Payloads are checked against the entity's fields (unknown and read-only properties are
refused, as BC does), documents are completed from their customer or vendor (names,
addresses, terms), lines from their item (description, unit, price, tax group), and every
amount is recomputed from the lines with decimal arithmetic, so headers always add up.
The same code builds the seed documents and the ones POSTed through the API.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from connectors.bc.emulator.odata import ODataError, bad_request
from connectors.bc.emulator.schema import LINE_READ_ONLY, LINE_TYPES, ZERO_GUID, EntitySet, derive_status

CENT = Decimal("0.01")


class Catalog(Protocol):
    """What building a document needs from the emulator state."""

    def lookup(self, entity: str, key: str) -> dict[str, Any] | None:
        """A stored record by id or number, or None."""
        ...

    def tax_percent(self, customer: dict[str, Any], item: dict[str, Any] | None) -> Decimal:
        """Sales tax rate for `item` sold to `customer`."""
        ...

    def due_days(self, payment_terms_id: str) -> int:
        """Days until an invoice is due under these payment terms."""
        ...

    def today(self) -> date:
        """The emulator's current date."""
        ...

    def new_id(self) -> str:
        """A fresh GUID."""
        ...

    @property
    def company_address(self) -> dict[str, str]:
        """Our company's name and address (the ship-to of purchase orders)."""
        ...


def money(value: Decimal) -> float:
    """A rounded amount as served in JSON."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad_request(f"Invalid value {value!r} for '{where}': a number is expected.")
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise bad_request(f"Invalid value {value!r} for '{where}': a number is expected.") from None


def etag(record: dict[str, Any]) -> str:
    """The weak ETag of a record version (opaque, like BC's base64 token)."""
    token = f"'{str(record.get('id', ''))[:8]};{record.get('_version', 0)}L;00;'"
    return 'W/"' + base64.b64encode(token.encode()).decode() + '"'


def check_properties(
    fields: dict[str, Any],
    read_only: frozenset[str],
    payload: dict[str, Any],
    type_name: str,
    *,
    allow: tuple[str, ...],
) -> None:
    """400 for a property the type does not have, or one the server computes."""
    if not isinstance(payload, dict):
        raise bad_request("The request body must be a JSON object.")
    for name in payload:
        if name.startswith("@odata."):
            continue
        if name not in fields and name not in allow:
            raise bad_request(f"The property '{name}' does not exist on type 'Microsoft.NAV.{type_name}'.")
        if name in read_only:
            raise bad_request(
                f"The property '{name}' of type 'Microsoft.NAV.{type_name}' is read-only.",
                "Application_FieldValidationException",
            )


def public(es: EntitySet, record: dict[str, Any], *, expand: bool = False) -> dict[str, Any]:
    """The JSON a client sees: `@odata.etag` first, internal keys dropped, status derived."""
    view: dict[str, Any] = {"@odata.etag": etag(record)}
    for name in es.fields:
        view[name] = record.get(name, es.fields[name])
    if "status" in es.fields:
        view["status"] = derive_status(record)
    if expand and es.lines:
        view[es.lines] = [public_line(es, line) for line in record.get(es.lines, [])]
    return view


def public_line(es: EntitySet, line: dict[str, Any]) -> dict[str, Any]:
    """A document line as served."""
    assert es.line_fields is not None
    return {"@odata.etag": etag(line), **{name: line.get(name, default) for name, default in es.line_fields.items()}}


def build_master(es: EntitySet, payload: dict[str, Any]) -> dict[str, Any]:
    """A customer, item or vendor from a POST body (number and ids are assigned by the caller)."""
    check_properties(es.fields, es.read_only, payload, es.type_name, allow=())
    if not str(payload.get("displayName", "")).strip():
        raise bad_request(
            f"The field displayName of table {es.type_name} must have a value.", "Application_FieldValidationException"
        )
    return {**es.fields, **{k: v for k, v in payload.items() if not k.startswith("@odata.")}}


def build_document(es: EntitySet, payload: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """A document with its lines from a POST body (deep insert); nothing is stored on error."""
    assert es.lines is not None
    body = dict(payload)
    lines = body.pop(es.lines, [])
    check_properties(es.fields, es.read_only - {"status"}, body, es.type_name, allow=())
    status = body.pop("status", "Draft")
    if status != "Draft":
        if es.name == "salesInvoices":
            raise bad_request("Invoices created through the API must be in Draft state.", "Application_DialogException")
        raise bad_request(f"The property 'status' of type 'Microsoft.NAV.{es.type_name}' is read-only.")
    if not isinstance(lines, list):
        raise bad_request(f"'{es.lines}' must be an array of lines.")
    doc: dict[str, Any] = {**es.fields, **{k: v for k, v in body.items() if not k.startswith("@odata.")}}
    doc["id"] = catalog.new_id()
    doc["_release"] = "Open"
    doc["_posted"] = False
    fill_party(es, doc, payload, catalog)
    _fill_dates(es, doc, catalog)
    doc[es.lines] = []
    for line_payload in lines:
        add_line(es, doc, line_payload, catalog)
    recalculate(es, doc, catalog)
    return doc


def fill_party(es: EntitySet, doc: dict[str, Any], payload: dict[str, Any], catalog: Catalog) -> None:
    """Complete a document from its customer or vendor (names, addresses, terms); 400 if unusable."""
    kind = "customer" if es.party == "customers" else "vendor"
    party_id, party_number = payload.get(f"{kind}Id"), payload.get(f"{kind}Number")
    if not party_id and not party_number:
        raise bad_request(f"A {kind}Number or a {kind}ID must be provided.", "Application_DialogException")
    party = catalog.lookup(str(es.party), str(party_id or party_number))
    if party is None or (party_id and party_number and party["number"] != party_number):
        raise bad_request(
            f"The {kind.title()} does not exist. Identification fields and values: No.='{party_number or party_id}'",
            "Application_DialogException",
        )
    if party.get("blocked") == "All":
        raise bad_request(
            f"You cannot create this type of document when {kind.title()} {party['number']} is blocked with type All",
            "Application_DialogException",
        )
    address = {
        "AddressLine1": party["addressLine1"],
        "AddressLine2": party["addressLine2"],
        "City": party["city"],
        "Country": party["country"],
        "State": party["state"],
        "PostCode": party["postalCode"],
    }
    name = party["displayName"]
    doc["paymentTermsId"] = (
        doc.get("paymentTermsId") if doc.get("paymentTermsId") != ZERO_GUID else party["paymentTermsId"]
    )
    doc["currencyCode"] = party.get("currencyCode") or "USD"
    if kind == "customer":
        doc.update(customerId=party["id"], customerNumber=party["number"], customerName=name)
        doc.update(billToName=name, billToCustomerId=party["id"], billToCustomerNumber=party["number"])
        doc["shipmentMethodId"] = party["shipmentMethodId"]
        doc["phoneNumber"] = doc.get("phoneNumber") or party["phoneNumber"]
        doc["email"] = doc.get("email") or party["email"]
        prefixes = ("sellTo", "billTo")
        ship_default = {"Name": name, **address}
    else:
        doc.update(vendorId=party["id"], vendorNumber=party["number"], vendorName=name)
        doc.update(payToName=name, payToVendorId=party["id"], payToVendorNumber=party["number"])
        prefixes = ("buyFrom", "payTo")
        company = catalog.company_address
        ship_default = {
            "Name": company["name"],
            "AddressLine1": company["addressLine1"],
            "AddressLine2": company["addressLine2"],
            "City": company["city"],
            "Country": company["country"],
            "State": company["state"],
            "PostCode": company["postalCode"],
        }
    for prefix in prefixes:
        for suffix, value in address.items():
            doc[f"{prefix}{suffix}"] = value
    if not any(payload.get(f"shipTo{k}") for k in ship_default):
        for suffix, value in ship_default.items():
            doc[f"shipTo{suffix}"] = value


def _fill_dates(es: EntitySet, doc: dict[str, Any], catalog: Catalog) -> None:
    today = catalog.today().isoformat()
    for name in ("invoiceDate", "orderDate"):
        if name in es.fields and not doc.get(name):
            doc[name] = today
    doc_date = doc.get("invoiceDate") or doc.get("orderDate") or today
    if not doc.get("postingDate"):
        doc["postingDate"] = doc_date
    if "dueDate" in es.fields and not doc.get("dueDate"):
        days = catalog.due_days(str(doc.get("paymentTermsId", ZERO_GUID)))
        doc["dueDate"] = (date.fromisoformat(doc_date) + timedelta(days=days)).isoformat()
    if "customerPurchaseOrderReference" in es.fields and not doc.get("customerPurchaseOrderReference"):
        doc["customerPurchaseOrderReference"] = doc.get("externalDocumentNumber", "")


def add_line(es: EntitySet, doc: dict[str, Any], payload: Any, catalog: Catalog) -> dict[str, Any]:
    """Append a line built from `payload` to `doc` (amounts are not yet recomputed)."""
    assert es.line_fields is not None and es.line_type_name is not None and es.lines is not None
    if not isinstance(payload, dict):
        raise bad_request(f"Each of '{es.lines}' must be a JSON object.")
    check_properties(es.line_fields, LINE_READ_ONLY, payload, es.line_type_name, allow=())
    line: dict[str, Any] = {**es.line_fields, **{k: v for k, v in payload.items() if not k.startswith("@odata.")}}
    line["id"] = catalog.new_id()
    line["documentId"] = doc["id"]
    line["_version"] = 0
    existing = [int(other["sequence"]) for other in doc[es.lines]]
    if not payload.get("sequence"):
        line["sequence"] = (max(existing, default=0) // 10000 + 1) * 10000
    elif int(payload["sequence"]) in existing:
        raise bad_request(
            f"A line with sequence {payload['sequence']} already exists.", "Internal_EntityWithSameKeyExists"
        )
    _fill_line(es, doc, line, payload, catalog, creating=True)
    doc[es.lines].append(line)
    doc[es.lines].sort(key=lambda item: int(item["sequence"]))
    return line


def update_line(
    es: EntitySet, doc: dict[str, Any], line: dict[str, Any], changes: dict[str, Any], catalog: Catalog
) -> None:
    """Apply a PATCH to a line; a new item or type re-fills the item-derived fields."""
    assert es.line_fields is not None and es.line_type_name is not None
    check_properties(es.line_fields, LINE_READ_ONLY | {"sequence"}, changes, es.line_type_name, allow=())
    line.update({k: v for k, v in changes.items() if not k.startswith("@odata.")})
    _fill_line(es, doc, line, changes, catalog, creating=False)


def _fill_line(
    es: EntitySet,
    doc: dict[str, Any],
    line: dict[str, Any],
    payload: dict[str, Any],
    catalog: Catalog,
    *,
    creating: bool,
) -> None:
    item_key = (
        payload.get("itemId") if payload.get("itemId", ZERO_GUID) != ZERO_GUID else payload.get("lineObjectNumber")
    )
    if creating and "lineType" not in payload:
        if item_key:
            line["lineType"] = "Item"
        elif payload.get("description"):
            line["lineType"] = "Comment"
        else:
            raise bad_request("A line needs an itemId, a lineType with a lineObjectNumber, or a description.")
    line_type = line["lineType"]
    if line_type not in LINE_TYPES:
        raise bad_request(f"Invalid lineType {line_type!r}; valid: {', '.join(LINE_TYPES)}.")
    quantity = _decimal(line.get("quantity", 0), "quantity")
    if quantity < 0:
        raise bad_request(
            f"quantity must not be negative, got {line['quantity']}.", "Application_FieldValidationException"
        )
    if line_type == "Comment":
        if quantity:
            raise bad_request("A Comment line cannot have a quantity.", "Application_FieldValidationException")
        line.update(itemId=ZERO_GUID, lineObjectNumber="", unitOfMeasureCode="", taxCode="")
        line[es.price_field] = 0.0
        return
    if line_type == "Item" and (creating or item_key or "lineType" in payload):
        item = catalog.lookup("items", str(item_key or line.get("lineObjectNumber") or ""))
        if item is None:
            raise bad_request(
                f"The Item does not exist. Identification fields and values: No.='{item_key or ''}'",
                "Application_DialogException",
            )
        if item.get("blocked"):
            raise bad_request(f"Item {item['number']} is blocked.", "Application_DialogException")
        line.update(itemId=item["id"], lineObjectNumber=item["number"])
        if not payload.get("description"):
            line["description"] = item["displayName"]
        if not payload.get("unitOfMeasureCode"):
            line["unitOfMeasureCode"] = item["baseUnitOfMeasureCode"]
            line["unitOfMeasureId"] = item["baseUnitOfMeasureId"]
        if es.price_field not in payload:
            line[es.price_field] = item["unitCost"] if es.price_field == "directUnitCost" else item["unitPrice"]
        if es.party == "customers":
            line["taxCode"] = item.get("taxGroupCode", "")
    elif line_type != "Item" and not line.get("lineObjectNumber"):
        raise bad_request(f"A {line_type} line needs a lineObjectNumber.", "Application_FieldValidationException")
    if es.name == "salesOrders":
        for name in ("shipQuantity", "invoiceQuantity"):
            if name not in payload and (creating or "quantity" in payload):
                line[name] = line["quantity"]
    if es.name == "purchaseOrders":
        for name in ("receiveQuantity", "invoiceQuantity"):
            if name not in payload and (creating or "quantity" in payload):
                line[name] = line["quantity"]
        if not line.get("expectedReceiptDate"):
            line["expectedReceiptDate"] = doc.get("requestedReceiptDate") or doc.get("orderDate", "")
    elif "shipmentDate" in line and not line.get("shipmentDate"):
        line["shipmentDate"] = doc.get("requestedDeliveryDate") or doc.get("orderDate") or doc.get("invoiceDate", "")


def recalculate(es: EntitySet, doc: dict[str, Any], catalog: Catalog) -> None:
    """Recompute every line amount and the header totals from quantities and prices."""
    assert es.lines is not None
    customer = catalog.lookup("customers", str(doc.get("customerId", ""))) if es.party == "customers" else None
    total_net = total_tax = Decimal(0)
    for line in doc[es.lines]:
        quantity = _decimal(line.get("quantity", 0), "quantity")
        price = _decimal(line.get(es.price_field, 0), es.price_field)
        gross = (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP)
        percent = _decimal(line.get("discountPercent", 0), "discountPercent")
        discount = (gross * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP) if percent else Decimal(0)
        if not percent and line.get("discountAmount"):
            discount = _decimal(line["discountAmount"], "discountAmount")
        net = gross - discount
        rate = Decimal(0)
        if customer is not None and line.get("lineType") == "Item":
            item = catalog.lookup("items", str(line.get("itemId", "")))
            rate = catalog.tax_percent(customer, item)
        tax = (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        line.update(
            discountAmount=money(discount),
            amountExcludingTax=money(net),
            taxPercent=float(rate),
            totalTaxAmount=money(tax),
            amountIncludingTax=money(net + tax),
            invoiceDiscountAllocation=0.0,
            netAmount=money(net),
            netTaxAmount=money(tax),
            netAmountIncludingTax=money(net + tax),
        )
        total_net += net
        total_tax += tax
    doc.update(
        discountAmount=0.0,
        totalAmountExcludingTax=money(total_net),
        totalTaxAmount=money(total_tax),
        totalAmountIncludingTax=money(total_net + total_tax),
    )
    if "remainingAmount" in es.fields:
        paid = doc.get("_posted") and doc.get("_postedState") == "Closed"
        doc["remainingAmount"] = 0.0 if paid else money(total_net + total_tax)


TEST_FIELD_CODE = "Internal_TestFieldCode"
"""The OData error code of a failed TestField. [U]: the message text below is confirmed (seen in
a real BC answer), the code is not; kept here alone so the real one can be dropped in."""

HEADER_TABLES = {
    "purchaseOrders": ("Purchase Header", "Order"),
    "salesOrders": ("Sales Header", "Order"),
    "salesInvoices": ("Sales Header", "Invoice"),
}
"""Document set -> (BC table, Document Type), as TestField names them in its message."""

ALLOWED_WHEN_RELEASED = {
    "purchaseOrders": frozenset({"expectedReceiptDate", "receiveQuantity", "invoiceQuantity"}),
    "salesOrders": frozenset({"shipQuantity", "invoiceQuantity"}),
    "salesInvoices": frozenset(),
}
"""Line fields a PATCH may change on a document that is not Open: BC's Purchase Line validates
Quantity, Direct Unit Cost, No., Type, discounts, ... with TestStatusOpen(); Expected Receipt
Date and the quantities to receive/ship/invoice (what posting takes) have no such check. Every
other line field is refused (the emulator errs on the strict side where the AL is not known)."""


def check_status_open(es: EntitySet, doc: dict[str, Any], fields: set[str] | None = None) -> None:
    """BC's TestStatusOpen on a document line: 400 when the document's Status is not Open
    (Released, Pending Approval, Pending Prepayment) and the change touches a field it guards.

    `fields` None means the change is the line itself (a line added or deleted): always guarded.
    The internal `_release` holds BC's header Status; the API's `status` shows Released as
    "Open" and Open as "Draft" (codeunit 5477 and its sisters), which is why a client cannot
    tell from the API's word "Open" that the order is editable.
    """
    status = str(doc.get("_release", "Open"))
    if status == "Open" or es.name not in HEADER_TABLES:
        return
    if fields is not None and not (fields - ALLOWED_WHEN_RELEASED[es.name]):
        return
    table, kind = HEADER_TABLES[es.name]
    raise ODataError(
        400,
        TEST_FIELD_CODE,
        f"Status must be equal to 'Open'  in {table}: Document Type={kind}, No.={doc.get('number', '')}. "
        f"Current value is '{status}'.",
    )


def check_modifiable(es: EntitySet, doc: dict[str, Any]) -> None:
    """400 when the document is posted (BC's CannotModifyPostedInvioceErr)."""
    if doc.get("_posted"):
        raise ODataError(
            400, "Application_DialogException", "The invoice has been posted and can no longer be modified."
        )
