"""Envelope-aware streaming reader: interchanges -> groups -> transactions, with envelope checks.

`read_events` walks the tokenizer once and yields each `Transaction` as soon as its SE is read,
then each `Group` when its GE is read and each `Interchange` when its IEA is read; only the
current transaction's segments are held, so memory stays flat however large the file.

Envelope problems (widths and values of the ISA, GS fields, control numbers that do not match,
counts, missing trailers, segments outside an envelope) are recorded as `Problem`s on the
object they belong to; only input that is not X12 at all raises (`X12SyntaxError`).

What is checked at the envelope (X12.5 / X12.6), beyond control numbers and counts:
- ISA: sixteen fields of their fixed widths; ISA09 YYMMDD, ISA10 HHMM; ISA11 `U` before 00402
  and the repetition separator from 00501 (00402, the release that introduced it, takes
  either); ISA12 a known interchange control version (`KNOWN_ISA12`); ISA13 digits; ISA14 0/1;
  ISA15 P/T/I.
- TA1 interchange acknowledgments, legal between the ISA and its first GS: TA101 nine
  digits, TA102 YYMMDD, TA103 HHMM, TA104 A/E/R, TA105 a note code (000-031); kept on the
  interchange (`Interchange.ta1`), shown in the parse tree and matched to our interchange.
- GS: GS01 two characters and a known functional identifier code (X12 479), GS04 CCYYMMDD
  from 004010 on (YYMMDD before), GS05 HHMM[SS[d..]], GS06 1-9 digits, GS07 T or X, GS08 an
  X12 version code.
- ST02 4-9 characters, unique in its group.
- Two interchanges of one file with the same sender and ISA13: a warning on the second.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from engine.errors import MlcError
from engine.x12 import problems as P
from engine.x12.delimiters import Delimiters
from engine.x12.problems import Problem
from engine.x12.tokenizer import Tokenizer

# ISA01..ISA16: (name, width)
ISA_FIELDS: tuple[tuple[str, int], ...] = (
    ("Authorization Information Qualifier", 2),
    ("Authorization Information", 10),
    ("Security Information Qualifier", 2),
    ("Security Information", 10),
    ("Interchange ID Qualifier", 2),
    ("Interchange Sender ID", 15),
    ("Interchange ID Qualifier", 2),
    ("Interchange Receiver ID", 15),
    ("Interchange Date", 6),
    ("Interchange Time", 4),
    ("Interchange Control Standards Identifier / Repetition Separator", 1),
    ("Interchange Control Version Number", 5),
    ("Interchange Control Number", 9),
    ("Acknowledgment Requested", 1),
    ("Usage Indicator", 1),
    ("Component Element Separator", 1),
)
_DIGITS = re.compile(r"^[0-9]+$")

KNOWN_ISA12 = frozenset(
    {"00200", "00201", "00204", *(f"0030{n}" for n in range(8)), *(f"0040{n}" for n in range(7))}
    | {*(f"0050{n}" for n in range(6)), *(f"0060{n}" for n in range(6)), *(f"0070{n}" for n in range(6))}
    | {"00800", "00801"}
)
"""Interchange control version numbers (ISA12, X12 code list I11) through 00801."""

TA1_NOTE_CODES = frozenset(f"{n:03d}" for n in range(32))
"""TA105 interchange note codes (X12 I18): 000 no error through 031."""
TA1_STATUSES = {"A": "accepted", "E": "accepted with errors", "R": "rejected"}
"""TA104 interchange acknowledgment codes (X12 I17)."""
GS_AGENCIES = ("T", "X")
"""GS07 responsible agency codes: T (TDCC), X (Accredited Standards Committee X12)."""
_GS_VERSION = re.compile(r"^[0-9]{6}[A-Za-z0-9]{0,6}$")
_GS_TIME = re.compile(r"^[0-9]{4}(?:[0-9]{2}[0-9]{0,2})?$")


def _number(value: str) -> int | None:
    """A count or control number as an int; None unless ASCII digits (int() would also take
    '²' or a 5,000-digit string, and fail)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@dataclass(slots=True, eq=False)
