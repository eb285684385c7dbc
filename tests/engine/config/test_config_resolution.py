"""Partner resolution by key, mapping overrides, which partners take part in a route, and the
compiled values a route hands the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import ACME, CONTOSO, ENVIRON, ORDER_MAPPING, write_project

from engine.config.project import Project, load_project
from engine.config.route import FolderTarget
from engine.errors import ConfigError


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return load_project(write_project(tmp_path), environ=ENVIRON)


@pytest.mark.parametrize(
    ("by", "key", "partner"),
    [
        pytest.param("bc.customer", "C10000", "acme", id="bc-customer"),
        pytest.param("bc.customer", "C20001", "contoso", id="bc-customer-from-a-list"),
        pytest.param("bc.customer", " C20000 ", "contoso", id="bc-customer-surrounding-blanks"),
        pytest.param("x12.sender", "ZZ/ACMERETAIL", "acme", id="isa-qualifier-and-id"),
        pytest.param("x12.sender", "01/123456789    ", "contoso", id="isa-id-padded-as-in-the-isa"),
        pytest.param("x12.sender", "ACMERETAIL", "acme", id="bare-isa-id"),
    ],
)
def test_find_partner_by_each_kind_of_key(project: Project, by: str, key: str, partner: str) -> None:
    assert project.find_partner(by, key).id == partner


def test_an_unknown_key_names_what_was_looked_for_and_the_known_keys(project: Project) -> None:
    with pytest.raises(ConfigError) as caught:
        project.find_partner("bc.customer", "C30000")
    assert str(caught.value) == "no partner has bc.customer 'C30000' (known bc.customer keys: C10000, C20000, C20001)"
    assert project.match_partner("bc.customer", "C30000") is None


def test_a_kind_with_no_partner_says_none_are_known(project: Project) -> None:
    with pytest.raises(ConfigError, match=r"no partner has gp.vendor 'GLOBEX0001' \(known gp.vendor keys: none\)"):
        project.find_partner("gp.vendor", "GLOBEX0001")


def test_an_unknown_kind_lists_the_valid_kinds(project: Project) -> None:
    with pytest.raises(ConfigError, match=r"valid: bc\.customer, bc\.vendor, gp\.vendor, x12\.sender"):
        project.find_partner("bc.customers", "C10000")


def test_a_bare_isa_id_of_two_partners_asks_for_the_qualifier(tmp_path: Path) -> None:
    other = CONTOSO.replace('id: "123456789"', "id: ACMERETAIL")
    project = load_project(write_project(tmp_path, {"partners/contoso.yaml": other}), environ=ENVIRON)
    assert project.find_partner("x12.sender", "01/ACMERETAIL").id == "contoso"
    with pytest.raises(ConfigError, match=r"belongs to several partners .*give QUALIFIER/ID"):
        project.find_partner("x12.sender", "ACMERETAIL")


def test_mapping_for_applies_the_partner_override(tmp_path: Path) -> None:
    files = {
        "partners/acme.yaml": ACME + "overrides:\n  mappings: {order-850: order-850-acme}\n",
        "mappings/order-850-acme/mapping.yaml": ORDER_MAPPING.replace("name: order-850", "name: order-850-acme"),
    }
    root = write_project(tmp_path, files)
    project = load_project(root, environ=ENVIRON)
    assert project.mapping_for("order-850", project.partners["acme"]) == "order-850-acme"
    assert project.mapping_for("order-850", project.partners["contoso"]) == "order-850"
    assert project.mapping_for("invoice-810", project.partners["acme"]) == "invoice-810"


def test_partners_take_part_in_routes_whose_set_and_direction_they_exchange(project: Project) -> None:
    assert [p.id for p in project.partners_for("invoices")] == ["acme", "contoso"]
    assert [p.id for p in project.partners_for("orders")] == ["acme"]
    assert not project.takes_part(project.partners["contoso"], "orders")


def test_a_partner_listing_routes_takes_part_in_those_only(tmp_path: Path) -> None:
    acme = ACME + "routes: [orders]\n"
    project = load_project(write_project(tmp_path, {"partners/acme.yaml": acme}), environ=ENVIRON)
    assert [p.id for p in project.partners_for("invoices")] == ["contoso"]
    assert [p.id for p in project.partners_for(project.routes["orders"])] == ["acme"]
    assert project.partners["acme"].routes == ("orders",)


def test_partners_for_an_unknown_route_lists_the_routes(project: Project) -> None:
    with pytest.raises(ConfigError, match=r"no route 'nope' \(routes: invoices, orders\)"):
        project.partners_for("nope")


def test_a_route_carries_compiled_values(project: Project) -> None:
    route = project.routes["invoices"]
    doc = {"status": "Paid", "customerNumber": "C10000", "number": "103001", "salesInvoiceLines": [{"lineObjectNumber": "1896-S"}]}
    assert route.filter is not None and route.filter.evaluate({"doc": doc}) is True
    assert route.filter.evaluate({"doc": {**doc, "status": "Draft"}}) is False
    assert route.partner_by == "bc.customer"
    assert route.partner_key is not None and route.partner_key.evaluate({"doc": doc}) == "C10000"
    assert route.key is not None and route.key.evaluate({"doc": doc}) == "103001"
    partner = project.find_partner("bc.customer", "C10000")
    assert isinstance(route.target, FolderTarget)
    assert route.target.filename.evaluate({"doc": doc, "partner": partner.data}) == "810_acme_103001.edi"
    lookup = route.lookups["items"]
    assert (lookup.connection, lookup.entity) == ("bc", "items")
    assert [m.value for m in lookup.for_each.find(doc)] == [{"lineObjectNumber": "1896-S"}]
    assert lookup.key.evaluate({"doc": doc, "item": {"lineObjectNumber": "1896-S"}}) == "1896-S"
    assert (route.mapping, route.source.kind, route.target.kind) == ("invoice-810", "entity", "folder")
    assert route.triggers[1] == {"cron": "*/15 * * * *"}


def test_a_missing_field_in_a_route_value_names_the_route_file_and_line(project: Project) -> None:
    route = project.routes["invoices"]
    assert route.key is not None
    with pytest.raises(Exception, match=r"schedules/invoices.yaml:14 \(key\): the field 'doc.number' is missing"):
        route.key.evaluate({"doc": {"status": "Open"}})


def test_an_inbound_route_has_no_partner_selection_and_an_entity_target(project: Project) -> None:
    route = project.routes["orders"]
    assert (route.partner_by, route.partner_key, route.filter, route.key) == (None, None, None, None)
    assert (route.source.kind, route.target.kind) == ("folder", "entity")
