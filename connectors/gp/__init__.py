"""Microsoft Dynamics GP through its Service Based Architecture (SBA), and its emulator.

`plugin` registers the connector (`connect`: a `GpClient` from a `connections.yaml` entry and
the secret store) and the emulator (`/gp`, API at `/GPService/Tenants(DefaultTenant)`).
Every assumed SBA shape lives in `connectors.gp.paths`.
"""

from __future__ import annotations

from connectors.gp.client import GpClient, connect
from connectors.gp.config import GpConfig, GpVersion
from connectors.gp.emulator import build_app as _build_emulator
from engine.plugins import ConnectorPlugin, EmulatorSpec

__all__ = ["GpClient", "GpConfig", "GpVersion", "connect", "plugin"]

plugin = ConnectorPlugin(
    name="gp",
    title="Dynamics GP (Service Based Architecture)",
    emulators=(EmulatorSpec("gp", "Dynamics GP SBA", _build_emulator, "/GPService/Tenants(DefaultTenant)"),),
    connect=connect,
    validate_config=GpConfig.from_mapping,
)
