"""X12 writing: segments in, text out, with a partner's delimiters; trees back to segments.

Data must never break a segment. A value holding a delimiter character is handled by the
`DelimiterPolicy`: `replace` (the default) puts the configured replacement character (a
space unless the partner says otherwise) in its place and records what it did; `reject`
raises X12WriteError naming the segment, the element and the character. Replacing is the
default because the characters concerned turn up in free text (descriptions, names,
addresses) where a space keeps the meaning; partners that prefer a hard failure set `reject`.

Trailing empty elements and trailing empty components are trimmed, as X12 requires.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine.errors import X12SyntaxError, X12WriteError
from engine.x12.definition import LoopDef, SegmentUse, TransactionSetDef
from engine.x12.delimiters import Delimiters

Element = str | list[str]
Segment = list[Element]
"""A segment to write: the segment id, then element values (a list for a composite)."""


@dataclass
class DelimiterPolicy:
    """What to do with delimiter characters found in data: `replace` or `reject`."""

    mode: str = "replace"
    replacement: str = " "
    replaced: list[str] = field(default_factory=list)
    """Where replacements happened (`BEG03: '*' -> ' '`), for the audit trail."""

    def __post_init__(self) -> None:
        if self.mode not in ("replace", "reject"):
            raise X12WriteError(f"delimiter policy mode {self.mode!r} is not valid; use 'replace' or 'reject'")
        if len(self.replacement) != 1:
            raise X12WriteError(f"the delimiter replacement must be one character, found {self.replacement!r}")


@lru_cache(maxsize=64)
def _searcher(characters: str) -> Callable[..., re.Match[str] | None]:
    """The `search` of a pattern matching any of `characters` (compiled once per set)."""
    return re.compile("[" + re.escape(characters) + "]").search


class SegmentWriter:
    """Formats segments with one interchange's delimiters."""

    def __init__(self, delimiters: Delimiters, policy: DelimiterPolicy | None = None, newline: bool = True) -> None:
        try:
            delimiters.check()
        except X12SyntaxError as exc:
            # A writing configuration problem, not unreadable input: the writer's own error class.
            raise X12WriteError(f"cannot write with these delimiters: {exc.detail}") from None
        self.delimiters = delimiters
        self.policy = policy or DelimiterPolicy()
        characters = delimiters.characters
        if self.policy.replacement in characters:
            raise X12WriteError(
                f"the delimiter replacement {self.policy.replacement!r} is itself a delimiter of this interchange"
            )
        self.terminator = delimiters.segment + ("\n" if newline and delimiters.segment != "\n" else "")
        self._forbidden = characters | {"\r", "\n"}
        self._search = _searcher("".join(sorted(self._forbidden)))

    def _clean(self, value: str, where: str) -> str:
        if self._search(value) is None:
            return value
        bad = sorted({ch for ch in value if ch in self._forbidden})
        if self.policy.mode == "reject":
            raise X12WriteError(
                f"{where} contains the delimiter {', '.join(map(repr, bad))} in {value[:60]!r}; "
                "the partner's delimiter policy is 'reject'"
            )
        for ch in bad:
            value = value.replace(ch, self.policy.replacement)
            self.policy.replaced.append(f"{where}: {ch!r} -> {self.policy.replacement!r}")
        return value

    def format(self, segment: Segment) -> str:
        """One segment with its terminator (and a newline after it, unless disabled)."""
        try:
            flat = "".join(segment)  # type: ignore[arg-type]  # a composite (list) raises: the full path
        except TypeError:
            return self._format(segment)
        if self._search(flat, len(segment[0])) is not None:
            return self._format(segment)  # a delimiter in data: replaced or refused there
        end = len(segment)
        while end > 1 and segment[end - 1] == "":
            end -= 1
        return self.delimiters.element.join(segment if end == len(segment) else segment[:end]) + self.terminator  # type: ignore[arg-type]

    def _format(self, segment: Segment) -> str:
        tag = segment[0]
        assert isinstance(tag, str)
        parts: list[str] = [tag]
        for pos in range(1, len(segment)):
            value = segment[pos]
            where = f"{tag}{pos:02d}"
            if isinstance(value, list):
                comps = [self._clean(str(c), f"{where}-{i}") for i, c in enumerate(value, start=1)]
                while comps and comps[-1] == "":
                    comps.pop()
                parts.append(self.delimiters.component.join(comps))
            else:
                parts.append(self._clean(str(value), where))
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        return self.delimiters.element.join(parts) + self.terminator

    def write(self, segments: Iterable[Segment]) -> str:
        """Segments one after the other, as `format` writes each."""
        segments = list(segments)
        try:
            flat = "".join(map("".join, segments))  # type: ignore[arg-type]  # a composite raises
        except TypeError:
            flat = None
        if flat is None or self._search(flat) is not None:
            return "".join([self.format(s) for s in segments])
        join = self.delimiters.element.join
        texts = []
        for segment in segments:
            if segment[-1] == "":
                end = len(segment) - 1
                while end > 1 and segment[end - 1] == "":
                    end -= 1
                segment = segment[:end]
            texts.append(join(segment))  # type: ignore[arg-type]
        return self.terminator.join(texts) + self.terminator if texts else ""


def segment_from_object(tag: str, values: dict[str, Any]) -> Segment:
    """A tree segment object (`{"BEG01": "00", "BEG03": "PO-1"}`) as a positional segment."""
    positions: dict[int, Element] = {}
    for key, value in values.items():
        if not key.startswith(tag) or not (key[len(tag) :].isascii() and key[len(tag) :].isdigit()):
            raise X12WriteError(f"segment {tag}: key {key!r} is not an element id of {tag} (such as {tag}01)")
        positions[int(key[len(tag) :])] = value
    segment: Segment = [tag]
    for pos in range(1, max(positions, default=0) + 1):
        segment.append(positions.get(pos, ""))
    return segment


def tree_segments(definition: TransactionSetDef | None, body: dict[str, Any]) -> Iterator[Segment]:
    """The body segments (between ST and SE) of a parse tree, in definition order."""
    if definition is None:
        for item in body.get("segments", []):
            for tag, values in item.items():
                yield segment_from_object(tag, values)
        return
    yield from _loop_segments(definition.body, body)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _loop_segments(loop: LoopDef, obj: dict[str, Any]) -> Iterator[Segment]:
    for node in loop.body:
        if isinstance(node, SegmentUse):
            if node.id in obj:
                for values in _as_list(obj[node.id]):
                    yield segment_from_object(node.id, values)
        elif node.key in obj:
            for item in _as_list(obj[node.key]):
                yield from _iteration(node, item)


def _iteration(loop: LoopDef, item: dict[str, Any]) -> Iterator[Segment]:
    yield from _loop_segments(loop, item)
    if loop.hierarchical and loop.key in item:
        # Children of a hierarchical level follow it (pre-order), as the HL02 links say.
        for child in _as_list(item[loop.key]):
            yield from _iteration(loop, child)
