"""Webhook subscriptions of the Business Central emulator and the notifications it sends.

Behaviour follows the reference (section 1.4):

- the notificationUrl must be https (http on loopback only with the emulator setting
  `allow_loopback_http`, which the tests and the demo turn on); clientState has at most 250
  characters (the subscription page's MaxLength);
- creating or renewing a subscription first POSTs `notificationUrl?validationToken=X`; only a
  200 answer whose body is X keeps it (otherwise 400 and nothing stored);
- subscriptions expire `subscription_lifetime` (3 days) after creation or renewal;
- a change to a watched record is queued; once `notification_window` has passed since the
  first queued change, each subscriber gets one POST with `{"value": [...]}` (no payload,
  just subscriptionId, clientState, expirationDateTime, resource, changeType,
  lastModifiedDateTime); more than `collection_threshold` records for one subscription in
  one window become a single `collection` notification with a filtered collection URL;
- a subscriber answering 408, 429, 5xx (or not reachable) is retried later, for up to
  `notification_retry_for`; any other non-2xx answer deletes its subscriptions.

`deliver_pending()` does the sending (tests call it; `start()` runs it from a daemon thread).
No state lock is held while HTTP calls are in flight.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from connectors.bc.emulator.odata import ODataError, bad_request, format_datetime
from connectors.bc.emulator.schema import ENTITY_SETS

if TYPE_CHECKING:
    from connectors.bc.emulator.state import BcEmulatorState

RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
_RESOURCE = re.compile(r"api/v2\.0/companies\((?P<company>[^)/]+)\)/(?P<entity>\w+)$")
SYSTEM_USER = "00000000-0000-0000-0000-000000000001"
MAX_CLIENT_STATE = 250
"""clientState's MaxLength in the subscription page's metadata (reference 1.4 and section 6)."""


@dataclass
class Subscription:
    """A stored webhook subscription."""

    id: str
    notification_url: str
    resource: str
    entity: str
    client_state: str
    expires: datetime
    created: datetime
    modified: datetime
    version: int = 1

    def etag(self) -> str:
        """The subscription's weak ETag."""
        return 'W/"' + base64.b64encode(f"'{self.id[:8]};{self.version}L;'".encode()).decode() + '"'

    def public(self) -> dict[str, Any]:
        """The subscription object as BC serves it."""
        return {
            "@odata.etag": self.etag(),
            "subscriptionId": self.id,
            "notificationUrl": self.notification_url,
            "resource": self.resource,
            "timestamp": self.version,
            "userId": SYSTEM_USER,
            "lastModifiedDateTime": format_datetime(self.modified),
            "clientState": self.client_state,
            "expirationDateTime": format_datetime(self.expires),
            "systemCreatedAt": format_datetime(self.created),
            "systemCreatedBy": SYSTEM_USER,
            "systemModifiedAt": format_datetime(self.modified),
            "systemModifiedBy": SYSTEM_USER,
        }


@dataclass
class _Change:
    subscription_id: str
    entity: str
    record_id: str
    change_type: str
    at: datetime


@dataclass
class _Retry:
    url: str
    items: list[dict[str, Any]]
    first_failure: datetime
    next_attempt: datetime


@dataclass
class Delivery:
    """One notification POST and how it went (kept in `Notifier.deliveries` for tests)."""

    url: str
    items: list[dict[str, Any]]
    status: int | None
    outcome: str
    error: str = field(default="")


