"""POST /webhooks/cleo/<route>: files pushed by a Cleo HTTP action, with the shared secret."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from webhook_support import PUSH_SECRET, SECRETS, edi_856

from engine.runtime import Runtime
from engine.store.models import artifact_chunks
from engine.webhooks import WebhookSettings, build_app
from engine.webhooks.settings import DEFAULT_MAX_PUSH_BYTES

ROUTE = "cleo-856-to-gp"
PUSH = f"/webhooks/cleo/{ROUTE}"
AUTH = {"X-MLC-Secret": PUSH_SECRET}


def test_a_pushed_file_becomes_a_file_job_of_the_partner_its_isa_sender_names(client: httpx.Client, runtime: Runtime) -> None:
    content = edi_856()
    answer = client.post(PUSH, content=content, headers=AUTH, params={"name": "856_UNIT-SHP-1.edi"})

    assert answer.status_code == 202
    assert answer.json() == {"created": True, "job": answer.json()["job"], "partner": "globex", "name": "856_UNIT-SHP-1.edi"}
    job = runtime.store.get(answer.json()["job"])
    assert (job.route, job.kind, job.partner) == (ROUTE, "file", "globex")
    stored = runtime.store.artifact(job.id, "input")
    assert stored is not None and stored.content == content
    [entry] = runtime.store.ledger_for_file("push:856_UNIT-SHP-1.edi")
    assert entry.sha256 == hashlib.sha256(content).hexdigest()


def test_the_same_file_pushed_again_is_200_and_changes_nothing(client: httpx.Client, runtime: Runtime) -> None:
    first = client.post(PUSH, content=edi_856(), headers=AUTH)
    again = client.post(PUSH, content=edi_856(), headers=AUTH)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["created"] is False and again.json()["name"] == first.json()["name"]
    assert first.json()["name"].startswith("push-") and first.json()["name"].endswith(".edi")
    assert len(runtime.store.jobs()) == 1


def test_the_partner_may_be_named_and_must_match_the_isa_sender(client: httpx.Client, runtime: Runtime) -> None:
    named = client.post(PUSH, content=edi_856(), headers=AUTH, params={"partner": "globex"})
    wrong = client.post(PUSH, content=edi_856(), headers=AUTH, params={"partner": "initech"})

    assert named.status_code == 202
    assert wrong.status_code == 422
    assert "ISA sender ZZ/GLOBEXSUP is partner globex, not initech" in wrong.text


@pytest.mark.parametrize(
    ("headers", "params", "content", "status", "reason"),
    [
        pytest.param({}, {}, edi_856(), 401, "X-MLC-Secret header is missing or wrong", id="no-secret"),
        pytest.param({"X-MLC-Secret": "unit-push-secret-0123456780"}, {}, edi_856(), 401, "missing or wrong", id="wrong-secret"),
        pytest.param({"X-MLC-Secret": ""}, {}, edi_856(), 401, "missing or wrong", id="empty-secret"),
        pytest.param(AUTH, {}, b"", 400, "the pushed file is empty", id="empty-file"),
        pytest.param(AUTH, {}, b'{"not": "x12"}', 400, "not X12: ", id="json"),
        pytest.param(AUTH, {}, edi_856(sender="NOBODY"), 422, "no partner has ISA sender ZZ/NOBODY", id="unknown-sender"),
        pytest.param(AUTH, {"partner": "nobody"}, edi_856(), 422, "no partner 'nobody'", id="unknown-partner"),
        pytest.param(AUTH, {"name": "../../etc/passwd"}, edi_856(), 400, "not a plain name", id="path-in-name"),
        pytest.param(AUTH, {"name": "in/856.edi"}, edi_856(), 400, "not a plain name", id="folder-in-name"),
    ],
)
def test_a_push_that_is_not_acceptable_is_refused_with_a_clear_reason(
    client: httpx.Client, runtime: Runtime, headers: dict[str, str], params: dict[str, str], content: bytes, status: int, reason: str
) -> None:
    answer = client.post(PUSH, content=content, headers=headers, params=params)

    assert answer.status_code == status, answer.text
    assert reason in answer.text and PUSH_SECRET not in answer.text
    assert runtime.store.jobs() == []


def test_a_partner_not_taking_part_in_the_route_is_refused(client: httpx.Client, runtime: Runtime) -> None:
    acme = edi_856(sender="ACMERETAIL")
    answer = client.post(PUSH, content=acme, headers=AUTH)

    assert answer.status_code == 422
    assert "partner acme does not take part in route cleo-856-to-gp" in answer.text


@pytest.mark.parametrize("route", ["bc-invoices-to-810", "cleo-850-to-bc-sales-orders", "no-such-route"])
def test_a_route_without_a_push_trigger_is_404(client: httpx.Client, route: str) -> None:
    answer = client.post(f"/webhooks/cleo/{route}", content=edi_856(), headers=AUTH)

    assert answer.status_code == 404
    assert "takes no pushes" in answer.text


# -- size limits and streaming ------------------------------------------------------------------------


@pytest.fixture
def small_limit(server: tuple[str, Any], runtime: Runtime, settings: WebhookSettings) -> Iterator[httpx.Client]:
    """The app over settings with server.max_push_bytes = 64 KiB, served on loopback."""
    url, mount = server
    mount.app = build_app(runtime, dataclasses.replace(settings, max_push_bytes=64 * 1024), secrets=SECRETS.__getitem__)
    with httpx.Client(base_url=url, timeout=30) as http:
        yield http
    mount.app = None


def _padded(size: int) -> bytes:
    content = edi_856()
    return content + b"\n" * (size - len(content))


def test_a_push_over_the_configured_cap_is_413_declared_or_streamed_and_nothing_is_taken(small_limit: httpx.Client, runtime: Runtime) -> None:
    too_big = _padded(64 * 1024 + 1)
    declared = small_limit.post(PUSH, content=too_big, headers=AUTH, params={"name": "big.edi"})
    chunked = small_limit.post(PUSH, content=iter([too_big[:40000], too_big[40000:]]), headers=AUTH, params={"name": "big.edi"})

    assert declared.status_code == 413 and "server.max_push_bytes" in declared.text
    assert chunked.status_code == 413
    assert runtime.store.jobs() == [] and runtime.store.ledger_for_file("push:big.edi") == []
    fits = small_limit.post(PUSH, content=_padded(64 * 1024), headers=AUTH, params={"name": "fits.edi"})
    assert fits.status_code == 202


def test_the_cap_comes_from_connections_yaml_server(example_project: Any) -> None:
    assert WebhookSettings.for_project(example_project).max_push_bytes == DEFAULT_MAX_PUSH_BYTES == 20 * 1024 * 1024
    project = dataclasses.replace(example_project, server={**(example_project.server or {}), "max_push_bytes": 4096})
    assert WebhookSettings.for_project(project).max_push_bytes == 4096


def test_a_large_push_is_streamed_into_the_store_in_chunks_and_into_the_same_ledger(client: httpx.Client, runtime: Runtime) -> None:
    content = _padded(3 * 1024 * 1024 + 17)  # past the 1 MiB spool: on disk, then four pieces
    answer = client.post(PUSH, content=iter([content[i : i + 65536] for i in range(0, len(content), 65536)]), headers=AUTH, params={"name": "856_big.edi"})

    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job"]
    with runtime.store.transaction() as tx:
        pieces = tx.connection.execute(select(artifact_chunks.c.seq, func.length(artifact_chunks.c.content)).order_by(artifact_chunks.c.seq)).all()
    assert [size for _seq, size in pieces] == [1024 * 1024] * 3 + [17]
    stored = runtime.store.artifact(job_id, "input")
    assert stored is not None and stored.content == content and stored.sha256 == hashlib.sha256(content).hexdigest()
    [entry] = runtime.store.ledger_for_file("push:856_big.edi")
    assert entry.sha256 == stored.sha256 and entry.job_id == job_id and entry.state.value == "received"
