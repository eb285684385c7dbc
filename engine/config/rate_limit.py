"""`rate_limit:` of a connection: the request budget the engine paces itself under.

    connections:
      bc:
        type: bc
        rate_limit: {requests: 5900, per: 300s}    # the default for Business Central online
      cleo:
        type: cleo
        rate_limit:
          requests: 600
          per: 1m
          burst: 5                                 # optional: requests that may go at once (default 1)
          max_wait: 60s                            # optional: the longest a request waits (default 60s)
          endpoints:                               # optional: budgets of their own, first match wins
            "POST /api/authentication": {requests: 10, per: 1m}
            "/api/folders/*/files": {requests: 120, per: 1m}

A request is paced under the connection's budget (when `requests` is given) and under the first
endpoint whose pattern matches it: an optional method, then a path relative to the connection's
base URL, matched segment by segment as a prefix, `*` standing for any one segment. `per` is a
number of seconds or a duration such as `500ms`, `300s`, `5m`, `1h`. `rate_limit: false` turns a
connector's default budget off (Business Central online has one: docs/requests.md).

With `burst` b, requests are spaced `per / (requests - b + 1)` apart and b of them may go at
once after a quiet spell: no window of `per` seconds ever holds more than `requests`. A request
whose turn is further than `max_wait` away is not sent: it fails as a transient error and its
job is retried later.

The JSON Schema (`$defs/rate_limit` of connections.schema.json) checks the shape, with path and
line; `problems` adds what the schema cannot say (a burst above the requests); `parse` builds the
value and refuses anything invalid with one ConfigError listing every problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_WAIT",
    "EndpointRate",
    "Rate",
    "RateLimit",
    "parse",
    "parse_duration",
    "problems",
]

DEFAULT_MAX_WAIT = 60.0
"""Seconds a request may wait for its turn before it fails as transient (well below the
runtime's stale-claim time, 300 s, so a waiting job is never taken for a dead worker's)."""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_ENDPOINT = re.compile(r"^(?:(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) )?(/\S*)$")
_VALID_DURATION = "a number of seconds, or a number with ms, s, m or h (500ms, 300s, 5m, 1h)"
_VALID_ENDPOINT = "an optional method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS), a space, then a path starting with /, e.g. 'POST /api/folders/*/files'"
_RATE_KEYS = ("requests", "per", "burst")
_TOP_KEYS = (*_RATE_KEYS, "max_wait", "endpoints")


@dataclass(frozen=True)
class Rate:
    """At most `requests` per `per` seconds, `burst` of them at once."""

    requests: int
    per: float
    burst: int = 1

    @property
    def spacing(self) -> float:
        """Seconds between two requests at the sustained rate."""
        return self.per / (self.requests - self.burst + 1)

    @property
    def tolerance(self) -> float:
        """How far ahead of its slot a request may go (what lets `burst` go at once)."""
        return (self.burst - 1) * self.spacing

    def describe(self) -> str:
        """`6000 per 300s` (and the burst when there is one)."""
        text = f"{self.requests} per {self.per:g}s"
        return text if self.burst == 1 else f"{text}, burst {self.burst}"


@dataclass(frozen=True)
class EndpointRate:
    """A budget of its own for the requests matching `pattern` (module docstring)."""

    pattern: str
    method: str | None
    segments: tuple[str, ...]
    rate: Rate

    def matches(self, method: str, path: str) -> bool:
        """Whether a request (`path` relative to the connection's base URL) falls under it."""
        if self.method is not None and method.upper() != self.method:
            return False
        parts = _segments(path)
        if len(parts) < len(self.segments):
            return False
        return all(want in ("*", got) for want, got in zip(self.segments, parts, strict=False))


@dataclass(frozen=True)
class RateLimit:
    """A connection's budgets: its own `rate` (None: endpoints only) and its `endpoints`."""

    rate: Rate | None
    endpoints: tuple[EndpointRate, ...] = ()
    max_wait: float = DEFAULT_MAX_WAIT

    def budgets(self, method: str, path: str) -> list[tuple[str, Rate]]:
        """The budgets a request is paced under, as (suffix of the budget's name, rate): the
        connection's own (suffix "") and the first endpoint that matches (suffix " PATTERN")."""
        found: list[tuple[str, Rate]] = [("", self.rate)] if self.rate is not None else []
        for endpoint in self.endpoints:
            if endpoint.matches(method, path):
                found.append((f" {endpoint.pattern}", endpoint.rate))
                break
        return found


def parse(value: Any, where: str = "rate_limit") -> RateLimit | None:
    """The `RateLimit` of a `rate_limit:` value (None for `false`); ConfigError listing every problem."""
    if value is False:
        return None
    errors: list[str] = []
    limit = _parse(value, where, errors)
    if errors or limit is None:
        raise ConfigError("; ".join(errors) or f"{where}: expected false or a mapping, got {value!r}")
    return limit


def problems(value: Any) -> list[tuple[tuple[str, ...], str]]:
    """What the schema cannot check in a schema-valid `rate_limit:`, as (key path below it, message)."""
    found: list[tuple[tuple[str, ...], str]] = []
    if not isinstance(value, Mapping):
        return found
    found += [(("burst",), message) for message in _rate_problems(value)]
    endpoints = value.get("endpoints")
    if isinstance(endpoints, Mapping):
        for key, spec in endpoints.items():
            if isinstance(spec, Mapping):
                found += [(("endpoints", str(key), "burst"), message) for message in _rate_problems(spec)]
    return found


def parse_duration(value: Any, where: str) -> float:
    """Seconds of a duration (`300s`, `5m`, `500ms`, `1h`, or a number of seconds), above zero."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value.strip())):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds is None or not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{where}: {value!r} is not a duration above zero; valid: {_VALID_DURATION}")
    return seconds


def _parse(value: Any, where: str, errors: list[str]) -> RateLimit | None:
    if not isinstance(value, Mapping):
        errors.append(f"{where}: expected false or a mapping with requests and per (and optionally burst, max_wait, endpoints), got {value!r}")
        return None
    unknown = sorted(str(key) for key in value if key not in _TOP_KEYS)
    if unknown:
        errors.append(f"{where}: unknown keys {', '.join(unknown)} (valid keys: {', '.join(_TOP_KEYS)})")
    rate = _rate(value, where, errors, required=False)
    max_wait = DEFAULT_MAX_WAIT
    if "max_wait" in value:
        try:
            max_wait = parse_duration(value["max_wait"], f"{where}.max_wait")
        except ConfigError as exc:
            errors.append(exc.message)
    endpoints: list[EndpointRate] = []
    raw = value.get("endpoints", {})
    if not isinstance(raw, Mapping):
        errors.append(f"{where}.endpoints: expected a mapping of endpoint patterns to budgets, got {raw!r}")
        raw = {}
    for key, spec in raw.items():
        endpoint = _endpoint(str(key), spec, f"{where}.endpoints[{key!r}]", errors)
        if endpoint is not None:
            endpoints.append(endpoint)
    if rate is None and not raw and not errors:
        errors.append(f"{where}: give requests and per, or endpoints (or false for no budget)")
    return RateLimit(rate, tuple(endpoints), max_wait) if not errors else None


def _endpoint(key: str, spec: Any, where: str, errors: list[str]) -> EndpointRate | None:
    match = _ENDPOINT.match(key)
    if match is None:
        errors.append(f"{where}: {key!r} is not an endpoint pattern; valid: {_VALID_ENDPOINT}")
        return None
    if not isinstance(spec, Mapping):
        errors.append(f"{where}: expected a mapping with requests and per, got {spec!r}")
        return None
    unknown = sorted(str(k) for k in spec if k not in _RATE_KEYS)
    if unknown:
        errors.append(f"{where}: unknown keys {', '.join(unknown)} (valid keys: {', '.join(_RATE_KEYS)})")
    rate = _rate(spec, where, errors, required=True)
    return EndpointRate(key, match.group(1), _segments(match.group(2)), rate) if rate is not None else None


def _rate(spec: Mapping[str, Any], where: str, errors: list[str], *, required: bool) -> Rate | None:
    if not required and "requests" not in spec and "per" not in spec:
        if "burst" in spec:
            errors.append(f"{where}: burst needs requests and per")
        return None
    count = len(errors)
    requests: Any = spec.get("requests")
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
        errors.append(f"{where}.requests: expected a whole number of requests, 1 or more, got {requests!r}")
    per = 0.0
    if "per" not in spec:
        errors.append(f"{where}: per is required with requests ({_VALID_DURATION})")
    else:
        try:
            per = parse_duration(spec["per"], f"{where}.per")
        except ConfigError as exc:
            errors.append(exc.message)
    burst = spec.get("burst", 1)
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        errors.append(f"{where}.burst: expected a whole number, 1 or more, got {burst!r}")
    if len(errors) == count:
        errors += [f"{where}.burst: {message}" for message in _rate_problems(spec)]
    if len(errors) > count:
        return None
    return Rate(int(requests), per, int(burst))


def _rate_problems(spec: Mapping[str, Any]) -> list[str]:
    requests, burst = spec.get("requests"), spec.get("burst")
    if isinstance(requests, int) and isinstance(burst, int) and not isinstance(burst, bool) and burst > requests:
        return [f"a burst of {burst} is more than the {requests} requests of the budget; valid: 1 to {requests}"]
    return []


def _segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("?", 1)[0].split("/") if part)
