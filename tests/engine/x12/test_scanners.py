"""A segment's scanner passes only what the full element check passes, and reads it the same.

Every segment of the 004010 dictionary is fed values of every kind (valid, empty, too short,
too long, bad codes, bad dates and times, signs and points, component separators, surplus
elements, composites given as lists): when the scanner returns a tree object, the ordinary
reading of the same segment must report no problem and build the same object.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.x12 import definition
from engine.x12.definition import CompositeDef, ElementDef, SegmentDef
from engine.x12.problems import Problem
from engine.x12.scanners import checker, scanner
from engine.x12.segments import ElementReader

DICTIONARY = definition.segment_dictionary("004010")


def _valid(spec: ElementDef) -> st.SearchStrategy[str]:
    if spec.codes:
        return st.sampled_from(sorted(spec.codes))
    kind = spec.type
    if kind == "DT":
        return st.sampled_from(["20240502", "240502", "20240229", "20230229", "20241301"])
    if kind == "TM":
        return st.sampled_from(["0930", "093015", "09301599", "2400", "0960"])
    if kind == "R":
        return st.sampled_from(["12.5", "-3", "0", ".5", "5.", "1234567890123", "1e5", "-"])
    if kind.startswith("N"):
        return st.sampled_from(["1", "-42", "0007", "12345678901234567890", "1.5", "x"])
    low, high = spec.min_len, spec.max_len
    return st.integers(low, high).map(lambda n: "A" * n)


def _value(spec: ElementDef | CompositeDef | None, clean: bool) -> st.SearchStrategy[Any]:
    if clean:  # a valid value or none: mostly segments without a problem
        valid = _valid(spec.components[0] if isinstance(spec, CompositeDef) else spec) if spec is not None else st.just("")
        return st.one_of(st.just(""), valid, valid)
    junk = st.text(alphabet="0123456789-.ABZaz >", max_size=12)
    if spec is None:
        return st.one_of(st.just(""), junk)
    if isinstance(spec, CompositeDef):
        first = spec.components[0]
        return st.one_of(st.just(""), junk, _valid(first), st.builds(lambda a, b: f"{a}>{b}", _valid(first), junk))
    edges = [""]
    if spec.min_len > 1:
        edges.append("A" * (spec.min_len - 1))
    edges.append("9" * (spec.max_len + 1))
    valid = _valid(spec)
    return st.one_of(valid, valid, valid, valid, valid, valid, st.sampled_from(edges), junk, valid.map(lambda v: v + ">x"))


@st.composite
def segments(draw: st.DrawFn) -> tuple[SegmentDef, list[Any]]:
    segment = draw(st.sampled_from(sorted(DICTIONARY.values(), key=lambda s: s.id)))
    length = draw(st.integers(0, len(segment.elements) + 2))
    clean = draw(st.booleans())
    values = [
        draw(_value(segment.elements[i] if i < len(segment.elements) else None, clean)) for i in range(length)
    ]
    return segment, [segment.id, *values]


def _full_read(segment: SegmentDef, seg: list[str]) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    tree = ElementReader(">", problems).read(seg, segment, 1, 1)
    return tree, problems


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(segments())
def test_a_scanned_segment_has_no_problem_and_the_same_tree(case: tuple[SegmentDef, list[str]]) -> None:
    segment, seg = case
    tree, problems = _full_read(segment, seg)
    scanned = scanner(segment)(seg, ">")
    if scanned is not None:
        assert problems == []
        assert scanned == tree
        assert list(scanned) == list(tree)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(segments(), st.data())
def test_a_rendered_segment_with_lists_passes_only_what_the_full_check_passes(
    case: tuple[SegmentDef, list[str]], data: st.DataObject
) -> None:
    segment, seg = case
    rendered: list[Any] = list(seg)
    for position in range(1, len(rendered)):
        if data.draw(st.integers(0, 5)) == 0:
            rendered[position] = data.draw(st.sampled_from([[], [""], ["", ""], ["EA"], ["EA", "2"]]))
    # what the outbound check builds: trailing empties trimmed, lists joined
    end = len(rendered)
    while end > 1 and rendered[end - 1] in ("", []):
        end -= 1
    joined = [v if isinstance(v, str) else ">".join(v) for v in rendered[:end]]
    _, problems = _full_read(segment, joined)
    if scanner(segment, build=False)(rendered, ">") is not None:
        assert problems == []


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        pytest.param("PO1*1*2*EA*12.5**VP*ACME-1", {"PO101": "1", "PO102": "2", "PO103": "EA", "PO104": "12.5", "PO106": "VP", "PO107": "ACME-1"}, id="po1"),
        pytest.param("BEG*00*SA*PO-4711**20240502", {"BEG01": "00", "BEG02": "SA", "BEG03": "PO-4711", "BEG05": "20240502"}, id="beg"),
        pytest.param("N3*1200 W Industrial Dr*", {"N301": "1200 W Industrial Dr"}, id="trailing-empty"),
        pytest.param("PID*F****A>B", {"PID01": "F", "PID05": ["A", "B"]}, id="component-in-text"),
    ],
)
def test_a_clean_segment_is_read_by_its_scanner(text: str, tree: dict[str, Any]) -> None:
    seg = text.split("*")
    assert scanner(DICTIONARY[seg[0]])(seg, ">") == tree


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("BEG*00*XX*PO-4711**20240502", id="bad-code"),
        pytest.param("BEG*00*SA*PO-4711**20241301", id="bad-date"),
        pytest.param("BEG*00*SA", id="mandatory-missing"),
        pytest.param("PO1*1*2*EA*12.5**VP", id="syntax-note"),
        pytest.param("PO1*1*x*EA", id="bad-number"),
        pytest.param("CTT*1*2*3*4*5*6*7*8", id="surplus"),
        pytest.param("SLN*1**I*1*PC>1.5>2", id="composite"),
    ],
)
def test_a_segment_with_a_problem_is_left_to_the_full_check(text: str) -> None:
    seg = text.split("*")
    assert scanner(DICTIONARY[seg[0]])(seg, ">") is None


@st.composite
def places(draw: st.DrawFn) -> tuple[SegmentDef, int, dict[int, str], list[Any]]:
    """A segment definition, the width and fixed texts of a mapping's place, and a segment
    rendered there."""
    segment, values = draw(segments())
    width = draw(st.integers(0, len(segment.elements)))
    rendered: list[Any] = [segment.id, *values[:width]] + [""] * max(0, width - len(values))
    constants: dict[int, str] = {}
    for position in range(1, width + 1):
        if isinstance(rendered[position], str) and draw(st.integers(0, 2)) == 0:
            constants[position] = rendered[position]
        elif draw(st.integers(0, 8)) == 0:
            rendered[position] = draw(st.sampled_from([[], ["EA"], [""]]))
    return segment, width, constants, rendered


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(places())
def test_a_place_checker_passes_only_what_the_scanner_passes(case: tuple[SegmentDef, int, dict[int, str], list[Any]]) -> None:
    segment, width, constants, rendered = case
    if checker(segment, width, constants)(rendered):
        assert scanner(segment, build=False)(rendered, ">") is not None
