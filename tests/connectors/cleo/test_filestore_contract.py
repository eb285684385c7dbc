"""The FileStore contract, run against every file store implementation.

Backends: the Cleo connector against its emulator over real HTTP, the Cleo connector through
an httpx.MockTransport (in-process emulator), the Cleo connector over SFTP against a real
OpenSSH sshd (skipped when sshd is not installed, failed in CI), and the local folder
connector on tmp_path.
Each backend also offers `put` and `contents`, the view from the other side (a partner
dropping a file, an operator looking into the folder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cleo_support import Emulator, StoreFactory

from connectors.cleo.emulator import CleoEmulatorState
from connectors.folder import FolderStore
from engine.errors import ConfigError, ConflictError, RefusedOperationError
from engine.ports import FileStore, RemoteFile

INBOX, OUTBOX, ARCHIVE = "contoso/inbox", "contoso/outbox", "contoso/archive"
X12 = b"ISA*00*          *00*          *ZZ*CONTOSO~\nGS*PO~\nST*850*0001~\r\n\x00\xff binary tail~\n"


@dataclass
class Backend:
    """A file store plus the other side's view of its folders."""

    store: FileStore
    put: Callable[[str, str, bytes], None]
    contents: Callable[[str], dict[str, bytes]]
    kind: str


def _emulator_backend(store: FileStore, state: CleoEmulatorState, kind: str) -> Backend:
    def put(folder: str, name: str, content: bytes) -> None:
        state.put_file(folder, name, content)

    return Backend(
        store=store,
        put=put,
        contents=state.folder_files,
        kind=kind,
    )


def _folder_backend(root: Path) -> Backend:
    for partner in ("acme", "contoso"):
        for sub in ("inbox", "outbox", "archive"):
            (root / partner / sub).mkdir(parents=True)

    def put(folder: str, name: str, content: bytes) -> None:
        (root / folder / name).write_bytes(content)

    def contents(folder: str) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((root / folder).iterdir()) if p.is_file()}

    return Backend(store=FolderStore(root), put=put, contents=contents, kind="folder")


def _sftp_backend(sshd: Any) -> Backend:
    from sftp_support import sftp_store

    def put(folder: str, name: str, content: bytes) -> None:
        sshd.put(folder, name, content)

    return Backend(store=sftp_store(sshd), put=put, contents=sshd.folder, kind="cleo-sftp")


