"""The envelope builder: ISA/GS/ST ... SE/GE/IEA around bodies, pure and checkable.

The ISA has its fixed widths (106 characters with the terminator), counts are computed,
control numbers and the clock come from the caller, and what comes out passes `check`.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from x12_support import check_text, parse_text

from engine.errors import X12WriteError
from engine.x12.delimiters import Delimiters
from engine.x12.envelope import GroupSpec, InterchangeSpec, Party, TransactionSpec, build, st_control
from engine.x12.writer import DelimiterPolicy

NOW = datetime(2024, 5, 2, 10, 5)
STAR = Delimiters("*", ">", "~")
PO_BODY = [
    ["BEG", "00", "SA", "PO-4711", "", "20240502"],
    ["PO1", "1", "2", "EA", "12.5", "", "VP", "ACME-1"],
    ["CTT", "1"],
]
PO_BODY_2 = [["BEG", "00", "SA", "PO-4712", "", "20240503"], ["PO1", "1", "1", "EA", "3"], ["CTT", "1"]]


def spec(**overrides: object) -> InterchangeSpec:
    groups = [
        GroupSpec("PO", 7, "004010", [TransactionSpec("850", "1", PO_BODY), TransactionSpec("850", "2", PO_BODY_2)]),
        GroupSpec("PO", 8, "004010VICS", [TransactionSpec("850", "3", PO_BODY)]),
    ]
    values: dict[str, object] = {
        "sender": Party("ZZ", "ACME"),
        "receiver": Party("01", "123456789", application_id="RCVAPP"),
        "control_number": 42,
        "groups": groups,
    }
    values.update(overrides)
    return InterchangeSpec(**values)  # type: ignore[arg-type]


def test_isa_is_padded_to_106_characters_and_isa06_to_15() -> None:
    text = build(spec(), STAR, NOW)
    isa_line = text.splitlines()[0]
    assert len(isa_line) == 106
    fields = isa_line[:-1].split("*")
    assert fields[6] == "ACME           "
    assert len(fields[6]) == 15
    assert fields[8] == "123456789      "
    assert [len(f) for f in fields[1:]] == [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1]
    assert isa_line == (
        "ISA*00*          *00*          *ZZ*ACME           *01*123456789      *240502*1005*U*00401*000000042*0*P*>~"
    )


def test_counts_and_control_numbers_come_out_right() -> None:
    text = build(spec(), STAR, NOW)
    segments = [line.rstrip("~") for line in text.splitlines()]
    assert segments[1:] == [
        "GS*PO*ACME*RCVAPP*20240502*1005*7*X*004010",
        "ST*850*0001",
        "BEG*00*SA*PO-4711**20240502",
        "PO1*1*2*EA*12.5**VP*ACME-1",
        "CTT*1",
        "SE*5*0001",
        "ST*850*0002",
        "BEG*00*SA*PO-4712**20240503",
        "PO1*1*1*EA*3",
        "CTT*1",
        "SE*5*0002",
        "GE*2*7",
        "GS*PO*ACME*RCVAPP*20240502*1005*8*X*004010VICS",
        "ST*850*0003",
        "BEG*00*SA*PO-4711**20240502",
        "PO1*1*2*EA*12.5**VP*ACME-1",
        "CTT*1",
        "SE*5*0003",
        "GE*1*8",
        "IEA*2*000000042",
    ]


def test_built_interchange_passes_check_with_no_problem() -> None:
    report = check_text(build(spec(), STAR, NOW))
    assert report.problems == []
    assert (report.interchanges, report.groups, report.transactions) == (1, 2, 3)


def test_envelope_facts_read_back() -> None:
    tree = parse_text(build(spec(usage="T", version="00401"), Delimiters("|", ":", "!"), NOW))
    (ic,) = tree["interchanges"]
    assert ic["sender"] == {"qualifier": "ZZ", "id": "ACME"}
    assert ic["receiver"] == {"qualifier": "01", "id": "123456789"}
    assert (ic["control_number"], ic["usage"], ic["date"], ic["time"]) == ("000000042", "T", "240502", "1005")
    assert ic["delimiters"] == {"element": "|", "component": ":", "segment": "!", "repetition": None}
    assert [g["version"] for g in ic["groups"]] == ["004010", "004010VICS"]
    assert [g["control_number"] for g in ic["groups"]] == ["7", "8"]


def test_same_input_gives_the_same_bytes() -> None:
    assert build(spec(), STAR, NOW) == build(spec(), STAR, NOW)


def test_version_00501_writes_the_repetition_separator_in_isa11() -> None:
    text = build(spec(version="00501"), Delimiters("*", ":", "~", "^"), NOW)
    fields = text.splitlines()[0].split("*")
    assert (fields[11], fields[12], fields[16]) == ("^", "00501", ":~")
    assert check_text(text).ok
    assert parse_text(text)["interchanges"][0]["delimiters"]["repetition"] == "^"


def test_version_before_00402_writes_u_in_isa11() -> None:
    fields = build(spec(), Delimiters("*", ":", "~", "^"), NOW).splitlines()[0].split("*")
    assert fields[11] == "U"


def test_st02_is_at_least_four_digits() -> None:
    assert [st_control(1), st_control(12345), st_control("A1")] == ["0001", "12345", "A1"]


def test_implementation_reference_goes_into_st03() -> None:
    group = GroupSpec("PO", 1, "005010X220", [TransactionSpec("850", "1", PO_BODY, implementation="005010X220")])
    text = build(spec(groups=[group]), STAR, NOW)
    assert "ST*850*0001*005010X220~" in text


def test_delimiters_in_body_data_follow_the_policy() -> None:
    body = [["BEG", "00", "SA", "PO*4711", "", "20240502"], ["PO1", "1", "2", "EA", "12.5"], ["CTT", "1"]]
    group = GroupSpec("PO", 1, "004010", [TransactionSpec("850", "1", body)])
    policy = DelimiterPolicy()
    text = build(spec(groups=[group]), STAR, NOW, policy)
    assert "BEG*00*SA*PO 4711**20240502~" in text
    assert policy.replaced == ["BEG03: '*' -> ' '"]
    with pytest.raises(X12WriteError, match="BEG03 contains the delimiter"):
        build(spec(groups=[group]), STAR, NOW, DelimiterPolicy(mode="reject"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"control_number": 0}, "ISA13 control number 0 is outside 1..999999999", id="isa13-zero"),
        pytest.param(
            {"control_number": 10**9}, "ISA13 control number 1000000000 is outside 1..999999999", id="isa13-too-big"
        ),
        pytest.param(
            {"sender": Party("ZZ", "A-SENDER-ID-THAT-IS-LONG")},
            "ISA06 (sender id) 'A-SENDER-ID-THAT-IS-LONG' is 24 characters; the ISA allows 15",
            id="isa06-too-long",
        ),
        pytest.param(
            {"receiver": Party("ZZZ", "R")},
            "ISA07 (receiver qualifier) 'ZZZ' is 3 characters; the ISA allows 2",
            id="isa07-too-long",
        ),
        pytest.param({"usage": "X"}, "usage indicator 'X' is not valid; use P (production) or T (test)", id="usage"),
        pytest.param(
            {"sender": Party("ZZ", "ACME*CO")},
            "ISA06 'ACME*CO        ' contains a delimiter character",
            id="isa-delimiter",
        ),
        pytest.param(
            {"groups": [GroupSpec("PO", 0, "004010", [])]},
            "GS06 control number 0 is outside 1..999999999",
            id="gs06-zero",
        ),
    ],
)
def test_invalid_envelope_values_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(X12WriteError) as caught:
        build(spec(**overrides), STAR, NOW)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(datetime(2024, 5, 2, 10, 5), id="2024"),
        pytest.param(datetime(1999, 12, 31, 23, 59), id="1999"),
        pytest.param(datetime(2000, 1, 1, 0, 0), id="2000"),
        pytest.param(datetime(9999, 12, 31, 0, 1), id="9999"),
        pytest.param(datetime(999, 3, 4, 5, 6), id="year-999"),
    ],
)
def test_envelope_dates_and_times_are_what_strftime_writes(now: datetime) -> None:
    lines = build(spec(), STAR, now).split("~\n")
    isa, gs = lines[0].split("*"), lines[1].split("*")
    assert (isa[9], isa[10]) == (now.strftime("%y%m%d"), now.strftime("%H%M"))
    assert (gs[4], gs[5]) == (now.strftime("%Y%m%d"), now.strftime("%H%M"))
