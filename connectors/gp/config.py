"""The GP connection configuration: what a `connections.yaml` entry of type `gp` may say.

    gp:
      type: gp
      base_url: https://gp.fabrikam.example        # web site hosting GPService (emulator: .../gp)
      tenant: DefaultTenant                         # optional
      company: TWO                                  # the company name or its SQL database id
      version: "18.5"                               # 2015, 2015 R2, 2016, 2016 R2, 2018, 2018 R2, 18.x
      auth: ntlm                                    # ntlm (default) or basic
      domain: FABRIKAM
      username: svc-mlc
      password_secret: gp-password                  # name in the encrypted secret store
      timeout: 30                                   # optional, seconds
      page_size: 100                                # optional
      verify_tls: true                              # optional

The password itself never appears here: the caller resolves `password_secret` from the secret
store. Every problem is reported at once in one `ConfigError`. The Service Based Architecture
exists from GP 2015 (version 14); older versions are refused with the list of valid ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connectors.gp import paths
from engine.errors import ConfigError

AUTH_KINDS = ("ntlm", "basic")

VALID_VERSIONS_TEXT = (
    "2015, 2015 R2, 2016, 2016 R2, 2018, 2018 R2, 18.x (e.g. 18.5), or the build numbers 14.x, 16.x, 18.x"
)

# Marketing names and their major version numbers. SBA arrived with GP 2015 (14).
_YEAR_TO_MAJOR = {"2015": 14, "2016": 16, "2018": 18}
_SUPPORTED_MAJORS = frozenset(_YEAR_TO_MAJOR.values())
_OLD_YEARS = {"2013": 12, "2010": 11}
_OLD_MAJORS = frozenset({8, 9, 10, 11, 12})

_YEAR_RE = re.compile(r"^(?P<year>\d{4})(?:\s*(?P<release>R\d))?$")
_BUILD_RE = re.compile(r"^(?P<major>\d{1,2})(?:\.(?P<minor>\d+))?(?:\.\d+)*$")

_KEYS = {
    "type",
    "name",
    "description",
    "base_url",
    "tenant",
    "company",
    "version",
    "auth",
    "domain",
    "username",
    "password_secret",
    "timeout",
    "page_size",
    "verify_tls",
    "rate_limit",  # the engine's: the request budget it paces the connection under
}
_REQUIRED = ("base_url", "company", "version", "username", "password_secret")


@dataclass(frozen=True)
class GpVersion:
    """A GP release with SBA: `label` as configured, `major` 14/16/18, `minor` for 18.x."""

    label: str
    major: int
    minor: int = 0

    @classmethod
    def parse(cls, value: Any) -> GpVersion:
        """The version for a configured value; ConfigError (listing valid versions) otherwise."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"gp: version must be text such as '18.5', got {value!r}; valid: {VALID_VERSIONS_TEXT}")
        label = str(value).strip()
        text = re.sub(r"^(MICROSOFT\s+)?(DYNAMICS\s+)?GP\s*", "", label.upper())
        year = _YEAR_RE.match(text)
        if year:
            name = year.group("year")
            if name in _YEAR_TO_MAJOR:
                return cls(label, _YEAR_TO_MAJOR[name], 0)
            if name in _OLD_YEARS:
                raise ConfigError(_too_old(label, _OLD_YEARS[name]))
            raise ConfigError(f"gp: unknown GP version {label!r}; valid: {VALID_VERSIONS_TEXT}")
        build = _BUILD_RE.match(text)
        if build:
            major = int(build.group("major"))
            minor = int(build.group("minor") or 0)
            if major in _SUPPORTED_MAJORS:
                return cls(label, major, minor)
            if major in _OLD_MAJORS:
                raise ConfigError(_too_old(label, major))
        raise ConfigError(f"gp: unknown GP version {label!r}; valid: {VALID_VERSIONS_TEXT}")

    def __str__(self) -> str:
        return self.label