class Interchange:
    """One ISA...IEA interchange (the header facts, its trailer and its problems)."""

    isa: list[str]
    position: int
    delimiters: Delimiters
    iea: list[str] | None = None
    end_position: int | None = None
    group_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    ta1: list[tuple[int, list[str]]] = field(default_factory=list)
    """TA1 interchange acknowledgments read between the ISA and its first GS: (position, segment)."""

    def _isa(self, index: int) -> str:
        return self.isa[index] if index < len(self.isa) else ""

    @property
    def sender_qualifier(self) -> str:
        return self._isa(5).strip()

    @property
    def sender_id(self) -> str:
        return self._isa(6).strip()

    @property
    def receiver_qualifier(self) -> str:
        return self._isa(7).strip()

    @property
    def receiver_id(self) -> str:
        return self._isa(8).strip()

    @property
    def date(self) -> str:
        return self._isa(9)

    @property
    def time(self) -> str:
        return self._isa(10)

    @property
    def version(self) -> str:
        return self._isa(12)

    @property
    def control_number(self) -> str:
        return self._isa(13)

    @property
    def ack_requested(self) -> str:
        return self._isa(14)

    @property
    def usage(self) -> str:
        return self._isa(15)


@dataclass(slots=True, eq=False)
class Group:
    """One GS...GE functional group."""

    gs: list[str]
    position: int
    interchange: Interchange
    ge: list[str] | None = None
    end_position: int | None = None
    transaction_count: int = 0
    problems: list[Problem] = field(default_factory=list)

    def _gs(self, index: int) -> str:
        return self.gs[index] if index < len(self.gs) else ""

    @property
    def functional_id(self) -> str:
        return self._gs(1)

    @property
    def sender(self) -> str:
        return self._gs(2)

    @property
    def receiver(self) -> str:
        return self._gs(3)

    @property
    def date(self) -> str:
        return self._gs(4)

    @property
    def time(self) -> str:
        return self._gs(5)

    @property
    def control_number(self) -> str:
        return self._gs(6)

    @property
    def agency(self) -> str:
        return self._gs(7)

    @property
    def version(self) -> str:
        return self._gs(8)


@dataclass(slots=True, eq=False)
class Transaction:
    """One ST...SE transaction set: its segments (ST and SE included) and envelope problems."""

    group: Group
    position: int
    segments: list[list[str]]
    problems: list[Problem] = field(default_factory=list)
    complete: bool = True

    @property
    def set_id(self) -> str:
        st = self.segments[0]
        return st[1] if len(st) > 1 else ""

    @property
    def control_number(self) -> str:
        st = self.segments[0]
        return st[2] if len(st) > 2 else ""


Event = Transaction | Group | Interchange


def _error(scope: str, code: str, message: str, position: int | None, segment_id: str | None) -> Problem:
    return Problem(message, scope, code, position=position, segment_id=segment_id)


def check_isa(isa: list[str], position: int) -> list[Problem]:
    """Field count, widths and values of an ISA segment."""
    found: list[Problem] = []

    def bad(message: str) -> None:
        found.append(_error("interchange", "", message, position, "ISA"))

    if len(isa) != 17:
        bad(f"ISA has {len(isa) - 1} elements, expected 16")
    misfit: set[int] = set()  # fields of the wrong width: their value is not judged again
    for index, (name, width) in enumerate(ISA_FIELDS, start=1):
        if index >= len(isa):
            break
        value = isa[index]
        if len(value) != width:
            misfit.add(index)
            bad(f"ISA{index:02d} ({name}) is {len(value)} characters {value!r}, expected exactly {width}")

    def judged(index: int) -> bool:
        return index < len(isa) and index not in misfit

    if judged(9) and not (_DIGITS.match(isa[9]) and _valid_yymmdd(isa[9])):
        bad(f"ISA09 (Interchange Date) {isa[9]!r} is not a valid YYMMDD date")
    if judged(10) and not (_DIGITS.match(isa[10]) and _valid_hhmm(isa[10])):
        bad(f"ISA10 (Interchange Time) {isa[10]!r} is not a valid HHMM time")
    if judged(12) and not _DIGITS.match(isa[12]):
        bad(f"ISA12 (Interchange Control Version Number) {isa[12]!r} is not a 5-digit version such as 00401")
    elif judged(12) and isa[12] not in KNOWN_ISA12:
        bad(f"ISA12 (Interchange Control Version Number) {isa[12]!r} is not a known version (e.g. 00401, 00501)")
    if judged(11) and judged(12) and _DIGITS.match(isa[12]):
        isa11, version = isa[11], isa[12]
        if version < "00402" and isa11 != "U":
            bad(f"ISA11 (Interchange Control Standards Identifier) is {isa11!r}; version {version} requires U")
        elif version >= "00501" and (isa11.isalnum() or isa11 == " "):
            bad(
                f"ISA11 (Repetition Separator) is {isa11!r}; from version 00501 it must be the repetition "
                "separator, a character that is not a letter, digit or space (e.g. ^)"
            )
    if judged(13) and not _DIGITS.match(isa[13]):
        bad(f"ISA13 (Interchange Control Number) {isa[13]!r} is not numeric")
    if judged(14) and isa[14] not in ("0", "1"):
        bad(f"ISA14 (Acknowledgment Requested) is {isa[14]!r}, expected 0 or 1")
    if judged(15) and isa[15] not in ("P", "T", "I"):
        bad(f"ISA15 (Usage Indicator) is {isa[15]!r}, expected P (production), T (test) or I (information)")
    return found


