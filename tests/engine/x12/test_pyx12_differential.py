"""Differential test: this reader's envelope verdicts against pyx12's `X12Reader`.

Both readers are run over the same text and their envelope problems are mapped to one
vocabulary of kinds (SE01 count, SE02 control number, missing SE, ...). pyx12 is driven the
way its own `x12n_document` drives it: iterate, then `cleanup()` for the trailers still open.
Segment-level remarks of pyx12 (its "seg" errors: HL counters, trailing separators) are not
envelope verdicts and are left out.

Where pyx12 can read a file, the verdicts must agree, or the difference is listed in a table
with the reason this project's verdict is the right one. Where pyx12 cannot read a file (it
refuses ISA12 other than 00401/00501, and any ISA that is not exactly 106 characters) the test
asserts that it refuses, and says why this reader does better.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from x12_support import PO_BODY, group, interchange, transaction

pyx12_x12file = pytest.importorskip("pyx12.x12file")
pyx12_errors = pytest.importorskip("pyx12.errors")

from engine.x12 import problems as P  # noqa: E402
from engine.x12.reader import Group, Interchange, Transaction, read_bytes  # noqa: E402

REFUSED = "pyx12 cannot read it"

PYX12_KINDS = {
    ("st", "4"): "SE01 count",
    ("st", "3"): "SE02 control number",
    ("st", "2"): "missing SE",
    ("st", "23"): "duplicate ST02",
    ("gs", "5"): "GE01 count",
    ("gs", "4"): "GE02 control number",
    ("gs", "3"): "missing GE",
    ("gs", "6"): "duplicate GS06",
    ("isa", "021"): "IEA01 count",
    ("isa", "001"): "IEA02 control number",
    ("isa", "023"): "missing IEA",
    ("isa", "024"): "missing GE",
    ("isa", "025"): "duplicate ISA13",
}


def our_kinds(data: bytes) -> set[str]:
    """The kinds of envelope problems this reader reports."""
    kinds: set[str] = set()
    for event in read_bytes(data, "diff.edi"):
        for problem in event.problems:
            kinds.add(_our_kind(event, problem.code, problem.message))
    return kinds


def _our_kind(event: Transaction | Group | Interchange, code: str, message: str) -> str:
    if isinstance(event, Transaction):
        return {
            P.TS_COUNT_MISMATCH: "SE01 count",
            P.TS_CONTROL_MISMATCH: "SE02 control number",
            P.TS_TRAILER_MISSING: "missing SE",
            P.TS_CONTROL_NOT_UNIQUE: "duplicate ST02",
        }.get(code, "line break in a segment" if "line break" in message else "other")
    if isinstance(event, Group):
        if code == P.FG_CONTROL_MISMATCH and "used twice" in message:
            return "duplicate GS06"
        return {
            P.FG_COUNT_MISMATCH: "GE01 count",
            P.FG_CONTROL_MISMATCH: "GE02 control number",
            P.FG_TRAILER_MISSING: "missing GE",
        }.get(code, "segment outside a transaction set" if "outside" in message else "other")
    for prefix, kind in (("IEA01", "IEA01 count"), ("IEA02", "IEA02 control number"), ("ISA", "ISA field")):
        if message.startswith(prefix):
            return kind
    if "no IEA" in message:
        return "missing IEA"
    if "appears twice in this file" in message:
        return "duplicate ISA13"
    return "segment outside a transaction set" if "outside" in message else "other"


def pyx12_kinds(text: str) -> set[str] | str:
    """The kinds of envelope problems pyx12's X12Reader reports, or REFUSED."""
    try:
        reader = pyx12_x12file.X12Reader(io.StringIO(text))
        for _ in reader:
            pass
        found = reader.pop_errors()
        reader.cleanup()
        found += reader.pop_errors()
    except pyx12_errors.X12Error:
        return REFUSED
    return {PYX12_KINDS.get((kind, code), f"pyx12 {kind} {code}") for kind, code, *_ in found if kind != "seg"}


# --------------------------------------------------------------------------- corpus