class Notifier:
    """Subscriptions, pending changes and delivery of one emulator state."""

    def __init__(self, state: BcEmulatorState, *, transport: httpx.BaseTransport | None = None) -> None:
        self.state = state
        self.transport = transport
        self.subscriptions: dict[str, Subscription] = {}
        self.pending: list[_Change] = []
        self.retries: list[_Retry] = []
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- subscriptions ------------------------------------------------------------------------

    def validate_request(self, body: Any, *, existing: Subscription | None = None) -> tuple[str, str, str, str]:
        """(notificationUrl, resource, entity, clientState) of a POST/PATCH body; 400 if invalid."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        unknown = set(body) - {"notificationUrl", "resource", "clientState", "@odata.etag"}
        if unknown:
            raise bad_request(
                f"The property '{sorted(unknown)[0]}' does not exist on type 'Microsoft.NAV.subscriptions'."
            )
        url = body.get("notificationUrl", existing.notification_url if existing else None)
        resource = body.get("resource", existing.resource if existing else None)
        client_state = body.get("clientState", existing.client_state if existing else "")
        url = self._check_url(url)
        if not isinstance(client_state, str) or len(client_state) > MAX_CLIENT_STATE:
            raise bad_request(
                f"The length of the string, {len(client_state) if isinstance(client_state, str) else '?'}, exceeds the "
                f"maximum allowed length of {MAX_CLIENT_STATE} for clientState.",
                "Application_StringExceededLength",
            )
        if not isinstance(resource, str):
            raise bad_request("resource is required, e.g. /api/v2.0/companies({id})/salesInvoices.")
        match = _RESOURCE.search(resource.split("?")[0])
        if match is None or match["company"].lower() != self.state.company.get("id"):
            raise bad_request(
                f"The resource {resource!r} is not a v2.0 entity set of a company of this environment.",
                "BadRequest_ResourceNotFound",
            )
        es = ENTITY_SETS.get(match["entity"])
        if es is None or not es.webhooks:
            raise bad_request(f"The resource '{match['entity']}' does not support webhook subscriptions.")
        if existing and existing.resource != resource:
            raise bad_request("The resource of a subscription cannot be changed.")
        return url, resource, es.name, client_state

    def _check_url(self, url: Any) -> str:
        """400 unless `url` is an absolute https URL (or, with the emulator setting
        `allow_loopback_http`, an http URL on a loopback host: the tests' and the demo's)."""
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request(f"notificationUrl must be an absolute https URL, got {url!r}.")
        if parts.scheme == "http":
            loopback = parts.hostname in ("localhost", "127.0.0.1", "::1") or parts.hostname.startswith("127.")
            if not (loopback and self.state.config.allow_loopback_http):
                raise bad_request(
                    f"The notificationUrl {url!r} must use https; http is not accepted "
                    "(the emulator takes http on a loopback host only with allow_loopback_http)."
                )
        return str(url)

    def handshake(self, url: str) -> str | None:
        """POST `url?validationToken=X`; None when the subscriber echoed X with 200, else why not."""
        token = secrets.token_urlsafe(24)
        target = f"{url}{'&' if '?' in url else '?'}validationToken={quote(token)}"
        try:
            with httpx.Client(transport=self.transport, timeout=self.state.config.http_timeout) as client:
                response = client.post(target)
        except httpx.HTTPError as exc:
            return f"the notification URL could not be reached ({type(exc).__name__})"
        if response.status_code != 200:
            return f"the notification URL answered HTTP {response.status_code} to the validation request"
        if response.text.strip().strip('"') != token:
            return "the notification URL did not echo the validation token"
        return None

    def add(self, url: str, resource: str, entity: str, client_state: str) -> Subscription:
        """Store a validated subscription."""
        with self.state.lock:
            self.purge_expired()
            if len(self.subscriptions) >= self.state.config.max_subscriptions:
                raise bad_request(f"The maximum of {self.state.config.max_subscriptions} subscriptions is reached.")
            now = self.state.clock.now()
            subscription = Subscription(
                id=uuid.uuid4().hex,
                notification_url=url,
                resource=resource,
                entity=entity,
                client_state=client_state,
                expires=now + self.state.config.subscription_lifetime,
                created=now,
                modified=now,
            )
            self.subscriptions[subscription.id] = subscription
            return subscription

    def require(self, subscription_id: str) -> Subscription:
        """A live subscription; 404 otherwise."""
        with self.state.lock:
            self.purge_expired()
            found = self.subscriptions.get(subscription_id)
            if found is None:
                raise ODataError(
                    404, "BadRequest_ResourceNotFound", f"The subscription '{subscription_id}' does not exist."
                )
            return found

    def check_etag(self, subscription: Subscription, if_match: str | None) -> None:
        """400 without If-Match, 409 with a stale one."""
        if not if_match:
            raise ODataError(
                400,
                "BadRequest_InvalidToken",
                "Could not validate the client concurrency token required by the service. "
                "Please provide a valid token in the client request.",
            )
        if if_match.strip() not in ("*", subscription.etag()):
            raise ODataError(409, "Request_EntityChanged", "Another user has already changed the record.")

    def renew(self, subscription: Subscription, url: str, client_state: str) -> Subscription:
        """Extend a validated subscription by the full lifetime."""
        with self.state.lock:
            now = self.state.clock.now()
            subscription.notification_url = url
            subscription.client_state = client_state
            subscription.expires = now + self.state.config.subscription_lifetime
            subscription.modified = now
            subscription.version += 1
            return subscription

    def remove(self, subscription_id: str) -> None:
        """Delete a subscription and whatever was pending for it."""
        with self.state.lock:
            self.subscriptions.pop(subscription_id, None)
            self.pending = [c for c in self.pending if c.subscription_id != subscription_id]

    def purge_expired(self) -> None:
        """Forget subscriptions past their expirationDateTime."""
        with self.state.lock:
            now = self.state.clock.now()
            for subscription_id in [s.id for s in self.subscriptions.values() if s.expires <= now]:
                self.remove(subscription_id)

    # -- changes and delivery -----------------------------------------------------------------

    def record_change(self, entity: str, record_id: str, change_type: str, at: datetime) -> None:
        """Queue a change for every live subscription watching `entity`."""
        with self.state.lock:
            for subscription in self.subscriptions.values():
                if subscription.entity == entity and subscription.expires > at:
                    self.pending.append(_Change(subscription.id, entity, record_id, change_type, at))

    def deliver_pending(self, *, force: bool = False) -> int:
        """Send what is due (everything with `force`); return the number of POSTs made."""
        batches = self._collect(force)
        for url, items, retry in batches:
            self._send(url, items, retry)
        return len(batches)

    def _collect(self, force: bool) -> list[tuple[str, list[dict[str, Any]], _Retry | None]]:
        with self.state.lock:
            self.purge_expired()
            now = self.state.clock.now()
            batches: list[tuple[str, list[dict[str, Any]], _Retry | None]] = []
            for retry in list(self.retries):
                if force or retry.next_attempt <= now:
                    self.retries.remove(retry)
                    batches.append((retry.url, retry.items, retry))
            window = timedelta(seconds=self.state.config.notification_window)
            if self.pending and (force or self.pending[0].at + window <= now):
                by_url: dict[str, list[dict[str, Any]]] = {}
                for subscription_id in dict.fromkeys(c.subscription_id for c in self.pending):
                    subscription = self.subscriptions.get(subscription_id)
                    if subscription is None:
                        continue
                    changes = [c for c in self.pending if c.subscription_id == subscription_id]
                    by_url.setdefault(subscription.notification_url, []).extend(self._items(subscription, changes))
                self.pending.clear()
                batches += [(url, items, None) for url, items in by_url.items()]
            return batches

    def _items(self, subscription: Subscription, changes: list[_Change]) -> list[dict[str, Any]]:
        company = f"api/v2.0/companies({self.state.company['id']})/{subscription.entity}"
        latest: dict[str, _Change] = {}
        for change in changes:
            earlier = latest.get(change.record_id)
            if earlier is not None and earlier.change_type == "created" and change.change_type == "updated":
                continue
            latest[change.record_id] = change
        base = {
            "subscriptionId": subscription.id,
            "clientState": subscription.client_state,
            "expirationDateTime": format_datetime(subscription.expires),
        }
        last = max(c.at for c in changes)
        if len(latest) > self.state.config.collection_threshold:
            since = format_datetime(min(c.at for c in changes) - timedelta(milliseconds=1))
            resource = f"{company}?$filter=lastModifiedDateTime%20gt%20{since}"
            return [
                {
                    **base,
                    "resource": resource,
                    "changeType": "collection",
                    "lastModifiedDateTime": format_datetime(last),
                }
            ]
        return [
            {
                **base,
                "resource": f"{company}({change.record_id})",
                "changeType": change.change_type,
                "lastModifiedDateTime": format_datetime(change.at),
            }
            for change in latest.values()
        ]

    def _send(self, url: str, items: list[dict[str, Any]], retry: _Retry | None) -> None:
        status: int | None = None
        error = ""
        try:
            with httpx.Client(transport=self.transport, timeout=self.state.config.http_timeout) as client:
                status = client.post(url, json={"value": items}).status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        with self.state.lock:
            now = self.state.clock.now()
            if status is not None and 200 <= status < 300:
                outcome = "delivered"
            elif status is None or status in RETRY_STATUSES:
                first = retry.first_failure if retry else now
                if now - first < self.state.config.notification_retry_for:
                    self.retries.append(_Retry(url, items, first, now + self.state.config.notification_retry_delay))
                    outcome = "retry"
                else:
                    outcome = "dropped"
            else:
                for subscription_id in {item["subscriptionId"] for item in items}:
                    self.remove(subscription_id)
                outcome = "deleted"
            self.deliveries.append(Delivery(url, items, status, outcome, error))

    # -- background delivery ------------------------------------------------------------------

    def start(self, tick: float = 0.2) -> None:
        """Deliver due notifications from a daemon thread every `tick` seconds."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(tick):
                try:
                    self.deliver_pending()
                except Exception:  # the emulator must keep serving whatever a subscriber does
                    logging.getLogger(__name__).exception("webhook delivery failed")

        self._thread = threading.Thread(target=run, name="bc-emulator-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the delivery thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
