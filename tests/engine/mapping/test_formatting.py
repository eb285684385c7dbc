from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import MappingError
from engine.mapping.formatting import FormatState, format_n, format_r, formatter
from engine.x12.definition import ElementDef


def element(kind: str, min_len: int = 1, max_len: int = 10) -> ElementDef:
    return ElementDef(ref="0", name="test", type=kind, min_len=min_len, max_len=max_len)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(1000.80, "1000.8", id="float-trailing-zero"),
        pytest.param(5.0, "5", id="integral-float"),
        pytest.param(5, "5", id="int"),
        pytest.param("12.500", "12.5", id="text"),
        pytest.param(Decimal("0.000"), "0", id="decimal-zero"),
        pytest.param(-0.0, "0", id="negative-zero"),
        pytest.param(1e-05, "0.00001", id="no-exponent-small"),
        pytest.param(1e16, "10000000000000000", id="no-exponent-large"),
        pytest.param(-3.25, "-3.25", id="negative"),
    ],
)
def test_r_is_written_without_superfluous_zeros(value: Any, text: str) -> None:
    assert format_r(value, "X01") == text


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        pytest.param(1060.00, 2, "106000", id="n2"),
        pytest.param(3677.5, 2, "367750", id="n2-one-decimal"),
        pytest.param(0.005, 2, "1", id="n2-rounds-half-up"),
        pytest.param("12", 0, "12", id="n0-text"),
        pytest.param(2.5, 0, "3", id="n0-half-up"),
        pytest.param(-1.25, 2, "-125", id="negative"),
    ],
)
def test_n_types_carry_implied_decimals(value: Any, decimals: int, text: str) -> None:
    assert format_n(value, decimals, "X01") == text


def test_n0_is_zero_padded_to_its_minimum_length() -> None:
    assert formatter(element("N0", 4, 9), "ST02")(7, FormatState()) == "0007"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("2024-05-02", "20240502", id="iso-date"),
        pytest.param("2024-05-02T14:03:11.217Z", "20240502", id="iso-datetime"),
        pytest.param(date(2024, 5, 2), "20240502", id="date"),
        pytest.param(datetime(2024, 5, 2, 14, 3), "20240502", id="datetime"),
        pytest.param("20240502", "20240502", id="already-x12"),
        pytest.param("", "", id="empty"),
        pytest.param(None, "", id="none"),
    ],
)
def test_dates_are_written_ccyymmdd(value: Any, text: str) -> None:
    assert formatter(element("DT", 8, 8), "BIG01")(value, FormatState()) == text


def test_a_six_long_date_element_gets_yymmdd() -> None:
    assert formatter(element("DT", 6, 6), "X01")("2024-05-02", FormatState()) == "240502"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("2024-05-02T14:03:11Z", "1403", id="iso-datetime"),
        pytest.param("14:03", "1403", id="iso-time"),
        pytest.param(datetime(2024, 5, 2, 9, 5), "0905", id="datetime"),
        pytest.param("0930", "0930", id="already-x12"),
    ],
)
def test_times_are_written_hhmm(value: Any, text: str) -> None:
    assert formatter(element("TM", 4, 4), "BSN04")(value, FormatState()) == text


def test_a_date_that_is_not_a_date_names_the_element() -> None:
    with pytest.raises(MappingError, match=r"BIG01: 'next tuesday' is not a date"):
        formatter(element("DT", 8, 8), "BIG01")("next tuesday", FormatState())


def test_overlong_free_text_is_truncated_and_recorded() -> None:
    state = FormatState(truncate=True)
    assert formatter(element("AN", 1, 5), "PID05")("ATHENS Desk", state) == "ATHEN"
    assert state.notes == ["PID05: truncated 'ATHENS Desk' to 5 characters"]


def test_overlong_free_text_is_refused_under_the_refuse_policy() -> None:
    with pytest.raises(MappingError, match=r"PID05: 'ATHENS Desk' is 11 characters; the element allows at most 5"):
        formatter(element("AN", 1, 5), "PID05")("ATHENS Desk", FormatState(truncate=False))


@pytest.mark.parametrize(
    ("kind", "value"),
    [pytest.param("ID", "TOOLONG", id="code"), pytest.param("R", 123456.5, id="number"), pytest.param("N2", 99999, id="n2")],
)
def test_overlong_codes_and_numbers_are_always_refused(kind: str, value: Any) -> None:
    with pytest.raises(MappingError, match="allows at most 5"):
        formatter(element(kind, 1, 5), "X01")(value, FormatState(truncate=True))


def test_a_number_element_refuses_text_that_is_not_a_number() -> None:
    with pytest.raises(MappingError, match=r"IT102: expected a number, got 'two'"):
        formatter(element("R", 1, 10), "IT102")("two", FormatState())
