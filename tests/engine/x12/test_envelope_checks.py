"""Envelope checks beyond control numbers and counts (X12.5 / X12.6): GS element values, ST02,
ISA11 and ISA12, TA1 segments, the functional group of a set without definition, an ISA13
repeated in one file; and the hardened definition lookup (ST01 / GS08 are never a path).

Every file here is written for its test (tests/engine/x12/x12_support.py builds them).
"""

from __future__ import annotations

import builtins
import io
import os
import pathlib
from pathlib import Path
from typing import Any

import pytest

from engine.x12 import definition
from engine.x12.document import parse, walk
from engine.x12.reader import read_bytes
from tests.engine.x12.x12_support import (
    PO_BODY,
    check_text,
    errors,
    group,
    interchange,
    isa,
    lines,
    parse_text,
    purchase_order,
    transaction,
)


def _gs(functional_id: str = "PO", date: str = "20240502", time: str = "1005", agency: str = "X", version: str = "004010") -> str:
    return f"GS*{functional_id}*SENDERAPP*RECEIVERAPP*{date}*{time}*1*{agency}*{version}"


def _file(gs: str, st: str = "ST*850*0001") -> str:
    control = st.split("*")[2] if st.count("*") >= 2 else ""
    body = [st, *PO_BODY, f"SE*{len(PO_BODY) + 2}*{control}"]
    segments = [isa(), gs, *body, "GE*1*1", "IEA*1*000000001"]
    return "".join(seg + "~\n" for seg in segments)


# --------------------------------------------------------------------------- GS values


@pytest.mark.parametrize(
    ("gs", "message"),
    [
        pytest.param(_gs(functional_id="P"), "GS01 (Functional Identifier Code) 'P' is 1 characters, expected 2", id="gs01-one-character"),
        pytest.param(_gs(functional_id="ZQ"), "GS01 (Functional Identifier Code) 'ZQ' is not a known functional identifier code", id="gs01-unknown"),
        pytest.param(_gs(date="240502"), "GS04 (Date) '240502' is not a valid CCYYMMDD date (required from 004010 on)", id="gs04-yymmdd-in-004010"),
        pytest.param(_gs(date="20240231"), "GS04 (Date) '20240231' is not a valid CCYYMMDD date", id="gs04-no-such-day"),
        pytest.param(_gs(version="003060"), "GS04 (Date) '20240502' is not a valid YYMMDD date", id="gs04-ccyymmdd-before-004010"),
        pytest.param(_gs(time="2460"), "GS05 (Time) '2460' is not a valid HHMM, HHMMSS or HHMMSSd..d time", id="gs05-hour-24"),
        pytest.param(_gs(time="10051"), "GS05 (Time) '10051' is not a valid", id="gs05-five-digits"),
        pytest.param(_gs(time="100575"), "GS05 (Time) '100575' is not a valid", id="gs05-seconds-75"),
        pytest.param(_gs(agency="Y"), "GS07 (Responsible Agency Code) is 'Y', expected X (ASC X12) or T (TDCC)", id="gs07"),
        pytest.param(_gs(version="4010"), "GS08 (Version / Release / Industry Identifier Code) '4010' is not an X12 version code", id="gs08-short"),
        pytest.param(_gs(version="004010/../x"), "GS08 (Version / Release / Industry Identifier Code) '004010/../x' is not", id="gs08-path"),
    ],
)
def test_gs_element_values_are_checked(gs: str, message: str) -> None:
    found = errors(check_text(_file(gs)))
    assert any(message in line and "segment 2 (GS)" in line for line in found), found


@pytest.mark.parametrize(
    "gs",
    [
        pytest.param(_gs(), id="standard"),
        pytest.param(_gs(time="100559"), id="hhmmss"),
        pytest.param(_gs(time="10055912"), id="hhmmss-hundredths"),
        pytest.param(_gs(agency="T"), id="agency-t"),
        pytest.param(_gs(version="004010VICS"), id="suffix"),
        pytest.param(_gs(version="003060", date="240502"), id="yymmdd-before-004010"),
        pytest.param(_gs(functional_id="IN"), id="another-known-functional-id"),
    ],
)
def test_valid_gs_values_raise_no_gs_error(gs: str) -> None:
    assert not [line for line in errors(check_text(_file(gs))) if "(GS)" in line]


