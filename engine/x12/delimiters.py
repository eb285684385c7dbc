"""X12 delimiters: found in the ISA segment, carried with every interchange.

The element separator is the character right after "ISA"; the component separator is ISA16;
the segment terminator is the character right after ISA16; from version 00402 on, ISA11 is
the repetition separator. A standard ISA is 106 characters, but real partners send ISAs with
short fields, so the reader counts element separators instead of trusting fixed offsets (the
envelope checks then report the widths).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import X12SyntaxError

ISA_ELEMENTS = 16
ISA_LENGTH = 106
"""Length of a well-formed ISA segment including its terminator."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 delimiters of one interchange."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "element": self.element,
            "component": self.component,
            "segment": self.segment,
            "repetition": self.repetition,
        }

    @property
    def characters(self) -> frozenset[str]:
        """Every delimiter character (what data must never contain)."""
        chars = {self.element, self.component, self.segment}
        if self.repetition:
            chars.add(self.repetition)
        return frozenset(chars)

    def check(self) -> None:
        """Raise X12SyntaxError unless the delimiters are distinct and not letters or digits."""
        named = [("element separator", self.element), ("component separator", self.component)]
        named.append(("segment terminator", self.segment))
        if self.repetition is not None:
            named.append(("repetition separator", self.repetition))
        seen: dict[str, str] = {}
        for name, char in named:
            if len(char) != 1:
                raise X12SyntaxError(f"the {name} must be one character, found {char!r}")
            if char.isalnum():
                raise X12SyntaxError(f"the {name} {char!r} is a letter or digit; the ISA is probably malformed")
            if char in seen:
                raise X12SyntaxError(f"the {name} {char!r} is also the {seen[char]}")
            seen[char] = name


def _show(text: str) -> str:
    return repr(text[:40])


def detect(text: str, source: str = "<input>", position: int = 1) -> tuple[Delimiters, list[str], int]:
    """Read the ISA at the start of `text`.

    Returns the delimiters, the ISA's elements (tag first) and the index of its segment
    terminator in `text`. Raises X12SyntaxError naming what was found when `text` does not
    start with a usable ISA.
    """
    if not text.startswith("ISA"):
        raise X12SyntaxError(f"expected an ISA segment, found {_show(text)}", source=source, position=position)
    if len(text) < 4:
        raise X12SyntaxError("the file ends inside the ISA segment", source=source, position=position)
    element = text[3]
    if text[ISA_LENGTH - 3 : ISA_LENGTH - 2] == element and text.count(element, 0, ISA_LENGTH - 2) == ISA_ELEMENTS:
        sep16 = ISA_LENGTH - 3  # the common, well-formed case: fixed offsets
    else:
        sep16 = 3
        for _ in range(ISA_ELEMENTS - 1):
            sep16 = text.find(element, sep16 + 1)
            if sep16 < 0:
                raise X12SyntaxError(
                    f"the ISA segment has fewer than {ISA_ELEMENTS} elements separated by {element!r}: {_show(text)}",
                    source=source,
                    position=position,
                    segment_id="ISA",
                )
    if len(text) < sep16 + 3:
        raise X12SyntaxError(
            "the file ends before the ISA's component separator and segment terminator",
            source=source,
            position=position,
            segment_id="ISA",
        )
    component = text[sep16 + 1]
    segment = text[sep16 + 2]
    elements = text[: sep16 + 2].split(element)
    repetition = None
    version = elements[12] if len(elements) > 12 else ""
    if version.isdigit() and version >= "00402" and len(elements[11]) == 1 and not elements[11].isalnum():
        repetition = elements[11]
    delimiters = Delimiters(element, component, segment, repetition)
    try:
        delimiters.check()
    except X12SyntaxError as exc:
        raise X12SyntaxError(
            f"ISA delimiters: {exc.detail}", source=source, position=position, segment_id="ISA"
        ) from None
    return delimiters, elements, sep16 + 2
