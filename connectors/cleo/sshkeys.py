"""SSH keys of the SFTP transport: the pinned host keys it accepts as the Cleo server's identity,
and the client key it logs in with (`load_private_key`, from a stored secret).

A connection names its server's key in connections.yaml, and nothing else is ever accepted
(no trust on first use, no prompt, no "add it and go on"):

```yaml
host_key: SHA256:q1bD1g0n5HX0LrXwq8m3WqZbYJuS4R2o8vK7t5hO4sE       # a fingerprint (ssh-keygen -l)
host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...                  # the public key itself
host_key: "[mft.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1..."  # a known_hosts line
host_key: [SHA256:..., SHA256:...]                                  # several (a key rollover)
known_hosts: ./known_hosts          # or a known_hosts file (hashed entries are fine)
```

`HostKeyPins.verify(key)` raises `AuthenticationError` naming the key the server presented and
what was expected, so an operator can compare it with the fingerprint Cleo published. The key
types pinned by full key are also offered first in the key exchange (`key_types`), so a server
holding several host keys presents the pinned one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from engine.errors import AuthenticationError, ConfigError, SecretError

SYSTEM = "cleo"

# The signature algorithms a key type is offered under in the key exchange (RFC 8332 for RSA).
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


def fingerprint_of_blob(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob (`SHA256:` + unpadded base64)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def fingerprint(key: paramiko.PKey) -> str:
    """The SHA256 fingerprint of a paramiko key."""
    return fingerprint_of_blob(key.asbytes())


def _normal_fingerprint(text: str) -> str | None:
    """`SHA256:xxx` with padding stripped, or None when `text` is not such a fingerprint."""
    if not text.startswith("SHA256:"):
        return None
    body = text[len("SHA256:") :].rstrip("=")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return f"SHA256:{body}" if len(raw) == 32 else None


@dataclass(frozen=True)
class PinnedKey:
    """One accepted host key: its type (when known) and fingerprint."""

    fingerprint: str
    key_type: str | None = None
    source: str = "host_key"


@dataclass
class HostKeyPins:
    """The host keys a connection accepts (module docstring)."""

    host: str
    port: int
    keys: list[PinnedKey] = field(default_factory=list)

    @classmethod
    def from_config(cls, host: str, port: int, host_key: str | list[str] | None, known_hosts: Path | None) -> HostKeyPins:
        """Pins from a `host_key` value (one or a list) and/or a known_hosts file; ConfigError if none."""
        pins = cls(host, port)
        values = [host_key] if isinstance(host_key, str) else list(host_key or [])
        for value in values:
            pins.keys.append(parse_host_key(value))
        if known_hosts is not None:
            pins.keys.extend(_from_known_hosts(known_hosts, host, port))
        if not pins.keys:
            where = f" in {known_hosts}" if known_hosts is not None else ""
            raise ConfigError(
                f"cleo sftp: no host key pinned for {pins.address}{where}; set host_key to the server's SHA256 "
                "fingerprint or public key (or known_hosts to a file with its entry): an unknown host key is never accepted"
            )
        return pins

    @property
    def address(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def key_types(self, offered: Iterable[str]) -> list[str] | None:
        """The host key algorithms to offer, pinned types first; None to keep paramiko's order
        (only fingerprints pinned, whose key type is unknown)."""
        typed = [pin.key_type for pin in self.keys if pin.key_type]
        if len(typed) < len(self.keys):
            return None
        wanted: list[str] = []
        for kind in typed:
            for algorithm in _ALGORITHMS.get(kind, (kind,)):
                if algorithm not in wanted:
                    wanted.append(algorithm)
        usable = [algorithm for algorithm in wanted if algorithm in set(offered)]
        return usable or None

    def verify(self, key: paramiko.PKey) -> None:
        """Accept `key` only if it is pinned; AuthenticationError (never retried) otherwise."""
        presented = fingerprint(key)
        for pin in self.keys:
            if hmac.compare_digest(pin.fingerprint, presented):
                return
        expected = ", ".join(f"{pin.key_type + ' ' if pin.key_type else ''}{pin.fingerprint} ({pin.source})" for pin in self.keys)
        raise AuthenticationError(
            f"the SFTP server {self.address} presented host key {key.get_name()} {presented}, which is not the pinned "
            f"key (expected {expected}); refusing to connect. If Cleo announced a new host key, verify its fingerprint "
            "and update host_key in connections.yaml; otherwise this may be a man-in-the-middle",
            system=SYSTEM,
        )


def parse_host_key(value: str) -> PinnedKey:
    """A `host_key` value: a SHA256 fingerprint, a public key, or a known_hosts line."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"cleo sftp: host_key must be a non-empty string, got {value!r}")
    text = value.strip()
    found = _normal_fingerprint(text)
    if found is not None:
        return PinnedKey(found)
    if text.startswith(("MD5:", "SHA1:")) or _looks_like_hex_md5(text):
        raise ConfigError(
            f"cleo sftp: host_key {text!r} is an MD5/SHA1 fingerprint; give the SHA256 one (ssh-keygen -l -E sha256 -f KEY)"
        )
    parts = text.split()
    for index in range(len(parts) - 1):
        kind, blob = parts[index], parts[index + 1]
        if kind.startswith(("ssh-", "ecdsa-", "sk-")):
            try:
                raw = base64.b64decode(blob, validate=True)
                key = paramiko.PKey.from_type_string(kind, raw)
            except (binascii.Error, ValueError, paramiko.SSHException) as exc:
                raise ConfigError(f"cleo sftp: host_key {kind} key does not decode: {exc}") from None
            return PinnedKey(fingerprint(key), key.get_name(), "host_key")
    raise ConfigError(
        f"cleo sftp: host_key {text[:60]!r} is neither a SHA256 fingerprint (SHA256:...), a public key "
        "(ssh-ed25519 AAAA...) nor a known_hosts line"
    )


