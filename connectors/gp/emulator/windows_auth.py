"""Windows authentication as IIS does it in front of GP SBA: NTLM per connection, or Basic.

NTLM is checked for real, with pyspnego as the acceptor (`spnego.server(protocol="ntlm")`),
which verifies the client's NTLMv2 response against the account's password read from an
`NTLM_USER_FILE` credential file (`DOMAIN:USER:PASSWORD` lines, written 0600 to a temporary
file from the seed accounts). pyspnego reads that file path from the environment, so each
acceptor step runs with `NTLM_USER_FILE` pointed at this emulator's file under a process-wide
lock, and the previous value is put back afterwards.

NTLM authenticates the TCP connection: the type 1 -> type 2 -> type 3 exchange must happen on
one connection, and afterwards requests on that connection pass without credentials. ASGI
gives no connection object, so state is keyed by the client's address and port (one TCP
connection) and forgotten after `idle_seconds` without a request (uvicorn closes idle
keep-alive connections well before that, so a reused port does not inherit a login).

Refused with 401 and fresh challenges: no credentials on an unauthenticated connection, a
type-3 message without a type-2 challenge outstanding on that connection (a replay), a wrong
password, an unknown account, and (by the app) an account not mapped to a GP user.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import spnego
import spnego.exceptions

from connectors.gp import paths
from connectors.gp.emulator.state import WindowsUser

_ENV_LOCK = threading.Lock()
_NTLM_SIGNATURE = b"NTLMSSP\x00"


@dataclass
class Outcome:
    """The result of checking one request's credentials.

    `account` is `DOMAIN\\user` when authenticated; otherwise `challenges` are the
    WWW-Authenticate values of the 401 and `reason` says why (never a secret).
    """

    account: str | None = None
    challenges: tuple[str, ...] = ()
    reason: str = ""


@dataclass
class _Connection:
    last_seen: float
    pending: Any = None  # a pyspnego acceptor waiting for the type-3 message
    account: str | None = None


class WindowsAuthenticator:
    """Checks `Authorization` headers against the known Windows accounts, per connection."""

    def __init__(
        self,
        users: Iterable[WindowsUser],
        *,
        ntlm: bool = True,
        basic: bool = True,
        idle_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = {u.account.upper(): u for u in users}
        self.ntlm = ntlm
        self.basic = basic
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.handshakes = 0
        """Completed NTLM handshakes (one per authenticated connection)."""
        self._lock = threading.Lock()
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._user_file = _write_user_file(self.users.values())
        weakref.finalize(self, _remove, self._user_file)

    def challenges(self) -> tuple[str, ...]:
        """The WWW-Authenticate values of a plain 401."""
        offered: list[str] = list(paths.AUTH_SCHEMES_NTLM) if self.ntlm else []
        if self.basic:
            offered.append(f'Basic realm="{paths.BASIC_REALM}"')
        return tuple(offered)

    def forget_connections(self) -> None:
        """Drop every connection's authentication (as if the server restarted)."""
        with self._lock:
            self._connections.clear()

    def check(self, connection: tuple[str, int], authorization: str | None) -> Outcome:
        """Authenticate one request arriving on `connection` (client address, port)."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            state = self._connections.setdefault(connection, _Connection(last_seen=now))
            state.last_seen = now
            scheme, _, token = (authorization or "").strip().partition(" ")
            scheme_key = scheme.lower()
            if not authorization:
                if state.account and state.pending is None:
                    return Outcome(account=state.account)
                return self._refuse("no credentials on an unauthenticated connection")
            if scheme_key in ("ntlm", "negotiate") and self.ntlm:
                return self._ntlm(state, "NTLM" if scheme_key == "ntlm" else "Negotiate", token.strip())
            if scheme_key == "basic" and self.basic:
                return self._basic(token.strip())
            return self._refuse(f"authentication scheme {scheme or '(none)'!r} is not enabled")

    # --- NTLM -----------------------------------------------------------------------------------

    def _ntlm(self, state: _Connection, scheme: str, token_text: str) -> Outcome:
        try:
            token = base64.b64decode(token_text, validate=True)
        except (binascii.Error, ValueError):
            return self._refuse("the NTLM token is not base64")
        if not token.startswith(_NTLM_SIGNATURE) or len(token) < 12:
            return self._refuse("only raw NTLM tokens are accepted (SPNEGO/Kerberos are not emulated)")
        message_type = int.from_bytes(token[8:12], "little")
        if message_type == 1:
            state.account = None  # a new handshake replaces any earlier login on the connection
            try:
                with self._user_file_env():
                    acceptor = spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
                    challenge = acceptor.step(token)
            except (spnego.exceptions.SpnegoError, ValueError) as exc:
                state.pending = None
                return self._refuse(f"malformed NTLM negotiate message ({type(exc).__name__})")
            state.pending = acceptor
            return Outcome(
                challenges=(f"{scheme} {base64.b64encode(challenge or b'').decode()}",), reason="NTLM challenge issued"
            )
        if message_type == 3:
            acceptor, state.pending = state.pending, None
            state.account = None
            if acceptor is None:
                return self._refuse("NTLM authenticate message without a challenge on this connection (replayed?)")
            try:
                with self._user_file_env():
                    acceptor.step(token)
            except (spnego.exceptions.SpnegoError, ValueError, KeyError):
                return self._refuse("NTLM authentication failed: unknown account or wrong password")
            principal = str(acceptor.client_principal or "")
            user = self.users.get(principal.upper())
            if user is None or not acceptor.complete:
                return self._refuse("NTLM authentication failed: unknown account")
            self.handshakes += 1
            state.account = user.account
            return Outcome(account=user.account)
        return self._refuse(f"unexpected NTLM message type {message_type}")

    @contextmanager
    def _user_file_env(self) -> Iterator[None]:
        with _ENV_LOCK:
            previous = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = self._user_file
            try:
                yield
            finally:
                if previous is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = previous

    # --- Basic ----------------------------------------------------------------------------------

    def _basic(self, token_text: str) -> Outcome:
        try:
            decoded = base64.b64decode(token_text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return self._refuse("the Basic credentials are not base64 UTF-8")
        account, _, password = decoded.partition(":")
        user = self.users.get(account.upper())
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return self._refuse("Basic authentication failed: unknown account or wrong password")
        return Outcome(account=user.account)

    # --- helpers --------------------------------------------------------------------------------

    def _refuse(self, reason: str) -> Outcome:
        return Outcome(challenges=self.challenges(), reason=reason)

    def _prune(self, now: float) -> None:
        stale = [k for k, c in self._connections.items() if now - c.last_seen > self.idle_seconds]
        for key in stale:
            del self._connections[key]


def _write_user_file(users: Iterable[WindowsUser]) -> str:
    handle, path = tempfile.mkstemp(prefix="mlc-gp-ntlm-", suffix=".txt")  # created 0600
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        for user in users:
            out.write(f"{user.domain}:{user.user}:{user.password}\n")
    return path


def _remove(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)
