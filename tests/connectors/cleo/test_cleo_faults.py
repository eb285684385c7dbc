"""Cleo connector under faults: throttling, 5xx, dropped connections, unusable bodies."""

from __future__ import annotations

import httpx
import pytest
from cleo_support import Emulator, InProcess, StoreFactory

from connectors.cleo import CleoFileStore
from engine.errors import ConfigError, ProtocolError, RetriableHttpError, TransportError

INBOX = "acme/inbox"
FILES = r"GET /api/folders/[^/]+/files"


def _html(status: int) -> httpx.Response:
    page = "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>Try later</body></html>"
    return httpx.Response(status, text=page, headers={"Content-Type": "text/html"})


def test_429_with_retry_after_waits_as_told(emulator: Emulator, http_store: CleoFileStore, sleeps: list[float]) -> None:
    emulator.plan.add("status", match=FILES, status=429, retry_after=7)

    assert len(list(http_store.list_files(INBOX))) == 2
    assert sleeps == [7.0]


def test_429_without_retry_after_backs_off_exponentially(
    emulator: Emulator, http_store: CleoFileStore, sleeps: list[float]
) -> None:
    emulator.plan.add("status", match=FILES, status=429, times=2)

    assert len(list(http_store.list_files(INBOX))) == 2
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0  # full jitter under base * 2^(n-1)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(
    emulator: Emulator, http_store: CleoFileStore, sleeps: list[float], status: int
) -> None:
    emulator.plan.add("status", match=FILES, status=status)

    assert len(list(http_store.list_files(INBOX))) == 2
    assert len(sleeps) == 1


def test_persistent_503_gives_up_with_a_retriable_error(
    emulator: Emulator, http_store: CleoFileStore, sleeps: list[float]
) -> None:
    emulator.plan.add("status", match=FILES, status=503, times=10)

    with pytest.raises(RetriableHttpError) as caught:
        list(http_store.list_files(INBOX))

    assert caught.value.status == 503 and "/files" in caught.value.url
    assert len(sleeps) == 3  # four attempts in all


def test_dropped_connection_is_retried(emulator: Emulator, http_store: CleoFileStore, sleeps: list[float]) -> None:
    (first, _) = http_store.list_files(INBOX)
    emulator.plan.add("drop", match=r"GET /api/files/.*/content")

    assert http_store.download(first).startswith(b"ISA*00*")
    assert len(sleeps) == 1


def test_connection_dropped_every_time_is_a_transport_error(
    emulator: Emulator, http_store: CleoFileStore, sleeps: list[float]
) -> None:
    emulator.plan.add("drop", match=FILES, times=10)

    with pytest.raises(TransportError, match=r"GET .*/files"):
        list(http_store.list_files(INBOX))
    assert len(sleeps) == 3


def test_slow_answer_times_out_and_is_retried(
    emulator: Emulator, make_store: StoreFactory, sleeps: list[float]
) -> None:
    store = make_store(emulator.url, timeout_seconds=0.2)
    store.list_folders()
    emulator.plan.add("delay", match=FILES, seconds=0.6)

    assert len(list(store.list_files(INBOX))) == 2
    assert len(sleeps) == 1


