"""A runtime's connections and their rate budgets: a connection with `rate_limit:` (or its
connector's default) is connected with a pacer keeping its budget in the runtime's store, so
every worker on the store shares it; `rate_limit: false` and connectors without a default
are not paced."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.project import load_project
from engine.config.rate_limit import Rate
from engine.pacing import MemorySlots, Pacer, StoreSlots
from engine.runtime.setup import open_runtime
from engine.runtime.systems import Systems

CONNECTIONS = """\
identity:
  qualifier: ZZ
  id: MLCONNECT
connections:
  bc:
    type: bc
    tenant: cronus.example
    environment: production
    company_id: f64eba74-dacd-4854-a584-1834f68cfc3a
    client_id: mlc-demo-client
    secret: bc-client-secret
{bc}
  cleo:
    type: cleo
    base_url: http://127.0.0.1:8765/cleo
    username: mlc-demo
    password_secret: cleo-password
{cleo}
"""

SECRETS = {"bc-client-secret": "s3cret", "cleo-password": "pw"}


def project_at(root: Path, bc: str = "", cleo: str = "") -> Path:
    (root / "connections.yaml").write_text(CONNECTIONS.format(bc=bc, cleo=cleo), encoding="utf-8")
    return root


def pacer_of(connector: object) -> Pacer | None:
    http = getattr(connector, "http", None) or getattr(connector, "_http", None)
    pacer = getattr(http, "pacer", None)
    assert pacer is None or isinstance(pacer, Pacer)
    return pacer


def test_a_budgeted_connection_is_paced_through_the_runtimes_store(tmp_path: Path) -> None:
    root = project_at(tmp_path, cleo="    rate_limit: {requests: 50, per: 1s}")
    with open_runtime(root, environ={"MLC_STATE_DIR": str(tmp_path / "state")}, secrets=SECRETS.__getitem__) as runtime:
        cleo = pacer_of(runtime.systems.connector("cleo"))
        assert cleo is not None and cleo.connection == "cleo"
        assert cleo.limit.rate == Rate(50, 1.0)
        assert isinstance(cleo.slots, StoreSlots)


@pytest.mark.parametrize(
    ("bc", "paced"),
    [
        pytest.param("", True, id="bc-online-gets-its-documented-budget"),
        pytest.param("    rate_limit: false", False, id="false-turns-it-off"),
        pytest.param("    api_base: http://127.0.0.1:8765/bc", False, id="no-default-for-another-server"),
    ],
)
def test_bc_online_is_paced_by_default(tmp_path: Path, bc: str, paced: bool) -> None:
    project = load_project(project_at(tmp_path, bc=bc), environ={})
    with Systems(project, SECRETS.__getitem__) as systems:
        pacer = pacer_of(systems.connector("bc"))
        assert (pacer is not None) is paced
        if pacer is not None:
            assert pacer.limit.rate == Rate(5900, 300.0)
            assert isinstance(pacer.slots, MemorySlots)  # no store: this process's budgets
        assert pacer_of(systems.connector("cleo")) is None
