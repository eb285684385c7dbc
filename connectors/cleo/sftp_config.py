"""Configuration of a Cleo connection over SFTP (`transport: sftp`), from connections.yaml.

```yaml
cleo:
  type: cleo
  transport: sftp                     # rest (the default) or sftp
  host: mft.example.com
  port: 22                            # optional
  username: MLC_PARTNER_01
  auth: key                           # password | key | key+password (Cleo's "Password and Key")
  private_key_secret: cleo-sftp-key   # a stored secret holding the OpenSSH/PEM private key text
  private_key_passphrase_secret: cleo-sftp-key-passphrase   # optional, for an encrypted key
  password_secret: cleo-password      # for auth password and key+password
  host_key: SHA256:q1bD1g0n5HX0...    # the pinned host key (connectors/cleo/sshkeys.py), and/or
  known_hosts: ./known_hosts          #   a known_hosts file (relative to the project)
  root: ""                            # optional: folder paths are under this (default: the login directory)
  temp_prefix: ".mlc-tmp-"            # optional: uploads are written as <prefix><name>, then renamed
  timeout_seconds: 30                 # optional: connect, authenticate and each SFTP request
  keepalive_seconds: 30               # optional: SSH keepalive while the session is idle (0: off)
```

Every problem is collected and reported at once in one ConfigError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.cleo.sshkeys import parse_host_key
from engine.errors import ConfigError

REQUIRED = ("type", "transport", "host", "username")
OPTIONAL = (
    "port",
    "auth",
    "password_secret",
    "private_key_secret",
    "private_key_passphrase_secret",
    "host_key",
    "known_hosts",
    "root",
    "temp_prefix",
    "timeout_seconds",
    "keepalive_seconds",
)
AUTH_KINDS = ("password", "key", "key+password")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_TEMP_PREFIX = re.compile(r"^[A-Za-z0-9._~-]{1,32}$")


@dataclass(frozen=True)
class SftpConfig:
    """A validated Cleo SFTP connection (secrets are named, resolved by `connect`)."""

    host: str
    username: str
    port: int = 22
    auth: str = "key"
    password_secret: str | None = None
    private_key_secret: str | None = None
    private_key_passphrase_secret: str | None = None
    host_key: tuple[str, ...] = ()
    known_hosts: Path | None = None
    root: str = ""
    temp_prefix: str = ".mlc-tmp-"
    timeout_seconds: float = 30.0
    keepalive_seconds: float = 30.0

    @property
    def address(self) -> str:
        """`user@host:port`, how the server is named in messages."""
        return f"{self.username}@{self.host}:{self.port}"

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, where: str = "cleo connection", base_dir: Path | None = None
    ) -> SftpConfig:
        """Validate a mapping; a ConfigError lists every problem found."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        problems: list[str] = []
        if "rate_limit" in data:
            problems.append("rate_limit paces HTTP requests and the sftp transport sends none; remove it (or use transport: rest)")
        unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL) - {"rate_limit"})
        if unknown:
            problems.append(f"unknown keys {unknown} for transport sftp; valid keys: {', '.join(REQUIRED + OPTIONAL)}")
        if data.get("type", "cleo") != "cleo":
            problems.append(f"type must be 'cleo', got {data.get('type')!r}")
        for key in ("host", "username"):
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{key} is required (a non-empty string), got {value!r}")
        if "password" in data or "private_key" in data:
            problems.append("never write a password or key in the configuration; name stored secrets (password_secret, private_key_secret)")
        port = data.get("port", 22)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            problems.append(f"port must be an integer from 1 to 65535, got {port!r}")
        auth = data.get("auth", "key")
        if auth not in AUTH_KINDS:
            problems.append(f"auth must be one of {', '.join(AUTH_KINDS)}, got {auth!r}")
        else:
            if "password" in auth and not data.get("password_secret"):
                problems.append(f"auth {auth} needs password_secret (the name of the stored password)")
            if "key" in auth and not data.get("private_key_secret"):
                problems.append(f"auth {auth} needs private_key_secret (the name of the stored private key)")
        for key in ("password_secret", "private_key_secret", "private_key_passphrase_secret"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not _SECRET_NAME.match(value)):
                problems.append(f"{key} must be a secret name (letters, digits, _ . -), got {value!r}")
        host_key = data.get("host_key")
        keys: tuple[str, ...] = ()
        if isinstance(host_key, str):
            keys = (host_key,)
        elif isinstance(host_key, list) and host_key and all(isinstance(k, str) for k in host_key):
            keys = tuple(host_key)
        elif host_key is not None:
            problems.append(f"host_key must be a fingerprint, a public key or a list of them, got {host_key!r}")
        known_hosts = data.get("known_hosts")
        known_path: Path | None = None
        if known_hosts is not None:
            if not isinstance(known_hosts, str) or not known_hosts.strip():
                problems.append(f"known_hosts must be a file path, got {known_hosts!r}")
            else:
                known_path = Path(known_hosts).expanduser()
                if not known_path.is_absolute() and base_dir is not None:
                    known_path = base_dir / known_path
        if not keys and known_path is None and host_key is None:
            problems.append(
                "pin the server's host key: host_key (SHA256 fingerprint or public key) or known_hosts (a file); "
                "an unknown host key is never accepted"
            )
        for value in keys:
            try:
                parse_host_key(value)
            except ConfigError as exc:
                problems.append(str(exc).removeprefix("cleo sftp: "))
        root = data.get("root", "")
        if not isinstance(root, str) or "\x00" in root or any(part == ".." for part in root.split("/")):
            problems.append(f"root must be a server path without '..', got {root!r}")
        prefix = data.get("temp_prefix", ".mlc-tmp-")
        if not isinstance(prefix, str) or not _TEMP_PREFIX.match(prefix):
            problems.append(f"temp_prefix must be 1-32 characters of letters, digits, '.', '_', '~', '-', got {prefix!r}")
        for key, default, minimum in (("timeout_seconds", 30.0, 0.0), ("keepalive_seconds", 30.0, -1.0)):
            value = data.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= minimum:
                bound = "> 0" if minimum == 0.0 else ">= 0"
                problems.append(f"{key} must be a number {bound}, got {value!r}")
        if problems:
            raise ConfigError(f"{where}: " + "; ".join(problems))
        return cls(
            host=str(data["host"]).strip(),
            username=str(data["username"]),
            port=int(port),
            auth=str(auth),
            password_secret=data.get("password_secret"),
            private_key_secret=data.get("private_key_secret"),
            private_key_passphrase_secret=data.get("private_key_passphrase_secret"),
            host_key=keys,
            known_hosts=known_path,
            root=str(root).rstrip("/") if str(root) != "/" else "/",
            temp_prefix=str(prefix),
            timeout_seconds=float(data.get("timeout_seconds", 30.0)),
            keepalive_seconds=float(data.get("keepalive_seconds", 30.0)),
        )
