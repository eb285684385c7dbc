"""Replaying a known sequence of segment ids builds the tree and finds the problems `walk` does.

The bodies are the X12 files of the shipped golden cases and mutations of them (segments
dropped, repeated, moved, element values changed): each is read twice by `_Walker.read` (the
second read replays the program the first one recorded) and once by `_Walker.walk`, and all
three give the same tree and the same problems, in the same order.
"""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from x12_support import file_segments

from engine.x12 import definition
from engine.x12.structure import _Walker

ROOT = Path(__file__).resolve().parents[3]


def _bodies() -> list[tuple[str, list[list[str]]]]:
    found = []
    for path in sorted([*ROOT.glob("mappings/*/cases/*/input.edi"), *ROOT.glob("mappings/*/cases/*/expected.edi")]):
        segments = file_segments(path)
        start = None
        for index, segment in enumerate(segments):
            if segment[0] == "ST":
                start = index
            elif segment[0] == "SE" and start is not None:
                found.append((segments[start][1], segments[start : index + 1]))
                start = None
    return found


BODIES = _bodies()


def _three_ways(set_id: str, segments: list[list[str]]) -> None:
    set_def = definition.load("004010", set_id)
    assert set_def is not None
    walked = _Walker(set_def, ">")
    tree = walked.walk(copy.deepcopy(segments), 1)
    for _ in range(2):
        read = _Walker(set_def, ">")
        assert read.read(copy.deepcopy(segments), 1) == tree
        assert read.problems == walked.problems


def test_the_golden_bodies_read_the_same_when_replayed() -> None:
    assert {set_id for set_id, _ in BODIES} >= {"810", "850", "855", "856", "997"}
    for set_id, segments in BODIES:
        _three_ways(set_id, segments)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    set_id, golden = draw(st.sampled_from(BODIES))
    segments = [list(segment) for segment in golden]
    for _ in range(draw(st.integers(0, 3))):
        body = len(segments) - 2
        if body < 1:
            break
        at = draw(st.integers(1, body))
        kind = draw(st.sampled_from(["drop", "repeat", "move", "value", "value", "extra"]))
        if kind == "drop":
            del segments[at]
        elif kind == "repeat":
            segments.insert(at, list(segments[at]))
        elif kind == "move":
            segments.insert(draw(st.integers(1, body)), segments.pop(at))
        elif kind == "value" and len(segments[at]) > 1:
            position = draw(st.integers(1, len(segments[at]) - 1))
            segments[at][position] = draw(st.sampled_from(["", "X", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "20241301", "A>B", "-1.5"]))
        else:
            segments[at] = [*segments[at], "", "surplus"]
    return set_id, segments


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated())
def test_a_mutated_body_reads_the_same_when_replayed(case: tuple[str, list[list[str]]]) -> None:
    _three_ways(*case)
