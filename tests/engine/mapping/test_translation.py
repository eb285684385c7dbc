"""Translated values render what Jinja renders, over whole mappings.

Every shipped mapping renders each of its golden inputs (each transaction of an X12 input),
and mutations of them (fields and segments removed, set to None, to numbers, to other or
overlong text, lists emptied or cut), twice: with the translated values
(`engine.mapping.expressions`) and through Jinja alone (`translation(False)`). Both give the
same segments and notes, or payload, or the same error message; for outbound mappings also the
same interchange or refusal after the definition check.
"""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config.project import load_project
from engine.errors import MappingError
from engine.mapping.compile import CompiledMapping
from engine.mapping.inbound import render_payload
from engine.mapping.outbound import Controls, render_outbound, render_segments
from engine.mapping.templates import translation
from engine.x12.document import CheckedTransaction, group_facts, interchange_facts, walk
from tests.engine.mapping.mapping_support import NOW, compiled, partner

ROOT = Path(__file__).resolve().parents[3]
PROJECT = load_project(ROOT)
OUTBOUND = sorted(name for name, mapping in PROJECT.mappings.items() if mapping.direction == "outbound")
PAYLOADS = sorted(name for name, mapping in PROJECT.mappings.items() if mapping.direction != "outbound")


def _both(outcome: Callable[[], tuple[str, Any]]) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """The outcome with translated values, and through Jinja alone."""
    fast = outcome()
    with translation(False):
        return fast, outcome()


def _segments(mapping: CompiledMapping, doc: Any, profile: dict[str, Any], truncate: bool = True) -> tuple[str, Any]:
    try:
        segments, notes = render_segments(mapping, doc, partner=profile, now=NOW, controls=Controls(7, 7, 7), truncate=truncate)
    except MappingError as exc:
        return "error", exc.message
    return "rendered", (segments, notes)


def _interchange(mapping: CompiledMapping, doc: Any, profile: dict[str, Any]) -> tuple[str, Any]:
    """The whole render (definition check and envelope included): text and notes, or error."""
    try:
        rendered = render_outbound(mapping, doc, partner=profile, now=NOW, controls=Controls(7, 7, 7))
    except MappingError as exc:
        return "error", exc.message
    return "rendered", (rendered.text, rendered.notes)


def _payload(mapping: CompiledMapping, doc: Any, profile: dict[str, Any], envelope: dict[str, Any]) -> tuple[str, Any]:
    try:
        payload = render_payload(mapping, doc, partner=profile, now=NOW, **envelope)
    except MappingError as exc:
        return "error", exc.message
    return "payload", json.dumps(payload, sort_keys=False, default=repr)


