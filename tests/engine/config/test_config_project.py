"""Loading and validating a project: every problem at once, at its file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import (
    ACME,
    BASE,
    CONNECTIONS,
    CONTOSO,
    ENVIRON,
    INVOICE_MAPPING,
    INVOICES_ROUTE,
    ORDERS_ROUTE,
    lines,
    write_project,
)

from engine.config import Partner
from engine.config.project import load_project, validate_project
from engine.errors import ConfigError


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_the_base_project_is_valid(tmp_path: Path) -> None:
    project, findings = validate_project(write_project(tmp_path), ENVIRON)
    assert findings == []
    assert project is not None
    assert sorted(project.partners) == ["acme", "contoso"]
    assert sorted(project.routes) == ["invoices", "orders"]
    assert sorted(project.mappings) == sorted(project.mapping_sources) == ["invoice-810", "order-850"]
    assert project.connections["bc"]["api_base"] == "http://127.0.0.1:8765/bc"
    assert project.identity == {"qualifier": "ZZ", "id": "MLCONNECT", "application_id": "MLCONNECT"}


INVALID = [
    pytest.param(
        {"connections.yaml": edit(CONNECTIONS, "${TEST_BC_URL:http://127.0.0.1:8765/bc}", "${TEST_BC_URL}")},
        ["connections.yaml:5:3: error connection-config", "connections.yaml:12:15: error env-undefined"],
        id="undefined-variable-and-the-plugin-refusing-the-value",
    ),
    pytest.param(
        {"connections.yaml": edit(CONNECTIONS, "type: cleo", "type: kleo")},
        ["connections.yaml:14:11: error unknown-connector-type"],
        id="unknown-connector-type",
    ),
    pytest.param(
        {"connections.yaml": edit(CONNECTIONS, "    username: mlc-demo\n", "")},
        ["connections.yaml:13:3: error connection-config"],
        id="connection-refused-by-its-plugin",
    ),
    pytest.param(
        {"partners/acme.yaml": "id: acme2\n" + ACME},
        ["partners/acme.yaml:1:5: error partner-id"],
        id="partner-id-differs-from-file-stem",
    ),
    pytest.param(
        {"partners/contoso.yaml": edit(edit(CONTOSO, 'qualifier: "01"', "qualifier: ZZ"), 'id: "123456789"', "id: ACMERETAIL")},
        ["partners/contoso.yaml:4:7: error duplicate-partner"],
        id="two-partners-with-one-isa-id",
    ),
    pytest.param(
        {"partners/contoso.yaml": edit(CONTOSO, "C20001", "C10000")},
        ["partners/contoso.yaml:12:27: error duplicate-erp-key"],
        id="bc-customer-claimed-twice",
    ),
    pytest.param(
        {"partners/acme.yaml": edit(ACME, "  id: ACMERETAIL\n", '  id: ACMERETAIL\n  delimiters: {element: "~"}\n')},
        ["partners/acme.yaml:5:25: error partner-delimiter"],
        id="element-delimiter-collides-with-default-terminator",
    ),
    pytest.param(
        {"partners/acme.yaml": ACME.replace("transactions:\n", 'transactions:\n  - {set: "812", direction: inbound}\n')},
        ["partners/acme.yaml:10:11: error x12-no-definition"],
        id="set-without-definition",
    ),
    pytest.param(
        {"partners/acme.yaml": ACME + "name: Again\n"},
        ["partners/acme.yaml:16:1: error duplicate-key"],
        id="key-written-twice",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "mapping: invoice-810", "mapping: invoice-811")},
        ["schedules/invoices.yaml:15:10: error unknown-mapping"],
        id="route-names-unknown-mapping",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "  connection: cleo", "  connection: clio")},
        ["schedules/invoices.yaml:19:15: error unknown-connection"],
        id="route-names-unknown-connection",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "'Paid'] }}", "'Paid' }}")},
        ["schedules/invoices.yaml:10:9: error jinja-syntax"],
        id="jinja-syntax-error-in-filter",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "{{ doc.number }}", "{{ doc.number | upcase }}")},
        ["schedules/invoices.yaml:14:6: error jinja-unknown-filter"],
        id="unknown-jinja-filter",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, '"$.salesInvoiceLines[*]"', '"$.salesInvoiceLines["')},
        ["schedules/invoices.yaml:17:88: error jsonpath-syntax"],
        id="invalid-jsonpath",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "*/15 * * * *", "*/75 * * * *")},
        ["schedules/invoices.yaml:4:11: error cron-invalid"],
        id="invalid-cron",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "*/15 * * * *", "0 6 * * 1")},
        ["schedules/invoices.yaml:4:11: error cron-weekday"],
        id="cron-weekday-number",
    ),
    pytest.param(
        {"schedules/orders.yaml": edit(ORDERS_ROUTE, "{minutes: 5}", "{minutes: 0}\n    timezone: Mars/Olympus")},
        ["schedules/orders.yaml:2:15: error interval-invalid", "schedules/orders.yaml:3:15: error timezone-unknown"],
        id="zero-interval-and-unknown-timezone",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "\"{{ doc.status in ['Open', 'Paid'] }}\"", "doc.status == 'Open'")},
        ["schedules/invoices.yaml:10:9: error route-filter"],
        id="filter-without-braces-is-always-true",
    ),
    pytest.param(
        {"schedules/orders.yaml": ORDERS_ROUTE + "partner: {by: x12.sender, key: x}\n"},
        ["schedules/orders.yaml:13:10: error route-partner"],
        id="partner-selection-on-a-cleo-source",
    ),
    pytest.param(
        {"schedules/orders.yaml": edit(ORDERS_ROUTE, "mapping: order-850", "mapping: invoice-810")},
        ["schedules/orders.yaml:4:3: error route-direction", "schedules/orders.yaml:9:3: error route-direction"],
        id="outbound-mapping-on-an-inbound-route",
    ),
    pytest.param(
        {"schedules/orders.yaml": edit(ORDERS_ROUTE, '["850"]', '["855"]')},
        ["schedules/orders.yaml:6:9: error route-sets"],
        id="cleo-source-sets-without-the-mapping-set",
    ),
    pytest.param(
        {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "resource: salesInvoices", "resource: salesOrders")},
        ["schedules/invoices.yaml:3:41: error route-webhook"],
        id="webhook-on-another-entity",
    ),
    pytest.param(
        {"schedules/orders.yaml": "name: invoices\n" + ORDERS_ROUTE},
        ["schedules/orders.yaml:1:7: error duplicate-route"],
        id="duplicate-route-name",
    ),
    pytest.param(
        {"partners/acme.yaml": ACME + "overrides:\n  mappings: {invoice-810: acme-810, invoice-811: order-850}\n"},
        ["partners/acme.yaml:17:27: error unknown-mapping", "partners/acme.yaml:17:37: error unknown-mapping"],
        id="override-names-unknown-mappings",
    ),
    pytest.param(
        {"partners/acme.yaml": ACME + "overrides:\n  mappings: {invoice-810: order-850}\n"},
        ["partners/acme.yaml:17:27: error override-mismatch"],
        id="override-by-a-mapping-of-another-kind",
    ),
    pytest.param(
        {"partners/contoso.yaml": CONTOSO + "routes: [invoices, orders, invoicez]\n"},
        ["partners/contoso.yaml:13:20: error partner-transactions", "partners/contoso.yaml:13:28: error unknown-route"],
        id="partner-lists-unknown-route-and-a-set-it-does-not-exchange",
    ),
    pytest.param(
        {"partners/acme.yaml": edit(ACME, "  id: ACMERETAIL\n", '  id: ACMERETAIL\n  version: "004010VICS"\n')},
        [],
        id="industry-version-uses-the-base-definition",
    ),
    pytest.param(
        {"mappings/invoice-810/mapping.yaml": edit(INVOICE_MAPPING, "{{ doc.number }}\"\n  - for", "{{ doc.number }\"\n  - for")},
        ["mappings/invoice-810/mapping.yaml:8:14: error jinja-syntax"],
        id="mapping-jinja-error-through-compile-mapping",
    ),
    pytest.param(
        {"mappings/invoice-810/mapping.yaml": edit(INVOICE_MAPPING, "direction: outbound", "direction: outward")},
        ["mappings/invoice-810/mapping.yaml:2:12: error schema"],
        id="mapping-schema-error-reported-once",
    ),
    pytest.param(
        {"mappings/invoice-810/mapping.yaml": edit(INVOICE_MAPPING, 'transaction_set: "810"', 'transaction_set: "812"')},
        ["mappings/invoice-810/mapping.yaml:3:18: error mapping-definition"],
        id="mapping-set-without-definition",
    ),
    pytest.param(
        {"mappings/empty/notes.txt": "no mapping here\n"},
        ["mappings/empty/mapping.yaml:1:1: error missing-file"],
        id="mapping-directory-without-mapping-file",
    ),
    pytest.param(
        {"mappings/order-850/cases/one/case.yaml": "partner: globex\n"},
        ["mappings/order-850/cases/one/case.yaml:1:10: error unknown-partner"],
        id="case-names-unknown-partner",
    ),
    pytest.param(
        {"partners/initech.yml": "name: Initech\n"},
        ["partners/initech.yml:1:1: warning file-ignored"],
        id="yml-file-is-a-warning",
    ),
]


@pytest.mark.parametrize(("files", "expected"), INVALID)
def test_each_problem_is_reported_at_its_place(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    project, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert lines(findings) == expected
    assert (project is None) == any(" error " in line for line in expected)


def test_a_project_with_many_problems_reports_all_of_them_in_one_run(tmp_path: Path) -> None:
    files = {
        "connections.yaml": edit(CONNECTIONS, "type: cleo", "type: kleo"),
        "partners/acme.yaml": "name: [unclosed\n",
        "partners/contoso.yaml": edit(CONTOSO, "C20001", '"${UNSET_VARIABLE}"'),
        "schedules/invoices.yaml": edit(edit(INVOICES_ROUTE, "*/15 * * * *", "every 15 minutes"), "mapping: invoice-810", "mapping: nope"),
        "schedules/orders.yaml": edit(ORDERS_ROUTE, "operation: create", "operation: upsert"),
        "mappings/order-850/mapping.yaml": edit(BASE["mappings/order-850/mapping.yaml"], "| number", "| numbr"),
    }
    project, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert project is None
    assert lines(findings) == [
        "connections.yaml:14:11: error unknown-connector-type",
        "mappings/order-850/mapping.yaml:12:17: error jinja-unknown-filter",
        "partners/acme.yaml:2:1: error yaml-syntax",
        "partners/contoso.yaml:12:27: error env-undefined",
        "schedules/invoices.yaml:4:11: error cron-invalid",
        "schedules/invoices.yaml:15:10: error unknown-mapping",
        "schedules/orders.yaml:11:14: error schema",
    ]


def test_findings_are_sorted_by_file_then_position(tmp_path: Path) -> None:
    files = {"schedules/invoices.yaml": edit(edit(INVOICES_ROUTE, "mapping: invoice-810", "mapping: x"), "connection: bc\n  entity", "connection: b\n  entity")}
    _, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert [f.location for f in findings] == sorted(f.location for f in findings)
    assert len(findings) == 2


def test_a_project_without_connections_says_so_and_checks_the_rest(tmp_path: Path) -> None:
    _, findings = validate_project(write_project(tmp_path, {"connections.yaml": None}), ENVIRON)
    assert lines(findings)[0] == "connections.yaml:1:1: error missing-file"
    assert {f.code for f in findings} == {"missing-file", "unknown-connection"}


def test_environment_defaults_and_values_reach_the_connections(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    project, _ = validate_project(root, {"TEST_BC_URL": "https://api.businesscentral.dynamics.com"})
    assert project is not None
    assert project.connections["bc"]["api_base"] == "https://api.businesscentral.dynamics.com"


def test_load_project_raises_with_the_first_errors(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"schedules/invoices.yaml": edit(INVOICES_ROUTE, "mapping: invoice-810", "mapping: x")})
    with pytest.raises(ConfigError, match=r"1 error\(s\), run mlc validate: schedules/invoices.yaml:15:10: error unknown-mapping"):
        load_project(root, environ=ENVIRON)


def test_partner_data_has_every_default_applied(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path), environ=ENVIRON)
    acme = project.partners["acme"]
    assert isinstance(acme, Partner)
    assert acme.data["id"] == "acme"
    assert acme.data["x12"] == {
        "qualifier": "ZZ",
        "id": "ACMERETAIL",
        "application_id": "ACMERETAIL",
        "version": "004010",
        "usage": "production",
        "ack_requested": False,
        "delimiters": {"element": "*", "component": ">", "segment": "~"},
        "newline": True,
        "delimiter_in_data": "replace",
        "overlong": "truncate",
        "acknowledge": True,
        "identity": {"qualifier": "ZZ", "id": "MLCONNECT", "application_id": "MLCONNECT"},
    }
    assert acme.data["settings"] == {} and acme.data["overrides"] == {}
    assert acme.source.path == "partners/acme.yaml"


def test_partner_own_identity_and_settings_win(tmp_path: Path) -> None:
    acme = edit(ACME, "  id: ACMERETAIL\n", "  id: ACMERETAIL\n  identity: {qualifier: '01', id: '987654321'}\n  delimiters: {segment: '!'}\n")
    acme += "overrides:\n  settings: {dept: '042'}\n"
    project = load_project(write_project(tmp_path, {"partners/acme.yaml": acme}), environ=ENVIRON)
    x12 = project.partners["acme"].data["x12"]
    assert x12["identity"] == {"qualifier": "01", "id": "987654321", "application_id": "987654321"}
    assert x12["delimiters"] == {"element": "*", "component": ">", "segment": "!"}
    assert project.partners["acme"].data["settings"] == {"dept": "042"}
