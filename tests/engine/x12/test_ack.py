"""997 Functional Acknowledgments: content, envelope, and the defects of pyx12's generator
avoided (clock-based ISA13, GS08 set from ISA12, component separator changed).
"""

from __future__ import annotations

import io
from datetime import datetime

from x12_support import PO_BODY, check_text, group, interchange, lines, parse_text, transaction

from engine.x12 import ack
from engine.x12.ack import SequentialControls

NOW = datetime(2024, 5, 2, 10, 5)
BEG = "BEG*00*SA*PO-4711**20240502"
PO1 = "PO1*1*2*EA*12.5**VP*ACME-1"


def acknowledge(text: str, start: int = 900) -> str:
    return "".join(ack.acknowledge(io.BytesIO(text.encode()), "in.edi", SequentialControls(start), NOW))


def segments(text: str, terminator: str = "~", element: str = "*") -> list[list[str]]:
    return [seg.strip().split(element) for seg in text.split(terminator) if seg.strip()]


def body(text: str, terminator: str = "~", element: str = "*") -> list[str]:
    """The 997 segments between ST and SE, joined with `*`."""
    segs = segments(text, terminator, element)
    start = next(i for i, s in enumerate(segs) if s[0] == "ST")
    end = next(i for i, s in enumerate(segs) if s[0] == "SE")
    return ["*".join(s) for s in segs[start + 1 : end]]


def test_accepted_group_gets_ak1_ak2_ak5_and_ak9_counts() -> None:
    text = interchange([group([transaction("850", PO_BODY, "0001"), transaction("850", PO_BODY, "0002")], control=5)])
    assert body(acknowledge(text)) == [
        "AK1*PO*5",
        "AK2*850*0001",
        "AK5*A",
        "AK2*850*0002",
        "AK5*A",
        "AK9*A*2*2*2",
    ]


def test_element_errors_become_ak3_and_ak4_with_a_copy_of_the_bad_value() -> None:
    bad = [BEG, PO1, "PO1*2*1*EA*X1*", "CTT*2"]
    text = interchange([group([transaction("850", PO_BODY, "0001"), transaction("850", bad, "0002")])])
    assert body(acknowledge(text)) == [
        "AK1*PO*1",
        "AK2*850*0001",
        "AK5*A",
        "AK2*850*0002",
        "AK3*PO1*4**8",
        "AK4*4*212*6*X1",
        "AK5*R*5",
        "AK9*P*2*2*1",
    ]


def test_ak401_carries_the_component_position_of_a_composite() -> None:
    text = interchange([group([transaction("850", [BEG, PO1, "SLN*1**I*1*PC>X1.5", "CTT*1"])])])
    assert "AK4*5>2*1018*6*X1.5" in body(acknowledge(text))


def test_segment_errors_become_ak3_with_their_code() -> None:
    text = interchange([group([transaction("850", ["REF*DP*038", BEG, "ZZZ*1", PO1, "CTT*1"])])])
    assert body(acknowledge(text)) == [
        "AK1*PO*1",
        "AK2*850*0001",
        "AK3*BEG*3**7",
        "AK3*ZZZ*4**1",
        "AK5*R*5",
        "AK9*R*1*1*0",
    ]


def test_syntax_note_errors_name_the_missing_element_in_ak4() -> None:
    text = interchange([group([transaction("850", [BEG, "PO1*1*2*EA*12.5**VP", "CTT*1"])])])
    assert body(acknowledge(text))[2:4] == ["AK3*PO1*3**8", "AK4*7*234*2"]


def test_a_composite_reference_never_goes_into_numeric_ak402() -> None:
    text = interchange([group([transaction("850", [BEG, PO1, "SLN*1**I*1", "CTT*1"])])])
    ack_text = acknowledge(text)
    assert "AK4*5**2" in body(ack_text)
    assert check_text(ack_text).problems == []


def test_envelope_errors_of_a_transaction_set_become_ak5_codes() -> None:
    good = transaction("850", PO_BODY, "0001")
    miscounted = ["ST*850*0002", BEG, PO1, "CTT*1", "SE*9*0002"]
    mismatched = ["ST*850*0003", BEG, PO1, "CTT*1", "SE*5*0033"]
    text = interchange([group([good, miscounted, mismatched])])
    assert body(acknowledge(text)) == [
        "AK1*PO*1",
        "AK2*850*0001",
        "AK5*A",
        "AK2*850*0002",
        "AK5*R*4",
        "AK2*850*0003",
        "AK5*R*3",
        "AK9*P*3*3*1",
    ]


def test_missing_se_becomes_ak5_code_2() -> None:
    text = interchange([group([["ST*850*0001", BEG, PO1, "CTT*1"]])])
    assert body(acknowledge(text))[1:3] == ["AK2*850*0001", "AK5*R*2"]


def test_group_envelope_errors_reject_the_group_with_ak9_codes() -> None:
    text = interchange([group([transaction("850", PO_BODY)])]).replace("GE*1*1~", "GE*2*3~")
    assert body(acknowledge(text))[-1] == "AK9*R*2*1*1*5*4"


def test_a_set_without_definition_is_rejected_as_not_supported() -> None:
    text = interchange([group([transaction("940", ["W05*N*538686**001001"])], functional_id="OW")])
    assert body(acknowledge(text)) == ["AK1*OW*1", "AK2*940*0001", "AK5*R*1", "AK9*R*1*1*0"]


