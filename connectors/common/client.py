"""The HTTP client every connector talks through.

Wraps `httpx.Client` with the retry policy and translates everything httpx can raise, and
every error status, into the engine's exception tree (`engine.errors`): no httpx exception
escapes a connector. Error excerpts are cut short and have secrets masked before any message
is built. The transport is injectable (`httpx.MockTransport` in tests, the emulator over
loopback, the real system in production). Every response (each retry, each auth round trip)
and every call that got no response is reported to `engine.metrics.report_http_call`, which
feeds the service's metrics.

With a `pacer` (the runtime gives one to a connection with a rate budget: `engine.pacing`),
every request the client sends waits for its turn first: retries and the resend after a 401 are
requests too (an httpx request hook, so auth flows are paced as well). A `RateBudgetError`
(turn too far away) leaves the client unretried: the job is retried later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from connectors.common.retry import RetryPolicy, parse_retry_after
from engine.errors import (
    ConflictError,
    HttpStatusError,
    NotFoundError,
    ProtocolError,
    RemoteValidationError,
    RetriableHttpError,
    TransportError,
    UnauthorizedError,
)
from engine.metrics import report_http_call
from engine.ports import RequestPacer
from engine.secrets import mask as mask

RETRIABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
EXCERPT_CHARS = 200

ErrorDecoder = Callable[[httpx.Response], tuple[str | None, str]]
"""Reads a system's error body: returns (error code or None, human message)."""


def excerpt(text: str, secrets: Iterable[str] = ()) -> str:
    """A one-line, short, secret-free excerpt of a response body for error messages."""
    flat = " ".join(mask(text, secrets).split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 3] + "..."


