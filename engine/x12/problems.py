"""Problems found in an X12 file: located, coded, and mapped to 997 acknowledgment codes.

A `Problem` is data, not an exception: `mlc x12 check` reports every problem of a file, and
the 997 generator turns them into AK3/AK4/AK5/AK9 codes. Exceptions (`engine.errors`) are
for input that cannot be read at all.
"""

from __future__ import annotations

from dataclasses import dataclass

# AK304 segment syntax error codes (X12 720)
SEG_UNRECOGNIZED = "1"
SEG_UNEXPECTED = "2"
SEG_MANDATORY_MISSING = "3"
SEG_LOOP_OVER_MAX = "4"
SEG_EXCEEDS_MAX_USE = "5"
SEG_NOT_IN_SET = "6"
SEG_OUT_OF_ORDER = "7"
SEG_HAS_ELEMENT_ERRORS = "8"

# AK403 element syntax error codes (X12 723)
EL_MANDATORY_MISSING = "1"
EL_CONDITIONAL_MISSING = "2"
EL_TOO_MANY = "3"
EL_TOO_SHORT = "4"
EL_TOO_LONG = "5"
EL_INVALID_CHARACTER = "6"
EL_INVALID_CODE = "7"
EL_INVALID_DATE = "8"
EL_INVALID_TIME = "9"
EL_EXCLUSION_VIOLATED = "10"

# AK502-AK506 transaction set syntax error codes (X12 718)
TS_NOT_SUPPORTED = "1"
TS_TRAILER_MISSING = "2"
TS_CONTROL_MISMATCH = "3"
TS_COUNT_MISMATCH = "4"
TS_SEGMENTS_IN_ERROR = "5"
TS_CONTROL_NOT_UNIQUE = "23"

# AK905-AK909 functional group syntax error codes (X12 716)
FG_NOT_SUPPORTED = "1"
FG_VERSION_NOT_SUPPORTED = "2"
FG_TRAILER_MISSING = "3"
FG_CONTROL_MISMATCH = "4"
FG_COUNT_MISMATCH = "5"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in one place of a file.

    `scope` is where it belongs: "interchange", "group", "transaction", "segment" or
    "element". `code` is the acknowledgment code for that scope (AK905, AK502, AK304 or AK403
    values); `ts_position` is the segment's position in its transaction set (ST = 1) and
    `element`/`component` its element and component positions, for AK3/AK4.
    """

    message: str
    scope: str
    code: str = ""
    position: int | None = None
    segment_id: str | None = None
    ts_position: int | None = None
    loop_id: str | None = None
    element: int | None = None
    component: int | None = None
    element_ref: str | None = None
    bad_value: str | None = None
    level: str = "error"
    found_id: str | None = None
    """The id of the segment actually at `position`, when it differs from `segment_id` (a
    missing segment is reported where it was expected)."""

    def line(self, source: str) -> str:
        """The one-line report: `source: segment N (ID): level: message`."""
        where = source
        if self.position is not None:
            where += f": segment {self.position}"
            shown = self.found_id or self.segment_id
            if shown:
                where += f" ({shown})"
        # Values and ids read from a file may hold line breaks (mixed terminators): keep one line.
        line = f"{where}: {self.level}: {self.message}"
        return line.replace("\r", "\\r").replace("\n", "\\n")

    @property
    def is_error(self) -> bool:
        return self.level == "error"
