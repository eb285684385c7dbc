"""The envelope builder: ISA/GS/ST ... SE/GE/IEA around transaction bodies.

Control numbers and the clock come from the caller (a partner's persisted sequences at run
time), so building is pure: the same input gives the same bytes. The ISA is padded to its
fixed widths (106 characters with its terminator); SE01, GE01 and IEA01 are counted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from engine.errors import X12WriteError
from engine.x12.delimiters import Delimiters
from engine.x12.writer import DelimiterPolicy, Segment, SegmentWriter


@dataclass(frozen=True)
class Party:
    """An interchange party: ISA qualifier and id (GS application id defaults to the id)."""

    qualifier: str
    id: str
    application_id: str | None = None

    @property
    def gs_id(self) -> str:
        return self.application_id or self.id


@dataclass
class TransactionSpec:
    """One transaction set to envelope: its id, ST02, and body segments (without ST/SE)."""

    set_id: str
    control_number: str
    body: Sequence[Segment]
    implementation: str | None = None


@dataclass
class GroupSpec:
    """One functional group: GS01, GS06, GS08 and its transactions; GS02/GS03 default to the
    interchange parties' application ids."""

    functional_id: str
    control_number: int
    version: str
    transactions: list[TransactionSpec] = field(default_factory=list)
    sender_id: str | None = None
    receiver_id: str | None = None


@dataclass
class InterchangeSpec:
    """One interchange: sender, receiver, ISA12 version, usage indicator, ISA13."""

    sender: Party
    receiver: Party
    control_number: int
    groups: list[GroupSpec]
    version: str = "00401"
    usage: str = "P"
    ack_requested: str = "0"
    authorization: tuple[str, str] = ("00", "")
    security: tuple[str, str] = ("00", "")


def _fixed(value: str, width: int, name: str) -> str:
    if len(value) > width:
        raise X12WriteError(f"{name} {value!r} is {len(value)} characters; the ISA allows {width}")
    return value.ljust(width)


def st_control(number: int | str) -> str:
    """ST02 as written: at least four digits (`1` -> `0001`)."""
    text = str(number)
    return text.zfill(4) if text.isdigit() else text


def build(
    spec: InterchangeSpec,
    delimiters: Delimiters,
    now: datetime,
    policy: DelimiterPolicy | None = None,
    *,
    newline: bool = True,
) -> str:
    """The interchange as X12 text; `newline` writes a line break after each segment
    terminator (a partner's `x12.newline`)."""
    if not 0 < spec.control_number < 10**9:
        raise X12WriteError(f"ISA13 control number {spec.control_number} is outside 1..999999999")
    if spec.usage not in ("P", "T", "I"):
        raise X12WriteError(f"usage indicator {spec.usage!r} is not valid; use P (production) or T (test)")
    writer = SegmentWriter(delimiters, policy, newline=newline)
    isa11 = delimiters.repetition if spec.version >= "00402" and delimiters.repetition else "U"
    if now.year >= 1000:  # strftime is slow, and its %Y pads years below 1000 differently by platform
        date8, hhmm = f"{now.year}{now.month:02d}{now.day:02d}", f"{now.hour:02d}{now.minute:02d}"
        date6 = date8[2:]
    else:
        date8, date6, hhmm = now.strftime("%Y%m%d"), now.strftime("%y%m%d"), now.strftime("%H%M")
    isa = [
        "ISA",
        _fixed(spec.authorization[0], 2, "ISA01"),
        _fixed(spec.authorization[1], 10, "ISA02"),
        _fixed(spec.security[0], 2, "ISA03"),
        _fixed(spec.security[1], 10, "ISA04"),
        _fixed(spec.sender.qualifier, 2, "ISA05 (sender qualifier)"),
        _fixed(spec.sender.id, 15, "ISA06 (sender id)"),
        _fixed(spec.receiver.qualifier, 2, "ISA07 (receiver qualifier)"),
        _fixed(spec.receiver.id, 15, "ISA08 (receiver id)"),
        date6,
        hhmm,
        isa11,
        _fixed(spec.version, 5, "ISA12"),
        f"{spec.control_number:09d}",
        _fixed(spec.ack_requested, 1, "ISA14"),
        spec.usage,
        delimiters.component,
    ]
    characters = delimiters.characters
    for index, value in enumerate(isa[1:], start=1):
        if index == 16 or (index == 11 and value == delimiters.repetition):
            continue  # these two carry delimiters by definition
        if not characters.isdisjoint(value):
            raise X12WriteError(f"ISA{index:02d} {value!r} contains a delimiter character")
    out = [delimiters.element.join(isa) + writer.terminator]
    for group in spec.groups:
        if not 0 < group.control_number < 10**9:
            raise X12WriteError(f"GS06 control number {group.control_number} is outside 1..999999999")
        gs: Segment = [
            "GS",
            group.functional_id,
            group.sender_id or spec.sender.gs_id,
            group.receiver_id or spec.receiver.gs_id,
            date8,
            hhmm,
            str(group.control_number),
            "X",
            group.version,
        ]
        out.append(writer.format(gs))
        for txn in group.transactions:
            control = st_control(txn.control_number)
            st: Segment = ["ST", txn.set_id, control]
            if txn.implementation:
                st.append(txn.implementation)
            out.append(writer.format(st))
            out.append(writer.write(txn.body))
            out.append(writer.format(["SE", str(len(txn.body) + 2), control]))
        out.append(writer.format(["GE", str(len(group.transactions)), str(group.control_number)]))
    out.append(writer.format(["IEA", str(len(spec.groups)), f"{spec.control_number:09d}"]))
    return "".join(out)
