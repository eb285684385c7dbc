"""Connector plugins: how `engine` finds connectors without importing them.

A connector package registers a `ConnectorPlugin` under the entry-point group
`mlc.connectors` (see pyproject.toml). The engine looks plugins up by name; it never imports
`connectors` directly. A plugin's `validate_config` checks one `connections.yaml` entry
(raising ConfigError naming every problem), so `mlc validate` checks connections without
connecting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
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


@dataclass(frozen=True)
class ConnectorPlugin:
    """What a connector package offers the engine."""

    name: str
    title: str
    emulators: tuple[EmulatorSpec, ...] = ()
    connect: Callable[..., Any] | None = field(default=None, repr=False)
    validate_config: Callable[[Mapping[str, Any]], object] | None = field(default=None, repr=False)
    """Check a connection entry; raise ConfigError listing every problem (the result is ignored)."""


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
