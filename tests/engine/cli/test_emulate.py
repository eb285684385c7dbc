"""`mlc emulate`: every installed emulator on one port, with an index at `/`."""

from __future__ import annotations

import httpx

from engine.cli.emulate import build_app
from engine.server import serve_in_thread


def test_index_lists_every_emulated_system_with_a_reachable_base_url() -> None:
    with serve_in_thread(build_app()) as served:
        index = httpx.get(f"{served.url}/").json()["emulators"]
        prefixes = {entry["prefix"] for entry in index}
        assert prefixes == {"entra", "bc", "cleo", "gp"}
        for entry in index:
            assert entry["base_url"].startswith(f"{served.url}/{entry['prefix']}")
        urls = {entry["prefix"]: entry["base_url"] for entry in index}
        # Each system answers under its mount, and refuses a call without credentials.
        assert httpx.get(f"{urls['bc']}/companies").status_code == 401
        assert httpx.get(f"{urls['cleo']}/api/folders").status_code == 401
        assert httpx.get(f"{urls['gp']}/Companies(TWO)/Purchasing/Vendors").status_code == 401
        token = httpx.post(
            f"{urls['entra']}/cronus.example/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "mlc-demo-client",
                "client_secret": "demo-bc-secret",
                "scope": "https://api.businesscentral.dynamics.com/.default",
            },
        )
        assert token.status_code == 200
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        companies = httpx.get(f"{urls['bc']}/companies", headers=bearer)
        assert companies.status_code == 200
        assert companies.json()["value"][0]["name"]
