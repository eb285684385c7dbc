"""The generated builder of an inbound or JSON mapping returns what node-by-node rendering does.

Every shipped inbound and JSON mapping renders each of its golden inputs (each transaction of
an X12 input), and mutations of them (fields and segments removed, set to None, to numbers, to
other text, loops emptied), both ways: the same payload, or the same error message.
"""

from __future__ import annotations

import copy
import io
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
from engine.mapping.inbound import render_payload
from engine.x12.document import CheckedTransaction, group_facts, interchange_facts, walk
from tests.engine.mapping.mapping_support import NOW, compiled, partner

ROOT = Path(__file__).resolve().parents[3]
PROJECT = load_project(ROOT)
PAYLOADS = sorted(name for name, mapping in PROJECT.mappings.items() if mapping.direction != "outbound")


def _outcome(mapping: CompiledMapping, doc: Any, profile: dict[str, Any], envelope: dict[str, Any]) -> tuple[str, Any]:
    try:
        payload = render_payload(mapping, doc, partner=profile, now=NOW, **envelope)
    except MappingError as exc:
        return "error", exc.message
    return "payload", json.dumps(payload, sort_keys=False, default=repr)


def _inputs(name: str) -> list[tuple[Any, dict[str, Any], dict[str, Any]]]:
    found = []
    for case in sorted((ROOT / "mappings" / name / "cases").iterdir()):
        settings = yaml.safe_load((case / "case.yaml").read_text()) if (case / "case.yaml").is_file() else {}
        profile = PROJECT.partners[settings.get("partner", "acme")].data
        if (case / "input.json").is_file():
            found.append((json.loads((case / "input.json").read_text()), profile, {}))
            continue
        for event in walk(io.BytesIO((case / "input.edi").read_bytes()), "case"):
            if isinstance(event, CheckedTransaction):
                group = event.raw.group
                envelope = {"interchange": interchange_facts(group.interchange), "group": group_facts(group)}
                found.append((event.parsed.tree, profile, envelope))
    return found


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
    rng = random.Random(seed)
    out = [doc]
    for _ in range(count):
        mutated = copy.deepcopy(doc)
        targets = _places(mutated)
        if not targets:
            break
        container, key = rng.choice(targets)
        change = rng.choice(["delete", "none", "number", "text", "empty", "bad-date"])
        if change == "delete":
            del container[key]
        elif change == "none":
            container[key] = None
        elif change == "number":
            container[key] = rng.choice([0, 7, 12.5, True])
        elif change == "text":
            container[key] = rng.choice(["ST", "BP", "F", "X", "UNKNOWN", "002"])
        elif change == "empty":
            container[key] = [] if isinstance(container[key], list) else ""
        else:
            container[key] = "20241301"
        out.append(mutated)
    return out


@pytest.mark.parametrize("name", PAYLOADS)
def test_the_generated_builder_returns_what_node_by_node_rendering_returns(name: str) -> None:
    mapping = PROJECT.mappings[name]
    assert mapping.builder is not None
    nodes = replace(mapping, builder=None)
    for seed, (doc, profile, envelope) in enumerate(_inputs(name)):
        for variant in _mutations(doc, seed):
            assert _outcome(mapping, variant, profile, envelope) == _outcome(nodes, variant, profile, envelope)


def test_a_shared_call_that_fails_sends_each_value_reading_it_to_jinja() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          first: "{{ doc.lines | where('t', 'a') | dig('0.n', 'none') }}"
          second: "{{ doc.lines | where('t', 'a') | length }}"
          optional:
            value: "{{ doc.lines | where('t', 'a') | dig('0.m') }}"
            when: "{{ doc.lines | where('t', 'a') }}"
          items:
            for_each: "$.lines[*]"
            as: line
            item:
              n: "{{ line.n | default('?') }}"
              both: "{{ line.n ~ line.n | default('') }}"
        """
    )
    nodes = replace(mapping, builder=None)
    for doc in ({"lines": [{"t": "a", "n": 1, "m": 2}, {"t": "b"}]}, {"lines": [{"t": "b"}]}, {}, {"lines": None}, {"lines": [{}]}):
        assert _outcome(mapping, doc, partner(), {}) == _outcome(nodes, doc, partner(), {})


def test_a_call_only_some_paths_evaluate_is_not_evaluated_ahead() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          a: "{{ doc.flag and doc.item | xref('items') }}"
          b: "{{ doc.item | xref('items') if doc.flag else '' }}"
        """
    )
    nodes = replace(mapping, builder=None)
    for doc in ({"flag": False, "item": "UNKNOWN"}, {"flag": True, "item": "AC-DESK-01"}, {"flag": True, "item": "NOPE"}):
        assert _outcome(mapping, doc, partner(), {}) == _outcome(nodes, doc, partner(), {})
    assert _outcome(mapping, {"flag": False, "item": "UNKNOWN"}, partner(), {})[0] == "payload"


def test_values_that_are_a_shared_call_get_their_own_result() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          x: "{{ doc.lines | where('t', 'a') }}"
          y: "{{ doc.lines | where('t', 'a') }}"
        """
    )
    payload = render_payload(mapping, {"lines": [{"t": "a"}]}, partner=partner(), now=NOW)
    assert payload == {"x": [{"t": "a"}], "y": [{"t": "a"}]}
    assert payload["x"] is not payload["y"]  # as node by node: a list each, not one list twice


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
    assert _outcome(mapping, doc, partner(), {}) == _outcome(replace(mapping, builder=None), doc, partner(), {})


def test_values_that_are_a_shared_lookup_hold_what_they_look_up() -> None:
    mapping = compiled(
        """
        direction: json
        output:
          x: "{{ doc | dig('a.b') }}"
          y: "{{ doc | dig('a.b') }}"
        """
    )
    doc = {"a": {"b": [1]}}
    payload = render_payload(mapping, doc, partner=partner(), now=NOW)
    nodes = render_payload(replace(mapping, builder=None), doc, partner=partner(), now=NOW)
    assert payload == nodes
    assert payload["x"] is doc["a"]["b"] and payload["y"] is doc["a"]["b"]  # the document's own list, as node by node