def test_warnings_do_not_reject() -> None:
    text = interchange([group([transaction("850", PO_BODY)], functional_id="IN")])
    assert lines(check_text(text))  # the GS01 warning
    assert body(acknowledge(text))[-1] == "AK9*A*1*1*1"


def test_envelope_swaps_sender_and_receiver_and_keeps_version_and_delimiters() -> None:
    text = interchange(
        [group([transaction("850", PO_BODY)], control=5, version="004010VICS")],
        element="|",
        component="{",
        terminator="!",
        after="\r\n",
        version="00400",
    )
    ack_text = acknowledge(text)
    isa, gs = segments(ack_text, "!", "|")[:2]
    assert (isa[5], isa[6], isa[7], isa[8]) == ("ZZ", "RECEIVER       ", "ZZ", "SENDER         ")
    assert isa[12] == "00400"
    assert isa[16] == "{"
    assert len(ack_text.splitlines()[0]) == 106
    assert gs == ["GS", "FA", "RECEIVERAPP", "SENDERAPP", "20240502", "1005", "900", "X", "004010VICS"]
    tree = parse_text(ack_text)
    (ic,) = tree["interchanges"]
    assert ic["delimiters"] == {"element": "|", "component": "{", "segment": "!", "repetition": None}


def test_component_separator_is_kept_in_ak401() -> None:
    text = interchange([group([transaction("850", [BEG, PO1, "SLN*1**I*1*PC>X1.5", "CTT*1"])])], component="`")
    assert "AK4*5`2*1018*6*X1.5" in body(acknowledge(text))


def test_control_numbers_and_time_come_from_the_caller() -> None:
    text = interchange([group([transaction("850", PO_BODY)])])
    first = acknowledge(text, start=4711)
    assert first == acknowledge(text, start=4711)
    isa = segments(first)[0]
    assert (isa[9], isa[10], isa[13]) == ("240502", "1005", "000004711")
    assert segments(first)[1][6] == "4711"
    assert "ST*997*4711" in first

    class Persisted:
        def next_interchange(self) -> int:
            return 123456789

        def next_group(self) -> int:
            return 55

        def next_transaction(self) -> int:
            return 7

    custom = "".join(ack.acknowledge(io.BytesIO(text.encode()), "in.edi", Persisted(), NOW))
    assert "*123456789*0*T*>~" in custom
    assert "GS*FA*RECEIVERAPP*SENDERAPP*20240502*1005*55*X*004010~" in custom
    assert "ST*997*0007~" in custom
    assert "IEA*1*123456789~" in custom


def test_sequential_controls_count_each_kind_separately() -> None:
    controls = SequentialControls(10)
    assert [controls.next_interchange(), controls.next_interchange()] == [10, 11]
    assert [controls.next_group(), controls.next_transaction(), controls.next_transaction()] == [10, 10, 11]


def test_no_997_for_inbound_997_groups() -> None:
    fa = interchange(
        [group([transaction("997", ["AK1*PO*1", "AK2*850*0001", "AK5*A", "AK9*A*1*1*1"])], functional_id="FA")]
    )
    assert acknowledge(fa) == ""
    mixed = interchange(
        [
            group([transaction("997", ["AK1*PO*1", "AK9*A*0*0*0"])], functional_id="FA", control=1),
            group([transaction("850", PO_BODY)], control=2),
        ]
    )
    assert [line for line in body(acknowledge(mixed)) if line.startswith("AK1")] == ["AK1*PO*2"]


def test_each_inbound_group_gets_one_997_and_routes_share_a_functional_group() -> None:
    groups = [
        group([transaction("850", PO_BODY)], control=1),
        group([transaction("850", PO_BODY)], control=2),
        group([transaction("850", PO_BODY)], control=3, version="004010VICS"),
    ]
    ack_text = acknowledge(interchange(groups))
    segs = segments(ack_text)
    assert [s[8] for s in segs if s[0] == "GS"] == ["004010", "004010VICS"]
    assert [s[2] for s in segs if s[0] == "AK1"] == ["1", "2", "3"]
    assert [s[1:] for s in segs if s[0] == "GE"] == [["2", "900"], ["1", "901"]]
    assert [s[2] for s in segs if s[0] == "ST"] == ["0900", "0901", "0902"]
    assert check_text(ack_text).problems == []


def test_each_inbound_interchange_gets_its_own_997_interchange() -> None:
    one = interchange([group([transaction("850", PO_BODY)])], control=1)
    two = interchange([group([transaction("850", PO_BODY)], control=2)], control=2, element="|")
    ack_text = acknowledge(one + two)
    report = check_text(ack_text)
    assert (report.interchanges, report.groups, report.transactions) == (2, 2, 2)
    assert report.problems == []
    assert [ic["control_number"] for ic in parse_text(ack_text)["interchanges"]] == ["000000900", "000000901"]


def test_generated_997_passes_check_against_the_997_definition() -> None:
    bad = [BEG, "PO1*1*2*XX*12.5**VP", "SLN*1**I*1*PC>X1.5", "ZZZ*1", "CTT*A"]
    text = interchange([group([transaction("850", PO_BODY, "0001"), transaction("850", bad, "0002")])]).replace(
        "GE*2*1", "GE*2*9"
    )
    ack_text = acknowledge(text)
    report = check_text(ack_text, "ack.edi")
    assert report.problems == []
    txn = parse_text(ack_text)["interchanges"][0]["groups"][0]["transactions"][0]
    assert txn["definition"] == "004010 997"
    assert txn["body"]["AK9"] == {"AK901": "R", "AK902": "2", "AK903": "2", "AK904": "1", "AK905": "4"}
