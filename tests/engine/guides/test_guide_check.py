"""Checking transactions against a partner guide: requirements, codes, lengths and rules."""

from __future__ import annotations

import io
import textwrap
from typing import Any

import pytest

import engine.guides
from engine.config.source import parse_yaml
from engine.errors import ConfigError, GuideError, MappingError
from engine.guides import check_interchange, check_or_raise, compile_guide, parse_address, violations
from engine.guides.guide import Guide, SetGuide
from engine.x12.document import parse

INVOICE = """\
ISA*00*          *00*          *ZZ*MLCONNECT      *ZZ*NORTHWIND      *240502*1200*U*00401*000000001*0*P*>~
GS*IN*MLCONNECT*NORTHWIND*20240502*1200*1*X*004010~
ST*810*0001~
BIG*20240502*INV-1**PO-77***DI~
REF*IA*V100~
N1*BT*Northwind Traders*92*NW~
N1*ST*Northwind Store 12*92*0012~
N3*12 Harbour Rd~
DTM*011*20240502~
IT1*1*2*EA*10.5*PE*VP*ITEM-1~
PID*F****Widget~
IT1*2*3*CA*4*PE*VP*ITEM-2~
SAC*A*C310***500~
TDS*3300~
CTT*2*5~
SE*14*0001~
GE*1*1~
IEA*1*000000001~
"""
"""An 810 written for these tests: N1*ST has an N3 and no N4; line 2 has no PID and a 5.00
allowance (SAC05 is N2: 500); TDS01 (N2) 3300 is 33.00, the lines' quantity x price without
the allowance (2 x 10.50 + 3 x 4)."""


def body(text: str = INVOICE) -> dict[str, Any]:
    tree = parse(io.BytesIO(text.encode()), "test.edi")
    transaction: dict[str, Any] = tree["interchanges"][0]["groups"][0]["transactions"][0]["body"]
    return transaction


def guide(yaml_text: str, version: str = "004010") -> Guide:
    source = parse_yaml(textwrap.dedent(yaml_text), "guides/northwind.yaml")
    compiled, findings = compile_guide(source, (), "northwind", version)
    errors = [f.line() for f in findings if f.level == "error"]
    assert compiled is not None, errors
    return compiled


def set_guide(yaml_text: str) -> SetGuide:
    found = guide(yaml_text).for_set("810", "outbound")
    assert found is not None
    return found


def lines(yaml_text: str, text: str = INVOICE) -> list[str]:
    return [v.line() for v in violations(set_guide(yaml_text), body(text))]


def test_the_package_exports_its_api() -> None:
    assert engine.guides.__all__ == sorted(engine.guides.__all__)
    for name in engine.guides.__all__:
        assert getattr(engine.guides, name) is not None


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        pytest.param("REF[IA]", ["REF[IA]"], id="qualified-segment"),
        pytest.param("N1[ST]/N3", ["N1[ST]", "N3"], id="loop-then-segment"),
        pytest.param("IT1_loop/PID05", ["IT1", "PID05"], id="loop-key-then-element"),
        pytest.param("BIG04", ["BIG04"], id="element"),
        pytest.param("HL[I]/SN1/SN102", ["HL[I]", "SN1", "SN102"], id="hl-by-level-code"),
    ],
)
def test_addresses_parse_into_steps(text: str, steps: list[str]) -> None:
    assert [str(s) for s in parse_address(text).steps] == steps


@pytest.mark.parametrize("text", ["", "ref[IA]", "N1[ST]/", "BIG04/N1", "N1[S/T]", "../../etc"])
def test_malformed_addresses_are_refused_with_what_a_step_may_be(text: str) -> None:
    with pytest.raises(ConfigError, match="address"):
        parse_address(text)


def test_a_document_that_meets_every_requirement_has_no_violation() -> None:
    assert lines(
        """
        sets:
          "810":
            require: [BIG04, "REF[IA]", "N1[ST]", "N1[ST]/N3", "DTM[011]", IT1/IT107]
            codes: {IT103: [EA, CA], BIG07: [DI]}
            max_length: {"N1[ST]/N102": 20}
        """
    ) == []


