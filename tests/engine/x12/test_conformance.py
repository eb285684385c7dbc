"""`conforms` says yes only to a transaction `parse_transaction` finds no error in.

The bodies are the shipped outbound golden files, as rendered, and mutations of them: segments
dropped, repeated, swapped, unknown ids, element values emptied or replaced by junk, composites
as lists. Whenever `conforms` says yes, the full check must find no error; the clean golden
bodies must get a yes (or the fast path would never be taken).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from x12_support import file_segments

from engine.x12 import definition
from engine.x12.conformance import conforms
from engine.x12.definition import TransactionSetDef
from engine.x12.structure import parse_transaction, structure_problems

ROOT = Path(__file__).resolve().parents[3]


def _golden_bodies() -> list[tuple[str, list[list[Any]]]]:
    bodies = []
    for path in sorted(ROOT.glob("mappings/*/cases/*/expected.edi")):
        segments = file_segments(path)
        st_index = next(i for i, s in enumerate(segments) if s[0] == "ST")
        se_index = next(i for i, s in enumerate(segments) if s[0] == "SE")
        body: list[list[Any]] = [[v.split(">") if ">" in v else v for v in s] for s in segments[st_index + 1 : se_index]]
        bodies.append((segments[st_index][1], body))
    return bodies


BODIES = _golden_bodies()


def _definition(set_id: str) -> TransactionSetDef:
    found = definition.load("004010", set_id)
    assert found is not None
    return found


def _errors(body: list[list[Any]], set_def: TransactionSetDef) -> list[Any]:
    """What the outbound check runs: ST + body (trailing empties trimmed, lists joined) + SE."""
    segments: list[list[str]] = [["ST", set_def.id, "0001"]]
    for segment in body:
        end = len(segment)
        while end > 1 and segment[end - 1] in ("", []):
            end -= 1
        segments.append([v if isinstance(v, str) else ">".join(v) for v in segment[:end]])
    segments.append(["SE", str(len(body) + 2), "0001"])
    parsed = parse_transaction(segments, set_def, ">", 1, "004010")
    return [p for p in parsed.problems if p.level == "error"]


def test_the_shipped_golden_bodies_conform() -> None:
    assert BODIES
    for set_id, body in BODIES:
        set_def = _definition(set_id)
        assert _errors(body, set_def) == []
        assert conforms(body, set_def) or set_id == "856"


JUNK = st.sampled_from(["", "X", "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "20241301", "12.5", "-", "ZZ", "0960", [], ["EA", "1"], [""]])


@st.composite
def mutated(draw: st.DrawFn) -> tuple[TransactionSetDef, list[list[Any]]]:
    set_id, golden = draw(st.sampled_from(BODIES))
    body = [list(segment) for segment in golden]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["drop", "repeat", "swap", "unknown", "value", "value", "value", "extra"]))
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        if kind == "drop":
            del body[at]
        elif kind == "repeat":
            body.insert(at, list(body[at]))
        elif kind == "swap":
            other = draw(st.integers(0, len(body) - 1))
            body[at], body[other] = body[other], body[at]
        elif kind == "unknown":
            body.insert(at, [draw(st.sampled_from(["ZZZ", "BEG", "IT1", "HL", "LIN", "N1", "ISA"])), "X"])
        elif kind == "value" and len(body[at]) > 1:
            position = draw(st.integers(1, len(body[at]) - 1))
            body[at][position] = draw(JUNK)
        elif kind == "extra":
            body[at] = [*body[at], *([""] * draw(st.integers(0, 30))), draw(JUNK)]
    return _definition(set_id), body


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated())
def test_conforms_says_yes_only_when_the_full_check_finds_no_error(case: tuple[TransactionSetDef, list[list[Any]]]) -> None:
    set_def, body = case
    if conforms(body, set_def):
        assert _errors(body, set_def) == []


@pytest.mark.parametrize(
    ("tags", "found"),
    [
        pytest.param(["BIG", "IT1", "TDS", "CTT"], [], id="clean"),
        pytest.param(["IT1", "TDS"], ["3"], id="mandatory-missing"),
        pytest.param(["BIG", "IT1", "BIG", "TDS"], ["7"], id="out-of-order"),
        pytest.param(["BIG", "ZZZ", "IT1", "TDS"], ["1"], id="unknown"),
    ],
)
def test_structure_problems_come_from_the_segment_ids_alone(tags: list[str], found: list[str]) -> None:
    codes = [p.code for p in structure_problems(tags, _definition("810"))]
    assert codes == found
