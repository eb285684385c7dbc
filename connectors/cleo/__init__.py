"""Cleo Integration Cloud: a partner mailbox as a `FileStore`, over REST or SFTP, with its emulator.

`connect(config, secrets)` builds the store of a `connections.yaml` entry and a secret resolver
(`name -> value`): a `CleoFileStore` (REST, `connectors.cleo.config`) or, with
`transport: sftp`, an `SftpFileStore` (`connectors.cleo.sftp_config`). Both keep the same
folder paths, so partners, routes and the ledger do not change with the transport.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from connectors.cleo.client import CleoFileStore
from connectors.cleo.config import CleoConfig
from connectors.cleo.emulator import build_app as _build_emulator
from connectors.cleo.emulator.project import project_state as _project_state
from connectors.cleo.sftp import SftpFileStore
from connectors.cleo.sftp_config import SftpConfig
from connectors.cleo.sshkeys import HostKeyPins as _HostKeyPins
from connectors.cleo.sshkeys import load_private_key as _load_private_key
from connectors.common import RetryPolicy
from engine.errors import SecretError
from engine.plugins import ConnectorPlugin, EmulatorSpec, LocalServer, LocalServerSpec
from engine.ports import RequestPacer


def connect(
    config: Mapping[str, Any],
    secrets: Callable[[str], str],
    *,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
    base_dir: str | Path | None = None,
    pacer: RequestPacer | None = None,
) -> CleoFileStore | SftpFileStore:
    """The store for a validated connection mapping; passwords and keys come from `secrets`;
    `pacer` paces the REST requests under the connection's rate budget (the runtime's; an sftp
    connection has no budget: its configuration refuses `rate_limit`)."""
    if isinstance(config, Mapping) and config.get("transport") == "sftp":
        return connect_sftp(config, secrets, retry=retry, base_dir=base_dir)
    cfg = CleoConfig.from_mapping(config)
    password = _secret(secrets, cfg.password_secret, f"password of {cfg.username!r}")
    return CleoFileStore(cfg, password, transport=transport, retry=retry, clock=clock, pacer=pacer)


def connect_sftp(
    config: Mapping[str, Any],
    secrets: Callable[[str], str],
    *,
    retry: RetryPolicy | None = None,
    base_dir: str | Path | None = None,
) -> SftpFileStore:
    """An `SftpFileStore` for a `transport: sftp` entry (a relative known_hosts is under `base_dir`)."""
    cfg = SftpConfig.from_mapping(config, base_dir=Path(base_dir) if base_dir is not None else Path.cwd())
    pins = _HostKeyPins.from_config(cfg.host, cfg.port, list(cfg.host_key), cfg.known_hosts)
    password = key = None
    if "password" in cfg.auth and cfg.password_secret:
        password = _secret(secrets, cfg.password_secret, f"SFTP password of {cfg.username!r}")
    if "key" in cfg.auth and cfg.private_key_secret:
        text = _secret(secrets, cfg.private_key_secret, f"SFTP private key of {cfg.username!r}")
        passphrase = None
        if cfg.private_key_passphrase_secret:
            passphrase = _secret(secrets, cfg.private_key_passphrase_secret, "the private key's passphrase")
        key = _load_private_key(text, passphrase, secret=cfg.private_key_secret)
    return SftpFileStore(cfg, pins, password=password, private_key=key, retry=retry)


def validate_config(config: Mapping[str, Any]) -> object:
    """Check a `cleo` entry for its transport (every problem in one ConfigError)."""
    if isinstance(config, Mapping) and config.get("transport") == "sftp":
        return SftpConfig.from_mapping(config)
    return CleoConfig.from_mapping(config)


def _secret(secrets: Callable[[str], str], name: str, what: str) -> str:
    value = secrets(name)
    if not isinstance(value, str) or not value:
        raise SecretError(f"cleo: the secret {name!r} ({what}) is empty")
    return value


@contextmanager
def _local_sftp(keep_dir: Path) -> Iterator[LocalServer]:
    """The demo mailbox on a local sshd; on exit its folders are copied to `keep_dir/mailbox`."""
    from connectors.cleo.sshd import LocalSshd

    kept = keep_dir / "mailbox"
    with LocalSshd.start(seed=True) as sshd:
        where = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}/ (OpenSSH sshd, host key {sshd.fingerprint}); a copy stays in {kept}"
        try:
            yield LocalServer(connection=sshd.connection(), secrets=sshd.secrets(), where=where)
        finally:
            shutil.copytree(sshd.mailbox, kept, dirs_exist_ok=True)


def _sftp_unavailable() -> str | None:
    from connectors.cleo.sshd import sshd_available

    return sshd_available()


plugin = ConnectorPlugin(
    name="cleo",
    title="Cleo Integration Cloud",
    emulators=(EmulatorSpec("cleo", "Cleo Integration Cloud", _build_emulator, "/", build_for_project=lambda project: _build_emulator(_project_state(project))),),
    connect=connect,
    validate_config=validate_config,
    local_servers=(LocalServerSpec("sftp", "Cleo mailboxes over SFTP (a local OpenSSH sshd)", _local_sftp, _sftp_unavailable),),
)

__all__ = ["CleoConfig", "CleoFileStore", "SftpConfig", "SftpFileStore", "connect", "connect_sftp", "plugin", "validate_config"]
