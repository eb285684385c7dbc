"""Connector plugins: how `engine` finds connectors without importing them.

A connector package registers a `ConnectorPlugin` under the entry-point group
`mlc.connectors` (see pyproject.toml). The engine looks plugins up by name; it never imports
`connectors` directly. A plugin's `validate_config` checks one `connections.yaml` entry
(raising ConfigError naming every problem), so `mlc validate` checks connections without
connecting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

ENTRY_POINT_GROUP = "mlc.connectors"


@dataclass(frozen=True)
class EmulatorSpec:
    """One emulated system: mounted at `/<prefix>` by `mlc emulate`.

    `build()` returns a fresh ASGI app with its seeded in-memory state; `base_path` is the
    path under the mount where the system's API starts (shown in the emulator index).
    """

    prefix: str
    title: str
    build: Callable[[], Any]
    base_path: str = "/"
    build_for_project: Callable[[Any], Any] | None = None
    """A fresh app seeded for a project (an `engine.config.Project`): the demo world plus what
    the project's partners need (their Cleo folders, their BC customers, sample documents).
    None: `build()` serves every project."""


FIELD_KINDS = ("string", "date", "datetime", "decimal", "integer", "boolean", "guid", "enum")
"""What a `FieldType` can be: text; a date `YYYY-MM-DD`; a date and time with its zone; a JSON
number; a JSON whole number; true/false; a GUID text; one of a set of texts."""


@dataclass(frozen=True)
class FieldType:
    """The type of one field of an ERP entity as the system documents it (`kind`, one of
    `FIELD_KINDS`), with the values of an enum and the maximum length of a text where known."""

    kind: str
    values: tuple[str, ...] = ()
    max_length: int | None = None
    source: str = ""
    """The system's own name of the type (`Edm.Date`, `NAV.salesLineType`), for messages."""


@dataclass(frozen=True)
class EntityShape:
    """The fields of an ERP entity as the connector reads or writes it: `fields` every field of
    a record, for `mlc validate` to check the fields a mapping names (`doc.shipToName`); `lists`
    the list-valued fields (expanded lines) and the shape of their items; `types` the type of
    the fields whose type is known, for checking a payload before it is written; `closed`:
    `fields` is the complete list, so a payload key outside it is refused."""

    entity: str
    fields: frozenset[str]
    lists: Mapping[str, EntityShape] = field(default_factory=dict)
    types: Mapping[str, FieldType] = field(default_factory=dict)
    closed: bool = True


@dataclass(frozen=True)
class LocalServer:
    """A real server a plugin started on this machine in place of its emulator (`mlc demo --sftp`):
    the connection entry that reaches it, the credentials under that entry's secret names, and
    where its files can be looked at."""

    connection: dict[str, Any]
    secrets: dict[str, str]
    where: str


@dataclass(frozen=True)
class LocalServerSpec:
    """A local server a plugin can start: `start(keep_dir)` is a context manager yielding a
    `LocalServer` (what the user may look at afterwards is left in `keep_dir`); `unavailable()`
    says why it cannot start here (None when it can)."""

    name: str
    title: str
    start: Callable[[Path], AbstractContextManager[LocalServer]]
    unavailable: Callable[[], str | None] = lambda: None


@dataclass(frozen=True)
class ConnectorPlugin:
    """What a connector package offers the engine."""

    name: str
    title: str
    emulators: tuple[EmulatorSpec, ...] = ()
    connect: Callable[..., Any] | None = field(default=None, repr=False)
    validate_config: Callable[[Mapping[str, Any]], object] | None = field(default=None, repr=False)
    """Check a connection entry; raise ConfigError listing every problem (the result is ignored)."""
    entity_shape: Callable[[str, str | None], EntityShape | None] | None = field(default=None, repr=False)
    """The shape of an entity read with an `expand` (None when the connector does not know it)."""
    payload_shape: Callable[[str], EntityShape | None] | None = field(default=None, repr=False)
    """The shape of a body written to an entity (its lines included, with field types), which
    inbound payloads are checked against at render (None when the connector does not know it)."""
    local_servers: tuple[LocalServerSpec, ...] = ()
    """Real servers the plugin can start locally for the demo (e.g. Cleo's SFTP over sshd)."""
    default_rate_limit: Callable[[Mapping[str, Any]], Mapping[str, Any] | None] | None = field(default=None, repr=False)
    """The `rate_limit:` a connection entry gets when it sets none (the system's documented
    limit, e.g. Business Central online's), or None; a connector that paces takes a `pacer` in
    `connect` (engine/pacing)."""


@cache
def discover() -> dict[str, ConnectorPlugin]:
    """Every installed connector plugin by name."""
    plugins: dict[str, ConnectorPlugin] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = ep.load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"connector plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if callable(plugin) and not isinstance(plugin, ConnectorPlugin):
            plugin = plugin()
        if not isinstance(plugin, ConnectorPlugin):
            raise ConfigError(f"entry point {ep.name!r} in {ENTRY_POINT_GROUP} is not a ConnectorPlugin")
        plugins[plugin.name] = plugin
    return plugins


def get(name: str) -> ConnectorPlugin:
    """The plugin called `name`; a ConfigError listing the valid names otherwise."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            plugin = ep.load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"connector plugin {name!r} ({ep.value}) failed to load: {exc}") from exc
        if isinstance(plugin, ConnectorPlugin) and plugin.name == name:
            return plugin
    plugins = discover()
    if name not in plugins:
        valid = ", ".join(sorted(plugins)) or "none installed"
        raise ConfigError(f"unknown connector type {name!r}; valid types: {valid}")
    return plugins[name]
