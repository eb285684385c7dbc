"""A Cleo connection with a rate budget: its token requests go to Cleo itself, so they wait for
their turn like every API request (one per request sent, at its path under the base URL)."""

from __future__ import annotations

from cleo_support import SECRET_NAME, InProcess, cleo_config

from connectors.cleo import connect
from connectors.cleo.emulator import DEMO_PASSWORD


class RecordingPacer:
    def __init__(self) -> None:
        self.paced: list[str] = []

    def pace(self, method: str, path: str) -> float:
        self.paced.append(f"{method} {path}")
        return 0.0


def test_the_token_request_and_every_api_request_are_paced(inproc: InProcess) -> None:
    pacer = RecordingPacer()
    store = connect(cleo_config("http://cleo.test"), {SECRET_NAME: DEMO_PASSWORD}.__getitem__, transport=inproc.transport(), pacer=pacer)
    try:
        store.list_folders()
    finally:
        store.close()
    assert pacer.paced[0] == "POST /api/authentication"
    assert len(pacer.paced) == len(inproc.seen)
    assert all(line.split(" ")[1].startswith("/api/") for line in pacer.paced)
