"""Serving an ASGI app on loopback from a background thread (emulators in tests and demos).

uvicorn does the HTTP; this module only binds a free port, starts the server in a daemon
thread, waits until it accepts connections, and stops it cleanly.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class ServedApp:
    """A running server: `url` is `http://127.0.0.1:PORT`."""

    url: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServedApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0) -> ServedApp:
    """Start `app` on `host:port` (0 = a free port) in a daemon thread; return once it listens."""
    # proto must say TCP: asyncio only sets TCP_NODELAY on sockets whose proto is IPPROTO_TCP,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)

    def run() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name=f"asgi-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"ASGI server on {host}:{bound_port} did not start")
        time.sleep(0.01)
    return ServedApp(f"http://{host}:{bound_port}", bound_port, server, thread)
