"""Every file of the shared corpus (../shared/corpus: real files from stupidedi and EdiEngine)
with its verdict under X12 rules: valid, read with problems (each one listed), or refused.

The source projects' own names ("pass", "OK", "fail", "ERR") are their verdicts under their
grammars, not ours. Where ours differs, the reason is in the table:

- stupidedi FA997_pass_1 / PO850_pass_1: ISA06 is 12 and ISA08 16 characters; the ISA is a
  fixed-width segment (ISA06/ISA08 are AN 15/15), so both are envelope errors.
- stupidedi IN810_pass_1: IT1 has IT102 (quantity) and IT104 (price) without IT103 (unit);
  004010 IT1 syntax note P020304 requires all three together.
- stupidedi X358 po-ack-minor-changes: `ACK*IQ*20` gives a quantity without its unit; 004010
  ACK syntax note P0203 pairs them.
- stupidedi X348/X357/X358 use GS01 `SC` for 810/850/855 (IN/PO/PR in 004010): a warning, not
  an error, so the files stay valid.
- EdiEngine MultipleInterchangesAndGroups / WrongGroupsAndTranCount: IEA02 `3438` against ISA13
  `000003438`. IEA02 is N0 9/9 and must be identical to ISA13, so this is an error even though
  the numbers are equal.
- EdiEngine 850.SyntaxNotes.ERR: one missing PO406 violates two notes of PO4 (C0506: PO405
  needs PO406; P0607: PO406 and PO407 together); both are reported, each names PO406.
- stupidedi SH856_fail_2: terminators `$` (declared) and `~` + line break (lines 13-17) are
  mixed. The first problem names the root cause; the others are what the segments are when read
  with the declared terminator (one N1 swallowing N3, N4 and HL 2), reported rather than guessed
  away, so the file is rejected for the right reason.
- stupidedi PR855_fail_2: the ISA is broken across two lines with short fields; the reader
  still finds the delimiters (it counts separators) and reports each field, then the 004010
  checks: `DZN` is not a 2-character unit code (element 355 is ID 2/2).
- The 940s of EdiEngine have no definition here: read at the envelope level, with a plain
  "no definition" warning.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from engine.errors import X12SyntaxError
from engine.x12 import ack, document

VALID = "valid"
PROBLEMS = "read with problems"
REFUSED = "refused"

NO_940 = "warning: no definition for transaction set 940 in version 004010"
GS01_SC = "warning: GS01 is 'SC' but transaction set"

# file -> (verdict, expected error lines (substrings, one per error, in order), warnings)
CORPUS: dict[str, tuple[str, list[str], list[str]]] = {
    "ediengine/850.Composite.SLN.OK.edi": (VALID, [], []),
    "ediengine/850.OK.edi": (VALID, [], []),
    "ediengine/850.SyntaxNotes.ERR.edi": (
        PROBLEMS,
        [
            "segment 15 (PO1): error: PO106, PO107 must all be present if any is (syntax note P0607)",
            "segment 32 (PO4): error: PO406 required when PO405 is present (syntax note C0506)",
            "segment 32 (PO4): error: PO406, PO407 must all be present if any is (syntax note P0607)",
        ],
        [],
    ),
    "ediengine/856.Crossdock.OK.edi": (VALID, [], []),
    "ediengine/ControlNumbersMismatch.edi": (
        PROBLEMS,
        [
            "segment 7 (SE): error: SE02 '0002' does not match ST02 '0001' (ST at segment 3)",
            "segment 8 (GE): error: GE02 '3315' does not match GS06 '3314' (GS at segment 2)",
            "segment 9 (IEA): error: IEA02 '000003439' does not match ISA13 '000003438' (ISA at segment 1)",
        ],
        [NO_940],
    ),
    "ediengine/MultipleInterchangesAndGroups.edi": (
        PROBLEMS,
        [
            "segment 21 (IEA): error: IEA02 '3438' does not match ISA13 '000003438' (ISA at segment 1)",
            "segment 42 (IEA): error: IEA02 '3439' does not match ISA13 '000003439' (ISA at segment 22)",
        ],
        [NO_940] * 6,
    ),
    "ediengine/NonEdi.edi": (
        REFUSED,
        ["NonEdi.edi: segment 1: not X12: expected an ISA segment at the start, found 'Tk9OIEVESSBGSUxFISAasads'"],
        [],
    ),
    "ediengine/WrongGroupsAndTranCount.edi": (
        PROBLEMS,
        [
            "segment 8 (GE): error: GE01 says 2 transaction sets, the group has 1",
            "segment 9 (IEA): error: IEA01 says 2 functional groups, the interchange has 1",
            "segment 9 (IEA): error: IEA02 '3438' does not match ISA13 '000003438' (ISA at segment 1)",
        ],
        [NO_940],
    ),
    "stupidedi/FA997_pass_1.edi": (
        PROBLEMS,
        ["segment 1 (ISA): error: ISA06 (Interchange Sender ID) is 12 characters 'XXXXXX      ', expected exactly 15"],
        [],
    ),
    "stupidedi/IN810_pass_1.edi": (
        PROBLEMS,
        [
            "segment 9 (IT1): error: IT102, IT103, IT104 must all be present if any is (syntax note P020304)",
            "segment 11 (IT1): error: IT102, IT103, IT104 must all be present if any is (syntax note P020304)",
        ],
        [],
    ),
    "stupidedi/PO850_pass_1.edi": (
        PROBLEMS,
        [
            "segment 1 (ISA): error: ISA08 (Interchange Receiver ID) is 16 characters 'RECEIVER        ', "
            "expected exactly 15"
        ],
        [],
    ),
    "stupidedi/PR855_fail_2.edi": (
        PROBLEMS,
        [
            "segment 1 (ISA): error: ISA02 (Authorization Information) is 1 characters ' ', expected exactly 10",
            "segment 1 (ISA): error: ISA04 (Security Information) is 1 characters ' ', expected exactly 10",
            "segment 1 (ISA): error: ISA06 (Interchange Sender ID) is 12 characters 'SUPPLIER001 ', expected exactly 15",
            "segment 1 (ISA): error: ISA08 (Interchange Receiver ID) is 13 characters 'EED1 NYIExxx ', "
            "expected exactly 15",
            "segment 1 (ISA): error: ISA10 (Interchange Time) is 5 characters '213\\n5', expected exactly 4",
            "segment 7 (PO1): error: PO103 (355 Unit or Basis for Measurement Code) is 3 characters 'DZN', "
            "at most 2 allowed",
            "segment 9 (SCH): error: SCH02 (355 Unit or Basis for Measurement Code) is 3 characters 'DZN', "
            "at most 2 allowed",
        ],
        [],
    ),
    "stupidedi/PR855_pass_1.edi": (VALID, [], []),
    "stupidedi/SH856_fail_2.edi": (
        PROBLEMS,
        [
            "segment 13: error: a line break inside the segment: the file seems to mix segment terminators "
            "(the ISA declares '$'; '~' ends the line there)",
            "segment 13 (N1): error: N105 (706 Entity Relationship Code) is 17 characters",
            "segment 13 (N1): error: N106 (98 Entity Identifier Code) is 8 characters 'BEAUPORT'",
            "segment 13 (N1): error: N1 has 13 elements, N1 defines 6: 'QC' at N107",
            "segment 14 (PRF): error: PRF is out of order: it belongs before N1 in loop HL",
            "segment 19 (HL): error: HL02 '2' names no earlier HL01 (in HL '3')",
            "segment 24 (SE): error: SE01 says 25 segments, the transaction set has 22 (ST to SE inclusive)",
        ],
        [],
    ),
    "stupidedi/X348_SC810_Aerospace_Industry_Invoice_pass_basic-invoice.edi": (VALID, [], [GS01_SC]),
    "stupidedi/X348_SC810_Aerospace_Industry_Invoice_pass_credit-card-invoice.edi": (VALID, [], [GS01_SC]),
    "stupidedi/X357_SC850_Aerospace_Industry_Purchase_Order_pass_basic-po.edi": (VALID, [], [GS01_SC]),
    "stupidedi/X357_SC850_Aerospace_Industry_Purchase_Order_pass_taxexempt-po.edi": (VALID, [], [GS01_SC]),
    "stupidedi/X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_basic-po-ack-accepted.edi": (
        VALID,
        [],
        [GS01_SC],
    ),
    "stupidedi/X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_basic-po-ack-rejected.edi": (
        VALID,
        [],
        [GS01_SC],
    ),
    "stupidedi/X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_po-ack-minor-changes.edi": (
        PROBLEMS,
        ["segment 10 (ACK): error: ACK02, ACK03 must all be present if any is (syntax note P0203)"],
        [GS01_SC],
    ),
    "stupidedi/X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_po-ack-ship-details.edi": (
        VALID,
        [],
        [GS01_SC],
    ),
}

pytestmark = pytest.mark.corpus


@pytest.fixture
def corpus(shared_dir: Callable[[str], Path]) -> Path:
    return shared_dir("corpus")


def test_the_table_lists_every_corpus_file(corpus: Path) -> None:
    found = {
        path.relative_to(corpus).as_posix()
        for path in corpus.rglob("*")
        if path.is_file() and path.name not in ("README.md", "LICENSE")
    }
    assert found == set(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_file_verdict(corpus: Path, name: str) -> None:
    verdict, expected_errors, expected_warnings = CORPUS[name]
    path = corpus / name
    data = path.read_bytes()
    if verdict == REFUSED:
        with pytest.raises(X12SyntaxError) as caught:
            document.check(io.BytesIO(data), path.name)
        (message,) = expected_errors
        assert message in str(caught.value)
        assert "\n" not in str(caught.value)
        return
    report = document.check(io.BytesIO(data), path.name)
    errors = [p.line(path.name) for p in report.errors]
    warnings = [p.line(path.name) for p in report.problems if not p.is_error]
    assert len(errors) == len(expected_errors), errors
    for line, fragment in zip(errors, expected_errors, strict=True):
        assert line.startswith(f"{path.name}: ")
        assert fragment in line
    assert len(warnings) == len(expected_warnings), warnings
    for line, fragment in zip(warnings, expected_warnings, strict=True):
        assert fragment in line
    assert report.ok == (verdict == VALID)


@pytest.mark.parametrize("name", sorted(name for name, (verdict, _, _) in CORPUS.items() if verdict != REFUSED))
def test_corpus_file_parses_and_acknowledges_without_crashing(corpus: Path, name: str) -> None:
    data = (corpus / name).read_bytes()
    tree = document.parse(io.BytesIO(data), name, strict_envelope=False)
    assert tree["interchanges"]
    acks = list(ack.acknowledge(io.BytesIO(data), name, ack.SequentialControls(1), datetime(2024, 5, 2, 10, 5)))
    for text in acks:
        assert document.check(io.BytesIO(text.encode()), "997.edi").problems == []


# --------------------------------------------------------------------------- the same files on 005010
# The corpus holds no 005010 file of the sets we define. Its valid 004010 files are read again as
# their 005010 selves (ISA12 00501 with a repetition separator in ISA11, GS08 005010, the bodies
# unchanged): real partners' segments checked against the 005010 definitions. Where a segment is
# the same in both versions, the verdict must be the same; the table names where 005010 differs.

ON_005010: dict[str, list[str]] = {
    # file -> expected error fragments on 005010 (none: valid on both versions)
    name: []
    for name, (verdict, _, _) in CORPUS.items()
    if verdict == VALID
}


def as_005010(data: bytes) -> bytes:
    """The interchange(s) of `data` re-enveloped as 005010: every ISA11/ISA12 and GS08 rewritten."""
    from engine.x12.tokenizer import Tokenizer

    tokens = Tokenizer(io.BytesIO(data), "corpus")
    out: list[str] = []
    for _, segment in tokens:
        delimiters = tokens.delimiters
        segment = list(segment)
        if segment[0] == "ISA":
            used = set(data.decode("latin-1"))
            segment[11] = next(c for c in "^!@" if c not in used)
            segment[12] = "00501"
        elif segment[0] == "GS":
            segment[8] = "005010"
        out.append(delimiters.element.join(segment) + delimiters.segment + "\n")
    return "".join(out).encode("latin-1")


@pytest.mark.parametrize("name", sorted(ON_005010))
def test_corpus_file_on_005010_keeps_its_verdict_where_the_segments_are_the_same(corpus: Path, name: str) -> None:
    data = as_005010((corpus / name).read_bytes())
    report = document.check(io.BytesIO(data), name)
    errors = [p.line(name) for p in report.errors]
    expected = ON_005010[name]
    assert len(errors) == len(expected), errors
    for line, fragment in zip(errors, expected, strict=True):
        assert fragment in line
    labels = [
        t["definition"]
        for ic in document.parse(io.BytesIO(data), name, strict_envelope=False)["interchanges"]
        for g in ic["groups"]
        for t in g["transactions"]
    ]
    # every defined set was read against its 005010 definition (the 940s have none on either version)
    assert {label.split()[0] for label in labels if label} <= {"005010"}
    assert any(labels) or (name.startswith("ediengine/") and "940" in (corpus / name).read_text("latin-1"))
