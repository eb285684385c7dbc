"""Opening a project's runtime: the project, its state store, its secrets, its systems.

    with open_runtime(Path(".")) as runtime:
        runtime.run_once()

The state store is `database_url` when given, else `MLC_DATABASE_URL`, else connections.yaml
`state.database_url`, else the SQLite file `<state dir>/mlc.db` (`MLC_STATE_DIR`, default
`<project>/.mlc`). Secrets come from the project's encrypted store (`mlc secrets set`) unless a
resolver is given (`mlc demo` hands the emulators' demo credentials). Settings not given are the
defaults of `RuntimeSettings`, except what the environment overrides (`runtime_settings`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.config.project import Project, load_project
from engine.errors import ConfigError
from engine.masterkey import KeySource
from engine.runtime.runtime import Runtime, RuntimeSettings
from engine.runtime.systems import Systems
from engine.secrets import STORE_FILE, JsonFileSecretStore, SecretResolver, state_dir
from engine.store import Store

__all__ = ["STALE_AFTER_ENV", "database_url", "open_runtime", "open_store", "project_secrets", "runtime_settings"]

STALE_AFTER_ENV = "MLC_STALE_AFTER"


def database_url(project: Project, environ: Mapping[str, str] | None = None, given: str | None = None) -> str | None:
    """The state store URL for `project` (module docstring); None means the SQLite default."""
    env = os.environ if environ is None else environ
    for candidate in (given, env.get("MLC_DATABASE_URL"), (project.state or {}).get("database_url")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def open_store(project: Project, *, environ: Mapping[str, str] | None = None, url: str | None = None, create: bool = True) -> Store:
    """The project's state store, migrated to the current schema."""
    directory = state_dir(project.root, environ)
    if create:
        directory.mkdir(parents=True, exist_ok=True)
    return Store.open(database_url(project, environ, url), state_dir=directory, create=create)


def project_secrets(project: Project, environ: Mapping[str, str] | None = None) -> SecretResolver:
    """The project's encrypted secrets (`mlc secrets set`), opened with the master key
    (`MLC_MASTER_KEY` or the key file). Without a key, asking for a secret is the error."""
    source = KeySource.from_environ(environ)
    cipher = source.cipher() if source.available() else None
    return SecretResolver(JsonFileSecretStore(state_dir(project.root, environ) / STORE_FILE, cipher))


def runtime_settings(environ: Mapping[str, str] | None = None) -> RuntimeSettings:
    """`RuntimeSettings` with the environment's overrides: `MLC_STALE_AFTER`, the seconds after
    which a running job of a silent worker is taken back (`stale_after_seconds`). Short values
    suit one worker restarted after a crash; with several workers keep it above the longest job."""
    env = os.environ if environ is None else environ
    text = env.get(STALE_AFTER_ENV, "").strip()
    if not text:
        return RuntimeSettings()
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError(f"{STALE_AFTER_ENV} must be a number of seconds, 0 or more; got {text!r}")
    return replace(RuntimeSettings(), stale_after_seconds=seconds)


@contextmanager
def open_runtime(
    root: Path,
    *,
    environ: Mapping[str, str] | None = None,
    database: str | None = None,
    secrets: Callable[[str], str] | None = None,
    settings: RuntimeSettings | None = None,
    clock: Callable[[], datetime] | None = None,
    worker_id: str | None = None,
    project: Project | None = None,
    **connect_options: Any,
) -> Iterator[Runtime]:
    """A runtime over the project at `root`; its store and connections close at the end."""
    settings = settings or runtime_settings(environ)
    project = project or load_project(root, environ=environ)
    mask: Callable[[str], str] | None = getattr(secrets, "mask", None)
    if secrets is None:
        resolver = project_secrets(project, environ)
        secrets, mask = resolver, resolver.mask
    store = open_store(project, environ=environ, url=database)
    try:
        with Systems(project, secrets, store=store, **connect_options) as systems:
            yield Runtime(project, store, systems, settings=settings, clock=clock, worker_id=worker_id, mask=mask)
    finally:
        store.close()
