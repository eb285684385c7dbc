"""SubscriptionKeeper: BC subscriptions created, kept, renewed within a day of expiry, replaced
when the secret changed, duplicates removed, failures reported; one keeper per lease.

BC is an in-memory `subscriptions` API here (the end-to-end tests run the same keeper against
the BC emulator, handshake included).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from store_support import T0, FakeClock
from webhook_support import CLIENT_STATE, COMPANY, REPO_ROOT, SECRETS

from engine.config.project import Project
from engine.errors import RetriableHttpError
from engine.runtime import Runtime
from engine.runtime.setup import open_runtime
from engine.webhooks import SubscriptionKeeper, WebhookSettings

URL = "https://edi.example.com/webhooks/bc"
LIFETIME = timedelta(days=3)


@dataclasses.dataclass
class Sub:
    id: str
    notification_url: str
    resource: str
    client_state: str
    expires: datetime


class FakeSubscriptions:
    """The BC connector's `subscriptions`, in memory, on the test's clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.subs: dict[str, Sub] = {}
        self.calls: list[str] = []
        self.fail_create: Exception | None = None
        self.fail_list: Exception | None = None

    def resource_for(self, entity: str) -> str:
        return f"/api/v2.0/companies({COMPANY})/{entity}"

    def add(self, entity: str, url: str = URL, state: str = CLIENT_STATE, expires: datetime | None = None) -> Sub:
        sub = Sub(uuid.uuid4().hex, url, self.resource_for(entity), state, expires or self.clock.now + LIFETIME)
        self.subs[sub.id] = sub
        return sub

    def create(self, entity: str, notification_url: str, client_state: str) -> Sub:
        self.calls.append(f"create {entity}")
        if self.fail_create is not None and entity == "salesInvoices":
            raise self.fail_create
        return self.add(entity, notification_url, client_state)

    def list(self) -> list[Sub]:
        self.calls.append("list")
        if self.fail_list is not None:
            raise self.fail_list
        return [dataclasses.replace(s) for s in self.subs.values()]

    def renew(self, sub: Sub) -> Sub:
        self.calls.append(f"renew {sub.resource.rsplit('/', 1)[1]}")
        stored = self.subs[sub.id]
        stored.expires = self.clock.now + LIFETIME
        return stored

    def delete(self, sub: Sub) -> None:
        self.calls.append(f"delete {sub.resource.rsplit('/', 1)[1]}")
        del self.subs[sub.id]

    def of(self, entity: str) -> list[Sub]:
        return [s for s in self.subs.values() if s.resource.endswith("/" + entity) and s.notification_url == URL]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def clocked(tmp_path: Path, example_project: Project, clock: FakeClock) -> Iterator[Runtime]:
    with open_runtime(
        REPO_ROOT, project=example_project, environ={"MLC_STATE_DIR": str(tmp_path)}, database=f"sqlite:///{tmp_path / 'k.db'}",
        secrets=SECRETS.__getitem__, clock=clock,
    ) as opened:
        yield opened