# file -> (what pyx12 does, our envelope kinds, reason when they differ or pyx12 cannot read)
AGREE = "agree"
CORPUS_CASES = [
    pytest.param("ediengine/856.Crossdock.OK.edi", AGREE, set(), "", id="856-crossdock"),
    pytest.param("stupidedi/IN810_pass_1.edi", AGREE, set(), "", id="in810-pipe"),
    *[
        pytest.param(f"stupidedi/{name}.edi", AGREE, set(), "", id=name[:40])
        for name in (
            "X348_SC810_Aerospace_Industry_Invoice_pass_basic-invoice",
            "X348_SC810_Aerospace_Industry_Invoice_pass_credit-card-invoice",
            "X357_SC850_Aerospace_Industry_Purchase_Order_pass_basic-po",
            "X357_SC850_Aerospace_Industry_Purchase_Order_pass_taxexempt-po",
            "X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_basic-po-ack-accepted",
            "X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_basic-po-ack-rejected",
            "X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_po-ack-minor-changes",
            "X358_SC855_Aerospace_Industry_Purchase_Order_Acknowledgment_pass_po-ack-ship-details",
        )
    ],
    *[
        pytest.param(
            f"ediengine/{name}.edi",
            REFUSED,
            kinds,
            "ISA12 is 00400: pyx12 refuses every version but 00401/00501; the delimiters and envelope of an "
            "00400 interchange are read exactly like 00401 ones",
            id=name,
        )
        for name, kinds in (
            ("850.Composite.SLN.OK", set()),
            ("850.OK", set()),
            ("850.SyntaxNotes.ERR", set()),
            ("ControlNumbersMismatch", {"SE02 control number", "GE02 control number", "IEA02 control number"}),
            ("MultipleInterchangesAndGroups", {"IEA02 control number"}),
            ("WrongGroupsAndTranCount", {"GE01 count", "IEA01 count", "IEA02 control number"}),
        )
    ],
    pytest.param(
        "stupidedi/PR855_pass_1.edi",
        REFUSED,
        set(),
        "ISA12 00400 (see above)",
        id="pr855-00400",
    ),
    pytest.param(
        "stupidedi/SH856_fail_2.edi",
        REFUSED,
        {"line break in a segment", "SE01 count"},
        "ISA12 00400; this reader also finds the mixed terminators pyx12 would have hidden in one segment",
        id="sh856-00400",
    ),
    pytest.param(
        "stupidedi/FA997_pass_1.edi",
        REFUSED,
        {"ISA field"},
        "ISA06 is 12 characters, so the ISA is 103 long: pyx12 reads the version at fixed offsets and finds "
        "'00*30'; this reader finds the delimiters by counting separators and reports ISA06's width",
        id="fa997-short-isa",
    ),
    pytest.param(
        "stupidedi/PO850_pass_1.edi",
        REFUSED,
        {"ISA field"},
        "ISA08 is 16 characters (ISA 107 long): pyx12 misreads the version as '*0040'; this reader reports "
        "the width of ISA08 and reads the rest",
        id="po850-long-isa08",
    ),
    pytest.param(
        "stupidedi/PR855_fail_2.edi",
        REFUSED,
        {"ISA field"},
        "the ISA is broken over two lines with short fields: pyx12 takes 'GS*PR' for the version; this reader "
        "reports each field's width and reads the transaction",
        id="pr855-broken-isa",
    ),
    pytest.param(
        "ediengine/NonEdi.edi",
        REFUSED,
        None,
        "not X12: both refuse (this reader with X12SyntaxError)",
        id="non-edi",
    ),
]


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "relation", "ours", "reason"), CORPUS_CASES)
def test_corpus_envelope_verdicts_against_pyx12(
    name: str, relation: str, ours: set[str] | None, reason: str, shared_dir: Callable[[str], Path]
) -> None:
    path = shared_dir("corpus") / name
    data = path.read_bytes()
    theirs = pyx12_kinds(data.decode("utf-8", errors="replace"))
    if relation == AGREE:
        assert our_kinds(data) == theirs == ours
        return
    assert theirs == REFUSED, reason
    if ours is None:
        from engine.errors import X12SyntaxError

        with pytest.raises(X12SyntaxError):
            our_kinds(data)
    else:
        assert our_kinds(data) == ours, reason


