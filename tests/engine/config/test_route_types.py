"""A route's source and target are typed at load, one class per kind the schema allows; data
the schema refuses gives no route and no finding of the route compiler's own (the schema says
what is wrong, once)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.config.route import (
    AcknowledgmentFields,
    EntitySource,
    EntityTarget,
    FolderSource,
    FolderTarget,
    Route,
    StoreTarget,
    compile_route,
)
from engine.config.schema import check
from engine.config.source import parse_yaml

HEAD = """\
name: r
triggers: [{cron: "*/5 * * * *"}]
mapping: m
"""
ENTITY_SOURCE = """\
source: {connection: bc, entity: salesInvoices, expand: salesInvoiceLines, cursor: lastModifiedDateTime}
partner: {by: bc.customer, key: "{{ doc.customerNumber }}"}
"""
FOLDER_SOURCE = "source: {connection: cleo, folder: inbox}\n"
FOLDER_TARGET = 'target: {connection: cleo, folder: outbox, filename: "810_{{ doc.number }}.edi"}\n'
CREATE_TARGET = "target: {connection: bc, entity: salesOrders, operation: create}\n"


def _compiled(text: str) -> tuple[Route | None, list[Any], list[Any]]:
    source = parse_yaml(text, "schedules/r.yaml")
    route, problems = compile_route(source, "r")
    return route, problems, check(source, "route")


def _route(text: str) -> Route:
    route, problems, schema = _compiled(text)
    assert (problems, schema) == ([], [])
    assert route is not None
    return route


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(ENTITY_SOURCE, EntitySource("bc", "salesInvoices", "salesInvoiceLines", "lastModifiedDateTime"), id="entity"),
        pytest.param(
            "source: {connection: gp, entity: purchaseOrders, expand: [lines, vendor]}\npartner: {by: gp.vendor, key: '{{ doc.VendorId }}'}\n",
            EntitySource("gp", "purchaseOrders", "lines,vendor", None),
            id="entity-expand-list-no-cursor",
        ),
        pytest.param(FOLDER_SOURCE, FolderSource("cleo", "inbox", None), id="folder-the-mappings-set"),
        pytest.param("source: {connection: cleo, folder: inbox, sets: ['850', '860']}\n", FolderSource("cleo", "inbox", ("850", "860")), id="folder-sets"),
    ],
)
def test_a_source_is_typed_by_its_kind(source: str, expected: Any) -> None:
    target = FOLDER_TARGET if isinstance(expected, EntitySource) else CREATE_TARGET
    route = _route(HEAD + source + target)
    assert route.source == expected
    assert route.source.kind == ("entity" if isinstance(expected, EntitySource) else "folder")


def test_a_folder_target_carries_its_compiled_filename() -> None:
    route = _route(HEAD + ENTITY_SOURCE + FOLDER_TARGET)
    assert isinstance(route.target, FolderTarget)
    assert (route.target.kind, route.target.connection, route.target.folder) == ("folder", "cleo", "outbox")
    assert route.target.filename.evaluate({"doc": {"number": "103001"}}) == "810_103001.edi"


@pytest.mark.parametrize(
    ("unique", "expected"),
    [
        pytest.param("", (), id="none"),
        pytest.param(", unique: externalDocumentNumber", ("externalDocumentNumber",), id="one-field"),
        pytest.param(", unique: [customerNumber, externalDocumentNumber]", ("customerNumber", "externalDocumentNumber"), id="fields"),
    ],
)
def test_a_create_target_lists_its_unique_fields(unique: str, expected: tuple[str, ...]) -> None:
    route = _route(HEAD + FOLDER_SOURCE + f"target: {{connection: bc, entity: salesOrders, operation: create{unique}}}\n")
    assert route.target == EntityTarget("bc", "salesOrders", "create", unique=expected)


def test_an_update_target_carries_its_match_locked_acknowledgment_and_require() -> None:
    route = _route(
        HEAD
        + FOLDER_SOURCE
        + """\
target:
  connection: bc
  entity: purchaseOrders
  operation: update
  match: "{{ output._purchaseOrderNumber }}"
  locked: {when: "{{ record.status != 'Draft' }}", allows: [expectedReceiptDate], reason: reopen it}
  acknowledgment: {quantity: quantity, date: expectedReceiptDate}
  require: {items: "$.purchaseOrderLines[*].lineObjectNumber"}
