"""The segment writer: partner delimiters, trimming, and data that contains a delimiter.

Data must never break a segment: a delimiter character in a value is replaced by the
configured character (recorded in `policy.replaced` for the audit trail) or, under the
`reject` policy, refused with an X12WriteError naming the segment and the element.
"""

from __future__ import annotations

from typing import Any

import pytest
from x12_support import check_text, parse_text

from engine.errors import X12WriteError
from engine.x12 import definition
from engine.x12.delimiters import Delimiters
from engine.x12.writer import DelimiterPolicy, SegmentWriter, segment_from_object, tree_segments

STAR = Delimiters("*", ">", "~")


def test_segment_is_written_with_the_partner_delimiters() -> None:
    writer = SegmentWriter(Delimiters("|", ":", "!"), newline=False)
    assert writer.format(["SLN", "1", "", "I", "1", ["PC", "1.5", "2"]]) == "SLN|1||I|1|PC:1.5:2!"


def test_newline_follows_the_terminator_unless_disabled() -> None:
    assert SegmentWriter(STAR).format(["CTT", "1"]) == "CTT*1~\n"
    assert SegmentWriter(STAR, newline=False).format(["CTT", "1"]) == "CTT*1~"


def test_newline_terminator_is_not_doubled() -> None:
    assert SegmentWriter(Delimiters("*", ">", "\n")).format(["CTT", "1"]) == "CTT*1\n"


@pytest.mark.parametrize(
    ("segment", "written"),
    [
        pytest.param(["BEG", "00", "SA", "PO-1", "", "20240502", "", ""], "BEG*00*SA*PO-1**20240502~", id="elements"),
        pytest.param(["SLN", "1", "", "I", "", "", ["PC", "1", "", ""], "", ""], "SLN*1**I***PC>1~", id="components"),
        pytest.param(["SLN", "1", "", "I", "", "", ["", ""]], "SLN*1**I~", id="empty-composite"),
        pytest.param(["N1", "", "", ""], "N1~", id="all-empty"),
        pytest.param(["SLN", "1", ["", "A"]], "SLN*1*>A~", id="leading-empty-component-kept"),
    ],
)
def test_trailing_empty_elements_and_components_are_trimmed(segment: list[str | list[str]], written: str) -> None:
    assert SegmentWriter(STAR, newline=False).format(segment) == written


@pytest.mark.parametrize(
    ("value", "written", "replaced"),
    [
        pytest.param("A*B", "A B", ["PID05: '*' -> ' '"], id="element-separator"),
        pytest.param("A>B", "A B", ["PID05: '>' -> ' '"], id="component-separator"),
        pytest.param("A~B", "A B", ["PID05: '~' -> ' '"], id="segment-terminator"),
        pytest.param("A^B", "A B", ["PID05: '^' -> ' '"], id="repetition-separator"),
        pytest.param("A\r\nB", "A  B", ["PID05: '\\n' -> ' '", "PID05: '\\r' -> ' '"], id="line-break"),
        pytest.param('1/4" *~ X', '1/4"    X', ["PID05: '*' -> ' '", "PID05: '~' -> ' '"], id="several"),
    ],
)
def test_delimiters_in_data_are_replaced_and_recorded(value: str, written: str, replaced: list[str]) -> None:
    policy = DelimiterPolicy()
    writer = SegmentWriter(Delimiters("*", ">", "~", "^"), policy, newline=False)
    assert writer.format(["PID", "F", "", "", "", value]) == f"PID*F****{written}~"
    assert policy.replaced == replaced


def test_replacement_character_is_configurable_and_applies_to_components() -> None:
    policy = DelimiterPolicy(replacement="_")
    writer = SegmentWriter(STAR, policy, newline=False)
    assert writer.format(["SLN", "1", "", "I", "1", ["P*C", "1"]]) == "SLN*1**I*1*P_C>1~"
    assert policy.replaced == ["SLN05-1: '*' -> '_'"]


def test_replaced_data_reads_back_as_one_segment() -> None:
    policy = DelimiterPolicy()
    writer = SegmentWriter(STAR, policy)
    body = writer.write(
        [["BEG", "00", "SA", "PO*4711~X", "", "20240502"], ["PO1", "1", "2", "EA", "1.5"], ["CTT", "1"]]
    )
    assert body.count("~") == 3


def test_reject_policy_names_segment_element_and_character() -> None:
    writer = SegmentWriter(STAR, DelimiterPolicy(mode="reject"))
    with pytest.raises(X12WriteError) as caught:
        writer.format(["N1", "ST", "ACME * SONS"])
    assert str(caught.value) == (
        "N102 contains the delimiter '*' in 'ACME * SONS'; the partner's delimiter policy is 'reject'"
    )


def test_reject_policy_names_the_component() -> None:
    writer = SegmentWriter(STAR, DelimiterPolicy(mode="reject"))
    with pytest.raises(X12WriteError, match=r"^SLN05-2 contains the delimiter '~'"):
        writer.format(["SLN", "1", "", "I", "1", ["PC", "1~5"]])


def test_reject_policy_writes_clean_data_unchanged() -> None:
    policy = DelimiterPolicy(mode="reject")
    assert SegmentWriter(STAR, policy, newline=False).format(["N1", "ST", "ACME"]) == "N1*ST*ACME~"
    assert policy.replaced == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"mode": "drop"}, "delimiter policy mode 'drop' is not valid; use 'replace' or 'reject'", id="mode"
        ),
        pytest.param({"replacement": ""}, "the delimiter replacement must be one character, found ''", id="empty"),
        pytest.param({"replacement": "--"}, "the delimiter replacement must be one character, found '--'", id="two"),
    ],
)
def test_invalid_policy_is_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(X12WriteError, match=f"^{message}$"):
        DelimiterPolicy(**kwargs)


