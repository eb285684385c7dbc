"""The streaming tokenizer and delimiter detection: what real partners send, and what is refused.

Every layout a partner may use must give the same segments: `~` with or without CR/LF after
it, a bare newline as the terminator, CRLF lines, other element and component separators,
blank lines, one line or many, a UTF-8 BOM, a missing last terminator, chunk boundaries
anywhere (inside a segment, inside a multi-byte character). Input that is not X12 is refused
with one clear line.
"""

from __future__ import annotations

import io

import pytest
from x12_support import PO_BODY, check_text, group, interchange, isa, purchase_order, transaction

from engine.errors import X12SyntaxError
from engine.x12.delimiters import Delimiters, detect
from engine.x12.tokenizer import Tokenizer


def segments(text: str | bytes, chunk_size: int = 1 << 20) -> list[list[str]]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return [seg for _, seg in Tokenizer(io.BytesIO(data), "in.edi", chunk_size=chunk_size)]


def ids(text: str | bytes, chunk_size: int = 1 << 20) -> list[str]:
    return [seg[0] for seg in segments(text, chunk_size)]


PO_IDS = ["ISA", "GS", "ST", "BEG", "PO1", "CTT", "SE", "GE", "IEA"]


# --------------------------------------------------------------------------- layouts


@pytest.mark.parametrize(
    ("terminator", "after"),
    [
        pytest.param("~", "", id="tilde-one-line"),
        pytest.param("~", "\n", id="tilde-lf"),
        pytest.param("~", "\r\n", id="tilde-crlf"),
        pytest.param("\n", "", id="newline-is-the-terminator"),
        pytest.param("\r", "\n", id="crlf-lines-cr-terminator"),
        pytest.param("'", "\n", id="apostrophe-lf"),
        pytest.param("!", "\r\n", id="bang-crlf"),
    ],
)
def test_terminator_layouts_read_the_same_segments(terminator: str, after: str) -> None:
    text = purchase_order(terminator=terminator, after=after)
    found = segments(text)
    assert [seg[0] for seg in found] == PO_IDS
    assert found[3] == ["BEG", "00", "SA", "PO-4711", "", "20240502"]
    assert found[-1] == ["IEA", "1", "000000001"]


@pytest.mark.parametrize(
    ("element", "component"),
    [
        pytest.param("*", ">", id="star-gt"),
        pytest.param("*", ":", id="star-colon"),
        pytest.param("*", "{", id="star-brace"),
        pytest.param("*", "`", id="star-backtick"),
        pytest.param("|", ">", id="pipe-gt"),
        pytest.param("|", ":", id="pipe-colon"),
        pytest.param("^", "\\", id="caret-backslash"),
        pytest.param("\x1d", "\x1f", id="control-characters"),
    ],
)
def test_element_and_component_separators_come_from_the_isa(element: str, component: str) -> None:
    body = ("BEG*00*SA*PO-4711**20240502", "SLN*1**I*1*PC>1.5>2", "CTT*1")
    text = purchase_order(body, element=element, component=component)
    tokens = Tokenizer(io.BytesIO(text.encode()), "in.edi")
    found = [seg for _, seg in tokens]
    assert tokens.delimiters == Delimiters(element, component, "~", None)
    assert found[4] == ["SLN", "1", "", "I", "1", f"PC{component}1.5{component}2"]
    assert found[0][16] == component


def test_blank_lines_between_segments_are_skipped() -> None:
    text = purchase_order().replace("~\n", "~\n\n \r\n\t\n")
    assert ids(text) == PO_IDS


def test_whitespace_before_the_isa_is_skipped() -> None:
    assert ids("\r\n\n  " + purchase_order()) == PO_IDS


def test_newline_terminated_file_with_blank_lines_reads_every_segment() -> None:
    text = purchase_order(terminator="\n").replace("\nGS", "\n\n\nGS").replace("\nIEA", "\n\nIEA")
    assert ids(text) == PO_IDS


