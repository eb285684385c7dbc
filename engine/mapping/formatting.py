"""Outbound element formatting by element type: what the template gives -> what X12 carries.

- `N0`/`Nn`: an integer with n implied decimals (`1060.00` -> `106000` for N2), rounded half
  up, zero-padded to the element's minimum length.
- `R`: a decimal without superfluous zeros (`1000.80` -> `1000.8`, `5.0` -> `5`).
- `DT`: a date or ISO text -> CCYYMMDD (YYMMDD for a 6-long element). `TM`: a time or ISO
  text -> HHMM; digits already in X12 form (HHMM, HHMMSS) are kept.
- `ID`/`AN`/`B`: text. `None` and `""` leave the element empty.

Too long: under the partner's `overlong: truncate` policy (the default) free text (AN elements
that are names, descriptions, addresses or messages) is cut to the maximum and the cut is
recorded; numbers, dates, times, codes and identifiers (AN elements named a number, an
identification, an ID or a code: BIG02 Invoice Number, REF02, IT107 Product/Service ID) that are
too long are always an error, as is everything under `overlong: refuse`. A cut number, code or
identifier would name another document or item.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.errors import MappingError
from engine.mapping.filters import x12_date, x12_time
from engine.x12.definition import ElementDef

Formatter = Callable[[Any, "FormatState"], str]


class FormatState:
    """Per-render settings and notes: the overlong policy and what was truncated."""

    __slots__ = ("notes", "truncate")

    def __init__(self, truncate: bool = True) -> None:
        self.truncate = truncate
        self.notes: list[str] = []


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise MappingError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    try:
        result = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise MappingError(f"{where}: expected a number, got {value!r}") from None
    if not result.is_finite():
        raise MappingError(f"{where}: expected a finite number, got {value!r}")
    return result


def format_r(value: Any, where: str) -> str:
    """R: a decimal without superfluous zeros or exponent."""
    if type(value) is int:
        return str(value)
    if type(value) is float:
        text = repr(value)
        if "e" not in text and "n" not in text:
            text = text[:-2] if text.endswith(".0") else text
            return "0" if text == "-0" else text
    number = _decimal(value, where)
    text = format(number.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_n(value: Any, decimals: int, where: str) -> str:
    """Nn: an integer with `decimals` implied decimals, rounded half up."""
    if type(value) is int and decimals == 0:
        return str(value)
    number = _decimal(value, where).scaleb(decimals).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    text = str(int(number))
    return "0" if text == "-0" else text


_IDENTIFIER = re.compile(r"\b(Number|Identification|Identifier|ID|Code|Qualifier)\b")
"""Words in an AN element's name that make it an identifier, never truncated."""


def _length_error(where: str, text: str, element: ElementDef) -> MappingError:
    return MappingError(
        f"{where}: {text!r} is {len(text)} characters; the element allows at most {element.max_len} "
        f"({element.type} {element.min_len}/{element.max_len})"
    )


def formatter(element: ElementDef, where: str) -> Formatter:
    """The formatting function of one element, chosen once at compile time."""
    kind = element.type
    max_len = element.max_len
    min_len = element.min_len

    if kind == "R":

        def fmt_r(value: Any, state: FormatState) -> str:
            if value is None or value == "":
                return ""
            text = format_r(value, where)
            if len(text.lstrip("-").replace(".", "")) > max_len:
                raise _length_error(where, text, element)
            return text

        return fmt_r
    if kind.startswith("N"):
        decimals = int(kind[1:] or 0)

        def fmt_n(value: Any, state: FormatState) -> str:
            if value is None or value == "":
                return ""
            text = format_n(value, decimals, where)
            digits = text.lstrip("-")
            if len(digits) < min_len:
                text = ("-" if text.startswith("-") else "") + digits.zfill(min_len)
            if len(text.lstrip("-")) > max_len:
                raise _length_error(where, text, element)
            return text

        return fmt_n
    if kind == "DT":

        def fmt_dt(value: Any, state: FormatState) -> str:
            try:
                text = x12_date(value, 6 if max_len == 6 else 8)
            except MappingError as exc:
                raise MappingError(f"{where}: {exc.message}") from None
            return text

        return fmt_dt
    if kind == "TM":

        def fmt_tm(value: Any, state: FormatState) -> str:
            try:
                text = x12_time(value, 4)
            except MappingError as exc:
                raise MappingError(f"{where}: {exc.message}") from None
            return text

        return fmt_tm
    free_text = kind == "AN" and not _IDENTIFIER.search(element.name)

    def fmt_text(value: Any, state: FormatState) -> str:
        if value is None:
            return ""
        if type(value) is str:
            text = value
        elif isinstance(value, float):
            text = format_r(value, where)
        elif isinstance(value, datetime | date | time):
            text = value.isoformat()
        else:
            text = str(value)
        if len(text) > max_len:
            if free_text and state.truncate:
                state.notes.append(f"{where}: truncated {text!r} to {max_len} characters")
                return text[:max_len].rstrip()
            raise _length_error(where, text, element)
        return text

    return fmt_text


def plain(value: Any, state: FormatState) -> str:
    """A value of an element without a definition: text as given."""
    return "" if value is None else str(value)
