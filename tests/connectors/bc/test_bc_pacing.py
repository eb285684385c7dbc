"""Business Central and rate budgets: online connections get a budget under the documented
limit (6,000 requests per 5 minutes) unless they set their own, and a paced connector waits before every
API request, retries included, but not before Entra's token requests (another system)."""

from __future__ import annotations

from typing import Any

import pytest
from bc_support import SECRET, Backend

from connectors.bc import connect, default_rate_limit, plugin
from connectors.bc.config import ONLINE_RATE_LIMIT


class RecordingPacer:
    def __init__(self) -> None:
        self.paced: list[str] = []

    def pace(self, method: str, path: str) -> float:
        self.paced.append(f"{method} {path}")
        return 0.0


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        pytest.param(None, ONLINE_RATE_LIMIT, id="bc-online-by-default"),
        pytest.param("https://api.businesscentral.dynamics.com/", ONLINE_RATE_LIMIT, id="bc-online-spelled-out"),
        pytest.param("http://127.0.0.1:8765/bc", None, id="an-emulator"),
        pytest.param("https://bc.contoso.internal:7048/BC", None, id="on-premises"),
    ],
)
def test_bc_online_connections_default_to_the_documented_budget(api_base: str | None, expected: Any) -> None:
    entry: dict[str, Any] = {"type": "bc"} if api_base is None else {"type": "bc", "api_base": api_base}
    assert default_rate_limit(entry) == expected
    assert plugin.default_rate_limit is default_rate_limit
    assert ONLINE_RATE_LIMIT == {"requests": 5900, "per": "300s"}  # the documented 6,000, less a margin


def test_the_connector_paces_every_api_request_but_not_the_token_requests(backend: Backend) -> None:
    pacer = RecordingPacer()
    backend.inject("GET .*/customers", 429, retry_after=1)
    connector = connect(backend.config(), {"bc-client-secret": SECRET}.__getitem__, backend.transport, retry=backend.retry(), pacer=pacer)
    backend.connectors.append(connector)
    list(connector.list_changed("customers"))
    api = [e for e in backend.transport.exchanges if "/entra/" not in e.request.url.path]
    assert len(pacer.paced) == len(api) >= 2
    assert pacer.paced[0] == pacer.paced[1]
    assert pacer.paced[0].startswith("GET /companies(") and pacer.paced[0].endswith(")/customers")
