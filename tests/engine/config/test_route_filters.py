"""The shipped routes' filters and partner selection, evaluated on real document shapes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from engine.config.project import load_project
from engine.mapping.templates import base_context, truthy

ROOT = Path(__file__).resolve().parents[3]
INVOICE = json.loads((ROOT / "mappings/bc-sales-invoice-to-810/cases/acme-103001/input.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def project() -> Any:
    return load_project(ROOT)


@pytest.mark.parametrize(
    ("number", "status", "passes"),
    [
        pytest.param("103001", "Open", True, id="posted-open"),
        pytest.param("103003", "Paid", True, id="paid"),
        pytest.param("103004", "Corrective", True, id="corrective"),
        pytest.param("S-INV-1004", "Draft", False, id="draft"),
        pytest.param("S-INV-1005", "Open", False, id="released-unposted"),
        pytest.param("103005", "Canceled", False, id="canceled"),
        pytest.param("S-INV-1006", "In Review", False, id="in-review"),
    ],
)
def test_the_invoice_route_takes_posted_invoices_only(project: Any, number: str, status: str, passes: bool) -> None:
    route = project.routes["bc-invoices-to-810"]
    doc = dict(INVOICE, number=number, status=status)
    assert truthy(route.filter.evaluate(route.context(doc=doc))) is passes


def test_the_unposted_invoice_series_is_a_route_setting_not_a_literal(project: Any) -> None:
    route = project.routes["bc-invoices-to-810"]
    assert route.settings == {"unposted_invoice_prefix": "S-INV-"}
    other_company = dataclasses.replace(route, settings={"unposted_invoice_prefix": "INV-DRAFT-"})
    released = dict(INVOICE, number="INV-DRAFT-0042", status="Open")
    assert truthy(route.filter.evaluate(route.context(doc=released))) is True, "not this company's draft series"
    assert truthy(other_company.filter.evaluate(other_company.context(doc=released))) is False
    assert truthy(other_company.filter.evaluate(other_company.context(doc=dict(INVOICE, number="S-INV-1005", status="Open")))) is True


@pytest.mark.parametrize(
    ("customer", "partner"),
    [pytest.param("C10000", "acme", id="acme"), pytest.param("C20000", "contoso", id="contoso"), pytest.param("C30000", None, id="not-a-partner")],
)
def test_the_invoice_route_finds_the_partner_from_the_customer(project: Any, customer: str, partner: str | None) -> None:
    route = project.routes["bc-invoices-to-810"]
    key = route.partner_key.evaluate(base_context(doc=dict(INVOICE, customerNumber=customer)))
    found = project.match_partner(route.partner_by, str(key))
    assert (found.id if found else None) == partner
