"""The JSON Schemas of the project files, and schema violations as lint findings.

One schema per file kind (`KINDS`), shipped in `engine/config/schemas/<kind>.schema.json`
(draft 2020-12). `check(source, kind)` validates a loaded YAML file with `jsonschema` and turns
*every* violation into a `Finding` placed where the fix belongs:

- an unknown key (`additionalProperties`, `propertyNames`): at the key itself, code
  `schema-unknown-key`, with the valid keys and a "did you mean" when one is close;
- a missing required key: at the mapping that lacks it, code `schema-required`;
- anything else (type, enum, pattern, bounds, a key not allowed in this variant): at the
  value, code `schema`.

Messages name the key path (`x12.delimiters.element`) and what is valid. A schema may give an
`errorMessage` next to an `anyOf`, `oneOf`, `not`, `minProperties` or `maxProperties`, whose
default messages say little; it is used instead.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import date
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource
from engine.errors import ConfigError

KINDS = ("case", "connections", "guide", "mapping", "overlay", "partner", "route")
"""Every file kind that has a schema."""

__all__ = ["KINDS", "check", "label", "schema", "schema_text"]


def _require_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"unknown schema kind {kind!r}; valid kinds: {', '.join(KINDS)}")


def schema_text(kind: str) -> str:
    """The schema of `kind` as shipped (JSON text)."""
    _require_kind(kind)
    return resources.files("engine.config.schemas").joinpath(f"{kind}.schema.json").read_text(encoding="utf-8")


@cache
def schema(kind: str) -> dict[str, Any]:
    """The schema of `kind` as data; ConfigError listing the kinds for an unknown one."""
    loaded: dict[str, Any] = json.loads(schema_text(kind))
    return loaded


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(kind))


def check(source: YamlSource, kind: str) -> list[Finding]:
    """Every schema violation of `source` (a file of `kind`), in document order."""
    try:
        errors = _errors(kind, _frozen(source.data))
    except TypeError:  # data holding something unhashable: validated as it is
        errors = tuple(_validator(kind).iter_errors(source.data))
    # a mapping with an unknown key also breaks its key count (a segment item); one report is enough
    unknown = {tuple(e.absolute_path) for e in errors if e.validator == "additionalProperties"}
    findings: list[Finding] = []
    for error in errors:
        if error.validator in ("minProperties", "maxProperties") and tuple(error.absolute_path) in unknown:
            continue
        findings.extend(_findings(error, source))
    return sorted(set(findings))


Frozen = tuple[Any, ...]
"""YAML data as a hashable tree (`_frozen`)."""


def _frozen(data: Any) -> Frozen:
    """`data` as nested tuples that tell apart what JSON Schema tells apart (`1`, `1.0` and
    `true` are equal in Python, not in a schema): each node with its type, keys in order."""
    if isinstance(data, dict):
        return (dict, tuple((_frozen(k), _frozen(v)) for k, v in data.items()))
    if isinstance(data, list):
        return (list, tuple(_frozen(v) for v in data))
    return (type(data), data)


def _thawed(frozen: Frozen) -> Any:
    kind, value = frozen
    if kind is dict:
        return {_thawed(k): _thawed(v) for k, v in value}
    if kind is list:
        return [_thawed(v) for v in value]
    return value


@lru_cache(maxsize=512)
def _errors(kind: str, frozen: Frozen) -> tuple[ValidationError, ...]:
    """The violations of data of `kind`, found once per process for equal data: the data
    alone decides them (500 partner overlays of one mapping merge into equal data); `check`
    places them in each file."""
    return tuple(_validator(kind).iter_errors(_thawed(frozen)))


def label(pointer: Pointer) -> str:
    """A key path for messages: `triggers[1].cron`; the file itself when empty."""
    text = ""
    for part in pointer:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"


def _findings(error: ValidationError, source: YamlSource) -> list[Finding]:
    pointer: Pointer = tuple(error.absolute_path)
    where = label(pointer)
    validator = error.validator
    instance: Any = error.instance
    value: Any = error.validator_value
    spec: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.absolute_schema_path:
        return [Finding(source.where((*pointer, instance), key=True), "schema-unknown-key", f"{instance!r} is not a valid name in {where} ({_expected(error)})")]
    if validator == "additionalProperties" and isinstance(instance, dict):
        return _unknown_keys(spec, instance, source, pointer)
    if validator == "required" and isinstance(instance, dict):
        missing = [key for key in value if key not in instance]
        return [
            Finding(source.where(pointer), "schema-required", f"{where + ': ' if pointer else ''}the key {key!r} is required{_described(spec, key)}")
            for key in missing
        ]
    custom = spec.get("errorMessage")
    if validator in ("anyOf", "oneOf", "not", "minProperties", "maxProperties") and custom:
        message = f"{where}: {custom}"
    elif validator in ("anyOf", "oneOf"):
        message = _alternatives(error, value, where)
    elif validator == "not":
        message = f"{where}: this key is not allowed here"
    elif validator == "type":
        message = _type_message(value, instance, where)
    elif validator in ("enum", "const"):
        valid = value if validator == "enum" else [value]
        message = f"{where} must be one of {', '.join(map(str, valid))}; found {instance!r}"
    elif validator == "pattern":
        message = f"{where}: {instance!r} is not valid ({_expected(error)})"
    elif validator == "dependentRequired" and isinstance(instance, dict) and isinstance(value, dict):
        needs = [f"{key} needs {' and '.join(k for k in wanted if k not in instance)}" for key, wanted in value.items() if key in instance and any(k not in instance for k in wanted)]
        message = f"{where}: {'; '.join(needs)}"
    elif validator in ("minLength", "maxLength") and isinstance(instance, str):
        bound = "at least" if validator == "minLength" else "at most"
        message = f"{where}: {instance!r} is {len(instance)} characters long; {bound} {value} allowed"
    else:
        message = f"{where}: {error.message}"
    return [Finding(source.where(pointer), "schema", message)]


def _unknown_keys(spec: dict[str, Any], instance: dict[Any, Any], source: YamlSource, pointer: Pointer) -> list[Finding]:
    properties = spec.get("properties", {})
    patterns = list(spec.get("patternProperties", {}))
    known = sorted(str(k) for k in properties)
    findings = []
    for key in instance:
        if key in properties or any(re.search(p, str(key)) for p in patterns):
            continue
        valid = ", ".join(known) or "none"
        if patterns:
            valid += f"; or keys matching {' '.join(patterns)}"
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        findings.append(
            Finding(
                source.where((*pointer, key), key=True),
                "schema-unknown-key",
                f"unknown key {key!r} in {label(pointer)} (valid keys: {valid}){hint}",
            )
        )
    return findings


def _described(spec: dict[str, Any], key: str) -> str:
    child = spec.get("properties", {}).get(key)
    if isinstance(child, dict) and isinstance(child.get("description"), str):
        return f" ({child['description'].rstrip('.')})"
    return ""


def _expected(error: ValidationError) -> str:
    spec: Any = error.schema
    described = spec.get("description") if isinstance(spec, dict) else None
    pattern: Any = error.validator_value
    if isinstance(pattern, str) and error.validator == "pattern":
        text = f"expected the pattern {pattern}"
        return f"{described.rstrip('.')}: {text}" if isinstance(described, str) else text
    return described if isinstance(described, str) else error.message


def _alternatives(error: ValidationError, branches: Any, where: str) -> str:
    if all(isinstance(b, dict) and list(b) == ["required"] and len(b["required"]) == 1 for b in branches):
        return f"{where} needs one of the keys {', '.join(b['required'][0] for b in branches)}"
    best = best_match(error.context or [])
    return f"{where}: {best.message if best else error.message}"


_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false", "null": "empty"}


def _type_message(value: Any, found: Any, where: str) -> str:
    wanted = [str(w) for w in (value if isinstance(value, list) else [value])]
    names = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
    hint = ""
    if "string" in wanted and isinstance(found, date):
        hint = " (YAML read a date: put it in quotes)"
    elif "string" in wanted and isinstance(found, int | float) and not isinstance(found, bool):
        hint = f' (put it in quotes: "{found}")'
    elif "string" in wanted and isinstance(found, bool):
        hint = " (YAML reads yes/no/on/off/true/false as booleans: put it in quotes)"
    shown = "nothing" if found is None else repr(found) if not isinstance(found, dict | list) else _TYPE_NAMES["object" if isinstance(found, dict) else "array"]
    return f"{where} must be {names}, found {shown}{hint}"
