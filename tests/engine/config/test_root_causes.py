"""Errors report root causes first: a broken file is one error, its YAML problem in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import ACME, ENVIRON, write_project

from engine.config.project import validate_project
from engine.config.source import YamlFileError, parse_yaml

CASE = """\
partner: acme
"""


def test_a_partner_file_with_a_yaml_error_is_one_error_not_followed_by_unknown_partner_errors(tmp_path: Path) -> None:
    broken = ACME.replace("name: Acme Retail Inc.", "name: [Acme Retail Inc.")
    root = write_project(
        tmp_path,
        {
            "partners/acme.yaml": broken,
            "mappings/invoice-810/cases/one/case.yaml": CASE,
            "mappings/invoice-810/cases/one/input.json": "{}",
            "mappings/invoice-810/cases/one/expected.edi": "",
        },
    )
    _, findings = validate_project(root, ENVIRON)
    errors = [f.line() for f in findings if f.level == "error"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("partners/acme.yaml:2:4: error yaml-syntax a list opened with [ is not closed here")


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        pytest.param("a: [x, y\nb: 1\n", "a list opened with [ is not closed here", id="open-list"),
        pytest.param("a: b: c\n", "a ': ' inside a value starts another key here", id="colon-in-value"),
        pytest.param("a:\n\tb: 1\n", "a character that cannot start a value here: a tab used for indentation", id="tab"),
        pytest.param("a: *nothing\n", "an alias (*name) refers to no anchor (&name) written above it", id="alias"),
        pytest.param('a: "open\n', "the file ends inside a quoted text: a quote is not closed", id="open-quote"),
    ],
)
def test_yaml_problems_are_said_in_plain_words_with_pyyamls_own_after_them(text: str, plain: str) -> None:
    with pytest.raises(YamlFileError) as caught:
        parse_yaml(text, "f.yaml")
    assert caught.value.detail.startswith(plain) and "(YAML: " in caught.value.detail
