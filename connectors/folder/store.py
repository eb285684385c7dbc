"""The local folder file store: `engine.ports.FileStore` on a directory tree.

A folder is a relative directory path under the root (`inbox`, `acme/outbox`, `archive/2024`);
the connector serves dry runs and file drops. The same rules as the Cleo connector hold:

- Uploads are atomic and never overwrite: the content is written to a hidden temporary file in
  the target directory, flushed to disk, then published under its name with a hard link,
  which fails if the name exists (a rename would silently replace a file that appeared
  meanwhile). Where the file system has no hard links the temporary file is renamed after an
  existence check. Same name and same content (sha256) is an idempotent no-op; a different
  content is a ConflictError.
- Moving works the same way (link, then unlink the source); a file that is already in the
  target folder with the same content completes the move; a source that is gone but present
  in the target is taken as moved (replay after a crash). Deleting a missing file succeeds.
- A download whose size differs from the listing (a partner still writing it) is a
  ProtocolError, never half a file.
- Every folder and file name goes through `connectors.folder.paths` (nothing escapes the root).

Listing skips directories, dot-files (also the connector's own temporary files), names the
connector would refuse, and symlinks that lead outside the root (each skip is logged).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from connectors.folder.paths import SYSTEM, SafeRoot, folder_parts
from engine.durable import fsync_dir
from engine.errors import (
    ConfigError,
    ConflictError,
    MlcError,
    NotFoundError,
    ProtocolError,
    RefusedOperationError,
    StoreError,
)
from engine.ports import RemoteFile

log = logging.getLogger(__name__)

TEMP_PREFIX = ".mlc-tmp-"
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV}


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class FolderStore:
    """A directory tree as a `FileStore`; `create_folders` makes missing target folders on write."""

    def __init__(self, root: str | Path, *, create_folders: bool = True) -> None:
        path = Path(root)
        if not path.is_dir():
            raise ConfigError(f"{SYSTEM}: root {str(path)!r} is not an existing directory")
        self._root = SafeRoot(path)
        self.create_folders = create_folders

    @property
    def root(self) -> Path:
        """The resolved root directory."""
        return self._root.root

    def close(self) -> None:
        """Nothing to release (symmetry with the remote stores)."""

    def __enter__(self) -> FolderStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- FileStore ----------------------------------------------------------------------------

    def list_files(self, folder: str) -> Iterator[RemoteFile]:
        """Every regular file in `folder` (not its subfolders), sorted by name."""
        key = "/".join(folder_parts(folder))
        directory = self._root.folder(folder)
        if not directory.is_dir():
            raise ConfigError(f"{SYSTEM}: no folder {key!r} under {self.root}")
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            if name.startswith("."):
                continue
            try:
                path = self._root.file(key, name)
            except MlcError as exc:
                log.warning("folder: skipping %r in %s: %s", name, key, exc)
                continue
            if path.is_file():
                yield self._remote(key, path)

    def download(self, file: RemoteFile) -> bytes:
        """The file's bytes; ProtocolError when the size no longer matches the listing."""
        path = self._root.file(file.folder, file.name)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise self._not_found(file.folder, file.name, path) from None
        except IsADirectoryError:
            raise RefusedOperationError(
                f"{file.folder}/{file.name} is a directory, not a file", system=SYSTEM
            ) from None
        except OSError as exc:
            raise StoreError(f"{SYSTEM}: cannot read {path}: {exc.strerror}") from exc
        if file.size is not None and len(content) != file.size:
            raise ProtocolError(
                f"{file.folder}/{file.name} has {len(content)} bytes but was listed with {file.size}: "
                "it changed since the listing (still being written?); not using it",
                system=SYSTEM,
            )
        return content

    def upload(self, folder: str, name: str, content: bytes, *, may_exist: bool = True) -> RemoteFile:
        """Write `content` as `name` atomically; idempotent for the same content, never overwrites
        (`may_exist` changes nothing here: checking a local name costs no request)."""
        key = "/".join(folder_parts(folder))
        target = self._root.file(key, name)
        self._ensure_directory(key, target.parent)
        if os.path.lexists(target):
            return self._same_or_conflict(key, target, content, "PUT")
        temp = self._write_temp(target.parent, content)
        try:
            self._publish(key, temp, target, content, "PUT")
        finally:
            temp.unlink(missing_ok=True)
        fsync_dir(target.parent)
        return self._remote(key, target)

    def delete(self, file: RemoteFile) -> None:
        """Remove the file; one that is already gone is not an error."""
        path = self._root.file(file.folder, file.name)
        try:
            path.unlink()
        except FileNotFoundError:
            log.info("folder: %s/%s was already deleted", file.folder, file.name)
        except IsADirectoryError:
            raise RefusedOperationError(
                f"{file.folder}/{file.name} is a directory, not a file", system=SYSTEM
            ) from None
        except OSError as exc:
            raise StoreError(f"{SYSTEM}: cannot delete {path}: {exc.strerror}") from exc

    def move(self, file: RemoteFile, folder: str) -> RemoteFile:
        """Move the file into `folder` under the same name; never overwrites a different file."""
        key = "/".join(folder_parts(folder))
        source = self._root.file(file.folder, file.name)
        target = self._root.file(key, file.name)
        if source == target:
            return file
        self._ensure_directory(key, target.parent)
        if not os.path.lexists(source):
            if target.is_file():
                return self._remote(key, target)  # moved already (replayed step)
            raise self._not_found(file.folder, file.name, source)
        if os.path.lexists(target):
            existing = self._same_or_conflict(key, target, source.read_bytes(), "MOVE")
            source.unlink(missing_ok=True)
            return existing
        try:
            os.link(source, target)
        except FileExistsError:
            self._same_or_conflict(key, target, source.read_bytes(), "MOVE")
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                self.upload(key, file.name, source.read_bytes())
            elif exc.errno in _NO_HARD_LINKS:
                os.rename(source, target)
            else:
                raise StoreError(f"{SYSTEM}: cannot move {source} to {target}: {exc.strerror}") from exc
        source.unlink(missing_ok=True)
        fsync_dir(target.parent)
        fsync_dir(source.parent)
        return self._remote(key, target)

    # -- internals ----------------------------------------------------------------------------

    def _remote(self, key: str, path: Path) -> RemoteFile:
        stat = path.stat()
        return RemoteFile(
            id=f"{key}/{path.name}",
            name=path.name,
            folder=key,
            size=stat.st_size,
            modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            extra={"path": str(path)},
        )

    def _ensure_directory(self, key: str, directory: Path) -> None:
        if directory.is_dir():
            return
        if not self.create_folders:
            raise ConfigError(f"{SYSTEM}: no folder {key!r} under {self.root} (create_folders is off)")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{SYSTEM}: cannot create folder {key!r} under {self.root}: {exc.strerror}") from exc
        self._root.inside(directory, f"folder {key!r}")

    def _write_temp(self, directory: Path, content: bytes) -> Path:
        try:
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
        except OSError as exc:
            raise StoreError(f"{SYSTEM}: cannot write in {directory}: {exc.strerror}") from exc
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            temp.chmod(0o644)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise StoreError(f"{SYSTEM}: cannot write in {directory}: {exc.strerror}") from exc
        return temp

    def _publish(self, key: str, temp: Path, target: Path, content: bytes, method: str) -> None:
        try:
            os.link(temp, target)
        except FileExistsError:
            self._same_or_conflict(key, target, content, method)
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise StoreError(f"{SYSTEM}: cannot write {target}: {exc.strerror}") from exc
            if os.path.lexists(target):
                self._same_or_conflict(key, target, content, method)
            else:
                os.replace(temp, target)

    def _same_or_conflict(self, key: str, target: Path, content: bytes, method: str) -> RemoteFile:
        if not target.is_file():
            raise RefusedOperationError(f"{key}/{target.name} exists and is not a regular file", system=SYSTEM)
        there = target.read_bytes()
        if _sha256(there) == _sha256(content):
            log.info("folder: %s/%s is already there with the same content", key, target.name)
            return self._remote(key, target)
        raise ConflictError(
            f"a different file named {target.name!r} is already in folder {key!r} "
            f"(there: {len(there)} bytes, sha256 {_sha256(there)[:12]}; new: {len(content)} bytes, "
            f"sha256 {_sha256(content)[:12]}); the connector never overwrites a file",
            system=SYSTEM,
            status=409,
            method=method,
            url=target.as_uri(),
        )

    @staticmethod
    def _not_a_file(file: RemoteFile) -> RefusedOperationError:
        return RefusedOperationError(f"{file.folder}/{file.name} is a directory, not a file", system=SYSTEM)

    def _not_found(self, folder: str, name: str, path: Path) -> NotFoundError:
        return NotFoundError(
            f"no file {name!r} in folder {folder!r}", system=SYSTEM, status=404, method="GET", url=path.as_uri()
        )
