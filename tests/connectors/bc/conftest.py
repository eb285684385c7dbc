"""Fixtures for the Business Central tests (helpers in bc_support.py).

- `backend`: parametrised over `emulator` (real HTTP) and `mock` (MockTransport edge answers in
  front of the same emulator); a fresh seeded emulator state per test, one server per module.
- `receiver`: a real webhook subscriber served on loopback.
- `expect`: `pytest.raises` that also remembers the error; after each test, no error raised
  through it may contain the client secret or an issued token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from bc_support import SECRET, Backend, Receiver, SwitchableApp, make_backend

from connectors.common import serve_in_thread

Expect = Callable[..., AbstractContextManager[pytest.ExceptionInfo[BaseException]]]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, SwitchableApp]]:
    app = SwitchableApp()
    with serve_in_thread(app) as running:
        yield running.url, app


@pytest.fixture(scope="module")
def _receiver_server() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    with serve_in_thread(receiver.app()) as running:
        yield receiver, f"{running.url}/hook"


@pytest.fixture
def receiver(_receiver_server: tuple[Receiver, str]) -> Receiver:
    receiver, url = _receiver_server
    receiver.url = url
    receiver.reset()
    return receiver


@pytest.fixture(params=["emulator", "mock"])
def backend(request: pytest.FixtureRequest, served: tuple[str, SwitchableApp]) -> Iterator[Backend]:
    url, app = served
    current = make_backend(request.param, url, app)
    yield current
    for connector in current.connectors:
        connector.close()
    current.state.close()


@pytest.fixture
def emulator_backend(served: tuple[str, SwitchableApp]) -> Iterator[Backend]:
    """Only the real-HTTP backend (for emulator behaviour that needs no edge shapes)."""
    url, app = served
    current = make_backend("emulator", url, app)
    yield current
    for connector in current.connectors:
        connector.close()
    current.state.close()


@pytest.fixture
def expect(request: pytest.FixtureRequest) -> Iterator[Expect]:
    caught: list[pytest.ExceptionInfo[BaseException]] = []

    class _Expect:
        def __init__(self, kind: Any, match: str | None = None) -> None:
            self.manager = pytest.raises(kind, match=match)

        def __enter__(self) -> pytest.ExceptionInfo[BaseException]:
            info = self.manager.__enter__()
            caught.append(info)
            return info

        def __exit__(self, *exc: Any) -> bool:
            return bool(self.manager.__exit__(*exc))

    yield _Expect
    tokens: list[str] = []
    if "backend" in request.fixturenames:
        tokens = list(request.getfixturevalue("backend").state.tokens)
    for info in caught:
        error = info.value
        texts = [str(error), repr(error), *(str(getattr(error, name, "")) for name in ("excerpt", "url", "message"))]
        for text in texts:
            assert SECRET not in text, f"the client secret leaked into {type(error).__name__}: {text}"
            for token in tokens:
                assert token not in text, f"an access token leaked into {type(error).__name__}: {text}"
