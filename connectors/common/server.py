"""Serving an ASGI app on loopback from a background thread: see `engine.server`."""

from __future__ import annotations

from engine.server import ServedApp, serve_in_thread

__all__ = ["ServedApp", "serve_in_thread"]
