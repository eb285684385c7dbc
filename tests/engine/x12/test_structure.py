"""The loop tree and the definition checks, against the real 004010 definitions.

Root causes, not echoes: a bad code is one element error (pyx12's validator reports 7 errors
for a bad BEG01), a segment out of order is reported once and is not also "missing", a
surplus of elements or components is one problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from x12_support import (
    check_text,
    errors,
    group,
    interchange,
    lines,
    only_transaction,
    parse_text,
    purchase_order,
    transaction,
)

from engine.x12 import definition
from engine.x12 import problems as P
from engine.x12.problems import Problem

BEG = "BEG*00*SA*PO-4711**20240502"
PO1 = "PO1*1*2*EA*12.5**VP*ACME-1"
CTT = "CTT*1"


def problems_of(body: list[str], set_id: str = "850", functional_id: str = "PO") -> list[Problem]:
    text = interchange([group([transaction(set_id, body)], functional_id=functional_id)])
    return check_text(text).problems


def body_of(body: list[str], set_id: str = "850", functional_id: str = "PO") -> dict[str, Any]:
    text = interchange([group([transaction(set_id, body)], functional_id=functional_id)])
    result: dict[str, Any] = only_transaction(parse_text(text))["body"]
    return result


def one_line(body: list[str], set_id: str = "850", functional_id: str = "PO") -> str:
    text = interchange([group([transaction(set_id, body)], functional_id=functional_id)])
    (line,) = lines(check_text(text))
    return line


# --------------------------------------------------------------------------- valid sets


@pytest.mark.parametrize(
    ("set_id", "functional_id", "body"),
    [
        pytest.param("850", "PO", [BEG, "REF*DP*038", "N1*ST*ACME DC*92*0007", PO1, "PID*F****WIDGET", CTT], id="850"),
        pytest.param(
            "810",
            "IN",
            ["BIG*20240502*INV-1*20240501*PO-4711", "IT1*1*2*EA*12.5**VP*ACME-1", "TDS*2500", CTT],
            id="810",
        ),
        pytest.param("855", "PR", ["BAK*00*AC*PO-4711*20240502", PO1, "ACK*IA*2*EA", CTT], id="855"),
        pytest.param(
            "856",
            "SH",
            ["BSN*00*SHIP-1*20240502*1005", "HL*1**S", "HL*2*1*O", "HL*3*2*I", "LIN**BP*A", "CTT*3"],
            id="856",
        ),
        pytest.param(
            "997",
            "FA",
            ["AK1*PO*1", "AK2*850*0001", "AK3*BEG*2**8", "AK4*1*353*7*99", "AK5*R*5", "AK9*R*1*1*0"],
            id="997",
        ),
    ],
)
def test_valid_transaction_sets_check_clean(set_id: str, functional_id: str, body: list[str]) -> None:
    assert definition.load("004010", set_id) is not None
    assert problems_of(body, set_id, functional_id) == []


# --------------------------------------------------------------------------- tree shape


def test_segments_are_objects_keyed_by_element_id_without_empty_elements() -> None:
    body = body_of([BEG, PO1, CTT])
    assert body["BEG"] == {"BEG01": "00", "BEG02": "SA", "BEG03": "PO-4711", "BEG05": "20240502"}


def test_repeatable_segments_and_loops_are_lists_named_after_their_first_segment() -> None:
    body = body_of([BEG, "REF*DP*038", "REF*PS*R", "N1*ST*ACME*92*0007", "N3*1 MAIN ST", PO1, "PID*F****WIDGET", CTT])
    assert body["REF"] == [{"REF01": "DP", "REF02": "038"}, {"REF01": "PS", "REF02": "R"}]
    assert body["N1_loop"] == [
        {"N1": {"N101": "ST", "N102": "ACME", "N103": "92", "N104": "0007"}, "N3": [{"N301": "1 MAIN ST"}]}
    ]
    (line,) = body["PO1_loop"]
    assert line["PID_loop"] == [{"PID": {"PID01": "F", "PID05": "WIDGET"}}]
    assert set(body) == {"BEG", "REF", "N1_loop", "PO1_loop", "CTT_loop"}


def test_composites_are_lists_of_components(shared_dir: Any) -> None:
    path: Path = shared_dir("corpus") / "ediengine" / "850.Composite.SLN.OK.edi"
    tree = parse_text(path.read_bytes(), path.name)
    lines_ = only_transaction(tree)["body"]["PO1_loop"]
    assert [item["SLN_loop"][0]["SLN"]["SLN05"] for item in lines_] == [
        ["PC", "11.1", "12.2", "EA", "13.3", "14.4"],
        ["PC", "21.1", "22.2", "EA", "23.3", "24.4"],
    ]
    assert check_text(path.read_bytes(), path.name).ok


def test_a_single_component_composite_is_still_a_list() -> None:
    body = body_of([BEG, PO1, "SLN*1**I*1*PC", CTT])
    assert body["PO1_loop"][0]["SLN_loop"][0]["SLN"]["SLN05"] == ["PC"]


def test_856_hl_loops_nest_by_hl02_parent() -> None:
    body = body_of(
        [
            "BSN*00*SHIP-1*20240502*1005",
            "HL*1**S",
            "TD1*CTN*2",
            "HL*2*1*O",
            "PRF*PO-4711",
            "HL*3*2*I",
            "LIN**BP*A",
            "SN1**1*EA",
            "HL*4*2*I",
            "LIN**BP*B",
            "HL*5*1*O",
            "PRF*PO-4712",
            "HL*6*5*I",
            "LIN**BP*C",
            "CTT*6",
        ],
        "856",
        "SH",
    )
    (shipment,) = body["HL_loop"]
    assert shipment["HL"] == {"HL01": "1", "HL03": "S"}
    orders = shipment["HL_loop"]
    assert [order["PRF"]["PRF01"] for order in orders] == ["PO-4711", "PO-4712"]
    assert [[item["LIN"]["LIN03"] for item in order["HL_loop"]] for order in orders] == [["A", "B"], ["C"]]
    assert all("HL_loop" not in item for order in orders for item in order["HL_loop"])


def test_856_bad_hl02_parent_is_one_error_and_the_level_stays_at_the_top() -> None:
    body = ["BSN*00*SHIP-1*20240502*1005", "HL*1**S", "HL*2*7*O", "HL*3*2*I", "CTT*3"]
    (problem,) = problems_of(body, "856", "SH")
    assert problem.line("in.edi") == "in.edi: segment 6 (HL): error: HL02 '7' names no earlier HL01 (in HL '2')"
    assert (problem.element, problem.bad_value, problem.ts_position) == (2, "7", 4)
    tree = body_of(body, "856", "SH")
    assert [level["HL"]["HL01"] for level in tree["HL_loop"]] == ["1", "2"]
    assert tree["HL_loop"][1]["HL_loop"][0]["HL"]["HL01"] == "3"


def test_856_duplicate_hl01_is_reported() -> None:
    body = ["BSN*00*SHIP-1*20240502*1005", "HL*1**S", "HL*1*1*O", "CTT*2"]
    assert one_line(body, "856", "SH") == (
        "in.edi: segment 6 (HL): error: HL01 '1' is used twice: hierarchical ids must be unique"
    )


# --------------------------------------------------------------------------- definition problems


@pytest.mark.parametrize(
    ("body", "expected", "code"),
    [
        pytest.param(
            [PO1, CTT],
            "in.edi: segment 6 (SE): error: mandatory segment BEG is missing in the transaction set "
            "(found SE at this position)",
            P.SEG_MANDATORY_MISSING,
            id="missing-beg",
        ),
        pytest.param(
            [BEG, CTT],
            "in.edi: segment 6 (SE): error: mandatory loop PO1 is missing in the transaction set "
            "(found SE at this position)",
            P.SEG_MANDATORY_MISSING,
            id="missing-po1-loop",
        ),
        pytest.param(
            ["REF*DP*038", "DTM*002*20240515", BEG, PO1, CTT],
            "in.edi: segment 6 (BEG): error: BEG is out of order: it belongs before DTM in the transaction set",
            P.SEG_OUT_OF_ORDER,
            id="beg-out-of-order",
        ),
        pytest.param(
            [BEG, PO1, CTT, "REF*DP*038"],
            "in.edi: segment 7 (REF): error: REF is out of order: it belongs before CTT in the transaction set",
            P.SEG_OUT_OF_ORDER,
            id="header-segment-after-summary",
        ),
        pytest.param(
            [BEG, "N3*1 MAIN ST", PO1, CTT],
            "in.edi: segment 5 (N3): error: N3 is not expected here (it belongs to another loop of 004010 850)",
            P.SEG_UNEXPECTED,
            id="loop-segment-without-its-loop",
        ),
        pytest.param(
            [BEG, "ZZZ*1", PO1, CTT],
            "in.edi: segment 5 (ZZZ): error: ZZZ is not a known segment id",
            P.SEG_UNRECOGNIZED,
            id="unknown-segment-id",
        ),
        pytest.param(
            [BEG, "BIG*20240502*INV-1", PO1, CTT],
            "in.edi: segment 5 (BIG): error: BIG is not part of transaction set 004010 850",
            P.SEG_NOT_IN_SET,
            id="segment-not-in-set",
        ),
        pytest.param(
            [BEG, BEG, PO1, CTT],
            "in.edi: segment 5 (BEG): error: BEG appears 2 times here, at most 1 allowed",
            P.SEG_EXCEEDS_MAX_USE,
            id="max-use-exceeded",
        ),
        pytest.param(
            [BEG, "PER*IC*A", "PER*IC*B", "PER*IC*C", "PER*IC*D", PO1, CTT],
            "in.edi: segment 8 (PER): error: PER appears 4 times here, at most 3 allowed",
            P.SEG_EXCEEDS_MAX_USE,
            id="max-use-3-exceeded",
        ),
        pytest.param(
            [BEG, *["N1*ST*X"] * 201, PO1, CTT],
            "in.edi: segment 205 (N1): error: loop N1 repeats 201 times here, at most 200 allowed",
            P.SEG_LOOP_OVER_MAX,
            id="loop-repeat-exceeded",
        ),
    ],
)
def test_segment_problems_are_reported_once_at_their_place(body: list[str], expected: str, code: str) -> None:
    (problem,) = problems_of(body)
    assert problem.line("in.edi") == expected
    assert problem.code == code
    assert problem.scope == "segment"


@pytest.mark.parametrize(
    ("body", "expected", "code", "element", "bad_value"),
    [
        pytest.param(
            ["BEG*00*SA*" + "X" * 30 + "**20240502", PO1, CTT],
            "BEG03 (324 Purchase Order Number) is 30 characters 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', at most 22 allowed",
            P.EL_TOO_LONG,
            3,
            "X" * 30,
            id="element-too-long",
        ),
        pytest.param(
            ["BEG*00*S*PO-4711**20240502", PO1, CTT],
            "BEG02 (92 Purchase Order Type Code) is 1 characters 'S', at least 2 needed",
            P.EL_TOO_SHORT,
            2,
            "S",
            id="element-too-short",
        ),
        pytest.param(
            ["BEG*00*SA*PO-4711**20240231", PO1, CTT],
            "BEG05 (373 Date) '20240231' is not a valid CCYYMMDD date",
            P.EL_INVALID_DATE,
            5,
            "20240231",
            id="bad-date-february-31",
        ),
        pytest.param(
            ["BEG*00*SA*PO-4711**240502", PO1, CTT],
            "BEG05 (373 Date) '240502' is not a valid CCYYMMDD date",
            P.EL_INVALID_DATE,
            5,
            "240502",
            id="bad-date-two-digit-year",
        ),
        pytest.param(
            ["BEG*99*SA*PO-4711**20240502", PO1, CTT],
            "BEG01 (353 Transaction Set Purpose Code) '99' is not a valid code; valid: 00, 01, 02, 03, 04, 05, 06, "
            "07, 08, 10, 11, 12, 13, 14, 15, ... (65 codes)",
            P.EL_INVALID_CODE,
            1,
            "99",
            id="code-not-in-list",
        ),
        pytest.param(
            ["BEG*00**PO-4711**20240502", PO1, CTT],
            "mandatory element BEG02 (92 Purchase Order Type Code) is missing",
            P.EL_MANDATORY_MISSING,
            2,
            None,
            id="missing-mandatory-element",
        ),
        pytest.param(
            ["BEG*00*SA*PO-4711", PO1, CTT],
            "mandatory element BEG05 (373 Date) is missing",
            P.EL_MANDATORY_MISSING,
            5,
            None,
            id="missing-trailing-mandatory-element",
        ),
        pytest.param(
            [BEG, "PO1*1*2X*EA*12.5**VP*ACME-1", CTT],
            "PO102 (330 Quantity Ordered) '2X' is not a decimal number",
            P.EL_INVALID_CHARACTER,
            2,
            "2X",
            id="not-a-number",
        ),
        pytest.param(
            [BEG, PO1, "CTT*1.5"],
            "CTT01 (354 Number of Line Items) '1.5' is not an integer",
            P.EL_INVALID_CHARACTER,
            1,
            "1.5",
            id="not-an-integer",
        ),
        pytest.param(
            ["BEG*00*SA*PO-4711**20240502********X*Y", PO1, CTT],
            "BEG has 14 elements, BEG defines 12: 'X' at BEG13",
            P.EL_TOO_MANY,
            13,
            "X",
            id="too-many-elements-once",
        ),
    ],
)
def test_element_problems_are_one_line_each_with_ack_details(
    body: list[str], expected: str, code: str, element: int, bad_value: str | None
) -> None:
    (problem,) = problems_of(body)
    assert problem.line("in.edi").startswith("in.edi: segment ")
    assert problem.message == expected
    assert (problem.scope, problem.code, problem.element, problem.bad_value) == ("element", code, element, bad_value)


def test_bad_time_is_reported_as_a_time() -> None:
    (problem,) = problems_of(["BSN*00*SHIP-1*20240502*2561", "HL*1**S", "CTT*1"], "856", "SH")
    assert problem.message == "BSN04 (337 Time) '2561' is not a valid HHMM[SS] time"
    assert problem.code == P.EL_INVALID_TIME


def test_a_bad_beg01_code_is_exactly_one_error_not_a_cascade() -> None:
    # pyx12's validator reports 7 errors for this purchase order: it places segments by code
    # values, so every segment after a bad BEG01 is "not found". Here placement is by id.
    body = [
        "BEG*XX*SA*PO-4711**20240502",
        "REF*DP*038",
        "DTM*002*20240515",
        "N1*ST*ACME DC*92*0007",
        "N3*1 MAIN ST",
        "N4*SPRINGFIELD*IL*62701",
        PO1,
        "PID*F****WIDGET",
        CTT,
    ]
    (problem,) = problems_of(body)
    assert problem.line("in.edi").startswith(
        "in.edi: segment 4 (BEG): error: BEG01 (353 Transaction Set Purpose Code) 'XX' is not a valid code"
    )
    assert (problem.code, problem.element, problem.ts_position) == (P.EL_INVALID_CODE, 1, 2)


def test_a_segment_out_of_order_is_not_also_missing() -> None:
    found = [p.message for p in problems_of(["REF*DP*038", BEG, PO1, CTT])]
    assert found == ["BEG is out of order: it belongs before REF in the transaction set"]


@pytest.mark.parametrize(
    ("segment", "expected", "element"),
    [
        pytest.param(
            "PO1*1*2*EA*12.5**VP",
            "PO106, PO107 must all be present if any is (syntax note P0607)",
            7,
            id="paired-second-missing",
        ),
        pytest.param(
            "PO1*1*2*EA*12.5***ACME-1",
            "PO106, PO107 must all be present if any is (syntax note P0607)",
            6,
            id="paired-first-missing",
        ),
        pytest.param(
            "MEA*PD*G",
            "at least one of MEA03, MEA05, MEA06, MEA08 is required (syntax note R03050608)",
            3,
            id="required",
        ),
        pytest.param(
            "MEA*PD*G***1",
            "MEA04 required when MEA05 is present (syntax note C0504)",
            4,
            id="conditional",
        ),
        pytest.param(
            "MEA*PD*G*10*LB****CM",
            "only one of MEA08, MEA03 may be present (syntax note E0803)",
            3,
            id="exclusion",
        ),
    ],
)
def test_syntax_notes_are_checked_and_name_the_element_at_fault(segment: str, expected: str, element: int) -> None:
    body = [BEG, segment, CTT] if segment.startswith("PO1") else [BEG, PO1, segment, CTT]
    (problem,) = problems_of(body)
    assert problem.message == expected
    assert problem.element == element
    assert problem.code == (P.EL_EXCLUSION_VIOLATED if "E0803" in expected else P.EL_CONDITIONAL_MISSING)


def test_list_conditional_syntax_note() -> None:
    messages = [p.message for p in problems_of([BEG, PO1, "MEA*PD*G*****AA*X", CTT])]
    assert "one of MEA03, MEA05, MEA06 required when MEA07 is present (syntax note L07030506)" in messages


@pytest.mark.parametrize(
    ("sln05", "expected", "component"),
    [
        pytest.param(
            "PCX>1.5>2",
            "SLN05-1 (355 Unit or Basis for Measurement Code) is 3 characters 'PCX', at most 2 allowed",
            1,
            id="component-too-long",
        ),
        pytest.param(
            ">1.5",
            "mandatory component SLN05-1 (355 Unit or Basis for Measurement Code) is missing",
            1,
            id="mandatory-component-missing",
        ),
        pytest.param(
            "EA" + ">" * 15 + "X>Y",
            "SLN05 (C001) has 17 components, C001 defines 15",
            16,
            id="too-many-components-once",
        ),
    ],
)
def test_composite_problems_name_the_component(sln05: str, expected: str, component: int) -> None:
    (problem,) = problems_of([BEG, PO1, f"SLN*1**I*1*{sln05}", CTT])
    assert problem.message == expected
    assert (problem.element, problem.component) == (5, component)


def test_ack_positions_count_from_st() -> None:
    (problem,) = problems_of([BEG, "REF*DP*038", "PO1*1*2*EA*12.5**VP", CTT])
    assert problem.ts_position == 4
    assert problem.position == 6


def test_functional_group_that_does_not_match_the_set_is_a_warning() -> None:
    text = interchange([group([transaction("850", [BEG, PO1, CTT])], functional_id="IN")])
    report = check_text(text)
    assert report.ok
    assert lines(report) == [
        "in.edi: segment 2 (GS): warning: GS01 is 'IN' but transaction set 850 belongs in a 'PO' group"
    ]


# --------------------------------------------------------------------------- no definition


def test_a_set_without_definition_is_parsed_flat_and_check_warns_plainly() -> None:
    body = ["W05*N*538686**001001*538686", "LX*1", "W01*12*CA*000100011110*VN*000100*UC*DEC0199"]
    text = interchange([group([transaction("940", body)], functional_id="OW")])
    txn = only_transaction(parse_text(text))
    assert txn["definition"] is None
    assert txn["body"] == {
        "segments": [
            {"W05": {"W0501": "N", "W0502": "538686", "W0504": "001001", "W0505": "538686"}},
            {"LX": {"LX01": "1"}},
            {
                "W01": {
                    "W0101": "12",
                    "W0102": "CA",
                    "W0103": "000100011110",
                    "W0104": "VN",
                    "W0105": "000100",
                    "W0106": "UC",
                    "W0107": "DEC0199",
                }
            },
        ]
    }
    report = check_text(text)
    assert report.ok
    (line,) = lines(report)
    assert line.startswith(
        "in.edi: segment 3 (ST): warning: no definition for transaction set 940 in version 004010: "
        "checked the envelope only; definitions exist for 004010 810, 004010 850"
    )


def test_a_version_without_definitions_is_parsed_flat() -> None:
    text = purchase_order(gs08="004030")
    txn = only_transaction(parse_text(text))
    assert txn["definition"] is None
    assert [next(iter(seg)) for seg in txn["body"]["segments"]] == ["BEG", "PO1", "CTT"]
    assert "no definition for transaction set 850 in version 004030" in lines(check_text(text))[0]


def test_flat_body_splits_components_of_known_composites() -> None:
    text = interchange([group([transaction("940", ["W05*N*1", "QTY*39*1*EA>1"])], functional_id="OW")])
    segments = only_transaction(parse_text(text))["body"]["segments"]
    assert segments[1] == {"QTY": {"QTY01": "39", "QTY02": "1", "QTY03": ["EA", "1"]}}


def test_problems_listed_by_check_are_in_file_order() -> None:
    text = interchange(
        [group([transaction("850", ["BEG*99*SA*PO-4711**20240502", PO1, CTT]), transaction("850", [PO1], "0002")])]
    )
    positions = [p.position or 0 for p in check_text(text).problems]
    assert positions == sorted(positions)
    assert [p.split(": error: ")[1][:30] for p in errors(check_text(text))] == [
        "BEG01 (353 Transaction Set Pur",
        "mandatory segment BEG is missi",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            [BEG, "PO1*1*٣*EA*12.5**VP*ACME-1", CTT], "PO102 (330 Quantity Ordered) '٣' is not a decimal number", id="R"
        ),
        pytest.param([BEG, PO1, "CTT*²"], "CTT01 (354 Number of Line Items) '²' is not an integer", id="N0"),
        pytest.param(
            ["BEG*00*SA*PO-4711**٢٠٢٤٠٥٠٢", PO1, CTT],
            "BEG05 (373 Date) '٢٠٢٤٠٥٠٢' is not a valid CCYYMMDD date",
            id="DT",
        ),
    ],
)
def test_numbers_and_dates_must_use_ascii_digits(body: list[str], expected: str) -> None:
    (problem,) = problems_of(body)
    assert problem.message == expected
