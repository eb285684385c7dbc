"""Fixtures for the GP connector tests: the emulator served on loopback, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from gp_support import Clock, CountingTransport, Served

from connectors.common import serve_in_thread
from connectors.gp.emulator import GpEmulator


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[GpEmulator, str, Clock]]:
    clock = Clock(datetime(2026, 3, 2, 9, 0, 0))
    emulator = GpEmulator(clock=clock)
    with serve_in_thread(emulator.app) as served:
        yield emulator, served.url, clock


@pytest.fixture
def gp(_server: tuple[GpEmulator, str, Clock]) -> Served:
    """The module's emulator, back to its seed, faults cleared, logins forgotten."""
    emulator, url, clock = _server
    emulator.reset()
    emulator.faults.clear()
    emulator.auth.forget_connections()
    emulator.auth.handshakes = 0
    clock.now = datetime(2026, 3, 2, 9, 0, 0)
    return Served(emulator, url, clock)


@pytest.fixture
def counting() -> CountingTransport:
    return CountingTransport()
