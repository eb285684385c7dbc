"""Microsoft Dynamics 365 Business Central (API v2.0) connector and its emulators.

`plugin` registers the connector with the engine: `connect(config, secrets, transport)` builds
a `BcConnector` from a connection entry (the client secret is resolved through `secrets`,
never read from YAML), and the two emulators (Entra token endpoint, BC API) share one state
when `mlc emulate` mounts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.bc import field_types
from connectors.bc.client import DOCUMENT_LINES, ENTITY_SETS, BcConnector
from connectors.bc.config import BcConfig, default_rate_limit
from connectors.bc.webhooks import Notification, Subscription, Subscriptions, parse_notifications
from connectors.common import RetryPolicy
from engine.errors import SecretError
from engine.plugins import ConnectorPlugin, EmulatorSpec, EntityShape, FieldType
from engine.ports import RequestPacer


def connect(
    config: Mapping[str, Any],
    secrets: Callable[[str], str],
    transport: httpx.BaseTransport | None = None,
    *,
    retry: RetryPolicy | None = None,
    pacer: RequestPacer | None = None,
) -> BcConnector:
    """A connector for one `connections.yaml` entry; `secrets(name)` returns a stored secret;
    `pacer` paces its API requests under the connection's rate budget (the runtime's)."""
    settings = BcConfig.from_mapping(config)
    client_secret = secrets(settings.secret)
    if not client_secret:
        raise SecretError(f"bc: the secret {settings.secret!r} holding the Entra client secret is empty")
    return BcConnector(settings, client_secret, transport=transport, retry=retry, pacer=pacer)


def _build_entra() -> Any:
    from connectors.bc.emulator import build_entra

    return build_entra()


def _build_bc() -> Any:
    from connectors.bc.emulator import build_bc

    return build_bc()


def entity_shape(entity: str, expand: str | None = None) -> EntityShape | None:
    """The fields of a BC API v2.0 entity set, with its lines when `expand` names them (the
    field lists of the API v2.0 resource pages, shared with the emulator)."""
    from connectors.bc.emulator.schema import ENTITY_SETS as SHAPES

    found = SHAPES.get(entity)
    if found is None:
        return None
    fields = set(found.fields)
    lists: dict[str, EntityShape] = {}
    expanded = {part.strip() for part in (expand or "").split(",") if part.strip()}
    if found.lines and found.line_fields is not None and found.lines in expanded:
        fields.add(found.lines)
        lists[found.lines] = EntityShape(f"BC {found.lines}", frozenset(found.line_fields))
    return EntityShape(f"BC {entity}", frozenset({*fields, "@odata.etag"}), lists)


def payload_shape(entity: str) -> EntityShape | None:
    """The body of a POST or PATCH to a BC entity set: its fields and its lines (deep insert),
    each field with its type from the API v2.0 resource pages (`connectors.bc.field_types`).
    BC refuses a property its type does not have, so the shape is closed."""
    from connectors.bc.emulator.schema import ENTITY_SETS as SHAPES

    found = SHAPES.get(entity)
    if found is None:
        return None
    lists: dict[str, EntityShape] = {}
    fields = set(found.fields)
    if found.lines and found.line_fields is not None:
        fields.add(found.lines)
        line_types = field_types.LINE_FIELD_TYPES.get(found.lines, {})
        lists[found.lines] = EntityShape(f"BC {found.lines}", frozenset(found.line_fields), types=_typed(line_types))
    return EntityShape(f"BC {entity}", frozenset(fields), lists, _typed(field_types.TYPES.get(entity, {})))


_KINDS = {"GUID": "guid", "string": "string", "date": "date", "datetime": "datetime", "decimal": "decimal", "integer": "integer", "boolean": "boolean"}
_EDM = {"guid": "Edm.Guid", "string": "Edm.String", "date": "Edm.Date", "datetime": "Edm.DateTimeOffset", "decimal": "Edm.Decimal", "integer": "Edm.Int32", "boolean": "Edm.Boolean"}


def _typed(types: Mapping[str, str]) -> dict[str, FieldType]:
    typed = {}
    for name, documented in types.items():
        if documented.startswith("NAV."):
            typed[name] = FieldType("enum", field_types.ENUM_VALUES.get(documented, ()), source=documented)
        else:
            kind = _KINDS[documented]
            typed[name] = FieldType(kind, source=_EDM[kind])
    return typed


def _build_bc_for_project(project: Any) -> Any:
    """The BC emulator with the project's partners' customers and vendors added."""
    from connectors.bc.emulator import build_bc, shared_state
    from connectors.bc.emulator.project import seed_project

    seed_project(shared_state(), project)
    return build_bc()


plugin = ConnectorPlugin(
    name="bc",
    title="Dynamics 365 Business Central",
    emulators=(
        EmulatorSpec("entra", "Microsoft Entra ID token endpoint", _build_entra, "/"),
        EmulatorSpec("bc", "Business Central API v2.0", _build_bc, "/v2.0/cronus.example/production/api/v2.0", build_for_project=_build_bc_for_project),
    ),
    connect=connect,
    validate_config=BcConfig.from_mapping,
    entity_shape=entity_shape,
    payload_shape=payload_shape,
    default_rate_limit=default_rate_limit,
)

__all__ = [
    "DOCUMENT_LINES",
    "ENTITY_SETS",
    "BcConfig",
    "BcConnector",
    "Notification",
    "Subscription",
    "Subscriptions",
    "connect",
    "default_rate_limit",
    "entity_shape",
    "parse_notifications",
    "payload_shape",
    "plugin",
]
