"""YAML with positions: the libyaml fast path keeps lines and columns, duplicate keys are
recorded, unreadable files are findings-ready errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.source import YamlFileError, load_yaml, parse_yaml


def test_positions_of_keys_and_values_are_one_based() -> None:
    source = parse_yaml("a:\n  b: [1, {c: x}]\n", "f.yaml")
    assert str(source.where(("a", "b", 1, "c"))) == "f.yaml:2:14"
    assert str(source.where(("a", "b"), key=True)) == "f.yaml:2:3"
    assert str(source.where(("a", "missing"))) == "f.yaml:2:3", "a missing key falls back to its parent"


def test_a_key_written_twice_is_recorded_at_the_second_one() -> None:
    source = parse_yaml("x12:\n  id: A\n  qualifier: ZZ\n  id: B\n", "p.yaml")
    assert source.data == {"x12": {"id": "B", "qualifier": "ZZ"}}
    assert source.duplicates == [(("x12", "id"), (4, 3))]


@pytest.mark.parametrize(
    ("text", "location", "code"),
    [
        pytest.param("a: [1, 2\n", "f.yaml:2:1", "yaml-syntax", id="unclosed-flow"),
        pytest.param("a: 1\n b: 2\n", "f.yaml:2:3", "yaml-syntax", id="bad-indentation"),
        pytest.param("a: *nowhere\n", "f.yaml:1:4", "yaml-syntax", id="unknown-alias"),
    ],
)
def test_syntax_errors_carry_location_and_code(text: str, location: str, code: str) -> None:
    with pytest.raises(YamlFileError) as caught:
        parse_yaml(text, "f.yaml")
    assert (str(caught.value.location), caught.value.code) == (location, code)
    assert str(caught.value).startswith(f"{location}: error {code} ")


def test_a_file_that_is_not_utf8_is_an_encoding_error(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(YamlFileError) as caught:
        load_yaml(tmp_path / "p.yaml", "partners/p.yaml")
    assert (str(caught.value.location), caught.value.code) == ("partners/p.yaml:1:1", "yaml-encoding")