def default_error_decoder(response: httpx.Response) -> tuple[str | None, str]:
    """Understands `{"error": {"code", "message"}}`, `{"error": "...", "error_description"}`
    and `{"message": ...}`; anything else yields the reason phrase."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None, response.reason_phrase or "error"
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return err.get("code"), str(err.get("message", ""))
        if isinstance(err, str):
            return err, str(body.get("error_description", err))
        for key in ("message", "Message"):
            if key in body:
                return body.get("code") or body.get("ErrorCode"), str(body[key])
    return None, response.reason_phrase or "error"


class _Cookies(httpx.Cookies):
    """httpx's cookie store, without the work on a response that sets no cookie.

    httpx wraps every response and its request for urllib's `CookieJar.extract_cookies`,
    whether the response has a Set-Cookie header or not: a tenth of a worker's CPU per uploaded
    document (benchmarks/end_to_end.py). A response without the header cannot change the jar,
    so it is skipped (as httpx's successor httpx2 does, pydantic/httpx2#1107); one that sets
    cookies (a load balancer's affinity cookie, say) is stored as before."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.Client):
    """`httpx.Client` keeping its cookies in `_Cookies`."""

    def __init__(self, **kwargs: Any) -> None:
        self._jar = _Cookies()
        super().__init__(**kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:  # what httpx.Cookies takes
        self._jar = _Cookies(cookies)


class HttpClient:
    """An httpx client bound to one system, with retries and error translation.

    `secrets` returns the values to mask in any error text (called lazily, so rotated
    credentials are masked too). `pacer` paces every request under the connection's rate
    budget (module docstring).
    """

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        auth: httpx.Auth | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        error_decoder: ErrorDecoder = default_error_decoder,
        secrets: Callable[[], Iterable[str]] = lambda: (),
        pacer: RequestPacer | None = None,
    ) -> None:
        self.system = system
        self.pacer = pacer
        self.retry = retry or RetryPolicy()
        self.error_decoder = error_decoder
        self.secrets = secrets
        self._client = _Client(
            base_url=base_url,
            transport=transport,
            auth=auth,
            timeout=timeout,
            headers=dict(headers or {}),
            follow_redirects=False,
            event_hooks={"request": [self.pace_request], "response": [self._observe]},
        )
        self._base_path = self._client.base_url.path.rstrip("/")

    def _observe(self, response: httpx.Response) -> None:
        report_http_call(self.system, response.request.method, response.status_code)

    def pace_request(self, request: httpx.Request) -> None:
        """Wait for `request`'s turn under the rate budget (an httpx request hook; also hooked
        into a connector's own token client when it talks to the same system)."""
        if self.pacer is None:
            return
        path = request.url.path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path) :] or "/"
        self.pacer.pace(request.method, path)

    @property
    def raw(self) -> httpx.Client:
        """The underlying client (for auth flows that need to share its transport)."""
        return self._client

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, *, retry: bool = True, idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        """Send a request; return the response when its status is below 400, raise otherwise.

        A request that is not idempotent (a create, a bound action) is resent only when the
        server certainly did not act on it: throttled (429), refused before queueing (503), or a
        connection that never opened. After a timeout, a dropped answer or another 5xx the
        remote may have done it already, so the error goes to the caller (whose own check, such
        as looking for the record first, decides) instead of doubling the effect.
        """
        if not retry:
            return self._send_once(method, url, **kwargs)
        if idempotent:
            return self.retry.call(lambda: self._send_once(method, url, **kwargs))

        def attempt() -> httpx.Response:
            try:
                return self._send_once(method, url, **kwargs)
            except (RetriableHttpError, TransportError) as exc:
                if never_reached_server(exc):
                    raise
                raise _DoNotRetry(exc) from exc

        try:
            return self.retry.call(attempt)
        except _DoNotRetry as wrapped:
            raise wrapped.error from wrapped.error.__cause__

    def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
            response.read()
        except httpx.TimeoutException as exc:
            report_http_call(self.system, method, None)
            raise TransportError(
                f"{method} {self._show(url)} timed out ({type(exc).__name__})", system=self.system
            ) from exc
        except httpx.TransportError as exc:
            report_http_call(self.system, method, None)
            raise TransportError(
                f"{method} {self._show(url)} failed: {type(exc).__name__}: {exc}", system=self.system
            ) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {self._show(url)} failed: {exc}", system=self.system) from exc
        if response.status_code >= 400:
            raise self.status_error(response)
        return response

    def _show(self, url: str) -> str:
        return mask(str(self._client.base_url.join(url)), self.secrets())

    def status_error(self, response: httpx.Response) -> HttpStatusError:
        """The engine error for an error response (not raised here)."""
        status = response.status_code
        code, message = self.error_decoder(response)
        secrets = list(self.secrets())
        kwargs: dict[str, Any] = {
            "system": self.system,
            "status": status,
            "method": response.request.method,
            "url": mask(str(response.request.url), secrets),
            "excerpt": excerpt(response.text, secrets),
            "code": code,
        }
        message = mask(message, secrets) or response.reason_phrase
        if status in RETRIABLE_STATUSES:
            return RetriableHttpError(
                message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs
            )
        if status in (401, 403):
            return UnauthorizedError(message, **kwargs)
        if status == 404:
            return NotFoundError(message, **kwargs)
        if status in (409, 412):
            return ConflictError(message, **kwargs)
        if status in (400, 422):
            return RemoteValidationError(message, **kwargs)
        return HttpStatusError(message, **kwargs)

    def json(self, response: httpx.Response) -> Any:
        """The JSON body of a successful response; a typed error for anything else.

        The body is parsed from its bytes first (JSON is UTF-8, RFC 8259 section 8.1); only when
        that fails is it decoded as text by the charset of its Content-Type (a server sending
        another charset), for the parse or for the error message."""
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
        content_type = response.headers.get("Content-Type", "")
        text = response.text
        if "json" not in content_type and text.lstrip().startswith("<"):
            raise ProtocolError(
                f"{response.request.method} {response.request.url} -> HTTP {response.status_code}: "
                f"expected JSON, got {content_type or 'no content type'}: {excerpt(text, self.secrets())}",
                system=self.system,
            )
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProtocolError(
                f"{response.request.method} {response.request.url} -> HTTP {response.status_code}: "
                f"malformed JSON ({exc.msg} at char {exc.pos}): {excerpt(text, self.secrets())}",
                system=self.system,
            ) from exc


_SAFE_TO_RESEND = frozenset({429, 503})
"""Answers after which a request certainly did not happen (throttled, or queued then refused)."""


class _DoNotRetry(Exception):
    """Carries a transient error out of the retry loop when resending could double an effect."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def never_reached_server(exc: Exception) -> bool:
    """True when resending cannot repeat an effect: throttled, refused, or never connected."""
    if isinstance(exc, RetriableHttpError):
        return exc.status in _SAFE_TO_RESEND
    return isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