def _too_old(label: str, major: int) -> str:
    return (
        f"gp: GP version {label!r} (version {major}) has no Service Based Architecture, which exists from "
        f"GP 2015 (version 14); valid: {VALID_VERSIONS_TEXT}"
    )


@dataclass(frozen=True)
class GpConfig:
    """A validated GP connection (no password: see `password_secret`)."""

    base_url: str
    company: str
    version: GpVersion
    username: str
    password_secret: str
    domain: str = ""
    tenant: str = paths.DEFAULT_TENANT
    auth: str = "ntlm"
    timeout: float = 30.0
    page_size: int = 100
    verify_tls: bool = True

    @property
    def account(self) -> str:
        """`DOMAIN\\user` (or just `user` without a domain)."""
        return f"{self.domain}\\{self.username}" if self.domain else self.username

    @property
    def company_url(self) -> str:
        """The absolute URL of the company: every resource lives under it."""
        return self.base_url.rstrip("/") + paths.company_path(self.company, self.tenant)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GpConfig:
        """Validate a configuration mapping; one ConfigError naming every problem."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"gp: the connection must be a mapping, got {type(data).__name__}")
        problems: list[str] = []
        if "password" in data:
            problems.append(
                "'password' must not be written in the configuration; name a stored secret "
                "with 'password_secret' instead"
            )
        unknown = sorted(str(k) for k in data if k not in _KEYS and k != "password")
        if unknown:
            problems.append(f"unknown keys {unknown}; valid keys: {sorted(_KEYS)}")
        problems += [f"'{key}' is required" for key in _REQUIRED if data.get(key) in (None, "")]

        base_url = str(data.get("base_url") or "")
        if base_url:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"base_url must be an http(s) URL such as https://gp.example.com, got {base_url!r}")
        version: GpVersion | None = None
        if data.get("version") not in (None, ""):
            try:
                version = GpVersion.parse(data["version"])
            except ConfigError as exc:
                problems.append(str(exc).removeprefix("gp: "))
        auth = str(data.get("auth", "ntlm")).lower()
        if auth not in AUTH_KINDS:
            problems.append(f"auth {data.get('auth')!r} is not valid; valid: {', '.join(AUTH_KINDS)}")
        username = str(data.get("username") or "")
        domain = str(data.get("domain") or "")
        if "\\" in username:
            given_domain, _, username = username.partition("\\")
            if domain and given_domain.upper() != domain.upper():
                problems.append(f"username names domain {given_domain!r} but domain is {domain!r}")
            domain = domain or given_domain
        if auth == "ntlm" and not domain and "@" not in username:
            problems.append("ntlm needs the Windows domain: set 'domain' or write username as DOMAIN\\user")
        timeout = _number(data, "timeout", 30.0, problems)
        page_size = _number(data, "page_size", 100, problems)
        if not isinstance(page_size, int) or page_size > paths.MAX_PAGE_SIZE:
            problems.append(f"'page_size' must be a whole number up to {paths.MAX_PAGE_SIZE}, got {page_size!r}")
            page_size = 100
        verify_tls = data.get("verify_tls", True)
        if not isinstance(verify_tls, bool):
            problems.append(f"verify_tls must be true or false, got {verify_tls!r}")
        for key in ("company", "tenant", "password_secret"):
            if key in data and data[key] is not None and not isinstance(data[key], str):
                problems.append(f"'{key}' must be text, got {data[key]!r}")

        if problems or version is None:
            raise ConfigError("gp: invalid connection: " + "; ".join(problems))
        return cls(
            base_url=base_url,
            company=str(data["company"]),
            version=version,
            username=username,
            password_secret=str(data["password_secret"]),
            domain=domain,
            tenant=str(data.get("tenant") or paths.DEFAULT_TENANT),
            auth=auth,
            timeout=float(timeout),
            page_size=int(page_size),
            verify_tls=bool(verify_tls),
        )


def _number(data: Mapping[str, Any], key: str, default: float, problems: list[str]) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        problems.append(f"'{key}' must be a positive number, got {value!r}")
        return default
    return value
