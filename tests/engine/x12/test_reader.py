"""The envelope reader: interchanges -> groups -> transactions, envelope checks, streaming.

Every envelope problem is reported with the file, the segment position and what was expected
versus what was found; a truncated file (missing SE, GE or IEA) is an error, never a silent
end. Reading holds one chunk and one transaction at a time, so memory stays flat however large
the file.
"""

from __future__ import annotations

import gc
import io
import tracemalloc
from pathlib import Path

import pytest
from x12_support import PO_BODY, check_text, errors, group, interchange, isa, parse_text, purchase_order, transaction

from benchmarks.generate import write_interchange
from engine.errors import X12EnvelopeError
from engine.x12 import problems as P
from engine.x12.reader import Group, Interchange, Transaction, check_isa, iter_transactions, read_bytes

# --------------------------------------------------------------------------- shape


def test_several_groups_per_interchange_and_transactions_per_group_are_read_in_order() -> None:
    text = interchange(
        [
            group([transaction("850", PO_BODY, "0001"), transaction("850", PO_BODY, "0002")], control=11),
            group([transaction("850", PO_BODY, "0001")], control=12),
            group([transaction("850", PO_BODY, f"{n:04d}") for n in range(1, 4)], control=13),
        ]
    )
    events = list(read_bytes(text.encode()))
    kinds = [type(event).__name__[0] for event in events]
    assert "".join(kinds) == "TTGTGTTTGI"
    interchange_event = events[-1]
    assert isinstance(interchange_event, Interchange)
    assert interchange_event.group_count == 3
    groups = [e for e in events if isinstance(e, Group)]
    assert [g.control_number for g in groups] == ["11", "12", "13"]
    assert [g.transaction_count for g in groups] == [2, 1, 3]
    txns = [e for e in events if isinstance(e, Transaction)]
    assert [(t.group.control_number, t.control_number) for t in txns] == [
        ("11", "0001"),
        ("11", "0002"),
        ("12", "0001"),
        ("13", "0001"),
        ("13", "0002"),
        ("13", "0003"),
    ]
    assert all(not e.problems for e in events)
    assert check_text(text).ok


def test_several_interchanges_in_one_file_are_read_one_after_the_other() -> None:
    one = interchange([group([transaction("850", PO_BODY)])], control=1)
    two = interchange([group([transaction("850", PO_BODY)], control=2)], control=2, element="|", component=":")
    report = check_text(one + two)
    assert (report.interchanges, report.groups, report.transactions) == (2, 2, 2)
    assert report.ok
    tree = parse_text(one + two)
    assert [ic["control_number"] for ic in tree["interchanges"]] == ["000000001", "000000002"]
    assert [ic["delimiters"]["element"] for ic in tree["interchanges"]] == ["*", "|"]
    assert [ic["delimiters"]["component"] for ic in tree["interchanges"]] == [">", ":"]


def test_transaction_keeps_its_segments_from_st_to_se() -> None:
    (txn,) = iter_transactions(io.BytesIO(purchase_order().encode()))
    assert [seg[0] for seg in txn.segments] == ["ST", "BEG", "PO1", "CTT", "SE"]
    assert txn.set_id == "850"
    assert txn.position == 3
    assert txn.group.interchange.sender_id == "SENDER"
    assert txn.group.interchange.receiver_id == "RECEIVER"


@pytest.mark.parametrize(
    ("gs08", "label"),
    [
        pytest.param("004010", "004010 850", id="004010"),
        pytest.param("004010VICS", "004010 850", id="004010VICS"),
        pytest.param("004010X348", "004010 850", id="004010X348"),
    ],
)
def test_gs08_with_an_implementation_suffix_reads_against_the_base_version(gs08: str, label: str) -> None:
    text = purchase_order(gs08=gs08)
    tree = parse_text(text)
    (grp,) = tree["interchanges"][0]["groups"]
    assert grp["version"] == gs08
    assert grp["transactions"][0]["definition"] == label
    assert check_text(text).ok


@pytest.mark.parametrize(
    ("version", "repetition"),
    [
        pytest.param("00400", "U", id="00400"),
        pytest.param("00401", "U", id="00401"),
        pytest.param("00403", "^", id="00403"),
        pytest.param("00501", "^", id="00501"),
    ],
)
def test_isa12_versions_are_all_read(version: str, repetition: str) -> None:
    text = purchase_order(version=version, repetition=repetition)
    assert check_text(text).ok
    assert parse_text(text)["interchanges"][0]["version"] == version


# --------------------------------------------------------------------------- envelope checks

