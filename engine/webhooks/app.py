"""The webhook server's ASGI app (Starlette; uvicorn serves it).

    POST /webhooks/bc[/<connection>]   BC: ?validationToken=X is echoed (200, text/plain), by POST
    GET  /webhooks/bc[/<connection>]   (what BC is reported to send) and by GET (accepted too);
                                       a notification POST (at most 1 MiB) becomes fetch jobs
                                       (engine.webhooks.bc); a body nested too deep is a 400
    POST /webhooks/cleo/<route>        a Cleo HTTP action pushing a file, spooled as it arrives and
                                       streamed to the store (server.max_push_bytes; engine.webhooks.cleo)
    GET  /healthz                      200 when the state store answers, else 503
    GET  /metrics                      Prometheus text format (engine.metrics)
    /console/...                       the operator console, when given (engine.console)

Handlers do their blocking work (store, connectors, secrets) in Starlette's thread pool. Every
answer is deliberate: success is 200/202 with a small JSON body; a refusal is its status with
a one-line text body; a failure on our side (the store down, a secret unreadable, a system
timing out) is 503 so that BC retries; a bug is 500 with a generic body (logged with its
traceback, never sent). Bodies larger than the endpoint's limit are refused with 413 before
they are read whole. Secret values never appear in an answer or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from engine.errors import ConfigError, MlcError, SecretError, StoreError, TransientError
from engine.metrics import Metrics
from engine.webhooks.bc import NotificationOutcome, accept_notifications
from engine.webhooks.cleo import PushedFile, PushOutcome, accept_push
from engine.webhooks.refusal import Refusal
from engine.webhooks.settings import SECRET_HEADER, WebhookSettings

if TYPE_CHECKING:
    from engine.runtime import Runtime

__all__ = ["MAX_NOTIFICATION_BYTES", "MAX_VALIDATION_TOKEN_CHARS", "build_app"]

log = logging.getLogger(__name__)

MAX_NOTIFICATION_BYTES = 1024 * 1024
"""BC notifications carry no record data, and BC sends one `collection` notification instead of
more than 1,000 entries of ~400 bytes: 1 MiB is several times the largest real one."""
MAX_VALIDATION_TOKEN_CHARS = 1024


def build_app(
    runtime: Runtime,
    settings: WebhookSettings,
    *,
    secrets: Callable[[str], str],
    metrics: Metrics | None = None,
    on_enqueue: Callable[[], None] | None = None,
    health: Mapping[str, Callable[[], str | None]] | None = None,
    console: ASGIApp | None = None,
) -> Starlette:
    """The webhook app over `runtime` (module docstring).

    `secrets` resolves the webhook secrets named by `settings` (read per call, so a rotated
    secret is used at once); `on_enqueue` is called after a call enqueued jobs (to wake idle
    workers); `health` adds named checks to /healthz, each returning a problem or None;
    `console` is mounted at /console (`engine.console.build_console`).
    """
    handlers = _Handlers(runtime, settings, secrets, metrics, on_enqueue, dict(health or {}))
    routes: list[BaseRoute] = [
        Route("/webhooks/bc", handlers.bc_default, methods=["GET", "POST"]),
        Route("/webhooks/bc/{connection}", handlers.bc_named, methods=["GET", "POST"]),
        Route("/webhooks/cleo/{route}", handlers.cleo, methods=["POST"]),
        Route("/healthz", handlers.healthz, methods=["GET"]),
        Route("/metrics", handlers.metrics_page, methods=["GET"]),
    ]
    if console is not None:
        routes.append(Mount("/console", app=console))
    return Starlette(routes=routes)


class _Handlers:
    def __init__(
        self,
        runtime: Runtime,
        settings: WebhookSettings,
        secrets: Callable[[str], str],
        metrics: Metrics | None,
        on_enqueue: Callable[[], None] | None,
        health: dict[str, Callable[[], str | None]],
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.secrets = secrets
        self.metrics = metrics
        self.on_enqueue = on_enqueue
        self.health = health

    # -- Business Central ------------------------------------------------------------------

    async def bc_default(self, request: Request) -> Response:
        connections = self.settings.bc_connections()
        if len(connections) != 1:
            problem = "no route takes BC notifications" if not connections else f"several BC connections take notifications: post to /webhooks/bc/<connection> ({', '.join(connections)})"
            return self._answer("bc", Refusal(404, problem))
        return await self._bc(request, connections[0])

    async def bc_named(self, request: Request) -> Response:
        connection = request.path_params["connection"]
        if connection not in self.settings.bc_connections():
            return self._answer("bc", Refusal(404, f"no BC notifications are taken at {request.url.path}"))
        return await self._bc(request, connection)

    async def _bc(self, request: Request, connection: str) -> Response:
        token = request.query_params.get("validationToken")
        if request.method == "GET" and token is None:
            return self._answer("bc", Refusal(405, "GET serves only the validation handshake (?validationToken=...); notifications are POSTed"))
        if token is not None:
            if not token or len(token) > MAX_VALIDATION_TOKEN_CHARS:
                return self._answer("bc-validation", Refusal(400, f"the validationToken must have 1 to {MAX_VALIDATION_TOKEN_CHARS} characters"))
            self._count("bc-validation", 200)
            return PlainTextResponse(token, status_code=200, headers={"X-Content-Type-Options": "nosniff"})
        try:
            body = await _read_body(request, MAX_NOTIFICATION_BYTES)
            outcome = await run_in_threadpool(self._notify, connection, body)
        except Exception as exc:
            return self._answer("bc", exc)
        if outcome.enqueued and self.on_enqueue is not None:
            self.on_enqueue()
        self._count("bc", 200)
        return JSONResponse(outcome.as_json(), status_code=200)

    def _notify(self, connection: str, body: bytes) -> NotificationOutcome:
        state = self.settings.secret(connection, self.secrets)
        return accept_notifications(self.runtime, self.settings, connection, body, state)

    # -- Cleo --------------------------------------------------------------------------------

    async def cleo(self, request: Request) -> Response:
        route = request.path_params["route"]
        try:
            connection = self.settings.pushes.get(route)
            if connection is None:
                raise Refusal(404, f"route {route!r} takes no pushes (it needs a webhook trigger without resource)")
            pushed = await _spool_body(request, self.settings.max_push_bytes)
            params = request.query_params
            try:
                outcome = await run_in_threadpool(
                    self._push, route, connection, request.headers.get(SECRET_HEADER), params.get("partner"), params.get("name"), pushed
                )
            finally:
                pushed.close()
        except Exception as exc:
            return self._answer("cleo", exc)
        if outcome.created and self.on_enqueue is not None:
            self.on_enqueue()
        status = 202 if outcome.created else 200
        self._count("cleo", status)
        return JSONResponse(outcome.as_json(), status_code=status)

    def _push(self, route: str, connection: str, given: str | None, partner: str | None, name: str | None, body: PushedFile) -> PushOutcome:
        secret = self.settings.secret(connection, self.secrets)
        return accept_push(self.runtime, self.settings, route, secret=secret, given_secret=given, partner=partner, name=name, content=body)

    # -- health and metrics --------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        checks = await run_in_threadpool(self._checks)
        ok = all(problem is None for problem in checks.values())
        body = {"status": "ok" if ok else "unavailable", "checks": {name: problem or "ok" for name, problem in checks.items()}}
        return JSONResponse(body, status_code=200 if ok else 503)

    def _checks(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {"store": self._store_problem()}
        for name, check in self.health.items():
            try:
                found[name] = check()
            except Exception as exc:
                found[name] = f"the check failed: {type(exc).__name__}"
        return found

    def _store_problem(self) -> str | None:
        try:
            # A primary-key read: cheap on any store size, and it needs the tables to exist.
            self.runtime.store.cursor("healthz")
        except MlcError as exc:
            return self.runtime.mask(str(exc))
        return None

    async def metrics_page(self, request: Request) -> Response:
        if self.metrics is None:
            return PlainTextResponse("metrics are not collected by this server\n", status_code=404)
        body, content_type = await run_in_threadpool(self.metrics.render)
        return Response(body, media_type=content_type)

    # -- answers -------------------------------------------------------------------------------

    def _answer(self, endpoint: str, exc: BaseException) -> Response:
        status, message = _status_of(exc)
        if status == 500:
            log.error("webhook %s failed unexpectedly", endpoint, exc_info=exc)
        elif status >= 500:
            log.warning("webhook %s: %s (answered %d: the caller retries)", endpoint, self.runtime.mask(str(exc)), status)
        else:
            log.info("webhook %s refused (%d): %s", endpoint, status, self.runtime.mask(message))
        self._count(endpoint, status)
        return PlainTextResponse(self.runtime.mask(message) + "\n", status_code=status)

    def _count(self, endpoint: str, status: int) -> None:
        if self.metrics is not None:
            self.metrics.webhook(endpoint, status)


def _status_of(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and the one-line text answering a failed webhook call.

    Refusals say why; failures on our side say only that the caller should retry (the
    details go to the log, not to whoever called).
    """
    if isinstance(exc, Refusal):
        return exc.status, str(exc)
    if isinstance(exc, StoreError | TransientError | SecretError):
        return 503, "temporarily unavailable: retry later"
    if isinstance(exc, MlcError) and not isinstance(exc, ConfigError):
        return 503, "the call could not be processed now: retry later"
    return 500, "internal error (see the server log)"


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, f"the body has {declared} bytes; at most {limit} are accepted")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"the body passes {limit} bytes, the most accepted")
        chunks.append(chunk)
    return b"".join(chunks)


async def _spool_body(request: Request, limit: int) -> PushedFile:
    """The request body spooled as it arrives (`PushedFile`), refused with 413 as soon as it
    passes `limit` bytes (or declares more); never held whole in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, f"the body has {declared} bytes; at most {limit} are accepted (server.max_push_bytes)")
    pushed = PushedFile()
    try:
        async for chunk in request.stream():
            if pushed.size + len(chunk) > limit:
                raise Refusal(413, f"the body passes {limit} bytes, the most accepted (server.max_push_bytes)")
            pushed.write(chunk)
    except BaseException:
        pushed.close()
        raise
    return pushed
