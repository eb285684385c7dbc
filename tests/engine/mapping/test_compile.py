from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.mapping.paths import compile_path
from tests.engine.mapping.mapping_support import findings_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """
            direction: outbound
            transaction_set: "811"
            segments: []
            """,
            "mappings/m/mapping.yaml:3:18: error mapping-definition transaction set '811' has no definition for version 004010",
            id="no-definition",
        ),
        pytest.param(
            """
            direction: outbound
            transaction_set: "810"
            segments:
              - BIG: {BIG01: "{{ doc.date", BIG02: x}
            """,
            "mappings/m/mapping.yaml:5:18: error jinja-syntax",
            id="jinja-syntax",
        ),
        pytest.param(
            """
            direction: outbound
            transaction_set: "810"
            segments:
              - BIG: {BIG01: "{{ doc.date | nosuch }}"}
            """,
            "mappings/m/mapping.yaml:5:18: error jinja-unknown-filter unknown filter 'nosuch'",
            id="unknown-filter",
        ),
        pytest.param(
            """
            direction: outbound
            transaction_set: "810"
            segments:
              - for_each: "$.lines[?(@.x ==]"
                segments: []
            """,
            "mappings/m/mapping.yaml:5:15: error jsonpath-syntax invalid JSONPath",
            id="bad-jsonpath",
        ),
        pytest.param(
            """
            direction: outbound
            transaction_set: "810"
            segments:
              - BEG: {BEG01: "00"}
            """,
            "mappings/m/mapping.yaml:5:10: error mapping-segment segment BEG is not used by this transaction set",
            id="segment-not-in-set",
        ),
        pytest.param(
            """
            direction: outbound
            transaction_set: "810"
            segments:
              - BIG: {BIG99: "x"}
            """,
            "mappings/m/mapping.yaml:5:18: error mapping-element BIG has 10 elements; there is no BIG99",
            id="element-out-of-range",
        ),
        pytest.param(
            """
            direction: outbound
            transaction_set: "810"
            segments:
              - BIG: {IT101: "x"}
            """,
            "mappings/m/mapping.yaml:5:18: error mapping-element 'IT101' is not an element id of BIG",
            id="element-of-another-segment",
        ),
        pytest.param(
            """
            direction: outbound
            transaction_set: "810"
            segments:
              - SE: {SE01: "1"}
            """,
            "error mapping-segment SE is written by the engine",
            id="envelope-segment",
        ),
        pytest.param(
            """
            direction: sideways
            """,
            "mappings/m/mapping.yaml:2:12: error mapping-direction direction must be one of outbound, inbound, json",
            id="bad-direction",
        ),
        pytest.param(
            """
            direction: json
            output:
              lines: {for_each: "$.x[*]", as: doc, item: "{{ doc }}"}
            """,
            "error mapping-alias 'as: doc' would hide the reserved name 'doc'",
            id="reserved-alias",
        ),
        pytest.param(
            """
            name: other
            direction: json
            output: {}
            """,
            "mappings/m/mapping.yaml:2:7: error mapping-name the mapping is in mappings/m/ but is named 'other'",
            id="name-mismatch",
        ),
    ],
)
def test_compile_reports_problems_where_they_were_written(text: str, expected: str) -> None:
    findings = findings_of(text)
    assert any(expected in line for line in findings), findings


def test_compile_reports_every_problem_at_once() -> None:
    findings = findings_of(
        """
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {BIG01: "{{ x | nosuch }}", BIG02: "{{ y"}
          - for_each: "$[?("
            segments:
              - IT1: {IT199: "1"}
        """
    )
    assert len(findings) == 4, findings


SELECTION_DOCS: list[Any] = [
    {"lines": [{"t": "Item", "n": 1}, {"t": "Comment"}, {"n": 3}, {"t": "Item", "n": 4}]},
    {"lines": [{"t": "Comment"}]},
    {"lines": []},
    {"lines": [{"t": None}, {"t": "Item"}]},
    {"lines": [{"t": 5}, {"t": True}, {"t": ["Item"]}]},
    {"lines": ["Item", {"t": "Item"}]},
    {"lines": [[{"t": "Item"}]]},
    {"lines": {"a": {"t": "Item"}, "b": {"t": "Comment"}}},
    {"lines": None},
    {"lines": "Item"},
    {"other": []},
    {"a": {"lines": [{"t": "Item"}]}},
    [],
    None,
]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("$.lines[?(@.t != 'Comment')]", id="not-equal"),
        pytest.param("$.lines[?(@.t == 'Item')]", id="equal"),
        pytest.param("$.a.lines[?(@.t == 'Item')]", id="nested"),
        pytest.param("$.lines[?(@.t=='')]", id="empty-text"),
    ],
)
def test_a_simple_filter_path_selects_what_jsonpath_ng_selects(path: str) -> None:
    compiled = compile_path(path)
    assert compiled.selection is not None
    slow = replace(compiled, selection=None)
    for doc in SELECTION_DOCS:
        assert compiled.items({"doc": doc}, "here") == slow.items({"doc": doc}, "here"), doc


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("$.lines[?(@.t == 5)]", id="number"),
        pytest.param("$.lines[?(@.t > 'A')]", id="ordering"),
        pytest.param("$.lines[?(@.t == 'Item' && @.n == 'x')]", id="two-conditions"),
    ],
)
def test_other_filter_paths_are_left_to_jsonpath_ng(path: str) -> None:
    assert compile_path(path).selection is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["I", "O", "x", ""]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["HL_loop", "HL", "HL03", "t", "n"]), children, max_size=4),
    max_leaves=30,
)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("$..HL_loop", id="descent"),
        pytest.param("$..HL_loop[*]", id="descent-wildcard"),
        pytest.param("$..HL_loop[?(@.HL.HL03 == 'I')]", id="descent-nested-filter"),
        pytest.param("$..HL_loop[?(@.t != 'x')]", id="descent-not-equal"),
        pytest.param("$.HL_loop[?(@.HL.HL03 == 'O')]", id="nested-field-filter"),
        pytest.param("item..HL_loop[?(@.HL.HL03 == 'I')]", id="descent-from-a-variable"),
    ],
)
@settings(max_examples=300, deadline=None)
@given(doc=json_values)
def test_a_descent_or_filter_read_directly_finds_what_jsonpath_ng_finds(path: str, doc: Any) -> None:
    compiled = compile_path(path)
    assert compiled.descent is not None or compiled.selection is not None
    slow = replace(compiled, selection=None, descent=None)
    context = {"doc": doc, "item": doc}
    assert compiled.items(context, "here") == slow.items(context, "here")