def test_the_corpus_table_covers_every_file(shared_dir: Callable[[str], Path]) -> None:
    corpus = shared_dir("corpus")
    files = {p.relative_to(corpus).as_posix() for p in corpus.rglob("*.edi")}
    assert files == {case.values[0] for case in CORPUS_CASES}


# --------------------------------------------------------------------------- injected faults

BASE = interchange(
    [group([transaction("850", PO_BODY, "0001"), transaction("850", PO_BODY, "0002")], control=7)], control=1
)
ISA_LINE = BASE.splitlines(keepends=True)[0]


def _replace(old: str, new: str) -> Callable[[str], str]:
    def apply(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return apply


def _cut_before(marker: str, extra: int = 0) -> Callable[[str], str]:
    def apply(text: str) -> str:
        return text[: text.index(marker) + extra]

    return apply


FAULTS = [
    pytest.param(lambda t: t, AGREE, set(), "", id="valid"),
    pytest.param(_replace("SE*5*0001", "SE*6*0001"), AGREE, {"SE01 count"}, "", id="se01-wrong"),
    pytest.param(_replace("SE*5*0001", "SE*5*0009"), AGREE, {"SE02 control number"}, "", id="se02-mismatch"),
    pytest.param(_replace("GE*2*7", "GE*2*8"), AGREE, {"GE02 control number"}, "", id="ge02-mismatch"),
    pytest.param(_replace("GE*2*7", "GE*3*7"), AGREE, {"GE01 count"}, "", id="ge01-count"),
    pytest.param(_replace("IEA*1*000000001", "IEA*1*000000002"), AGREE, {"IEA02 control number"}, "", id="iea02"),
    pytest.param(_replace("IEA*1*000000001", "IEA*1*1"), AGREE, {"IEA02 control number"}, "", id="iea02-short"),
    pytest.param(_replace("IEA*1*", "IEA*2*"), AGREE, {"IEA01 count"}, "", id="iea01-count"),
    pytest.param(
        _replace("ST*850*0002", "ST*850*0001"),
        AGREE,
        {"duplicate ST02", "SE02 control number"},
        "",
        id="duplicate-st02",
    ),
    pytest.param(_cut_before("IEA"), AGREE, {"missing IEA"}, "", id="truncated-before-iea"),
    pytest.param(_cut_before("GE*"), AGREE, {"missing GE", "missing IEA"}, "", id="truncated-before-ge"),
    pytest.param(_replace("GE*2*7~\n", ""), AGREE, {"missing GE"}, "", id="ge-missing-before-iea"),
    pytest.param(
        _cut_before("PO1", 3),
        AGREE,
        {"missing SE", "missing GE", "missing IEA"},
        "",
        id="truncated-inside-a-segment",
    ),
    pytest.param(
        _cut_before("SE*5*0002"),
        AGREE,
        {"missing SE", "missing GE", "missing IEA"},
        "",
        id="truncated-before-se",
    ),
    pytest.param(
        lambda t: t.replace("SE*5*0002~\n", ""),
        {"missing GE"},
        {"missing SE"},
        "the SE of the second set is missing and the GE is there: pyx12 reports the still-open ST as an "
        "unterminated group (its GE code 3); the AK5 code this reader gives, 2 (trailer missing), names the "
        "segment that is really absent",
        id="se-missing-before-ge",
    ),
    pytest.param(
        lambda t: t.rstrip("\n").removesuffix("~"),
        {"missing IEA"},
        set(),
        "only the final terminator is missing: pyx12 drops the complete IEA it cannot see the end of and "
        "reports it missing; the segment is all there, so this reader reads it",
        id="last-terminator-missing",
    ),
    pytest.param(
        _cut_before("IEA", 10),
        {"missing IEA"},
        {"IEA02 control number"},
        "cut inside the IEA: both reject the interchange; this reader reads the cut IEA and reports its control "
        "number, pyx12 silently drops the partial segment",
        id="truncated-inside-iea",
    ),
    pytest.param(
        _replace("ST*850*0001", "REF*DP*038~\nST*850*0001"),
        set(),
        {"segment outside a transaction set"},
        "a segment between GS and ST belongs to no transaction set and would be lost by every mapping; "
        "pyx12's X12Reader passes it without a word",
        id="stray-segment",
    ),
    pytest.param(
        _replace("PO1*1*2*EA*12.5**VP*ACME-1~", "PO1*1*2*EA*12.5**VP*ACME-1\nPID*F****X~"),
        set(),
        {"line break in a segment"},
        "a line break inside a segment means the file mixes terminators (PID was meant as its own segment); "
        "pyx12 keeps the line break as data inside PO107",
        id="line-break-inside-segment",
    ),
]


@pytest.mark.parametrize(("fault", "theirs", "ours", "reason"), FAULTS)
def test_injected_envelope_faults_against_pyx12(
    fault: Callable[[str], str], theirs: str | set[str], ours: set[str], reason: str
) -> None:
    text = fault(BASE)
    assert our_kinds(text.encode()) == ours
    expected_theirs = ours if theirs == AGREE else theirs
    assert pyx12_kinds(text) == expected_theirs, reason


NEWLINE_BASE = interchange([group([transaction("850", PO_BODY)])], terminator="\n", after="")
SECOND_PIPE = interchange([group([transaction("850", PO_BODY)], control=2)], control=2, element="|", component=":")


@pytest.mark.parametrize(
    ("text", "theirs", "ours", "reason"),
    [
        pytest.param(
            NEWLINE_BASE.replace("\nGS", "\n\nGS"),
            {"missing IEA"},
            set(),
            "a blank line in a newline-terminated file: pyx12 takes it for the end of the file and reports the "
            "IEA missing; partners send blank lines and the file is complete",
            id="blank-line-newline-terminator",
        ),
        pytest.param(
            NEWLINE_BASE + "\n" + NEWLINE_BASE.replace("IEA*1*000000001", "IEA*1*000000009"),
            set(),
            {"IEA02 control number", "duplicate ISA13"},
            "after a blank line pyx12 reads nothing more: the second interchange (the same sender and ISA13, "
            "which is worth a warning) and its IEA02 mismatch are never seen",
            id="second-interchange-after-blank-line",
        ),
        pytest.param(
            BASE + SECOND_PIPE.replace("IEA|1|000000002", "IEA|1|000000003"),
            set(),
            {"IEA02 control number"},
            "the second interchange uses '|': pyx12 keeps the first interchange's delimiters for the whole file, "
            "reads it as unknown segments and misses its IEA02 mismatch; this reader takes each interchange's "
            "delimiters from its own ISA",
            id="second-interchange-other-delimiters",
        ),
        pytest.param(
            BASE.replace("*00401*", "*00403*"),
            REFUSED,
            set(),
            "ISA12 00403: pyx12 refuses it, this reader reads it (and every later version)",
            id="isa12-00403",
        ),
        pytest.param(
            BASE.replace("*00401*", "*00400*").replace("GE*2*7", "GE*1*7"),
            REFUSED,
            {"GE01 count"},
            "ISA12 00400 with a fault: pyx12 cannot say anything about it",
            id="isa12-00400-ge01",
        ),
        pytest.param(
            BASE.replace("GE*2*7", "GE*2*07"),
            {"GE02 control number"},
            set(),
            "GS06/GE02 are N0 numbers: '07' and '7' are the same control number; pyx12 compares them as text "
            "(SE02/ST02 are AN and IEA02/ISA13 fixed-width, and are compared as text here too)",
            id="ge02-leading-zero",
        ),
    ],
)
def test_where_pyx12_misreads_this_reader_is_right(
    text: str, theirs: str | set[str], ours: set[str], reason: str
) -> None:
    assert our_kinds(text.encode()) == ours, reason
    assert pyx12_kinds(text) == theirs, reason
