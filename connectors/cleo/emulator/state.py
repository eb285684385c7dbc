"""In-memory state of the Cleo emulator: users, tokens, folders and files.

The state is shared between the emulator (serving HTTP in another thread) and the tests that
drive it, so every access goes through one lock. Besides what the HTTP API needs, it offers a
test-facing API: put a file, read a folder's files with their content, force-expire access
tokens, revoke refresh tokens, and a log of the requests and grants served.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

SEED_PACKAGE = "connectors.cleo.emulator.seed"
DEMO_USER = "mlc-demo"
DEMO_PASSWORD = "demo-cleo-secret"
LOG_LIMIT = 10_000
"""How many served requests and grants are remembered (a long-running demo must not grow)."""


class EmulatorError(Exception):
    """A request the emulator refuses; `status` and `message` become the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Folder:
    """A mailbox folder; `path` is slash-separated without leading slash (`acme/inbox`)."""

    id: str
    path: str
    permissions: tuple[str, ...] = ("download", "upload")

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class StoredFile:
    """A file in a folder."""

    id: str
    folder_id: str
    name: str
    content: bytes
    modified: datetime


@dataclass
class _Grant:
    username: str
    expires_at: float


@dataclass
class CleoEmulatorState:
    """Everything the emulator knows; build a seeded one with `CleoEmulatorState.seeded()`.

    `access_token_lifetime` / `refresh_token_lifetime` are in seconds (short in tests);
    `clock` is the time source for token expiry. `requests` (`METHOD /path?query`) and
    `grants` (`password`, `refresh_token`) log what was served, most recent last.
    """

    access_token_lifetime: float = 3600.0
    refresh_token_lifetime: float = 86400.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    users: dict[str, str] = field(default_factory=dict)
    folders: dict[str, Folder] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    requests: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    grants: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    _access: dict[str, _Grant] = field(default_factory=dict, repr=False)
    _refresh: dict[str, _Grant] = field(default_factory=dict, repr=False)
    _next_file: int = 1
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def seeded(cls, **options: Any) -> CleoEmulatorState:
        """A state holding the demo world's mailbox (seed/mailbox.yaml and its X12 files)."""
        state = cls(**options)
        state.load_seed()
        return state

    def load_seed(self) -> None:
        """Replace users, folders and files with the seed; tokens and logs are cleared."""
        root = resources.files(SEED_PACKAGE)
        manifest = yaml.safe_load(root.joinpath("mailbox.yaml").read_text(encoding="utf-8"))
        with self._lock:
            self.users = {u["username"]: u["password"] for u in manifest["users"]}
            self.folders.clear()
            self.files.clear()
            self._access.clear()
            self._refresh.clear()
            self.requests.clear()
            self.grants.clear()
            self._next_file = 1
            for partner in manifest["partners"]:
                self.add_folder(partner, permissions=())
                for sub in manifest["subfolders"]:
                    self.add_folder(f"{partner}/{sub}")
            for entry in manifest["files"]:
                content = root.joinpath(entry["name"]).read_bytes()
                modified = datetime.fromisoformat(entry["modified"])
                self.put_file(entry["folder"], entry["name"], content, modified=modified)

    # -- test-facing API ----------------------------------------------------------------------

    def add_folder(self, path: str, *, permissions: tuple[str, ...] = ("download", "upload")) -> Folder:
        """Create a folder (no-op when it exists) and return it."""
        path = path.strip("/")
        with self._lock:
            for folder in self.folders.values():
                if folder.path == path:
                    return folder
            folder = Folder(id=f"fd{len(self.folders) + 1:04d}", path=path, permissions=permissions)
            self.folders[folder.id] = folder
            return folder

    def set_permissions(self, path: str, permissions: tuple[str, ...]) -> Folder:
        """Change a folder's permissions (`()` forbids listing, download and upload: a partner
        folder closed to our user); the folder."""
        with self._lock:
            folder = self.folder_by_path(path)
            folder.permissions = tuple(permissions)
            return folder

    def remove_folder(self, path: str) -> None:
        """Delete a folder and its files (a partner's folder that does not exist any more)."""
        with self._lock:
            folder = self.folder_by_path(path)
            del self.folders[folder.id]
            for stored in [f for f in self.files.values() if f.folder_id == folder.id]:
                del self.files[stored.id]

    def put_file(self, folder: str, name: str, content: bytes, *, modified: datetime | None = None) -> StoredFile:
        """Store a file as a partner would (replacing a file of the same name: test set-up only)."""
        with self._lock:
            target = self.folder_by_path(folder)
            for existing in list(self.files.values()):
                if existing.folder_id == target.id and existing.name == name:
                    del self.files[existing.id]
            return self._store(target, name, content, modified)

    def folder_files(self, folder: str) -> dict[str, bytes]:
        """The files of a folder by name, with their content (test inspection)."""
        with self._lock:
            target = self.folder_by_path(folder)
            return {f.name: f.content for f in self.files.values() if f.folder_id == target.id}

    def log_request(self, line: str) -> None:
        """Record one served request (`METHOD /path?query`) for tests to inspect; a request whose
        client went away before its body arrived is `CUT METHOD /path` (it reached no handler)."""
        with self._lock:
            self.requests.append(line)

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (the next call with one gets 401)."""
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = float("-inf")

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token issued so far (refreshing then fails with 401)."""
        with self._lock:
            self._refresh.clear()

    def folder_by_path(self, path: str) -> Folder:
        """The folder at `path`; KeyError naming the known folders otherwise."""
        path = path.strip("/")
        with self._lock:
            for folder in self.folders.values():
                if folder.path == path:
                    return folder
            known = ", ".join(sorted(f.path for f in self.folders.values()))
            raise KeyError(f"no emulated Cleo folder {path!r}; known: {known}")

    # -- tokens -------------------------------------------------------------------------------

    def password_grant(self, username: str, password: str) -> dict[str, Any]:
        """Issue tokens for valid credentials (constant-time password check)."""
        with self._lock:
            self.grants.append("password")
            expected = self.users.get(username)
            if expected is None or not secrets.compare_digest(expected.encode(), password.encode()):
                raise EmulatorError(401, "Invalid username or password.")
            return self._issue(username)

    def refresh_grant(self, refresh_token: str) -> dict[str, Any]:
        """Exchange a refresh token (single use: it is rotated) for new tokens."""
        with self._lock:
            self.grants.append("refresh_token")
            grant = self._refresh.pop(refresh_token, None)
            if grant is None or grant.expires_at <= self.clock():
                raise EmulatorError(401, "The refresh token is invalid, expired or already used.")
            return self._issue(grant.username)

    def check_access(self, authorization: str | None) -> str:
        """The user an `Authorization: Bearer` header belongs to; 401 otherwise."""
        if not authorization or not authorization.startswith("Bearer "):
            raise EmulatorError(401, "Missing bearer token: send 'Authorization: Bearer <access_token>'.")
        token = authorization[len("Bearer ") :].strip()
        with self._lock:
            grant = self._access.get(token)
            if grant is None:
                raise EmulatorError(401, "Unknown access token.")
            if grant.expires_at <= self.clock():
                raise EmulatorError(401, "The access token has expired.")
            return grant.username

    def _issue(self, username: str) -> dict[str, Any]:
        now = self.clock()
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        self._access[access] = _Grant(username, now + self.access_token_lifetime)
        self._refresh[refresh] = _Grant(username, now + self.refresh_token_lifetime)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self.access_token_lifetime),
            "refresh_token": refresh,
        }

    # -- folders and files --------------------------------------------------------------------

    def folder(self, folder_id: str) -> Folder:
        with self._lock:
            folder = self.folders.get(folder_id)
            if folder is None:
                raise EmulatorError(404, f"Folder {folder_id!r} not found.")
            return folder

    def file(self, file_id: str) -> StoredFile:
        with self._lock:
            stored = self.files.get(file_id)
            if stored is None:
                raise EmulatorError(404, f"File {file_id!r} not found.")
            return stored

    def sorted_folders(self) -> list[Folder]:
        with self._lock:
            return sorted(self.folders.values(), key=lambda f: f.path)

    def files_in(self, folder_id: str) -> list[StoredFile]:
        with self._lock:
            self.folder(folder_id)
            return [f for f in self.files.values() if f.folder_id == folder_id]

    def readable_files_in(self, folder_id: str) -> list[StoredFile]:
        """The files of a folder the user may download from; 403 for a folder without the
        `download` permission (a mailbox whose inbox is closed to us lists nothing)."""
        with self._lock:
            folder = self.folder(folder_id)
            if "download" not in folder.permissions:
                raise EmulatorError(403, f"Folder {folder.path!r} does not allow downloads.")
            return [f for f in self.files.values() if f.folder_id == folder_id]

    def readable_file(self, file_id: str) -> StoredFile:
        """A file to download; 403 when its folder does not allow downloads."""
        with self._lock:
            stored = self.file(file_id)
            folder = self.folders.get(stored.folder_id)
            if folder is not None and "download" not in folder.permissions:
                raise EmulatorError(403, f"Folder {folder.path!r} does not allow downloads.")
            return stored

    def upload(self, folder_id: str, name: str, content: bytes) -> StoredFile:
        """Store an uploaded file; a name already in the folder is a 409 (never overwritten)."""
        with self._lock:
            folder = self.folder(folder_id)
            if "upload" not in folder.permissions:
                raise EmulatorError(403, f"Folder {folder.path!r} does not allow uploads.")
            self._check_free(folder, name)
            return self._store(folder, name, content, None)

    def move(self, file_id: str, folder_id: str) -> StoredFile:
        """Move a file to another folder; a name clash there is a 409."""
        with self._lock:
            stored = self.file(file_id)
            target = self.folders.get(folder_id)
            if target is None:
                raise EmulatorError(400, f"Target folder {folder_id!r} does not exist.")
            if target.id != stored.folder_id:
                self._check_free(target, stored.name)
                stored.folder_id = target.id
                stored.modified = datetime.now(UTC)
            return stored

    def delete(self, file_id: str) -> None:
        with self._lock:
            self.file(file_id)
            del self.files[file_id]

    def _check_free(self, folder: Folder, name: str) -> None:
        for existing in self.files.values():
            if existing.folder_id == folder.id and existing.name == name:
                raise EmulatorError(409, f"A file named {name!r} already exists in folder {folder.path!r}.")

    def _store(self, folder: Folder, name: str, content: bytes, modified: datetime | None) -> StoredFile:
        stored = StoredFile(
            id=f"fl{self._next_file:06d}",
            folder_id=folder.id,
            name=name,
            content=content,
            modified=modified or datetime.now(UTC),
        )
        self._next_file += 1
        self.files[stored.id] = stored
        return stored
