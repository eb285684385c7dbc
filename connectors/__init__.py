"""Connectors: one subpackage per system (client, auth, emulator), registered as plugins."""

from __future__ import annotations

__all__: list[str] = []
