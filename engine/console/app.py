"""The operator console's ASGI app, mounted at `/console/` in the `mlc serve` app.

    GET  /console/                         overview: routes, jobs by state, dead and review jobs,
                                           overdue 997s, poll failures
    GET  /console/jobs?state&route&partner&from&to&q&before&size
                                           the job list, newest first, keyset-paged; q is any
                                           business number (engine.console.queries.search_ids)
    GET  /console/jobs/<id>                a document: trail, input, X12 with names, artifacts, 997
    GET  /console/jobs/<id>/artifacts/<a>  an artifact's bytes (a download)
    GET  /console/jobs/<id>/replay         the replay preview (stored output beside today's)
    POST /console/jobs/<id>/replay         replay it (operators)
    POST /console/jobs/<id>/reapply        re-apply a reviewed 855 (operators; wired by `reapply`)
    GET  /console/partners                 identities, folders, routes, last exchange, counters
    GET/POST /console/login, POST /console/logout

Every page and action needs a login (engine.console.security); POSTs need the CSRF token. The
pages are plain HTML forms and links (readable without JavaScript); htmx, served from the
package, only makes navigation and filtering swap the page body instead of reloading it. Every
text shown goes through the runtime's secret masking (Jinja `finalize`). Bad input answers a
page with status 400 or 404 and one line saying what was wrong; a bug answers 500 with a
generic page (the traceback goes to the log only).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine.console import pages
from engine.console.queries import BadInput
from engine.console.security import COOKIE, LoginLimiter, Session, SessionCodec, new_csrf, signing_key
from engine.console.users import User, get_user
from engine.errors import MlcError

if TYPE_CHECKING:
    from engine.runtime import JobOutcome, Runtime

__all__ = ["ConsoleSettings", "build_console"]

log = logging.getLogger(__name__)

Reapply = Callable[["Runtime", int], "JobOutcome"]
R = TypeVar("R", bound=Response)


@dataclass(frozen=True)
class ConsoleSettings:
    """connections.yaml `server.console` (see docs/console.md)."""

    enabled: bool = True
    session_hours: float = 8.0
    ack_overdue_hours: float | None = None
    """Default: the runtime's `ack_overdue_hours`."""

    @classmethod
    def from_server(cls, server: dict[str, Any] | None) -> ConsoleSettings:
        raw = (server or {}).get("console")
        if raw is None:
            return cls()
        if isinstance(raw, bool):
            return cls(enabled=raw)
        return cls(
            enabled=bool(raw.get("enabled", True)),
            session_hours=float(raw.get("session_hours", 8.0)),
            ack_overdue_hours=float(raw["ack_overdue_hours"]) if raw.get("ack_overdue_hours") is not None else None,
        )


