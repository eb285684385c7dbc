"""Path safety for the local folder connector: names from anywhere stay under the root.

Folder paths come from configuration (partner files), file names come from other systems
(a partner's file name in a Cleo inbox, a document number). Neither may ever address a file
outside the configured root. Both are checked twice:

1. *Lexically*: a folder is slash-separated names, a file is exactly one name; no empty, `.`
   or `..` parts, no absolute paths, no backslashes (a Windows separator), no NUL or other
   control characters, no drive letters.
2. *On disk*: the path is resolved (following symlinks) and must still be inside the resolved
   root, so a symlink cannot lead out of it.

A bad folder path is a ConfigError (it was configured); a bad file name, or a path that a
symlink leads outside the root, is a RefusedOperationError (a safety rule at run time).
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import ConfigError, RefusedOperationError

SYSTEM = "folder"
MAX_NAME_LENGTH = 255
_RULES = (
    "one or more names separated by '/', each 1-255 characters, not '.' or '..', "
    "without '\\', ':', NUL or control characters"
)


def _bad_part(part: str) -> bool:
    return (
        not part
        or part in (".", "..")
        or len(part) > MAX_NAME_LENGTH
        or any(c in part for c in "\\:")
        or any(ord(c) < 32 or ord(c) == 127 for c in part)
    )


def folder_parts(folder: str) -> tuple[str, ...]:
    """The names of a relative folder path (`acme/inbox` -> ('acme', 'inbox')); ConfigError if unsafe."""
    if not isinstance(folder, str) or not folder or folder.startswith("/") or "\x00" in folder:
        raise ConfigError(f"{SYSTEM}: invalid folder path {folder!r}: must be relative, {_RULES}")
    parts = tuple(folder.rstrip("/").split("/"))
    if any(_bad_part(part) for part in parts):
        raise ConfigError(f"{SYSTEM}: invalid folder path {folder!r}: {_RULES}")
    return parts


def check_name(name: str) -> str:
    """`name` if it is one safe file name; RefusedOperationError otherwise."""
    if not isinstance(name, str) or "/" in name or _bad_part(name) or "\x00" in name:
        raise RefusedOperationError(
            f"refusing file name {name!r}: a file name must be one name of 1-{MAX_NAME_LENGTH} characters, "
            "not '.' or '..', without '/', '\\', ':', NUL or control characters",
            system=SYSTEM,
        )
    return name


class SafeRoot:
    """A directory that every folder and file path is resolved inside of."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve(strict=True)

    def inside(self, path: Path, what: str) -> Path:
        """`path` itself, once checked that resolving it (symlinks too) stays inside the root."""
        resolved = Path(os.path.realpath(path))
        if resolved != self.root and not resolved.is_relative_to(self.root):
            raise RefusedOperationError(
                f"refusing {what}: it resolves to {resolved}, outside the root {self.root} (a symlink leads out)",
                system=SYSTEM,
            )
        return path

    def folder(self, folder: str) -> Path:
        """The directory of a folder path (it may not exist yet)."""
        parts = folder_parts(folder)
        return self.inside(self.root.joinpath(*parts), f"folder {folder!r}")

    def file(self, folder: str, name: str) -> Path:
        """The path of file `name` in `folder`."""
        directory = self.folder(folder)
        return self.inside(directory / check_name(name), f"file {name!r} in folder {folder!r}")

    def relative(self, path: Path) -> str:
        """`path` relative to the root, slash-separated."""
        return path.relative_to(self.root).as_posix()
