"""What a 997 says about a set the ERP side refused: the elements whose values its reason names."""

from __future__ import annotations

from engine.runtime.slices import business_problems
from engine.x12 import problems as P

SET = [
    ["ST", "856", "0001"],
    ["HL", "131", "2", "I", "0"],
    ["LIN", "131", "BP", "AC-NO-SUCH-ITEM"],
    ["SN1", "072", "12.50", "EA"],
    ["HL", "16384", "2", "I", "0"],
    ["SE", "6", "0001"],
]


def test_a_value_the_reason_names_as_a_word_is_an_invalid_code_at_its_element() -> None:
    found = business_problems("not in partner 'acme' cross-reference: AC-NO-SUCH-ITEM (table 'items')", SET, ":")
    assert [(p.segment_id, p.ts_position, p.element, p.bad_value, p.code) for p in found] == [("LIN", 3, 3, "AC-NO-SUCH-ITEM", P.EL_INVALID_CODE)]


def test_parts_of_a_bigger_number_in_the_reason_are_not_values_it_names() -> None:
    reason = "The document has 131,072 lines; its line sequence numbers would pass 2,147,483,647 (at most 131,071 lines, numbered 16384 apart)."
    found = business_problems(reason, SET, ":")
    # 131 and 072 are pieces of 131,072, not words of their own; 16384 is one
    assert [(p.segment_id, p.bad_value) for p in found] == [("HL", "16384")]


def test_a_decimal_is_one_word_and_a_reason_naming_no_value_rejects_the_set_alone() -> None:
    assert [p.bad_value for p in business_problems("unit price 12.50 is below cost", SET, ":")] == ["12.50"]
    assert [p.code for p in business_problems("the price 112.50 is below cost", SET, ":")] == [P.TS_SEGMENTS_IN_ERROR]  # 12.50 is inside 112.50
    (whole,) = business_problems("The receipt date falls in a closed period", SET, ":")
    assert whole.level == "error" and whole.code == P.TS_SEGMENTS_IN_ERROR and whole.segment_id is None


def test_the_request_and_answer_around_an_erp_refusal_are_not_values_it_names() -> None:
    reason = (
        "856_GLX.edi (ST02 0001): gp: POST http://127.0.0.1:16384/gp/GPService/Tenants(DefaultTenant)/Companies(TWO)/Purchasing/"
        "PurchaseReceipts -> HTTP 400 3006: The item AC-NO-SUCH-ITEM does not exist."
    )
    segments = [*SET[:-1], ["N1", "ST", "Fabrikam", "92", "TWO"], ["SN1", "1", "400", "EA"], ["REF", "ZZ", "3006"], ["BSN", "00", "0001"], SET[-1]]
    found = business_problems(reason, segments, ":")
    assert [(p.segment_id, p.bad_value) for p in found] == [("LIN", "AC-NO-SUCH-ITEM")]
