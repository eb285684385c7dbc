"""The connected systems of a project: one connector per `connections.yaml` entry, opened on
first use through its plugin (the engine never imports `connectors`), shared by a runtime's
threads and closed together.

    systems = Systems(project, secrets)
    bc = systems.records("bc")        # a RecordSystem (Business Central, GP)
    cleo = systems.files("cleo")      # a FileStore (Cleo, a local folder)

`secrets` is `name -> value` (an `engine.secrets.SecretResolver`, or the emulators' demo
credentials for `mlc demo`); `connect_options` are passed to every plugin's `connect` that
accepts them (an httpx transport or a retry policy in tests).

A connection with a rate budget (`rate_limit:`, or its connector's default) is given a `pacer`
when its plugin's `connect` takes one: the budget is kept in `store` when there is one, so
every worker sharing the store paces under it together, else in this process
(engine/pacing).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine import plugins
from engine.config.project import Project
from engine.errors import ConfigError
from engine.pacing import MemorySlots, Pacer, Slots, StoreSlots, rate_limit_of
from engine.ports import FileStore, RecordSystem

if TYPE_CHECKING:
    from engine.store import Store

__all__ = ["Systems"]


class Systems:
    """Lazily connected connectors of a project, by connection name (thread-safe)."""

    def __init__(self, project: Project, secrets: Callable[[str], str], *, store: Store | None = None, **connect_options: Any) -> None:
        self._project = project
        self._secrets = secrets
        self._options = connect_options
        self._slots: Slots = StoreSlots(store) if store is not None else MemorySlots()
        self._open: dict[str, Any] = {}
        self._files: set[str] = set()
        self._lock = threading.Lock()

    def connector(self, name: str) -> Any:
        """The connector of connection `name`, connected on first use."""
        with self._lock:
            found = self._open.get(name)
            if found is None:
                found = self._open[name] = self._connect(name)
            return found

    def records(self, name: str) -> RecordSystem:
        """Connection `name` as a record system (an ERP)."""
        connector = self.connector(name)
        if not isinstance(connector, RecordSystem):
            raise ConfigError(f"connection {name!r} is not an ERP (a record system); it cannot be read or written as records")
        return connector

    def files(self, name: str) -> FileStore:
        """Connection `name` as a file store (Cleo mailboxes, a local folder)."""
        connector = self.connector(name)
        if name not in self._files:  # a Protocol's isinstance check reads every member: once per connection
            if not isinstance(connector, FileStore):
                raise ConfigError(f"connection {name!r} is not a file store (Cleo or a folder)")
            self._files.add(name)
        files: FileStore = connector
        return files

    def close(self) -> None:
        """Close every connector opened so far."""
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for connector in opened:
            close = getattr(connector, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> Systems:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self, name: str) -> Any:
        config = self._project.connections.get(name)
        if config is None:
            known = ", ".join(sorted(self._project.connections)) or "none"
            raise ConfigError(f"no connection {name!r} in connections.yaml (connections: {known})")
        plugin = plugins.get(str(config.get("type", name)))
        if plugin.connect is None:
            raise ConfigError(f"the connector plugin {plugin.name!r} cannot connect (it offers no connect function)")
        accepted = inspect.signature(plugin.connect).parameters
        options = {key: value for key, value in self._options.items() if key in accepted}
        if "base_dir" in accepted:
            options.setdefault("base_dir", self._project.root)
        if "pacer" in accepted and "pacer" not in options:
            limit = rate_limit_of(config, plugin.default_rate_limit)
            if limit is not None:
                options["pacer"] = Pacer(name, limit, self._slots)
        return plugin.connect(config, self._secrets, **options)
