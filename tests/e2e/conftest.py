"""Fixtures of the end-to-end tests: the emulated world (helpers in world.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from world import World


@pytest.fixture
def world() -> Iterator[World]:
    """Fresh, seeded emulators on a free loopback port for one test."""
    with World.start() as running:
        yield running
