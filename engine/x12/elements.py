"""Checks of one element value against its data-element definition (type, length, codes).

Each check returns None when the value is valid, else `(AK403 code, message)`. Dates and
times are validated for real (no 31 February); numeric lengths exclude sign and decimal
point, as X12 counts them.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from engine.x12 import problems as P
from engine.x12.definition import ElementDef

# ASCII only: X12 numbers, dates and times are written with the digits 0-9, never "٣" or "²".
NUMERIC = re.compile(r"^-?\d+$", re.ASCII)
DECIMAL = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)$", re.ASCII)
_TIME = re.compile(r"^(\d\d)(\d\d)(?:(\d\d)(\d{1,2})?)?$", re.ASCII)


@lru_cache(maxsize=4096)
def valid_date(value: str) -> bool:
    """CCYYMMDD (or YYMMDD) naming a real calendar day."""
    if not (value.isascii() and value.isdigit()):
        return False
    try:
        if len(value) == 8:
            date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        elif len(value) == 6:
            date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
        else:
            return False
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def valid_time(value: str) -> bool:
    """HHMM, HHMMSS or HHMMSSd..d with hours < 24, minutes and seconds < 60."""
    match = _TIME.match(value)
    if not match:
        return False
    hours, minutes, seconds = match.group(1), match.group(2), match.group(3)
    return int(hours) < 24 and int(minutes) < 60 and (seconds is None or int(seconds) < 60)


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _codes(codes: frozenset[str]) -> str:
    listed = sorted(codes)
    text = ", ".join(listed[:15])
    return text + (f", ... ({len(listed)} codes)" if len(listed) > 15 else "")


def check_value(value: str, spec: ElementDef, label: str) -> tuple[str, str] | None:
    """Validate a non-empty value; `label` names the element in messages (e.g. `BEG05`)."""
    el_type = spec.type
    length = len(value)
    if el_type[0] == "N" or el_type == "R":
        if el_type == "R":
            if not DECIMAL.match(value):
                return (
                    P.EL_INVALID_CHARACTER,
                    f"{label} ({spec.ref} {spec.name}) {_shown(value)} is not a decimal number",
                )
            length = len(value) - value.startswith("-") - ("." in value)
        else:
            if not NUMERIC.match(value):
                return P.EL_INVALID_CHARACTER, f"{label} ({spec.ref} {spec.name}) {_shown(value)} is not an integer"
            length = len(value) - value.startswith("-")
    elif el_type == "DT":
        if not (spec.min_len <= length <= spec.max_len) or not valid_date(value):
            expected = "CCYYMMDD" if spec.min_len == 8 else "YYMMDD" if spec.max_len == 6 else "CCYYMMDD or YYMMDD"
            return P.EL_INVALID_DATE, f"{label} ({spec.ref} {spec.name}) {_shown(value)} is not a valid {expected} date"
    elif el_type == "TM" and not valid_time(value):
        return P.EL_INVALID_TIME, f"{label} ({spec.ref} {spec.name}) {_shown(value)} is not a valid HHMM[SS] time"
    if length > spec.max_len:
        return P.EL_TOO_LONG, (
            f"{label} ({spec.ref} {spec.name}) is {length} characters {_shown(value)}, at most {spec.max_len} allowed"
        )
    if length < spec.min_len:
        return P.EL_TOO_SHORT, (
            f"{label} ({spec.ref} {spec.name}) is {length} characters {_shown(value)}, at least {spec.min_len} needed"
        )
    if spec.codes is not None and value not in spec.codes:
        return P.EL_INVALID_CODE, (
            f"{label} ({spec.ref} {spec.name}) {_shown(value)} is not a valid code; valid: {_codes(spec.codes)}"
        )
    return None