def test_a_missing_qualified_segment_names_the_requirement_and_its_guide_line() -> None:
    found = lines(
        """
        sets:
          "810":
            require:
              - REF[DP]
        """
    )
    assert found == ["REF: the partner requires REF[DP], and it is missing [guide require REF[DP], guides/northwind.yaml:5:9]"]


def test_a_loop_path_is_required_in_every_instance_of_the_loop_with_its_position() -> None:
    found = lines(
        """
        sets:
          "810":
            require: [IT1/PID, "N1[ST]/N4"]
        """
    )
    assert found[0].startswith("IT1 loop (segment 10): the partner requires PID in the IT1 loop, and it is missing")
    assert found[1].startswith("N1[ST] loop (segment 5): the partner requires N4 in the N1[ST] loop, and it is missing")
    assert len(found) == 2  # line 1 has its PID; N1*BT needs no N4


def test_a_missing_loop_is_reported_once_however_many_paths_need_it() -> None:
    found = lines(
        """
        sets:
          "810":
            require: ["N1[RE]", "N1[RE]/N3", "N1[RE]/N4"]
        """
    )
    assert len(found) == 1 and "requires N1[RE]" in found[0]


def test_codes_and_lengths_name_the_value_the_segment_and_what_is_valid() -> None:
    found = lines(
        """
        sets:
          "810":
            codes: {IT103: [EA]}
            max_length: {"N1[ST]/N102": 10}
        """
    )
    assert found[0].startswith("IT103 (segment 10): 'CA' is not a code the partner accepts (valid: EA)")
    assert found[1].startswith("N102 (segment 5): 'Northwind Store 12' is 18 characters; the partner accepts at most 10")


def test_a_total_rule_reads_implied_decimals_and_shows_both_values() -> None:
    # TDS01 is N2: 3300 is 33.00; the lines give 2 x 10.50 + 3 x 4 = 33.00, less SAC05 5.00 (N2 500)
    found = lines(
        """
        sets:
          "810":
            rules:
              - id: lines-total
                at: TDS01
                equals: "{{ total('IT1', 'IT102', 'IT104') }}"
              - id: net-total
                at: TDS01
                equals: "{{ total('IT1', 'IT102', 'IT104') - total('SAC[A]', 'SAC05') }}"
                says: lines less allowances
        """
    )
    assert len(found) == 1
    assert found[0].startswith("TDS01 (segment 12): is 33.00, the partner's rule (lines less allowances) gives 28.00")
    assert "[guide rule net-total, guides/northwind.yaml:8:9]" in found[0]


def test_count_present_and_expect_rules() -> None:
    found = lines(
        """
        sets:
          "810":
            rules:
              - {id: line-count, at: CTT01, equals: "{{ count('IT1') }}"}
              - {id: quantity-sum, at: CTT02, equals: "{{ values('IT102') | sum }}"}
              - {id: ship-to-address, at: N301, expect: "{{ present('N1[ST]/N3') and not present('N1[ST]/N4') }}"}
              - {id: needs-dp, at: REF02, expect: "{{ present('REF[DP]') }}", says: a department}
        """
    )
    assert found == [
        "REF02 (segment 3): breaks the partner's rule (a department): present('REF[DP]') [guide rule needs-dp, guides/northwind.yaml:8:9]"
    ]


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("{{ 2 ** (10 ** 9) }}", id="power"),
        pytest.param("{{ ('x' * 10 ** 2) * 10 ** 6 }}", id="repeated-text"),
        pytest.param("{{ value('IT102') + 'x' }}", id="number-plus-text"),
    ],
)
def test_a_rule_that_cannot_be_evaluated_is_a_clear_error_naming_the_rule(expression: str) -> None:
    compiled = set_guide(
        """
        sets:
          "810":
            rules:
              - id: broken
                at: TDS01
                equals: >-
                  EXPRESSION
        """.replace("EXPRESSION", expression)
    )
    with pytest.raises(MappingError, match=r"rule broken \(guides/northwind.yaml:\d+:\d+\) could not be evaluated"):
        violations(compiled, body())