class LoseFirstUploadAnswer(httpx.HTTPTransport):
    """Sends requests for real, but loses the answer of the first upload (as a dropped link would)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/files") and not self.lost:
            response.read()
            response.close()
            self.lost = True
            raise httpx.RemoteProtocolError("connection lost before the answer arrived", request=request)
        return response


def test_upload_retried_after_a_lost_answer_does_not_duplicate(
    emulator: Emulator, make_store: StoreFactory, sleeps: list[float]
) -> None:
    store = make_store(emulator.url, transport=LoseFirstUploadAnswer())
    content = b"ISA*00*810~\n"

    stored = store.upload("acme/outbox", "810_103001.edi", content)

    assert emulator.state.folder_files("acme/outbox") == {"810_103001.edi": content}
    assert (stored.name, stored.size) == ("810_103001.edi", len(content))
    assert len(emulator.api_requests("POST /api/folders")) == 2  # the retry met 409, then the content check
    assert len(sleeps) == 1


def test_truncated_download_is_a_protocol_error(inproc: InProcess, mock_store: CleoFileStore) -> None:
    (first, _) = mock_store.list_files(INBOX)
    inproc.override(
        r"/content$",
        lambda r: httpx.Response(200, content=b"ISA*00*  ", headers={"Content-Type": "application/octet-stream"}),
    )

    with pytest.raises(ProtocolError, match=r"9 bytes but is listed with \d+"):
        mock_store.download(first)


def test_html_page_instead_of_a_download_is_a_protocol_error(inproc: InProcess, mock_store: CleoFileStore) -> None:
    (first, _) = mock_store.list_files(INBOX)
    inproc.override(r"/content$", lambda r: _html(200))

    with pytest.raises(ProtocolError, match="HTML page"):
        mock_store.download(first)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(_html(200), id="html-page"),
        pytest.param(
            httpx.Response(
                200, text='{"totalResults": 2, "resources": [', headers={"Content-Type": "application/json"}
            ),
            id="malformed-json",
        ),
        pytest.param(httpx.Response(200, json={"message": "Internal error, please retry"}), id="200-with-error-body"),
        pytest.param(httpx.Response(200, json=[{"id": "x"}]), id="list-not-page"),
        pytest.param(httpx.Response(200, json={"totalResults": "2", "resources": []}), id="total-not-int"),
        pytest.param(httpx.Response(200, json={"totalResults": 5, "resources": []}), id="empty-page-short-of-total"),
        pytest.param(
            httpx.Response(200, json={"totalResults": 1, "resources": [{"name": "x.edi"}]}), id="file-without-id"
        ),
        pytest.param(
            httpx.Response(200, json={"totalResults": 1, "resources": [{"id": "1", "name": "x", "size": -4}]}),
            id="negative-size",
        ),
    ],
)
def test_unusable_listing_is_a_protocol_error(
    inproc: InProcess, mock_store: CleoFileStore, answer: httpx.Response
) -> None:
    mock_store.list_folders()
    inproc.override(FILES, lambda r: answer)

    with pytest.raises(ProtocolError):
        list(mock_store.list_files(INBOX))


def test_html_error_page_with_502_is_retried(inproc: InProcess, mock_store: CleoFileStore, sleeps: list[float]) -> None:
    inproc.override(FILES, lambda r: _html(502))

    assert len(list(mock_store.list_files(INBOX))) == 2
    assert len(sleeps) == 1


def test_unknown_folder_lists_the_known_ones(mock_store: CleoFileStore) -> None:
    with pytest.raises(ConfigError, match=r"no folder 'acme/inbx'.*acme/inbox"):
        list(mock_store.list_files("acme/inbx"))


def test_stale_folder_id_is_resolved_again(emulator: Emulator, http_store: CleoFileStore) -> None:
    assert len(list(http_store.list_files(INBOX))) == 2
    old = emulator.state.folder_by_path(INBOX)
    del emulator.state.folders[old.id]
    emulator.state.add_folder(INBOX)  # re-created with a new id, empty
    emulator.state.put_file(INBOX, "850_new.edi", b"ISA~")

    assert [f.name for f in http_store.list_files(INBOX)] == ["850_new.edi"]


def test_delete_of_a_file_already_gone_is_harmless(emulator: Emulator, http_store: CleoFileStore) -> None:
    (first, second) = http_store.list_files(INBOX)
    emulator.state.delete(first.id)

    http_store.delete(first)

    assert list(emulator.state.folder_files(INBOX)) == [second.name]


def test_file_changed_since_listing_is_not_downloaded_silently(inproc: InProcess, mock_store: CleoFileStore) -> None:
    (first, _) = mock_store.list_files(INBOX)
    inproc.state.files[first.id].content += b"EXTRA~\n"

    with pytest.raises(ProtocolError, match="cut off or the file changed"):
        mock_store.download(first)
