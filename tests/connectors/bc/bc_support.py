"""Helpers for the Business Central tests: backends, a webhook receiver, error bookkeeping.

A *backend* is how the connector reaches the emulator in a contract test:

- `emulator`: real HTTP to the emulator served on loopback; faults come from the emulator's
  own `FaultInjector` plans.
- `mock`: an `httpx.MockTransport` in front of the same served emulator; a test scripts edge
  answers (status, body, headers, timeouts, cut connections) that the mock returns instead of
  forwarding, everything else is forwarded over real HTTP.

Both record every request and response, so tests assert on what was sent in the same way.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.bc import BcConnector, connect
from connectors.bc.emulator import DEMO_CLIENT_SECRET, BcEmulatorState, EmulatorConfig, build_app
from connectors.common import RetryPolicy

COMPANY = "f64eba74-dacd-4854-a584-1834f68cfc3a"
SECRET = DEMO_CLIENT_SECRET


class SwitchableApp:
    """An ASGI app delegating to `target`, so one server serves a fresh emulator per test."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


@dataclass
class Exchange:
    """One request the connector sent and the answer it got (None when it failed)."""

    request: httpx.Request
    response: httpx.Response | None

    @property
    def line(self) -> str:
        return f"{self.request.method} {self.request.url.path}"

    def json(self) -> Any:
        assert self.response is not None
        return self.response.json()


class Recording(httpx.BaseTransport):
    """Real HTTP, recording every exchange (the `emulator` backend)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(request, None)
        self.exchanges.append(exchange)
        response = self.inner.handle_request(request)
        response.read()
        exchange.response = response
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class Scripted:
    """An edge answer the `mock` backend gives instead of forwarding."""

    match: re.Pattern[str]
    times: int
    make: Callable[[httpx.Request], httpx.Response]


class Mocking(httpx.MockTransport):
    """MockTransport: scripted edge answers first, otherwise forwarded over real HTTP."""

    def __init__(self) -> None:
        super().__init__(self._handle)
        self.forward = httpx.HTTPTransport()
        self.script: list[Scripted] = []
        self.exchanges: list[Exchange] = []

    def _handle(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(request, None)
        self.exchanges.append(exchange)
        line = f"{request.method} {request.url.path}"
        for entry in self.script:
            if entry.match.search(line):
                entry.times -= 1
                if entry.times <= 0:
                    self.script.remove(entry)
                exchange.response = entry.make(request)
                return exchange.response
        upstream = self.forward.handle_request(request)
        content = upstream.read()
        headers = [
            (k, v)
            for k, v in upstream.headers.multi_items()
            if k.lower() not in ("content-length", "transfer-encoding")
        ]
        exchange.response = httpx.Response(upstream.status_code, headers=headers, content=content, request=request)
        return exchange.response


@dataclass
class Backend:
    """How a contract test reaches the emulator (see the module docstring)."""

    kind: str
    state: BcEmulatorState
    url: str
    transport: Recording | Mocking
    sleeps: list[float] = field(default_factory=list)
    connectors: list[BcConnector] = field(default_factory=list)

    def config(self, **overrides: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "type": "bc",
            "tenant": "cronus.example",
            "environment": "production",
            "company_id": COMPANY,
            "client_id": "mlc-demo-client",
            "secret": "bc-client-secret",
            "authority": f"{self.url}/entra",
            "api_base": f"{self.url}/bc",
            "page_size": 100,
            "timeout": 5.0,
        }
        base.update(overrides)
        return base

    def retry(self, **overrides: Any) -> RetryPolicy:
        options: dict[str, Any] = {"max_attempts": 4, "max_total_seconds": 60.0, "sleep": self.sleeps.append}
        options.update(overrides)
        return RetryPolicy(rng=random.Random(7), **options)

    def connector(
        self,
        *,
        secret: str = SECRET,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] | None = None,
        **config: Any,
    ) -> BcConnector:
        connector = connect(
            self.config(**config), {"bc-client-secret": secret}.__getitem__, self.transport, retry=retry or self.retry()
        )
        if clock is not None:
            connector.auth.clock = clock
        self.connectors.append(connector)
        return connector

    # -- faults -------------------------------------------------------------------------------

    def inject(
        self,
        match: str,
        status: int,
        *,
        body: str | None = None,
        retry_after: float | None = None,
        content_type: str = "application/json",
        times: int = 1,
        entra: bool = False,
    ) -> None:
        """Answer the next `times` requests matching `match` ("METHOD path" regex) with `status`."""
        if self.kind == "emulator":
            plan = self.state.entra_faults if entra else self.state.bc_faults
            plan.add("status", match=match, times=times, status=status, retry_after=retry_after, body=body)
            return
        headers = {"Content-Type": content_type}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        text = body if body is not None else '{"error": {"code": "Injected", "message": "injected fault"}}'

        def make(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, headers=headers, text=text, request=request)

        assert isinstance(self.transport, Mocking)
        self.transport.script.append(Scripted(re.compile(match), times, make))

    def inject_timeout(self, match: str, *, times: int = 1) -> None:
        """The next matching requests time out (the connector's timeout must be short)."""
        if self.kind == "emulator":
            self.state.bc_faults.add("timeout", match=match, times=times, seconds=1.0)
            return

        def make(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        assert isinstance(self.transport, Mocking)
        self.transport.script.append(Scripted(re.compile(match), times, make))

    def inject_drop(self, match: str, *, times: int = 1) -> None:
        """The next matching requests lose their connection part-way through the answer."""
        if self.kind == "emulator":
            self.state.bc_faults.add("drop", match=match, times=times)
            return

        def make(request: httpx.Request) -> httpx.Response:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            )

        assert isinstance(self.transport, Mocking)
        self.transport.script.append(Scripted(re.compile(match), times, make))

    # -- what was sent ------------------------------------------------------------------------

    @property
    def exchanges(self) -> list[Exchange]:
        return self.transport.exchanges

    def sent(self, pattern: str = ".*") -> list[Exchange]:
        """Exchanges whose "METHOD path" matches `pattern`."""
        regex = re.compile(pattern)
        return [e for e in self.exchanges if regex.search(e.line)]

    def token_requests(self) -> int:
        return len(self.sent(r"^POST .*/oauth2/v2\.0/token$"))


def make_backend(kind: str, url: str, app: SwitchableApp, state: BcEmulatorState | None = None) -> Backend:
    """A fresh seeded emulator behind `app`, reached the `kind` way."""
    state = state or BcEmulatorState(EmulatorConfig(allow_loopback_http=True))
    app.target = build_app(state)
    transport: Recording | Mocking = Recording() if kind == "emulator" else Mocking()
    return Backend(kind, state, url, transport)


class Receiver:
    """A small webhook subscriber (served for real): answers handshakes, records notifications.

    `handshake` is "echo" (correct), "refuse" (HTTP 403) or "wrong" (200 with another body);
    `status` is what notification POSTs get.
    """

    def __init__(self, url: str = "") -> None:
        self.url = url
        self.handshake = "echo"
        self.status = 202
        self.validations: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []

    def reset(self) -> None:
        self.__init__(self.url)  # type: ignore[misc]

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            token = request.query_params.get("validationToken")
            if token is not None:
                self.validations.append(token)
                if self.handshake == "refuse":
                    return PlainTextResponse("no", status_code=403)
                return PlainTextResponse(token if self.handshake == "echo" else "something else")
            body = await request.body()
            self.bodies.append(body)
            self.notifications.append(await request.json())
            return JSONResponse({}, status_code=self.status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])
