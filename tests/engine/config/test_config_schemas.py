"""The JSON Schemas of the project files: valid schemas, shipped files valid, violations
reported at the offending key with a clear code."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest

from engine.config import schema
from engine.config.source import load_yaml, parse_yaml

REPO = Path(__file__).resolve().parents[3]
SCHEMA_DIR = REPO / "engine" / "config" / "schemas"


def shipped(pattern: str) -> list[Path]:
    return sorted(REPO.glob(pattern))


def _mapping_kind(path: Path) -> str:
    """An overlay is a mapping file with `extends:`."""
    return "overlay" if any(line.startswith("extends:") for line in path.read_text(encoding="utf-8").splitlines()) else "mapping"


SHIPPED = [
    *(("connections", p) for p in shipped("connections.yaml")),
    *(("partner", p) for p in shipped("partners/*.yaml")),
    *(("route", p) for p in shipped("schedules/*.yaml")),
    *((_mapping_kind(p), p) for p in shipped("mappings/*/mapping.yaml")),
    *(("mapping", p) for p in shipped("engine/library/mappings/*/mapping.yaml")),
    *(("route", p) for p in shipped("engine/library/routes/*.yaml")),
    *(("overlay", p) for p in shipped("docs/northwind/mappings/*/mapping.yaml")),
    *(("partner", p) for p in shipped("docs/northwind/partners/*.yaml")),
    *(("case", p) for p in shipped("mappings/*/cases/*/case.yaml")),
    *(("case", p) for p in shipped("docs/northwind/mappings/*/cases/*/case.yaml")),
]
# What the package and the docs ship names its schema on its first line; the example project at
# the root is a fixture that an integrator may grow with files of their own, so it is not held to it.
NAMED = [(k, p) for k, p in SHIPPED if k != "case" and p.relative_to(REPO).parts[0] in ("engine", "docs")]


@pytest.mark.parametrize("kind", schema.KINDS)
def test_each_schema_is_a_valid_draft_2020_12_schema(kind: str) -> None:
    loaded = schema.schema(kind)
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(loaded)


def test_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(Exception, match="valid kinds: case, connections, guide, mapping, overlay, partner, route"):
        schema.schema_text("partners")


def test_the_example_project_ships_every_file_kind() -> None:
    kinds = {kind for kind, _ in SHIPPED}
    assert {"connections", "partner", "route", "mapping", "overlay", "case"} <= kinds


@pytest.mark.parametrize(("kind", "path"), [pytest.param(k, p, id=str(p.relative_to(REPO))) for k, p in SHIPPED])
def test_every_shipped_yaml_file_validates_against_its_schema(kind: str, path: Path) -> None:
    source = load_yaml(path, str(path.relative_to(REPO)))
    assert [f.line() for f in schema.check(source, kind)] == []


@pytest.mark.parametrize(
    ("kind", "path"), [pytest.param(k, p, id=str(p.relative_to(REPO))) for k, p in NAMED]
)
def test_every_shipped_yaml_file_names_its_schema_on_the_first_line(kind: str, path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix), first
    target = (path.parent / first.removeprefix(prefix).strip()).resolve()
    assert target == SCHEMA_DIR / f"{kind}.schema.json"


def findings(kind: str, text: str) -> list[str]:
    source = parse_yaml(textwrap.dedent(text), "f.yaml")
    return [f"{f.location} {f.code}" for f in schema.check(source, kind)]


PARTNER = """\
name: Acme
x12: {qualifier: ZZ, id: ACME}
cleo: {connection: cleo, inbox: a/in, outbox: a/out}
"""


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        pytest.param("partner", PARTNER, [], id="partner-minimal"),
        pytest.param(
            "partner",
            PARTNER + "x12x: 1\n",
            ["f.yaml:4:1 schema-unknown-key"],
            id="partner-unknown-top-key-at-the-key",
        ),
        pytest.param(
            "partner",
            "name: Acme\nx12:\n  qualifier: ZZ\n  id: ACME\n  usage: prod\ncleo: {connection: c, inbox: i, outbox: o}\n",
            ["f.yaml:5:10 schema"],
            id="partner-usage-enum",
        ),
        pytest.param(
            "partner",
            "name: Acme\nx12:\n  qualifier: ZZ\n  id: ACME\n  delimiters: {element: '**'}\ncleo: {connection: c, inbox: i, outbox: o}\n",
            ["f.yaml:5:25 schema"],
            id="partner-delimiter-one-character",
        ),
        pytest.param(
            "partner",
            "name: Acme\nx12:\n  qualifier: ZZ\n  id: ACME\n  overlong: cut\n  delimiter_in_data: drop\n"
            "cleo: {connection: c, inbox: i, outbox: o}\n",
            ["f.yaml:5:13 schema", "f.yaml:6:22 schema"],
            id="partner-policies-enum",
        ),
        pytest.param(
            "partner",
            "name: Acme\nx12:\n  id: ACME\ncleo: {connection: c, inbox: i, outbox: o}\n",
            ["f.yaml:3:3 schema-required"],
            id="partner-missing-qualifier-at-parent",
        ),
        pytest.param(
            "partner",
            PARTNER + "transactions:\n  - {set: 850, direction: sideways}\n",
            ["f.yaml:5:11 schema", "f.yaml:5:27 schema"],
            id="partner-transaction-set-text-and-direction",
        ),
        pytest.param(
            "partner",
            PARTNER + "erp:\n  bc: {customer: C1, vendr: V1}\n",
            ["f.yaml:5:22 schema-unknown-key"],
            id="partner-erp-unknown-role",
        ),
        pytest.param(
            "connections",
            "identity: {qualifier: ZZ, id: US}\nconnections:\n  bc: {tenant: x}\n",
            ["f.yaml:3:7 schema-required"],
            id="connections-entry-needs-type",
        ),
        pytest.param(
            "connections",
            "identity: {qualifier: Z, id: US}\nconnections:\n  bc: {type: bc}\nextra: 1\n",
            ["f.yaml:1:23 schema", "f.yaml:4:1 schema-unknown-key"],
            id="connections-qualifier-and-unknown-key",
        ),
        pytest.param(
            "route",
            "triggers: []\nsource: {connection: bc, entity: x}\nmapping: m\ntarget: {connection: cleo, folder: outbox, filename: f}\n",
            ["f.yaml:1:1 schema-required", "f.yaml:1:11 schema"],
            id="route-entity-source-needs-partner-and-a-trigger",
        ),
        pytest.param(
            "route",
            "triggers:\n  - cron: '* * * * *'\n    interval: {minutes: 5}\nsource: {connection: c, folder: inbox}\nmapping: m\n"
            "target: {store: acknowledgments}\n",
            ["f.yaml:2:5 schema"],
            id="route-trigger-is-one-kind",
        ),
        pytest.param(
            "route",
            "triggers:\n  - {cron: '* * * * *'}\nsource: {connection: c, folder: outbox}\nmapping: m\n"
            "target: {connection: bc, entity: purchaseOrders, operation: update}\n",
            ["f.yaml:3:33 schema", "f.yaml:5:9 schema-required"],
            id="route-folder-enum-and-update-needs-match",
        ),
        pytest.param(
            "route",
            "triggers:\n  - {interval: {minutes: 5, hourz: 1}}\nsource: {connection: c, folder: inbox}\nmapping: m\n"
            "target: {store: acknowledgments}\npartner: {by: bc.customers, key: x}\n",
            ["f.yaml:2:29 schema-unknown-key", "f.yaml:6:15 schema"],
            id="route-interval-key-and-partner-by",
        ),
        pytest.param(
            "mapping",
            "direction: outbound\ntransaction_set: '810'\nsegments:\n  - BIG: {BIG01: x}\n    REF: {REF01: y}\n",
            ["f.yaml:4:5 schema"],
            id="mapping-two-segments-in-one-item",
        ),
        pytest.param(
            "mapping",
            "direction: outbound\ntransaction_set: '810'\nsegments:\n  - for_each: $.lines[*]\n    segments:\n"
            "      - IT1: {IT101: x}\n        whenn: y\n",
            ["f.yaml:7:9 schema-unknown-key"],
            id="mapping-nested-loop-item-unknown-key",
        ),
        pytest.param(
            "mapping",
            "direction: json\noutput: {a: 1}\nsegments: []\n",
            ["f.yaml:3:11 schema"],
            id="mapping-json-has-no-segments",
        ),
        pytest.param(
            "mapping",
            "direction: inbound\ntransaction_set: '850'\noutput:\n  lines: {for_each: '$.PO1_loop[*]', as: l}\n",
            ["f.yaml:4:10 schema-required"],
            id="mapping-output-loop-needs-item",
        ),
        pytest.param("case", "now: 2024-05-02T10:05:00\ncontrols: {isa: 0}\n", ["f.yaml:1:6 schema", "f.yaml:2:17 schema"], id="case-unquoted-date-and-control-zero"),
        pytest.param("case", "partner: acme\nexpect_eror: x\n", ["f.yaml:2:1 schema-unknown-key"], id="case-unknown-key"),
    ],
)
def test_schema_violations_are_reported_at_the_offending_place(kind: str, text: str, expected: list[str]) -> None:
    assert findings(kind, text) == expected


def test_unknown_key_message_lists_the_valid_keys_and_a_close_one() -> None:
    source = parse_yaml("name: A\nx12: {qualifier: ZZ, id: A, usgae: test}\ncleo: {connection: c, inbox: i, outbox: o}\n", "p.yaml")
    (finding,) = schema.check(source, "partner")
    assert finding.code == "schema-unknown-key"
    assert "unknown key 'usgae' in x12" in finding.message
    assert "did you mean 'usage'?" in finding.message
    assert "valid keys: ack_requested, acknowledge, application_id" in finding.message


def test_type_message_suggests_quotes_for_numbers_and_dates() -> None:
    partner = parse_yaml("name: A\nx12: {qualifier: 01, id: A}\ncleo: {connection: c, inbox: i, outbox: o}\n", "p.yaml")
    (finding,) = schema.check(partner, "partner")
    assert finding.message == 'x12.qualifier must be text, found 1 (put it in quotes: "1")'
    case = parse_yaml("now: 2024-05-02\n", "case.yaml")
    assert "YAML read a date: put it in quotes" in schema.check(case, "case")[0].message


def test_a_trigger_with_no_kind_says_which_keys_are_possible() -> None:
    source = parse_yaml("triggers:\n  - {timezone: UTC}\nsource: {connection: c, folder: inbox}\nmapping: m\ntarget: {store: acknowledgments}\n", "r.yaml")
    messages = [f.message for f in schema.check(source, "route")]
    assert messages == ["triggers[0]: a trigger is exactly one of webhook, cron or interval (each trigger is its own list item)"]


def test_equal_data_in_two_files_is_validated_once_and_reported_at_each_files_place() -> None:
    text = 'sets:\n  "810":\n    max_length: {BIG02: "22"}\n'
    first = parse_yaml(text, "guides/a.yaml")
    second = parse_yaml("# three lines\n# further\n# down\n" + text, "guides/b.yaml")
    assert [f"{f.location} {f.code}" for f in schema.check(first, "guide")] == ["guides/a.yaml:3:25 schema"]
    assert [f"{f.location} {f.code}" for f in schema.check(second, "guide")] == ["guides/b.yaml:6:25 schema"]


@pytest.mark.parametrize(
    ("first", "second"),
    [pytest.param("1", "true", id="one-then-true"), pytest.param("true", "1", id="true-then-one")],
)
def test_values_python_holds_equal_are_told_apart_by_the_schema_check(first: str, second: str) -> None:
    # 1 == True in Python, and they hash alike; to JSON Schema one is an integer, the other not
    def errors(value: str) -> list[str]:
        source = parse_yaml(f'sets:\n  "810":\n    max_length: {{BIG02: {value}}}\n', "guides/a.yaml")
        return [f.line() for f in schema.check(source, "guide")]

    assert (errors(first) == []) is (first == "1")
    assert (errors(second) == []) is (second == "1")
