"""Helpers behind the Cleo test fixtures (see conftest.py): emulator handles, fake clock, config."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.cleo import CleoFileStore
from connectors.cleo.emulator import DEMO_USER, CleoEmulatorState
from connectors.common import FaultPlan

SECRET_NAME = "cleo-password"


class FakeClock:
    """A monotonic clock that only moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Emulator:
    """A running emulator: its state, its fault plan and its base URL."""

    state: CleoEmulatorState
    plan: FaultPlan
    url: str

    def reset(self) -> None:
        self.state.access_token_lifetime = 3600.0
        self.state.refresh_token_lifetime = 86400.0
        self.state.load_seed()
        self.plan.clear()
        self.plan.served.clear()

    def api_requests(self, pattern: str = "") -> list[str]:
        """Served requests (not the token endpoint) whose line contains `pattern`."""
        return [r for r in self.state.requests if "/api/authentication" not in r and pattern in r]


@dataclass
class InProcess:
    """The emulator behind a MockTransport, with per-request overrides for edge shapes."""

    state: CleoEmulatorState
    asgi: httpx.ASGITransport
    seen: list[str] = field(default_factory=list)
    overrides: list[tuple[re.Pattern[str], Callable[[httpx.Request], httpx.Response], list[int]]] = field(
        default_factory=list
    )

    def override(self, pattern: str, respond: Callable[[httpx.Request], httpx.Response], times: int = 1) -> None:
        """Answer the next `times` requests whose `METHOD /path` matches `pattern` with `respond`."""
        self.overrides.append((re.compile(pattern), respond, [times]))

    def handle(self, request: httpx.Request) -> httpx.Response:
        line = f"{request.method} {request.url.path}"
        self.seen.append(line + (f"?{request.url.query.decode()}" if request.url.query else ""))
        for pattern, respond, remaining in self.overrides:
            if remaining[0] > 0 and pattern.search(line):
                remaining[0] -= 1
                return respond(request)
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=request.content)

        async def call() -> httpx.Response:
            answer = await self.asgi.handle_async_request(forwarded)
            return httpx.Response(answer.status_code, headers=answer.headers, content=await answer.aread())

        return asyncio.run(call())

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def cleo_config(base_url: str, **options: Any) -> dict[str, Any]:
    """A connection mapping as connections.yaml would hold it."""
    return {
        "type": "cleo",
        "base_url": base_url,
        "username": DEMO_USER,
        "password_secret": SECRET_NAME,
        "page_size": 3,
        "token_skew_seconds": 10,
        **options,
    }


StoreFactory = Callable[..., CleoFileStore]