def test_several_segments_on_one_line_and_one_per_line_mix() -> None:
    text = purchase_order().replace("~\nBEG", "~BEG").replace("~\nCTT", "~CTT")
    assert ids(text) == PO_IDS


def test_last_segment_without_terminator_is_still_read() -> None:
    text = purchase_order().rstrip("\n").removesuffix("~")
    tokens = Tokenizer(io.BytesIO(text.encode()), "in.edi")
    found = [seg for _, seg in tokens]
    assert found[-1] == ["IEA", "1", "000000001"]
    assert tokens.terminated is False
    assert check_text(text).ok


def test_terminated_file_reports_terminated() -> None:
    tokens = Tokenizer(io.BytesIO(purchase_order().encode()), "in.edi")
    list(tokens)
    assert tokens.terminated is True


def test_positions_count_segments_from_one() -> None:
    found = list(Tokenizer(io.BytesIO(purchase_order().encode()), "in.edi"))
    assert [position for position, _ in found] == list(range(1, len(PO_IDS) + 1))


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("version", "isa11", "repetition"),
    [
        pytest.param("00400", "U", None, id="00400-no-repetition"),
        pytest.param("00401", "U", None, id="00401-no-repetition"),
        pytest.param("00401", "^", None, id="00401-isa11-is-not-a-separator"),
        pytest.param("00402", "^", "^", id="00402-repetition"),
        pytest.param("00403", "^", "^", id="00403-repetition"),
        pytest.param("00501", "^", "^", id="00501-repetition"),
        pytest.param("00501", "!", "!", id="00501-other-repetition"),
        pytest.param("00501", "U", None, id="00501-letter-is-not-a-separator"),
        pytest.param("00601", "^", "^", id="later-version"),
    ],
)
def test_repetition_separator_is_isa11_from_00402_on(version: str, isa11: str, repetition: str | None) -> None:
    text = purchase_order(version=version, repetition=isa11)
    tokens = Tokenizer(io.BytesIO(text.encode()), "in.edi")
    assert [seg[0] for _, seg in tokens] == PO_IDS
    assert tokens.delimiters.repetition == repetition


def test_detect_returns_delimiters_elements_and_terminator_index() -> None:
    text = isa(element="|", component=":") + "~\nGS|PO"
    delimiters, elements, end = detect(text)
    assert delimiters == Delimiters("|", ":", "~", None)
    assert len(elements) == 17
    assert elements[13] == "000000001"
    assert end == 105
    assert text[end] == "~"


def test_detect_reads_an_isa_with_short_fields_by_counting_separators() -> None:
    text = "ISA*00**00**ZZ*S*ZZ*R*240502*1005*U*00401*1*0*T*:!GS*PO!"
    delimiters, elements, end = detect(text)
    assert delimiters == Delimiters("*", ":", "!", None)
    assert elements[6] == "S"
    assert text[end] == "!"


# --------------------------------------------------------------------------- several interchanges


def _two_interchanges(first: dict[str, str], second: dict[str, str]) -> str:
    one = interchange([group([transaction("850", PO_BODY)])], control=1, **first)
    two = interchange([group([transaction("850", PO_BODY)], control=2)], control=2, **second)
    return one + two


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param({}, {"component": ":"}, id="other-component"),
        pytest.param({}, {"element": "|", "component": ":"}, id="other-element-separator"),
        pytest.param({}, {"terminator": "\n", "after": ""}, id="tilde-then-newline-terminator"),
        pytest.param({"terminator": "\n", "after": ""}, {}, id="newline-then-tilde-terminator"),
        pytest.param(
            {"after": "\r\n"}, {"element": "|", "component": "{", "terminator": "!", "after": "\n"}, id="all-different"
        ),
        pytest.param({"element": "|"}, {"element": "*", "component": "`", "after": ""}, id="pipe-then-star"),
    ],
)
@pytest.mark.parametrize("chunk_size", [pytest.param(7, id="chunk-7"), pytest.param(1 << 20, id="chunk-1MB")])
def test_several_interchanges_with_different_delimiters_each_use_their_own(
    first: dict[str, str], second: dict[str, str], chunk_size: int
) -> None:
    text = _two_interchanges(first, second)
    tokens = Tokenizer(io.BytesIO(text.encode()), "in.edi", chunk_size=chunk_size)
    found = []
    delimiters = []
    for _, seg in tokens:
        found.append(seg)
        if seg[0] == "ISA":
            delimiters.append(tokens.delimiters)
    assert [seg[0] for seg in found] == PO_IDS + PO_IDS
    assert found[3] == found[12] == ["BEG", "00", "SA", "PO-4711", "", "20240502"]
    assert [d.element for d in delimiters] == [first.get("element", "*"), second.get("element", "*")]
    assert [d.component for d in delimiters] == [first.get("component", ">"), second.get("component", ">")]
    assert [d.segment for d in delimiters] == [first.get("terminator", "~"), second.get("terminator", "~")]
    assert tokens.anomalies == []


