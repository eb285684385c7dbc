"""In-memory systems for the runtime unit tests: `FakeRecords` (a `RecordSystem`) and
`FakeSystems` (connection name -> fake), so one piece of the runtime is tested without HTTP."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from engine.errors import NotFoundError

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
"""The runtime's and the store's clock in these tests."""


class FakeRecords:
    """A `RecordSystem` in memory: records by entity set (documents keep their lines inline);
    every write is logged in `calls`, every `list_changed` cutoff in `since`."""

    def __init__(self, records: Mapping[str, list[dict[str, Any]]] | None = None, *, stamp: str = "lastModifiedDateTime") -> None:
        self.records = {entity: [dict(r) for r in rows] for entity, rows in (records or {}).items()}
        self.stamp = stamp
        self.calls: list[tuple[Any, ...]] = []
        self.since: list[datetime | None] = []
        self.fail_after: int | None = None
        """`list_changed` raises `failure` after yielding this many records."""
        self.failure: Exception | None = None

    def list_changed(self, entity: str, since: datetime | None = None, *, expand: str | None = None) -> Iterator[dict[str, Any]]:
        from engine.runtime.poll import parse_stamp

        self.since.append(since)
        rows = sorted(self.records.get(entity, []), key=lambda r: parse_stamp(r[self.stamp]) or NOW)
        for count, row in enumerate(r for r in rows if since is None or (parse_stamp(r[self.stamp]) or NOW) > since):
            if self.fail_after is not None and count >= self.fail_after and self.failure is not None:
                raise self.failure
            yield copy.deepcopy(row)

    def get(self, entity: str, key: str, *, expand: str | None = None) -> dict[str, Any]:
        self.calls.append(("get", entity, key, expand))
        for row in self.records.get(entity, []):
            if key in (row.get("number"), row.get("id")):
                return copy.deepcopy(row)
        raise NotFoundError(f"no {entity} record {key!r}", system="fake", status=404, method="GET", url=f"fake:/{entity}({key})")

    def find_by(self, entity: str, fields: Mapping[str, Any], *, expand: str | None = None) -> dict[str, Any] | None:
        self.calls.append(("find_by", entity, dict(fields)))
        for row in self.records.get(entity, []):
            if all(row.get(name) == value for name, value in fields.items()):
                return copy.deepcopy(row)
        return None

    def create(self, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", entity, copy.deepcopy(payload)))
        record = {"number": f"NEW-{len(self.records.get(entity, [])) + 1}", **payload}
        self.records.setdefault(entity, []).append(record)
        return copy.deepcopy(record)

    def update(self, entity: str, key: str, changes: dict[str, Any], *, etag: str | None = None) -> dict[str, Any]:
        self.calls.append(("update", entity, key, copy.deepcopy(changes), etag))
        return {"id": key, **changes}

    def writes(self) -> list[tuple[Any, ...]]:
        """The create and update calls, in order."""
        return [call for call in self.calls if call[0] in ("create", "update")]


class FakeSystems:
    """`Systems` over fakes, by connection name."""

    def __init__(self, **systems: Any) -> None:
        self.systems = systems

    def records(self, name: str) -> Any:
        return self.systems[name]

    def files(self, name: str) -> Any:
        return self.systems[name]