def _valid_yymmdd(value: str) -> bool:
    if len(value) != 6:
        return False
    try:
        date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        return False
    return True


def _valid_hhmm(value: str) -> bool:
    return len(value) == 4 and int(value[:2]) < 24 and int(value[2:]) < 60


def _valid_time(value: str) -> bool:
    """HHMM, HHMMSS or HHMMSSd..dd (X12 TM 4/8)."""
    if not _GS_TIME.match(value):
        return False
    return int(value[:2]) < 24 and int(value[2:4]) < 60 and (len(value) < 6 or int(value[4:6]) < 60)


def _valid_date(value: str, digits: int) -> bool:
    if len(value) != digits or not _DIGITS.match(value):
        return False
    if digits == 6:
        return _valid_yymmdd(value)
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def functional_ids() -> frozenset[str]:
    """Functional identifier codes (X12 479, GS01), from the shipped 004010 dictionary's AK101."""
    from engine.x12.definition import segment_dictionary  # the reader itself needs no definitions

    element = segment_dictionary("004010")["AK1"].elements[0]
    codes = getattr(element, "codes", None)
    return frozenset(codes or ())


def _check_gs(gs: list[str], position: int) -> list[Problem]:
    found: list[Problem] = []

    def bad(message: str, code: str = "") -> None:
        found.append(_error("group", code, message, position, "GS"))

    if len(gs) < 9:
        bad(f"GS has {len(gs) - 1} elements, expected 8")
        return found
    gs01, gs04, gs05, gs07, gs08 = gs[1], gs[4], gs[5], gs[7], gs[8]
    if len(gs01) != 2:
        bad(f"GS01 (Functional Identifier Code) {gs01[:20]!r} is {len(gs01)} characters, expected 2 (e.g. PO, IN)", P.FG_NOT_SUPPORTED)
    elif gs01 not in functional_ids():
        bad(f"GS01 (Functional Identifier Code) {gs01!r} is not a known functional identifier code (e.g. PO, IN, SH, PR, FA)", P.FG_NOT_SUPPORTED)
    if not gs08:
        bad("GS08 (Version) is empty", P.FG_VERSION_NOT_SUPPORTED)
    elif not _GS_VERSION.match(gs08):
        bad(
            f"GS08 (Version / Release / Industry Identifier Code) {gs08[:40]!r} is not an X12 version code "
            "(six digits and an optional suffix, e.g. 004010 or 004010VICS)",
            P.FG_VERSION_NOT_SUPPORTED,
        )
    # CCYYMMDD from 004010 on; YYMMDD before. An unreadable GS08 is judged as a current version.
    digits = 6 if _GS_VERSION.match(gs08) and gs08[:6] < "004010" else 8
    if not _valid_date(gs04, digits):
        shape = "YYMMDD" if digits == 6 else "CCYYMMDD"
        bad(f"GS04 (Date) {gs04[:20]!r} is not a valid {shape} date" + (" (required from 004010 on)" if digits == 8 else ""))
    if not _valid_time(gs05):
        bad(f"GS05 (Time) {gs05[:20]!r} is not a valid HHMM, HHMMSS or HHMMSSd..d time")
    if not _DIGITS.match(gs[6]) or len(gs[6]) > 9:
        bad(f"GS06 (Group Control Number) {gs[6]!r} is not 1-9 digits")
    if gs07 not in GS_AGENCIES:
        bad(f"GS07 (Responsible Agency Code) is {gs07[:20]!r}, expected X (ASC X12) or T (TDCC)")
    return found


