"""`${NAME}` / `${NAME:default}` / `$${` interpolation of YAML values."""

from __future__ import annotations

import pytest

from engine.config.env import expand, interpolate
from engine.config.source import parse_yaml

ENV = {"HOST": "bc.example", "EMPTY": "", "PORT": "8443"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain text", "plain text", id="no-reference"),
        pytest.param("https://${HOST}/api", "https://bc.example/api", id="set-variable"),
        pytest.param("${MISSING:http://127.0.0.1:8765}", "http://127.0.0.1:8765", id="default-when-unset"),
        pytest.param("${HOST:ignored}", "bc.example", id="variable-wins-over-default"),
        pytest.param("${EMPTY:default}", "", id="set-but-empty-keeps-empty"),
        pytest.param("${MISSING:}", "", id="empty-default"),
        pytest.param("$${HOST}", "${HOST}", id="dollar-dollar-is-literal"),
        pytest.param("cost: $5 ${PORT}", "cost: $5 8443", id="lone-dollar-kept"),
        pytest.param("${HOST}:${PORT}", "bc.example:8443", id="two-references"),
    ],
)
def test_expand_replaces_references(text: str, expected: str) -> None:
    assert expand(text, ENV) == (expected, [])


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("${MISSING}", "env-undefined", id="unset-without-default"),
        pytest.param("${not a name}", "env-syntax", id="bad-name"),
        pytest.param("${HOST", "env-syntax", id="unclosed"),
    ],
)
def test_expand_reports_bad_references_and_keeps_the_text(text: str, code: str) -> None:
    value, problems = expand(text, ENV)
    assert value == text
    assert [c for c, _ in problems] == [code]


def test_undefined_variable_message_names_the_variable_and_the_fix() -> None:
    _, problems = expand("${BC_SECRET_NAME}", {})
    assert "BC_SECRET_NAME is not set" in problems[0][1]
    assert "${BC_SECRET_NAME:default}" in problems[0][1]


def test_interpolate_reports_each_undefined_variable_at_its_value() -> None:
    source = parse_yaml("a:\n  b: ${ONE}\n  list:\n    - x\n    - ${TWO} and ${THREE:3}\n", "f.yaml")
    result, findings = interpolate(source, {})
    assert [f.line() for f in findings] == [
        "f.yaml:2:6: error env-undefined the environment variable ONE is not set and ${ONE} has no default (write ${ONE:default})",
        "f.yaml:5:7: error env-undefined the environment variable TWO is not set and ${TWO} has no default (write ${TWO:default})",
    ]
    assert result.data == {"a": {"b": "${ONE}", "list": ["x", "${TWO} and 3"]}}


def test_interpolate_touches_values_not_keys_and_keeps_positions() -> None:
    source = parse_yaml("${KEY}: ${HOST}\nport: 5\n", "f.yaml")
    result, findings = interpolate(source, ENV)
    assert findings == []
    assert result.data == {"${KEY}": "bc.example", "port": 5}
    assert str(result.where(("port",))) == "f.yaml:2:7"
    assert source.data == {"${KEY}": "${HOST}", "port": 5}, "the original source is left as it was"


def test_a_value_that_is_only_a_reference_stays_text() -> None:
    result, _ = interpolate(parse_yaml("page_size: ${PAGE:100}\n", "f.yaml"), {})
    assert result.data == {"page_size": "100"}


def test_interpolate_uses_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_TEST_ONLY_VARIABLE", "from-env")
    result, findings = interpolate(parse_yaml("v: ${MLC_TEST_ONLY_VARIABLE}\n", "f.yaml"))
    assert (result.data, findings) == ({"v": "from-env"}, [])
