"""The console's sessions, CSRF tokens and login rate limit.

- **Session**: a cookie holding `{"u": user, "c": csrf token}` signed with itsdangerous
  (HMAC-SHA1 over a key derived from the signing key, with a timestamp checked against
  `max_age`). HttpOnly, SameSite=Strict, `Secure` when the request came over https (directly or
  as `X-Forwarded-Proto` from the proxy uvicorn trusts). The signing key is random, made on first
  use and kept in the state store (`console_state`), so every server of a cluster accepts the
  others' sessions and a restart logs no one out. The user's role is read from the store on
  every request, so removing a user (or changing their role) takes effect at once.
- **CSRF**: every session, even before login, carries a random token; every state-changing
  request (POST) must send it back (form field `csrf` or header `X-CSRF-Token`), compared in
  constant time. A POST whose `Origin` is another site is refused as well.
- **Login rate limit**: after `MAX_FAILURES` failed logins within `WINDOW_SECONDS` from one
  address, or for one user name, further attempts are refused (429) until the window has
  passed. Counted in memory, per server process: a cluster of N servers allows N times as many.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from engine.store import Store
from engine.store.database import dialect_insert
from engine.store.models import console_state

__all__ = ["COOKIE", "LoginLimiter", "Session", "SessionCodec", "new_csrf", "same_token", "signing_key"]

COOKIE = "mlc_console"
MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
_KEY_NAME = "session-key"


def signing_key(store: Store, *, now: datetime) -> str:
    """The cluster's session-signing key, made (once, whoever comes first) on first use."""
    with store.reading() as tx:
        found = tx.connection.execute(select(console_state.c.value).where(console_state.c.name == _KEY_NAME)).scalar_one_or_none()
    if found:
        return str(found)
    with store.transaction() as tx:
        statement = dialect_insert(store.dialect, console_state).on_conflict_do_nothing(index_elements=["name"])
        tx.connection.execute(statement, {"name": _KEY_NAME, "value": secrets.token_urlsafe(32), "updated_at": now})
        return str(tx.connection.execute(select(console_state.c.value).where(console_state.c.name == _KEY_NAME)).scalar_one())


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def same_token(given: str | None, expected: str) -> bool:
    """Whether `given` is the CSRF token (constant time)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


@dataclass(frozen=True)
class Session:
    """What the cookie says: the user (None before login) and the CSRF token."""

    user: str | None
    csrf: str

    def as_cookie(self) -> dict[str, Any]:
        return {"u": self.user, "c": self.csrf}


class SessionCodec:
    """Signs sessions into cookie values and reads them back (expired or forged: None)."""

    def __init__(self, key: str, *, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="mlc-console-session")
        self.max_age_seconds = max_age_seconds

    def dumps(self, session: Session) -> str:
        return str(self._serializer.dumps(session.as_cookie()))

    def loads(self, value: str | None) -> Session | None:
        if not value or len(value) > 4096:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age_seconds)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        user = data.get("u")
        return Session(user if isinstance(user, str) else None, data["c"])


class LoginLimiter:
    """Failed logins per address and per user name in a sliding window (module docstring)."""

    def __init__(self, *, max_failures: int = MAX_FAILURES, window_seconds: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return times

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login for `keys` (address, user name) is taken again; 0 if now."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window_seconds - now)
            return wait

    def failed(self, *keys: str) -> None:
        with self._lock:
            now = self._clock()
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # a flood of names: forget the quiet ones
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