ISA_LINE = isa() + "~\n"
GS = "GS*PO*SENDERAPP*RECEIVERAPP*20240502*1005*1*X*004010~\n"
ST_TO_SE = "ST*850*0001~\nBEG*00*SA*PO-4711**20240502~\nPO1*1*2*EA*12.5**VP*ACME-1~\nCTT*1~\nSE*5*0001~\n"
GE = "GE*1*1~\n"
IEA = "IEA*1*000000001~\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            ISA_LINE + GS + ST_TO_SE.replace("SE*5", "SE*6") + GE + IEA,
            [
                "in.edi: segment 7 (SE): error: SE01 says 6 segments, the transaction set has 5 (ST to SE inclusive)",
            ],
            id="se01-count",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE.replace("SE*5*0001", "SE*5*0002") + GE + IEA,
            ["in.edi: segment 7 (SE): error: SE02 '0002' does not match ST02 '0001' (ST at segment 3)"],
            id="se02-st02-mismatch",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + "GE*1*2~\n" + IEA,
            ["in.edi: segment 8 (GE): error: GE02 '2' does not match GS06 '1' (GS at segment 2)"],
            id="ge02-gs06-mismatch",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + "GE*2*1~\n" + IEA,
            ["in.edi: segment 8 (GE): error: GE01 says 2 transaction sets, the group has 1"],
            id="ge01-count",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + GE + "IEA*1*000000002~\n",
            ["in.edi: segment 9 (IEA): error: IEA02 '000000002' does not match ISA13 '000000001' (ISA at segment 1)"],
            id="iea02-isa13-mismatch",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + GE + "IEA*3*000000001~\n",
            ["in.edi: segment 9 (IEA): error: IEA01 says 3 functional groups, the interchange has 1"],
            id="iea01-count",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + GE + "IEA*1*1~\n",
            ["in.edi: segment 9 (IEA): error: IEA02 '1' does not match ISA13 '000000001' (ISA at segment 1)"],
            id="iea02-not-nine-digits",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE.replace("SE*5*0001~\n", "") + GE + IEA,
            ["in.edi: segment 7 (GE): error: transaction set 850 0001 (ST at segment 3) has no SE: found GE first"],
            id="missing-se",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + IEA,
            ["in.edi: segment 8 (IEA): error: functional group 1 (GS at segment 2) has no GE: found IEA first"],
            id="missing-ge",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + GE,
            [
                "in.edi: segment 8: error: truncated: interchange 000000001 (ISA at segment 1) has no IEA; "
                "the file ends at segment 8"
            ],
            id="missing-iea",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE.partition("CTT")[0],
            [
                "in.edi: segment 5: error: truncated: transaction set 850 0001 (ST at segment 3) has no SE; "
                "the file ends at segment 5",
                "in.edi: segment 5: error: truncated: functional group 1 (GS at segment 2) has no GE; "
                "the file ends at segment 5",
                "in.edi: segment 5: error: truncated: interchange 000000001 (ISA at segment 1) has no IEA; "
                "the file ends at segment 5",
            ],
            id="truncated-inside-a-transaction",
        ),
        pytest.param(
            ISA_LINE
            + GS
            + ST_TO_SE
            + GE
            + ISA_LINE.replace("000000001", "000000002")
            + GS
            + ST_TO_SE
            + GE
            + "IEA*1*000000002~\n",
            [
                "in.edi: segment 9 (ISA): error: interchange 000000001 (ISA at segment 1) has no IEA: "
                "found the next ISA first"
            ],
            id="missing-iea-before-next-isa",
        ),
        pytest.param(
            ISA_LINE + GS + "REF*DP*038~\n" + ST_TO_SE + GE + IEA,
            ["in.edi: segment 3 (REF): error: segment REF outside a transaction set (no ST)"],
            id="stray-segment-in-group",
        ),
        pytest.param(
            ISA_LINE + GS.replace("SENDERAPP*", "SENDER\nAPP*") + ST_TO_SE + GE + IEA,
            [
                "in.edi: segment 2: error: a line break inside the segment: the file seems to mix segment "
                "terminators (the ISA declares '~')"
            ],
            id="line-break-inside-gs",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + GE + "IEA*1\n*000000001~\n",
            [
                "in.edi: segment 9: error: a line break inside the segment: the file seems to mix segment "
                "terminators (the ISA declares '~')",
                "in.edi: segment 9 (IEA): error: IEA01 says 1\\n functional groups, the interchange has 1",
            ],
            id="line-break-inside-iea-stays-one-line",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + GE + "N1*ST*STRAY~\n" + IEA,
            ["in.edi: segment 9 (N1): error: segment N1 outside a transaction set (no ST)"],
            id="stray-segment-between-groups",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + "SE*5*0001~\n" + GE + IEA,
            ["in.edi: segment 8 (SE): error: SE without a matching ST"],
            id="se-without-st",
        ),
        pytest.param(
            ISA_LINE + ST_TO_SE + "IEA*0*000000001~\n",
            [
                "in.edi: segment 2 (ST): error: ST outside a functional group (no GS before it)",
                "in.edi: segment 3 (BEG): error: segment BEG outside a transaction set (no ST)",
                "in.edi: segment 4 (PO1): error: segment PO1 outside a transaction set (no ST)",
                "in.edi: segment 5 (CTT): error: segment CTT outside a transaction set (no ST)",
                "in.edi: segment 6 (SE): error: SE without a matching ST",
            ],
            id="transaction-without-group",
        ),
        pytest.param(
            ISA_LINE + "GE*0*1~\n" + "IEA*0*000000001~\n",
            ["in.edi: segment 2 (GE): error: GE without a matching GS"],
            id="ge-without-gs",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + ST_TO_SE + "GE*2*1~\n" + IEA,
            ["in.edi: segment 8 (ST): error: ST02 '0001' is used twice in group 1"],
            id="duplicate-st02-in-group",
        ),
        pytest.param(
            ISA_LINE + GS + ST_TO_SE + GE + GS + ST_TO_SE + GE + "IEA*2*000000001~\n",
            ["in.edi: segment 9 (GS): error: GS06 '1' is used twice in interchange 000000001"],
            id="duplicate-gs06-in-interchange",
        ),
        pytest.param(
            ISA_LINE + GS.replace("*1*X*004010", "*G1*X*004010") + ST_TO_SE + "GE*1*G1~\n" + IEA,
            ["in.edi: segment 2 (GS): error: GS06 (Group Control Number) 'G1' is not 1-9 digits"],
            id="gs06-not-numeric",
        ),
        pytest.param(
            ISA_LINE + "GS*PO*S*R*20240502*1005*1~\n" + ST_TO_SE + GE + IEA,
            ["in.edi: segment 2 (GS): error: GS has 6 elements, expected 8"],
            id="gs-too-short",
        ),
        pytest.param(
            ISA_LINE
            + GS
            + ST_TO_SE.replace("SE*5", "SE*6").replace("CTT*1~", "PER*IC*JOHN\nSMITH~\nCTT*1~")
            + GE
            + IEA,
            [
                "in.edi: segment 6: error: a line break inside the segment: the file seems to mix segment "
                "terminators (the ISA declares '~')"
            ],
            id="line-break-inside-segment",
        ),
    ],
)
def test_envelope_problems_name_file_position_expected_and_found(text: str, expected: list[str]) -> None:
    assert errors(check_text(text)) == expected


