"""`${NAME}` and `${NAME:default}` in YAML values, replaced from the environment at load.

Rules (docs/project-format.md, "`${ENV}` interpolation"):

- `${NAME}` is the environment variable `NAME`; unset and without a default it is an error
  (`env-undefined`, at the value's line and column). The value then keeps its `${NAME}` text,
  so the rest of the file is still checked.
- `${NAME:default}` is the default when `NAME` is *unset*; a variable set to the empty string
  stays empty. The default runs to the first `}` (it cannot contain `}` or another `${...}`);
  `${NAME:}` defaults to the empty string.
- `$${` writes a literal `${`. A `$` anywhere else is just a dollar sign.
- `NAME` is a letter or `_` followed by letters, digits and `_`; anything else between `${`
  and `}`, or a `${` never closed, is `env-syntax`.
- Only values are interpolated, never keys, and always as text: a value that is exactly
  `${PORT:5}` becomes the *string* `"5"`, not the number 5 (YAML typing happened before;
  a schema that wants a number will say so).

The environment is any `Mapping[str, str]`, `os.environ` by default, so tests inject their own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource

_TOKEN = re.compile(r"\$\$\{|\$\{(?P<body>[^{}]*)\}|\$\{")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

__all__ = ["expand", "interpolate"]


def expand(text: str, environ: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """`text` with every reference replaced, and the problems found as `(code, message)`.

    An unresolved or malformed reference is left as written.
    """
    if "${" not in text:
        return text, []
    problems: list[tuple[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        body = match.group("body")
        if body is None:
            problems.append(("env-syntax", f"'${{' is not closed with '}}' in {text!r} (write '$${{' for a literal '${{')"))
            return token
        name, colon, default = body.partition(":")
        if not _NAME.match(name):
            problems.append(
                ("env-syntax", f"{token!r} is not a variable reference: a name is letters, digits and '_' (write '$${{' for a literal '${{')")
            )
            return token
        if name in environ:
            return environ[name]
        if colon:
            return default
        problems.append(("env-undefined", f"the environment variable {name} is not set and {token} has no default (write ${{{name}:default}})"))
        return token

    return _TOKEN.sub(replace, text), problems


def interpolate(source: YamlSource, environ: Mapping[str, str] | None = None) -> tuple[YamlSource, list[Finding]]:
    """A copy of `source` with every string value interpolated, and a finding per problem."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    findings: list[Finding] = []

    def walk(value: Any, pointer: Pointer) -> Any:
        if isinstance(value, str):
            if "${" not in value:
                return value
            result, problems = expand(value, env)
            if problems:
                location = source.where(pointer)
                findings.extend(Finding(location, code, message) for code, message in problems)
            return result
        if isinstance(value, dict):
            return {key: walk(item, (*pointer, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*pointer, index)) for index, item in enumerate(value)]
        return value

    return source.with_data(walk(source.data, ())), findings
