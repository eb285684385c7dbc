"""The Cleo emulator: the demo-world seed, valid X12 seed files, and its HTTP contract."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import httpx
import pytest
from cleo_support import Emulator, StoreFactory
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.cleo.emulator import DEMO_PASSWORD, DEMO_USER, CleoEmulatorState, build_app
from connectors.common import serve_in_thread

SEED_FILES = {
    "acme/inbox": {"850_ACME-PO-7001.edi", "850_ACME-PO-7002_unknown_item.edi"},
    "globex/inbox": {"855_106001.edi", "856_PO2101.edi", "997_outbound.edi"},
}


def _segments(text: str) -> list[list[str]]:
    assert text.endswith("~\n"), "every segment ends with '~' and a newline"
    return [line.removesuffix("~").split("*") for line in text.splitlines()]


def _seed_texts() -> dict[str, str]:
    root = resources.files("connectors.cleo.emulator.seed")
    return {name: root.joinpath(name).read_text(encoding="ascii") for names in SEED_FILES.values() for name in names}


def test_seed_has_every_partner_folder_and_the_demo_world_files() -> None:
    state = CleoEmulatorState.seeded()
    paths = {folder.path for folder in state.folders.values()}
    for partner in ("acme", "contoso", "globex", "initech"):
        assert {f"{partner}/inbox", f"{partner}/outbox", f"{partner}/archive"} <= paths
    for folder, names in SEED_FILES.items():
        assert set(state.folder_files(folder)) == names
    assert state.users == {DEMO_USER: DEMO_PASSWORD}


@pytest.mark.parametrize("name", sorted(n for names in SEED_FILES.values() for n in names))
def test_seed_file_is_a_well_formed_004010_interchange(name: str) -> None:
    text = _seed_texts()[name]
    isa_line = text.splitlines()[0]
    assert len(isa_line) == 106 and isa_line[3] == "*" and isa_line[104] == ">" and isa_line[105] == "~"
    segments = _segments(text)
    isa, gs, st = segments[0], segments[1], segments[2]
    se, ge, iea = segments[-3], segments[-2], segments[-1]
    assert (isa[0], gs[0], st[0], se[0], ge[0], iea[0]) == ("ISA", "GS", "ST", "SE", "GE", "IEA")
    assert isa[7] == "ZZ" and isa[8].rstrip() == "MLCONNECT" and isa[12] == "00401" and gs[8] == "004010"
    assert isa[6].strip() == gs[2] and isa[8].strip() == gs[3]
    assert int(se[1]) == len(segments) - 4, "SE01 counts ST through SE (all but ISA, GS, GE, IEA)"
    assert se[2] == st[2] and len(st[2]) >= 4
    assert ge == ["GE", "1", gs[6]] and iea == ["IEA", "1", isa[13]]
    assert len(isa[13]) == 9 and isa[13].isdigit()


def test_seed_files_tell_the_demo_world_story() -> None:
    texts = _seed_texts()
    po_7001 = _segments(texts["850_ACME-PO-7001.edi"])
    assert po_7001[0][13] == "000000701" and po_7001[0][6].strip() == "ACMERETAIL"
    assert ["BEG", "00", "SA", "ACME-PO-7001", "", "20240603"] in po_7001
    assert [s[7] for s in po_7001 if s[0] == "PO1"] == ["AC-DESK-01", "AC-CHAIR-02"]
    assert ["N1", "ST", "Acme DC 7", "92", "0007"] in po_7001
    assert ["CTT", "2", "17"] in po_7001

    po_7002 = _segments(texts["850_ACME-PO-7002_unknown_item.edi"])
    assert "AC-LAMP-99" in [s[7] for s in po_7002 if s[0] == "PO1"]

    ack = _segments(texts["855_106001.edi"])
    assert next(s for s in ack if s[0] == "BAK")[3] == "106001"
    assert [s[7] for s in ack if s[0] == "PO1"] == ["1896-S", "1900-S", "1908-S"]
    assert [(s[1], s[2]) for s in ack if s[0] == "ACK"] == [("IA", "10"), ("IQ", "15"), ("IR", "5")]

    asn = _segments(texts["856_PO2101.edi"])
    assert ["PRF", "PO2101", "", "", "20240502"] in asn
    assert [s[3] for s in asn if s[0] == "HL"] == ["S", "O", "I", "I"]
    assert ["REF", "BM", "BOL-2101-01"] in asn and next(s for s in asn if s[0] == "TD5")[3] == "UPSN"
    assert ["CTT", "4"] in asn

    fa = _segments(texts["997_outbound.edi"])
    assert ["AK1", "PO", "1001"] in fa and ["AK9", "A", "1", "1", "1"] in fa


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url) as client:
        token = client.post(
            "/api/authentication", data={"grant_type": "password", "username": DEMO_USER, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _folder_id(emulator: Emulator, path: str) -> str:
    return emulator.state.folder_by_path(path).id


def test_raw_upload_with_a_name_parameter(api: httpx.Client, emulator: Emulator) -> None:
    folder = _folder_id(emulator, "acme/outbox")
    answer = api.post(
        f"/api/folders/{folder}/files",
        params={"name": "810_x.edi"},
        content=b"ISA~",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 201
    assert answer.json()["size"] == 4 and answer.json()["_links"]["content"]["href"].endswith("/content")
    assert emulator.state.folder_files("acme/outbox") == {"810_x.edi": b"ISA~"}


def test_upload_of_an_existing_name_is_409_with_a_message(api: httpx.Client, emulator: Emulator) -> None:
    folder = _folder_id(emulator, "acme/inbox")
    answer = api.post(f"/api/folders/{folder}/files", files={"file": ("850_ACME-PO-7001.edi", b"other")})
    assert answer.status_code == 409 and "already exists" in answer.json()["message"]


def test_multipart_upload_keeps_the_file_byte_for_byte(api: httpx.Client, emulator: Emulator) -> None:
    folder = _folder_id(emulator, "acme/outbox")
    content = bytes(range(256)) + b"\r\n--not-a-boundary\r\n" + "ISA*é~".encode()
    answer = api.post(f"/api/folders/{folder}/files", files={"file": ("810_bytes.edi", content, "application/edi-x12")}, data={"note": "x"})
    assert answer.status_code == 201 and answer.json()["size"] == len(content)
    assert emulator.state.folder_files("acme/outbox") == {"810_bytes.edi": content}


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        pytest.param({"files": {"upload": ("x.edi", b"x")}}, "The multipart body has no field 'file'.", id="other-field"),
        pytest.param({"data": {"file": "x"}, "files": {"other": ("x.edi", b"x")}}, "The multipart field 'file' has no filename.", id="no-filename"),
        pytest.param({"content": b"no parts here", "headers": {"Content-Type": "multipart/form-data"}}, "Multipart body without a boundary", id="no-boundary"),
    ],
)
def test_a_multipart_upload_without_its_file_part_is_400(api: httpx.Client, emulator: Emulator, request_args: dict[str, object], message: str) -> None:
    folder = _folder_id(emulator, "acme/outbox")
    answer = api.post(f"/api/folders/{folder}/files", **request_args)  # type: ignore[arg-type]
    assert answer.status_code == 400 and answer.json()["message"].startswith(message)
    assert emulator.state.folder_files("acme/outbox") == {}


@pytest.mark.parametrize("name", ["../x.edi", "a/b.edi", "a\\b.edi", "..", "x\x01.edi"])
def test_upload_of_a_path_like_name_is_400(api: httpx.Client, emulator: Emulator, name: str) -> None:
    folder = _folder_id(emulator, "acme/outbox")
    answer = api.post(f"/api/folders/{folder}/files", params={"name": name}, content=b"x")
    assert answer.status_code == 400 and "Invalid file name" in answer.json()["message"]


def test_upload_to_a_folder_without_upload_permission_is_403(api: httpx.Client, emulator: Emulator) -> None:
    folder = _folder_id(emulator, "acme")
    answer = api.post(f"/api/folders/{folder}/files", params={"name": "x.edi"}, content=b"x")
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("params", "status"),
    [({"startIndex": "x"}, 400), ({"count": "0"}, 400), ({"startIndex": "-1"}, 400), ({"startIndex": "99"}, 200)],
)
def test_paging_parameters_are_checked(api: httpx.Client, params: dict[str, str], status: int) -> None:
    answer = api.get("/api/folders", params=params)
    assert answer.status_code == status
    if status == 200:
        assert answer.json()["resources"] == [] and answer.json()["totalResults"] == 16


@pytest.mark.parametrize(
    ("authorization", "message"),
    [(None, "Missing bearer token"), ("Bearer nope", "Unknown access token"), ("Basic abc", "Missing bearer token")],
)
def test_calls_without_a_valid_token_are_401_with_a_message(
    emulator: Emulator, authorization: str | None, message: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.get(f"{emulator.url}/api/folders", headers=headers)
    assert answer.status_code == 401 and message in answer.json()["message"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(api: httpx.Client, emulator: Emulator) -> None:
    emulator.state.expire_tokens()
    answer = api.get("/api/folders")
    assert answer.status_code == 401 and "expired" in answer.json()["message"]


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"grant_type": "client_credentials"}, 400),
        ({"grant_type": "password", "username": DEMO_USER}, 400),
        ({"grant_type": "password", "username": DEMO_USER, "password": "wrong"}, 401),
        ({"grant_type": "refresh_token", "refresh_token": "never-issued"}, 401),
    ],
)
def test_token_endpoint_refuses_bad_grants(emulator: Emulator, form: dict[str, str], status: int) -> None:
    answer = httpx.post(f"{emulator.url}/api/authentication", data=form)
    assert answer.status_code == status and answer.json()["message"]


def test_move_by_patch_and_its_errors(api: httpx.Client, emulator: Emulator) -> None:
    (file_id,) = [f.id for f in emulator.state.files.values() if f.name == "855_106001.edi"]
    archive = _folder_id(emulator, "globex/archive")
    assert api.patch(f"/api/files/{file_id}", json={"folderId": archive}).json()["folderId"] == archive
    assert api.patch(f"/api/files/{file_id}", json={"folderId": "nope"}).status_code == 400
    assert api.patch(f"/api/files/{file_id}", json={}).status_code == 400
    assert api.patch("/api/files/nope", json={"folderId": archive}).status_code == 404
    assert set(emulator.state.folder_files("globex/archive")) == {"855_106001.edi"}


def test_connector_works_under_the_mlc_emulate_mount_prefix(make_store: StoreFactory) -> None:
    state = CleoEmulatorState.seeded()
    app = Starlette(routes=[Mount("/cleo", app=build_app(state))])
    with serve_in_thread(app) as served:
        store = make_store(f"{served.url}/cleo")
        files = list(store.list_files("globex/inbox"))
        assert {f.name for f in files} == SEED_FILES["globex/inbox"]
        assert all(f.extra["_links"]["content"]["href"].startswith("/cleo/api/files/") for f in files)
        assert store.download(files[0]) == state.files[files[0].id].content


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param('name eq "850_ACME-PO-7001.edi"', ["850_ACME-PO-7001.edi"], id="one-file"),
        pytest.param('name  eq  "nothing.edi"', [], id="no-match"),
    ],
)
def test_file_list_filtered_by_name(api: httpx.Client, emulator: Emulator, expression: str, expected: list[str]) -> None:
    folder = _folder_id(emulator, "acme/inbox")
    answer = api.get(f"/api/folders/{folder}/files", params={"filter": expression})
    assert answer.status_code == 200
    assert [f["name"] for f in answer.json()["resources"]] == expected and answer.json()["totalResults"] == len(expected)


def test_file_name_filter_reads_escaped_quotes(api: httpx.Client, emulator: Emulator) -> None:
    emulator.state.put_file("acme/outbox", 'odd"name.edi', b"x")
    folder = _folder_id(emulator, "acme/outbox")
    answer = api.get(f"/api/folders/{folder}/files", params={"filter": 'name eq "odd\\"name.edi"'})
    assert [f["name"] for f in answer.json()["resources"]] == ['odd"name.edi']


def test_an_unsupported_file_filter_is_400(api: httpx.Client, emulator: Emulator) -> None:
    folder = _folder_id(emulator, "acme/inbox")
    answer = api.get(f"/api/folders/{folder}/files", params={"filter": "size gt 10"})
    assert answer.status_code == 400 and 'name eq "<name>"' in answer.json()["message"]


def test_an_upload_whose_client_goes_away_before_its_body_arrives_is_logged_as_cut_and_stores_nothing(emulator: Emulator) -> None:
    """A worker killed mid-upload never reached a handler: the request log says CUT, so the
    end-to-end delivery checks count only uploads the emulator served."""
    import socket
    import time
    from urllib.parse import urlsplit

    folder = emulator.state.folder_by_path("acme/outbox")
    before = len(emulator.state.files)
    emulator.state.requests.clear()
    parts = urlsplit(emulator.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        head = (
            f"POST /api/folders/{folder.id}/files HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.edi\"\r\n\r\nISA*00")
    deadline = time.monotonic() + 10
    while not emulator.state.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(emulator.state.requests) == [f"CUT POST /api/folders/{folder.id}/files"]
    assert len(emulator.state.files) == before