@pytest.mark.parametrize(
    ("control", "ok"),
    [
        pytest.param("0001", True, id="four"),
        pytest.param("123456789", True, id="nine"),
        pytest.param("1234567890", False, id="ten"),
        pytest.param("1", False, id="one"),
    ],
)
def test_st02_is_four_to_nine_characters(control: str, ok: bool) -> None:
    found = [line for line in errors(check_text(_file(_gs(), st=f"ST*850*{control}"))) if "ST02" in line]
    if ok:
        assert not found
    else:
        assert found == [
            f"in.edi: segment 3 (ST): error: ST02 (Transaction Set Control Number) {control!r} is "
            f"{len(control)} characters, expected 4 to 9"
        ]


# --------------------------------------------------------------------------- ISA11, ISA12


@pytest.mark.parametrize(
    ("version", "isa11", "message"),
    [
        pytest.param("00401", "^", "ISA11 (Interchange Control Standards Identifier) is '^'; version 00401 requires U", id="00401-separator"),
        pytest.param("00400", "X", "ISA11 (Interchange Control Standards Identifier) is 'X'; version 00400 requires U", id="00400-letter"),
        pytest.param("00501", "U", "ISA11 (Repetition Separator) is 'U'; from version 00501 it must be the repetition separator", id="00501-u"),
        pytest.param("00040", "U", "ISA12 (Interchange Control Version Number) '00040' is not a known version", id="isa12-00040"),
        pytest.param("00999", "^", "ISA12 (Interchange Control Version Number) '00999' is not a known version", id="isa12-00999"),
    ],
)
def test_isa11_and_isa12_are_checked(version: str, isa11: str, message: str) -> None:
    text = purchase_order(version=version, repetition=isa11)
    found = errors(check_text(text))
    assert any(message in line and "segment 1 (ISA)" in line for line in found), found


@pytest.mark.parametrize(
    ("version", "isa11"),
    [
        pytest.param("00401", "U", id="00401-u"),
        pytest.param("00402", "U", id="00402-u"),
        pytest.param("00402", "^", id="00402-separator"),
        pytest.param("00501", "^", id="00501-caret"),
        pytest.param("00501", "!", id="00501-bang"),
    ],
)
def test_valid_isa11_for_its_version_passes(version: str, isa11: str) -> None:
    assert check_text(purchase_order(version=version, repetition=isa11)).ok


# --------------------------------------------------------------------------- TA1


def _with_ta1(*ta1: str, after_group: bool = False) -> str:
    segments = [isa()]
    body = group([transaction("850", PO_BODY)])
    if after_group:
        segments += [*body, *ta1]
    else:
        segments += [*ta1, *body]
    segments.append("IEA*1*000000001")
    return "".join(seg + "~\n" for seg in segments)


def test_a_ta1_between_isa_and_gs_is_read_and_shown_in_the_tree() -> None:
    text = _with_ta1("TA1*000004711*240501*0930*A*000")
    report = check_text(text)
    assert report.ok, lines(report)
    (ic,) = parse_text(text)["interchanges"]
    assert ic["ta1"] == [{"control_number": "000004711", "date": "240501", "time": "0930", "status": "A", "note_code": "000"}]
    assert len(ic["groups"]) == 1  # IEA01 counts groups only: the TA1 is not one


def test_an_interchange_of_ta1s_only_is_valid() -> None:
    text = isa() + "~\nTA1*000004711*240501*0930*R*022~\nTA1*000004712*240501*0931*E*024~\nIEA*0*000000001~\n"
    assert check_text(text).ok
    (ic,) = parse_text(text)["interchanges"]
    assert [t["status"] for t in ic["ta1"]] == ["R", "E"]


