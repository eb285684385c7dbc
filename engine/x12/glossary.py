"""Names for people reading X12: each segment's and element's name and the meaning of its codes.

    note = segment_note("004010", "BEG")
    note.name                         # "Beginning Segment for Purchase Order"
    note.elements[2].label            # "BEG03 Purchase Order Number (AN 1/22)"
    note.elements[0].meanings["00"]   # "Original"

The names come from the definitions the engine validates with (`engine.x12.definition`:
elements.yaml, segments.yaml, composites.yaml), the envelope's from `definitions/envelope.yaml`
and code meanings from `definitions/<version>/codes.yaml`. Nothing here decides validity: a
segment or code the definitions do not know is shown without a name, never refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from engine.x12.definition import CompositeDef, ElementDef, base_version, segment_dictionary

__all__ = ["DEFAULT_VERSION", "ElementNote", "SegmentNote", "segment_note"]

DEFAULT_VERSION = "004010"


@dataclass(frozen=True)
class ElementNote:
    """One element position of a segment, named."""

    id: str
    """`BEG03`."""
    name: str
    type: str = ""
    min_len: int = 0
    max_len: int = 0
    ref: str = ""
    """The data element number (`324`) or composite id (`C040`)."""
    meanings: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`BEG03 Purchase Order Number (AN 1/22)`."""
        shape = f" ({self.type} {self.min_len}/{self.max_len})" if self.type else ""
        return f"{self.id} {self.name}{shape}"


@dataclass(frozen=True)
class SegmentNote:
    """A segment id's name and its elements by position (index 0 is element 01)."""

    id: str
    name: str
    elements: tuple[ElementNote, ...]

    def element(self, position: int) -> ElementNote:
        """The note of element `position` (1-based); an unnamed one past the definition."""
        if 1 <= position <= len(self.elements):
            return self.elements[position - 1]
        return ElementNote(f"{self.id}{position:02d}", "(not in the definition)")


def segment_note(version: str | None, segment_id: str) -> SegmentNote | None:
    """The note of `segment_id` in `version` (a GS08 value; default 004010), or None."""
    return _note(base_version(version or DEFAULT_VERSION), segment_id)


@cache
def _note(version: str, segment_id: str) -> SegmentNote | None:
    envelope = _envelope().get(segment_id)
    if envelope is not None:
        return envelope
    definition = segment_dictionary(version).get(segment_id)
    if definition is None:
        return None
    codes = _codes(version)
    notes = []
    for position, element in enumerate(definition.elements, start=1):
        element_id = f"{segment_id}{position:02d}"
        if isinstance(element, CompositeDef):
            parts = ", ".join(component.name for component in element.components)
            notes.append(ElementNote(element_id, f"{element.name} [{parts}]", "", 0, 0, element.ref))
        else:
            notes.append(_element(element_id, element, codes))
    return SegmentNote(segment_id, definition.name, tuple(notes))


def _element(element_id: str, element: ElementDef, codes: Mapping[str, Mapping[str, str]]) -> ElementNote:
    return ElementNote(element_id, element.name, element.type, element.min_len, element.max_len, element.ref, codes.get(element.ref, {}))


@cache
def _codes(version: str) -> dict[str, dict[str, str]]:
    raw = _yaml(version, "codes.yaml")
    return {str(ref): {str(code): str(meaning) for code, meaning in (entries or {}).items()} for ref, entries in raw.items()}


@cache
def _envelope() -> dict[str, SegmentNote]:
    notes = {}
    for segment_id, raw in _yaml(None, "envelope.yaml").items():
        elements = tuple(
            ElementNote(
                f"{segment_id}{position:02d}",
                str(spec["name"]),
                str(spec.get("type", "")),
                int(spec.get("min", 0)),
                int(spec.get("max", 0)),
                "",
                {str(code): str(meaning) for code, meaning in (spec.get("codes") or {}).items()},
            )
            for position, spec in enumerate(raw["elements"], start=1)
        )
        notes[str(segment_id)] = SegmentNote(str(segment_id), str(raw["name"]), elements)
    return notes


def _yaml(version: str | None, name: str) -> dict[str, Any]:
    base = resources.files("engine.x12.definitions")
    path = base.joinpath(version, name) if version else base.joinpath(name)
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(key): value for key, value in data.items()} if isinstance(data, dict) else {}