def _looks_like_hex_md5(text: str) -> bool:
    return len(text) == 47 and text.count(":") == 15


def _from_known_hosts(path: Path, host: str, port: int) -> list[PinnedKey]:
    try:
        entries = paramiko.HostKeys(str(path))
    except OSError as exc:
        raise ConfigError(f"cleo sftp: cannot read known_hosts file {path}: {exc.strerror or exc}") from None
    except paramiko.SSHException as exc:
        raise ConfigError(f"cleo sftp: known_hosts file {path} is unreadable: {exc}") from None
    name = host if port == 22 else f"[{host}]:{port}"
    found = entries.lookup(name)
    if not found:
        return []
    return [PinnedKey(fingerprint(key), key.get_name(), f"known_hosts {path}") for key in found.values()]


def load_private_key(text: str, passphrase: str | None, *, secret: str) -> paramiko.PKey:
    """A paramiko key from OpenSSH or PEM private key text (RSA, ECDSA, Ed25519)."""
    data = text.encode("utf-8")
    password = passphrase.encode("utf-8") if passphrase else None
    loaded: object
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=password)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise SecretError(
            f"cleo sftp: the secret {secret!r} is not a usable private key (OpenSSH or PEM; wrong or missing passphrase?): {exc}"
        ) from None
    classes: list[tuple[type[object], type[paramiko.PKey]]] = [
        (rsa.RSAPrivateKey, paramiko.RSAKey),
        (ed25519.Ed25519PrivateKey, paramiko.Ed25519Key),
        (ec.EllipticCurvePrivateKey, paramiko.ECDSAKey),
    ]
    for kind, key_class in classes:
        if isinstance(loaded, kind):
            try:
                return key_class.from_private_key(io.StringIO(text), password=passphrase or None)
            except paramiko.SSHException as exc:
                raise SecretError(f"cleo sftp: the secret {secret!r} could not be loaded as a key: {exc}") from None
    raise SecretError(f"cleo sftp: the secret {secret!r} holds a {type(loaded).__name__}, not an RSA, ECDSA or Ed25519 key")