@pytest.fixture
def bc(clocked: Runtime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FakeSubscriptions:
    fake = FakeSubscriptions(clock)
    connector = type("Connector", (), {"subscriptions": fake})()
    monkeypatch.setattr(clocked.systems, "connector", lambda name: connector)
    return fake


def keeper(runtime: Runtime, settings: WebhookSettings, secrets: dict[str, str] = SECRETS) -> SubscriptionKeeper:
    return SubscriptionKeeper(runtime, settings, secrets.__getitem__)


def actions(changes: list[Any]) -> set[tuple[str, str]]:
    return {(c.entity, c.action) for c in changes}


def _audited(runtime: Runtime, entity: str) -> list[str]:
    return [e.detail["action"] for e in runtime.store.audit_trail(f"bc/{entity}") if e.detail]


def test_missing_subscriptions_are_created_with_our_url_and_client_state(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions) -> None:
    changes = keeper(clocked, settings).ensure()

    assert actions(changes) == {("salesInvoices", "created"), ("salesOrders", "created")}
    assert all(c.expires == T0 + LIFETIME for c in changes)
    assert {(s.notification_url, s.client_state) for s in bc.subs.values()} == {(URL, CLIENT_STATE)}
    assert _audited(clocked, "salesInvoices") == ["created"]


def test_subscriptions_with_more_than_a_day_left_are_kept_and_not_audited(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions, clock: FakeClock) -> None:
    keeper(clocked, settings).ensure()
    clock.advance(days=1, hours=23)

    changes = keeper(clocked, settings).ensure()

    assert actions(changes) == {("salesInvoices", "kept"), ("salesOrders", "kept")}
    assert [c for c in bc.calls if c.startswith("renew")] == []
    assert _audited(clocked, "salesOrders") == ["created"]


def test_a_subscription_with_less_than_a_day_left_is_renewed(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions, clock: FakeClock) -> None:
    keeper(clocked, settings).ensure()
    clock.advance(days=2, minutes=1)

    changes = keeper(clocked, settings).ensure()

    assert actions(changes) == {("salesInvoices", "renewed"), ("salesOrders", "renewed")}
    assert {s.expires for s in bc.subs.values()} == {clock.now + LIFETIME}
    assert _audited(clocked, "salesInvoices") == ["created", "renewed"]


def test_a_subscription_with_another_client_state_is_replaced(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions) -> None:
    old = bc.add("salesInvoices", state="the-previous-secret-0123456789")
    bc.add("salesOrders")

    changes = keeper(clocked, settings).ensure()

    assert actions(changes) == {("salesInvoices", "replaced"), ("salesOrders", "kept")}
    assert old.id not in bc.subs
    [new] = bc.of("salesInvoices")
    assert new.client_state == CLIENT_STATE


def test_duplicates_are_deleted_and_other_subscribers_are_left_alone(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions) -> None:
    bc.add("salesInvoices")
    bc.add("salesInvoices")
    bc.add("salesOrders")
    theirs = bc.add("salesInvoices", url="https://someone-else.example.com/hook", state="their-state-0123456789")

    changes = keeper(clocked, settings).ensure()

    assert actions(changes) == {("salesInvoices", "kept"), ("salesOrders", "kept")}
    assert len(bc.of("salesInvoices")) == 1 and theirs.id in bc.subs
    assert bc.calls.count("delete salesInvoices") == 1


def test_a_failure_is_reported_and_audited_and_the_other_watch_still_kept(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions) -> None:
    bc.fail_create = RetriableHttpError(
        "The subscription could not be validated", system="bc", status=503, method="POST", url="https://bc/subscriptions"
    )

    changes = keeper(clocked, settings).ensure()

    assert actions(changes) == {("salesInvoices", "failed"), ("salesOrders", "created")}
    failed = next(c for c in changes if c.action == "failed")
    assert "could not be validated" in failed.detail
    assert _audited(clocked, "salesInvoices") == ["failed"]


def test_when_listing_fails_every_watch_of_the_connection_is_failed(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions) -> None:
    bc.fail_list = RetriableHttpError("down", system="bc", status=504, method="GET", url="https://bc/subscriptions")

    assert actions(keeper(clocked, settings).ensure()) == {("salesInvoices", "failed"), ("salesOrders", "failed")}


def test_a_keeper_that_does_not_hold_the_lease_leaves_the_subscriptions_to_the_one_that_does(
    clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions
) -> None:
    assert clocked.store.try_lease("subscriptions:bc", "another-service", 300, now=T0)

    changes = keeper(clocked, settings).ensure()

    assert actions(changes) == {("salesInvoices", "elsewhere"), ("salesOrders", "elsewhere")}
    assert bc.calls == []


def test_the_lease_is_given_back_after_the_run(clocked: Runtime, settings: WebhookSettings, bc: FakeSubscriptions) -> None:
    keeper(clocked, settings).ensure()

    assert clocked.store.try_lease("subscriptions:bc", "another-service", 300, now=T0)
