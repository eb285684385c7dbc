"""An X12 file as the document page shows it: one segment per line, each element named.

    for line in annotate(content):
        line.id, line.name, line.text          # "BEG", "Beginning Segment for Purchase Order", "BEG*00*SA*..."
        for element in line.elements:
            element.label, element.value, element.meaning

Names and code meanings come from `engine.x12.glossary` (the definitions the engine validates
with), read against the version of the group being shown (GS08). At most `MAX_SEGMENTS` lines
are shown; a file that is not X12 gives no lines and the reason.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from engine.errors import MlcError
from engine.x12.glossary import DEFAULT_VERSION, segment_note
from engine.x12.tokenizer import Tokenizer

__all__ = ["MAX_SEGMENTS", "AnnotatedElement", "AnnotatedSegment", "Annotation", "annotate", "looks_like_x12"]

MAX_SEGMENTS = 2000


@dataclass(frozen=True)
class AnnotatedElement:
    """One element of a segment line."""

    id: str
    label: str
    value: str
    meaning: str | None


@dataclass(frozen=True)
class AnnotatedSegment:
    """One segment line."""

    position: int
    id: str
    name: str
    separator: str
    elements: tuple[AnnotatedElement, ...]

    @property
    def text(self) -> str:
        """The segment as it stands in the file (without its terminator)."""
        return self.separator.join([self.id, *(element.value for element in self.elements)])


@dataclass(frozen=True)
class Annotation:
    """A file's segment lines, whether some were left out, and why it could not be read."""

    segments: list[AnnotatedSegment]
    truncated: bool = False
    error: str | None = None


def looks_like_x12(content: bytes) -> bool:
    """Whether the bytes start like an interchange."""
    return content[:128].lstrip().startswith(b"ISA")


def annotate(content: bytes, *, limit: int = MAX_SEGMENTS) -> Annotation:
    """The segment lines of `content` (module docstring)."""
    tokenizer = Tokenizer(io.BytesIO(content), "<artifact>")
    lines: list[AnnotatedSegment] = []
    version = DEFAULT_VERSION
    try:
        for position, elements in tokenizer:
            if len(lines) >= limit:
                return Annotation(lines, truncated=True)
            tag = elements[0].strip()
            if tag == "GS" and len(elements) > 8:
                version = elements[8].strip() or DEFAULT_VERSION
            separator = tokenizer.delimiters.element
            lines.append(_line(position, tag, elements, separator, version))
    except (MlcError, UnicodeDecodeError) as exc:
        return Annotation(lines, error=str(exc))
    return Annotation(lines)


def _line(position: int, tag: str, elements: list[str], separator: str, version: str) -> AnnotatedSegment:
    note = segment_note(version, tag)
    if tag == "ISA" and len(elements) > 4:
        # ISA02/ISA04 hold a password when ISA01/ISA03 say so: never shown.
        elements = list(elements)
        for qualifier_at, value_at in ((1, 2), (3, 4)):
            if elements[qualifier_at].strip() not in ("", "00"):
                elements[value_at] = "*" * len(elements[value_at])
    named: list[AnnotatedElement] = []
    for index, value in enumerate(elements[1:], start=1):
        if note is None:
            named.append(AnnotatedElement(f"{tag}{index:02d}", f"{tag}{index:02d}", value, None))
            continue
        element = note.element(index)
        named.append(AnnotatedElement(element.id, element.label, value, element.meanings.get(value.strip()) if value else None))
    return AnnotatedSegment(position, tag, note.name if note else "(segment not in the definitions)", separator, tuple(named))
