"""Whether a rendered transaction conforms to its definition, decided without building a tree.

An outbound mapping checks every transaction it renders against the definition before the
envelope is written (`engine.mapping.outbound`). Almost every rendered transaction is clean,
and `parse_transaction` spends most of its time proving so: it builds the loop tree and reads
every element. `conforms` answers the same yes-or-no question faster:

- the segment ids alone decide order, repeats, unknown segments and missing mandatory
  segments or loops (`structure_problems`); a transaction's sequence of ids is remembered, and
  documents of one shape share it;
- each segment's elements go through its generated scanner (`engine.x12.scanners`): types,
  lengths, codes, mandatory elements, surplus elements and syntax notes.

True means `parse_transaction` would report no error. False means it might: the caller then
runs `parse_transaction` for the problems and their messages, so what a user reads about a bad
render is exactly what it was. A hierarchical set (the 856's HL tree, which reads HL01/HL02)
always gets False, and with it the full check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.x12.definition import TransactionSetDef
from engine.x12.scanners import scanner
from engine.x12.structure import structure_problems

_SHAPES_KEPT = 512
"""Sequences of segment ids remembered per definition (one per line count, in practice)."""


class _Shapes:
    """The verdicts on sequences of segment ids of one definition."""

    def __init__(self, definition: TransactionSetDef) -> None:
        self.definition = definition
        self.hierarchical = any(getattr(node, "hierarchical", False) for node in definition.body.walk())
        self.verdicts: dict[tuple[str, ...], bool] = {}
        self.scanners = {tag: scanner(segment, build=False) for tag, segment in definition.segments.items()}

    def ordered(self, tags: tuple[str, ...]) -> bool:
        verdict = self.verdicts.get(tags)
        if verdict is None:
            if len(self.verdicts) >= _SHAPES_KEPT:
                self.verdicts.clear()
            problems = structure_problems(list(tags), self.definition)
            verdict = self.verdicts[tags] = not any(p.level == "error" for p in problems)
        return verdict


_BY_DEFINITION: dict[int, _Shapes] = {}


def _shapes(definition: TransactionSetDef) -> _Shapes:
    shapes = _BY_DEFINITION.get(id(definition))
    if shapes is None or shapes.definition is not definition:
        shapes = _BY_DEFINITION[id(definition)] = _Shapes(definition)
    return shapes


def ordered(body: Sequence[Sequence[Any]], definition: TransactionSetDef) -> bool:
    """True only when the segment ids of `body` alone give `parse_transaction` no error
    (order, repeats, unknown segments, mandatory segments and loops): `conforms` without
    the elements, for a body whose elements were checked as they were rendered."""
    shapes = _shapes(definition)
    return not shapes.hierarchical and shapes.ordered(tuple([segment[0] for segment in body]))


def conforms(body: Sequence[Sequence[Any]], definition: TransactionSetDef) -> bool:
    """True only when `parse_transaction` would find no error in ST + `body` + SE.

    `body` is the segments between ST and SE as rendered: the segment id, then element
    values (text; a list is a composite, which the full check decides).
    """
    shapes = _shapes(definition)
    if shapes.hierarchical or not shapes.ordered(tuple([segment[0] for segment in body])):
        return False
    scanners = shapes.scanners
    return all(scanners[segment[0]](segment, "") is not None for segment in body)
