"""`mlc demo`: the README's main job, run as a user runs it (a new process, a project on disk)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROJECT_PARTS = ("connections.yaml", "partners", "guides", "mappings", "schedules")
ROUTES = (
    "bc-invoices-to-810", "bc-sales-orders-to-850", "bc-purchase-orders-to-850", "cleo-850-to-bc-sales-orders",
    "cleo-855-to-bc-purchase-orders", "gp-purchase-orders-to-850", "gp-vendors-to-json", "gp-purchase-orders-to-json",
    "cleo-856-to-gp", "cleo-997-inbound",
)


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_demo_runs_every_route_against_the_emulators_and_writes_nothing_into_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, project / part)
        else:
            shutil.copy2(source, project / part)
    (tmp_path / "tmp").mkdir()
    before = _snapshot(project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env["TMPDIR"] = str(tmp_path / "tmp")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mlc"), "demo", "--project", str(project)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout
    for route in ROUTES:
        assert route in table
    for written in ("acme/outbox/810_acme_103001.edi", "contoso/outbox/810_contoso_103002.edi", "globex/outbox/850_globex_106001.edi",
                    "globex/outbox/850_globex_PO2101.edi", "initech/outbox/po_initech_PO2102.json", "acme/outbox/997_acme_000000701.edi"):
        assert written in table
    assert "created salesOrders" in table and "created purchaseReceipts" in table
    assert "held for review as designed" in table and "(1900-S) quantity" in table and "mlc jobs --state review" in table
    assert "failed as designed" in table and "AC-LAMP-99" in table
    assert "acknowledged by GLOBEXSUP: A" in table and "acknowledged by 123456789: A" in table
    assert "every flow worked" in result.stderr
    assert "outbound groups still without a 997: 0" in result.stderr
    # the state store went to a new temporary directory; the project is untouched
    assert len(list((tmp_path / "tmp").glob("mlc-demo-*/mlc.db"))) == 1
    assert _snapshot(project) == before


def test_demo_sftp_runs_the_cleo_side_over_a_local_sshd(tmp_path: Path, needs_sshd: None) -> None:
    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env["TMPDIR"] = str(tmp_path / "tmp")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mlc"), "demo", "--sftp", "--project", str(REPO)],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "connection cleo: Cleo mailboxes over SFTP" in result.stderr
    for written in ("acme/outbox/810_acme_103001.edi", "globex/outbox/850_globex_PO2101.edi", "acme/outbox/997_acme_000000701.edi"):
        assert written in result.stdout
    assert "failed as designed" in result.stdout and "every flow worked" in result.stderr
    (kept,) = (tmp_path / "tmp").glob("mlc-demo-*/cleo/mailbox")
    assert (kept / "acme" / "outbox" / "810_acme_103001.edi").is_file()
    assert (kept / "acme" / "archive" / "850_ACME-PO-7001.edi").is_file()


def test_demo_serve_keeps_the_console_up_on_the_demo_store_until_interrupted(tmp_path: Path) -> None:
    import queue
    import re
    import signal
    import threading

    import httpx

    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env["TMPDIR"] = str(tmp_path / "tmp")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlc"), "demo", "--project", str(REPO), "--serve", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr or []], daemon=True).start()
    try:
        seen = []
        found = None
        while found is None:
            line = lines.get(timeout=180)
            seen.append(line)
            found = re.search(r"operator console: (http://\S+)/console/\s+user demo, password (\S+)", line)
        url, password = found.group(1), found.group(2)
        with httpx.Client(base_url=url, timeout=30) as client:
            login = client.get("/console/login")
            token = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert token
            assert client.post("/console/login", data={"csrf": token.group(1), "name": "demo", "password": password}).status_code == 303
            page = client.get("/console/jobs", params={"q": "ACME-PO-7002"})
            assert page.status_code == 200 and "AC-LAMP-99" in page.text, "the demo's dead 850 is found by its PO number"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    rest = "".join(seen) + "".join(lines.queue)
    assert process.returncode == 0, rest
    assert "stopped" in rest and "every flow worked" in rest
