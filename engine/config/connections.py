"""connections.yaml: each connection checked by its own connector plugin.

The schema only requires `type`; the rest of an entry is the plugin's configuration. The
plugin is found by name through `engine.plugins` (never by importing `connectors`), and its
`validate_config` (the connector's `from_mapping`) is run on the interpolated entry. Its
ConfigError, which lists every problem of the entry, becomes one `connection-config` finding at
the entry. An unknown `type` is `unknown-connector-type`, listing the installed plugins. A
`server.webhooks` entry must name a connection of the file (`unknown-connection`).
"""

from __future__ import annotations

from engine import plugins
from engine.config.lint import Finding
from engine.config.source import YamlSource
from engine.errors import ConfigError

__all__ = ["check_connections"]


def check_connections(source: YamlSource) -> list[Finding]:
    """Findings for every connection entry of a loaded connections.yaml."""
    entries = source.data.get("connections") if isinstance(source.data, dict) else None
    if not isinstance(entries, dict):
        return []
    try:
        installed = plugins.discover()
    except ConfigError as exc:
        return [Finding(source.where(("connections",)), "plugin-load", exc.message)]
    findings: list[Finding] = []
    server = source.data.get("server")
    webhooks = server.get("webhooks") if isinstance(server, dict) else None
    for name in webhooks if isinstance(webhooks, dict) else ():
        if name not in entries:
            findings.append(
                Finding(
                    source.where(("server", "webhooks", name), key=True),
                    "unknown-connection",
                    f"server.webhooks names connection {name!r}, which is not in connections (connections: {', '.join(sorted(map(str, entries)))})",
                )
            )
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            continue  # the schema reports it
        kind = entry["type"]
        plugin = installed.get(kind)
        if plugin is None:
            findings.append(
                Finding(
                    source.where(("connections", name, "type")),
                    "unknown-connector-type",
                    f"connection {name!r}: unknown connector type {kind!r}; valid types: {', '.join(sorted(installed)) or 'none installed'}",
                )
            )
            continue
        if plugin.validate_config is None:
            continue
        try:
            plugin.validate_config(entry)
        except ConfigError as exc:
            findings.append(Finding(source.where(("connections", name), key=True), "connection-config", f"connection {name!r}: {exc.message}"))
    return findings
