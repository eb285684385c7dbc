"""Reading one segment against its definition: element values, and every element problem.

`ElementReader.read` builds a segment's tree object (`{"BEG01": ...}`, empty elements left
out, a composite as a list) and records each problem of its elements as a `Problem`: a
mandatory element missing, surplus elements or components, a value of the wrong type, length
or code, a violated syntax note. Used by `engine.x12.structure` for every segment its
scanner (`engine.x12.scanners`) does not pass.
"""

from __future__ import annotations

from typing import Any

from engine.x12 import problems as P
from engine.x12.definition import CompositeDef, ElementDef, SegmentDef
from engine.x12.elements import check_value
from engine.x12.problems import Problem

Tree = dict[str, Any]


class ElementReader:
    """Reads segments with one component separator, recording problems into `problems`."""

    def __init__(self, component: str, problems: list[Problem]) -> None:
        self.component = component
        self.problems = problems

    def problem(self, message: str, scope: str, code: str, position: int, seg_id: str, ts_pos: int, **kw: Any) -> None:
        self.problems.append(
            Problem(message, scope, code, position=position, segment_id=seg_id, ts_position=ts_pos, **kw)
        )

    def read(self, seg: list[str], definition: SegmentDef, position: int, ts_pos: int) -> Tree:
        """A segment's tree object, recording each of its problems."""
        out: Tree = {}
        specs = definition.elements
        keys = definition.keys
        count = len(specs)
        tag = seg[0]
        errors = 0
        for pos in range(1, len(seg)):
            value = seg[pos]
            if pos > count:
                if value:
                    self.problem(
                        f"{tag} has {len(seg) - 1} elements, {tag} defines {count}: {value!r} at {tag}{pos:02d}",
                        "element",
                        P.EL_TOO_MANY,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        bad_value=value[:99],
                    )
                    errors += 1
                    break  # one problem for the surplus, not one per extra element
                continue
            spec = specs[pos - 1]
            key = keys[pos - 1]
            if not value:
                if spec.usage == "M":
                    self.problem(
                        f"mandatory element {key} ({spec.ref} {spec.name}) is missing",
                        "element",
                        P.EL_MANDATORY_MISSING,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        element_ref=spec.ref,
                    )
                    errors += 1
                continue
            if isinstance(spec, CompositeDef):
                parts = value.split(self.component)
                out[key] = parts
                errors += self._composite(parts, spec, key, position, tag, ts_pos, pos)
                continue
            if self.component in value:
                out[key] = value.split(self.component)
            else:
                out[key] = value
            el_type = spec.type
            if (el_type == "AN" or el_type == "ID") and spec.min_len <= len(value) <= spec.max_len:
                codes = spec.codes
                if codes is None or value in codes:
                    continue  # the common case, decided without a call
            errors += self._check(value, spec, key, position, tag, ts_pos, pos)
        if count and len(seg) - 1 < count:
            for pos in range(len(seg), count + 1):
                spec = specs[pos - 1]
                if spec.usage == "M":
                    self.problem(
                        f"mandatory element {tag}{pos:02d} ({spec.ref} {spec.name}) is missing",
                        "element",
                        P.EL_MANDATORY_MISSING,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        element_ref=spec.ref,
                    )
        length = len(seg)
        for rule in definition.syntax:
            if rule.lowest >= length and rule.kind != "R":
                continue  # every element the rule names is absent: only R can be violated
            present = [p < length and seg[p] != "" for p in rule.positions]
            found = present.count(True)
            kind = rule.kind
            if not (
                (kind == "P" and 0 < found < len(present))
                or (kind == "R" and found == 0)
                or (kind == "E" and found > 1)
                or (kind == "C" and present[0] and found < len(present))
                or (kind == "L" and present[0] and found == 1)
            ):
                continue
            violation = _syntax_violation(kind, present, tag, rule.positions)
            if violation:
                code = P.EL_EXCLUSION_VIOLATED if rule.kind == "E" else P.EL_CONDITIONAL_MISSING
                at = _syntax_fault(kind, present, rule.positions)
                at_spec = specs[at - 1]
                self.problem(
                    f"{violation} (syntax note {rule})",
                    "element",
                    code,
                    position,
                    tag,
                    ts_pos,
                    element=at,
                    element_ref=at_spec.ref if isinstance(at_spec, ElementDef) else None,
                )
        return out

    def _check(
        self,
        value: str,
        spec: ElementDef,
        label: str,
        position: int,
        tag: str,
        ts_pos: int,
        element: int,
        component: int | None = None,
    ) -> int:
        """Check one non-empty value; record its problem and return 1, or return 0."""
        failure = check_value(value, spec, label)
        if not failure:
            return 0
        code, message = failure
        self.problem(
            message,
            "element",
            code,
            position,
            tag,
            ts_pos,
            element=element,
            component=component,
            element_ref=spec.ref,
            bad_value=value[:99],
        )
        return 1

    def _composite(
        self, parts: list[str], spec: CompositeDef, key: str, position: int, tag: str, ts_pos: int, pos: int
    ) -> int:
        errors = 0
        for index, component in enumerate(parts, start=1):
            label = f"{key}-{index}"
            if index > len(spec.components):
                if component:
                    self.problem(
                        f"{key} ({spec.ref}) has {len(parts)} components, {spec.ref} defines {len(spec.components)}",
                        "element",
                        P.EL_TOO_MANY,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        component=index,
                    )
                    errors += 1
                    break  # one problem for the surplus, not one per extra component
                continue
            comp_spec: ElementDef = spec.components[index - 1]
            if not component:
                if comp_spec.usage == "M":
                    self.problem(
                        f"mandatory component {label} ({comp_spec.ref} {comp_spec.name}) is missing",
                        "element",
                        P.EL_MANDATORY_MISSING,
                        position,
                        tag,
                        ts_pos,
                        element=pos,
                        component=index,
                        element_ref=comp_spec.ref,
                    )
                    errors += 1
                continue
            errors += self._check(component, comp_spec, label, position, tag, ts_pos, pos, index)
        return errors


def _syntax_violation(kind: str, present: list[bool], tag: str, positions: tuple[int, ...]) -> str | None:
    names = [f"{tag}{p:02d}" for p in positions]
    if kind == "P" and any(present) and not all(present):
        return f"{', '.join(names)} must all be present if any is"
    if kind == "R" and not any(present):
        return f"at least one of {', '.join(names)} is required"
    if kind == "E" and sum(present) > 1:
        return f"only one of {', '.join(names)} may be present"
    if kind == "C" and present[0] and not all(present[1:]):
        return f"{', '.join(names[1:])} required when {names[0]} is present"
    if kind == "L" and present[0] and not any(present[1:]):
        return f"one of {', '.join(names[1:])} required when {names[0]} is present"
    return None


def _syntax_fault(kind: str, present: list[bool], positions: tuple[int, ...]) -> int:
    """The element a violated syntax note is reported on (AK401): the first element the note
    requires that is missing, or for an exclusion the second element present."""
    if kind == "E":
        return [p for p, here in zip(positions, present, strict=True) if here][1]
    start = 1 if kind in ("C", "L") else 0
    missing = [p for p, here in zip(positions[start:], present[start:], strict=True) if not here]
    return missing[0] if missing else positions[0]