def test_check_or_raise_is_a_guide_error_with_every_violation() -> None:
    compiled = guide(
        """
        sets:
          "810":
            require: ["REF[DP]", "N1[RE]"]
        """
    )
    with pytest.raises(GuideError) as caught:
        check_or_raise(compiled, "810", "outbound", body(), "invoice INV-1")
    assert len(caught.value.violations) == 2
    assert caught.value.message.startswith("invoice INV-1: breaks partner northwind's guide for the 810 (2 violation(s)): REF: ")


def test_direction_decides_which_documents_a_set_guide_checks() -> None:
    compiled = guide(
        """
        sets:
          "810":
            direction: inbound
            require: ["REF[DP]"]
        """
    )
    check_or_raise(compiled, "810", "outbound", body(), "ours")  # not checked: the guide is for what it sends
    with pytest.raises(GuideError):
        check_or_raise(compiled, "810", "inbound", body(), "theirs")


def test_check_interchange_reads_our_rendered_text_back_and_names_the_origin() -> None:
    compiled = guide(
        """
        sets:
          "810":
            codes: {IT103: [EA]}
        """
    )
    with pytest.raises(GuideError, match=r"IT103 \(segment 10\): 'CA' .*; written by mapping line 7"):
        check_interchange(compiled, INVOICE, "outbound", "invoice INV-1", lambda v: "written by mapping line 7")


HL_856 = """\
ISA*00*          *00*          *ZZ*NORTHWIND      *ZZ*MLCONNECT      *240502*1200*U*00401*000000002*0*P*>~
GS*SH*NORTHWIND*MLCONNECT*20240502*1200*2*X*004010~
ST*856*0001~
BSN*00*SHP-1*20240502*1200~
HL*1**S~
HL*2*1*O~
PRF*PO-77~
HL*3*2*I~
LIN**BP*ITEM-1~
SN1**2*EA~
HL*4*2*I~
LIN**BP*ITEM-2~
CTT*4~
SE*12*0001~
GE*1*2~
IEA*1*000000002~
"""


def test_hierarchical_levels_are_addressed_by_their_level_code_at_any_depth() -> None:
    source = parse_yaml(
        textwrap.dedent(
            """
            sets:
              "856":
                require: ["HL[S]", "HL[O]/PRF", "HL[I]/LIN", "HL[I]/SN1"]
            """
        ),
        "g.yaml",
    )
    compiled, _ = compile_guide(source, (), "northwind", "004010")
    assert compiled is not None
    tree = body(HL_856)
    found = [v.line() for v in violations(compiled.sets["856"], tree)]
    assert len(found) == 1 and found[0].startswith("HL[I] loop (segment 9): the partner requires SN1 in the HL[I] loop")


def test_rules_of_the_same_text_in_two_guides_are_compiled_once_and_each_names_its_own_place() -> None:
    text = """
        sets:
          "810":
            rules:
              - id: broken
                at: TDS01
                equals: "{{ value('IT102') + 'x' }}"
        """
    first = guide(text).for_set("810", "outbound")
    second_source = parse_yaml("# two lines\n# further down\n" + textwrap.dedent(text), "guides/other.yaml")
    compiled, _ = compile_guide(second_source, (), "other", "004010")
    assert first is not None and compiled is not None
    second = compiled.for_set("810", "outbound")
    assert second is not None
    assert first.rules[0].evaluate is second.rules[0].evaluate
    with pytest.raises(MappingError, match=r"rule broken \(guides/northwind.yaml:5:9\) could not be evaluated"):
        violations(first, body())
    with pytest.raises(MappingError, match=r"rule broken \(guides/other.yaml:7:9\) could not be evaluated"):
        violations(second, body())