"""
    )
    target = route.target
    assert isinstance(target, EntityTarget)
    assert (target.kind, target.connection, target.entity, target.operation, target.unique) == ("entity", "bc", "purchaseOrders", "update", ())
    assert target.match is not None and target.match.evaluate({"output": {"_purchaseOrderNumber": "106001"}}) == "106001"
    assert target.locked is not None
    assert (target.locked.allows, target.locked.reason) == (frozenset({"expectedReceiptDate"}), "reopen it")
    assert target.locked.when.evaluate({"record": {"status": "Released"}}) is True
    assert target.acknowledgment == AcknowledgmentFields(quantity="quantity", price=None, date="expectedReceiptDate")
    output = {"purchaseOrderLines": [{"lineObjectNumber": "1896-S"}, {"lineObjectNumber": "1900-S"}]}
    assert [match.value for match in target.require["items"].find(output)] == ["1896-S", "1900-S"]


def test_an_empty_acknowledgment_is_still_an_acknowledgment() -> None:
    route = _route(HEAD + FOLDER_SOURCE + "target: {connection: bc, entity: purchaseOrders, operation: update, match: '{{ output.n }}', acknowledgment: {}}\n")
    assert isinstance(route.target, EntityTarget)
    assert route.target.acknowledgment == AcknowledgmentFields()


def test_a_store_target_names_the_store() -> None:
    route = _route(HEAD + FOLDER_SOURCE + "target: {store: acknowledgments}\n")
    assert route.target == StoreTarget("acknowledgments")
    assert route.target.kind == "store"


def test_the_mapping_triggers_and_settings_are_read_at_load() -> None:
    route = _route(HEAD + "settings: {prefix: S-INV-}\n" + ENTITY_SOURCE + FOLDER_TARGET)
    assert (route.name, route.mapping, route.triggers, route.settings) == ("r", "m", [{"cron": "*/5 * * * *"}], {"prefix": "S-INV-"})
    assert route.context(doc={})["settings"] == {"prefix": "S-INV-"}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(HEAD + "source: bc\n" + FOLDER_TARGET, id="source-not-an-object"),
        pytest.param(HEAD + "source: {connection: [bc], entity: x}\npartner: {by: bc.customer, key: '{{ doc.c }}'}\n" + FOLDER_TARGET, id="connection-a-list"),
        pytest.param(HEAD + "source: {connection: bc, entity: x, expand: 5}\npartner: {by: bc.customer, key: '{{ doc.c }}'}\n" + FOLDER_TARGET, id="expand-a-number"),
        pytest.param(HEAD + "source: {connection: cleo, folder: inbox, sets: '850'}\n" + CREATE_TARGET, id="sets-not-a-list"),
        pytest.param(HEAD + ENTITY_SOURCE + "target: {connection: cleo, folder: outbox}\n", id="no-filename"),
        pytest.param(HEAD + ENTITY_SOURCE + "target: {connection: cleo, folder: outbox, filename: 42}\n", id="filename-a-number"),
        pytest.param(HEAD + FOLDER_SOURCE + "target: {connection: bc, entity: salesOrders}\n", id="no-operation"),
        pytest.param(HEAD + FOLDER_SOURCE + "target: {connection: bc, entity: salesOrders, operation: create, unique: 7}\n", id="unique-a-number"),
        pytest.param(HEAD + FOLDER_SOURCE + "target: {connection: bc, entity: p, operation: update, match: '{{ output.n }}', locked: {allows: [x]}}\n", id="locked-without-when"),
        pytest.param(HEAD + FOLDER_SOURCE + "target: {connection: bc, entity: p, operation: update, match: '{{ output.n }}', acknowledgment: [quantity]}\n", id="acknowledgment-a-list"),
        pytest.param(HEAD + FOLDER_SOURCE + "target: {store: 1}\n", id="store-a-number"),
        pytest.param("name: r\ntriggers: {cron: '* * * * *'}\nmapping: m\n" + FOLDER_SOURCE + CREATE_TARGET, id="triggers-not-a-list"),
        pytest.param("name: r\ntriggers: [{cron: '* * * * *'}]\nmapping: 3\n" + FOLDER_SOURCE + CREATE_TARGET, id="mapping-a-number"),
    ],
)
def test_data_the_schema_refuses_gives_no_route_and_no_finding_of_its_own(text: str) -> None:
    route, problems, schema = _compiled(text)
    assert route is None
    assert problems == []
    assert schema != [], "the schema names what is wrong"


def test_a_broken_template_of_a_target_is_reported_whatever_the_target_kind() -> None:
    route, problems, schema = _compiled(HEAD + ENTITY_SOURCE + FOLDER_TARGET.replace("}\n", ', match: "{{ output. }}"}\n'))
    assert route is None
    assert [problem.code for problem in problems] == ["jinja-syntax"]
    assert [finding.code for finding in schema] == ["schema-unknown-key"]
