"""What the shared HTTP client does per response, cheaply: it keeps cookies as httpx does (a
cookie a server sets goes back with the next request) but leaves the cookie jar alone on a
response that sets none (httpx otherwise builds urllib wrappers for every response: a tenth of a
worker's CPU per uploaded document), and parses a JSON body from its bytes, reading it by its
Content-Type charset only when it is not UTF-8."""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any

import httpx

from connectors.common import HttpClient


class CountingJar(CookieJar):
    """A cookie jar counting the responses it is asked to read."""

    def __init__(self) -> None:
        super().__init__()
        self.read = 0

    def extract_cookies(self, response: Any, request: Any) -> None:
        self.read += 1
        super().extract_cookies(response, request)


def test_a_cookie_the_server_sets_goes_back_with_the_next_request() -> None:
    cookies_sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies_sent.append(request.headers.get("Cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "ARRAffinity=node-7; Path=/"} if len(cookies_sent) == 1 else {})

    with HttpClient("cleo", "http://cleo.test/api/", transport=httpx.MockTransport(handler)) as client:
        client.request("GET", "folders")
        client.request("GET", "folders")
        assert client.raw.cookies.get("ARRAffinity") == "node-7"
    assert cookies_sent == [None, "ARRAffinity=node-7"]


def test_a_response_without_set_cookie_leaves_the_jar_alone() -> None:
    answers = iter([httpx.Response(200), httpx.Response(200, headers={"Set-Cookie": "a=1"}), httpx.Response(201)])
    jar = CountingJar()
    with HttpClient("cleo", "http://cleo.test/api/", transport=httpx.MockTransport(lambda _request: next(answers))) as client:
        client.raw.cookies = jar
        for _ in range(3):
            client.request("GET", "folders")
        assert client.raw.cookies.jar is jar
    assert jar.read == 1
    assert [cookie.name for cookie in jar] == ["a"]


def test_a_json_body_in_another_charset_is_read_by_its_content_type() -> None:
    body = '{"name": "Müller"}'.encode("latin-1")
    answer = httpx.Response(200, content=body, headers={"Content-Type": "application/json; charset=ISO-8859-1"})
    with HttpClient("gp", "http://gp.test/", transport=httpx.MockTransport(lambda _request: answer)) as client:
        assert client.json(client.request("GET", "vendors")) == {"name": "Müller"}
