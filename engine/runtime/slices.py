"""Where each transaction set of a stored inbound file lies, so it can be worked on its own.

A file of 2,000 orders is stored once (the file job's `input` artifact). Each of its
transaction sets becomes a job of its own that reads only its bytes from the store
(`Store.artifact_range`), never the whole file: `SegmentSpans` follows the X12 reader through
the file and gives the byte range of the segments it reports by position, and `standalone`
wraps one transaction's bytes in its own interchange and group headers (ISA and GS as read,
GE/IEA counting one set), which the reader checks like any file.

The scan splits the bytes on the segment terminator and skips blank pieces (line breaks after
terminators), exactly as `engine.x12.tokenizer` numbers segments. A file whose interchanges
declare different terminators is not sliced (`SegmentSpans.usable` turns False): its
transactions then carry their own text in the job payload, which a check of every slice (its
first bytes are `ST` with the set's id and control number) also falls back to.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.x12 import problems as P
from engine.x12.problems import Problem
from engine.x12.reader import Group, Interchange, Transaction

__all__ = ["SegmentSpans", "business_problems", "envelope_text", "segments_of", "standalone", "standalone_stream", "transaction_text"]

_BLANK = b" \t\r\n\x0b\x0c"


@dataclass
class SegmentSpans:
    """Byte ranges of a file's segments, by the reader's segment position (1 = the first ISA).

    Positions are asked for in increasing order (as the reader reports transactions); the scan
    moves forward only and keeps nothing behind it, so memory stays flat on any file size.
    """

    content: bytes
    terminator: str
    usable: bool = True
    _position: int = 0
    _offset: int = 0
    _last: tuple[int, int] = (0, 0)

    def span(self, position: int) -> tuple[int, int] | None:
        """(start, end) of the segment at `position`, `end` just past its terminator; None when
        the scan cannot answer (not usable, or a position behind the scan)."""
        if not self.usable:
            return None
        if position == self._position:
            return self._last
        if position < self._position:
            return None
        term = self.terminator.encode("utf-8")
        content, size = self.content, len(self.content)
        while self._position < position:
            if self._offset >= size:
                return None
            end = content.find(term, self._offset)
            stop = size if end < 0 else end + len(term)
            start = self._offset
            limit = size if end < 0 else end
            while start < limit and content[start] in _BLANK:
                start += 1
            self._offset = stop
            if start < limit:
                self._position += 1
                self._last = (start, stop)
        return self._last

    def transaction(self, txn: Transaction) -> tuple[int, int] | None:
        """The byte range of `txn` from its ST to its SE terminator, checked; None when the file
        cannot be sliced here (the caller then keeps the transaction's text)."""
        if txn.group.interchange.delimiters.segment != self.terminator:
            self.usable = False
        first = self.span(txn.position)
        last = self.span(txn.position + len(txn.segments) - 1)
        if first is None or last is None:
            return None
        sep = txn.group.interchange.delimiters.element.encode("utf-8")
        head = b"ST" + sep + txn.set_id.encode("utf-8") + sep + txn.control_number.encode("utf-8")
        if not self.content.startswith(head, first[0]) or not self.content.startswith(b"SE" + sep, last[0]):
            return None
        return first[0], last[1]


def envelope_text(interchange: Interchange, group: Group) -> str:
    """The ISA and GS segments as read, each with its terminator."""
    delimiters = interchange.delimiters
    return delimiters.element.join(interchange.isa) + delimiters.segment + delimiters.element.join(group.gs) + delimiters.segment


def transaction_text(txn: Transaction) -> str:
    """The transaction's segments as read (the fallback when the file cannot be sliced)."""
    delimiters = txn.group.interchange.delimiters
    return "".join(delimiters.element.join(segment) + delimiters.segment for segment in txn.segments)


def standalone(envelope: str, body: bytes, group_control: str, interchange_control: str) -> bytes:
    """One transaction set as a file of its own: its ISA and GS, the set, and a GE and IEA
    counting one set (the reader then checks it as it checked the set in the whole file)."""
    return envelope.encode("utf-8") + body + _trailer(envelope, group_control, interchange_control)


def _trailer(envelope: str, group_control: str, interchange_control: str) -> bytes:
    element, terminator = envelope[3], envelope[105]  # the ISA is fixed width: its separator, its terminator
    return f"GE{element}1{element}{group_control}{terminator}IEA{element}1{element}{interchange_control}{terminator}".encode()


class _RangeReader(io.RawIOBase):
    """`envelope`, then `length` bytes fetched from `start` by `fetch(start, count)` a piece at
    a time, then `trailer`: what `standalone` joins, without holding the body."""

    def __init__(self, envelope: bytes, fetch: Callable[[int, int], bytes], start: int, length: int, trailer: bytes, most: int) -> None:
        self._most = most
        self._head = envelope
        self._fetch = fetch
        self._next = start
        self._left = length
        self._tail = trailer

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            piece, self._head = self._head[: len(view)], self._head[len(view) :]
        elif self._left:
            piece = self._fetch(self._next, min(len(view), self._left, self._most))
            self._next += len(piece)
            self._left -= len(piece)
        else:
            piece, self._tail = self._tail[: len(view)], self._tail[len(view) :]
        view[: len(piece)] = piece
        return len(piece)


def standalone_stream(
    envelope: str, fetch: Callable[[int, int], bytes], start: int, length: int, group_control: str, interchange_control: str, chunk_size: int = 1 << 20
) -> io.BufferedReader:
    """`standalone` as a stream: the set's bytes are fetched a chunk at a time (`fetch(start,
    count)`, e.g. `Store.artifact_range`; it must return `count` bytes or raise), so a set of
    20 MB is read without holding it."""
    raw = _RangeReader(envelope.encode("utf-8"), fetch, start, length, _trailer(envelope, group_control, interchange_control), chunk_size)
    return io.BufferedReader(raw, buffer_size=chunk_size)


def segments_of(body: bytes, terminator: str, element: str) -> list[list[str]]:
    """The segments of one transaction's bytes (blank pieces skipped), as element lists."""
    text = body.decode("utf-8", errors="replace")
    return [piece.strip().split(element) for piece in text.split(terminator) if piece.strip()]


_WHOLE_WORD = r"(?<![\w-])(?<!\d[.,]){}(?![\w-])(?![.,]\d)"
"""A value named in a reason as a word of its own: not inside a longer word or number."""

_DECORATION = re.compile(r"[a-z][a-z0-9+.-]*://\S+|-> (?:HTTP|refused as) \d{3}(?: [^\s:]+)?:|\(ST02 [^)]*\)")
"""What the engine adds around a refusal, not the refusal itself: the request's URL (its host,
port and company), the answer's status and error code (`HttpStatusError`), the set's ST02
(`engine.runtime.transactions`). A value equal to one of them is not what the ERP refused."""


def business_problems(reason: str, segments: list[list[str]], component: str) -> list[Problem]:
    """What a 997 says about a set the ERP side refused (`reason`: why its job was dead-lettered:
    the ERP's own words when its answer refused the set, else the job's error).

    Every element of the set whose value the reason names (an unknown item number, a code the
    partner's cross-reference lacks; values of three characters or more, whole words, a number
    such as 131,072 or 12.50 being one word) is reported as an invalid code value (AK3 with
    AK304 8, AK4 with AK403 7), so the partner sees where the set is wrong; a reason naming no
    value of the set (an ERP refusal of the whole order) rejects the set with AK502 5 alone.
    Where the reason is the job's error, the request's URL, the answer's status and code and the
    set's ST02 in it are not looked in (`_DECORATION`).
    """
    named = _DECORATION.sub(" ", reason)
    found: list[Problem] = []
    for ts_position, segment in enumerate(segments, start=1):
        tag = segment[0]
        if tag in ("ST", "SE"):
            continue
        for element, value in enumerate(segment[1:], start=1):
            value = value.strip()
            if len(value) < 3 or component in value or value not in named:
                continue  # the substring test first: a regex per element made a big set's 997 cost more than its render
            if re.search(_WHOLE_WORD.format(re.escape(value)), named):
                found.append(
                    Problem(
                        f"{tag}{element:02d} {value!r}: {reason}", "element", P.EL_INVALID_CODE,
                        segment_id=tag, ts_position=ts_position, element=element, bad_value=value[:99],
                    )
                )
    if not found:
        found.append(Problem(reason, "transaction", P.TS_SEGMENTS_IN_ERROR))
    return found
