"""The Cleo Integration Cloud file store: folders and files of a partner mailbox over REST.

Implements `engine.ports.FileStore`. Folders are addressed by path (`acme/inbox`) and resolved
to Cleo ids through the folder listing (cached; re-read once when a path or id is not found).
Every path comes from `connectors.cleo.paths`.

Safety rules, because Cleo has no idempotency key:

- An upload never overwrites. When an earlier attempt may have stored the file (`may_exist`,
  the default: a retry after a crash or a lost answer), the folder is asked for the name first;
  same name and same content (sha256) returns the file already there and writes nothing, same
  name and different content is a ConflictError. A first attempt (`may_exist=False`, which the
  runtime passes when nothing was rendered for the job before) POSTs at once: one request per
  file. A 409 on the upload itself (a retried POST whose first answer was lost, a concurrent
  writer, a name already there) gets the same check, so an upload is always safe to repeat.
- Downloads are checked against the listed size: a short body is a ProtocolError, never data.
- The token is reused until it is near expiry (`token_skew_seconds`, at most half its lifetime):
  a request, a write included, never starts on a token inside that margin, and a 401 renews it
  once (`connectors.cleo.auth`). No token request is made per file.
- Deleting a file that is already gone, or moving a file that is already in the target
  folder, succeeds: a job replayed after a crash repeats its last step harmlessly.

429 and 5xx answers and dropped connections are retried by the shared `RetryPolicy`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx

from connectors.cleo import paths
from connectors.cleo.auth import SYSTEM, BearerAuth, TokenManager
from connectors.cleo.config import CleoConfig
from connectors.common import HttpClient, RetryPolicy, excerpt
from engine.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProtocolError,
    RefusedOperationError,
    UnauthorizedError,
)
from engine.ports import RemoteFile, RequestPacer

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 255


def folder_key(folder: str) -> str:
    """The canonical form of a folder path (`/acme/inbox/` -> `acme/inbox`); ConfigError if unusable."""
    if not isinstance(folder, str):
        raise ConfigError(f"cleo: a folder path must be a string, got {type(folder).__name__}")
    key = folder.strip().strip("/")
    parts = key.split("/")
    if not key or any(part in ("", ".", "..") for part in parts) or any(c in key for c in "\\\x00"):
        raise ConfigError(
            f"cleo: invalid folder path {folder!r}; use slash-separated folder names like 'acme/inbox' "
            "(no empty, '.' or '..' parts, no backslashes or NUL)"
        )
    return key


def check_file_name(name: str) -> None:
    """Refuse a file name that is not one plain name (no separators, NUL, control characters)."""
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or len(name) > MAX_NAME_LENGTH
        or any(c in name for c in "/\\")
        or any(ord(c) < 32 for c in name)
    ):
        raise RefusedOperationError(
            f"refusing file name {name!r}: a name must be 1-{MAX_NAME_LENGTH} characters, not '.' or '..', "
            "without slashes, backslashes, NUL or control characters",
            system=SYSTEM,
        )


def sha256(content: bytes) -> str:
    """Hex sha256 of `content` (how uploads are compared)."""
    return hashlib.sha256(content).hexdigest()


class CleoFileStore:
    """A Cleo mailbox as a `FileStore`; `close()` it (or use `with`) when done."""

    def __init__(
        self,
        config: CleoConfig,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        pacer: RequestPacer | None = None,
    ) -> None:
        self.config = config
        self._http = HttpClient(
            SYSTEM,
            config.base_url,
            transport=transport,
            timeout=config.timeout_seconds,
            retry=retry,
            headers={"Accept": "application/json"},
            secrets=lambda: self._tokens.secrets(),
            pacer=pacer,
        )
        self._tokens = TokenManager(
            self._http,
            config.username,
            password,
            transport=transport,
            timeout=config.timeout_seconds,
            skew=config.token_skew_seconds,
            clock=clock,
        )
        self._http.raw.auth = BearerAuth(self._tokens)
        self._folders: dict[str, str] | None = None
        self._folders_lock = threading.Lock()

    def close(self) -> None:
        """Release the HTTP connections."""
        self._tokens.close()
        self._http.close()

    def __enter__(self) -> CleoFileStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- FileStore ----------------------------------------------------------------------------

    def list_folders(self) -> list[str]:
        """The path of every folder in the mailbox (re-read from Cleo)."""
        return sorted(self._load_folders())

    def list_files(self, folder: str) -> Iterator[RemoteFile]:
        """Every file in `folder`, all pages."""
        key, folder_id = self._resolve(folder)
        yielded = False
        try:
            for item in self._items(paths.folder_files_path(folder_id)):
                yielded = True
                yield self._remote_file(item, key)
        except NotFoundError:
            # The cached id may be stale (folder re-created); re-resolve once before failing.
            if yielded:
                raise
            key, fresh_id = self._resolve(folder, fresh=True)
            if fresh_id == folder_id:
                raise
            for item in self._items(paths.folder_files_path(fresh_id)):
                yield self._remote_file(item, key)

    def download(self, file: RemoteFile) -> bytes:
        """The file's exact bytes; a ProtocolError when they do not match the listed size."""
        response = self._request("GET", paths.file_content_path(file.id), headers={"Accept": "*/*"})
        content = response.content
        where = f"GET {response.request.url} -> HTTP {response.status_code}"
        if "text/html" in response.headers.get("Content-Type", ""):
            raise ProtocolError(
                f"{where}: expected the bytes of {file.folder}/{file.name}, got an HTML page: "
                f"{excerpt(response.text, self._tokens.secrets())}",
                system=SYSTEM,
            )
        if file.size is not None and len(content) != file.size:
            raise ProtocolError(
                f"{where}: {file.folder}/{file.name} arrived with {len(content)} bytes but is listed with "
                f"{file.size}: the transfer was cut off or the file changed; not using it",
                system=SYSTEM,
            )
        return content

    def upload(self, folder: str, name: str, content: bytes, *, may_exist: bool = True) -> RemoteFile:
        """Store `content` as `name`; idempotent for the same content, ConflictError otherwise.

        `may_exist=False` says no earlier attempt can have stored this file: the name is not
        looked up first (a name already there is still found, through the upload's 409)."""
        check_file_name(name)
        key, folder_id = self._resolve(folder)
        if may_exist:
            existing = self._find(key, name)
            if existing is not None:
                return self._same_or_conflict(existing, content, folder_id)
        try:
            response = self._request(
                "POST",
                paths.folder_files_path(folder_id),
                files={paths.UPLOAD_FIELD: (name, content, "application/octet-stream")},
            )
        except ConflictError:
            existing = self._find(key, name)
            if existing is None:
                raise
            return self._same_or_conflict(existing, content, folder_id)
        stored = self._remote_file(self._http.json(response), key)
        if stored.size is not None and stored.size != len(content):
            raise ProtocolError(
                f"POST {response.request.url} -> HTTP {response.status_code}: {key}/{name} was stored with "
                f"{stored.size} bytes, {len(content)} were sent",
                system=SYSTEM,
            )
        return stored

    def delete(self, file: RemoteFile) -> None:
        """Remove the file; a file that is already gone is not an error."""
        try:
            self._request("DELETE", paths.file_path(file.id))
        except NotFoundError:
            log.info("cleo: %s/%s (id %s) was already deleted", file.folder, file.name, file.id)

    def move(self, file: RemoteFile, folder: str) -> RemoteFile:
        """Move the file into `folder` (archiving); the file as it is there."""
        key, target_id = self._resolve(folder)
        if file.folder and folder_key(file.folder) == key:
            return file
        try:
            response = self._request("PATCH", paths.file_path(file.id), json=paths.move_body(target_id))
        except ConflictError:
            existing = self._find(key, file.name)
            if existing is None:
                raise
            if sha256(self.download(existing)) != sha256(self.download(file)):
                raise self._conflict(existing, target_id, "move", "PATCH", paths.file_path(file.id)) from None
            # The same bytes are already archived: finish the move by removing the source.
            self.delete(file)
            return existing
        except NotFoundError:
            # Replay after a crash: the file may already have been moved.
            for candidate in self.list_files(key):
                if candidate.id == file.id:
                    return candidate
            raise
        return self._remote_file(self._http.json(response), key)

    # -- internals ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except UnauthorizedError as exc:
            if exc.status != 401:
                raise
            raise UnauthorizedError(
                f"still refused after renewing the token once; check that user {self.config.username!r} "
                f"may use this mailbox (server said: {exc.excerpt or 'nothing'})",
                system=SYSTEM,
                status=exc.status,
                method=exc.method,
                url=exc.url,
                excerpt=exc.excerpt,
                code=exc.code,
            ) from exc

    def _items(self, path: str, query: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every resource of a paged collection (`startIndex`/`count` -> `totalResults`)."""
        start = 0
        while True:
            params: dict[str, Any] = {**(query or {}), **paths.page_params(start, self.config.page_size)}
            response = self._request("GET", path, params=params)
            body = self._http.json(response)
            where = f"GET {response.request.url} -> HTTP {response.status_code}"
            total = body.get(paths.TOTAL_RESULTS) if isinstance(body, dict) else None
            resources = body.get(paths.RESOURCES) if isinstance(body, dict) else None
            if isinstance(total, bool) or not isinstance(total, int) or not isinstance(resources, list):
                raise ProtocolError(
                    f"{where}: expected a page with {paths.TOTAL_RESULTS!r} (integer) and {paths.RESOURCES!r} "
                    f"(list), got: {excerpt(response.text, self._tokens.secrets())}",
                    system=SYSTEM,
                )
            for item in resources:
                if not isinstance(item, dict):
                    raise ProtocolError(f"{where}: a resource is not an object: {item!r:.80}", system=SYSTEM)
                yield item
            start += len(resources)
            if start >= total:
                return
            if not resources:
                raise ProtocolError(
                    f"{where}: empty page at {paths.START_INDEX}={start} although {paths.TOTAL_RESULTS}={total}",
                    system=SYSTEM,
                )

    def _load_folders(self) -> dict[str, str]:
        folders: dict[str, str] = {}
        for item in self._items(paths.FOLDERS):
            folder_id, path = item.get("id"), item.get("path")
            if not isinstance(folder_id, str) or not isinstance(path, str):
                raise ProtocolError(
                    f"GET {paths.FOLDERS}: a folder without string 'id' and 'path': {item!r:.120}", system=SYSTEM
                )
            if path.strip("/"):
                folders[path.strip("/")] = folder_id
        with self._folders_lock:
            self._folders = folders
        return folders

    def _resolve(self, folder: str, *, fresh: bool = False) -> tuple[str, str]:
        key = folder_key(folder)
        folders = self._folders
        if folders is None or fresh or key not in folders:
            folders = self._load_folders()
        if key not in folders:
            known = sorted(folders)
            shown = ", ".join(known[:20]) + (f" (and {len(known) - 20} more)" if len(known) > 20 else "")
            raise ConfigError(f"cleo: no folder {key!r} in the mailbox of {self.config.username!r}; folders: {shown}")
        return key, folders[key]

    def _find(self, folder: str, name: str) -> RemoteFile | None:
        """The file called `name` in `folder`, asked of the server by name (not the whole list)."""
        key, folder_id = self._resolve(folder)
        for item in self._items(paths.folder_files_path(folder_id), paths.name_filter(name)):
            candidate = self._remote_file(item, key)
            if candidate.name == name:  # a server that ignores the filter still gives the right answer
                return candidate
        return None

    def _same_or_conflict(self, existing: RemoteFile, content: bytes, folder_id: str) -> RemoteFile:
        path = paths.folder_files_path(folder_id)
        if existing.size is not None and existing.size != len(content):
            raise self._conflict(existing, folder_id, "upload", "POST", path, new=content)
        there = self.download(existing)
        if sha256(there) == sha256(content):
            log.info("cleo: %s/%s is already there with the same content", existing.folder, existing.name)
            return existing
        raise self._conflict(existing, folder_id, "upload", "POST", path, there, content)

    def _conflict(
        self,
        existing: RemoteFile,
        folder_id: str,
        operation: str,
        method: str,
        path: str,
        there: bytes | None = None,
        new: bytes | None = None,
    ) -> ConflictError:
        detail = ""
        if new is not None:
            there_text = f"sha256 {sha256(there)[:12]}" if there is not None else f"{existing.size} bytes"
            detail = f" (there: {there_text}; new: {len(new)} bytes, sha256 {sha256(new)[:12]})"
        return ConflictError(
            f"a different file named {existing.name!r} is already in folder {existing.folder!r}{detail}; "
            f"the {operation} is refused because the connector never overwrites a file",
            system=SYSTEM,
            status=409,
            method=method,
            url=str(self._http.raw.base_url.join(path)),
        )

    def _remote_file(self, item: Any, folder: str) -> RemoteFile:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("name"), str):
            raise ProtocolError(
                f"a file without string 'id' and 'name' in folder {folder!r}: {item!r:.120}", system=SYSTEM
            )
        size = item.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ProtocolError(f"file {item['name']!r} in {folder!r} has an invalid size {size!r}", system=SYSTEM)
        modified = None
        if isinstance(item.get("modified"), str):
            try:
                modified = datetime.fromisoformat(item["modified"])
            except ValueError as exc:
                raise ProtocolError(
                    f"file {item['name']!r} in {folder!r} has an unreadable modified time {item['modified']!r}",
                    system=SYSTEM,
                ) from exc
        extra = {key: value for key, value in item.items() if key not in ("id", "name", "size", "modified")}
        return RemoteFile(id=item["id"], name=item["name"], folder=folder, size=size, modified=modified, extra=extra)
