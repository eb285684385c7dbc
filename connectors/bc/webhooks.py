"""Business Central webhook subscriptions and the notifications they bring.

    create   POST   api/v2.0/subscriptions {notificationUrl, resource, clientState} -> 201
             (BC first calls notificationUrl?validationToken=X and wants X echoed with 200)
    list     GET    api/v2.0/subscriptions
    renew    PATCH  api/v2.0/subscriptions('{id}') with If-Match -> 200, new expirationDateTime
    delete   DELETE api/v2.0/subscriptions('{id}') with If-Match -> 204

Subscriptions expire after three days; `renew_expiring` renews those that would expire within
a margin. Notifications carry no payload: `parse_notifications` checks them (clientState,
compared in constant time) and `Subscriptions.records` fetches what a notification points at,
refusing any resource outside the configured environment and company so a forged notification
cannot make the connector send its token elsewhere.
"""

from __future__ import annotations

import builtins
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.bc.auth import SYSTEM
from connectors.bc.odata import DOCUMENT_LINES, odata_string, query
from engine.errors import AuthenticationError, ConfigError, ConflictError, NotFoundError, ProtocolError

if TYPE_CHECKING:
    from connectors.bc.client import BcConnector

WEBHOOK_SETS = ("salesInvoices", "salesOrders", "customers", "items", "vendors")
"""Entity sets of this connector that BC can watch (purchaseOrders cannot: poll them)."""

CHANGE_TYPES = ("created", "updated", "deleted", "collection")

_RESOURCE = re.compile(r"^api/v2\.0/companies\((?P<company>[^)/]*)\)/(?P<entity>\w+)(?:\((?P<key>[^)/]*)\))?(?:\?|$)")