def test_second_interchange_with_other_terminator_is_not_buffered_whole() -> None:
    # A newline-terminated interchange after a `~` one holds no `~` at all: the tokenizer must
    # notice the new ISA instead of reading on for a `~` until the end of the file.
    body = [f"PO1*{n}*1*EA*1.5**VP*ITEM-{n}" for n in range(1, 400)]
    text = purchase_order() + interchange(
        [group([transaction("850", ("BEG*00*SA*P**20240502", *body, "CTT*399"))])],
        terminator="\n",
        after="",
        control=2,
    )
    seen_at_second_isa = []

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            seen_at_second_isa.append(self.tell())
            return data

    stream = Counting(text.encode())
    for _, seg in Tokenizer(stream, "in.edi", chunk_size=256):
        if seg[0] == "ISA" and seg[13] == "000000002":
            break
    assert seen_at_second_isa[-1] < 2048 < len(text)


# --------------------------------------------------------------------------- text encoding


def test_utf8_text_in_data_elements_is_kept() -> None:
    body = ("BEG*00*SA*PO-4711**20240502", "PO1*1*2*EA*12.5**VP*ACME-1", "PID*F****Café crème \u2013 日本語 ✓", "CTT*1")
    found = segments(purchase_order(body))
    assert found[5] == ["PID", "F", "", "", "", "Café crème \u2013 日本語 ✓"]


def test_utf8_byte_order_mark_is_skipped() -> None:
    data = b"\xef\xbb\xbf" + purchase_order().encode()
    assert ids(data) == PO_IDS


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 64, 105, 106, 107])
def test_chunk_boundaries_inside_segments_and_characters_change_nothing(chunk_size: int) -> None:
    body = ("BEG*00*SA*PO-4711**20240502", "PO1*1*2*EA*12.5**VP*ACME-1", "PID*F****Grüße 日本 €", "CTT*1")
    text = "\ufeff" + purchase_order(body, after="\r\n")
    assert segments(text, chunk_size) == segments(text)


def test_every_chunk_size_up_to_a_segment_gives_the_same_segments() -> None:
    text = purchase_order(("BEG*00*SA*Ωμέγα-4711**20240502", "PO1*1*2*EA*12.5**VP*ACME-1", "CTT*1"))
    expected = segments(text)
    for chunk_size in range(1, 40):
        assert segments(text, chunk_size) == expected, chunk_size


# --------------------------------------------------------------------------- refusals


