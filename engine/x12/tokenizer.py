"""Streaming X12 tokenizer: bytes in, segments (lists of element strings) out.

The input is read in chunks and decoded as UTF-8 incrementally, so a file of any size is read
in constant memory. Each interchange's delimiters come from its own ISA: a file may hold
several interchanges with different delimiters. Whitespace before a segment (CR/LF after the
terminator, blank lines) is skipped, so `~`, `~\\n`, `~\\r\\n` and a bare newline as the
terminator all read the same.

This is hand-written rather than taken from pyx12 because pyx12's `X12Reader` refuses ISA12
values other than 00401/00501, misses truncated files and is slower than the throughput this
engine needs (see benchmarks/x12_read.py).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

from engine.errors import X12SyntaxError
from engine.x12.delimiters import Delimiters, detect

CHUNK_SIZE = 1 << 20
_MIN_ISA_LOOKAHEAD = 512
_TAGS_KEPT = 1024
"""Distinct segment ids shared per file (a file of garbage ids stays bounded)."""


class Tokenizer:
    """Iterates the segments of an X12 stream as `(position, elements)`.

    `position` is the 1-based ordinal of the segment in the file; `elements[0]` is the
    segment id. `delimiters` holds the delimiters of the interchange being read (updated when
    an ISA is read, before the ISA is yielded).
    """

    def __init__(self, stream: BinaryIO, source: str = "<input>", chunk_size: int = CHUNK_SIZE) -> None:
        self.stream = stream
        self.source = source
        self.chunk_size = chunk_size
        self.delimiters = Delimiters()
        self.terminated = True
        """False when the last segment of the file had no terminator."""
        self.anomalies: list[tuple[int, str]] = []
        """(position, message) for segments with a line break inside: mixed terminators."""
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._offset = 0
        self._eof = False
        self._first = True

    def _read(self) -> str:
        """The next decoded chunk ('' at the end of the stream)."""
        if self._eof:
            return ""
        raw = self.stream.read(self.chunk_size)
        final = not raw
        if final:
            self._eof = True
        elif b"\x00" in raw:
            at = self._offset + raw.index(b"\x00")
            raise X12SyntaxError(f"binary data, not X12 text: NUL byte at byte offset {at}", source=self.source)
        try:
            text = self._decoder.decode(raw, final=final)
        except UnicodeDecodeError as exc:
            # exc.object may begin with bytes held back from the previous chunk (a character
            # cut by the chunk boundary), so offsets are counted from the end of this chunk.
            at = self._offset + len(raw) - len(exc.object) + exc.start
            if final:
                message = f"the file ends inside a multi-byte character (byte offset {at})"
            else:
                message = f"invalid byte 0x{exc.object[exc.start : exc.start + 1].hex()} at byte offset {at}"
            raise X12SyntaxError(f"not UTF-8 text: {message} ({exc.reason})", source=self.source) from None
        self._offset += len(raw)
        if self._first and text:
            self._first = False
            text = text.removeprefix("\ufeff")
        return text

    def _refuse_start(self, text: str) -> None:
        stripped = text.lstrip()
        if not stripped:
            raise X12SyntaxError("empty file: no ISA segment", source=self.source)
        if stripped[0] in "{[":
            raise X12SyntaxError("this looks like JSON, not X12: expected an ISA segment", source=self.source)
        if stripped[0] == "<":
            raise X12SyntaxError("this looks like XML or HTML, not X12: expected an ISA segment", source=self.source)
        raise X12SyntaxError(
            f"not X12: expected an ISA segment at the start, found {stripped[:24]!r}", source=self.source, position=1
        )

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        position = 0
        tags: dict[str, str] = {}
        buf = ""
        while True:
            # At an interchange boundary: find the next ISA and its delimiters.
            buf = buf.lstrip()
            while len(buf) < _MIN_ISA_LOOKAHEAD and not self._eof:
                buf = (buf + self._read()).lstrip()
            if not buf:
                if position == 0:
                    self._refuse_start(buf)
                return
            if position == 0 and not buf.startswith("ISA"):
                self._refuse_start(buf)
            position += 1
            delimiters, isa, end = detect(buf, self.source, position)
            self.delimiters = delimiters
            yield position, isa
            term = delimiters.segment
            sep = delimiters.element
            rest = buf[end + 1 :]
            buf = ""
            check_breaks = term not in "\r\n"
            restart = False
            while not restart:
                pieces = rest.split(term)
                rest = ""
                leftover = pieces.pop()
                for index, piece in enumerate(pieces):
                    if not piece or piece[0].isspace():  # blank lines, CR/LF after terminators
                        piece = piece.lstrip()
                        if not piece:
                            continue
                    elements = piece.split(sep)
                    tag = elements[0]
                    known = tags.get(tag)
                    if known is not None:
                        elements[0] = tag = known  # one string per segment id, not one per segment
                    elif len(tags) < _TAGS_KEPT:
                        tags[tag] = tag
                    if tag[:3] == "ISA" and _foreign_isa(piece, elements, sep):
                        # An ISA whose delimiters differ from the current ones: re-read it.
                        buf = term.join(pieces[index:]) + term + leftover
                        restart = True
                        break
                    if check_breaks and "\n" in piece:
                        self._line_break(position + 1, piece, term)
                    position += 1
                    if tag == "ISA":
                        self.delimiters = Delimiters(sep, elements[16], term, _repetition(elements))
                    yield position, elements
                if restart:
                    break
                head = leftover.lstrip()
                if head[:3] == "ISA" and len(head) > 3 and _foreign_isa_start(head, sep):
                    # The next ISA uses another element separator, or is far longer than an ISA
                    # without the current terminator: it declares other delimiters. Re-read it now
                    # rather than buffering the rest of the file while looking for a terminator.
                    buf = leftover
                    break
                # Drop this chunk's text before decoding the next: at most one chunk is held.
                pieces = []
                more = self._read()
                if more:
                    rest, more = leftover + more, ""
                    continue
                tail = leftover.strip()
                if not tail:
                    return
                elements = tail.split(sep)
                if tail[:3] == "ISA" and _foreign_isa(tail, elements, sep):
                    buf = tail
                    break
                self.terminated = False
                position += 1
                yield position, elements
                return

    def _line_break(self, position: int, piece: str, term: str) -> None:
        line = piece[: piece.index("\n")].rstrip("\r")
        other = f"; {line[-1]!r} ends the line there" if line and not line[-1].isalnum() else ""
        self.anomalies.append(
            (
                position,
                f"a line break inside the segment: the file seems to mix segment terminators (the ISA declares "
                f"{term!r}{other})",
            )
        )


def _foreign_isa(piece: str, elements: list[str], sep: str) -> bool:
    """True when `piece` (starting with "ISA") is an ISA that declares delimiters other than
    the current ones, so it must be read again by `detect`."""
    tag = elements[0]
    if tag != "ISA":
        # "ISA" then a character that is not the current element separator: another separator.
        return len(tag) > 3 and not tag[3].isalnum()
    return len(elements) != 17 or len(elements[16]) != 1 or piece[103:104] not in ("", sep)


def _foreign_isa_start(head: str, sep: str) -> bool:
    """True when `head`, the unterminated rest of the buffer, starts an ISA with another
    element separator, or runs far longer than an ISA without reaching the current terminator."""
    if head[3] != sep:
        return not head[3].isalnum()
    return len(head) > _MIN_ISA_LOOKAHEAD


def _repetition(isa: list[str]) -> str | None:
    version = isa[12]
    if version.isdigit() and version >= "00402" and len(isa[11]) == 1 and not isa[11].isalnum():
        return isa[11]
    return None


def tokenize(stream: BinaryIO, source: str = "<input>") -> Iterator[tuple[int, list[str]]]:
    """Shorthand for iterating a `Tokenizer`."""
    return iter(Tokenizer(stream, source))
