"""Keeping the Business Central subscriptions the routes' webhook triggers ask for.

`SubscriptionKeeper.ensure()` runs when the service starts and then periodically (the
scheduler, hourly): for each BC connection with webhook triggers it lists the environment's
subscriptions, keeps those whose notificationUrl is ours, and for each watched entity set:

- none yet: creates one (BC first calls our URL with a validationToken, which the webhook app
  answers, so the server must be listening);
- one expiring within `renew_within` (default one day; BC subscriptions last three): renews it
  (PATCH with If-Match; BC validates the URL again);
- one whose clientState is not the current secret (the secret was rotated): replaces it
  (delete, create), since a renewal cannot be trusted to carry the new state;
- more than one (two services that raced before leases existed): deletes the extras.

Subscriptions of ours for entity sets no route watches any more are left to expire. Each
connection is kept under the store lease `subscriptions:<connection>`, so several services on
one PostgreSQL store do not create duplicates. A failure (BC down, the handshake refused
because the public URL is not reachable) is reported in the result, logged and audited; the
next run tries again, and the routes' polls keep documents flowing meanwhile.

The connector is reached through `runtime.systems.connector(name).subscriptions` (the BC
connector's `connectors.bc.webhooks.Subscriptions`), duck-typed by `SubscriptionApi`.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import MlcError
from engine.webhooks.settings import Watch, WebhookSettings

if TYPE_CHECKING:
    from engine.runtime import Runtime

__all__ = ["CHECK_EVERY_SECONDS", "RENEW_WITHIN", "SubscriptionApi", "SubscriptionChange", "SubscriptionKeeper"]

log = logging.getLogger(__name__)

RENEW_WITHIN = timedelta(days=1)
"""Renew a subscription when less than this is left of its three days."""

CHECK_EVERY_SECONDS = 3600.0
"""How often the scheduler runs `ensure` (many chances to renew within the last day)."""

LEASE_SECONDS = 300.0


class SubscriptionLike(Protocol):
    """A subscription as the BC connector returns it."""

    @property
    def id(self) -> str: ...
    @property
    def notification_url(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def client_state(self) -> str: ...
    @property
    def expires(self) -> datetime: ...


class SubscriptionApi(Protocol):
    """What this module uses of the BC connector's `subscriptions`."""

    def resource_for(self, entity: str) -> str: ...
    def create(self, entity: str, notification_url: str, client_state: str) -> Any: ...
    def list(self) -> list[Any]: ...
    def renew(self, subscription: Any) -> Any: ...
    def delete(self, subscription: Any) -> None: ...


@dataclass(frozen=True)
class SubscriptionChange:
    """What `ensure` did for one watch: created, renewed, replaced, kept, failed or elsewhere."""

    connection: str
    entity: str
    action: str
    expires: datetime | None = None
    detail: str = ""


class SubscriptionKeeper:
    """Creates and renews the subscriptions of `settings` (module docstring)."""

    def __init__(
        self,
        runtime: Runtime,
        settings: WebhookSettings,
        secrets: Callable[[str], str],
        *,
        renew_within: timedelta = RENEW_WITHIN,
        holder: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.secrets = secrets
        self.renew_within = renew_within
        self.holder = holder or f"{runtime.worker_id}/subscriptions"

    def ensure(self) -> list[SubscriptionChange]:
        """Create, renew or replace what is needed, for every BC connection; what was done."""
        changes: list[SubscriptionChange] = []
        for connection in self.settings.bc_connections():
            lease = f"subscriptions:{connection}"
            watches = self.settings.watches_of(connection)
            try:
                won = self.runtime.store.try_lease(lease, self.holder, LEASE_SECONDS, now=self.runtime.now())
            except MlcError as exc:
                changes += [self._failed(watch, exc) for watch in watches]
                continue
            if not won:
                changes += [SubscriptionChange(connection, w.entity, "elsewhere", detail="another service keeps them now") for w in watches]
                continue
            try:
                changes += self._ensure_connection(connection, watches)
            finally:
                with contextlib.suppress(MlcError):  # it expires by itself
                    self.runtime.store.release_lease(lease, self.holder)
        for change in changes:
            self._report(change)
        return changes

    def _ensure_connection(self, connection: str, watches: list[Watch]) -> list[SubscriptionChange]:
        try:
            api: SubscriptionApi = self.runtime.systems.connector(connection).subscriptions
            url = self.settings.notification_url(connection)
            state = self.settings.secret(connection, self.secrets)
            ours = [s for s in api.list() if s.notification_url == url]
        except MlcError as exc:
            return [self._failed(watch, exc) for watch in watches]
        changes: list[SubscriptionChange] = []
        for watch in watches:
            try:
                changes.append(self._ensure_one(api, watch, url, state, ours))
            except MlcError as exc:
                changes.append(self._failed(watch, exc))
        return changes

    def _ensure_one(self, api: SubscriptionApi, watch: Watch, url: str, state: str, ours: list[Any]) -> SubscriptionChange:
        wanted = api.resource_for(watch.entity).strip("/")
        mine = [s for s in ours if _same_resource(s.resource, wanted)]
        for extra in mine[1:]:
            api.delete(extra)
        if not mine:
            made = api.create(watch.entity, url, state)
            return SubscriptionChange(watch.connection, watch.entity, "created", made.expires)
        current = mine[0]
        if not hmac.compare_digest(str(current.client_state).encode(), state.encode()):
            api.delete(current)
            made = api.create(watch.entity, url, state)
            return SubscriptionChange(watch.connection, watch.entity, "replaced", made.expires, "the webhook secret changed")
        if current.expires - self.runtime.now() <= self.renew_within:
            renewed = api.renew(current)
            return SubscriptionChange(watch.connection, watch.entity, "renewed", renewed.expires)
        return SubscriptionChange(watch.connection, watch.entity, "kept", current.expires)

    def _failed(self, watch: Watch, exc: MlcError) -> SubscriptionChange:
        return SubscriptionChange(watch.connection, watch.entity, "failed", detail=self.runtime.mask(str(exc)))

    def _report(self, change: SubscriptionChange) -> None:
        what = f"BC subscription {change.connection}/{change.entity}"
        if change.action == "failed":
            log.warning("%s could not be kept: %s (retried later; the route's polls still run)", what, change.detail)
        elif change.action in ("created", "renewed", "replaced"):
            log.info("%s %s, expires %s", what, change.action, change.expires)
        if change.action in ("kept", "elsewhere"):
            return
        detail: dict[str, Any] = {"connection": change.connection, "entity": change.entity, "action": change.action}
        if change.expires is not None:
            detail["expires"] = change.expires.isoformat()
        if change.detail:
            detail["message"] = change.detail
        try:
            self.runtime.store.audit(None, "subscription", key=f"{change.connection}/{change.entity}", detail=detail)
        except MlcError as exc:
            log.warning("could not audit %s: %s", what, exc)


def _same_resource(resource: str, wanted: str) -> bool:
    """Whether a stored subscription resource (relative or absolute) is `wanted` (relative)."""
    return resource.strip("/").lower().endswith(wanted.lower())
