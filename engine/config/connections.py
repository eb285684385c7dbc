"""connections.yaml: each connection checked by its own connector plugin.

The schema only requires `type`; the rest of an entry is the plugin's configuration. The
plugin is found by name through `engine.plugins` (never by importing `connectors`), and its
`validate_config` (the connector's `from_mapping`) is run on the interpolated entry. Its
ConfigError, which lists every problem of the entry, becomes one `connection-config` finding at
the entry. An unknown `type` is `unknown-connector-type`, listing the installed plugins. A
`server.webhooks` entry must name a connection of the file (`unknown-connection`). A
`rate_limit:` the schema accepts is checked further (`rate-limit`: a burst above its requests,
at the key; engine/config/rate_limit.py); one the schema refuses is reported by the schema only.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema

from engine import plugins
from engine.config import rate_limit
from engine.config.lint import Finding
from engine.config.schema import label, schema
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
        if isinstance(entry, dict) and "rate_limit" in entry and _rate_limit_schema().is_valid(entry["rate_limit"]):
            for pointer, message in rate_limit.problems(entry["rate_limit"]):
                path = ("connections", name, "rate_limit", *pointer)
                findings.append(Finding(source.where(path), "rate-limit", f"{label(path)}: {message}"))
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


@cache
def _rate_limit_schema() -> Any:
    """A validator of one `rate_limit:` value alone (its part of connections.schema.json)."""
    return jsonschema.Draft202012Validator({"$defs": schema("connections")["$defs"], "$ref": "#/$defs/rate_limit"})
