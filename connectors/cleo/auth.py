"""Cleo tokens: password grant, refresh grant, and when to use which.

The grants themselves (form encoding, token response parsing) are done by authlib's httpx
`OAuth2Client`, sharing the connector's injectable transport. What authlib does not do is
hand-written here, because Cleo's token endpoint needs more than its auto-refresh:

- *When* to renew: shortly before expiry (a configurable skew, capped at half the token's
  lifetime so short-lived tokens are still used), checked before every request, so no request
  (no write) starts on a token about to expire; otherwise the token is reused, one login
  serving any number of files. authlib only refreshes an expired token on its own requests.
- *Fallback*: a refresh that is refused (Cleo refresh tokens are single use and may be
  revoked) falls back to a full password grant; authlib would raise.
- *401 recovery*: a request refused with 401 renews the token once and is sent again
  (`BearerAuth`); a second 401 reaches the caller as an `UnauthorizedError`.
- *Error translation*: token-endpoint answers are judged by the connector's `HttpClient`
  (same status mapping, secret masking and JSON checks as every other call); no httpx or
  authlib exception escapes. Time comes from an injectable clock so tests never sleep.

Cleo uses no OAuth client id (Harmony's own utility sends none), so token requests carry no
client authentication at all. The password and both tokens are masked in every error.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import authlib.deprecate
import httpx

from connectors.cleo import paths
from connectors.common import HttpClient
from engine.errors import AuthenticationError, MlcError, ProtocolError, TransientError, TransportError

with warnings.catch_warnings():
    # authlib >= 1.7 prefers the `httpx2` fork and warns once at import when only httpx is
    # installed; the httpx integration still works and is what this project depends on.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.base import OAuth2Error

log = logging.getLogger(__name__)

SYSTEM = "cleo"


class _NoClientAuth(httpx.Auth):
    """Sends token requests as they are: Cleo has no OAuth client id or secret."""


@dataclass(frozen=True)
class Token:
    """An access token with its refresh token; `expires_at` is on the manager's clock."""

    access: str
    refresh: str | None
    expires_at: float | None
    lifetime: float | None


class TokenManager:
    """Obtains and renews Cleo tokens for one user; thread-safe.

    `http` is the connector's client: its base URL, status translation and JSON checks are
    used for the token endpoint too. `transport` is shared with it (None = real network).
    """

    def __init__(
        self,
        http: HttpClient,
        username: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        skew: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self.username = username
        self._password = password
        self.skew = skew
        self.clock = clock
        self._token: Token | None = None
        self._lock = threading.RLock()
        self._oauth = OAuth2Client(
            base_url=str(http.raw.base_url), transport=transport, timeout=timeout, follow_redirects=False
        )
        # Token requests go to Cleo itself: they count against the connection's rate budget.
        self._oauth.event_hooks = {**self._oauth.event_hooks, "request": [http.pace_request]}
        self._oauth.register_compliance_hook("access_token_response", self._screen)
        self._oauth.register_compliance_hook("refresh_token_response", self._screen)

    def secrets(self) -> list[str]:
        """The values to mask in any error text: the password and the current tokens."""
        token = self._token
        values = [self._password]
        if token is not None:
            values += [token.access, token.refresh or ""]
        return values

    def close(self) -> None:
        self._oauth.close()

    def access_token(self) -> str:
        """A usable access token: obtained on first use, renewed when close to expiry."""
        with self._lock:
            if self._token is None:
                self._token = self._password_grant()
            elif self._due(self._token):
                self._token = self._renew(self._token)
            return self._token.access

    def renew(self) -> str:
        """Renew now (refresh, or full re-authentication if that fails); the new access token."""
        with self._lock:
            self._token = self._renew(self._token) if self._token else self._password_grant()
            return self._token.access

    def recover(self, rejected: str) -> str:
        """After a 401 for the access token `rejected`: a renewed token (once per rejection)."""
        with self._lock:
            if self._token is not None and self._token.access != rejected:
                return self._token.access  # another thread renewed it meanwhile
            log.info("cleo: access token refused with 401; renewing it")
            return self.renew()

    def _due(self, token: Token) -> bool:
        if token.expires_at is None or token.lifetime is None:
            return False
        skew = min(self.skew, token.lifetime / 2)
        return self.clock() >= token.expires_at - skew

    def _renew(self, token: Token | None) -> Token:
        if token is not None and token.refresh:
            try:
                return self._refresh_grant(token.refresh)
            except TransientError:
                raise
            except MlcError as exc:
                log.info("cleo: refreshing the token failed (%s); authenticating again as %s", exc, self.username)
        return self._password_grant()

    def _password_grant(self) -> Token:
        return self._grant(
            "password grant",
            lambda: self._oauth.fetch_token(
                paths.AUTHENTICATION,
                grant_type="password",
                username=self.username,
                password=self._password,
                auth=_NoClientAuth(),
            ),
        )

    def _refresh_grant(self, refresh_token: str) -> Token:
        return self._grant(
            "refresh grant",
            lambda: self._oauth.refresh_token(paths.AUTHENTICATION, refresh_token=refresh_token, auth=_NoClientAuth()),
        )

    def _grant(self, what: str, call: Callable[[], Any]) -> Token:
        started = self.clock()
        url = str(self._http.raw.base_url.join(paths.AUTHENTICATION))
        try:
            body = call()
        except MlcError:
            raise
        except httpx.TimeoutException as exc:
            raise TransportError(f"{what} at POST {url} timed out ({type(exc).__name__})", system=SYSTEM) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{what} at POST {url} failed: {type(exc).__name__}", system=SYSTEM) from exc
        except OAuth2Error as exc:
            raise AuthenticationError(
                f"{what} for user {self.username!r} at POST {url} refused: {exc.error}", system=SYSTEM
            ) from exc
        except ValueError as exc:
            raise ProtocolError(f"{what} at POST {url}: unusable token response", system=SYSTEM) from exc
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else None
        refresh = body.get("refresh_token")
        log.debug("cleo: %s succeeded for %s", what, self.username)
        return Token(
            access=body["access_token"],
            refresh=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=started + lifetime if lifetime is not None else None,
            lifetime=lifetime,
        )

    def _screen(self, response: httpx.Response) -> httpx.Response:
        """authlib compliance hook: translate every unusable token-endpoint answer."""
        response.read()
        if response.status_code >= 400:
            error = self._http.status_error(response)
            if isinstance(error, TransientError) or response.status_code not in (400, 401, 403):
                raise error
            detail = str(error).removeprefix(f"{SYSTEM}: ")
            raise AuthenticationError(
                f"authentication as user {self.username!r} was refused ({detail}); "
                "check the username and the stored password secret",
                system=SYSTEM,
            )
        body = self._http.json(response)
        where = f"{response.request.method} {response.request.url} -> HTTP {response.status_code}"
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise ProtocolError(f"{where}: token response without an access_token (got {keys})", system=SYSTEM)
        token_type = body.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ProtocolError(f"{where}: token_type {token_type!r} is not supported; valid: bearer", system=SYSTEM)
        return response


class BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer` and, on a 401, renews the token once and resends."""

    requires_request_body = True

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.tokens.recover(token)}"
            yield request
