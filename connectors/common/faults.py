"""Fault injection for the emulators: an ASGI middleware driven by a plan.

A test (or `POST /_faults` on a running emulator) queues faults; each matching request
consumes one. Kinds:

    status   answer `status` (e.g. 429, 500, 503) with an optional Retry-After header
    delay    wait `seconds`, then serve the request normally (slow responses)
    timeout  wait `seconds` (longer than the client's timeout) and answer 504
    drop     close the connection part-way through the response (the client sees a cut-off body)

`match` is a regular expression searched in "METHOD /path"; `times` is how many requests the
fault applies to. The plan is thread-safe: tests run the emulator in another thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

FAULT_KINDS = ("status", "delay", "timeout", "drop")


class DroppedConnection(Exception):
    """Raised inside the ASGI app so the server closes the connection mid-response."""


class _QuietDrops(logging.Filter):
    """Keeps the server log free of the tracebacks of deliberately dropped connections."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


@dataclass
class Fault:
    """One planned fault (see the module docstring)."""

    kind: str
    match: str = ".*"
    times: int = 1
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    body: str | None = None
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; valid kinds: {', '.join(FAULT_KINDS)}")
        self._pattern = re.compile(self.match)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        allowed = {"kind", "match", "times", "status", "retry_after", "seconds", "body"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}; valid: {sorted(allowed)}")
        return cls(**data)


class FaultPlan:
    """The queue of faults of one emulator, plus a log of the faults served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.served: list[tuple[str, str]] = []

    def add(self, kind: str, match: str = ".*", times: int = 1, **options: Any) -> None:
        """Queue a fault; see the module docstring for kinds and options."""
        with self._lock:
            self._faults.append(Fault(kind=kind, match=match, times=times, **options))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first planned fault matching this request, consumed once."""
        line = f"{method} {path}"
        with self._lock:
            for fault in self._faults:
                if fault._pattern.search(line):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    self.served.append((fault.kind, line))
                    return fault
        return None


class FaultInjector:
    """ASGI middleware applying a `FaultPlan`; also serves `GET/POST/DELETE /_faults`."""

    def __init__(self, app: ASGIApp, plan: FaultPlan | None = None) -> None:
        self.app = app
        self.plan = plan or FaultPlan()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.endswith("/_faults"):
            await self._admin(scope, receive, send)
            return
        fault = self.plan.take(scope["method"], path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
        elif fault.kind == "drop":
            # Promise a body, send part of it, then fail: the server closes the connection and
            # the client sees a cut-off response, as with a dropped connection mid-transfer.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"value": [', "more_body": True})
            raise DroppedConnection(path)
        elif fault.kind == "timeout":
            await asyncio.sleep(fault.seconds)
            await _respond(send, 504, {"error": {"code": "GatewayTimeout", "message": "timed out"}})
        else:
            headers = [] if fault.retry_after is None else [(b"retry-after", str(fault.retry_after).encode())]
            body = (
                fault.body
                if fault.body is not None
                else json.dumps(
                    {"error": {"code": f"Injected{fault.status}", "message": f"injected fault {fault.status}"}}
                )
            )
            await _respond(send, fault.status, body, headers)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "DELETE":
            self.plan.clear()
            await _respond(send, 204, "")
            return
        if method == "POST":
            raw = b""
            while True:
                message = await receive()
                raw += message.get("body", b"")
                if not message.get("more_body"):
                    break
            try:
                data = json.loads(raw or b"{}")
                faults = data if isinstance(data, list) else [data]
                parsed = [Fault.from_dict(f) for f in faults]
            except (ValueError, TypeError) as exc:
                await _respond(send, 400, {"error": {"code": "BadFault", "message": str(exc)}})
                return
            for fault in parsed:
                self.plan.add(**{k: v for k, v in vars(fault).items() if not k.startswith("_")})
            await _respond(send, 201, {"queued": len(parsed)})
            return
        await _respond(send, 200, {"served": [list(s) for s in self.plan.served]})


async def _respond(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    all_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    all_headers += headers or []
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": payload})
