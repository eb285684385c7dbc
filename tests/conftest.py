"""Fixtures and helpers shared by every test package.

`shared_dir(sub)` finds a folder of ../shared (the corpus of real partner files, reference
material) next to the repository. Outside CI a missing folder skips the test with a message
that says where it was looked for; in CI (`CI=true`) it fails, so the suite cannot pass there
without having read the files.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def require_sshd() -> None:
    """Skip the test when OpenSSH's sshd is not installed (fail it in CI, which installs it)."""
    from connectors.cleo.sshd import sshd_available

    reason = sshd_available()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI installs openssh-server and needs it")
        pytest.skip(reason)


@pytest.fixture
def needs_sshd() -> None:
    """`require_sshd()` as a fixture, for tests that start sshd themselves (mlc demo --sftp)."""
    require_sshd()


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[Any]:
    """A real OpenSSH sshd on a free loopback port serving a mailbox tree over SFTP
    (`connectors.cleo.sshd.LocalSshd`), one for the test session; use `sshd` in tests."""
    require_sshd()
    from connectors.cleo.sshd import LocalSshd

    with LocalSshd.start() as server:
        yield server


@pytest.fixture
def sshd(sshd_server: Any) -> Any:
    """The session's sshd with an empty mailbox (the partners' inbox/outbox/archive folders)."""
    sshd_server.reset()
    return sshd_server
