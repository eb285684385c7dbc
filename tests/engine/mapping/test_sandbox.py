"""Mapping evaluation is bounded: a runaway value ends in a MappingError naming its mapping
line, at render, both with translations and through Jinja alone; never a MemoryError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import MappingError
from engine.mapping.inbound import render_payload
from engine.mapping.sandbox import limits
from engine.mapping.templates import translation
from tests.engine.mapping.mapping_support import NOW, compiled, partner


def _render(value: str, doc: Any = None) -> Any:
    mapping = compiled("direction: json\noutput:\n  v: " + json.dumps(value) + "\n")
    return render_payload(mapping, doc or {}, partner=partner(), now=NOW)["v"]


RUNAWAYS = [
    pytest.param("{{ 'x' * 10**10 }}", "10,000,000,000 long", id="text-repetition"),
    pytest.param("{{ 2 ** 1000000000 }}", "bits", id="exponent"),
    pytest.param("{{ (10 ** 100) ** (10 ** 6) }}", "bits", id="exponent-of-a-big-base"),
    pytest.param("{{ '%999999999s' % 'a' }}", "width or precision", id="percent-width"),
    pytest.param("{{ '%.999999999f' % 1.5 }}", "width or precision", id="percent-precision"),
    pytest.param("{{ '{:>999999999}'.format('a') }}", "width or precision", id="format-width"),
    pytest.param("{{ '%99999999999d' | format(1) }}", "width or precision", id="format-filter"),
    pytest.param("{{ [0] * 10**9 }}", "list * 1000000000", id="list-repetition"),
    pytest.param("{{ 'x' | center(10**10) }}", "a width of", id="center-filter"),
    pytest.param("{{ 'x'.ljust(10000000000) }}", "ljust()", id="str-method"),
    pytest.param("{{ ('x' * 1000000) | replace('x', 'y' * 20) }}", "replace()", id="replace"),
    pytest.param("{{ 'x' | pad(10**10) }}", "a width of", id="pad-filter"),
    pytest.param(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "loop iterations and calls",
        id="nested-loops",
    ),
    pytest.param(
        "{% set ns = namespace(x='ab') %}{% for i in range(100) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}",
        "long",
        id="doubling-in-a-namespace",
    ),
    pytest.param("{{ range(10**9) | list }}", "MAX_RANGE", id="range"),
]


@pytest.mark.parametrize(("value", "says"), RUNAWAYS)
@pytest.mark.parametrize("translated", [True, False], ids=["translated", "jinja"])
def test_a_runaway_value_fails_naming_its_mapping_line(value: str, says: str, translated: bool) -> None:
    with limits(iterations=200_000), translation(translated), pytest.raises(MappingError) as raised:
        _render(value)
    assert raised.value.message.startswith("document: mappings/m/mapping.yaml:3 (v): ")
    assert says in raised.value.message


def test_a_recursive_macro_stops_at_the_time_limit() -> None:
    value = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% else %}x{% endif %}{% endmacro %}{{ f(60) }}"
    with limits(seconds=0), pytest.raises(MappingError, match=r"mapping.yaml:3 \(v\): rendering one document took more than 0 s"):
        _render(value)


def test_loops_over_a_big_document_stop_at_the_iteration_limit_naming_the_loop() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          pairs:
            for_each: "$.lines[*]"
            as: a
            item:
              for_each: "$.lines[*]"
              as: b
              item: "{{ a }}{{ b }}"
        """
    )
    with limits(iterations=1000), pytest.raises(MappingError, match=r"mappings/m/mapping.yaml:8: rendering one document took more than 1,000 loop"):
        render_payload(mapping, {"lines": list(range(100))}, partner=partner(), now=NOW)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("{{ 'ab' * 3 }}", "ababab", id="repetition"),
        pytest.param("{{ 2 ** 10 }}", 1024, id="power"),
        pytest.param("{{ '%05d' % 42 }}", "00042", id="percent"),
        pytest.param("{{ '{:>4}'.format('a') }}", "   a", id="format"),
        pytest.param("{{ 'a' | center(5) }}", "  a  ", id="center"),
        pytest.param("{{ [1, 2] | join('-') }}", "1-2", id="join"),
        pytest.param("{% for i in range(3) %}{{ i }}{% endfor %}", "012", id="loop"),
    ],
)
def test_ordinary_values_are_not_refused(value: str, expected: Any) -> None:
    for translated in (True, False):
        with translation(translated):
            assert _render(value) == expected
