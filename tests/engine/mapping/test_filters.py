from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.errors import MappingError
from engine.mapping import filters


@pytest.mark.parametrize(
    ("value", "text"),
    [pytest.param("20240603", "2024-06-03", id="ccyymmdd"), pytest.param("240603", "2024-06-03", id="yymmdd"), pytest.param("", "", id="empty")],
)
def test_iso_date_reads_x12_dates(value: str, text: str) -> None:
    assert filters.iso_date(value) == text


@pytest.mark.parametrize("value", [pytest.param("20241301", id="month-13"), pytest.param("2024-06", id="not-digits")])
def test_iso_date_refuses_what_is_not_a_date(value: str) -> None:
    with pytest.raises(MappingError):
        filters.iso_date(value)


def test_iso_time_reads_hhmm_and_hhmmss() -> None:
    assert (filters.iso_time("1400"), filters.iso_time("140005")) == ("14:00", "14:00:05")


@pytest.mark.parametrize(
    ("value", "number"),
    [pytest.param("5", 5, id="int"), pytest.param("1000.80", 1000.8, id="float"), pytest.param(" 7 ", 7, id="spaces"), pytest.param(2.5, 2.5, id="number")],
)
def test_number_reads_x12_numbers(value: Any, number: float) -> None:
    assert filters.number(value) == number
    assert type(filters.number(value)) is type(number)


@pytest.mark.parametrize("value", [pytest.param("five", id="word"), pytest.param(True, id="bool"), pytest.param("NaN", id="nan")])
def test_number_refuses_what_is_not_a_number(value: Any) -> None:
    with pytest.raises(MappingError, match="is not a number"):
        filters.number(value)


def test_implied_reads_n2_amounts() -> None:
    assert filters.implied("106000", 2) == 1060.0


def test_pad_pads_right_or_left() -> None:
    assert (filters.pad("42", 5), filters.pad("42", 5, "0", left=True)) == ("42   ", "00042")


def test_code_translates_and_names_the_known_values_when_it_cannot() -> None:
    assert filters.code("PCS", {"PCS": "EA"}) == "EA"
    assert filters.code("BOX", {"PCS": "EA"}, default="EA") == "EA"
    with pytest.raises(MappingError, match=r"'BOX' has no translation \(known: PCS\)"):
        filters.code("BOX", {"PCS": "EA"})


@pytest.mark.parametrize(
    ("segment", "qualifiers", "found"),
    [
        pytest.param({"PO101": "1", "PO106": "BP", "PO107": "A-1", "PO108": "VP", "PO109": "V-1"}, ("VP",), "V-1", id="second-pair"),
        pytest.param({"PO101": "1", "PO106": "BP", "PO107": "A-1"}, ("UP", "BP"), "A-1", id="fallback-qualifier"),
        pytest.param({"LIN01": "1", "LIN02": "BP", "LIN03": "100XLG"}, ("BP",), "100XLG", id="lin"),
        pytest.param({"PO101": "BP", "PO106": "VP", "PO107": "X"}, ("BP",), "", id="only-pair-positions"),
        pytest.param({}, ("BP",), "", id="empty"),
    ],
)
def test_product_id_scans_qualifier_pairs(segment: dict[str, str], qualifiers: tuple[str, ...], found: str) -> None:
    assert filters.product_id(segment, *qualifiers) == found


def test_qualified_picks_the_segment_with_the_qualifier() -> None:
    dtms = [{"DTM01": "010", "DTM02": "20240601"}, {"DTM01": "002", "DTM02": "20240617"}]
    assert filters.qualified(dtms, "DTM01", "002", "DTM02") == "20240617"
    assert filters.qualified(dtms[0], "DTM01", "002", "DTM02") == ""


def test_jsonpath_returns_every_match() -> None:
    assert filters.jsonpath({"a": [{"b": 1}, {"b": 2}]}, "$.a[*].b") == [1, 2]


def test_where_selects_items_by_a_dotted_path() -> None:
    loops = [{"N1": {"N101": "BY"}}, {"N1": {"N101": "ST", "N102": "DC 7"}}, {"N3": []}]
    assert filters.where(loops, "N1.N101", "ST") == [loops[1]]
    assert filters.where(loops, "N1.N101", "ST", "BY") == loops[:2]
    assert filters.where(None, "N1.N101", "ST") == []


def test_dig_reads_optional_nested_values() -> None:
    doc = {"N1_loop": [{"N3": [{"N301": "1200 W Industrial Dr"}]}]}
    assert filters.dig(doc, "N1_loop.0.N3.0.N301") == "1200 W Industrial Dr"
    assert filters.dig(doc, "N1_loop.0.N4.0.N401") == ""
    assert filters.dig(doc, "N1_loop.5.N3", default=None) is None


def _product_id_reference(segment: Any, *qualifiers: str) -> str:
    """product_id as first written (a dict of positions per call, max() per step)."""
    if not isinstance(segment, dict) or not segment:
        return ""
    tag = next(iter(segment))[:-2]
    start = filters._PAIR_START.get(tag, 0)
    values = {int(k[len(tag) :]): v for k, v in segment.items() if k[len(tag) :].isdigit()}
    for qualifier in qualifiers:
        position = start or 1
        while position <= max(values, default=0):
            if values.get(position) == qualifier and isinstance(values.get(position + 1), str):
                return str(values[position + 1])
            position += 2 if start else 1
    return ""


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param({"PO101": "1", "PO106": "BP", "PO107": "AC-1", "PO108": "VP", "PO109": "1896-S"}, id="po1"),
        pytest.param({"PO101": "1", "PO106": "VP", "PO107": "X", "PO110": "BP", "PO111": "Y"}, id="po1-third-pair"),
        pytest.param({"LIN01": "1", "LIN02": "BP", "LIN03": "A", "LIN04": "VP", "LIN05": "B"}, id="lin"),
        pytest.param({"PID01": "F", "PID05": "BP"}, id="pid-every-position"),
        pytest.param({"PO101": "1", "PO16": "BP", "PO17": "short keys"}, id="short-keys"),
        pytest.param({"PO101": "1", "PO106": "BP", "PO107": ["A", "B"]}, id="composite-id"),
        pytest.param({"PO101": "1", "PO1xx": "BP", "PO106": "BP"}, id="not-a-position"),
        pytest.param({"ZZ01": "BP", "ZZ02": "Q"}, id="unknown-segment"),
        pytest.param({}, id="empty"),
        pytest.param("PO1", id="not-an-object"),
    ],
)
def test_product_id_finds_what_it_always_found(segment: Any) -> None:
    for qualifiers in (("BP",), ("VP",), ("BP", "VP"), ("IN",)):
        assert filters.product_id(segment, *qualifiers) == _product_id_reference(segment, *qualifiers)


@pytest.mark.parametrize("text", ["0", "5", "007", " 42 ", "1000.80", "-3", "1e3", "٣", "12345678901234567890"])
def test_number_of_digits_is_the_decimal_reading(text: str) -> None:
    parsed = Decimal(text.strip())
    expected = int(parsed) if parsed == parsed.to_integral_value() else float(parsed)
    assert filters.number(text) == expected
    assert type(filters.number(text)) is type(expected)