def _parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is not a date-time string: {value!r}", system=SYSTEM)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProtocolError(f"{what} is not an ISO date-time: {value!r}", system=SYSTEM) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Subscription:
    """One webhook subscription as BC stores it."""

    id: str
    notification_url: str
    resource: str
    client_state: str
    expires: datetime
    etag: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        """Read a subscription object; a ProtocolError names what is missing."""
        missing = [k for k in ("subscriptionId", "notificationUrl", "resource", "expirationDateTime") if k not in data]
        if missing:
            raise ProtocolError(f"subscription object lacks {', '.join(missing)}: {sorted(data)}", system=SYSTEM)
        return cls(
            id=str(data["subscriptionId"]),
            notification_url=str(data["notificationUrl"]),
            resource=str(data["resource"]),
            client_state=str(data.get("clientState") or ""),
            expires=_parse_time(data["expirationDateTime"], "expirationDateTime"),
            etag=data.get("@odata.etag"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Notification:
    """One entry of a notification POST (no payload: fetch `resource`)."""

    subscription_id: str
    client_state: str
    expires: datetime
    resource: str
    change_type: str
    last_modified: datetime


def parse_notifications(body: bytes | str, *, client_state: str | None = None) -> list[Notification]:
    """The entries of a notification body; with `client_state`, every entry must carry it."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"notification body is not JSON: {str(body)[:80]!r}", system=SYSTEM) from exc
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProtocolError("notification body has no 'value' list", system=SYSTEM)
    result: list[Notification] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ProtocolError(f"notification value[{index}] is not an object", system=SYSTEM)
        state = str(item.get("clientState") or "")
        if client_state is not None and not hmac.compare_digest(state.encode(), client_state.encode()):
            raise AuthenticationError(f"notification value[{index}] carries a wrong clientState", system=SYSTEM)
        change = item.get("changeType")
        if change not in CHANGE_TYPES:
            raise ProtocolError(
                f"notification value[{index}] has changeType {change!r}; valid: {', '.join(CHANGE_TYPES)}",
                system=SYSTEM,
            )
        result.append(
            Notification(
                subscription_id=str(item.get("subscriptionId", "")),
                client_state=state,
                expires=_parse_time(item.get("expirationDateTime"), f"value[{index}].expirationDateTime"),
                resource=str(item.get("resource", "")),
                change_type=str(change),
                last_modified=_parse_time(item.get("lastModifiedDateTime"), f"value[{index}].lastModifiedDateTime"),
            )
        )
    return result


class Subscriptions:
    """Webhook subscriptions of one connector's environment (see the module docstring)."""

    def __init__(self, connector: BcConnector, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.connector = connector
        self.now = now

    def resource_for(self, entity: str) -> str:
        """The `resource` value watching `entity` of the configured company."""
        if entity not in WEBHOOK_SETS:
            raise ConfigError(
                f"bc: entity set {entity!r} cannot be watched by a webhook (poll it instead); "
                f"valid: {', '.join(WEBHOOK_SETS)}"
            )
        return f"/api/v2.0/{self.connector.config.company_path}/{entity}"

    def create(self, entity: str, notification_url: str, client_state: str) -> Subscription:
        """Subscribe `notification_url` to changes of `entity` (BC validates the URL first)."""
        self.connector.add_secret(client_state)
        body = {"notificationUrl": notification_url, "resource": self.resource_for(entity), "clientState": client_state}
        response = self.connector.request("POST", "subscriptions", json=body, idempotent=False)
        return Subscription.from_json(self.connector.json(response))

    def list(self) -> builtins.list[Subscription]:
        """Every subscription of the environment."""
        found = [Subscription.from_json(item) for item in self.connector.iterate("subscriptions")]
        for subscription in found:
            self.connector.add_secret(subscription.client_state)
        return found

    def get(self, subscription_id: str) -> Subscription:
        """One subscription by id."""
        response = self.connector.request("GET", self._path(subscription_id))
        return Subscription.from_json(self.connector.json(response))

    def renew(self, subscription: Subscription) -> Subscription:
        """Extend a subscription by PATCH with If-Match (BC validates the URL again).

        A stale ETag is re-read once before giving up with ConflictError.
        """
        body = {
            "notificationUrl": subscription.notification_url,
            "resource": subscription.resource,
            "clientState": subscription.client_state,
        }
        try:
            return self._patch(subscription.id, body, subscription.etag)
        except ConflictError:
            fresh = self.get(subscription.id)
        return self._patch(subscription.id, body, fresh.etag)

    def delete(self, subscription: Subscription) -> None:
        """Remove a subscription (DELETE with If-Match)."""
        headers = {"If-Match": subscription.etag or "*"}
        self.connector.request("DELETE", self._path(subscription.id), headers=headers)

    def renew_expiring(self, within: timedelta) -> builtins.list[Subscription]:
        """Renew every subscription expiring within `within` from now; return the renewed ones."""
        deadline = self.now() + within
        return [self.renew(s) for s in self.list() if s.expires <= deadline]

    def records(self, notification: Notification) -> builtins.list[dict[str, Any]]:
        """The records a notification points at, lines expanded; none for `deleted`.

        A single record that disappeared since the notification yields nothing.
        """
        if notification.change_type == "deleted":
            return []
        config = self.connector.config
        resource = notification.resource
        if resource.startswith(("http://", "https://")):
            if not resource.startswith(config.environment_root):
                raise ProtocolError(
                    f"notification resource {resource!r} is outside the configured environment "
                    f"{config.environment_root}",
                    system=SYSTEM,
                )
            resource = resource[len(config.environment_root) :]
        resource = resource.lstrip("/")
        match = _RESOURCE.match(resource)
        if match is None or match["company"] != config.company_id:
            raise ProtocolError(
                f"notification resource {notification.resource!r} is not an entity set of company {config.company_id}",
                system=SYSTEM,
            )
        entity, key = match["entity"], match["key"]
        lines = DOCUMENT_LINES.get(entity, "")
        if key is not None:
            try:
                return [self.connector.get(entity, key.strip("'"))]
            except NotFoundError:
                return []
        url = config.environment_root + resource
        if lines:
            url += ("&" if "?" in url else "?") + query({"$expand": lines})
        return list(self.connector.iterate(url))

    def _patch(self, subscription_id: str, body: dict[str, Any], etag: str | None) -> Subscription:
        headers = {"If-Match": etag or "*"}
        response = self.connector.request("PATCH", self._path(subscription_id), json=body, headers=headers)
        return Subscription.from_json(self.connector.json(response))

    @staticmethod
    def _path(subscription_id: str) -> str:
        return f"subscriptions({odata_string(subscription_id)})"