def _places(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a document."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found += _places(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            found += _places(item)
    return found


def _mutations(doc: Any, seed: int, count: int = 40) -> list[Any]:
    """The document, and copies with one field changed at a time (top level and nested)."""
    rng = random.Random(seed)
    out = [doc]
    for _ in range(count):
        mutated = copy.deepcopy(doc)
        targets = _places(mutated)
        if not targets:
            break
        container, key = rng.choice(targets)
        change = rng.choice(["delete", "none", "number", "text", "overlong", "empty", "cut", "bad-date"])
        if change == "delete":
            del container[key]
        elif change == "none":
            container[key] = None
        elif change == "number":
            container[key] = rng.choice([0, 7, 12.5, -3, 10**20, True])
        elif change == "text":
            container[key] = rng.choice(["ST", "BP", "F", "X", "UNKNOWN", "002", "O", "I"])
        elif change == "overlong":
            container[key] = "X" * 400
        elif change == "empty":
            container[key] = [] if isinstance(container[key], list) else ""
        elif change == "cut" and isinstance(container[key], list) and container[key]:
            container[key] = container[key][:1]
        else:
            container[key] = "20241301"
        out.append(mutated)
    return out


def _settings(case: Path) -> dict[str, Any]:
    return yaml.safe_load((case / "case.yaml").read_text()) if (case / "case.yaml").is_file() else {}


def _inputs(name: str) -> list[tuple[Any, dict[str, Any], dict[str, Any]]]:
    found = []
    for case in sorted((ROOT / "mappings" / name / "cases").iterdir()):
        profile = PROJECT.partners[_settings(case).get("partner", "acme")].data
        if (case / "input.json").is_file():
            found.append((json.loads((case / "input.json").read_text()), profile, {}))
            continue
        for event in walk(io.BytesIO((case / "input.edi").read_bytes()), "case"):
            if isinstance(event, CheckedTransaction):
                group = event.raw.group
                envelope = {"interchange": interchange_facts(group.interchange), "group": group_facts(group)}
                found.append((event.parsed.tree, profile, envelope))
    return found


@pytest.mark.parametrize("name", OUTBOUND)
def test_an_outbound_mapping_renders_with_translations_what_it_renders_through_jinja(name: str) -> None:
    mapping = PROJECT.mappings[name]
    for seed, (doc, profile, _) in enumerate(_inputs(name)):
        for variant in _mutations(doc, seed):
            for truncate in (True, False):
                fast, jinja = _both(lambda: _segments(mapping, variant, profile, truncate))  # noqa: B023
                assert fast == jinja
            fast, jinja = _both(lambda: _interchange(mapping, variant, profile))  # noqa: B023
            assert fast == jinja


@pytest.mark.parametrize("name", PAYLOADS)
def test_a_payload_mapping_renders_with_translations_what_it_renders_through_jinja(name: str) -> None:
    mapping = PROJECT.mappings[name]
    for seed, (doc, profile, envelope) in enumerate(_inputs(name)):
        for variant in _mutations(doc, seed):
            fast, jinja = _both(lambda: _payload(mapping, variant, profile, envelope))  # noqa: B023
            assert fast == jinja


def test_a_truncation_is_noted_once_and_a_value_that_fails_names_its_element() -> None:
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
    fast, jinja = _both(lambda: _segments(mapping, doc, partner()))
    assert fast == jinja and fast[0] == "rendered"
    assert len(fast[1][1]) == 1  # the N102 truncation, noted once
    bad = dict(doc, qty="two")
    fast, jinja = _both(lambda: _segments(mapping, bad, partner()))
    assert fast == jinja and fast[0] == "error" and "IT102" in fast[1]


def test_a_call_only_some_paths_evaluate_is_not_evaluated() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          a: "{{ doc.flag and doc.item | xref('items') }}"
          b: "{{ doc.item | xref('items') if doc.flag else '' }}"
        """
    )
    for doc in ({"flag": False, "item": "UNKNOWN"}, {"flag": True, "item": "AC-DESK-01"}, {"flag": True, "item": "NOPE"}):
        fast, jinja = _both(lambda: _payload(mapping, doc, partner(), {}))  # noqa: B023
        assert fast == jinja
    assert _payload(mapping, {"flag": False, "item": "UNKNOWN"}, partner(), {})[0] == "payload"


def test_equal_values_get_results_of_their_own_and_lookups_hold_what_they_look_up() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          x: "{{ doc.lines | where('t', 'a') }}"
          y: "{{ doc.lines | where('t', 'a') }}"
          u: "{{ doc | dig('a.b') }}"
          v: "{{ doc | dig('a.b') }}"
        """
    )
    doc = {"lines": [{"t": "a"}], "a": {"b": [1]}}
    payload = render_payload(mapping, doc, partner=partner(), now=NOW)
    assert payload == {"x": [{"t": "a"}], "y": [{"t": "a"}], "u": [1], "v": [1]}
    assert payload["x"] is not payload["y"]  # a list each, as Jinja gives
    assert payload["u"] is doc["a"]["b"] and payload["v"] is doc["a"]["b"]  # the document's own list


def test_the_loop_variable_is_there_for_whatever_reads_it() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          numbered:
            for_each: "$.lines[*]"
            as: line
            item:
              n: "{{ loop.index }} of {{ loop.length }}"
              parts:
                for_each: "line.parts[*]"
                as: part
                when: "{{ loop.first }}"
                item: "{{ part }}"
          plain:
            for_each: "$.lines[*]"
            item: "{{ item.parts | length }}"
          outer_loop_in_a_nested_filter:
            for_each: "$.lines[*]"
            item:
              for_each: "item.parts[*]"
              as: part
              when: "{{ loop.index is defined }}"
              item: "{{ part }}"
        """
    )
    doc = {"lines": [{"parts": ["a", "b"]}, {"parts": ["c"]}]}
    fast, jinja = _both(lambda: _payload(mapping, doc, partner(), {}))
    assert fast == jinja
    assert json.loads(fast[1])["numbered"][0] == {"n": "1 of 2", "parts": ["a", "b"]}
