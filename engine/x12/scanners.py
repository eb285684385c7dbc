"""One generated function per segment definition: check a segment's elements and read them.

Checking a segment element by element through `check_value` is a loop over the definition
with a call per element; most segments are clean, and the time goes into deciding so. A
scanner is that decision written out for one segment definition, once, as straight-line
Python: the surplus elements, the mandatory ones, each present element's type, length and
codes, the syntax notes. It returns the segment's tree object (`{"BEG01": ...}`, as
`engine.x12.structure` builds it) when the segment has no problem at all, and None otherwise,
including for everything it does not decide itself (a composite, a value that is not text):
the caller then reads the segment the ordinary way, which finds and words every problem.
So a scanner can only ever skip work for a segment the full check would pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.x12.definition import CompositeDef, ElementDef, SegmentDef, SyntaxRule
from engine.x12.elements import DECIMAL, NUMERIC, check_value, valid_date, valid_time

Scanner = Callable[[Sequence[Any], str], "dict[str, Any] | None"]

_SCANNERS: dict[tuple[int, bool], tuple[SegmentDef, Scanner]] = {}


def scanner(definition: SegmentDef, build: bool = True) -> Scanner:
    """The scanner of one segment definition (built once per definition object); with
    `build` False it returns an empty dict instead of the tree object."""
    key = (id(definition), build)
    cached = _SCANNERS.get(key)
    if cached is None or cached[0] is not definition:
        cached = _SCANNERS[key] = (definition, _generate(definition, build))
    return cached[1]


def _value_check(spec: ElementDef, codes: str | None) -> list[str]:
    """Statements returning None when the text `v` is not a valid value of `spec`."""
    low, high = spec.min_len, spec.max_len
    kind = spec.type
    lines = []
    if kind == "R":
        lines.append("if v.isdigit() and v.isascii(): length = len(v)")  # plain digits: no regex
        lines.append("elif not _decimal(v): return None")
        lines.append("else: length = len(v) - (v[0] == '-') - ('.' in v)")
        lines.append(f"if not {low} <= length <= {high}: return None")
    elif kind[0] == "N":
        lines.append("if not _numeric(v): return None")
        lines.append("length = len(v) - (v[0] == '-')")
        lines.append(f"if not {low} <= length <= {high}: return None")
    elif kind == "DT":
        lines.append(f"if not {low} <= len(v) <= {high} or not _valid_date(v): return None")
    elif kind == "TM":
        lines.append(f"if not _valid_time(v) or not {low} <= len(v) <= {high}: return None")
    else:
        lines.append(f"if not {low} <= len(v) <= {high}: return None")
    if codes is not None:
        lines.append(f"if v not in {codes}: return None")
    return lines


def _present(position: int) -> str:
    return f"(n > {position} and not not seg[{position}])"


def _rule_violated(rule: SyntaxRule, present: Callable[[int], str] = _present) -> str:
    """An expression true when `rule` is violated (`_syntax_violation` in `engine.x12.segments`)."""
    flags = [present(p) for p in rule.positions]
    if rule.kind == "P":
        return f"({' or '.join(flags)}) and not ({' and '.join(flags)})"
    if rule.kind == "R":
        return f"not ({' or '.join(flags)})"
    if rule.kind == "E":
        return " + ".join(f"(1 if {f} else 0)" for f in flags) + " > 1"
    first, rest = flags[0], flags[1:]
    if rule.kind == "C":
        return f"{first} and not ({' and '.join(rest)})"
    return f"{first} and not ({' or '.join(rest)})"  # L


def _generate(definition: SegmentDef, build: bool) -> Scanner:
    names: dict[str, Any] = {
        "_decimal": DECIMAL.match,
        "_numeric": NUMERIC.match,
        "_valid_date": valid_date,
        "_valid_time": valid_time,
    }
    specs = definition.elements
    count = len(specs)
    mandatory = [p for p, spec in enumerate(specs, start=1) if spec.usage == "M"]
    body = ["n = len(seg)"]
    body += [f"if n > {count + 1}:", f"    for v in seg[{count + 1}:]:", "        if v: return None"]
    if mandatory:
        body.append(f"if n <= {max(mandatory)}: return None")
    body.append("out = {}")
    indent = ""
    for position, spec in enumerate(specs, start=1):
        key = definition.keys[position - 1]
        body.append(f"{indent}if n > {position}:")
        indent += "    "
        body.append(f"{indent}v = seg[{position}]")
        body.append(f"{indent}if v:")
        inner = indent + "    "
        if isinstance(spec, CompositeDef):
            body.append(f"{inner}return None")  # components: the ordinary reading decides
        else:
            codes = None
            if spec.codes is not None:
                codes = f"_codes{position}"
                names[codes] = spec.codes
            if not build:  # a rendered segment: a composite is a list (read segments are text)
                body.append(f"{inner}if type(v) is not str: return None")
            body += [inner + line for line in _value_check(spec, codes)]
            if build and spec.codes is not None:
                # The code list's own string: a big set's thousands of "EA" share one object.
                names[f"_canon{position}"] = {code: code for code in spec.codes}
                body.append(f"{inner}v = _canon{position}[v]")
            if build:
                body.append(f"{inner}out[{key!r}] = v.split(comp) if comp in v else v")
        if spec.usage == "M":
            body.append(f"{indent}else: return None")
    # Rules naming only absent elements cannot be violated (but R): by lowest position, each
    # after the ones before it, so a short segment skips the rest with one comparison.
    for rule in sorted(definition.syntax, key=lambda r: (r.kind != "R", r.lowest)):
        if rule.kind != "R":
            body.append(f"if n <= {rule.lowest}: return out")
        body.append(f"if {_rule_violated(rule)}: return None")
    body.append("return out")
    text = "def _scan(seg, comp):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(text, f"<scanner {definition.id}>", "exec"), names)
    scan: Scanner = names["_scan"]
    return scan


Checker = Callable[[Sequence[Any]], bool]


_MAX_CHECKERS = 4096
_CHECKERS: dict[tuple[int, int, tuple[tuple[int, str], ...]], tuple[SegmentDef, Checker]] = {}


def checker(definition: SegmentDef, width: int, constants: dict[int, str]) -> Checker:
    """What the scanner (`build=False`) decides, for the segments one place of an outbound
    mapping renders: `width` elements after the id, the elements at `constants` always that
    text. Those are checked here, once (by `check_value`, the full check itself); the function
    checks the others. True means the scanner would pass the segment.

    Built once per definition object, width and constants (500 partner overlays of one
    mapping have the same places): the checker depends on nothing else."""
    key = (id(definition), width, tuple(sorted(constants.items())))
    cached = _CHECKERS.get(key)
    if cached is None or cached[0] is not definition:
        if len(_CHECKERS) >= _MAX_CHECKERS:
            _CHECKERS.clear()  # a long-lived process loading ever other constants stays bounded
        cached = _CHECKERS[key] = (definition, _checker(definition, width, constants))
    return cached[1]


def _checker(definition: SegmentDef, width: int, constants: dict[int, str]) -> Checker:
    specs = definition.elements
    if width > len(specs):
        return never
    names: dict[str, Any] = {
        "_decimal": DECIMAL.match,
        "_numeric": NUMERIC.match,
        "_valid_date": valid_date,
        "_valid_time": valid_time,
    }
    body: list[str] = []
    for position, spec in enumerate(specs, start=1):
        mandatory = spec.usage == "M"
        if position > width or constants.get(position) == "":
            if mandatory:
                return never
            continue
        if position in constants:
            if isinstance(spec, CompositeDef) or check_value(constants[position], spec, "") is not None:
                return never
            continue
        body.append(f"v = seg[{position}]")
        body.append("if v:")
        if isinstance(spec, CompositeDef):
            body.append("    return False")
        else:
            codes = None
            if spec.codes is not None:
                codes = f"_codes{position}"
                names[codes] = spec.codes
            body.append("    if type(v) is not str: return False")
            body += ["    " + line.replace("return None", "return False") for line in _value_check(spec, codes)]
        if mandatory:
            body.append("else: return False")

    def present(position: int) -> str:
        if position > width:
            return "False"
        if position in constants:
            return repr(constants[position] != "")
        return f"(not not seg[{position}])"

    for rule in definition.syntax:
        body.append(f"if {_rule_violated(rule, present)}: return False")
    if not body:
        return always
    text = "def _check(seg):\n" + "".join(f"    {line}\n" for line in body) + "    return True\n"
    exec(compile(text, f"<checker {definition.id}>", "exec"), names)
    check: Checker = names["_check"]
    return check


def never(segment: Sequence[Any]) -> bool:
    """The checker of a place that renders a segment the scanner never passes."""
    return False


def always(segment: Sequence[Any]) -> bool:
    """The checker of a place whose segments are fixed and pass."""
    return True