def test_replacement_that_is_itself_a_delimiter_is_refused() -> None:
    with pytest.raises(X12WriteError, match="the delimiter replacement '~' is itself a delimiter"):
        SegmentWriter(STAR, DelimiterPolicy(replacement="~"))


def test_writer_refuses_colliding_delimiters() -> None:
    with pytest.raises(
        X12WriteError, match=r"^cannot write with these delimiters: the segment terminator '\*' is also the element"
    ):
        SegmentWriter(Delimiters("*", ">", "*"))


# --------------------------------------------------------------------------- tree -> segments


def test_segment_from_object_places_values_by_element_number() -> None:
    assert segment_from_object("BEG", {"BEG05": "20240502", "BEG01": "00", "BEG03": "PO-1"}) == [
        "BEG",
        "00",
        "",
        "PO-1",
        "",
        "20240502",
    ]
    assert segment_from_object("CTT", {}) == ["CTT"]


@pytest.mark.parametrize("key", ["BIG01", "BEG", "BEGX1", "beg01"])
def test_segment_from_object_refuses_keys_of_another_segment(key: str) -> None:
    with pytest.raises(X12WriteError, match=f"segment BEG: key '{key}' is not an element id of BEG"):
        segment_from_object("BEG", {key: "1"})


def test_tree_segments_follow_the_definition_order_not_the_dict_order() -> None:
    po = definition.load("004010", "850")
    body = {
        "CTT_loop": {"CTT": {"CTT01": "1"}},
        "PO1_loop": [{"PID_loop": [{"PID": {"PID01": "F", "PID05": "X"}}], "PO1": {"PO101": "1"}}],
        "REF": [{"REF01": "DP", "REF02": "1"}, {"REF01": "PS", "REF02": "2"}],
        "BEG": {"BEG01": "00"},
    }
    assert [seg[0] for seg in tree_segments(po, body)] == ["BEG", "REF", "REF", "PO1", "PID", "CTT"]


def test_tree_segments_write_hierarchical_levels_parent_first() -> None:
    ship = definition.load("004010", "856")
    body = {
        "BSN": {"BSN01": "00"},
        "HL_loop": [
            {
                "HL": {"HL01": "1", "HL03": "S"},
                "HL_loop": [
                    {
                        "HL": {"HL01": "2", "HL02": "1", "HL03": "O"},
                        "HL_loop": [{"HL": {"HL01": "3", "HL02": "2", "HL03": "I"}, "LIN": {"LIN02": "BP"}}],
                    },
                    {"HL": {"HL01": "4", "HL02": "1", "HL03": "O"}},
                ],
            }
        ],
    }
    written = [(seg[0], seg[1] if len(seg) > 1 else "") for seg in tree_segments(ship, body)]
    assert written == [("BSN", "00"), ("HL", "1"), ("HL", "2"), ("HL", "3"), ("LIN", ""), ("HL", "4")]


def test_tree_segments_of_a_flat_body() -> None:
    body = {"segments": [{"W05": {"W0501": "N", "W0503": "X"}}, {"LX": {"LX01": "1"}}]}
    assert list(tree_segments(None, body)) == [["W05", "N", "", "X"], ["LX", "1"]]


def test_written_segments_parse_back_and_check_clean() -> None:
    writer = SegmentWriter(Delimiters("|", ":", "~"))
    isa = "ISA|00|          |00|          |ZZ|SENDER         |ZZ|RECEIVER       |240502|1005|U|00401|000000001|0|T|:~\n"
    body = [
        ["GS", "PO", "S", "R", "20240502", "1005", "1", "X", "004010"],
        ["ST", "850", "0001"],
        ["BEG", "00", "SA", "PO|4711", "", "20240502"],
        ["PO1", "1", "2", "EA", "12.5", "", "VP", "ACME:1"],
        ["CTT", "1"],
        ["SE", "5", "0001"],
        ["GE", "1", "1"],
        ["IEA", "1", "000000001"],
    ]
    text = isa + writer.write(body)
    assert check_text(text).ok
    txn = parse_text(text)["interchanges"][0]["groups"][0]["transactions"][0]
    assert txn["body"]["BEG"]["BEG03"] == "PO 4711"
    assert txn["body"]["PO1_loop"][0]["PO1"]["PO107"] == "ACME 1"


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param(["IT1", "1", "2", "EA", "", "", "VP", "X-1", "", ""], id="trailing-empties"),
        pytest.param(["N1", "ST", "ACME*DC", "92", "7"], id="delimiter-in-data"),
        pytest.param(["N1", "ST", "line\nbreak"], id="line-break-in-data"),
        pytest.param(["SLN", "1", "", "I", ["EA", "2", ""], ""], id="composite"),
        pytest.param(["REF", "DP", 42], id="not-text"),
        pytest.param(["REF", "", ""], id="only-empties"),
        pytest.param(["CTT"], id="tag-only"),
    ],
)
def test_the_one_join_path_writes_what_the_element_path_writes(segment: list[Any]) -> None:
    fast, slow = SegmentWriter(Delimiters(), DelimiterPolicy()), SegmentWriter(Delimiters(), DelimiterPolicy())
    assert fast.format(segment) == slow._format(segment)
    assert fast.policy.replaced == slow.policy.replaced
    clean = ["REF", "DP", "042", ""]
    assert fast.write([clean, segment, clean]) == slow._format(clean) + slow._format(segment) + slow._format(clean)
    assert fast.policy.replaced == slow.policy.replaced
