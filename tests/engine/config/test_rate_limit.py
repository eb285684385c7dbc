"""`rate_limit:` of a connection: what it means (spacing, burst, endpoints) and what `mlc
validate` says about a malformed one (file:line:column, the key path, what is valid)."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import CONNECTIONS, ENVIRON, write_project

from engine.config import rate_limit
from engine.config.project import validate_project
from engine.config.rate_limit import Rate, RateLimit
from engine.errors import ConfigError


def with_rate_limit(connection: str, text: str) -> str:
    """CONNECTIONS with `text` (indented YAML lines) added to the entry of `connection`."""
    anchor = {"bc": "    secret: bc-client-secret\n", "cleo": "    password_secret: cleo-password\n"}[connection]
    assert anchor in CONNECTIONS
    return CONNECTIONS.replace(anchor, anchor + text, 1)


def messages(tmp_path: Path, connections: str) -> list[str]:
    _, findings = validate_project(write_project(tmp_path, {"connections.yaml": connections}), ENVIRON)
    return [f"{f.location}: {f.code}: {f.message}" for f in findings]


def test_a_budget_spaces_requests_evenly_and_a_burst_keeps_the_window_total() -> None:
    plain = Rate(6000, 300.0)
    assert (plain.spacing, plain.tolerance) == (0.05, 0.0)
    bursty = Rate(10, 1.0, burst=3)
    # 3 at once, then the other 7 of any 1 s window spaced 1/8 s apart: 3 - 1 + 8 = 10
    assert bursty.spacing == pytest.approx(1 / 8)
    assert bursty.tolerance == pytest.approx(2 / 8)


VALID = [
    pytest.param(False, None, id="false-means-no-budget"),
    pytest.param({"requests": 6000, "per": "300s"}, RateLimit(Rate(6000, 300.0)), id="bc-online"),
    pytest.param({"requests": 50, "per": 1}, RateLimit(Rate(50, 1.0)), id="per-in-seconds"),
    pytest.param({"requests": 10, "per": "500ms", "burst": 2, "max_wait": "2m"}, RateLimit(Rate(10, 0.5, 2), (), 120.0), id="all-keys"),
    pytest.param({"requests": 1, "per": "1.5h"}, RateLimit(Rate(1, 5400.0)), id="fractional-hours"),
]


@pytest.mark.parametrize(("value", "expected"), VALID)
def test_valid_rate_limits_parse(value: object, expected: RateLimit | None) -> None:
    assert rate_limit.parse(value) == expected


INVALID = [
    pytest.param(True, "expected false or a mapping", id="true"),
    pytest.param({}, "give requests and per, or endpoints", id="empty"),
    pytest.param({"requests": 0, "per": "1s"}, "rate_limit.requests: expected a whole number of requests, 1 or more, got 0", id="zero-requests"),
    pytest.param({"requests": 5}, "rate_limit: per is required with requests", id="requests-without-per"),
    pytest.param({"requests": 5, "per": "5 minutes"}, "rate_limit.per: '5 minutes' is not a duration above zero; valid: a number of seconds, or a number with ms, s, m or h", id="bad-duration"),
    pytest.param({"requests": 5, "per": 0}, "rate_limit.per: 0 is not a duration above zero", id="zero-duration"),
    pytest.param({"requests": 5, "per": 1, "burst": 6}, "rate_limit.burst: a burst of 6 is more than the 5 requests of the budget; valid: 1 to 5", id="burst-above-requests"),
    pytest.param({"requests": 5, "per": 1, "rate": 3}, "rate_limit: unknown keys rate (valid keys: requests, per, burst, max_wait, endpoints)", id="unknown-key"),
    pytest.param({"endpoints": {"FETCH /x": {"requests": 1, "per": 1}}}, "rate_limit.endpoints['FETCH /x']: 'FETCH /x' is not an endpoint pattern; valid: an optional method", id="bad-endpoint"),
    pytest.param({"endpoints": {"/x": {"requests": 1}}}, "rate_limit.endpoints['/x']: per is required with requests", id="endpoint-without-per"),
]


@pytest.mark.parametrize(("value", "message"), INVALID)
def test_invalid_rate_limits_are_refused_with_what_is_valid(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        rate_limit.parse(value)
    assert message in raised.value.message


def test_a_request_counts_against_the_connection_and_the_first_matching_endpoint() -> None:
    limit = rate_limit.parse(
        {
            "requests": 600,
            "per": "1m",
            "endpoints": {
                "POST /api/authentication": {"requests": 10, "per": "1m"},
                "/api/folders/*/files": {"requests": 120, "per": "1m"},
                "/api/folders": {"requests": 300, "per": "1m"},
            },
        }
    )
    assert limit is not None
    connection = ("", Rate(600, 60.0))
    assert limit.budgets("POST", "/api/authentication") == [connection, (" POST /api/authentication", Rate(10, 60.0))]
    assert limit.budgets("GET", "/api/authentication") == [connection]
    assert limit.budgets("POST", "/api/folders/F1/files?name=a") == [connection, (" /api/folders/*/files", Rate(120, 60.0))]
    assert limit.budgets("GET", "/api/folders/F1/files/99") == [connection, (" /api/folders/*/files", Rate(120, 60.0))]
    assert limit.budgets("GET", "/api/folders/F1") == [connection, (" /api/folders", Rate(300, 60.0))]
    assert limit.budgets("GET", "/api/files/7") == [connection]


def test_endpoints_alone_leave_the_other_requests_unpaced() -> None:
    limit = rate_limit.parse({"endpoints": {"POST /api/authentication": {"requests": 10, "per": "1m"}}})
    assert limit is not None
    assert limit.budgets("GET", "/api/folders") == []
    assert [name for name, _ in limit.budgets("post", "/api/authentication")] == [" POST /api/authentication"]


def test_a_valid_rate_limit_passes_validate(tmp_path: Path) -> None:
    cleo = (
        "    rate_limit:\n      requests: 600\n      per: 1m\n      burst: 5\n      max_wait: 30s\n"
        '      endpoints:\n        "POST /api/authentication": {requests: 10, per: 1m}\n'
    )
    assert messages(tmp_path, with_rate_limit("cleo", cleo)) == []
    assert messages(tmp_path, with_rate_limit("bc", "    rate_limit: false\n")) == []


MALFORMED = [
    pytest.param(
        "    rate_limit: {requests: 6000, per: 5x}\n",
        "connections.yaml:12:39: schema: connections.bc.rate_limit.per: expected a duration above zero: a number of seconds, or a number with ms, s, m or h (500ms, 300s, 5m, 1h)",
        id="duration",
    ),
    pytest.param(
        "    rate_limit: {requests: 6000}\n",
        "connections.yaml:12:17: schema: connections.bc.rate_limit: requests needs per",
        id="requests-without-per",
    ),
    pytest.param(
        "    rate_limit: {requests: 10, per: 1s, burst: 20}\n",
        "connections.yaml:12:48: rate-limit: connections.bc.rate_limit.burst: a burst of 20 is more than the 10 requests of the budget; valid: 1 to 10",
        id="burst-above-requests",
    ),
    pytest.param(
        "    rate_limit: true\n",
        "connections.yaml:12:17: schema: connections.bc.rate_limit: true is not a budget: give {requests: N, per: DURATION} (with optional burst, max_wait, endpoints), or false for no budget",
        id="true",
    ),
    pytest.param(
        "    rate_limit: {requests: 10, per: 1s, every: 2}\n",
        "connections.yaml:12:41: schema-unknown-key: unknown key 'every' in connections.bc.rate_limit (valid keys: burst, endpoints, max_wait, per, requests)",
        id="unknown-key",
    ),
    pytest.param(
        '    rate_limit:\n      endpoints:\n        "FETCH /api": {requests: 1, per: 1s}\n',
        "connections.yaml:14:9: schema-unknown-key: 'FETCH /api' is not a valid name in connections.bc.rate_limit.endpoints",
        id="endpoint-pattern",
    ),
]


@pytest.mark.parametrize(("added", "expected"), MALFORMED)
def test_validate_refuses_a_malformed_rate_limit_at_its_line(tmp_path: Path, added: str, expected: str) -> None:
    found = messages(tmp_path, with_rate_limit("bc", added))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_a_folder_connection_takes_no_rate_limit(tmp_path: Path) -> None:
    text = CONNECTIONS + "  drops:\n    type: folder\n    root: ./drops\n    rate_limit: {requests: 1, per: 1s}\n"
    found = messages(tmp_path, text)
    assert len(found) == 1 and "unknown keys ['rate_limit']" in found[0], found
