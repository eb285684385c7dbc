"""A Cleo mailbox over SFTP (paramiko): `engine.ports.FileStore` on the folders of an SFTP account.

Real Cleo Integration Cloud and Harmony partner mailboxes are reached over SFTP (Cleo's Partner
Mailbox endpoint offers FTP, SFTP and the Cleo Portal; docs/cleo-sftp.md). Folders are paths
under the login directory (or `root`), `acme/inbox` as with the REST transport, so partners,
routes and the ledger are the same for both.

Safety rules (the same as the REST and folder stores):

- **The host key is pinned** (`connectors.cleo.sshkeys`): an unknown or changed key is refused
  before any credential is sent, with the fingerprint the server presented in the message.
- **Uploads are atomic and never overwrite.** The content is written as `<temp_prefix><name>`
  (a hidden name that listings, ours included, skip), its size checked, then renamed to the
  final name. An SFTP v3 RENAME fails when the target exists (OpenSSH links, then unlinks), so a
  file that appeared meanwhile is never replaced. An existing final name is compared: same
  content (sha256) is "already delivered", other content is a ConflictError. A transfer cut off
  leaves at most the temporary file, which the retry truncates and writes again.
- **Inbound file ids** are `folder/name;size=N;mtime=T` (the ledger adds the content's sha256),
  so a file listed again is not read twice and a file replaced under the same name is new.
  Archive (rename into the archive folder) and delete act only on the file that was read: one
  whose size or mtime changed since is left for the next poll.
- **One SSH connection per store**, opened on first use and reused by every call (a poll lists
  and downloads every partner's inbox over it); requests are serialised on it. A dropped or
  timed-out connection is closed and the call retried on a new one by the shared
  `RetryPolicy` (bounded attempts, exponential backoff with jitter). Refused credentials, a
  refused host key, and permission errors are not retried.

Error mapping: permission denied -> UnauthorizedError (403, like a REST 403); no such file ->
NotFoundError (404); an unknown folder -> ConfigError; an existing different file ->
ConflictError (409); a dropped connection or timeout -> TransportError (retried).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

import paramiko
from paramiko.ssh_exception import IncompatiblePeer

from connectors.cleo.client import check_file_name, folder_key
from connectors.cleo.sftp_config import SftpConfig
from connectors.cleo.sshkeys import HostKeyPins, fingerprint
from connectors.common import RetryPolicy
from engine.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    MlcError,
    NotFoundError,
    ProtocolError,
    RefusedOperationError,
    TransportError,
    UnauthorizedError,
)
from engine.ports import RemoteFile

log = logging.getLogger(__name__)

SYSTEM = "cleo"
T = TypeVar("T")
PREFETCH_FROM = 256 * 1024
"""Files larger than this (bytes) are read with paramiko's prefetch."""
_ID = re.compile(r";size=(\d+);mtime=(\d+)$")


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class SftpFileStore:
    """A Cleo mailbox over SFTP as a `FileStore` (module docstring); `close()` it when done."""

    def __init__(
        self,
        config: SftpConfig,
        pins: HostKeyPins,
        *,
        password: str | None = None,
        private_key: paramiko.PKey | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self._pins = pins
        self._password = password
        self._key = private_key
        self.retry = retry or RetryPolicy()
        self._lock = threading.RLock()
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.sessions_opened = 0
        """SSH connections opened so far (one per store unless a connection dropped)."""

    def close(self) -> None:
        """Close the SSH connection (a later call opens a new one)."""
        with self._lock:
            self._drop()

    def __enter__(self) -> SftpFileStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- FileStore ----------------------------------------------------------------------------

    def list_files(self, folder: str) -> Iterator[RemoteFile]:
        """The regular files of `folder`, sorted by name (dot-files and our temporary files skipped)."""
        key = folder_key(folder)
        path = self._path(key)

        def op(client: paramiko.SFTPClient) -> list[paramiko.SFTPAttributes]:
            try:
                return client.listdir_attr(path)
            except FileNotFoundError:
                raise self._no_folder(key) from None

        files: list[RemoteFile] = []
        for entry in sorted(self._run("list", path, op), key=lambda e: e.filename):
            name = entry.filename
            if name.startswith((".", self.config.temp_prefix)):
                continue
            if entry.st_mode is None or not stat.S_ISREG(entry.st_mode):
                continue
            try:
                check_file_name(name)
            except RefusedOperationError as exc:
                log.warning("cleo sftp: skipping %r in %s: %s", name, key, exc)
                continue
            files.append(self._remote(key, name, entry))
        return iter(files)

    def download(self, file: RemoteFile) -> bytes:
        """The file's bytes; a ProtocolError when they do not match the listed size."""
        key = folder_key(file.folder)
        path = self._file_path(key, file.name)

        def op(client: paramiko.SFTPClient) -> bytes:
            return self._read(client, path, file.size)

        content = self._run("download", path, op)
        if file.size is not None and len(content) != file.size:
            raise ProtocolError(
                f"{key}/{file.name} arrived with {len(content)} bytes but is listed with {file.size}: it changed since "
                "the listing (still being written?); not using it",
                system=SYSTEM,
            )
        return content

    def upload(self, folder: str, name: str, content: bytes, *, may_exist: bool = True) -> RemoteFile:
        """Write `content` as `name` atomically (temporary name, then rename); idempotent for the
        same content, ConflictError for other content under that name (`may_exist` changes
        nothing here: the existence check is a stat on the session already open, and the rename
        never replaces a final name anyway)."""
        check_file_name(name)
        key = folder_key(folder)
        final = self._file_path(key, name)
        temp = self._file_path(key, self.config.temp_prefix + name)

        def op(client: paramiko.SFTPClient) -> RemoteFile:
            existing = self._stat(client, final)
            if existing is not None:
                return self._same_or_conflict(client, key, name, existing, content, "upload")
            try:
                with client.open(temp, "wb") as handle:
                    handle.set_pipelined(True)
                    handle.write(content)
            except FileNotFoundError:
                raise self._no_folder(key) from None
            written = client.stat(temp)
            if written.st_size != len(content):
                self._remove_quietly(client, temp)
                raise ProtocolError(
                    f"{key}/{self.config.temp_prefix}{name} holds {written.st_size} bytes after writing {len(content)}; "
                    "not publishing it",
                    system=SYSTEM,
                )
            try:
                client.rename(temp, final)
            except OSError as exc:
                if _is_dropped(exc):
                    raise
                there = self._stat(client, final)
                if there is None:
                    raise
                self._remove_quietly(client, temp)  # someone else published the name meanwhile
                return self._same_or_conflict(client, key, name, there, content, "upload")
            return self._remote(key, name, written)  # a rename keeps size and mtime

        return self._run("upload", final, op)

    def delete(self, file: RemoteFile) -> None:
        """Remove the file that was read; one already gone, or changed since, is left alone."""
        key = folder_key(file.folder)
        path = self._file_path(key, file.name)

        def op(client: paramiko.SFTPClient) -> None:
            attrs = self._stat(client, path)
            if attrs is None:
                log.info("cleo sftp: %s/%s was already deleted", key, file.name)
                return
            if self._changed(file, attrs):
                return
            try:
                client.remove(path)
            except FileNotFoundError:
                log.info("cleo sftp: %s/%s was already deleted", key, file.name)

        self._run("delete", path, op)

    def move(self, file: RemoteFile, folder: str) -> RemoteFile:
        """Rename the file into `folder` (archiving); never onto a different file of that name."""
        source_key, key = folder_key(file.folder), folder_key(folder)
        if source_key == key:
            return file
        source, target = self._file_path(source_key, file.name), self._file_path(key, file.name)

        def op(client: paramiko.SFTPClient) -> RemoteFile:
            here, there = self._stat(client, source), self._stat(client, target)
            if here is None:
                if there is not None:
                    return self._remote(key, file.name, there)  # moved already (a replayed step)
                raise self._not_found(source_key, file.name, "move")
            if self._changed(file, here):
                return self._remote(source_key, file.name, here)
            if there is not None:
                return self._archive_over(client, source_key, key, file.name, source, there)
            try:
                client.rename(source, target)
            except FileNotFoundError:
                raise self._no_folder(key) from None
            except OSError as exc:
                if _is_dropped(exc):
                    raise
                there = self._stat(client, target)
                if there is None:
                    raise
                return self._archive_over(client, source_key, key, file.name, source, there)
            return self._remote(key, file.name, here)  # a rename keeps size and mtime

        return self._run("move", source, op)

    # -- connection ---------------------------------------------------------------------------

    def _run(self, what: str, path: str, op: Callable[[paramiko.SFTPClient], T]) -> T:
        """`op` on the shared session, retried on a new session when the connection dropped."""

        def attempt() -> T:
            with self._lock:
                client = self._client()
                try:
                    return op(client)
                except MlcError:
                    raise
                except (OSError, EOFError, paramiko.SSHException) as exc:
                    if isinstance(exc, FileNotFoundError | PermissionError) and self._alive():
                        raise self._translate(exc, what, path) from exc
                    if isinstance(exc, OSError) and not _is_dropped(exc) and self._alive() and self._healthy(client):
                        raise self._translate(exc, what, path) from exc
                    self._drop()
                    raise TransportError(
                        f"the SFTP connection to {self.config.address} broke during {what} of {path}: "
                        f"{_describe(exc)}; retrying on a new connection",
                        system=SYSTEM,
                    ) from exc

        return self.retry.call(attempt)

    def _client(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._alive():
            return self._sftp
        self._drop()
        self._sftp = self._connect()
        return self._sftp

    def _alive(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    def _healthy(self, client: paramiko.SFTPClient) -> bool:
        """Whether the session still answers (after an error without an errno)."""
        try:
            client.normalize(".")
        except (OSError, EOFError, paramiko.SSHException):
            return False
        return True

    def _drop(self) -> None:
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        for closable in (sftp, transport):
            if closable is not None:
                with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                    closable.close()

    def _connect(self) -> paramiko.SFTPClient:
        cfg = self.config
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout_seconds)
        except OSError as exc:
            raise TransportError(f"cannot reach the SFTP server {cfg.host}:{cfg.port}: {_describe(exc)}", system=SYSTEM) from exc
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = cfg.timeout_seconds
        options = transport.get_security_options()
        preferred = self._pins.key_types(options.key_types)
        if preferred:
            options.key_types = preferred
        self._transport = transport
        try:
            try:
                transport.start_client(timeout=cfg.timeout_seconds)
            except IncompatiblePeer as exc:
                raise ProtocolError(f"the SFTP server {cfg.host}:{cfg.port} shares no algorithm with us: {exc}", system=SYSTEM) from exc
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise TransportError(f"SSH handshake with {cfg.host}:{cfg.port} failed: {_describe(exc)}", system=SYSTEM) from exc
            self._pins.verify(transport.get_remote_server_key())
            self._authenticate(transport)
            try:
                sftp = paramiko.SFTPClient.from_transport(transport)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise TransportError(f"the SFTP subsystem of {cfg.address} did not start: {_describe(exc)}", system=SYSTEM) from exc
            if sftp is None:
                raise ProtocolError(f"{cfg.address} refused the SFTP subsystem", system=SYSTEM)
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(cfg.timeout_seconds)
            if cfg.keepalive_seconds > 0:
                transport.set_keepalive(max(1, int(cfg.keepalive_seconds)))
        except BaseException:
            self._drop()
            raise
        self.sessions_opened += 1
        log.info("cleo sftp: connected to %s (host key %s)", cfg.address, fingerprint(transport.get_remote_server_key()))
        return sftp

    def _authenticate(self, transport: paramiko.Transport) -> None:
        cfg = self.config
        try:
            if "key" in cfg.auth:
                assert self._key is not None
                remaining = transport.auth_publickey(cfg.username, self._key)
                if remaining and "password" in cfg.auth:
                    transport.auth_password(cfg.username, self._password or "")
            else:
                transport.auth_password(cfg.username, self._password or "")
        except paramiko.BadAuthenticationType as exc:
            raise AuthenticationError(
                f"{cfg.address} does not take auth {cfg.auth}; it allows: {', '.join(exc.allowed_types) or 'nothing'}",
                system=SYSTEM,
            ) from None
        except paramiko.AuthenticationException:
            what = "password" if cfg.auth == "password" else f"key {fingerprint(self._key)}" if self._key else cfg.auth
            raise AuthenticationError(
                f"{cfg.address} refused the {what} of user {cfg.username!r} (check {cfg.password_secret if cfg.auth == 'password' else cfg.private_key_secret!r})",
                system=SYSTEM,
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise TransportError(f"authentication with {cfg.address} broke off: {_describe(exc)}", system=SYSTEM) from exc
        if not transport.is_authenticated():
            raise AuthenticationError(
                f"{cfg.address} wants more authentication than auth {cfg.auth} gives (Cleo's 'Password and Key'? use auth key+password)",
                system=SYSTEM,
            )

    # -- internals ----------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        root = self.config.root
        if not root:
            return key
        return f"/{key}" if root == "/" else f"{root}/{key}"

    def _file_path(self, key: str, name: str) -> str:
        return f"{self._path(key)}/{name}"

    def _url(self, path: str) -> str:
        cfg = self.config
        return f"sftp://{cfg.username}@{cfg.host}:{cfg.port}/{path.lstrip('/')}"

    def _remote(self, key: str, name: str, attrs: paramiko.SFTPAttributes) -> RemoteFile:
        size, mtime = int(attrs.st_size or 0), int(attrs.st_mtime or 0)
        return RemoteFile(
            id=f"{key}/{name};size={size};mtime={mtime}",
            name=name,
            folder=key,
            size=size,
            modified=datetime.fromtimestamp(mtime, UTC),
            extra={"path": self._file_path(key, name)},
        )

    def _stat(self, client: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
        try:
            return client.stat(path)
        except FileNotFoundError:
            return None

    def _remove_quietly(self, client: paramiko.SFTPClient, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            client.remove(path)

    def _read(self, client: paramiko.SFTPClient, path: str, size: int | None = None) -> bytes:
        """The bytes of `path`; large files are prefetched (pipelined reads in a thread), small
        ones read directly (one request per 32 KiB, no thread)."""
        with client.open(path, "rb") as handle:
            if size is None or size > PREFETCH_FROM:
                handle.prefetch(size)
            return handle.read()

    def _changed(self, file: RemoteFile, attrs: paramiko.SFTPAttributes) -> bool:
        """Whether the file at the path is no longer the one `file` was read as (id size/mtime)."""
        found = _ID.search(file.id)
        if found is None:
            return False
        size, mtime = int(found.group(1)), int(found.group(2))
        if (int(attrs.st_size or 0), int(attrs.st_mtime or 0)) == (size, mtime):
            return False
        log.warning(
            "cleo sftp: %s/%s changed after it was read (size %s -> %s, mtime %s -> %s): left in place for the next poll",
            file.folder, file.name, size, attrs.st_size, mtime, attrs.st_mtime,
        )
        return True

    def _same_or_conflict(
        self, client: paramiko.SFTPClient, key: str, name: str, attrs: paramiko.SFTPAttributes, content: bytes, what: str
    ) -> RemoteFile:
        path = self._file_path(key, name)
        there = None if attrs.st_size != len(content) else self._read(client, path, attrs.st_size)
        if there is not None and _sha256(there) == _sha256(content):
            log.info("cleo sftp: %s/%s is already there with the same content", key, name)
            return self._remote(key, name, attrs)
        there_text = f"sha256 {_sha256(there)[:12]}" if there is not None else f"{attrs.st_size} bytes"
        raise ConflictError(
            f"a different file named {name!r} is already in folder {key!r} (there: {there_text}; new: {len(content)} bytes, "
            f"sha256 {_sha256(content)[:12]}); the {what} is refused because the connector never overwrites a file",
            system=SYSTEM,
            status=409,
            method="SFTP RENAME",
            url=self._url(path),
        )

    def _archive_over(
        self, client: paramiko.SFTPClient, source_key: str, key: str, name: str, source: str, there: paramiko.SFTPAttributes
    ) -> RemoteFile:
        """The target name is taken: the same bytes complete the move, others are a conflict."""
        content = self._read(client, source)
        archived = self._same_or_conflict(client, key, name, there, content, "move")
        self._remove_quietly(client, source)
        return archived

    def _no_folder(self, key: str) -> ConfigError:
        where = f" under {self.config.root}" if self.config.root else ""
        return ConfigError(f"cleo: no folder {key!r}{where} in the SFTP mailbox {self.config.address}")

    def _not_found(self, key: str, name: str, what: str) -> NotFoundError:
        path = self._file_path(key, name)
        return NotFoundError(f"no file {name!r} in folder {key!r}", system=SYSTEM, status=404, method=f"SFTP {what.upper()}", url=self._url(path))

    def _translate(self, exc: OSError | EOFError | paramiko.SSHException, what: str, path: str) -> MlcError:
        method, url = f"SFTP {what.upper()}", self._url(path)
        if isinstance(exc, PermissionError):
            return UnauthorizedError(
                f"permission denied: user {self.config.username!r} may not {what} {path} (check the mailbox folder's permissions)",
                system=SYSTEM,
                status=403,
                method=method,
                url=url,
            )
        if isinstance(exc, FileNotFoundError):
            return NotFoundError(f"{path} does not exist", system=SYSTEM, status=404, method=method, url=url)
        return ProtocolError(f"the SFTP server refused {what} of {path}: {_describe(exc)}", system=SYSTEM)


def _is_dropped(exc: BaseException) -> bool:
    """A socket-level failure (reset, broken pipe, timeout), not an SFTP status."""
    return isinstance(exc, ConnectionError | TimeoutError | socket.timeout | EOFError | paramiko.SSHException)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")[:200]
