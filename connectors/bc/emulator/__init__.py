"""Emulators of Microsoft Entra ID (client-credentials tokens) and Business Central API v2.0.

Both apps work on one `BcEmulatorState`, so a token the Entra app issues is accepted by the BC
app. `build_entra()` and `build_bc()` without arguments use one process-wide state
(`shared_state()`, with background webhook delivery), which is what `mlc emulate` mounts;
tests build their own state and pass it to both builders, or use `build_app(state)` to get
both under `/entra` and `/bc` on one server.
"""

from __future__ import annotations

import threading
from typing import Any

from connectors.bc.emulator.api import build_bc
from connectors.bc.emulator.entra import build_entra
from connectors.bc.emulator.notifications import Delivery, Subscription
from connectors.bc.emulator.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    BcEmulatorState,
    Clock,
    EmulatorConfig,
)

_shared: BcEmulatorState | None = None
_shared_lock = threading.Lock()


def shared_state() -> BcEmulatorState:
    """The process-wide emulator state both plugin builders use (created, seeded, on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            # The demo's and `mlc emulate`'s world: its webhook server is plain http on loopback.
            _shared = BcEmulatorState(EmulatorConfig(allow_loopback_http=True), auto_deliver=True)
        return _shared


def reset_shared_state() -> None:
    """Forget the process-wide state (its delivery thread stops); the next use starts afresh."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
        _shared = None


def build_app(state: BcEmulatorState | None = None) -> Any:
    """Both emulators on one app: Entra under `/entra`, Business Central under `/bc`."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    state = state or shared_state()
    return Starlette(routes=[Mount("/entra", app=build_entra(state)), Mount("/bc", app=build_bc(state))])


__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "BcEmulatorState",
    "Clock",
    "Delivery",
    "EmulatorConfig",
    "Subscription",
    "build_app",
    "build_bc",
    "build_entra",
    "reset_shared_state",
    "shared_state",
]