@pytest.fixture(params=["cleo-http", "cleo-mock", "cleo-sftp", "folder"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "cleo-sftp":
        made = _sftp_backend(request.getfixturevalue("sshd"))
        yield made
        made.store.close()  # type: ignore[attr-defined]
        return
    yield _backend(request, tmp_path)


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "cleo-http":
        emulator = request.getfixturevalue("emulator")
        return _emulator_backend(request.getfixturevalue("http_store"), emulator.state, request.param)
    if request.param == "cleo-mock":
        inproc = request.getfixturevalue("inproc")
        return _emulator_backend(request.getfixturevalue("mock_store"), inproc.state, request.param)
    return _folder_backend(tmp_path)


def test_store_satisfies_the_file_store_protocol(backend: Backend) -> None:
    assert isinstance(backend.store, FileStore)


def test_list_files_returns_every_file_across_several_pages(backend: Backend) -> None:
    names = [f"850_{n:04d}.edi" for n in range(7)]  # page size 3 for Cleo: three pages
    for number, name in enumerate(names):
        backend.put(INBOX, name, b"x" * (number + 1))

    listed = list(backend.store.list_files(INBOX))

    assert sorted(f.name for f in listed) == names
    assert {f.name: f.size for f in listed} == {name: n + 1 for n, name in enumerate(names)}
    assert {f.folder for f in listed} == {INBOX}
    assert len({f.id for f in listed}) == len(names)


def test_list_files_of_an_empty_folder_yields_nothing(backend: Backend) -> None:
    assert list(backend.store.list_files(OUTBOX)) == []


def test_folder_paths_are_normalised(backend: Backend) -> None:
    backend.put(INBOX, "a.edi", b"a")
    assert [f.name for f in backend.store.list_files(INBOX + "/")] == ["a.edi"]


def test_download_returns_the_exact_bytes(backend: Backend) -> None:
    backend.put(INBOX, "850_bytes.edi", X12)
    (listed,) = backend.store.list_files(INBOX)
    assert backend.store.download(listed) == X12


def test_upload_stores_the_file_and_returns_it(backend: Backend) -> None:
    stored = backend.store.upload(OUTBOX, "810_103001.edi", X12)

    assert (stored.name, stored.folder, stored.size) == ("810_103001.edi", OUTBOX, len(X12))
    assert backend.contents(OUTBOX) == {"810_103001.edi": X12}
    assert [f.id for f in backend.store.list_files(OUTBOX)] == [stored.id]
    assert backend.store.download(stored) == X12


def test_reupload_of_the_same_content_returns_the_existing_file(backend: Backend) -> None:
    first = backend.store.upload(OUTBOX, "810_103001.edi", X12)
    second = backend.store.upload(OUTBOX, "810_103001.edi", X12)

    assert second.id == first.id
    assert backend.contents(OUTBOX) == {"810_103001.edi": X12}


def test_cleo_upload_asks_for_its_name_only_not_for_the_whole_folder(emulator: Emulator, make_store: StoreFactory) -> None:
    for index in range(30):
        emulator.state.put_file(OUTBOX, f"earlier_{index}.edi", b"x")
    store = make_store(emulator.url, page_size=5)
    store.upload(OUTBOX, "810_103001.edi", X12)
    listings = emulator.api_requests("/files?")
    assert len(listings) == 1 and "filter=name" in listings[0]  # one filtered page, not 7 pages of the folder


def test_a_first_upload_is_one_request_to_cleo(emulator: Emulator, make_store: StoreFactory) -> None:
    store = make_store(emulator.url)
    store.upload(OUTBOX, "810_103001.edi", X12, may_exist=False)  # token and folder ids now known
    before = len(emulator.state.requests)

    store.upload(OUTBOX, "810_103002.edi", X12, may_exist=False)

    (request,) = list(emulator.state.requests)[before:]  # no token, no folder listing, no name look-up
    assert request.startswith("POST /api/folders/") and request.split("?")[0].endswith("/files")


@pytest.mark.parametrize("same", [True, False], ids=["same-content", "different-content"])
def test_a_first_upload_meeting_a_name_already_there_is_still_checked(backend: Backend, same: bool) -> None:
    first = backend.store.upload(OUTBOX, "810_103001.edi", X12)
    content = X12 if same else X12 + b"changed"

    if same:
        assert backend.store.upload(OUTBOX, "810_103001.edi", content, may_exist=False).id == first.id
    else:
        with pytest.raises(ConflictError, match="never overwrites"):
            backend.store.upload(OUTBOX, "810_103001.edi", content, may_exist=False)
    assert backend.contents(OUTBOX) == {"810_103001.edi": X12}


def test_upload_of_different_content_under_an_existing_name_is_a_conflict(backend: Backend) -> None:
    backend.store.upload(OUTBOX, "810_103001.edi", X12)

    with pytest.raises(ConflictError, match=r"810_103001\.edi.*never overwrites"):
        backend.store.upload(OUTBOX, "810_103001.edi", X12 + b"changed")

    assert backend.contents(OUTBOX) == {"810_103001.edi": X12}


def test_upload_refuses_a_name_that_is_not_one_plain_name(backend: Backend) -> None:
    with pytest.raises(RefusedOperationError, match="refusing file name"):
        backend.store.upload(OUTBOX, "../810.edi", X12)
    assert backend.contents(OUTBOX) == {}


def test_delete_removes_the_file_and_a_second_delete_is_harmless(backend: Backend) -> None:
    backend.put(INBOX, "a.edi", b"a")
    backend.put(INBOX, "b.edi", b"b")
    target = next(f for f in backend.store.list_files(INBOX) if f.name == "a.edi")

    backend.store.delete(target)
    backend.store.delete(target)

    assert backend.contents(INBOX) == {"b.edi": b"b"}


def test_move_puts_the_file_in_the_target_folder(backend: Backend) -> None:
    backend.put(INBOX, "850_7001.edi", X12)
    (listed,) = backend.store.list_files(INBOX)

    moved = backend.store.move(listed, ARCHIVE)

    assert (moved.name, moved.folder) == ("850_7001.edi", ARCHIVE)
    assert backend.contents(INBOX) == {}
    assert backend.contents(ARCHIVE) == {"850_7001.edi": X12}
    assert backend.store.download(moved) == X12


def test_move_replayed_after_it_succeeded_returns_the_moved_file(backend: Backend) -> None:
    backend.put(INBOX, "850_7001.edi", X12)
    (listed,) = backend.store.list_files(INBOX)
    first = backend.store.move(listed, ARCHIVE)

    again = backend.store.move(listed, ARCHIVE)

    assert (again.id, again.folder) == (first.id, ARCHIVE)
    assert backend.contents(ARCHIVE) == {"850_7001.edi": X12}


def test_move_onto_a_different_file_of_the_same_name_is_a_conflict(backend: Backend) -> None:
    backend.put(INBOX, "850_7001.edi", X12)
    backend.put(ARCHIVE, "850_7001.edi", b"an older, different file")
    (listed,) = backend.store.list_files(INBOX)

    with pytest.raises(ConflictError):
        backend.store.move(listed, ARCHIVE)

    assert backend.contents(INBOX) == {"850_7001.edi": X12}
    assert backend.contents(ARCHIVE) == {"850_7001.edi": b"an older, different file"}


def test_move_onto_the_same_file_already_archived_completes_the_move(backend: Backend) -> None:
    backend.put(INBOX, "850_7001.edi", X12)
    backend.put(ARCHIVE, "850_7001.edi", X12)
    (listed,) = backend.store.list_files(INBOX)

    moved = backend.store.move(listed, ARCHIVE)

    assert moved.folder == ARCHIVE
    assert backend.contents(INBOX) == {}
    assert backend.contents(ARCHIVE) == {"850_7001.edi": X12}


def test_unknown_folder_is_a_config_error(backend: Backend) -> None:
    with pytest.raises(ConfigError, match="nosuch/inbox"):
        list(backend.store.list_files("nosuch/inbox"))


@pytest.mark.parametrize("folder", ["", "../contoso/inbox", "contoso/../../etc", "contoso//inbox", "a\\b"])
def test_unusable_folder_paths_are_config_errors(backend: Backend, folder: str) -> None:
    with pytest.raises(ConfigError, match="invalid folder path"):
        list(backend.store.list_files(folder))


def test_listed_files_carry_their_modification_time(backend: Backend) -> None:
    backend.put(INBOX, "a.edi", b"a")
    (listed,) = backend.store.list_files(INBOX)
    assert isinstance(listed, RemoteFile)
    assert listed.modified is not None and listed.modified.tzinfo is not None
