"""ml-connector engine: configuration, X12, mapping, store, runtime, scheduling, webhooks, cli."""

from __future__ import annotations

__all__: list[str] = []
