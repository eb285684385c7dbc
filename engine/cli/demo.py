"""`mlc demo`: the emulators, the Cleo connector and the X12 core, end to end.

Starts the Cleo emulator on a free loopback port (nothing is written into the project),
then, through the real Cleo connector over HTTP: lists every partner inbox, downloads each
file, checks it against its definition, and uploads a 997 for every functional group to the
partner's outbox (control numbers from an in-memory sequence for this run). Prints a summary
table and exits 0 only if every step worked and every expected verdict was met.

The route-driven demo of every flow (BC, GP, mappings, state store) replaces this once the
runtime exists; until then this is what runs end to end.
"""

from __future__ import annotations

import io
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table

from engine import plugins
from engine.errors import MlcError
from engine.server import serve_in_thread
from engine.x12 import ack, document

DEMO_SECRETS = {"cleo-password": "demo-cleo-secret"}
"""The emulator's demo credentials (emulator only; real ones live in the secret store)."""

PARTNERS = ("acme", "globex")


@click.command("demo")
def demo() -> None:
    """Run the Cleo emulator and the X12 flow end to end; print a summary table."""
    from engine.cli.emulate import build_app

    console = Console(stderr=True)
    now = datetime(2024, 5, 2, 10, 5)
    controls = ack.SequentialControls(9001)
    failures = 0
    with serve_in_thread(build_app(only=("cleo",))) as served:
        console.print(f"emulators running on {served.url}/ (index at /)")
        cleo_plugin = plugins.get("cleo")
        assert cleo_plugin.connect is not None
        store = cleo_plugin.connect(
            {"base_url": f"{served.url}/cleo", "username": "mlc-demo", "password_secret": "cleo-password"},
            DEMO_SECRETS.__getitem__,
        )
        table = Table(title="mlc demo: partner files through Cleo")
        for column in ("partner", "file", "sets", "check", "997 uploaded"):
            table.add_column(column)
        with store:
            for partner in PARTNERS:
                with console.status(f"reading {partner}/inbox"):
                    files = list(store.list_files(f"{partner}/inbox"))
                for remote in files:
                    try:
                        content = store.download(remote)
                        report = document.check(io.BytesIO(content), remote.name)
                        events = document.walk(io.BytesIO(content), remote.name)
                        sets = ", ".join(
                            sorted({e.raw.set_id for e in events if isinstance(e, document.CheckedTransaction)})
                        )
                        verdict = "valid" if report.ok else f"{len(report.errors)} error(s)"
                        uploaded = []
                        for interchange, groups in ack.collect(io.BytesIO(content), remote.name):
                            text = ack.build_997(interchange, groups, controls, now)
                            if text is None:
                                continue
                            name = f"997_{interchange.sender_id}_{interchange.control_number}.edi"
                            store.upload(f"{partner}/outbox", name, text.encode())
                            uploaded.append(name)
                        table.add_row(partner, remote.name, sets, verdict, ", ".join(uploaded) or "(a 997: none owed)")
                    except MlcError as exc:
                        failures += 1
                        table.add_row(partner, remote.name, "", f"[red]failed: {exc}[/red]", "")
                outbox = [f.name for f in store.list_files(f"{partner}/outbox")]
                console.print(f"{partner}/outbox now holds: {', '.join(outbox) or 'nothing'}")
    Console().print(table)
    if failures:
        raise MlcError(f"demo: {failures} file(s) failed")


COMMANDS = [demo]
