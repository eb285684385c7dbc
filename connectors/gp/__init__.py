"""Microsoft Dynamics GP through its Service Based Architecture (SBA), and its emulator.

`plugin` registers the connector (`connect`: a `GpClient` from a `connections.yaml` entry and
the secret store) and the emulator (`/gp`, API at `/GPService/Tenants(DefaultTenant)`).
Every assumed SBA shape lives in `connectors.gp.paths`.
"""

from __future__ import annotations

from connectors.gp import paths
from connectors.gp.client import GpClient, connect
from connectors.gp.config import GpConfig, GpVersion
from connectors.gp.emulator import build_app as _build_emulator
from engine.plugins import ConnectorPlugin, EmulatorSpec, EntityShape, FieldType


def entity_shape(entity: str, expand: str | None = None) -> EntityShape | None:
    """The fields of a GP entity as read (documents carry their lines inline, `Lines`)."""
    if entity == "purchaseOrders":
        lines = EntityShape("purchase order line", frozenset(paths.PO_LINE_FIELDS))
        return EntityShape("GP purchaseOrders", frozenset(paths.PO_FIELDS), {paths.LINES_KEY: lines})
    fields = {"vendors": paths.VENDOR_FIELDS, "items": paths.ITEM_FIELDS}.get(entity)
    return EntityShape(f"GP {entity}", frozenset(fields)) if fields else None


def payload_shape(entity: str) -> EntityShape | None:
    """The body written to a GP entity, with the few field types GP is assumed to require
    (`paths.FIELD_TYPES`). Open: the complete field list of a written body is not known, so a
    key outside the known fields is not refused."""
    if entity not in paths.FIELD_TYPES:
        return None
    fields = {"purchaseOrders": paths.PO_FIELDS, "purchaseReceipts": ()}[entity]
    line_fields = {"purchaseOrders": paths.PO_LINE_FIELDS, "purchaseReceipts": paths.RECEIPT_LINE_FIELDS}[entity]
    lines = EntityShape(f"GP {entity} line", frozenset(line_fields), types=_typed(paths.LINE_FIELD_TYPES[entity]), closed=False)
    return EntityShape(f"GP {entity}", frozenset({*fields, paths.LINES_KEY}), {paths.LINES_KEY: lines}, _typed(paths.FIELD_TYPES[entity]), closed=False)


def _typed(types: dict[str, str]) -> dict[str, FieldType]:
    return {name: FieldType(kind, source=f"GP {kind} [assumed]") for name, kind in types.items()}


__all__ = ["GpClient", "GpConfig", "GpVersion", "connect", "entity_shape", "payload_shape", "plugin"]

plugin = ConnectorPlugin(
    name="gp",
    title="Dynamics GP (Service Based Architecture)",
    emulators=(EmulatorSpec("gp", "Dynamics GP SBA", _build_emulator, "/GPService/Tenants(DefaultTenant)"),),
    connect=connect,
    validate_config=GpConfig.from_mapping,
    entity_shape=entity_shape,
    payload_shape=payload_shape,
)
