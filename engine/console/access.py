"""Who may see and do what in the console: the login check around every page, the operator
check and CSRF check around every action, and the rate-limited login itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.console.security import Session, same_token
from engine.console.users import User, authenticate, get_user

if TYPE_CHECKING:
    from engine.console.app import Console

__all__ = ["csrf_refusal", "login_attempt", "page"]

Handler = Callable[["Console", Request, User], Awaitable[Response]]
Endpoint = Callable[["Console", Request], Awaitable[Response]]


def _login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{_base(request)}/login?{urlencode({'next': target})}"


def page(*, action: bool = False) -> Callable[[Handler], Endpoint]:
    """A console handler behind the login; `action`: a POST that needs an operator and the CSRF token."""

    def decorate(handler: Handler) -> Endpoint:
        async def run(console: Console, request: Request) -> Response:
            session = console.session(request)
            if request.method == "POST":
                refusal = await csrf_refusal(request, session)
                if refusal:
                    return console.error_page(request, 403, refusal)
            if session is None or not session.user:
                if request.method == "POST":
                    return console.error_page(request, 401, "your session has ended: log in again")
                return RedirectResponse(_login_url(request), status_code=303)
            user = await run_in_threadpool(get_user, console.runtime.store, session.user)
            if user is None:
                return RedirectResponse(_login_url(request), status_code=303)
            if action and not user.may_act:
                return console.error_page(request, 403, f"user {user.name} has the role {user.role}: only operators may do this")
            return await handler(console, request, user)

        return run

    return decorate


async def csrf_refusal(request: Request, session: Session | None) -> str | None:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        return f"the request came from another site ({origin[:80]}): refused"
    if session is None:
        return "this form has expired (no session cookie): reload the page and try again"
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not same_token(given, session.csrf):
        return "this form has expired (its security token does not match your session): reload the page and try again"
    return None



def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def login_attempt(console: Console, name: str, password: str, address: str) -> tuple[User | None, float]:
    """Check a login (rate-limited): the user, or None and the seconds to wait (0: just wrong)."""
    keys = (f"addr:{address}", f"user:{name.strip().lower()}")
    wait = console.limiter.retry_after(*keys)
    if wait > 0:
        return None, wait
    user = authenticate(console.runtime.store, name, password, now=console.runtime.now())
    if user is None:
        console.limiter.failed(*keys)
        return None, 0.0
    console.limiter.succeeded(keys[1])
    return user, 0.0
