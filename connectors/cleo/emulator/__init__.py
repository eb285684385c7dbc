"""The Cleo Integration Cloud emulator: seeded in-memory mailbox served over real HTTP."""

from __future__ import annotations

from connectors.cleo.emulator.app import build_app
from connectors.cleo.emulator.state import DEMO_PASSWORD, DEMO_USER, CleoEmulatorState, EmulatorError

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "CleoEmulatorState", "EmulatorError", "build_app"]
