"""Cleo tokens: password grant, refresh before expiry and before writes, fallbacks, 401s."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
from cleo_support import Emulator, FakeClock, InProcess, StoreFactory

from connectors.cleo.emulator import DEMO_PASSWORD
from engine.errors import AuthenticationError, MlcError, ProtocolError, UnauthorizedError

AUTH = "POST /api/authentication"
ARCHIVE = "acme/archive"


def _grants(emulator: Emulator) -> list[str]:
    return list(emulator.state.grants)


def test_first_call_authenticates_with_the_password_grant_and_no_client_id(
    inproc: InProcess, make_store: StoreFactory
) -> None:
    forms: list[dict[str, list[str]]] = []

    def capture(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"access_token": "t1", "token_type": "bearer", "expires_in": 600})

    inproc.override(AUTH, capture)
    inproc.override("GET /api/folders", lambda r: httpx.Response(200, json={"totalResults": 0, "resources": []}))
    store = make_store("http://cleo.test", transport=inproc.transport())

    assert store.list_folders() == []
    assert forms == [{"grant_type": ["password"], "username": ["mlc-demo"], "password": [DEMO_PASSWORD]}]


def test_every_api_call_carries_the_bearer_token(emulator: Emulator, make_store: StoreFactory) -> None:
    store = make_store(emulator.url)
    store.list_folders()
    # The emulator answers 401 to any call without a valid token, so reaching here proves it;
    # one password grant served all the pages.
    assert _grants(emulator) == ["password"]
    assert len(emulator.api_requests("GET /api/folders")) == 6  # 16 folders, 3 per page


def test_token_is_refreshed_shortly_before_it_expires(
    emulator: Emulator, make_store: StoreFactory, clock: FakeClock
) -> None:
    emulator.state.access_token_lifetime = 60
    store = make_store(emulator.url, token_skew_seconds=10)
    list(store.list_files("acme/inbox"))

    clock.advance(49)
    list(store.list_files("acme/inbox"))
    assert _grants(emulator) == ["password"]

    clock.advance(2)  # 51 s: inside the 10 s skew before expiry
    list(store.list_files("acme/inbox"))
    assert _grants(emulator) == ["password", "refresh_token"]


def test_skew_is_capped_at_half_the_token_lifetime(
    emulator: Emulator, make_store: StoreFactory, clock: FakeClock
) -> None:
    emulator.state.access_token_lifetime = 4
    store = make_store(emulator.url, token_skew_seconds=60)
    list(store.list_files("acme/inbox"))
    clock.advance(1.5)
    list(store.list_files("acme/inbox"))
    assert _grants(emulator) == ["password"]
    clock.advance(1)
    list(store.list_files("acme/inbox"))
    assert _grants(emulator) == ["password", "refresh_token"]


def test_writes_reuse_a_token_that_is_not_near_expiry(emulator: Emulator, make_store: StoreFactory) -> None:
    store = make_store(emulator.url)
    uploaded = store.upload("acme/outbox", "810_103001.edi", b"ISA~", may_exist=False)
    inbox = list(store.list_files("acme/inbox"))
    moved = store.move(inbox[0], ARCHIVE)
    store.delete(moved)
    store.delete(uploaded)

    assert _grants(emulator) == ["password"]  # one login for every read and write
    assert list(emulator.state.requests).count(AUTH) == 1


def test_a_write_inside_the_expiry_margin_renews_the_token_before_it_is_sent(
    emulator: Emulator, make_store: StoreFactory, clock: FakeClock
) -> None:
    emulator.state.access_token_lifetime = 60
    store = make_store(emulator.url, token_skew_seconds=10)
    store.upload("acme/outbox", "810_103001.edi", b"ISA~1", may_exist=False)
    clock.advance(51)  # inside the 10 s margin before expiry

    store.upload("acme/outbox", "810_103002.edi", b"ISA~2", may_exist=False)

    served = list(emulator.state.requests)
    write = max(i for i, line in enumerate(served) if line.startswith("POST /api/f"))
    assert served[write - 1] == AUTH
    assert _grants(emulator) == ["password", "refresh_token"]


def test_refused_refresh_falls_back_to_the_password_grant(
    emulator: Emulator, make_store: StoreFactory, clock: FakeClock
) -> None:
    emulator.state.access_token_lifetime = 60
    store = make_store(emulator.url)
    list(store.list_files("acme/inbox"))
    emulator.state.revoke_refresh_tokens()
    clock.advance(55)

    assert len(list(store.list_files("acme/inbox"))) == 2
    assert _grants(emulator) == ["password", "refresh_token", "password"]


def test_refresh_tokens_are_single_use(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.url) as client:
        login = {"grant_type": "password", "username": "mlc-demo", "password": DEMO_PASSWORD}
        first = client.post("/api/authentication", data=login).json()
        refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        second = client.post("/api/authentication", data=refresh)
        reused = client.post("/api/authentication", data=refresh)

    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    assert reused.status_code == 401 and "refresh token" in reused.json()["message"]


def test_token_expired_mid_run_is_renewed_and_the_call_succeeds(emulator: Emulator, make_store: StoreFactory) -> None:
    store = make_store(emulator.url)
    list(store.list_files("acme/inbox"))
    before = len(emulator.api_requests("/files"))
    emulator.state.expire_tokens()

    assert len(list(store.list_files("acme/inbox"))) == 2
    assert len(emulator.api_requests("/files")) - before == 2  # refused once, then served
    assert _grants(emulator) == ["password", "refresh_token"]


def test_token_expired_and_refresh_revoked_mid_run_reauthenticates(
    emulator: Emulator, make_store: StoreFactory
) -> None:
    store = make_store(emulator.url)
    list(store.list_files("acme/inbox"))
    emulator.state.expire_tokens()
    emulator.state.revoke_refresh_tokens()

    assert len(list(store.list_files("acme/inbox"))) == 2
    assert _grants(emulator) == ["password", "refresh_token", "password"]


def test_401_then_success_returns_the_data(inproc: InProcess, make_store: StoreFactory) -> None:
    inproc.override("GET /api/folders/", lambda r: httpx.Response(401, json={"message": "Token revoked."}))
    store = make_store("http://cleo.test", transport=inproc.transport())

    assert len(list(store.list_files("acme/inbox"))) == 2
    assert list(inproc.state.grants) == ["password", "refresh_token"]


def test_second_401_is_an_authentication_error_after_one_renewal(inproc: InProcess, make_store: StoreFactory) -> None:
    inproc.override("GET /api/folders$", lambda r: httpx.Response(401, json={"message": "Not allowed."}), times=5)
    store = make_store("http://cleo.test", transport=inproc.transport())

    with pytest.raises(UnauthorizedError) as caught:
        store.list_folders()

    assert isinstance(caught.value, AuthenticationError)
    assert caught.value.status == 401
    assert "renewing the token once" in str(caught.value) and "'mlc-demo'" in str(caught.value)
    assert len([line for line in inproc.seen if line.startswith("GET /api/folders")]) == 2
    assert list(inproc.state.grants) == ["password", "refresh_token"]


def test_wrong_password_is_an_authentication_error_that_does_not_show_it(
    emulator: Emulator, make_store: StoreFactory
) -> None:
    store = make_store(emulator.url, password="hunter2-wrong")

    with pytest.raises(AuthenticationError, match="'mlc-demo' was refused") as caught:
        store.list_folders()

    assert "hunter2-wrong" not in str(caught.value)
    assert emulator.api_requests() == []


def test_unusable_token_responses_are_protocol_errors(inproc: InProcess, make_store: StoreFactory) -> None:
    shapes = [
        httpx.Response(200, json={"message": "ok"}),
        httpx.Response(200, text="<html><body>Sign in</body></html>", headers={"Content-Type": "text/html"}),
        httpx.Response(200, text='{"access_token": "abc", ', headers={"Content-Type": "application/json"}),
        httpx.Response(200, json={"access_token": "abc", "token_type": "mac"}),
    ]
    store = make_store("http://cleo.test", transport=inproc.transport())
    for shape in shapes:

        def answer(request: httpx.Request, shape: httpx.Response = shape) -> httpx.Response:
            return shape

        inproc.override(AUTH, answer)
        with pytest.raises(ProtocolError):
            store.list_folders()


def test_token_endpoint_throttling_is_retried(inproc: InProcess, make_store: StoreFactory, sleeps: list[float]) -> None:
    inproc.override(AUTH, lambda r: httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"}))
    store = make_store("http://cleo.test", transport=inproc.transport())

    assert len(store.list_folders()) == 16
    assert sleeps == [3.0]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(401, json={"message": f"bad password {DEMO_PASSWORD}"}), id="401-echo"),
        pytest.param(
            httpx.Response(400, json={"error": "invalid_grant", "error_description": DEMO_PASSWORD}), id="400"
        ),
        pytest.param(httpx.Response(500, text=f"<html>login {DEMO_PASSWORD}</html>"), id="500-html"),
        pytest.param(httpx.Response(200, text=f"<html>{DEMO_PASSWORD}</html>"), id="200-html"),
        pytest.param(httpx.Response(200, text=f'{{"password": "{DEMO_PASSWORD}"'), id="200-bad-json"),
    ],
)
def test_the_password_never_appears_in_an_error(
    inproc: InProcess, make_store: StoreFactory, answer: httpx.Response
) -> None:
    inproc.override(AUTH, lambda r: answer, times=10)
    store = make_store("http://cleo.test", transport=inproc.transport())

    with pytest.raises(MlcError) as caught:
        store.list_folders()

    error = caught.value
    texts = [str(error), repr(error.args), *(str(v) for v in vars(error).values())]
    assert not [text for text in texts if DEMO_PASSWORD in text]
