"""Addresses of segments, loops and elements in a parsed transaction: `REF[IA]`, `N1[ST]/N3`,
`IT1/PID05`, `HL[I]/LIN`.

An address is steps separated by `/`. A step is a segment id (`N1`, or `N1_loop` for the loop
it starts), optionally with a qualifier in brackets: the value of the segment's qualifying
element (its first element; HL03, the hierarchical level code, for HL). The last step may
instead be an element id (`PID05`: element 05 of segment PID).

Resolution over the tree of `engine.x12.structure` (what `mlc x12 parse` prints), as a list of
*scopes*: the first step is searched at any depth of the transaction, each later step among
the direct children of the scopes before it. A step that names a segment which starts a loop
selects the loop's instances (so `N1[ST]/N3` is the N3 of each N1 loop whose N101 is ST); any
other segment selects the segment occurrences. An element step selects that element of each
occurrence of its segment in the scopes (or of the scopes themselves when they are that
segment).

`occurrences(tree, address)` numbers every segment in document order (ST is segment 1) so a
finding can say where it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engine.errors import ConfigError

__all__ = ["Address", "Node", "Step", "index", "missing", "parse_address", "qualifier_position", "select"]

_STEP = re.compile(r"^(?P<tag>[A-Z][A-Z0-9]{1,5})(?P<loop>_loop)?(?:\[(?P<qualifier>[^\[\]/]{1,30})\])?$")
_ELEMENT = re.compile(r"^(?P<tag>[A-Z][A-Z0-9]{1,2}?)(?P<position>\d\d)$")
_QUALIFIER_POSITION = {"HL": 3}
"""Segments qualified by another element than their first one (HL by its level code HL03)."""


def qualifier_position(tag: str) -> int:
    """The element position that qualifies segment `tag` in an address (`N1[ST]` reads N101)."""
    return _QUALIFIER_POSITION.get(tag, 1)


@dataclass(frozen=True)
class Step:
    """One step of an address: a segment (maybe qualified) or, last, an element."""

    tag: str
    qualifier: str | None = None
    element: str | None = None
    """The element id (`PID05`) when the step is an element; `tag` is then its segment."""

    def __str__(self) -> str:
        if self.element:
            return self.element
        return self.tag + (f"[{self.qualifier}]" if self.qualifier else "")


@dataclass(frozen=True)
class Address:
    """A parsed address (module docstring)."""

    text: str
    steps: tuple[Step, ...]

    @property
    def element(self) -> str | None:
        """The element id when the address ends with one."""
        return self.steps[-1].element

    @property
    def segment(self) -> str:
        """The segment id of the last step (of the element's segment for an element address)."""
        return self.steps[-1].tag

    @property
    def qualifier(self) -> str | None:
        """The qualifier of the innermost qualified step that names the addressed segment."""
        for step in reversed(self.steps):
            if step.element is None and step.tag == self.segment:
                return step.qualifier
        return None

    def __str__(self) -> str:
        return self.text


def parse_address(text: str) -> Address:
    """`text` as an Address; ConfigError saying what a step may be otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("an address is a segment, loop or element id such as REF[IA], N1[ST]/N3 or IT1/PID05")
    parts = text.strip().split("/")
    steps: list[Step] = []
    for index, part in enumerate(parts):
        element = _ELEMENT.match(part)
        if element and index == len(parts) - 1:
            steps.append(Step(element.group("tag"), element=part))
            continue
        if element:
            raise ConfigError(f"{text!r}: {part!r} is an element id, which may only be the last step of an address")
        match = _STEP.match(part)
        if match is None:
            raise ConfigError(
                f"{text!r}: {part!r} is not a step of an address (a segment id such as N1, N1_loop or N1[ST]; "
                "an element id such as N102 only as the last step)"
            )
        steps.append(Step(match.group("tag"), match.group("qualifier")))
    return Address(text.strip(), tuple(steps))


_UNINDEXED: Mapping[str, list[Node]] = MappingProxyType({})


class Node:
    """One segment occurrence or loop instance of a parsed transaction.

    A loop instance's `segment` is its first segment's node; its `children` are the nodes
    inside it. A segment's `data` is its elements by id; `position` counts from ST (1).
    """

    __slots__ = ("by_tag", "children", "data", "loop", "position", "segment", "tag")

    def __init__(self, tag: str, loop: bool, data: dict[str, Any], position: int = 0, children: Sequence[Node] = ()) -> None:
        # a plain class: a document of a few hundred segments builds this many nodes before
        # every upload, and a dataclass's field factories cost more than the nodes; a segment
        # has no children, and shares one empty tuple instead of a list of its own (a fifth
        # of the index of a big 856)
        self.tag = tag
        self.loop = loop
        self.data = data
        self.position = position
        self.children = children
        self.segment: Node | None = None
        self.by_tag: Mapping[str, list[Node]] = _UNINDEXED
        """On the root only: every node below it by segment id, in document order (the first
        step of an address is looked up here instead of walking the tree)."""

    @property
    def head(self) -> Node:
        """The segment itself, or the first segment of a loop instance."""
        return self.segment if self.segment is not None else self

    def qualifier(self) -> str | None:
        value = self.head.data.get(f"{self.tag}{qualifier_position(self.tag):02d}")
        return value if isinstance(value, str) else None

    def walk(self) -> Iterator[Node]:
        """Every node below this one, depth first, in document order."""
        for child in self.children:
            yield child
            yield from child.walk()


def index(body: dict[str, Any]) -> Node:
    """The transaction body as a tree of nodes, every segment numbered (ST is 1)."""
    top: list[Node] = []
    root = Node("ST", True, {}, children=top)
    by_tag: dict[str, list[Node]] = {}
    root.by_tag = by_tag
    _fill(top, body, [1], by_tag)
    return root


def _fill(children: list[Node], body: dict[str, Any], counter: list[int], by_tag: dict[str, list[Node]]) -> None:
    # one pass: every node is numbered and listed in `by_tag` in document order (a loop before
    # the nodes inside it, as `Node.walk` yields them)
    for key, value in body.items():
        items = value if isinstance(value, list) else [value]
        if key.endswith("_loop"):
            tag = key[: -len("_loop")]
            for instance in items:
                if not isinstance(instance, dict):
                    continue
                inner: list[Node] = []
                loop = Node(tag, True, instance, children=inner)
                children.append(loop)
                by_tag.setdefault(tag, []).append(loop)
                _fill(inner, instance, counter, by_tag)
                for child in inner:
                    if child.tag == tag and not child.loop:
                        loop.segment = child
                        break
        else:
            listed = by_tag.setdefault(key, [])
            for segment in items:
                if isinstance(segment, dict):
                    counter[0] += 1
                    node = Node(key, False, segment, counter[0])
                    children.append(node)
                    listed.append(node)


def select(root: Node, address: Address) -> tuple[list[Node], list[tuple[Node, str]]]:
    """The nodes the address selects and, for an element address, (segment node, value) of each
    present element. See the module docstring."""
    scopes: list[Node] = [root]
    steps = address.steps
    for depth, step in enumerate(steps):
        if step.element is not None:
            values: list[tuple[Node, str]] = []
            for segment in _segments_of(scopes, step.tag, anywhere=depth == 0):
                value = segment.data.get(step.element)
                if value not in (None, "", []):
                    values.append((segment, value if isinstance(value, str) else ":".join(map(str, value))))
            return scopes, values
        scopes = _matching(scopes, step, anywhere=depth == 0)
    return scopes, []


def _segments_of(scopes: list[Node], tag: str, *, anywhere: bool) -> list[Node]:
    found: list[Node] = []
    for scope in scopes:
        if not scope.loop and scope.tag == tag:
            found.append(scope)
            continue
        candidates = scope.by_tag.get(tag, []) if anywhere else scope.children
        for node in candidates:
            if node.tag == tag and not node.loop:
                found.append(node)
    return found


def _matching(scopes: list[Node], step: Step, *, anywhere: bool) -> list[Node]:
    found: list[Node] = []
    for scope in scopes:
        candidates = scope.by_tag.get(step.tag, []) if anywhere else scope.children
        loops = [n for n in candidates if n.loop and n.tag == step.tag]
        chosen = loops if loops else [n for n in candidates if not n.loop and n.tag == step.tag]
        if loops and anywhere:
            # a segment that starts a loop also appears as the loop's first child: keep the loops
            chosen = loops
        found.extend(n for n in chosen if step.qualifier is None or n.qualifier() == step.qualifier)
    return found


def missing(root: Node, address: Address) -> list[tuple[Node, Step, Step | None]]:
    """Where a required address is absent: (the scope it is missing from, the missing step,
    the step that selected the scope, None for the whole transaction).

    The first step must select something in the transaction; every later step must select
    something in each scope of the step before; an element step must be present in each
    occurrence of its segment (and at least one occurrence must exist)."""
    absent: list[tuple[Node, Step, Step | None]] = []
    scopes: list[Node] = [root]
    for depth, step in enumerate(address.steps):
        anywhere = depth == 0
        selected_by = address.steps[depth - 1] if depth else None
        if step.element is not None:
            for scope in scopes:
                segments = _segments_of([scope], step.tag, anywhere=anywhere)
                if not segments:
                    absent.append((scope, Step(step.tag), selected_by))
                for segment in segments:
                    if segment.data.get(step.element) in (None, "", []):
                        absent.append((segment, step, Step(step.tag)))
            return absent
        next_scopes: list[Node] = []
        for scope in scopes:
            chosen = _matching([scope], step, anywhere=anywhere)
            if not chosen:
                absent.append((scope, step, selected_by))
            next_scopes.extend(chosen)
        scopes = next_scopes
    return absent
