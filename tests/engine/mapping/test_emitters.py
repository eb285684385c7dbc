"""The generated renderer of an outbound mapping renders what the value-by-value walk renders.

Every shipped outbound mapping renders each of its golden inputs, and mutations of them
(fields removed, set to None, to numbers, to overlong text, lines removed), both ways: the
same segments and notes, or the same error message, and the same interchange or refusal
after the definition check. And a segment whose generated code
raises part-way forgets what it recorded before the value-by-value walk renders it again.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config.project import load_project
from engine.errors import MappingError
from engine.mapping.compile import CompiledMapping
from engine.mapping.outbound import Controls, render_outbound, render_segments
from tests.engine.mapping.mapping_support import NOW, compiled, partner

ROOT = Path(__file__).resolve().parents[3]
PROJECT = load_project(ROOT)
OUTBOUND = sorted(name for name, mapping in PROJECT.mappings.items() if mapping.direction == "outbound")


def _outcome(mapping: CompiledMapping, doc: Any, profile: dict[str, Any], truncate: bool = True) -> tuple[str, Any]:
    try:
        segments, notes = render_segments(
            mapping, doc, partner=profile, now=NOW, controls=Controls(7, 7, 7), truncate=truncate
        )
    except MappingError as exc:
        return "error", exc.message
    return "rendered", (segments, notes)


def _places(value: Any) -> list[tuple[Any, str]]:
    """Every (object, key) in a document."""
    found: list[tuple[Any, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found += _places(item)
    elif isinstance(value, list):
        for item in value:
            found += _places(item)
    return found


def _interchange(mapping: CompiledMapping, doc: Any, profile: dict[str, Any]) -> tuple[str, Any]:
    """The whole render (definition check and envelope included): text and notes, or error."""
    try:
        rendered = render_outbound(mapping, doc, partner=profile, now=NOW, controls=Controls(7, 7, 7))
    except MappingError as exc:
        return "error", exc.message
    return "rendered", (rendered.text, rendered.notes)


def _mutations(doc: Any, seed: int) -> list[Any]:
    """The document, and copies with one field changed at a time (top level and in lines)."""
    rng = random.Random(seed)
    out = [doc]
    for _ in range(40):
        mutated = copy.deepcopy(doc)
        targets = _places(mutated)
        if not targets:
            break
        container, key = rng.choice(targets)
        change = rng.choice(["delete", "none", "number", "overlong", "empty", "list"])
        if change == "delete":
            del container[key]
        elif change == "none":
            container[key] = None
        elif change == "number":
            container[key] = rng.choice([0, 7, 12.5, -3, 10**20, True])
        elif change == "overlong":
            container[key] = "X" * 400
        elif change == "empty":
            container[key] = ""
        elif isinstance(container[key], list) and container[key]:
            container[key] = container[key][:1]
        out.append(mutated)
    return out


def _cases(name: str) -> list[tuple[Any, dict[str, Any]]]:
    found = []
    for case in sorted((ROOT / "mappings" / name / "cases").iterdir()):
        settings = yaml.safe_load((case / "case.yaml").read_text()) if (case / "case.yaml").is_file() else {}
        profile = PROJECT.partners[settings.get("partner", "acme")].data
        found.append((json.loads((case / "input.json").read_text()), profile))
    return found


@pytest.mark.parametrize("name", OUTBOUND)
def test_the_generated_renderer_renders_what_the_walk_renders(name: str) -> None:
    mapping = PROJECT.mappings[name]
    assert mapping.renderer is not None
    walk = replace(mapping, renderer=None)
    for seed, (doc, profile) in enumerate(_cases(name)):
        for variant in _mutations(doc, seed):
            for truncate in (True, False):
                assert _outcome(mapping, variant, profile, truncate) == _outcome(walk, variant, profile, truncate)
            # the walk's body goes through the whole definition check, the renderer's through
            # the checkers of its places and the order of its segments
            assert _interchange(mapping, variant, profile) == _interchange(walk, variant, profile)


def test_a_segment_that_fails_part_way_forgets_its_notes_before_the_walk_renders_it() -> None:
    mapping = compiled(
        """
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {BIG01: "{{ doc.date }}", BIG02: "{{ doc.number }}"}
          - N1: {N101: ST, N102: "{{ doc.name }}", N103: "92", N104: "{{ doc.id | default('7') }}"}
          - IT1: {IT101: "1", IT102: "{{ doc.qty }}", IT103: EA, IT104: "1", IT106: VP, IT107: X}
          - TDS: {TDS01: "1"}
          - CTT: {CTT01: "1"}
        """
    )
    doc = {"date": "2024-05-03", "number": "1", "name": "N" * 80, "qty": 2}
    rendered = _outcome(mapping, doc, partner())
    assert rendered == _outcome(replace(mapping, renderer=None), doc, partner())
    assert rendered[0] == "rendered"
    assert len(rendered[1][1]) == 1  # the N102 truncation, noted once
    bad = dict(doc, qty="two")
    failed = _outcome(mapping, bad, partner())
    assert failed == _outcome(replace(mapping, renderer=None), bad, partner())
    assert failed[0] == "error" and "IT102" in failed[1]


def test_a_call_only_some_paths_evaluate_is_not_evaluated_ahead() -> None:
    mapping = compiled(
        """
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {BIG01: "20240503", BIG02: "1"}
          - IT1:
              IT101: "1"
              IT102: "1"
              IT103: EA
              IT104: "1"
              IT106: VP
              IT107: "{{ doc.item }}"
              IT108: "{{ 'BP' if doc.known and doc.item | xref('items') else '' }}"
              IT109: "{{ doc.known and doc.item | xref('items') or '' }}"
          - TDS: {TDS01: "1"}
          - CTT: {CTT01: "1"}
        """
    )
    for doc in ({"item": "UNKNOWN", "known": False}, {"item": "1896-S", "known": True}, {"item": "NOPE", "known": True}):
        assert _outcome(mapping, doc, partner()) == _outcome(replace(mapping, renderer=None), doc, partner())
    assert _outcome(mapping, {"item": "UNKNOWN", "known": False}, partner())[0] == "rendered"
