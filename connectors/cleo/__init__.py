"""Cleo Integration Cloud: a partner mailbox as a `FileStore`, with its emulator.

`connect(config, secrets)` builds a `CleoFileStore` from a `connections.yaml` entry (see
`connectors.cleo.config`) and a secret resolver (`name -> value`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.cleo.client import CleoFileStore
from connectors.cleo.config import CleoConfig
from connectors.cleo.emulator import build_app
from connectors.cleo.emulator.project import project_state
from connectors.common.retry import RetryPolicy
from engine.errors import SecretError
from engine.plugins import ConnectorPlugin, EmulatorSpec


def connect(
    config: Mapping[str, Any],
    secrets: Callable[[str], str],
    *,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CleoFileStore:
    """A `CleoFileStore` for a validated connection mapping; the password comes from `secrets`."""
    cfg = CleoConfig.from_mapping(config)
    password = secrets(cfg.password_secret)
    if not isinstance(password, str) or not password:
        raise SecretError(f"cleo: the secret {cfg.password_secret!r} (password of {cfg.username!r}) is empty")
    return CleoFileStore(cfg, password, transport=transport, retry=retry, clock=clock)


plugin = ConnectorPlugin(
    name="cleo",
    title="Cleo Integration Cloud",
    emulators=(EmulatorSpec("cleo", "Cleo Integration Cloud", build_app, "/", build_for_project=lambda project: build_app(project_state(project))),),
    connect=connect,
    validate_config=CleoConfig.from_mapping,
)

__all__ = ["CleoConfig", "CleoFileStore", "connect", "plugin"]
