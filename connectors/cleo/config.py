"""Configuration of a Cleo connection, read from a `connections.yaml` entry.

```yaml
cleo:
  type: cleo
  transport: rest                                   # optional: rest (default) or sftp (see sftp_config.py)
  base_url: https://acme.cleointegration.com      # the emulator: http://127.0.0.1:8765/cleo
  username: mlc-demo
  password_secret: cleo-password                    # a secret *name*; the value is stored encrypted
  page_size: 100                                    # optional
  token_skew_seconds: 60                            # optional: refresh this long before expiry
  timeout_seconds: 30                               # optional
```

Every problem is collected and reported at once in one ConfigError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError

REQUIRED = ("base_url", "username", "password_secret")
OPTIONAL = ("type", "transport", "auth", "page_size", "token_skew_seconds", "timeout_seconds", "rate_limit")
"""`rate_limit` is the engine's: the request budget it paces the connection under (engine/config/rate_limit.py)."""
AUTH_KINDS = ("password",)
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class CleoConfig:
    """A validated Cleo connection (the password itself is resolved from `password_secret`)."""

    base_url: str
    username: str
    password_secret: str
    page_size: int = 100
    token_skew_seconds: float = 60.0
    timeout_seconds: float = 30.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "cleo connection") -> CleoConfig:
        """Validate a mapping; a ConfigError lists every problem found."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        problems: list[str] = []
        unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            problems.append(f"unknown keys {unknown}; valid keys: {', '.join(REQUIRED + OPTIONAL)}")
        for key in REQUIRED:
            value = data.get(key)
            if value is None:
                problems.append(f"{key} is required")
            elif not isinstance(value, str) or not value.strip():
                problems.append(f"{key} must be a non-empty string, got {value!r}")
        if "password" in data:
            problems.append("never write a password in the configuration; name a stored secret in password_secret")
        type_ = data.get("type", "cleo")
        if type_ != "cleo":
            problems.append(f"type must be 'cleo', got {type_!r}")
        transport = data.get("transport", "rest")
        if transport != "rest":
            problems.append(f"transport must be rest here, got {transport!r} (sftp has its own keys: connectors/cleo/sftp_config.py)")
        auth = data.get("auth", "password")
        if auth not in AUTH_KINDS:
            problems.append(f"auth must be one of {', '.join(AUTH_KINDS)}, got {auth!r}")
        base_url = data.get("base_url")
        if isinstance(base_url, str) and not base_url.startswith(("http://", "https://")):
            problems.append(f"base_url must start with http:// or https://, got {base_url!r}")
        page_size = data.get("page_size", 100)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            problems.append(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
        skew = data.get("token_skew_seconds", 60.0)
        if isinstance(skew, bool) or not isinstance(skew, int | float) or skew < 0:
            problems.append(f"token_skew_seconds must be a number >= 0, got {skew!r}")
        timeout = data.get("timeout_seconds", 30.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            problems.append(f"timeout_seconds must be a number > 0, got {timeout!r}")
        if problems:
            raise ConfigError(f"{where}: " + "; ".join(problems))
        return cls(
            base_url=str(base_url).rstrip("/"),
            username=str(data["username"]),
            password_secret=str(data["password_secret"]),
            page_size=int(page_size),
            token_skew_seconds=float(skew),
            timeout_seconds=float(timeout),
        )
