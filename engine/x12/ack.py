"""997 Functional Acknowledgments for inbound files.

For each inbound interchange, one 997 interchange: sender and receiver swapped, the inbound
ISA12, usage indicator and delimiters kept; inside it one FA group per distinct (application
sender, application receiver, version) of the inbound groups, with GS08 set to the inbound
group's own version (`004010VICS` stays `004010VICS`); one 997 transaction per inbound group:
AK1, then AK2/AK3/AK4/AK5 per transaction set, then AK9.

Acknowledgment policy (decided here, documented in the README): a transaction set with any
error is rejected (AK501 `R`) with its AK5 codes (1 no definition, 2 trailer missing, 3 control
number mismatch, 4 segment count wrong, 5 segments in error); warnings do not reject. AK901
is `A` when every set was accepted, `P` when some were, `R` when none were or the group's
own envelope is broken (AK905: 3 GE missing, 4 GE02 mismatch, 5 GE01 count wrong).
Incoming 997 groups (GS01 `FA`) are never acknowledged.

Control numbers and the clock come from the caller; nothing here reads the clock, unlike
pyx12's generator (which also sets GS08 from ISA12 and changes the component separator).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

from engine.x12 import problems as P
from engine.x12.delimiters import Delimiters
from engine.x12.document import CheckedTransaction, walk
from engine.x12.envelope import GroupSpec, InterchangeSpec, Party, TransactionSpec, build
from engine.x12.problems import Problem
from engine.x12.reader import Group, Interchange
from engine.x12.writer import Segment


class ControlNumbers(Protocol):
    """Where control numbers come from (a partner's persisted sequences at run time)."""

    def next_interchange(self) -> int: ...

    def next_group(self) -> int: ...

    def next_transaction(self) -> int: ...


@dataclass
class SequentialControls:
    """Control numbers counting up from `start` for each kind (for `mlc x12 ack --control N`),
    or from each kind's own start in `starts` (`isa`, `gs`, `st`: numbers peeked from the store)."""

    start: int
    starts: dict[str, int] = field(default_factory=dict)
    _counters: dict[str, int] = field(default_factory=dict)

    def _next(self, kind: str) -> int:
        value = self._counters.get(kind, self.starts.get(kind, self.start))
        self._counters[kind] = value + 1
        return value

    def next_interchange(self) -> int:
        return self._next("isa")

    def next_group(self) -> int:
        return self._next("gs")

    def next_transaction(self) -> int:
        return self._next("st")


MAX_AK5_CODES = 5


@dataclass
class TransactionAck:
    """What the 997 says about one inbound transaction set."""

    set_id: str
    control_number: str
    errors: list[Problem]

    @property
    def accepted(self) -> bool:
        return not self.errors

    def segments(self) -> list[Segment]:
        out: list[Segment] = [["AK2", self.set_id, self.control_number]]
        by_segment: dict[tuple[int, str], list[Problem]] = {}
        for problem in self.errors:
            if problem.scope in ("segment", "element") and problem.ts_position:
                by_segment.setdefault((problem.ts_position, problem.segment_id or ""), []).append(problem)
        for (ts_pos, seg_id), found in sorted(by_segment.items()):
            seg_level = [p for p in found if p.scope == "segment"]
            code = seg_level[0].code if seg_level else P.SEG_HAS_ELEMENT_ERRORS
            out.append(["AK3", seg_id, str(ts_pos), "", code])
            for problem in found:
                if problem.scope != "element" or problem.element is None:
                    continue
                position: str | list[str] = str(problem.element)
                if problem.component:
                    position = [str(problem.element), str(problem.component)]
                # AK402 is numeric: a composite's reference (C001) is left out.
                ref = problem.element_ref if problem.element_ref and problem.element_ref.isdigit() else ""
                out.append(["AK4", position, ref, problem.code, problem.bad_value or ""])
        codes: list[str] = []
        for problem in self.errors:
            if problem.scope == "transaction" and problem.code and problem.code not in codes:
                codes.append(problem.code)
        if by_segment and P.TS_SEGMENTS_IN_ERROR not in codes:
            codes.append(P.TS_SEGMENTS_IN_ERROR)
        status = "A" if self.accepted else "R"
        out.append(["AK5", status, *codes[:MAX_AK5_CODES]])
        return out


@dataclass
class GroupAck:
    """What the 997 says about one inbound functional group."""

    group: Group
    transactions: list[TransactionAck]

    def transaction(self) -> list[Segment]:
        group = self.group
        body: list[Segment] = [["AK1", group.functional_id, group.control_number]]
        for txn in self.transactions:
            body += txn.segments()
        received = len(self.transactions)
        accepted = sum(1 for t in self.transactions if t.accepted)
        group_codes = [p.code for p in group.problems if p.is_error and p.scope == "group" and p.code]
        ge01 = group.ge[1] if group.ge and len(group.ge) > 1 else ""
        included = ge01 if ge01.isascii() and ge01.isdigit() else str(received)
        if group_codes or (accepted == 0 and received > 0):
            status = "R"
        elif accepted == received:
            status = "A"
        else:
            status = "P"
        unique_codes = list(dict.fromkeys(group_codes))[:5]
        body.append(["AK9", status, included, str(received), str(accepted), *unique_codes])
        return body


def _errors(checked: CheckedTransaction) -> list[Problem]:
    return [p for p in checked.problems if p.is_error or p.code == P.TS_NOT_SUPPORTED]


def collect(stream: BinaryIO, source: str) -> Iterator[tuple[Interchange, list[GroupAck]]]:
    """Per inbound interchange, the acknowledgment data of its groups (streaming)."""
    return collect_events(walk(stream, source))


def collect_events(events: Iterable[CheckedTransaction | Group | Interchange]) -> Iterator[tuple[Interchange, list[GroupAck]]]:
    """`collect` over the events of a file already read (`engine.x12.document.walk`, in order)."""
    pending: dict[int, list[TransactionAck]] = {}
    groups: list[GroupAck] = []
    for event in events:
        if isinstance(event, CheckedTransaction):
            raw = event.raw
            pending.setdefault(id(raw.group), []).append(TransactionAck(raw.set_id, raw.control_number, _errors(event)))
        elif isinstance(event, Group):
            acks = pending.pop(id(event), [])
            if event.functional_id != "FA":
                groups.append(GroupAck(event, acks))
        else:
            yield event, groups
            groups = []


def build_997(
    interchange: Interchange,
    groups: list[GroupAck],
    controls: ControlNumbers,
    now: datetime,
    *,
    newline: bool = True,
) -> str | None:
    """The 997 interchange acknowledging `groups` of `interchange`, or None if nothing to ack;
    `newline` follows the partner's `x12.newline` setting."""
    if not groups:
        return None
    delimiters: Delimiters = interchange.delimiters
    by_route: dict[tuple[str, str, str], list[GroupAck]] = {}
    for group_ack in groups:
        g = group_ack.group
        by_route.setdefault((g.receiver, g.sender, g.version), []).append(group_ack)
    isa13 = controls.next_interchange()
    specs: list[GroupSpec] = []
    for (app_sender, app_receiver, version), acks in by_route.items():
        txns = [TransactionSpec("997", str(controls.next_transaction()), ack.transaction()) for ack in acks]
        specs.append(GroupSpec("FA", controls.next_group(), version, txns, app_sender, app_receiver))
    version = interchange.version if len(interchange.version) == 5 else "00401"
    usage = interchange.usage if interchange.usage in ("P", "T", "I") else "P"
    spec = InterchangeSpec(
        sender=Party(interchange.receiver_qualifier, interchange.receiver_id),
        receiver=Party(interchange.sender_qualifier, interchange.sender_id),
        control_number=isa13,
        groups=specs,
        version=version,
        usage=usage,
    )
    return build(spec, delimiters, now, newline=newline)


def acknowledge(
    stream: BinaryIO, source: str, controls: ControlNumbers, now: datetime, *, newline: bool = True
) -> Iterator[str]:
    """Every 997 interchange for an inbound file, in order."""
    for interchange, groups in collect(stream, source):
        text = build_997(interchange, groups, controls, now, newline=newline)
        if text is not None:
            yield text
