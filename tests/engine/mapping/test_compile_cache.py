"""Identical texts compile once per process, and every error still names its own file and line.

500 partner overlays of one mapping repeat its templates 500 times (benchmarks/render_project.py);
the compiled template, its translation, its Jinja problems, a segment place's checker and a
`for_each` path are shared between the values of one text, never the places they are written.
"""

from __future__ import annotations

import textwrap

import pytest

from engine.config.source import parse_yaml
from engine.errors import MappingError
from engine.mapping.compile import CompiledMapping, SegmentNode, compile_mapping
from engine.mapping.templates import Value, base_context, check_template, compiled, template_problems, translation

PADDED = "# a second file,\n# three lines longer\n# at its start\n"  # every line of it three lines down


def mapping_text(template: str, padding: str = "") -> str:
    return padding + textwrap.dedent(
        f"""\
        direction: outbound
        transaction_set: "810"
        segments:
          - BIG: {{BIG01: "20240502", BIG02: "{template}"}}
          - for_each: "$.lines[*]"
            as: line
            segments:
              - IT1: {{IT101: "{{{{ loop.index }}}}", IT102: "{{{{ line.qty }}}}"}}
        """
    )


def compile_in(path: str, text: str) -> tuple[CompiledMapping | None, list[str]]:
    mapping, findings = compile_mapping(parse_yaml(text, path), path.split("/")[1])
    return mapping, [f.line() for f in findings]


def big02(mapping: CompiledMapping | None) -> Value:
    assert mapping is not None
    segment = mapping.segments[0]
    assert isinstance(segment, SegmentNode)
    return next(value for position, value, _ in segment.scalars if position == 2)


def test_two_files_with_the_same_template_share_one_compiled_value() -> None:
    template = "{{ doc.number | trim ~ '-' ~ doc.suffix }}"
    first, _ = compile_in("mappings/a/mapping.yaml", mapping_text(template))
    misses = compiled.cache_info().misses
    second, _ = compile_in("mappings/b/mapping.yaml", mapping_text(template, PADDED))
    assert compiled.cache_info().misses == misses  # nothing of the second file compiled again
    assert big02(first).fast is big02(second).fast is not None
    assert big02(first).where != big02(second).where


@pytest.mark.parametrize("translated", [pytest.param(True, id="translated"), pytest.param(False, id="jinja")])
def test_a_shared_value_names_its_own_file_and_line_when_a_field_is_missing(translated: bool) -> None:
    template = "{{ doc.number | trim ~ '-' ~ doc.suffix }}"
    first, _ = compile_in("mappings/a/mapping.yaml", mapping_text(template))
    second, _ = compile_in("mappings/b/mapping.yaml", mapping_text(template, PADDED))
    context = base_context(doc={"number": "INV-1"})
    with translation(translated):
        with pytest.raises(MappingError, match=r"^mappings/a/mapping\.yaml:4 \(BIG02\): the field 'suffix' is missing"):
            big02(first).evaluate(context)
        with pytest.raises(MappingError, match=r"^mappings/b/mapping\.yaml:7 \(BIG02\): the field 'suffix' is missing"):
            big02(second).evaluate(context)


def test_a_plain_field_path_shared_by_two_files_names_each_file() -> None:
    first = Value("{{ doc.shipTo.name }}", "mappings/a/mapping.yaml:4 (N102)")
    second = Value("{{ doc.shipTo.name }}", "mappings/b/mapping.yaml:9 (N102)")
    context = base_context(doc={"shipTo": {}})
    with pytest.raises(MappingError, match=r"^mappings/a/mapping\.yaml:4 \(N102\): the field 'doc\.shipTo\.name' is missing"):
        first.evaluate_jinja(context)
    with pytest.raises(MappingError, match=r"^mappings/b/mapping\.yaml:9 \(N102\): the field 'doc\.shipTo\.name' is missing"):
        second.evaluate_jinja(context)


def test_the_same_jinja_error_is_reported_at_each_files_own_line() -> None:
    broken = "{{ doc.number | nosuchfilter }}"
    _, first = compile_in("mappings/a/mapping.yaml", mapping_text(broken))
    _, second = compile_in("mappings/b/mapping.yaml", mapping_text(broken, PADDED))
    assert [line.split(": error")[0] for line in first] == ["mappings/a/mapping.yaml:4:37"]
    assert [line.split(": error")[0] for line in second] == ["mappings/b/mapping.yaml:7:37"]
    assert "unknown filter 'nosuchfilter'" in first[0] and "unknown filter 'nosuchfilter'" in second[0]


def test_a_syntax_error_on_a_later_line_of_a_shared_template_is_placed_in_each_file() -> None:
    text = "{{ doc.a }}\n{{ doc.b +  }}"
    first = parse_yaml(f"key: |-\n  {text.replace(chr(10), chr(10) + '  ')}\n", "mappings/a/mapping.yaml")
    second = parse_yaml(f"\n\nkey: |-\n  {text.replace(chr(10), chr(10) + '  ')}\n", "mappings/b/mapping.yaml")
    assert template_problems(first.data["key"]) == template_problems(second.data["key"])
    lines = [str(f.location) for f in check_template(first.data["key"], first, ("key",))]
    assert lines == ["mappings/a/mapping.yaml:2:1"]  # the block starts on line 1; the error is on its second line
    assert [str(f.location) for f in check_template(second.data["key"], second, ("key",))] == ["mappings/b/mapping.yaml:4:1"]


def test_segment_places_with_the_same_definition_and_constants_share_a_checker() -> None:
    first, _ = compile_in("mappings/a/mapping.yaml", mapping_text("{{ doc.number }}"))
    second, _ = compile_in("mappings/b/mapping.yaml", mapping_text("{{ doc.number }}", PADDED))
    assert first is not None and second is not None
    assert isinstance(first.segments[0], SegmentNode) and isinstance(second.segments[0], SegmentNode)
    assert first.segments[0].check is second.segments[0].check
    other, _ = compile_in("mappings/c/mapping.yaml", mapping_text("{{ doc.number }}").replace('"20240502"', '"20240503"'))
    assert other is not None and isinstance(other.segments[0], SegmentNode)
    assert other.segments[0].blank[1] == "20240503"  # another constant: a checker of its own
    assert other.segments[0].check is not first.segments[0].check


def test_two_loops_of_one_path_share_it_and_each_names_its_own_place() -> None:
    first, _ = compile_in("mappings/a/mapping.yaml", mapping_text("{{ doc.number }}"))
    second, _ = compile_in("mappings/b/mapping.yaml", mapping_text("{{ doc.number }}", PADDED))
    assert first is not None and second is not None
    loop_a, loop_b = first.segments[1], second.segments[1]
    assert not isinstance(loop_a, SegmentNode) and not isinstance(loop_b, SegmentNode)
    assert loop_a.path is loop_b.path
    assert (loop_a.where, loop_b.where) == ("mappings/a/mapping.yaml:5", "mappings/b/mapping.yaml:8")