@pytest.mark.parametrize(
    ("ta1", "message"),
    [
        pytest.param("TA1*4711*240501*0930*A*000", "TA101 (Interchange Control Number) '4711' is not nine digits", id="ta101"),
        pytest.param("TA1*000004711*240231*0930*A*000", "TA102 (Interchange Date) '240231' is not a valid YYMMDD date", id="ta102"),
        pytest.param("TA1*000004711*240501*2500*A*000", "TA103 (Interchange Time) '2500' is not a valid HHMM time", id="ta103"),
        pytest.param("TA1*000004711*240501*0930*X*000", "TA104 (Interchange Acknowledgment Code) is 'X', expected A, E or R", id="ta104"),
        pytest.param("TA1*000004711*240501*0930*A*099", "TA105 (Interchange Note Code) is '099', expected a code 000 to 031", id="ta105"),
        pytest.param("TA1*000004711*240501*0930*A", "TA105 (Interchange Note Code) is ''", id="ta105-missing"),
    ],
)
def test_ta1_values_are_checked(ta1: str, message: str) -> None:
    found = errors(check_text(_with_ta1(ta1)))
    assert any(message in line and "segment 2 (TA1)" in line for line in found), found


def test_a_ta1_after_a_group_is_an_error() -> None:
    found = errors(check_text(_with_ta1("TA1*000004711*240501*0930*A*000", after_group=True)))
    assert any("TA1 after a functional group: a TA1 must come before the first GS" in line for line in found), found


# --------------------------------------------------------------------------- functional group


def test_a_set_without_definition_in_a_group_of_the_wrong_functional_id_is_a_warning() -> None:
    text = interchange([group([transaction("940", ["W05*N*538686"])], functional_id="PO")])
    report = check_text(text)
    warnings = [line for line in lines(report) if "warning" in line]
    assert any("GS01 is 'PO' but transaction set 940 belongs in a 'OW' group" in line for line in warnings), warnings
    assert any("no definition for transaction set 940" in line for line in warnings)


def test_a_set_without_definition_in_its_own_group_has_no_group_warning() -> None:
    text = interchange([group([transaction("940", ["W05*N*538686"])], functional_id="OW")])
    assert not [line for line in lines(check_text(text)) if "GS01 is" in line]


def test_a_defined_set_in_the_wrong_group_is_a_warning() -> None:
    text = interchange([group([transaction("850", PO_BODY)], functional_id="OW")])
    assert any("GS01 is 'OW' but transaction set 850 belongs in a 'PO' group" in line for line in lines(check_text(text)))


# --------------------------------------------------------------------------- one file, one ISA13


def test_two_interchanges_with_the_same_sender_and_isa13_in_one_file_are_a_warning() -> None:
    one = purchase_order()
    report = check_text(one + one)
    warnings = [line for line in lines(report) if "warning" in line]
    assert warnings == [
        "in.edi: segment 10 (ISA): warning: interchange 000000001 from ZZ/SENDER appears twice in this file "
        "(first ISA at segment 1): the same sender and ISA13"
    ]
    assert report.ok  # a warning: the second may be a resend the ledger handles


def test_two_interchanges_with_different_isa13_raise_no_warning() -> None:
    assert not [line for line in lines(check_text(purchase_order() + purchase_order(control=2))) if "warning" in line]


# --------------------------------------------------------------------------- lookup hardening


@pytest.mark.parametrize(
    ("st01", "message"),
    [
        pytest.param("../../../../any/dir/x", "ST01 '../../../../any/dir/x' is not a transaction set identifier (three digits, e.g. 850)", id="traversal"),
        pytest.param("85", "ST01 '85' is not a transaction set identifier", id="two-digits"),
        pytest.param("8500", "ST01 '8500' is not a transaction set identifier", id="four-digits"),
        pytest.param("85A", "ST01 '85A' is not a transaction set identifier", id="letter"),
        pytest.param("\uff18\uff15\uff10", "is not a transaction set identifier", id="fullwidth-digits"),
    ],
)
def test_st01_that_is_not_three_digits_is_a_one_line_error_for_that_transaction(st01: str, message: str) -> None:
    text = interchange([group([transaction(st01, PO_BODY), transaction("850", PO_BODY, "0002")])])
    report = check_text(text)
    refused = [line for line in errors(report) if "ST01" in line]
    assert refused == [
        f"in.edi: segment 3 (ST): error: ST01 {st01!r} is not a transaction set identifier (three digits, e.g. 850): "
        "no definition looked up, checked the envelope only"
    ]
    assert message in refused[0]
    # the other transaction of the group is checked against its definition as usual
    checked = [event for event in walk(io.BytesIO(text.encode()), "in.edi") if hasattr(event, "parsed")]
    assert [c.parsed.definition.label if c.parsed.definition else None for c in checked] == [None, "004010 850"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "gs08",
    [
        pytest.param("../../../../etc", id="traversal"),
        pytest.param("004010/..", id="suffix-traversal"),
        pytest.param("/abs/path", id="absolute"),
        pytest.param("00401", id="five-digits"),
        pytest.param("004010VICSXYZ", id="suffix-too-long"),
    ],
)
def test_gs08_that_is_not_a_version_code_is_an_error_and_nothing_is_looked_up(gs08: str) -> None:
    text = interchange([group([transaction("850", PO_BODY)], version=gs08)])
    found = errors(check_text(text))
    assert any("GS08 (Version / Release / Industry Identifier Code)" in line and "(GS)" in line for line in found), found
    assert any(
        line.startswith("in.edi: segment 3 (ST): error: GS08 ") and line.endswith("no definition looked up, checked the envelope only")
        for line in found
    ), found


