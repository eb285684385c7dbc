"""The small protocols connectors implement and the runtime drives.

A *record system* (Business Central, GP) lists changed records and reads, creates and updates
them; a *file store* (Cleo, a local folder) lists, downloads, uploads, deletes and moves
files. The runtime only ever talks to these protocols, so the same route runs against the
real system, its emulator, or a local folder. A *request pacer* is what the runtime hands a
connector so its requests stay under the connection's rate budget (`engine.pacing.Pacer`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class RemoteFile:
    """A file in a file store folder."""

    id: str
    name: str
    folder: str
    size: int | None = None
    modified: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


@runtime_checkable
class RecordSystem(Protocol):
    """An ERP seen as entity sets of JSON records."""

    def list_changed(
        self, entity: str, since: datetime | None = None, *, expand: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Records of `entity` modified after `since` (all when None), oldest first, paged."""
        ...

    def get(self, entity: str, key: str, *, expand: str | None = None) -> dict[str, Any]:
        """One record by its key."""
        ...

    def find_by(self, entity: str, fields: Mapping[str, Any], *, expand: str | None = None) -> dict[str, Any] | None:
        """The first record whose fields equal `fields` (e.g. customer and PO number), or None."""
        ...

    def create(self, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a record (with its lines: deep insert) and return it as stored."""
        ...

    def update(self, entity: str, key: str, changes: dict[str, Any], *, etag: str | None = None) -> dict[str, Any]:
        """Change a record (optimistic concurrency where the system has it) and return it."""
        ...


@runtime_checkable
class FileStore(Protocol):
    """A set of named folders holding files (a Cleo mailbox, a local directory)."""

    def list_files(self, folder: str) -> Iterator[RemoteFile]:
        """Every file in `folder` (all pages)."""
        ...

    def download(self, file: RemoteFile) -> bytes:
        """The file's exact bytes."""
        ...

    def upload(self, folder: str, name: str, content: bytes, *, may_exist: bool = True) -> RemoteFile:
        """Store `content` as `name` in `folder`.

        Idempotent: if a file of that name with the same content is already there, it is
        returned and nothing is written; a *different* file of that name is never overwritten
        (ConflictError). `may_exist=False` is the caller's word that no earlier attempt can
        have stored this file (the runtime's first upload of a job): a store may then skip a
        look-up it would make first, but must still never overwrite.
        """
        ...

    def delete(self, file: RemoteFile) -> None:
        """Remove the file."""
        ...

    def move(self, file: RemoteFile, folder: str) -> RemoteFile:
        """Move the file to another folder (archiving after processing)."""
        ...


@runtime_checkable
class RequestPacer(Protocol):
    """Holds each request of a connection until its turn under the connection's rate budget."""

    def pace(self, method: str, path: str) -> float:
        """Wait until the request (`path` relative to the connection's base URL) may be sent;
        the seconds waited. Raises `RateBudgetError` when its turn is too far away (not sent)."""
        ...