def check_ta1(ta1: list[str], position: int) -> list[Problem]:
    """Field values of a TA1 interchange acknowledgment."""
    found: list[Problem] = []

    def bad(message: str) -> None:
        found.append(_error("interchange", "", message, position, "TA1"))

    values = [ta1[i] if i < len(ta1) else "" for i in range(6)]
    if len(ta1) > 6:
        bad(f"TA1 has {len(ta1) - 1} elements, expected 5")
    if not (len(values[1]) == 9 and _DIGITS.match(values[1])):
        bad(f"TA101 (Interchange Control Number) {values[1][:20]!r} is not nine digits")
    if not _valid_date(values[2], 6):
        bad(f"TA102 (Interchange Date) {values[2][:20]!r} is not a valid YYMMDD date")
    if not (len(values[3]) == 4 and _valid_time(values[3])):
        bad(f"TA103 (Interchange Time) {values[3][:20]!r} is not a valid HHMM time")
    if values[4] not in TA1_STATUSES:
        bad(f"TA104 (Interchange Acknowledgment Code) is {values[4][:20]!r}, expected A, E or R")
    if values[5] not in TA1_NOTE_CODES:
        bad(f"TA105 (Interchange Note Code) is {values[5][:20]!r}, expected a code 000 to 031")
    return found


