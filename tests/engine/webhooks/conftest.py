"""Fixtures of the webhook server tests (helpers in webhook_support.py).

`runtime` is a real runtime over the example project with a fresh SQLite store; its connectors
talk to `fake_bc` (a MockTransport). `client` is an httpx client of the webhook app served by
uvicorn on loopback, with `metrics` collected (one server for the session; each test mounts
its own app in it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from webhook_support import REPO_ROOT, SECRETS, FakeBc

from connectors.common.retry import RetryPolicy
from engine.config.project import Project, load_project
from engine.metrics import Metrics
from engine.runtime import Runtime
from engine.runtime.setup import open_runtime
from engine.server import serve_in_thread
from engine.webhooks import WebhookSettings, build_app

# store_support (PostgreSQL helpers) lives with the store tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))


@pytest.fixture(scope="session")
def example_project() -> Project:
    """The example project, loaded once (tests must not change it)."""
    return load_project(REPO_ROOT, environ={})


@pytest.fixture
def fake_bc() -> FakeBc:
    return FakeBc()


@pytest.fixture
def runtime(tmp_path: Path, example_project: Project, fake_bc: FakeBc) -> Iterator[Runtime]:
    with open_runtime(
        REPO_ROOT,
        project=example_project,
        environ={"MLC_STATE_DIR": str(tmp_path)},
        database=f"sqlite:///{tmp_path / 'mlc.db'}",
        secrets=SECRETS.__getitem__,
        transport=httpx.MockTransport(fake_bc),
        retry=RetryPolicy(max_attempts=2, sleep=lambda _seconds: None),
    ) as opened:
        yield opened


@pytest.fixture
def settings(example_project: Project) -> WebhookSettings:
    return WebhookSettings.for_project(example_project, public_url="https://edi.example.com")


@pytest.fixture
def metrics(runtime: Runtime) -> Iterator[Metrics]:
    collected = Metrics(runtime.store)
    yield collected
    collected.close()


class Mount:
    """An ASGI app that forwards to whatever app the current test mounted."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[str, Mount]]:
    mount = Mount()
    with serve_in_thread(mount) as served:
        yield served.url, mount


@pytest.fixture
def client(server: tuple[str, Mount], runtime: Runtime, settings: WebhookSettings, metrics: Metrics) -> Iterator[httpx.Client]:
    url, mount = server
    mount.app = build_app(runtime, settings, secrets=SECRETS.__getitem__, metrics=metrics)
    with httpx.Client(base_url=url, timeout=30) as http:
        yield http
    mount.app = None
