"""Fuzzing the reader: random bytes and mutated valid files.

Whatever the input, `document.check` and `document.parse` either return or raise one of the
engine's own X12 errors (`engine.errors.X12Error`), with a one-line message; never another
exception. The 997 generator, fed the same input, raises nothing but engine errors either.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from x12_support import group, interchange, transaction

from engine.errors import MlcError, X12Error
from engine.x12 import ack, document

SEEDS = [
    interchange(
        [
            group(
                [
                    transaction(
                        "850",
                        [
                            "BEG*00*SA*PO-4711**20240502",
                            "REF*DP*038",
                            "N1*ST*ACME DC*92*0007",
                            "PO1*1*2*EA*12.5**VP*ACME-1",
                            "PID*F****Grüße",
                            "SLN*1**I*1*PC>1.5>2",
                            "CTT*1",
                        ],
                    )
                ]
            )
        ]
    ),
    interchange(
        [
            group(
                [
                    transaction(
                        "856",
                        [
                            "BSN*00*S1*20240502*1005",
                            "HL*1**S",
                            "HL*2*1*O",
                            "PRF*PO-1",
                            "HL*3*2*I",
                            "LIN**BP*A",
                            "CTT*3",
                        ],
                    )
                ],
                functional_id="SH",
            )
        ],
        element="|",
        component=":",
        terminator="\n",
        after="",
    ),
    interchange(
        [group([transaction("997", ["AK1*PO*1", "AK2*850*0001", "AK5*A", "AK9*A*1*1*1"])], functional_id="FA")],
        version="00501",
        repetition="^",
        after="\r\n",
    )
    + interchange([group([transaction("940", ["W05*N*1", "LX*1"])], functional_id="OW")], control=2, component="`"),
]
DELIMITER_CHARS = "*|~>:{`^!\n\r'\\"
NOW = datetime(2024, 5, 2, 10, 5)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_everything(data: bytes) -> None:
    """Run every reading entry point over `data`; only engine errors may escape."""
    try:
        report = document.check(io.BytesIO(data), "fuzz.edi")
    except X12Error as exc:
        assert "\n" not in str(exc)
    else:
        for problem in report.problems:
            assert "\n" not in problem.line("fuzz.edi")
    for run in (
        lambda: document.parse(io.BytesIO(data), "fuzz.edi"),
        lambda: document.parse(io.BytesIO(data), "fuzz.edi", strict_envelope=False),
    ):
        try:
            run()
        except X12Error as exc:
            assert "\n" not in str(exc)
    try:
        list(ack.acknowledge(io.BytesIO(data), "fuzz.edi", ack.SequentialControls(1), NOW))
    except MlcError as exc:
        assert "\n" not in str(exc)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "delete", "duplicate", "truncate", "swap", "insert"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif kind == "duplicate":
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[at:at] = data[at:end]
        elif kind == "truncate":
            del data[at:]
        elif kind == "swap":
            old, new = draw(st.sampled_from(DELIMITER_CHARS)), draw(st.sampled_from(DELIMITER_CHARS))
            data = bytearray(bytes(data).replace(old.encode(), new.encode()))
        else:
            data[at:at] = draw(st.sampled_from(DELIMITER_CHARS + "ISA\x00\xff")).encode("utf-8", "surrogatepass")
    return bytes(data)


@FUZZ
@given(st.binary(max_size=600))
@example(b"")
@example(b"ISA")
@example(b"\xef\xbb\xbf")
@example(b"ISA*" + b"*" * 20)
def test_random_bytes_only_raise_x12_errors(data: bytes) -> None:
    read_everything(data)


@FUZZ
@given(st.text(alphabet="ISAGESTE*~|>:\n0123456789 ", max_size=400))
def test_random_x12_like_text_only_raises_x12_errors(text: str) -> None:
    read_everything(text.encode())


@FUZZ
@given(mutated())
def test_mutated_valid_files_only_raise_x12_errors(data: bytes) -> None:
    read_everything(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_every_truncation_of_a_valid_file_is_read_or_refused(seed: str, data: st.DataObject) -> None:
    raw = seed.encode()
    cut = data.draw(st.integers(0, len(raw)))
    read_everything(raw[:cut])


def test_seeds_are_valid() -> None:
    for seed in SEEDS:
        report = document.check(io.BytesIO(seed.encode()), "seed.edi")
        assert report.errors == [], [p.line("seed.edi") for p in report.errors]


# Found by fuzzing: `str.isdigit()` is true for "²", and int() refuses it (and any string of
# more than 4,300 digits); an HL01 holding the component separator became an unhashable list.
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "SE*9*0001", "SE*²*0001", "SE01 says ² segments, the transaction set has 9", id="se01-superscript"
        ),
        pytest.param("SE*9*0001", "SE*" + "9" * 5000 + "*0001", "the transaction set has 9", id="se01-5000-digits"),
        pytest.param("GE*1*1", "GE*²*1", "GE01 says ² transaction sets, the group has 1", id="ge01-superscript"),
        pytest.param("GE*1*1", "GE*1*²", "GE02 '²' does not match GS06 '1'", id="ge02-superscript"),
        pytest.param(
            "IEA*1*", "IEA*²*", "IEA01 says ² functional groups, the interchange has 1", id="iea01-superscript"
        ),
    ],
)
def test_counts_that_are_not_ascii_numbers_are_errors_not_crashes(old: str, new: str, expected: str) -> None:
    text = SEEDS[0].replace(old, new)
    assert new in text
    report = document.check(io.BytesIO(text.encode()), "fuzz.edi")
    assert any(expected in p.message for p in report.errors)
    read_everything(text.encode())


def test_hl_ids_holding_the_component_separator_are_read() -> None:
    text = SEEDS[1].replace("HL|2|1|O", "HL|2:X|1|O").replace("HL|3|2|I", "HL|3|2:X|I")
    report = document.check(io.BytesIO(text.encode()), "fuzz.edi")
    assert report.ok, [p.line("fuzz.edi") for p in report.problems]
    tree = document.parse(io.BytesIO(text.encode()), "fuzz.edi")
    (shipment,) = tree["interchanges"][0]["groups"][0]["transactions"][0]["body"]["HL_loop"]
    assert shipment["HL_loop"][0]["HL_loop"][0]["HL"]["HL02"] == ["2", "X"]