def test_a_definition_file_outside_the_package_is_never_loaded(tmp_path: Path) -> None:
    outside = tmp_path / "evil"
    outside.mkdir()
    (outside / "x.yaml").write_text('id: "850"\nname: evil\nfunctional_group: PO\nstructure: []\n', encoding="utf-8")
    (outside / "segments.yaml").write_text("BEG: {elements: []}\n", encoding="utf-8")
    package = Path(definition.__file__).parent / "definitions"
    st01 = os.path.relpath(outside / "x", package / "004010")
    gs08 = os.path.relpath(outside, package)
    assert definition.load("004010", st01) is None
    assert definition.load(gs08, "850") is None
    assert definition.segment_dictionary(gs08) == {}
    text = interchange([group([transaction(st01, PO_BODY)])])
    assert any("is not a transaction set identifier" in line for line in errors(check_text(text)))


HOSTILE = [
    "../../../../any/dir/x",
    "..",
    "/etc/passwd",
    "850/../../810",
    "..\\..\\x",
    "%2e%2e%2fx",
    "004010/../../../../tmp",
    "~root",
    "CON",
]


def test_no_path_built_from_file_content_leaves_the_definitions_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file opened while hostile ST01/GS08 values are read is inside the definitions package."""
    package = (Path(definition.__file__).parent / "definitions").resolve()
    opened: list[Path] = []
    real_open = builtins.open
    real_path_open = pathlib.Path.open

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike):
            opened.append(Path(file).resolve())
        return real_open(file, *args, **kwargs)

    def spy_path_open(self: pathlib.Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self.resolve())
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(pathlib.Path, "open", spy_path_open)
    definition._load.cache_clear()
    definition._dictionary.cache_clear()
    try:
        groups = []
        for index, value in enumerate(HOSTILE, start=1):
            groups.append(group([transaction(value, PO_BODY)], control=index))
            groups.append(group([transaction("850", PO_BODY)], control=100 + index, version=value))
        data = interchange(groups).encode("utf-8", "surrogateescape")
        for _event in walk(io.BytesIO(data), "hostile.edi"):
            pass
        for value in HOSTILE:
            assert definition.load(value, "850") is None
            assert definition.load("004010", value) is None
            definition.segment_dictionary(value)
        parse(io.BytesIO(data), "hostile.edi", strict_envelope=False)
    finally:
        definition._load.cache_clear()
        definition._dictionary.cache_clear()
    assert opened, "the spy saw no file opened: it is not watching the lookups"
    outside = [path for path in opened if not path.is_relative_to(package)]
    assert outside == []


def test_lookup_problem_accepts_set_ids_and_version_codes() -> None:
    assert definition.lookup_problem("004010", "850") is None
    assert definition.lookup_problem("005010X222A1", "837") is None
    assert definition.lookup_problem("004010VICS", "856") is None
    assert definition.lookup_problem("004010", "../x") is not None
    assert definition.lookup_problem("../x", "850") is not None


def test_read_bytes_keeps_ta1_on_the_interchange() -> None:
    events = list(read_bytes(_with_ta1("TA1*000004711*240501*0930*A*000").encode()))
    interchange_event = events[-1]
    assert [seg for _, seg in interchange_event.ta1] == [["TA1", "000004711", "240501", "0930", "A", "000"]]  # type: ignore[union-attr]
