"""Entra ID client-credentials tokens for Business Central.

authlib's httpx integration (`OAuth2Client`, grant `client_credentials`) builds and sends the
token request and parses the OAuth error answers; this module adds what BC needs around it:
a token cache valid until shortly before `expires_in` (with a configurable skew and an
injectable clock), a forced refresh after BC answered 401, translation of every failure
into the engine's error tree, and secret masking (the client secret and the current token
never appear in a message).

No retries happen here: the token request runs inside each attempt of the BC request that
needs it, so the connector's one `RetryPolicy` covers throttling of the token endpoint too.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterable

import httpx

from connectors.common import excerpt, mask, parse_retry_after
from connectors.common.client import RETRIABLE_STATUSES
from engine.errors import AuthenticationError, ProtocolError, RetriableHttpError, TransportError, UnauthorizedError

with warnings.catch_warnings(record=True):
    # authlib warns that it falls back to `httpx` when `httpx2` is not installed; the fallback
    # is exactly what this project uses. (authlib forces its warning to "always" on import, so
    # the warning is recorded and dropped here rather than filtered.)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

SYSTEM = "bc"


class EntraTokenProvider:
    """Gets, caches and refreshes the app-only token used as `Authorization: Bearer`.

    `transport` is shared with the BC client (emulator, MockTransport or the real network);
    `clock` returns monotonic seconds; a token is reused until `skew` seconds before it expires
    (at most half its lifetime, so short test lifetimes still cache).
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        skew: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.skew = skew
        self.clock = clock
        self.fetch_count = 0
        self._secret = client_secret
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self._oauth = OAuth2Client(
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            token_endpoint=token_url,
            grant_type="client_credentials",
            token_endpoint_auth_method="client_secret_post",
            transport=transport,
            timeout=timeout,
        )
        self._oauth.register_compliance_hook("access_token_response", self._check_status)

    def secrets(self) -> Iterable[str]:
        """Values that must never appear in a message: the client secret and the live token."""
        return [value for value in (self._secret, self._token) if value]

    def token(self) -> str:
        """A valid access token: the cached one, or a new one from Entra."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (BC refused it): the next request fetches a new one."""
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    def close(self) -> None:
        """Close the token client (the shared transport is closed with it)."""
        self._oauth.close()

    def _fetch(self) -> None:
        self.fetch_count += 1
        where = f"POST {self.token_url}"
        try:
            answer = self._oauth.fetch_token(self.token_url, grant_type="client_credentials")
        except OAuthError as exc:
            description = mask(str(exc.description or ""), self.secrets())
            raise AuthenticationError(
                f"Entra refused the client credentials of app {self.client_id!r} ({where}): "
                f"{exc.error}: {description}".rstrip(": "),
                system=SYSTEM,
            ) from exc
        except httpx.TimeoutException as exc:
            raise TransportError(f"{where} timed out ({type(exc).__name__})", system=SYSTEM) from exc
        except httpx.HTTPStatusError as exc:
            body = excerpt(exc.response.text, self.secrets())
            raise AuthenticationError(
                f"{where} -> HTTP {exc.response.status_code}: no usable token answer: {body}", system=SYSTEM
            ) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{where} failed: {type(exc).__name__}: {exc}", system=SYSTEM) from exc
        except ValueError as exc:
            raise ProtocolError(f"{where}: the token answer is not a JSON object: {exc}", system=SYSTEM) from exc
        token = answer.get("access_token")
        expires_in = answer.get("expires_in")
        token_type = str(answer.get("token_type", "Bearer"))
        if not isinstance(token, str) or not token or token_type.lower() != "bearer":
            raise ProtocolError(
                f"{where}: the token answer has no Bearer access_token (fields: {', '.join(sorted(answer))})",
                system=SYSTEM,
            )
        try:
            lifetime = float(expires_in) if expires_in is not None else 3599.0
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"{where}: expires_in is not a number: {expires_in!r}", system=SYSTEM) from exc
        self._token = token
        self._expires_at = self.clock() + lifetime - min(self.skew, lifetime / 2)

    def _check_status(self, response: httpx.Response) -> httpx.Response:
        """Throttling and server errors of the token endpoint become retriable errors; a refusal
        (Entra answers 400 or 401 with an OAuth error and an AADSTS description) becomes an
        `UnauthorizedError` carrying the HTTP status, the OAuth error code and the URL."""
        response.read()
        if response.status_code >= 400 and response.status_code not in RETRIABLE_STATUSES:
            error, description = _oauth_error(response)
            description = mask(description, self.secrets())
            raise UnauthorizedError(
                f"Entra refused the client credentials of app {self.client_id!r}: {error}: {description}".rstrip(": "),
                system=SYSTEM,
                status=response.status_code,
                method="POST",
                url=self.token_url,
                excerpt=excerpt(response.text, self.secrets()),
                code=error if error != "error" else None,
            )
        if response.status_code in RETRIABLE_STATUSES:
            raise RetriableHttpError(
                "the token endpoint is throttling or unavailable",
                system=SYSTEM,
                status=response.status_code,
                method="POST",
                url=self.token_url,
                excerpt=excerpt(response.text, self.secrets()),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        return response


def _oauth_error(response: httpx.Response) -> tuple[str, str]:
    """(OAuth `error`, `error_description`) of a token endpoint's refusal, or the reason phrase."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], str(body.get("error_description") or "")
    return "error", response.reason_phrase or f"HTTP {response.status_code}"


class BearerAuth(httpx.Auth):
    """httpx auth flow adding the provider's current token to every request."""

    def __init__(self, provider: EntraTokenProvider) -> None:
        self.provider = provider

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.provider.token()}"
        yield request
