"""Helpers shared by the GP connector tests (imported by conftest and the test modules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from connectors.common import RetryPolicy
from connectors.gp import GpClient, connect
from connectors.gp.emulator import GpEmulator

PASSWORD = "demo-gp-secret"


class Clock:
    """A settable clock for ModifiedDate stamps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CountingTransport(httpx.HTTPTransport):
    """A real HTTP transport that records every request it sends (method, path)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []
        self.answered: list[tuple[str, str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        self.sent.append((request.method, path))
        response = super().handle_request(request)
        self.answered.append((request.method, path, response.status_code))
        return response

    def writes(self) -> list[tuple[str, str]]:
        return [s for s in self.sent if s[0] not in ("GET", "HEAD")]


class Served:
    """A running emulator and a way to connect to it."""

    def __init__(self, emulator: GpEmulator, url: str, clock: Clock) -> None:
        self.emulator = emulator
        self.url = url
        self.clock = clock
        self.sleeps: list[float] = []

    def config(self, **overrides: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "type": "gp",
            "base_url": self.url,
            "company": "TWO",
            "version": "18.5",
            "domain": "FABRIKAM",
            "username": "svc-mlc",
            "password_secret": "gp-password",
        }
        base.update(overrides)
        return base

    def connect(
        self,
        password: str = PASSWORD,
        transport: httpx.BaseTransport | None = None,
        **overrides: Any,
    ) -> GpClient:
        retry = RetryPolicy(max_attempts=4, sleep=self.sleeps.append)
        return connect(self.config(**overrides), lambda name: password, transport, retry=retry)


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    auth: str = "basic",
    sleeps: list[float] | None = None,
    **overrides: Any,
) -> GpClient:
    """A connector talking to `handler` through httpx.MockTransport."""
    config = {
        "base_url": "https://gp.fabrikam.example",
        "company": "TWO",
        "version": "2018",
        "auth": auth,
        "domain": "FABRIKAM",
        "username": "svc-mlc",
        "password_secret": "gp-password",
        **overrides,
    }
    retry = RetryPolicy(max_attempts=3, sleep=(sleeps if sleeps is not None else []).append)
    return connect(config, lambda name: PASSWORD, httpx.MockTransport(handler), retry=retry)
