"""Business Central notifications -> fetch jobs.

BC posts `{"value": [{subscriptionId, clientState, expirationDateTime, resource, changeType,
lastModifiedDateTime}, ...]}` with no record data (shared/reference/api-shapes.md 1.4):

- every entry must carry our clientState (compared in constant time), else the whole POST is
  refused (403) and nothing is enqueued;
- `created` / `updated` of `companies(<id>)/<entity>(<guid>)`: one fetch job per route watching
  that entity, keyed `fetch:<guid>@<lastModifiedDateTime>` with payload `{"id": <guid>}` (the
  worker reads the record and admits it as a poll would; a repeat of the same change is a no-op);
- `collection` (more changes than BC notifies one by one): the filtered collection URL is read
  through the connector, every page, and each record becomes a fetch job the same way;
- `deleted`: audited, not fetched (there is nothing left to send).

The jobs of one POST are written in one transaction. What the answer means to BC: 2xx is
done; 408, 429 and 5xx are retried for 36 hours; anything else deletes the subscription. So a
body we cannot understand is 400 (that subscription is useless to us), a wrong clientState is
403, and a failure on our side (the store, reading a collection, a secret) is 503: BC retries.

The body is parsed here, not by the connector's `parse_notifications`: the engine never imports
connectors, and the server must tell malformed (400) from unauthorised (403) from our own
failures (503). Reading a collection goes through the connector's `subscriptions.records`,
which also refuses URLs outside the configured environment.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import ConnectorError, TransientError
from engine.store import NewJob
from engine.webhooks.refusal import Refusal
from engine.webhooks.settings import WebhookSettings

if TYPE_CHECKING:
    from engine.runtime import Runtime

__all__ = ["CHANGE_TYPES", "Notification", "NotificationOutcome", "accept_notifications", "fetch_key", "read_notifications"]

log = logging.getLogger(__name__)

CHANGE_TYPES = ("created", "updated", "deleted", "collection")

_RESOURCE = re.compile(
    r"(?:^|/)api/v2\.0/companies\((?P<company>[^)/]*)\)/(?P<entity>[A-Za-z]\w*)(?:\((?P<key>[^)/]*)\))?(?P<query>\?.*)?$"
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$")


@dataclass(frozen=True)
class Notification:
    """One checked entry of a notification POST.

    `change_type` and `resource` are what the connector's `subscriptions.records` reads.
    """

    subscription_id: str
    resource: str
    change_type: str
    last_modified: str
    company: str
    entity: str
    record_id: str | None


@dataclass
class NotificationOutcome:
    """What one notification POST did."""

    enqueued: int = 0
    already: int = 0
    deleted: int = 0
    ignored: int = 0
    jobs: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"enqueued": self.enqueued, "already": self.already, "deleted": self.deleted, "ignored": self.ignored}


def fetch_key(record_id: str, last_modified: str) -> str:
    """The key of the fetch job of one change: the same change notified twice is one job."""
    return f"fetch:{record_id}@{last_modified}"


def _entries(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body.removeprefix(b"\xef\xbb\xbf"))  # BC before v19 sent a UTF-8 BOM
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, f"the notification body is not JSON: {body[:60]!r}") from None
    except RecursionError:  # [[[[... : the parser gives up, and so do we (BC nests 3 levels)
        raise Refusal(400, "the notification body is nested too deeply to be a BC notification") from None
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise Refusal(400, 'the notification body has no "value" list (expected {"value": [...]})')
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Refusal(400, f"notification value[{index}] is not an object")
    return items


def _check_client_state(items: list[dict[str, Any]], client_state: str) -> None:
    expected = client_state.encode()
    for item in items:
        given = item.get("clientState")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected):
            raise Refusal(403, "a notification carries a wrong or no clientState")


def read_notifications(body: bytes, client_state: str) -> list[Notification]:
    """The entries of a notification POST: 400 when malformed, 403 for a wrong clientState."""
    items = _entries(body)
    _check_client_state(items, client_state)
    found: list[Notification] = []
    for index, item in enumerate(items):
        where = f"notification value[{index}]"
        change = item.get("changeType")
        if change not in CHANGE_TYPES:
            raise Refusal(400, f"{where} has changeType {change!r}; valid: {', '.join(CHANGE_TYPES)}")
        resource = item.get("resource")
        match = _RESOURCE.search(resource) if isinstance(resource, str) else None
        if match is None:
            raise Refusal(400, f"{where} has resource {resource!r}, not api/v2.0/companies(<id>)/<entity set>[(<id>)]")
        stamp = item.get("lastModifiedDateTime")
        if not isinstance(stamp, str) or not _STAMP.match(stamp):
            raise Refusal(400, f"{where} has lastModifiedDateTime {stamp!r}, not an ISO date-time")
        key = match["key"].strip("'") if match["key"] is not None else None
        if change == "collection":
            if key is not None:
                raise Refusal(400, f"{where} is a collection notification naming one record: {resource!r}")
        elif key is None or not _GUID.match(key):
            raise Refusal(400, f"{where} ({change}) does not name one record by its id: {resource!r}")
        found.append(
            Notification(
                subscription_id=str(item.get("subscriptionId") or ""),
                resource=str(resource),
                change_type=str(change),
                last_modified=stamp,
                company=match["company"].strip("'"),
                entity=match["entity"],
                record_id=key,
            )
        )
    return found


def accept_notifications(
    runtime: Runtime, settings: WebhookSettings, connection: str, body: bytes, client_state: str
) -> NotificationOutcome:
    """Check a notification POST for `connection` and enqueue its fetch jobs (module docstring)."""
    notifications = read_notifications(body, client_state)
    company = _company(runtime.project.connections.get(connection, {}))
    outcome = NotificationOutcome()
    new_jobs: list[tuple[str, NewJob, Notification]] = []
    deletions: list[tuple[str, Notification]] = []
    for note in notifications:
        if company and note.company.lower() != company.lower():
            raise Refusal(400, f"the notification is about company {note.company}, not {company} of connection {connection!r}")
        routes = settings.routes_for(connection, note.entity)
        if not routes:
            outcome.ignored += 1
            log.warning("a %s notification on %s/%s: no route takes it (subscription %s)", note.change_type, connection, note.entity, note.subscription_id)
            continue
        if note.change_type == "deleted":
            deletions += [(route, note) for route in routes]
            continue
        records = [(note.record_id, note.last_modified)] if note.record_id else _collection(runtime, connection, note)
        for record_id, stamp in records:
            job = NewJob(key=fetch_key(record_id, stamp), kind="fetch", payload={"id": record_id}, source_ref=record_id)
            new_jobs += [(route, job, note) for route in routes]
    with runtime.store.transaction() as tx:
        for route, job, note in new_jobs:
            stored, created = tx.enqueue(route, job.key, kind=job.kind, payload=job.payload, source_ref=job.source_ref)
            if created:
                outcome.enqueued += 1
                outcome.jobs.append(stored.id)
                detail = {"change": note.change_type, "subscription": note.subscription_id, "lastModifiedDateTime": note.last_modified}
                tx.audit(stored.id, "notified", route=route, key=stored.key, detail=detail)
            else:
                outcome.already += 1
        for route, note in deletions:
            outcome.deleted += 1
            detail = {"message": f"{note.entity}({note.record_id}) was deleted in Business Central; nothing is sent", "lastModifiedDateTime": note.last_modified}
            tx.audit(None, "deleted", route=route, key=note.record_id, detail=detail)
    return outcome


def _company(config: Mapping[str, Any]) -> str:
    value = config.get("company_id")
    return value if isinstance(value, str) else ""


def _collection(runtime: Runtime, connection: str, note: Notification) -> list[tuple[str, str]]:
    """(id, lastModifiedDateTime) of every record of a collection notification, every page."""
    try:
        api = runtime.systems.connector(connection).subscriptions
        records: list[dict[str, Any]] = api.records(note)
    except (TransientError, ConnectorError) as exc:
        raise Refusal(503, f"reading the collection {note.resource} failed: {runtime.mask(str(exc))}") from exc
    found: list[tuple[str, str]] = []
    for record in records:
        record_id, stamp = record.get("id"), record.get("lastModifiedDateTime")
        if isinstance(record_id, str) and isinstance(stamp, str):
            found.append((record_id, stamp))
        else:
            log.warning("a record of collection %s has no id or lastModifiedDateTime; the next poll reads it", note.resource)
    return found
