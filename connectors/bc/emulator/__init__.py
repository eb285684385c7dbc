"""Emulators of Microsoft Entra ID (client-credentials tokens) and Business Central API v2.0.

Both apps work on one `BcEmulatorState`, so a token the Entra app issues is accepted by the BC
app. `build_entra()` and `build_bc()` without arguments use one process-wide state
(`shared_state()`, with background webhook delivery), which is what `mlc emulate` mounts;
tests build their own state and pass it to both builders, or use `build_app(state)` to get
both under `/entra` and `/bc` on one server.
"""

from __future__ import annotations

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
    reset_shared_state,
    shared_state,
)


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