def test_mixed_terminators_name_the_character_that_ends_the_line() -> None:
    text = ISA_LINE.replace("~", "$") + "GS*PO*S*R*20240502*1005*1*X*004010$\nST*850*0001$\nBEG*00*SA*P~\n\n"
    text += "REF*DP*1~\nPO1*1*2*EA*12.5**VP*X$\nCTT*1$\nSE*5*0001$\nGE*1*1$\nIEA*1*000000001$\n"
    report = check_text(text)
    assert errors(report)[0] == (
        "in.edi: segment 4: error: a line break inside the segment: the file seems to mix segment terminators "
        "(the ISA declares '$'; '~' ends the line there)"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param(
            1, "0", "ISA01 (Authorization Information Qualifier) is 1 characters '0', expected exactly 2", id="isa01"
        ),
        pytest.param(
            2, "AUTH", "ISA02 (Authorization Information) is 4 characters 'AUTH', expected exactly 10", id="isa02"
        ),
        pytest.param(
            6, "SHORT", "ISA06 (Interchange Sender ID) is 5 characters 'SHORT', expected exactly 15", id="isa06"
        ),
        pytest.param(
            8,
            "RECEIVER        ",
            "ISA08 (Interchange Receiver ID) is 16 characters 'RECEIVER        ', expected exactly 15",
            id="isa08-too-wide",
        ),
        pytest.param(9, "241302", "ISA09 (Interchange Date) '241302' is not a valid YYMMDD date", id="isa09-month-13"),
        pytest.param(9, "240230", "ISA09 (Interchange Date) '240230' is not a valid YYMMDD date", id="isa09-feb-30"),
        pytest.param(10, "2460", "ISA10 (Interchange Time) '2460' is not a valid HHMM time", id="isa10"),
        pytest.param(
            12, "4010A", "ISA12 (Interchange Control Version Number) '4010A' is not a 5-digit version", id="isa12"
        ),
        pytest.param(13, "00000000X", "ISA13 (Interchange Control Number) '00000000X' is not numeric", id="isa13"),
        pytest.param(14, "2", "ISA14 (Acknowledgment Requested) is '2', expected 0 or 1", id="isa14"),
        pytest.param(15, "X", "ISA15 (Usage Indicator) is 'X', expected P (production), T (test) or I", id="isa15"),
    ],
)
def test_isa_field_widths_and_values_are_checked(field: int, value: str, message: str) -> None:
    elements = isa().split("*")
    elements[field] = value
    text = "*".join(elements) + "~\n" + GS + ST_TO_SE + GE + f"IEA*1*{elements[13]}~\n"
    (line,) = errors(check_text(text))
    assert line.startswith(f"in.edi: segment 1 (ISA): error: {message}")