class Console:
    """The console's state: runtime, templates, sessions, the login limiter."""

    def __init__(self, runtime: Runtime, settings: ConsoleSettings, *, reapply: Reapply | None, limiter: LoginLimiter | None) -> None:
        self.runtime = runtime
        self.settings = settings
        self.reapply = reapply
        self.limiter = limiter or LoginLimiter()
        self._codec: SessionCodec | None = None
        self.templates = Environment(
            loader=PackageLoader("engine.console", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            finalize=self._finalize,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["when"] = _when
        self.templates.filters["ago"] = lambda value: _ago(value, runtime.now())
        self.templates.globals["urlencode"] = urlencode

    def _finalize(self, value: Any) -> Any:
        # Every value a template prints passes here: secrets never reach a page.
        if value is None:
            return ""
        if isinstance(value, Markup):
            return Markup(self.runtime.mask(str(value)))
        return self.runtime.mask(str(value))

    def mask(self, text: str) -> str:
        return self.runtime.mask(text)

    @property
    def codec(self) -> SessionCodec:
        if self._codec is None:
            key = signing_key(self.runtime.store, now=self.runtime.now())
            self._codec = SessionCodec(key, max_age_seconds=int(self.settings.session_hours * 3600))
        return self._codec

    # -- sessions ---------------------------------------------------------------------------

    def session(self, request: Request) -> Session | None:
        return self.codec.loads(request.cookies.get(COOKIE))

    def with_session(self, response: R, request: Request, session: Session) -> R:
        response.set_cookie(
            COOKIE,
            self.codec.dumps(session),
            max_age=self.codec.max_age_seconds,
            path=base_path(request) + "/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    def render(self, request: Request, template: str, status: int = 200, *, session: Session | None = None, user: User | None = None, **context: Any) -> HTMLResponse:
        session = session or self.session(request)
        html = self.templates.get_template(template).render(
            base=base_path(request), user=user, csrf=session.csrf if session else "", request=request, now=self.runtime.now(), **context
        )
        response = HTMLResponse(html, status_code=status, headers=_HEADERS)
        if session is None:
            # A first visit: give it a CSRF token (the login form needs one).
            response = self.with_session(response, request, Session(None, new_csrf()))
        return response

    def error_page(self, request: Request, status: int, message: str) -> HTMLResponse:
        session = self.session(request)
        user = None
        if session is not None and session.user:
            try:
                user = get_user(self.runtime.store, session.user)
            except MlcError:
                user = None
        return self.render(request, "error.html", status, session=session, user=user, code=status, message=self.mask(message))


_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
}


def base_path(request: Request) -> str:
    """The console's path prefix (`/console`)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = max(0, int((now - value).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def build_console(runtime: Runtime, settings: ConsoleSettings | None = None, *, reapply: Reapply | None = None, limiter: LoginLimiter | None = None) -> Starlette:
    """The console app (module docstring), to mount at `/console`."""
    console = Console(runtime, settings or ConsoleSettings(), reapply=reapply, limiter=limiter)

    def bind(handler: Callable[[Console, Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await handler(console, request)

        return endpoint

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "there is no such page in the console", 405: "this page does not take that method"}
        return console.error_page(request, exc.status_code, str(exc.detail) if exc.detail and exc.status_code not in messages else messages.get(exc.status_code, "refused"))

    async def on_bad_input(request: Request, exc: Exception) -> Response:
        return console.error_page(request, 400, str(exc))

    async def on_error(request: Request, exc: Exception) -> Response:
        log.error("console page %s failed unexpectedly", request.url.path, exc_info=exc)
        return HTMLResponse("<!doctype html><title>error</title><p>internal error (see the server log)</p>", status_code=500, headers=_HEADERS)

    async def on_store_error(request: Request, exc: Exception) -> Response:
        log.warning("console page %s: %s", request.url.path, console.mask(str(exc)))
        return console.error_page(request, 503, f"the state store is not answering: {exc}")

    return Starlette(
        routes=[
            Route("/", bind(pages.overview), methods=["GET"]),
            Route("/login", bind(pages.login_form), methods=["GET"]),
            Route("/login", bind(pages.login), methods=["POST"]),
            Route("/logout", bind(pages.logout), methods=["POST"]),
            Route("/jobs", bind(pages.job_list), methods=["GET"]),
            Route("/jobs/{job_id}", bind(pages.document), methods=["GET"]),
            Route("/jobs/{job_id}/artifacts/{artifact_id}", bind(pages.download), methods=["GET"]),
            Route("/jobs/{job_id}/replay", bind(pages.replay_preview), methods=["GET"]),
            Route("/jobs/{job_id}/replay", bind(pages.replay_now), methods=["POST"]),
            Route("/jobs/{job_id}/reapply", bind(pages.reapply_now), methods=["POST"]),
            Route("/partners", bind(pages.partner_list), methods=["GET"]),
            Mount("/static", app=StaticFiles(packages=[("engine.console", "static")]), name="static"),
        ],
        exception_handlers={HTTPException: on_http_error, BadInput: on_bad_input, MlcError: on_store_error, Exception: on_error},
    )


