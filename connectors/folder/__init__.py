"""Local folder: the `FileStore` interface on a directory, for dry runs and file drops.

```yaml
drops:
  type: folder
  root: ./work/drops          # relative to the project directory
  create_folders: true        # optional: make missing target folders on write
```
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from connectors.folder.paths import SafeRoot, check_name, folder_parts
from connectors.folder.store import FolderStore
from engine.errors import ConfigError
from engine.plugins import ConnectorPlugin

KEYS = ("type", "root", "create_folders")


def connect(
    config: Mapping[str, Any],
    secrets: Callable[[str], str] | None = None,
    *,
    transport: object | None = None,
    base_dir: str | Path | None = None,
) -> FolderStore:
    """A `FolderStore` for a connection mapping; `secrets` and `transport` are not used.

    A relative `root` is taken relative to `base_dir` (the project directory; default: the
    current directory).
    """
    validate_config(config)
    path = Path(str(config["root"])).expanduser()
    if not path.is_absolute():
        path = Path(base_dir or Path.cwd()) / path
    return FolderStore(path, create_folders=bool(config.get("create_folders", True)))


def validate_config(config: Mapping[str, Any]) -> None:
    """Check a folder connection entry; one ConfigError naming every problem."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"folder connection: expected a mapping, got {type(config).__name__}")
    problems: list[str] = []
    unknown = sorted(set(config) - set(KEYS))
    if unknown:
        problems.append(f"unknown keys {unknown}; valid keys: {', '.join(KEYS)}")
    if config.get("type", "folder") != "folder":
        problems.append(f"type must be 'folder', got {config.get('type')!r}")
    root = config.get("root")
    if not isinstance(root, str) or not root.strip():
        problems.append(f"root must be a non-empty directory path, got {root!r}")
    create = config.get("create_folders", True)
    if not isinstance(create, bool):
        problems.append(f"create_folders must be true or false, got {create!r}")
    if problems:
        raise ConfigError("folder connection: " + "; ".join(problems))


plugin = ConnectorPlugin(name="folder", title="Local folder", connect=connect, validate_config=validate_config)

__all__ = ["FolderStore", "SafeRoot", "check_name", "connect", "folder_parts", "plugin", "validate_config"]
