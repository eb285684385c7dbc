"""The emulated world for end-to-end tests: Entra + Business Central, Cleo and GP on one
loopback port, each with its state object in reach (to inject faults, post invoices, close a
GP period, read what arrived), and the example project pointed at them.

    with World.start() as world:
        with world.runtime(tmp_path) as runtime:
            runtime.run_once()
        assert "810_acme_103001.edi" in world.outbox("acme")

`World.environ` carries the emulator URLs (`MLC_BC_URL`...) that the example project's
connections.yaml reads; `DEMO_SECRETS` are the emulators' demo credentials under the secret
names connections.yaml uses.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.bc.emulator import BcEmulatorState, EmulatorConfig
from connectors.bc.emulator import build_app as build_bc_app
from connectors.bc.emulator.project import seed_project as seed_bc_project
from connectors.cleo.emulator import CleoEmulatorState
from connectors.cleo.emulator import build_app as build_cleo_app
from connectors.cleo.emulator.project import project_state
from connectors.common import FaultPlan
from connectors.common.retry import RetryPolicy
from connectors.gp.emulator import GpEmulator
from engine.config.project import Project, load_project
from engine.runtime import Runtime, RuntimeSettings
from engine.runtime.setup import open_runtime
from engine.server import ServedApp, serve_in_thread

REPO_ROOT = Path(__file__).resolve().parents[2]

DEMO_SECRETS = {"bc-client-secret": "demo-bc-secret", "cleo-password": "demo-cleo-secret", "gp-password": "demo-gp-secret"}
"""The emulators' demo credentials (emulator accounts, not real secrets)."""

FAST = RuntimeSettings(max_attempts=4, backoff_seconds=0.01, backoff_max_seconds=0.05, cursor_overlap_seconds=5.0)
"""Retries without waiting (tests never sleep for a schedule)."""


def no_wait_retry() -> RetryPolicy:
    """The connectors' HTTP retry policy with its sleeps skipped."""
    return RetryPolicy(sleep=lambda _seconds: None)


@dataclass
class World:
    """The running emulators (module docstring)."""

    served: ServedApp
    bc: BcEmulatorState
    cleo: CleoEmulatorState
    cleo_faults: FaultPlan
    gp: GpEmulator
    environ: dict[str, str] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def start(cls, root: Path = REPO_ROOT) -> Iterator[World]:
        # seeded from the project: every partner's Cleo folders and BC customers exist, whatever
        # partners the project has (its URLs are placeholders until the server runs)
        placeholders = {name: "http://127.0.0.1:1/x" for name in ("MLC_ENTRA_URL", "MLC_BC_URL", "MLC_CLEO_URL", "MLC_GP_URL")}
        seeding = load_project(root, environ=placeholders)
        bc = BcEmulatorState(EmulatorConfig(allow_loopback_http=True), auto_deliver=True)
        seed_bc_project(bc, seeding)
        cleo = project_state(seeding, samples=False)
        cleo_faults = FaultPlan()
        gp = GpEmulator(idle_seconds=5.0)
        app = Starlette(
            routes=[
                Mount("/cleo", app=build_cleo_app(cleo, cleo_faults)),
                Mount("/gp", app=gp.app),
                Mount("/", app=build_bc_app(bc)),
            ]
        )
        try:
            with serve_in_thread(app) as served:
                url = served.url
                environ = {
                    "MLC_ENTRA_URL": f"{url}/entra",
                    "MLC_BC_URL": f"{url}/bc",
                    "MLC_CLEO_URL": f"{url}/cleo",
                    "MLC_GP_URL": f"{url}/gp",
                }
                yield cls(served, bc, cleo, cleo_faults, gp, environ)
        finally:
            bc.close()

    @property
    def url(self) -> str:
        return self.served.url

    def project(self, root: Path = REPO_ROOT) -> Project:
        """The project at `root` (default: the example project) pointed at these emulators."""
        return load_project(root, environ=self.environ)

    @contextmanager
    def runtime(
        self,
        state_dir: Path,
        *,
        root: Path = REPO_ROOT,
        database: str | None = None,
        settings: RuntimeSettings = FAST,
        worker_id: str | None = None,
        clock: Any = None,
        retry: RetryPolicy | None = None,
        project: Project | None = None,
    ) -> Iterator[Runtime]:
        """A runtime over the project with a state store in `state_dir` (or `database`).

        `retry` is the connectors' HTTP retry policy (default: no waiting); `project` a loaded
        project to use instead of the one at `root` (e.g. with shorter connection timeouts).
        """
        environ = {**self.environ, "MLC_STATE_DIR": str(state_dir)}
        with open_runtime(
            root,
            environ=environ,
            database=database or f"sqlite:///{state_dir / 'mlc.db'}",
            secrets=DEMO_SECRETS.__getitem__,
            settings=settings,
            worker_id=worker_id,
            clock=clock,
            project=project,
            retry=retry or no_wait_retry(),
        ) as runtime:
            yield runtime

    # -- what arrived where ------------------------------------------------------------------

    def folder(self, path: str) -> dict[str, bytes]:
        """File name -> bytes of a Cleo folder (`acme/outbox`)."""
        return self.cleo.folder_files(path)

    def outbox(self, partner: str) -> dict[str, bytes]:
        return self.folder(f"{partner}/outbox")

    def inbox(self, partner: str) -> dict[str, bytes]:
        return self.folder(f"{partner}/inbox")

    def archive(self, partner: str) -> dict[str, bytes]:
        return self.folder(f"{partner}/archive")

    def bc_records(self, entity: str) -> list[dict[str, Any]]:
        return self.bc.records(entity)

    def gp_records(self, entity: str) -> list[dict[str, Any]]:
        return self.gp.state.list(self.gp.state.find_company("TWO"), entity, {})


def copy_project(dest: Path) -> Path:
    """The example project (connections, partners, mappings, routes) copied to `dest`, for a test
    that changes a mapping or a partner the way an integrator would; `dest`."""
    for name in ("connections.yaml", "partners", "guides", "mappings", "schedules"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in the text file `path` (a test's change of a project file)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r} occurs {text.count(old)} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
