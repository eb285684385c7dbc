"""Shared HTTP plumbing for connectors and emulators: client, retry, faults, serving."""

from __future__ import annotations

from connectors.common.client import HttpClient, excerpt, mask
from connectors.common.faults import Fault, FaultInjector, FaultPlan
from connectors.common.retry import RetryPolicy, parse_retry_after
from connectors.common.server import ServedApp, serve_in_thread

__all__ = [
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "HttpClient",
    "RetryPolicy",
    "ServedApp",
    "excerpt",
    "mask",
    "parse_retry_after",
    "serve_in_thread",
]
