"""Fixtures of the runtime unit tests: the example project, a SQLite store in tmp_path, and a
runtime at a fixed time whose systems are in-memory fakes (runtime_fakes.py), handed in per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fakes import NOW, FakeSystems

from engine.config.project import Project, load_project
from engine.runtime import Runtime, RuntimeSettings
from engine.store import Store

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def project() -> Project:
    """The example project (routes, partners, mappings) at the repository root."""
    return load_project(REPO_ROOT, environ={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'mlc.db'}", state_dir=tmp_path, clock=lambda: NOW) as opened:
        yield opened


MakeRuntime = Callable[..., Runtime]


@pytest.fixture
def make_runtime(project: Project, store: Store) -> MakeRuntime:
    """`make_runtime(bc=FakeRecords(...), settings=..., mask=...)`: a runtime at NOW over fakes."""

    def make(*, settings: RuntimeSettings | None = None, mask: Callable[[str], str] | None = None, **systems: Any) -> Runtime:
        return Runtime(project, store, FakeSystems(**systems), clock=lambda: NOW, settings=settings, worker_id="test-worker", mask=mask)  # type: ignore[arg-type]

    return make
