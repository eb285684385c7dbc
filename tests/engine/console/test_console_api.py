"""The console package's public API, and the X12 glossary it reads names from."""

from __future__ import annotations

import engine.console
from engine.console.x12view import annotate
from engine.x12.glossary import segment_note


def test_the_public_api_is_sorted_and_importable() -> None:
    names = engine.console.__all__
    assert names == sorted(names)
    assert all(hasattr(engine.console, name) for name in names)


def test_every_segment_of_the_definitions_and_the_envelope_has_a_name() -> None:
    from engine.x12.definition import segment_dictionary

    for segment_id in [*segment_dictionary("004010"), "ISA", "GS", "GE", "IEA"]:
        note = segment_note("004010", segment_id)
        assert note is not None and note.name and all(element.name for element in note.elements)


def test_a_code_meaning_comes_with_its_element_and_an_unknown_code_has_none() -> None:
    note = segment_note("004010VICS", "BEG")
    assert note is not None
    assert note.elements[0].label == "BEG01 Transaction Set Purpose Code (ID 2/2)"
    assert note.elements[0].meanings["00"] == "Original" and "99" not in note.elements[0].meanings
    assert segment_note("004010", "ZZZ") is None
    assert segment_note("004010", "BEG").element(40).name == "(not in the definition)"  # type: ignore[union-attr]


def test_the_x12_view_names_each_element_and_hides_an_isa_password() -> None:
    text = "ISA*00*          *01*SECRETPASS*ZZ*A              *ZZ*B              *240603*0930*U*00401*000000001*0*P*>~GS*PO*A*B*20240603*0930*1*X*004010~ST*850*0001~BEG*00*SA*PO-1**20240603~XYZ*1~SE*3*0001~GE*1*1~IEA*1*000000001~"
    shown = annotate(text.encode())
    assert shown.error is None and [line.id for line in shown.segments] == ["ISA", "GS", "ST", "BEG", "XYZ", "SE", "GE", "IEA"]
    assert "SECRETPASS" not in shown.segments[0].text and shown.segments[0].elements[3].value == "*" * 10
    beg = shown.segments[3]
    assert (beg.elements[2].label, beg.elements[2].value) == ("BEG03 Purchase Order Number (AN 1/22)", "PO-1")
    assert beg.elements[1].meaning == "Stand-alone Order"
    assert shown.segments[4].name == "(segment not in the definitions)"
    assert annotate(text.encode(), limit=3).truncated


def test_the_x12_view_of_bytes_that_are_not_x12_says_why() -> None:
    shown = annotate(b"hello, not an interchange")
    assert shown.segments == [] and shown.error is not None and "not X12" in shown.error