def test_check_isa_accepts_a_standard_isa() -> None:
    assert check_isa(isa().split("*"), 1) == []


def test_envelope_problems_carry_acknowledgment_codes() -> None:
    text = ISA_LINE + GS + ST_TO_SE.replace("SE*5*0001", "SE*9*0002") + "GE*3*2~\n" + IEA
    codes = {(p.scope, p.code) for p in check_text(text).problems}
    assert ("transaction", P.TS_COUNT_MISMATCH) in codes
    assert ("transaction", P.TS_CONTROL_MISMATCH) in codes
    assert ("group", P.FG_COUNT_MISMATCH) in codes
    assert ("group", P.FG_CONTROL_MISMATCH) in codes


def test_parse_refuses_a_broken_envelope_with_the_first_error_and_a_count() -> None:
    text = ISA_LINE + GS + ST_TO_SE.replace("SE*5*0001", "SE*9*0002") + "GE*3*2~\n" + IEA
    with pytest.raises(X12EnvelopeError) as caught:
        parse_text(text)
    assert str(caught.value) == (
        "in.edi: segment 7 (SE): SE01 says 9 segments, the transaction set has 5 (ST to SE inclusive) "
        "(and 3 more envelope errors; run: mlc x12 check)"
    )


def test_parse_lenient_returns_the_tree_of_a_broken_envelope() -> None:
    text = ISA_LINE + GS + ST_TO_SE + "GE*2*1~\n" + IEA
    tree = parse_text(text, strict=False)
    assert tree["interchanges"][0]["groups"][0]["transactions"][0]["set"] == "850"


def test_truncated_file_is_an_error_in_parse_too() -> None:
    with pytest.raises(X12EnvelopeError, match="truncated: transaction set 850 0001"):
        parse_text(ISA_LINE + GS + "ST*850*0001~\nBEG*00*SA*PO-4711**20240502~\n")


# --------------------------------------------------------------------------- streaming


def _peak_while_reading(path: Path) -> tuple[int, int]:
    """(transactions read, peak traced bytes) for streaming `path` through the reader."""
    gc.collect()
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for _ in iter_transactions(stream, path.name))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def test_reading_streams_in_constant_memory(tmp_path: Path) -> None:
    small = tmp_path / "1mb.edi"
    large = tmp_path / "4mb.edi"
    small_count, _ = write_interchange(small, 1_000_000)
    large_count, _ = write_interchange(large, 4_000_000)
    read_small, peak_small = _peak_while_reading(small)
    read_large, peak_large = _peak_while_reading(large)
    assert (read_small, read_large) == (small_count, large_count)
    # Four times the data, (almost) the same peak: bounded by one chunk and one transaction.
    # A reader that kept the file, or every transaction, would add at least the 3 MB difference.
    assert peak_large - peak_small < 1_000_000, (peak_small, peak_large)
    assert peak_large < 12_000_000


def test_an_isa_field_of_the_wrong_width_is_reported_once() -> None:
    elements = isa().split("*")
    elements[10] = "10:5"[:3]  # "10:", too short and not a time: the width is the root cause
    text = "*".join(elements) + "~\n" + GS + ST_TO_SE + GE + IEA
    assert errors(check_text(text)) == [
        "in.edi: segment 1 (ISA): error: ISA10 (Interchange Time) is 3 characters '10:', expected exactly 4"
    ]
