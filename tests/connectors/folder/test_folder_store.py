"""Local folder connector: path safety, atomic writes, listing rules, configuration.

The FileStore contract itself runs in tests/connectors/cleo/test_filestore_contract.py,
against this connector as well as Cleo's.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import connectors.folder
from connectors.folder import FolderStore, connect, plugin
from engine.errors import ConfigError, ConflictError, ProtocolError, RefusedOperationError, StoreError
from engine.plugins import ConnectorPlugin
from engine.ports import FileStore, RemoteFile

UNSAFE_FOLDERS = [
    pytest.param("../outside", id="parent"),
    pytest.param("inbox/../../outside", id="parent-inside"),
    pytest.param("/etc", id="absolute"),
    pytest.param("", id="empty"),
    pytest.param(".", id="dot"),
    pytest.param("inbox//x", id="empty-part"),
    pytest.param("inbox\\..\\..", id="backslash"),
    pytest.param("inbox\x00", id="nul"),
    pytest.param("C:/Windows", id="drive-letter"),
    pytest.param("inbox/\n", id="control-char"),
]

UNSAFE_NAMES = [
    pytest.param("../evil.edi", id="parent"),
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("sub/file.edi", id="slash"),
    pytest.param("..\\..\\evil.edi", id="backslash"),
    pytest.param("evil\x00.edi", id="nul"),
    pytest.param("", id="empty"),
    pytest.param("a" * 256, id="too-long"),
    pytest.param("C:evil.edi", id="drive-letter"),
    pytest.param("line\nbreak.edi", id="newline"),
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    for folder in ("inbox", "outbox", "archive"):
        (base / folder).mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"do not read")
    return base


@pytest.fixture
def store(root: Path) -> FolderStore:
    return FolderStore(root)


def _file(folder: str, name: str, size: int | None = None) -> RemoteFile:
    return RemoteFile(id=f"{folder}/{name}", name=name, folder=folder, size=size)


@pytest.mark.parametrize("folder", UNSAFE_FOLDERS)
def test_unsafe_folder_paths_are_refused_for_every_operation(store: FolderStore, root: Path, folder: str) -> None:
    (root / "inbox" / "a.edi").write_bytes(b"a")
    operations: list[Callable[[], object]] = [
        lambda: list(store.list_files(folder)),
        lambda: store.upload(folder, "x.edi", b"x"),
        lambda: store.download(_file(folder, "a.edi")),
        lambda: store.delete(_file(folder, "a.edi")),
        lambda: store.move(_file("inbox", "a.edi"), folder),
    ]
    for operation in operations:
        with pytest.raises(ConfigError, match="invalid folder path"):
            operation()
    assert (root / "inbox" / "a.edi").read_bytes() == b"a"
    assert sorted(p.name for p in root.parent.iterdir()) == ["outside", "root"]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_file_names_are_refused_for_every_operation(store: FolderStore, root: Path, name: str) -> None:
    operations: list[Callable[[], object]] = [
        lambda: store.upload("outbox", name, b"x"),
        lambda: store.download(_file("inbox", name)),
        lambda: store.delete(_file("inbox", name)),
        lambda: store.move(_file("inbox", name), "archive"),
    ]
    for operation in operations:
        with pytest.raises(RefusedOperationError, match="refusing file name"):
            operation()
    assert list((root / "outbox").iterdir()) == []
    assert (root.parent / "outside" / "secret.txt").exists()


def test_folder_symlinked_outside_the_root_is_refused(store: FolderStore, root: Path) -> None:
    (root / "escape").symlink_to(root.parent / "outside")

    with pytest.raises(RefusedOperationError, match="outside the root"):
        list(store.list_files("escape"))
    with pytest.raises(RefusedOperationError, match="outside the root"):
        store.upload("escape", "x.edi", b"x")
    with pytest.raises(RefusedOperationError, match="outside the root"):
        store.download(_file("escape", "secret.txt"))
    assert sorted(p.name for p in (root.parent / "outside").iterdir()) == ["secret.txt"]


def test_file_symlinked_outside_the_root_is_skipped_and_refused(store: FolderStore, root: Path) -> None:
    (root / "inbox" / "secret.edi").symlink_to(root.parent / "outside" / "secret.txt")
    (root / "inbox" / "ok.edi").write_bytes(b"ok")

    assert [f.name for f in store.list_files("inbox")] == ["ok.edi"]
    with pytest.raises(RefusedOperationError, match="outside the root"):
        store.download(_file("inbox", "secret.edi"))
    with pytest.raises(RefusedOperationError, match="outside the root"):
        store.move(_file("inbox", "secret.edi"), "archive")
    with pytest.raises(RefusedOperationError, match="outside the root"):
        store.delete(_file("inbox", "secret.edi"))
    assert (root.parent / "outside" / "secret.txt").read_bytes() == b"do not read"


def test_symlink_that_stays_inside_the_root_is_followed(store: FolderStore, root: Path) -> None:
    (root / "archive" / "850.edi").write_bytes(b"ISA~")
    (root / "inbox" / "850.edi").symlink_to(root / "archive" / "850.edi")

    (listed,) = store.list_files("inbox")
    assert store.download(listed) == b"ISA~"


def test_upload_leaves_no_temporary_file_behind(store: FolderStore, root: Path) -> None:
    store.upload("outbox", "810.edi", b"ISA~")
    store.upload("outbox", "810.edi", b"ISA~")
    with pytest.raises(ConflictError):
        store.upload("outbox", "810.edi", b"other")

    assert sorted(p.name for p in (root / "outbox").iterdir()) == ["810.edi"]


def test_failed_write_leaves_neither_the_file_nor_a_temporary(
    store: FolderStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_link(src: object, dst: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "link", broken_link)

    with pytest.raises(StoreError, match="cannot write"):
        store.upload("outbox", "810.edi", b"ISA~")
    assert list((root / "outbox").iterdir()) == []


def test_without_hard_links_the_temporary_file_is_renamed(
    store: FolderStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)

    stored = store.upload("outbox", "810.edi", b"ISA~")
    assert store.upload("outbox", "810.edi", b"ISA~") == stored
    with pytest.raises(ConflictError):
        store.upload("outbox", "810.edi", b"other")
    moved = store.move(stored, "archive")
    assert (moved.folder, (root / "archive" / "810.edi").read_bytes()) == ("archive", b"ISA~")
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["810.edi"]


def test_upload_creates_missing_nested_folders(store: FolderStore, root: Path) -> None:
    stored = store.upload("acme/outbox/2024", "810.edi", b"ISA~")
    assert stored.folder == "acme/outbox/2024"
    assert (root / "acme" / "outbox" / "2024" / "810.edi").read_bytes() == b"ISA~"


def test_missing_folders_are_an_error_when_creation_is_off(root: Path) -> None:
    store = FolderStore(root, create_folders=False)
    with pytest.raises(ConfigError, match="create_folders is off"):
        store.upload("acme/outbox", "810.edi", b"ISA~")


def test_listing_skips_directories_dot_files_and_temporaries(store: FolderStore, root: Path) -> None:
    inbox = root / "inbox"
    (inbox / "850.edi").write_bytes(b"ISA~")
    (inbox / ".mlc-tmp-abc").write_bytes(b"half")
    (inbox / ".DS_Store").write_bytes(b"x")
    (inbox / "sub").mkdir()
    (inbox / "bad\\name.edi").write_bytes(b"x")

    assert [f.name for f in store.list_files("inbox")] == ["850.edi"]


def test_file_still_growing_since_the_listing_is_not_downloaded(store: FolderStore, root: Path) -> None:
    (root / "inbox" / "850.edi").write_bytes(b"ISA*00~")
    (listed,) = store.list_files("inbox")
    with (root / "inbox" / "850.edi").open("ab") as handle:
        handle.write(b"GS*PO~")

    with pytest.raises(ProtocolError, match="changed since the listing"):
        store.download(listed)


def test_missing_root_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an existing directory"):
        FolderStore(tmp_path / "nope")


def test_connect_resolves_a_relative_root_against_the_project(tmp_path: Path) -> None:
    (tmp_path / "drops").mkdir()
    store = connect({"type": "folder", "root": "drops"}, base_dir=tmp_path)
    assert isinstance(store, FileStore)
    assert store.root == (tmp_path / "drops").resolve()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({}, "root must be a non-empty directory path", id="no-root"),
        pytest.param(
            {"root": "x", "rot": 1}, "unknown keys ['rot']; valid keys: type, root, create_folders", id="typo"
        ),
        pytest.param({"root": "x", "type": "cleo"}, "type must be 'folder'", id="wrong-type"),
        pytest.param({"root": "x", "create_folders": "yes"}, "create_folders must be true or false", id="not-bool"),
    ],
)
def test_invalid_connection_configs_are_reported(config: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        connect(config)
    assert expected in str(caught.value)


def test_plugin_exposes_the_factory() -> None:
    assert isinstance(plugin, ConnectorPlugin)
    assert (plugin.name, plugin.title, plugin.connect, plugin.emulators) == ("folder", "Local folder", connect, ())


def test_public_api_is_sorted_and_importable() -> None:
    names = connectors.folder.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert hasattr(connectors.folder, name)
