"""Business Central connection settings: what `connections.yaml` says about one BC system.

The client secret is never part of this configuration: `secret` *names* the secret, and the
caller resolves it from the encrypted secret store. `BcConfig.from_mapping` reports every
problem of a mapping at once (one `ConfigError` listing them all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import ConfigError

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_API_BASE = "https://api.businesscentral.dynamics.com"
DEFAULT_SCOPE = "https://api.businesscentral.dynamics.com/.default"
MAX_PAGE_SIZE = 20000
"""Business Central online never serves more than 20,000 entities per page."""

ONLINE_RATE_LIMIT: Mapping[str, Any] = {"requests": 5900, "per": "300s"}
"""The budget of a Business Central online connection: its documented OData limit per user
(the connection's Entra app) is 6,000 requests in a 5-minute sliding window, answered 429
beyond; 100 fewer are granted, because a request leaves a few milliseconds after its turn
(benchmarks/rate_budget.py), and a late one must not make a window count 6,001 (docs/requests.md)."""

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_REQUIRED = ("tenant", "environment", "company_id", "client_id", "secret")
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "authority": str,
    "api_base": str,
    "scope": str,
    "page_size": int,
    "timeout": (int, float),
    "token_skew": (int, float),
}
_IGNORED = ("type", "name", "auth", "description", "rate_limit")
"""Keys a connection entry may carry for the engine's own use (the connector type, a label, the
request budget the engine paces the connection under: engine/config/rate_limit.py)."""


@dataclass(frozen=True)
class BcConfig:
    """One Business Central environment and company, and the Entra app used to reach it.

    `secret` is the *name* of the stored client secret; `page_size` is what the connector asks
    for with `Prefer: odata.maxpagesize`; `token_skew` is how many seconds before `expires_in`
    a cached token is considered expired.
    """

    tenant: str
    environment: str
    company_id: str
    client_id: str
    secret: str
    authority: str = DEFAULT_AUTHORITY
    api_base: str = DEFAULT_API_BASE
    scope: str = DEFAULT_SCOPE
    page_size: int = 1000
    timeout: float = 30.0
    token_skew: float = 120.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "bc connection") -> BcConfig:
        """Validate `data` (a connection entry) and build the config; every problem is reported."""
        problems: list[str] = []
        valid = sorted((*_REQUIRED, *_OPTIONAL))
        for key in data:
            if key not in _REQUIRED and key not in _OPTIONAL and key not in _IGNORED:
                problems.append(f"unknown key {key!r} (valid keys: {', '.join(valid)})")
        for key in _REQUIRED:
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{key!r} is required and must be a non-empty string, got {value!r}")
        for key, kinds in _OPTIONAL.items():
            if key in data and (not isinstance(data[key], kinds) or isinstance(data[key], bool)):
                problems.append(f"{key!r} has the wrong type: {data[key]!r}")
        auth = data.get("auth")
        if auth is not None and auth != "client_credentials":
            problems.append(f"'auth' must be 'client_credentials' for Business Central, got {auth!r}")
        company = data.get("company_id")
        if isinstance(company, str) and company and not GUID.match(company):
            problems.append(f"'company_id' must be the company GUID (see GET .../companies), got {company!r}")
        for key in ("authority", "api_base"):
            value = data.get(key)
            if isinstance(value, str) and not value.startswith(("http://", "https://")):
                problems.append(f"{key!r} must be an http(s) URL, got {value!r}")
        page_size = data.get("page_size")
        if isinstance(page_size, int) and not 1 <= page_size <= MAX_PAGE_SIZE:
            problems.append(f"'page_size' must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        for key in ("timeout", "token_skew"):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                problems.append(f"{key!r} must not be negative, got {value}")
        if problems:
            raise ConfigError(f"{where}: " + "; ".join(problems))
        config = cls(**{k: v for k, v in data.items() if k not in _IGNORED})
        return replace(
            config,
            authority=config.authority.rstrip("/"),
            api_base=config.api_base.rstrip("/"),
            timeout=float(config.timeout),
            token_skew=float(config.token_skew),
        )

    @property
    def environment_root(self) -> str:
        """`{api_base}/v2.0/{tenant}/{environment}/`: notification resources are relative to it."""
        return f"{self.api_base}/v2.0/{self.tenant}/{self.environment}/"

    @property
    def api_root(self) -> str:
        """The API v2.0 root (companies, subscriptions), with a trailing slash."""
        return f"{self.environment_root}api/v2.0/"

    @property
    def company_path(self) -> str:
        """The company segment relative to the API root: `companies({id})`."""
        return f"companies({self.company_id})"

    @property
    def token_url(self) -> str:
        """The Entra v2.0 token endpoint of the tenant."""
        return f"{self.authority}/{self.tenant}/oauth2/v2.0/token"


def default_rate_limit(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The budget of a connection that sets no `rate_limit:`: Business Central online's
    documented limit when `api_base` is BC online (the default), none for another server (on
    premises, whose limits its administrator sets, or an emulator)."""
    api_base = data.get("api_base", DEFAULT_API_BASE)
    if isinstance(api_base, str) and api_base.rstrip("/").lower() == DEFAULT_API_BASE:
        return ONLINE_RATE_LIMIT
    return None
