"""Helpers of the SFTP tests: stores on the test sshd, and a TCP relay that cuts connections.

    store = sftp_store(sshd)                        # key auth, host key pinned by fingerprint
    with CuttingRelay(sshd.host, sshd.port, cut_after=300_000, cuts=1) as relay:
        store = sftp_store(sshd, host=relay.host, port=relay.port)
        store.upload(...)                           # the first connection dies mid-transfer

The relay forwards bytes both ways between the client and sshd; on each of its first `cuts`
connections it resets both sockets once `cut_after` bytes went either way, as a network drop or
a crashed server does mid-transfer.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
from typing import Any

from connectors.cleo import connect
from connectors.cleo.sftp import SftpFileStore
from connectors.cleo.sshd import LocalSshd
from connectors.common.retry import RetryPolicy


def no_wait_retry(**options: Any) -> RetryPolicy:
    """The retry policy with its waits recorded instead of slept."""
    return RetryPolicy(sleep=lambda _seconds: None, rng=random.Random(3), **options)


def sftp_store(sshd: LocalSshd, *, secrets: dict[str, str] | None = None, retry: RetryPolicy | None = None, **entry: Any) -> SftpFileStore:
    """A store on the test sshd; `entry` overrides keys of its connection entry."""
    auth = entry.pop("auth", "key")
    pin = entry.pop("pin", "fingerprint")
    config = sshd.connection(auth=auth, pin=pin, timeout_seconds=entry.pop("timeout_seconds", 10), **entry)
    store = connect(config, {**sshd.secrets(), **(secrets or {})}.__getitem__, retry=retry or no_wait_retry())
    assert isinstance(store, SftpFileStore)
    return store


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dropped connection looks to the other side."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class CuttingRelay:
    """A loopback TCP relay to `target` that cuts its first `cuts` connections (module docstring)."""

    def __init__(self, host: str, port: int, *, cut_after: int, cuts: int = 1) -> None:
        self.target = (host, port)
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.connections = 0
        self.cut = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CuttingRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self.connections += 1
                cutting = self.cuts_left > 0
                if cutting:
                    self.cuts_left -= 1
            link = _Link(client, upstream, self.cut_after if cutting else None, self)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=link.pump, args=(source, sink), daemon=True).start()


class _Link:
    def __init__(self, client: socket.socket, upstream: socket.socket, cut_after: int | None, relay: CuttingRelay) -> None:
        self.client, self.upstream = client, upstream
        self.cut_after = cut_after
        self.relay = relay
        self.moved = 0
        self.lock = threading.Lock()
        self.closed = False

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self.lock:
                    if self.closed:
                        return
                    self.moved += len(data)
                    cut = self.cut_after is not None and self.moved >= self.cut_after
                if cut:
                    self._close(cut=True)
                    return
                sink.sendall(data)
        except OSError:
            pass
        self._close(cut=False)

    def _close(self, *, cut: bool) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        if cut:
            with self.relay._lock:
                self.relay.cut += 1
        for sock in (self.client, self.upstream):
            _reset(sock)