class _Reader:
    """The state machine behind `read_events`."""

    def __init__(self, stream: BinaryIO, source: str) -> None:
        self.tokens = Tokenizer(stream, source)
        self.source = source

    def events(self) -> Iterator[Event]:
        interchange: Interchange | None = None
        group: Group | None = None
        txn: Transaction | None = None
        group_controls: set[str] = set()
        txn_controls: set[str] = set()
        seen_interchanges: dict[tuple[str, str, str], int] = {}
        last_position = 0
        anomalies = self.tokens.anomalies
        for position, seg in self.tokens:
            last_position = position
            if anomalies:
                # The innermost open envelope owns the problem (the interchange for a GS or IEA).
                owner: Transaction | Group | Interchange | None = txn or group or interchange
                if owner is not None:
                    scope = "transaction" if txn else "group" if group else "interchange"
                    owner.problems.extend(_error(scope, "", message, at, None) for at, message in anomalies)
                anomalies.clear()
            tag = seg[0]
            if txn is not None and tag != "SE":
                if tag in ("ST", "GE", "IEA", "GS", "ISA"):
                    # A header or trailer inside a transaction: its SE is missing.
                    txn.complete = False
                    txn.problems.append(
                        _error(
                            "transaction",
                            P.TS_TRAILER_MISSING,
                            f"transaction set {txn.set_id} {txn.control_number} (ST at segment {txn.position}) "
                            f"has no SE: found {tag} first",
                            position,
                            tag,
                        )
                    )
                    yield txn
                    txn = None
                else:
                    txn.segments.append(seg)
                    continue
            if tag == "SE":
                if txn is None:
                    self._stray(interchange, group, position, tag, "SE without a matching ST")
                    continue
                txn.segments.append(seg)
                self._close_transaction(txn, seg, position)
                yield txn
                txn = None
            elif tag == "ST":
                if group is None:
                    self._stray(interchange, group, position, tag, "ST outside a functional group (no GS before it)")
                    continue
                txn = Transaction(group, position, [seg])
                group.transaction_count += 1
                control = seg[2] if len(seg) > 2 else ""
                if not 4 <= len(control) <= 9:
                    txn.problems.append(
                        _error(
                            "transaction",
                            "",
                            f"ST02 (Transaction Set Control Number) {control[:40]!r} is {len(control)} characters, "
                            "expected 4 to 9",
                            position,
                            "ST",
                        )
                    )
                if control in txn_controls:
                    txn.problems.append(
                        _error(
                            "transaction",
                            P.TS_CONTROL_NOT_UNIQUE,
                            f"ST02 {control!r} is used twice in group {group.control_number}",
                            position,
                            "ST",
                        )
                    )
                txn_controls.add(control)
            elif tag == "GS":
                if interchange is None:
                    continue  # impossible: the tokenizer starts with an ISA
                if group is not None:
                    group.problems.append(
                        _error(
                            "group",
                            P.FG_TRAILER_MISSING,
                            f"functional group {group.control_number} (GS at segment {group.position}) has no GE: "
                            "found GS first",
                            position,
                            "GS",
                        )
                    )
                    yield group
                group = Group(seg, position, interchange, problems=_check_gs(seg, position))
                interchange.group_count += 1
                txn_controls = set()
                if group.control_number in group_controls:
                    group.problems.append(
                        _error(
                            "group",
                            P.FG_CONTROL_MISMATCH,
                            f"GS06 {group.control_number!r} is used twice in interchange {interchange.control_number}",
                            position,
                            "GS",
                        )
                    )
                group_controls.add(group.control_number)
            elif tag == "GE":
                if group is None:
                    self._stray(interchange, group, position, tag, "GE without a matching GS")
                    continue
                group.ge = seg
                group.end_position = position
                self._close_group(group, seg, position)
                yield group
                group = None
            elif tag == "IEA":
                if interchange is None:
                    continue
                if group is not None:
                    group.problems.append(
                        _error(
                            "group",
                            P.FG_TRAILER_MISSING,
                            f"functional group {group.control_number} (GS at segment {group.position}) has no GE: "
                            "found IEA first",
                            position,
                            "IEA",
                        )
                    )
                    yield group
                    group = None
                interchange.iea = seg
                interchange.end_position = position
                self._close_interchange(interchange, seg, position)
                yield interchange
                interchange = None
            elif tag == "ISA":
                if interchange is not None:
                    if group is not None:
                        group.problems.append(
                            _error(
                                "group",
                                P.FG_TRAILER_MISSING,
                                f"functional group {group.control_number} (GS at segment {group.position}) has "
                                "no GE: found the next ISA first",
                                position,
                                "ISA",
                            )
                        )
                        yield group
                        group = None
                    interchange.problems.append(
                        _error(
                            "interchange",
                            "",
                            f"interchange {interchange.control_number} (ISA at segment {interchange.position}) has "
                            "no IEA: found the next ISA first",
                            position,
                            "ISA",
                        )
                    )
                    yield interchange
                interchange = Interchange(seg, position, self.tokens.delimiters, problems=check_isa(seg, position))
                group_controls = set()
                key = (interchange.sender_qualifier, interchange.sender_id, interchange.control_number)
                first = seen_interchanges.setdefault(key, position)
                if first != position:
                    interchange.problems.append(
                        Problem(
                            f"interchange {interchange.control_number} from {key[0]}/{key[1]} appears twice in this file "
                            f"(first ISA at segment {first}): the same sender and ISA13",
                            "interchange",
                            position=position,
                            segment_id="ISA",
                            level="warning",
                        )
                    )
            elif tag == "TA1" and interchange is not None and group is None:
                if interchange.group_count:
                    self._stray(interchange, group, position, tag, "TA1 after a functional group: a TA1 must come before the first GS")
                    continue
                interchange.ta1.append((position, seg))
                interchange.problems.extend(check_ta1(seg, position))
            else:
                self._stray(interchange, group, position, tag, f"segment {tag} outside a transaction set (no ST)")
        end = f"the file ends at segment {last_position}"
        if txn is not None:
            txn.complete = False
            txn.problems.append(
                _error(
                    "transaction",
                    P.TS_TRAILER_MISSING,
                    f"truncated: transaction set {txn.set_id} {txn.control_number} (ST at segment {txn.position}) "
                    f"has no SE; {end}",
                    last_position,
                    None,
                )
            )
            yield txn
        if group is not None:
            group.problems.append(
                _error(
                    "group",
                    P.FG_TRAILER_MISSING,
                    f"truncated: functional group {group.control_number} (GS at segment {group.position}) has no GE; "
                    f"{end}",
                    last_position,
                    None,
                )
            )
            yield group
        if interchange is not None:
            interchange.problems.append(
                _error(
                    "interchange",
                    "",
                    f"truncated: interchange {interchange.control_number} (ISA at segment {interchange.position}) has "
                    f"no IEA; {end}",
                    last_position,
                    None,
                )
            )
            yield interchange

    def _stray(
        self, interchange: Interchange | None, group: Group | None, position: int, tag: str, message: str
    ) -> None:
        target = group.problems if group is not None else interchange.problems if interchange else None
        if target is not None:
            scope = "group" if group is not None else "interchange"
            target.append(_error(scope, "", message, position, tag))

    def _close_transaction(self, txn: Transaction, se: list[str], position: int) -> None:
        count = len(txn.segments)
        se01 = se[1] if len(se) > 1 else ""
        se02 = se[2] if len(se) > 2 else ""
        if se01 != str(count) and _number(se01) != count:
            txn.problems.append(
                _error(
                    "transaction",
                    P.TS_COUNT_MISMATCH,
                    f"SE01 says {se01 or 'nothing'} segments, the transaction set has {count} (ST to SE inclusive)",
                    position,
                    "SE",
                )
            )
        if se02 != txn.control_number:
            txn.problems.append(
                _error(
                    "transaction",
                    P.TS_CONTROL_MISMATCH,
                    f"SE02 {se02!r} does not match ST02 {txn.control_number!r} (ST at segment {txn.position})",
                    position,
                    "SE",
                )
            )

    def _close_group(self, group: Group, ge: list[str], position: int) -> None:
        ge01 = ge[1] if len(ge) > 1 else ""
        ge02 = ge[2] if len(ge) > 2 else ""
        if _number(ge01) != group.transaction_count:
            group.problems.append(
                _error(
                    "group",
                    P.FG_COUNT_MISMATCH,
                    f"GE01 says {ge01 or 'nothing'} transaction sets, the group has {group.transaction_count}",
                    position,
                    "GE",
                )
            )
        if ge02 != group.control_number and (_number(ge02) is None or _number(ge02) != _number(group.control_number)):
            group.problems.append(
                _error(
                    "group",
                    P.FG_CONTROL_MISMATCH,
                    f"GE02 {ge02!r} does not match GS06 {group.control_number!r} (GS at segment {group.position})",
                    position,
                    "GE",
                )
            )

    def _close_interchange(self, interchange: Interchange, iea: list[str], position: int) -> None:
        iea01 = iea[1] if len(iea) > 1 else ""
        iea02 = iea[2] if len(iea) > 2 else ""
        if _number(iea01) != interchange.group_count:
            interchange.problems.append(
                _error(
                    "interchange",
                    "",
                    f"IEA01 says {iea01 or 'nothing'} functional groups, the interchange has {interchange.group_count}",
                    position,
                    "IEA",
                )
            )
        if iea02 != interchange.control_number:
            interchange.problems.append(
                _error(
                    "interchange",
                    "",
                    f"IEA02 {iea02!r} does not match ISA13 {interchange.control_number!r} "
                    f"(ISA at segment {interchange.position})",
                    position,
                    "IEA",
                )
            )


def read_events(stream: BinaryIO, source: str = "<input>") -> Iterator[Event]:
    """Stream the envelope of an X12 file: each Transaction when complete, each Group after
    its transactions, each Interchange after its groups."""
    return _Reader(stream, source).events()


def iter_transactions(stream: BinaryIO, source: str = "<input>") -> Iterator[Transaction]:
    """Only the transactions of `read_events` (their `group.interchange` is reachable)."""
    for event in read_events(stream, source):
        if isinstance(event, Transaction):
            yield event


def open_source(name: str) -> tuple[BinaryIO, str]:
    """A binary stream for a path, or standard input for `-`; and the name to report."""
    if name == "-":
        return sys.stdin.buffer, "<stdin>"
    try:
        return Path(name).open("rb"), name
    except OSError as exc:
        raise MlcError(f"{name}: cannot open: {exc.strerror or exc}") from None


def read_bytes(data: bytes, source: str = "<bytes>") -> Iterator[Event]:
    """`read_events` over bytes already in memory."""
    return read_events(io.BytesIO(data), source)
