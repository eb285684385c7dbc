"""Fixtures of the console's route tests: a real runtime over the example project with a fresh
SQLite store, seeded through the store's own API (console_support.seed), and a Starlette test
client of the console mounted in the webhook app, as `mlc serve` mounts it.

The tests read the project's route and partner names from the loaded project, never from a
list of their own: they do not depend on the example project's contents.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import SECRET, Clock, Seeded, client_for, seed

from engine.config.project import Project, load_project
from engine.console.security import LoginLimiter
from engine.runtime import Runtime
from engine.runtime.setup import open_runtime

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def example_project() -> Project:
    return load_project(REPO_ROOT, environ={})


class _Secrets:
    """The demo credentials plus one more secret, with the masking a real resolver has."""

    values = {"bc-client-secret": "demo-bc-secret", "cleo-password": "demo-cleo-secret", "gp-password": "demo-gp-secret", "other": SECRET}

    def __call__(self, name: str) -> str:
        return self.values[name]

    def mask(self, text: str) -> str:
        from engine.secrets import mask

        return mask(text, self.values.values())


@pytest.fixture
def runtime(tmp_path: Path, example_project: Project) -> Iterator[Runtime]:
    with open_runtime(
        REPO_ROOT,
        project=example_project,
        environ={"MLC_STATE_DIR": str(tmp_path)},
        database=f"sqlite:///{tmp_path / 'mlc.db'}",
        secrets=_Secrets(),
    ) as opened:
        yield opened


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    return seed(runtime)


@pytest.fixture
def limiter_clock() -> Clock:
    return Clock()


@pytest.fixture
def client(runtime: Runtime, limiter_clock: Clock) -> Iterator[object]:
    with client_for(runtime, LoginLimiter(clock=limiter_clock)) as test_client:
        yield test_client
