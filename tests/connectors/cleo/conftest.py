"""Fixtures for the Cleo connector tests (helpers in cleo_support.py).

- `emulator`: the seeded emulator served on a loopback port (one server per module, state
  and fault plan reset for every test).
- `inproc`: the same emulator reached through an `httpx.MockTransport` (in process), where a
  test can replace single answers by edge shapes a real server would not produce.
- `clock`, `sleeps`, `retry`: a fake clock for token expiry and a retry policy that records
  its waits instead of sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cleo_support import SECRET_NAME, Emulator, FakeClock, InProcess, StoreFactory, cleo_config

from connectors.cleo import CleoFileStore, connect
from connectors.cleo.emulator import DEMO_PASSWORD, CleoEmulatorState, build_app
from connectors.common import FaultPlan, RetryPolicy, serve_in_thread


@pytest.fixture(scope="module")
def _served() -> Iterator[Emulator]:
    state = CleoEmulatorState.seeded()
    plan = FaultPlan()
    with serve_in_thread(build_app(state, plan)) as served:
        yield Emulator(state, plan, served.url)


@pytest.fixture
def emulator(_served: Emulator) -> Emulator:
    _served.reset()
    return _served


@pytest.fixture
def inproc() -> InProcess:
    state = CleoEmulatorState.seeded()
    return InProcess(state, httpx.ASGITransport(app=build_app(state, FaultPlan())))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, sleep=sleeps.append, rng=random.Random(7))


@pytest.fixture
def make_store(retry: RetryPolicy, clock: FakeClock) -> Iterator[StoreFactory]:
    """Builds connectors (closed at the end): `make_store(base_url, transport=None, password=..., **config)`."""
    stores: list[CleoFileStore] = []

    def factory(
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        password: str = DEMO_PASSWORD,
        **options: Any,
    ) -> CleoFileStore:
        store = connect(
            cleo_config(base_url, **options),
            {SECRET_NAME: password}.__getitem__,
            transport=transport,
            retry=retry,
            clock=clock,
        )
        stores.append(store)
        return store

    yield factory
    for store in stores:
        store.close()


@pytest.fixture
def http_store(emulator: Emulator, make_store: StoreFactory) -> CleoFileStore:
    """The connector talking to the emulator over real HTTP."""
    return make_store(emulator.url)


@pytest.fixture
def mock_store(inproc: InProcess, make_store: StoreFactory) -> CleoFileStore:
    """The connector talking to the in-process emulator through a MockTransport."""
    return make_store("http://cleo.test", transport=inproc.transport())