VALID_ISA = isa()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "in.edi: empty file: no ISA segment", id="empty"),
        pytest.param(b"  \r\n\t\n ", "in.edi: empty file: no ISA segment", id="whitespace-only"),
        pytest.param(b"\xef\xbb\xbf", "in.edi: empty file: no ISA segment", id="bom-only"),
        pytest.param(b"ISA*00\x00\x01\x02", "binary data, not X12 text: NUL byte at byte offset 6", id="binary-nul"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "binary data, not X12 text: NUL byte at byte offset 8", id="png"),
        pytest.param(b"ISA*\xff\xfe", "not UTF-8 text: invalid byte 0xff at byte offset 4", id="invalid-utf8"),
        pytest.param(
            (VALID_ISA + "~GS*\xe9").encode("latin-1"),
            "not UTF-8 text: the file ends inside a multi-byte character (byte offset 109)",
            id="latin1-at-the-end",
        ),
        pytest.param(b'{"interchanges": []}', "this looks like JSON, not X12", id="json-object"),
        pytest.param(b"  [1, 2]", "this looks like JSON, not X12", id="json-array"),
        pytest.param(b'<?xml version="1.0"?><x12/>', "this looks like XML or HTML, not X12", id="xml"),
        pytest.param(b"<!DOCTYPE html><html></html>", "this looks like XML or HTML, not X12", id="html"),
        pytest.param(
            b"GS*PO*S*R*20240502*1005*1*X*004010~",
            "not X12: expected an ISA segment at the start, found 'GS*PO*S*R*20240502*1005*",
            id="no-isa",
        ),
        pytest.param(b"UNB+UNOA:1+SENDER", "not X12: expected an ISA segment at the start", id="edifact"),
        pytest.param(b"ISA", "the file ends inside the ISA segment", id="isa-tag-only"),
        pytest.param(
            b"ISA*00*          *00*",
            "the ISA segment has fewer than 16 elements separated by '*'",
            id="isa-truncated",
        ),
        pytest.param(
            (VALID_ISA[:-2]).encode(),
            "the ISA segment has fewer than 16 elements separated by '*'",
            id="isa-cut-before-isa16",
        ),
        pytest.param(
            (VALID_ISA).encode(),
            "the file ends before the ISA's component separator and segment terminator",
            id="isa-without-terminator",
        ),
        pytest.param(
            (isa(component="*") + "~").encode(),
            "ISA delimiters: the component separator '*' is also the element separator",
            id="component-is-element-separator",
        ),
        pytest.param(
            (isa(component="~") + "~").encode(),
            "ISA delimiters: the segment terminator '~' is also the component separator",
            id="terminator-is-component-separator",
        ),
        pytest.param(
            (isa() + "*").encode(),
            "ISA delimiters: the segment terminator '*' is also the element separator",
            id="terminator-is-element-separator",
        ),
        pytest.param(
            (isa(version="00501", repetition=">") + "~").encode(),
            "ISA delimiters: the repetition separator '>' is also the component separator",
            id="repetition-is-component-separator",
        ),
        pytest.param(
            (isa() + "A").encode(),
            "ISA delimiters: the segment terminator 'A' is a letter or digit",
            id="terminator-is-a-letter",
        ),
    ],
)
def test_input_that_is_not_x12_is_refused_with_one_clear_line(data: bytes, message: str) -> None:
    with pytest.raises(X12SyntaxError) as caught:
        check_text(data)
    text = str(caught.value)
    assert message in text
    assert text.startswith("in.edi: ")
    assert "\n" not in text


def test_refusal_names_the_segment_position_of_a_broken_second_isa() -> None:
    text = purchase_order() + "ISA|00|  |"
    with pytest.raises(X12SyntaxError, match=r"in\.edi: segment 10 \(ISA\): the ISA segment has fewer than 16"):
        check_text(text)


def test_second_interchange_with_short_isa_fields_is_read_with_its_own_component_separator() -> None:
    short = (
        "ISA*00**00**ZZ*S*ZZ*R*240502*1005*U*00401*000000002*0*T*:~\n"
        "GS*PO*S*R*20240502*1005*2*X*004010~\nST*850*0001~\nBEG*00*SA*P**20240502~\n"
        "SLN*1**I*1*PC:2~\nSE*4*0001~\nGE*1*2~\nIEA*1*000000002~\n"
    )
    tokens = Tokenizer(io.BytesIO((purchase_order() + short).encode()), "in.edi", chunk_size=16)
    found = [(seg, tokens.delimiters.component) for _, seg in tokens]
    assert [seg[0] for seg, _ in found] == [*PO_IDS, "ISA", "GS", "ST", "BEG", "SLN", "SE", "GE", "IEA"]
    assert found[13] == (["SLN", "1", "", "I", "1", "PC:2"], ":")
    assert found[0][1] == ">"
