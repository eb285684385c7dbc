"""Fixtures and helpers shared by every test package.

`shared_dir(sub)` finds a folder of ../shared (the corpus of real partner files, reference
material) next to the repository. Outside CI a missing folder skips the test with a message
that says where it was looked for; in CI (`CI=true`) it fails, so the suite cannot pass there
without having read the files.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ROOT = Path(__file__).resolve().parents[2] / "shared"

# `benchmarks` lives at the repository root and is not an installed package.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def shared_dir(sub: str) -> Path:
    """The folder `../shared/<sub>`; skips the test (fails it in CI) when it does not exist."""
    path = SHARED_ROOT / sub
    if not path.is_dir():
        message = f"{path} not found: the shared folder '{sub}' is expected next to the repository (../shared/{sub})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; it is required in CI")
        pytest.skip(message)
    return path


@pytest.fixture(name="shared_dir")
def shared_dir_fixture() -> Callable[[str], Path]:
    """`shared_dir` as a fixture, for test modules that cannot import this conftest."""
    return shared_dir
