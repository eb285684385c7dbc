"""`mlc schema KIND`: the shipped JSON Schema of each project file kind; a bad kind is a usage
error listing the valid ones."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from engine.config import schema


@pytest.mark.parametrize("kind", ["connections", "partner", "mapping", "route", "case"])
def test_schema_prints_the_shipped_schema_of_each_kind(kind: str) -> None:
    result = CliRunner().invoke(cli, ["schema", kind])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed == schema.schema(kind)
    jsonschema.Draft202012Validator.check_schema(printed)


def test_an_unknown_kind_is_a_usage_error_listing_the_kinds() -> None:
    result = CliRunner().invoke(cli, ["schema", "partners"])
    assert result.exit_code == 2
    assert result.stderr == "mlc: usage: unknown schema kind 'partners'; valid kinds: connections, partner, guide, mapping, overlay, route, case\n"
    assert result.stdout == ""


def test_schema_without_a_kind_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 2
